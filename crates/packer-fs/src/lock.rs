//! The project lock: an advisory `flock` on `.prometeu/lock`, held by an open handle.

use std::fs::{File, TryLockError};
use std::io;
use std::time::{Duration, Instant};

use rustix::fs::{Mode, OFlags};

use packer_domain::path::WsPath;
use packer_domain::ports::{LockGuard, PortError, PortOp, lock_path};

use crate::confine::FinalLink;
use crate::error::io_port_error;
use crate::workspace::DiskWorkspace;

/// Holds the project lock. Dropping it releases the lock; so does the kernel when the
/// process dies, which is why it is an OS lock and not a marker file.
///
/// Two locks are held: the one on `.prometeu/lock` that the contract names, and one on
/// the `.prometeu` folder itself. The file is an ordinary file that a person can delete
/// or replace while a commit holds it; the next writer would then lock a new file and
/// commit at the same time (recovery discarding the other's transaction in flight). The
/// folder cannot be swapped that way under a running project, so it keeps writers apart
/// whatever becomes of the file.
#[derive(Debug)]
pub struct DiskLock {
    file: File,
    folder: File,
}

impl LockGuard for DiskLock {}

impl Drop for DiskLock {
    fn drop(&mut self) {
        // Closing the handles releases the locks as well; unlocking first makes the
        // release not depend on other handles of the same open file (none are made).
        // The reverse of the order they were taken in.
        let _ = self.folder.unlock();
        let _ = self.file.unlock();
    }
}

impl DiskWorkspace {
    /// Opens (creating if needed) `.prometeu/lock` and waits for an exclusive lock on it,
    /// then on `.prometeu` itself. `.prometeu` must exist: a workspace without it is not
    /// a project. Every writer takes the two in that order, so none waits for the other
    /// holding what it needs.
    /// With [`LockFile::Existing`], a missing lock file is `NotFound` and none is made,
    /// and `None` comes back when its deadline passes before the lock is free.
    pub(crate) fn take_lock(&self, file: LockFile) -> Result<Option<DiskLock>, PortError> {
        let op = PortOp::Lock;
        let path = lock_path();
        let folder_path = path.parent().unwrap_or_else(WsPath::root);
        // A mode goes with creating only (`openat2` refuses one otherwise).
        let (flags, mode, deadline) = match file {
            LockFile::Create => (
                OFlags::RDWR | OFlags::CREATE,
                Mode::from_raw_mode(0o666),
                None,
            ),
            LockFile::Existing { deadline } => (OFlags::RDWR, Mode::empty(), deadline),
        };
        let fd = self.open_confined(&path, flags, mode, FinalLink::Refuse, op)?;
        let file = File::from(fd);
        if !wait_for(&file, &path, deadline)? {
            return Ok(None);
        }
        let fd = self.open_confined(
            &folder_path,
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
            FinalLink::Refuse,
            op,
        )?;
        let folder = File::from(fd);
        if !wait_for(&folder, &folder_path, deadline)? {
            return Ok(None);
        }
        // Checked under the lock: a folder that is no longer the project's takes no
        // commit, nor does its lock keep another process out.
        self.ensure_in_place(op)?;
        Ok(Some(DiskLock { file, folder }))
    }
}

/// Whether taking the lock may make its file, and how long it may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockFile {
    /// A writer's: made when missing, waited for as long as it takes.
    Create,
    /// A reader's, waiting out a commit: never made, waited for until `deadline`.
    Existing { deadline: Option<Instant> },
}

/// How often a wait with a deadline looks at the lock again.
const POLL: Duration = Duration::from_millis(5);

/// Waits for an exclusive `flock` on `file` (`path` names it in errors); `false` when
/// `deadline` passed with another holder on it.
fn wait_for(file: &File, path: &WsPath, deadline: Option<Instant>) -> Result<bool, PortError> {
    let Some(deadline) = deadline else {
        loop {
            match file.lock() {
                Ok(()) => return Ok(true),
                // A signal arrived while waiting: keep waiting.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_port_error(&e, PortOp::Lock, path)),
            }
        }
    };
    // `flock` cannot wait with a deadline: try, and try again.
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(true),
            Err(TryLockError::WouldBlock) => {
                if Instant::now() >= deadline {
                    return Ok(false);
                }
                std::thread::sleep(POLL);
            }
            Err(TryLockError::Error(e)) => return Err(io_port_error(&e, PortOp::Lock, path)),
        }
    }
}

