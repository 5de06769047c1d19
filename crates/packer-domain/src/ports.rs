//! The ports through which the domain meets the world: the workspace on disk, the build
//! output, the event sink and the clock.
//!
//! They are shaped by what the packer needs, not by any file system API: every path is a
//! [`WsPath`] (relative, validated, inside `assets/`), every failure a [`PortError`]
//! with a kind the domain can act on. Adapters: `packer-fs` (the real disk) and
//! `packer-memfs` (in memory, strict, with fault injection). One contract test suite
//! runs against both.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::event::Event;
use crate::listing::{ListedDir, Listing};
use crate::path::WsPath;

/// The project lock's file name inside `.prometeu`.
pub const LOCK_FILE: &str = "lock";

/// The path of the project lock's file, `.prometeu/lock` ([`WorkspacePort::lock`]). A
/// watcher hears it when a writer lets the lock go: its commit done, or its process
/// ended, perhaps with a transaction left in `tx/`.
pub fn lock_path() -> WsPath {
    // A constant, valid segment: cannot fail.
    WsPath::internal(LOCK_FILE).unwrap_or_else(|_| WsPath::root())
}

/// What the stat data of a file says about it. Two equal fingerprints are taken to mean
/// unchanged content, except where the snapshot also holds a content hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Fingerprint {
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Status-change time, nanoseconds since the Unix epoch. It moves on every write and
    /// rename even when a tool restores the mtime.
    pub ctime_ns: i64,
    pub inode: u64,
}

/// The kind of an entry found by [`WorkspacePort::scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink(LinkTarget),
    /// A FIFO, socket or device: never read (it holds no content, and opening one could
    /// block), reported so that an input that is one is told as such, not as missing.
    Special,
}

impl EntryKind {
    /// Whether an entry of this kind may hold file content, read through its path: a
    /// regular file, or a link of any kind (it is resolved when read).
    pub fn is_readable(&self) -> bool {
        matches!(self, EntryKind::File | EntryKind::Symlink(_))
    }

    /// What [`WorkspacePort::list_dir`] calls an entry of this kind.
    pub fn listed(&self) -> DirEntryKind {
        match self {
            EntryKind::File => DirEntryKind::File,
            EntryKind::Dir => DirEntryKind::Dir,
            EntryKind::Symlink(_) => DirEntryKind::Symlink,
            EntryKind::Special => DirEntryKind::Other,
        }
    }
}

/// Where a symbolic link leads. Links are reported, never followed by a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// The link resolves to an existing file or directory inside the workspace.
    Inside { path: WsPath, is_dir: bool },
    /// The link resolves to something outside the workspace (or into `.prometeu`).
    Outside,
    /// The link leads nowhere, or around in a loop.
    Dangling,
}

/// One entry of a workspace scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanEntry {
    pub path: WsPath,
    pub kind: EntryKind,
    /// Present for files when [`ScanOptions::fingerprints`] was asked for.
    pub fingerprint: Option<Fingerprint>,
}

/// What a scan should gather besides names and kinds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanOptions {
    /// Stat every regular file (costs one syscall per file on a real disk).
    pub fingerprints: bool,
}

/// What [`WorkspacePort::scan_and_read`] reads besides listing.
#[derive(Debug, Clone, Copy)]
pub struct ScanReads<'a> {
    /// Files read as [`WorkspacePort::read`] reads them, started before the walk so that
    /// they overlap it.
    pub requests: &'a [ReadRequest],
    /// Every entry of this name that the walk lists and that is readable
    /// ([`EntryKind::is_readable`]: a regular file, or a symbolic link of any kind) is
    /// read as `read` would read its path.
    pub file_name: &'a str,
    /// The most bytes each file found by name may have.
    pub limit: u64,
}

/// One file read by [`WorkspacePort::scan_and_read`], lent to the sink for the length of
/// the call: a walk reads every file into the same buffer.
#[derive(Debug)]
pub enum ScanDelivery<'a> {
    /// `requests[index]`.
    Request {
        index: usize,
        result: Result<FileView<'a>, PortError>,
    },
    /// The entry [`ScanReads::file_name`] of `dir`, with the whole listing of `dir`.
    Found {
        dir: ListedDir<'a>,
        result: Result<FileView<'a>, PortError>,
    },
}

/// Receives what [`WorkspacePort::scan_and_read`] reads.
pub type ScanSink<'a> = dyn Fn(ScanDelivery<'_>) + Sync + 'a;

