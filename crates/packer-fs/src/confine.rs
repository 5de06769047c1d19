//! Confinement: every path the adapter touches is opened beneath the root directory's
//! descriptor, and symbolic links are only followed where they stay inside.
//!
//! On Linux 5.6 and later the kernel does the work: `openat2` with `RESOLVE_BENEATH`
//! refuses, in the same system call that opens the file, any resolution that would leave
//! the root. Paths are first opened with `RESOLVE_NO_SYMLINKS` too: on the common path
//! (no link anywhere) that one call is the whole cost, and a path without links cannot
//! reach `.prometeu` unless it is spelt so. When a link is on the way (`ELOOP`), the path
//! is resolved in user space ([`resolve`]) to a link-free path, checked, and that path is
//! opened again with `RESOLVE_NO_SYMLINKS`, so that what is opened is exactly what was
//! checked, whatever changes on disk in between.
//!
//! Where `openat2` is missing (older kernels, or a seccomp filter that refuses it), every
//! path goes through [`resolve`] and the link-free result is opened with plain `openat`
//! and `O_NOFOLLOW`. That is canonicalise-and-check: correct unless someone swaps a
//! directory for a link between the check and the open.
//!
//! Resolution is judged as `RESOLVE_BENEATH` judges it, in both modes: an absolute link
//! target, or a `..` that climbs above `assets/`, leaves the workspace even if a later
//! step would come back in. (A link that means to stay inside is relative anyway: an
//! absolute one would point into the old copy once the project is cloned or moved.)

use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use packer_domain::path::WsPath;
use packer_domain::ports::{PortError, PortErrorKind, PortOp};

use crate::error::{outside, port_error};
use crate::workspace::DiskWorkspace;

/// How the adapter keeps path resolution beneath the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Confinement {
    /// `openat2(RESOLVE_BENEATH)`: the kernel enforces it.
    Kernel,
    /// Resolve in user space, then open the link-free result with `O_NOFOLLOW`.
    UserSpace,
}

/// Whether the last component of a path may be a symbolic link to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FinalLink {
    /// Follow it (confined), as reads do.
    Follow,
    /// Refuse it: writes never go through a link at the final component.
    Refuse,
}

/// Where a path leads once its symbolic links are followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// An existing entry at this link-free path below the root.
    Inside(WsPath),
    /// Out of the root: an absolute target, a `..` above the root, or a name the
    /// workspace cannot spell (not UTF-8, not a valid [`WsPath`]).
    Outside,
    /// Nothing there: `NOENT` (broken), `NOTDIR` (a file on the way) or `LOOP`.
    Missing(Errno),
}

/// Links followed before a resolution counts as a loop; the kernel's own limit.
const MAX_LINKS: u32 = 40;
/// Times a link-free path is re-resolved when it changes between check and open.
const ATTEMPTS: usize = 3;

/// The kernel's confinement flags: stay beneath the descriptor, never through `/proc`
/// magic links.
fn beneath() -> ResolveFlags {
    ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS
}

/// Finds out whether this kernel has `openat2`. Old kernels answer `ENOSYS`; container
/// seccomp profiles that predate it answer `EPERM` (or `ENOSYS`); kernels missing one of
/// the flags answer `EINVAL`/`E2BIG`. Any of these means: confine in user space.
pub(crate) fn probe(root: BorrowedFd<'_>) -> Confinement {
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    match rustix::fs::openat2(root, ".", flags, Mode::empty(), beneath()) {
        Ok(_) => Confinement::Kernel,
        Err(_) => Confinement::UserSpace,
    }
}

/// The path to hand to a `*at` call relative to the root descriptor.
pub(crate) fn relative(path: &WsPath) -> &str {
    if path.is_root() { "." } else { path.as_str() }
}

