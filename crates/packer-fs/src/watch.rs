//! [`DiskWatcher`]: the watcher port over inotify, through the `notify` crate. It turns
//! the kernel's events into hints naming workspace paths; the observer verifies every
//! hint against the disk, so nothing here needs to be exact, only never silent.
//!
//! What is watched: `assets/` and `assets/.prometeu` for their own entries, and every
//! other folder of `assets/` with all it holds. Below `.prometeu` lie only the lane's
//! transactions and the build cache, which no hint could concern; watching them would
//! make every commit add and drop a watch, and `notify` pays for dropping one with a
//! pass over every watch it holds. A folder that appears at the top (created, or moved
//! in) is watched by a thread of the session's own, since `notify` cannot be asked to
//! watch from its own event handler; once it is, a hint names the folder again, for what
//! changed in it before its watch was in place.
//!
//! Opening a file is an event for inotify, and the runtime's own reads open files: such
//! access events are dropped here, since they change nothing. Symbolic links are not
//! followed, so nothing outside `assets/` is ever watched.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RenameMode};
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
        // Events name paths as the kernel resolved the watched one.
        let base = self.assets.canonicalize().map_err(|e| {
            PortError::new(PortErrorKind::NotFound, PortOp::Watch, &WsPath::root())
                .with_detail(e.to_string())
        })?;
        let (arrivals, arrived) = crossbeam_channel::unbounded();
        let handler = Handler {
            base: base.clone(),
            sink: sink.clone(),
            arrivals: arrivals.clone(),
        };
        let config = notify::Config::default().with_follow_symlinks(false);
        let watcher = RecommendedWatcher::new(
            move |result: notify::Result<Event>| handler.deliver(result),
            config,
        )
        .map_err(|e| watch_error(&e))?;
        let watcher = Arc::new(Mutex::new(watcher));
        let top = Top {
            base,
            sink,
            watcher: Arc::clone(&watcher),
        };
        // The top itself: without it nothing at all is watched.
        match top.add(&top.base, RecursiveMode::NonRecursive) {
            Added::Watching | Added::Gone => {}
            Added::Limit => return Err(limit_error()),
            Added::Failed(e) => return Err(watch_error(&e)),
        }
        top.watch_entries()?;
        let adder = std::thread::Builder::new()
            .name("packer-watch-top".to_owned())
            .spawn(move || top.watch_arrivals(&arrived))
            .map_err(|e| {
                PortError::new(PortErrorKind::Io, PortOp::Watch, &WsPath::root())
                    .with_detail(format!("cannot start the watcher's thread: {e}"))
            })?;
        Ok(Box::new(DiskWatchSession {
            arrivals,
            adder: Some(adder),
            _watcher: watcher,
        }))
    }
}

/// A running watch: the watcher, and the thread that watches folders arriving at the
/// top. Dropping it stops and joins that thread, then the watcher.
struct DiskWatchSession {
    arrivals: Sender<Arrival>,
    adder: Option<JoinHandle<()>>,
    _watcher: Arc<Mutex<RecommendedWatcher>>,
}

impl std::fmt::Debug for DiskWatchSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DiskWatchSession")
    }
}

impl WatchSession for DiskWatchSession {}

impl Drop for DiskWatchSession {
    fn drop(&mut self) {
        // The handler holds a sender too, so the channel cannot close by itself.
        let _ = self.arrivals.send(Arrival::Stop);
        if let Some(adder) = self.adder.take()
            && let Err(panic) = adder.join()
        {
            std::panic::resume_unwind(panic);
        }
    }
}

/// What the handler tells the thread watching arrivals.
enum Arrival {
    /// Something appeared at the top under this name: watch it if it is a folder.
    Entry(PathBuf),
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

/// Adds the watches of the top of the workspace.
struct Top {
    base: PathBuf,
    sink: HintSink,
    watcher: Arc<Mutex<RecommendedWatcher>>,
}

impl Top {
    /// Watches every entry of `assets/` that is a folder: `.prometeu` for its own entries,
    /// the others with everything they hold. Reaching the watch limit is a `Degraded`
    /// hint, after which the rest is left to periodic verification.
    fn watch_entries(&self) -> Result<(), PortError> {
        let entries = std::fs::read_dir(&self.base).map_err(|e| {
            PortError::new(PortErrorKind::Io, PortOp::Watch, &WsPath::root())
                .with_detail(e.to_string())
        })?;
        for entry in entries {
            // An entry that cannot be read is gone, or will be hinted when it changes.
            let Ok(entry) = entry else { continue };
            match self.add_entry(&entry.path()) {
                Added::Watching | Added::Gone => {}
                Added::Limit => {
                    (self.sink)(WatchHint::Degraded {
                        reason: limit_reason(),
                    });
                    return Ok(());
                }
                Added::Failed(e) => return Err(watch_error(&e)),
            }
        }
        Ok(())
    }

    /// Watches what arrives at the top until told to stop.
    fn watch_arrivals(&self, arrived: &Receiver<Arrival>) {
        while let Ok(Arrival::Entry(path)) = arrived.recv() {
            match self.add_entry(&path) {
                Added::Gone => {}
                Added::Watching => {
                    if let Some(path) = workspace_path(&self.base, &path) {
                        (self.sink)(WatchHint::Changed(path));
                    }
                }
                Added::Limit => (self.sink)(WatchHint::Degraded {
                    reason: limit_reason(),
                }),
                Added::Failed(e) => (self.sink)(WatchHint::Rescan {
                    reason: format!("a new folder could not be watched: {e}"),
                }),
            }
        }
    }

