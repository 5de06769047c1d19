//! Planning `Command::Reconcile`: the chosen actions of a reconcile plan become changes
//! of one draft, each with the precondition of what it was decided on.

use rustc_hash::FxHashSet;
use uuid::Uuid;

use super::{Draft, Expected, Refusal};
use crate::path::AssetPath;
use crate::reconcile::{self, ReconcileAction};
use crate::registry::{AssetId, RegistryEntry};
use crate::snapshot::{AssetRecord, DeclarationState};

impl<'s> Draft<'s> {
    /// Applies `actions` in order. Each must be offered by the snapshot's own plan: what
    /// the plan would not offer (a drift that is gone, an action made up by a client)
    /// no longer makes sense against this snapshot.
    pub(super) fn reconcile(
        &mut self,
        actions: &[ReconcileAction],
        new_uuid: &mut dyn FnMut() -> Uuid,
    ) -> Result<(), Refusal> {
        if actions.is_empty() {
            return Err(Refusal::Invalid(
                "no reconcile action was chosen".to_owned(),
            ));
        }
        let plan = reconcile::plan(self.snapshot);
        let offered: FxHashSet<&ReconcileAction> = plan.actions.iter().map(|p| &p.action).collect();
        // Assets these actions take away from their roots: another asset may be
        // relocated to such a root in the same commit (a chain of moves, a swap).
        let leaving: FxHashSet<AssetId> = actions
            .iter()
            .filter_map(|action| match action {
                ReconcileAction::Relocate { asset_id, .. }
                | ReconcileAction::Unregister { asset_id, .. } => Some(*asset_id),
                _ => None,
            })
            .collect();
        let mut seen: FxHashSet<&ReconcileAction> = FxHashSet::default();
        for action in actions {
            if !seen.insert(action) {
                return Err(Refusal::Invalid(format!("`{action}` is chosen twice")));
            }
            if !offered.contains(action) {
                return Err(Refusal::Invalid(format!(
                    "`{action}` is not an action of the reconcile plan of generation {}; ask for a new plan",
                    self.snapshot.generation()
                )));
            }
            self.reconcile_one(action, &leaving, new_uuid)?;
        }
        // Reconcile may register several assets; none is "the" asset of the write.
        self.created = None;
        Ok(())
    }

    fn reconcile_one(
        &mut self,
        action: &ReconcileAction,
        leaving: &FxHashSet<AssetId>,
        new_uuid: &mut dyn FnMut() -> Uuid,
    ) -> Result<(), Refusal> {
        match action {
            ReconcileAction::Relocate { asset_id, from, to } => {
                self.relocate(*asset_id, from, to, leaving)
            }
            ReconcileAction::Unregister { asset_id, root } => self.unregister(*asset_id, root),
            ReconcileAction::Adopt { root, asset_uuid } => {
                let found = self.unregistered(root, leaving)?;
                if found.asset_uuid() != Some(*asset_uuid) {
                    return Err(Refusal::Invalid(format!(
                        "`{root}/asset.json` does not carry the uuid {asset_uuid}"
                    )));
                }
                self.adopt_found(root, leaving)
            }
            ReconcileAction::ReassignUuid {
                root,
                asset_id: None,
                asset_uuid,
            } => self.reassign_copy(root, *asset_uuid, new_uuid(), leaving),
            ReconcileAction::ReassignUuid {
                root,
                asset_id: Some(id),
                asset_uuid,
            } => self.reassign_registered(*id, root, *asset_uuid, new_uuid()),
            ReconcileAction::AcceptDeclaredUuid {
                asset_id,
                root,
                declared_uuid,
            } => self.accept_declared(*asset_id, root, *declared_uuid),
        }
    }

    /// The entry of `id`, which must be registered at `root`.
    fn entry_at(&self, id: AssetId, root: &AssetPath) -> Result<&RegistryEntry, Refusal> {
        self.entries
            .get(&id)
            .filter(|e| e.root == *root)
            .ok_or_else(|| Refusal::Invalid(format!("asset {id} is not registered at `{root}`")))
    }

