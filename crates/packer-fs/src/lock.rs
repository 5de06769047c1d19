//! The project lock: an advisory `flock` on `.prometeu/lock`, held by an open handle.

use std::fs::File;
use std::io;

use rustix::fs::{Mode, OFlags};

use packer_domain::path::WsPath;
use packer_domain::ports::{LockGuard, PortError, PortErrorKind, PortOp};

use crate::confine::FinalLink;
use crate::error::io_port_error;
use crate::workspace::DiskWorkspace;

/// The lock file's name inside `.prometeu`.
const LOCK_FILE: &str = "lock";

/// Holds the project lock. Dropping it releases the lock; so does the kernel when the
/// process dies, which is why it is an OS lock and not a marker file.
#[derive(Debug)]
pub struct DiskLock {
    file: File,
}

impl LockGuard for DiskLock {}

impl Drop for DiskLock {
    fn drop(&mut self) {
        // Closing the handle releases the lock as well; unlocking first makes the
        // release not depend on other handles of the same open file (none are made).
        let _ = self.file.unlock();
    }
}

impl DiskWorkspace {
    /// Opens (creating if needed) `.prometeu/lock` and waits for an exclusive lock on it.
    /// `.prometeu` must exist: a workspace without it is not a project.
    pub(crate) fn take_lock(&self) -> Result<DiskLock, PortError> {
        let op = PortOp::Lock;
        let path = WsPath::internal(LOCK_FILE).map_err(|e| {
            PortError::new(PortErrorKind::Io, op, &WsPath::root()).with_detail(e.to_string())
        })?;
        let flags = OFlags::RDWR | OFlags::CREATE;
        let fd = self.open_confined(
            &path,
            flags,
            Mode::from_raw_mode(0o666),
            FinalLink::Refuse,
            op,
        )?;
        let file = File::from(fd);
        loop {
            match file.lock() {
                Ok(()) => {
                    // Checked under the lock: a folder that is no longer the project's
                    // takes no commit, nor does its lock keep another process out.
                    self.ensure_in_place(op)?;
                    return Ok(DiskLock { file });
                }
                // A signal arrived while waiting: keep waiting.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_port_error(&e, op, &path)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use packer_domain::ports::{ScanOptions, WorkspacePort};

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
}
