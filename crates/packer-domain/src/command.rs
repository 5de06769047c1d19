//! The write commands and their planning: a pure function from a snapshot and a command
//! to the exact file changes a commit must make, each with the content the file must
//! still have on disk. Executing a plan durably is the writer lane's job.

mod assets;
mod entries;
mod reconcile;
mod roots;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use uuid::Uuid;

use crate::command::entries::DraftEntries;
use crate::command::roots::RootSet;
use crate::declaration::{AssetKind, Declaration, OutputOptions};
use crate::path::{AssetPath, WsPath};
use crate::reconcile::ReconcileAction;
use crate::registry::{AssetId, MAX_ASSET_ID, Registry, RegistryEntry};
use crate::snapshot::{
    AssetQuery, ContentHash, DeclarationState, ProjectState, RegistryState, Snapshot, registry_path,
};

/// `create_asset`: a new `asset.json` with a fresh uuid, registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateAsset {
    pub root: AssetPath,
    pub kind: AssetKind,
    pub inputs: Vec<AssetPath>,
    /// Default: the root's last segment.
    pub name: Option<String>,
    /// Default: the kind's defaults.
    pub output: Option<OutputOptions>,
    pub included_in_build: bool,
}

/// `update_declaration`: the fields to change; the others stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeclarationChanges {
    pub name: Option<String>,
    /// A new kind without new `output` takes the kind's default options.
    pub kind: Option<AssetKind>,
    pub inputs: Option<Vec<AssetPath>>,
    pub output: Option<OutputOptions>,
}

/// A write command (SPEC §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    CreateAsset(CreateAsset),
    AdoptAsset {
        root: AssetPath,
    },
    MoveAsset {
        asset: AssetQuery,
        to: AssetPath,
    },
    RemoveAsset {
        asset: AssetQuery,
    },
    SetIncluded {
        asset: AssetQuery,
        included: bool,
    },
    UpdateDeclaration {
        asset: AssetQuery,
        changes: DeclarationChanges,
    },
    /// Several commands, one commit. Batches do not nest.
    Batch(Vec<Command>),
    /// Chosen actions of the snapshot's reconcile plan, one commit. Each must be an
    /// action the plan offers; they are applied in the order given.
    Reconcile(Vec<ReconcileAction>),
}

/// What a file must be on disk for a change to go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    Absent,
    Content(ContentHash),
}

/// The bytes a commit writes to one file, with their content hash worked out once, when
/// first asked for: staging the commit, deriving the next generation and the observer's
/// facts each need it, and at 100k assets the registry is some 15 MB.
///
/// The registry's bytes are written from it when first asked for, too: the commit can
/// then write and hash them on a thread of its own while it locks the project and
/// checks the files the plan was decided on (planning is pure and has no threads).
#[derive(Clone)]
pub struct Contents {
    source: Source,
    hash: OnceLock<ContentHash>,
}

#[derive(Clone)]
enum Source {
    Bytes(Vec<u8>),
    /// A registry, and its bytes once written.
    Registry {
        registry: Registry,
        bytes: OnceLock<Vec<u8>>,
    },
}

impl Contents {
    pub fn new(bytes: Vec<u8>) -> Contents {
        Contents {
            source: Source::Bytes(bytes),
            hash: OnceLock::new(),
        }
    }

