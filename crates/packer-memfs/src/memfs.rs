//! [`MemFs`]: the shared handle tests hold, with the person-side helpers, fault
//! injection, the crash, the project lock and the `WorkspacePort` implementation.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use packer_domain::listing::{ListedDir, Listing};
use packer_domain::path::WsPath;
use packer_domain::ports::{
    DirEntry, EntryKind, FileRead, Fingerprint, LockGuard, PortError, PortErrorKind, PortOp, Reuse,
    ScanDelivery, ScanEntry, ScanOptions, ScanReads, ScanSink, SeenDirs, SyncAll, WorkspacePort,
    lock_path,
};

use crate::faults::{Fault, OpLog};
use crate::fixture::{self, FixtureError};
use crate::tree::{Node, Tree};
use crate::{person, port};

/// An in-memory `assets/` tree. Clones share it, as processes share a disk.
///
/// The test-side helpers (`write`, `read`, `remove`, `rename`, `mkdir`, `symlink`,
/// `set_mtime`) act as a person editing files: they are not port operations, are never
/// faulted, are durable at once, and panic (naming the call) on a request that makes no
/// sense, such as writing over a directory. Note that `read` and `rename` shadow the
/// port methods of the same name on a `MemFs` value; call the port through
/// `&dyn WorkspacePort` (or a generic) to reach those.
#[derive(Clone)]
pub struct MemFs {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    lock: Arc<ProjectLock>,
}

struct State {
    tree: Tree,
    log: OpLog,
    /// Whether `sync_all` is offered, as a disk that can sync everything at once does.
    sync_all: bool,
}

impl MemFs {
    /// An empty workspace: only the `assets/` directory itself.
    pub fn new() -> MemFs {
        MemFs::with_tree(Tree::new())
    }

    /// The workspace a fixture describes (format in the crate documentation); all of it
    /// durable.
    pub fn from_fixture(text: &str) -> Result<MemFs, FixtureError> {
        fixture::load(text).map(MemFs::with_tree)
    }

