//! The observer's watch itself, on memfs with a scripted watcher: a watcher out of
//! watches degrades to periodic verification and says so, one that cannot start is
//! started again once it can, a change made while the watch starts is still found, and
//! shutdown stops the watch session.

use std::sync::Arc;
use std::time::Duration;

use packer_app::observer::ObserverConfig;
use packer_app::runtime::{Runtime, View};
use packer_domain::event::Event;
use packer_domain::ports::{HintSink, PortError, WatchPort, WatchSession};
use packer_memfs::{EventLog, MemFs, ScriptedWatcher};

use crate::fixture_text::{U1, U2, declaration};
use crate::observe::{DEADLINE, changed_ids, config, fixture, mem_ports, start, start_with};

#[test]
fn a_watcher_out_of_watches_degrades_to_periodic_scans_and_says_so() {
    let o = start();
    o.watcher
        .degrade("the system's limit on file watches was reached");
    let event = o
        .events
        .wait_for(|e| matches!(e, Event::ObserverDegraded { .. }), DEADLINE)
        .unwrap();
    assert!(matches!(
        event,
        Event::ObserverDegraded { generation: 1, .. }
    ));
    assert!(o.view().degraded.as_deref().unwrap().contains("limit"));
}

/// A runtime whose watcher refuses to start, verifying every 5 ms instead, once it has
/// said that it is degraded.
fn started_without_a_watch() -> (MemFs, Arc<ScriptedWatcher>, EventLog, Runtime) {
    let fs = MemFs::from_fixture(&fixture()).unwrap();
    let watcher = Arc::new(ScriptedWatcher::new());
    watcher.refuse_start(true);
    let events = EventLog::new();
    let runtime = Runtime::open_observed(
        mem_ports(&fs, &events),
        watcher.clone(),
        ObserverConfig {
            degraded_periodic: Duration::from_millis(5),
            ..config()
        },
    );
    events
        .wait_for(|e| matches!(e, Event::ObserverDegraded { .. }), DEADLINE)
        .unwrap();
    (fs, watcher, events, runtime)
}

#[test]
fn a_watcher_that_cannot_start_leaves_periodic_verification() {
    let (fs, _watcher, events, runtime) = started_without_a_watch();
    fs.write(
        "b/asset.json",
        declaration(U2, "seen by a periodic scan", "y.bin"),
    );
    events
        .wait_for(|e| matches!(e, Event::SnapshotRefreshed { .. }), DEADLINE)
        .unwrap();
    assert_eq!(runtime.view().snapshot.generation(), 2);
}

/// Degraded, the observer tries at each periodic verification to watch everything
/// again; once it can (the limit raised), it says so, and the view is no longer
/// flagged.
#[test]
fn a_degraded_observer_watches_everything_again_once_it_can() {
    let o = start_with(
        &fixture(),
        ObserverConfig {
            degraded_periodic: Duration::from_millis(5),
            ..config()
        },
    );
    o.watcher
        .degrade("the system's limit on file watches was reached");
    o.events
        .wait_for(|e| matches!(e, Event::ObserverDegraded { .. }), DEADLINE)
        .unwrap();
    // Periodic verifications while nothing more can be watched: still degraded.
    o.fs.write(
        "b/asset.json",
        declaration(U2, "seen while degraded", "y.bin"),
    );
    o.refreshed(2);
    assert!(o.view().degraded.is_some());
    assert!(
        !o.events
            .events()
            .iter()
            .any(|e| matches!(e, Event::ObserverRestored { .. }))
    );

    o.watcher.can_watch_again(true);
    o.events
        .wait_for(|e| matches!(e, Event::ObserverRestored { .. }), DEADLINE)
        .unwrap();
    assert_eq!(o.view().degraded, None);
}

/// A watch that could not start at all is started again once it can.
#[test]
fn a_watch_that_could_not_start_is_started_again_once_it_can() {
    let (fs, watcher, events, runtime) = started_without_a_watch();
    assert_eq!(watcher.sessions(), 0);
    watcher.refuse_start(false);
    watcher.can_watch_again(true);
    events
        .wait_for(|e| matches!(e, Event::ObserverRestored { .. }), DEADLINE)
        .unwrap();
    assert_eq!(watcher.sessions(), 1);
    assert_eq!(runtime.view().degraded, None);
    // Hints are heard again.
    fs.write("a/asset.json", declaration(U1, "heard", "x.bin"));
    watcher.changed("a/asset.json");
    events
        .wait_for(|e| matches!(e, Event::SnapshotRefreshed { .. }), DEADLINE)
        .unwrap();
    runtime.shutdown();
}

