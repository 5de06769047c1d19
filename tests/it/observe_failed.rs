//! The observer around a `failed` project and files caught half-written: a write refused
//! while `index.json` cannot be read leaves reads on the last good generation; a
//! half-written file seen in the same burst as other changes is looked at again; an edit
//! while `index.json` cannot be read leaves the project failed; a workspace that could
//! not be scanned, then restored as it was, is `ready` again; and an observed open whose
//! walk could not look at a file still opens `ready`.

use std::time::Duration;

use packer_app::observer::ObserverConfig;
use packer_app::views::DoctorView;
use packer_domain::command::Command;
use packer_domain::drift::Drift;
use packer_domain::event::Event;
use packer_domain::ports::PortErrorKind;
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{AssetQuery, DeclarationState, ProjectState};
use packer_memfs::Fault;

use crate::fixture_text::{U1, U2, U3, declaration, registry};
use crate::observe::{
    DEADLINE, Observed, check_no_divergence, config, fixture, start, start_with, wait_for_state,
};

/// The registry of [`fixture`].
fn good_registry() -> String {
    registry(3, &[(1, U1, "a", true), (2, U2, "b", true)])
}

impl Observed {
    /// Asks for a write, which a failed project refuses with `failed_state`.
    fn write_is_refused_as_failed(&self) {
        let refused = self
            .submit(Command::SetIncluded {
                asset: AssetQuery::Id(AssetId(1)),
                included: false,
            })
            .unwrap_err();
        assert_eq!(refused.code.as_str(), "failed_state", "{refused:?}");
    }

    /// Waits until the project reaches `state`.
    fn reaches(&self, state: ProjectState) {
        wait_for_state(&self.events, state);
    }

    /// The generations every event so far names, in order.
    fn generations(&self) -> Vec<u64> {
        self.events.events().iter().map(Event::generation).collect()
    }
}

#[test]
fn a_write_refused_while_the_registry_is_unreadable_keeps_the_last_good_generation() {
    let o = start();
    o.fs.write(".prometeu/index.json", "{ \"schema_version\": 1, ");
    o.watcher.changed(".prometeu/index.json");
    o.reaches(ProjectState::Failed);
    o.fs.clear_ops();

    o.write_is_refused_as_failed();
    // Reads still answer from generation 1, flagged, and nothing was published or
    // written to refuse it.
    let view = o.view();
    assert_eq!(view.snapshot.generation(), 1);
    assert_eq!(view.state, ProjectState::Failed);
    assert_eq!(view.snapshot.assets().len(), 2);
    assert!(view.condition.is_some());
    assert_eq!(
        o.generations().iter().max(),
        Some(&1),
        "{:#?}",
        o.events.events()
    );
    assert_eq!(o.writes(), vec![]);

    // Fixed by hand as it was: the next generation, and nothing changed in it.
    o.fs.write(".prometeu/index.json", good_registry());
    o.watcher.changed(".prometeu/index.json");
    match o.refreshed(2) {
        Event::SnapshotRefreshed { changed, .. } => assert_eq!(changed, []),
        other => panic!("{other:?}"),
    }
    assert_eq!(o.view().state, ProjectState::Ready);
}

/// Breaks the registry, then edits only `path` (a declaration or an input): the refresh
/// cannot start from the last good generation's registry, so the project stays `failed`
/// until `index.json` is fixed, and the next generation then holds the edit.
fn check_edit_while_the_registry_is_unreadable(path: &str, content: &str) -> Observed {
    let o = start();
    o.fs.write(".prometeu/index.json", "{ \"schema_version\": 1, ");
    o.watcher.changed(".prometeu/index.json");
    o.reaches(ProjectState::Failed);
    o.events.clear();

    o.fs.write(path, content);
    o.watcher.changed(path);
    let settled = o
        .events
        .wait_for(
            |e| {
                matches!(
                    e,
                    Event::StateChanged {
                        from: ProjectState::Stale,
                        ..
                    }
                )
            },
            DEADLINE,
        )
        .unwrap_or_else(|| panic!("never settled: {:#?}", o.events.events()));
    assert!(
        matches!(
            settled,
            Event::StateChanged {
                to: ProjectState::Failed,
                ..
            }
        ),
        "{:#?}",
        o.events.events()
    );
    let view = o.view();
    assert_eq!(view.state, ProjectState::Failed);
    assert_eq!(view.snapshot.generation(), 1);
    let kinds: Vec<&str> = view.drifts().iter().map(|d| d.kind_name()).collect();
    assert_eq!(kinds.first(), Some(&"registry_invalid"), "{kinds:?}");
    o.write_is_refused_as_failed();

    o.fs.write(".prometeu/index.json", good_registry());
    o.watcher.changed(".prometeu/index.json");
    o.refreshed(2);
    assert_eq!(o.view().state, ProjectState::Ready);
    o
}

