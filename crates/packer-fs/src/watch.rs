//! [`DiskWatcher`]: the watcher port over inotify, through the `notify` crate. It turns
//! the kernel's events into hints naming workspace paths; the observer verifies every
//! hint against the disk, so nothing here needs to be exact, only never silent.
//!
//! What is watched: `assets/` and `assets/.prometeu` for their own entries, and every
//! other folder of `assets/` with all it holds. Below `.prometeu` lie only the lane's
//! transactions and the build cache, which no hint could concern; watching them would
//! make every commit add and drop a watch, and `notify` pays for dropping one with a
//! pass over every watch it holds.
//!
//! Several `notify` watchers (inotify instances, each with its thread) share the
//! top-level folders, so that setting up the watch of a large tree, one
//! `inotify_add_watch` and a couple of `stat`s per folder, runs on several cores. The
//! first also watches the top; a thread of the session's own follows it, since `notify`
//! cannot be asked to watch from its own event handler: a folder that appears at the top
//! (created, or moved in) is given to a watcher and then named again in a hint, for what
//! changed in it before its watch was in place. One that leaves is not unwatched by
//! path: moved into another folder, it may already be watched there by the same
//! watcher, under the same watch, which unwatching its old path would drop; only the
//! session's note of which watcher has it goes, so that folders coming and going do
//! not make the session grow. A folder moved out of the workspace stays watched until
//! it is deleted or the session ends, and what it hints names no file the observer
//! finds.
//!
//! When a watcher's queue overflows, the kernel drops events, and with them the news of
//! folders created meanwhile, which `notify` would otherwise have watched as they came:
//! the session watches its folders again (what is watched already stays as it is), and
//! once that is heard names the whole workspace again in a `Rescan` hint. Watching a
//! large tree overflows the queue by itself (each folder's opening is an event), so an
//! overflow heard while setting up or while watching again is not acted on twice.
//!
//! Opening a file is an event for inotify, and the runtime's own reads open files: such
//! access events are dropped here, since they change nothing. Closing a file that was
//! open for writing is passed on: `.prometeu/lock` is closed so when a writer lets the
//! project lock go, by itself or by the kernel when its process dies. Symbolic links are not
//! followed, so nothing outside `assets/` is ever watched.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RemoveKind, RenameMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use packer_domain::path::{PROMETEU_DIR, WsPath};
use packer_domain::ports::{
    HintSink, PortError, PortErrorKind, PortOp, WatchHint, WatchPort, WatchSession,
};

/// Watches a project's `assets/` directory.
#[derive(Debug, Clone)]
pub struct DiskWatcher {
    assets: PathBuf,
}

impl DiskWatcher {
    /// A watcher for the workspace at `assets` (the project's `assets/` directory).
    pub fn new(assets: &Path) -> DiskWatcher {
        DiskWatcher {
            assets: assets.to_path_buf(),
        }
    }
}

impl WatchPort for DiskWatcher {
    fn watch(&self, sink: HintSink) -> Result<Box<dyn WatchSession>, PortError> {
        Ok(Box::new(self.start(sink)?))
    }
}

impl DiskWatcher {
    fn start(&self, sink: HintSink) -> Result<DiskWatchSession, PortError> {
        // Events name paths as the kernel resolved the watched one.
        let base = self.assets.canonicalize().map_err(|e| {
            PortError::new(PortErrorKind::NotFound, PortOp::Watch, &WsPath::root())
                .with_detail(e.to_string())
        })?;
        let (arrivals, arrived) = crossbeam_channel::unbounded();
        let unwatched = Arc::new(Unwatched::default());
        let (watchers, flushes) = start_watchers(&base, &sink, &arrivals, &unwatched)?;
        let top = Arc::new(Top {
            base,
            sink,
            watchers,
            flushes,
            next_lane: AtomicUsize::new(0),
            owners: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
            unwatched,
        });
        // The top itself: without it nothing at all is watched.
        match top.add(0, &top.base, RecursiveMode::NonRecursive) {
            Added::Watching | Added::Gone => {}
            Added::Limit => return Err(limit_error()),
            Added::Failed(e) => return Err(watch_error(&e)),
        }
        top.watch_entries()?;
        for (lane, flush) in top.flushes.iter().enumerate() {
            *lock(&flush.sentinel) = top.sentinel(lane);
        }
        let adder_top = Arc::clone(&top);
        let adder = std::thread::Builder::new()
            .name("packer-watch-top".to_owned())
            .spawn(move || adder_top.follow_the_top(&arrived))
            .map_err(|e| {
                PortError::new(PortErrorKind::Io, PortOp::Watch, &WsPath::root())
                    .with_detail(format!("cannot start the watcher's thread: {e}"))
            })?;
        Ok(DiskWatchSession {
            arrivals,
            adder: Some(adder),
            top,
        })
    }
}