    /// Watches the top-level entry at `path` as its name asks, if it is a folder.
    fn add_entry(&self, path: &Path) -> Added {
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => {}
            _ => return Added::Gone,
        }
        let mode = if path.file_name().and_then(|n| n.to_str()) == Some(PROMETEU_DIR) {
            RecursiveMode::NonRecursive
        } else {
            RecursiveMode::Recursive
        };
        self.add(path, mode)
    }

    fn add(&self, path: &Path, mode: RecursiveMode) -> Added {
        // A poisoned lock only means another add panicked; the watcher is still whole.
        let mut watcher = self.watcher.lock().unwrap_or_else(PoisonError::into_inner);
        match watcher.watch(path, mode) {
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
}

/// Turns `notify`'s events into hints, on `notify`'s thread.
struct Handler {
    base: PathBuf,
    sink: HintSink,
    arrivals: Sender<Arrival>,
}

impl Handler {
    fn deliver(&self, result: notify::Result<Event>) {
        let sink = &self.sink;
        let event = match result {
            Ok(event) => event,
            Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
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
            return;
        }
        let arrival = match event.kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => false,
            EventKind::Access(_) => return,
            EventKind::Create(CreateKind::Folder | CreateKind::Any)
            | EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Any)) => true,
            _ => false,
        };
        for path in &event.paths {
            if arrival && path.parent() == Some(self.base.as_path()) {
                // The session ends only after the watcher's thread: a send cannot fail
                // while events still come, and a lost arrival is no worse than a late one.
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
    PortError::new(PortErrorKind::Io, PortOp::Watch, &WsPath::root()).with_detail(error.to_string())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::testing::Fixture;

    const DEADLINE: Duration = Duration::from_secs(20);

    /// A watch on the fixture's workspace and the hints it delivers.
    struct Watching {
        _session: Box<dyn WatchSession>,
        hints: Receiver<WatchHint>,
    }

    impl Watching {
        fn start(fx: &Fixture) -> Watching {
            let (sender, hints) = crossbeam_channel::unbounded();
            let sink: HintSink = Arc::new(move |hint| {
                let _ = sender.send(hint);
            });
            let session = DiskWatcher::new(&fx.assets).watch(sink).unwrap();
            Watching {
                _session: session,
                hints,
            }
        }

        /// Every path hinted until one equal to `wanted` is, which is last; panics at the
        /// deadline.
        fn until(&self, wanted: &str) -> Vec<String> {
            self.until_any(&[wanted])
        }

        /// Every path hinted until one of `wanted` is, which is last; panics at the
        /// deadline.
        fn until_any(&self, wanted: &[&str]) -> Vec<String> {
            let end = Instant::now() + DEADLINE;
            let mut seen = Vec::new();
            loop {
                let left = end.saturating_duration_since(Instant::now());
                match self.hints.recv_timeout(left) {
                    Ok(WatchHint::Changed(path)) => {
                        let text = path.to_string();
                        let done = wanted.contains(&text.as_str());
                        seen.push(text);
                        if done {
                            return seen;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => panic!("no hint for {wanted:?}; saw {seen:?}"),
                }
            }
        }

        /// Rewrites `path` until a hint names it: proof that its folder is watched.
        fn probe(&self, fx: &Fixture, path: &str) {
            let end = Instant::now() + DEADLINE;
            for round in 0u32.. {
                assert!(Instant::now() < end, "{path} never hinted");
                fx.write(path, &round.to_le_bytes());
                let wait = Duration::from_millis(50);
                while let Ok(hint) = self.hints.recv_timeout(wait) {
                    if matches!(&hint, WatchHint::Changed(p) if p.to_string() == path) {
                        return;
                    }
                }
            }
        }
    }

    #[test]
    fn changes_deep_in_a_folder_present_at_the_start_are_hinted() {
        let fx = Fixture::new();
        fx.write("art/heroes/hero/asset.json", b"{}");
        let watching = Watching::start(&fx);
        fx.write("art/heroes/hero/asset.json", b"{ }");
        watching.until("art/heroes/hero/asset.json");
        fx.write(".prometeu/index.json", b"{}");
        watching.until(".prometeu/index.json");
    }

    #[test]
    fn a_folder_arriving_at_the_top_is_watched_with_all_it_holds() {
        let fx = Fixture::new();
        let watching = Watching::start(&fx);
        fx.mkdir("fresh/deep");
        watching.probe(&fx, "fresh/deep/probe.bin");
        // The file may come before its new folder's watch: then the folder is hinted.
        fx.write("fresh/deep/er/file.bin", b"x");
        watching.until_any(&["fresh/deep/er/file.bin", "fresh/deep/er"]);

        // Moved in from outside the workspace, with content.
        let outside = fx.assets.parent().unwrap().join("moved");
        std::fs::create_dir_all(outside.join("inner")).unwrap();
        std::fs::rename(&outside, fx.assets.join("moved")).unwrap();
        watching.probe(&fx, "moved/inner/probe.bin");
    }

    #[test]
    fn the_lanes_transactions_are_not_watched() {
        let fx = Fixture::new();
        fx.write("art/marker.bin", b"0");
        let watching = Watching::start(&fx);
        fx.write(".prometeu/tx/1/0", b"staged");
        fx.write(".prometeu/tx/1/intent.json", b"{}");
        std::fs::remove_dir_all(fx.assets.join(".prometeu/tx/1")).unwrap();
        // Events arrive in order: whatever the transaction caused comes before this.
        fx.write("art/marker.bin", b"1");
        let seen = watching.until("art/marker.bin");
        assert!(
            seen.iter().all(|p| !p.starts_with(".prometeu/tx/")),
            "{seen:?}"
        );
    }
}
