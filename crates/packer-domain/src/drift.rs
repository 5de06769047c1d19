//! Drift: every way the disk can differ from what the registry says, classified as a
//! pure function of what a load found. Refreshing writes nothing; only an explicit
//! reconcile action changes files.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use uuid::Uuid;

use crate::location::Located;
use crate::path::AssetPath;
use crate::registry::AssetId;

/// One difference between the disk and the registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Drift {
    /// A registered `asset.json` was edited on disk and is valid.
    DeclarationChanged { asset_id: AssetId },
    /// An input file changed.
    InputChanged { asset_id: AssetId, path: AssetPath },
    /// `index.json` changed on disk and is valid.
    RegistryChanged,
    /// A registered `asset.json` does not parse or validate.
    DeclarationInvalid { asset_id: AssetId, error: Located },
    /// `index.json` does not parse or validate.
    RegistryInvalid { error: Located },
    /// A declared input is gone. `path` is relative to `assets/`.
    InputMissing { asset_id: AssetId, path: AssetPath },
    /// A registered root has no `asset.json` and no moved copy was found.
    RootMissing { asset_id: AssetId, root: AssetPath },
    /// A registered root is gone and its uuid appears at another path.
    RootMoved {
        asset_id: AssetId,
        from: AssetPath,
        to: AssetPath,
    },
    /// An `asset.json` the registry does not list.
    UnregisteredAsset {
        root: AssetPath,
        asset_uuid: Option<Uuid>,
    },
    /// Several `asset.json` files carry the same uuid (a copied folder).
    DuplicateUuid {
        #[serde(skip_serializing_if = "Option::is_none")]
        asset_id: Option<AssetId>,
        asset_uuid: Uuid,
        roots: Vec<AssetPath>,
    },
    /// The registry's uuid for a root differs from its `asset.json`'s.
    UuidMismatch {
        asset_id: AssetId,
        root: AssetPath,
        registered_uuid: Uuid,
        declared_uuid: Uuid,
    },
}

impl Drift {
    /// The drift's kind as written in JSON.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Drift::DeclarationChanged { .. } => "declaration_changed",
            Drift::InputChanged { .. } => "input_changed",
            Drift::RegistryChanged => "registry_changed",
            Drift::DeclarationInvalid { .. } => "declaration_invalid",
            Drift::RegistryInvalid { .. } => "registry_invalid",
            Drift::InputMissing { .. } => "input_missing",
            Drift::RootMissing { .. } => "root_missing",
            Drift::RootMoved { .. } => "root_moved",
            Drift::UnregisteredAsset { .. } => "unregistered_asset",
            Drift::DuplicateUuid { .. } => "duplicate_uuid",
            Drift::UuidMismatch { .. } => "uuid_mismatch",
        }
    }

    /// The registered asset concerned, if any.
    pub fn asset_id(&self) -> Option<AssetId> {
        match self {
            Drift::DeclarationChanged { asset_id }
            | Drift::InputChanged { asset_id, .. }
            | Drift::DeclarationInvalid { asset_id, .. }
            | Drift::InputMissing { asset_id, .. }
            | Drift::RootMissing { asset_id, .. }
            | Drift::RootMoved { asset_id, .. }
            | Drift::UuidMismatch { asset_id, .. } => Some(*asset_id),
            Drift::DuplicateUuid { asset_id, .. } => *asset_id,
            Drift::RegistryChanged
            | Drift::RegistryInvalid { .. }
            | Drift::UnregisteredAsset { .. } => None,
        }
    }

    /// Structural drift waits for an explicit reconcile decision and makes the project
    /// `diverged`. The rest is either refreshed on its own or fixed by editing a file.
    pub fn is_structural(&self) -> bool {
        matches!(
            self,
            Drift::RootMissing { .. }
                | Drift::RootMoved { .. }
                | Drift::UnregisteredAsset { .. }
                | Drift::DuplicateUuid { .. }
                | Drift::UuidMismatch { .. }
        )
    }
}

