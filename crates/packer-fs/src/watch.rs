//! [`DiskWatcher`]: the watcher port over inotify, through the `notify` crate. It turns
//! the kernel's events into hints naming workspace paths; the observer verifies every
//! hint against the disk, so nothing here needs to be exact, only never silent.
//!
//! Opening a file is an event for inotify, and the runtime's own reads open files: such
//! access events are dropped here, since they change nothing. Symbolic links are not
//! followed, so nothing outside `assets/` is ever watched.

use std::path::{Path, PathBuf};

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecursiveMode, Watcher};

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
        let handler_base = base.clone();
        let handler_sink = sink.clone();
        let config = notify::Config::default().with_follow_symlinks(false);
        let mut watcher = notify::RecommendedWatcher::new(
            move |result: notify::Result<Event>| deliver(&handler_base, result, &handler_sink),
            config,
        )
        .map_err(|e| watch_error(&e))?;
        match watcher.watch(&base, RecursiveMode::Recursive) {
            Ok(()) => {}
            Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
                sink(WatchHint::Degraded {
                    reason: limit_reason(),
                });
            }
            Err(e) => return Err(watch_error(&e)),
        }
        Ok(Box::new(DiskWatchSession { _watcher: watcher }))
    }
}

/// Keeps the watcher alive; dropping it stops the watcher's event loop.
struct DiskWatchSession {
    _watcher: notify::RecommendedWatcher,
}

impl std::fmt::Debug for DiskWatchSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DiskWatchSession")
    }
}

impl WatchSession for DiskWatchSession {}

fn deliver(base: &Path, result: notify::Result<Event>, sink: &HintSink) {
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
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        EventKind::Access(_) => return,
        _ => {}
    }
    for path in &event.paths {
        if let Some(path) = workspace_path(base, path) {
            sink(WatchHint::Changed(path));
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

fn watch_error(error: &notify::Error) -> PortError {
    PortError::new(PortErrorKind::Io, PortOp::Watch, &WsPath::root()).with_detail(error.to_string())
}