/// A file's bytes together with the fingerprint of the very handle they were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRead {
    pub bytes: Vec<u8>,
    pub fingerprint: Fingerprint,
}

/// A [`FileRead`] whose bytes are lent, not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileView<'a> {
    pub bytes: &'a [u8],
    pub fingerprint: Fingerprint,
}

impl FileRead {
    /// The bytes, lent.
    pub fn view(&self) -> FileView<'_> {
        FileView {
            bytes: &self.bytes,
            fingerprint: self.fingerprint,
        }
    }
}

impl FileView<'_> {
    /// A copy that owns its bytes.
    pub fn to_file_read(&self) -> FileRead {
        FileRead {
            bytes: self.bytes.to_vec(),
            fingerprint: self.fingerprint,
        }
    }
}

/// What an entry of [`WorkspacePort::list_dir`] is; links are not followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirEntryKind {
    File,
    Dir,
    Symlink,
    /// A device, FIFO or socket.
    Other,
}

/// One entry of a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub kind: DirEntryKind,
}

/// One directory as a scan saw it: its own stat data, and its entries (those a scan
/// reports: names the workspace can hold; the top-level `.prometeu` left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenDir {
    pub stamp: Fingerprint,
    pub entries: Vec<(String, DirEntryKind)>,
}

/// Every directory a [`WorkspacePort::scan_reusing`] saw, by path (`""` for the
/// workspace itself). Shared: a directory seen unchanged is handed on, not copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenDirs {
    dirs: rustc_hash::FxHashMap<WsPath, Arc<SeenDir>>,
}

impl SeenDirs {
    pub fn get(&self, path: &str) -> Option<&Arc<SeenDir>> {
        self.dirs.get(path)
    }

    pub fn insert(&mut self, path: WsPath, dir: Arc<SeenDir>) {
        self.dirs.insert(path, dir);
    }

    pub fn len(&self) -> usize {
        self.dirs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty()
    }
}

impl FromIterator<(WsPath, Arc<SeenDir>)> for SeenDirs {
    fn from_iter<I: IntoIterator<Item = (WsPath, Arc<SeenDir>)>>(iter: I) -> SeenDirs {
        SeenDirs {
            dirs: iter.into_iter().collect(),
        }
    }
}

/// What an earlier scan lends to [`WorkspacePort::scan_reusing`].
#[derive(Debug, Clone, Copy)]
pub struct Reuse<'a> {
    pub seen: &'a SeenDirs,
    /// A directory whose modification or status-change time is at or after this (the
    /// wall clock, in ns) is listed again even with its stat data unchanged: it was
    /// seen so soon after a change that another one in the same clock tick would not
    /// have moved its times.
    pub trusted_before_ns: i64,
}

/// The classes of failure the domain distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PortErrorKind {
    NotFound,
    AlreadyExists,
    PermissionDenied,
    DiskFull,
    NotADirectory,
    IsADirectory,
    DirectoryNotEmpty,
    /// The path, followed through symbolic links, leaves the workspace.
    OutsideWorkspace,
    /// The file exceeds the size the packer is willing to read.
    TooLarge,
    /// Any other input/output failure.
    Io,
}

impl fmt::Display for PortErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortErrorKind::NotFound => "not found",
            PortErrorKind::AlreadyExists => "already exists",
            PortErrorKind::PermissionDenied => "permission denied",
            PortErrorKind::DiskFull => "no space left on device",
            PortErrorKind::NotADirectory => "not a directory",
            PortErrorKind::IsADirectory => "is a directory",
            PortErrorKind::DirectoryNotEmpty => "directory not empty",
            PortErrorKind::OutsideWorkspace => "leads outside the workspace",
            PortErrorKind::TooLarge => "file too large",
            PortErrorKind::Io => "input/output error",
        })
    }
}

/// The operation a [`PortError`] happened in, for messages and fault injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PortOp {
    Scan,
    Read,
    Stat,
    CreateDir,
    Write,
    SyncFile,
    SyncDir,
    SyncAll,
    Rename,
    RemoveFile,
    RemoveDir,
    Lock,
    Watch,
    CheckWritable,
}

impl fmt::Display for PortOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortOp::Scan => "scan",
            PortOp::Read => "read",
            PortOp::Stat => "stat",
            PortOp::CreateDir => "create directory",
            PortOp::Write => "write",
            PortOp::SyncFile => "sync file",
            PortOp::SyncDir => "sync directory",
            PortOp::SyncAll => "sync everything written to",
            PortOp::Rename => "rename",
            PortOp::RemoveFile => "remove file",
            PortOp::RemoveDir => "remove directory",
            PortOp::Lock => "lock",
            PortOp::Watch => "watch",
            PortOp::CheckWritable => "change the entries of",
        })
    }
}

