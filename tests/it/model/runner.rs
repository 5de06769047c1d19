//! The runner: each step performed on the runtime over memfs and on the model, the
//! runtime's answer compared with the model's prediction, and everything the disk holds
//! and the published snapshot shows checked against the model after every step.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use packer_app::runtime::{Ports, Runtime, WriteRequest};
use packer_domain::command::{Command, CreateAsset, DeclarationChanges};
use packer_domain::declaration::{AssetKind, Declaration};
use packer_domain::path::WsPath;
use packer_domain::ports::{EntryKind, ScanOptions, WorkspacePort};
use packer_domain::registry::{AssetId, Registry};
use packer_domain::snapshot::{AssetQuery, DeclarationState, ProjectState, Snapshot};
use packer_memfs::{EventLog, ManualClock, MemFs};
use proptest::test_runner::TestCaseError;
use uuid::Uuid;

use super::ops::{Op, Place, Step, Target};
use super::reference::{CONFLICT, Content, Decl, Expected, INDEX, Model, Uid, path};

pub(super) fn command(op: &Op) -> Command {
    let query = |target: &Target| match target {
        Target::Id(id) => AssetQuery::Id(AssetId(*id)),
        Target::Root(root) => AssetQuery::Root(path(root)),
        Target::Registered(_) | Target::Next(_) => {
            unreachable!("targets are resolved before commands are made")
        }
    };
    let paths = |inputs: &[&str]| inputs.iter().map(|i| path(i)).collect();
    match op {
        Op::Create {
            root,
            kind,
            inputs,
            name,
            included,
        } => Command::CreateAsset(CreateAsset {
            root: path(root),
            kind: *kind,
            inputs: paths(inputs),
            name: name.map(str::to_owned),
            output: None,
            included_in_build: *included,
        }),
        Op::Adopt {
            root: Place::Root(root),
        } => Command::AdoptAsset { root: path(root) },
        Op::Adopt {
            root: Place::Unregistered(_),
        } => unreachable!("places are resolved before commands are made"),
        Op::Move { asset, to } => Command::MoveAsset {
            asset: query(asset),
            to: path(to),
        },
        Op::Remove { asset } => Command::RemoveAsset {
            asset: query(asset),
        },
        Op::SetIncluded { asset, included } => Command::SetIncluded {
            asset: query(asset),
            included: *included,
        },
        Op::Update {
            asset,
            name,
            kind,
            inputs,
        } => Command::UpdateDeclaration {
            asset: query(asset),
            changes: DeclarationChanges {
                name: name.map(str::to_owned),
                kind: *kind,
                inputs: inputs.map(paths),
                output: None,
            },
        },
    }
}

pub(super) fn open(fs: &MemFs) -> Runtime {
    Runtime::open(Ports {
        workspace: Arc::new(fs.clone()),
        events: Arc::new(EventLog::new()),
        clock: Arc::new(ManualClock::new()),
    })
}

/// Runs `steps` through the runtime and the model, comparing after each.
pub(super) fn run(steps: &[Step]) -> Result<(), TestCaseError> {
    let mut model = Model::initial();
    let fs = model.materialise();
    let runtime = open(&fs);
    let mut before = runtime.snapshot();
    check(&fs, &runtime, &model, &before, true)
        .map_err(|e| TestCaseError::fail(format!("on open: {e}")))?;
    for (index, step) in steps.iter().enumerate() {
        let committed = perform(step, &fs, &runtime, &mut model);
        let checked =
            committed.and_then(|committed| check(&fs, &runtime, &model, &before, committed));
        if let Err(e) = checked {
            return Err(TestCaseError::fail(format!(
                "step {} of {}, {step:?}: {e}",
                index + 1,
                steps.len()
            )));
        }
        before = runtime.snapshot();
    }
    runtime.shutdown();
    Ok(())
}

