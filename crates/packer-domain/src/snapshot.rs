//! The snapshot: an immutable, generation-numbered picture of the workspace, and the
//! pure loader that builds one through a [`WorkspacePort`] (in `load.rs`, resolving
//! declared inputs against the listing in `inputs.rs`).
//!
//! A snapshot holds the registry, each registered asset's parsed declaration (or its
//! errors), every `asset.json` the registry does not list, the stamps of the files it
//! was built from and the drift found. Reads are answered from it, never from the disk.

mod derive;
mod inputs;
mod load;

use std::fmt;
use std::sync::{Arc, OnceLock};

use rustc_hash::FxHashMap;
use uuid::Uuid;

use crate::chunked::Chunked;
use crate::declaration::Declaration;
use crate::diagnostics::{Diagnostic, FileError};
use crate::drift::Drift;
use crate::location::Located;
use crate::observe::InputStamps;
use crate::path::{AssetPath, WsPath};
use crate::ports::{FileView, Fingerprint, WorkspacePort};
use crate::registry::{AssetId, Registry, RegistryEntry};

/// Largest `asset.json` the packer reads.
pub const MAX_DECLARATION_BYTES: u64 = 1 << 20;
/// Largest `index.json` the packer reads (about a million assets).
pub const MAX_REGISTRY_BYTES: u64 = 256 << 20;
/// The most errors kept of one file. A file with more (a registry mangled by a tool)
/// keeps the first ones, the last of them saying how many more there are, so that
/// neither the snapshot nor a report grows with the damage.
pub const MAX_FILE_ERRORS: usize = 100;
/// Where the registry lives, relative to `assets/`.
pub const REGISTRY_FILE: &str = "index.json";

/// The path of `index.json` inside the workspace.
pub fn registry_path() -> WsPath {
    // A constant, valid segment: cannot fail.
    WsPath::internal(REGISTRY_FILE).unwrap_or_else(|_| WsPath::root())
}

/// A blake3 hash of a file's content.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash(pub [u8; 32]);

impl ContentHash {
    pub fn of(bytes: &[u8]) -> ContentHash {
        ContentHash(*blake3::hash(bytes).as_bytes())
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({self})")
    }
}

impl serde::Serialize for ContentHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What a snapshot recorded of a file it was built from: its stat data and a hash of
/// the exact bytes it parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileStamp {
    pub fingerprint: Fingerprint,
    pub hash: ContentHash,
}

impl FileStamp {
    fn of(read: FileView<'_>) -> FileStamp {
        FileStamp {
            fingerprint: read.fingerprint,
            hash: ContentHash::of(read.bytes),
        }
    }
}

/// The project's state (SPEC §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectState {
    Ready,
    Stale,
    Diverged,
    Reconciling,
    Failed,
}

impl ProjectState {
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectState::Ready => "ready",
            ProjectState::Stale => "stale",
            ProjectState::Diverged => "diverged",
            ProjectState::Reconciling => "reconciling",
            ProjectState::Failed => "failed",
        }
    }

    /// The state a fresh load implies: `failed` on an unreadable registry or workspace,
    /// `diverged` on structural drift, else `ready`.
    pub fn from_drifts(drifts: &[Drift], workspace_unreadable: bool) -> ProjectState {
        if workspace_unreadable
            || drifts
                .iter()
                .any(|d| matches!(d, Drift::RegistryInvalid { .. }))
        {
            ProjectState::Failed
        } else if drifts.iter().any(Drift::is_structural) {
            ProjectState::Diverged
        } else {
            ProjectState::Ready
        }
    }
}

impl fmt::Display for ProjectState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One asset's condition, as `list` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetStatus {
    Ok,
    /// The declaration does not validate, or an input is missing or not confined.
    Invalid,
    /// The root is gone and no moved copy was found.
    Missing,
    /// The root is gone and the asset was found elsewhere.
    Moved,
    /// Its identity is disputed: a uuid mismatch or duplicate.
    Conflict,
}

/// Whether a declared input is usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputState {
    Present,
    Missing,
    /// It exists but is a directory, or a symbolic link leaving the asset root.
    NotConfined(String),
}