/// What classification needs to know about one registered asset.
#[derive(Debug, Clone)]
pub struct RegisteredView<'a> {
    pub asset_id: AssetId,
    pub asset_uuid: Uuid,
    pub root: &'a AssetPath,
    /// `None`: no `asset.json` at the root.
    pub found: Option<FoundView<'a>>,
}

/// What classification needs to know about one `asset.json` found on disk.
#[derive(Debug, Clone)]
pub struct FoundView<'a> {
    /// The uuid, when it could be read (even from an otherwise invalid file).
    pub asset_uuid: Option<Uuid>,
    /// The first error of an invalid declaration.
    pub error: Option<&'a Located>,
    /// Inputs that are missing, relative to `assets/`.
    pub missing_inputs: Vec<AssetPath>,
    /// Errors about inputs that exist but are not confined to the root.
    pub input_errors: Vec<Located>,
}

/// Classifies the structural and validity drift of a freshly loaded workspace: the
/// registered assets in id order, and the `asset.json` files found at unregistered
/// roots. The result is in a deterministic order: per registered asset in id order,
/// then duplicates by uuid, then unregistered assets by root.
pub fn classify(
    registered: &[RegisteredView<'_>],
    unregistered: &BTreeMap<AssetPath, FoundView<'_>>,
) -> Vec<Drift> {
    let mut drifts = Vec::new();
    // Every root (registered or not) at which each uuid is declared.
    // Each root appears once, registered or not; a list is sorted only when it has more
    // than one root, which is rare.
    let mut by_uuid: FxHashMap<Uuid, Roots<'_>> = FxHashMap::default();
    by_uuid.reserve(registered.len() + unregistered.len());
    for asset in registered {
        if let Some(uuid) = asset.found.as_ref().and_then(|f| f.asset_uuid) {
            Roots::add(&mut by_uuid, uuid, asset.root);
        }
    }
    for (root, found) in unregistered {
        if let Some(uuid) = found.asset_uuid {
            Roots::add(&mut by_uuid, uuid, root);
        }
    }
    for roots in by_uuid.values_mut() {
        if let Roots::Several(roots) = roots {
            roots.sort();
        }
    }
    // Unregistered roots already explained by a move or a duplicate.
    let mut claimed: BTreeSet<&AssetPath> = BTreeSet::new();
    let mut reported_duplicates: BTreeSet<Uuid> = BTreeSet::new();

    // Registered assets whose own `asset.json` is not at their root, and where each
    // went: rare, so none of this costs anything on a clean project.
    let moving = moving_assets(registered, unregistered, &by_uuid);
    for asset in registered {
        let declared = asset.found.as_ref().and_then(|f| f.asset_uuid);
        let destination = moving.get(&asset.asset_id);
        let (Some(found), None) = (&asset.found, destination) else {
            match destination.unwrap_or(&Destination::Nowhere) {
                Destination::Nowhere => drifts.push(Drift::RootMissing {
                    asset_id: asset.asset_id,
                    root: asset.root.clone(),
                }),
                Destination::Moved(to) => {
                    if unregistered.contains_key(*to) {
                        claimed.insert(to);
                    }
                    drifts.push(Drift::RootMoved {
                        asset_id: asset.asset_id,
                        from: asset.root.clone(),
                        to: (*to).clone(),
                    });
                }
                Destination::Several(roots) => {
                    claimed.extend(
                        roots
                            .iter()
                            .copied()
                            .filter(|r| unregistered.contains_key(*r)),
                    );
                    reported_duplicates.insert(asset.asset_uuid);
                    drifts.push(Drift::DuplicateUuid {
                        asset_id: Some(asset.asset_id),
                        asset_uuid: asset.asset_uuid,
                        roots: roots.iter().map(|r| (*r).clone()).collect(),
                    });
                }
            }
            continue;
        };
        if let Some(declared) = declared
            && declared != asset.asset_uuid
        {
            drifts.push(Drift::UuidMismatch {
                asset_id: asset.asset_id,
                root: asset.root.clone(),
                registered_uuid: asset.asset_uuid,
                declared_uuid: declared,
            });
        }
        if let Some(error) = found.error {
            drifts.push(Drift::DeclarationInvalid {
                asset_id: asset.asset_id,
                error: error.clone(),
            });
        }
        for error in &found.input_errors {
            drifts.push(Drift::DeclarationInvalid {
                asset_id: asset.asset_id,
                error: error.clone(),
            });
        }
        for path in &found.missing_inputs {
            drifts.push(Drift::InputMissing {
                asset_id: asset.asset_id,
                path: path.clone(),
            });
        }
    }

    let mut duplicates: Vec<(&Uuid, &[&AssetPath])> = by_uuid
        .iter()
        .map(|(uuid, roots)| (uuid, roots.as_slice()))
        .filter(|(uuid, roots)| roots.len() > 1 && !reported_duplicates.contains(*uuid))
        .collect();
    // Uuids are the keys of a map: sorting by uuid alone is a total order.
    duplicates.sort_by_key(|(uuid, _)| **uuid);
    // Only a duplicate needs to know which asset owns its uuid; most loads have none.
    let owner: FxHashMap<Uuid, AssetId> = if duplicates.is_empty() {
        FxHashMap::default()
    } else {
        registered
            .iter()
            .map(|a| (a.asset_uuid, a.asset_id))
            .collect()
    };
    for (uuid, roots) in duplicates {
        claimed.extend(
            roots
                .iter()
                .copied()
                .filter(|r| unregistered.contains_key(*r)),
        );
        drifts.push(Drift::DuplicateUuid {
            asset_id: owner.get(uuid).copied(),
            asset_uuid: *uuid,
            roots: roots.iter().map(|r| (*r).clone()).collect(),
        });
    }

    // The `asset.json` at a root its asset left for another place, unless the asset
    // whose uuid it declares moved exactly there or a duplicate names it: a folder that
    // came after (a copy, a new one), which the registry does not list.
    let listed: BTreeSet<&AssetPath> = drifts
        .iter()
        .filter_map(|d| match d {
            Drift::DuplicateUuid { roots, .. } => Some(roots),
            _ => None,
        })
        .flatten()
        .collect();
    let arrived: BTreeSet<&AssetPath> = moving
        .values()
        .filter_map(|d| match d {
            Destination::Moved(to) => Some(*to),
            _ => None,
        })
        .collect();
    let vacated: BTreeMap<&AssetPath, &FoundView<'_>> = registered
        .iter()
        .filter(|a| moving.contains_key(&a.asset_id))
        .filter_map(|a| Some((a.root, a.found.as_ref()?)))
        .filter(|(root, _)| !arrived.contains(root) && !listed.contains(root))
        .collect();
    let mut loose: BTreeMap<&AssetPath, &FoundView<'_>> = unregistered
        .iter()
        .filter(|(root, _)| !claimed.contains(root))
        .collect();
    loose.extend(vacated);
    for (root, found) in loose {
        drifts.push(Drift::UnregisteredAsset {
            root: root.clone(),
            asset_uuid: found.asset_uuid,
        });
    }
    drifts
}

/// Where a registered asset whose own `asset.json` is not at its root went.
#[derive(Debug, PartialEq, Eq)]
enum Destination<'a> {
    /// Its uuid is declared nowhere else.
    Nowhere,
    Moved(&'a AssetPath),
    /// Its uuid is declared at several other roots: copies.
    Several(Vec<&'a AssetPath>),
}

/// The registered assets that left their roots, with where each went. One left when
/// its root has no `asset.json`, or when the `asset.json` there is another registered
/// asset's that moved in (a chain of moves: `a` to `b` after `b` to `c`; a swap). A root
/// holding another asset's uuid whose owner did not move there holds a copy, or an
/// edited uuid: its asset stays, with a `uuid_mismatch`.
///
/// An asset goes where its uuid is declared: an unregistered folder first, else the one
/// root another asset left (among several roots declaring it, the one whose own asset's
/// uuid turned up elsewhere). Which roots were taken over depends on where their intruders
/// went, and a swap takes two roots over by each other: so every asset whose root
/// declares another's uuid starts as left, and those whose intruder did not come from a
/// leaving asset moving exactly there are dropped until none is.
fn moving_assets<'a>(
    registered: &[RegisteredView<'a>],
    unregistered: &BTreeMap<AssetPath, FoundView<'_>>,
    by_uuid: &FxHashMap<Uuid, Roots<'a>>,
) -> FxHashMap<AssetId, Destination<'a>> {
    // No `asset.json`, or one declaring another uuid. (One whose uuid cannot be read
    // stays: it is this asset's, broken.)
    let has_left = |a: &&RegisteredView<'_>| match &a.found {
        None => true,
        Some(found) => found.asset_uuid.is_some_and(|u| u != a.asset_uuid),
    };
    let mut moving: FxHashMap<AssetId, Destination<'a>> = FxHashMap::default();
    let left: Vec<&RegisteredView<'a>> = registered.iter().filter(has_left).collect();
    if left.is_empty() {
        return moving;
    }
    // The registered asset at each root, to know who must leave for another to come.
    let holder: FxHashMap<&AssetPath, &RegisteredView<'a>> =
        registered.iter().map(|a| (a.root, a)).collect();
    let mut owners: FxHashMap<Uuid, AssetId> = FxHashMap::default();
    for asset in left {
        let elsewhere: Vec<&'a AssetPath> = by_uuid
            .get(&asset.asset_uuid)
            .map(|roots| {
                roots
                    .as_slice()
                    .iter()
                    .copied()
                    .filter(|r| *r != asset.root)
                    .collect()
            })
            .unwrap_or_default();
        let (loose, roots): (Vec<&'a AssetPath>, Vec<&'a AssetPath>) = elsewhere
            .into_iter()
            .partition(|r| unregistered.contains_key(*r));
        let destination = match (loose.as_slice(), roots.as_slice()) {
            ([], [to]) | ([to], _) => Destination::Moved(to),
            // Declared at several registered roots: a move into the one whose asset
            // left for another place (a swap or a cycle, and copies put over other
            // assets); else copies over them, not a move. The duplicate is reported
            // as such.
            ([], _) => {
                let vacated: Vec<&'a AssetPath> = roots
                    .iter()
                    .copied()
                    .filter(|r| {
                        holder
                            .get(r)
                            .and_then(|other| by_uuid.get(&other.asset_uuid))
                            .is_some_and(|at| at.as_slice().iter().any(|x| x != r))
                    })
                    .collect();
                match vacated.as_slice() {
                    [to] => Destination::Moved(to),
                    _ => Destination::Nowhere,
                }
            }
            _ => Destination::Several(loose),
        };
        moving.insert(asset.asset_id, destination);
        owners.insert(asset.asset_uuid, asset.asset_id);
    }
    // Roots declaring another's uuid, with that uuid, and whether it is a copy's: a uuid
    // another asset is registered with, or one declared elsewhere too (rather than a
    // uuid edited into the file).
    let registered_uuids: BTreeSet<Uuid> = registered.iter().map(|a| a.asset_uuid).collect();
    let intruded: Vec<(AssetId, &AssetPath, Uuid, bool)> = registered
        .iter()
        .filter_map(|a| {
            let declared = a.found.as_ref()?.asset_uuid?;
            let copied = registered_uuids.contains(&declared)
                || by_uuid
                    .get(&declared)
                    .is_some_and(|r| r.as_slice().len() > 1);
            (declared != a.asset_uuid).then_some((a.asset_id, a.root, declared, copied))
        })
        .collect();
    loop {
        let mut changed = false;
        // A move into a registered root stands only while that root's asset leaves it
        // for one place (or none): one copied to several folders keeps its root.
        let blocked: Vec<AssetId> = moving
            .iter()
            .filter_map(|(id, destination)| {
                let Destination::Moved(to) = destination else {
                    return None;
                };
                let other = holder.get(to)?.asset_id;
                let leaves = matches!(
                    moving.get(&other),
                    Some(Destination::Moved(_) | Destination::Nowhere)
                );
                (!leaves).then_some(*id)
            })
            .collect();
        for id in blocked {
            moving.insert(id, Destination::Nowhere);
            changed = true;
        }
        // A root declaring another's uuid was left when the intruder's owner moves
        // exactly there, or when the file there is a copy and the asset's own uuid
        // turned up in one other place (it moved there; the copy came after).
        // Otherwise the root holds a copy or an edited uuid, and its asset stays.
        let dropped: Vec<AssetId> = intruded
            .iter()
            .filter(|(id, root, declared, copied)| {
                moving
                    .get(id)
                    .is_some_and(|d| !(*copied && matches!(d, Destination::Moved(_))))
                    && !owners
                        .get(declared)
                        .and_then(|owner| moving.get(owner))
                        .is_some_and(|d| *d == Destination::Moved(root))
            })
            .map(|(id, _, _, _)| *id)
            .collect();
        for id in dropped {
            moving.remove(&id);
            changed = true;
        }
        if !changed {
            return moving;
        }
    }
}

