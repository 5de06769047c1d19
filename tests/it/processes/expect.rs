//! What the parent expects of a project after its children ran: the expected project
//! built from what they acknowledged, the scripts drawn for them, and the checks of a
//! reopened project against all the outcomes a kill allows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use packer_domain::declaration::AssetKind;
use packer_domain::event::{Event, RecoveryOutcome};
use packer_domain::registry::Registry;
use packer_domain::snapshot::{DeclarationState, ProjectState};
use packer_fs::DiskWorkspace;
use packer_memfs::EventLog;

use super::child::{Op, asset_path, open_runtime};
use super::driver::StreamRun;
use super::{INPUT, SplitMix64, Tally, index_below, parse_number};

/// What the registry and the declarations must say of one asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Asset {
    /// `None`: created by a commit whose acknowledgement was lost, so any fresh id.
    pub(super) id: Option<u64>,
    pub(super) included: bool,
    pub(super) name: String,
}

/// The expected project, by root.
pub(super) type Model = BTreeMap<String, Asset>;

/// A command a child was given since the project was last checked.
#[derive(Debug, Clone)]
pub(super) struct Step {
    pub(super) op: Op,
    /// `Some(id)`: acknowledged, so it must be on disk. `None`: in flight when the child
    /// died, so on disk entirely or not at all.
    pub(super) acked: Option<u64>,
}

/// The steps of one child's run: its acknowledged commands, then the one it may have
/// been running when it died. Commands after that one never started.
pub(super) fn steps(script: &[Op], run: &StreamRun, label: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for (index, op) in script.iter().enumerate() {
        match run.acks.get(&index) {
            Some(id) => steps.push(Step {
                op: op.clone(),
                acked: Some(*id),
            }),
            None => {
                assert!(!run.done, "{label}: command {index} was never acknowledged");
                steps.push(Step {
                    op: op.clone(),
                    acked: None,
                });
                break;
            }
        }
    }
    let acked_in_order = run.acks.keys().copied().eq(0..run.acks.len());
    assert!(acked_in_order, "{label}: acknowledgements {:?}", run.acks);
    steps
}

/// The project as it is certain to be: only acknowledged commands applied. New
/// commands refer only to assets that are there in every possible outcome.
pub(super) fn certain(base: &Model, pending: &[Step]) -> Model {
    let mut model = base.clone();
    for step in pending {
        if let Some(id) = step.acked {
            step.op.apply(&mut model, Some(id));
        }
    }
    model
}

/// 3 to 5 commands: new assets (`a/n<k>`, numbered on from every root used so far, so
/// a root whose creation may have been lost is never reused) and changes to assets
/// that certainly exist.
pub(super) fn make_script(rng: &mut SplitMix64, certain: &Model, next_root: &mut u64) -> Vec<Op> {
    let count = 3 + rng.below(3);
    let mut known: Vec<String> = certain.keys().cloned().collect();
    let mut script = Vec::new();
    for _ in 0..count {
        let choice = rng.below(4);
        if known.is_empty() || choice < 2 {
            let root = format!("a/n{next_root}");
            *next_root += 1;
            known.push(root.clone());
            script.push(Op::Create { root });
            continue;
        }
        let root = known[index_below(rng, known.len())].clone();
        script.push(if choice == 2 {
            Op::SetIncluded {
                root,
                included: rng.below(2) == 0,
            }
        } else {
            Op::Rename {
                root,
                name: format!("name-{:x}", rng.next() & 0xFFFF),
            }
        });
    }
    script
}

/// The project the disk must hold is `base` with every acknowledged step applied and
/// each step in flight either applied or not. Returns the one the disk holds, with the
/// ids the disk gave to assets whose creation was not acknowledged.
pub(super) fn matching_candidate(
    base: &Model,
    pending: &[Step],
    disk: &Model,
    tally: &mut Tally,
    label: &str,
) -> Model {
    let in_flight = pending.iter().filter(|s| s.acked.is_none()).count();
    let in_flight_count = u32::try_from(in_flight).unwrap();
    let mut tried = Vec::new();
    for mask in 0..1u32 << in_flight_count {
        let mut model = base.clone();
        let mut k = 0;
        for step in pending {
            match step.acked {
                Some(id) => step.op.apply(&mut model, Some(id)),
                None => {
                    if mask & (1 << k) != 0 {
                        step.op.apply(&mut model, None);
                    }
                    k += 1;
                }
            }
        }
        if same_project(&model, disk) {
            tally.in_flight_applied += u64::from(mask.count_ones());
            tally.in_flight_lost += u64::from(in_flight_count - mask.count_ones());
            return disk.clone();
        }
        tried.push(model);
    }
    panic!(
        "{label}: the project on disk is none of the possible outcomes\n\
         pending: {pending:#?}\n\
         on disk: {disk:#?}\n\
         possible: {tried:#?}"
    );
}

/// Equal, except that an unknown id matches any.
pub(super) fn same_project(expected: &Model, disk: &Model) -> bool {
    expected.len() == disk.len()
        && expected
            .iter()
            .zip(disk)
            .all(|((root, want), (disk_root, got))| {
                root == disk_root
                    && want.included == got.included
                    && want.name == got.name
                    && want.id.is_none_or(|id| Some(id) == got.id)
            })
}

