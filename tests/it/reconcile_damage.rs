//! Random structural damage to a random project — folders moved and copied by hand,
//! `asset.json` files deleted, uuids edited, new folders added — then the whole reconcile
//! plan applied at once: the project is `ready`, nothing is left to decide, and every
//! user file is where the damage left it, byte for byte (an `asset.json` may only have
//! had its uuid replaced). With damage reconcile cannot undo (a broken `asset.json`, a
//! folder moved into another), every action offered still applies, alone or all
//! together, and no user file is lost.

use std::collections::BTreeMap;

use packer_domain::declaration::Declaration;
use packer_domain::drift::Drift;
use packer_domain::snapshot::ProjectState;
use packer_memfs::MemFs;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use uuid::Uuid;

use crate::reconcile_fixture::{decl, hand_registry};
use crate::runtime::open;

/// A hand edit. Folder and uuid choices are taken modulo what exists when it runs;
/// destinations are distinct top-level folders, so no asset folder ends up inside
/// another (which reconcile cannot resolve, by design).
#[derive(Debug, Clone)]
enum Damage {
    /// `mv folder m<to>`.
    Move { folder: usize, to: usize },
    /// `cp -r folder c<to>`.
    Copy { folder: usize, to: usize },
    /// `rm folder/asset.json`.
    DeleteDeclaration { folder: usize },
    /// Writes another uuid into `folder/asset.json`: a new one (`None`) or the one the
    /// n-th asset was created with.
    EditUuid { folder: usize, to: Option<usize> },
    /// A new folder `n<at>` with a valid `asset.json` nobody registered.
    AddUnregistered { at: usize },
    /// Makes `folder/asset.json` invalid: unreadable JSON, or valid JSON without a name
    /// (its uuid can still be read).
    Break { folder: usize, unreadable: bool },
    /// `mv folder into/sub`: an asset folder inside another.
    MoveInto { folder: usize, into: usize },
    /// Two folders exchange places.
    Swap { a: usize, b: usize },
    /// `rm -r other; mv folder other`: a folder takes the place of a deleted one.
    Replace { folder: usize, other: usize },
    /// `mv other other_old; cp -r folder other`: a folder renamed, and a copy of another
    /// put in its place.
    CopyInPlace { folder: usize, other: usize },
}

fn damage() -> impl Strategy<Value = Damage> {
    let folder = 0..8usize;
    let to = 0..4usize;
    prop_oneof![
        (folder.clone(), to.clone()).prop_map(|(folder, to)| Damage::Move { folder, to }),
        (folder.clone(), to.clone()).prop_map(|(folder, to)| Damage::Copy { folder, to }),
        folder
            .clone()
            .prop_map(|folder| Damage::DeleteDeclaration { folder }),
        (folder, prop::option::of(0..4usize))
            .prop_map(|(folder, to)| Damage::EditUuid { folder, to }),
        to.prop_map(|at| Damage::AddUnregistered { at }),
        (0..8usize, 0..8usize).prop_map(|(a, b)| Damage::Swap { a, b }),
        (0..8usize, 0..8usize).prop_map(|(folder, other)| Damage::Replace { folder, other }),
        (0..8usize, 0..8usize).prop_map(|(folder, other)| Damage::CopyInPlace { folder, other }),
    ]
}

/// Any damage, also what reconcile cannot resolve.
fn wild_damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        4 => damage(),
        1 => (0..8usize, any::<bool>())
            .prop_map(|(folder, unreadable)| Damage::Break { folder, unreadable }),
        1 => (0..8usize, 0..8usize).prop_map(|(folder, into)| Damage::MoveInto { folder, into }),
    ]
}

