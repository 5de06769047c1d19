//! [`ScriptedWatcher`]: the watcher port for tests. Nothing is watched; the test says
//! what a watcher would have said, when it would have said it, including the hints a
//! real one gives when it overflows or runs out of watches.
//!
//! Hints said while no session runs wait for the next one to start, as if the watcher
//! had been running all along: a test need not know when the observer's thread got to
//! starting its watch.

use std::sync::{Arc, Mutex, PoisonError};

use packer_domain::path::WsPath;
use packer_domain::ports::{
    HintSink, PortError, PortErrorKind, PortOp, WatchHint, WatchPort, WatchSession,
};

/// A watcher driven by hand. Every session started from it receives what the test
/// sends; a session that was dropped receives nothing more.
#[derive(Debug, Default)]
pub struct ScriptedWatcher {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    sessions: Vec<(u64, HintSink)>,
    /// Said while no session ran.
    waiting: Vec<WatchHint>,
    next: u64,
    refuse_start: bool,
    /// What a session's `watch_again` answers.
    watches_again: bool,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("sessions", &self.sessions.len())
            .field("refuse_start", &self.refuse_start)
            .finish()
    }
}

impl ScriptedWatcher {
    pub fn new() -> ScriptedWatcher {
        ScriptedWatcher::default()
    }

    /// Says that `path` (relative to `assets/`) changed. Panics on an invalid path: a
    /// test wrote it.
    pub fn changed(&self, path: &str) {
        let path = if path.is_empty() {
            WsPath::root()
        } else if let Some(rest) = path.strip_prefix(".prometeu/") {
            WsPath::internal(rest).unwrap_or_else(|e| panic!("bad path {path:?}: {e}"))
        } else {
            WsPath::new(path).unwrap_or_else(|e| panic!("bad path {path:?}: {e}"))
        };
        self.send(&WatchHint::Changed(path));
    }

    /// Says that events were lost (a queue overflow).
    pub fn overflow(&self) {
        self.send(&WatchHint::Rescan {
            reason: "the watcher's event queue overflowed".to_owned(),
        });
    }

    /// Says that part of the tree cannot be watched.
    pub fn degrade(&self, reason: &str) {
        self.send(&WatchHint::Degraded {
            reason: reason.to_owned(),
        });
    }

    /// Makes the next starts fail, as a watcher that cannot watch anything would.
    pub fn refuse_start(&self, refuse: bool) {
        self.lock().refuse_start = refuse;
    }

    /// Whether a degraded session can now watch everything, as after the system's
    /// limit on watches was raised: what `watch_again` answers from now on.
    pub fn can_watch_again(&self, can: bool) {
        self.lock().watches_again = can;
    }

    /// How many sessions are running.
    pub fn sessions(&self) -> usize {
        self.lock().sessions.len()
    }

    fn send(&self, hint: &WatchHint) {
        let sinks: Vec<HintSink> = {
            let mut state = self.lock();
            if state.sessions.is_empty() {
                state.waiting.push(hint.clone());
                return;
            }
            state.sessions.iter().map(|(_, s)| Arc::clone(s)).collect()
        };
        for sink in sinks {
            sink(hint.clone());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl WatchPort for ScriptedWatcher {
    fn watch(&self, sink: HintSink) -> Result<Box<dyn WatchSession>, PortError> {
        let mut state = self.lock();
        if state.refuse_start {
            return Err(
                PortError::new(PortErrorKind::Io, PortOp::Watch, &WsPath::root())
                    .with_detail("the scripted watcher was told to refuse"),
            );
        }
        state.next += 1;
        let id = state.next;
        for hint in std::mem::take(&mut state.waiting) {
            sink(hint);
        }
        state.sessions.push((id, sink));
        Ok(Box::new(Session {
            id,
            state: Arc::clone(&self.state),
        }))
    }
}

#[derive(Debug)]
struct Session {
    id: u64,
    state: Arc<Mutex<State>>,
}

impl WatchSession for Session {
    fn watch_again(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .watches_again
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.sessions.retain(|(id, _)| *id != self.id);
    }
}