/// Ids are unique, grow with the order the assets were created in (the number in
/// their root), and stay below `next_asset_id`.
pub(super) fn check_ids(reopened: &Reopened, label: &str) {
    let mut by_creation: BTreeMap<(String, u64), u64> = BTreeMap::new();
    for (root, asset) in &reopened.assets {
        let (prefix, number) = root
            .rsplit_once("/n")
            .unwrap_or_else(|| panic!("{label}: unexpected root {root}"));
        let id = asset
            .id
            .unwrap_or_else(|| panic!("{label}: {root} has no id"));
        by_creation.insert((prefix.to_owned(), parse_number(number)), id);
        assert!(
            id < reopened.next_asset_id,
            "{label}: {root} has id {id}, next_asset_id is {}",
            reopened.next_asset_id
        );
    }
    let mut last: BTreeMap<&str, u64> = BTreeMap::new();
    for ((prefix, number), id) in &by_creation {
        let previous = last.insert(prefix, *id).unwrap_or(0);
        assert!(
            *id > previous,
            "{label}: {prefix}/n{number} has id {id}, not above {previous}"
        );
    }
    let unique: BTreeSet<u64> = by_creation.values().copied().collect();
    assert_eq!(unique.len(), by_creation.len(), "{label}: an id is reused");
}

/// A project in a temporary directory, with the files its "user" wrote.
pub(super) struct Project {
    pub(super) _dir: tempfile::TempDir,
    pub(super) assets: PathBuf,
    pub(super) user_files: BTreeMap<PathBuf, Vec<u8>>,
}

impl Project {
    pub(super) fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let assets = dir.path().join("assets");
        std::fs::create_dir_all(&assets).unwrap();
        packer_app::init::init_workspace(&DiskWorkspace::open(&assets).unwrap()).unwrap();
        Project {
            _dir: dir,
            assets,
            user_files: BTreeMap::new(),
        }
    }

    /// Writes a file as a person would (no packer involved), for the checks to compare
    /// byte for byte later.
    pub(super) fn write_user_file(&mut self, relative: &str, bytes: &[u8]) {
        let path = self.assets.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, bytes).unwrap();
        self.user_files.insert(path, bytes.to_vec());
    }
}

/// What a reopened project holds.
#[derive(Debug)]
pub(super) struct Reopened {
    pub(super) assets: Model,
    pub(super) next_asset_id: u64,
    pub(super) recoveries: Vec<RecoveryOutcome>,
}

/// Reopens the project in this process, as the next session would, and checks what
/// must hold whatever the children did: the project is ready, recovery left nothing in
/// `tx/`, the registry on disk parses and is what the snapshot holds, every declaration
/// is valid and carries its registry uuid, and every user file is as written.
pub(super) fn check_project(project: &Project, label: &str) -> Reopened {
    let events = EventLog::new();
    let runtime = open_runtime(&project.assets, Arc::new(events.clone()));
    let view = runtime.view();
    assert_eq!(
        view.state,
        ProjectState::Ready,
        "{label}: {:?}\n{:#?}",
        view.condition,
        view.snapshot.diagnostics()
    );
    let tx = project.assets.join(".prometeu/tx");
    let left: Vec<String> = match std::fs::read_dir(&tx) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{label}: cannot list {}: {e}", tx.display()),
    };
    assert!(left.is_empty(), "{label}: transactions left: {left:?}");
    let bytes = std::fs::read(project.assets.join(".prometeu/index.json")).unwrap();
    let registry = Registry::parse(&bytes)
        .unwrap_or_else(|e| panic!("{label}: the registry does not parse: {e:?}"));
    assert_eq!(Some(&registry), view.snapshot.registry(), "{label}");
    let mut assets = Model::new();
    for record in view.snapshot.assets() {
        let root = record.entry.root.as_str();
        let DeclarationState::Valid(valid) = &record.declaration else {
            panic!("{label}: {root}: {:?}", record.declaration);
        };
        let declaration = &valid.declaration;
        assert_eq!(declaration.asset_uuid, record.entry.asset_uuid, "{label}");
        assert_eq!(declaration.kind, AssetKind::Blob, "{label}: {root}");
        assert_eq!(declaration.inputs, [asset_path(INPUT)], "{label}: {root}");
        let asset = Asset {
            id: Some(record.entry.asset_id.0),
            included: record.entry.included_in_build,
            name: declaration.name.clone(),
        };
        assets.insert(root.to_owned(), asset);
    }
    for (path, written) in &project.user_files {
        let now = std::fs::read(path).unwrap();
        assert!(now == *written, "{label}: {} changed", path.display());
    }
    runtime.shutdown();
    let recoveries = events
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::RecoveryPerformed { outcome, .. } => Some(outcome),
            _ => None,
        })
        .collect();
    Reopened {
        assets,
        next_asset_id: registry.next_asset_id(),
        recoveries,
    }
}