/// What [`WorkspacePort::sync_all`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncAll {
    /// Every change made through the port before the call is durable.
    Done,
    /// The adapter cannot promise that here; nothing was done.
    Unavailable,
}

/// A failed port operation, naming the operation and the path it concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {op} {}: {kind}{}", path.display_in_project(), detail_suffix(detail))]
pub struct PortError {
    pub kind: PortErrorKind,
    pub op: PortOp,
    pub path: WsPath,
    /// The adapter's own words (the OS error text, say); may be empty.
    pub detail: String,
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    }
}

impl PortError {
    pub fn new(kind: PortErrorKind, op: PortOp, path: &WsPath) -> PortError {
        PortError {
            kind,
            op,
            path: path.clone(),
            detail: String::new(),
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> PortError {
        self.detail = detail.into();
        self
    }
}

/// One file for [`WorkspacePort::read_many`] and the most bytes it may have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    pub path: WsPath,
    pub limit: u64,
}

impl ReadRequest {
    /// The same limit for every path.
    pub fn all(paths: &[WsPath], limit: u64) -> Vec<ReadRequest> {
        paths
            .iter()
            .map(|path| ReadRequest {
                path: path.clone(),
                limit,
            })
            .collect()
    }
}

/// Receives every file read by [`WorkspacePort::read_many`], by index into the request.
pub type ReadSink<'a> = dyn Fn(usize, Result<FileRead, PortError>) + Sync + 'a;

/// The project's `assets/` tree, however it is stored.
///
/// Every path is relative to `assets/`. An implementation must:
/// * never touch anything outside `assets/`, following symbolic links included: a read
///   or write whose target resolves outside fails with [`PortErrorKind::OutsideWorkspace`];
/// * report failures as [`PortError`]s naming the operation and path, never panic;
/// * make a write durable only through [`sync_file`](Self::sync_file) and
///   [`sync_dir`](Self::sync_dir): until then a crash may lose it.
pub trait WorkspacePort: Send + Sync + fmt::Debug {
    /// Every file, directory, symbolic link and special file (FIFO, socket, device)
    /// below `assets/`, recursively, except `.prometeu` and what lies below it. Symbolic links are reported with their target
    /// and never descended into. The order is unspecified. An entry that vanishes while
    /// the scan runs is left out; a directory that cannot be listed fails the scan.
    fn scan(&self, options: ScanOptions) -> Result<Vec<ScanEntry>, PortError>;

    /// [`scan`](Self::scan) with fingerprints, which also gives what it saw of every
    /// directory, and which need not list a directory again when `reuse` saw it and it
    /// cannot have changed since: its stat data (inode, size, times) is the same and its
    /// times are older than [`Reuse::trusted_before_ns`] (creating, removing or renaming
    /// an entry moves a directory's times). Its entries are then taken from `reuse`;
    /// every file among them is still looked at for its fingerprint, and every link
    /// resolved again. The entries are the same as `scan` would give, sorted by path.
    fn scan_reusing(
        &self,
        reuse: Option<Reuse<'_>>,
    ) -> Result<(Vec<ScanEntry>, SeenDirs), PortError>;

    /// [`scan`](Self::scan) and reads in one pass, for loading a whole workspace: the
    /// listing of the same entries, grouped by directory (the root is listed too, with
    /// path `""`), while files are read and handed to `sink`:
    /// * every one of `reads.requests` exactly once, whether or not the walk succeeds,
    ///   starting with them so that they overlap the walk;
    /// * every readable entry ([`EntryKind::is_readable`]) named `reads.file_name`, read as
    ///   [`read`](Self::read) reads its path with `reads.limit`, at most once each, with
    ///   the complete listing of its directory. Every one listed is delivered when the
    ///   walk succeeds; when it fails, some may not be.
    ///
    /// Implementations may walk and read in parallel and call `sink` from several threads
    /// at once, in any order; all deliveries happen before this returns. The walk fails
    /// as `scan` fails.
    fn scan_and_read(
        &self,
        options: ScanOptions,
        reads: &ScanReads<'_>,
        sink: &ScanSink<'_>,
    ) -> Result<Listing, PortError>;