/// A watcher that edits the workspace as it starts: the edit (`path` rewritten with
/// `bytes`) falls between the load and the watch, where only the verification on start
/// can find it.
#[derive(Debug)]
struct EditingWatcher {
    fs: MemFs,
    inner: ScriptedWatcher,
    path: &'static str,
    bytes: String,
}

impl WatchPort for EditingWatcher {
    fn watch(&self, sink: HintSink) -> Result<Box<dyn WatchSession>, PortError> {
        self.fs.write(self.path, self.bytes.clone());
        self.inner.watch(sink)
    }
}

/// The refresh that follows an edit `path` of the workspace `fixture` gets while the
/// watch starts.
fn edited_in_while_the_watch_starts(
    fixture: &str,
    path: &'static str,
    bytes: String,
) -> (Event, Arc<View>) {
    let fs = MemFs::from_fixture(fixture).unwrap();
    let events = EventLog::new();
    let runtime = Runtime::open_observed(
        mem_ports(&fs, &events),
        Arc::new(EditingWatcher {
            fs: fs.clone(),
            inner: ScriptedWatcher::new(),
            path,
            bytes,
        }),
        config(),
    );
    // No hint names it: the verification that follows the start of the watch finds it.
    let event = events
        .wait_for(|e| matches!(e, Event::SnapshotRefreshed { .. }), DEADLINE)
        .unwrap_or_else(|| panic!("no refresh: {:#?}", events.events()));
    (event, runtime.view())
}

#[test]
fn a_change_made_while_the_watch_starts_is_found() {
    let (event, _) = edited_in_while_the_watch_starts(
        &fixture(),
        "a/asset.json",
        declaration(U1, "before the watch", "x.bin"),
    );
    assert_eq!(changed_ids(&event), [1]);
}

/// What the view took in on its own, as JSON.
fn refreshed(view: &View) -> Vec<String> {
    view.refreshed
        .iter()
        .map(|d| serde_json::to_string(d).unwrap())
        .collect()
}

/// Edits `edited` in `fixture` while the watch starts, and checks that the refresh
/// takes asset 1's input `declared` in as changed.
fn check_input_edit_found(fixture: &str, edited: &'static str, declared: &str) {
    let (event, view) =
        edited_in_while_the_watch_starts(fixture, edited, "new bytes of a".to_owned());
    assert_eq!(changed_ids(&event), [1]);
    assert_eq!(
        refreshed(&view),
        [format!(
            r#"{{"kind":"input_changed","asset_id":1,"path":"{declared}"}}"#
        )]
    );
}

/// The snapshot records whether an input exists, not what it holds: only facts taken
/// before the load tell that its content changed after it.
#[test]
fn an_input_edited_while_the_watch_starts_is_found() {
    check_input_edit_found(&fixture(), "a/x.bin", "a/x.bin");
}

/// An input that is a link to a file of its folder was stamped through the link: an
/// edit of the file it leads to, made while the watch starts, is found too.
#[test]
fn an_input_linked_to_a_file_edited_while_the_watch_starts_is_found() {
    let fixture = fixture()
        .replace("//- a/x.bin\n", "//- a/alias.bin -> x.bin\n//- a/x.bin\n")
        .replace("\"inputs\": [\"x.bin\"]", "\"inputs\": [\"alias.bin\"]");
    check_input_edit_found(&fixture, "a/x.bin", "a/alias.bin");
}

/// An input in a linked folder is stamped through the link and compared at its real
/// path, where the verification scan sees it: an edit made there while the watch starts
/// is found, and named as the input is declared.
#[test]
fn an_input_in_a_linked_folder_edited_while_the_watch_starts_is_found() {
    let fixture = fixture()
        .replace(
            "//- a/x.bin\nbytes of a\n",
            "//- a/linked -> real\n//- a/real/x.bin\nbytes of a\n",
        )
        .replace("\"inputs\": [\"x.bin\"]", "\"inputs\": [\"linked/x.bin\"]");
    check_input_edit_found(&fixture, "a/real/x.bin", "a/linked/x.bin");
}

#[test]
fn shutdown_stops_the_watch_session() {
    let o = start();
    // The observer's thread starts the watch; wait for it, with a deadline.
    let deadline = std::time::Instant::now() + DEADLINE;
    while o.watcher.sessions() == 0 && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert_eq!(o.watcher.sessions(), 1);
    o.runtime.shutdown();
    assert_eq!(o.watcher.sessions(), 0);
}
