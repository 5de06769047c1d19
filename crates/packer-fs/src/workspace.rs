//! [`DiskWorkspace`]: the `assets/` directory of a project on the real disk, and its
//! [`WorkspacePort`] implementation, which hands each operation to the module that
//! owns it (`scan`, `read`, `write`, `lock`).

use std::path::{Path, PathBuf};

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{CWD, Mode, OFlags};
use rustix::io::Errno;

use packer_domain::listing::Listing;
use packer_domain::path::WsPath;
use packer_domain::ports::{
    DirEntry, FileRead, Fingerprint, LockGuard, PortError, PortErrorKind, PortOp, ReadRequest,
    ReadSink, Reuse, ScanEntry, ScanOptions, ScanReads, ScanSink, SeenDirs, SyncAll, WorkspacePort,
};

use crate::confine::{self, Confinement};
use crate::error::DiskError;
use crate::lock::LockFile;

/// A project's `assets/` directory on disk.
///
/// Everything is opened relative to a descriptor of the directory taken when the
/// workspace is opened, so renaming or replacing the path afterwards does not redirect
/// the adapter, and nothing outside the directory can be reached through it (see
/// `confine.rs` for how symbolic links are handled). Scans and the project lock fail
/// once the path names another directory than that one (see `ensure_in_place`).
#[derive(Debug)]
pub struct DiskWorkspace {
    /// The canonical path, for messages and for checking that `assets/` is still the
    /// folder `root_fd` holds (`ensure_in_place`): operations go through `root_fd`.
    path: PathBuf,
    root_fd: OwnedFd,
    /// The directory opened for reading, for `syncfs`, which needs a real descriptor;
    /// held from the start so that a write-back error since then is reported to it.
    /// `None` where `syncfs` does not report write-back errors (kernels before 5.8).
    sync_fd: Option<OwnedFd>,
    /// Whether the file system keeps times fine enough for a verification scan to take
    /// over an unchanged directory's entries (see `scan/reuse.rs`).
    pub(crate) fine_times: bool,
    pub(crate) confinement: Confinement,
    /// Threads for scans and batched reads, asked once: `available_parallelism` reads
    /// cgroup files on every call.
    pub(crate) threads: usize,
}

impl DiskWorkspace {
    /// Opens the `assets/` directory at `assets_dir` (canonicalised first, so that the
    /// workspace is the directory itself and not a link to it).
    pub fn open(assets_dir: impl AsRef<Path>) -> Result<DiskWorkspace, DiskError> {
        let workspace = DiskWorkspace::open_unprobed(assets_dir.as_ref())?;
        let confinement = confine::probe(workspace.root_fd.as_fd());
        Ok(DiskWorkspace {
            confinement,
            ..workspace
        })
    }

    /// The canonical path of the `assets/` directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The descriptor every operation resolves from.
    pub(crate) fn root(&self) -> BorrowedFd<'_> {
        self.root_fd.as_fd()
    }

    /// Fails unless the path the workspace was opened at still names the directory it
    /// holds. A packer that runs for long (`watch`, `serve`) must not go on reading and
    /// writing a folder that was moved away, replaced or deleted behind it, while the
    /// project's `assets/` is another one: checked before every scan and every commit.
    pub(crate) fn ensure_in_place(&self, op: PortOp) -> Result<(), PortError> {
        let held = rustix::fs::fstat(&self.root_fd);
        let named = rustix::fs::stat(&self.path);
        match (held, named) {
            (Ok(held), Ok(named)) if (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino) => {
                Ok(())
            }
            _ => Err(
                PortError::new(PortErrorKind::NotFound, op, &WsPath::root()).with_detail(format!(
                    "{} is no longer the folder the packer opened: it was moved, replaced or deleted since; start the packer again",
                    self.path.display()
                )),
            ),
        }
    }

    /// Opens the directory without deciding how to confine; confinement starts as the
    /// user-space fallback, which works on every kernel.
    fn open_unprobed(assets_dir: &Path) -> Result<DiskWorkspace, DiskError> {
        let open_error = |source| DiskError::Open {
            path: assets_dir.to_owned(),
            source,
        };
        let path = std::fs::canonicalize(assets_dir).map_err(open_error)?;
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let root_fd = match rustix::fs::openat(CWD, &path, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOTDIR) => return Err(DiskError::NotADirectory { path }),
            Err(errno) => return Err(open_error(errno.into())),
        };
        let sync_fd = syncfs_reports_errors()
            .then(|| {
                let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
                rustix::fs::openat(&root_fd, ".", flags, Mode::empty()).ok()
            })
            .flatten();
        let fine_times = fine_grained_times(&root_fd);
        Ok(DiskWorkspace {
            path,
            root_fd,
            sync_fd,
            fine_times,
            confinement: Confinement::UserSpace,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
        })
    }

    /// Opens a workspace that confines in user space even where `openat2` exists, so
    /// that tests exercise the fallback on every kernel.
    #[cfg(test)]
    pub(crate) fn open_with_user_space_confinement(
        assets_dir: impl AsRef<Path>,
    ) -> Result<DiskWorkspace, DiskError> {
        DiskWorkspace::open_unprobed(assets_dir.as_ref())
    }
}

