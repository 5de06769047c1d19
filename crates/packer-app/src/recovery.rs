//! Recovery of transactions left in `.prometeu/tx/` by an interrupted commit (SPEC
//! §3.3): one without a committed intent is discarded; a committed one is rolled
//! forward when every target is in its before or after state; anything else is refused
//! and nothing is changed, for a person to decide.

use std::collections::BTreeSet;

use packer_domain::event::RecoveryOutcome;
use packer_domain::location::LineIndex;
use packer_domain::path::WsPath;
use packer_domain::ports::{DirEntry, DirEntryKind, PortError, PortErrorKind, WorkspacePort};
use packer_domain::snapshot::{ContentHash, MAX_REGISTRY_BYTES};
use packer_domain::transaction::{INTENT_COMMITTED, Intent, TX_DIR, TxOp};

use crate::commit::{
    CommitError, Step, after_renames, ancestors, apply_op, cleanup, internal, sync_touched,
};

/// What recovery did with one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    pub transaction: String,
    pub outcome: RecoveryOutcome,
}

/// `.prometeu/tx`.
pub fn tx_root() -> WsPath {
    // A constant, valid path.
    WsPath::internal(TX_DIR).unwrap_or_else(|_| WsPath::root())
}

/// `.prometeu/tx/<name>`; `name` must be one file name.
pub fn tx_dir(name: &str) -> Result<WsPath, PortError> {
    tx_root().child(name).map_err(|e| {
        PortError::new(
            PortErrorKind::Io,
            packer_domain::ports::PortOp::CreateDir,
            &tx_root(),
        )
        .with_detail(format!("`{name}` is not a transaction name: {e}"))
    })
}

/// Recovers every transaction in `tx/`, oldest name first. The caller holds the lock.
/// Stops at the first transaction it must refuse, leaving it and the rest untouched.
/// Gives what it did beside the result: a transaction rolled forward or discarded is
/// reported even when a later one is refused, and the refused one ends the reports.
pub fn recover_all(port: &dyn WorkspacePort) -> (Vec<RecoveryReport>, Result<(), CommitError>) {
    let mut reports = Vec::new();
    let result = recover_each(port, &mut reports);
    (reports, result)
}

fn recover_each(
    port: &dyn WorkspacePort,
    reports: &mut Vec<RecoveryReport>,
) -> Result<(), CommitError> {
    let entries = transactions(port)?;
    for entry in entries {
        let Ok(dir) = tx_dir(&entry.name) else {
            continue;
        };
        if entry.kind != DirEntryKind::Dir {
            // Not a transaction at all: transient debris.
            port.remove_file(&dir).map_err(failed)?;
            port.sync_dir(&tx_root()).map_err(failed)?;
            continue;
        }
        let outcome = match recover_one(port, &dir) {
            Ok(outcome) => outcome,
            Err(Failure::Io(error)) => return Err(failed(error)),
            Err(Failure::Refused(reason)) => {
                reports.push(RecoveryReport {
                    transaction: entry.name.clone(),
                    outcome: RecoveryOutcome::Refused,
                });
                return Err(CommitError::RecoveryRefused {
                    transaction: entry.name,
                    reason,
                });
            }
        };
        reports.push(RecoveryReport {
            transaction: entry.name,
            outcome,
        });
    }
    Ok(())
}

/// A recovery that could not read or change what it had to.
fn failed(error: PortError) -> CommitError {
    CommitError::Aborted {
        step: Step::Recover,
        error,
    }
}

/// The entries of `tx/`; none when there is no `tx/`.
pub(crate) fn transactions(port: &dyn WorkspacePort) -> Result<Vec<DirEntry>, CommitError> {
    match port.list_dir(&tx_root()) {
        Ok(entries) => Ok(entries),
        Err(PortError {
            kind: PortErrorKind::NotFound,
            ..
        }) => Ok(Vec::new()),
        Err(error) => Err(failed(error)),
    }
}

enum Failure {
    Io(PortError),
    Refused(String),
}

impl From<PortError> for Failure {
    fn from(error: PortError) -> Failure {
        Failure::Io(error)
    }
}

