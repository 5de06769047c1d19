//! The runtime on memfs: commits published as new generations with their events, stale
//! and conflicting writes refused without writing, and — for every command kind, every
//! I/O step of its commit and every error kind — a failure that leaves exactly the old
//! or exactly the new project after reopening, with no transaction left behind.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::fixture_text::{U1, U2, U9};
use packer_app::runtime::{Ports, Runtime, WriteRequest};
use packer_domain::command::{Command, CreateAsset, DeclarationChanges};
use packer_domain::declaration::AssetKind;
use packer_domain::event::Event;
use packer_domain::path::{AssetPath, WsPath};
use packer_domain::ports::{PortErrorKind, PortOp, WorkspacePort};
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{AssetQuery, ProjectState};
use packer_memfs::{EventLog, Fault, FaultMode, ManualClock, MemFs};

fn fixture() -> String {
    format!(
        r#"
//- .prometeu/index.json
{{ "schema_version": 1, "next_asset_id": 3, "assets": [
{{ "asset_id": 1, "asset_uuid": "{U1}", "root": "a", "included_in_build": true }},
{{ "asset_id": 2, "asset_uuid": "{U2}", "root": "b", "included_in_build": true }}
] }}
//- a/asset.json
{{ "schema_version": 1, "asset_uuid": "{U1}", "name": "a", "kind": "blob", "inputs": ["x.bin"] }}
//- a/x.bin
user bytes of a
//- b/asset.json
{{ "schema_version": 1, "asset_uuid": "{U2}", "name": "b", "kind": "blob", "inputs": ["y.bin"] }}
//- b/y.bin
user bytes of b
//- loose/asset.json
{{ "schema_version": 1, "asset_uuid": "{U9}", "name": "loose", "kind": "blob", "inputs": ["l.bin"] }}
//- loose/l.bin
user bytes of loose
"#
    )
}

/// Every file of a project by path.
type Files = BTreeMap<String, Vec<u8>>;
/// A person's edit of the project.
type Edit = Box<dyn Fn(&MemFs)>;

fn root(s: &str) -> AssetPath {
    AssetPath::new(s).unwrap()
}

/// A runtime over `fs`, without an observer, and the log of its events.
pub(crate) fn open(fs: &MemFs) -> (Runtime, EventLog) {
    let events = EventLog::new();
    let runtime = Runtime::open(Ports {
        workspace: Arc::new(fs.clone()),
        events: Arc::new(events.clone()),
        clock: Arc::new(ManualClock::new()),
    });
    (runtime, events)
}

fn write(command: Command) -> WriteRequest {
    WriteRequest {
        command,
        expected_generation: None,
    }
}

/// The command called `name` in [`commands`].
fn command(name: &str) -> Command {
    commands()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| c)
        .expect("a command of that name")
}

/// A project holding [`fixture`]; `name` is a command's name from [`commands`], and the
/// one that must be committed one sync at a time gets a port that cannot sync everything
/// at once.
fn project(name: &str) -> MemFs {
    let fs = MemFs::from_fixture(&fixture()).unwrap();
    fs.offer_sync_all(name != LARGE_BATCH_ONE_BY_ONE);
    fs
}

/// Enough creations in one batch that its commit syncs everything at once where the
/// port can, instead of each file and folder.
const LARGE_BATCH: usize = 20;
const LARGE_BATCH_ONE_BY_ONE: &str = "large batch, one by one";

pub(crate) fn create(at: &str) -> Command {
    Command::CreateAsset(CreateAsset {
        root: root(at),
        kind: AssetKind::Blob,
        inputs: vec![root("c.bin")],
        name: None,
        output: None,
        included_in_build: true,
    })
}

fn large_batch() -> Command {
    Command::Batch(
        (0..LARGE_BATCH)
            .map(|i| create(&format!("many/m{i}")))
            .collect(),
    )
}

