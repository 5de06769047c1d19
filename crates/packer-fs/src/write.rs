//! Writing: directories, file content, fsync, rename and removal. None of them goes
//! through a symbolic link at the final component: content is opened with `O_NOFOLLOW`,
//! and `mkdirat`, `renameat` and `unlinkat` act on one name below a confined handle of
//! the parent, which is the link itself when there is one.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::Write;
use std::mem::MaybeUninit;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawDir, RenameFlags};
use rustix::io::Errno;

use packer_domain::path::WsPath;
use packer_domain::ports::{PortError, PortErrorKind, PortOp};

use crate::confine::FinalLink;
use crate::error::{io_port_error, port_error};
use crate::workspace::DiskWorkspace;

/// `rwxrwxrwx` and `rw-rw-rw-` less the umask, as every tool creates them.
const DIR_MODE: u32 = 0o777;
const FILE_MODE: u32 = 0o666;
/// Buffer for listing a directory that is being removed.
const REMOVE_BUFFER: usize = 8 * 1024;

impl DiskWorkspace {
    pub(crate) fn make_dirs(&self, path: &WsPath) -> Result<(), PortError> {
        let op = PortOp::CreateDir;
        // Usually it exists already: one call.
        match self.open_dir_for_create(path, path) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind == PortErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut parent = self.open_dir_for_create(&WsPath::root(), path)?;
        let mut current = WsPath::root();
        for segment in path.segments() {
            current = current.child(segment).map_err(|e| {
                PortError::new(PortErrorKind::Io, op, path).with_detail(e.to_string())
            })?;
            parent = match self.open_dir_for_create(&current, path) {
                Ok(dir) => dir,
                Err(e) if e.kind == PortErrorKind::NotFound => {
                    // `mkdirat` on one name below a confined handle: confined too. A
                    // concurrent creator is not an error.
                    match rustix::fs::mkdirat(&parent, segment, Mode::from_raw_mode(DIR_MODE)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(errno) => return Err(port_error(errno, op, path)),
                    }
                    self.open_dir_for_create(&current, path)
                        .map_err(|e| match e.kind {
                            // `EEXIST` above, yet nothing to open: a broken link is in the way.
                            PortErrorKind::NotFound => {
                                PortError::new(PortErrorKind::AlreadyExists, op, path).with_detail(
                                    format!(
                                        "{} is a symbolic link that leads nowhere",
                                        current.display_in_project()
                                    ),
                                )
                            }
                            _ => e,
                        })?
                }
                Err(e) => return Err(e),
            };
        }
        Ok(())
    }

    /// A handle of the directory `current` on the way to `path`; a file there is
    /// `AlreadyExists`, as the port's contract says. Errors name `path`.
    fn open_dir_for_create(&self, current: &WsPath, path: &WsPath) -> Result<OwnedFd, PortError> {
        let op = PortOp::CreateDir;
        self.open_dir(current, op).map_err(|e| match e.kind {
            PortErrorKind::NotADirectory => PortError::new(PortErrorKind::AlreadyExists, op, path)
                .with_detail(format!("{} is a file", current.display_in_project())),
            _ => PortError {
                path: path.clone(),
                ..e
            },
        })
    }

