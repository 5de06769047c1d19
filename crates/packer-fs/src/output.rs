//! [`DiskOutput`]: the build output folder on the real disk, behind the domain's
//! [`PackOutput`]. Every file is reached by one name below a handle of the folder, and
//! none through a symbolic link: a new file is created exclusively (`O_EXCL` never
//! follows a link) and renamed over the old name, which replaces a link rather than
//! writing where it points.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};
use rustix::io::Errno;
use rustix::process::Pid;

use packer_domain::path::WsPath;
use packer_domain::ports::{
    FileSource, Fingerprint, OutputError, PackOutput, PortErrorKind, PortOp,
};

use crate::error::{errno_failure, io_failure};
use crate::read::fingerprint;

/// Bytes buffered before they go to the file: a pack is written as many small pieces.
const WRITE_BUFFER: usize = 1 << 20;
/// `rw-rw-rw-` less the umask, as every tool creates files.
const FILE_MODE: u32 = 0o666;

/// Temporary files of one process get distinct names, so two builds never share one.
static NEXT_TEMPORARY: AtomicU64 = AtomicU64::new(0);

/// A build output folder on disk.
#[derive(Debug, Clone)]
pub struct DiskOutput {
    dir: PathBuf,
    location: String,
}

impl DiskOutput {
    /// The folder `dir` (created on the first write if missing), shown as its path.
    pub fn new(dir: impl Into<PathBuf>) -> DiskOutput {
        let dir = dir.into();
        let location = dir.display().to_string();
        DiskOutput { dir, location }
    }

