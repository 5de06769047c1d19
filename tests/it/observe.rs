//! The observer on memfs with a scripted watcher: every drift kind, hinted the way a
//! watcher would hint it, ends in the right generation, state and events; the runtime's
//! own commits are never taken for hand edits; lost events, a watcher that cannot watch
//! everything and files caught half-written are handled; and detection writes nothing.

use std::sync::Arc;
use std::time::Duration;

use packer_app::error::AppError;
use packer_app::observer::ObserverConfig;
use packer_app::runtime::{Ports, Runtime, View, WriteOutcome, WriteRequest};
use packer_domain::command::Command;
use packer_domain::drift::Drift;
use packer_domain::event::Event;
use packer_domain::ports::PortOp;
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{AssetQuery, ProjectState};
use packer_memfs::{EventLog, ManualClock, MemFs, ScriptedWatcher};

use crate::fixture_text::{U1, U2, U3, declaration, registry};

pub(crate) const DEADLINE: Duration = Duration::from_secs(20);

pub(crate) fn fixture() -> String {
    format!(
        "//- .prometeu/index.json\n{}//- a/asset.json\n{}//- a/x.bin\nbytes of a\n//- b/asset.json\n{}//- b/y.bin\nbytes of b\n",
        registry(3, &[(1, U1, "a", true), (2, U2, "b", true)]),
        declaration(U1, "a", "x.bin"),
        declaration(U2, "b", "y.bin"),
    )
}

/// A runtime with its observer over memfs, driven by a scripted watcher.
pub(crate) struct Observed {
    pub(crate) fs: MemFs,
    pub(crate) watcher: Arc<ScriptedWatcher>,
    pub(crate) events: EventLog,
    pub(crate) clock: ManualClock,
    pub(crate) runtime: Runtime,
}

/// Waits for the project to change to state `to`; the test fails after the deadline.
pub(crate) fn wait_for_state(events: &EventLog, to: ProjectState) -> Event {
    events
        .wait_for(
            |e| matches!(e, Event::StateChanged { to: state, .. } if *state == to),
            DEADLINE,
        )
        .unwrap_or_else(|| panic!("never {to}: {:#?}", events.events()))
}

/// No event so far said the project diverged.
pub(crate) fn check_no_divergence(events: &EventLog) {
    assert!(
        !events
            .events()
            .iter()
            .any(|e| matches!(e, Event::DivergenceDetected { .. })),
        "{:#?}",
        events.events()
    );
}

pub(crate) fn config() -> ObserverConfig {
    ObserverConfig {
        debounce: Duration::from_millis(1),
        max_delay: Duration::from_millis(50),
        settle: Duration::ZERO,
        periodic: None,
        degraded_periodic: Duration::from_secs(3600),
        max_paths: 512,
    }
}

/// The ports of a runtime over `fs`, publishing to `events`, on a manual clock.
pub(crate) fn mem_ports(fs: &MemFs, events: &EventLog) -> Ports {
    Ports {
        workspace: Arc::new(fs.clone()),
        events: Arc::new(events.clone()),
        clock: Arc::new(ManualClock::new()),
    }
}

pub(crate) fn start_with(fixture: &str, config: ObserverConfig) -> Observed {
    let fs = MemFs::from_fixture(fixture).unwrap();
    let watcher = Arc::new(ScriptedWatcher::new());
    let events = EventLog::new();
    let clock = ManualClock::new();
    let runtime = Runtime::open_observed(
        Ports {
            workspace: Arc::new(fs.clone()),
            events: Arc::new(events.clone()),
            clock: Arc::new(clock.clone()),
        },
        watcher.clone(),
        config,
    );
    // The observer watches, and has verified once since: a scripted event from now on
    // reaches it. (A requested verification alone can be served before the observer's
    // thread even starts to watch.)
    assert!(
        runtime.wait_observing(DEADLINE),
        "the observer did not start"
    );
    Observed {
        fs,
        watcher,
        events,
        clock,
        runtime,
    }
}

pub(crate) fn start() -> Observed {
    start_with(&fixture(), config())
}