/// The uuid of the n-th asset of the project, or of a new folder.
fn uuid(n: usize) -> String {
    let bytes = u128::try_from(n + 1).unwrap().to_be_bytes();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// A project of `assets` registered assets `p0`, `p1`, …, each with one user file.
fn project(assets: usize) -> (MemFs, Vec<String>) {
    let entries: Vec<(u64, String, String)> = (0..assets)
        .map(|i| (u64::try_from(i + 1).unwrap(), uuid(i), format!("p{i}")))
        .collect();
    let borrowed: Vec<(u64, &str, &str)> = entries
        .iter()
        .map(|(id, uuid, root)| (*id, uuid.as_str(), root.as_str()))
        .collect();
    let mut fixture = format!(
        "//- .prometeu/index.json\n{}\n",
        hand_registry(u64::try_from(assets + 1).unwrap(), &borrowed)
    );
    for (_, uuid, root) in &entries {
        fixture.push_str(&format!(
            "//- {root}/asset.json\n{}\n//- {root}/x.bin\nuser bytes of {root}\n",
            decl(uuid, root)
        ));
    }
    let folders = entries.into_iter().map(|(_, _, root)| root).collect();
    (MemFs::from_fixture(&fixture).unwrap(), folders)
}

/// Applies `damage` to `fs`, whose asset folders (with or without an `asset.json`) are
/// `folders`.
fn apply(fs: &MemFs, folders: &mut Vec<String>, damage: &Damage, fresh: &mut usize) {
    let exists = |fs: &MemFs, folder: &str| {
        fs.files()
            .keys()
            .any(|path| path.starts_with(&format!("{folder}/")))
    };
    match damage {
        Damage::Move { folder, to } => {
            let from = folders[folder % folders.len()].clone();
            let to = format!("m{to}");
            if !exists(fs, &to) {
                fs.rename(&from, &to);
                moved(folders, &from, &to);
            }
        }
        Damage::Copy { folder, to } => {
            let from = folders[folder % folders.len()].clone();
            let to = format!("c{to}");
            if !exists(fs, &to) {
                for (path, bytes) in fs.files() {
                    if let Some(rest) = path.strip_prefix(&format!("{from}/")) {
                        fs.write(&format!("{to}/{rest}"), bytes);
                    }
                }
                folders.push(to);
            }
        }
        Damage::DeleteDeclaration { folder } => {
            let path = format!("{}/asset.json", folders[folder % folders.len()]);
            if fs.read(&path).is_some() {
                fs.remove(&path);
            }
        }
        Damage::EditUuid { folder, to } => {
            let folder = &folders[folder % folders.len()];
            let path = format!("{folder}/asset.json");
            if fs.read(&path).is_some() {
                let new = match to {
                    Some(n) => uuid(*n),
                    None => {
                        *fresh += 1;
                        uuid(*fresh)
                    }
                };
                fs.write(&path, decl(&new, folder));
            }
        }
        Damage::AddUnregistered { at } => {
            let root = format!("n{at}");
            if !exists(fs, &root) {
                *fresh += 1;
                fs.write(&format!("{root}/asset.json"), decl(&uuid(*fresh), &root));
                fs.write(&format!("{root}/x.bin"), format!("user bytes of {root}"));
                folders.push(root);
            }
        }
        Damage::Break { folder, unreadable } => {
            let folder = &folders[folder % folders.len()];
            let path = format!("{folder}/asset.json");
            if let Some(bytes) = fs.read(&path) {
                let text = String::from_utf8_lossy(&bytes);
                let broken = if *unreadable {
                    "{ broken".to_owned()
                } else {
                    text.replace("\"name\"", "\"title\"")
                };
                fs.write(&path, broken);
            }
        }
        Damage::Swap { a, b } => {
            let a = folders[a % folders.len()].clone();
            let b = folders[b % folders.len()].clone();
            if apart(&a, &b) && !exists(fs, "swap") {
                fs.rename(&a, "swap");
                fs.rename(&b, &a);
                fs.rename("swap", &b);
                moved(folders, &a, "swap");
                moved(folders, &b, &a);
                moved(folders, "swap", &b);
            }
        }
        Damage::Replace { folder, other } => {
            let from = folders[folder % folders.len()].clone();
            let to = folders[other % folders.len()].clone();
            if apart(&from, &to) {
                fs.remove(&to);
                folders.retain(|f| !f.starts_with(&format!("{to}/")));
                fs.rename(&from, &to);
                moved(folders, &from, &to);
                folders.dedup();
            }
        }
        Damage::CopyInPlace { folder, other } => {
            let from = folders[folder % folders.len()].clone();
            let to = folders[other % folders.len()].clone();
            let old = format!("{to}_old");
            if apart(&from, &to) && !exists(fs, &old) {
                fs.rename(&to, &old);
                moved(folders, &to, &old);
                for (path, bytes) in fs.files() {
                    if let Some(rest) = path.strip_prefix(&format!("{from}/")) {
                        fs.write(&format!("{to}/{rest}"), bytes);
                    }
                }
                folders.push(to);
            }
        }
        Damage::MoveInto { folder, into } => {
            let from = folders[folder % folders.len()].clone();
            let into = folders[into % folders.len()].clone();
            let to = format!("{into}/sub");
            if from != into && !into.starts_with(&format!("{from}/")) && !exists(fs, &to) {
                fs.rename(&from, &to);
                moved(folders, &from, &to);
            }
        }
    }
}

/// Whether neither of two folders lies inside (or is) the other.
fn apart(a: &str, b: &str) -> bool {
    a != b && !a.starts_with(&format!("{b}/")) && !b.starts_with(&format!("{a}/"))
}

/// Renames `from` to `to` in `folders`, and the folders that lay inside it.
fn moved(folders: &mut [String], from: &str, to: &str) {
    for folder in folders.iter_mut() {
        if folder == from {
            *folder = to.to_owned();
        } else if let Some(rest) = folder.strip_prefix(&format!("{from}/")) {
            *folder = format!("{to}/{rest}");
        }
    }
}

/// A declaration with its uuid blanked, to compare what else it says.
fn without_uuid(bytes: &[u8]) -> Option<Declaration> {
    let mut declaration = Declaration::parse(bytes).ok()?.declaration;
    declaration.asset_uuid = Uuid::nil();
    Some(declaration)
}

/// The project of `assets` assets after `damages`.
fn damaged(assets: usize, damages: &[Damage]) -> MemFs {
    let (fs, mut folders) = project(assets);
    // New uuids start after every asset's, so `EditUuid { to: Some(_) }` may name one.
    let mut fresh = 100;
    for damage in damages {
        apply(&fs, &mut folders, damage, &mut fresh);
    }
    fs
}

fn run(assets: usize, damages: &[Damage]) -> Result<(), TestCaseError> {
    let fs = damaged(assets, damages);
    let before = fs.files();
    let (runtime, _) = open(&fs);
    let plan = runtime.reconcile_plan();
    prop_assert_eq!(&plan.unresolved, &Vec::new(), "{:#?}", plan);
    if !plan.actions.is_empty() {
        let ids: Vec<u32> = plan.actions.iter().map(|a| a.action_id).collect();
        let outcome = runtime.reconcile_apply(plan.plan_id, &ids);
        prop_assert!(outcome.is_ok(), "{:?}\n{:#?}", outcome, plan);
    }

    let view = runtime.view();
    let left: Vec<&Drift> = view
        .snapshot
        .drifts()
        .iter()
        .filter(|d| d.is_structural())
        .collect();
    prop_assert_eq!(left, Vec::<&Drift>::new(), "{:#?}", plan);
    prop_assert_eq!(view.state, ProjectState::Ready);
    let next = runtime.reconcile_plan();
    prop_assert!(next.actions.is_empty() && next.unresolved.is_empty());

    user_files_kept(&before, &fs.files())
}

/// Every file of `before` is in `now` with the same bytes, except the registry and an
/// `asset.json` whose uuid was replaced; no file appeared.
fn user_files_kept(
    damaged: &BTreeMap<String, Vec<u8>>,
    now: &BTreeMap<String, Vec<u8>>,
) -> Result<(), TestCaseError> {
    for (path, before) in damaged {
        if path == ".prometeu/index.json" {
            continue;
        }
        let after = now.get(path);
        prop_assert!(after.is_some(), "{} was lost", path);
        let after = after.map(Vec::as_slice).unwrap_or_default();
        if path.ends_with("/asset.json") && after != before.as_slice() {
            // Only a reassigned uuid may differ, and the file is rewritten in the
            // packer's own layout.
            prop_assert!(without_uuid(after).is_some(), "{} no longer parses", path);
            prop_assert_eq!(without_uuid(after), without_uuid(before), "{}", path);
        } else {
            prop_assert_eq!(after, before.as_slice(), "{} changed", path);
        }
    }
    for path in now.keys() {
        prop_assert!(damaged.contains_key(path), "{} appeared", path);
    }
    Ok(())
}

/// Each offered action applies alone, and all of them together, keeping user files.
fn run_wild(assets: usize, damages: &[Damage]) -> Result<(), TestCaseError> {
    let plan = {
        let fs = damaged(assets, damages);
        open(&fs).0.reconcile_plan()
    };
    let mut choices: Vec<Vec<u32>> = plan.actions.iter().map(|a| vec![a.action_id]).collect();
    choices.push(plan.actions.iter().map(|a| a.action_id).collect());
    for ids in choices.into_iter().filter(|ids| !ids.is_empty()) {
        let fs = damaged(assets, damages);
        let before = fs.files();
        let (runtime, _) = open(&fs);
        let outcome = runtime.reconcile_apply(plan.plan_id, &ids);
        prop_assert!(outcome.is_ok(), "{:?}: {:?}\n{:#?}", ids, outcome, plan);
        user_files_kept(&before, &fs.files())?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        // A failure is reported shrunk; nothing is written next to the sources.
        failure_persistence: None,
        ..ProptestConfig::with_cases(128)
    })]

    #[test]
    fn applying_the_whole_plan_repairs_any_structural_damage(
        assets in 1..=4usize,
        damages in prop::collection::vec(damage(), 1..=6),
    ) {
        run(assets, &damages)?;
    }

    #[test]
    fn every_offered_action_applies_alone_and_together(
        assets in 1..=4usize,
        damages in prop::collection::vec(wild_damage(), 1..=6),
    ) {
        run_wild(assets, &damages)?;
    }
}

/// The damage of each kind at least once, together.
#[test]
fn every_kind_of_damage_at_once() {
    let damages = [
        Damage::Move { folder: 0, to: 0 },
        Damage::Copy { folder: 0, to: 0 },
        Damage::Copy { folder: 1, to: 1 },
        Damage::DeleteDeclaration { folder: 2 },
        Damage::EditUuid {
            folder: 3,
            to: Some(1),
        },
        Damage::EditUuid {
            folder: 1,
            to: None,
        },
        Damage::AddUnregistered { at: 0 },
    ];
    if let Err(error) = run(4, &damages) {
        panic!("{error}");
    }
}