/// Performs one step on both sides; says whether a commit happened.
pub(super) fn perform(
    step: &Step,
    fs: &MemFs,
    runtime: &Runtime,
    model: &mut Model,
) -> Result<bool, String> {
    match step {
        Step::Run(op) => submit(runtime, fs, model, &[model.resolve(op)], false),
        Step::Batch(ops) => {
            let ops: Vec<Op> = ops.iter().map(|op| model.resolve(op)).collect();
            submit(runtime, fs, model, &ops, true)
        }
        Step::HandCreate { root } => {
            if !model.disk.contains_key(*root) {
                let edit = model.next_edit();
                let decl = Decl {
                    uuid: Uid::Known(Uuid::from_u128(0xABCD_0000 + u128::from(edit))),
                    name: format!("loose{edit}"),
                    kind: AssetKind::Blob,
                    inputs: vec!["l.bin".to_owned()],
                };
                let text = decl.by_hand();
                model.write_by_hand(
                    fs,
                    root,
                    Content::Hand {
                        text,
                        decl: Some(decl),
                    },
                );
            }
            Ok(false)
        }
        Step::HandCopy { from, to } => {
            let decl = model.disk.get(*from).and_then(Content::decl).cloned();
            if let Some(decl) = decl
                && !model.disk.contains_key(*to)
            {
                let text = decl.by_hand();
                model.write_by_hand(
                    fs,
                    to,
                    Content::Hand {
                        text,
                        decl: Some(decl),
                    },
                );
            }
            Ok(false)
        }
        Step::HandDelete { root } => {
            if model.disk.remove(*root).is_some() {
                fs.remove(&format!("{root}/asset.json"));
            }
            Ok(false)
        }
        Step::HandEdit { root, valid } => {
            let Some(current) = model.disk.get(*root).cloned() else {
                return Ok(false);
            };
            let edit = model.next_edit();
            let content = match (valid, current.decl()) {
                (true, Some(decl)) => {
                    let decl = Decl {
                        name: format!("edit{edit}"),
                        ..decl.clone()
                    };
                    Content::Hand {
                        text: decl.by_hand(),
                        decl: Some(decl),
                    }
                }
                _ => Content::Hand {
                    text: format!("{{\"broken\": {edit}\n"),
                    decl: None,
                },
            };
            model.write_by_hand(fs, root, content);
            Ok(false)
        }
        Step::EditThenUpdate { asset } => {
            let Some(root) = model.registry.get(asset).map(|e| e.root.clone()) else {
                return Ok(false);
            };
            let Some(decl) = model.seen.get(&root).and_then(Content::decl).cloned() else {
                return Ok(false);
            };
            let edit = model.next_edit();
            let decl = Decl {
                name: format!("edit{edit}"),
                ..decl
            };
            let text = decl.by_hand();
            model.write_by_hand(
                fs,
                &root,
                Content::Hand {
                    text,
                    decl: Some(decl),
                },
            );
            let update = Op::Update {
                asset: Target::Id(*asset),
                name: Some("mine"),
                kind: None,
                inputs: None,
            };
            let expected = model.predict(std::slice::from_ref(&update));
            if !matches!(expected, Expected::Refused(CONFLICT)) {
                return Err(format!(
                    "the model expected {}, not a conflict",
                    expected.describe()
                ));
            }
            submit(runtime, fs, model, &[update], false)
        }
    }
}

/// Submits `ops` (as a batch when `batch`) and compares the answer with the model's.
pub(super) fn submit(
    runtime: &Runtime,
    fs: &MemFs,
    model: &mut Model,
    ops: &[Op],
    batch: bool,
) -> Result<bool, String> {
    let command = if batch {
        Command::Batch(ops.iter().map(command).collect())
    } else {
        command(&ops[0])
    };
    let expected = model.predict(ops);
    let answer = runtime.submit(WriteRequest {
        command,
        expected_generation: Some(model.generation),
    });
    match (expected, answer) {
        (Expected::Commit(draft), Ok(outcome)) => {
            let generation = model.generation + u64::from(!draft.changes_nothing(model));
            if outcome.generation != generation || outcome.asset != draft.created.map(AssetId) {
                return Err(format!(
                    "the commit answered generation {} and asset {:?}; the model expected {} and {:?}",
                    outcome.generation, outcome.asset, generation, draft.created
                ));
            }
            if let Some(created) = draft.created
                && created < model.next_id
            {
                return Err(format!("asset id {created} was issued again"));
            }
            let written = fs
                .read(INDEX)
                .and_then(|bytes| Registry::parse(&bytes).ok());
            let published = !draft.changes_nothing(model);
            model.commit(draft, written.as_ref());
            Ok(published)
        }
        (Expected::Refused(code), Err(error)) if error.code.as_str() == code => Ok(false),
        (expected, answer) => Err(format!(
            "{ops:?}: the model expected {}; the runtime answered {answer:?}",
            expected.describe()
        )),
    }
}