/// One `notify` watcher per core, up to [`MAX_LANES`], each with its [`Flush`]. Fails
/// only when not even one can start.
fn start_watchers(
    base: &Path,
    sink: &HintSink,
    arrivals: &Sender<Arrival>,
    unwatched: &Arc<Unwatched>,
) -> Result<(Vec<Mutex<RecommendedWatcher>>, Vec<Flush>), PortError> {
    let lanes = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, MAX_LANES));
    let mut watchers = Vec::with_capacity(lanes);
    let mut flushes = Vec::with_capacity(lanes);
    for lane in 0..lanes {
        let sentinel = Arc::new(Mutex::new(None));
        let (flushed, heard) = crossbeam_channel::bounded(1);
        // Set until the setup's own overflow has been heard (`flush`).
        let rewatching = Arc::new(AtomicBool::new(true));
        let handler = Handler {
            base: base.to_path_buf(),
            sink: sink.clone(),
            lane,
            // Only the first watches the top, so only it hears what arrives there.
            watches_top: lane == 0,
            arrivals: arrivals.clone(),
            sentinel: Arc::clone(&sentinel),
            flushed,
            rewatching: Arc::clone(&rewatching),
            unwatched: Arc::clone(unwatched),
        };
        let config = notify::Config::default().with_follow_symlinks(false);
        match RecommendedWatcher::new(
            move |result: notify::Result<Event>| handler.deliver(result),
            config,
        ) {
            Ok(watcher) => {
                watchers.push(Mutex::new(watcher));
                flushes.push(Flush {
                    sentinel,
                    heard,
                    rewatching,
                });
            }
            // One is enough to watch everything; more only share the setting up.
            Err(_) if !watchers.is_empty() => break,
            Err(e) => return Err(watch_error(&e)),
        }
    }
    Ok((watchers, flushes))
}

/// The most `notify` watchers (each an inotify instance with a thread) one watch uses:
/// setting up a watch on a large tree is mostly one `inotify_add_watch` and a couple of
/// `stat`s per folder, done by each watcher's thread, so several of them share it.
const MAX_LANES: usize = 4;

/// A running watch: the watchers, and the thread that follows folders arriving at and
/// leaving the top. Dropping it stops and joins that thread, then the watchers.
struct DiskWatchSession {
    arrivals: Sender<Arrival>,
    adder: Option<JoinHandle<()>>,
    top: Arc<Top>,
}

/// How a session knows that a watcher has handled everything the kernel queued for it
/// up to some moment: it opens the watcher's sentinel folder, and the event of that
/// opening, queued after everything before it, comes through.
struct Flush {
    sentinel: Arc<Mutex<Option<PathBuf>>>,
    heard: Receiver<()>,
    /// Set while an overflow of this watcher is being dealt with (or, until the first
    /// flush, expected from the setup): another one heard meanwhile is not acted on.
    rewatching: Arc<AtomicBool>,
}

impl Flush {
    /// Opens the sentinel until its event comes through, or `deadline` passes, or
    /// `stopping` is set. Opening again is needed when the queue overflowed and dropped
    /// the event.
    fn wait(&self, deadline: Instant, stopping: &AtomicBool) -> bool {
        let Some(sentinel) = lock(&self.sentinel).clone() else {
            // A watcher that watches nothing hears nothing.
            return true;
        };
        while self.heard.try_recv().is_ok() {}
        loop {
            if std::fs::File::open(&sentinel).is_err() {
                // Gone: nothing left to hear from it.
                return true;
            }
            let now = Instant::now();
            if now >= deadline || stopping.load(Ordering::Relaxed) {
                return false;
            }
            let wait = (deadline - now).min(SENTINEL_RETRY);
            if self.heard.recv_timeout(wait).is_ok() {
                return true;
            }
        }
    }
}