    /// The asset the snapshot has registered at `root` (every action of a plan asks;
    /// the snapshot finds it by a map it makes once).
    fn registered_at(&self, root: &AssetPath) -> Option<&'s AssetRecord> {
        self.snapshot.registered_at(root.as_str())
    }

    /// The `asset.json` at `root` that the registry does not list: at an unregistered
    /// root, or at the root of an asset these actions take away (the folder that came
    /// after it left).
    fn unregistered(
        &self,
        root: &AssetPath,
        leaving: &FxHashSet<AssetId>,
    ) -> Result<&DeclarationState, Refusal> {
        let found = self.snapshot.unregistered_at(root).map(|f| &f.declaration);
        let vacated = || {
            self.registered_at(root)
                .filter(|r| leaving.contains(&r.entry.asset_id))
                .map(|r| &r.declaration)
                .filter(|d| !matches!(d, DeclarationState::Missing))
        };
        found
            .or_else(vacated)
            .ok_or_else(|| Refusal::Invalid(format!("`{root}` holds no unregistered asset.json")))
    }

    /// Refuses `root` if it is (or nests with) a registered root, other than that of the
    /// asset these actions take away from it.
    fn check_loose_root(
        &self,
        root: &AssetPath,
        leaving: &FxHashSet<AssetId>,
    ) -> Result<(), Refusal> {
        let holder = self
            .registered_at(root)
            .map(|r| r.entry.asset_id)
            .filter(|id| leaving.contains(id));
        self.check_free_root_unless(root, |id| Some(id) == holder)
    }

    /// Registers the valid unregistered `asset.json` at `root`, keeping its uuid.
    fn adopt_found(
        &mut self,
        root: &AssetPath,
        leaving: &FxHashSet<AssetId>,
    ) -> Result<(), Refusal> {
        let (declaration, hash) = match self.unregistered(root, leaving)? {
            DeclarationState::Valid(valid) => (valid.declaration.clone(), valid.stamp.hash),
            _ => {
                return Err(Refusal::Invalid(format!(
                    "`{root}/asset.json` is not valid; fix it first (see `prometeu-packer doctor`)"
                )));
            }
        };
        self.check_loose_root(root, leaving)?;
        self.check_uuid_free(root, declaration.asset_uuid)?;
        self.register_found(root, declaration, hash)?;
        self.verifies.insert(root.clone(), hash);
        Ok(())
    }

    /// A fresh uuid that no asset has and no unregistered `asset.json` carries.
    fn fresh(&self, uuid: Uuid) -> Result<Uuid, Refusal> {
        let used = self.entries.with_uuid(uuid).is_some()
            || self
                .snapshot
                .unregistered()
                .iter()
                .any(|f| f.declaration.asset_uuid() == Some(uuid));
        if used {
            return Err(Refusal::Invalid(
                "the fresh uuid is already in use; try again".to_owned(),
            ));
        }
        Ok(uuid)
    }

    fn relocate(
        &mut self,
        id: AssetId,
        from: &AssetPath,
        to: &AssetPath,
        leaving: &FxHashSet<AssetId>,
    ) -> Result<(), Refusal> {
        let uuid = self.entry_at(id, from)?.asset_uuid;
        // The folder it moved to is unregistered, or the root another asset left.
        let state = match self.unregistered(to, &FxHashSet::default()) {
            Ok(found) => found,
            Err(refusal) => match self.registered_at(to) {
                Some(record) if record.entry.asset_id != id => &record.declaration,
                _ => return Err(refusal),
            },
        };
        let hash = match (state.asset_uuid(), state.stamp()) {
            (Some(declared), Some(stamp)) if declared == uuid => stamp.hash,
            _ => {
                return Err(Refusal::Invalid(format!(
                    "`{to}/asset.json` does not carry the uuid {uuid} of asset {id}"
                )));
            }
        };
        let declaration = state.declaration().cloned();
        if let Some(holder) = self
            .entries
            .at_root(to)
            .into_iter()
            .find(|e| e.asset_id != id && !leaving.contains(&e.asset_id))
        {
            return Err(Refusal::Invalid(format!(
                "`{to}` is still the root of asset {}; apply the action that relocates or unregisters asset {} in the same commit",
                holder.asset_id, holder.asset_id
            )));
        }
        self.check_free_root_unless(to, |other| other == id || leaving.contains(&other))?;
        // What is left at the old root: nothing, or the file of the asset that moved
        // there, which stays as it is.
        self.keep_or_absent(id, from);
        self.verifies.insert(to.clone(), hash);
        self.entries.update(&id, |e| e.root = to.clone());
        self.record(id, declaration, Some(hash));
        Ok(())
    }

    /// Requires the root `id` leaves to stay as the snapshot saw it: without an
    /// `asset.json`, or with the one another asset brought there.
    fn keep_or_absent(&mut self, id: AssetId, root: &AssetPath) {
        if self.writes.contains_key(root) {
            // A fresh uuid is written into the folder that came after: the write checks it.
            return;
        }
        match self.snapshot.asset(id).and_then(|a| a.declaration.stamp()) {
            Some(stamp) => {
                self.verifies.insert(root.clone(), stamp.hash);
            }
            None => {
                self.absent.insert(root.clone());
            }
        }
    }

    fn unregister(&mut self, id: AssetId, root: &AssetPath) -> Result<(), Refusal> {
        let uuid = self.entry_at(id, root)?.asset_uuid;
        // Gone, or taken over by another asset's folder: either way not its own.
        let own = self
            .snapshot
            .asset(id)
            .is_some_and(|a| match &a.declaration {
                DeclarationState::Missing => false,
                state => state.asset_uuid().is_none_or(|declared| declared == uuid),
            });
        if own {
            return Err(Refusal::Invalid(format!(
                "asset {id} still has an asset.json at `{root}`; it is not gone"
            )));
        }
        self.entries.remove(&id);
        self.keep_or_absent(id, root);
        self.declarations.insert(id, None);
        self.changed.push(id);
        Ok(())
    }

    /// An unregistered copy gets the fresh uuid written into it and is registered.
    fn reassign_copy(
        &mut self,
        root: &AssetPath,
        copied: Uuid,
        uuid: Uuid,
        leaving: &FxHashSet<AssetId>,
    ) -> Result<(), Refusal> {
        let (mut declaration, hash) = match self.unregistered(root, leaving)? {
            DeclarationState::Valid(valid) if valid.declaration.asset_uuid == copied => {
                (valid.declaration.clone(), valid.stamp.hash)
            }
            _ => {
                return Err(Refusal::Invalid(format!(
                    "`{root}/asset.json` is not a valid declaration carrying the uuid {copied}"
                )));
            }
        };
        self.check_loose_root(root, leaving)?;
        declaration.asset_uuid = self.fresh(uuid)?;
        self.verifies.remove(root);
        self.writes.insert(
            root.clone(),
            (declaration.to_bytes(), Expected::Content(hash)),
        );
        self.register_found(root, declaration, hash)?;
        Ok(())
    }

    /// A registered asset whose file carries another's uuid gets the fresh uuid written
    /// into it and recorded in its entry; it keeps its id.
    fn reassign_registered(
        &mut self,
        id: AssetId,
        root: &AssetPath,
        copied: Uuid,
        uuid: Uuid,
    ) -> Result<(), Refusal> {
        self.entry_at(id, root)?;
        let record = self.snapshot.asset(id);
        let (mut declaration, hash) = match record.map(|r| &r.declaration) {
            Some(DeclarationState::Valid(valid)) if valid.declaration.asset_uuid == copied => {
                (valid.declaration.clone(), valid.stamp.hash)
            }
            _ => {
                return Err(Refusal::Invalid(format!(
                    "`{root}/asset.json` of asset {id} is not a valid declaration carrying the uuid {copied}"
                )));
            }
        };
        declaration.asset_uuid = self.fresh(uuid)?;
        self.writes.insert(
            root.clone(),
            (declaration.to_bytes(), Expected::Content(hash)),
        );
        self.entries
            .update(&id, |e| e.asset_uuid = declaration.asset_uuid);
        self.record(id, Some(declaration), Some(hash));
        Ok(())
    }

    fn accept_declared(
        &mut self,
        id: AssetId,
        root: &AssetPath,
        declared: Uuid,
    ) -> Result<(), Refusal> {
        self.entry_at(id, root)?;
        let state = self.snapshot.asset(id).map(|r| &r.declaration);
        let hash = match state.and_then(|s| Some((s.asset_uuid()?, s.stamp()?))) {
            Some((uuid, stamp)) if uuid == declared => stamp.hash,
            _ => {
                return Err(Refusal::Invalid(format!(
                    "`{root}/asset.json` of asset {id} does not carry the uuid {declared}"
                )));
            }
        };
        if let Some(owner) = self.entries.with_uuid(declared) {
            return Err(Refusal::Invalid(format!(
                "the uuid {declared} already belongs to asset {} at `{}`",
                owner.asset_id, owner.root
            )));
        }
        self.verifies.insert(root.clone(), hash);
        self.entries.update(&id, |e| e.asset_uuid = declared);
        self.changed.push(id);
        Ok(())
    }
}
