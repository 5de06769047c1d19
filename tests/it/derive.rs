//! A runtime with an observer, and one opened for a single command, publish after each
//! commit a snapshot derived from the one before and what the commit wrote; it must be
//! exactly the snapshot a fresh load of the disk gives, for every command and every
//! sequence of them.

use std::sync::Arc;
use std::time::Duration;

use crate::fixture_text::{U1, U2, U3, U4, U5, U6, U9, declaration, registry};
use packer_app::observer::ObserverConfig;
use packer_app::runtime::{Runtime, WriteRequest};
use packer_domain::command::{Command, CreateAsset, DeclarationChanges};
use packer_domain::declaration::AssetKind;
use packer_domain::observe::InputIndex;
use packer_domain::path::AssetPath;
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{AssetQuery, Snapshot};
use packer_memfs::{EventLog, MemFs, ScriptedWatcher};
use proptest::prelude::*;

fn fixture() -> String {
    format!(
        r#"
//- .prometeu/index.json
{{ "schema_version": 1, "next_asset_id": 3, "assets": [
{{ "asset_id": 1, "asset_uuid": "{U1}", "root": "a", "included_in_build": true }},
{{ "asset_id": 2, "asset_uuid": "{U2}", "root": "b", "included_in_build": true }}
] }}
//- a/asset.json
{{ "schema_version": 1, "asset_uuid": "{U1}", "name": "a", "kind": "blob", "inputs": ["x.bin"] }}
//- a/x.bin
bytes of a
//- b/asset.json
{{ "schema_version": 1, "asset_uuid": "{U2}", "name": "b", "kind": "blob", "inputs": ["missing.bin"] }}
//- loose/asset.json
{{ "schema_version": 1, "asset_uuid": "{U9}", "name": "loose", "kind": "blob", "inputs": ["l.bin"] }}
//- loose/l.bin
bytes of loose
//- c/c.bin
bytes of c
"#
    )
}

#[derive(Debug, Clone)]
enum Op {
    Create(u8),
    Include(u8, bool),
    Rename(u8, u8),
    Inputs(u8),
    Adopt,
    Remove(u8),
    Move(u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..4).prop_map(Op::Create),
        (1u8..6, any::<bool>()).prop_map(|(i, b)| Op::Include(i, b)),
        (1u8..6, 0u8..9).prop_map(|(i, n)| Op::Rename(i, n)),
        (1u8..6).prop_map(Op::Inputs),
        Just(Op::Adopt),
        (1u8..6).prop_map(Op::Remove),
        (1u8..6, 0u8..4).prop_map(|(i, r)| Op::Move(i, r)),
    ]
}

fn root(s: &str) -> AssetPath {
    AssetPath::new(s).unwrap()
}

/// How many filler assets the wide project registers after `a` and `b`: enough for
/// several chunks of records, so that a commit leaves some shared and copies others.
const FILLERS: u64 = 300;

/// The uuid of filler asset `id`.
fn filler_uuid(id: u64) -> String {
    format!("00000000-0000-4000-8000-{id:012}")
}

/// The project of [`fixture`] with [`FILLERS`] more assets, ids 3 on, at `f/<id>`.
fn wide_fixture() -> String {
    let fillers: Vec<(u64, String, String)> = (3..3 + FILLERS)
        .map(|id| (id, filler_uuid(id), format!("f/{id}")))
        .collect();
    let entries: Vec<(u64, &str, &str, bool)> = [(1, U1, "a", true), (2, U2, "b", true)]
        .into_iter()
        .chain(
            fillers
                .iter()
                .map(|(id, uuid, root)| (*id, uuid.as_str(), root.as_str(), true)),
        )
        .collect();
    let files: String = fillers
        .iter()
        .map(|(id, uuid, root)| {
            format!(
                "//- {root}/asset.json\n{}//- {root}/x.bin\nfiller {id}\n",
                declaration(uuid, &format!("f{id}"), "x.bin")
            )
        })
        .collect();
    // The small project's files, its registry left out.
    let base = fixture();
    let (_, rest) = base.split_once("//- a/asset.json").unwrap();
    format!(
        "//- .prometeu/index.json\n{}{files}//- a/asset.json{rest}",
        registry(3 + FILLERS, &entries)
    )
}