    pub(crate) fn write_bytes(&self, path: &WsPath, bytes: &[u8]) -> Result<(), PortError> {
        let op = PortOp::Write;
        // O_NONBLOCK: a FIFO in the way fails (`ENXIO`) instead of hanging.
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::NONBLOCK;
        let fd = self.open_confined(
            path,
            flags,
            Mode::from_raw_mode(FILE_MODE),
            FinalLink::Refuse,
            op,
        )?;
        let stat = rustix::fs::fstat(&fd).map_err(|e| port_error(e, op, path))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(PortError::new(PortErrorKind::Io, op, path)
                .with_detail("not a regular file (a device, FIFO or socket)"));
        }
        File::from(fd)
            .write_all(bytes)
            .map_err(|e| io_port_error(&e, op, path))
    }

    pub(crate) fn fsync_file(&self, path: &WsPath) -> Result<(), PortError> {
        let op = PortOp::SyncFile;
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY;
        let fd = self.open_confined(path, flags, Mode::empty(), FinalLink::Follow, op)?;
        let stat = rustix::fs::fstat(&fd).map_err(|e| port_error(e, op, path))?;
        if FileType::from_raw_mode(stat.st_mode) == FileType::Directory {
            return Err(PortError::new(PortErrorKind::IsADirectory, op, path)
                .with_detail("use sync_dir for a directory"));
        }
        rustix::fs::fsync(&fd).map_err(|e| port_error(e, op, path))
    }

    pub(crate) fn fsync_dir(&self, path: &WsPath) -> Result<(), PortError> {
        let op = PortOp::SyncDir;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY;
        let fd = self.open_confined(path, flags, Mode::empty(), FinalLink::Follow, op)?;
        rustix::fs::fsync(&fd).map_err(|e| port_error(e, op, path))
    }

    pub(crate) fn check_dir_writable(&self, path: &WsPath) -> Result<(), PortError> {
        let op = PortOp::CheckWritable;
        // `O_PATH`: a directory without read permission can still take new entries.
        let flags = OFlags::PATH | OFlags::DIRECTORY;
        let fd = self.open_confined(path, flags, Mode::empty(), FinalLink::Follow, op)?;
        // `.` from the directory itself: no name is resolved again, so no link can lead
        // the check elsewhere. No flags: plain `faccessat`, on every kernel (asking about
        // the effective ids needs `faccessat2`, Linux 5.8); the packer does not run
        // set-uid, so its real and effective ids are one.
        let wanted = rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK;
        match rustix::fs::accessat(&fd, ".", wanted, AtFlags::empty()) {
            Ok(()) => Ok(()),
            // A check the system cannot make says nothing: the write will tell.
            Err(Errno::NOSYS | Errno::INVAL) => Ok(()),
            Err(errno) => Err(port_error(errno, op, path)),
        }
    }

    pub(crate) fn rename_entry(&self, from: &WsPath, to: &WsPath) -> Result<(), PortError> {
        let op = PortOp::Rename;
        let (from_dir, from_name) = self.parent_of(from, op)?;
        let source = rustix::fs::statat(&from_dir, from_name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| port_error(e, op, from))?;
        let source_is_dir = FileType::from_raw_mode(source.st_mode) == FileType::Directory;
        if to.is_root() {
            // The workspace directory is always there, and always a directory.
            let kind = if source_is_dir {
                PortErrorKind::AlreadyExists
            } else {
                PortErrorKind::IsADirectory
            };
            return Err(PortError::new(kind, op, to));
        }
        if from == to {
            return Ok(());
        }
        let (to_dir, to_name) = self.parent_of(to, op)?;
        let renamed = if source_is_dir {
            // rename(2) would let a directory replace an empty one; the contract says a
            // directory only moves to where nothing is.
            match rustix::fs::renameat_with(
                &from_dir,
                from_name,
                &to_dir,
                to_name,
                RenameFlags::NOREPLACE,
            ) {
                // The file system cannot do `RENAME_NOREPLACE`: check, then rename.
                Err(Errno::INVAL) => {
                    match rustix::fs::statat(&to_dir, to_name, AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(_) => Err(Errno::EXIST),
                        Err(Errno::NOENT) => {
                            rustix::fs::renameat(&from_dir, from_name, &to_dir, to_name)
                        }
                        Err(errno) => Err(errno),
                    }
                }
                other => other,
            }
        } else {
            keep_permissions(&from_dir, from_name, source.st_mode, &to_dir, to_name)
                .map_err(|e| port_error(e, op, from))?;
            rustix::fs::renameat(&from_dir, from_name, &to_dir, to_name)
        };
        renamed.map_err(|errno| {
            // Name the side the error is about.
            let about = match errno {
                Errno::EXIST | Errno::NOTEMPTY | Errno::ISDIR | Errno::NOTDIR => to,
                _ => from,
            };
            port_error(errno, op, about)
        })
    }

    pub(crate) fn unlink_file(&self, path: &WsPath) -> Result<(), PortError> {
        let op = PortOp::RemoveFile;
        if path.is_root() {
            return Err(PortError::new(PortErrorKind::IsADirectory, op, path));
        }
        let (dir, name) = self.parent_of(path, op)?;
        // unlink(2) answers `EISDIR` for a directory on Linux.
        rustix::fs::unlinkat(&dir, name, AtFlags::empty()).map_err(|e| port_error(e, op, path))
    }

    pub(crate) fn remove_tree(&self, path: &WsPath) -> Result<(), PortError> {
        let op = PortOp::RemoveDir;
        let (dir, name) = self.parent_of(path, op)?;
        remove_tree_at(dir.as_fd(), name).map_err(|errno| match errno {
            // `O_NOFOLLOW | O_DIRECTORY` on a link: it is not a directory, and what it
            // points to is not removed.
            Errno::LOOP => PortError::new(PortErrorKind::NotADirectory, op, path)
                .with_detail("it is a symbolic link; its target is left alone"),
            _ => port_error(errno, op, path),
        })
    }

    pub(crate) fn remove_if_empty(&self, path: &WsPath) -> Result<bool, PortError> {
        let op = PortOp::RemoveDir;
        let (dir, name) = self.parent_of(path, op)?;
        match rustix::fs::unlinkat(dir.as_fd(), name, AtFlags::REMOVEDIR) {
            Ok(()) => Ok(true),
            // POSIX allows either for a directory that holds entries.
            Err(Errno::NOTEMPTY | Errno::EXIST) => Ok(false),
            Err(errno) => Err(port_error(errno, op, path)),
        }
    }

    /// A confined handle of `path`, which must be a directory.
    fn open_dir(&self, path: &WsPath, op: PortOp) -> Result<OwnedFd, PortError> {
        let flags = OFlags::PATH | OFlags::DIRECTORY;
        self.open_confined(path, flags, Mode::empty(), FinalLink::Follow, op)
    }

    /// The confined handle of `path`'s parent and `path`'s own name. Errors name `path`.
    /// The workspace directory itself has no parent: it is never renamed or removed.
    fn parent_of<'p>(&self, path: &'p WsPath, op: PortOp) -> Result<(OwnedFd, &'p str), PortError> {
        let Some(parent) = path.parent() else {
            return Err(PortError::new(PortErrorKind::PermissionDenied, op, path)
                .with_detail("the workspace directory itself is never renamed or removed"));
        };
        let dir = self.open_dir(&parent, op).map_err(|e| PortError {
            path: path.clone(),
            ..e
        })?;
        Ok((dir, path.file_name()))
    }
}

