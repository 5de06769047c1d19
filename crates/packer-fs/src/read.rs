//! Reading: whole files with the fingerprint of the handle they came from, many files
//! in parallel, and stat.

use std::fs::File;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use rustix::fd::OwnedFd;
use rustix::fs::{FileType, Mode, OFlags, Stat};

use packer_domain::path::WsPath;
use packer_domain::ports::{
    FileRead, Fingerprint, PortError, PortErrorKind, PortOp, ReadRequest, ReadSink,
};

use crate::confine::FinalLink;
use crate::error::{io_port_error, port_error};
use crate::workspace::DiskWorkspace;

/// Below this many files, starting threads costs more than it saves.
const PARALLEL_FROM: usize = 16;

/// Flags of every open for reading. O_NONBLOCK: opening a FIFO someone left in the tree
/// must not hang the packer; it has no effect on regular files. O_NOCTTY: a terminal
/// device must not become the process's controlling terminal.
pub(crate) const READ_FLAGS: OFlags = OFlags::RDONLY.union(OFlags::NONBLOCK).union(OFlags::NOCTTY);

impl DiskWorkspace {
    /// One confined open, then [`read_handle`].
    pub(crate) fn read_file(&self, path: &WsPath, limit: u64) -> Result<FileRead, PortError> {
        let mut bytes = Vec::new();
        let fingerprint = self.read_file_into(path, limit, &mut bytes)?;
        Ok(FileRead { bytes, fingerprint })
    }

    /// As [`read_file`](Self::read_file), into `bytes` (emptied first).
    pub(crate) fn read_file_into(
        &self,
        path: &WsPath,
        limit: u64,
        bytes: &mut Vec<u8>,
    ) -> Result<Fingerprint, PortError> {
        let fd = self.open_confined(
            path,
            READ_FLAGS,
            Mode::empty(),
            FinalLink::Follow,
            PortOp::Read,
        )?;
        read_handle(fd, limit, &|| path.clone(), bytes)
    }

    /// `None` when nothing is there: absent, a broken link, or a file on the way where a
    /// directory should be.
    pub(crate) fn stat_file(&self, path: &WsPath) -> Result<Option<Fingerprint>, PortError> {
        // O_PATH: no read permission needed and nothing is really opened.
        let opened = self.open_confined(
            path,
            OFlags::PATH,
            Mode::empty(),
            FinalLink::Follow,
            PortOp::Stat,
        );
        let fd = match opened {
            Ok(fd) => fd,
            Err(e)
                if matches!(
                    e.kind,
                    PortErrorKind::NotFound | PortErrorKind::NotADirectory
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let stat = regular_file(&fd, PortOp::Stat, &|| path.clone())?;
        Ok(Some(fingerprint(&stat)))
    }
}

/// Reads every path on up to [`DiskWorkspace::threads`] threads (the calling thread is
/// one of them), each claiming the next index from a shared counter.
pub(crate) fn read_many(ws: &DiskWorkspace, requests: &[ReadRequest], sink: &ReadSink<'_>) {
    let next = AtomicUsize::new(0);
    let work = || {
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(request) = requests.get(index) else {
                break;
            };
            sink(index, ws.read_file(&request.path, request.limit));
        }
    };
    let threads = if requests.len() < PARALLEL_FROM {
        1
    } else {
        ws.threads.min(requests.len())
    };
    thread::scope(|scope| {
        for _ in 1..threads {
            // A thread that cannot be started leaves its share to the others: every
            // index is still claimed exactly once.
            let _ = thread::Builder::new().spawn_scoped(scope, work);
        }
        work();
    });
}

/// Reads the file open at `fd` whole into `bytes` (emptied first): one `fstat` of the
/// handle, one read of exactly the size the `fstat` gave, so that the bytes and the
/// fingerprint describe the same file. `path` names the file in errors; it is only
/// built when there is one.
pub(crate) fn read_handle(
    fd: OwnedFd,
    limit: u64,
    path: &dyn Fn() -> WsPath,
    bytes: &mut Vec<u8>,
) -> Result<Fingerprint, PortError> {
    bytes.clear();
    let stat = regular_file(&fd, PortOp::Read, path)?;
    let fingerprint = fingerprint(&stat);
    if fingerprint.size > limit {
        return Err(
            PortError::new(PortErrorKind::TooLarge, PortOp::Read, &path())
                .with_detail(format!("{} bytes; the limit is {limit}", fingerprint.size)),
        );
    }
    let capacity = usize::try_from(fingerprint.size).map_err(|_| {
        PortError::new(PortErrorKind::TooLarge, PortOp::Read, &path())
            .with_detail("larger than this machine can address")
    })?;
    bytes.reserve_exact(capacity);
    // `take` stops at the size `fstat` gave without a further `read` to find the end.
    let mut file = File::from(fd).take(fingerprint.size);
    file.read_to_end(bytes)
        .map_err(|e| io_port_error(&e, PortOp::Read, &path()))?;
    if bytes.len() == capacity {
        return Ok(fingerprint);
    }
    // The file shrank while it was read: describe what was actually read, so that the
    // next stat shows a change instead of a match.
    let stat =
        rustix::fs::fstat(file.get_ref()).map_err(|e| port_error(e, PortOp::Read, &path()))?;
    Ok(self::fingerprint(&stat))
}

/// The `fstat` of an open handle, which must be a regular file.
fn regular_file(fd: &OwnedFd, op: PortOp, path: &dyn Fn() -> WsPath) -> Result<Stat, PortError> {
    let stat = rustix::fs::fstat(fd).map_err(|e| port_error(e, op, &path()))?;
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile => Ok(stat),
        FileType::Directory => Err(PortError::new(PortErrorKind::IsADirectory, op, &path())),
        _ => Err(PortError::new(PortErrorKind::Io, op, &path())
            .with_detail("not a regular file (a device, FIFO or socket)")),
    }
}