    /// The whole content of a regular file and the fingerprint of the handle it was read
    /// from. Fails with `NotFound`, `IsADirectory`, `OutsideWorkspace` or `TooLarge`
    /// (more than `limit` bytes) as the case may be.
    fn read(&self, path: &WsPath, limit: u64) -> Result<FileRead, PortError>;

    /// Reads every request as [`read`](Self::read) does and hands each result to `sink`
    /// with its index. Implementations may read in parallel and call `sink` from several
    /// threads at once, and should start with the first requests; each index is
    /// delivered exactly once before this returns.
    fn read_many(&self, requests: &[ReadRequest], sink: &ReadSink<'_>) {
        for (i, request) in requests.iter().enumerate() {
            sink(i, self.read(&request.path, request.limit));
        }
    }

    /// The entries directly in the directory `path` (which may be inside `.prometeu`),
    /// sorted by name. Names that are not valid UTF-8 are left out. `NotFound` when
    /// there is no such directory, `NotADirectory` for a file.
    fn list_dir(&self, path: &WsPath) -> Result<Vec<DirEntry>, PortError>;

    /// The fingerprint of a regular file, `None` when nothing is there. Symbolic links
    /// inside the workspace are followed; a directory is `IsADirectory`.
    fn stat(&self, path: &WsPath) -> Result<Option<Fingerprint>, PortError>;

    /// Creates `path` and any missing parents as directories. Existing directories are
    /// fine; an existing file on the way is `AlreadyExists`.
    fn create_dir_all(&self, path: &WsPath) -> Result<(), PortError>;

    /// Creates or truncates the regular file `path` and writes `bytes` to it. The parent
    /// must exist. Not durable until [`sync_file`](Self::sync_file) and a
    /// [`sync_dir`](Self::sync_dir) of the parent.
    fn write_file(&self, path: &WsPath, bytes: &[u8]) -> Result<(), PortError>;

    /// Makes the content of the file `path` durable (fsync).
    fn sync_file(&self, path: &WsPath) -> Result<(), PortError>;

    /// Makes the entries of the directory `path` durable: creations, renames and removals
    /// of its children (fsync on the directory).
    fn sync_dir(&self, path: &WsPath) -> Result<(), PortError>;

    /// Makes every change made through this port so far durable at once: the content
    /// of every file written and the entries of every directory changed, as if each had
    /// been given to [`sync_file`](Self::sync_file) or [`sync_dir`](Self::sync_dir). For
    /// steps that would otherwise sync many files and directories one by one; it may also
    /// flush unrelated data on the same disk, so it is no bargain for a few.
    /// [`SyncAll::Unavailable`] when the adapter cannot promise that here (nothing was
    /// done: sync one by one); an error means some change may not be durable.
    fn sync_all(&self) -> Result<SyncAll, PortError>;

    /// Atomically renames `from` to `to`. A file replaces an existing file at `to`, and
    /// takes over its permissions where the adapter has any; a directory may only move to
    /// a path where nothing is. `to`'s parent must exist.
    fn rename(&self, from: &WsPath, to: &WsPath) -> Result<(), PortError>;

    /// Whether entries may be created in, removed from and renamed within the existing
    /// directory `path` (links on the way followed): `PermissionDenied` when the system
    /// says they may not (no write or search permission, a read-only file system),
    /// `NotFound` when there is no such directory, `NotADirectory` for a file, `Ok`
    /// otherwise, and when the system cannot tell. A check, not a promise: it lets a commit refuse before its commit
    /// point what would otherwise fail after it.
    fn check_writable(&self, path: &WsPath) -> Result<(), PortError>;

    /// Removes the regular file (or symbolic link) `path`.
    fn remove_file(&self, path: &WsPath) -> Result<(), PortError>;

    /// Removes the directory `path` and everything below it; `NotFound` if absent.
    fn remove_dir_all(&self, path: &WsPath) -> Result<(), PortError>;

    /// Removes the directory `path` if it holds nothing: `Ok(true)` when removed,
    /// `Ok(false)` when it holds an entry (it is left as it is, in one step, so an entry
    /// made meanwhile is never lost); `NotFound` if absent, `NotADirectory` for a file or
    /// a symbolic link (never followed).
    fn remove_empty_dir(&self, path: &WsPath) -> Result<bool, PortError>;

    /// Takes the project's advisory writer lock (`.prometeu/lock`), waiting while another
    /// holder has it. It is released when the guard is dropped, or by the system when the
    /// holding process dies.
    fn lock(&self) -> Result<Box<dyn LockGuard>, PortError>;