/// The asset an op's number names: in the small project the id itself; in the wide one
/// `a`, `b`, fillers in the second and third chunks of records, and the first assets
/// created after them.
fn asset_id(i: u8, wide: bool) -> AssetId {
    const WIDE: [u64; 6] = [1, 2, 130, 257, 3 + FILLERS, 4 + FILLERS];
    match WIDE.get(usize::from(i).saturating_sub(1)) {
        Some(id) if wide => AssetId(*id),
        _ => AssetId(u64::from(i)),
    }
}

fn command(op: &Op, wide: bool) -> Command {
    let id = |i: &u8| AssetQuery::Id(asset_id(*i, wide));
    match op {
        Op::Create(n) => Command::CreateAsset(CreateAsset {
            root: root(&format!("c/new{n}")),
            kind: AssetKind::Blob,
            inputs: vec![root("n.bin")],
            name: None,
            output: None,
            included_in_build: true,
        }),
        Op::Include(i, b) => Command::SetIncluded {
            asset: id(i),
            included: *b,
        },
        Op::Rename(i, n) => Command::UpdateDeclaration {
            asset: id(i),
            changes: DeclarationChanges {
                name: Some(format!("name {n}")),
                ..DeclarationChanges::default()
            },
        },
        Op::Inputs(i) => Command::UpdateDeclaration {
            asset: id(i),
            changes: DeclarationChanges {
                inputs: Some(vec![root("x.bin"), root("other.bin")]),
                ..DeclarationChanges::default()
            },
        },
        Op::Adopt => Command::AdoptAsset {
            root: root("loose"),
        },
        Op::Remove(i) => Command::RemoveAsset { asset: id(i) },
        Op::Move(i, r) => Command::MoveAsset {
            asset: id(i),
            to: root(&format!("moved/m{r}")),
        },
    }
}

/// The fixture in memfs, and a runtime observing it whose observer never acts on its
/// own: only commits change what is published.
fn observed() -> (MemFs, Runtime) {
    observed_on(&fixture())
}

/// As [`observed`], on the project `fixture`.
fn observed_on(fixture: &str) -> (MemFs, Runtime) {
    let fs = MemFs::from_fixture(fixture).unwrap();
    let runtime = quietly_observed(&fs);
    (fs, runtime)
}

/// A runtime over `fs` with an observer that never acts on its own (so that commits
/// publish derived snapshots, and only commits change what is published), once it has
/// verified the disk.
pub(crate) fn quietly_observed(fs: &MemFs) -> Runtime {
    let runtime = Runtime::open_observed(
        crate::observe::mem_ports(fs, &EventLog::new()),
        Arc::new(ScriptedWatcher::new()),
        ObserverConfig {
            periodic: None,
            debounce: Duration::from_secs(3600),
            max_delay: Duration::from_secs(3600),
            ..ObserverConfig::default()
        },
    );
    runtime.check_divergence();
    runtime
}

fn run(ops: &[Op], batch_every: usize) -> Result<(), TestCaseError> {
    run_on(ops, batch_every, false)
}

/// Finding each asset of `fresh` by root and by uuid in `published` gives what it gives
/// in `fresh`.
fn same_lookups(published: &Snapshot, fresh: &Snapshot) -> Result<(), TestCaseError> {
    for record in fresh.assets() {
        for query in [
            AssetQuery::Root(record.entry.root.clone()),
            AssetQuery::Uuid(record.entry.asset_uuid),
        ] {
            prop_assert_eq!(
                published.find(&query).map(|r| r.entry.asset_id),
                fresh.find(&query).map(|r| r.entry.asset_id),
                "{:?}",
                query
            );
        }
    }
    Ok(())
}