impl WorkspacePort for DiskWorkspace {
    fn scan(&self, options: ScanOptions) -> Result<Vec<ScanEntry>, PortError> {
        crate::scan::scan(self, options)
    }

    fn scan_reusing(
        &self,
        reuse: Option<Reuse<'_>>,
    ) -> Result<(Vec<ScanEntry>, SeenDirs), PortError> {
        crate::scan::scan_reusing(self, reuse)
    }

    fn scan_and_read(
        &self,
        options: ScanOptions,
        reads: &ScanReads<'_>,
        sink: &ScanSink<'_>,
    ) -> Result<Listing, PortError> {
        crate::scan::scan_and_read(self, options, reads, sink)
    }

    fn read(&self, path: &WsPath, limit: u64) -> Result<FileRead, PortError> {
        self.read_file(path, limit)
    }

    fn read_many(&self, requests: &[ReadRequest], sink: &ReadSink<'_>) {
        crate::read::read_many(self, requests, sink);
    }

    fn stat(&self, path: &WsPath) -> Result<Option<Fingerprint>, PortError> {
        self.stat_file(path)
    }

    fn create_dir_all(&self, path: &WsPath) -> Result<(), PortError> {
        self.make_dirs(path)
    }

    fn write_file(&self, path: &WsPath, bytes: &[u8]) -> Result<(), PortError> {
        self.write_bytes(path, bytes)
    }

    fn sync_file(&self, path: &WsPath) -> Result<(), PortError> {
        self.fsync_file(path)
    }

    fn sync_dir(&self, path: &WsPath) -> Result<(), PortError> {
        self.fsync_dir(path)
    }

    fn sync_all(&self) -> Result<SyncAll, PortError> {
        let Some(fd) = &self.sync_fd else {
            return Ok(SyncAll::Unavailable);
        };
        rustix::fs::syncfs(fd)
            .map(|()| SyncAll::Done)
            .map_err(|errno| crate::error::port_error(errno, PortOp::SyncAll, &WsPath::root()))
    }

    fn rename(&self, from: &WsPath, to: &WsPath) -> Result<(), PortError> {
        self.rename_entry(from, to)
    }

    fn remove_file(&self, path: &WsPath) -> Result<(), PortError> {
        self.unlink_file(path)
    }

    fn check_writable(&self, path: &WsPath) -> Result<(), PortError> {
        self.check_dir_writable(path)
    }

    fn list_dir(&self, path: &WsPath) -> Result<Vec<DirEntry>, PortError> {
        self.list_entries(path)
    }

    fn remove_dir_all(&self, path: &WsPath) -> Result<(), PortError> {
        self.remove_tree(path)
    }

    fn remove_empty_dir(&self, path: &WsPath) -> Result<bool, PortError> {
        self.remove_if_empty(path)
    }

    fn lock(&self) -> Result<Box<dyn LockGuard>, PortError> {
        match self.take_lock(LockFile::Create)? {
            Some(lock) => Ok(Box::new(lock)),
            // Only a deadline gives up, and a writer's lock has none.
            None => Err(
                PortError::new(PortErrorKind::Io, PortOp::Lock, &WsPath::root())
                    .with_detail("the lock was not taken"),
            ),
        }
    }

    fn lock_if_in_use(
        &self,
        wait: Option<std::time::Duration>,
    ) -> Result<Option<Box<dyn LockGuard>>, PortError> {
        let deadline = wait.map(|wait| std::time::Instant::now() + wait);
        match self.take_lock(LockFile::Existing { deadline }) {
            Ok(Some(lock)) => Ok(Some(Box::new(lock))),
            Ok(None) => Ok(None),
            Err(e) if e.kind == PortErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Whether this kernel's `syncfs` reports write-back errors (Linux 5.8 and later); before
/// that it could return success for data it failed to write, which a commit must never
/// take for durability.
fn syncfs_reports_errors() -> bool {
    let uname = rustix::system::uname();
    let release = uname.release().to_string_lossy();
    let mut numbers = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|part| part.parse::<u32>().unwrap_or(0));
    let major = numbers.next().unwrap_or(0);
    let minor = numbers.next().unwrap_or(0);
    (major, minor) >= (5, 8)
}

/// File systems that keep file and directory times to the nanosecond, where a change
/// within the trust window is the only one a time cannot show: ext2/3/4, XFS, Btrfs,
/// tmpfs, F2FS, ZFS and overlayfs (which shows its upper layer's times). Elsewhere (FAT
/// keeps two seconds, network file systems what their server says) a directory can
/// change without its times moving past the window, so every directory is listed.
fn fine_grained_times(root: &OwnedFd) -> bool {
    const FINE: [u64; 7] = [
        0xEF53,      // ext2, ext3, ext4
        0x5846_5342, // xfs
        0x9123_683E, // btrfs
        0x0102_1994, // tmpfs
        0xF2F5_2010, // f2fs
        0x2FC1_2FC1, // zfs
        0x794C_7630, // overlayfs
    ];
    rustix::fs::fstatfs(root).is_ok_and(|stat| {
        // The magic numbers are 32 bits wide; the field's type varies by platform.
        #[allow(clippy::unnecessary_cast)]
        let magic = (stat.f_type as u64) & 0xFFFF_FFFF;
        FINE.contains(&magic)
    })
}
