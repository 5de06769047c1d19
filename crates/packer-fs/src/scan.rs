//! The workspace scan: a parallel walk of `assets/` that reads directory entries with
//! `getdents64` and their types from `d_type`, so that listing a tree costs one open and
//! a couple of `getdents64` per directory and nothing per entry, unless fingerprints are
//! asked for (one `fstatat` per regular file) or an entry is a symbolic link (resolved,
//! never descended into).
//!
//! Each directory is opened with `openat(parent, name, O_NOFOLLOW | O_DIRECTORY)`: one
//! component below a directory that was itself reached that way from the root, so the
//! walk cannot leave the workspace whatever the entries are.
//!
//! Entries the workspace cannot name are left out, silently: names that are not UTF-8,
//! or not valid [`WsPath`] segments (a backslash, a control character, a `C:` drive
//! prefix, a path longer than the limit). So are FIFOs, sockets and devices, which hold
//! no asset content. The top-level `.prometeu` is never entered.
//!
//! Work sharing: each worker walks depth-first from a stack of its own and hands half of
//! it to the shared queue when another worker is idle. Depth-first order keeps few
//! directory handles open (a queued directory holds its parent's handle).

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawDir};
use rustix::io::Errno;

use packer_domain::path::{PROMETEU_DIR, WsPath};
use packer_domain::ports::{EntryKind, LinkTarget, PortError, PortOp, ScanEntry, ScanOptions};

use crate::confine::{Resolution, relative, resolve};
use crate::error::port_error;
use crate::read::fingerprint;
use crate::workspace::DiskWorkspace;

/// Size of each worker's `getdents64` buffer: a few hundred entries per call.
const DIRENT_BUFFER: usize = 32 * 1024;

