//! The observer: a thread that turns the watcher's hints into verification requests for
//! the writer lane. It debounces bursts into one request, folds a storm of paths into
//! one full verification, verifies the whole workspace on start and periodically, and
//! falls back to frequent periodic verification when the watcher cannot watch
//! everything. It reads nothing and writes nothing itself: the lane verifies, refreshes
//! and publishes, in order with the writes.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use packer_domain::path::WsPath;
use packer_domain::ports::{HintSink, WatchHint, WatchPort, WatchSession, lock_path};
use packer_domain::snapshot::registry_path;

use crate::runtime::{Message, View};

/// How the observer paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObserverConfig {
    /// Quiet time after the last hint before the disk is verified: a burst of writes is
    /// verified once.
    pub debounce: Duration,
    /// The longest a continuing burst may postpone verification.
    pub max_delay: Duration,
    /// How long a file that does not parse and was written this recently is given to be
    /// finished before it is reported invalid. Zero reports at once.
    pub settle: Duration,
    /// How often the whole workspace is verified while the watcher works; `None`: only on
    /// start, on a rescan hint and on demand.
    pub periodic: Option<Duration>,
    /// How often it is verified while the watcher cannot watch everything.
    pub degraded_periodic: Duration,
    /// More changed paths than this in one burst are verified by one full scan.
    pub max_paths: usize,
}

impl Default for ObserverConfig {
    fn default() -> ObserverConfig {
        ObserverConfig {
            debounce: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
            settle: Duration::from_millis(500),
            periodic: Some(Duration::from_secs(60)),
            degraded_periodic: Duration::from_secs(5),
            max_paths: 512,
        }
    }
}

/// What the lane is asked to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The whole workspace.
    Full,
    /// These paths and what lies below them.
    Paths(Vec<WsPath>),
}

/// How long the observer waits for the watcher's backlog after setting up the watch.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// A request to the lane to verify the disk and refresh from it.
#[derive(Debug)]
pub(crate) struct Observation {
    pub(crate) scope: Scope,
    /// Gets the view once the lane is done (`check_divergence`).
    pub(crate) reply: Option<Sender<Arc<View>>>,
    /// Gets back the paths whose files were not finished, to be verified again later.
    pub(crate) requeue: Option<Sender<Vec<WsPath>>>,
    /// How long an unfinished file is waited for (with `requeue`).
    pub(crate) settle: Duration,
    /// The observer's first verification, once it watches: when it is done, the
    /// runtime is observing (`Runtime::wait_observing`).
    pub(crate) first: bool,
}

/// The running observer thread.
#[derive(Debug)]
pub(crate) struct Observer {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl Observer {
    /// Starts the observer thread, which starts watching (a large tree takes a while;
    /// reads are served meanwhile) and then asks for a full verification, debounced like
    /// any hint: whatever changed since the load, the watch's setup included, is found by
    /// it, once. `None` when the thread cannot start; the runtime then works as one
    /// opened without an observer.
    pub(crate) fn start(
        lane: Sender<Message>,
        watcher: Arc<dyn WatchPort>,
        config: ObserverConfig,
    ) -> Option<Observer> {
        let (requeue, requeued) = crossbeam_channel::unbounded::<Vec<WsPath>>();
        let (stop, stopped) = crossbeam_channel::bounded(1);
        let thread = std::thread::Builder::new()
            .name("packer-observer".to_owned())
            .spawn(move || {
                // Watching a large tree takes a while; reads are served meanwhile.
                let (hint_sender, hints) = crossbeam_channel::unbounded::<WatchHint>();
                let sink: HintSink = Arc::new(move |hint| {
                    let _ = hint_sender.send(hint);
                });
                let session = match watcher.watch(Arc::clone(&sink)) {
                    Ok(session) => {
                        // What setting up the watch left queued (a large tree's overflow,
                        // say) is heard before the first verification is asked for, so
                        // that the one verification covers it. Past the time limit, it is
                        // heard later and verified again, as without waiting.
                        session.flush(FLUSH_TIMEOUT);
                        Some(session)
                    }
                    Err(error) => {
                        let _ = lane.send(Message::Degraded(Some(format!(
                            "the workspace cannot be watched ({error}); it is verified every {} s instead",
                            config.degraded_periodic.as_secs_f64()
                        ))));
                        None
                    }
                };
                let channels = Channels {
                    hints,
                    requeue,
                    requeued,
                    stopped,
                };
                let mut watch = Watch {
                    watcher,
                    sink,
                    session,
                };
                run(&lane, &mut watch, channels, config);
                drop(watch);
            })
            .ok()?;
        Some(Observer { stop, thread })
    }