    fn with_tree(tree: Tree) -> MemFs {
        MemFs {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    tree,
                    log: OpLog::default(),
                    sync_all: true,
                }),
                lock: Arc::new(ProjectLock::default()),
            }),
        }
    }

    /// Whether the port offers [`WorkspacePort::sync_all`] (it does unless told
    /// otherwise); without it every call answers `Unavailable`, as on a system that
    /// cannot sync a whole disk with its errors reported, and callers must sync one by
    /// one.
    pub fn offer_sync_all(&self, offered: bool) {
        self.state().sync_all = offered;
    }

    /// Creates or overwrites the file `path` with `bytes`, creating its parents.
    #[track_caller]
    pub fn write(&self, path: &str, bytes: impl AsRef<[u8]>) {
        let bytes = bytes.as_ref();
        self.edit("write", path, |tree, path| person::write(tree, path, bytes));
    }

    /// The content of the file `path` (links inside the workspace followed), `None`
    /// when no file is there.
    #[track_caller]
    pub fn read(&self, path: &str) -> Option<Vec<u8>> {
        let path = parse_path("read", path);
        person::read(&self.state().tree, &path)
    }

    /// Removes the file, link or whole directory `path`.
    #[track_caller]
    pub fn remove(&self, path: &str) {
        self.edit("remove", path, person::remove);
    }

    /// Moves `from` to `to`, creating `to`'s parents; a file may replace a file.
    #[track_caller]
    pub fn rename(&self, from: &str, to: &str) {
        let to_path = parse_path("rename", to);
        self.edit("rename", from, |tree, from| {
            person::rename(tree, from, &to_path)
        });
    }

    /// Creates the directory `path` and its parents; an existing directory is fine.
    #[track_caller]
    pub fn mkdir(&self, path: &str) {
        self.edit("mkdir", path, person::mkdir);
    }

    /// Creates the symbolic link `link` whose raw target is `target` (`"../x/y.png"`,
    /// `"/etc/passwd"`), resolved from the link's directory as a real link is.
    #[track_caller]
    pub fn symlink(&self, link: &str, target: &str) {
        self.edit("symlink", link, |tree, link| {
            person::symlink(tree, link, target)
        });
    }

    /// Creates the FIFO `path` (`mkfifo`), standing for any special file.
    #[track_caller]
    pub fn mkfifo(&self, path: &str) {
        self.edit("mkfifo", path, person::mkfifo);
    }

    /// Sets the modification time of the file `path`; its status-change time moves on
    /// anyway, as the kernel makes it.
    #[track_caller]
    pub fn set_mtime(&self, path: &str, mtime_ns: i64) {
        self.edit("set_mtime", path, |tree, path| {
            person::set_mtime(tree, path, mtime_ns)
        });
    }

    /// Makes the directory `path` read-only (or writable again), as `chmod a-w` does:
    /// the port may not add, remove or rename its entries (`PermissionDenied`), and
    /// `check_writable` says so. Files in it can still be rewritten in place.
    #[track_caller]
    pub fn set_read_only(&self, path: &str, read_only: bool) {
        self.edit("set_read_only", path, |tree, path| {
            person::set_read_only(tree, path, read_only)
        });
    }

    /// Every regular file's current bytes by path, `.prometeu` included.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        let mut files = BTreeMap::new();
        self.state().tree.visit(|path, _, node| {
            if let Node::File(file) = node {
                files.insert(path.to_owned(), file.current.bytes.clone());
            }
            true
        });
        files
    }

    /// The whole tree, `.prometeu` included, as fixture text sorted by path: the same
    /// tree always gives the same string, and loading it gives the same tree back.
    pub fn dump(&self) -> String {
        fixture::render(&self.state().tree)
    }

    /// Arms `fault`, counting from the next port operation.
    pub fn inject(&self, fault: Fault) {
        self.state().log.arm(fault);
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        self.state().log.disarm();
    }

    /// The port operations made since the last [`clear_ops`](Self::clear_ops), with the
    /// path each concerned (`from -> to` for a rename, empty for a scan), failed ones
    /// included.
    pub fn ops(&self) -> Vec<(PortOp, String)> {
        self.state().log.entries()
    }

    /// The number of entries in [`ops`](Self::ops).
    pub fn op_count(&self) -> u64 {
        self.state().log.len()
    }

    pub fn clear_ops(&self) {
        self.state().log.clear();
    }

    /// Power cut and reboot: every file and directory goes back to its durable state
    /// (what `sync_file` and `sync_dir` made durable, and everything the helpers and the
    /// fixture made). Like a reboot, it also releases the project lock and disarms the
    /// faults; the operation log is kept.
    pub fn crash(&self) {
        {
            let mut state = self.state();
            state.tree.crash();
            state.log.disarm();
        }
        self.shared.lock.release_all();
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every mutation checks before it changes anything; a panic under the lock is a
        // helper's misuse panic, raised before the tree is touched.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs a person's edit on `path`, panicking with the helper's name on a misuse.
    #[track_caller]
    fn edit(
        &self,
        helper: &str,
        path: &str,
        edit: impl FnOnce(&mut Tree, &WsPath) -> Result<(), String>,
    ) {
        let ws_path = parse_path(helper, path);
        let result = edit(&mut self.state().tree, &ws_path);
        if let Err(message) = result {
            panic!("MemFs::{helper}({path:?}): {message}");
        }
    }

    /// Counts one port operation, fails it if a fault says so, and otherwise runs it.
    fn operate<T>(
        &self,
        op: PortOp,
        path: &WsPath,
        logged: String,
        run: impl FnOnce(&mut Tree) -> Result<T, PortError>,
    ) -> Result<T, PortError> {
        let mut state = self.state();
        if let Some(kind) = state.log.record(op, logged) {
            return Err(PortError::new(kind, op, path).with_detail("injected fault"));
        }
        run(&mut state.tree)
    }
}

#[track_caller]
fn parse_path(helper: &str, path: &str) -> WsPath {
    match WsPath::new(path) {
        Ok(path) => path,
        Err(error) => panic!("MemFs::{helper}({path:?}): {error}"),
    }
}

impl Default for MemFs {
    fn default() -> MemFs {
        MemFs::new()
    }
}

impl fmt::Debug for MemFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("MemFs")
            .field("inodes", &state.tree.inode_count())
            .field("ops", &state.log.len())
            .field("faults", &state.log.armed_count())
            .finish_non_exhaustive()
    }
}

impl WorkspacePort for MemFs {
    fn scan(&self, options: ScanOptions) -> Result<Vec<ScanEntry>, PortError> {
        let root = WsPath::root();
        self.operate(PortOp::Scan, &root, String::new(), |tree| {
            port::scan(tree, options)
        })
    }