impl Observed {
    /// Submits `command` as a host does, computed against whatever is current.
    pub(crate) fn submit(&self, command: Command) -> Result<WriteOutcome, AppError> {
        self.runtime.submit(WriteRequest {
            command,
            expected_generation: None,
        })
    }

    /// Waits for the refresh that publishes `generation`.
    pub(crate) fn refreshed(&self, generation: u64) -> Event {
        self.events
            .wait_for(
                |e| matches!(e, Event::SnapshotRefreshed { generation: g, .. } if *g == generation),
                DEADLINE,
            )
            .unwrap_or_else(|| {
                panic!(
                    "no refresh to generation {generation}: {:#?}",
                    self.events.events()
                )
            })
    }

    pub(crate) fn view(&self) -> Arc<View> {
        self.runtime.view()
    }

    pub(crate) fn writes(&self) -> Vec<(PortOp, String)> {
        self.fs
            .ops()
            .into_iter()
            .filter(|(op, _)| {
                !matches!(
                    op,
                    PortOp::Scan | PortOp::Read | PortOp::Stat | PortOp::Lock
                )
            })
            .collect()
    }
}

pub(crate) fn changed_ids(event: &Event) -> Vec<u64> {
    match event {
        Event::SnapshotRefreshed { changed, .. } => changed.iter().map(|id| id.0).collect(),
        other => panic!("not a refresh: {other:?}"),
    }
}

/// Applies `edit`, hints `paths`, and checks the refreshed generation: its state, the
/// drifts it holds (structural and validity), what it took in on its own and which
/// assets changed. Nothing may be written while it happens.
fn check(
    edit: impl FnOnce(&MemFs),
    paths: &[&str],
    state: ProjectState,
    drifts: &[&str],
    refreshed: &[Drift],
    changed: &[u64],
) -> Observed {
    let o = start();
    o.fs.clear_ops();
    edit(&o.fs);
    o.fs.clear_ops();
    for path in paths {
        o.watcher.changed(path);
    }
    let event = o.refreshed(2);
    let view = o.view();
    assert_eq!(view.snapshot.generation(), 2);
    assert_eq!(view.state, state, "{:#?}", view.drifts());
    let kinds: Vec<&str> = view
        .snapshot
        .drifts()
        .iter()
        .map(Drift::kind_name)
        .collect();
    assert_eq!(kinds, drifts);
    assert_eq!(view.refreshed, refreshed);
    assert_eq!(changed_ids(&event), changed);
    assert_eq!(o.writes(), vec![], "detection wrote");
    // However the refresh built it, the generation is what a fresh load gives.
    assert_eq!(
        *view.snapshot,
        packer_domain::snapshot::Snapshot::load(&o.fs, 2)
    );
    // The project went stale, then to the state of the refreshed generation.
    let states: Vec<(ProjectState, ProjectState)> = o
        .events
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::StateChanged { from, to, .. } => Some((from, to)),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        vec![
            (ProjectState::Ready, ProjectState::Stale),
            (ProjectState::Stale, state)
        ]
    );
    o
}

#[test]
fn an_edited_declaration_is_refreshed() {
    check(
        |fs| fs.write("a/asset.json", declaration(U1, "renamed", "x.bin")),
        &["a/asset.json"],
        ProjectState::Ready,
        &[],
        &[Drift::DeclarationChanged {
            asset_id: AssetId(1),
        }],
        &[1],
    );
}

#[test]
fn an_edited_input_is_refreshed() {
    let o = check(
        |fs| fs.write("b/y.bin", "new bytes of b"),
        &["b/y.bin"],
        ProjectState::Ready,
        &[],
        &[Drift::InputChanged {
            asset_id: AssetId(2),
            path: packer_domain::path::AssetPath::new("b/y.bin").unwrap(),
        }],
        &[2],
    );
    assert_eq!(o.fs.read("b/y.bin").unwrap(), b"new bytes of b");
}

