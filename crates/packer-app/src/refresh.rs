//! The lane's side of observation: verify what the observer points at against the facts
//! of the last verification, and when something that matters changed, mark the project
//! `stale`, load the next generation and publish it with what changed. A refresh writes
//! nothing; structural drift waits for a reconcile.
//!
//! Running on the lane keeps refreshes in order with commits: a commit's own writes are
//! folded into the facts as it makes them, so they are never taken for hand edits.

use std::collections::BTreeSet;
use std::sync::Arc;

use packer_domain::command::{FileChange, Plan};
use packer_domain::drift::Drift;
use packer_domain::event::Event;
use packer_domain::observe::{self, DiskFacts, Fact, InputIndex, InputStamps, LinkFact, Touched};
use packer_domain::path::{AssetPath, WsPath};
use packer_domain::ports::{WorkspacePort, lock_path};
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{DeclarationState, ProjectState, Snapshot, registry_path};

use crate::commit::REFUSED;
use crate::observer::{Observation, Scope};
use crate::runtime::{Shared, View, fail, pending_condition, publish, reload};

/// What the lane remembers between observations.
#[derive(Debug, Default)]
pub(crate) struct LaneState {
    /// The facts of the last verification, kept current with the lane's own commits.
    facts: Option<DiskFacts>,
    /// The input index of one generation, reused while it is current and brought up to
    /// date from it when another is.
    inputs: Option<(Arc<Snapshot>, InputIndex)>,
    /// How the inputs were when the runtime opened, until the first verification.
    stamps: Option<InputStamps>,
}

impl LaneState {
    /// A lane whose first verification also compares the inputs with `stamps` (taken
    /// just after the first generation was loaded).
    pub(crate) fn with_stamps(stamps: Option<InputStamps>) -> LaneState {
        LaneState {
            stamps,
            ..LaneState::default()
        }
    }

    /// The generation the lane keeps for itself (the one its input index is of), freed
    /// on the lane when the index moves on.
    pub(crate) fn snapshot(&self) -> Option<&Arc<Snapshot>> {
        self.inputs.as_ref().map(|(snapshot, _)| snapshot)
    }

    /// Folds a commit's own writes into the facts, so that the watcher's hints about
    /// them find nothing new.
    pub(crate) fn committed(&mut self, port: &dyn WorkspacePort, plan: &Plan) {
        let Some(facts) = self.facts.as_mut() else {
            return;
        };
        for change in &plan.changes {
            let result = match change {
                // The content is the one written: its hash is known, and it stands for
                // the content until the stat data can be trusted (or a later write
                // shows in it).
                FileChange::Write { path, bytes, .. } => {
                    facts.record_written(port, path, bytes.hash())
                }
                FileChange::Delete { path, .. } => {
                    facts.replace_under(path, DiskFacts::default());
                    Ok(())
                }
                FileChange::RenameDir { from, to } => {
                    facts.rename_under(from, to);
                    Ok(())
                }
                FileChange::Verify { .. } | FileChange::VerifyAbsent { .. } => Ok(()),
            };
            if result.is_err() {
                // Facts that cannot be refreshed are dropped: the next verification is
                // then a full one, compared with the snapshot itself.
                self.facts = None;
                return;
            }
        }
    }
}

/// The input index of `snapshot`: built once, then brought up to date from the
/// generation it was of.
fn input_index<'a>(
    inputs: &'a mut Option<(Arc<Snapshot>, InputIndex)>,
    snapshot: &Arc<Snapshot>,
) -> &'a InputIndex {
    let (of, index) =
        inputs.get_or_insert_with(|| (Arc::clone(snapshot), InputIndex::of(snapshot)));
    if !Arc::ptr_eq(of, snapshot) {
        index.update(of, snapshot);
        *of = Arc::clone(snapshot);
    }
    index
}