fn run_on(ops: &[Op], batch_every: usize, wide: bool) -> Result<(), TestCaseError> {
    let (fs, runtime) = if wide {
        observed_on(&wide_fixture())
    } else {
        observed()
    };
    let chunks: Vec<Vec<Command>> = if batch_every > 1 {
        ops.chunks(batch_every)
            .map(|c| vec![Command::Batch(c.iter().map(|o| command(o, wide)).collect())])
            .collect()
    } else {
        ops.iter().map(|o| vec![command(o, wide)]).collect()
    };
    // The observer's index of inputs, brought up to date from one generation to the
    // next, must be the index of each.
    let mut before = runtime.snapshot();
    let mut inputs = InputIndex::of(&before);
    for commands in chunks {
        for command in commands {
            let answer = runtime.submit(WriteRequest {
                command: command.clone(),
                expected_generation: None,
            });
            let published = runtime.snapshot();
            let fresh = Snapshot::load(&fs, published.generation());
            prop_assert_eq!(
                &*published,
                &fresh,
                "after {:?} ({:?}) the published snapshot is not what the disk holds",
                command,
                answer.map(|o| o.generation)
            );
            inputs.update(&before, &published);
            prop_assert_eq!(&inputs, &InputIndex::of(&fresh), "after {:?}", command);
            // Made here, the maps are shared with the generations derived from this one
            // that keep every root and uuid in place.
            same_lookups(&published, &fresh)?;
            before = published;
        }
    }
    runtime.shutdown();
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_commit_publishes_what_a_fresh_load_gives(
        ops in proptest::collection::vec(op(), 1..12),
        batch_every in 1usize..4,
    ) {
        run(&ops, batch_every)?;
    }

    #[test]
    fn every_commit_on_a_project_of_several_chunks_publishes_what_a_fresh_load_gives(
        ops in proptest::collection::vec(op(), 1..10),
        batch_every in 1usize..3,
    ) {
        run_on(&ops, batch_every, true)?;
    }
}

#[test]
fn set_included_on_a_project_with_every_kind_of_declaration() {
    run(
        &[
            Op::Include(1, false),
            Op::Adopt,
            Op::Include(3, false),
            Op::Rename(2, 1),
            Op::Remove(1),
            Op::Include(2, true),
        ],
        1,
    )
    .unwrap();
}

/// A project with every kind of drift: a missing input, a root gone, one moved, a uuid
/// mismatch, a copied folder, a broken declaration and an unregistered one.
fn every_drift_fixture() -> String {
    const U7: &str = "77777777-7777-4777-8777-777777777777";
    const U8: &str = "88888888-8888-4888-8888-888888888888";
    let index = registry(
        8,
        &[
            (1, U1, "a", true),
            (2, U2, "b", true),
            (3, U3, "gone", true),
            (4, U4, "old", true),
            (5, U5, "m", true),
            (6, U6, "d", true),
            (7, U9, "bad", false),
        ],
    );
    let mut text = format!("//- .prometeu/index.json\n{index}");
    for (path, content) in [
        ("a/asset.json", declaration(U1, "a", "x.bin")),
        ("a/x.bin", "x\n".to_owned()),
        ("b/asset.json", declaration(U2, "b", "missing.bin")),
        ("new/old/asset.json", declaration(U4, "old", "o.bin")),
        ("new/old/o.bin", "o\n".to_owned()),
        ("m/asset.json", declaration(U7, "m", "m.bin")),
        ("m/m.bin", "m\n".to_owned()),
        ("d/asset.json", declaration(U6, "d", "d.bin")),
        ("d/d.bin", "d\n".to_owned()),
        ("copy/asset.json", declaration(U6, "copy", "d.bin")),
        ("copy/d.bin", "d\n".to_owned()),
        ("bad/asset.json", "{ not json\n".to_owned()),
        ("loose/asset.json", declaration(U8, "loose", "l.bin")),
        ("loose/l.bin", "l\n".to_owned()),
    ] {
        text.push_str(&format!("//- {path}\n{content}"));
    }
    text
}