pub(crate) fn scan(ws: &DiskWorkspace, options: ScanOptions) -> Result<Vec<ScanEntry>, PortError> {
    let threads = ws.threads;
    let shared = Shared {
        state: Mutex::new(State {
            jobs: vec![Job {
                parent: None,
                path: WsPath::root(),
            }],
            active: threads,
            error: None,
        }),
        wake: Condvar::new(),
        idle: AtomicUsize::new(0),
        failed: AtomicBool::new(false),
    };
    let walker = Walker {
        ws,
        options,
        shared: &shared,
    };
    let blocks = thread::scope(|scope| {
        let handles: Vec<_> = (1..threads)
            .filter_map(
                |_| match thread::Builder::new().spawn_scoped(scope, || walker.run()) {
                    Ok(handle) => Some(handle),
                    Err(_) => {
                        // Its share of the work goes to the others.
                        walker.shared.lock().active -= 1;
                        walker.shared.wake.notify_all();
                        None
                    }
                },
            )
            .collect();
        let mut blocks = walker.run();
        for handle in handles {
            match handle.join() {
                Ok(more) => blocks.merge(more),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        blocks
    });
    if let Some(error) = shared.lock().error.take() {
        return Err(error);
    }
    Ok(blocks.into_vec())
}

/// A directory to list.
struct Job {
    /// The open parent directory; `None` for the root.
    parent: Option<Arc<OwnedFd>>,
    path: WsPath,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Workers waiting for work; read without the lock to decide whether to share.
    idle: AtomicUsize,
    /// Set with `State::error`, read without the lock to stop early.
    failed: AtomicBool,
}

struct State {
    jobs: Vec<Job>,
    /// Workers that hold work or may still produce some. When it is zero and `jobs` is
    /// empty, the walk is over.
    active: usize,
    error: Option<PortError>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking worker is re-raised by the scope; the queue itself stays coherent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fail(&self, error: PortError) {
        let mut state = self.lock();
        state.error.get_or_insert(error);
        self.failed.store(true, Ordering::Relaxed);
        self.wake.notify_all();
    }
}

struct Walker<'a> {
    ws: &'a DiskWorkspace,
    options: ScanOptions,
    shared: &'a Shared,
}

impl Walker<'_> {
    /// One worker: takes work from the queue until none is left anywhere, and returns the
    /// entries it found.
    fn run(&self) -> Blocks {
        let mut entries = Blocks::new();
        let mut local: Vec<Job> = Vec::new();
        let mut subdirs: Vec<WsPath> = Vec::new();
        let mut buffer: Vec<MaybeUninit<u8>> = Vec::with_capacity(DIRENT_BUFFER);
        buffer.resize(DIRENT_BUFFER, MaybeUninit::uninit());
        loop {
            if local.is_empty() && !self.refill(&mut local) {
                return entries;
            }
            if self.shared.failed.load(Ordering::Relaxed) {
                // Leave the walk; `refill` tells the others.
                local.clear();
                continue;
            }
            let Some(job) = local.pop() else { continue };
            let listed = self.list(&job, &mut buffer, &mut entries, &mut subdirs);
            match listed {
                Ok(Some(dir)) if !subdirs.is_empty() => {
                    let dir = Arc::new(dir);
                    local.extend(subdirs.drain(..).map(|path| Job {
                        parent: Some(Arc::clone(&dir)),
                        path,
                    }));
                }
                Ok(_) => subdirs.clear(),
                Err(error) => {
                    subdirs.clear();
                    local.clear();
                    self.shared.fail(error);
                }
            }
            if local.len() > 1 && self.shared.idle.load(Ordering::Relaxed) > 0 {
                self.share(&mut local);
            }
        }
    }

    /// Waits for shared work; `false` when the walk is over (or failed).
    fn refill(&self, local: &mut Vec<Job>) -> bool {
        let mut state = self.shared.lock();
        state.active -= 1;
        loop {
            if state.error.is_some() {
                self.shared.wake.notify_all();
                return false;
            }
            if !state.jobs.is_empty() {
                let take = state.jobs.len().div_ceil(2);
                let from = state.jobs.len() - take;
                local.extend(state.jobs.drain(from..));
                state.active += 1;
                return true;
            }
            if state.active == 0 {
                self.shared.wake.notify_all();
                return false;
            }
            self.shared.idle.fetch_add(1, Ordering::Relaxed);
            state = self
                .shared
                .wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            self.shared.idle.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Hands the older half of the local stack (the shallower directories, which hold
    /// the most work) to idle workers.
    fn share(&self, local: &mut Vec<Job>) {
        let half = local.len() / 2;
        let mut state = self.shared.lock();
        state.jobs.extend(local.drain(..half));
        self.shared.wake.notify_all();
    }

    /// Lists one directory into `entries`, its subdirectories into `subdirs`, and returns
    /// its open handle (for the subdirectories to be opened from), or `None` when it
    /// vanished or was replaced since it was seen.
    fn list(
        &self,
        job: &Job,
        buffer: &mut [MaybeUninit<u8>],
        entries: &mut Blocks,
        subdirs: &mut Vec<WsPath>,
    ) -> Result<Option<OwnedFd>, PortError> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let opened = match &job.parent {
            None => rustix::fs::openat(self.ws.root(), ".", flags, Mode::empty()),
            Some(parent) => rustix::fs::openat(parent, job.path.file_name(), flags, Mode::empty()),
        };
        let dir = match opened {
            Ok(dir) => dir,
            // Removed, or replaced by a file or a link, since its parent was listed.
            Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP) => return Ok(None),
            Err(errno) => return Err(port_error(errno, PortOp::Scan, &job.path)),
        };
        let mut iter = RawDir::new(&dir, buffer);
        while let Some(entry) = iter.next() {
            let entry = match entry {
                Ok(entry) => entry,
                // The directory was removed while it was read.
                Err(Errno::NOENT) => break,
                Err(errno) => return Err(port_error(errno, PortOp::Scan, &job.path)),
            };
            let c_name = entry.file_name();
            let Ok(name) = std::str::from_utf8(c_name.to_bytes()) else {
                continue;
            };
            if name == "." || name == ".." || (job.path.is_root() && name == PROMETEU_DIR) {
                continue;
            }
            let Ok(path) = job.path.child(name) else {
                continue;
            };
            let file_type = match entry.file_type() {
                // Some file systems do not fill in `d_type`.
                FileType::Unknown => match stat_entry(dir.as_fd(), c_name, &path)? {
                    Some(stat) => FileType::from_raw_mode(stat.st_mode),
                    None => continue,
                },
                known => known,
            };
            let (kind, fingerprint) = match file_type {
                FileType::Directory => {
                    subdirs.push(path.clone());
                    (EntryKind::Dir, None)
                }
                FileType::RegularFile if self.options.fingerprints => {
                    match stat_entry(dir.as_fd(), c_name, &path)? {
                        Some(stat)
                            if FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile =>
                        {
                            (EntryKind::File, Some(fingerprint(&stat)))
                        }
                        // Replaced by something else since it was listed; the next scan
                        // will see what it became.
                        _ => continue,
                    }
                }
                FileType::RegularFile => (EntryKind::File, None),
                FileType::Symlink => (EntryKind::Symlink(self.link_target(&job.path, name)), None),
                // FIFOs, sockets, devices.
                _ => continue,
            };
            entries.push(ScanEntry {
                path,
                kind,
                fingerprint,
            });
        }
        Ok(Some(dir))
    }

    /// Where the link `dir/name` leads. Resolution starts at `dir`, which the walk reached
    /// without any link.
    fn link_target(&self, dir: &WsPath, name: &str) -> LinkTarget {
        let root = self.ws.root();
        match resolve(root, dir, name) {
            Ok(Resolution::Inside(target)) if target.is_internal() => LinkTarget::Outside,
            Ok(Resolution::Inside(target)) => {
                match rustix::fs::statat(root, relative(&target), AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(stat) => LinkTarget::Inside {
                        is_dir: FileType::from_raw_mode(stat.st_mode) == FileType::Directory,
                        path: target,
                    },
                    Err(_) => LinkTarget::Dangling,
                }
            }
            Ok(Resolution::Outside) => LinkTarget::Outside,
            // Broken, a loop, or a target we may not look at: it leads nowhere usable.
            Ok(Resolution::Missing(_)) | Err(_) => LinkTarget::Dangling,
        }
    }
}

/// `fstatat` of one entry without following it; `None` when it vanished.
fn stat_entry(
    dir: BorrowedFd<'_>,
    name: &std::ffi::CStr,
    path: &WsPath,
) -> Result<Option<rustix::fs::Stat>, PortError> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(Some(stat)),
        Err(Errno::NOENT) => Ok(None),
        Err(errno) => Err(port_error(errno, PortOp::Scan, path)),
    }
}

