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
                Ok(()) => return Ok(DiskLock { file }),
                // A signal arrived while waiting: keep waiting.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_port_error(&e, op, &path)),
            }
        }
    }
}