/// A commit that changes only whether assets are included keeps every asset's identity
/// and declaration, so the next generation keeps the drift of the one before: checked on
/// a project with every kind of drift, toggling assets in each state.
#[test]
fn set_included_keeps_every_kind_of_drift() {
    let (fs, runtime) = observed_on(&every_drift_fixture());
    let kinds = |snapshot: &Snapshot| {
        let mut kinds: Vec<&str> = snapshot.drifts().iter().map(|d| d.kind_name()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    };
    let every_kind = [
        "declaration_invalid",
        "duplicate_uuid",
        "input_missing",
        "root_missing",
        "root_moved",
        "unregistered_asset",
        "uuid_mismatch",
    ];
    assert_eq!(kinds(&runtime.snapshot()), every_kind);
    let before = runtime.snapshot();
    for (id, included) in [
        (1, false),
        (3, false),
        (4, false),
        (7, true),
        (5, false),
        (6, false),
        (2, false),
        (1, true),
    ] {
        let command = Command::SetIncluded {
            asset: AssetQuery::Id(AssetId(id)),
            included,
        };
        fs.clear_ops();
        runtime
            .submit(WriteRequest {
                command,
                expected_generation: None,
            })
            .unwrap();
        // Derived, not loaded again.
        assert!(
            !fs.ops()
                .iter()
                .any(|(op, path)| *op == packer_domain::ports::PortOp::Scan && path.is_empty()),
            "{:?}",
            fs.ops()
        );
        let published = runtime.snapshot();
        assert_eq!(
            *published,
            Snapshot::load(&fs, published.generation()),
            "after including {id}: {included}"
        );
        assert_eq!(published.drifts(), before.drifts());
        let record = published.asset(AssetId(id)).unwrap();
        assert_eq!(record.entry.included_in_build, included);
    }
    runtime.shutdown();
}

/// Reconcile actions that change only the registry (an entry pointed at another root, or
/// given the declared uuid) keep the number of assets but not their identities: the
/// drift is classified again. Every action the plans offer is applied in turn.
#[test]
fn registry_only_changes_of_identity_classify_drift_again() {
    let (fs, runtime) = observed_on(&every_drift_fixture());
    let mut applied = Vec::new();
    while let Some(planned) = packer_domain::reconcile::plan(&runtime.snapshot())
        .actions
        .into_iter()
        .next()
    {
        assert!(applied.len() < 16, "the plans never run out: {applied:?}");
        let action = planned.action;
        runtime
            .submit(WriteRequest {
                command: Command::Reconcile(vec![action.clone()]),
                expected_generation: None,
            })
            .unwrap();
        let published = runtime.snapshot();
        assert_eq!(
            *published,
            Snapshot::load(&fs, published.generation()),
            "after {action}"
        );
        applied.push(action.kind_name());
    }
    applied.sort_unstable();
    applied.dedup();
    assert!(applied.contains(&"relocate"), "{applied:?}");
    assert!(applied.contains(&"accept_declared_uuid"), "{applied:?}");
    runtime.shutdown();
}

#[test]
fn a_commit_that_knows_what_it_wrote_does_not_scan_the_workspace() {
    check_scans_after_commits(quietly_observed, true);
}

/// A CLI command's runtime reads nothing after its one command: its commit is derived
/// as with an observer, rather than followed by a load for nobody.
#[test]
fn a_runtime_for_one_command_derives_its_commit_too() {
    check_scans_after_commits(one_shot, true);
}

/// Without an observer, a long-lived runtime sees the disk again after each commit.
#[test]
fn a_runtime_without_an_observer_loads_after_each_commit() {
    check_scans_after_commits(
        |fs| Runtime::open(crate::observe::mem_ports(fs, &EventLog::new())),
        false,
    );
}

fn one_shot(fs: &MemFs) -> Runtime {
    Runtime::open_for_one_command(crate::observe::mem_ports(fs, &EventLog::new()))
}

/// Runs commands of every kind on a runtime `open` makes: after its commit point, each
/// scans the workspace unless it is `derives` and knows all it wrote; what is published
/// is what a fresh load gives either way.
fn check_scans_after_commits(open: impl Fn(&MemFs) -> Runtime, derives: bool) {
    let fs = MemFs::from_fixture(&fixture()).unwrap();
    let runtime = open(&fs);
    for (command, derived) in [
        (command(&Op::Include(1, false), false), true),
        (command(&Op::Rename(2, 3), false), true),
        (command(&Op::Adopt, false), true),
        (command(&Op::Remove(1), false), true),
        // New inputs directly in the new folder are looked up by listing it.
        (command(&Op::Create(0), false), true),
        // A renamed folder: the disk is read again.
        (command(&Op::Move(2, 0), false), false),
    ] {
        fs.clear_ops();
        runtime
            .submit(WriteRequest {
                command: command.clone(),
                expected_generation: None,
            })
            .unwrap();
        // What the commit does after its commit point: before it, the preconditions may
        // list a folder or two (the workspace root among them) on the new paths' way.
        let ops = fs.ops();
        let committed = ops
            .iter()
            .position(|(op, path)| {
                *op == packer_domain::ports::PortOp::Rename && path.contains("intent")
            })
            .expect("the commit renames its intent");
        let scanned = ops[committed..]
            .iter()
            .any(|(op, path)| *op == packer_domain::ports::PortOp::Scan && path.is_empty());
        assert_eq!(
            scanned,
            !(derives && derived),
            "{command:?}: {:?}",
            fs.ops()
        );
        assert_eq!(
            *runtime.snapshot(),
            Snapshot::load(&fs, runtime.snapshot().generation())
        );
    }
    runtime.shutdown();
}

/// The one hand edit a CLI command's commit does not see: one made, to a file the
/// command does not concern, while the command runs. Its process is about to end; the
/// next command's load sees the edit.
#[test]
fn a_runtime_for_one_command_publishes_what_it_wrote_over_what_it_loaded() {
    let fs = MemFs::from_fixture(&fixture()).unwrap();
    let runtime = one_shot(&fs);
    fs.write(
        "b/asset.json",
        declaration(U2, "edited by hand", "missing.bin"),
    );
    let outcome = runtime
        .submit(WriteRequest {
            command: command(&Op::Include(1, false), false),
            expected_generation: None,
        })
        .unwrap();
    let name = |snapshot: &Snapshot| {
        snapshot
            .asset(AssetId(2))
            .and_then(|record| record.declaration.declaration())
            .map(|declaration| declaration.name.clone())
    };
    assert_eq!(name(&outcome.snapshot).as_deref(), Some("b"));
    assert_eq!(
        name(&Snapshot::load(&fs, 1)).as_deref(),
        Some("edited by hand")
    );
    runtime.shutdown();
}

/// Declarations edited by hand are read again alone when nothing else changed, and the
/// result is what a fresh load gives; what needs more than that is refused.
#[test]
fn declarations_edited_by_hand_are_read_again_alone() {
    let fs = MemFs::from_fixture(&fixture()).unwrap();
    let before = Snapshot::load(&fs, 1);
    let decl = |uuid: &str, name: &str, input: &str| {
        format!(
            r#"{{ "schema_version": 1, "asset_uuid": "{uuid}", "name": "{name}", "kind": "blob", "inputs": ["{input}"] }}"#
        )
    };
    // A new name, a registered and an unregistered asset; a broken one.
    fs.write("a/asset.json", decl(U1, "renamed", "x.bin"));
    fs.write("loose/asset.json", decl(U9, "loose, renamed", "l.bin"));
    fs.write("b/asset.json", "{ \"schema_version\": 1, \"name\": 5 }");
    fs.clear_ops();
    let roots = [root("a"), root("loose"), root("b")];
    let derived = before.with_declarations_reread(&fs, &roots, 2).unwrap();
    let reads: Vec<String> = fs
        .ops()
        .into_iter()
        .map(|(op, path)| format!("{op:?} {path}"))
        .collect();
    assert_eq!(
        reads,
        [
            "Read a/asset.json",
            "Read loose/asset.json",
            "Read b/asset.json"
        ]
    );
    assert_eq!(derived, Snapshot::load(&fs, 2));
    // New inputs directly in the folder are looked up by listing it.
    let now = Snapshot::load(&fs, 2);
    fs.write("a/asset.json", decl(U1, "renamed", "other.bin"));
    let derived = now.with_declarations_reread(&fs, &[root("a")], 3).unwrap();
    assert_eq!(derived, Snapshot::load(&fs, 3));
    // Inputs in a subfolder, a declaration gone: a full load.
    fs.write("a/asset.json", decl(U1, "renamed", "sub/other.bin"));
    assert_eq!(now.with_declarations_reread(&fs, &[root("a")], 3), None);
    fs.remove("loose/asset.json");
    assert_eq!(now.with_declarations_reread(&fs, &[root("loose")], 3), None);
    // A declaration at a root never seen is read as a full load would find it.
    fs.write("loose/asset.json", decl(U9, "loose", "l.bin"));
    fs.write("a/asset.json", decl(U1, "renamed", "x.bin"));
    let now = Snapshot::load(&fs, 3);
    fs.write("c/asset.json", decl(U9, "copy", "c.bin"));
    let derived = now.with_declarations_reread(&fs, &[root("c")], 4).unwrap();
    assert_eq!(derived, Snapshot::load(&fs, 4));
}

/// More declarations edited than are looked for one by one: found through the lookup by
/// root, whether the edits keep the drift (a new name) or change it (a new uuid, an
/// unregistered declaration edited), and through maps made by the generation before.
#[test]
fn many_declarations_edited_by_hand_are_read_again_alone() {
    let fs = MemFs::from_fixture(&wide_fixture()).unwrap();
    let filler = |id: u64, name: &str, uuid: Option<&str>| {
        let uuid = uuid.map_or_else(|| filler_uuid(id), str::to_owned);
        fs.write(
            &format!("f/{id}/asset.json"),
            declaration(&uuid, name, "x.bin"),
        );
        root(&format!("f/{id}"))
    };
    let mut generation = 1;
    let mut before = Snapshot::load(&fs, generation);
    // Names alone, across every chunk of records: the drift stays; then again, with the
    // maps of the generation before made.
    for round in ["one", "two"] {
        let roots: Vec<AssetPath> = (3..3 + FILLERS)
            .step_by(7)
            .map(|id| filler(id, round, None))
            .collect();
        assert!(roots.len() > 16);
        generation += 1;
        let derived = before
            .with_declarations_reread(&fs, &roots, generation)
            .unwrap();
        let fresh = Snapshot::load(&fs, generation);
        assert_eq!(derived, fresh);
        same_lookups(&derived, &fresh).unwrap();
        before = derived;
    }
    // One of many takes another asset's uuid, and an unregistered one is edited: the
    // drift is classified again.
    let mut roots: Vec<AssetPath> = (4..3 + FILLERS)
        .step_by(11)
        .map(|id| filler(id, "three", None))
        .collect();
    roots.push(filler(5, "three", Some(U2)));
    fs.write(
        "loose/asset.json",
        format!(
            r#"{{ "schema_version": 1, "asset_uuid": "{U9}", "name": "loose again", "kind": "blob", "inputs": ["l.bin"] }}"#
        ),
    );
    roots.push(root("loose"));
    generation += 1;
    let derived = before
        .with_declarations_reread(&fs, &roots, generation)
        .unwrap();
    let fresh = Snapshot::load(&fs, generation);
    assert!(!fresh.drifts().is_empty());
    assert_eq!(derived, fresh);
    same_lookups(&derived, &fresh).unwrap();
}
