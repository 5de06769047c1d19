//! Reconcile plans (SPEC §3.4): the actions that resolve structural drift, computed as a
//! pure function of a snapshot. Applying chosen actions is `Command::Reconcile` on the
//! writer lane; this module only decides what may be offered.
//!
//! Every offered action can be applied on its own, and all of them together: an action
//! is offered only when it is valid against the snapshot's registry as it is, and no two
//! actions touch the same root, register the same uuid or register roots that nest.
//! What cannot be offered that way is listed as unresolved, with the reason, so a person
//! knows what to fix by hand.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::ser::SerializeMap;
use uuid::Uuid;

use crate::drift::Drift;
use crate::path::AssetPath;
use crate::registry::AssetId;
use crate::snapshot::{ProjectState, Snapshot};

mod planner;

use planner::Planner;

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

    /// Whether this action registers a new asset, under an id of its own.
    fn issues_id(&self) -> bool {
        matches!(
            self,
            ReconcileAction::Adopt { .. } | ReconcileAction::ReassignUuid { asset_id: None, .. }
        )
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
    /// Shared by the actions of one drift: the copies of a folder copied a thousand
    /// times are a thousand actions of one drift that names every copy.
    pub drift: Arc<Drift>,
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
    /// The other actions applied whenever `action_id` is chosen: those it requires, and
    /// those they require in turn, in plan order.
    pub fn applied_with(&self, action_id: u32) -> Vec<u32> {
        let mut ids = BTreeSet::from([action_id]);
        self.with_requirements(&mut ids);
        ids.remove(&action_id);
        ids.into_iter().collect()
    }

    /// The first `limit` of [`applied_with`](Self::applied_with), those fewest steps
    /// away first, in plan order, and whether there are more. Listing them all beside
    /// each action of a chain of ten thousand moves would be fifty million numbers.
    pub fn applied_with_first(&self, action_id: u32, limit: usize) -> (Vec<u32>, bool) {
        let mut seen = BTreeSet::from([action_id]);
        let mut pending = VecDeque::from([action_id]);
        let mut found = Vec::new();
        let mut more = false;
        'walk: while let Some(id) = pending.pop_front() {
            for &required in self.requires_of(id) {
                if seen.insert(required) {
                    if found.len() == limit {
                        more = true;
                        break 'walk;
                    }
                    found.push(required);
                    pending.push_back(required);
                }
            }
        }
        found.sort_unstable();
        (found, more)
    }

    /// The actions `action_id` requires directly.
    fn requires_of(&self, action_id: u32) -> &[u32] {
        usize::try_from(action_id)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| self.actions.get(i))
            .map_or(&[][..], |p| p.requires.as_slice())
    }

    /// Adds to `ids` every action they require, and so on.
    fn with_requirements(&self, ids: &mut BTreeSet<u32>) {
        let mut pending: Vec<u32> = ids.iter().copied().collect();
        while let Some(id) = pending.pop() {
            for &required in self.requires_of(id) {
                if ids.insert(required) {
                    pending.push(required);
                }
            }
        }
    }

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
        self.with_requirements(&mut chosen);
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
        map.serialize_entry("drift", self.drift.as_ref())?;
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
    // The actions of one drift come one after the other: each shares the drift's copy.
    let mut last: Option<(&Drift, Arc<Drift>)> = None;
    for (drift, action) in actions {
        // Four billion actions are far beyond any project; stop numbering rather than wrap.
        let Ok(action_id) = u32::try_from(plan.actions.len() + 1) else {
            break;
        };
        let shared = match &last {
            Some((of, shared)) if std::ptr::eq(*of, drift) => Arc::clone(shared),
            _ => Arc::new(drift.clone()),
        };
        last = Some((drift, Arc::clone(&shared)));
        plan.actions.push(PlannedAction {
            action_id,
            drift: shared,
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
    // The registered asset at each root an action registers, found in one pass.
    let registering: FxHashSet<&AssetPath> = plan
        .actions
        .iter()
        .filter_map(|p| p.action.registers())
        .collect();
    if registering.is_empty() {
        return;
    }
    let holders: FxHashMap<AssetPath, AssetId> = snapshot
        .assets()
        .iter()
        .filter(|a| registering.contains(&a.entry.root))
        .map(|a| (a.entry.root.clone(), a.entry.asset_id))
        .collect();
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
            let Some(&holder) = holders.get(to) else {
                continue;
            };
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
                drift: Drift::clone(&removed.drift),
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