/// How long an opening of a sentinel is waited for before the folder is opened again.
const SENTINEL_RETRY: Duration = Duration::from_millis(25);

impl std::fmt::Debug for DiskWatchSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DiskWatchSession")
    }
}

impl WatchSession for DiskWatchSession {
    fn watch_again(&self) -> bool {
        self.top.watch_again()
    }

    fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        // Every watcher, even after one ran out of time: each is waited for once.
        let mut all = true;
        for flush in &self.top.flushes {
            all &= flush.wait(deadline, &self.top.stopping);
            // What setting up the watch overflowed is behind: an overflow from now on
            // may have dropped the news of a folder.
            flush.rewatching.store(false, Ordering::Relaxed);
        }
        all
    }
}

impl Drop for DiskWatchSession {
    fn drop(&mut self) {
        // The handlers hold senders too, so the channel cannot close by itself.
        self.top.stopping.store(true, Ordering::Relaxed);
        let _ = self.arrivals.send(Arrival::Stop);
        if let Some(adder) = self.adder.take()
            && let Err(panic) = adder.join()
        {
            std::panic::resume_unwind(panic);
        }
    }
}

/// What the handlers tell the thread following the top.
enum Arrival {
    /// Something appeared at the top under this name: watch it if it is a folder.
    Entry(PathBuf),
    /// Something left the top under this name: forget whose folder it was, if it is
    /// gone (a folder that comes back arrives again).
    Left(PathBuf),
    /// This watcher's queue overflowed: watch its folders again.
    Rewatch(usize),
    Stop,
}

/// The outcome of asking `notify` for one watch.
enum Added {
    Watching,
    /// Nothing to watch there (any more): not a folder, or gone.
    Gone,
    /// The kernel's limit on watches was reached.
    Limit,
    Failed(notify::Error),
}

/// The watchers, and which of them watches each top-level folder.
struct Top {
    base: PathBuf,
    sink: HintSink,
    /// The first watches `assets/` and `.prometeu`; the top-level folders are shared
    /// among all.
    watchers: Vec<Mutex<RecommendedWatcher>>,
    /// One for each watcher.
    flushes: Vec<Flush>,
    /// Where the next folder to arrive goes.
    next_lane: AtomicUsize,
    /// The watcher of each top-level folder there is, for the sentinels of [`Flush`] and
    /// for watching again after an overflow.
    owners: Mutex<HashMap<PathBuf, usize>>,
    /// Set when the session ends: a flush in progress gives up.
    stopping: AtomicBool,
    /// Whether part of the workspace went unwatched, shared with the handlers.
    unwatched: Arc<Unwatched>,
}

/// Whether part of the workspace went unwatched, and the system's limit on watches at
/// that moment: only a higher limit lets a new try watch more.
#[derive(Debug, Default)]
struct Unwatched(Mutex<Option<Option<u64>>>);

impl Unwatched {
    /// Notes that something went unwatched, under the limit in force now.
    fn note(&self) {
        self.note_under(max_user_watches());
    }

    fn note_under(&self, limit: Option<u64>) {
        *lock(&self.0) = Some(limit);
    }

    /// `Some(the limit then)` while something is unwatched.
    fn since(&self) -> Option<Option<u64>> {
        *lock(&self.0)
    }

    fn clear(&self) {
        *lock(&self.0) = None;
    }
}

/// The system's limit on inotify watches per user, when it can be read.
fn max_user_watches() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches").ok()?;
    text.trim().parse().ok()
}

/// How long watching again after an overflow waits for what it overflowed to be heard.
const REWATCH_FLUSH: Duration = Duration::from_secs(60);

impl Top {
    /// Says that part of the workspace goes unwatched.
    fn degrade(&self, reason: String) {
        self.unwatched.note();
        (self.sink)(WatchHint::Degraded { reason });
    }