/// One command of every kind, and a batch large enough to be synced differently, with
/// and without the port's help.
fn commands() -> Vec<(&'static str, Command)> {
    vec![
        ("create", create("new/c")),
        ("large batch", large_batch()),
        (LARGE_BATCH_ONE_BY_ONE, large_batch()),
        (
            "adopt",
            Command::AdoptAsset {
                root: root("loose"),
            },
        ),
        (
            "move",
            Command::MoveAsset {
                asset: AssetQuery::Id(AssetId(1)),
                to: root("moved/a"),
            },
        ),
        (
            "remove",
            Command::RemoveAsset {
                asset: AssetQuery::Id(AssetId(2)),
            },
        ),
        (
            "exclude",
            Command::SetIncluded {
                asset: AssetQuery::Id(AssetId(2)),
                included: false,
            },
        ),
        (
            "update",
            Command::UpdateDeclaration {
                asset: AssetQuery::Id(AssetId(1)),
                changes: DeclarationChanges {
                    name: Some("renamed".to_owned()),
                    ..DeclarationChanges::default()
                },
            },
        ),
        (
            "batch",
            Command::Batch(vec![
                Command::MoveAsset {
                    asset: AssetQuery::Id(AssetId(2)),
                    to: root("z/b"),
                },
                Command::UpdateDeclaration {
                    asset: AssetQuery::Id(AssetId(2)),
                    changes: DeclarationChanges {
                        kind: Some(AssetKind::Data),
                        ..DeclarationChanges::default()
                    },
                },
                Command::AdoptAsset {
                    root: root("loose"),
                },
            ]),
        ),
    ]
}

/// Every file of the project, with a created asset's random uuid replaced by a marker
/// so that two runs of the same command compare equal.
fn files(fs: &MemFs, runtime: &Runtime) -> Files {
    let known = [U1, U2, U9];
    let fresh: Vec<String> = runtime
        .snapshot()
        .assets()
        .iter()
        .map(|a| a.entry.asset_uuid.to_string())
        .filter(|u| !known.contains(&u.as_str()))
        .collect();
    fs.files()
        .into_iter()
        .map(|(path, bytes)| {
            let mut text = String::from_utf8_lossy(&bytes).into_owned();
            for uuid in &fresh {
                text = text.replace(uuid.as_str(), "<fresh uuid>");
            }
            (path, text.into_bytes())
        })
        .collect()
}

fn transactions(fs: &MemFs) -> Vec<String> {
    let port: &dyn WorkspacePort = fs;
    port.list_dir(&WsPath::internal("tx").unwrap())
        .map(|entries| entries.into_iter().map(|e| e.name).collect())
        .unwrap_or_default()
}

#[test]
fn a_commit_publishes_a_new_generation_with_its_events() {
    let fs = MemFs::from_fixture(&fixture()).unwrap();
    let (runtime, events) = open(&fs);
    assert_eq!(runtime.view().state, ProjectState::Diverged); // `loose` is unregistered
    let outcome = runtime
        .submit(write(Command::AdoptAsset {
            root: root("loose"),
        }))
        .unwrap();
    assert_eq!((outcome.generation, outcome.asset), (2, Some(AssetId(3))));
    let view = runtime.view();
    assert_eq!(view.snapshot.generation(), 2);
    assert_eq!(runtime.with_view(|v| v.snapshot.generation()), 2);
    assert_eq!(view.state, ProjectState::Ready);
    assert_eq!(view.snapshot.assets().len(), 3);
    let names: Vec<&str> = events.events().iter().map(Event::name).collect();
    assert_eq!(
        names,
        ["runtime_started", "state_changed", "snapshot_committed"]
    );
    assert_eq!(
        events.events()[2],
        Event::SnapshotCommitted {
            generation: 2,
            command_id: outcome.command_id,
            changed: vec![AssetId(3)],
        }
    );
    // `tx/` itself lives only while a transaction does.
    let port: &dyn WorkspacePort = &fs;
    assert_eq!(
        port.list_dir(&WsPath::internal("tx").unwrap())
            .unwrap_err()
            .kind,
        PortErrorKind::NotFound
    );
    runtime.shutdown();
}

#[test]
fn stale_and_invalid_requests_write_nothing() {
    let fs = MemFs::from_fixture(&fixture()).unwrap();
    let before = fs.files();
    let (runtime, events) = open(&fs);
    let stale = runtime
        .submit(WriteRequest {
            command: Command::AdoptAsset {
                root: root("loose"),
            },
            expected_generation: Some(7),
        })
        .unwrap_err();
    assert_eq!(stale.code.as_str(), "stale_request");
    let invalid = runtime
        .submit(write(Command::MoveAsset {
            asset: AssetQuery::Id(AssetId(1)),
            to: root("b/inner"),
        }))
        .unwrap_err();
    assert_eq!(invalid.code.as_str(), "invalid");
    let missing = runtime
        .submit(write(Command::RemoveAsset {
            asset: AssetQuery::Id(AssetId(9)),
        }))
        .unwrap_err();
    assert_eq!(missing.code.as_str(), "not_found");
    assert_eq!(fs.files(), before);
    let reasons: Vec<String> = events
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::WriteRejected { reason, .. } => Some(format!("{reason:?}")),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, ["StaleRequest", "Invalid", "Invalid"]);
}