    /// Always lists every directory: the contract lets an adapter reuse what an earlier
    /// scan saw, never requires it. One `Scan` operation.
    fn scan_reusing(
        &self,
        _reuse: Option<Reuse<'_>>,
    ) -> Result<(Vec<ScanEntry>, SeenDirs), PortError> {
        let root = WsPath::root();
        let options = ScanOptions { fingerprints: true };
        self.operate(PortOp::Scan, &root, String::new(), |tree| {
            let mut entries = port::scan(tree, options)?;
            entries.sort_by(|a, b| a.path.cmp(&b.path));
            Ok((entries, port::seen_dirs(tree)))
        })
    }

    /// Strict about what callers may not count on: the scan comes first, the files found
    /// by name are delivered in reverse path order, and the requests last. One `Scan`
    /// operation, then one `Read` per file, in that order.
    fn scan_and_read(
        &self,
        options: ScanOptions,
        reads: &ScanReads<'_>,
        sink: &ScanSink<'_>,
    ) -> Result<Listing, PortError> {
        let root = WsPath::root();
        let scanned = self.operate(PortOp::Scan, &root, String::new(), |tree| {
            port::listing(tree, options)
        });
        if let Ok(listing) = &scanned {
            let found: Vec<ListedDir<'_>> = listing
                .dirs()
                .filter(|dir| dir.get(reads.file_name).is_some_and(EntryKind::is_readable))
                .collect();
            for dir in found.into_iter().rev() {
                let read = match dir.ws_path().child(reads.file_name) {
                    Ok(path) => WorkspacePort::read(self, &path, reads.limit),
                    Err(e) => Err(PortError::new(PortErrorKind::Io, PortOp::Read, &root)
                        .with_detail(format!("`{}` is not a file name: {e}", reads.file_name))),
                };
                let result = read.as_ref().map(FileRead::view).map_err(Clone::clone);
                sink(ScanDelivery::Found { dir, result });
            }
        }
        for (index, request) in reads.requests.iter().enumerate() {
            let read = WorkspacePort::read(self, &request.path, request.limit);
            let result = read.as_ref().map(FileRead::view).map_err(Clone::clone);
            sink(ScanDelivery::Request { index, result });
        }
        scanned
    }

    fn read(&self, path: &WsPath, limit: u64) -> Result<FileRead, PortError> {
        self.operate(PortOp::Read, path, path.to_string(), |tree| {
            port::read(tree, path, limit)
        })
    }

    fn list_dir(&self, path: &WsPath) -> Result<Vec<DirEntry>, PortError> {
        self.operate(PortOp::Scan, path, path.to_string(), |tree| {
            port::list_dir(tree, path)
        })
    }

    fn stat(&self, path: &WsPath) -> Result<Option<Fingerprint>, PortError> {
        self.operate(PortOp::Stat, path, path.to_string(), |tree| {
            port::stat(tree, path)
        })
    }

    fn create_dir_all(&self, path: &WsPath) -> Result<(), PortError> {
        self.operate(PortOp::CreateDir, path, path.to_string(), |tree| {
            port::create_dir_all(tree, path)
        })
    }

    fn write_file(&self, path: &WsPath, bytes: &[u8]) -> Result<(), PortError> {
        self.operate(PortOp::Write, path, path.to_string(), |tree| {
            port::write_file(tree, path, bytes)
        })
    }

    fn sync_file(&self, path: &WsPath) -> Result<(), PortError> {
        self.operate(PortOp::SyncFile, path, path.to_string(), |tree| {
            port::sync_file(tree, path)
        })
    }

    fn sync_dir(&self, path: &WsPath) -> Result<(), PortError> {
        self.operate(PortOp::SyncDir, path, path.to_string(), |tree| {
            port::sync_dir(tree, path)
        })
    }

    fn sync_all(&self) -> Result<SyncAll, PortError> {
        if !self.state().sync_all {
            return Ok(SyncAll::Unavailable);
        }
        self.operate(PortOp::SyncAll, &WsPath::root(), String::new(), |tree| {
            tree.sync_all();
            Ok(SyncAll::Done)
        })
    }

    fn rename(&self, from: &WsPath, to: &WsPath) -> Result<(), PortError> {
        self.operate(PortOp::Rename, from, format!("{from} -> {to}"), |tree| {
            port::rename(tree, from, to)
        })
    }

