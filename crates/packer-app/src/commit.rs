//! The durable commit (SPEC §3.3): lock, recover, check preconditions by content, stage
//! a redo transaction, commit by renaming its intent, apply, fsync, clean up. Before the
//! commit point nothing the user sees has changed; after it the transaction is the
//! truth, and an interrupted one is finished by recovery.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use packer_domain::command::{Contents, Expected, FileChange, Plan};
use packer_domain::path::WsPath;
use packer_domain::ports::{DirEntryKind, PortError, PortErrorKind, SyncAll, WorkspacePort};
use packer_domain::snapshot::{ContentHash, MAX_REGISTRY_BYTES};
use packer_domain::transaction::{INTENT_COMMITTED, INTENT_STAGED, Intent, TxOp};

use crate::recovery::{self, RecoveryReport, tx_dir};

/// The step of a commit, named in `commit_failed` events and failure conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Lock,
    Recover,
    Precondition,
    Stage,
    CommitPoint,
    Apply,
    Sync,
    Cleanup,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Lock => "lock",
            Step::Recover => "recover",
            Step::Precondition => "precondition",
            Step::Stage => "stage",
            Step::CommitPoint => "commit_point",
            Step::Apply => "apply",
            Step::Sync => "sync",
            Step::Cleanup => "cleanup",
        })
    }
}

/// How a commit went wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum CommitError {
    /// The disk no longer holds what the plan was made against: nothing was written.
    Conflict(String),
    /// A step before the commit point failed: the project is as it was.
    Aborted { step: Step, error: PortError },
    /// A step after the commit point failed: the transaction stays in `tx/` and only
    /// recovery may finish it.
    Interrupted {
        step: Step,
        error: PortError,
        transaction: String,
    },
    /// A transaction left by an earlier commit cannot be rolled forward safely.
    RecoveryRefused { transaction: String, reason: String },
}

/// How a refused recovery's condition starts: the code `doctor` and `status` name it by.
pub(crate) const REFUSED: &str = "recovery_conflict";

impl fmt::Display for CommitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommitError::Conflict(detail) => write!(f, "{detail}"),
            CommitError::Aborted { step, error } => {
                write!(
                    f,
                    "the commit failed at {step} and changed nothing: {error}"
                )
            }
            CommitError::Interrupted {
                step,
                error,
                transaction,
            } => write!(
                f,
                "the commit was interrupted at {step} after its commit point (transaction {transaction}): {error}"
            ),
            CommitError::RecoveryRefused {
                transaction,
                reason,
            } => write!(
                f,
                "{REFUSED}: transaction {transaction} cannot be finished safely: {reason}"
            ),
        }
    }
}

/// Commits `plan` durably as transaction `name`. Gives what recovery of earlier
/// transactions did on the way beside the commit's own result: that happened on disk,
/// and is to be reported, whether this commit then went through or not. A plan that
/// changes nothing is only checked against the disk: a file it was decided on and that
/// changed unseen is still a `conflict`.
pub fn execute(
    port: &dyn WorkspacePort,
    plan: &Plan,
    name: &str,
) -> (Vec<RecoveryReport>, Result<(), CommitError>) {
    std::thread::scope(|scope| {
        // The intent names the hash of every file it writes. A large file (the registry
        // of a large project: some 15 MB at 100k assets) is written out and hashed on a
        // second thread meanwhile, while this one locks, recovers and reads the files
        // the plan was decided on; staging takes the bytes and hash when they are done.
        let large: Vec<&Contents> = plan
            .changes
            .iter()
            .filter_map(|change| match change {
                FileChange::Write { bytes, .. } if bytes.is_large() => Some(bytes),
                _ => None,
            })
            .collect();
        if !large.is_empty() {
            // A thread that cannot be had (a process at its limit) leaves the work to
            // staging, on this thread.
            let _ = std::thread::Builder::new()
                .name("packer-hash".to_owned())
                .spawn_scoped(scope, move || {
                    for bytes in large {
                        bytes.hash();
                    }
                });
        }
        execute_hashed(port, plan, name)
    })
}

fn execute_hashed(
    port: &dyn WorkspacePort,
    plan: &Plan,
    name: &str,
) -> (Vec<RecoveryReport>, Result<(), CommitError>) {
    let _lock = match port.lock() {
        Ok(lock) => lock,
        Err(error) => {
            let step = Step::Lock;
            return (Vec::new(), Err(CommitError::Aborted { step, error }));
        }
    };
    let (recovered, result) = recovery::recover_all(port);
    let result = result.and_then(|()| commit_locked(port, plan, name));
    (recovered, result)
}

