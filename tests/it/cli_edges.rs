//! The CLI at the edges of what a file system allows: names longer than a folder entry
//! can hold, folders that cannot be listed, a project created inside another one's
//! `assets/`. Each is said plainly, with the path, and never left as a half-done commit
//! or a wrong answer.

use packer_app::error::ErrorCode;
use packer_app::runtime::read_only_view;
use packer_app::views::{ListView, StatusView, require_registry};
use packer_domain::ports::PortErrorKind;
use packer_domain::snapshot::ProjectState;
use packer_memfs::{Fault, MemFs};
use rustix::fs::{CWD, Mode};
use serde_json::json;

use crate::cli::{Project, declaration, registry, run_cli};
use crate::cli_write::{transactions, tree_but_lock};
use crate::fixture_text::{U1, U2};
use crate::observe::fixture;

/// Asset 1 at `sprites/hero`, whole.
fn project() -> Project {
    Project::new(&[
        (
            ".prometeu/index.json",
            &registry(&[(1, U1, "sprites/hero")]),
        ),
        (
            "sprites/hero/asset.json",
            &declaration(U1, "hero", &["hero.bin"]),
        ),
        ("sprites/hero/hero.bin", "pixels"),
    ])
}

/// Runs `args` with `--json` and expects a usage error (exit code 2) saying `message`,
/// with nothing written and no transaction left behind.
fn check_usage(project: &Project, args: &[&str], message: &str) {
    let before = tree_but_lock(project);
    let mut argv = args.to_vec();
    argv.push("--json");
    let run = project.run(&argv);
    assert_eq!(run.code, 2, "{args:?}: {run:?}");
    assert_eq!(
        run.json(),
        json!({"error": {"code": "invalid_params", "message": message, "detail": {}}}),
        "{args:?}"
    );
    assert_eq!(tree_but_lock(project), before, "{args:?} wrote something");
    assert_eq!(transactions(project), Vec::<String>::new(), "{args:?}");
}

/// A name longer than any file system's folder entry can never be created: a root or
/// input holding one is a usage error, not a commit that fails after its commit point
/// and leaves the project `failed` with a transaction no recovery can finish.
#[test]
fn a_name_longer_than_a_folder_entry_is_a_usage_error() {
    let project = project();
    let long = "b".repeat(256);
    let limit = "a file or folder name in the path is 256 bytes long; the limit is 255";
    check_usage(
        &project,
        &[
            "add",
            &format!("long/{long}"),
            "--name",
            "n",
            "--kind",
            "blob",
            "--input",
            "x",
        ],
        &format!("ROOT `long/{long}` is not a valid asset root: {limit}"),
    );
    check_usage(
        &project,
        &["add", "short", "--kind", "blob", "--input", &long],
        &format!("FILE `{long}` is not a valid input path: {limit}"),
    );
    check_usage(
        &project,
        &["move", "1", &format!("sprites/{long}")],
        &format!("NEW_ROOT `sprites/{long}` is not a valid asset root: {limit}"),
    );
    // The longest name a folder can hold is an ordinary root.
    let longest = format!("long/{}", "a".repeat(255));
    let run = project.run(&["move", "1", &longest]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        project.run(&["status", "--json"]).json(),
        json!({"generation": 1, "state": "ready", "drifts": []})
    );
}

