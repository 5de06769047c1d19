//! Errors of the disk adapter: opening a workspace, and the mapping from OS errors to
//! the domain's [`PortErrorKind`]s.

use std::io;
use std::path::PathBuf;

use packer_domain::path::WsPath;
use packer_domain::ports::{PortError, PortErrorKind, PortOp};
use rustix::io::Errno;

/// Why [`DiskWorkspace::open`](crate::DiskWorkspace::open) could not open a workspace.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error("cannot open the workspace {}: {source}", path.display())]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot open the workspace {}: it is not a directory", path.display())]
    NotADirectory { path: PathBuf },
}

/// The domain's class for an OS error. `EXDEV` is not mapped to `OutsideWorkspace`
/// here: only the confined opener knows that it came from `RESOLVE_BENEATH` and not from
/// a rename across mount points.
pub(crate) fn kind_of(errno: Errno) -> PortErrorKind {
    match errno {
        Errno::NOENT => PortErrorKind::NotFound,
        Errno::EXIST => PortErrorKind::AlreadyExists,
        Errno::ACCESS | Errno::PERM | Errno::ROFS => PortErrorKind::PermissionDenied,
        Errno::NOSPC | Errno::DQUOT => PortErrorKind::DiskFull,
        Errno::NOTDIR => PortErrorKind::NotADirectory,
        Errno::ISDIR => PortErrorKind::IsADirectory,
        Errno::NOTEMPTY => PortErrorKind::DirectoryNotEmpty,
        _ => PortErrorKind::Io,
    }
}

/// A [`PortError`] for an OS error, with the OS's own words as the detail where they
/// say more than the kind.
pub(crate) fn port_error(errno: Errno, op: PortOp, path: &WsPath) -> PortError {
    let (kind, detail) = errno_failure(errno);
    PortError::new(kind, op, path).with_detail(detail)
}

/// A [`PortError`] for an error raised through `std::io` (reads and writes of content).
pub(crate) fn io_port_error(error: &io::Error, op: PortOp, path: &WsPath) -> PortError {
    let (kind, detail) = io_failure(error);
    PortError::new(kind, op, path).with_detail(detail)
}

/// The kind of an error raised through `std::io`, and its detail as
/// [`port_error`] gives it.
pub(crate) fn io_failure(error: &io::Error) -> (PortErrorKind, String) {
    match error.raw_os_error() {
        Some(raw) => errno_failure(Errno::from_raw_os_error(raw)),
        None => (PortErrorKind::Io, error.to_string()),
    }
}

/// The kind of an OS error, and the OS's words where they say more than the kind.
pub(crate) fn errno_failure(errno: Errno) -> (PortErrorKind, String) {
    (kind_of(errno), os_detail(errno))
}

/// The OS's words for `errno` ("read-only file system"), or nothing for the error each
/// kind is named after: "no space left on device (No space left on device (os error
/// 28))" says one thing twice.
fn os_detail(errno: Errno) -> String {
    match errno {
        Errno::NOENT
        | Errno::EXIST
        | Errno::ACCESS
        | Errno::NOSPC
        | Errno::NOTDIR
        | Errno::ISDIR
        | Errno::NOTEMPTY
        | Errno::IO => String::new(),
        _ => {
            let words = io::Error::from(errno).to_string();
            // `Display` adds " (os error N)" to the words: the number tells a person
            // nothing the words do not.
            let words = words.split(" (os error").next().unwrap_or(&words);
            let mut chars = words.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => String::new(),
            }
        }
    }
}

/// The error for a path whose resolution leaves the workspace (or its area of it).
pub(crate) fn outside(op: PortOp, path: &WsPath, detail: &str) -> PortError {
    PortError::new(PortErrorKind::OutsideWorkspace, op, path).with_detail(detail)
}
