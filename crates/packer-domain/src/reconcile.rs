//! Reconcile plans (SPEC §3.4): the actions that resolve structural drift, computed as a
//! pure function of a snapshot. Applying chosen actions is `Command::Reconcile` on the
//! writer lane; this module only decides what may be offered.
//!
//! Every offered action can be applied on its own, and all of them together: an action
//! is offered only when it is valid against the snapshot's registry as it is, and no two
//! actions touch the same root, register the same uuid or register roots that nest.
//! What cannot be offered that way is listed as unresolved, with the reason, so a person
//! knows what to fix by hand.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::ser::SerializeMap;
use uuid::Uuid;

use crate::drift::Drift;
use crate::path::AssetPath;
use crate::registry::AssetId;
use crate::snapshot::{AssetQuery, AssetRecord, DeclarationState, ProjectState, Snapshot};

/// One change a reconcile can make, as chosen by a consumer and applied by
/// `Command::Reconcile`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReconcileAction {
    /// Points the registry entry at the root where the asset's uuid now lives.
    Relocate {
        asset_id: AssetId,
        from: AssetPath,
        to: AssetPath,
    },
    /// Drops a registry entry whose root has no `asset.json`; deletes nothing.
    Unregister { asset_id: AssetId, root: AssetPath },
    /// Registers the `asset.json` at `root` with a new asset id, keeping its uuid.
    Adopt { root: AssetPath, asset_uuid: Uuid },
    /// Writes a fresh uuid into the `asset.json` at `root`, which carries `asset_uuid`
    /// that belongs to another asset or root. An unregistered copy is then registered as
    /// a new asset; a registered one (`asset_id`) keeps its id and records the new uuid.
    ReassignUuid {
        root: AssetPath,
        asset_id: Option<AssetId>,
        asset_uuid: Uuid,
    },
    /// Records in the registry the uuid written in the asset's `asset.json`.
    AcceptDeclaredUuid {
        asset_id: AssetId,
        root: AssetPath,
        declared_uuid: Uuid,
    },
}

impl ReconcileAction {
    /// The action's kind as written in JSON.
    pub fn kind_name(&self) -> &'static str {
        match self {
            ReconcileAction::Relocate { .. } => "relocate",
            ReconcileAction::Unregister { .. } => "unregister",
            ReconcileAction::Adopt { .. } => "adopt",
            ReconcileAction::ReassignUuid { .. } => "reassign_uuid",
            ReconcileAction::AcceptDeclaredUuid { .. } => "accept_declared_uuid",
        }
    }

    /// The root this action adds to the registry, if it adds one.
    fn registers(&self) -> Option<&AssetPath> {
        match self {
            ReconcileAction::Relocate { to, .. } => Some(to),
            ReconcileAction::Adopt { root, .. }
            | ReconcileAction::ReassignUuid {
                root,
                asset_id: None,
                ..
            } => Some(root),
            ReconcileAction::Unregister { .. }
            | ReconcileAction::ReassignUuid { .. }
            | ReconcileAction::AcceptDeclaredUuid { .. } => None,
        }
    }
}

/// A line a person reads: what the action will do.
impl fmt::Display for ReconcileAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReconcileAction::Relocate { asset_id, from, to } => {
                write!(f, "relocate asset {asset_id}: {from} -> {to}")
            }
            ReconcileAction::Unregister { asset_id, root } => {
                write!(
                    f,
                    "unregister asset {asset_id} (its asset.json is gone from {root})"
                )
            }
            ReconcileAction::Adopt { root, asset_uuid } => {
                write!(f, "adopt {root} (uuid {asset_uuid})")
            }
            ReconcileAction::ReassignUuid {
                root,
                asset_id: None,
                ..
            } => write!(
                f,
                "reassign_uuid {root} gets a fresh uuid and is registered as a new asset"
            ),
            ReconcileAction::ReassignUuid {
                root,
                asset_id: Some(id),
                ..
            } => write!(f, "reassign_uuid asset {id} ({root}) gets a fresh uuid"),
            ReconcileAction::AcceptDeclaredUuid {
                asset_id,
                declared_uuid,
                ..
            } => write!(
                f,
                "accept_declared_uuid asset {asset_id} takes uuid {declared_uuid}"
            ),
        }
    }
}

