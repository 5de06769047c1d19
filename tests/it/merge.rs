//! A merge that leaves conflict markers, as git writes them, in `index.json` and in an
//! `asset.json` at once: `doctor` names every file that does not read, so that one
//! round of resolving is enough, and a running project names each once.

use std::time::Duration;

use packer_app::observer::ObserverConfig;
use packer_domain::snapshot::ProjectState;

use crate::cli::{Project, declaration, hero_and_jump};
use crate::fixture_text::{self, U1, U2, U3};
use crate::observe::{config, fixture, start_with, wait_for_state};

/// `text` with its line `line` (the exact text of a line) replaced by both sides of a
/// conflict, `ours` and `theirs`.
fn conflicted(text: &str, line: &str, ours: &str, theirs: &str) -> String {
    assert!(text.contains(line), "{text}");
    text.replace(
        line,
        &format!("<<<<<<< HEAD\n{ours}\n=======\n{theirs}\n>>>>>>> feature"),
    )
}

/// The `file:line:col` of every error `doctor --json` gives on `project` (which must
/// exit 1): each a conflict marker, with a hint on resolving it.
fn check_doctor(project: &Project, expected: &[&str]) {
    let run = project.run(&["--json", "doctor"]);
    assert_eq!(run.code, 1, "{run:?}");
    let json = run.json();
    let positions: Vec<String> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| {
            assert_eq!(d["code"], "json_syntax", "{d}");
            let hint = d["hint"].as_str().unwrap_or_default();
            assert!(hint.contains("conflict"), "no hint on resolving: {d}");
            format!(
                "{}:{}:{}",
                d["file"].as_str().unwrap(),
                d["line"],
                d["column"]
            )
        })
        .collect();
    assert_eq!(positions, expected, "{json:#}");
}

#[test]
fn doctor_names_the_markers_of_an_asset_json_beside_those_of_an_unreadable_index_json() {
    let project = hero_and_jump("sprites/hero", &[]);
    let index =
        std::fs::read_to_string(project.root().join("assets/.prometeu/index.json")).unwrap();
    let hero =
        std::fs::read_to_string(project.root().join("assets/sprites/hero/asset.json")).unwrap();
    // Both sides renamed the hero; one side added an asset the other did not.
    project.put(
        "sprites/hero/asset.json",
        conflicted(
            &hero,
            "  \"name\": \"hero\",",
            "  \"name\": \"Hero B\",",
            "  \"name\": \"Hero A\",",
        )
        .as_bytes(),
    );
    project.put(
        "ui/icon/asset.json",
        declaration(U3, "icon", &["i.bin"]).as_bytes(),
    );
    project.put("ui/icon/i.bin", b"i");
    project.put(
        ".prometeu/index.json",
        conflicted(&index, "  ]", "  ]", &format!("  ,{{ \"asset_id\": 3, \"asset_uuid\": \"{U3}\", \"root\": \"ui/icon\", \"included_in_build\": true }}\n  ]")).as_bytes(),
    );
    check_doctor(
        &project,
        &[
            "assets/.prometeu/index.json:7:1",
            "assets/sprites/hero/asset.json:4:1",
        ],
    );

    // The simple way out: keep one side of the registry; the declaration still needs its
    // resolution, and says so alone.
    project.put(".prometeu/index.json", index.as_bytes());
    check_doctor(&project, &["assets/sprites/hero/asset.json:4:1"]);
}

#[test]
fn a_running_project_names_a_conflicted_asset_json_once_while_its_registry_is_unreadable() {
    let o = start_with(
        &fixture(),
        ObserverConfig {
            settle: Duration::from_millis(20),
            ..config()
        },
    );
    // A merge writing the conflicted declaration of asset 1 first, then the registry: the
    // declaration is taken in; the failed load names it too, as the generation kept does.
    let ours = fixture_text::declaration(U1, "a", "x.bin");
    let theirs = fixture_text::declaration(U1, "a2", "x.bin");
    o.fs.write(
        "a/asset.json",
        format!("<<<<<<< HEAD\n{ours}=======\n{theirs}>>>>>>> feature\n"),
    );
    o.watcher.changed("a/asset.json");
    o.clock.advance(Duration::from_secs(1));
    o.refreshed(2);
    o.fs.write(
        ".prometeu/index.json",
        fixture_text::registry(3, &[(1, U1, "a", true), (2, U2, "b", true)])
            .replace("[\n", "[\n<<<<<<< HEAD\n"),
    );
    o.watcher.changed(".prometeu/index.json");
    o.clock.advance(Duration::from_secs(1));
    wait_for_state(&o.events, ProjectState::Failed);
    let positions: Vec<String> = o
        .view()
        .diagnostics()
        .iter()
        .map(|d| {
            format!(
                "{}:{}:{}",
                d.file.as_deref().unwrap_or("-"),
                d.line.unwrap_or(0),
                d.column.unwrap_or(0)
            )
        })
        .collect();
    assert_eq!(
        positions,
        ["assets/.prometeu/index.json:2:1", "assets/a/asset.json:1:1"]
    );
}