/// A directory being emptied, on the removal stack.
struct Frame {
    dir: OwnedFd,
    name: CString,
    subdirs: Vec<CString>,
}

/// Gives the file `from_name` the permission bits of the regular file it is about to
/// replace, if any: a commit changes what a file says, not who may read or write it (a
/// group-writable registry stays so, a private one stays private).
fn keep_permissions(
    from_dir: &OwnedFd,
    from_name: &str,
    from_mode: u32,
    to_dir: &OwnedFd,
    to_name: &str,
) -> Result<(), Errno> {
    const PERMISSIONS: u32 = 0o7777;
    let replaced = match rustix::fs::statat(to_dir, to_name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => stat,
        Err(Errno::NOENT) => return Ok(()),
        Err(errno) => return Err(errno),
    };
    if FileType::from_raw_mode(from_mode) != FileType::RegularFile
        || FileType::from_raw_mode(replaced.st_mode) != FileType::RegularFile
        || replaced.st_mode & PERMISSIONS == from_mode & PERMISSIONS
    {
        return Ok(());
    }
    let mode = Mode::from_raw_mode(replaced.st_mode & PERMISSIONS);
    rustix::fs::chmodat(from_dir, from_name, mode, AtFlags::empty())
}

/// Removes the directory `name` below `parent` and everything in it, without following
/// any link (a link is removed, never entered). Depth-first with an explicit stack, so a
/// deep tree costs handles, not call stack.
fn remove_tree_at(parent: BorrowedFd<'_>, name: &str) -> Result<(), Errno> {
    let mut buffer: Vec<MaybeUninit<u8>> = Vec::with_capacity(REMOVE_BUFFER);
    buffer.resize(REMOVE_BUFFER, MaybeUninit::uninit());
    let name = CString::new(name).map_err(|_| Errno::INVAL)?;
    let dir = open_subdir(parent, &name)?;
    let subdirs = remove_files(&dir, &mut buffer)?;
    let mut stack = vec![Frame { dir, name, subdirs }];
    while let Some(top) = stack.last_mut() {
        if let Some(child) = top.subdirs.pop() {
            let dir = match open_subdir(top.dir.as_fd(), &child) {
                Ok(dir) => dir,
                Err(Errno::NOENT) => continue,
                Err(errno) => return Err(errno),
            };
            let subdirs = remove_files(&dir, &mut buffer)?;
            stack.push(Frame {
                dir,
                name: child,
                subdirs,
            });
            continue;
        }
        let Some(done) = stack.pop() else { break };
        drop(done.dir);
        let holder = stack.last().map_or(parent, |frame| frame.dir.as_fd());
        match rustix::fs::unlinkat(holder, done.name.as_c_str(), AtFlags::REMOVEDIR) {
            // Someone else removed it meanwhile, unless it is the directory asked for.
            Err(Errno::NOENT) if !stack.is_empty() => {}
            other => other?,
        }
    }
    Ok(())
}

fn open_subdir(parent: BorrowedFd<'_>, name: &CStr) -> Result<OwnedFd, Errno> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::openat(parent, name, flags, Mode::empty()) {
        // `O_DIRECTORY | O_NOFOLLOW` on a link gives `ENOTDIR` on some kernels and
        // `ELOOP` on others; say `ELOOP` so the caller can explain.
        Err(Errno::NOTDIR) if is_symlink_at(parent, name) => Err(Errno::LOOP),
        other => other,
    }
}

fn is_symlink_at(dir: BorrowedFd<'_>, name: &CStr) -> bool {
    rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::Symlink)
}