/// Everything the runtime shows and the disk holds agrees with the model. `before` is
/// the snapshot before the step: it must still be current unless a commit happened.
pub(super) fn check(
    fs: &MemFs,
    runtime: &Runtime,
    model: &Model,
    before: &Arc<Snapshot>,
    committed: bool,
) -> Result<(), String> {
    let registry = model.registry_value();
    let index = fs.read(INDEX).ok_or("index.json is gone")?;
    let on_disk = Registry::parse(&index).map_err(|e| {
        format!(
            "index.json does not parse: {e:?}\n{}",
            String::from_utf8_lossy(&index)
        )
    })?;
    ensure_eq("the registry on disk", &on_disk, &registry)?;
    if let Some(last) = on_disk.assets().last()
        && on_disk.next_asset_id() <= last.asset_id.0
    {
        return Err(format!(
            "next_asset_id {} does not exceed asset id {}",
            on_disk.next_asset_id(),
            last.asset_id
        ));
    }

    // Declarations, folders, and nothing else, on disk.
    let mut declarations = BTreeMap::new();
    let mut others = Vec::new();
    for (file, bytes) in fs.files() {
        if file.starts_with(".prometeu/") {
            continue;
        }
        match file.strip_suffix("/asset.json") {
            Some(root) => {
                declarations.insert(
                    root.to_owned(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                );
            }
            None => others.push(file),
        }
    }
    let expected: BTreeMap<String, String> = model
        .disk
        .iter()
        .map(|(root, content)| {
            (
                root.clone(),
                String::from_utf8_lossy(&content.bytes()).into_owned(),
            )
        })
        .collect();
    ensure_eq("the asset.json files on disk", &declarations, &expected)?;
    ensure_eq(
        "other files outside .prometeu",
        &others,
        &Vec::<String>::new(),
    )?;
    for (id, entry) in &model.registry {
        let Some(decl) = model.disk.get(&entry.root).and_then(Content::decl) else {
            continue;
        };
        let file = fs
            .read(&format!("{}/asset.json", entry.root))
            .unwrap_or_default();
        let on_disk = Declaration::parse(&file).ok().map(|p| p.declaration);
        let expected = Some(decl.declaration());
        if on_disk != expected {
            return Err(format!(
                "the asset.json of asset {id} reads as {on_disk:?}, not {expected:?}"
            ));
        }
    }
    let port: &dyn WorkspacePort = fs;
    let scanned: BTreeSet<String> = port
        .scan(ScanOptions::default())
        .map_err(|e| format!("the scan failed: {e}"))?
        .into_iter()
        .filter(|entry| matches!(entry.kind, EntryKind::Dir))
        .map(|entry| entry.path.as_str().to_owned())
        .filter(|dir| !dir.is_empty())
        .collect();
    ensure_eq("the folders on disk", &scanned, &model.dirs)?;
    let transactions = port
        .list_dir(&WsPath::internal("tx").unwrap())
        .map(|entries| entries.len())
        .unwrap_or(0);
    ensure_eq("transactions left in tx/", &transactions, &0)?;

    // The published view.
    let view = runtime.view();
    if view.state == ProjectState::Failed || view.condition.is_some() {
        return Err(format!(
            "the project is {} ({:?})",
            view.state, view.condition
        ));
    }
    let snapshot = &view.snapshot;
    ensure_eq("the generation", &snapshot.generation(), &model.generation)?;
    ensure_eq(
        "the snapshot's registry",
        &snapshot.registry(),
        &Some(&registry),
    )?;
    for (record, entry) in snapshot.assets().iter().zip(registry.assets()) {
        ensure_eq("an asset record's entry", &record.entry, entry)?;
        let seen = model.seen.get(entry.root.as_str());
        let agrees = match (&record.declaration, seen.map(|c| c.decl())) {
            (DeclarationState::Valid(valid), Some(Some(decl))) => {
                valid.declaration == decl.declaration()
            }
            (DeclarationState::Invalid(_), Some(None)) | (DeclarationState::Missing, None) => true,
            _ => false,
        };
        if !agrees {
            return Err(format!(
                "the snapshot holds {:?} for asset {}; the model saw {seen:?}",
                record.declaration, entry.asset_id
            ));
        }
    }
    ensure_eq(
        "the number of asset records",
        &snapshot.assets().len(),
        &registry.assets().len(),
    )?;
    let unregistered: Vec<&str> = snapshot
        .unregistered()
        .iter()
        .map(|f| f.root.as_str())
        .collect();
    let expected = model.unregistered();
    ensure_eq(
        "the unregistered roots",
        &unregistered,
        &expected.keys().map(String::as_str).collect(),
    )?;
    if committed {
        let fresh = Snapshot::load(fs, model.generation);
        if **snapshot != fresh {
            return Err(format!(
                "the published snapshot differs from a fresh load of the disk:\n{snapshot:?}\n{fresh:?}"
            ));
        }
    } else if !Arc::ptr_eq(snapshot, before) {
        return Err("a new snapshot was published without a commit".to_owned());
    }
    Ok(())
}

pub(super) fn ensure_eq<T: PartialEq + std::fmt::Debug>(
    what: &str,
    got: &T,
    expected: &T,
) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!(
            "{what}:\n  got      {got:?}\n  expected {expected:?}"
        ))
    }
}