impl DiskWorkspace {
    /// Opens `path` beneath the root with `flags` (`O_CLOEXEC` is added), following links
    /// only where they stay inside and in the path's own area (a user path may not lead
    /// into `.prometeu`, nor an internal path out of it).
    pub(crate) fn open_confined(
        &self,
        path: &WsPath,
        flags: OFlags,
        mode: Mode,
        last: FinalLink,
        op: PortOp,
    ) -> Result<OwnedFd, PortError> {
        let mut flags = flags | OFlags::CLOEXEC;
        if last == FinalLink::Refuse {
            flags |= OFlags::NOFOLLOW;
        }
        if self.confinement == Confinement::Kernel {
            match openat2_link_free(self.root(), relative(path), flags, mode) {
                Ok(fd) => return Ok(fd),
                // A link somewhere on the way: resolve it below.
                Err(Errno::LOOP) => {}
                Err(Errno::XDEV) => return Err(outside(op, path, "the path leaves the workspace")),
                Err(errno) => return Err(port_error(errno, op, path)),
            }
        }
        self.open_resolved(path, flags | OFlags::NOFOLLOW, mode, last, op)
    }

    /// The slow path: resolve the links in user space, check the result, open it without
    /// following anything, and start over if it changed in between.
    fn open_resolved(
        &self,
        path: &WsPath,
        flags: OFlags,
        mode: Mode,
        last: FinalLink,
        op: PortOp,
    ) -> Result<OwnedFd, PortError> {
        for _ in 0..ATTEMPTS {
            let target = match last {
                FinalLink::Follow => self.resolve_existing(path, path, op)?,
                // Resolve the parent only: the final component is opened as it is.
                FinalLink::Refuse => match path.parent() {
                    None => WsPath::root(),
                    Some(parent) => {
                        let parent = self.resolve_existing(path, &parent, op)?;
                        parent.child(path.file_name()).map_err(|e| {
                            PortError::new(PortErrorKind::Io, op, path).with_detail(e.to_string())
                        })?
                    }
                },
            };
            check_area(path, &target, op)?;
            let opened = match self.confinement {
                Confinement::Kernel => {
                    openat2_link_free(self.root(), relative(&target), flags, mode)
                }
                Confinement::UserSpace => {
                    rustix::fs::openat(self.root(), relative(&target), flags, mode)
                }
            };
            match opened {
                Ok(fd) => return Ok(fd),
                Err(Errno::LOOP) => {
                    if last == FinalLink::Refuse && is_symlink(self.root(), &target) {
                        return Err(self.refuse_link(path, op));
                    }
                    // Something on the way became a link after it was resolved: again.
                }
                Err(Errno::XDEV) => return Err(outside(op, path, "the path leaves the workspace")),
                Err(errno) => return Err(port_error(errno, op, path)),
            }
        }
        Err(PortError::new(PortErrorKind::Io, op, path)
            .with_detail("the path kept changing while its symbolic links were resolved"))
    }

    /// Resolves `target` (which is `path` or its parent) to an existing link-free path;
    /// errors name `path`.
    fn resolve_existing(
        &self,
        path: &WsPath,
        target: &WsPath,
        op: PortOp,
    ) -> Result<WsPath, PortError> {
        match resolve(self.root(), &WsPath::root(), target.as_str()) {
            Ok(Resolution::Inside(resolved)) => Ok(resolved),
            Ok(Resolution::Outside) => Err(outside(
                op,
                path,
                "a symbolic link on the way leads outside the workspace",
            )),
            Ok(Resolution::Missing(errno)) | Err(errno) => Err(port_error(errno, op, path)),
        }
    }

    /// The refusal to write through the link at `path`: `OutsideWorkspace` when it leads
    /// out (or across into `.prometeu`), `AlreadyExists` otherwise.
    fn refuse_link(&self, path: &WsPath, op: PortOp) -> PortError {
        let leads_out = match resolve(self.root(), &WsPath::root(), path.as_str()) {
            Ok(Resolution::Inside(target)) => target.is_internal() != path.is_internal(),
            Ok(Resolution::Outside) => true,
            Ok(Resolution::Missing(_)) | Err(_) => false,
        };
        if leads_out {
            outside(
                op,
                path,
                "it is a symbolic link that leads outside the workspace",
            )
        } else {
            PortError::new(PortErrorKind::AlreadyExists, op, path)
                .with_detail("it is a symbolic link; the packer never writes through one")
        }
    }
}

