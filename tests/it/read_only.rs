//! A folder the packer may not change (`chmod a-w`, a read-only mount): a write that
//! would add, remove or rename an entry there is refused before its commit point, with
//! `io` naming the folder and nothing written, and the project stays as it was instead
//! of becoming `failed` with a transaction left behind. Once the folder is writable
//! again the same write goes through.

use packer_app::error::ErrorCode;
use packer_app::runtime::WriteRequest;
use packer_domain::command::Command;
use packer_domain::path::AssetPath;
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{AssetQuery, ProjectState};
use packer_memfs::MemFs;

use crate::fixture_text::{U1, U2, declaration, registry};
use crate::runtime::{create, open};

/// Asset 1 at `art/a`, asset 2 at `sfx/b`.
fn project() -> MemFs {
    let text = format!(
        "//- .prometeu/index.json\n{}//- art/a/asset.json\n{}//- art/a/x.bin\nuser bytes\n//- sfx/b/asset.json\n{}//- sfx/b/y.bin\nmore bytes\n",
        registry(3, &[(1, U1, "art/a", true), (2, U2, "sfx/b", true)]),
        declaration(U1, "a", "x.bin"),
        declaration(U2, "b", "y.bin"),
    );
    MemFs::from_fixture(&text).unwrap()
}

fn root(path: &str) -> AssetPath {
    AssetPath::new(path).unwrap()
}

fn id(n: u64) -> AssetQuery {
    AssetQuery::Id(AssetId(n))
}

/// `command` is refused while `read_only` cannot be changed, naming `named` in its
/// detail, with every file as it was and the project `ready`; and it commits once the
/// folder is writable again.
#[track_caller]
fn check(read_only: &str, command: Command, named: &str) {
    let fs = project();
    fs.mkdir("levels");
    let (runtime, events) = open(&fs);
    fs.set_read_only(read_only, true);
    let before = fs.files();
    let request = || WriteRequest {
        command: command.clone(),
        expected_generation: None,
    };

    let error = runtime.submit(request()).unwrap_err();

    assert_eq!(error.code, ErrorCode::Io, "{error:?}");
    assert_eq!(error.detail["kind"], "permission_denied", "{error:?}");
    assert_eq!(error.detail["path"], named, "{error:?}");
    assert_eq!(fs.files(), before, "a refused write changed files");
    assert!(
        fs.files()
            .keys()
            .all(|path| !path.starts_with(".prometeu/tx/")),
        "a transaction was left: {:?}",
        fs.files().keys().collect::<Vec<_>>()
    );
    let view = runtime.view();
    assert_eq!(
        (view.state, view.snapshot.generation()),
        (ProjectState::Ready, 1)
    );
    assert!(
        !events
            .events()
            .iter()
            .any(|e| matches!(e, packer_domain::event::Event::CommitFailed { .. })),
        "{:?}",
        events.events()
    );

    fs.set_read_only(read_only, false);
    let done = runtime.submit(request()).unwrap();
    assert_eq!(done.generation, 2);
    runtime.shutdown();
}

#[test]
fn removing_from_a_read_only_folder_is_refused_before_the_commit_point() {
    check(
        "art/a",
        Command::RemoveAsset { asset: id(1) },
        "assets/art/a",
    );
}

#[test]
fn moving_out_of_a_read_only_parent_is_refused() {
    check(
        "art",
        Command::MoveAsset {
            asset: id(1),
            to: root("sfx/a"),
        },
        "assets/art",
    );
}

#[test]
fn moving_into_a_read_only_parent_is_refused() {
    check(
        "sfx",
        Command::MoveAsset {
            asset: id(1),
            to: root("sfx/a"),
        },
        "assets/sfx",
    );
}

/// A folder that changes parent has its `..` rewritten: it must be writable itself.
#[test]
fn moving_a_read_only_folder_to_another_parent_is_refused() {
    check(
        "art/a",
        Command::MoveAsset {
            asset: id(1),
            to: root("sfx/a"),
        },
        "assets/art/a",
    );
}

/// The new root's folders do not exist yet (its input is still to be made): the nearest
/// folder that does exist is the one that must take them.
#[test]
fn creating_below_a_read_only_folder_is_refused() {
    check("levels", create("levels/deeper/c"), "assets/levels");
}

#[test]
fn a_registry_folder_that_cannot_be_changed_refuses_every_write() {
    check(
        ".prometeu",
        Command::SetIncluded {
            asset: id(2),
            included: false,
        },
        "assets/.prometeu",
    );
}

/// The same on a real disk, through the CLI, as a user who cannot write the asset's
/// folder (run as `nobody` when the tests run as root, whom permissions do not stop).
#[test]
fn the_cli_refuses_a_write_into_a_folder_the_user_cannot_change() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;

    let project = crate::cli::hero_and_jump("sprites/hero", &[]);
    let as_root = rustix::process::geteuid().is_root();
    const NOBODY: u32 = 65534;
    if as_root {
        chown_tree(project.root(), NOBODY);
    }
    let hero = project.root().join("assets/sprites/hero");
    std::fs::set_permissions(&hero, std::fs::Permissions::from_mode(0o555)).unwrap();
    let before = crate::cli_write::tree_but_lock(&project);
    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(crate::child::PROGRAM);
        command.args(args).current_dir(project.root());
        if as_root {
            command.uid(NOBODY).gid(NOBODY);
        }
        let output = command.output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        (
            output.status.code(),
            stdout,
            String::from_utf8(output.stderr).unwrap(),
        )
    };

    let (code, stdout, stderr) = run(&["remove", "1", "--json"]);

    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let error: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(error["error"]["code"], "io", "{error}");
    assert_eq!(
        (
            &error["error"]["detail"]["path"],
            &error["error"]["detail"]["kind"]
        ),
        (&"assets/sprites/hero".into(), &"permission_denied".into()),
        "{error}"
    );
    assert_eq!(
        crate::cli_write::tree_but_lock(&project),
        before,
        "a refused write changed the project"
    );
    let tx = project.root().join("assets/.prometeu/tx");
    assert!(
        std::fs::read_dir(&tx).map_or(true, |mut entries| entries.next().is_none()),
        "a transaction was left in {tx:?}"
    );
    let (code, stdout, _) = run(&["status", "--json"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("\"state\":\"ready\""), "{stdout}");

    std::fs::set_permissions(&hero, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, stdout, stderr) = run(&["remove", "1", "--json"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
}

fn chown_tree(path: &std::path::Path, owner: u32) {
    std::os::unix::fs::lchown(path, Some(owner), Some(owner)).unwrap();
    if std::fs::symlink_metadata(path).unwrap().is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), owner);
        }
    }
}
