//! The runtime a host wires at boot: the current snapshot published atomically for
//! lock-free reads, and the project's single writer lane, a thread that runs every
//! write command in arrival order through the durable commit.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use arc_swap::ArcSwap;
use crossbeam_channel::{Receiver, Sender};
use packer_domain::command::Command;
use packer_domain::diagnostics::Diagnostic;
use packer_domain::drift::Drift;
use packer_domain::event::{CommandId, Event, RejectReason};
use packer_domain::ports::{ClockPort, EventPort, WatchPort, WorkspacePort};
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{ProjectState, Snapshot, registry_path};

use crate::commit::{self, CommitError};
use crate::error::{AppError, ErrorCode};
use crate::observer::{Observation, Observer, ObserverConfig, Scope};
use crate::recovery::{self, RecoveryReport};
use crate::refresh::{self, LaneState};
use crate::retired::{RETIRED_SWEEP, Retired};

/// The ports a host injects. The runtime creates no event system, clock or file access
/// of its own.
#[derive(Debug, Clone)]
pub struct Ports {
    pub workspace: Arc<dyn WorkspacePort>,
    pub events: Arc<dyn EventPort>,
    pub clock: Arc<dyn ClockPort>,
}

/// What readers see: one generation's snapshot and the project state that goes with it.
#[derive(Debug, Clone)]
pub struct View {
    pub snapshot: Arc<Snapshot>,
    pub state: ProjectState,
    /// Why the project is `failed` beyond what the snapshot says (an interrupted commit,
    /// a refused recovery, a registry that stopped parsing). Reads keep serving
    /// `snapshot`, the last good generation, flagged by this.
    pub condition: Option<String>,
    /// Drift found on disk that `snapshot` does not hold: when a refresh finds the
    /// registry unreadable, the last good generation stays and its error is here.
    pub pending_drifts: Vec<Drift>,
    /// The diagnostics of that failed load (the registry's error with its position, a
    /// folder that cannot be listed), which `snapshot` does not hold either.
    pub pending_diagnostics: Vec<Diagnostic>,
    /// What the refresh that made this generation took in on its own
    /// (`declaration_changed`, `input_changed`, `registry_changed`).
    pub refreshed: Vec<Drift>,
    /// Set while the observer cannot watch the whole workspace and relies on periodic
    /// verification: why.
    pub degraded: Option<String>,
    /// The last refresh could not build a generation from disk, its registry or its
    /// folders unreadable (`condition` says why): reads keep `snapshot`, which is not what
    /// the disk holds, writes are refused, and the observer goes on verifying, so that a
    /// readable disk brings the next generation. Any other `condition` (an interrupted
    /// commit, a refused recovery) stops verifying until recovery has run, or until a
    /// full verification finds `tx/` clear (the transaction finished or removed by
    /// someone else).
    pub(crate) unrefreshed: bool,
}

impl View {
    /// A view of `snapshot` in the state it implies, with nothing else to say.
    pub fn of(snapshot: Arc<Snapshot>) -> View {
        let state = snapshot.state();
        View {
            snapshot,
            state,
            condition: None,
            pending_drifts: Vec::new(),
            pending_diagnostics: Vec::new(),
            refreshed: Vec::new(),
            degraded: None,
            unrefreshed: false,
        }
    }

    /// Every drift the view knows of: what the disk holds beyond the snapshot first, then
    /// the snapshot's own, then what its refresh took in.
    pub fn drifts(&self) -> Vec<Drift> {
        self.pending_drifts
            .iter()
            .chain(self.kept().map_or(&[][..], Snapshot::drifts))
            .chain(&self.refreshed)
            .cloned()
            .collect()
    }

