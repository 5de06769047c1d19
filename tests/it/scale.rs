//! Inputs a person can make large (an asset with tens of thousands of inputs, a batch
//! of thousands of commands, a reconcile plan for thousands of moves) are handled in
//! time that grows with their size, not with its square: each test here is a case that
//! would not finish if one step searched a list once per item.

use std::sync::Arc;

use crate::cli::{Project, declaration, registry};
use crate::fixture_text::U1;
use crate::runtime::open;
use packer_app::runtime::{Runtime, WriteRequest};
use packer_domain::command::{Command, CreateAsset, DeclarationChanges};
use packer_domain::declaration::AssetKind;
use packer_domain::drift::Drift;
use packer_domain::path::AssetPath;
use packer_domain::reconcile;
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{AssetQuery, Snapshot};
use packer_memfs::MemFs;

fn one_asset(inputs: usize) -> MemFs {
    let fs = MemFs::from_fixture(&format!(
        r#"
//- .prometeu/index.json
{{ "schema_version": 1, "next_asset_id": 2, "assets": [
{{ "asset_id": 1, "asset_uuid": "{U1}", "root": "big", "included_in_build": true }}
] }}
//- big/asset.json
{{ "schema_version": 1, "asset_uuid": "{U1}", "name": "big", "kind": "blob", "inputs": ["0"] }}
"#
    ))
    .unwrap();
    for i in 0..inputs {
        fs.write(&format!("big/{i}"), b"x");
    }
    fs
}

/// The snapshot derived after a commit resolves each declared input in the asset's
/// folder by name: looking each one up in the folder's listing took seconds for 40,000.
#[test]
fn an_update_to_tens_of_thousands_of_inputs_is_derived_in_one_pass() {
    // As many as the 1 MiB an asset.json may take hold, with names this short.
    const INPUTS: usize = 90_000;
    let fs = one_asset(INPUTS);
    let runtime = crate::derive::quietly_observed(&fs);
    let mut inputs: Vec<AssetPath> = (0..INPUTS)
        .map(|i| AssetPath::new(&i.to_string()).unwrap())
        .collect();
    // One missing, so that the derived snapshot has something to say about an input.
    inputs.push(AssetPath::new("gone.bin").unwrap());
    runtime
        .submit(WriteRequest {
            command: Command::UpdateDeclaration {
                asset: AssetQuery::Id(AssetId(1)),
                changes: DeclarationChanges {
                    inputs: Some(inputs),
                    ..DeclarationChanges::default()
                },
            },
            expected_generation: None,
        })
        .unwrap();
    let published = runtime.snapshot();
    assert_eq!(*published, Snapshot::load(&fs, published.generation()));
    let drifts: Vec<String> = published
        .drifts()
        .iter()
        .map(|d| format!("{d:?}"))
        .collect();
    assert_eq!(drifts.len(), 1, "{drifts:?}");
    assert!(drifts[0].contains("gone.bin"), "{drifts:?}");
    runtime.shutdown();
}

/// A uuid made from a number, for projects of thousands of assets.
fn uuid(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// Asset `i` registered at `c/i` but moved by hand to `c/i+1`, for `n` assets: each
/// relocation needs the next one.
fn chain_of_moves(n: usize) -> Vec<(String, String)> {
    let entries: Vec<(u64, String, String)> = (0..n)
        .map(|i| (i as u64 + 1, uuid(i), format!("c/{i}")))
        .collect();
    let entries: Vec<(u64, &str, &str)> = entries
        .iter()
        .map(|(id, u, r)| (*id, u.as_str(), r.as_str()))
        .collect();
    let mut files = vec![(".prometeu/index.json".to_owned(), registry(&entries))];
    for i in 0..n {
        let to = i + 1;
        files.push((
            format!("c/{to}/asset.json"),
            declaration(&uuid(i), "a", &["x.bin"]),
        ));
        files.push((format!("c/{to}/x.bin"), "x".to_owned()));
    }
    files
}

/// The plan printed for people names, beside each move of a chain, the first ten moves
/// applied with it, not the whole rest of the chain: for 10,000 moves that was 300 MB
/// of text and 5 s.
#[test]
fn the_plan_of_a_long_chain_of_moves_names_a_few_actions_per_line() {
    const MOVES: usize = 2_000;
    let files = chain_of_moves(MOVES);
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let project = Project::new(&files);
    let run = project.run(&["reconcile"]);
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), MOVES + 2, "{}", lines[0]);
    assert_eq!(
        lines[1],
        "   1  relocate asset 1: c/0 -> c/1   (applied with 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, …)"
    );
    assert_eq!(
        lines[MOVES - 3],
        "  1997  relocate asset 1997: c/1996 -> c/1997   (applied with 1998, 1999, 2000)"
    );
    assert_eq!(
        lines[MOVES],
        "  2000  relocate asset 2000: c/1999 -> c/2000"
    );
    // Choosing the first still applies them all.
    let plan = reconcile::plan(&Snapshot::load(&memfs(&files), 1));
    assert_eq!(plan.applied_with(1).len(), MOVES - 1);
    assert_eq!(
        plan.applied_with_first(1, 3),
        (vec![2, 3, 4], true),
        "the nearest first"
    );
    assert_eq!(plan.applied_with_first(1998, 3), (vec![1999, 2000], false));
}