/// Verifies, refreshes if needed, and answers whoever asked.
pub(crate) fn observe(shared: &Shared, lane: &mut LaneState, observation: Observation) {
    let Observation {
        scope,
        reply,
        requeue,
        settle,
        first,
    } = observation;
    let deferred = verify_and_refresh(shared, lane, &scope, requeue.is_some().then_some(settle));
    if let (Some(requeue), false) = (requeue, deferred.is_empty()) {
        let _ = requeue.send(deferred);
    }
    if first {
        // The stamps speak of the disk when the runtime opened: a first verification
        // that could not use them (a project failed from the start) leaves them to no
        // later one.
        lane.stamps = None;
        // Made now, as part of starting to observe, rather than by the first hand edit,
        // whose refresh it would hold up (some 60 ms at 100k assets).
        input_index(&mut lane.inputs, &shared.view.load_full().snapshot);
        shared.observing.set();
    }
    if let Some(reply) = reply {
        let _ = reply.send(shared.view.load_full());
    }
}

/// Records whether the observer watches everything, and says so when that changes.
pub(crate) fn degraded(shared: &Shared, reason: Option<String>) {
    let view = shared.view.load_full();
    if view.degraded == reason {
        return;
    }
    publish(
        shared,
        View {
            degraded: reason.clone(),
            ..View::clone(&view)
        },
        None,
    );
    // Said once the view holds it, so that a reader woken by the event sees it.
    let generation = view.snapshot.generation();
    shared.ports.events.publish(match reason {
        Some(reason) => Event::ObserverDegraded { generation, reason },
        None => Event::ObserverRestored { generation },
    });
}

/// Gives the paths to verify again later (files not finished yet); empty when done.
fn verify_and_refresh(
    shared: &Shared,
    lane: &mut LaneState,
    scope: &Scope,
    settle: Option<std::time::Duration>,
) -> Vec<WsPath> {
    let port = shared.ports.workspace.as_ref();
    let view = shared.view.load_full();
    let (scope, released) = without_lock(scope);
    let scope = &scope;
    // A commit interrupted after its commit point is the truth until recovery runs; the
    // disk is not what any snapshot describes until then.
    if view.condition.is_some() && !view.unrefreshed {
        // The look below takes the lock while a committed transaction waits, and letting
        // it go is heard as a release: a release alone is looked into only once `tx/`
        // holds none, which takes no lock (a recovery by another process that found
        // every file already in place changes nothing else a hint names).
        if released && *scope == Scope::Paths(Vec::new()) && pending_condition(port).is_some() {
            return Vec::new();
        }
        // Every verification looks again at `tx/`, writing nothing: the transaction may
        // be gone, finished by another process's write (whose last change is heard
        // before its cleanup, hence the wait in `transactions`) or removed by a person
        // after a refused recovery. Then the disk is the truth again, loaded whole; the
        // facts start over from it.
        match transactions(port) {
            Transactions::Settled { .. } => {
                lane.facts = None;
                reload(shared, view.snapshot.generation(), &[], None);
            }
            // Still there, but refused where it was not, or the reverse (its files put
            // back): said as a fresh read says it. Otherwise the condition stays, which
            // for this runtime's own commit names the step it failed at.
            Transactions::Interrupted(condition)
                if view.condition.as_ref() != Some(&condition)
                    && (refused(&condition) || view.condition.as_deref().is_some_and(refused)) =>
            {
                fail(shared, &view, condition, None);
            }
            Transactions::Interrupted(_) => {}
        }
        return Vec::new();
    }
    let now = shared.ports.clock.wall_clock_ns();
    // A view failed by an unreadable registry or workspace serves the last good
    // snapshot, which is not what the disk held when the failure was seen.
    let base = (!view.unrefreshed).then_some(view.snapshot.as_ref());
    let (mut changed, verified) = match changed_paths(port, lane, base, scope, now) {
        Some(changed) => (changed, true),
        // The disk cannot be verified: the load says what is wrong.
        None => (vec![WsPath::root()], false),
    };
    // A full verification looks at `tx/` even when nothing else changed, and so does one
    // that heard a writer let the lock go: a commit interrupted right after its commit
    // point changed nothing yet, and nothing below `tx/` is watched.
    if changed.is_empty() && !matches!(scope, Scope::Full) && !released {
        // The usual answer to the hints about the lane's own commits.
        return Vec::new();
    }
    match verified.then(|| transactions(port)) {
        None | Some(Transactions::Settled { waited: false }) => {}
        Some(Transactions::Settled { waited: true }) => {
            // Another process's commit finished while the lane waited: what it changed
            // after the look above (its `index.json` last) is taken in with the rest.
            let now = shared.ports.clock.wall_clock_ns();
            match changed_paths(port, lane, base, &Scope::Full, now) {
                Some(more) => changed.extend(more),
                None => changed.push(WsPath::root()),
            }
            changed.sort();
            changed.dedup();
        }
        Some(Transactions::Interrupted(condition)) => {
            // As a fresh read says, and until the transaction is finished or removed:
            // the disk is half-way between two states no snapshot describes.
            fail(shared, &view, condition, None);
            return Vec::new();
        }
    }
    if changed.is_empty() {
        return Vec::new();
    }
    let LaneState { facts, inputs, .. } = lane;
    let index = input_index(inputs, &view.snapshot);
    // A full scan looked at every link; a change at some paths may have changed what a
    // link elsewhere leads to (an input that is a link to the edited file).
    if let (Scope::Paths(_), Some(facts)) = (scope, facts.as_mut()) {
        changed.extend(facts.recheck_links(port, |path| index.touched(path).is_some()));
    }
    let mut relevant: Vec<(WsPath, Option<Touched>)> = changed
        .into_iter()
        .filter_map(|path| {
            if path.is_root() {
                return Some((path, None));
            }
            // An input declared through a linked folder and edited at its real path is
            // named as it is declared.
            index
                .touched_via(&path, facts.as_ref())
                .map(|(path, touched)| (path, Some(touched)))
        })
        .collect();
    if relevant.is_empty() {
        return Vec::new();
    }
    let settle_ns = settle.map_or(0, |s| i64::try_from(s.as_nanos()).unwrap_or(i64::MAX));
    let mut unfinished_paths = Vec::new();
    if settle_ns > 0 {
        unfinished_paths = unfinished(port, &relevant, facts.as_ref(), now, settle_ns);
        if unfinished_paths.contains(&registry_path()) {
            // The registry says which declarations are registered: taken in against the
            // old one while the new one is being written (a merge left with conflict
            // markers, a `git pull` under way), a new `asset.json` would show as
            // unregistered, a state no settled disk has. The whole burst waits with it.
            unfinished_paths = relevant.iter().map(|(path, _)| path.clone()).collect();
        }
        if !unfinished_paths.is_empty() {
            // Forget them, so that the next look sees them as changed again.
            if let Some(facts) = facts.as_mut() {
                for path in &unfinished_paths {
                    facts.replace_under(path, DiskFacts::default());
                }
            }
            relevant.retain(|(path, _)| !unfinished_paths.contains(path));
        }
    }
    mark_stale(shared, &view);
    if !relevant.is_empty() {
        refresh(shared, &view, &relevant, facts.as_ref());
    }
    // Looked at again later even when the rest of the burst was taken in now.
    unfinished_paths
}

