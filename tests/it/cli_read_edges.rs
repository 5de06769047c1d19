//! The read commands on workspaces damaged by hand in the ways a person or a tool
//! manages to: a declaration linked out of the workspace or to a FIFO, a registry
//! written on one line, a registry with thousands of errors. What doctor and show print
//! must come from inside the workspace, stay readable and bounded, and never hang.

use std::sync::mpsc;
use std::time::Duration;

use rustix::fs::{CWD, Mode, OFlags};

use crate::cli::{Project, hero_and_jump, registry};

/// A project whose folder `evil` holds an `asset.json` that is a link to `target`.
fn linked_declaration(target: &std::path::Path) -> Project {
    let project = hero_and_jump("sprites/hero", &[]);
    let evil = project.root().join("assets/evil");
    std::fs::create_dir_all(&evil).unwrap();
    std::os::unix::fs::symlink(target, evil.join("asset.json")).unwrap();
    project
}

#[test]
fn doctor_shows_no_line_of_a_file_linked_from_outside_the_workspace() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.json");
    std::fs::write(&secret, "{\"password\": \"hunter2\"}\n").unwrap();
    let project = linked_declaration(&secret);
    let run = project.run(&["doctor"]);
    assert!(run.stdout.contains("assets/evil/asset.json:1:1"), "{run:?}");
    assert!(!run.stdout.contains("hunter2"), "{run:?}");
}

#[test]
fn doctor_never_opens_a_fifo_behind_a_declaration() {
    let project = Project::new(&[]);
    let fifo = project.root().join("assets/pipe/fifo");
    std::fs::create_dir_all(fifo.parent().unwrap()).unwrap();
    rustix::fs::mkfifoat(CWD, &fifo, Mode::from_raw_mode(0o600)).unwrap();
    project.put(".prometeu/index.json", &registry(&[]).into_bytes());
    project.put("declared/.keep", b"");
    std::os::unix::fs::symlink(
        "../pipe/fifo",
        project.root().join("assets/declared/asset.json"),
    )
    .unwrap();
    // Opening the FIFO to read would block until a writer comes: wait for doctor with a
    // deadline, and should it pass, be the writer that lets it finish, then fail.
    let run = std::thread::scope(|scope| {
        let (sender, answer) = mpsc::channel();
        let project = &project;
        scope.spawn(move || sender.send(project.run(&["doctor"])));
        if let Ok(run) = answer.recv_timeout(Duration::from_secs(60)) {
            return run;
        }
        loop {
            // Present only while a reader waits; closing at once gives that reader EOF.
            drop(rustix::fs::open(
                &fifo,
                OFlags::WRONLY | OFlags::NONBLOCK,
                Mode::empty(),
            ));
            if let Ok(run) = answer.recv_timeout(Duration::from_millis(100)) {
                panic!("doctor opened the FIFO behind a declaration: {run:?}");
            }
        }
    });
    assert!(
        run.stdout.contains("assets/declared/asset.json:1:1"),
        "{run:?}"
    );
}

#[test]
fn a_long_line_is_shown_as_a_window_around_the_error() {
    // A valid registry written on one line, then an error far along it.
    let entries: Vec<String> = (1..=300)
        .map(|i| {
            format!(
                "{{\"asset_id\": {i}, \"asset_uuid\": \"{}\", \"root\": \"r/a{i}\", \"included_in_build\": true}}",
                uuid::Uuid::from_u128(i)
            )
        })
        .collect();
    let text = format!(
        "{{\"schema_version\": 1, \"next_asset_id\": 301, \"assets\": [{}, 7]}}",
        entries.join(", ")
    );
    let project = Project::new(&[(".prometeu/index.json", &text)]);
    let doctor = project.run(&["doctor"]);
    assert_eq!(doctor.code, 1);
    let column = text.rfind('7').unwrap() + 1;
    let place = format!("assets/.prometeu/index.json:1:{column}");
    let lines: Vec<&str> = doctor.stdout.lines().collect();
    let at = lines.iter().position(|l| l.ends_with(&place)).unwrap();
    let (shown, caret) = (lines[at + 2], lines[at + 3]);
    assert!(shown.chars().count() < 200, "{shown}");
    assert!(
        shown.starts_with(" 1 | …") && shown.ends_with(", 7]}"),
        "{shown}"
    );
    // The caret stands under the `7`.
    let under = caret.chars().count() - 1;
    assert_eq!(shown.chars().nth(under), Some('7'), "{shown}\n{caret}");

    // Every registered root is missing: each drift shows its own entry of the line.
    let project = Project::new(&[(".prometeu/index.json", &text.replace(", 7]", "]"))]);
    let doctor = project.run(&["doctor"]);
    let blocks: Vec<&str> = doctor.stdout.split("\n\n").collect();
    assert_eq!(blocks.len(), 301, "{}", &doctor.stdout[..2000]);
    for (i, block) in blocks[..300].iter().enumerate() {
        let id = i + 1;
        let shown = block.lines().nth(3).unwrap();
        let caret = block.lines().nth(4).unwrap();
        let under = caret.chars().count() - 1;
        let rest: String = shown.chars().skip(under).collect();
        assert!(
            rest.starts_with(&format!("{{\"asset_id\": {id},")),
            "{block}"
        );
    }
}

