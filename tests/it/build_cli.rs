//! `build` and `inspect` through the CLI on real projects in temporary directories: the
//! demo project builds cleanly, byte for byte the same on a rebuild and from a copy of
//! the project (other paths, other times, other inodes); the human summary and the
//! `--json` report; refusals with exit 1 that name the asset, the file and the reason;
//! symbolic links that leave the workspace never reach the pack; `--out`.

use std::path::Path;

use serde_json::{Value, json};

use crate::cli::{Project, copy_tree, declaration, registry};
use crate::fixture_text::{U1, U2};

fn pack_of(project: &Project, dir: &str) -> (Vec<u8>, Vec<u8>) {
    let dir = project.root().join(dir);
    (
        std::fs::read(dir.join("assets.pak")).unwrap(),
        std::fs::read(dir.join("assets.manifest.json")).unwrap(),
    )
}

#[test]
fn the_demo_project_builds_the_same_bytes_again_and_from_a_copy() {
    let project = Project::demo();
    let run = project.run(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("packed 12 assets (0 reused), 121.2 KiB -> build/assets.pak in "),
        "{}",
        run.stdout
    );
    // No progress bar into a pipe.
    assert_eq!(run.stderr, "");
    let first = pack_of(&project, "build");

    let again = project.run(&["build", "--json"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let report = again.json();
    assert_eq!(
        report,
        json!({
            "generation": 1,
            "pack": "build/assets.pak",
            "manifest": "build/assets.manifest.json",
            "assets": 12,
            "reused": 12,
            "bytes": first.0.len(),
        })
    );
    assert_eq!(pack_of(&project, "build"), first);

    // `-q`: the pack is written and nothing is said.
    std::fs::remove_dir_all(project.root().join("build")).unwrap();
    let quiet = project.run(&["build", "-q"]);
    assert_eq!(
        (quiet.code, quiet.stdout.as_str(), quiet.stderr.as_str()),
        (0, "", "")
    );
    assert_eq!(pack_of(&project, "build"), first);

    // A copy made later, elsewhere, with the cache left behind.
    let copy = Project::demo();
    std::fs::remove_dir_all(copy.root().join("assets")).unwrap();
    copy_tree(&project.root().join("assets"), &copy.root().join("assets"));
    std::fs::remove_dir_all(copy.root().join("assets/.prometeu/cache")).unwrap();
    let run = copy.run(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(pack_of(&copy, "build"), first);

    let inspected = project.run(&["inspect", "build/assets.pak", "--json"]);
    assert_eq!(inspected.code, 0, "{}", inspected.stderr);
    let inspected = inspected.json();
    assert_eq!(inspected["assets"].as_array().unwrap().len(), 12);
    let manifest: Value = serde_json::from_slice(&first.1).unwrap();
    for (listed, described) in inspected["assets"]
        .as_array()
        .unwrap()
        .iter()
        .zip(manifest["assets"].as_array().unwrap())
    {
        for key in [
            "asset_id",
            "asset_uuid",
            "kind",
            "offset",
            "length",
            "blake3",
        ] {
            assert_eq!(listed[key], described[key], "{key}");
        }
    }
    // The excluded asset of the demo never reaches the pack.
    assert!(!manifest.to_string().contains("unused_boss"));
    let human = project.run(&["inspect", "build/assets.pak"]);
    assert!(
        human
            .stdout
            .starts_with("build/assets.pak: valid pack, version 1, 12 assets, 121.2 KiB\n"),
        "{}",
        human.stdout
    );
}

/// A build killed while it wrote (Ctrl-C, `kill -9`) leaves its temporary file, as big
/// as the pack. The next build removes it, also when it finds the pack and manifest
/// already current and has nothing to write.
#[test]
fn a_rebuild_with_nothing_to_write_removes_what_a_killed_build_left() {
    let project = Project::demo();
    assert_eq!(project.run(&["build"]).code, 0);
    let first = pack_of(&project, "build");
    // The id of a process that has ended: the build that was killed.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let left = project
        .root()
        .join(format!("build/.assets.pak.{dead}-0.tmp"));
    std::fs::write(&left, b"half a pack").unwrap();

    let again = project.run(&["build", "--json"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.json()["reused"], 12);
    assert!(
        !left.exists(),
        "the killed build's temporary is still there"
    );
    assert_eq!(pack_of(&project, "build"), first);
}

#[test]
fn refusals_exit_1_and_name_the_asset_the_file_and_the_reason() {
    let project = Project::new(&[
        (
            ".prometeu/index.json",
            &registry(&[(1, U1, "a"), (2, U2, "b")]),
        ),
        ("a/asset.json", &declaration(U1, "a", &["x.bin"])),
        ("a/x.bin", "x"),
        ("b/asset.json", &declaration(U2, "b", &["missing.bin"])),
    ]);
    let run = project.run(&["build"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.starts_with(
            "error: the build is refused: 1 problem in included assets\n  asset 2 (b): assets/b/asset.json:"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("`missing.bin`"), "{}", run.stderr);
    let json = project.run(&["build", "--json"]);
    assert_eq!(json.code, 1);
    let error = &json.json()["error"];
    assert_eq!(error["code"], "invalid");
    assert_eq!(error["detail"]["errors"][0]["asset_id"], 2);
    assert_eq!(error["detail"]["errors"][0]["file"], "assets/b/asset.json");
    assert!(!project.root().join("build").exists());
}

#[test]
fn links_out_of_the_workspace_never_reach_the_pack() {
    let project = Project::new(&[
        (".prometeu/index.json", &registry(&[(1, U1, "a")])),
        ("a/asset.json", &declaration(U1, "a", &["secret.bin"])),
    ]);
    std::fs::write(project.root().join("secret.bin"), b"outside the workspace").unwrap();
    std::os::unix::fs::symlink(
        project.root().join("secret.bin"),
        project.root().join("assets/a/secret.bin"),
    )
    .unwrap();
    let run = project.run(&["build"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("the input `secret.bin` is not usable: it is a symbolic link that leads outside the asset folder"),
        "{}",
        run.stderr
    );
    assert!(!project.root().join("build").exists());
}

#[test]
fn out_chooses_the_folder_outside_the_workspace_only() {
    let project = Project::demo();
    let run = project.run_in("assets/sprites", &["build", "--out", "../../dist/game"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("-> dist/game/assets.pak"),
        "{}",
        run.stdout
    );
    assert!(project.root().join("dist/game/assets.pak").is_file());
    let elsewhere = tempfile::tempdir().unwrap();
    let out = elsewhere.path().join("packs");
    let run = project.run(&["build", "--json", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let expected = out.canonicalize().unwrap().join("assets.pak");
    assert_eq!(run.json()["pack"], expected.to_str().unwrap());
    for inside in ["assets", "assets/sprites/out"] {
        let run = project.run(&[
            "build",
            "--out",
            &project.root().join(inside).display().to_string(),
        ]);
        assert_eq!(run.code, 2, "{inside}: {}", run.stderr);
        assert!(
            run.stderr.contains("choose a folder outside the workspace"),
            "{}",
            run.stderr
        );
    }
    assert!(!Path::new(&project.root().join("assets/sprites/out")).exists());
}

#[test]
fn out_that_is_not_a_folder_is_named_as_such() {
    let project = Project::demo();
    std::fs::write(project.root().join("notes.txt"), b"mine").unwrap();
    std::os::unix::fs::symlink("nowhere/at/all", project.root().join("dangling")).unwrap();
    for (out, reason) in [
        ("notes.txt", "it is a file, not a folder"),
        ("dangling", "it is a symbolic link to nothing"),
        ("notes.txt/sub", "not a directory"),
    ] {
        let run = project.run(&["build", "--json", "--out", out]);
        assert_eq!(run.code, 1, "{out}: {}", run.stderr);
        let error = &run.json()["error"];
        assert_eq!(error["code"], "io", "{out}: {error}");
        assert_eq!(error["detail"]["path"], out, "{out}: {error}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("cannot create directory {out}: "))
                && message.contains(reason),
            "{out}: {message}"
        );
    }
    assert_eq!(
        std::fs::read(project.root().join("notes.txt")).unwrap(),
        b"mine"
    );
}

#[test]
fn inspect_refuses_what_is_not_a_file_without_waiting_on_it() {
    let project = Project::demo();
    let fifo = project.root().join("pipe.pak");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    // Opening the FIFO to read would block until a writer comes: wait with a deadline,
    // and should it pass, be the writer that lets inspect finish, then fail.
    let run = std::thread::scope(|scope| {
        let (sender, answer) = std::sync::mpsc::channel();
        let project = &project;
        scope.spawn(move || sender.send(project.run(&["inspect", "pipe.pak"])));
        if let Ok(run) = answer.recv_timeout(std::time::Duration::from_secs(60)) {
            return run;
        }
        loop {
            // Present only while a reader waits; closing at once gives that reader EOF.
            drop(rustix::fs::open(
                &fifo,
                rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::NONBLOCK,
                rustix::fs::Mode::empty(),
            ));
            if let Ok(run) = answer.recv_timeout(std::time::Duration::from_millis(100)) {
                panic!("inspect waited on a FIFO: {run:?}");
            }
        }
    });
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("pipe.pak: it is not a regular file"),
        "{}",
        run.stderr
    );
    let run = project.run(&["inspect", "."]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(": it is not a regular file"),
        "{}",
        run.stderr
    );
}

/// `inspect --json` keeps the key order docs/cli.md shows, as every other `--json`
/// result does: a tool or a person reading the raw line finds `pack` first, then the
/// table's fields in the order of the pack format.
#[test]
fn inspect_json_keeps_its_documented_key_order() {
    let project = Project::demo();
    let run = project.run(&["build", "-q"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let inspected = project.run(&["inspect", "build/assets.pak", "--json"]);
    assert_eq!(inspected.code, 0, "{}", inspected.stderr);
    let line = inspected.stdout.as_str();
    assert!(
        line.starts_with(
            "{\"pack\":\"build/assets.pak\",\"valid\":true,\"version\":1,\"bytes\":124128,\"index_blake3\":\""
        ),
        "{line}"
    );
    assert!(
        line.contains(
            "\"assets\":[{\"asset_id\":1,\"asset_uuid\":\"20db63a0-2e7e-4517-af1c-a5a45b309e62\",\"kind\":\"image\",\"format\":\"rgba8\",\"offset\":1536,\"length\":1024,\"blake3\":\""
        ),
        "{line}"
    );
    assert!(
        line.contains("\"parts\":[{\"offset\":0,\"length\":1024,\"width\":16,\"height\":16}]}"),
        "{line}"
    );
    assert!(
        line.contains("\"width\":64,\"height\":16,\"palette\":11}"),
        "{line}"
    );
    assert!(
        line.contains("\"channels\":2,\"sample_rate\":22050,\"frames\":22048}"),
        "{line}"
    );
    // `data` and `blob` carry no `format`: the uuid is followed by the kind, then the offset.
    assert!(
        line.contains("\"kind\":\"blob\",\"offset\":123888,"),
        "{line}"
    );
}