    /// The bytes of `registry` ([`Registry::to_bytes`]), written when first asked for.
    pub fn of_registry(registry: Registry) -> Contents {
        Contents {
            source: Source::Registry {
                registry,
                bytes: OnceLock::new(),
            },
            hash: OnceLock::new(),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match &self.source {
            Source::Bytes(bytes) => bytes,
            Source::Registry { registry, bytes } => bytes.get_or_init(|| registry.to_bytes()),
        }
    }

    /// The hash of the bytes.
    pub fn hash(&self) -> ContentHash {
        *self.hash.get_or_init(|| ContentHash::of(self.as_bytes()))
    }

    /// Whether writing and hashing the bytes is work worth a thread of its own (some
    /// milliseconds): a megabyte or more, or a registry of as many entries as make one.
    pub fn is_large(&self) -> bool {
        const LARGE: usize = 1 << 20;
        /// A registry entry takes about this many bytes.
        const ENTRY: usize = 150;
        match &self.source {
            Source::Bytes(bytes) => bytes.len() >= LARGE,
            Source::Registry { registry, bytes } => bytes.get().map_or_else(
                || registry.assets().len() >= LARGE / ENTRY,
                |bytes| bytes.len() >= LARGE,
            ),
        }
    }
}

impl From<Vec<u8>> for Contents {
    fn from(bytes: Vec<u8>) -> Contents {
        Contents::new(bytes)
    }
}

impl std::ops::Deref for Contents {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for Contents {
    fn eq(&self, other: &Contents) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Contents {}

impl std::fmt::Debug for Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_bytes(), f)
    }
}

/// One step of a commit, in the order it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    /// Create or replace a file.
    Write {
        path: WsPath,
        bytes: Contents,
        expected: Expected,
    },
    /// Delete a file.
    Delete { path: WsPath, expected: ContentHash },
    /// Rename a directory to a path where nothing is.
    RenameDir { from: WsPath, to: WsPath },
    /// Touch nothing, but require the file to be as the snapshot saw it (the command
    /// was decided on its content).
    Verify { path: WsPath, expected: ContentHash },
    /// Touch nothing, but require that no file is at the path, as the snapshot saw it
    /// (the command was decided on its absence).
    VerifyAbsent { path: WsPath },
}

/// The changes of one commit: declarations first, then directory renames, `index.json`
/// last, as the commit protocol applies them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub changes: Vec<FileChange>,
    pub registry: Registry,
    /// Assets whose registry entry or declaration the commit changes, in id order.
    pub changed: Vec<AssetId>,
    /// The asset a `create_asset` or `adopt_asset` registered (the last one in a batch).
    pub created: Option<AssetId>,
}

impl Plan {
    /// Whether the commit would change no file: every command asked for what already
    /// is, so there is nothing to commit.
    pub fn changes_nothing(&self) -> bool {
        self.changes.iter().all(|change| {
            matches!(
                change,
                FileChange::Verify { .. } | FileChange::VerifyAbsent { .. }
            )
        })
    }
}

/// Why a command cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    FailedState(String),
}

/// Plans `command` against `snapshot`. `new_uuid` gives fresh uuids (the domain has no
/// randomness of its own).
pub fn plan(
    snapshot: &Snapshot,
    command: &Command,
    new_uuid: &mut dyn FnMut() -> Uuid,
) -> Result<Plan, Refusal> {
    let RegistryState::Valid {
        registry, stamp, ..
    } = snapshot.registry_state()
    else {
        return Err(Refusal::FailedState(
            "the registry cannot be read; no write is possible until it is fixed".to_owned(),
        ));
    };
    if snapshot.state() == ProjectState::Failed {
        return Err(Refusal::FailedState(
            "the project is failed; no write is possible until that is resolved".to_owned(),
        ));
    }
    let mut draft = Draft::new(snapshot, registry);
    match command {
        Command::Batch(commands) => {
            for (index, command) in commands.iter().enumerate() {
                if matches!(command, Command::Batch(_)) {
                    return Err(Refusal::Invalid(format!(
                        "command {} of the batch is itself a batch; batches do not nest",
                        index + 1
                    )));
                }
                if matches!(command, Command::Reconcile(_)) {
                    return Err(Refusal::Invalid(format!(
                        "command {} of the batch is a reconcile; reconcile actions are applied on their own",
                        index + 1
                    )));
                }
                draft.apply(command, new_uuid).map_err(|refusal| {
                    prefix(refusal, &format!("command {} of the batch: ", index + 1))
                })?;
            }
        }
        other => draft.apply(other, new_uuid)?,
    }
    draft.finish(stamp.hash)
}