/// The roots declaring one uuid: nearly always one, kept without an allocation.
enum Roots<'a> {
    One(&'a AssetPath),
    Several(Vec<&'a AssetPath>),
}

impl<'a> Roots<'a> {
    fn add(map: &mut FxHashMap<Uuid, Roots<'a>>, uuid: Uuid, root: &'a AssetPath) {
        match map.entry(uuid) {
            Entry::Vacant(vacant) => {
                vacant.insert(Roots::One(root));
            }
            Entry::Occupied(mut occupied) => {
                let roots = occupied.get_mut();
                match roots {
                    Roots::One(first) => *roots = Roots::Several(vec![*first, root]),
                    Roots::Several(all) => all.push(root),
                }
            }
        }
    }

    fn as_slice(&self) -> &[&'a AssetPath] {
        match self {
            Roots::One(root) => std::slice::from_ref(root),
            Roots::Several(all) => all,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(n: u8) -> Uuid {
        Uuid::from_bytes([n; 16])
    }

    fn p(s: &str) -> AssetPath {
        AssetPath::new(s).unwrap()
    }

    fn found(uuid: Option<Uuid>) -> FoundView<'static> {
        FoundView {
            asset_uuid: uuid,
            error: None,
            missing_inputs: Vec::new(),
            input_errors: Vec::new(),
        }
    }

    /// `registered`: (id, uuid, root, uuid declared at the root); `loose`: (root, uuid).
    fn check(
        registered: &[(u64, u8, &str, Option<u8>)],
        loose: &[(&str, Option<u8>)],
        expected: &[&str],
    ) {
        let roots: Vec<AssetPath> = registered.iter().map(|r| p(r.2)).collect();
        let views: Vec<RegisteredView<'_>> = registered
            .iter()
            .zip(&roots)
            .map(|(&(id, uuid, _, declared), root)| RegisteredView {
                asset_id: AssetId(id),
                asset_uuid: u(uuid),
                root,
                found: declared.map(|d| found(Some(u(d)))),
            })
            .collect();
        let loose: BTreeMap<AssetPath, FoundView<'_>> = loose
            .iter()
            .map(|&(root, uuid)| (p(root), found(uuid.map(u))))
            .collect();
        let got: Vec<String> = classify(&views, &loose)
            .iter()
            .map(|d| serde_json::to_string(d).unwrap())
            .collect();
        let expected: Vec<String> = expected.iter().map(|s| s.replace('\'', "\"")).collect();
        assert_eq!(got, expected);
    }

    const U1: &str = "01010101-0101-0101-0101-010101010101";
    const U2: &str = "02020202-0202-0202-0202-020202020202";

    #[test]
    fn clean_workspace_has_no_drift() {
        check(&[(1, 1, "a", Some(1)), (2, 2, "b", Some(2))], &[], &[]);
    }

    #[test]
    fn missing_moved_and_unregistered() {
        check(
            &[(1, 1, "a", None)],
            &[],
            &["{'kind':'root_missing','asset_id':1,'root':'a'}"],
        );
        check(
            &[(1, 1, "a", None)],
            &[("x/a", Some(1))],
            &["{'kind':'root_moved','asset_id':1,'from':'a','to':'x/a'}"],
        );
        check(
            &[],
            &[("n", Some(2)), ("m", None)],
            &[
                "{'kind':'unregistered_asset','root':'m','asset_uuid':null}",
                &format!("{{'kind':'unregistered_asset','root':'n','asset_uuid':'{U2}'}}"),
            ],
        );
    }

    /// Folders moved into places other registered assets left: each asset follows its
    /// uuid, and one whose folder another took over, leaving its own nowhere, is missing.
    #[test]
    fn chains_swaps_and_take_overs_follow_the_uuid() {
        // hero -> slime, slime -> slime2.
        check(
            &[(1, 1, "hero", None), (2, 2, "slime", Some(1))],
            &[("slime2", Some(2))],
            &[
                "{'kind':'root_moved','asset_id':1,'from':'hero','to':'slime'}",
                "{'kind':'root_moved','asset_id':2,'from':'slime','to':'slime2'}",
            ],
        );
        // hero <-> slime.
        check(
            &[(1, 1, "hero", Some(2)), (2, 2, "slime", Some(1))],
            &[],
            &[
                "{'kind':'root_moved','asset_id':1,'from':'hero','to':'slime'}",
                "{'kind':'root_moved','asset_id':2,'from':'slime','to':'hero'}",
            ],
        );
        // slime deleted, hero moved in its place.
        check(
            &[(1, 1, "hero", None), (2, 2, "slime", Some(1))],
            &[],
            &[
                "{'kind':'root_moved','asset_id':1,'from':'hero','to':'slime'}",
                "{'kind':'root_missing','asset_id':2,'root':'slime'}",
            ],
        );
        // slime renamed to slime_old and a copy of hero put in its place: slime moved,
        // and the copy that came after is a duplicate.
        check(
            &[(1, 1, "hero", Some(1)), (2, 2, "slime", Some(1))],
            &[("slime_old", Some(2))],
            &[
                "{'kind':'root_moved','asset_id':2,'from':'slime','to':'slime_old'}",
                &format!(
                    "{{'kind':'duplicate_uuid','asset_id':1,'asset_uuid':'{U1}','roots':['hero','slime']}}"
                ),
            ],
        );
        // A copy of hero over slime, hero still in place: a copy, not a move.
        check(
            &[(1, 1, "hero", Some(1)), (2, 2, "slime", Some(1))],
            &[],
            &[
                &format!(
                    "{{'kind':'uuid_mismatch','asset_id':2,'root':'slime','registered_uuid':'{U2}','declared_uuid':'{U1}'}}"
                ),
                &format!(
                    "{{'kind':'duplicate_uuid','asset_id':1,'asset_uuid':'{U1}','roots':['hero','slime']}}"
                ),
            ],
        );
    }

    #[test]
    fn copies_and_mismatches() {
        check(
            &[(1, 1, "a", Some(1))],
            &[("copy", Some(1))],
            &[&format!(
                "{{'kind':'duplicate_uuid','asset_id':1,'asset_uuid':'{U1}','roots':['a','copy']}}"
            )],
        );
        check(
            &[(1, 1, "a", None)],
            &[("c1", Some(1)), ("c2", Some(1))],
            &[&format!(
                "{{'kind':'duplicate_uuid','asset_id':1,'asset_uuid':'{U1}','roots':['c1','c2']}}"
            )],
        );
        check(
            &[(1, 1, "a", Some(2))],
            &[],
            &[&format!(
                "{{'kind':'uuid_mismatch','asset_id':1,'root':'a','registered_uuid':'{U1}','declared_uuid':'{U2}'}}"
            )],
        );
    }
}