/// A registry that reads in a workspace whose folders cannot be listed (a permission
/// taken away): the project is `failed` and its assets are unknown, not absent. The
/// reads of the CLI (and of a runtime that never had a good generation) refuse to list
/// assets or a plan rather than say "no assets are registered", and `status` says why
/// it is failed.
#[test]
fn a_workspace_that_cannot_be_listed_is_not_an_empty_project() {
    let fs = MemFs::from_fixture(&fixture()).unwrap();
    // The load's scan is the first operation.
    fs.inject(Fault::once(1, PortErrorKind::PermissionDenied));
    let view = read_only_view(&fs);
    assert_eq!(view.state, ProjectState::Failed);
    assert_eq!(view.snapshot.registry().map(|r| r.assets().len()), Some(2));

    let refusal = ListView::of_view(&view).unwrap_err();
    assert_eq!(refusal.code, ErrorCode::FailedState);
    assert_eq!(
        refusal.message,
        "the project is failed: the workspace cannot be scanned: cannot scan assets: \
         permission denied (injected fault) (see `doctor`)"
    );
    assert_eq!(
        require_registry(&view.snapshot).unwrap_err().message,
        refusal.message
    );
    assert_eq!(
        serde_json::to_value(StatusView::of_view(&view)).unwrap(),
        json!({"generation": 1, "state": "failed", "drifts": [],
            "condition": "the workspace cannot be scanned: cannot scan assets: permission denied (injected fault)"})
    );
}