    /// Watches again every top-level folder that went unwatched, once the system's
    /// limit on watches is higher than when it was reached (folders watched already
    /// stay as they are). `true` when nothing is left unwatched.
    fn watch_again(&self) -> bool {
        self.watch_again_under(max_user_watches())
    }

    /// [`watch_again`](Self::watch_again) with the system's limit now at `limit`.
    fn watch_again_under(&self, limit: Option<u64>) -> bool {
        let Some(limit_then) = self.unwatched.since() else {
            return true;
        };
        if limit <= limit_then {
            // The same limit: the same folders would fail the same way.
            return false;
        }
        self.unwatched.clear();
        for folder in self.top_entries().unwrap_or_default() {
            let owner = self.owners().get(&folder).copied();
            let lane = owner.unwrap_or_else(|| {
                self.next_lane.fetch_add(1, Ordering::Relaxed) % self.watchers.len()
            });
            if self.add_entry(lane, &folder).is_some() {
                // Still short: noted under the new limit, for the next raise.
                self.unwatched.note_under(limit);
                return false;
            }
        }
        self.unwatched.since().is_none()
    }

    /// The paths of the entries at the top. An entry that cannot be read is gone, or
    /// will be hinted when it changes.
    fn top_entries(&self) -> std::io::Result<Vec<PathBuf>> {
        let entries = std::fs::read_dir(&self.base)?;
        Ok(entries.filter_map(|e| Some(e.ok()?.path())).collect())
    }

