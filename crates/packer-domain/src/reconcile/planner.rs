//! The planner behind [`plan`](super::plan): drift by drift, the action each structural
//! drift gets, or why it gets none, keeping every offered action valid on its own and
//! beside the others.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::{FxHashMap, FxHashSet};
use uuid::Uuid;

use super::{ReconcileAction, Unresolved};
use crate::drift::Drift;
use crate::path::AssetPath;
use crate::registry::{AssetId, MAX_ASSET_ID};
use crate::snapshot::{AssetQuery, AssetRecord, DeclarationState, Snapshot};

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
pub(super) struct Planner<'s> {
    snapshot: &'s Snapshot,
    /// Registered roots in byte order, to find the ones below a path.
    sorted_roots: Vec<(&'s str, AssetId)>,
    /// Where each moved asset now lives.
    moved_to: FxHashMap<AssetId, &'s AssetPath>,
    /// Assets the plan takes away from their registered root (moved or missing): their
    /// roots are free for another asset that moved there.
    leaving: FxHashSet<AssetId>,
    /// For each duplicated uuid, the root that keeps it (if any may).
    keepers: FxHashMap<Uuid, Option<&'s AssetPath>>,
    /// The first unregistered folder whose `asset.json` has no readable uuid.
    unreadable_loose: Option<&'s AssetPath>,
    /// Roots some action already concerns: one action per root.
    taken: BTreeSet<&'s AssetPath>,
    /// (drift position, drift, action) in drift order.
    proposals: Vec<(usize, &'s Drift, ReconcileAction)>,
    unresolved: Vec<(usize, Unresolved)>,
}

impl<'s> Planner<'s> {
    pub(super) fn new(snapshot: &'s Snapshot) -> Planner<'s> {
        let assets = snapshot.assets();
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
            sorted_roots,
            moved_to,
            leaving,
            unreadable_loose: snapshot
                .unregistered()
                .iter()
                .find(|f| f.declaration.asset_uuid().is_none())
                .map(|f| &f.root),
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

    /// The asset registered with `uuid`.
    fn registered_with(&self, uuid: Uuid) -> Option<&'s AssetRecord> {
        self.snapshot.find(&AssetQuery::Uuid(uuid))
    }

    fn at(&self, root: &AssetPath) -> At<'s> {
        if let Some(record) = self.snapshot.registered_at(root.as_str()) {
            return match self.vacated(root) {
                Some(_) => At::Unregistered(&record.declaration),
                None => At::Registered(record),
            };
        }
        self.snapshot
            .unregistered_at(root)
            .map_or(At::Nothing, |f| At::Unregistered(&f.declaration))
    }

    /// The asset registered at `root` when it left it for another place and the
    /// `asset.json` there came after: no asset moved exactly there.
    fn vacated(&self, root: &AssetPath) -> Option<AssetId> {
        let record = self.snapshot.registered_at(root.as_str())?;
        let id = record.entry.asset_id;
        let left = self.moved_to.contains_key(&id);
        let found = !matches!(record.declaration, DeclarationState::Missing);
        // Looked for only among the few moves, and only for a root that was left.
        let arrived = || self.moved_to.values().any(|to| *to == root);
        (left && found && !arrived()).then_some(id)
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
        let above = root
            .at_and_above()
            .filter_map(|prefix| self.snapshot.registered_at(prefix))
            .map(|record| (record.entry.root.as_str(), record.entry.asset_id));
        let below = root
            .below_in(&self.sorted_roots, |(r, _)| r)
            .iter()
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
        if let Some(owner) = self.registered_with(uuid) {
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
        // A folder found deeper than a registered root may be: registering it would write
        // a registry that no packer can read again.
        if let Some(to) = action.registers()
            && let Err(error) = AssetPath::new(to.as_str())
        {
            let reason = format!(
                "`{to}` cannot be registered: {error}; move the folder higher up, then plan again"
            );
            return self.refuse(position, drift, reason);
        }
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

    pub(super) fn drift(&mut self, position: usize, drift: &'s Drift) {
        match drift {
            Drift::RootMissing { asset_id, root } => {
                // An `asset.json` whose uuid cannot be read may be this asset, moved and
                // broken on the way: unregistering now would lose its id for good.
                if let Some(unreadable) = self.unreadable_loose {
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
        let holder = self
            .snapshot
            .registered_at(to.as_str())
            .map(|r| r.entry.asset_id);
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
        if let Some(reason) = self.owner_unreadable(root, uuid) {
            return self.refuse(position, drift, reason);
        }
        let action = if self.registered_with(uuid).is_some() {
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

    /// Why no fresh uuid may be written into the `asset.json` at `root`, which carries
    /// `uuid`: the asset registered with that uuid stays at its own root, but the
    /// `asset.json` there has no readable uuid, so it may be that asset that moved to
    /// `root` (a swap broken on the way) and a fresh uuid would wipe its own for good.
    fn owner_unreadable(&self, root: &AssetPath, uuid: Uuid) -> Option<String> {
        let owner = self.registered_with(uuid)?;
        let id = owner.entry.asset_id;
        let unreadable = !matches!(owner.declaration, DeclarationState::Missing)
            && owner.declaration.asset_uuid().is_none();
        (unreadable && owner.entry.root != *root && !self.moved_to.contains_key(&id)).then(|| {
            format!(
                "`{}/asset.json` of asset {id} cannot be read, so it cannot be told whether `{root}` is asset {id} moved there or a copy of it; fix it (see `prometeu-packer doctor`), then plan again",
                owner.entry.root
            )
        })
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
                At::Unregistered(_) => match self
                    .adoptable(root)
                    .and_then(|()| self.owner_unreadable(root, uuid).map_or(Ok(()), Err))
                {
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
        if self.registered_with(declared).is_some() {
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
        if let Some(reason) = self.owner_unreadable(root, uuid) {
            return self.refuse(position, drift, reason);
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
    pub(super) fn finish(mut self) -> (Vec<(&'s Drift, ReconcileAction)>, Vec<Unresolved>) {
        let registering: BTreeMap<&str, (usize, &AssetPath)> = self
            .proposals
            .iter()
            .enumerate()
            .filter_map(|(i, (_, _, action))| {
                let root = action.registers()?;
                Some((root.as_str(), (i, root)))
            })
            .collect();
        let mut dropped: BTreeMap<usize, String> = BTreeMap::new();
        for &(i, root) in registering.values() {
            for above in root.ancestors() {
                if let Some(&(j, _)) = registering.get(above) {
                    let reason = format!(
                        "`{root}` and `{above}` would both be registered, but asset roots may not contain one another; move one of the folders, then plan again"
                    );
                    dropped.insert(i, reason.clone());
                    dropped.insert(j, reason);
                }
            }
        }
        // Every action must apply together with the others: when the ids left cannot
        // serve every new asset, none is offered.
        let left = self
            .snapshot
            .registry()
            .map_or(0, |r| (MAX_ASSET_ID + 1).saturating_sub(r.next_asset_id()));
        let wanted: Vec<usize> = (0..self.proposals.len())
            .filter(|i| !dropped.contains_key(i) && self.proposals[*i].2.issues_id())
            .collect();
        if wanted.len() as u64 > left {
            let reason = format!(
                "the registry is running out of asset ids: {} new assets would each need one, and {left} {} left ({MAX_ASSET_ID} is the last)",
                wanted.len(),
                if left == 1 { "is" } else { "are" }
            );
            for i in wanted {
                dropped.insert(i, reason.clone());
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