    /// Shows the folder as `location` (`build`, say, for `<project>/build`).
    pub fn with_location(mut self, location: impl Into<String>) -> DiskOutput {
        self.location = location.into();
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, name: &str) -> String {
        if self.location.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.location.trim_end_matches('/'))
        }
    }

    fn error(&self, errno: Errno, op: PortOp, name: &str) -> OutputError {
        let (kind, detail) = errno_failure(errno);
        OutputError::new(kind, op, self.file(name)).with_detail(detail)
    }

    fn io_error(&self, error: &std::io::Error, op: PortOp, name: &str) -> OutputError {
        let (kind, detail) = io_failure(error);
        OutputError::new(kind, op, self.file(name)).with_detail(detail)
    }

    /// The folder itself could not be made: named alone (not a file in it), and said
    /// plainly when something that is not a folder already holds its name.
    fn folder_error(&self, error: &std::io::Error) -> OutputError {
        let mut failure = self.io_error(error, PortOp::CreateDir, "");
        failure.file = if self.location.is_empty() {
            self.dir.display().to_string()
        } else {
            self.location.clone()
        };
        match (
            std::fs::symlink_metadata(&self.dir),
            std::fs::metadata(&self.dir),
        ) {
            (Ok(_), Err(_)) => failure.detail = "it is a symbolic link to nothing".to_owned(),
            (Ok(_), Ok(meta)) if meta.is_file() => {
                failure.detail = "it is a file, not a folder".to_owned();
            }
            (Ok(_), Ok(meta)) if !meta.is_dir() => {
                failure.detail = "it is not a folder".to_owned();
            }
            _ => {}
        }
        failure
    }

    fn check_name(&self, name: &str, op: PortOp) -> Result<(), OutputError> {
        WsPath::check_segment(name).map_err(|e| {
            OutputError::new(PortErrorKind::Io, op, self.file(name)).with_detail(e.to_string())
        })
    }

    /// A handle of the folder, for `*at` calls and for syncing it.
    fn open_dir(&self, op: PortOp, name: &str) -> Result<OwnedFd, OutputError> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        rustix::fs::openat(CWD, &self.dir, flags, Mode::empty())
            .map_err(|errno| self.error(errno, op, name))
    }

    /// Removes the temporary files of `names` that writers left when they died
    /// mid-write (Ctrl-C during a build, a kill, a crash): each is named after its
    /// writer's process id, and one whose process is gone is never renamed into place. A
    /// temporary of a running process is a write under way and stays. Best effort: a
    /// file that cannot be removed is only clutter.
    fn remove_abandoned_temporaries(&self, dir: &OwnedFd, names: &[&str]) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let prefixes: Vec<String> = names.iter().map(|name| format!(".{name}.")).collect();
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let Some(file_name) = file_name.to_str() else {
                continue;
            };
            let writer = prefixes
                .iter()
                .find_map(|prefix| file_name.strip_prefix(prefix.as_str()))
                .and_then(|rest| rest.strip_suffix(".tmp"))
                .and_then(|rest| rest.split_once('-'))
                .filter(|(_, number)| number.parse::<u64>().is_ok())
                .and_then(|(pid, _)| pid.parse::<i32>().ok())
                .and_then(Pid::from_raw);
            if let Some(pid) = writer
                && rustix::process::test_kill_process(pid) == Err(Errno::SRCH)
            {
                let _ = rustix::fs::unlinkat(dir, file_name, AtFlags::empty());
            }
        }
    }

    /// Writes and syncs a temporary for every file, checks that nothing a file cannot
    /// replace holds a name, then renames each into place. `pending` keeps the
    /// temporaries that are not in place (yet).
    fn stage_and_replace(
        &self,
        dir: &OwnedFd,
        files: &mut [(&str, &mut dyn FileSource)],
        pending: &mut Vec<String>,
    ) -> Result<(), OutputError> {
        let names: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
        self.remove_abandoned_temporaries(dir, &names);
        for (name, source) in files.iter_mut() {
            let temporary = format!(
                ".{name}.{}-{}.tmp",
                std::process::id(),
                NEXT_TEMPORARY.fetch_add(1, Ordering::Relaxed)
            );
            pending.push(temporary.clone());
            self.write_temporary(dir, &temporary, name, &mut **source)?;
        }
        for (name, _) in files.iter() {
            match rustix::fs::statat(dir, *name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Directory => {
                    return Err(self.error(Errno::ISDIR, PortOp::Rename, name));
                }
                Ok(_) | Err(Errno::NOENT) => {}
                Err(errno) => return Err(self.error(errno, PortOp::Rename, name)),
            }
        }
        let mut staged = std::mem::take(pending).into_iter();
        for ((name, _), temporary) in files.iter().zip(staged.by_ref()) {
            if let Err(errno) = rustix::fs::renameat(dir, temporary.as_str(), dir, *name) {
                pending.push(temporary);
                pending.extend(staged);
                return Err(self.error(errno, PortOp::Rename, name));
            }
        }
        Ok(())
    }

    /// Writes what `source` gives to the new file `temporary` in the folder and syncs it.
    fn write_temporary(
        &self,
        dir: &OwnedFd,
        temporary: &str,
        name: &str,
        source: &mut dyn FileSource,
    ) -> Result<(), OutputError> {
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(dir, temporary, flags, Mode::from_raw_mode(FILE_MODE))
            .map_err(|errno| self.error(errno, PortOp::Write, name))?;
        let mut writer = BufWriter::with_capacity(WRITE_BUFFER, File::from(fd));
        while let Some(piece) = source.next_piece().map_err(|_| {
            OutputError::new(PortErrorKind::Io, PortOp::Write, self.file(name))
                .with_detail("its content could not be made")
        })? {
            writer
                .write_all(piece)
                .map_err(|e| self.io_error(&e, PortOp::Write, name))?;
        }
        let file = writer
            .into_inner()
            .map_err(|e| self.io_error(e.error(), PortOp::Write, name))?;
        file.sync_all()
            .map_err(|e| self.io_error(&e, PortOp::SyncFile, name))
    }
}

