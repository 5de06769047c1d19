//! The CLI at the edges of what a file system allows: names longer than a folder entry
//! can hold, folders that cannot be listed, a project created inside another one's
//! `assets/`. Each is said plainly, with the path, and never left as a half-done commit
//! or a wrong answer.

use serde_json::json;

use crate::cli::{Project, declaration, registry};
use crate::cli_write::{transactions, tree_but_lock};
use crate::fixture_text::U1;

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
        json!({"error": {"code": "invalid_params", "message": message}}),
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