/// A worker's entries in blocks, so that its growing list never copies itself, and the
/// final list is copied once into a vector of exactly the right size. Blocks start small
/// (most scans the observer makes are of small trees) and double up to [`BLOCK`].
struct Blocks {
    full: Vec<Vec<ScanEntry>>,
    current: Vec<ScanEntry>,
}

/// Largest block, in entries.
const BLOCK: usize = 4096;
const FIRST_BLOCK: usize = 64;

impl Blocks {
    fn new() -> Blocks {
        Blocks {
            full: Vec::new(),
            current: Vec::with_capacity(FIRST_BLOCK),
        }
    }

    fn push(&mut self, entry: ScanEntry) {
        if self.current.len() == self.current.capacity() {
            let next = Vec::with_capacity((self.current.capacity() * 2).min(BLOCK));
            self.full.push(std::mem::replace(&mut self.current, next));
        }
        self.current.push(entry);
    }

    fn merge(&mut self, other: Blocks) {
        self.full.extend(other.full);
        self.full.push(other.current);
    }

    fn into_vec(mut self) -> Vec<ScanEntry> {
        self.full.push(self.current);
        let total = self.full.iter().map(Vec::len).sum();
        let mut entries = Vec::with_capacity(total);
        for block in self.full {
            entries.extend(block);
        }
        entries
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;

    use packer_domain::ports::WorkspacePort;

    use super::*;
    use crate::testing::{Fixture, ws};

    fn listing(port: &DiskWorkspace, options: ScanOptions) -> Vec<(String, EntryKind)> {
        let mut entries: Vec<_> = port
            .scan(options)
            .unwrap()
            .into_iter()
            .map(|e| (e.path.as_str().to_owned(), e.kind))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries
    }

    #[test]
    fn scan_reports_entries_and_where_links_lead() {
        let fx = Fixture::new();
        fx.write("sprites/hero/asset.json", b"{}");
        fx.write("sprites/hero/hero.png", b"png");
        fx.mkdir("empty");
        fx.write(".prometeu/index.json", b"{}");
        fx.write(
            "nested/.prometeu/kept.txt",
            b"only the top-level one is the packer's",
        );
        fx.symlink("sprites/hero/alias.png", "hero.png");
        fx.symlink("hero_dir", "sprites/hero");
        fx.symlink("out", "../secret.txt");
        fx.symlink("meta", ".prometeu");
        fx.symlink("dangling", "nope");
        fx.symlink("loop", "loop");
        // Names the workspace cannot spell are left out.
        std::fs::write(fx.assets.join(OsStr::from_bytes(b"bad\xff.txt")), b"x").unwrap();
        std::fs::write(fx.assets.join("back\\slash.txt"), b"x").unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            fx.assets.join("fifo"),
            FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let inside = |path: &str, is_dir| {
            EntryKind::Symlink(LinkTarget::Inside {
                path: ws(path),
                is_dir,
            })
        };
        let expected = vec![
            (
                "dangling".to_owned(),
                EntryKind::Symlink(LinkTarget::Dangling),
            ),
            ("empty".to_owned(), EntryKind::Dir),
            ("hero_dir".to_owned(), inside("sprites/hero", true)),
            ("loop".to_owned(), EntryKind::Symlink(LinkTarget::Dangling)),
            ("meta".to_owned(), EntryKind::Symlink(LinkTarget::Outside)),
            ("nested".to_owned(), EntryKind::Dir),
            ("nested/.prometeu".to_owned(), EntryKind::Dir),
            ("nested/.prometeu/kept.txt".to_owned(), EntryKind::File),
            ("out".to_owned(), EntryKind::Symlink(LinkTarget::Outside)),
            ("sprites".to_owned(), EntryKind::Dir),
            ("sprites/hero".to_owned(), EntryKind::Dir),
            (
                "sprites/hero/alias.png".to_owned(),
                inside("sprites/hero/hero.png", false),
            ),
            ("sprites/hero/asset.json".to_owned(), EntryKind::File),
            ("sprites/hero/hero.png".to_owned(), EntryKind::File),
        ];
        for port in fx.workspaces() {
            assert_eq!(listing(&port, ScanOptions::default()), expected);
        }
    }

    #[test]
    fn fingerprints_are_those_of_stat_and_only_for_files() {
        let fx = Fixture::new();
        fx.write("a/one.txt", b"one");
        fx.write("a/b/two.txt", b"two!");
        fx.symlink("a/link", "one.txt");
        let port = DiskWorkspace::open(&fx.assets).unwrap();
        for entry in port.scan(ScanOptions::default()).unwrap() {
            assert_eq!(entry.fingerprint, None, "{entry:?}");
        }
        let entries = port.scan(ScanOptions { fingerprints: true }).unwrap();
        assert_eq!(entries.len(), 5);
        for entry in entries {
            match entry.kind {
                EntryKind::File => {
                    let stat = port.stat(&entry.path).unwrap();
                    assert_eq!(entry.fingerprint, stat, "{entry:?}");
                }
                _ => assert_eq!(entry.fingerprint, None, "{entry:?}"),
            }
        }
    }

    /// Enough directories, wide and deep, for the workers to hand work to each other.
    #[test]
    fn a_large_tree_is_listed_exactly_once() {
        let fx = Fixture::new();
        let mut expected = BTreeSet::new();
        for group in 0..20 {
            let group_dir = format!("g{group}");
            expected.insert(group_dir.clone());
            for asset in 0..40 {
                let dir = format!("{group_dir}/asset{asset}");
                fx.write(&format!("{dir}/asset.json"), b"{}");
                expected.insert(dir.clone());
                expected.insert(format!("{dir}/asset.json"));
            }
        }
        let mut deep = String::from("deep");
        for level in 0..60 {
            expected.insert(deep.clone());
            deep = format!("{deep}/l{level}");
        }
        fx.write(&format!("{deep}/leaf"), b"");
        expected.insert(deep.clone());
        expected.insert(format!("{deep}/leaf"));
        for port in fx.workspaces() {
            let entries = port.scan(ScanOptions { fingerprints: true }).unwrap();
            let paths: Vec<_> = entries.iter().map(|e| e.path.as_str().to_owned()).collect();
            assert_eq!(paths.len(), expected.len(), "no entry twice");
            assert_eq!(paths.into_iter().collect::<BTreeSet<_>>(), expected);
        }
    }

    #[test]
    fn an_unreadable_directory_fails_the_scan_naming_it() {
        let fx = Fixture::new();
        fx.write("locked/inner/file.txt", b"x");
        let locked = fx.assets.join("locked");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        // Root reads it anyway (CAP_DAC_OVERRIDE): nothing to check then.
        let readable = std::fs::read_dir(locked.join("inner")).is_ok();
        let port = DiskWorkspace::open(&fx.assets).unwrap();
        let result = port.scan(ScanOptions::default());
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        if readable {
            assert!(result.is_ok());
        } else {
            let error = result.unwrap_err();
            assert_eq!(error.path, ws("locked"));
            assert_eq!(
                error.kind,
                packer_domain::ports::PortErrorKind::PermissionDenied
            );
        }
    }

    #[test]
    fn an_empty_workspace_scans_to_nothing() {
        let fx = Fixture::new();
        let port = DiskWorkspace::open(&fx.assets).unwrap();
        assert_eq!(port.scan(ScanOptions::default()).unwrap(), Vec::new());
    }
}