    /// Stops the watcher and joins the thread.
    pub(crate) fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// Hints gathered since the last verification.
#[derive(Debug, Default)]
struct Pending {
    paths: BTreeSet<WsPath>,
    full: bool,
    first: Option<Instant>,
    last: Option<Instant>,
    /// Not before this (a file given time to be finished).
    not_before: Option<Instant>,
}

impl Pending {
    fn add(&mut self, path: WsPath, now: Instant, config: &ObserverConfig) {
        if self.full {
            self.touch(now);
            return;
        }
        self.paths.insert(path);
        if self.paths.len() > config.max_paths {
            self.paths.clear();
            self.full = true;
        }
        self.touch(now);
    }

    fn touch(&mut self, now: Instant) {
        self.first.get_or_insert(now);
        self.last = Some(now);
    }

    fn is_empty(&self) -> bool {
        !self.full && self.paths.is_empty()
    }

    /// When the gathered hints are due, if any are.
    fn due(&self, config: &ObserverConfig) -> Option<Instant> {
        if self.is_empty() {
            return None;
        }
        let quiet = self.last? + config.debounce;
        let capped = self.first? + config.max_delay;
        let due = quiet.min(capped);
        Some(self.not_before.map_or(due, |n| due.max(n)))
    }

    fn take(&mut self) -> Scope {
        let scope = if self.full {
            Scope::Full
        } else {
            Scope::Paths(minimal(std::mem::take(&mut self.paths)))
        };
        *self = Pending::default();
        scope
    }
}

/// The watch the observer runs, and what it needs to start one again.
struct Watch {
    watcher: Arc<dyn WatchPort>,
    sink: HintSink,
    /// `None` while nothing at all could be watched.
    session: Option<Box<dyn WatchSession>>,
}

impl Watch {
    /// While degraded: whether the whole workspace can be watched now (the system's
    /// limit raised, say), starting the watch again if it never started.
    fn whole_again(&mut self) -> bool {
        if let Some(session) = &self.session {
            return session.watch_again();
        }
        match self.watcher.watch(Arc::clone(&self.sink)) {
            Ok(session) => {
                session.flush(FLUSH_TIMEOUT);
                let whole = session.watch_again();
                self.session = Some(session);
                whole
            }
            Err(_) => false,
        }
    }
}

/// What the observer thread listens to, and where files not finished yet come back.
struct Channels {
    hints: Receiver<WatchHint>,
    requeue: Sender<Vec<WsPath>>,
    requeued: Receiver<Vec<WsPath>>,
    stopped: Receiver<()>,
}

fn run(lane: &Sender<Message>, watch: &mut Watch, channels: Channels, config: ObserverConfig) {
    let mut degraded = watch.session.is_none();
    let Channels {
        mut hints,
        requeue: requeue_sender,
        requeued,
        stopped,
    } = channels;
    // The first verification, once the watch is in place: what changed since the load;
    // debounced like any hint, so a burst going on is verified once.
    let mut pending = Pending {
        full: true,
        ..Pending::default()
    };
    pending.touch(Instant::now());
    let mut sent_first = false;
    let mut next_periodic = next_scan(degraded, &config);
    loop {
        let now = Instant::now();
        let wake = [pending.due(&config), next_periodic]
            .into_iter()
            .flatten()
            .min();
        let timeout = wake.map_or(Duration::from_secs(3600), |w| {
            w.saturating_duration_since(now)
        });
        crossbeam_channel::select! {
            recv(stopped) -> _ => break,
            recv(hints) -> hint => {
                if let Ok(hint) = hint {
                    if let Some(reason) = take(hint, &mut pending, &config)
                        && !degraded
                    {
                        degraded = true;
                        next_periodic = next_scan(true, &config);
                        let _ = lane.send(Message::Degraded(Some(reason)));
                    }
                } else {
                    // The watcher is gone; periodic verification goes on.
                    hints = crossbeam_channel::never();
                }
            },
            recv(requeued) -> paths => {
                if let Ok(paths) = paths {
                    let now = Instant::now();
                    for path in paths {
                        pending.add(path, now, &config);
                    }
                    pending.not_before = Some(now + config.settle);
                }
            },
            default(timeout) => {}
        }
        let now = Instant::now();
        if pending.due(&config).is_some_and(|due| due <= now) {
            let scope = pending.take();
            if scope == Scope::Full {
                next_periodic = next_scan(degraded, &config);
            }
            let observation = Observation {
                scope,
                reply: None,
                requeue: Some(requeue_sender.clone()),
                settle: config.settle,
                first: !sent_first,
            };
            if lane.send(Message::Observe(observation)).is_err() {
                break;
            }
            sent_first = true;
        } else if next_periodic.is_some_and(|at| at <= now) {
            if degraded && watch.whole_again() {
                // Watched whole from now on; this verification covers what changed
                // while part of it was not.
                degraded = false;
                if lane.send(Message::Degraded(None)).is_err() {
                    break;
                }
            }
            pending.full = true;
            pending.touch(now);
            pending.last = Some(now - config.debounce);
            next_periodic = next_scan(degraded, &config);
        }
    }
}

/// Adds a hint to what is pending; gives the reason when it says the watcher cannot
/// watch everything.
fn take(hint: WatchHint, pending: &mut Pending, config: &ObserverConfig) -> Option<String> {
    let now = Instant::now();
    match hint {
        WatchHint::Changed(path) => {
            if matters(&path) {
                pending.add(path, now, config);
            }
            None
        }
        WatchHint::Rescan { .. } => {
            pending.full = true;
            pending.paths.clear();
            pending.touch(now);
            None
        }
        WatchHint::Degraded { reason } => {
            pending.full = true;
            pending.paths.clear();
            pending.touch(now);
            Some(reason)
        }
    }
}

fn next_scan(degraded: bool, config: &ObserverConfig) -> Option<Instant> {
    let every = if degraded {
        Some(config.degraded_periodic)
    } else {
        config.periodic
    };
    every.map(|every| Instant::now() + every)
}

/// Whether a hint can concern the snapshot: inside `.prometeu` only `index.json` does
/// (the lane's own transactions and the cache live there), and the lock, which a writer
/// lets go when its commit is done or its process ends: one killed after its commit
/// point leaves a transaction in `tx/` and may have changed nothing else a hint names.
fn matters(path: &WsPath) -> bool {
    !path.is_internal()
        || *path == registry_path()
        || registry_path().starts_with(path)
        || *path == lock_path()
}

/// The paths without those that lie below another of them.
fn minimal(paths: BTreeSet<WsPath>) -> Vec<WsPath> {
    if let Some(root) = paths.iter().find(|p| p.is_root()) {
        return vec![root.clone()];
    }
    // Sorted, a path comes after all its ancestors: looking each of them up among the
    // kept ones costs its depth, where comparing with every kept one cost a storm's
    // thousands of paths squared.
    let mut kept: HashSet<&str> = HashSet::new();
    let mut out: Vec<WsPath> = Vec::new();
    for path in &paths {
        let text = path.as_str();
        if !text
            .match_indices('/')
            .any(|(i, _)| kept.contains(&text[..i]))
        {
            kept.insert(text);
            out.push(path.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(paths: &[&str], expected: &[&str]) {
        let paths: BTreeSet<WsPath> = paths
            .iter()
            .map(|p| WsPath::new(p).unwrap_or_else(|_| WsPath::root()))
            .collect();
        let kept: Vec<String> = minimal(paths)
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect();
        assert_eq!(kept, expected);
    }

    #[test]
    fn minimal_keeps_the_paths_no_other_one_lies_above() {
        check(
            &["a/c", "a", "a-b/d", "a-b", "b/c/d", "b/c", "b/cd", "a/c/e"],
            &["a", "a-b", "b/c", "b/cd"],
        );
        check(&["x/y", "x/y/z", "w"], &["w", "x/y"]);
        check(&["a/b", ""], &[""]);
    }
}