    /// Watches every entry of `assets/` that is a folder: `.prometeu` for its own entries,
    /// the others with everything they hold, the watchers taking the folders in turn as
    /// each is free. Reaching the watch limit, or failing to watch a folder, is a
    /// `Degraded` hint, after which what is left is covered by periodic verification.
    fn watch_entries(&self) -> Result<(), PortError> {
        let folders = self.top_entries().map_err(|e| {
            PortError::new(PortErrorKind::Io, PortOp::Watch, &WsPath::root())
                .with_detail(e.to_string())
        })?;
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let share = |lane: usize| {
            while !stop.load(Ordering::Relaxed) {
                let Some(folder) = folders.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    return;
                };
                if let Some(reason) = self.add_entry(lane, folder) {
                    stop.store(true, Ordering::Relaxed);
                    self.degrade(reason);
                }
            }
        };
        std::thread::scope(|scope| {
            for lane in 1..self.watchers.len() {
                // A thread that cannot start leaves its share to the others.
                let _ = std::thread::Builder::new()
                    .name("packer-watch-setup".to_owned())
                    .spawn_scoped(scope, move || share(lane));
            }
            share(0);
        });
        Ok(())
    }

    /// Follows the top until told to stop: watches what arrives, forgets what left, and
    /// watches a watcher's folders again after its queue overflowed.
    fn follow_the_top(&self, arrived: &Receiver<Arrival>) {
        loop {
            match arrived.recv() {
                Ok(Arrival::Entry(path)) => {
                    let lane = self.next_lane.fetch_add(1, Ordering::Relaxed) % self.watchers.len();
                    match self.add_entry(lane, &path) {
                        None => {
                            if let Some(path) = workspace_path(&self.base, &path) {
                                (self.sink)(WatchHint::Changed(path));
                            }
                        }
                        Some(reason) => self.degrade(reason),
                    }
                }
                Ok(Arrival::Left(path)) => {
                    if !std::fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_dir()) {
                        self.owners().remove(&path);
                    }
                }
                Ok(Arrival::Rewatch(lane)) => self.rewatch(lane),
                Ok(Arrival::Stop) | Err(_) => return,
            }
        }
    }

    /// After watcher `lane`'s queue overflowed: watches its top-level folders again, so
    /// that a folder made while events were dropped is watched too (`notify` walks each
    /// tree again and leaves what it watches already as it is), and for the first
    /// watcher, folders that arrived at the top meanwhile. Once the overflow that this
    /// causes in turn is heard, the whole workspace is named again, for what changed
    /// while the folders were not watched.
    fn rewatch(&self, lane: usize) {
        let Some(flush) = self.flushes.get(lane) else {
            return;
        };
        // Unreadable: nothing is watched again, and the periodic verification remains.
        let folders = self.top_entries().unwrap_or_default();
        for folder in folders {
            if self.stopping.load(Ordering::Relaxed) {
                return;
            }
            let owner = self.owners().get(&folder).copied();
            let mine = match owner {
                Some(owner) => owner == lane,
                None => lane == 0,
            };
            if mine && let Some(reason) = self.add_entry(lane, &folder) {
                self.degrade(reason);
                break;
            }
        }
        // The folder the flush opens may have gone since the session began.
        *lock(&flush.sentinel) = self.sentinel(lane);
        let _ = flush.wait(Instant::now() + REWATCH_FLUSH, &self.stopping);
        flush.rewatching.store(false, Ordering::Relaxed);
        (self.sink)(WatchHint::Rescan {
            reason: "the folders were watched again after the kernel's event queue overflowed"
                .to_owned(),
        });
    }

    /// Watches the top-level entry at `path` with watcher `lane` as its name asks, if it
    /// is a folder. `Some` reason when part of the workspace is left unwatched.
    fn add_entry(&self, lane: usize, path: &Path) -> Option<String> {
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => {}
            _ => return None,
        }
        let (lane, mode) = if path.file_name().and_then(|n| n.to_str()) == Some(PROMETEU_DIR) {
            (0, RecursiveMode::NonRecursive)
        } else {
            (lane, RecursiveMode::Recursive)
        };
        // Noted before the watch starts: once it does, a change below the folder can be
        // heard, and whoever hears it may count on the folder's watcher being known.
        let previous = self.owners().insert(path.to_path_buf(), lane);
        let added = self.add(lane, path, mode);
        if !matches!(added, Added::Watching) {
            let mut owners = self.owners();
            match previous {
                Some(previous) => owners.insert(path.to_path_buf(), previous),
                None => owners.remove(path),
            };
        }
        match added {
            Added::Watching | Added::Gone => None,
            Added::Limit => Some(limit_reason()),
            Added::Failed(e) => Some(format!(
                "{} cannot be watched ({e}): it is covered by periodic verification only",
                path.display()
            )),
        }
    }

    fn add(&self, lane: usize, path: &Path, mode: RecursiveMode) -> Added {
        let Some(watcher) = self.watchers.get(lane) else {
            return Added::Gone;
        };
        match lock(watcher).watch(path, mode) {
            Ok(()) => Added::Watching,
            Err(e) => match e.kind {
                notify::ErrorKind::MaxFilesWatch => Added::Limit,
                notify::ErrorKind::PathNotFound => Added::Gone,
                notify::ErrorKind::Io(ref io) if io.kind() == std::io::ErrorKind::NotFound => {
                    Added::Gone
                }
                _ => Added::Failed(e),
            },
        }
    }

    /// The folder whose opening tells that watcher `lane` has heard everything before:
    /// the top for the first, one of its top-level folders that is there for the others
    /// (none when it watches nothing).
    fn sentinel(&self, lane: usize) -> Option<PathBuf> {
        if lane == 0 {
            return Some(self.base.clone());
        }
        self.owners()
            .iter()
            .filter(|(_, owner)| **owner == lane)
            .map(|(path, _)| path)
            .find(|path| std::fs::symlink_metadata(path).is_ok_and(|meta| meta.is_dir()))
            .cloned()
    }

    fn owners(&self) -> MutexGuard<'_, HashMap<PathBuf, usize>> {
        lock(&self.owners)
    }
}

/// A poisoned lock only means another thread panicked while holding it; what it guards
/// is still whole (a watcher, a map of owners).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Turns `notify`'s events into hints, on `notify`'s thread.
struct Handler {
    base: PathBuf,
    sink: HintSink,
    /// Which watcher this is.
    lane: usize,
    /// Whether it watches the top, and so hears what arrives there.
    watches_top: bool,
    /// Where what arrives at the top, and an overflow, are told.
    arrivals: Sender<Arrival>,
    /// The folder whose opening tells [`Flush`] that the queue is handled up to it.
    sentinel: Arc<Mutex<Option<PathBuf>>>,
    flushed: Sender<()>,
    /// The watcher's [`Flush::rewatching`].
    rewatching: Arc<AtomicBool>,
    unwatched: Arc<Unwatched>,
}

