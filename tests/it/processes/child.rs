//! The child processes' side: what a re-executed test binary does once [`child_entry`]
//! has read its role (run a script of commands, or race the other writer), the protocol
//! lines it prints for the parent, and the commands a script is made of.
//!
//! [`child_entry`]: super::child_entry

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use packer_app::error::ErrorCode;
use packer_app::runtime::{Ports, Runtime, WriteRequest};
use packer_domain::command::{Command, CreateAsset, DeclarationChanges};
use packer_domain::declaration::AssetKind;
use packer_domain::event::{Event, RecoveryOutcome};
use packer_domain::path::{AssetPath, WsPath};
use packer_domain::ports::{EventPort, PortError, WorkspacePort};
use packer_domain::snapshot::AssetQuery;
use packer_domain::transaction::INTENT_COMMITTED;
use packer_fs::{DiskWorkspace, SystemClock};

use crate::delegate::delegate;

use super::expect::{Asset, Model};
use super::{INPUT, MARK, words};

/// Runs the script's commands in order, acknowledging each one that committed.
pub(super) fn stream_child(assets: &Path, script: &str) {
    let ops: Vec<Op> = script.split(';').map(Op::decode).collect();
    let runtime = open_runtime(assets, Arc::new(Reporter));
    say("ready");
    for (index, op) in ops.iter().enumerate() {
        let outcome = runtime
            .submit(write(op.command()))
            .unwrap_or_else(|e| panic!("command {index} ({op:?}) failed: {e:?}"));
        // A create names its new asset; the other commands change exactly one, or none
        // when they asked for what already was (then the asset is found by its root).
        let id = outcome
            .asset
            .or(outcome.changed.first().copied())
            .or_else(|| {
                let query = AssetQuery::Root(asset_path(op.root()));
                outcome.snapshot.find(&query).map(|r| r.entry.asset_id)
            });
        let id = id.unwrap_or_else(|| panic!("command {index} changed nothing"));
        say(&format!("ack {index} {id} {}", op.root()));
    }
    runtime.shutdown();
    say("done");
}

/// Creates `prefix/n0`, `prefix/n1`, … once the parent says go, reopening and retrying
/// whenever the other writer's commit overtook this runtime's snapshot.
pub(super) fn writer_child(assets: &Path, prefix: &str, count: u64) {
    // Plenty: each conflict means the other writer committed, and it commits 250 times.
    const MAX_RETRIES: u64 = 10_000;
    let mut runtime = open_runtime(assets, Arc::new(Reporter));
    say("ready");
    let mut go = String::new();
    // End of input instead of `go`: the parent is gone, so there is nobody to write for.
    if std::io::stdin().read_line(&mut go).unwrap_or(0) == 0 {
        return;
    }
    let mut retries = 0;
    for n in 0..count {
        let root = format!("{prefix}/n{n}");
        let command = Op::Create { root: root.clone() }.command();
        loop {
            match runtime.submit(write(command.clone())) {
                Ok(outcome) => {
                    let id = outcome.asset.unwrap_or_else(|| panic!("{root}: no asset"));
                    say(&format!("ack {root} {id}"));
                    break;
                }
                Err(error) if error.code == ErrorCode::Conflict => {
                    retries += 1;
                    assert!(retries < MAX_RETRIES, "{root}: {error:?}");
                    runtime.shutdown();
                    runtime = open_runtime(assets, Arc::new(Reporter));
                }
                Err(error) => panic!("{root}: {error:?}"),
            }
        }
    }
    runtime.shutdown();
    say(&format!("done {retries}"));
}

/// Creates `root` and stops for good once its commit's intent is committed: the project
/// lock held, the transaction in `tx/`, nothing else changed, until the parent kills it.
pub(super) fn halting_child(assets: &Path, root: &str) {
    let inner = DiskWorkspace::open(assets)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", assets.display()));
    let runtime = Runtime::open(Ports {
        workspace: Arc::new(HaltAtCommitPoint { inner }),
        events: Arc::new(Reporter),
        clock: Arc::new(SystemClock::new()),
    });
    let outcome = runtime.submit(write(
        Op::Create {
            root: root.to_owned(),
        }
        .command(),
    ));
    panic!("the commit went past its commit point: {outcome:?}");
}

/// The disk, up to the rename that commits a transaction's intent; there the thread
/// making the commit stops for good.
#[derive(Debug)]
struct HaltAtCommitPoint {
    inner: DiskWorkspace,
}