/// A command that asks for what already is commits nothing: no file is touched, no
/// generation or event follows, and its answer names the asset as it is. The registry
/// it was decided on is still checked: an unseen hand edit makes it a conflict.
#[test]
fn asking_for_what_already_is_writes_nothing() {
    let fs = MemFs::from_fixture(&fixture()).unwrap();
    let port: &dyn WorkspacePort = &fs;
    let index = WsPath::internal("index.json").unwrap();
    let stat_before = port.stat(&index).unwrap();
    let before = fs.files();
    let (runtime, events) = open(&fs);
    let started = events.events().len();
    let unchanged = [
        Command::SetIncluded {
            asset: AssetQuery::Id(AssetId(1)),
            included: true,
        },
        Command::UpdateDeclaration {
            asset: AssetQuery::Id(AssetId(2)),
            changes: DeclarationChanges {
                name: Some("b".to_owned()),
                kind: Some(AssetKind::Blob),
                ..DeclarationChanges::default()
            },
        },
    ];
    for command in unchanged
        .iter()
        .cloned()
        .chain([Command::Batch(unchanged.to_vec())])
    {
        let outcome = runtime.submit(write(command.clone())).unwrap();
        assert_eq!(
            (outcome.generation, outcome.changed.len()),
            (1, 0),
            "{command:?}"
        );
    }
    assert_eq!(runtime.snapshot().generation(), 1);
    assert_eq!(fs.files(), before);
    assert_eq!(port.stat(&index).unwrap(), stat_before);
    assert_eq!(events.events().len(), started, "{:?}", events.events());
    assert!(transactions(&fs).is_empty());

    fs.write(
        ".prometeu/index.json",
        String::from_utf8(before[".prometeu/index.json"].clone())
            .unwrap()
            .replace(
                "\"included_in_build\": true },",
                "\"included_in_build\": false },",
            ),
    );
    let edited = fs.files();
    assert_ne!(edited, before);
    let error = runtime.submit(write(unchanged[0].clone())).unwrap_err();
    assert_eq!(error.code.as_str(), "conflict", "{error:?}");
    assert_eq!(fs.files(), edited);
    runtime.shutdown();
}

/// A hand edit the snapshot has not seen is never overwritten, however it was made.
#[test]
fn hand_edits_between_snapshot_and_commit_are_conflicts() {
    let edits: Vec<(&str, Edit)> = vec![
        (
            "in place",
            Box::new(|fs| fs.write("a/asset.json", "{ \"edited\": 1 }\n")),
        ),
        (
            "save by rename",
            Box::new(|fs| {
                fs.write("a/.asset.json.swp", "{ \"edited\": 2 }\n");
                fs.rename("a/.asset.json.swp", "a/asset.json");
            }),
        ),
        (
            "mtime restored",
            Box::new(|fs| {
                let port: &dyn WorkspacePort = fs;
                let before = port
                    .stat(&WsPath::new("a/asset.json").unwrap())
                    .unwrap()
                    .unwrap();
                let original = fs.read("a/asset.json").unwrap();
                let mut same_size = original.clone();
                same_size[original.len() - 3] = b'X';
                fs.write("a/asset.json", same_size);
                fs.set_mtime("a/asset.json", before.mtime_ns);
            }),
        ),
        ("delete", Box::new(|fs| fs.remove("a/asset.json"))),
    ];
    for (how, edit) in edits {
        let fs = MemFs::from_fixture(&fixture()).unwrap();
        let (runtime, _events) = open(&fs);
        edit(&fs);
        let edited = fs.files();
        let error = runtime
            .submit(write(Command::UpdateDeclaration {
                asset: AssetQuery::Id(AssetId(1)),
                changes: DeclarationChanges {
                    name: Some("mine".to_owned()),
                    ..DeclarationChanges::default()
                },
            }))
            .unwrap_err();
        assert_eq!(error.code.as_str(), "conflict", "{how}: {error:?}");
        assert_eq!(
            fs.files(),
            edited,
            "{how}: the edit must survive byte for byte"
        );
        assert!(transactions(&fs).is_empty(), "{how}");
    }
    // A file created where a new asset would go.
    let fs = MemFs::from_fixture(&fixture()).unwrap();
    let (runtime, _events) = open(&fs);
    fs.write("new/c/asset.json", "mine\n");
    let edited = fs.files();
    let error = runtime.submit(write(commands().remove(0).1)).unwrap_err();
    assert_eq!(error.code.as_str(), "conflict");
    assert_eq!(fs.files(), edited);
}