/// A declaration found at some root, as loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclarationState {
    /// Shared: a generation derived from another keeps the declarations it did not
    /// change without copying them.
    Valid(Arc<ValidDeclaration>),
    /// Shared as well, which also keeps every asset record small: a snapshot of a large
    /// project holds, copies and frees one per asset.
    Invalid(Arc<InvalidDeclaration>),
    /// No `asset.json` at the root.
    Missing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidDeclaration {
    pub declaration: Declaration,
    pub stamp: FileStamp,
    /// Line and column of `asset_uuid`'s value.
    pub uuid_position: (u32, u32),
    /// Line and column of each input in the file, in declaration order.
    pub input_positions: Vec<(u32, u32)>,
    /// Each input's condition, in declaration order.
    pub inputs: Vec<InputState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidDeclaration {
    /// At least one.
    pub errors: Vec<FileError>,
    /// The uuid, if that much could be read.
    pub asset_uuid: Option<Uuid>,
    /// `None` when the file could not be read at all.
    pub stamp: Option<FileStamp>,
}

impl DeclarationState {
    pub fn declaration(&self) -> Option<&Declaration> {
        match self {
            DeclarationState::Valid(v) => Some(&v.declaration),
            _ => None,
        }
    }

    /// The uuid written in the file, when it could be read.
    pub fn asset_uuid(&self) -> Option<Uuid> {
        match self {
            DeclarationState::Valid(v) => Some(v.declaration.asset_uuid),
            DeclarationState::Invalid(i) => i.asset_uuid,
            DeclarationState::Missing => None,
        }
    }

    pub fn stamp(&self) -> Option<&FileStamp> {
        match self {
            DeclarationState::Valid(v) => Some(&v.stamp),
            DeclarationState::Invalid(i) => i.stamp.as_ref(),
            DeclarationState::Missing => None,
        }
    }
}

/// A registered asset as the snapshot sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRecord {
    pub entry: RegistryEntry,
    pub declaration: DeclarationState,
    pub status: AssetStatus,
}

impl AssetRecord {
    /// The asset's own declaration at its root, if it has one. An asset that left its
    /// root (`moved`, `missing`) has none there: the `asset.json` at that root, if any,
    /// is another asset's that moved in, which nothing done to this asset may read,
    /// move, rewrite or delete.
    pub fn own_declaration(&self) -> Option<&DeclarationState> {
        match self.status {
            AssetStatus::Moved | AssetStatus::Missing => None,
            AssetStatus::Ok | AssetStatus::Invalid | AssetStatus::Conflict => {
                Some(&self.declaration)
            }
        }
    }
}

/// An `asset.json` at a root the registry does not list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundDeclaration {
    pub root: AssetPath,
    pub declaration: DeclarationState,
}

/// How an asset is named on the command line or in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssetQuery {
    Id(AssetId),
    Uuid(Uuid),
    Root(AssetPath),
}

impl AssetQuery {
    /// Reads `ASSET` as written by a person: a number is an id, a UUID a uuid, anything
    /// else a root path.
    pub fn parse(text: &str) -> Result<AssetQuery, String> {
        // Digits only: `+1` or ` 1` is a folder's name, as any other text is. A number too
        // large for an id is not quietly taken for a folder either.
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return text.parse::<u64>().map(|id| AssetQuery::Id(AssetId(id))).map_err(|_| {
                format!(
                    "`{text}` is not an asset id: the largest is {}; for a folder of that name write `./{text}`",
                    u64::MAX
                )
            });
        }
        if let Ok(uuid) = Uuid::try_parse(text) {
            return Ok(AssetQuery::Uuid(uuid));
        }
        let trimmed = text.trim_end_matches('/');
        let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
        AssetPath::new(trimmed)
            .map(AssetQuery::Root)
            .map_err(|e| format!("`{text}` is neither an asset id, a uuid nor a valid root: {e}"))
    }
}

/// The registry as loaded: valid, or the errors that make the project `failed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryState {
    Valid {
        registry: Registry,
        stamp: FileStamp,
        /// Line and column of each entry, in id order.
        entry_positions: Vec<(u32, u32)>,
    },
    Invalid {
        errors: Vec<FileError>,
        stamp: Option<FileStamp>,
    },
}

impl RegistryState {
    /// What the snapshot recorded of `index.json`, when it could be read at all.
    pub fn stamp(&self) -> Option<&FileStamp> {
        match self {
            RegistryState::Valid { stamp, .. } => Some(stamp),
            RegistryState::Invalid { stamp, .. } => stamp.as_ref(),
        }
    }
}

/// An immutable picture of the workspace at one generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    generation: u64,
    state: ProjectState,
    registry: RegistryState,
    /// Chunked: a generation derived from another shares the chunks of records it kept.
    assets: Chunked<AssetRecord>,
    /// The ids of `assets`, in the same order: lookups by id search this compact copy
    /// (8 bytes an asset, not a whole record) so that a read touches few cache lines.
    ids: Arc<[AssetId]>,
    unregistered: Vec<FoundDeclaration>,
    drifts: Vec<Drift>,
    /// Problems with the workspace as a whole (a folder that cannot be listed).
    workspace_errors: Vec<Diagnostic>,
    /// In a snapshot failed by an unreadable registry: the errors of every `asset.json`
    /// that does not read, by root. A merge that conflicts in `index.json` often
    /// conflicts in an `asset.json` too, and `doctor` names both at once.
    declaration_errors: Vec<Diagnostic>,
    /// The assets by root and by uuid, for [`Snapshot::find`].
    lookup: Lookup,
}

