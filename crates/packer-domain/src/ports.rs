//! The three ports through which the domain meets the world: the workspace on disk,
//! the event sink and the clock.
//!
//! They are shaped by what the packer needs, not by `std::fs`: every path is a
//! [`WsPath`] (relative, validated, inside `assets/`), every failure a [`PortError`]
//! with a kind the domain can act on. Adapters: `packer-fs` (the real disk) and
//! `packer-memfs` (in memory, strict, with fault injection). One contract test suite
//! runs against both.

use std::fmt;
use std::time::Duration;

use crate::event::Event;
use crate::path::WsPath;

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

/// A file's bytes together with the fingerprint of the very handle they were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRead {
    pub bytes: Vec<u8>,
    pub fingerprint: Fingerprint,
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
    Rename,
    RemoveFile,
    RemoveDir,
    Lock,
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
            PortOp::Rename => "rename",
            PortOp::RemoveFile => "remove file",
            PortOp::RemoveDir => "remove directory",
            PortOp::Lock => "lock",
        })
    }
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
    /// Every file, directory and symbolic link below `assets/`, recursively, except
    /// `.prometeu` and what lies below it. Symbolic links are reported with their target
    /// and never descended into. The order is unspecified. An entry that vanishes while
    /// the scan runs is left out; a directory that cannot be listed fails the scan.
    fn scan(&self, options: ScanOptions) -> Result<Vec<ScanEntry>, PortError>;

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

    /// Atomically renames `from` to `to`. A file replaces an existing file at `to`; a
    /// directory may only move to a path where nothing is. `to`'s parent must exist.
    fn rename(&self, from: &WsPath, to: &WsPath) -> Result<(), PortError>;

    /// Removes the regular file (or symbolic link) `path`.
    fn remove_file(&self, path: &WsPath) -> Result<(), PortError>;

    /// Removes the directory `path` and everything below it; `NotFound` if absent.
    fn remove_dir_all(&self, path: &WsPath) -> Result<(), PortError>;

    /// Takes the project's advisory writer lock (`.prometeu/lock`), waiting while another
    /// holder has it. It is released when the guard is dropped, or by the system when the
    /// holding process dies.
    fn lock(&self) -> Result<Box<dyn LockGuard>, PortError>;
}

/// Holds the project lock until dropped.
pub trait LockGuard: Send + fmt::Debug {}

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