/// A folder copied a thousand times is a thousand `reassign_uuid` actions of one
/// `duplicate_uuid` drift that names every copy: they share that drift rather than each
/// holding a copy of it (8,000 copies took 1 GB and 1 s to plan).
#[test]
fn the_actions_of_one_drift_share_it() {
    const COPIES: usize = 1_000;
    let fs = MemFs::from_fixture(&format!(
        r#"
//- .prometeu/index.json
{{ "schema_version": 1, "next_asset_id": 2, "assets": [
{{ "asset_id": 1, "asset_uuid": "{U1}", "root": "orig", "included_in_build": true }}
] }}
//- orig/asset.json
{}
"#,
        declaration(U1, "o", &["x.bin"])
    ))
    .unwrap();
    for i in 0..COPIES {
        fs.write(
            &format!("copies/{i}/asset.json"),
            declaration(U1, "o", &["x.bin"]),
        );
    }
    let plan = reconcile::plan(&Snapshot::load(&fs, 1));
    assert_eq!(plan.actions.len(), COPIES);
    let first = &plan.actions[0].drift;
    assert!(matches!(&**first, Drift::DuplicateUuid { roots, .. } if roots.len() == COPIES + 1));
    assert!(plan.actions.iter().all(|a| Arc::ptr_eq(&a.drift, first)));
}

fn memfs(files: &[(&str, &str)]) -> MemFs {
    let fs = MemFs::new();
    for (path, content) in files {
        fs.write(path, content);
    }
    fs
}

/// `n` registered blob assets at `a/0` … `a/n-1`, each with its input.
fn many_assets(n: usize) -> MemFs {
    let entries: Vec<(u64, String, String)> = (0..n)
        .map(|i| (i as u64 + 1, uuid(i), format!("a/{i}")))
        .collect();
    let entries: Vec<(u64, &str, &str)> = entries
        .iter()
        .map(|(id, u, r)| (*id, u.as_str(), r.as_str()))
        .collect();
    let fs = MemFs::new();
    fs.write(".prometeu/index.json", registry(&entries));
    for i in 0..n {
        fs.write(
            &format!("a/{i}/asset.json"),
            declaration(&uuid(i), "a", &["x.bin"]),
        );
        fs.write(&format!("a/{i}/x.bin"), "x");
    }
    fs
}

fn batch(runtime: &Runtime, commands: Vec<Command>) {
    runtime
        .submit(WriteRequest {
            command: Command::Batch(commands),
            expected_generation: None,
        })
        .unwrap();
}