/// Unlinks everything in `dir` that is not a directory and returns the names of the
/// subdirectories.
fn remove_files(dir: &OwnedFd, buffer: &mut [MaybeUninit<u8>]) -> Result<Vec<CString>, Errno> {
    let mut subdirs = Vec::new();
    let mut iter = RawDir::new(dir, buffer);
    while let Some(entry) = iter.next() {
        let entry = entry?;
        let name = entry.file_name();
        if matches!(name.to_bytes(), b"." | b"..") {
            continue;
        }
        let file_type = match entry.file_type() {
            FileType::Unknown => match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) => FileType::from_raw_mode(stat.st_mode),
                Err(Errno::NOENT) => continue,
                Err(errno) => return Err(errno),
            },
            known => known,
        };
        if file_type == FileType::Directory {
            subdirs.push(name.to_owned());
            continue;
        }
        match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(errno) => return Err(errno),
        }
    }
    Ok(subdirs)
}

#[cfg(test)]
mod tests {
    use packer_domain::ports::WorkspacePort;

    use super::*;
    use crate::testing::{Fixture, ws};

    #[test]
    fn remove_dir_all_handles_deep_trees_and_never_follows_links() {
        let fx = Fixture::new();
        // Deeper than a `WsPath` may spell: removal goes by handle, not by path.
        let mut deep = String::from("tx/1");
        for level in 0..300 {
            deep.push_str(&format!("/{level}"));
            if level % 50 == 0 {
                fx.write(&format!("{deep}/file"), b"x");
            }
        }
        std::fs::create_dir_all(fx.assets.join(&deep)).unwrap();
        fx.write("kept/file.txt", b"kept");
        fx.symlink("tx/1/to_kept", "../../kept");
        fx.symlink("tx/1/to_outside", "../../../outside");
        let port = DiskWorkspace::open(&fx.assets).unwrap();
        port.remove_dir_all(&ws("tx/1")).unwrap();
        assert!(!fx.assets.join("tx/1").exists());
        assert_eq!(fx.file("kept/file.txt"), b"kept");
        assert!(
            fx.secret
                .parent()
                .unwrap()
                .join("outside/file.txt")
                .exists()
        );
    }

    #[test]
    fn a_file_replaced_by_rename_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let fx = Fixture::new();
        let mode = |path: &str| {
            std::fs::metadata(fx.assets.join(path))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777
        };
        let set = |path: &str, mode: u32| {
            std::fs::set_permissions(fx.assets.join(path), std::fs::Permissions::from_mode(mode))
                .unwrap();
        };
        let port = DiskWorkspace::open(&fx.assets).unwrap();
        port.create_dir_all(&ws("tx/1")).unwrap();
        for kept in [0o600, 0o664, 0o444] {
            fx.write("a/asset.json", b"old");
            set("a/asset.json", kept);
            port.write_file(&ws("tx/1/0"), b"new").unwrap();
            port.rename(&ws("tx/1/0"), &ws("a/asset.json")).unwrap();
            assert_eq!(fx.file("a/asset.json"), b"new");
            assert_eq!(mode("a/asset.json"), kept, "{kept:o}");
            set("a/asset.json", 0o644);
        }
        // A new file gets the usual mode.
        port.write_file(&ws("tx/1/0"), b"fresh").unwrap();
        port.rename(&ws("tx/1/0"), &ws("b.json")).unwrap();
        assert_eq!(mode("b.json"), mode("a/asset.json"));
    }

    #[test]
    fn the_workspace_itself_is_never_renamed_or_removed() {
        let fx = Fixture::new();
        fx.write("a/file.txt", b"x");
        let port = DiskWorkspace::open(&fx.assets).unwrap();
        let root = WsPath::root();
        assert_eq!(
            port.remove_dir_all(&root).unwrap_err().kind,
            PortErrorKind::PermissionDenied
        );
        assert_eq!(
            port.rename(&root, &ws("elsewhere")).unwrap_err().kind,
            PortErrorKind::PermissionDenied
        );
        assert_eq!(
            port.remove_file(&root).unwrap_err().kind,
            PortErrorKind::IsADirectory
        );
        assert_eq!(fx.file("a/file.txt"), b"x");
    }

    #[test]
    fn errors_name_the_operation_and_path_with_the_os_words() {
        let fx = Fixture::new();
        let port = DiskWorkspace::open(&fx.assets).unwrap();
        // The kind says it all: the OS's words would say it again.
        let error = port.write_file(&ws("missing/new.txt"), b"x").unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot write assets/missing/new.txt: not found"
        );
        // Words that say more than the kind are kept, without the error's number.
        let error = port_error(Errno::ROFS, PortOp::Write, &ws("a.txt"));
        assert_eq!(
            error.to_string(),
            "cannot write assets/a.txt: permission denied (read-only file system)"
        );
        let error = port.rename(&ws("missing"), &ws("other")).unwrap_err();
        assert_eq!((error.op, error.path), (PortOp::Rename, ws("missing")));
    }
}