/// An offered action: its number in the plan and the drift it resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedAction {
    /// From 1, in drift order.
    pub action_id: u32,
    pub drift: Drift,
    pub action: ReconcileAction,
    /// Actions applied with this one whenever it is chosen: a relocation into the root
    /// another asset left needs that asset's own action (a chain of moves, a swap).
    pub requires: Vec<u32>,
}

/// A structural drift (or part of one) for which no action can be offered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unresolved {
    pub drift: Drift,
    /// What stands in the way and what a person can do.
    pub reason: String,
}

/// The reconcile plan of one generation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReconcilePlan {
    /// The generation the plan was computed from: a plan is valid only for it.
    pub plan_id: u64,
    pub generation: u64,
    pub actions: Vec<PlannedAction>,
    pub unresolved: Vec<Unresolved>,
}

impl ReconcilePlan {
    /// The actions named by `action_ids`, with those they require, in plan order. No
    /// id, an unknown id or one named twice is an error saying which.
    pub fn select(&self, action_ids: &[u32]) -> Result<Vec<ReconcileAction>, String> {
        if action_ids.is_empty() {
            return Err("no action was chosen; name at least one action id of the plan".to_owned());
        }
        let mut chosen = BTreeSet::new();
        for &id in action_ids {
            if !chosen.insert(id) {
                return Err(format!("action {id} is chosen twice"));
            }
        }
        let mut pending: Vec<u32> = chosen.iter().copied().collect();
        while let Some(id) = pending.pop() {
            let planned = usize::try_from(id)
                .ok()
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| self.actions.get(i));
            for &required in planned.map_or(&[][..], |p| p.requires.as_slice()) {
                if chosen.insert(required) {
                    pending.push(required);
                }
            }
        }
        chosen
            .into_iter()
            .map(|id| {
                let index = usize::try_from(id).ok().and_then(|i| i.checked_sub(1));
                index
                    .and_then(|i| self.actions.get(i))
                    .map(|planned| planned.action.clone())
                    .ok_or_else(|| {
                        format!(
                            "the plan of generation {} has no action {id} (it has {})",
                            self.generation,
                            match self.actions.len() {
                                1 => "one action".to_owned(),
                                n => format!("{n} actions"),
                            }
                        )
                    })
            })
            .collect()
    }
}

impl serde::Serialize for PlannedAction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("action_id", &self.action_id)?;
        map.serialize_entry("kind", self.action.kind_name())?;
        map.serialize_entry("drift", &self.drift)?;
        if !self.requires.is_empty() {
            map.serialize_entry("requires", &self.requires)?;
        }
        match &self.action {
            ReconcileAction::Relocate { asset_id, from, to } => {
                map.serialize_entry("asset_id", asset_id)?;
                map.serialize_entry("from", from)?;
                map.serialize_entry("to", to)?;
            }
            ReconcileAction::Unregister { asset_id, root } => {
                map.serialize_entry("asset_id", asset_id)?;
                map.serialize_entry("root", root)?;
            }
            ReconcileAction::Adopt { root, asset_uuid } => {
                map.serialize_entry("root", root)?;
                map.serialize_entry("asset_uuid", asset_uuid)?;
            }
            ReconcileAction::ReassignUuid {
                root,
                asset_id,
                asset_uuid,
            } => {
                if let Some(id) = asset_id {
                    map.serialize_entry("asset_id", id)?;
                }
                map.serialize_entry("root", root)?;
                map.serialize_entry("asset_uuid", asset_uuid)?;
            }
            ReconcileAction::AcceptDeclaredUuid {
                asset_id,
                root,
                declared_uuid,
            } => {
                map.serialize_entry("asset_id", asset_id)?;
                map.serialize_entry("root", root)?;
                map.serialize_entry("declared_uuid", declared_uuid)?;
            }
        }
        map.end()
    }
}

