//! The crash model: only what `sync_file` and `sync_dir` made durable survives.

use packer_domain::path::WsPath;
use packer_domain::ports::{PortErrorKind, SyncAll, WorkspacePort};

use super::lock::Contender;
use super::{check, p, port};
use crate::{Fault, MemFs};

const TREE: &str = "
    //- .prometeu/index.json
    old
    //- sprites/hero/asset.json
    hero
    //- audio/
";

/// Runs `act` on the port of `TREE`, crashes, and compares what is left with `expected`.
fn check_crash(act: impl FnOnce(&dyn WorkspacePort), expected: &str) {
    check(
        TREE,
        |fs| {
            act(port(fs));
            fs.crash();
        },
        expected,
    );
}

#[test]
fn an_unsynced_new_file_is_lost() {
    check_crash(
        |fs| {
            fs.write_file(&p("audio/jump.wav"), b"wav").unwrap();
            fs.create_dir_all(&p("new/dir")).unwrap();
        },
        "
        //- .prometeu/index.json
        old
        //- audio/
        //- sprites/hero/asset.json
        hero
        ",
    );
}

#[test]
fn sync_all_makes_everything_durable_and_only_what_came_before() {
    check_crash(
        |fs| {
            fs.create_dir_all(&p("new/dir")).unwrap();
            fs.write_file(&p("new/dir/a.bin"), b"a\n").unwrap();
            fs.write_file(&p(".prometeu/index.json"), b"new\n").unwrap();
            fs.remove_file(&p("sprites/hero/asset.json")).unwrap();
            assert_eq!(fs.sync_all().unwrap(), SyncAll::Done);
            fs.write_file(&p("audio/late.wav"), b"late").unwrap();
        },
        "
        //- .prometeu/index.json
        new
        //- audio/
        //- new/dir/a.bin
        a
        //- sprites/hero/
        ",
    );
}

#[test]
fn without_sync_all_nothing_is_made_durable() {
    let fs = MemFs::from_fixture(TREE).unwrap();
    fs.offer_sync_all(false);
    let port = port(&fs);
    port.write_file(&p("audio/jump.wav"), b"wav").unwrap();
    fs.clear_ops();
    assert_eq!(port.sync_all().unwrap(), SyncAll::Unavailable);
    assert!(fs.ops().is_empty(), "an unavailable sync is no operation");
    fs.crash();
    assert_eq!(fs.read("audio/jump.wav"), None);
}

#[test]
fn a_file_synced_but_not_its_directory_is_lost() {
    check_crash(
        |fs| {
            fs.write_file(&p("audio/jump.wav"), b"wav").unwrap();
            fs.sync_file(&p("audio/jump.wav")).unwrap();
        },
        "
        //- .prometeu/index.json
        old
        //- audio/
        //- sprites/hero/asset.json
        hero
        ",
    );
}

#[test]
fn a_new_file_whose_directory_alone_was_synced_is_empty() {
    check_crash(
        |fs| {
            fs.write_file(&p("audio/jump.wav"), b"wav").unwrap();
            fs.sync_dir(&p("audio")).unwrap();
        },
        "
        //- .prometeu/index.json
        old
        //- audio/jump.wav
        //- sprites/hero/asset.json
        hero
        ",
    );
}

#[test]
fn a_synced_file_in_a_synced_directory_is_kept() {
    check_crash(
        |fs| {
            fs.write_file(&p("audio/jump.wav"), b"wav\n").unwrap();
            fs.sync_file(&p("audio/jump.wav")).unwrap();
            fs.sync_dir(&p("audio")).unwrap();
        },
        "
        //- .prometeu/index.json
        old
        //- audio/jump.wav
        wav
        //- sprites/hero/asset.json
        hero
        ",
    );
}

#[test]
fn an_unsynced_overwrite_is_undone_and_a_synced_one_kept() {
    check_crash(
        |fs| {
            fs.write_file(&p(".prometeu/index.json"), b"new\n").unwrap();
            fs.write_file(&p("sprites/hero/asset.json"), b"edited\n")
                .unwrap();
            fs.sync_file(&p("sprites/hero/asset.json")).unwrap();
        },
        "
        //- .prometeu/index.json
        old
        //- audio/
        //- sprites/hero/asset.json
        edited
        ",
    );
}