/// A user path may not be steered into `.prometeu`, nor an internal path out of it: the
/// packer's own files and the user's never alias.
fn check_area(path: &WsPath, target: &WsPath, op: PortOp) -> Result<(), PortError> {
    match (path.is_internal(), target.is_internal()) {
        (false, true) => Err(outside(
            op,
            path,
            "a symbolic link on the way leads into .prometeu, which belongs to the packer",
        )),
        (true, false) => Err(outside(
            op,
            path,
            "a symbolic link inside .prometeu leads out of it",
        )),
        _ => Ok(()),
    }
}

/// `openat2` beneath `root` without following any symbolic link; retried on `EAGAIN`,
/// which the kernel returns when a concurrent rename makes a `RESOLVE_BENEATH` walk
/// ambiguous.
pub(crate) fn openat2_link_free(
    root: BorrowedFd<'_>,
    path: &str,
    flags: OFlags,
    mode: Mode,
) -> Result<OwnedFd, Errno> {
    let resolve = beneath() | ResolveFlags::NO_SYMLINKS;
    let mut result = rustix::fs::openat2(root, path, flags, mode, resolve);
    for _ in 0..ATTEMPTS {
        if !matches!(result, Err(Errno::AGAIN)) {
            break;
        }
        result = rustix::fs::openat2(root, path, flags, mode, resolve);
    }
    result
}

fn is_symlink(root: BorrowedFd<'_>, path: &WsPath) -> bool {
    rustix::fs::statat(root, relative(path), AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::Symlink)
}

/// Resolves `rest` below `base` (an existing directory whose path holds no link),
/// following every symbolic link in user space with `readlinkat` on the root descriptor,
/// as `RESOLVE_BENEATH` would. `Err` is for failures other than absence (permissions).
pub(crate) fn resolve(
    root: BorrowedFd<'_>,
    base: &WsPath,
    rest: &str,
) -> Result<Resolution, Errno> {
    let mut done = base.as_str().to_owned();
    // Whether `done` is known to be a directory; a `..` after a file is `ENOTDIR`.
    let mut done_is_dir = true;
    // Components still to walk, the next one last.
    let mut pending: Vec<String> = rest.rsplit('/').map(str::to_owned).collect();
    let mut links = 0;
    while let Some(segment) = pending.pop() {
        match segment.as_str() {
            "" | "." => {}
            ".." => {
                if done.is_empty() {
                    return Ok(Resolution::Outside);
                }
                if !done_is_dir && !is_dir(root, &done)? {
                    return Ok(Resolution::Missing(Errno::NOTDIR));
                }
                done.truncate(done.rfind('/').unwrap_or(0));
                done_is_dir = true;
            }
            name => {
                let candidate = if done.is_empty() {
                    name.to_owned()
                } else {
                    format!("{done}/{name}")
                };
                match rustix::fs::readlinkat(root, candidate.as_str(), Vec::new()) {
                    Ok(target) => {
                        links += 1;
                        if links > MAX_LINKS {
                            return Ok(Resolution::Missing(Errno::LOOP));
                        }
                        let Ok(target) = target.into_string() else {
                            return Ok(Resolution::Outside);
                        };
                        if target.starts_with('/') {
                            return Ok(Resolution::Outside);
                        }
                        if target.is_empty() {
                            return Ok(Resolution::Missing(Errno::NOENT));
                        }
                        pending.extend(target.rsplit('/').map(str::to_owned));
                    }
                    // Not a link: an existing entry, walk on from it.
                    Err(Errno::INVAL) => {
                        done = candidate;
                        done_is_dir = false;
                    }
                    Err(errno @ (Errno::NOENT | Errno::NOTDIR | Errno::LOOP)) => {
                        return Ok(Resolution::Missing(errno));
                    }
                    Err(errno) => return Err(errno),
                }
            }
        }
    }
    if done.is_empty() {
        return Ok(Resolution::Inside(WsPath::root()));
    }
    Ok(WsPath::new(&done).map_or(Resolution::Outside, Resolution::Inside))
}

