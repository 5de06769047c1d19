//! Snapshots derived from the one before instead of loading the whole workspace again:
//! after a commit, which knows every byte it wrote, and after hand edits of declarations,
//! which are read again alone. New inputs that lie directly in their asset's folder are
//! looked up by listing that folder. What cannot be vouched for this way — inputs in
//! subfolders or behind links, folders renamed or gone, a recovery that rolled an older
//! transaction forward — is left to a full load.
//!
//! A commit that changed no declaration and left every asset's id, uuid and root as they
//! were (`set_included`) keeps the drift of the generation before as it is: classifying
//! drift looks at nothing else, so only the entries are taken from the new registry.
//!
//! The result must equal what [`Snapshot::load`] gives for the same disk; the tests check
//! that after every command of random sequences.

use std::cell::OnceCell;

use rustc_hash::FxHashMap;

use crate::chunked::Chunked;
use crate::command::FileChange;
use crate::path::AssetPath;
use crate::ports::{DirEntryKind, FileView, PortErrorKind, WorkspacePort};
use crate::registry::{AssetId, Registry};
use crate::snapshot::inputs::listed_input_state;
use crate::snapshot::load::{finish, parse_declaration};
use crate::snapshot::{
    AssetRecord, AssetStatus, DeclarationState, FileStamp, FoundDeclaration, InputState,
    MAX_DECLARATION_BYTES, RegistryState, Snapshot, registry_path,
};