fn prefix(refusal: Refusal, text: &str) -> Refusal {
    match refusal {
        Refusal::Invalid(m) => Refusal::Invalid(format!("{text}{m}")),
        Refusal::NotFound(m) => Refusal::NotFound(format!("{text}{m}")),
        Refusal::FailedState(m) => Refusal::FailedState(format!("{text}{m}")),
    }
}

/// A declaration as the draft knows it: its content, and where it is on disk now.
#[derive(Debug, Clone)]
struct DraftDeclaration {
    declaration: Option<Declaration>,
    /// The content on disk before the commit; `None` when there is no file.
    on_disk: Option<ContentHash>,
}

/// A registry and declarations being changed command by command.
struct Draft<'s> {
    snapshot: &'s Snapshot,
    next_id: u64,
    entries: DraftEntries<'s>,
    /// Declarations this batch changed (`None`: removed); the rest are as the snapshot
    /// holds them, so planning one command does not copy the whole project.
    declarations: BTreeMap<AssetId, Option<DraftDeclaration>>,
    /// Declaration files to write, by the root they will live at after the commit.
    writes: BTreeMap<AssetPath, (Vec<u8>, Expected)>,
    deletes: BTreeMap<AssetPath, ContentHash>,
    verifies: BTreeMap<AssetPath, ContentHash>,
    /// Roots whose `asset.json` must still be absent.
    absent: BTreeSet<AssetPath>,
    /// Directory renames, in order: (from, to) as they are on disk.
    renames: Vec<(AssetPath, AssetPath)>,
    /// Both ends of every rename, numbered `2 * i` (from) and `2 * i + 1` (to) for
    /// `renames[i]`, to find those that overlap a path without a pass over them all.
    rename_ends: RootSet,
    changed: Vec<AssetId>,
    created: Option<AssetId>,
    /// Assets this batch created (not adopted): they cannot move in the same commit.
    created_here: BTreeSet<AssetId>,
}