/// What recovery would do with the transactions in `tx/`, found by reading only, for a
/// host that takes no lock and writes nothing (a read command): the names of those it
/// would roll forward, or the error it would stop at — the same refusal, naming the
/// same transaction and reason, or the same failure to read.
pub fn preview(port: &dyn WorkspacePort) -> Result<Vec<String>, CommitError> {
    let entries = transactions(port)?;
    let mut pending = Vec::new();
    for entry in entries {
        let Ok(dir) = tx_dir(&entry.name) else {
            continue;
        };
        if entry.kind != DirEntryKind::Dir {
            continue;
        }
        match examine(port, &dir) {
            Ok(None) => {}
            Ok(Some(_)) => pending.push(entry.name),
            Err(Failure::Io(error)) => return Err(failed(error)),
            Err(Failure::Refused(reason)) => {
                return Err(CommitError::RecoveryRefused {
                    transaction: entry.name,
                    reason,
                });
            }
        }
    }
    Ok(pending)
}

fn recover_one(port: &dyn WorkspacePort, dir: &WsPath) -> Result<RecoveryOutcome, Failure> {
    let Some((intent, pending)) = examine(port, dir)? else {
        cleanup(port, dir)?;
        return Ok(RecoveryOutcome::Discarded);
    };
    let mut touched: BTreeSet<WsPath> = BTreeSet::new();
    for (op, state) in intent.ops.iter().zip(&pending) {
        // Every directory an operation concerns is synced, done or not: an interrupted
        // run may have applied it without syncing.
        for path in op_dirs(op) {
            touched.extend(ancestors(&path));
        }
        if let OpState::Pending(effective) = state {
            apply_op(port, dir, effective, &mut touched)?;
        }
    }
    sync_touched(port, &after_renames(&touched, &intent))?;
    cleanup(port, dir)?;
    Ok(RecoveryOutcome::RolledForward)
}

/// Reads a transaction's committed intent and the state of each of its operations on
/// disk, changing nothing; `None` when it has no committed intent (it is discarded).
fn examine(
    port: &dyn WorkspacePort,
    dir: &WsPath,
) -> Result<Option<(Intent, Vec<OpState>)>, Failure> {
    let committed = internal(dir, INTENT_COMMITTED);
    let text = match port.read(&committed, MAX_REGISTRY_BYTES) {
        Ok(read) => read.bytes,
        Err(PortError {
            kind: PortErrorKind::NotFound,
            ..
        }) => return Ok(None),
        Err(error) => return Err(Failure::Io(error)),
    };
    let intent = Intent::parse(&text).map_err(|e| {
        // Where, as for every file the packer reads: the person deciding opens it there.
        let located = e.locate(&committed.display_in_project(), &LineIndex::new(&text));
        Failure::Refused(format!("the intent cannot be read: {located}"))
    })?;
    let pending = classify(port, dir, &intent)?;
    Ok(Some((intent, pending)))
}

/// Each operation: already done, or still to do (as this operation, with its path
/// adjusted to a directory rename that is already done).
enum OpState {
    Done,
    Pending(Box<TxOp>),
}