fn is_dir(root: BorrowedFd<'_>, path: &str) -> Result<bool, Errno> {
    match rustix::fs::statat(root, path, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(FileType::from_raw_mode(stat.st_mode) == FileType::Directory),
        Err(Errno::NOENT | Errno::NOTDIR) => Ok(false),
        Err(errno) => Err(errno),
    }
}

#[cfg(test)]
mod tests {
    use packer_domain::ports::{PortErrorKind, WorkspacePort};

    use super::*;
    use crate::testing::{Fixture, ws};

    /// A workspace with one link of each sort.
    fn fixture() -> Fixture {
        let fx = Fixture::new();
        fx.write("a/file.txt", b"inside");
        fx.write(".prometeu/index.json", b"{}");
        fx.symlink("a/link", "file.txt");
        fx.symlink("a/up", "../b/target.txt");
        fx.write("b/target.txt", b"target");
        fx.symlink("dirlink", "a");
        fx.symlink("out_relative", "../secret.txt");
        fx.symlink("out_absolute", &fx.secret);
        fx.symlink("out_dir", "../outside");
        fx.symlink("back_in", "../assets/a/file.txt");
        fx.symlink("meta", ".prometeu");
        fx.symlink(".prometeu/escape", "../a/file.txt");
        fx.symlink("dangling", "nope");
        fx.symlink("loop1", "loop2");
        fx.symlink("loop2", "loop1");
        fx.symlink("through_file", "a/file.txt/x");
        fx
    }

    fn check_read(fx: &Fixture, path: &str, expected: Result<&[u8], PortErrorKind>) {
        for port in fx.workspaces() {
            let got = port
                .read(&ws(path), 1 << 20)
                .map(|r| r.bytes)
                .map_err(|e| e.kind);
            assert_eq!(
                got,
                expected.map(<[u8]>::to_vec),
                "{path} with {:?}",
                port.confinement
            );
        }
    }

    #[test]
    fn links_inside_are_followed() {
        let fx = fixture();
        check_read(&fx, "a/file.txt", Ok(b"inside"));
        check_read(&fx, "a/link", Ok(b"inside"));
        check_read(&fx, "a/up", Ok(b"target"));
        check_read(&fx, "dirlink/file.txt", Ok(b"inside"));
        check_read(&fx, "dirlink/link", Ok(b"inside"));
        check_read(&fx, ".prometeu/index.json", Ok(b"{}"));
    }

    #[test]
    fn links_leaving_the_workspace_are_refused() {
        let fx = fixture();
        let outside = Err(PortErrorKind::OutsideWorkspace);
        check_read(&fx, "out_relative", outside);
        check_read(&fx, "out_absolute", outside);
        check_read(&fx, "out_dir/file.txt", outside);
        // `RESOLVE_BENEATH` semantics: climbing above the root is leaving it.
        check_read(&fx, "back_in", outside);
        // A user path may not reach `.prometeu`, nor an internal one leave it.
        check_read(&fx, "meta/index.json", outside);
        check_read(&fx, ".prometeu/escape", outside);
    }

    #[test]
    fn broken_links_are_not_found() {
        let fx = fixture();
        check_read(&fx, "dangling", Err(PortErrorKind::NotFound));
        check_read(&fx, "loop1", Err(PortErrorKind::Io));
        check_read(&fx, "through_file", Err(PortErrorKind::NotADirectory));
        check_read(&fx, "a/missing", Err(PortErrorKind::NotFound));
    }

