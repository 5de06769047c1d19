//! The workspace scan: a parallel walk of `assets/` that reads directory entries with
//! `getdents64` and their types from `d_type`, so that listing a tree costs one open and
//! a couple of `getdents64` per directory and nothing per entry, unless fingerprints are
//! asked for (one `fstatat` per regular file) or an entry is a symbolic link (resolved,
//! never descended into).
//!
//! Each directory is opened with `openat(parent, name, O_NOFOLLOW | O_DIRECTORY)`: one
//! component below a directory that was itself reached that way from the root, so the
//! walk cannot leave the workspace whatever the entries are. `scan_and_read` reads the
//! files it is asked for through the same handle (`openat(dir, name, O_NOFOLLOW)`), while
//! the directory is open: one path component to resolve instead of the whole path.
//!
//! Entries the workspace cannot name are left out, silently: names that are not UTF-8,
//! or not valid [`WsPath`] segments (a backslash, a control character, a `C:` drive
//! prefix, a name longer than the limit). FIFOs, sockets and devices are listed as
//! special entries and never opened. The top-level `.prometeu` is never entered.
//!
//! Work sharing: each worker walks depth-first from a stack of its own and hands half of
//! it to the shared queue when another worker is idle. Depth-first order keeps few
//! directory handles open (a queued directory holds its parent's handle). Each worker
//! lists into a [`Listing`] of its own; they are joined at the end.

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawDir};
use rustix::io::Errno;

use packer_domain::listing::Listing;
use packer_domain::path::{PROMETEU_DIR, WsPath};
use packer_domain::ports::{
    EntryKind, FileRead, FileView, Fingerprint, LinkTarget, PortError, PortOp, Reuse, ScanDelivery,
    ScanEntry, ScanOptions, ScanReads, ScanSink, SeenDir,
};

use crate::confine::{Resolution, relative, resolve};
use crate::error::port_error;
use crate::read::{READ_FLAGS, fingerprint, read_handle};
use crate::workspace::DiskWorkspace;

mod blocks;
mod reuse;

use blocks::Blocks;

pub(crate) use reuse::scan_reusing;

/// Size of each worker's `getdents64` buffer: a few hundred entries per call.
const DIRENT_BUFFER: usize = 32 * 1024;

pub(crate) fn scan(ws: &DiskWorkspace, options: ScanOptions) -> Result<Vec<ScanEntry>, PortError> {
    let mut blocks = Blocks::new();
    for (part, _) in walk(ws, options, None, Seen::Ignore)? {
        if let Output::Entries(part) = part {
            blocks.merge(part);
        }
    }
    Ok(blocks.into_vec())
}

pub(crate) fn scan_and_read(
    ws: &DiskWorkspace,
    options: ScanOptions,
    reads: &ScanReads<'_>,
    sink: &ScanSink<'_>,
) -> Result<Listing, PortError> {
    let mut listing = Listing::new();
    for (part, _) in walk(ws, options, Some(Reads { reads, sink }), Seen::Ignore)? {
        if let Output::Listing(part) = part {
            listing.append(part);
        }
    }
    Ok(listing)
}

/// What a walk reads besides listing, and where it delivers.
#[derive(Clone, Copy)]
struct Reads<'a> {
    reads: &'a ScanReads<'a>,
    sink: &'a ScanSink<'a>,
}

/// Whether a walk records what it sees of each directory (for `scan_reusing`), and what
/// an earlier walk saw.
#[derive(Clone, Copy)]
enum Seen<'a> {
    Ignore,
    Record(Option<Reuse<'a>>),
}

/// What one worker saw of the directories it walked.
type SeenPart = Vec<(WsPath, Arc<SeenDir>)>;

/// What a worker lists into: entries with their whole paths for `scan`, a listing by
/// directory for `scan_and_read` (whose sink is lent each directory).
enum Output {
    Entries(Blocks),
    Listing(Listing),
}

