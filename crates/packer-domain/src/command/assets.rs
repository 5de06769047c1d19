//! The single-asset commands on a draft: `create_asset`, `adopt_asset`, `move_asset`,
//! `remove_asset` and `update_declaration`, each checked against the draft (so a batch
//! sees its earlier commands) and recorded as the file changes its commit will make.

use uuid::Uuid;

use super::{CreateAsset, DeclarationChanges, Draft, DraftDeclaration, Expected, Refusal};
use crate::declaration::{AssetKind, Declaration, OutputOptions, check_name};
use crate::path::AssetPath;
use crate::registry::RegistryEntry;
use crate::snapshot::{AssetQuery, DeclarationState, MAX_DECLARATION_BYTES};

impl<'s> Draft<'s> {
    pub(super) fn create(&mut self, create: &CreateAsset, uuid: Uuid) -> Result<(), Refusal> {
        let root = &create.root;
        self.check_free_root(root, None)?;
        self.check_not_moving(root)?;
        if self.snapshot.unregistered_at(root).is_some() && !self.deletes.contains_key(root) {
            return Err(Refusal::Invalid(format!(
                "`{root}` already holds an asset.json; adopt it instead (`prometeu-packer adopt`)"
            )));
        }
        let name = create
            .name
            .clone()
            .unwrap_or_else(|| root.file_name().to_owned());
        check_name(&name).map_err(Refusal::Invalid)?;
        check_inputs(&create.inputs)?;
        let output = create
            .output
            .unwrap_or_else(|| OutputOptions::default_for(create.kind));
        check_output(create.kind, output)?;
        let declaration = Declaration {
            asset_uuid: uuid,
            name,
            kind: create.kind,
            inputs: create.inputs.clone(),
            output,
        };
        if self.entries.with_uuid(uuid).is_some() {
            return Err(Refusal::Invalid(
                "the fresh uuid is already registered; try again".to_owned(),
            ));
        }
        let bytes = declaration_bytes(&declaration)?;
        let id = self.issue_id()?;
        let expected = match self.deletes.remove(root) {
            Some(hash) => Expected::Content(hash),
            None => Expected::Absent,
        };
        self.writes.insert(root.clone(), (bytes, expected));
        self.entries.insert(
            id,
            RegistryEntry {
                asset_id: id,
                asset_uuid: uuid,
                root: root.clone(),
                included_in_build: create.included_in_build,
            },
        );
        self.record(id, Some(declaration), None);
        self.created = Some(id);
        self.created_here.insert(id);
        Ok(())
    }

    pub(super) fn adopt(&mut self, root: &AssetPath) -> Result<(), Refusal> {
        let found = self.snapshot.unregistered_at(root).ok_or_else(|| {
            Refusal::NotFound(format!("`{root}` holds no unregistered asset.json"))
        })?;
        let (declaration, hash) = match &found.declaration {
            DeclarationState::Valid(valid) => (valid.declaration.clone(), valid.stamp.hash),
            _ => {
                return Err(Refusal::Invalid(format!(
                    "`{root}/asset.json` is not valid; fix it first (see `prometeu-packer doctor`)"
                )));
            }
        };
        if self.deletes.contains_key(root) {
            // Registered and removed earlier in the batch: the file is deleted by it.
            return Err(Refusal::Invalid(format!(
                "`{root}/asset.json` is deleted earlier in this batch; there is nothing left to adopt"
            )));
        }
        self.check_free_root(root, None)?;
        self.check_not_moving(root)?;
        self.check_uuid_free(root, declaration.asset_uuid)?;
        let id = self.register_found(root, declaration, hash)?;
        self.verifies.insert(root.clone(), hash);
        self.created = Some(id);
        Ok(())
    }

    pub(super) fn move_root(&mut self, asset: &AssetQuery, to: &AssetPath) -> Result<(), Refusal> {
        let id = self.find(asset)?;
        if self.created_here.contains(&id) {
            // Its folder may not exist before this commit, and folders move only after
            // every declaration is written.
            return Err(Refusal::Invalid(format!(
                "asset {id} is created in this batch; move it in a separate commit"
            )));
        }
        let from = self
            .entries
            .get(&id)
            .map(|e| e.root.clone())
            .ok_or_else(|| Refusal::NotFound(format!("asset {id} is not registered")))?;
        if from == *to {
            return Err(Refusal::Invalid(format!("asset {id} is already at `{to}`")));
        }
        if to.as_ws().starts_with(from.as_ws()) || from.as_ws().starts_with(to.as_ws()) {
            return Err(Refusal::Invalid(format!(
                "asset {id} cannot move from `{from}` to `{to}`: one contains the other"
            )));
        }
        self.check_free_root(to, Some(id))?;
        // Renames of one commit must be independent of each other, so that recovery can
        // tell each one done or pending on its own.
        let disk_from = self.disk_root(&from);
        if !self.rename_ends.nested(&disk_from).is_empty()
            || !self.rename_ends.nested(to).is_empty()
        {
            return Err(Refusal::Invalid(format!(
                "`{from}` or `{to}` overlaps a folder this batch already moves; move it in a separate commit"
            )));
        }
        if self.snapshot.unregistered_nests_with(to) {
            return Err(Refusal::Invalid(format!(
                "`{to}` overlaps an unregistered asset folder"
            )));
        }
        // A declaration written in this batch is written before the renames; otherwise
        // the one on disk must still be the one the snapshot saw.
        if !self.writes.contains_key(&disk_from) {
            let Some(hash) = self.declaration(id).and_then(|d| d.on_disk) else {
                return Err(Refusal::Invalid(format!(
                    "asset {id} has no asset.json at `{from}` to move; see `prometeu-packer reconcile`"
                )));
            };
            self.verifies.insert(disk_from, hash);
        }
        let number = 2 * self.renames.len() as u64;
        self.rename_ends.insert(&from, number);
        self.rename_ends.insert(to, number + 1);
        self.renames.push((from, to.clone()));
        self.entries.update(&id, |e| e.root = to.clone());
        self.changed.push(id);
        Ok(())
    }