fn classify(
    port: &dyn WorkspacePort,
    dir: &WsPath,
    intent: &Intent,
) -> Result<Vec<OpState>, Failure> {
    let mut states = Vec::with_capacity(intent.ops.len());
    // Renames first: their state is visible on their own, and later paths depend on it.
    let mut done_renames: Vec<(usize, &WsPath, &WsPath)> = Vec::new();
    for (index, op) in intent.ops.iter().enumerate() {
        if let TxOp::RenameDir { from, to } = op {
            let from_dir = is_dir(port, from)?;
            let to_taken = exists(port, to)?;
            match (from_dir, to_taken) {
                (false, true) if is_dir(port, to)? => done_renames.push((index, from, to)),
                (true, false) => {}
                _ => {
                    return Err(Failure::Refused(format!(
                        "the rename of {} to {} is neither done nor undone",
                        from.display_in_project(),
                        to.display_in_project()
                    )));
                }
            }
        }
    }
    for (index, op) in intent.ops.iter().enumerate() {
        // Where a path is now, if a later rename of a folder above it is already done.
        let effective = |path: &WsPath| -> WsPath {
            for (rename_index, from, to) in &done_renames {
                if *rename_index > index
                    && let Some(rest) = path.strip_prefix(from)
                {
                    return to.join(&rest);
                }
            }
            path.clone()
        };
        let state = match op {
            TxOp::Write {
                path,
                staged,
                pre,
                post,
            } => {
                let target = effective(path);
                let now = content(port, &target)?;
                if now == Some(*post) {
                    OpState::Done
                } else if now == *pre {
                    let staged_hash = content(port, &internal(dir, staged))?;
                    if staged_hash != Some(*post) {
                        return Err(Failure::Refused(format!(
                            "the staged copy for {} is missing or damaged",
                            path.display_in_project()
                        )));
                    }
                    OpState::Pending(Box::new(TxOp::Write {
                        path: target,
                        staged: staged.clone(),
                        pre: *pre,
                        post: *post,
                    }))
                } else {
                    return Err(Failure::Refused(format!(
                        "{} matches neither its content before nor after the commit",
                        target.display_in_project()
                    )));
                }
            }
            TxOp::Delete { path, pre } => {
                let target = effective(path);
                match content(port, &target)? {
                    None => OpState::Done,
                    Some(hash) if hash == *pre => OpState::Pending(Box::new(TxOp::Delete {
                        path: target,
                        pre: *pre,
                    })),
                    Some(_) => {
                        return Err(Failure::Refused(format!(
                            "{} was changed since the commit began",
                            target.display_in_project()
                        )));
                    }
                }
            }
            TxOp::RenameDir { .. } => {
                if done_renames.iter().any(|(i, _, _)| *i == index) {
                    OpState::Done
                } else {
                    OpState::Pending(Box::new(op.clone()))
                }
            }
        };
        states.push(state);
    }
    Ok(states)
}

/// The directories whose entries an operation changes.
fn op_dirs(op: &TxOp) -> Vec<WsPath> {
    let parent = |p: &WsPath| p.parent().unwrap_or_else(WsPath::root);
    match op {
        TxOp::Write { path, .. } | TxOp::Delete { path, .. } => vec![parent(path)],
        TxOp::RenameDir { from, to } => vec![parent(from), parent(to)],
    }
}

/// The content hash of a regular file, `None` when nothing is there.
fn content(port: &dyn WorkspacePort, path: &WsPath) -> Result<Option<ContentHash>, Failure> {
    match port.read(path, MAX_REGISTRY_BYTES) {
        Ok(read) => Ok(Some(ContentHash::of(&read.bytes))),
        Err(PortError {
            kind: PortErrorKind::NotFound,
            ..
        }) => Ok(None),
        Err(PortError {
            kind: PortErrorKind::IsADirectory,
            ..
        }) => Err(Failure::Refused(format!(
            "{} is a directory where the commit expects a file",
            path.display_in_project()
        ))),
        Err(PortError {
            kind: PortErrorKind::OutsideWorkspace,
            ..
        }) => Err(Failure::Refused(format!(
            "{} leads outside the workspace",
            path.display_in_project()
        ))),
        Err(error) => Err(Failure::Io(error)),
    }
}

fn is_dir(port: &dyn WorkspacePort, path: &WsPath) -> Result<bool, Failure> {
    match port.stat(path) {
        Err(PortError {
            kind: PortErrorKind::IsADirectory,
            ..
        }) => Ok(true),
        Ok(_) => Ok(false),
        Err(error) => Err(Failure::Io(error)),
    }
}

fn exists(port: &dyn WorkspacePort, path: &WsPath) -> Result<bool, Failure> {
    match port.stat(path) {
        Ok(None) => Ok(false),
        Ok(Some(_))
        | Err(PortError {
            kind: PortErrorKind::IsADirectory,
            ..
        }) => Ok(true),
        Err(error) => Err(Failure::Io(error)),
    }
}
