//! The snapshot a commit leads to, derived from the one it was planned against instead
//! of loading the whole workspace again: a commit knows every byte it wrote, so only the
//! stat data of those files is read back. What a commit cannot vouch for — the inputs of
//! a declaration whose input list it changed, folders it renamed (links inside them may
//! lead elsewhere now) — is left to a full load, and so is anything after a recovery
//! rolled an older transaction forward.
//!
//! The result must equal what [`Snapshot::load`] gives for the same disk; the tests check
//! that after every command of random sequences.

use rustc_hash::FxHashMap;

use crate::command::FileChange;
use crate::path::{AssetPath, DECLARATION_FILE, WsPath};
use crate::ports::{FileView, WorkspacePort};
use crate::registry::Registry;
use crate::snapshot::load::{finish, parse_declaration};
use crate::snapshot::{
    AssetRecord, AssetStatus, ContentHash, DeclarationState, FileStamp, FoundDeclaration,
    ProjectState, RegistryState, Snapshot, registry_path,
};

/// The line and column of entry `index` in a registry the packer wrote: a fixed header
/// of four lines, then one entry per line indented by four spaces.
fn written_entry_position(index: usize) -> (u32, u32) {
    (
        u32::try_from(index).map_or(u32::MAX, |i| i.saturating_add(5)),
        5,
    )
}

impl Snapshot {
    /// The snapshot of generation `generation` after a commit of `changes` leaving
    /// `registry` (a [`Plan`](crate::command::Plan)'s two parts) on top of `self`, or `None` when it must be
    /// loaded from disk instead.
    pub fn after_commit(
        &self,
        port: &dyn WorkspacePort,
        changes: &[FileChange],
        registry: Registry,
        generation: u64,
    ) -> Option<Snapshot> {
        if !matches!(self.registry, RegistryState::Valid { .. })
            || !self.workspace_errors.is_empty()
        {
            return None;
        }
        // Every declaration this snapshot found, registered or not, by root; built only
        // if an asset is not where it was (most commits move nothing).
        let by_root_map: std::cell::OnceCell<FxHashMap<&AssetPath, &DeclarationState>> =
            std::cell::OnceCell::new();
        let by_root = |root: &AssetPath, id: Option<crate::registry::AssetId>| {
            if let Some(asset) = id.and_then(|id| self.asset(id))
                && asset.entry.root == *root
            {
                return Some(&asset.declaration);
            }
            by_root_map
                .get_or_init(|| {
                    self.assets
                        .iter()
                        .map(|a| (&a.entry.root, &a.declaration))
                        .chain(self.unregistered.iter().map(|f| (&f.root, &f.declaration)))
                        .collect()
                })
                .get(root)
                .copied()
        };
        let registry_file = registry_path();
        let mut registry_bytes = None;
        // What the commit left at each root it touched: a declaration it wrote, or none.
        let mut written: FxHashMap<AssetPath, Option<DeclarationState>> = FxHashMap::default();
        for change in changes {
            match change {
                FileChange::Write { path, bytes, .. } if *path == registry_file => {
                    registry_bytes = Some(bytes.as_slice());
                }
                FileChange::Write { path, bytes, .. } => {
                    let root = declaration_root(path)?;
                    let fingerprint = port.stat(path).ok()??;
                    let mut state = parse_declaration(&root, Ok(FileView { bytes, fingerprint }));
                    if let DeclarationState::Valid(valid) = &mut state {
                        let valid = std::sync::Arc::make_mut(valid);
                        // The inputs are resolved only if they are those already resolved.
                        let before = by_root(&root, None)?;
                        let DeclarationState::Valid(old) = before else {
                            return None;
                        };
                        if old.declaration.inputs != valid.declaration.inputs {
                            return None;
                        }
                        valid.inputs.clone_from(&old.inputs);
                    }
                    written.insert(root, Some(state));
                }
                FileChange::Delete { path, .. } => {
                    written.insert(declaration_root(path)?, None);
                }
                FileChange::RenameDir { .. } => return None,
                FileChange::Verify { .. } | FileChange::VerifyAbsent { .. } => {}
            }
        }
        let bytes = registry_bytes?;
        let fingerprint = port.stat(&registry_file).ok()??;
        let entry_positions = (0..registry.assets().len())
            .map(written_entry_position)
            .collect();
        let assets: Vec<AssetRecord> = registry
            .assets()
            .iter()
            .map(|entry| {
                let declaration = match written.get(&entry.root) {
                    Some(Some(state)) => state.clone(),
                    Some(None) => DeclarationState::Missing,
                    None => by_root(&entry.root, Some(entry.asset_id))
                        .map_or(DeclarationState::Missing, DeclarationState::clone),
                };
                AssetRecord {
                    entry: entry.clone(),
                    declaration,
                    status: AssetStatus::Ok,
                }
            })
            .collect();
        let registered_map: std::cell::OnceCell<FxHashMap<&AssetPath, ()>> =
            std::cell::OnceCell::new();
        // Whether an entry of the new registry names `root` (an old asset of id `id` is
        // usually still registered at the same root).
        let registered = |root: &AssetPath, id: Option<crate::registry::AssetId>| {
            if let Some(id) = id
                && let Ok(i) = registry.assets().binary_search_by_key(&id, |e| e.asset_id)
                && registry.assets()[i].root == *root
            {
                return true;
            }
            registered_map
                .get_or_init(|| registry.assets().iter().map(|e| (&e.root, ())).collect())
                .contains_key(root)
        };
        // Declarations on disk that no entry names: those that were unregistered and
        // still are, those whose entry went away with their file kept, and those written
        // at roots no entry names.
        let mut unregistered: Vec<FoundDeclaration> = self
            .unregistered
            .iter()
            .map(|f| (&f.root, None, &f.declaration))
            .chain(
                self.assets
                    .iter()
                    .map(|a| (&a.entry.root, Some(a.entry.asset_id), &a.declaration)),
            )
            .filter(|(root, id, state)| {
                !matches!(state, DeclarationState::Missing)
                    && !written.contains_key(*root)
                    && !registered(root, *id)
            })
            .map(|(root, _, state)| FoundDeclaration {
                root: root.clone(),
                declaration: state.clone(),
            })
            .collect();
        unregistered.extend(written.iter().filter_map(|(root, state)| {
            let state = state.as_ref()?;
            (!registered(root, None)).then(|| FoundDeclaration {
                root: root.clone(),
                declaration: state.clone(),
            })
        }));
        unregistered.sort_by(|a, b| a.root.cmp(&b.root));
        let parts = finish(assets, unregistered);
        Some(Snapshot {
            generation,
            state: ProjectState::from_drifts(&parts.drifts, false),
            registry: RegistryState::Valid {
                registry,
                stamp: FileStamp {
                    fingerprint,
                    hash: ContentHash::of(bytes),
                },
                entry_positions,
            },
            assets: parts.assets,
            unregistered: parts.unregistered,
            drifts: parts.drifts,
            workspace_errors: self.workspace_errors.clone(),
        })
    }
}

/// The root whose `asset.json` is at `path`; `None` for any other file.
fn declaration_root(path: &WsPath) -> Option<AssetPath> {
    if path.file_name() != DECLARATION_FILE {
        return None;
    }
    AssetPath::from_ws(path.parent()?).ok()
}