    /// Every diagnostic the view knows of: the failed load's first, then the snapshot's.
    /// A failed load names every `asset.json` that does not read; one the snapshot names
    /// too (with its asset) is said once, by the snapshot.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let kept = self.kept().map(Snapshot::diagnostics).unwrap_or_default();
        let key = |d: &Diagnostic| (d.file.clone(), d.line, d.column, d.message.clone());
        let said: std::collections::HashSet<_> = if self.pending_diagnostics.is_empty() {
            std::collections::HashSet::new()
        } else {
            kept.iter().map(key).collect()
        };
        let mut all: Vec<Diagnostic> = self
            .pending_diagnostics
            .iter()
            .filter(|d| !said.contains(&key(d)))
            .cloned()
            .collect();
        all.extend(kept);
        all
    }

    /// The snapshot whose drift and diagnostics still stand beside the pending ones. A
    /// snapshot that is itself failed (the project was failed from the start) only says
    /// why its load failed, and a later failed load says why the disk fails now.
    fn kept(&self) -> Option<&Snapshot> {
        let superseded = self.unrefreshed && self.snapshot.state() == ProjectState::Failed;
        (!superseded).then_some(self.snapshot.as_ref())
    }
}

/// A write command as a frontend sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRequest {
    pub command: Command,
    /// Reject with `stale_request` unless the current generation is this one.
    pub expected_generation: Option<u64>,
}

/// A write that committed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WriteOutcome {
    pub generation: u64,
    pub command_id: CommandId,
    /// The asset a create or adopt registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset: Option<AssetId>,
    pub changed: Vec<AssetId>,
    /// The snapshot the commit published (`generation`). By the time the writer reads
    /// the outcome, the observer may have published a later one; this is the write's.
    #[serde(skip)]
    pub snapshot: Arc<Snapshot>,
}

/// A running project.
#[derive(Debug)]
pub struct Runtime {
    shared: Arc<Shared>,
    sender: Option<Sender<Message>>,
    lane: Option<JoinHandle<()>>,
    observer: Option<Observer>,
}

/// Reads a runtime's current view; see [`Runtime::reader`]. Weak, so that an event port
/// holding one makes no cycle with the runtime that holds the port.
#[derive(Debug, Clone)]
pub struct ViewReader {
    shared: std::sync::Weak<Shared>,
}

impl ViewReader {
    /// The current view, or `None` once the runtime was dropped.
    pub fn view(&self) -> Option<Arc<View>> {
        self.shared.upgrade().map(|shared| shared.view.load_full())
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) view: ArcSwap<View>,
    pub(crate) ports: Ports,
    next_command: AtomicU64,
    /// Whether a commit publishes just what it wrote: an observer reports hand edits as
    /// refreshes of their own, or the host reads nothing after its one command. Otherwise
    /// a commit reads the disk again.
    pub(crate) commits_derive: AtomicBool,
    /// Views replaced by a newer one, kept until the lane frees them.
    retired: Mutex<Retired>,
    /// Set once the observer watches and has verified the workspace since.
    pub(crate) observing: Latch,
}

/// A flag that is set once and can be waited for.
#[derive(Debug, Default)]
pub(crate) struct Latch {
    set: Mutex<bool>,
    changed: std::sync::Condvar,
}

impl Latch {
    pub(crate) fn set(&self) {
        *self.set.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.changed.notify_all();
    }

    /// Whether it is set, waiting at most `timeout` for it.
    fn wait(&self, timeout: Duration) -> bool {
        let guard = self.set.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) = self
            .changed
            .wait_timeout_while(guard, timeout, |set| !*set)
            .unwrap_or_else(PoisonError::into_inner);
        *guard
    }
}

#[derive(Debug)]
pub(crate) enum Message {
    Write {
        id: CommandId,
        request: WriteRequest,
        reply: Sender<Result<WriteOutcome, AppError>>,
    },
    /// Verify the disk and refresh the snapshot from it.
    Observe(Observation),
    /// The observer can no longer watch everything (or can again, with `None`).
    Degraded(Option<String>),
}

/// Whether a runtime being opened will have an observer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Watched {
    Yes,
    No,
}

impl Runtime {
    /// Opens the project: recovers any interrupted commit, loads the first generation,
    /// emits `runtime_started` and starts the writer lane. Never fails: what cannot be
    /// trusted makes the project `failed`, with reads still answered. Nothing watches the
    /// disk; [`check_divergence`](Self::check_divergence) verifies it on demand.
    pub fn open(ports: Ports) -> Runtime {
        Runtime::start(ports, Watched::No)
    }