/// The positions of the registered assets by root and by uuid, made the first time a
/// read looks one up that way: a client asking for thousands of assets by root, one
/// request each, made each request a pass over the whole registry. Not part of what a
/// snapshot is: two snapshots are equal whether or not either made it.
///
/// A generation that keeps every asset's id, uuid and root in place shares the maps of
/// the one it was derived from ([`Lookup::shared`]), made or not: a commit that toggles
/// a flag does not make the next read by root rebuild them.
#[derive(Default)]
struct Lookup(Arc<OnceLock<LookupMaps>>);

struct LookupMaps {
    by_root: FxHashMap<AssetPath, usize>,
    by_uuid: FxHashMap<Uuid, usize>,
}

impl Lookup {
    /// The same maps, for a snapshot whose assets have the same roots and uuids at the
    /// same places.
    fn shared(&self) -> Lookup {
        Lookup(Arc::clone(&self.0))
    }

    fn maps(&self, assets: &Chunked<AssetRecord>) -> &LookupMaps {
        self.0.get_or_init(|| {
            let mut maps = LookupMaps {
                by_root: FxHashMap::default(),
                by_uuid: FxHashMap::default(),
            };
            maps.by_root.reserve(assets.len());
            maps.by_uuid.reserve(assets.len());
            // The first of a root or uuid listed twice, as a search in id order finds.
            for (i, asset) in assets.iter().enumerate() {
                maps.by_root.entry(asset.entry.root.clone()).or_insert(i);
                maps.by_uuid.entry(asset.entry.asset_uuid).or_insert(i);
            }
            maps
        })
    }
}

impl Clone for Lookup {
    /// A copy starts without the maps: the copy's assets may change before it is read.
    fn clone(&self) -> Lookup {
        Lookup::default()
    }
}

impl PartialEq for Lookup {
    fn eq(&self, _: &Lookup) -> bool {
        true
    }
}

impl Eq for Lookup {}

impl fmt::Debug for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Lookup")
    }
}

/// The ids of `assets`, in order, for [`Snapshot::asset`].
fn ids_of(assets: &Chunked<AssetRecord>) -> Arc<[AssetId]> {
    assets.iter().map(|a| a.entry.asset_id).collect()
}

impl Snapshot {
    /// Loads the workspace through `port` as generation `generation`. Never fails: what
    /// cannot be read becomes errors in the snapshot, and its state says so.
    pub fn load(port: &dyn WorkspacePort, generation: u64) -> Snapshot {
        load::load(port, generation, false).0
    }

    /// [`load`](Self::load), and the stamp of every present input of the registered
    /// assets as the load saw it, for an observer's first verification to compare with:
    /// the walk looks at each file it lists (one more system call a file on a real disk),
    /// which costs less than a stat of each input's path afterwards.
    pub fn load_stamped(port: &dyn WorkspacePort, generation: u64) -> (Snapshot, InputStamps) {
        let (snapshot, stamps) = load::load(port, generation, true);
        if snapshot.scan_error().is_some() {
            // Looking at each file can fail where listing does not (a folder that can be
            // read but not searched): such a walk must not fail a load that would not.
            return (
                load::load(port, generation, false).0,
                InputStamps::default(),
            );
        }
        (snapshot, stamps.unwrap_or_default())
    }