#[test]
fn an_unsynced_rename_or_removal_is_undone() {
    check_crash(
        |fs| {
            fs.rename(&p("sprites/hero/asset.json"), &p("audio/asset.json"))
                .unwrap();
            fs.rename(&p("sprites/hero"), &p("sprites/villain"))
                .unwrap();
            fs.remove_file(&p(".prometeu/index.json")).unwrap();
            fs.remove_dir_all(&p("audio")).unwrap();
        },
        "
        //- .prometeu/index.json
        old
        //- audio/
        //- sprites/hero/asset.json
        hero
        ",
    );
}

#[test]
fn a_synced_removal_is_kept() {
    check_crash(
        |fs| {
            fs.remove_file(&p(".prometeu/index.json")).unwrap();
            fs.sync_dir(&p(".prometeu")).unwrap();
            fs.remove_dir_all(&p("sprites/hero")).unwrap();
            fs.sync_dir(&p("sprites")).unwrap();
        },
        "
        //- .prometeu/
        //- audio/
        //- sprites/
        ",
    );
}

#[test]
fn the_atomic_write_pattern_survives() {
    check_crash(
        |fs| {
            fs.create_dir_all(&p(".prometeu/tx/1")).unwrap();
            fs.write_file(&p(".prometeu/tx/1/asset.json"), b"staged\n")
                .unwrap();
            fs.sync_file(&p(".prometeu/tx/1/asset.json")).unwrap();
            fs.rename(
                &p(".prometeu/tx/1/asset.json"),
                &p("sprites/hero/asset.json"),
            )
            .unwrap();
            fs.sync_dir(&p("sprites/hero")).unwrap();
        },
        // The transaction directory was never synced into `.prometeu`: it is gone, and
        // the staged file's new name was made durable.
        "
        //- .prometeu/index.json
        old
        //- audio/
        //- sprites/hero/asset.json
        staged
        ",
    );
}

#[test]
fn a_rename_synced_at_one_end_only_leaves_both_names() {
    check_crash(
        |fs| {
            fs.rename(&p("sprites/hero/asset.json"), &p("audio/asset.json"))
                .unwrap();
            fs.sync_dir(&p("audio")).unwrap();
        },
        "
        //- .prometeu/index.json
        old
        //- audio/asset.json
        hero
        //- sprites/hero/asset.json
        hero
        ",
    );
}

#[test]
fn a_directory_rename_synced_at_both_ends_survives() {
    check_crash(
        |fs| {
            fs.rename(&p("sprites/hero"), &p("audio/hero")).unwrap();
            fs.sync_dir(&p("sprites")).unwrap();
            fs.sync_dir(&p("audio")).unwrap();
        },
        "
        //- .prometeu/index.json
        old
        //- audio/hero/asset.json
        hero
        //- sprites/
        ",
    );
}

#[test]
fn a_directory_moved_into_its_old_child_does_not_end_up_inside_itself() {
    // `q` leaves `p` (synced at the root only), then `p` moves into `q` (synced in `q`
    // only): the durable entries now say p -> q and q -> p.
    check(
        "//- p/q/\n",
        |fs| {
            let port = port(fs);
            port.rename(&p("p/q"), &p("q")).unwrap();
            port.sync_dir(&WsPath::root()).unwrap();
            port.rename(&p("p"), &p("q/p")).unwrap();
            port.sync_dir(&p("q")).unwrap();
            fs.crash();
        },
        "
        //- p/
        //- q/
        ",
    );
}

#[test]
fn helper_edits_are_durable_at_once() {
    check(
        TREE,
        |fs| {
            fs.write("audio/jump.wav", "wav\n");
            fs.rename("sprites/hero", "sprites/villain");
            fs.remove(".prometeu");
            fs.symlink("audio/link", "jump.wav");
            fs.crash();
        },
        "
        //- audio/jump.wav
        wav
        //- audio/link -> jump.wav
        //- sprites/villain/asset.json
        hero
        ",
    );
}

#[test]
fn a_crash_is_a_reboot_it_disarms_faults_and_frees_the_lock() {
    let fs = MemFs::from_fixture(TREE).unwrap();
    let port = port(&fs);
    let stale_guard = port.lock().unwrap();
    fs.inject(Fault::from_then_on(1, PortErrorKind::Io));
    assert!(port.stat(&p("audio/x")).is_err());
    fs.crash();
    assert_eq!(port.stat(&p("audio/x")).unwrap(), None);
    let guard = port.lock().unwrap();
    // The guard from before the crash must not release the lock taken after it.
    drop(stale_guard);
    let contender = Contender::start(&fs);
    contender.assert_waiting();
    drop(guard);
    contender.assert_takes_it();
}