    /// [`lock`](Self::lock), for a reader that only waits out another process's commit.
    /// It changes nothing on disk: where the lock lives in a file that is not there (no
    /// process can hold it), `Ok(None)` at once. `Ok(None)` too when another holder
    /// still has it after `wait` (`None`: waits as long as it takes), so that a holder
    /// stopped half-way (a process paused in a debugger) does not stop the reader.
    fn lock_if_in_use(
        &self,
        wait: Option<std::time::Duration>,
    ) -> Result<Option<Box<dyn LockGuard>>, PortError>;
}

/// Holds the project lock until dropped.
pub trait LockGuard: Send + fmt::Debug {}

/// A failed operation on the build output, naming the operation and the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {op} {file}: {kind}{}", detail_suffix(detail))]
pub struct OutputError {
    pub kind: PortErrorKind,
    pub op: PortOp,
    /// The file as people know it: the output's [`location`](PackOutput::location) and
    /// the file's name.
    pub file: String,
    /// The adapter's own words (the OS error text, say); may be empty.
    pub detail: String,
}

impl OutputError {
    pub fn new(kind: PortErrorKind, op: PortOp, file: impl Into<String>) -> OutputError {
        OutputError {
            kind,
            op,
            file: file.into(),
            detail: String::new(),
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> OutputError {
        self.detail = detail.into();
        self
    }
}

/// Where `build` puts what it makes: one folder outside `assets/` (`build/` by default)
/// holding files by name. It is not part of the workspace, so it has a port of its own,
/// and it only ever holds files the build wrote whole.
///
/// Every `name` is a single file name ([`WsPath::check_segment`]); anything else fails
/// with `Io` before anything is touched. An implementation never writes through a
/// symbolic link: a link at `name` is replaced, not followed.
pub trait PackOutput: Send + Sync + fmt::Debug {
    /// The folder as people know it (`build`, or an absolute path), for messages and
    /// reports. The build cache also records what it last wrote under this name.
    fn location(&self) -> String;

    /// Replaces each named file with the pieces its source gives, durably, and as one
    /// change as far as a folder allows: every file's bytes go to a new temporary file
    /// in the folder and are synced before the first is renamed over its name, so a
    /// failure while writing (a full disk, or a source that cannot go on) changes none
    /// of them, and a name that a file cannot replace (a folder holds it) fails before
    /// any rename; then the renames, in order, and the folder sync. The folder is
    /// created if missing. Each source is drained in turn and its pieces are written as
    /// they come, so a file need not fit in memory. Whatever fails, each name holds
    /// either its old content or its new one, never a mix, and no temporary file is
    /// left behind by a failure the adapter could report; one left by a writer that
    /// died mid-write goes with the next write of its name. A source that fails makes
    /// this fail with `Io` naming its file; the source itself knows why.
    fn write_streams_atomic(
        &self,
        files: &mut [(&str, &mut dyn FileSource)],
    ) -> Result<(), OutputError>;

    /// [`write_streams_atomic`](Self::write_streams_atomic) of files whose content is
    /// in memory, each the concatenation of its chunks.
    fn write_all_atomic(&self, files: &[(&str, &[&[u8]])]) -> Result<(), OutputError> {
        let mut pieces: Vec<Pieces<'_>> = files
            .iter()
            .map(|(_, chunks)| Pieces::new(chunks))
            .collect();
        let mut sources: Vec<(&str, &mut dyn FileSource)> = files
            .iter()
            .zip(pieces.iter_mut())
            .map(|((name, _), pieces)| (*name, pieces as &mut dyn FileSource))
            .collect();
        self.write_streams_atomic(&mut sources)
    }

    /// Removes what writers of `names` that died mid-write left behind, as
    /// `write_all_atomic` does first: for a build that finds the files current and writes
    /// nothing, so that what a killed build left (as big as a pack) does not wait for
    /// the next change. Best effort: what cannot be removed is only clutter.
    fn remove_abandoned(&self, names: &[&str]);

    /// The fingerprint of the regular file `name`; `None` when there is none (absent,
    /// or something else than a regular file is there).
    fn stat(&self, name: &str) -> Result<Option<Fingerprint>, OutputError>;

    /// The whole content of the regular file `name`: `NotFound` when absent, `TooLarge`
    /// over `limit` bytes.
    fn read(&self, name: &str, limit: u64) -> Result<Vec<u8>, OutputError>;
}

/// The content of one file that [`PackOutput::write_streams_atomic`] writes, given piece
/// by piece as the writer asks for it.
pub trait FileSource {
    /// The next piece of the file (possibly empty); `Ok(None)` once the file is whole.
    /// `Err` when the content cannot be made: the source keeps what went wrong for its
    /// owner to report, and the write stops with every file as it was.
    fn next_piece(&mut self) -> Result<Option<&[u8]>, SourceFailed>;
}

/// A [`FileSource`] could not give its next piece (why is the source's to say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceFailed;

/// A [`FileSource`] over chunks already in memory.
#[derive(Debug, Clone)]
pub struct Pieces<'a> {
    chunks: std::slice::Iter<'a, &'a [u8]>,
}

impl<'a> Pieces<'a> {
    pub fn new(chunks: &'a [&'a [u8]]) -> Pieces<'a> {
        Pieces {
            chunks: chunks.iter(),
        }
    }
}