    /// A snapshot of a project that cannot be trusted: no assets, the registry's first
    /// error as drift.
    fn failed(
        generation: u64,
        registry: RegistryState,
        workspace_errors: Vec<Diagnostic>,
        declaration_errors: Vec<Diagnostic>,
    ) -> Snapshot {
        let drifts = match &registry {
            RegistryState::Invalid { errors, .. } => errors
                .iter()
                .take(1)
                .map(|e| Drift::RegistryInvalid {
                    error: e.located.clone(),
                })
                .collect(),
            RegistryState::Valid { .. } => Vec::new(),
        };
        Snapshot {
            generation,
            state: ProjectState::Failed,
            registry,
            assets: Chunked::new(),
            ids: Arc::from([]),
            lookup: Lookup::default(),
            unregistered: Vec::new(),
            drifts,
            workspace_errors,
            declaration_errors,
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn state(&self) -> ProjectState {
        self.state
    }

    /// The registry, unless it could not be read.
    pub fn registry(&self) -> Option<&Registry> {
        match &self.registry {
            RegistryState::Valid { registry, .. } => Some(registry),
            RegistryState::Invalid { .. } => None,
        }
    }

    pub fn registry_state(&self) -> &RegistryState {
        &self.registry
    }

    /// Registered assets in id order (empty when the registry is unreadable).
    pub fn assets(&self) -> &Chunked<AssetRecord> {
        &self.assets
    }

    pub fn asset(&self, id: AssetId) -> Option<&AssetRecord> {
        self.ids
            .binary_search(&id)
            .ok()
            .and_then(|i| self.assets.get(i))
    }

    /// The registered asset named by `query`.
    pub fn find(&self, query: &AssetQuery) -> Option<&AssetRecord> {
        match query {
            AssetQuery::Id(id) => self.asset(*id),
            AssetQuery::Uuid(uuid) => {
                let i = self.lookup.maps(&self.assets).by_uuid.get(uuid)?;
                self.assets.get(*i)
            }
            AssetQuery::Root(root) => self.registered_at(root.as_str()),
        }
    }

    /// The registered asset whose root is `root`.
    pub fn registered_at(&self, root: &str) -> Option<&AssetRecord> {
        let i = self.lookup.maps(&self.assets).by_root.get(root)?;
        self.assets.get(*i)
    }

    /// `asset.json` files at roots the registry does not list, by root.
    pub fn unregistered(&self) -> &[FoundDeclaration] {
        &self.unregistered
    }

    /// The `asset.json` at `root` that the registry does not list.
    pub fn unregistered_at(&self, root: &AssetPath) -> Option<&FoundDeclaration> {
        // Sorted by root: the loader keeps them so.
        let i = self
            .unregistered
            .binary_search_by(|f| f.root.cmp(root))
            .ok()?;
        self.unregistered.get(i)
    }

    /// Whether an `asset.json` the registry does not list lies at, above or below `root`.
    pub fn unregistered_nests_with(&self, root: &AssetPath) -> bool {
        let found = &self.unregistered;
        let at_or_above = root
            .at_and_above()
            .any(|r| found.binary_search_by(|f| f.root.as_str().cmp(r)).is_ok());
        at_or_above || !root.below_in(found, |f| f.root.as_str()).is_empty()
    }

    pub fn drifts(&self) -> &[Drift] {
        &self.drifts
    }

    /// Every diagnostic, in a stable order: workspace, registry, then per asset in id
    /// order, then unregistered declarations by root.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        crate::doctor::diagnostics(self)
    }

    pub(crate) fn workspace_errors(&self) -> &[Diagnostic] {
        &self.workspace_errors
    }

    pub(crate) fn declaration_errors(&self) -> &[Diagnostic] {
        &self.declaration_errors
    }

    /// Why the workspace could not be scanned (a folder that cannot be listed), if it
    /// could not: the snapshot then holds no asset, even with a readable registry, so
    /// its empty lists say nothing about the project.
    pub fn scan_error(&self) -> Option<&Diagnostic> {
        self.workspace_errors.first()
    }
}

/// Input errors are positioned diagnostics but drift too: a declaration whose input
/// escapes its root does not validate.
pub(crate) fn input_error(
    root: &AssetPath,
    valid: &ValidDeclaration,
    index: usize,
    reason: &str,
) -> Located {
    let (line, column) = valid.input_positions.get(index).copied().unwrap_or((1, 1));
    let input = valid
        .declaration
        .inputs
        .get(index)
        .map_or_else(String::new, |i| i.to_string());
    Located {
        file: root.declaration_path().display_in_project(),
        line,
        column,
        message: format!("the input `{input}` is not usable: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<&str, &str>) {
        let got = AssetQuery::parse(text).map(|query| match query {
            AssetQuery::Id(id) => format!("id {}", id.0),
            AssetQuery::Uuid(uuid) => format!("uuid {uuid}"),
            AssetQuery::Root(root) => format!("root {root}"),
        });
        assert_eq!(
            got.as_deref(),
            expected.map_err(str::to_owned).as_deref(),
            "{text:?}"
        );
    }

    #[test]
    fn an_asset_is_named_by_digits_a_uuid_or_a_root() {
        check("7", Ok("id 7"));
        check("007", Ok("id 7"));
        check("18446744073709551615", Ok("id 18446744073709551615"));
        check(
            "6F1C2D0E-8A57-4B6E-9A53-0C0B6A1D2E11",
            Ok("uuid 6f1c2d0e-8a57-4b6e-9a53-0c0b6a1d2e11"),
        );
        check("./2024/", Ok("root 2024"));
        // Only digits make an id: a sign or a space belongs to a folder's name.
        check("+1", Ok("root +1"));
        check("-1", Ok("root -1"));
        check("1.0", Ok("root 1.0"));
        check(
            "18446744073709551616",
            Err("`18446744073709551616` is not an asset id: the largest is \
                 18446744073709551615; for a folder of that name write `./18446744073709551616`"),
        );
    }
}
