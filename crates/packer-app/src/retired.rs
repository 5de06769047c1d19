//! The generations a runtime replaced, kept by the writer lane until no reader holds
//! them, so that the lane is the thread that frees them.

use std::sync::Arc;
use std::time::Duration;

use packer_domain::snapshot::Snapshot;

use crate::runtime::View;

/// How often an idle lane looks again at the generations readers still hold.
pub(crate) const RETIRED_SWEEP: Duration = Duration::from_millis(20);

/// Generations that are no longer current, held by the lane so that it is the one that
/// frees them: freeing a snapshot of a large project touches every asset, which would
/// otherwise fall on whichever reader lets go of it last, and on the commit's latency.
/// The lane frees them after it has answered, between messages.
#[derive(Debug, Default)]
pub(crate) struct Retired {
    pub(crate) views: Vec<Arc<View>>,
    /// Snapshots of views already freed, still held elsewhere (a reader, a write's
    /// outcome); each once.
    snapshots: Vec<Arc<Snapshot>>,
}

impl Retired {
    /// Whether nothing waits to be freed: an idle lane then sleeps until its next message.
    pub(crate) fn is_empty(&self) -> bool {
        self.views.is_empty() && self.snapshots.is_empty()
    }

    /// Frees what no one else holds any more. A snapshot that the lane holds itself
    /// (`lanes`: the view in force, the lane's own state) is let go of, not kept: the
    /// lane frees it when it lets go of it in turn (the view in force is retired again
    /// when it is replaced), while keeping it would wake an idle lane for as long as it
    /// is held there.
    pub(crate) fn sweep(&mut self, lanes: &[&Arc<Snapshot>]) {
        for view in std::mem::take(&mut self.views) {
            match Arc::try_unwrap(view) {
                Ok(view) => {
                    if !self
                        .snapshots
                        .iter()
                        .any(|kept| Arc::ptr_eq(kept, &view.snapshot))
                    {
                        self.snapshots.push(view.snapshot);
                    }
                }
                Err(view) => self.views.push(view),
            }
        }
        self.snapshots.retain(|snapshot| {
            Arc::strong_count(snapshot) > 1 && !lanes.iter().any(|held| Arc::ptr_eq(snapshot, held))
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use packer_domain::event::Event;
    use packer_domain::snapshot::ProjectState;
    use packer_memfs::{EventLog, ManualClock, MemFs, ScriptedWatcher};

    use super::*;
    use crate::observer::ObserverConfig;
    use crate::runtime::{Ports, Runtime};

    const EMPTY: &str = "//- .prometeu/index.json\n{ \"schema_version\": 1, \"next_asset_id\": 1, \"assets\": [] }\n";

    /// Retires `views` in order, then lets go of the outside references numbered in
    /// `released`, sweeping after each step while the lane holds `lanes`; `expected` is
    /// how many views and snapshots the lane still keeps after each sweep.
    fn check(
        views: Vec<Arc<View>>,
        lanes: &[&Arc<Snapshot>],
        released: &[usize],
        expected: &[(usize, usize)],
    ) {
        let mut retired = Retired::default();
        retired.views.extend(views.iter().cloned());
        let mut outside: Vec<Option<Arc<View>>> = views.into_iter().map(Some).collect();
        let mut held = Vec::new();
        retired.sweep(lanes);
        held.push((retired.views.len(), retired.snapshots.len()));
        for &index in released {
            outside[index] = None;
            retired.sweep(lanes);
            held.push((retired.views.len(), retired.snapshots.len()));
        }
        assert_eq!(held, expected);
    }

    fn view(snapshot: &Arc<Snapshot>) -> Arc<View> {
        Arc::new(View::of(Arc::clone(snapshot)))
    }

    #[test]
    fn the_lane_frees_a_generation_once_no_one_else_holds_it() {
        let fs = MemFs::from_fixture(EMPTY).unwrap();
        let snapshot = Arc::new(Snapshot::load(&fs, 1));
        // Two views of one generation (as `reconciling` and back), a third of another.
        let other = Arc::new(Snapshot::load(&fs, 2));
        let views = vec![view(&snapshot), view(&snapshot), view(&other)];
        drop(other);
        let current = Arc::new(Snapshot::load(&fs, 3));
        // `snapshot` itself is still held here: its views go, the snapshot stays (once).
        check(
            views,
            &[&current],
            &[0, 1, 2],
            &[(3, 0), (2, 1), (1, 1), (0, 1)],
        );
        let weak = Arc::downgrade(&snapshot);
        let mut retired = Retired::default();
        retired.views.push(view(&snapshot));
        drop(snapshot);
        retired.sweep(&[&current]);
        assert_eq!(weak.strong_count(), 0, "freed by the sweep");
        assert!(retired.is_empty());
    }

    #[test]
    fn a_generation_the_lane_holds_itself_is_not_kept_to_be_looked_at_again() {
        let fs = MemFs::from_fixture(EMPTY).unwrap();
        // `stale` and back to `ready` with nothing new: the view in force shares the
        // snapshot of the views it replaced.
        let current = Arc::new(Snapshot::load(&fs, 2));
        check(
            vec![view(&current), view(&current)],
            &[&current],
            &[0, 1],
            &[(2, 0), (1, 0), (0, 0)],
        );
        // A refresh: the lane's input index is still of the generation it replaced.
        let indexed = Arc::new(Snapshot::load(&fs, 1));
        check(
            vec![view(&indexed)],
            &[&current, &indexed],
            &[0],
            &[(1, 0), (0, 0)],
        );
        assert_eq!(Arc::strong_count(&current), 1, "held here only");
        assert_eq!(Arc::strong_count(&indexed), 1, "held here only");
    }

    const DEADLINE: Duration = Duration::from_secs(20);

    const FIXTURE: &str = r#"//- .prometeu/index.json
{ "schema_version": 1, "next_asset_id": 2, "assets": [
{ "asset_id": 1, "asset_uuid": "11111111-1111-4111-8111-111111111111", "root": "a", "included_in_build": true }
] }
//- a/asset.json
{ "schema_version": 1, "asset_uuid": "11111111-1111-4111-8111-111111111111", "name": "a", "kind": "blob", "inputs": ["x.bin"] }
//- a/x.bin
bytes of a
"#;

    /// Whether the lane keeps nothing to free once it has handled what it was sent so far:
    /// the lane sweeps after each message, so the sweep after the first verification is
    /// done once the second is answered.
    fn idle_lane_keeps_nothing(runtime: &Runtime) -> bool {
        runtime.check_divergence();
        runtime.check_divergence();
        !runtime.keeps_retired()
    }

    #[test]
    fn an_idle_lane_keeps_no_generation_to_look_at_again() {
        let fs = MemFs::from_fixture(FIXTURE).unwrap();
        let watcher = Arc::new(ScriptedWatcher::new());
        let events = EventLog::new();
        let clock = ManualClock::new();
        let config = ObserverConfig {
            debounce: Duration::from_millis(1),
            max_delay: Duration::from_millis(50),
            settle: Duration::ZERO,
            periodic: None,
            ..ObserverConfig::default()
        };
        let runtime = Runtime::open_observed(
            Ports {
                workspace: Arc::new(fs.clone()),
                events: Arc::new(events.clone()),
                clock: Arc::new(clock.clone()),
            },
            watcher.clone(),
            config,
        );
        assert!(runtime.wait_observing(DEADLINE));
        // A hand edit refreshed into generation 2: the lane's input index is still of
        // generation 1, which the lane lets go of itself when the index moves on.
        fs.write("a/x.bin", "edited by hand");
        watcher.changed("a/x.bin");
        let refreshed = |generation: u64| {
            events.wait_for(
                |e| matches!(e, Event::SnapshotRefreshed { generation: g, .. } if *g == generation),
                DEADLINE,
            )
        };
        assert!(refreshed(2).is_some(), "{:#?}", events.events());
        assert!(idle_lane_keeps_nothing(&runtime));
        // The declaration saved again as it was: `stale`, then back to `ready` on the
        // same generation, whose snapshot the view in force shares with the views it
        // replaced.
        clock.advance(Duration::from_secs(1));
        events.clear();
        let declaration = fs.read("a/asset.json").unwrap_or_default();
        fs.write("a/asset.json", declaration);
        watcher.changed("a/asset.json");
        let back = events.wait_for(
            |e| {
                matches!(
                    e,
                    Event::StateChanged {
                        from: ProjectState::Stale,
                        ..
                    }
                )
            },
            DEADLINE,
        );
        assert!(back.is_some(), "{:#?}", events.events());
        assert_eq!(runtime.view().snapshot.generation(), 2);
        assert!(idle_lane_keeps_nothing(&runtime));
        runtime.shutdown();
    }
}