/// `scope` without the lock's path, and whether it named the lock or a folder above it
/// (heard as a writer letting the lock go). The lock is no file the facts follow.
fn without_lock(scope: &Scope) -> (Scope, bool) {
    match scope {
        Scope::Full => (Scope::Full, true),
        Scope::Paths(paths) => {
            let lock = lock_path();
            let released = paths.iter().any(|path| lock.starts_with(path));
            let rest = paths
                .iter()
                .filter(|path| **path != lock)
                .cloned()
                .collect();
            (Scope::Paths(rest), released)
        }
    }
}

/// Whether a condition is a refused recovery's, which needs a person.
fn refused(condition: &str) -> bool {
    condition.starts_with(REFUSED)
}

/// What `tx/` says about the disk a verification is about to take in.
enum Transactions {
    /// No committed transaction waits there; `waited`: one did, another process's
    /// commit in flight, and it finished while the lane waited for it.
    Settled { waited: bool },
    /// A committed transaction that no process is applying (or a `tx/` that cannot be
    /// read): the condition the project is `failed` with.
    Interrupted(String),
}

/// Looks at `tx/`, and waits for the commit of another process that is applying its
/// transaction: taken in half-way, its changes show one file at a time (a new
/// `asset.json` unregistered until its `index.json` lands), a divergence no settled disk
/// has. That process holds the project lock until its transaction is removed, so the
/// lock tells a commit in flight from an interrupted one; taking it writes nothing a
/// person sees, and it is taken only while a committed transaction is there.
fn transactions(port: &dyn WorkspacePort) -> Transactions {
    if pending_condition(port).is_none() {
        return Transactions::Settled { waited: false };
    }
    // Without the lock (no lock file, so no process holds it, or one that cannot be
    // opened), the look is the one a read command takes; the observer makes no file.
    let lock = port.lock_if_in_use(None);
    let condition = pending_condition(port);
    drop(lock);
    match condition {
        None => Transactions::Settled { waited: true },
        Some(condition) => Transactions::Interrupted(condition),
    }
}