#[test]
fn a_declaration_edited_while_the_registry_is_unreadable_leaves_the_project_failed() {
    let o = check_edit_while_the_registry_is_unreadable(
        "a/asset.json",
        &declaration(U1, "renamed", "x.bin"),
    );
    let view = o.view();
    let name = match view.snapshot.asset(AssetId(1)).map(|a| &a.declaration) {
        Some(DeclarationState::Valid(valid)) => valid.declaration.name.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(name, "renamed");
}

#[test]
fn an_input_edited_while_the_registry_is_unreadable_leaves_the_project_failed() {
    check_edit_while_the_registry_is_unreadable("a/x.bin", "new bytes of a\n");
}

#[test]
fn a_half_written_registry_beside_a_new_declaration_is_looked_at_again() {
    let o = start_with(
        &fixture(),
        ObserverConfig {
            settle: Duration::from_millis(20),
            ..config()
        },
    );
    // One burst, as `git merge` makes it: a new asset folder, and `index.json` left with
    // conflict markers.
    o.fs.write("c/asset.json", declaration(U3, "c", "z.bin"));
    o.fs.write(
        ".prometeu/index.json",
        good_registry().replace("[\n", "[\n<<<<<<< HEAD\n"),
    );
    o.watcher.changed("c/asset.json");
    o.watcher.changed(".prometeu/index.json");
    // The registry, written just now and not parsing, is given time to be finished, and
    // the declaration waits with it: taken in against the old registry, it would show
    // as unregistered, which no settled disk says.
    o.clock.advance(Duration::from_secs(1));
    // Past the settle time it is still broken: it is reported, as a fresh read says.
    o.reaches(ProjectState::Failed);
    let view = o.view();
    let kinds: Vec<&str> = view.drifts().iter().map(|d| d.kind_name()).collect();
    assert_eq!(kinds, ["registry_invalid"]);
    assert_eq!(
        kinds,
        packer_app::runtime::read_only_view(&o.fs)
            .drifts()
            .iter()
            .map(|d| d.kind_name())
            .collect::<Vec<_>>()
    );
    check_no_divergence(&o.events);
}

#[test]
fn a_workspace_restored_as_it_was_after_a_failed_scan_is_ready_again() {
    let o = start();
    let registry_text = good_registry();
    // The workspace goes away (`rm -rf assets`): the scan fails and so does the load.
    o.fs.remove(".prometeu/index.json");
    o.fs.inject(Fault::once(1, PortErrorKind::Io));
    o.watcher.overflow();
    o.reaches(ProjectState::Failed);
    assert_eq!(o.view().snapshot.generation(), 1);

    // Put back exactly as it was (`git checkout -- assets`).
    o.fs.write(".prometeu/index.json", &registry_text);
    o.watcher.overflow();
    o.reaches(ProjectState::Ready);
    let view = o.view();
    assert!(view.condition.is_none() && view.pending_drifts.is_empty());
    assert_eq!(view.snapshot.generation(), 2);
}

/// A workspace whose registry reads but whose folders cannot be listed (a permission
/// taken away, `assets/` replaced behind the packer) makes the project `failed` while
/// reads keep the last good generation; writes are refused; once the folders can be
/// listed again, the next verification brings the project back.
#[test]
fn a_workspace_that_cannot_be_listed_keeps_the_last_good_generation() {
    let o = start();
    // The verification's scan, then the load's.
    o.fs.inject(Fault::once(1, PortErrorKind::PermissionDenied));
    o.fs.inject(Fault::once(2, PortErrorKind::PermissionDenied));
    o.watcher.overflow();
    o.reaches(ProjectState::Failed);
    let view = o.view();
    assert_eq!(view.snapshot.generation(), 1);
    assert_eq!(view.snapshot.assets().len(), 2, "the last good generation");
    assert!(view.condition.is_some() && view.pending_drifts.is_empty());

    o.write_is_refused_as_failed();
    assert_eq!(o.view().snapshot.generation(), 1, "nothing published");

    // Readable again: the observer goes on verifying and brings the next generation.
    o.watcher.overflow();
    o.reaches(ProjectState::Ready);
    let view = o.view();
    assert!(view.condition.is_none());
    assert_eq!(view.snapshot.generation(), 2);
    assert_eq!(view.snapshot.assets().len(), 2);
}

/// `assets/` moved away and back: the watcher hints the workspace itself each time.
/// The first look fails, and so does the project; the second finds the disk exactly as
/// the observer knew it before the failure, and must still bring the project back,
/// which is `failed` until a load succeeds.
#[test]
fn a_workspace_back_as_it_was_after_a_failed_look_is_ready_again() {
    let o = start();
    // The look at the hinted workspace, then the load's scan.
    o.fs.inject(Fault::once(1, PortErrorKind::NotFound));
    o.fs.inject(Fault::once(2, PortErrorKind::NotFound));
    o.watcher.changed("");
    o.reaches(ProjectState::Failed);
    assert_eq!(o.view().snapshot.generation(), 1);

    o.watcher.changed("");
    o.reaches(ProjectState::Ready);
    assert_eq!(o.view().snapshot.generation(), 2);
}

/// A project whose registry does not parse from the start: the observer's verification
/// finds the same `registry_invalid` the snapshot holds, and it is listed once. The
/// declarations the failed snapshot cannot hold are no news: the state never leaves
/// `failed` (no `stale` and back) while nothing changes.
#[test]
fn a_project_failed_from_the_start_lists_its_registry_error_once() {
    let fixture = fixture().replacen(
        "\"schema_version\": 1,",
        "\"schema_version\": 1, \"unknown\": true,",
        1,
    );
    let o = start_with(&fixture, config());
    o.watcher.overflow();
    let view = o.runtime.check_divergence();
    assert_eq!(view.state, ProjectState::Failed);
    let drifts = view.drifts();
    assert_eq!(drifts.len(), 1, "{drifts:?}");
    assert_eq!(drifts[0].kind_name(), "registry_invalid");
    let names: Vec<&str> = o.events.events().iter().map(Event::name).collect();
    assert_eq!(names, ["runtime_started"]);
}

/// A project whose registry does not parse from the start, then is edited into another
/// error (a merge's conflict markers resolved into a duplicate id): the project is still
/// `failed`, and what it says is wrong is the registry as it is now, not as it was at
/// the start, in `status` and in `doctor` alike.
#[test]
fn a_project_failed_from_the_start_names_only_the_registry_error_it_has_now() {
    let broken = fixture().replacen(
        "\"schema_version\": 1,",
        "\"schema_version\": 1, \"x\": 1,",
        1,
    );
    let o = start_with(&broken, config());
    assert!(o.runtime.wait_observing(DEADLINE));
    o.fs.write(
        ".prometeu/index.json",
        registry(3, &[(1, U1, "a", true), (1, U2, "b", true)]),
    );
    let view = o.runtime.check_divergence();
    assert_eq!(view.state, ProjectState::Failed);
    let messages: Vec<String> = view
        .drifts()
        .iter()
        .map(|d| match d {
            Drift::RegistryInvalid { error } => error.message.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("used twice"), "{messages:?}");
    let doctor = DoctorView::of_view(&view);
    let codes: Vec<&str> = doctor.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["duplicate_asset_id"], "{doctor:?}");
}

/// `doctor` on a running project whose registry stopped parsing names the registry's
/// error, with its position, before what the last good generation says.
#[test]
fn doctor_names_the_registry_error_of_a_project_failed_while_running() {
    let o = start();
    o.fs.write(".prometeu/index.json", "{ \"schema_version\": 1, ");
    o.watcher.changed(".prometeu/index.json");
    o.reaches(ProjectState::Failed);
    let doctor = DoctorView::of_view(&o.view());
    let first = doctor.diagnostics.first().expect("a diagnostic");
    assert_eq!(
        first.file.as_deref(),
        Some("assets/.prometeu/index.json"),
        "{doctor:?}"
    );
    assert!(first.line.is_some() && first.column.is_some(), "{doctor:?}");
    assert!(doctor.has_errors());
}

/// An observed open looks at every file as it walks, to stamp the inputs; a look that
/// fails (on a real disk: a folder that can be read but not searched) must not fail an
/// open that a plain load, which looks at no file, would not: the project opens
/// `ready`, loaded again without stamps.
#[test]
fn an_observed_open_whose_stamping_walk_fails_is_not_failed() {
    use std::sync::Arc;

    use packer_app::runtime::Runtime;
    use packer_domain::ports::PortOp;
    use packer_memfs::{EventLog, MemFs, ScriptedWatcher};

    let open = |fs: &MemFs, events: &EventLog| {
        Runtime::open_observed(
            crate::observe::mem_ports(fs, events),
            Arc::new(ScriptedWatcher::new()),
            config(),
        )
    };
    // Where the load's walk comes among the operations of an observed open: the first
    // scan of the whole workspace (the observer's own come after the load).
    let probe = MemFs::from_fixture(&fixture()).unwrap();
    probe.clear_ops();
    open(&probe, &EventLog::new()).shutdown();
    let walk = probe
        .ops()
        .iter()
        .position(|(op, path)| *op == PortOp::Scan && path.is_empty())
        .expect("the load walks the workspace");
    let fs = MemFs::from_fixture(&fixture()).unwrap();
    fs.clear_ops();
    fs.inject(Fault::once(walk as u64 + 1, PortErrorKind::Io));
    let events = EventLog::new();
    let runtime = open(&fs, &events);
    let started = events.events().into_iter().next();
    assert_eq!(
        started,
        Some(Event::RuntimeStarted {
            generation: 1,
            state: ProjectState::Ready
        })
    );
    assert_eq!(runtime.view().snapshot.assets().len(), 2);
    runtime.shutdown();
}