    fn remove_file(&self, path: &WsPath) -> Result<(), PortError> {
        self.operate(PortOp::RemoveFile, path, path.to_string(), |tree| {
            port::remove_file(tree, path)
        })
    }

    fn check_writable(&self, path: &WsPath) -> Result<(), PortError> {
        self.operate(PortOp::CheckWritable, path, path.to_string(), |tree| {
            port::check_writable(tree, path)
        })
    }

    fn remove_dir_all(&self, path: &WsPath) -> Result<(), PortError> {
        self.operate(PortOp::RemoveDir, path, path.to_string(), |tree| {
            port::remove_dir_all(tree, path)
        })
    }

    fn remove_empty_dir(&self, path: &WsPath) -> Result<bool, PortError> {
        self.operate(PortOp::RemoveDir, path, path.to_string(), |tree| {
            port::remove_empty_dir(tree, path)
        })
    }

    /// Waits for the lock with the workspace unlocked, so other operations (and other
    /// clones) go on meanwhile. Not reentrant: a second `lock` while holding the guard
    /// waits forever, as a second `flock` on another descriptor would.
    fn lock(&self) -> Result<Box<dyn LockGuard>, PortError> {
        // Invariant: without a deadline the wait ends only once the lock is held.
        Ok(self
            .lock_within(None)?
            .expect("a wait without a deadline ends holding the lock"))
    }

    /// The lock of a [`MemFs`] lives in no file: it is always there to wait for.
    fn lock_if_in_use(
        &self,
        wait: Option<Duration>,
    ) -> Result<Option<Box<dyn LockGuard>>, PortError> {
        self.lock_within(wait)
    }
}

impl MemFs {
    /// The project lock, waited for without end (`None`) or for at most `wait`; `None`
    /// when the wait ran out.
    fn lock_within(&self, wait: Option<Duration>) -> Result<Option<Box<dyn LockGuard>>, PortError> {
        let path = lock_path();
        self.operate(PortOp::Lock, &path, path.to_string(), |tree| {
            port::check_lock_dir(tree, &path)
        })?;
        let deadline = wait.map(|wait| Instant::now() + wait);
        Ok(ProjectLock::acquire(&self.shared.lock, deadline)
            .map(|guard| Box::new(guard) as Box<dyn LockGuard>))
    }
}

/// The advisory project lock: one holder at a time, shared by every clone.
#[derive(Debug, Default)]
struct ProjectLock {
    state: Mutex<Holder>,
    released: Condvar,
}

#[derive(Debug, Default)]
struct Holder {
    /// The token of the guard holding the lock.
    current: Option<u64>,
    next_token: u64,
}

impl ProjectLock {
    /// Waits until the lock is free and takes it; `None` once `deadline` (if any) has
    /// passed.
    fn acquire(lock: &Arc<ProjectLock>, deadline: Option<Instant>) -> Option<ProjectLockGuard> {
        let mut holder = lock.holder();
        while holder.current.is_some() {
            holder = match deadline {
                None => lock
                    .released
                    .wait(holder)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.checked_duration_since(Instant::now())?;
                    lock.released
                        .wait_timeout(holder, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
        Some(ProjectLock::take(lock, &mut holder))
    }

    /// Makes the caller, who found the lock free, its holder.
    fn take(lock: &Arc<ProjectLock>, holder: &mut Holder) -> ProjectLockGuard {
        let token = holder.next_token;
        holder.next_token += 1;
        holder.current = Some(token);
        ProjectLockGuard {
            lock: Arc::clone(lock),
            token,
        }
    }

    fn release(&self, token: u64) {
        let mut holder = self.holder();
        // A guard from before a crash must not release its successor's lock.
        if holder.current == Some(token) {
            holder.current = None;
            self.released.notify_all();
        }
    }

    fn release_all(&self) {
        self.holder().current = None;
        self.released.notify_all();
    }

    fn holder(&self) -> MutexGuard<'_, Holder> {
        // Setting an `Option` cannot leave it half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Holds the project lock of a [`MemFs`] until dropped.
#[derive(Debug)]
struct ProjectLockGuard {
    lock: Arc<ProjectLock>,
    token: u64,
}

impl LockGuard for ProjectLockGuard {}

impl Drop for ProjectLockGuard {
    fn drop(&mut self) {
        self.lock.release(self.token);
    }
}