#[test]
fn an_edit_to_the_target_of_an_input_link_is_an_input_change() {
    let fixture = fixture().replace(
        "//- a/x.bin\nbytes of a\n",
        "//- a/x.bin -> target.bin\n//- a/target.bin\nbytes of a\n",
    );
    // The watcher names the file written, not the link that leads to it.
    check_input_edited_elsewhere(&fixture, "a/target.bin", "a/x.bin");
}

/// Starts on `fixture`, edits `written` and hints it, and checks the refresh names asset
/// 1's input `declared` (which leads to `written`) as changed.
fn check_input_edited_elsewhere(fixture: &str, written: &str, declared: &str) {
    let o = start_with(fixture, config());
    o.fs.write(written, "edited where it really is");
    o.watcher.changed(written);
    let event = o.refreshed(2);
    assert_eq!(
        event,
        Event::SnapshotRefreshed {
            generation: 2,
            paths: vec![packer_domain::path::WsPath::new(declared).unwrap()],
            changed: vec![AssetId(1)],
        }
    );
    assert_eq!(
        o.view().refreshed,
        [Drift::InputChanged {
            asset_id: AssetId(1),
            path: packer_domain::path::AssetPath::new(declared).unwrap(),
        }]
    );
}

#[test]
fn an_input_through_a_linked_folder_is_no_change_on_start() {
    // The verification scan does not descend into linked folders, so its facts hold no
    // such input: that is no contradiction with the loaded generation.
    let fixture = fixture()
        .replace(
            "//- a/x.bin\nbytes of a\n",
            "//- a/linked -> real\n//- a/real/x.bin\nbytes of a\n",
        )
        .replace("\"inputs\": [\"x.bin\"]", "\"inputs\": [\"linked/x.bin\"]");
    let o = start_with(&fixture, config());
    let view = o.runtime.check_divergence();
    assert_eq!(view.snapshot.generation(), 1);
    assert_eq!(view.state, ProjectState::Ready, "{:#?}", view.drifts());
    assert!(
        !o.events
            .events()
            .iter()
            .any(|e| matches!(e, Event::SnapshotRefreshed { .. })),
        "{:#?}",
        o.events.events()
    );
}

#[test]
fn an_input_through_a_linked_folder_edited_at_its_real_path_is_an_input_change() {
    let fixture = fixture()
        .replace(
            "//- a/x.bin\nbytes of a\n",
            "//- a/linked -> real\n//- a/real/x.bin\nbytes of a\n",
        )
        .replace("\"inputs\": [\"x.bin\"]", "\"inputs\": [\"linked/x.bin\"]");
    // The watcher names the file where it is, not the path the input is declared by.
    check_input_edited_elsewhere(&fixture, "a/real/x.bin", "a/linked/x.bin");
}

#[test]
fn an_edited_registry_is_refreshed() {
    check(
        |fs| {
            fs.write(
                ".prometeu/index.json",
                registry(3, &[(1, U1, "a", false), (2, U2, "b", true)]),
            )
        },
        &[".prometeu/index.json"],
        ProjectState::Ready,
        &[],
        &[Drift::RegistryChanged],
        &[1],
    );
}

#[test]
fn a_broken_declaration_is_flagged_with_its_position() {
    let o = check(
        |fs| {
            fs.write(
                "a/asset.json",
                "{ \"schema_version\": 1,\n  \"name\": 5 }\n",
            )
        },
        &["a/asset.json"],
        ProjectState::Ready,
        &["declaration_invalid"],
        &[],
        &[1],
    );
    let view = o.view();
    let Drift::DeclarationInvalid { error, .. } = &view.snapshot.drifts()[0] else {
        panic!()
    };
    assert_eq!(error.file, "assets/a/asset.json");
    assert!(error.line >= 1 && error.column >= 1);
}

#[test]
fn a_missing_input_is_flagged() {
    check(
        |fs| fs.remove("b/y.bin"),
        &["b/y.bin"],
        ProjectState::Ready,
        &["input_missing"],
        &[],
        &[2],
    );
}

/// A FIFO where an input was: not usable, not missing, and never read (memfs has
/// nothing to read in one and refuses the read, as a disk does).
#[test]
fn an_input_replaced_by_a_fifo_is_not_usable() {
    check(
        |fs| {
            fs.remove("b/y.bin");
            fs.mkfifo("b/y.bin");
        },
        &["b/y.bin"],
        ProjectState::Ready,
        &["declaration_invalid"],
        &[],
        &[2],
    );
}