/// The commit itself, under the lock and after recovery.
fn commit_locked(port: &dyn WorkspacePort, plan: &Plan, name: &str) -> Result<(), CommitError> {
    check_preconditions(port, plan)?;
    if plan.changes_nothing() {
        // Checked, and nothing to write: no transaction at all.
        return Ok(());
    }
    let dir = tx_dir(name).map_err(|error| CommitError::Aborted {
        step: Step::Stage,
        error,
    })?;
    let intent = match stage(port, plan, &dir) {
        Ok(intent) => intent,
        Err(error) => {
            // Without a committed intent the staging is garbage; recovery would delete
            // it too, but nothing should linger after a clean abort (`tx/` included).
            let _ = cleanup(port, &dir);
            return Err(CommitError::Aborted {
                step: Step::Stage,
                error,
            });
        }
    };
    let staged = internal(&dir, INTENT_STAGED);
    let committed = internal(&dir, INTENT_COMMITTED);
    if let Err(error) = port.rename(&staged, &committed) {
        let _ = cleanup(port, &dir);
        return Err(CommitError::Aborted {
            step: Step::CommitPoint,
            error,
        });
    }
    let interrupted = |step, error| CommitError::Interrupted {
        step,
        error,
        transaction: name.to_owned(),
    };
    // From here the intent exists: any failure leaves the transaction for recovery.
    port.sync_dir(&dir)
        .map_err(|e| interrupted(Step::CommitPoint, e))?;
    apply(port, &dir, &intent).map_err(|(step, e)| interrupted(step, e))?;
    cleanup(port, &dir).map_err(|e| interrupted(Step::Cleanup, e))
}

/// Every file the plan overwrites, deletes, renames or relies on still has the content
/// the snapshot saw; every path it creates is free.
fn check_preconditions(port: &dyn WorkspacePort, plan: &Plan) -> Result<(), CommitError> {
    let aborted = |error| CommitError::Aborted {
        step: Step::Precondition,
        error,
    };
    let mut listings = Listings::default();
    for change in &plan.changes {
        match change {
            FileChange::Write {
                path,
                expected: Expected::Absent,
                ..
            } => {
                require_creatable(port, path, &mut listings)?;
                require_absent(port, path, "appeared on disk since the snapshot")?;
            }
            FileChange::VerifyAbsent { path } => require_no_file(port, path, &mut listings)?,
            FileChange::Write {
                path,
                expected: Expected::Content(hash),
                ..
            }
            | FileChange::Delete {
                path,
                expected: hash,
            }
            | FileChange::Verify {
                path,
                expected: hash,
            } => check_content(port, path, *hash)?,
            FileChange::RenameDir { from, to } => {
                match port.stat(from) {
                    Err(PortError {
                        kind: PortErrorKind::IsADirectory,
                        ..
                    }) => {}
                    Ok(_) => {
                        return Err(CommitError::Conflict(format!(
                            "the folder {} is gone since the snapshot",
                            from.display_in_project()
                        )));
                    }
                    Err(error) => return Err(aborted(error)),
                }
                require_creatable(port, to, &mut listings)?;
                require_absent(port, to, "already exists")?;
            }
        }
    }
    check_writable_dirs(port, plan).map_err(aborted)
}

/// Every directory whose entries the apply step changes may be changed: a folder the
/// user cannot write (or a read-only mount) refuses the commit here, with nothing
/// written, instead of failing it after its commit point and leaving the project
/// `failed` until the permission is fixed. For a path still to be created, that is the
/// nearest directory on its way that exists.
fn check_writable_dirs(port: &dyn WorkspacePort, plan: &Plan) -> Result<(), PortError> {
    let parent = |path: &WsPath| path.parent().unwrap_or_else(WsPath::root);
    let mut dirs = BTreeSet::new();
    for change in &plan.changes {
        match change {
            FileChange::Write { path, .. } | FileChange::Delete { path, .. } => {
                dirs.insert(parent(path));
            }
            FileChange::RenameDir { from, to } => {
                dirs.insert(parent(from));
                dirs.insert(parent(to));
                if parent(from) != parent(to) {
                    // A folder that changes parent has its `..` entry rewritten.
                    dirs.insert(from.clone());
                }
            }
            FileChange::Verify { .. } | FileChange::VerifyAbsent { .. } => {}
        }
    }
    for dir in dirs {
        let mut dir = dir;
        loop {
            match port.check_writable(&dir) {
                Err(error) if error.kind == PortErrorKind::NotFound && !dir.is_root() => {
                    dir = parent(&dir);
                }
                result => {
                    result?;
                    break;
                }
            }
        }
    }
    Ok(())
}