impl<'s> Draft<'s> {
    fn new(snapshot: &'s Snapshot, registry: &'s Registry) -> Draft<'s> {
        Draft {
            snapshot,
            next_id: registry.next_asset_id(),
            entries: DraftEntries::new(registry.assets()),
            declarations: BTreeMap::new(),
            writes: BTreeMap::new(),
            deletes: BTreeMap::new(),
            verifies: BTreeMap::new(),
            absent: BTreeSet::new(),
            renames: Vec::new(),
            rename_ends: RootSet::default(),
            changed: Vec::new(),
            created: None,
            created_here: BTreeSet::new(),
        }
    }

    /// The declaration of `id` as this batch has left it.
    fn declaration(&self, id: AssetId) -> Option<DraftDeclaration> {
        match self.declarations.get(&id) {
            Some(changed) => changed.clone(),
            // Not the file at its root when that is another asset's: a command on an
            // asset that left its root never touches what moved in there.
            None => self.snapshot.asset(id).map(|a| {
                let own = a.own_declaration();
                DraftDeclaration {
                    declaration: own.and_then(DeclarationState::declaration).cloned(),
                    on_disk: own.and_then(DeclarationState::stamp).map(|s| s.hash),
                }
            }),
        }
    }

    fn apply(
        &mut self,
        command: &Command,
        new_uuid: &mut dyn FnMut() -> Uuid,
    ) -> Result<(), Refusal> {
        match command {
            Command::CreateAsset(create) => self.create(create, new_uuid()),
            Command::AdoptAsset { root } => self.adopt(root),
            Command::MoveAsset { asset, to } => self.move_root(asset, to),
            Command::RemoveAsset { asset } => self.remove(asset),
            Command::SetIncluded { asset, included } => {
                let id = self.find(asset)?;
                if self
                    .entries
                    .get(&id)
                    .is_some_and(|e| e.included_in_build != *included)
                {
                    self.entries
                        .update(&id, |e| e.included_in_build = *included);
                    self.changed.push(id);
                }
                Ok(())
            }
            Command::UpdateDeclaration { asset, changes } => self.update(asset, changes),
            Command::Reconcile(actions) => self.reconcile(actions, new_uuid),
            Command::Batch(_) => Err(Refusal::Invalid("batches do not nest".to_owned())),
        }
    }

    fn find(&self, query: &AssetQuery) -> Result<AssetId, Refusal> {
        let found = match query {
            AssetQuery::Id(id) => self.entries.get(id).map(|e| e.asset_id),
            AssetQuery::Uuid(uuid) => self.entries.with_uuid(*uuid).map(|e| e.asset_id),
            AssetQuery::Root(root) => self.entries.at_root(root).first().map(|e| e.asset_id),
        };
        found.ok_or_else(|| {
            Refusal::NotFound(match query {
                AssetQuery::Id(id) => format!("no registered asset has asset id {id}"),
                AssetQuery::Uuid(uuid) => format!("no registered asset has asset uuid {uuid}"),
                AssetQuery::Root(root) => format!("no registered asset has asset root `{root}`"),
            })
        })
    }

    /// Refuses to register `root` with a uuid some asset already has.
    fn check_uuid_free(&self, root: &AssetPath, uuid: Uuid) -> Result<(), Refusal> {
        match self.entries.with_uuid(uuid) {
            Some(owner) => Err(Refusal::Invalid(format!(
                "the uuid of `{root}` already belongs to asset {} at `{}`; reconcile the duplicate instead",
                owner.asset_id, owner.root
            ))),
            None => Ok(()),
        }
    }

    /// Refuses a root that is registered, or nests with a registered root (other than
    /// `except`), or is the destination of a move in this batch.
    fn check_free_root(&self, root: &AssetPath, except: Option<AssetId>) -> Result<(), Refusal> {
        self.check_free_root_unless(root, |id| Some(id) == except)
    }

    /// [`check_free_root`](Self::check_free_root), leaving out the entries of the
    /// assets for which `ignored` holds.
    fn check_free_root_unless(
        &self,
        root: &AssetPath,
        ignored: impl Fn(AssetId) -> bool,
    ) -> Result<(), Refusal> {
        match self.entries.nested_with(root, ignored) {
            None => Ok(()),
            Some(entry) if entry.root == *root => Err(Refusal::Invalid(format!(
                "`{root}` is already the root of asset {}",
                entry.asset_id
            ))),
            Some(entry) => Err(Refusal::Invalid(format!(
                "`{root}` and the root `{}` of asset {} would be nested; asset roots may not contain one another",
                entry.root, entry.asset_id
            ))),
        }
    }

    /// Refuses a root at or inside a folder this batch moves, or moves to: declarations
    /// are written before folders move, so the new root would travel with the folder,
    /// or take the place the folder moves to. (A root above either is fine. One at or
    /// inside a destination is refused as nested with the moved asset too, unless the
    /// batch removed that asset since.)
    fn check_not_moving(&self, root: &AssetPath) -> Result<(), Refusal> {
        // The first rename concerned, and of it the folder moved before the destination.
        let Some(end) = self.rename_ends.at_or_above(root).into_iter().min() else {
            return Ok(());
        };
        let Some((from, to)) = usize::try_from(end / 2)
            .ok()
            .and_then(|i| self.renames.get(i))
        else {
            return Ok(());
        };
        if end % 2 == 0 {
            return Err(Refusal::Invalid(format!(
                "`{root}` lies in `{from}`, which this batch moves; do it in a separate commit"
            )));
        }
        Err(Refusal::Invalid(format!(
            "`{root}` lies in `{to}`, where this batch moves a folder; do it in a separate commit"
        )))
    }

    fn issue_id(&mut self) -> Result<AssetId, Refusal> {
        if self.next_id > MAX_ASSET_ID {
            return Err(Refusal::Invalid(format!(
                "the registry has run out of asset ids: {MAX_ASSET_ID} is the last"
            )));
        }
        let id = AssetId(self.next_id);
        self.next_id += 1;
        Ok(id)
    }

    /// Records `declaration` as asset `id`'s in this batch, `on_disk` the content of its
    /// file before the commit, and the asset as changed.
    fn record(
        &mut self,
        id: AssetId,
        declaration: Option<Declaration>,
        on_disk: Option<ContentHash>,
    ) {
        self.declarations.insert(
            id,
            Some(DraftDeclaration {
                declaration,
                on_disk,
            }),
        );
        self.changed.push(id);
    }

    /// Registers `declaration`, found at `root` with the content `on_disk`, as a new asset
    /// included in builds; its id.
    fn register_found(
        &mut self,
        root: &AssetPath,
        declaration: Declaration,
        on_disk: ContentHash,
    ) -> Result<AssetId, Refusal> {
        let id = self.issue_id()?;
        self.entries.insert(
            id,
            RegistryEntry {
                asset_id: id,
                asset_uuid: declaration.asset_uuid,
                root: root.clone(),
                included_in_build: true,
            },
        );
        self.record(id, Some(declaration), Some(on_disk));
        Ok(id)
    }

    /// Where the directory that will be at `root` after this batch's renames is now.
    fn disk_root(&self, root: &AssetPath) -> AssetPath {
        // Back through the renames, latest first, each one into where we are now.
        let mut current = root.clone();
        let mut before = self.renames.len();
        while let Some((i, (from, _))) = self
            .rename_ends
            .at(current.as_str())
            .filter(|end| end % 2 == 1)
            .filter_map(|end| usize::try_from(end / 2).ok())
            .filter(|&i| i < before)
            .max()
            .and_then(|i| Some((i, self.renames.get(i)?)))
        {
            current = from.clone();
            before = i;
        }
        current
    }

    fn finish(mut self, registry_hash: ContentHash) -> Result<Plan, Refusal> {
        // `entries` is keyed by id, every id below `next_id`; roots and uuids were
        // checked against the whole registry by each command as it was planned.
        let registry = Registry::from_checked_plan(self.next_id, self.entries.into_entries());
        let mut changes = Vec::new();
        for (root, hash) in &self.verifies {
            changes.push(FileChange::Verify {
                path: root.declaration_path(),
                expected: *hash,
            });
        }
        // A root written after all is checked by its write.
        for root in self.absent.iter().filter(|r| !self.writes.contains_key(*r)) {
            changes.push(FileChange::VerifyAbsent {
                path: root.declaration_path(),
            });
        }
        for (root, hash) in &self.deletes {
            changes.push(FileChange::Delete {
                path: root.declaration_path(),
                expected: *hash,
            });
        }
        for (root, (bytes, expected)) in std::mem::take(&mut self.writes) {
            changes.push(FileChange::Write {
                path: root.declaration_path(),
                bytes: Contents::new(bytes),
                expected,
            });
        }
        for (from, to) in &self.renames {
            changes.push(FileChange::RenameDir {
                from: from.as_ws().clone(),
                to: to.as_ws().clone(),
            });
        }
        // The registry is rewritten only when it changes; otherwise the commit was still
        // decided on its content.
        if self.snapshot.registry() == Some(&registry) {
            changes.push(FileChange::Verify {
                path: registry_path(),
                expected: registry_hash,
            });
        } else {
            changes.push(FileChange::Write {
                path: registry_path(),
                bytes: Contents::of_registry(registry.clone()),
                expected: Expected::Content(registry_hash),
            });
        }
        self.changed.sort();
        self.changed.dedup();
        Ok(Plan {
            changes,
            registry,
            changed: self.changed,
            created: self.created,
        })
    }
}