/// The paths whose facts changed within `scope`; `None` when the disk cannot be read.
/// Without earlier facts, a full scan is compared with `snapshot`, or, when there is no
/// snapshot of what the disk last held, found changed as a whole (the root).
fn changed_paths(
    port: &dyn WorkspacePort,
    lane: &mut LaneState,
    snapshot: Option<&Snapshot>,
    scope: &Scope,
    now: i64,
) -> Option<Vec<WsPath>> {
    match (scope, lane.facts.as_mut()) {
        (Scope::Paths(paths), Some(facts)) => {
            let mut changed = Vec::new();
            for path in paths {
                let Ok(part) = DiskFacts::scan_under(port, path, now, Some(facts)) else {
                    // As after a full scan that failed: the facts no longer say what the
                    // disk holds, and the next look compares the disk as a whole. Kept,
                    // a disk back as it was (`assets/` moved away and back) would match
                    // them, and the failed project would never be refreshed.
                    lane.facts = None;
                    return None;
                };
                changed.extend(facts.replace_under(path, part));
            }
            Some(changed)
        }
        _ => {
            let scanned = DiskFacts::scan(port, now, lane.facts.as_ref());
            let new = match scanned {
                Ok(new) => new,
                Err(_) => {
                    lane.facts = None;
                    return None;
                }
            };
            let changed = match (&lane.facts, snapshot) {
                (Some(old), _) => old.diff(&new),
                (None, Some(snapshot)) => {
                    let mut changed = observe::contradictions(snapshot, &new);
                    if let Some(stamps) = lane.stamps.take() {
                        changed.extend(stamps.changed(&new));
                        changed.sort();
                        changed.dedup();
                    }
                    changed
                }
                (None, None) => vec![WsPath::root()],
            };
            lane.facts = Some(new);
            Some(changed)
        }
    }
}

/// Changed `asset.json` or `index.json` files that do not parse and were written within
/// the settle time: most likely still being written. Only files are read: a FIFO (or a
/// link to one) is never opened, where opening it would release a writer blocked on it.
fn unfinished(
    port: &dyn WorkspacePort,
    relevant: &[(WsPath, Option<Touched>)],
    facts: Option<&DiskFacts>,
    now: i64,
    settle: i64,
) -> Vec<WsPath> {
    relevant
        .iter()
        .filter(|(_, touched)| matches!(touched, Some(Touched::Declaration | Touched::Registry)))
        .filter(|(path, _)| {
            facts.is_none_or(|facts| {
                matches!(
                    facts.get(path.as_str()),
                    Some(Fact::File { .. } | Fact::Link(LinkFact::File(_)))
                )
            })
        })
        .filter_map(|(path, _)| {
            let read = port.read(path, observe::read_limit(path)).ok()?;
            let fresh = now.saturating_sub(read.fingerprint.mtime_ns) < settle;
            // Only whether it parses: no tree (a registry is some 15 MB at 100k assets).
            let parses = packer_domain::json::validate(&read.bytes).is_ok();
            (fresh && !parses).then(|| path.clone())
        })
        .collect()
}

fn mark_stale(shared: &Shared, view: &Arc<View>) {
    if view.state != ProjectState::Stale {
        publish(
            shared,
            View {
                state: ProjectState::Stale,
                ..View::clone(view)
            },
            None,
        );
    }
}