/// The entries of the directories looked at so far, by name (`None`: no such
/// directory), so that the creations of one batch list each directory once and find
/// each name in it without a pass over it (a batch may create thousands of roots side
/// by side).
type Listings = BTreeMap<WsPath, Option<HashMap<String, DirEntryKind>>>;

/// `path` can be created as the commit creates it, and found there afterwards: every
/// existing directory on the way is a real directory, not a file (creating the rest
/// would fail after the commit point, and every later commit with it) nor a symbolic
/// link (the packer does not look for asset folders inside linked folders, so what it
/// created there would be seen elsewhere, or not at all); and no link, not even one
/// that leads nowhere, is at `path` itself. Anything else at `path` is the caller's to
/// judge.
fn require_creatable(
    port: &dyn WorkspacePort,
    path: &WsPath,
    listings: &mut Listings,
) -> Result<(), CommitError> {
    // From the top down: the first thing on the way decides.
    for current in ancestors(path).into_iter().rev() {
        let Some(parent) = current.parent() else {
            continue;
        };
        let kind = entry_kind(port, listings, parent, &current)?;
        let shown = path.display_in_project();
        let at_path = current == *path;
        let detail = match kind {
            // From here down everything is new.
            None => return Ok(()),
            Some(DirEntryKind::Dir) if !at_path => continue,
            Some(DirEntryKind::Symlink) if at_path => {
                format!("{shown} cannot be created: a symbolic link is there")
            }
            Some(DirEntryKind::Symlink) => format!(
                "{shown} cannot be created: {} is a symbolic link, and the packer does not look for assets inside linked folders",
                current.display_in_project()
            ),
            // What is at the path itself, the caller judges.
            Some(_) if at_path => return Ok(()),
            Some(_) => format!(
                "{shown} cannot be created: {} is a file",
                current.display_in_project()
            ),
        };
        return Err(CommitError::Conflict(detail));
    }
    Ok(())
}

/// No file may be at `path` (a folder is no file: the loader does not read it as one).
/// A file reached through a linked folder is none either: the loader does not look for
/// assets inside linked folders, so the snapshot saw nothing there, and a link that
/// replaced an asset's folder must not keep that asset from being relocated or
/// unregistered.
fn require_no_file(
    port: &dyn WorkspacePort,
    path: &WsPath,
    listings: &mut Listings,
) -> Result<(), CommitError> {
    if behind_link(port, path, listings)? {
        return Ok(());
    }
    match port.stat(path) {
        Ok(None)
        | Err(PortError {
            kind: PortErrorKind::IsADirectory,
            ..
        }) => Ok(()),
        Ok(Some(_)) => Err(CommitError::Conflict(format!(
            "{} appeared on disk since the snapshot",
            path.display_in_project()
        ))),
        Err(error) => Err(CommitError::Aborted {
            step: Step::Precondition,
            error,
        }),
    }
}

/// The kind of `current`, an entry of the directory `parent` (`None`: nothing there),
/// listing `parent` once per commit.
fn entry_kind(
    port: &dyn WorkspacePort,
    listings: &mut Listings,
    parent: WsPath,
    current: &WsPath,
) -> Result<Option<DirEntryKind>, CommitError> {
    let entries = match listings.entry(parent) {
        Entry::Occupied(entry) => entry.into_mut(),
        Entry::Vacant(entry) => {
            let listed = match port.list_dir(entry.key()) {
                Ok(entries) => Some(entries.into_iter().map(|e| (e.name, e.kind)).collect()),
                Err(PortError {
                    kind: PortErrorKind::NotFound,
                    ..
                }) => None,
                Err(error) => {
                    return Err(CommitError::Aborted {
                        step: Step::Precondition,
                        error,
                    });
                }
            };
            entry.insert(listed)
        }
    };
    Ok(entries
        .as_ref()
        .and_then(|entries| entries.get(current.file_name()))
        .copied())
}