    /// [`open`](Self::open), for a host that submits one command and then shuts the
    /// runtime down (a CLI command). Its commit publishes a generation derived from the
    /// previous one and what it wrote, as a runtime with an observer does, instead of
    /// loading the project again for nobody to read: at 100k assets that load would
    /// double the command's time and memory. A hand edit made while the command runs is
    /// not in that generation; the next command's load sees it.
    pub fn open_for_one_command(ports: Ports) -> Runtime {
        let runtime = Runtime::start(ports, Watched::No);
        runtime.shared.commits_derive.store(true, Ordering::Release);
        runtime
    }

    /// [`open`](Self::open); for a runtime that will be observed, the load also stamps
    /// every present input as it saw it, for the observer's first verification to
    /// compare with.
    fn start(ports: Ports, watched: Watched) -> Runtime {
        let (reports, condition) = recover_on_open(ports.workspace.as_ref());
        let port = ports.workspace.as_ref();
        let (snapshot, stamps) = match watched {
            Watched::Yes => {
                let (snapshot, stamps) = Snapshot::load_stamped(port, 1);
                (snapshot, Some(stamps))
            }
            Watched::No => (Snapshot::load(port, 1), None),
        };
        let snapshot = Arc::new(snapshot);
        announce_recovered(ports.events.as_ref(), 1, &reports, None);
        let mut view = View::of(snapshot);
        if condition.is_some() {
            view.state = ProjectState::Failed;
            view.condition = condition;
        }
        ports.events.publish(Event::RuntimeStarted {
            generation: 1,
            state: view.state,
        });
        let shared = Arc::new(Shared {
            view: ArcSwap::from_pointee(view),
            ports,
            next_command: AtomicU64::new(1),
            commits_derive: AtomicBool::new(false),
            retired: Mutex::new(Retired::default()),
            observing: Latch::default(),
        });
        let (sender, receiver) = crossbeam_channel::unbounded();
        let lane_shared = Arc::clone(&shared);
        let lane = std::thread::Builder::new()
            .name("packer-writer-lane".to_owned())
            .spawn(move || run_lane(&lane_shared, &receiver, LaneState::with_stamps(stamps)))
            .ok();
        Runtime {
            shared,
            sender: lane.as_ref().map(|_| sender),
            lane,
            observer: None,
        }
    }

    /// [`open`](Self::open), then starts the observer: `watcher`'s hints make the lane
    /// verify the disk and refresh the snapshot, and the whole workspace is verified on
    /// start and periodically (SPEC §3.4).
    ///
    /// Every change made after `runtime_started` is reported, an input's included: the
    /// snapshot records only whether each input exists, so the first verification,
    /// which comes once the watch is in place, also compares every input with how the
    /// load saw it. That costs the load one look at each file it lists.
    pub fn open_observed(
        ports: Ports,
        watcher: Arc<dyn WatchPort>,
        config: ObserverConfig,
    ) -> Runtime {
        let mut runtime = Runtime::start(ports, Watched::Yes);
        if let Some(sender) = &runtime.sender {
            runtime.observer = Observer::start(sender.clone(), watcher, config);
            runtime
                .shared
                .commits_derive
                .store(runtime.observer.is_some(), Ordering::Release);
        }
        runtime
    }

    /// Waits until the observer watches the workspace and has verified it once since it
    /// began to (what changed while a large tree was being watched included): from then
    /// on every change on disk is reported. `false` after `timeout`, and at once for a
    /// runtime without an observer.
    pub fn wait_observing(&self, timeout: Duration) -> bool {
        if self.observer.is_none() {
            return false;
        }
        self.shared.observing.wait(timeout)
    }

    /// Verifies the whole workspace against the snapshot now (a fingerprint scan), lets
    /// the lane refresh what changed, and gives the view after it.
    pub fn check_divergence(&self) -> Arc<View> {
        let (reply, answer) = crossbeam_channel::bounded(1);
        let sent = self.sender.as_ref().is_some_and(|sender| {
            sender
                .send(Message::Observe(Observation {
                    scope: Scope::Full,
                    reply: Some(reply),
                    requeue: None,
                    settle: std::time::Duration::ZERO,
                    first: false,
                }))
                .is_ok()
        });
        if sent && let Ok(view) = answer.recv() {
            return view;
        }
        self.view()
    }

