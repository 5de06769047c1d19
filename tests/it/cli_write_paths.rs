//! Write commands whose new folder meets something already on disk: a file where a
//! folder on the way would be, a symbolic link to a folder inside the workspace, a link
//! that leads nowhere. Each is refused as `conflict` before the commit point — never
//! left as a transaction that no recovery can finish — and the project stays writable.

use std::os::unix::fs::symlink;

use serde_json::json;

use crate::cli::{Project, declaration, registry};
use crate::cli_write::{path, transactions, tree_but_lock};
use crate::fixture_text::U1;

/// Asset 1 at `sprites/hero`; `loose` is a file, `shared` a real folder, `linked` a
/// link to it, `dangling` a link to nothing.
fn project() -> Project {
    let project = Project::new(&[
        (
            ".prometeu/index.json",
            &registry(&[(1, U1, "sprites/hero")]),
        ),
        (
            "sprites/hero/asset.json",
            &declaration(U1, "hero", &["hero.bin"]),
        ),
        ("sprites/hero/hero.bin", "pixels"),
        ("loose", "a file"),
        ("shared/readme.txt", "a folder"),
    ]);
    symlink("shared", path(&project, "linked")).unwrap();
    symlink("nowhere", path(&project, "dangling")).unwrap();
    project
}

/// Runs `args` and expects a `conflict` refusal with `message` that changed nothing
/// and left the project as writable as it was.
fn check(project: &Project, args: &[&str], message: &str) {
    let before = tree_but_lock(project);
    let mut argv = args.to_vec();
    argv.push("--json");
    let run = project.run(&argv);
    assert_eq!(run.code, 1, "{args:?}: {run:?}");
    assert_eq!(
        run.json(),
        json!({"error": {"code": "conflict", "message": message,
            "detail": {"command_id": 1, "generation": 1}}}),
        "{args:?}"
    );
    assert!(
        run.stderr.contains("write rejected (conflict)"),
        "{args:?}: {run:?}"
    );
    assert_eq!(tree_but_lock(project), before, "{args:?} wrote something");
    assert_eq!(transactions(project), Vec::<String>::new(), "{args:?}");
    let status = project.run(&["status", "--json"]);
    assert_eq!(
        status.code, 0,
        "{args:?} left the project failed: {status:?}"
    );
}

#[test]
fn a_file_or_link_in_the_way_of_a_new_folder_is_refused_before_the_commit_point() {
    let project = project();
    let linked = "the packer does not look for assets inside linked folders";
    check(
        &project,
        &["move", "1", "loose/hero"],
        "assets/loose/hero cannot be created: assets/loose is a file",
    );
    check(
        &project,
        &["add", "loose/slime", "--kind", "blob", "--input", "s.bin"],
        "assets/loose/slime/asset.json cannot be created: assets/loose is a file",
    );
    check(
        &project,
        &["move", "1", "dangling"],
        "assets/dangling cannot be created: a symbolic link is there",
    );
    check(
        &project,
        &["move", "1", "linked/hero"],
        &format!(
            "assets/linked/hero cannot be created: assets/linked is a symbolic link, and {linked}"
        ),
    );
    check(
        &project,
        &["add", "linked", "--kind", "blob", "--input", "s.bin"],
        &format!(
            "assets/linked/asset.json cannot be created: assets/linked is a symbolic link, and {linked}"
        ),
    );
    check(
        &project,
        &[
            "add",
            "dangling/slime",
            "--kind",
            "blob",
            "--input",
            "s.bin",
        ],
        &format!(
            "assets/dangling/slime/asset.json cannot be created: assets/dangling is a symbolic link, and {linked}"
        ),
    );

    // A real folder on the way is fine, and the project still takes writes.
    let run = project.run(&["move", "1", "shared/hero"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        project.run(&["status", "--json"]).json(),
        json!({"generation": 1, "state": "ready", "drifts": []})
    );
}