/// The reference outcome of `command` on a clean project: the files before and after.
fn reference(name: &str, command: &Command) -> (Files, Files, u64) {
    let fs = project(name);
    let (runtime, _events) = open(&fs);
    let old = files(&fs, &runtime);
    fs.clear_ops();
    runtime.submit(write(command.clone())).unwrap();
    let steps = fs.op_count();
    let new = files(&fs, &runtime);
    assert_ne!(old, new);
    (old, new, steps)
}

/// Runs `command` with `fault`, then (optionally crashing) reopens and checks the
/// project is exactly the old or the new one, with nothing left in `tx/`.
fn faulted_run(
    name: &str,
    command: &Command,
    fault: Fault,
    crash: bool,
    old: &BTreeMap<String, Vec<u8>>,
    new: &BTreeMap<String, Vec<u8>>,
) {
    let fs = project(name);
    let (runtime, events) = open(&fs);
    fs.inject(fault);
    let result = runtime.submit(write(command.clone()));
    runtime.shutdown();
    if crash {
        fs.crash();
    }
    fs.clear_faults();
    let emitted: Vec<&str> = events
        .events()
        .iter()
        .map(Event::name)
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    // A commit that failed before its commit point announces nothing (no transaction is
    // left; the command's error says it) and must have changed nothing.
    let aborted = match &result {
        Ok(_) => {
            assert!(
                emitted.contains(&"snapshot_committed"),
                "{name}: {emitted:?}"
            );
            false
        }
        Err(_) if emitted.contains(&"commit_failed") || emitted.contains(&"write_rejected") => {
            false
        }
        Err(error) => {
            assert!(
                error.message.contains("changed nothing"),
                "{name}: {emitted:?} {result:?}"
            );
            true
        }
    };
    let (reopened, reopen_events) = open(&fs);
    let now = files(&fs, &reopened);
    let label = format!("{name}, fault {fault:?}, crash {crash}, result {result:?}");
    if aborted {
        assert_eq!(now, *old, "{label}: an aborted commit changed the project");
    }
    if now != *old && now != *new {
        let render = |files: &Files| -> String {
            files
                .iter()
                .map(|(p, b)| format!("{p}: {}\n", String::from_utf8_lossy(b)))
                .collect()
        };
        panic!(
            "{label}: neither old nor new:\n--- now ---\n{}--- new ---\n{}",
            render(&now),
            render(new)
        );
    }
    if result.is_ok() && !crash {
        assert_eq!(now, *new, "{label}: an acknowledged commit was lost");
    }
    assert!(
        transactions(&fs).is_empty(),
        "{label}: a transaction was left"
    );
    // `tx/` exists only while a transaction does: an abort whose cleanup could run
    // leaves none.
    if aborted && fault.mode == FaultMode::Once && !crash {
        let port: &dyn WorkspacePort = &fs;
        assert_eq!(
            port.stat(&WsPath::internal("tx").unwrap()),
            Ok(None),
            "{label}: an empty tx/ was left"
        );
    }
    let started = reopen_events
        .wait_for(
            |e| matches!(e, Event::RuntimeStarted { .. }),
            Duration::from_secs(5),
        )
        .expect("runtime_started");
    assert!(
        matches!(started, Event::RuntimeStarted { state, .. } if state != ProjectState::Failed),
        "{label}"
    );
    reopened.shutdown();
}