/// What is at a root after a change: a declaration as read, or none.
type Declarations = FxHashMap<AssetPath, Option<DeclarationState>>;

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
    /// `registry` (a [`Plan`](crate::command::Plan)'s two parts) on top of `self`, or
    /// `None` when it must be loaded from disk instead.
    pub fn after_commit(
        &self,
        port: &dyn WorkspacePort,
        changes: &[FileChange],
        registry: Registry,
        generation: u64,
    ) -> Option<Snapshot> {
        if !self.derivable() {
            return None;
        }
        let registry_file = registry_path();
        let mut registry_bytes = None;
        let mut written = Declarations::default();
        for change in changes {
            match change {
                FileChange::Write { path, bytes, .. } if *path == registry_file => {
                    registry_bytes = Some(bytes);
                }
                FileChange::Write { path, bytes, .. } => {
                    let root = AssetPath::of_declaration(path)?;
                    let fingerprint = port.stat(path).ok()??;
                    let state = parse_declaration(&root, Ok(FileView { bytes, fingerprint }));
                    written.insert(root, Some(state));
                }
                FileChange::Delete { path, .. } => {
                    written.insert(AssetPath::of_declaration(path)?, None);
                }
                FileChange::RenameDir { .. } => return None,
                FileChange::Verify { .. } | FileChange::VerifyAbsent { .. } => {}
            }
        }
        let state = match registry_bytes {
            Some(bytes) => {
                let fingerprint = port.stat(&registry_file).ok()??;
                let entry_positions = (0..registry.assets().len())
                    .map(written_entry_position)
                    .collect();
                RegistryState::Valid {
                    registry,
                    stamp: FileStamp {
                        fingerprint,
                        hash: bytes.hash(),
                    },
                    entry_positions,
                }
            }
            // Not rewritten: the commit verified it is still the file this snapshot read.
            None if self.registry() == Some(&registry) => self.registry.clone(),
            None => return None,
        };
        self.derive(port, written, state, generation)
    }

    /// The snapshot of generation `generation` after the `asset.json` of each of `roots`
    /// was edited on disk, with nothing else changed: each is read again alone. `None`
    /// when that is not enough: a file gone or new, a root this snapshot did not know,
    /// inputs to look up in subfolders or through links.
    pub fn with_declarations_reread(
        &self,
        port: &dyn WorkspacePort,
        roots: &[AssetPath],
        generation: u64,
    ) -> Option<Snapshot> {
        if !self.derivable() {
            return None;
        }
        let mut reread = Declarations::default();
        for root in roots {
            let path = root.declaration_path();
            let read = match port.read(&path, MAX_DECLARATION_BYTES) {
                Ok(read) => read,
                Err(e) if e.kind == PortErrorKind::NotFound => return None,
                Err(e) => {
                    let state = parse_declaration(root, Err(e));
                    reread.insert(root.clone(), Some(state));
                    continue;
                }
            };
            let state = parse_declaration(root, Ok(read.view()));
            reread.insert(root.clone(), Some(state));
        }
        self.derive(port, reread, self.registry.clone(), generation)
    }

    /// Whether a snapshot can be derived from this one at all.
    fn derivable(&self) -> bool {
        matches!(self.registry, RegistryState::Valid { .. }) && self.workspace_errors.is_empty()
    }

    /// The next snapshot: `registry` (valid), the declarations at the roots of `changed`
    /// as given, every other declaration as this snapshot found it. `None` when a valid
    /// declaration given has inputs that neither this snapshot resolved nor its folder's
    /// listing settles.
    fn derive(
        &self,
        port: &dyn WorkspacePort,
        mut changed: Declarations,
        registry_state: RegistryState,
        generation: u64,
    ) -> Option<Snapshot> {
        let RegistryState::Valid { registry, .. } = &registry_state else {
            return None;
        };
        if changed.is_empty()
            && let Some(assets) = self.with_entries_of(registry)
        {
            return Some(self.with_same_drift(generation, registry_state, assets));
        }
        // Where the record of each changed root is: for a few, found with a pass over the
        // records per root; for more, through the lookup by root, which a generation that
        // keeps every root in place shares with the one before, so that it is made once
        // for a run of edits. A root missing here is not registered.
        let few = changed.len() <= FEW_CHANGES;
        let places: FxHashMap<AssetPath, usize> = if few {
            changed
                .keys()
                .filter_map(|root| {
                    let i = self.assets.iter().position(|a| a.entry.root == *root)?;
                    Some((root.clone(), i))
                })
                .collect()
        } else {
            let by_root = &self.lookup.maps(&self.assets).by_root;
            changed
                .keys()
                .filter_map(|root| Some((root.clone(), *by_root.get(root)?)))
                .collect()
        };
        // Every declaration this snapshot found, by root; built only if an asset is not
        // where it was (most changes move nothing).
        let by_root_map: OnceCell<FxHashMap<&AssetPath, &DeclarationState>> = OnceCell::new();
        let by_root = |root: &AssetPath, id: Option<AssetId>| {
            if let Some(asset) = id.and_then(|id| self.asset(id))
                && asset.entry.root == *root
            {
                return Some(&asset.declaration);
            }
            if id.is_none() {
                // A changed root missing from `places` is not registered.
                return match places.get(root) {
                    Some(&i) => self.assets.get(i).map(|a| &a.declaration),
                    None => self.unregistered_at(root).map(|f| &f.declaration),
                };
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
        // A valid declaration keeps the inputs resolved before, if they are the same;
        // otherwise its folder is listed, which settles inputs that lie directly in it.
        for (root, state) in &mut changed {
            if let Some(DeclarationState::Valid(valid)) = state {
                let inputs = match by_root(root, None) {
                    Some(DeclarationState::Valid(old))
                        if old.declaration.inputs == valid.declaration.inputs =>
                    {
                        old.inputs.clone()
                    }
                    _ => inputs_in_folder(port, root, &valid.declaration.inputs)?,
                };
                std::sync::Arc::make_mut(valid).inputs = inputs;
            }
        }
        if let Some(assets) = self.with_declarations_swapped(registry, &changed, &places) {
            return Some(self.with_same_drift(generation, registry_state, assets));
        }
        let assets: Vec<AssetRecord> = registry
            .assets()
            .iter()
            .map(|entry| {
                let declaration = match changed.get(&entry.root) {
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
        let registered_map: OnceCell<FxHashMap<&AssetPath, ()>> = OnceCell::new();
        // Whether an entry of the registry names `root` (an old asset of id `id` is
        // usually still registered at the same root).
        let registered = |root: &AssetPath, id: Option<AssetId>| {
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
        // still are, those whose entry went away with their file kept, and those changed
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
                    && !changed.contains_key(*root)
                    && !registered(root, *id)
            })
            .map(|(root, _, state)| FoundDeclaration {
                root: root.clone(),
                declaration: state.clone(),
            })
            .collect();
        unregistered.extend(changed.iter().filter_map(|(root, state)| {
            let state = state.as_ref()?;
            (!registered(root, None)).then(|| FoundDeclaration {
                root: root.clone(),
                declaration: state.clone(),
            })
        }));
        unregistered.sort_by(|a, b| a.root.cmp(&b.root));
        Some(finish(assets, unregistered).into_snapshot(generation, registry_state))
    }
}

impl Snapshot {
    /// This snapshot's asset records with the entries of `registry`, when it registers
    /// exactly this snapshot's assets, in order, each with the same id, uuid and root;
    /// `None` as soon as one differs. Drift is a function of each asset's id, uuid, root
    /// and declaration and of the declarations at unregistered roots: with none of them
    /// changed, the drifts, the statuses and the unregistered declarations stay this
    /// snapshot's. The records are this snapshot's, shared: only the chunks of entries
    /// that `registry` does not share with this snapshot's registry are looked at, and
    /// only the records whose entry changed are copied (with their chunk).
    fn with_entries_of(&self, registry: &Registry) -> Option<Chunked<AssetRecord>> {
        let before = self.registry()?.assets();
        let entries = registry.assets();
        if self.assets.len() != entries.len() || before.len() != entries.len() {
            return None;
        }
        let mut assets = self.assets.clone();
        // A shared chunk holds the very entries this snapshot's records were made of.
        for (i, entry) in entries.unshared(before) {
            let old = &self.assets.get(i)?.entry;
            if old == entry {
                continue;
            }
            if old.asset_id != entry.asset_id
                || old.asset_uuid != entry.asset_uuid
                || old.root != entry.root
            {
                return None;
            }
            assets.get_mut(i)?.entry = entry.clone();
        }
        Some(assets)
    }
}

/// At most this many changed declarations are looked for one by one.
const FEW_CHANGES: usize = 16;

impl Snapshot {
    /// Generation `generation` with `registry` and `assets`, records of the same assets
    /// in the same order that change no drift: the drifts, the statuses (in `assets`),
    /// the unregistered declarations and the state stay this snapshot's.
    fn with_same_drift(
        &self,
        generation: u64,
        registry: RegistryState,
        assets: Chunked<AssetRecord>,
    ) -> Snapshot {
        Snapshot {
            generation,
            state: self.state,
            registry,
            assets,
            // Every asset kept its id, uuid and root, in place.
            ids: std::sync::Arc::clone(&self.ids),
            lookup: self.lookup.shared(),
            unregistered: self.unregistered.clone(),
            drifts: self.drifts.clone(),
            workspace_errors: Vec::new(),
            declaration_errors: Vec::new(),
        }
    }

    /// This snapshot's records with the entries of `registry` (as
    /// [`with_entries_of`](Self::with_entries_of) gives them) and the declarations of
    /// `changed` at their roots (whose records are at `places`), when that changes no
    /// drift: each changed root is a
    /// registered asset's, whose declaration was and stays valid with the same uuid,
    /// inputs and input states, none of them refused (a refusal names its place in the
    /// file, which an edit can move). The drifts, statuses and unregistered declarations
    /// then stay this snapshot's. `None` otherwise.
    fn with_declarations_swapped(
        &self,
        registry: &Registry,
        changed: &Declarations,
        places: &FxHashMap<AssetPath, usize>,
    ) -> Option<Chunked<AssetRecord>> {
        let mut swaps = Vec::with_capacity(changed.len());
        for (root, state) in changed {
            let Some(DeclarationState::Valid(new)) = state else {
                return None;
            };
            let i = *places.get(root)?;
            let DeclarationState::Valid(old) = &self.assets.get(i)?.declaration else {
                return None;
            };
            let same = old.declaration.asset_uuid == new.declaration.asset_uuid
                && old.declaration.inputs == new.declaration.inputs
                && old.inputs == new.inputs
                && !new
                    .inputs
                    .iter()
                    .any(|s| matches!(s, InputState::NotConfined(_)));
            if !same {
                return None;
            }
            swaps.push((i, DeclarationState::Valid(std::sync::Arc::clone(new))));
        }
        let mut assets = self.with_entries_of(registry)?;
        for (i, state) in swaps {
            assets.get_mut(i)?.declaration = state;
        }
        Some(assets)
    }
}

/// The state of each of `inputs` when all lie directly in the folder `root`, as the
/// loader would resolve them from its listing: a regular file is present, a folder is
/// not confined, nothing is missing. `None` for anything that needs more (an input in a
/// subfolder, a symbolic link).
fn inputs_in_folder(
    port: &dyn WorkspacePort,
    root: &AssetPath,
    inputs: &[AssetPath],
) -> Option<Vec<InputState>> {
    if inputs.iter().any(|input| input.as_str().contains('/')) {
        return None;
    }
    let entries = port.list_dir(root.as_ws()).ok()?;
    // By name, not by a search of the listing for each input: an asset may declare
    // tens of thousands of inputs in its folder.
    let kinds: FxHashMap<&str, DirEntryKind> =
        entries.iter().map(|e| (e.name.as_str(), e.kind)).collect();
    inputs
        .iter()
        .map(|input| match kinds.get(input.as_str()).copied() {
            Some(kind) => listed_input_state(kind),
            None => Some(InputState::Missing),
        })
        .collect()
}