/// `init` in a folder of another project's `assets/` (its root, an asset folder, a
/// folder yet to be made, `.prometeu`) would make a project whose files the outer one
/// takes for assets of its own: refused, nothing created. Beside `assets/` is fine.
#[test]
fn init_inside_the_assets_of_another_project_is_refused() {
    let project = project();
    let root = project.root().to_str().unwrap().to_owned();
    for dir in [
        "assets",
        "assets/sprites/hero",
        "assets/sprites/new/deeper",
        "assets/.prometeu",
        "assets/sprites/../other",
    ] {
        let before = project.tree();
        let run = project.run_in("", &["init", dir, "--json"]);
        assert_eq!(run.code, 1, "{dir}: {run:?}");
        assert_eq!(
            run.json(),
            json!({"error": {"code": "invalid", "message": format!(
                "{root}/{dir} is in the assets folder of the project in {root}: a project \
                 there would have its files taken for that project's assets; create it \
                 outside {root}/assets"
            ), "detail": {}}}),
            "{dir}"
        );
        assert_eq!(project.tree(), before, "{dir}: a refused init wrote");
    }
    // From inside `assets/`, without DIR: the current folder is refused the same way.
    let run = project.run_in("assets/sprites", &["init"]);
    assert_eq!(run.code, 1, "{run:?}");

    let run = project.run_in(".", &["init", "tools/editor"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        project
            .root()
            .join("tools/editor/assets/.prometeu/index.json")
            .is_file()
    );
}

/// A project whose `index.json` is not a file (a folder made by mistake, a FIFO) is
/// still the project found from inside it: the commands say what is wrong with its
/// registry, instead of "no project here", or of the project of a folder further up.
#[test]
fn a_registry_that_is_not_a_file_is_still_the_project_found() {
    let outer = Project::new(&[(".prometeu/index.json", &registry(&[]))]);
    let inner = outer.root().join("tools/game");
    let index = inner.join("assets/.prometeu/index.json");
    std::fs::create_dir_all(&index).unwrap();
    let run = outer.run_in("tools/game", &["status", "--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.json()["state"], "failed", "{run:?}");
    assert_eq!(
        run.json()["drifts"][0]["error"]["message"],
        "cannot read assets/.prometeu/index.json: is a directory"
    );
    // Its hint is about what the file is, not about permissions.
    let doctor = outer.run_in("tools/game", &["doctor", "--json"]).json();
    assert_eq!(
        doctor["diagnostics"][0]["hint"],
        "index.json must be a regular file inside the workspace; restore it from version control"
    );

    std::fs::remove_dir(&index).unwrap();
    rustix::fs::mkfifoat(CWD, &index, Mode::from_raw_mode(0o600)).unwrap();
    let before = outer.tree();
    // Never blocks on the FIFO: it is not opened for reading.
    let run = outer.run_in("tools/game/assets", &["list", "--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.json()["error"]["code"], "failed_state", "{run:?}");
    assert!(
        run.stderr.contains("assets/.prometeu/index.json"),
        "{run:?}"
    );
    assert_eq!(outer.tree(), before, "a read wrote");
}

/// `--project` naming a folder inside a project (its `assets/`, an asset folder) or a
/// file is a mistake said as such, with the folder meant; never the advice to `init`
/// there, which would nest a project in another one's assets.
#[test]
fn project_naming_a_folder_inside_a_project_points_at_the_project() {
    let project = project();
    let root = project.root().to_str().unwrap().to_owned();
    for inside in [
        "assets",
        "assets/",
        "assets/sprites/hero",
        "assets/.prometeu",
    ] {
        let run = project.run_in("", &["--project", inside, "status", "--json"]);
        assert_eq!(run.code, 1, "{inside}: {run:?}");
        assert_eq!(
            run.json()["error"]["message"],
            format!(
                "{root}/{inside} is inside the project in {root}: --project names the folder \
                 that holds assets/ (use --project {root})"
            ),
            "{inside}"
        );
    }
    let run = project.run_in("", &["--project", "assets/sprites/hero/hero.bin", "list"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("is inside the project in"), "{run:?}");
    let run = project.run_in("", &["--project", "assets/sprites/hero/hero.bin/x", "list"]);
    assert_eq!(run.code, 1, "{run:?}");
    std::fs::write(project.root().join("notes.txt"), "a file").unwrap();
    let run = project.run_in("", &["--project", "notes.txt", "list"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("notes.txt is not a Prometeu project: it is not a folder"),
        "{run:?}"
    );
}

/// Usage errors of every command, with `--json` anywhere before `--`: exit code 2 and
/// one error object on stdout naming the problem; after `--` it is an argument.
#[test]
fn usage_errors_under_json_are_one_json_error() {
    let project = project();
    let cases: &[(&[&str], &str)] = &[
        (
            &["show"],
            "the following required arguments were not provided: <ASSET>",
        ),
        (&["show", "1", "2"], "unexpected argument '2' found"),
        (
            &["move", "1"],
            "the following required arguments were not provided: <NEW_ROOT>",
        ),
        (&["list", "extra"], "unexpected argument 'extra' found"),
        (&["status", "--frob"], "unexpected argument '--frob' found"),
        (
            &[
                "add", "x", "--kind", "blob", "--kind", "data", "--input", "a",
            ],
            "the argument '--kind <KIND>' cannot be used multiple times",
        ),
        (
            &["reconcile", "--apply", "x"],
            "invalid value 'x' for '--apply <ID>...': invalid digit found in string",
        ),
        (
            &["reconcile", "--apply", "1", "--apply-all"],
            "the argument '--apply <ID>...' cannot be used with '--apply-all'",
        ),
        (
            &["serve"],
            "the following required arguments were not provided: --stdio",
        ),
        (&["show", "--", "1", "2"], "unexpected argument '2' found"),
        (
            &["show", "../x"],
            "`../x` is neither an asset id, a uuid nor a valid root: the path has a `..` segment; it may not leave its base",
        ),
    ];
    for (args, message) in cases {
        for json in ["--json", "--json=true"] {
            let mut argv = vec![json];
            argv.extend_from_slice(args);
            let before = tree_but_lock(&project);
            let run = project.run(&argv);
            assert_eq!(run.code, 2, "{argv:?}: {run:?}");
            assert_eq!(run.stdout.lines().count(), 1, "{argv:?}: {run:?}");
            let error = &run.json()["error"];
            assert_eq!(error["code"], "invalid_params", "{argv:?}");
            if json == "--json" {
                assert_eq!(error["message"], *message, "{argv:?}");
            }
            assert!(run.stderr.starts_with("error: "), "{argv:?}: {run:?}");
            assert_eq!(tree_but_lock(&project), before, "{argv:?} wrote");
        }
    }
    // After `--`, `--json` is an argument: human usage only.
    let run = project.run(&["show", "--", "--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "", "{run:?}");
}

/// `remove` of an asset whose `asset.json` is not a file it could read (a folder made in
/// its place, a link out of the workspace) unregisters it and leaves that in place; it
/// does not claim to have deleted it.
#[test]
fn remove_says_what_it_deleted() {
    let project = project();
    let declaration_path = project.root().join("assets/sprites/hero/asset.json");
    std::fs::remove_file(&declaration_path).unwrap();
    std::fs::create_dir(&declaration_path).unwrap();
    let run = project.run(&["remove", "1"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "removed asset 1 (sprites/hero) · generation 2\n"
    );
    assert_eq!(
        run.stderr,
        "it had no readable asset.json in sprites/hero: nothing there was deleted\n"
    );
    assert!(declaration_path.is_dir());

    let project = self::project();
    let declaration_path = project.root().join("assets/sprites/hero/asset.json");
    let run = project.run(&["remove", "1"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr,
        "its asset.json was deleted; the input files in sprites/hero were kept\n"
    );
    assert!(!declaration_path.exists());
}

/// Run from a folder that was deleted under the shell (the binary then knows no current
/// folder): commands that need it say so, instead of "neither `` nor any parent".
#[test]
fn an_unknown_current_folder_is_said_as_such() {
    let project = project();
    let run = |args: &[&str]| {
        let run = run_cli(std::path::PathBuf::new(), args);
        (run.code, run.stderr)
    };
    let (code, stderr) = run(&["status"]);
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "error: the current folder cannot be read (was it deleted?): change to a folder of \
         the project, or use --project DIR\n"
    );
    let (code, stderr) = run(&["init", "game"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("give the new project's folder as an absolute path"));
    // An absolute --project needs no current folder.
    let root = project.root().to_str().unwrap().to_owned();
    let (code, stderr) = run(&["--project", &root, "list"]);
    assert_eq!(code, 0, "{stderr}");
}

/// A declaration so long (a thousand long input names) that the packer would not read
/// it back is never written: `add` is refused as `invalid`, and nothing changes.
#[test]
fn add_never_writes_a_declaration_too_large_to_read_back() {
    let project = project();
    // Long names (three folders of 250 bytes each) make the file large with few inputs.
    let folders = ["a", "b", "c"].map(|c| c.repeat(250)).join("/");
    let names: Vec<String> = (0..1400).map(|i| format!("{folders}/{i:04}")).collect();
    let mut args = vec!["add", "big", "--kind", "blob", "--json", "--input"];
    args.extend(names.iter().map(String::as_str));
    let before = tree_but_lock(&project);
    let run = project.run(&args);
    assert_eq!(run.code, 1, "{:?}", run.stderr);
    assert_eq!(
        run.json()["error"]["message"],
        "the asset.json would be 1065547 bytes, more than the 1048576 the packer reads; \
         declare fewer inputs"
    );
    assert_eq!(run.json()["error"]["code"], "invalid");
    assert_eq!(tree_but_lock(&project), before);
}

/// Messages quote what files hold; a key, a uuid or a format holding terminal control
/// sequences is shown escaped in human output, never sent raw to the terminal. JSON
/// output escapes them all as JSON escapes (DEL and the C1 controls included, which a
/// JSON encoder may leave raw), and reads back as the same text.
#[test]
fn control_characters_from_files_never_reach_the_terminal() {
    let project = Project::new(&[
        (".prometeu/index.json", &registry(&[])),
        (
            "e/asset.json",
            &format!(
                "{{\"schema_version\": 1, \"asset_uuid\": \"{U1}\", \"name\": \"e\", \
                 \"kind\": \"image\", \"inputs\": [\"x\"], \
                 \"output\": {{\"format\": \"x\\u001b[2J\", \"k\\u001b[5m\\u007f\\u009b\": 1}}}}"
            ),
        ),
    ]);
    for args in [
        &["doctor"][..],
        &["status"],
        &["reconcile"],
        &["adopt", "e"],
    ] {
        let run = project.run(args);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(
            !all.contains(['\u{1b}', '\u{7f}', '\u{9b}']),
            "{args:?}: {all:?}"
        );
        if args == ["doctor"] {
            assert!(
                all.contains("unknown key `k\\u{1b}[5m\\u{7f}\\u{9b}` in `output`"),
                "{all}"
            );
        }
    }
    let run = project.run(&["doctor", "--json"]);
    assert!(
        !run.stdout.contains(['\u{1b}', '\u{7f}', '\u{9b}']),
        "{:?}",
        run.stdout
    );
    let doctor = run.json();
    // A usage error quotes the argument given, which may hold them too.
    let usage = project.run(&["--json", "bogus\u{7f}\u{9b}"]);
    assert_eq!(usage.code, 2, "{usage:?}");
    assert!(
        !usage.stdout.contains(['\u{7f}', '\u{9b}']),
        "{:?}",
        usage.stdout
    );
    assert!(
        usage.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("bogus") && m.contains('\u{9b}')),
        "{:?}",
        usage.stdout
    );
    let messages: Vec<&str> = doctor["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["message"].as_str())
        .collect();
    assert!(
        messages.contains(&"unknown key `k\u{1b}[5m\u{7f}\u{9b}` in `output`"),
        "{messages:?}"
    );
}

/// `list` lines its columns up in terminal columns: a name in Japanese or with an
/// emoji takes two per character.
#[test]
fn list_columns_line_up_with_wide_characters() {
    let project = Project::new(&[
        (
            ".prometeu/index.json",
            &registry(&[(1, U1, "sprites/勇者"), (2, U2, "sprites/hero")]),
        ),
        (
            "sprites/勇者/asset.json",
            &declaration(U1, "勇者😀", &["a.bin"]),
        ),
        ("sprites/勇者/a.bin", "x"),
        (
            "sprites/hero/asset.json",
            &declaration(U2, "hero", &["a.bin"]),
        ),
        ("sprites/hero/a.bin", "x"),
    ]);
    let run = project.run(&["list"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "project ready · generation 1 · 2 assets\n\
             ID  NAME    KIND  ROOT          BUILD  STATUS  UUID\n\
             1   勇者😀  blob  sprites/勇者  yes    ok      {U1}\n\
             2   hero    blob  sprites/hero  yes    ok      {U2}\n"
        )
    );
}

/// A `tx` that is a file (made by mistake) cannot be looked into: the read commands say
/// that its transactions cannot be recovered, not that "the commit failed": they ran
/// none.
#[test]
fn a_transaction_folder_that_cannot_be_read_is_named_by_reads() {
    let project = project();
    project.put(".prometeu/tx", b"not a folder");
    let run = project.run(&["status", "--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.json()["condition"],
        "the interrupted commits in assets/.prometeu/tx cannot be recovered: cannot scan \
         assets/.prometeu/tx: not a directory"
    );
}

/// `reconcile --apply-all` on a project that recovery left `failed` (a transaction it
/// refuses) has nothing to apply, yet the project is failed: exit code 1 with the
/// reason, as the plan itself gives, not a success.
#[test]
fn apply_all_on_a_failed_project_with_nothing_to_apply_exits_1() {
    let project = project();
    let tx = "00000000000000000001-1";
    project.put(
        &format!(
            ".prometeu/tx/{tx}/{}",
            packer_domain::transaction::INTENT_COMMITTED
        ),
        b"garbage",
    );
    let before = tree_but_lock(&project);
    for json in [false, true] {
        let mut args = vec!["reconcile", "--apply-all"];
        if json {
            args.push("--json");
        }
        let run = project.run(&args);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.stderr.contains(&format!(
                "error: the project is failed: recovery_conflict: transaction {tx}"
            )),
            "{run:?}"
        );
        if json {
            assert_eq!(run.json(), json!({"generation": 1}));
        }
    }
    assert_eq!(tree_but_lock(&project), before, "a refused recovery wrote");
}
