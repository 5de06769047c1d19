//! The observer and the inputs of an `asset.json` the registry does not list (a folder
//! moved or copied by hand, a new one): a change to them changes what `doctor` says of
//! that folder, so it is taken into the next generation as a fresh load would see it.

use packer_domain::event::Event;
use packer_domain::snapshot::Snapshot;

use crate::fixture_text::{U3, declaration};
use crate::observe::{DEADLINE, Observed, start};

impl Observed {
    /// Hints `paths` after an edit and waits for the refresh to `generation`, which must
    /// be what a fresh load of the disk gives.
    fn takes_in(&self, paths: &[&str], generation: u64) {
        for path in paths {
            self.watcher.changed(path);
        }
        self.events
            .wait_for(
                |e| matches!(e, Event::SnapshotRefreshed { generation: g, .. } if *g == generation),
                DEADLINE,
            )
            .unwrap_or_else(|| panic!("no generation {generation}: {:#?}", self.events.events()));
        let view = self.view();
        assert_eq!(*view.snapshot, Snapshot::load(&self.fs, generation));
    }

    /// The codes and files of the current generation's diagnostics.
    fn diagnosed(&self) -> Vec<(String, Option<String>)> {
        self.view()
            .snapshot
            .diagnostics()
            .into_iter()
            .map(|d| (d.code.as_str().to_owned(), d.file))
            .collect()
    }
}

/// Makes the unregistered folder with `setup`, then changes its input with `edit` and
/// checks that the input's diagnostic follows.
fn check(setup: &[&str], edit: impl FnOnce(&Observed), edited: &str, missing_after: bool) {
    let o = start();
    match setup {
        ["move"] => {
            o.fs.rename("a", "moved");
            o.takes_in(&["a", "moved"], 2);
        }
        _ => {
            o.fs.write("moved/asset.json", declaration(U3, "c", "x.bin"));
            o.fs.write("moved/x.bin", "bytes of c");
            o.takes_in(&["moved"], 2);
        }
    }
    let input_missing = (
        "input_missing".to_owned(),
        Some("assets/moved/asset.json".to_owned()),
    );
    assert!(
        !o.diagnosed().contains(&input_missing),
        "{:?}",
        o.diagnosed()
    );

    edit(&o);
    o.takes_in(&[edited], 3);
    assert_eq!(
        o.diagnosed().contains(&input_missing),
        missing_after,
        "{:?}",
        o.diagnosed()
    );
}

#[test]
fn an_input_deleted_in_a_folder_moved_by_hand_is_seen() {
    check(
        &["move"],
        |o| o.fs.remove("moved/x.bin"),
        "moved/x.bin",
        true,
    );
}

#[test]
fn an_input_deleted_in_an_unregistered_folder_is_seen() {
    check(
        &["new"],
        |o| o.fs.remove("moved/x.bin"),
        "moved/x.bin",
        true,
    );
}

#[test]
fn an_input_restored_in_an_unregistered_folder_is_seen() {
    let o = start();
    o.fs.write("moved/asset.json", declaration(U3, "c", "x.bin"));
    o.takes_in(&["moved"], 2);
    o.fs.write("moved/x.bin", "bytes of c");
    o.takes_in(&["moved/x.bin"], 3);
}