#[test]
fn a_deleted_asset_folder_is_root_missing() {
    let o = check(
        |fs| {
            fs.remove("b/asset.json");
            fs.remove("b/y.bin");
            fs.remove("b");
        },
        &["b"],
        ProjectState::Diverged,
        &["root_missing"],
        &[],
        &[2],
    );
    o.events
        .wait_for(
            |e| matches!(e, Event::DivergenceDetected { generation: 2, drifts } if drifts.len() == 1),
            DEADLINE,
        )
        .unwrap();
}

#[test]
fn a_moved_asset_folder_is_root_moved() {
    check(
        |fs| {
            fs.mkdir("art");
            fs.rename("a", "art/a");
        },
        &["a", "art/a"],
        ProjectState::Diverged,
        &["root_moved"],
        &[],
        &[1],
    );
}

#[test]
fn a_new_declaration_is_an_unregistered_asset() {
    check(
        |fs| fs.write("c/asset.json", declaration(U3, "c", "z.bin")),
        &["c"],
        ProjectState::Diverged,
        &["unregistered_asset"],
        &[],
        &[],
    );
}

#[test]
fn a_copied_asset_folder_is_a_duplicate_uuid() {
    check(
        |fs| {
            fs.write("copy/asset.json", declaration(U1, "a", "x.bin"));
            fs.write("copy/x.bin", "bytes of a");
        },
        &["copy/asset.json", "copy/x.bin"],
        ProjectState::Diverged,
        &["duplicate_uuid"],
        &[],
        &[1],
    );
}

#[test]
fn a_rewritten_uuid_is_a_uuid_mismatch() {
    check(
        |fs| fs.write("b/asset.json", declaration(U3, "b", "y.bin")),
        &["b/asset.json"],
        ProjectState::Diverged,
        &["uuid_mismatch"],
        &[Drift::DeclarationChanged {
            asset_id: AssetId(2),
        }],
        &[2],
    );
}

#[test]
fn an_unreadable_registry_fails_the_project_but_reads_keep_the_last_good_generation() {
    let o = start();
    o.fs.write(
        ".prometeu/index.json",
        "{ \"schema_version\": 1, \"next_asset_id\": ",
    );
    o.watcher.changed(".prometeu/index.json");
    wait_for_state(&o.events, ProjectState::Failed);
    let view = o.view();
    assert_eq!(view.snapshot.generation(), 1);
    assert_eq!(view.snapshot.assets().len(), 2);
    let kinds: Vec<&str> = view.drifts().iter().map(Drift::kind_name).collect();
    assert_eq!(kinds, ["registry_invalid"]);
    assert!(
        view.condition
            .as_deref()
            .unwrap()
            .contains("assets/.prometeu/index.json:")
    );
    // Fixed by hand, it comes back as the next generation.
    o.fs.write(
        ".prometeu/index.json",
        registry(3, &[(1, U1, "a", true), (2, U2, "b", true)]),
    );
    o.watcher.changed(".prometeu/index.json");
    o.refreshed(2);
    let view = o.view();
    assert_eq!(view.state, ProjectState::Ready);
    assert!(view.condition.is_none() && view.pending_drifts.is_empty());
}

#[test]
fn own_commits_are_not_taken_for_hand_edits() {
    let o = start();
    let outcome = o
        .submit(Command::SetIncluded {
            asset: AssetQuery::Id(AssetId(1)),
            included: false,
        })
        .unwrap();
    // What a watcher would say about the commit: the transaction, the registry.
    for path in [".prometeu/tx", ".prometeu/index.json", ".prometeu"] {
        o.watcher.changed(path);
    }
    let move_outcome = o
        .submit(Command::MoveAsset {
            asset: AssetQuery::Id(AssetId(2)),
            to: packer_domain::path::AssetPath::new("moved/b").unwrap(),
        })
        .unwrap();
    for path in ["b", "moved", "moved/b", ".prometeu/index.json"] {
        o.watcher.changed(path);
    }
    let view = o.runtime.check_divergence();
    assert_eq!(view.snapshot.generation(), move_outcome.generation);
    assert_eq!(outcome.generation + 1, move_outcome.generation);
    assert_eq!(view.state, ProjectState::Ready);
    let events = o.events.events();
    assert!(
        !events.iter().any(|e| matches!(
            e,
            Event::SnapshotRefreshed { .. }
                | Event::StateChanged {
                    to: ProjectState::Stale,
                    ..
                }
        )),
        "{events:#?}"
    );
}