/// Whether a folder on the way to `path` (not `path` itself) is a symbolic link, or
/// missing, so that nothing at `path` can be seen by the loader.
fn behind_link(
    port: &dyn WorkspacePort,
    path: &WsPath,
    listings: &mut Listings,
) -> Result<bool, CommitError> {
    // From the top down, leaving out the root and `path` itself.
    for current in ancestors(path).into_iter().skip(1).rev() {
        let Some(parent) = current.parent() else {
            continue;
        };
        let kind = entry_kind(port, listings, parent, &current)?;
        match kind {
            Some(DirEntryKind::Dir) => {}
            Some(DirEntryKind::Symlink) => return Ok(true),
            // Nothing there, or a file: `stat` says what is at `path`.
            None | Some(DirEntryKind::File | DirEntryKind::Other) => return Ok(false),
        }
    }
    Ok(false)
}

/// Nothing (file or folder) may be at `path`; `what` says why it matters.
fn require_absent(port: &dyn WorkspacePort, path: &WsPath, what: &str) -> Result<(), CommitError> {
    match port.stat(path) {
        Ok(None) => Ok(()),
        Ok(Some(_))
        | Err(PortError {
            kind: PortErrorKind::IsADirectory,
            ..
        }) => Err(CommitError::Conflict(format!(
            "{} {what}",
            path.display_in_project()
        ))),
        Err(error) => Err(CommitError::Aborted {
            step: Step::Precondition,
            error,
        }),
    }
}

fn check_content(
    port: &dyn WorkspacePort,
    path: &WsPath,
    expected: ContentHash,
) -> Result<(), CommitError> {
    match port.read(path, MAX_REGISTRY_BYTES) {
        Ok(read) if ContentHash::of(&read.bytes) == expected => Ok(()),
        Ok(_) => Err(CommitError::Conflict(format!(
            "{} was changed on disk since the snapshot; the change is kept and nothing was written",
            path.display_in_project()
        ))),
        Err(PortError {
            kind: PortErrorKind::NotFound,
            ..
        }) => Err(CommitError::Conflict(format!(
            "{} was deleted on disk since the snapshot",
            path.display_in_project()
        ))),
        Err(error) => Err(CommitError::Aborted {
            step: Step::Precondition,
            error,
        }),
    }
}

/// Writes every new file's content and the intent under `dir`, all synced.
fn stage(port: &dyn WorkspacePort, plan: &Plan, dir: &WsPath) -> Result<Intent, PortError> {
    port.create_dir_all(dir)?;
    let mut ops = Vec::new();
    let mut written = Vec::new();
    for change in &plan.changes {
        match change {
            FileChange::Write {
                path,
                bytes,
                expected,
            } => {
                let staged = ops.len().to_string();
                let staged_path = internal(dir, &staged);
                port.write_file(&staged_path, bytes)?;
                written.push(staged_path);
                ops.push(TxOp::Write {
                    path: path.clone(),
                    staged,
                    pre: match expected {
                        Expected::Absent => None,
                        Expected::Content(hash) => Some(*hash),
                    },
                    post: bytes.hash(),
                });
            }
            FileChange::Delete { path, expected } => ops.push(TxOp::Delete {
                path: path.clone(),
                pre: *expected,
            }),
            FileChange::RenameDir { from, to } => ops.push(TxOp::RenameDir {
                from: from.clone(),
                to: to.clone(),
            }),
            FileChange::Verify { .. } | FileChange::VerifyAbsent { .. } => {}
        }
    }
    let intent = Intent { ops };
    let staged = internal(dir, INTENT_STAGED);
    port.write_file(&staged, &intent.to_bytes())?;
    written.push(staged);
    // The transaction directory itself (and `tx/` when it is new) must be durable
    // before the commit point can be: every directory from it up, deepest first.
    sync_paths(port, &written, &ancestors(dir))?;
    Ok(intent)
}

/// Applies a committed intent in order and syncs every directory whose entries
/// changed. Steps already done (by an interrupted run) are skipped by the caller.
pub(crate) fn apply(
    port: &dyn WorkspacePort,
    dir: &WsPath,
    intent: &Intent,
) -> Result<(), (Step, PortError)> {
    let mut touched: BTreeSet<WsPath> = BTreeSet::new();
    for op in &intent.ops {
        apply_op(port, dir, op, &mut touched).map_err(|e| (Step::Apply, e))?;
    }
    sync_touched(port, &after_renames(&touched, intent)).map_err(|e| (Step::Sync, e))
}