/// The reconcile plan of `snapshot`: actions numbered from 1 in drift order (the same
/// snapshot gives the same plan in every process). A `failed` snapshot has none.
pub fn plan(snapshot: &Snapshot) -> ReconcilePlan {
    let generation = snapshot.generation();
    let mut plan = ReconcilePlan {
        plan_id: generation,
        generation,
        actions: Vec::new(),
        unresolved: Vec::new(),
    };
    let has_structural = snapshot.drifts().iter().any(Drift::is_structural);
    if !has_structural || snapshot.state() == ProjectState::Failed || snapshot.registry().is_none()
    {
        return plan;
    }
    let mut planner = Planner::new(snapshot);
    for (position, drift) in snapshot.drifts().iter().enumerate() {
        planner.drift(position, drift);
    }
    let (actions, unresolved) = planner.finish();
    for (drift, action) in actions {
        // Four billion actions are far beyond any project; stop numbering rather than wrap.
        let Ok(action_id) = u32::try_from(plan.actions.len() + 1) else {
            break;
        };
        plan.actions.push(PlannedAction {
            action_id,
            drift: drift.clone(),
            action,
            requires: Vec::new(),
        });
    }
    plan.unresolved = unresolved;
    link_requirements(snapshot, &mut plan);
    plan
}

/// Links each action that registers a registered root (a relocation into it, or the
/// folder that came after its asset left, adopted or given a fresh uuid) to the action
/// that takes that root's asset away (relocate or unregister). One whose root's asset no
/// action takes away could never apply: it becomes unresolved, with what depends on it.
fn link_requirements(snapshot: &Snapshot, plan: &mut ReconcilePlan) {
    loop {
        let leaving: FxHashMap<AssetId, u32> = plan
            .actions
            .iter()
            .filter_map(|p| match &p.action {
                ReconcileAction::Relocate { asset_id, .. }
                | ReconcileAction::Unregister { asset_id, .. } => Some((*asset_id, p.action_id)),
                _ => None,
            })
            .collect();
        let mut stuck = None;
        for planned in &mut plan.actions {
            let Some(to) = planned.action.registers() else {
                continue;
            };
            let Some(holder) = snapshot.find(&AssetQuery::Root(to.clone())) else {
                continue;
            };
            let holder = holder.entry.asset_id;
            if let ReconcileAction::Relocate { asset_id, .. } = &planned.action
                && holder == *asset_id
            {
                continue;
            }
            match leaving.get(&holder) {
                Some(&required) => planned.requires = vec![required],
                None => {
                    stuck = Some((planned.action_id, holder));
                    break;
                }
            }
        }
        let Some((action_id, holder)) = stuck else {
            return;
        };
        // Drop it and number again: actions stay numbered from 1 in drift order.
        let index = (action_id - 1) as usize;
        let removed = plan.actions.remove(index);
        if let Some(to) = removed.action.registers() {
            plan.unresolved.push(Unresolved {
                drift: removed.drift.clone(),
                reason: format!(
                    "`{to}` is still the root of asset {holder}, and no action of this plan takes asset {holder} away from it; resolve asset {holder} first, then plan again"
                ),
            });
        }
        for (i, planned) in plan.actions.iter_mut().enumerate() {
            planned.action_id = u32::try_from(i + 1).unwrap_or(u32::MAX);
            planned.requires.clear();
        }
    }
}