#[test]
fn a_file_with_thousands_of_errors_keeps_the_first_hundred() {
    let bad: Vec<&str> = vec!["1"; 5000];
    let text = format!(
        "{{\"schema_version\": 1, \"next_asset_id\": 1, \"assets\": [{}]}}",
        bad.join(",")
    );
    // The number of diagnostics `doctor` lists for the registry `text`, and the last one.
    let doctor = |text: &str| {
        let project = Project::new(&[(".prometeu/index.json", text)]);
        let doctor = project.run(&["doctor", "--json"]).json();
        let diagnostics = doctor["diagnostics"].as_array().unwrap().clone();
        let last = diagnostics.last().map(|d| d["message"].clone());
        (diagnostics.len(), last.unwrap())
    };
    assert_eq!(
        doctor(&text),
        (
            100,
            "asset entry 100 must be an object, not a number (4900 more errors in this file not listed: fix these, then check again)".into()
        )
    );
    // A hundred errors are all listed, without a note.
    let text = text.replace(&format!(",{}", bad[..4900].join(",")), "");
    assert_eq!(
        doctor(&text),
        (
            100,
            "asset entry 100 must be an object, not a number".into()
        )
    );
}

#[test]
fn reconcile_and_show_on_an_unreadable_registry_say_where_and_plan_nothing() {
    let text = "{\n  \"schema_version\": 7,\n  \"next_asset_id\": 1,\n  \"assets\": []\n}\n";
    let project = Project::new(&[(".prometeu/index.json", text)]);
    let reason = "the registry cannot be read: assets/.prometeu/index.json:2:21: the registry has schema_version 7";
    for args in [&["reconcile"][..], &["show", "1"]] {
        let run = project.run(args);
        assert_eq!(run.code, 1, "{run:?}");
        assert_eq!(run.stdout, "", "{run:?}");
        assert!(run.stderr.contains(reason), "{run:?}");
        let mut json_args = args.to_vec();
        json_args.push("--json");
        let json = project.run(&json_args);
        assert_eq!(json.code, 1, "{json:?}");
        assert_eq!(json.json()["error"]["code"], "failed_state", "{json:?}");
        let message = json.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.contains(reason), "{message}");
    }
}

#[test]
fn usage_errors_are_plain_text_and_json_under_json() {
    let project = Project::new(&[]);
    let help = project.run_in(".", &["--help"]);
    assert_eq!(help.code, 0);
    assert!(
        help.stdout.contains("doctor") && !help.stdout.contains('\u{1b}'),
        "{help:?}"
    );
    for args in [&["frobnicate"][..], &["show"], &["list", "--bogus"]] {
        let run = project.run_in(".", args);
        assert_eq!(run.code, 2, "{run:?}");
        assert_eq!(run.stdout, "", "{run:?}");
        assert!(
            run.stderr.starts_with("error: ") && !run.stderr.contains('\u{1b}'),
            "{run:?}"
        );
        // With `--json` anywhere, stdout carries the error object as well.
        let mut json_args = vec!["--json"];
        json_args.extend_from_slice(args);
        let json = project.run_in(".", &json_args);
        assert_eq!(json.code, 2, "{json:?}");
        assert_eq!(json.json()["error"]["code"], "invalid_params", "{json:?}");
        // The keys in the order of every other error object: code, message, detail.
        assert!(
            json.stdout
                .starts_with("{\"error\":{\"code\":\"invalid_params\",\"message\":")
                && json.stdout.ends_with(",\"detail\":{}}}\n"),
            "{json:?}"
        );
        let message = json.json()["error"]["message"].as_str().unwrap().to_owned();
        let said: Vec<&str> = run.stderr.split_whitespace().collect();
        assert!(
            said.join(" ").contains(&message) && !message.is_empty(),
            "{message}"
        );
    }
}