/// Where each directory is once the intent's renames are applied: a declaration
/// rewritten in a folder that then moved is made durable in the folder's new place.
pub(crate) fn after_renames(dirs: &BTreeSet<WsPath>, intent: &Intent) -> BTreeSet<WsPath> {
    dirs.iter()
        .map(|dir| {
            let mut current = dir.clone();
            for op in &intent.ops {
                if let TxOp::RenameDir { from, to } = op {
                    if current == *from {
                        current = to.clone();
                    } else if let Some(rest) = current.strip_prefix(from) {
                        current = to.join(&rest);
                    }
                }
            }
            current
        })
        .collect()
}

/// Applies one operation, recording the directories whose entries it changes.
pub(crate) fn apply_op(
    port: &dyn WorkspacePort,
    dir: &WsPath,
    op: &TxOp,
    touched: &mut BTreeSet<WsPath>,
) -> Result<(), PortError> {
    match op {
        TxOp::Write { path, staged, .. } => {
            let parent = path.parent().unwrap_or_else(WsPath::root);
            port.create_dir_all(&parent)?;
            port.rename(&internal(dir, staged), path)?;
            // The transaction directory is deliberately not synced here: until every
            // target directory is durable, a crash must find the staged copy still in
            // the transaction, ready to be renamed again.
            touched.extend(ancestors(&parent));
        }
        TxOp::Delete { path, .. } => {
            port.remove_file(path)?;
            touched.insert(path.parent().unwrap_or_else(WsPath::root));
        }
        TxOp::RenameDir { from, to } => {
            let parent = to.parent().unwrap_or_else(WsPath::root);
            port.create_dir_all(&parent)?;
            port.rename(from, to)?;
            touched.extend(ancestors(&parent));
            touched.insert(from.parent().unwrap_or_else(WsPath::root));
        }
    }
    Ok(())
}

/// Syncs directories deepest first, so a new directory is durable before its entry in
/// its parent is.
pub(crate) fn sync_touched(
    port: &dyn WorkspacePort,
    touched: &BTreeSet<WsPath>,
) -> Result<(), PortError> {
    let mut dirs: Vec<WsPath> = touched.iter().cloned().collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.segments().count()));
    sync_paths(port, &[], &dirs)
}

/// From this many files and directories to make durable in one step, the step syncs
/// everything at once ([`WorkspacePort::sync_all`]) where the port can: one flush costs
/// about what a few single syncs do, while a large batch would need hundreds of them.
pub(crate) const SYNC_ALL_FROM: usize = 16;

/// Makes the content of `files`, then the entries of `dirs` (in the order given),
/// durable: one by one when they are few or the port cannot sync everything at once.
fn sync_paths(
    port: &dyn WorkspacePort,
    files: &[WsPath],
    dirs: &[WsPath],
) -> Result<(), PortError> {
    if files.len() + dirs.len() >= SYNC_ALL_FROM && port.sync_all()? == SyncAll::Done {
        return Ok(());
    }
    for file in files {
        port.sync_file(file)?;
    }
    for dir in dirs {
        port.sync_dir(dir)?;
    }
    Ok(())
}

/// Removes a finished transaction, and `tx/` with the last one, and makes the removal
/// durable. The caller holds the lock: no other commit is staging in `tx/`.
pub(crate) fn cleanup(port: &dyn WorkspacePort, dir: &WsPath) -> Result<(), PortError> {
    port.remove_dir_all(dir)?;
    let tx = dir.parent().unwrap_or_else(WsPath::root);
    // `tx/` lives only while a transaction does. Failing to remove it once empty is
    // no failure of the commit: an empty `tx/` holds nothing recovery would act on.
    let changed = match port.remove_empty_dir(&tx) {
        Ok(true) => tx.parent().unwrap_or_else(WsPath::root),
        Ok(false) | Err(_) => tx,
    };
    port.sync_dir(&changed)
}

/// `path` and every directory above it, up to and including the root.
pub(crate) fn ancestors(path: &WsPath) -> Vec<WsPath> {
    let mut out = vec![path.clone()];
    let mut current = path.clone();
    while let Some(parent) = current.parent() {
        out.push(parent.clone());
        current = parent;
    }
    out
}

/// A file inside a transaction directory. Names are digits or fixed constants, so the
/// join cannot fail; a failure would name the root, which no operation accepts.
pub(crate) fn internal(dir: &WsPath, name: &str) -> WsPath {
    dir.child(name).unwrap_or_else(|_| WsPath::root())
}