/// What is at a root in the snapshot.
#[derive(Clone, Copy)]
enum At<'s> {
    Registered(&'s AssetRecord),
    /// An `asset.json` the registry does not list: at an unregistered root, or at a
    /// registered root its asset left for another place (a folder that came after).
    Unregistered(&'s DeclarationState),
    Nothing,
}

/// The plan being made, drift by drift.
struct Planner<'s> {
    snapshot: &'s Snapshot,
    /// Registered assets by root and by registered uuid.
    by_root: FxHashMap<&'s str, &'s AssetRecord>,
    by_uuid: FxHashMap<Uuid, &'s AssetRecord>,
    /// Registered roots in byte order, to find the ones below a path.
    sorted_roots: Vec<(&'s str, AssetId)>,
    /// Where each moved asset now lives.
    moved_to: FxHashMap<AssetId, &'s AssetPath>,
    /// Assets the plan takes away from their registered root (moved or missing): their
    /// roots are free for another asset that moved there.
    leaving: FxHashSet<AssetId>,
    /// For each duplicated uuid, the root that keeps it (if any may).
    keepers: FxHashMap<Uuid, Option<&'s AssetPath>>,
    /// Roots some action already concerns: one action per root.
    taken: BTreeSet<&'s AssetPath>,
    /// (drift position, drift, action) in drift order.
    proposals: Vec<(usize, &'s Drift, ReconcileAction)>,
    unresolved: Vec<(usize, Unresolved)>,
}

impl<'s> Planner<'s> {
    fn new(snapshot: &'s Snapshot) -> Planner<'s> {
        let assets = snapshot.assets();
        let by_root = assets.iter().map(|a| (a.entry.root.as_str(), a)).collect();
        let by_uuid = assets.iter().map(|a| (a.entry.asset_uuid, a)).collect();
        let mut sorted_roots: Vec<(&str, AssetId)> = assets
            .iter()
            .map(|a| (a.entry.root.as_str(), a.entry.asset_id))
            .collect();
        sorted_roots.sort_unstable();
        let moved_to = snapshot
            .drifts()
            .iter()
            .filter_map(|d| match d {
                Drift::RootMoved { asset_id, to, .. } => Some((*asset_id, to)),
                _ => None,
            })
            .collect();
        let leaving = snapshot
            .drifts()
            .iter()
            .filter_map(|d| match d {
                Drift::RootMoved { asset_id, .. } | Drift::RootMissing { asset_id, .. } => {
                    Some(*asset_id)
                }
                _ => None,
            })
            .collect();
        let mut planner = Planner {
            snapshot,
            by_root,
            by_uuid,
            sorted_roots,
            moved_to,
            leaving,
            keepers: FxHashMap::default(),
            taken: BTreeSet::new(),
            proposals: Vec::new(),
            unresolved: Vec::new(),
        };
        for drift in snapshot.drifts() {
            if let Drift::DuplicateUuid {
                asset_uuid, roots, ..
            } = drift
            {
                let keeper = planner.keeper(*asset_uuid, roots);
                planner.keepers.insert(*asset_uuid, keeper);
            }
        }
        planner
    }

    fn at(&self, root: &AssetPath) -> At<'s> {
        if let Some(record) = self.by_root.get(root.as_str()) {
            return match self.vacated(root) {
                Some(_) => At::Unregistered(&record.declaration),
                None => At::Registered(record),
            };
        }
        let unregistered = self.snapshot.unregistered();
        match unregistered.binary_search_by(|f| f.root.cmp(root)) {
            Ok(i) => unregistered
                .get(i)
                .map_or(At::Nothing, |f| At::Unregistered(&f.declaration)),
            Err(_) => At::Nothing,
        }
    }

    /// The asset registered at `root` when it left it for another place and the
    /// `asset.json` there came after: no asset moved exactly there.
    fn vacated(&self, root: &AssetPath) -> Option<AssetId> {
        let record = self.by_root.get(root.as_str())?;
        let id = record.entry.asset_id;
        let left = self.moved_to.contains_key(&id) && self.leaving.contains(&id);
        let arrived = self.moved_to.values().any(|to| *to == root);
        let found = !matches!(record.declaration, DeclarationState::Missing);
        (left && found && !arrived).then_some(id)
    }

    /// A registered root (other than `except`'s, and other than the one of the asset
    /// that left `root` itself) that `root` would nest with, as the reason it cannot be
    /// registered.
    fn nesting(&self, root: &AssetPath, except: Option<AssetId>) -> Option<String> {
        let vacated = self.vacated(root);
        self.nesting_unless(root, |id| Some(id) == except || Some(id) == vacated)
    }

    /// [`nesting`](Self::nesting), leaving out the registered roots of the assets for
    /// which `ignored` holds.
    fn nesting_unless(
        &self,
        root: &AssetPath,
        ignored: impl Fn(AssetId) -> bool,
    ) -> Option<String> {
        let text = root.as_str();
        let above = text
            .match_indices('/')
            .map(|(i, _)| &text[..i])
            .chain([text])
            .filter_map(|prefix| self.by_root.get(prefix))
            .map(|record| (record.entry.root.as_str(), record.entry.asset_id));
        let prefix = format!("{text}/");
        let start = self
            .sorted_roots
            .partition_point(|(r, _)| *r < prefix.as_str());
        let below = self.sorted_roots[start..]
            .iter()
            .take_while(|(r, _)| r.starts_with(&prefix))
            .copied();
        above
            .chain(below)
            .find(|(_, id)| !ignored(*id))
            .map(|(other, id)| {
                format!(
                    "`{root}` and `{other}`, the root of asset {id}, would be nested (asset roots may not contain one another); move one of the folders, then plan again"
                )
            })
    }

    /// Which of the roots declaring the duplicated `uuid` keeps it; the others get a
    /// fresh one. The registered owner's root when it declares the uuid; for an owner
    /// whose root is gone, the folder it moved to (or, among several copies, the one
    /// that kept its folder name, else the first); for a uuid no one registered, the
    /// first registered root declaring it, else the first adoptable copy.
    fn keeper(&self, uuid: Uuid, roots: &'s [AssetPath]) -> Option<&'s AssetPath> {
        if let Some(owner) = self.by_uuid.get(&uuid) {
            if let Some(to) = self.moved_to.get(&owner.entry.asset_id) {
                return Some(to);
            }
            return match &owner.declaration {
                DeclarationState::Missing => {
                    // Copies in unregistered folders; not one at a root another asset
                    // left, which only a relocation of that asset can free.
                    let candidates: Vec<&AssetPath> = roots
                        .iter()
                        .filter(|r| matches!(self.at(r), At::Unregistered(_)))
                        .filter(|r| self.vacated(r).is_none())
                        .filter(|r| self.nesting(r, Some(owner.entry.asset_id)).is_none())
                        .collect();
                    let name = owner.entry.root.file_name();
                    candidates
                        .iter()
                        .find(|r| r.file_name() == name)
                        .or_else(|| candidates.first())
                        .copied()
                }
                declared if declared.asset_uuid() == Some(uuid) => Some(&owner.entry.root),
                _ => None,
            };
        }
        roots
            .iter()
            .find(|r| matches!(self.at(r), At::Registered(_)))
            .or_else(|| {
                roots.iter().find(|r| match self.at(r) {
                    At::Unregistered(declaration) => {
                        matches!(declaration, DeclarationState::Valid(_))
                            && self.nesting(r, None).is_none()
                    }
                    _ => false,
                })
            })
    }

    fn offer(
        &mut self,
        position: usize,
        drift: &'s Drift,
        root: &'s AssetPath,
        action: ReconcileAction,
    ) {
        self.taken.insert(root);
        self.proposals.push((position, drift, action));
    }

    fn refuse(&mut self, position: usize, drift: &Drift, reason: String) {
        self.unresolved.push((
            position,
            Unresolved {
                drift: drift.clone(),
                reason,
            },
        ));
    }

    fn drift(&mut self, position: usize, drift: &'s Drift) {
        match drift {
            Drift::RootMissing { asset_id, root } => {
                // An `asset.json` whose uuid cannot be read may be this asset, moved and
                // broken on the way: unregistering now would lose its id for good.
                if let Some(unreadable) = self.unreadable_loose() {
                    let reason = format!(
                        "`{unreadable}/asset.json` cannot be read, so it cannot be told whether it is asset {asset_id} moved there; fix it (see `prometeu-packer doctor`), then plan again"
                    );
                    return self.refuse(position, drift, reason);
                }
                // Unregistering registers nothing at the root: another asset that moved
                // there may still be relocated to it.
                self.proposals.push((
                    position,
                    drift,
                    ReconcileAction::Unregister {
                        asset_id: *asset_id,
                        root: root.clone(),
                    },
                ));
            }
            Drift::RootMoved { asset_id, from, to } => {
                self.relocate(position, drift, *asset_id, from, to);
            }
            Drift::UnregisteredAsset { root, asset_uuid } => {
                self.unregistered(position, drift, root, *asset_uuid);
            }
            Drift::DuplicateUuid {
                asset_id,
                asset_uuid,
                roots,
            } => self.duplicate(position, drift, *asset_id, *asset_uuid, roots),
            Drift::UuidMismatch {
                asset_id,
                root,
                declared_uuid,
                ..
            } => self.mismatch(position, drift, *asset_id, root, *declared_uuid),
            Drift::DeclarationChanged { .. }
            | Drift::InputChanged { .. }
            | Drift::RegistryChanged
            | Drift::DeclarationInvalid { .. }
            | Drift::RegistryInvalid { .. }
            | Drift::InputMissing { .. } => {}
        }
    }

    fn relocate(
        &mut self,
        position: usize,
        drift: &'s Drift,
        asset_id: AssetId,
        from: &AssetPath,
        to: &'s AssetPath,
    ) {
        if self.taken.contains(to) {
            return;
        }
        // The root of an asset that leaves it (a chain of moves, a swap) is free once
        // that asset's own action is applied with this one.
        let holder = self.by_root.get(to.as_str()).map(|r| r.entry.asset_id);
        let ignored =
            |id: AssetId| id == asset_id || (Some(id) == holder && self.leaving.contains(&id));
        match self.nesting_unless(to, ignored) {
            Some(reason) => self.refuse(position, drift, reason),
            None => self.offer(
                position,
                drift,
                to,
                ReconcileAction::Relocate {
                    asset_id,
                    from: from.clone(),
                    to: to.clone(),
                },
            ),
        }
    }

    /// An unregistered copy gets adopted when its uuid is free, else a fresh uuid.
    fn unregistered(
        &mut self,
        position: usize,
        drift: &'s Drift,
        root: &'s AssetPath,
        asset_uuid: Option<Uuid>,
    ) {
        if self.taken.contains(root) {
            return;
        }
        let Some(uuid) = asset_uuid else {
            let reason = format!(
                "`{root}/asset.json` cannot be read as a declaration (no uuid could be read); fix it (see `prometeu-packer doctor`), then plan again"
            );
            return self.refuse(position, drift, reason);
        };
        if let Err(reason) = self.adoptable(root) {
            return self.refuse(position, drift, reason);
        }
        let action = if self.by_uuid.contains_key(&uuid) {
            ReconcileAction::ReassignUuid {
                root: root.clone(),
                asset_id: None,
                asset_uuid: uuid,
            }
        } else {
            ReconcileAction::Adopt {
                root: root.clone(),
                asset_uuid: uuid,
            }
        };
        self.offer(position, drift, root, action);
    }

    /// The first unregistered folder whose `asset.json` has no readable uuid.
    fn unreadable_loose(&self) -> Option<&'s AssetPath> {
        self.snapshot
            .unregistered()
            .iter()
            .find(|f| f.declaration.asset_uuid().is_none())
            .map(|f| &f.root)
    }

    /// Whether the unregistered `asset.json` at `root` may be registered.
    fn adoptable(&self, root: &AssetPath) -> Result<(), String> {
        match self.at(root) {
            At::Unregistered(DeclarationState::Valid(_)) => {
                self.nesting(root, None).map_or(Ok(()), Err)
            }
            _ => Err(format!(
                "`{root}/asset.json` is not valid, so it can be neither registered nor given a fresh uuid; fix it (see `prometeu-packer doctor`), then plan again"
            )),
        }
    }

    fn duplicate(
        &mut self,
        position: usize,
        drift: &'s Drift,
        owner: Option<AssetId>,
        uuid: Uuid,
        roots: &'s [AssetPath],
    ) {
        let keeper = self.keepers.get(&uuid).copied().flatten();
        if let Some(keeper) = keeper
            && !self.taken.contains(keeper)
            && let At::Unregistered(_) = self.at(keeper)
        {
            // A registered keeper keeps its uuid as it is (or accepts it, from its own
            // `uuid_mismatch`); a moved owner's folder is relocated by `root_moved`.
            let owner_record = owner.and_then(|id| self.snapshot.asset(id));
            match owner_record {
                Some(record) if !self.moved_to.contains_key(&record.entry.asset_id) => self.offer(
                    position,
                    drift,
                    keeper,
                    ReconcileAction::Relocate {
                        asset_id: record.entry.asset_id,
                        from: record.entry.root.clone(),
                        to: keeper.clone(),
                    },
                ),
                Some(_) => {}
                None => self.offer(
                    position,
                    drift,
                    keeper,
                    ReconcileAction::Adopt {
                        root: keeper.clone(),
                        asset_uuid: uuid,
                    },
                ),
            }
        }
        for root in roots {
            if Some(root) == keeper || self.taken.contains(root) {
                continue;
            }
            match self.at(root) {
                At::Registered(record) => self.reassign_registered(position, drift, record, uuid),
                At::Unregistered(_) => match self.adoptable(root) {
                    Ok(()) => self.offer(
                        position,
                        drift,
                        root,
                        ReconcileAction::ReassignUuid {
                            root: root.clone(),
                            asset_id: None,
                            asset_uuid: uuid,
                        },
                    ),
                    Err(reason) => self.refuse(position, drift, reason),
                },
                At::Nothing => {}
            }
        }
    }

    fn mismatch(
        &mut self,
        position: usize,
        drift: &'s Drift,
        asset_id: AssetId,
        root: &'s AssetPath,
        declared: Uuid,
    ) {
        if self.taken.contains(root) {
            return;
        }
        if self.by_uuid.contains_key(&declared) {
            // The file carries another asset's uuid: accepting it would register that
            // uuid twice.
            if let Some(record) = self.snapshot.asset(asset_id) {
                self.reassign_registered(position, drift, record, declared);
            }
            return;
        }
        match self.keepers.get(&declared) {
            // Another root keeps the duplicated uuid: its `duplicate_uuid` gives this
            // one a fresh uuid.
            Some(keeper) if *keeper != Some(root) => {}
            // Declared here only, or here first among its copies.
            None | Some(_) => self.offer(
                position,
                drift,
                root,
                ReconcileAction::AcceptDeclaredUuid {
                    asset_id,
                    root: root.clone(),
                    declared_uuid: declared,
                },
            ),
        }
    }

    fn reassign_registered(
        &mut self,
        position: usize,
        drift: &'s Drift,
        record: &'s AssetRecord,
        uuid: Uuid,
    ) {
        let root = &record.entry.root;
        if self.taken.contains(root) {
            return;
        }
        if matches!(record.declaration, DeclarationState::Valid(_)) {
            self.offer(
                position,
                drift,
                root,
                ReconcileAction::ReassignUuid {
                    root: root.clone(),
                    asset_id: Some(record.entry.asset_id),
                    asset_uuid: uuid,
                },
            );
        } else {
            let reason = format!(
                "`{root}/asset.json` of asset {} carries the uuid {uuid} that another asset or folder has, but it is not valid, so a fresh uuid cannot be written into it; fix it (see `prometeu-packer doctor`), then plan again",
                record.entry.asset_id
            );
            self.refuse(position, drift, reason);
        }
    }

    /// Drops the actions that would register roots nesting with each other (each is
    /// fine alone, not together) and gives back the rest, and what is unresolved, in
    /// drift order.
    fn finish(mut self) -> (Vec<(&'s Drift, ReconcileAction)>, Vec<Unresolved>) {
        let registering: BTreeMap<&str, usize> = self
            .proposals
            .iter()
            .enumerate()
            .filter_map(|(i, (_, _, action))| Some((action.registers()?.as_str(), i)))
            .collect();
        let mut dropped: BTreeMap<usize, String> = BTreeMap::new();
        for (&root, &i) in &registering {
            for (cut, _) in root.match_indices('/') {
                let above = &root[..cut];
                if let Some(&j) = registering.get(above) {
                    let reason = format!(
                        "`{root}` and `{above}` would both be registered, but asset roots may not contain one another; move one of the folders, then plan again"
                    );
                    dropped.insert(i, reason.clone());
                    dropped.insert(j, reason);
                }
            }
        }
        let mut actions = Vec::with_capacity(self.proposals.len());
        for (i, (position, drift, action)) in self.proposals.into_iter().enumerate() {
            match dropped.remove(&i) {
                Some(reason) => self.unresolved.push((
                    position,
                    Unresolved {
                        drift: drift.clone(),
                        reason,
                    },
                )),
                None => actions.push((drift, action)),
            }
        }
        // Stable: the reasons of one drift stay in the order they were found.
        self.unresolved.sort_by_key(|(position, _)| *position);
        (
            actions,
            self.unresolved.into_iter().map(|(_, u)| u).collect(),
        )
    }
}