    #[test]
    fn writes_follow_parent_links_but_never_the_final_one() {
        let fx = fixture();
        for port in fx.workspaces() {
            port.write_file(&ws("dirlink/new.txt"), b"new").unwrap();
            assert_eq!(fx.file("a/new.txt"), b"new");
            let refused = port.write_file(&ws("a/link"), b"through").unwrap_err();
            assert_eq!(refused.kind, PortErrorKind::AlreadyExists, "{refused}");
            assert_eq!(fx.file("a/file.txt"), b"inside");
            let refused = port.write_file(&ws("out_relative"), b"x").unwrap_err();
            assert_eq!(refused.kind, PortErrorKind::OutsideWorkspace, "{refused}");
            let refused = port.write_file(&ws("out_dir/new.txt"), b"x").unwrap_err();
            assert_eq!(refused.kind, PortErrorKind::OutsideWorkspace, "{refused}");
            let refused = port.write_file(&ws("meta/index.json"), b"x").unwrap_err();
            assert_eq!(refused.kind, PortErrorKind::OutsideWorkspace, "{refused}");
            assert_eq!(fx.file(".prometeu/index.json"), b"{}");
            let refused = port.create_dir_all(&ws("out_dir/sub")).unwrap_err();
            assert_eq!(refused.kind, PortErrorKind::OutsideWorkspace, "{refused}");
            let refused = port.remove_dir_all(&ws("out_dir")).unwrap_err();
            assert_eq!(refused.kind, PortErrorKind::NotADirectory, "{refused}");
            let refused = port
                .rename(&ws("a/file.txt"), &ws("out_dir/stolen"))
                .unwrap_err();
            assert_eq!(refused.kind, PortErrorKind::OutsideWorkspace, "{refused}");
            std::fs::remove_file(fx.assets.join("a/new.txt")).unwrap();
        }
        let outside = fx.secret.parent().unwrap();
        assert_eq!(std::fs::read(&fx.secret).unwrap(), b"secret");
        assert_eq!(
            std::fs::read(outside.join("outside/file.txt")).unwrap(),
            b"outside"
        );
        assert!(!outside.join("outside/sub").exists());
        assert!(!outside.join("outside/stolen").exists());
    }

    #[test]
    fn resolve_reports_where_links_lead() {
        let fx = fixture();
        let port = DiskWorkspace::open(&fx.assets).unwrap();
        let check = |base: &str, rest: &str, expected: Resolution| {
            let base = if base.is_empty() {
                WsPath::root()
            } else {
                ws(base)
            };
            assert_eq!(
                resolve(port.root(), &base, rest),
                Ok(expected),
                "{base}/{rest}"
            );
        };
        check("", "a/link", Resolution::Inside(ws("a/file.txt")));
        check("a", "up", Resolution::Inside(ws("b/target.txt")));
        check("", "dirlink/link", Resolution::Inside(ws("a/file.txt")));
        check("", "dirlink", Resolution::Inside(ws("a")));
        check("", "meta", Resolution::Inside(ws(".prometeu")));
        check("", "out_relative", Resolution::Outside);
        check("", "out_absolute", Resolution::Outside);
        check("", "back_in", Resolution::Outside);
        check("", "dangling", Resolution::Missing(Errno::NOENT));
        check("", "loop1", Resolution::Missing(Errno::LOOP));
        check("", "through_file", Resolution::Missing(Errno::NOTDIR));
        check("", "a/file.txt/..", Resolution::Missing(Errno::NOTDIR));
        check("a", "..", Resolution::Inside(WsPath::root()));
    }

    #[test]
    fn the_kernel_confines_where_it_can() {
        let fx = fixture();
        let port = DiskWorkspace::open(&fx.assets).unwrap();
        // Where openat2 exists, the fast path is taken and `EXDEV` comes straight from the
        // kernel for a `..` that the user-space resolver never sees.
        if port.confinement == Confinement::Kernel {
            let flags = OFlags::RDONLY | OFlags::CLOEXEC;
            let escaped = rustix::fs::openat2(
                port.root(),
                "../secret.txt",
                flags,
                Mode::empty(),
                beneath(),
            );
            assert_eq!(escaped.err(), Some(Errno::XDEV));
        }
    }
}