#[cfg(test)]
mod tests {
    use packer_domain::ports::{PortErrorKind, ScanOptions, WorkspacePort};

    use super::*;
    use crate::testing::Fixture;

    /// `mv assets assets.old && cp -a assets.old assets` while the packer runs: the
    /// folder it holds is no longer the project's, so it neither commits nor scans there.
    #[test]
    fn a_workspace_moved_away_behind_the_packer_is_neither_locked_nor_scanned() {
        let fx = Fixture::new();
        fx.write("a/asset.json", b"{}");
        let port = DiskWorkspace::open(&fx.assets).unwrap();
        drop(port.lock().unwrap());
        port.scan(ScanOptions::default()).unwrap();

        let moved = fx.assets.with_file_name("assets.old");
        std::fs::rename(&fx.assets, &moved).unwrap();
        std::fs::create_dir_all(fx.assets.join(".prometeu")).unwrap();
        for error in [
            port.lock().map(drop).unwrap_err(),
            port.scan(ScanOptions::default()).map(drop).unwrap_err(),
        ] {
            assert_eq!(error.kind, PortErrorKind::NotFound, "{error}");
            assert!(
                error.to_string().contains("no longer the folder"),
                "{error}"
            );
        }
        // Deleted outright, the same.
        std::fs::remove_dir_all(&fx.assets).unwrap();
        assert!(port.lock().is_err());
        // Put back in place, it works again.
        std::fs::rename(&moved, &fx.assets).unwrap();
        drop(port.lock().unwrap());
        port.scan(ScanOptions::default()).unwrap();
    }

    /// A reader waiting out a commit never makes the lock file: without one, no process
    /// holds the lock. With one, it takes the lock as a writer does.
    #[test]
    fn a_reader_takes_the_lock_only_where_its_file_is() {
        let fx = Fixture::new();
        let port = DiskWorkspace::open(&fx.assets).unwrap();
        let lock = fx.assets.join(".prometeu/lock");
        assert!(!lock.exists());
        assert!(port.lock_if_in_use(None).unwrap().is_none());
        assert!(!lock.exists());
        drop(port.lock().unwrap());
        assert!(lock.exists());
        assert!(port.lock_if_in_use(None).unwrap().is_some());
    }

    /// Whether a second process's `lock` returns while the first still holds it, after
    /// `tamper` did to the lock file what a person might (delete it, put another in its
    /// place). It must not: two writers at once discard each other's transactions.
    fn second_lock_gets_through(tamper: impl Fn(&std::path::Path)) -> bool {
        let fx = Fixture::new();
        let first = DiskWorkspace::open(&fx.assets).unwrap();
        let second = DiskWorkspace::open(&fx.assets).unwrap();
        let held = first.lock().unwrap();
        tamper(&fx.assets.join(".prometeu/lock"));
        let (taken, told) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let guard = second.lock();
            let _ = taken.send(());
            drop(guard);
        });
        // Before the fix the second lock returns at once; a correct one never does
        // while `held` lives, so this wait cannot fail a correct lock.
        let through = told
            .recv_timeout(std::time::Duration::from_millis(300))
            .is_ok();
        drop(held);
        through
    }

    #[test]
    fn a_lock_file_deleted_while_held_keeps_the_next_writer_out() {
        assert!(!second_lock_gets_through(|lock| {
            std::fs::remove_file(lock).unwrap();
        }));
    }

    #[test]
    fn a_lock_file_replaced_while_held_keeps_the_next_writer_out() {
        assert!(!second_lock_gets_through(|lock| {
            let other = lock.with_file_name("lock.new");
            std::fs::write(&other, b"").unwrap();
            std::fs::rename(&other, lock).unwrap();
        }));
    }
}