/// The domain's fingerprint of a `stat` result.
// The fields' integer widths differ between architectures; on some these casts are
// identities.
#[allow(clippy::unnecessary_cast)]
pub(crate) fn fingerprint(stat: &Stat) -> Fingerprint {
    let ns = |secs: i64, nanos: i64| secs.saturating_mul(1_000_000_000).saturating_add(nanos);
    Fingerprint {
        size: u64::try_from(stat.st_size).unwrap_or(0),
        mtime_ns: ns(stat.st_mtime as i64, stat.st_mtime_nsec as i64),
        ctime_ns: ns(stat.st_ctime as i64, stat.st_ctime_nsec as i64),
        inode: stat.st_ino as u64,
    }
}

#[cfg(test)]
mod tests {
    use packer_domain::ports::WorkspacePort;
    use rustix::fs::CWD;

    use super::*;
    use crate::testing::{Fixture, ws};

    #[test]
    fn special_files_are_refused_without_blocking() {
        let fx = Fixture::new();
        let fifo = fx.assets.join("pipe");
        rustix::fs::mknodat(CWD, &fifo, FileType::Fifo, Mode::from_raw_mode(0o644), 0).unwrap();
        for port in fx.workspaces() {
            // A blocking open of a FIFO would wait for a writer forever.
            let read = port.read(&ws("pipe"), 10).unwrap_err();
            assert_eq!(read.kind, PortErrorKind::Io, "{read}");
            assert_eq!(port.stat(&ws("pipe")).unwrap_err().kind, PortErrorKind::Io);
            assert!(port.write_file(&ws("pipe"), b"x").is_err());
        }
    }

    #[test]
    fn read_many_matches_one_read_at_a_time() {
        let fx = Fixture::new();
        let paths: Vec<WsPath> = (0..200).map(|i| ws(&format!("d{}/f{i}", i % 7))).collect();
        for (i, path) in paths.iter().enumerate() {
            fx.write(path.as_str(), &vec![b'x'; i]);
        }
        for port in fx.workspaces() {
            let results = std::sync::Mutex::new(vec![None; paths.len()]);
            let requests: Vec<ReadRequest> = paths
                .iter()
                .map(|path| ReadRequest {
                    path: path.clone(),
                    limit: 150,
                })
                .collect();
            port.read_many(&requests, &|i, result| {
                let previous = results.lock().unwrap()[i].replace(result);
                assert!(previous.is_none(), "index {i} delivered twice");
            });
            for (i, result) in results.into_inner().unwrap().into_iter().enumerate() {
                assert_eq!(result.unwrap(), port.read(&paths[i], 150), "index {i}");
            }
        }
    }
}