impl Handler {
    fn deliver(&self, result: notify::Result<Event>) {
        let sink = &self.sink;
        let event = match result {
            Ok(event) => event,
            Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
                self.unwatched.note();
                sink(WatchHint::Degraded {
                    reason: limit_reason(),
                });
                return;
            }
            Err(e) => {
                sink(WatchHint::Rescan {
                    reason: format!("the watcher reported an error: {e}"),
                });
                return;
            }
        };
        if event.need_rescan() {
            sink(WatchHint::Rescan {
                reason: "the kernel's event queue overflowed".to_owned(),
            });
            if !self.rewatching.swap(true, Ordering::Relaxed) {
                // Fails only once the session is ending.
                let _ = self.arrivals.send(Arrival::Rewatch(self.lane));
            }
            return;
        }
        let arrival = match event.kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => false,
            EventKind::Access(AccessKind::Open(_)) => {
                let sentinel = lock(&self.sentinel);
                if let Some(sentinel) = sentinel.as_ref()
                    && event.paths.iter().any(|p| p == sentinel)
                {
                    // Full when a flush has not taken the last one yet: one is enough.
                    let _ = self.flushed.try_send(());
                }
                return;
            }
            EventKind::Access(_) => return,
            EventKind::Create(CreateKind::Folder | CreateKind::Any)
            | EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Any)) => true,
            EventKind::Remove(RemoveKind::Folder | RemoveKind::Any)
            | EventKind::Modify(ModifyKind::Name(RenameMode::From)) => {
                if self.watches_top {
                    for path in &event.paths {
                        if path.parent() == Some(self.base.as_path()) {
                            // Fails only once the session is ending.
                            let _ = self.arrivals.send(Arrival::Left(path.clone()));
                        }
                    }
                }
                false
            }
            _ => false,
        };
        for path in &event.paths {
            if arrival && self.watches_top && path.parent() == Some(self.base.as_path()) {
                // Fails only once the session is ending, when nothing is followed any more.
                let _ = self.arrivals.send(Arrival::Entry(path.clone()));
            }
            if let Some(path) = workspace_path(&self.base, path) {
                sink(WatchHint::Changed(path));
            }
        }
    }
}

/// The workspace path of `path`, or of its nearest ancestor the workspace can name (a
/// name that is not UTF-8 makes its folder the hint). `None` outside the workspace.
fn workspace_path(base: &Path, path: &Path) -> Option<WsPath> {
    let relative = path.strip_prefix(base).ok()?;
    let mut parts: Vec<&str> = Vec::new();
    for part in relative.components() {
        match part.as_os_str().to_str() {
            Some(name) if WsPath::check_segment(name).is_ok() => parts.push(name),
            _ => break,
        }
    }
    if parts.is_empty() {
        return Some(WsPath::root());
    }
    if parts.first() == Some(&PROMETEU_DIR) {
        return match parts.get(1..) {
            Some(rest) if !rest.is_empty() => WsPath::internal(&rest.join("/")).ok(),
            _ => None,
        };
    }
    WsPath::new(&parts.join("/")).ok()
}

fn limit_reason() -> String {
    "the system's limit on file watches was reached (fs.inotify.max_user_watches): \
     part of the workspace is covered by periodic verification only"
        .to_owned()
}

fn limit_error() -> PortError {
    PortError::new(PortErrorKind::Io, PortOp::Watch, &WsPath::root()).with_detail(limit_reason())
}

fn watch_error(error: &notify::Error) -> PortError {
    let detail = match &error.kind {
        // `inotify_init1` says EMFILE both for the per-user limit on instances and for
        // the process's own limit on open files.
        notify::ErrorKind::Io(io)
            if io.raw_os_error() == Some(rustix::io::Errno::MFILE.raw_os_error()) =>
        {
            format!(
                "{error}: the system's limit on inotify instances (fs.inotify.max_user_instances) \
                 or this process's limit on open files was reached; close other watching \
                 programs or raise the limit"
            )
        }
        _ => error.to_string(),
    };
    PortError::new(PortErrorKind::Io, PortOp::Watch, &WsPath::root()).with_detail(detail)
}

#[cfg(test)]
mod tests;