#[test]
fn a_change_with_no_hint_is_found_after_an_overflow() {
    let o = start();
    o.fs.write("a/x.bin", "changed while the queue overflowed");
    o.watcher.overflow();
    let event = o.refreshed(2);
    assert_eq!(changed_ids(&event), [1]);
}

#[test]
fn a_change_with_no_hint_is_found_on_demand() {
    let o = start();
    o.fs.write("a/asset.json", declaration(U1, "quiet", "x.bin"));
    let view = o.runtime.check_divergence();
    assert_eq!(view.snapshot.generation(), 2);
    assert_eq!(
        view.refreshed,
        [Drift::DeclarationChanged {
            asset_id: AssetId(1)
        }]
    );
}

#[test]
fn an_edit_that_restores_size_and_mtime_is_still_seen() {
    let o = start();
    let before = o.fs.read("a/x.bin").unwrap();
    let stat = packer_domain::ports::WorkspacePort::stat(
        &o.fs,
        &packer_domain::path::WsPath::new("a/x.bin").unwrap(),
    )
    .unwrap()
    .unwrap();
    let mut after = before.clone();
    after[0] ^= 0x20;
    o.fs.write("a/x.bin", &after);
    o.fs.set_mtime("a/x.bin", stat.mtime_ns);
    o.watcher.changed("a/x.bin");
    let event = o.refreshed(2);
    assert_eq!(changed_ids(&event), [1]);
}

#[test]
fn a_touched_file_with_the_same_content_changes_nothing() {
    let o = start();
    // Time passes, so the facts of the first scan were trusted by their stat data.
    o.clock.advance(Duration::from_secs(5));
    o.runtime.check_divergence();
    o.fs.write("a/asset.json", o.fs.read("a/asset.json").unwrap());
    o.watcher.changed("a/asset.json");
    let view = o.runtime.check_divergence();
    assert_eq!(view.snapshot.generation(), 1);
    assert_eq!(view.state, ProjectState::Ready);
    assert!(
        !o.events
            .events()
            .iter()
            .any(|e| matches!(e, Event::SnapshotRefreshed { .. }))
    );
}

#[test]
fn a_half_written_declaration_is_given_time_before_it_is_reported() {
    let o = start_with(
        &fixture(),
        ObserverConfig {
            settle: Duration::from_millis(20),
            ..config()
        },
    );
    o.fs.write("a/asset.json", "{ \"schema_version\": 1, \"asset_uu");
    o.watcher.changed("a/asset.json");
    wait_for_state(&o.events, ProjectState::Stale);
    // The writer finishes: the next look sees a valid file and nothing invalid is said.
    o.fs.write("a/asset.json", declaration(U1, "finished", "x.bin"));
    o.watcher.changed("a/asset.json");
    o.refreshed(2);
    assert_eq!(
        o.view().refreshed,
        [Drift::DeclarationChanged {
            asset_id: AssetId(1)
        }]
    );
    assert!(o.view().snapshot.drifts().is_empty());
    // A file that stays broken past the settle time is reported.
    o.fs.write("b/asset.json", "{ \"broken\": ");
    o.watcher.changed("b/asset.json");
    o.clock.advance(Duration::from_secs(1));
    o.refreshed(3);
    let kinds: Vec<&str> = o
        .view()
        .snapshot
        .drifts()
        .iter()
        .map(Drift::kind_name)
        .collect();
    assert_eq!(kinds, ["declaration_invalid"]);
}