impl PackOutput for DiskOutput {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn write_streams_atomic(
        &self,
        files: &mut [(&str, &mut dyn FileSource)],
    ) -> Result<(), OutputError> {
        for (name, _) in files.iter() {
            self.check_name(name, PortOp::Write)?;
        }
        let Some(&(first, _)) = files.first() else {
            return Ok(());
        };
        std::fs::create_dir_all(&self.dir).map_err(|e| self.folder_error(&e))?;
        let dir = self.open_dir(PortOp::Write, first)?;
        // The temporaries not yet renamed into place, to remove if anything fails.
        let mut pending: Vec<String> = Vec::with_capacity(files.len());
        let written = self.stage_and_replace(&dir, files, &mut pending);
        for temporary in &pending {
            // Best effort: the failure reported is the one that matters.
            let _ = rustix::fs::unlinkat(&dir, temporary.as_str(), AtFlags::empty());
        }
        written?;
        rustix::fs::fsync(&dir).map_err(|errno| self.error(errno, PortOp::SyncDir, first))
    }

    fn remove_abandoned(&self, names: &[&str]) {
        // A folder that cannot be opened (not made yet) holds nothing to remove.
        if let Some(first) = names.first()
            && let Ok(dir) = self.open_dir(PortOp::Write, first)
        {
            self.remove_abandoned_temporaries(&dir, names);
        }
    }

    fn stat(&self, name: &str) -> Result<Option<Fingerprint>, OutputError> {
        self.check_name(name, PortOp::Stat)?;
        let dir = match self.open_dir(PortOp::Stat, name) {
            Ok(dir) => dir,
            Err(e) if e.kind == PortErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile => {
                Ok(Some(fingerprint(&stat)))
            }
            Ok(_) | Err(Errno::NOENT) => Ok(None),
            Err(errno) => Err(self.error(errno, PortOp::Stat, name)),
        }
    }

    fn read(&self, name: &str, limit: u64) -> Result<Vec<u8>, OutputError> {
        self.check_name(name, PortOp::Read)?;
        let dir = self.open_dir(PortOp::Read, name)?;
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd =
            rustix::fs::openat(&dir, name, flags, Mode::empty()).map_err(|errno| match errno {
                Errno::LOOP => OutputError::new(PortErrorKind::Io, PortOp::Read, self.file(name))
                    .with_detail("it is a symbolic link"),
                _ => self.error(errno, PortOp::Read, name),
            })?;
        let stat = rustix::fs::fstat(&fd).map_err(|errno| self.error(errno, PortOp::Read, name))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(
                OutputError::new(PortErrorKind::Io, PortOp::Read, self.file(name))
                    .with_detail("not a regular file"),
            );
        }
        let too_large = || {
            OutputError::new(PortErrorKind::TooLarge, PortOp::Read, self.file(name))
                .with_detail(format!("more than {limit} bytes"))
        };
        let size = u64::try_from(stat.st_size).unwrap_or(u64::MAX);
        if size > limit {
            return Err(too_large());
        }
        let mut bytes = Vec::with_capacity(size as usize);
        File::from(fd)
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| self.io_error(&e, PortOp::Read, name))?;
        if bytes.len() as u64 > limit {
            return Err(too_large());
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Output errors are worded as the workspace's are: the OS's words only where they
    /// say more than the kind.
    #[test]
    fn an_os_error_is_worded_once() {
        let output = DiskOutput::new("/nowhere").with_location("build");
        let full = output.error(Errno::NOSPC, PortOp::Write, "assets.pak");
        assert_eq!(
            (full.kind, full.detail.as_str()),
            (PortErrorKind::DiskFull, "")
        );
        let read_only = output.io_error(
            &std::io::Error::from_raw_os_error(Errno::ROFS.raw_os_error()),
            PortOp::Write,
            "assets.pak",
        );
        assert_eq!(read_only.detail, "read-only file system");
        assert_eq!(read_only.file, "build/assets.pak");
    }
}