#[test]
fn every_failed_step_leaves_exactly_the_old_or_the_new_project() {
    let kinds = [
        PortErrorKind::Io,
        PortErrorKind::DiskFull,
        PortErrorKind::PermissionDenied,
        PortErrorKind::NotFound,
    ];
    for (name, command) in commands() {
        let (old, new, steps) = reference(name, &command);
        for k in 1..=steps {
            for kind in kinds {
                faulted_run(name, &command, Fault::once(k, kind), false, &old, &new);
                faulted_run(
                    name,
                    &command,
                    Fault::from_then_on(k, kind),
                    false,
                    &old,
                    &new,
                );
            }
            // A crash at step k: everything from k on fails, then whatever was not
            // synced is lost.
            faulted_run(
                name,
                &command,
                Fault::from_then_on(k, PortErrorKind::Io),
                true,
                &old,
                &new,
            );
        }
    }
}

/// How a commit makes its writes durable: a small one syncs each file and folder; a
/// large batch syncs everything at once where the port can, one by one where it cannot;
/// both leave the same files.
#[test]
fn a_large_batch_syncs_everything_at_once_where_the_port_can() {
    let ops_of = |name: &str, command: Command| {
        let fs = project(name);
        let (runtime, _events) = open(&fs);
        fs.clear_ops();
        runtime.submit(write(command)).unwrap();
        let ops: Vec<PortOp> = fs.ops().into_iter().map(|(op, _)| op).collect();
        let files = files(&fs, &runtime);
        runtime.shutdown();
        (ops, files)
    };
    let count = |ops: &[PortOp], wanted: PortOp| ops.iter().filter(|op| **op == wanted).count();
    let (small, _) = ops_of("create", create("new/c"));
    assert_eq!(count(&small, PortOp::SyncAll), 0, "{small:?}");
    assert_eq!(count(&small, PortOp::SyncFile), 3, "{small:?}");
    let (at_once, at_once_files) = ops_of("large batch", large_batch());
    // Once for the staged files, once for the applied ones.
    assert_eq!(count(&at_once, PortOp::SyncAll), 2, "{at_once:?}");
    assert_eq!(count(&at_once, PortOp::SyncFile), 0, "{at_once:?}");
    let (one_by_one, one_by_one_files) = ops_of(LARGE_BATCH_ONE_BY_ONE, large_batch());
    assert_eq!(count(&one_by_one, PortOp::SyncAll), 0, "{one_by_one:?}");
    // Every staged declaration, the registry and the intent.
    assert_eq!(
        count(&one_by_one, PortOp::SyncFile),
        LARGE_BATCH + 2,
        "{one_by_one:?}"
    );
    assert!(count(&one_by_one, PortOp::SyncDir) > LARGE_BATCH);
    assert_eq!(at_once_files, one_by_one_files);
}

/// The number (1-based, as faults count) of the first operation of `command`'s commit
/// on a clean project that matches `pick`.
fn step_of(command: &Command, pick: impl Fn(PortOp, &str) -> bool) -> u64 {
    let fs = MemFs::from_fixture(&fixture()).unwrap();
    let (runtime, _events) = open(&fs);
    fs.clear_ops();
    runtime.submit(write(command.clone())).unwrap();
    let index = fs
        .ops()
        .iter()
        .position(|(op, path)| pick(*op, path))
        .expect("the commit performs such an operation");
    index as u64 + 1
}

