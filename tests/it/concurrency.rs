//! Readers racing the writer lane: while one thread submits a long stream of commits,
//! reader threads load the published view over and over, and every read must be one
//! whole, published generation — never torn, never going backwards, never one whose
//! commit has not been made.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use packer_app::runtime::{Ports, Runtime, WriteRequest};
use packer_domain::command::{Command, CreateAsset};
use packer_domain::declaration::AssetKind;
use packer_domain::path::AssetPath;
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{AssetQuery, DeclarationState, Snapshot};
use packer_memfs::{EventLog, ManualClock, MemFs};

/// Assets the writer creates; each is excluded from the build right after, so the writer
/// makes twice as many commits.
const ASSETS: u64 = 150;
const READERS: usize = 3;

#[test]
fn readers_see_only_whole_published_generations() {
    let fs = MemFs::from_fixture(
        r#"
        //- .prometeu/index.json
        {"schema_version": 1, "next_asset_id": 1, "assets": []}
        "#,
    )
    .unwrap();
    let runtime = Runtime::open(Ports {
        workspace: Arc::new(fs),
        events: Arc::new(EventLog::new()),
        clock: Arc::new(ManualClock::new()),
    });
    // The last generation a `submit` returned; the view may run at most one ahead.
    let acknowledged = AtomicU64::new(runtime.view().snapshot.generation());
    let finished = AtomicBool::new(false);
    let reads: Vec<u64> = std::thread::scope(|scope| {
        let (runtime, acknowledged, finished) = (&runtime, &acknowledged, &finished);
        let readers: Vec<_> = (0..READERS)
            .map(|reader| {
                scope.spawn(move || read_until_finished(reader, runtime, acknowledged, finished))
            })
            .collect();
        {
            // Even if the writer fails, the readers stop and the scope can end.
            let _stop = StopOnDrop(finished);
            write_all(runtime, acknowledged);
        }
        readers
            .into_iter()
            .map(|reader| reader.join().unwrap())
            .collect()
    });
    assert!(reads.iter().all(|&n| n > 0), "every reader read: {reads:?}");
    let last = runtime.snapshot();
    assert_eq!(last.generation(), 1 + 2 * ASSETS);
    check_generation(&last);
    runtime.shutdown();
}

/// Sets the flag when dropped, on success or on a panic.
struct StopOnDrop<'f>(&'f AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Creates asset `n` at `c/n`, then excludes it, for every `n`; publishes each
/// acknowledged generation.
fn write_all(runtime: &Runtime, acknowledged: &AtomicU64) {
    let write = |command| WriteRequest {
        command,
        expected_generation: None,
    };
    for n in 0..ASSETS {
        let created = runtime
            .submit(write(Command::CreateAsset(CreateAsset {
                root: AssetPath::new(&format!("c/{n}")).unwrap(),
                kind: AssetKind::Blob,
                inputs: vec![AssetPath::new("x.bin").unwrap()],
                name: None,
                output: None,
                included_in_build: true,
            })))
            .unwrap();
        assert_eq!(
            (created.generation, created.asset),
            (2 + 2 * n, Some(AssetId(n + 1)))
        );
        acknowledged.store(created.generation, Ordering::SeqCst);
        let excluded = runtime
            .submit(write(Command::SetIncluded {
                asset: AssetQuery::Id(AssetId(n + 1)),
                included: false,
            }))
            .unwrap();
        assert_eq!(excluded.generation, 3 + 2 * n);
        acknowledged.store(excluded.generation, Ordering::SeqCst);
    }
}

/// Reads the view (even reads) or the snapshot (odd reads) until the writer is done, and
/// once more after; returns how many reads it made.
fn read_until_finished(
    reader: usize,
    runtime: &Runtime,
    acknowledged: &AtomicU64,
    finished: &AtomicBool,
) -> u64 {
    let mut last = 0;
    let mut reads = 0u64;
    loop {
        // Looked at first: once it is set, this read must find the final generation.
        let done = finished.load(Ordering::SeqCst);
        let low = acknowledged.load(Ordering::SeqCst);
        let snapshot: Arc<Snapshot> = if reads.is_multiple_of(2) {
            let view = runtime.view();
            assert_eq!(view.state, view.snapshot.state(), "reader {reader}");
            assert_eq!(view.condition, None, "reader {reader}");
            Arc::clone(&view.snapshot)
        } else {
            runtime.snapshot()
        };
        let high = acknowledged.load(Ordering::SeqCst);
        let generation = snapshot.generation();
        assert!(
            generation >= last,
            "reader {reader}: generation {generation} after {last}"
        );
        assert!(
            generation >= low && generation <= high + 1,
            "reader {reader}: generation {generation} outside the acknowledged {low}..={high} + 1"
        );
        check_generation(&snapshot);
        last = generation;
        reads += 1;
        if done {
            assert_eq!(generation, 1 + 2 * ASSETS, "reader {reader}");
            return reads;
        }
        // Not a wait: lets the writer run on a machine with fewer cores than threads.
        std::thread::yield_now();
    }
}

/// The snapshot is exactly the project after its generation's commits: `k` commits make
/// `(k + 1) / 2` assets, and asset `j` is excluded once commit `2j` is made.
fn check_generation(snapshot: &Snapshot) {
    let generation = snapshot.generation();
    let commits = generation - 1;
    let count = commits.div_ceil(2);
    let registry = snapshot
        .registry()
        .unwrap_or_else(|| panic!("generation {generation} has no registry"));
    assert_eq!(
        registry.assets().len() as u64,
        count,
        "generation {generation}"
    );
    assert_eq!(
        snapshot.assets().len() as u64,
        count,
        "generation {generation}"
    );
    assert_eq!(
        registry.next_asset_id(),
        count + 1,
        "generation {generation}"
    );
    for (index, (entry, record)) in registry.assets().iter().zip(snapshot.assets()).enumerate() {
        let id = index as u64 + 1;
        assert_eq!(entry.asset_id, AssetId(id), "generation {generation}");
        assert!(registry.next_asset_id() > id, "generation {generation}");
        assert_eq!(record.entry, *entry, "generation {generation}");
        assert_eq!(
            entry.root.as_str(),
            format!("c/{}", id - 1),
            "generation {generation}"
        );
        assert_eq!(
            entry.included_in_build,
            commits < 2 * id,
            "generation {generation}, asset {id}"
        );
        match &record.declaration {
            DeclarationState::Valid(valid) => {
                assert_eq!(
                    valid.declaration.asset_uuid, entry.asset_uuid,
                    "generation {generation}"
                );
                assert_eq!(
                    valid.declaration.name,
                    (id - 1).to_string(),
                    "generation {generation}"
                );
            }
            other => panic!("generation {generation}, asset {id}: {other:?}"),
        }
    }
}