impl FileSource for Pieces<'_> {
    fn next_piece(&mut self) -> Result<Option<&[u8]>, SourceFailed> {
        Ok(self.chunks.next().copied())
    }
}

/// Where the runtime's events go. The host injects it: Studio's container hands in its
/// typed bus, the CLI a printer. Publishing must not block for long and must not fail;
/// a sink that cannot keep up reports that itself.
pub trait EventPort: Send + Sync + fmt::Debug {
    fn publish(&self, event: Event);
}

/// Time, injected so that tests can drive it by hand.
pub trait ClockPort: Send + Sync + fmt::Debug {
    /// Monotonic time since an arbitrary origin fixed when the clock was made.
    fn elapsed(&self) -> Duration;
    /// Wall-clock time, nanoseconds since the Unix epoch (for transaction names and
    /// deciding whether an mtime is too recent to trust).
    fn wall_clock_ns(&self) -> i64;
}

/// What a file watcher tells the observer. Hints are never facts: each one only says
/// where to look, and the observer verifies against the disk before anything changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchHint {
    /// Something at or below `path` may have changed: created, written, removed, renamed,
    /// or had its metadata changed.
    Changed(WsPath),
    /// The watcher lost track of events (its queue overflowed, or it failed): the whole
    /// workspace must be verified.
    Rescan { reason: String },
    /// Part of the workspace cannot be watched (the kernel's limit on watches, say); only
    /// periodic verification covers it from now on.
    Degraded { reason: String },
}

/// Receives the watcher's hints, possibly from a thread of the watcher's own. It must not
/// block for long.
pub type HintSink = std::sync::Arc<dyn Fn(WatchHint) + Send + Sync>;

/// Watches the workspace for changes.
///
/// An implementation must report every change it sees below `assets/` as a
/// [`WatchHint::Changed`] naming the path, or when it cannot name it, the nearest
/// directory above it. Inside `.prometeu` only its own entries matter (`index.json`);
/// what lies deeper there (the lane's transactions, the build cache) may go unwatched,
/// and whatever is reported from inside `.prometeu` the observer filters itself. When it may have
/// missed changes it says [`WatchHint::Rescan`]; when it cannot watch part of the tree
/// at all it says [`WatchHint::Degraded`] and keeps watching the rest. It never writes.
pub trait WatchPort: Send + Sync + fmt::Debug {
    /// Starts watching, delivering hints to `sink` until the returned session is dropped.
    /// Fails only when nothing at all can be watched; partial failure is a `Degraded`
    /// hint.
    fn watch(&self, sink: HintSink) -> Result<Box<dyn WatchSession>, PortError>;
}

/// A running watch; dropping it stops the watcher and joins whatever it started.
pub trait WatchSession: Send + fmt::Debug {
    /// Waits, at most `timeout`, until every hint for what happened before this call has
    /// been delivered: setting up a watch can leave a backlog (a watcher hears its own
    /// walk of the tree), and a `Rescan` in it is better heard before the first
    /// verification than after. `false` when the time ran out. A watcher that delivers
    /// as it hears, with nothing queued, has nothing to wait for.
    fn flush(&self, timeout: std::time::Duration) -> bool {
        let _ = timeout;
        true
    }

    /// Tries again to watch what the session could not (after the system's limit on
    /// watches was raised, say): `true` when the whole workspace is watched now. Called
    /// every few seconds while degraded, so it must cost little when nothing changed
    /// that would let it succeed. By default nothing more can be watched.
    fn watch_again(&self) -> bool {
        false
    }
}