#[test]
fn a_storm_of_hints_ends_in_one_refresh() {
    let o = start_with(
        &fixture(),
        ObserverConfig {
            debounce: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
            max_paths: 64,
            ..config()
        },
    );
    for i in 0..2000 {
        let path = format!("checkout/f{i}.txt");
        o.fs.write(&path, format!("{i}"));
        o.watcher.changed(&path);
    }
    o.fs.write("a/asset.json", declaration(U1, "checked out", "x.bin"));
    o.watcher.changed("a/asset.json");
    o.refreshed(2);
    let view = o.runtime.check_divergence();
    assert_eq!(view.snapshot.generation(), 2);
    let refreshes = o
        .events
        .events()
        .iter()
        .filter(|e| matches!(e, Event::SnapshotRefreshed { .. }))
        .count();
    assert_eq!(refreshes, 1);
}

#[test]
fn a_folder_moved_by_hand_is_relocated_by_an_explicit_reconcile() {
    let o = start();
    o.fs.mkdir("art");
    o.fs.rename("a", "art/a");
    o.watcher.changed("a");
    o.watcher.changed("art/a");
    o.events
        .wait_for(|e| matches!(e, Event::DivergenceDetected { .. }), DEADLINE)
        .unwrap();
    assert_eq!(o.view().state, ProjectState::Diverged);
    let plan = o.runtime.reconcile_plan();
    assert_eq!(plan.plan_id, 2);
    assert_eq!(plan.actions.len(), 1);
    assert_eq!(plan.actions[0].action.kind_name(), "relocate");
    o.events.clear();
    let outcome = o.runtime.reconcile_apply(plan.plan_id, &[1]).unwrap();
    assert_eq!(outcome.generation, 3);
    let view = o.view();
    assert_eq!(view.state, ProjectState::Ready);
    assert_eq!(
        view.snapshot.asset(AssetId(1)).unwrap().entry.root.as_str(),
        "art/a"
    );
    let seen: Vec<String> = o
        .events
        .events()
        .iter()
        .map(|e| match e {
            Event::StateChanged { from, to, .. } => format!("{from}->{to}"),
            other => other.name().to_owned(),
        })
        .collect();
    assert_eq!(
        seen,
        [
            "diverged->reconciling",
            "reconcile_started",
            "reconciling->ready",
            "snapshot_committed",
            "reconcile_completed"
        ]
    );
    // The registry on disk says so; the moved folder's files are untouched.
    let registry = String::from_utf8(o.fs.read(".prometeu/index.json").unwrap()).unwrap();
    assert!(registry.contains(r#""root": "art/a""#), "{registry}");
    assert_eq!(o.fs.read("art/a/x.bin").unwrap(), b"bytes of a\n");
    // A plan of an older generation is refused.
    let stale = o.runtime.reconcile_apply(2, &[1]).unwrap_err();
    assert_eq!(stale.code, packer_app::error::ErrorCode::StaleRequest);
}

/// `wait_observing` answers once the observer watches and has verified the workspace
/// since: at once `false` without an observer, `true` with one, even when the watcher
/// could not start and periodic verification stands in.
#[test]
fn wait_observing_answers_once_the_first_verification_is_done() {
    let fs = MemFs::from_fixture(&fixture()).unwrap();
    let ports = || mem_ports(&fs, &EventLog::new());
    let plain = Runtime::open(ports());
    assert!(!plain.wait_observing(DEADLINE));
    plain.shutdown();
    for refuse in [false, true] {
        let watcher = Arc::new(ScriptedWatcher::new());
        watcher.refuse_start(refuse);
        fs.clear_ops();
        let runtime = Runtime::open_observed(ports(), watcher.clone(), config());
        assert!(runtime.wait_observing(DEADLINE), "refused: {refuse}");
        assert_eq!(watcher.sessions(), usize::from(!refuse));
        // The load scanned the workspace, and the first verification did again.
        let scans = fs
            .ops()
            .iter()
            .filter(|(op, _)| *op == PortOp::Scan)
            .count();
        assert!(scans >= 2, "{:?}", fs.ops());
        runtime.shutdown();
    }
}