impl WorkspacePort for HaltAtCommitPoint {
    fn rename(&self, from: &WsPath, to: &WsPath) -> Result<(), PortError> {
        self.inner.rename(from, to)?;
        if to.file_name() == INTENT_COMMITTED {
            say("committed");
            loop {
                std::thread::park();
            }
        }
        Ok(())
    }
    delegate!(inner: scan, scan_reusing, scan_and_read, read, read_many, list_dir, stat);
    delegate!(inner: check_writable, create_dir_all, write_file, sync_file, sync_dir);
    delegate!(inner: sync_all, remove_file, remove_dir_all, remove_empty_dir, lock);
    delegate!(inner: lock_if_in_use);
}

pub(super) fn open_runtime(assets: &Path, events: Arc<dyn EventPort>) -> Runtime {
    let workspace = DiskWorkspace::open(assets)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", assets.display()));
    Runtime::open(Ports {
        workspace: Arc::new(workspace),
        events,
        clock: Arc::new(SystemClock::new()),
    })
}

pub(super) fn write(command: Command) -> WriteRequest {
    WriteRequest {
        command,
        expected_generation: None,
    }
}

/// Writes one protocol line to stdout and flushes it, so the parent sees an
/// acknowledgement the moment it is made. A parent that stopped reading is gone, so a
/// failed write is nothing to report.
pub(super) fn say(message: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{MARK}{message}");
    let _ = out.flush();
}

/// The child's event port: tells the parent what recovery did when the child opened
/// (or committed), so the test can report how often a kill left work for recovery.
#[derive(Debug)]
pub(super) struct Reporter;

impl EventPort for Reporter {
    fn publish(&self, event: Event) {
        if let Event::RecoveryPerformed { outcome, .. } = event {
            say(&format!("recovered {}", outcome_name(outcome)));
        }
    }
}

pub(super) fn outcome_name(outcome: RecoveryOutcome) -> &'static str {
    match outcome {
        RecoveryOutcome::RolledForward => "rolled_forward",
        RecoveryOutcome::Discarded => "discarded",
        RecoveryOutcome::Refused => "refused",
    }
}

/// One command of a stream child, small enough to pass in an environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Op {
    Create { root: String },
    SetIncluded { root: String, included: bool },
    Rename { root: String, name: String },
}

impl Op {
    pub(super) fn encode(&self) -> String {
        match self {
            Op::Create { root } => format!("create {root}"),
            Op::SetIncluded { root, included } => format!("include {root} {included}"),
            Op::Rename { root, name } => format!("rename {root} {name}"),
        }
    }

    pub(super) fn decode(text: &str) -> Op {
        match words(text).as_slice() {
            ["create", root] => Op::Create {
                root: (*root).to_owned(),
            },
            ["include", root, included] => Op::SetIncluded {
                root: (*root).to_owned(),
                included: *included == "true",
            },
            ["rename", root, name] => Op::Rename {
                root: (*root).to_owned(),
                name: (*name).to_owned(),
            },
            _ => panic!("not a command: `{text}`"),
        }
    }

    pub(super) fn root(&self) -> &str {
        match self {
            Op::Create { root } | Op::SetIncluded { root, .. } | Op::Rename { root, .. } => root,
        }
    }

    pub(super) fn command(&self) -> Command {
        let query = || AssetQuery::Root(asset_path(self.root()));
        match self {
            Op::Create { root } => Command::CreateAsset(CreateAsset {
                root: asset_path(root),
                kind: AssetKind::Blob,
                inputs: vec![asset_path(INPUT)],
                name: None,
                output: None,
                included_in_build: true,
            }),
            Op::SetIncluded { included, .. } => Command::SetIncluded {
                asset: query(),
                included: *included,
            },
            Op::Rename { name, .. } => Command::UpdateDeclaration {
                asset: query(),
                changes: DeclarationChanges {
                    name: Some(name.clone()),
                    ..DeclarationChanges::default()
                },
            },
        }
    }

    /// The op's effect on the expected project; `id` is the created asset's, when known.
    pub(super) fn apply(&self, model: &mut Model, id: Option<u64>) {
        match self {
            Op::Create { root } => {
                let name = root.rsplit('/').next().unwrap_or(root).to_owned();
                let asset = Asset {
                    id,
                    included: true,
                    name,
                };
                model.insert(root.clone(), asset);
            }
            Op::SetIncluded { root, included } => {
                if let Some(asset) = model.get_mut(root) {
                    asset.included = *included;
                }
            }
            Op::Rename { root, name } => {
                if let Some(asset) = model.get_mut(root) {
                    asset.name = name.clone();
                }
            }
        }
    }
}

pub(super) fn asset_path(text: &str) -> AssetPath {
    AssetPath::new(text).unwrap_or_else(|e| panic!("`{text}`: {e}"))
}