    /// The current generation and state. Lock-free: never waits for the writer.
    pub fn view(&self) -> Arc<View> {
        self.shared.view.load_full()
    }

    /// Runs `read` on the current view without touching its reference count: the
    /// cheapest read for hot loops on several threads.
    pub fn with_view<R>(&self, read: impl FnOnce(&View) -> R) -> R {
        read(&self.shared.view.load())
    }

    /// A handle that reads the current view from anywhere, an event port among them,
    /// without keeping the runtime alive: it reads nothing once the runtime is gone.
    pub fn reader(&self) -> ViewReader {
        ViewReader {
            shared: Arc::downgrade(&self.shared),
        }
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.shared.view.load().snapshot)
    }

    /// The ports the host injected.
    pub fn ports(&self) -> &Ports {
        &self.shared.ports
    }

    /// Refuses a write that cannot reach the lane, as the lane refuses one: under a
    /// command id of its own, announced with `write_rejected`.
    pub(crate) fn reject_write(
        &self,
        generation: u64,
        reason: RejectReason,
        error: AppError,
    ) -> AppError {
        crate::write::reject(
            &self.shared,
            self.issue_command_id(),
            generation,
            reason,
            error,
        )
    }

    /// A fresh command id: ids are never reused within a runtime.
    pub(crate) fn issue_command_id(&self) -> CommandId {
        CommandId(self.shared.next_command.fetch_add(1, Ordering::Relaxed))
    }

    /// Runs a write through the lane and waits for its outcome. The command's id is in
    /// the outcome, the error's events and every event the write causes.
    pub fn submit(&self, request: WriteRequest) -> Result<WriteOutcome, AppError> {
        let id = self.issue_command_id();
        let (reply, answer) = crossbeam_channel::bounded(1);
        let sent = self
            .sender
            .as_ref()
            .is_some_and(|sender| sender.send(Message::Write { id, request, reply }).is_ok());
        if !sent {
            return Err(AppError::new(
                ErrorCode::FailedState,
                "the writer lane is not running",
            ));
        }
        answer.recv().unwrap_or_else(|_| {
            Err(AppError::new(
                ErrorCode::FailedState,
                "the writer lane stopped before answering",
            ))
        })
    }

    /// Whether the lane keeps replaced generations to free (tests: an idle lane keeping
    /// one wakes to look at it again).
    #[cfg(test)]
    pub(crate) fn keeps_retired(&self) -> bool {
        !retired(&self.shared).is_empty()
    }

    /// Stops the lane after the writes already queued and joins it.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        // The observer holds a sender of its own: it stops first so that the lane's
        // channel closes.
        if let Some(observer) = self.observer.take() {
            observer.stop();
        }
        self.sender = None;
        if let Some(lane) = self.lane.take() {
            let _ = lane.join();
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The view a read-only host (a read command of the CLI) gets without starting a
/// runtime: the snapshot as loaded, `failed` when an interrupted commit waits in `tx/`
/// for recovery, with the condition a runtime opening the project would give when its
/// recovery would refuse. Writes nothing, and takes the lock only to tell a commit
/// interrupted from one in flight, waiting `READ_WAIT` at most.
pub fn read_only_view(port: &dyn WorkspacePort) -> View {
    let mut snapshot = load_settled(port);
    let mut condition = pending_condition(port);
    if condition.is_some() {
        // A committed transaction: another process's commit being applied, or one
        // interrupted. The first holds the lock until its transaction is removed; the
        // read waits for it and loads the disk it left, or it would report a
        // transient `failed` (and whatever half of the commit it caught). Without a
        // lock file no process holds the lock (a writer makes it before it commits),
        // and a read makes none: the look stays the one taken.
        if let Ok(Some(lock)) = port.lock_if_in_use(Some(READ_WAIT)) {
            // The same transaction still waiting: no process applied anything, and the
            // snapshot taken stands (a project left failed by a crashed writer is read
            // once, not twice).
            let settled = pending_condition(port);
            if settled != condition {
                condition = settled;
                snapshot = Snapshot::load(port, 1);
            }
            drop(lock);
        }
    }
    let snapshot = Arc::new(snapshot);
    let mut view = View::of(snapshot);
    if condition.is_some() {
        view.state = ProjectState::Failed;
        view.condition = condition;
    }
    view
}

/// How long a read waits out another process's commit in flight before it answers with
/// what it found: a commit takes milliseconds; a writer holding the lock longer is
/// stopped half-way, and the read should not wait for it to resume.
const READ_WAIT: Duration = Duration::from_secs(5);

/// How many times a read loads the project again when `index.json` changed under it.
const RELOADS: usize = 3;

/// The project as loaded, loaded again (a few times at most) while `index.json` changed
/// during the load: another process's commit landed meanwhile (the registry is the last
/// file a commit replaces), and the load may hold half of it, its new `asset.json`
/// beside the registry from before, an `unregistered_asset` no settled disk has.
fn load_settled(port: &dyn WorkspacePort) -> Snapshot {
    let mut snapshot = Snapshot::load(port, 1);
    for _ in 0..RELOADS {
        let loaded = snapshot.registry_state().stamp().map(|s| s.fingerprint);
        match port.stat(&registry_path()) {
            Ok(now) if loaded.is_some() && now != loaded => snapshot = Snapshot::load(port, 1),
            // Unchanged, or it cannot be told (a registry that could not be read): the
            // load stands.
            _ => break,
        }
    }
    snapshot
}

/// Why the project is `failed` by what waits in `tx/`, looked at reading only: a
/// committed transaction that recovery would finish or refuses, or a `tx/` that cannot
/// be read. `None` when nothing committed waits there.
pub(crate) fn pending_condition(port: &dyn WorkspacePort) -> Option<String> {
    match recovery::preview(port) {
        Ok(pending) if pending.is_empty() => None,
        Ok(pending) => Some(format!(
            "an interrupted commit waits for recovery (transaction {}); the next write command finishes it",
            pending.join(", ")
        )),
        Err(error) => Some(recovery_condition(&error)),
    }
}

fn recover_on_open(port: &dyn WorkspacePort) -> (Vec<RecoveryReport>, Option<String>) {
    // An empty or absent `tx/` leaves nothing to recover: opening then takes no lock, so
    // a runtime that only reads (`watch`, Studio on a fresh clone) creates no lock file.
    // A commit that stages meanwhile holds the lock and finishes or fails on its own.
    if recovery::transactions(port).is_ok_and(|entries| entries.is_empty()) {
        return (Vec::new(), None);
    }
    // No `.prometeu` means no project, hence nothing to recover: the load says the rest.
    let Ok(lock) = port.lock() else {
        return (Vec::new(), None);
    };
    let (reports, result) = recovery::recover_all(port);
    drop(lock);
    (
        reports,
        result.err().map(|error| recovery_condition(&error)),
    )
}

/// Why the project is `failed` when recovery on open (or a read's look at `tx/`) fails:
/// no command ran, so not "the commit failed", but what could not be recovered.
fn recovery_condition(error: &CommitError) -> String {
    match error {
        CommitError::Aborted { error, .. } => {
            format!("the interrupted commits in assets/.prometeu/tx cannot be recovered: {error}")
        }
        other => other.to_string(),
    }
}

/// Publishes a `recovery_performed` for each of `reports`, in order; `cause` is the
/// write whose commit recovered them (none on open).
pub(crate) fn announce_recovered(
    events: &dyn EventPort,
    generation: u64,
    reports: &[RecoveryReport],
    cause: Option<CommandId>,
) {
    for report in reports {
        events.publish(recovery_event(generation, report, cause));
    }
}

fn recovery_event(generation: u64, report: &RecoveryReport, cause: Option<CommandId>) -> Event {
    Event::RecoveryPerformed {
        generation,
        transaction: report.transaction.clone(),
        outcome: report.outcome,
        command_id: cause,
    }
}

fn run_lane(shared: &Shared, receiver: &Receiver<Message>, mut lane: LaneState) {
    loop {
        // With generations waiting to be freed, an idle lane wakes now and then to free
        // those that readers have let go of.
        let message = if retired(shared).is_empty() {
            receiver.recv().ok()
        } else {
            match receiver.recv_timeout(RETIRED_SWEEP) {
                Ok(message) => Some(message),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    sweep(shared, &lane);
                    continue;
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => None,
            }
        };
        let Some(message) = message else {
            break;
        };
        match message {
            Message::Write { id, request, reply } => {
                let outcome = crate::write::write(shared, &mut lane, id, &request);
                let _ = reply.send(outcome);
            }
            Message::Observe(observation) => refresh::observe(shared, &mut lane, observation),
            Message::Degraded(reason) => refresh::degraded(shared, reason),
        }
        // After the answer: freeing the generation a commit replaced is no part of it.
        sweep(shared, &lane);
    }
}

fn sweep(shared: &Shared, lane: &LaneState) {
    let current = Arc::clone(&shared.view.load().snapshot);
    let mut held = vec![&current];
    held.extend(lane.snapshot());
    retired(shared).sweep(&held);
}

fn retired(shared: &Shared) -> std::sync::MutexGuard<'_, Retired> {
    // Only the lane takes the lock, and nothing under it can panic halfway.
    shared
        .retired
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Publishes a new view and says so when the state changed, naming `cause`, the write
/// that changed it (none for the observer's refreshes). The view it replaces is retired,
/// for the lane to free.
pub(crate) fn publish(shared: &Shared, view: View, cause: Option<CommandId>) {
    let (to, generation) = (view.state, view.snapshot.generation());
    let previous = shared.view.swap(Arc::new(view));
    let from = previous.state;
    retired(shared).views.push(previous);
    if from != to {
        shared.ports.events.publish(Event::StateChanged {
            generation,
            from,
            to,
            command_id: cause,
        });
    }
}

/// Reports what recovery did, loads the next generation from disk and publishes it.
/// `cause` is the write that brings it, if one does.
pub(crate) fn reload(
    shared: &Shared,
    generation: u64,
    recovered: &[RecoveryReport],
    cause: Option<CommandId>,
) -> Arc<View> {
    publish_next(shared, generation, recovered, None, cause)
}

/// Reports what recovery did and publishes the next generation: `derived` when given,
/// else loaded from disk. `cause` is the write that publishes it, if one does.
pub(crate) fn publish_next(
    shared: &Shared,
    generation: u64,
    recovered: &[RecoveryReport],
    derived: Option<Snapshot>,
    cause: Option<CommandId>,
) -> Arc<View> {
    announce_recovered(shared.ports.events.as_ref(), generation, recovered, cause);
    let snapshot = Arc::new(
        derived.unwrap_or_else(|| Snapshot::load(shared.ports.workspace.as_ref(), generation + 1)),
    );
    let mut view = View::of(snapshot);
    view.degraded = shared.view.load().degraded.clone();
    publish(shared, view, cause);
    shared.view.load_full()
}

/// Marks the project `failed` (by the write `cause`, if one did), keeping the last good
/// snapshot for reads.
pub(crate) fn fail(shared: &Shared, view: &View, condition: String, cause: Option<CommandId>) {
    publish(
        shared,
        View {
            state: ProjectState::Failed,
            condition: Some(condition),
            ..view.clone()
        },
        cause,
    );
}

/// A project failed by an interrupted commit may heal: recovery (under the lock) rolls
/// the transaction forward, and a fresh generation is loaded. If recovery refuses, the
/// write is rejected and the project stays failed. `cause` is that write.
pub(crate) fn heal(shared: &Shared, cause: CommandId) -> Result<Arc<View>, AppError> {
    let port = shared.ports.workspace.as_ref();
    let view = shared.view.load_full();
    let generation = view.snapshot.generation();
    let (reports, result) = match port.lock() {
        Ok(_lock) => recovery::recover_all(port),
        Err(error) => {
            let step = commit::Step::Lock;
            (Vec::new(), Err(CommitError::Aborted { step, error }))
        }
    };
    match result {
        Ok(()) => Ok(reload(shared, generation, &reports, Some(cause))),
        Err(error) => {
            announce_recovered(
                shared.ports.events.as_ref(),
                generation,
                &reports,
                Some(cause),
            );
            if matches!(error, CommitError::RecoveryRefused { .. }) {
                // The project is failed for a new reason now: say that one.
                fail(shared, &view, error.to_string(), Some(cause));
            }
            Err(AppError::new(
                ErrorCode::FailedState,
                format!("the project is failed: {error}"),
            ))
        }
    }
}