/// Loads the next generation and publishes it with what changed, or restores the view
/// when nothing did.
fn refresh(
    shared: &Shared,
    before: &View,
    relevant: &[(WsPath, Option<Touched>)],
    facts: Option<&DiskFacts>,
) {
    let port = shared.ports.workspace.as_ref();
    let old = &before.snapshot;
    let next = old.generation() + 1;
    // A view failed by an unreadable registry or workspace serves the last good
    // generation, whose registry is not the one on disk: only a full load says whether
    // the project reads again.
    let new = (!before.unrefreshed)
        .then(|| edited_declarations(old, relevant, facts))
        .flatten()
        .and_then(|roots| old.with_declarations_reread(port, &roots, next))
        .unwrap_or_else(|| Snapshot::load(port, next));
    if new.state() == ProjectState::Failed {
        // Reads keep the last good generation, flagged. An unreadable registry's error is
        // in the drifts; a registry that reads in a workspace that cannot be listed (a
        // folder's permission taken away, `assets/` replaced) has it in the diagnostics.
        let workspace_unreadable = new.registry().is_some();
        let diagnostics = new.diagnostics();
        let error = if workspace_unreadable {
            diagnostics.first().map_or_else(
                || "the workspace cannot be read".to_owned(),
                |d| d.message.clone(),
            )
        } else {
            new.drifts()
                .first()
                .map_or_else(|| "the registry cannot be read".to_owned(), describe)
        };
        // The failed load's findings stand beside the last good generation's; those of
        // a snapshot failed itself (a project failed from the start) are superseded by
        // them (`View::drifts`).
        publish(
            shared,
            View {
                state: ProjectState::Failed,
                condition: Some(error),
                pending_drifts: new.drifts().to_vec(),
                pending_diagnostics: diagnostics,
                refreshed: Vec::new(),
                unrefreshed: true,
                ..before.clone()
            },
            None,
        );
        return;
    }
    let inputs: Vec<(AssetId, AssetPath)> = relevant
        .iter()
        .filter_map(|(path, touched)| match touched {
            Some(Touched::Input(id)) => AssetPath::from_ws(path.clone())
                .ok()
                .filter(|_| still_present(&new, *id, path))
                .map(|p| (*id, p)),
            _ => None,
        })
        .collect();
    let refreshed = refreshed_drifts(old, &new, &inputs);
    let changed = changed_assets(old, &new, &inputs);
    // A view failed by an unreadable registry or workspace always moves on to the new
    // generation.
    let recovered = before.unrefreshed;
    if !recovered && changed.is_empty() && refreshed.is_empty() && same_beyond_assets(old, &new) {
        publish(
            shared,
            View {
                state: if before.condition.is_some() {
                    ProjectState::Failed
                } else {
                    before.snapshot.state()
                },
                ..before.clone()
            },
            None,
        );
        return;
    }
    let generation = new.generation();
    let structural: Vec<Drift> = new
        .drifts()
        .iter()
        .filter(|d| d.is_structural())
        .cloned()
        .collect();
    let structural_before: Vec<&Drift> =
        old.drifts().iter().filter(|d| d.is_structural()).collect();
    let diverged_anew =
        !structural.is_empty() && structural.iter().ne(structural_before.iter().copied());
    let mut view = View::of(Arc::new(new));
    view.refreshed = refreshed;
    view.degraded = before.degraded.clone();
    publish(shared, view, None);
    let paths: Vec<WsPath> = relevant
        .iter()
        .map(|(p, _)| p.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    shared.ports.events.publish(Event::SnapshotRefreshed {
        generation,
        paths,
        changed,
    });
    if diverged_anew {
        shared.ports.events.publish(Event::DivergenceDetected {
            generation,
            drifts: structural,
        });
    }
}

fn describe(drift: &Drift) -> String {
    match drift {
        Drift::RegistryInvalid { error } => format!(
            "{}:{}:{}: {}",
            error.file, error.line, error.column, error.message
        ),
        other => other.kind_name().to_owned(),
    }
}

/// The roots whose `asset.json` is all that changed, when nothing else did that the
/// snapshot holds: other paths are inputs that were and still are plain files, whose
/// content the snapshot does not hold. `None` when a full load is needed.
fn edited_declarations(
    old: &Snapshot,
    relevant: &[(WsPath, Option<Touched>)],
    facts: Option<&DiskFacts>,
) -> Option<Vec<AssetPath>> {
    let facts = facts?;
    let mut roots = Vec::new();
    for (path, touched) in relevant {
        let is_file = matches!(facts.get(path.as_str()), Some(Fact::File { .. }));
        match touched {
            Some(Touched::Declaration) if is_file => {
                roots.push(AssetPath::of_declaration(path)?);
            }
            Some(Touched::Input(id)) if is_file && still_present(old, *id, path) => {}
            _ => return None,
        }
    }
    Some(roots)
}

fn still_present(snapshot: &Snapshot, id: AssetId, path: &WsPath) -> bool {
    let Some(asset) = snapshot.asset(id) else {
        return false;
    };
    let DeclarationState::Valid(valid) = &asset.declaration else {
        return false;
    };
    valid
        .declaration
        .inputs
        .iter()
        .zip(&valid.inputs)
        .any(|(input, state)| {
            asset.entry.root.join(input).as_ws() == path
                && *state == packer_domain::snapshot::InputState::Present
        })
}

/// The automatic drift a refresh takes in: edited declarations that are valid, an edited
/// registry that is valid, changed inputs.
fn refreshed_drifts(old: &Snapshot, new: &Snapshot, inputs: &[(AssetId, AssetPath)]) -> Vec<Drift> {
    let mut out = Vec::new();
    let hash = |s: &Snapshot| s.registry_state().stamp().map(|stamp| stamp.hash);
    if hash(old) != hash(new) {
        out.push(Drift::RegistryChanged);
    }
    // A record in a chunk both generations share is the same in both.
    for (_, asset) in new.assets().unshared(old.assets()) {
        let DeclarationState::Valid(valid) = &asset.declaration else {
            continue;
        };
        let before = old
            .asset(asset.entry.asset_id)
            .and_then(|a| a.declaration.stamp())
            .map(|s| s.hash);
        if before.is_some_and(|h| h != valid.stamp.hash) {
            out.push(Drift::DeclarationChanged {
                asset_id: asset.entry.asset_id,
            });
        }
    }
    for (asset_id, path) in inputs {
        out.push(Drift::InputChanged {
            asset_id: *asset_id,
            path: path.clone(),
        });
    }
    out
}

/// Assets whose entry, declaration, status or inputs differ between the generations.
fn changed_assets(old: &Snapshot, new: &Snapshot, inputs: &[(AssetId, AssetPath)]) -> Vec<AssetId> {
    let mut ids = BTreeSet::new();
    // A record in a chunk both generations share is the same in both.
    for (_, asset) in new.assets().unshared(old.assets()) {
        match old.asset(asset.entry.asset_id) {
            Some(before)
                if before.entry == asset.entry
                    && before.status == asset.status
                    && same_declaration(&before.declaration, &asset.declaration) => {}
            _ => {
                ids.insert(asset.entry.asset_id);
            }
        }
    }
    for (_, asset) in old.assets().unshared(new.assets()) {
        if new.asset(asset.entry.asset_id).is_none() {
            ids.insert(asset.entry.asset_id);
        }
    }
    ids.extend(inputs.iter().map(|(id, _)| *id));
    ids.into_iter().collect()
}

/// Whether two loads of a declaration say the same, whatever the stat data: a file
/// touched without a change is no change.
fn same_declaration(a: &DeclarationState, b: &DeclarationState) -> bool {
    match (a, b) {
        (DeclarationState::Valid(x), DeclarationState::Valid(y)) => {
            x.stamp.hash == y.stamp.hash && x.declaration == y.declaration && x.inputs == y.inputs
        }
        (DeclarationState::Invalid(x), DeclarationState::Invalid(y)) => {
            x.errors == y.errors && x.stamp.map(|s| s.hash) == y.stamp.map(|s| s.hash)
        }
        (DeclarationState::Missing, DeclarationState::Missing) => true,
        _ => false,
    }
}

/// Whether two snapshots say the same beyond their registered assets (which
/// [`changed_assets`] compares), generation and stat data aside.
fn same_beyond_assets(old: &Snapshot, new: &Snapshot) -> bool {
    old.registry() == new.registry()
        && old.drifts() == new.drifts()
        && old.unregistered().len() == new.unregistered().len()
        && old
            .unregistered()
            .iter()
            .zip(new.unregistered())
            .all(|(a, b)| a.root == b.root && same_declaration(&a.declaration, &b.declaration))
}