/// Walks with every worker; what each listed. Every request in `reads` is read and
/// delivered whatever happens to the walk.
fn walk(
    ws: &DiskWorkspace,
    options: ScanOptions,
    reads: Option<Reads<'_>>,
    seen: Seen<'_>,
) -> Result<Vec<(Output, SeenPart)>, PortError> {
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
        next_request: AtomicUsize::new(0),
    };
    let walker = Walker {
        ws,
        options,
        reads,
        seen,
        shared: &shared,
    };
    let parts = thread::scope(|scope| {
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
        let mut parts = vec![walker.run()];
        for handle in handles {
            match handle.join() {
                Ok(part) => parts.push(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        parts
    });
    if let Some(error) = shared.lock().error.take() {
        return Err(error);
    }
    // After the walk, so that the reads were delivered all the same.
    ws.ensure_in_place(PortOp::Scan)?;
    Ok(parts)
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
    /// The next of the requests to claim.
    next_request: AtomicUsize,
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
    reads: Option<Reads<'a>>,
    seen: Seen<'a>,
    shared: &'a Shared,
}

impl Walker<'_> {
    /// What a worker hands over once the walk is done: for `scan_reusing`, its entries
    /// sorted by path, sorted here on the worker's own thread.
    fn finish(&self, output: Output) -> Output {
        match (self.seen, output) {
            (Seen::Record(_), Output::Entries(blocks)) => {
                let mut entries = blocks.into_vec();
                entries.sort_unstable_by(|a, b| a.path.cmp(&b.path));
                Output::Entries(Blocks::of(entries))
            }
            (_, output) => output,
        }
    }

    /// One worker: reads requests while any are left, then takes work from the queue
    /// until none is left anywhere, and returns what it listed. A worker busy with a
    /// request counts as active, so the others wait for the directories it may still
    /// take on.
    fn run(&self) -> (Output, SeenPart) {
        if let Some(Reads { reads, sink }) = self.reads {
            loop {
                let index = self.shared.next_request.fetch_add(1, Ordering::Relaxed);
                let Some(request) = reads.requests.get(index) else {
                    break;
                };
                let read = self.ws.read_file(&request.path, request.limit);
                let result = read.as_ref().map(FileRead::view).map_err(Clone::clone);
                sink(ScanDelivery::Request { index, result });
            }
        }
        let mut output = match self.reads {
            Some(_) => Output::Listing(Listing::new()),
            None => Output::Entries(Blocks::new()),
        };
        let mut seen: SeenPart = Vec::new();
        let mut local: Vec<Job> = Vec::new();
        let mut subdirs: Vec<WsPath> = Vec::new();
        // Every file found by name is read into this one buffer and lent to the sink.
        let mut file: Vec<u8> = Vec::new();
        let mut buffer: Vec<MaybeUninit<u8>> = Vec::with_capacity(DIRENT_BUFFER);
        buffer.resize(DIRENT_BUFFER, MaybeUninit::uninit());
        loop {
            if local.is_empty() && !self.refill(&mut local) {
                return (self.finish(output), seen);
            }
            if self.shared.failed.load(Ordering::Relaxed) {
                // Leave the walk; `refill` tells the others.
                local.clear();
                continue;
            }
            let Some(job) = local.pop() else { continue };
            let listed = match self.seen {
                Seen::Ignore => self.list(&job, &mut buffer, &mut file, &mut output, &mut subdirs),
                Seen::Record(reuse) => self.rescan(
                    &job,
                    reuse,
                    &mut buffer,
                    &mut output,
                    &mut subdirs,
                    &mut seen,
                ),
            };
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

    /// Lists one directory into `output`, its subdirectories into `subdirs`, reads the
    /// file asked for by name if the directory holds one, and returns its open handle
    /// (for the subdirectories to be opened from), or `None` when it vanished or was
    /// replaced since it was seen.
    fn list(
        &self,
        job: &Job,
        buffer: &mut [MaybeUninit<u8>],
        file: &mut Vec<u8>,
        output: &mut Output,
        subdirs: &mut Vec<WsPath>,
    ) -> Result<Option<OwnedFd>, PortError> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let Some(dir) = self.open_dir(job, flags)? else {
            return Ok(None);
        };
        match output {
            Output::Entries(blocks) => {
                self.entries(
                    &dir,
                    &job.path,
                    buffer,
                    subdirs,
                    &mut |name, kind, fingerprint| {
                        blocks.push_child(&job.path, name, kind, fingerprint)
                    },
                )?;
            }
            Output::Listing(listing) => {
                let wanted = {
                    let mut builder = listing.dir(&job.path);
                    self.entries(
                        &dir,
                        &job.path,
                        buffer,
                        subdirs,
                        &mut |name, kind, fingerprint| {
                            builder.push(name, kind, fingerprint).is_ok()
                        },
                    )?
                };
                if let (Some(Reads { reads, sink }), Some(file_type)) = (self.reads, wanted) {
                    let name = reads.file_name;
                    let read = self.read_entry(&dir, &job.path, name, file_type, reads.limit, file);
                    if let Some(listed) = listing.last_dir() {
                        sink(ScanDelivery::Found {
                            dir: listed,
                            result: read.map(|fingerprint| FileView {
                                bytes: file,
                                fingerprint,
                            }),
                        });
                    }
                }
            }
        }
        Ok(Some(dir))
    }

    /// Opens the directory of `job` with `flags`; `None` when it vanished or was
    /// replaced by something that is not a directory since its parent was listed.
    fn open_dir(&self, job: &Job, flags: OFlags) -> Result<Option<OwnedFd>, PortError> {
        let opened = match &job.parent {
            None => rustix::fs::openat(self.ws.root(), ".", flags, Mode::empty()),
            Some(parent) => rustix::fs::openat(parent, job.path.file_name(), flags, Mode::empty()),
        };
        match opened {
            Ok(dir) => Ok(Some(dir)),
            Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP) => Ok(None),
            Err(errno) => Err(port_error(errno, PortOp::Scan, &job.path)),
        }
    }

    /// Hands every entry of the directory open at `dir` (whose path is `dir_path`) to
    /// `add`, which keeps it unless the workspace cannot name it (the one check of each
    /// name, as it builds the entry), and its subdirectories to `subdirs`. Returns the
    /// type of the entry named [`ScanReads::file_name`], if one was kept.
    fn entries(
        &self,
        dir: &OwnedFd,
        dir_path: &WsPath,
        buffer: &mut [MaybeUninit<u8>],
        subdirs: &mut Vec<WsPath>,
        add: &mut dyn FnMut(&str, EntryKind, Option<Fingerprint>) -> bool,
    ) -> Result<Option<FileType>, PortError> {
        let wanted_name = self.reads.map(|r| r.reads.file_name);
        let mut wanted = None;
        let mut iter = RawDir::new(dir, buffer);
        while let Some(entry) = iter.next() {
            let entry = match entry {
                Ok(entry) => entry,
                // The directory was removed while it was read.
                Err(Errno::NOENT) => break,
                Err(errno) => return Err(port_error(errno, PortOp::Scan, dir_path)),
            };
            let c_name = entry.file_name();
            let Ok(name) = std::str::from_utf8(c_name.to_bytes()) else {
                continue;
            };
            if name == "." || name == ".." || (dir_path.is_root() && name == PROMETEU_DIR) {
                continue;
            }
            // Checked by `add` as it keeps the entry, but first where the entry costs a
            // system call: an entry the workspace cannot name is left alone.
            let nameable = || WsPath::check_segment(name).is_ok();
            let file_type = match entry.file_type() {
                // Some file systems do not fill in `d_type`.
                FileType::Unknown if !nameable() => continue,
                FileType::Unknown => match stat_entry(dir.as_fd(), c_name, dir_path, name)? {
                    Some(stat) => FileType::from_raw_mode(stat.st_mode),
                    None => continue,
                },
                known => known,
            };
            let (kind, fingerprint) = match file_type {
                FileType::Directory => {
                    let Ok(path) = dir_path.child(name) else {
                        continue;
                    };
                    subdirs.push(path);
                    (EntryKind::Dir, None)
                }
                FileType::RegularFile if self.options.fingerprints && !nameable() => continue,
                FileType::RegularFile if self.options.fingerprints => {
                    match stat_entry(dir.as_fd(), c_name, dir_path, name)? {
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
                FileType::Symlink if !nameable() => continue,
                FileType::Symlink => (EntryKind::Symlink(self.link_target(dir_path, name)), None),
                // FIFOs, sockets, devices: listed, never opened.
                _ => (EntryKind::Special, None),
            };
            let readable = kind.is_readable();
            if add(name, kind, fingerprint) && wanted_name == Some(name) && readable {
                wanted = Some(file_type);
            }
        }
        Ok(wanted)
    }

    /// Reads the entry `name` of the directory open at `dir` as `read` reads its path. A
    /// regular file is opened from the handle, without following a link: that is the
    /// same file the path leads to, since the walk reached `dir` without any link. A
    /// link (or an entry that became one since it was listed) is read by its path, which
    /// follows it as far as it stays inside.
    fn read_entry(
        &self,
        dir: &OwnedFd,
        dir_path: &WsPath,
        name: &str,
        file_type: FileType,
        limit: u64,
        bytes: &mut Vec<u8>,
    ) -> Result<Fingerprint, PortError> {
        // The entry was kept, so `child` accepts its name; the fallback only keeps the
        // error message well-formed.
        let path = || dir_path.child(name).unwrap_or_else(|_| dir_path.clone());
        if file_type == FileType::RegularFile {
            let flags = READ_FLAGS | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            match rustix::fs::openat(dir, name, flags, Mode::empty()) {
                Ok(fd) => return read_handle(fd, limit, &path, bytes),
                Err(Errno::LOOP) => {}
                Err(errno) => return Err(port_error(errno, PortOp::Read, &path())),
            }
        }
        self.ws.read_file_into(&path(), limit, bytes)
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

/// `fstatat` of the entry `name` of `dir` (whose path is `dir_path`) without following
/// it; `None` when it vanished.
fn stat_entry(
    dir: BorrowedFd<'_>,
    c_name: &std::ffi::CStr,
    dir_path: &WsPath,
    name: &str,
) -> Result<Option<rustix::fs::Stat>, PortError> {
    match rustix::fs::statat(dir, c_name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(Some(stat)),
        Err(Errno::NOENT) => Ok(None),
        Err(errno) => {
            let path = dir_path.child(name).unwrap_or_else(|_| dir_path.clone());
            Err(port_error(errno, PortOp::Scan, &path))
        }
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
        // Names the workspace cannot spell are left out, whatever they name.
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
            // Listed, never opened: opening a FIFO could block.
            ("fifo".to_owned(), EntryKind::Special),
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
    fn a_failed_walk_still_delivers_every_request() {
        let fx = Fixture::new();
        fx.write("index.json", b"{}");
        fx.write("locked/inner/asset.json", b"x");
        let locked = fx.assets.join("locked");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        let readable = std::fs::read_dir(locked.join("inner")).is_ok();
        let port = DiskWorkspace::open(&fx.assets).unwrap();
        let requests = packer_domain::ports::ReadRequest::all(&[ws("index.json")], 10);
        let reads = ScanReads {
            requests: &requests,
            file_name: "asset.json",
            limit: 10,
        };
        let delivered = std::sync::Mutex::new(Vec::new());
        let result = port.scan_and_read(ScanOptions::default(), &reads, &|delivery| {
            if let ScanDelivery::Request { index, result } = delivery {
                delivered
                    .lock()
                    .unwrap()
                    .push((index, result.map(|r| r.bytes.to_vec())));
            }
        });
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Root reads it anyway (CAP_DAC_OVERRIDE): the walk succeeds then.
        assert_eq!(result.is_ok(), readable);
        assert_eq!(
            delivered.into_inner().unwrap(),
            vec![(0, Ok(b"{}".to_vec()))]
        );
    }

    #[test]
    fn an_empty_workspace_scans_to_nothing() {
        let fx = Fixture::new();
        let port = DiskWorkspace::open(&fx.assets).unwrap();
        assert_eq!(port.scan(ScanOptions::default()).unwrap(), Vec::new());
    }
}