/// Each command of a batch finds its asset, and checks the root it registers or moves
/// to against the registry and the batch's other moves, through an index of them: a
/// pass over the registry each took 12 s for a batch of 20,000 commands.
#[test]
fn a_batch_of_thousands_of_commands_is_planned_in_one_pass_each() {
    const ASSETS: usize = 6_000;
    let fs = many_assets(ASSETS);
    let (runtime, _) = open(&fs);
    let root = |s: String| AssetPath::new(&s).unwrap();
    // By root and by uuid.
    batch(
        &runtime,
        (0..ASSETS)
            .map(|i| Command::SetIncluded {
                asset: if i % 2 == 0 {
                    AssetQuery::Root(root(format!("a/{i}")))
                } else {
                    AssetQuery::Uuid(uuid(i).parse().unwrap())
                },
                included: false,
            })
            .collect(),
    );
    // Moves side by side, then creations beside them; one creation inside a moved
    // folder is refused, naming it.
    let mut commands: Vec<Command> = (0..ASSETS)
        .map(|i| Command::MoveAsset {
            asset: AssetQuery::Id(AssetId(i as u64 + 1)),
            to: root(format!("b/{i}")),
        })
        .collect();
    commands.extend((0..ASSETS).map(|i| {
        Command::CreateAsset(CreateAsset {
            root: root(format!("c/{i}")),
            kind: AssetKind::Blob,
            inputs: vec![root("x.bin".to_owned())],
            name: None,
            output: None,
            included_in_build: true,
        })
    }));
    let mut refused = commands.clone();
    refused.push(Command::CreateAsset(CreateAsset {
        root: root("a/7/inner".to_owned()),
        kind: AssetKind::Blob,
        inputs: vec![root("x.bin".to_owned())],
        name: None,
        output: None,
        included_in_build: true,
    }));
    let error = runtime
        .submit(WriteRequest {
            command: Command::Batch(refused),
            expected_generation: None,
        })
        .unwrap_err();
    assert!(
        error
            .message
            .contains("`a/7/inner` lies in `a/7`, which this batch moves"),
        "{error:?}"
    );
    batch(&runtime, commands);
    let snapshot = runtime.snapshot();
    assert_eq!(*snapshot, Snapshot::load(&fs, snapshot.generation()));
    assert_eq!(snapshot.assets().len(), 2 * ASSETS);
    // The created assets' inputs were never made; nothing else drifts.
    assert_eq!(snapshot.drifts().len(), ASSETS);
    assert!(
        snapshot.drifts().iter().all(
            |d| matches!(d, Drift::InputMissing { path, .. } if path.as_str().starts_with("c/"))
        ),
        "{:?}",
        &snapshot.drifts()[..1]
    );
    let moved = &snapshot.assets()[7].entry;
    assert_eq!(
        (moved.root.as_str(), moved.included_in_build),
        ("b/7", false)
    );
    runtime.shutdown();
}

/// An `asset.json` 1,000 folders deep lies deeper than a registered root may be (1,024
/// bytes): the plan says so instead of offering to adopt it, which wrote a registry
/// that could not be read again and left the project `failed`.
#[test]
fn an_asset_json_deeper_than_a_root_may_be_is_not_offered_for_adoption() {
    let deep = vec!["d"; 1_000].join("/");
    let project = Project::new(&[
        (".prometeu/index.json", &registry(&[])),
        (
            &format!("{deep}/asset.json"),
            &declaration(U1, "deep", &["x.bin"]),
        ),
        (&format!("{deep}/x.bin"), "x"),
    ]);
    let run = project.run(&["--json", "reconcile"]);
    assert_eq!(run.code, 0, "{run:?}");
    let plan = run.json();
    assert_eq!(plan["actions"], serde_json::json!([]), "{plan}");
    assert_eq!(
        plan["unresolved"][0]["reason"],
        format!(
            "`{deep}` cannot be registered: the path is 1999 bytes long; the limit is 1024; move the folder higher up, then plan again"
        )
    );
    let before = std::fs::read(project.root().join("assets/.prometeu/index.json")).unwrap();
    let run = project.run(&["reconcile", "--apply-all"]);
    assert_eq!(
        std::fs::read(project.root().join("assets/.prometeu/index.json")).unwrap(),
        before,
        "{run:?}"
    );
    let run = project.run(&["--json", "status"]);
    assert_eq!(run.json()["state"], "diverged", "{run:?}");
}

/// A snapshot finds an asset by root or uuid through maps made once: a client asking
/// for every asset of a large project by root, one request each, made each request a
/// pass over the registry (10,000 requests on 100,000 assets took 9.8 s).
#[test]
fn every_asset_is_found_by_root_and_by_uuid_in_one_pass_each() {
    const ASSETS: usize = 40_000;
    let fs = many_assets(ASSETS);
    let snapshot = Snapshot::load(&fs, 1);
    for i in (0..ASSETS).rev() {
        let id = AssetId(i as u64 + 1);
        let by_root = snapshot.find(&AssetQuery::Root(
            AssetPath::new(&format!("a/{i}")).unwrap(),
        ));
        assert_eq!(by_root.map(|a| a.entry.asset_id), Some(id));
        let by_uuid = snapshot.find(&AssetQuery::Uuid(uuid(i).parse().unwrap()));
        assert_eq!(by_uuid.map(|a| a.entry.asset_id), Some(id));
    }
    let unknown = AssetPath::new("a/nowhere").unwrap();
    assert!(snapshot.find(&AssetQuery::Root(unknown)).is_none());
    // Having looked up does not make a snapshot differ from a fresh one.
    assert_eq!(snapshot, Snapshot::load(&fs, 1));
}