    pub(super) fn remove(&mut self, asset: &AssetQuery) -> Result<(), Refusal> {
        let id = self.find(asset)?;
        let Some(entry) = self.entries.remove(&id) else {
            return Err(Refusal::NotFound(format!("asset {id} is not registered")));
        };
        let root = self.disk_root(&entry.root);
        self.verifies.remove(&root);
        // A declaration rewritten earlier in the batch still replaces the file the
        // snapshot saw: that file is the one to delete. One created in the batch never
        // reached the disk, but the create was decided on there being none: that still
        // holds, or a file a person made meanwhile is a conflict.
        let original = match self.writes.remove(&root) {
            Some((_, Expected::Content(hash))) => Some(hash),
            Some((_, Expected::Absent)) => {
                self.absent.insert(root.clone());
                None
            }
            None => self.declaration(id).and_then(|d| d.on_disk),
        };
        if let Some(hash) = original {
            self.deletes.insert(root, hash);
        }
        self.declarations.insert(id, None);
        self.changed.push(id);
        Ok(())
    }

    pub(super) fn update(
        &mut self,
        asset: &AssetQuery,
        changes: &DeclarationChanges,
    ) -> Result<(), Refusal> {
        let id = self.find(asset)?;
        let root = self
            .entries
            .get(&id)
            .map(|e| e.root.clone())
            .ok_or_else(|| Refusal::NotFound(format!("asset {id} is not registered")))?;
        let current = self.declaration(id);
        let Some(DraftDeclaration {
            declaration: Some(mut declaration),
            on_disk,
        }) = current
        else {
            return Err(Refusal::Invalid(format!(
                "asset {id} has no valid asset.json to update; fix it by hand first (see `prometeu-packer doctor`)"
            )));
        };
        let original = declaration.clone();
        if let Some(name) = &changes.name {
            check_name(name).map_err(Refusal::Invalid)?;
            declaration.name = name.clone();
        }
        if let Some(kind) = changes.kind
            && kind != declaration.kind
        {
            declaration.kind = kind;
            declaration.output = OutputOptions::default_for(kind);
        }
        if let Some(inputs) = &changes.inputs {
            check_inputs(inputs)?;
            declaration.inputs = inputs.clone();
        }
        if let Some(output) = changes.output {
            declaration.output = output;
        }
        check_output(declaration.kind, declaration.output)?;
        if declaration == original {
            // Asking for what the declaration already says changes nothing: the file,
            // however it is formatted, stays as it is.
            return Ok(());
        }
        let bytes = declaration_bytes(&declaration)?;
        // A declaration is written where its directory is before this commit's renames.
        let disk_root = self.disk_root(&root);
        let expected = match self.writes.remove(&disk_root) {
            Some((_, expected)) => expected,
            None => {
                self.verifies.remove(&disk_root);
                match on_disk {
                    Some(hash) => Expected::Content(hash),
                    None => Expected::Absent,
                }
            }
        };
        self.writes.insert(disk_root, (bytes, expected));
        self.record(id, Some(declaration), on_disk);
        Ok(())
    }
}

fn check_inputs(inputs: &[AssetPath]) -> Result<(), Refusal> {
    if inputs.is_empty() {
        return Err(Refusal::Invalid(
            "an asset needs at least one input".to_owned(),
        ));
    }
    let mut seen = std::collections::HashSet::with_capacity(inputs.len());
    match inputs.iter().find(|input| !seen.insert(*input)) {
        Some(input) => Err(Refusal::Invalid(format!(
            "the input `{input}` is listed twice"
        ))),
        None => Ok(()),
    }
}

/// The bytes of `declaration` as written, refused when the packer would not read them
/// back (so many inputs that the file passes [`MAX_DECLARATION_BYTES`]).
fn declaration_bytes(declaration: &Declaration) -> Result<Vec<u8>, Refusal> {
    let bytes = declaration.to_bytes();
    if bytes.len() as u64 > MAX_DECLARATION_BYTES {
        return Err(Refusal::Invalid(format!(
            "the asset.json would be {} bytes, more than the {MAX_DECLARATION_BYTES} the packer reads; declare fewer inputs",
            bytes.len()
        )));
    }
    Ok(bytes)
}

fn check_output(kind: AssetKind, output: OutputOptions) -> Result<(), Refusal> {
    let fits = matches!(
        (kind, output),
        (AssetKind::Image, OutputOptions::Image { .. })
            | (AssetKind::Audio, OutputOptions::Audio { .. })
            | (AssetKind::Data, OutputOptions::Data)
            | (AssetKind::Blob, OutputOptions::Blob)
    );
    if fits {
        Ok(())
    } else {
        Err(Refusal::Invalid(format!(
            "these output options are not for `{kind}` assets"
        )))
    }
}