/// An interrupted commit makes the project `failed` while reads keep serving the last
/// good generation; the next write recovers the transaction and goes through.
#[test]
fn an_interrupted_commit_fails_the_project_until_recovery_finishes_it() {
    let fs = MemFs::from_fixture(&fixture()).unwrap();
    let (runtime, events) = open(&fs);
    // Failing the cleanup interrupts the commit after its commit point.
    let cleanup = step_of(&command("exclude"), |op, _| op == PortOp::RemoveDir);
    fs.inject(Fault::once(cleanup, PortErrorKind::Io));
    let error = runtime.submit(write(command("exclude"))).unwrap_err();
    assert!(
        error.message.contains("after its commit point"),
        "{error:?}"
    );
    let view = runtime.view();
    assert_eq!(view.state, ProjectState::Failed);
    assert_eq!(
        view.snapshot.generation(),
        1,
        "reads keep the last good generation"
    );
    assert!(
        view.condition
            .as_deref()
            .unwrap_or("")
            .contains("interrupted")
    );
    assert!(
        events
            .events()
            .iter()
            .any(|e| matches!(e, Event::CommitFailed { .. }))
    );
    // A verification finds the transaction still there and keeps the condition, which
    // names the step the commit failed at.
    let condition = view.condition.clone();
    assert!(condition.as_deref().unwrap_or("").contains("at cleanup"));
    assert_eq!(runtime.check_divergence().condition, condition);

    // The next write recovers first, then commits on top.
    let outcome = runtime
        .submit(write(Command::SetIncluded {
            asset: AssetQuery::Id(AssetId(1)),
            included: false,
        }))
        .unwrap();
    assert!(events.events().iter().any(|e| matches!(
        e,
        Event::RecoveryPerformed {
            outcome: packer_domain::event::RecoveryOutcome::RolledForward,
            ..
        }
    )));
    let view = runtime.view();
    assert_eq!(view.condition, None);
    assert_eq!(view.snapshot.generation(), outcome.generation);
    let entries: Vec<(u64, bool)> = view
        .snapshot
        .assets()
        .iter()
        .map(|a| (a.entry.asset_id.0, a.entry.included_in_build))
        .collect();
    // Asset 2 excluded by the recovered commit, asset 1 by the new one.
    assert_eq!(entries, [(1, false), (2, false)]);
    assert!(transactions(&fs).is_empty());
}

/// A commit that fails before its commit point changed nothing and leaves no
/// transaction: the command gets the error, the project stays as it was, and no
/// `commit_failed` (which tells of a transaction left for recovery) is announced.
#[test]
fn a_commit_aborted_before_its_commit_point_announces_no_transaction() {
    let fs = MemFs::from_fixture(&fixture()).unwrap();
    let (runtime, events) = open(&fs);
    let before = files(&fs, &runtime);
    let state = runtime.view().state;
    let stage = step_of(&command("exclude"), |op, path| {
        op == PortOp::Write && path.contains(".prometeu/tx/")
    });
    fs.inject(Fault::once(stage, PortErrorKind::DiskFull));
    let error = runtime.submit(write(command("exclude"))).unwrap_err();
    assert_eq!(error.code.as_str(), "io");
    assert!(error.message.contains("changed nothing"), "{error:?}");
    let emitted: Vec<&str> = events.events().iter().map(Event::name).collect();
    assert!(!emitted.contains(&"commit_failed"), "{emitted:?}");
    assert_eq!(runtime.view().state, state, "not failed");
    assert_eq!(files(&fs, &runtime), before);
    assert!(transactions(&fs).is_empty());
    runtime.shutdown();
}

/// A transaction whose target was changed by someone else after the commit point is
/// refused: nothing is changed and the project reports the conflict for a person.
#[test]
fn recovery_refuses_a_transaction_it_cannot_finish_safely() {
    let fs = MemFs::from_fixture(&fixture()).unwrap();
    let (runtime, _events) = open(&fs);
    // Everything from the first rename into the project on fails: committed, not applied.
    let apply = step_of(&command("update"), |op, path| {
        op == PortOp::Rename && !path.contains("intent")
    });
    fs.inject(Fault::from_then_on(apply, PortErrorKind::Io));
    let _ = runtime.submit(write(command("update")));
    runtime.shutdown();
    fs.clear_faults();
    assert_eq!(transactions(&fs).len(), 1);
    // Someone rewrites the declaration the transaction was about to replace.
    fs.write("a/asset.json", "{ \"hand\": \"edit\" }\n");
    let before = fs.files();
    let (reopened, events) = open(&fs);
    assert_eq!(fs.files(), before, "a refused recovery changes nothing");
    let view = reopened.view();
    assert_eq!(view.state, ProjectState::Failed);
    assert!(
        view.condition
            .as_deref()
            .unwrap_or("")
            .starts_with("recovery_conflict"),
        "{:?}",
        view.condition
    );
    assert!(events.events().iter().any(|e| matches!(
        e,
        Event::RecoveryPerformed {
            outcome: packer_domain::event::RecoveryOutcome::Refused,
            ..
        }
    )));
    let error = reopened
        .submit(write(Command::SetIncluded {
            asset: AssetQuery::Id(AssetId(1)),
            included: false,
        }))
        .unwrap_err();
    assert_eq!(error.code.as_str(), "failed_state");
    assert_eq!(fs.files(), before);
}
