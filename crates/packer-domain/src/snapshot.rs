//! The snapshot: an immutable, generation-numbered picture of the workspace, and the
//! pure loader that builds one through a [`WorkspacePort`].
//!
//! A snapshot holds the registry, each registered asset's parsed declaration (or its
//! errors), every `asset.json` the registry does not list, the stamps of the files it
//! was built from and the drift found. Reads are answered from it, never from the disk.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use std::fmt;
use std::sync::OnceLock;

use uuid::Uuid;

use crate::declaration::{Declaration, DeclarationFailure};
use crate::diagnostics::{Code, Diagnostic, FileError, FormatError, Severity};
use crate::drift::{self, Drift, FoundView, RegisteredView};
use crate::location::{LineIndex, Located, line_col};
use crate::path::{AssetPath, DECLARATION_FILE, WsPath};
use crate::ports::{
    EntryKind, FileRead, Fingerprint, LinkTarget, PortError, PortErrorKind, ReadRequest,
    ScanOptions, WorkspacePort,
};
use crate::registry::{AssetId, Registry, RegistryEntry};

/// Largest `asset.json` the packer reads.
pub const MAX_DECLARATION_BYTES: u64 = 1 << 20;
/// Largest `index.json` the packer reads (about a million assets).
pub const MAX_REGISTRY_BYTES: u64 = 256 << 20;
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
    fn of(read: &FileRead) -> FileStamp {
        FileStamp {
            fingerprint: read.fingerprint,
            hash: ContentHash::of(&read.bytes),
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
    Valid(ValidDeclaration),
    Invalid(InvalidDeclaration),
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
        if let Ok(id) = text.parse::<u64>() {
            return Ok(AssetQuery::Id(AssetId(id)));
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

/// An immutable picture of the workspace at one generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    generation: u64,
    state: ProjectState,
    registry: RegistryState,
    assets: Vec<AssetRecord>,
    unregistered: Vec<FoundDeclaration>,
    drifts: Vec<Drift>,
    /// Problems with the workspace as a whole (a folder that cannot be listed).
    workspace_errors: Vec<Diagnostic>,
}

impl Snapshot {
    /// Loads the workspace through `port` as generation `generation`. Never fails: what
    /// cannot be read becomes errors in the snapshot, and its state says so.
    pub fn load(port: &dyn WorkspacePort, generation: u64) -> Snapshot {
        let entries = match port.scan(ScanOptions::default()) {
            Ok(entries) => entries,
            Err(error) => {
                let registry = registry_state(port.read(&registry_path(), MAX_REGISTRY_BYTES));
                return Snapshot::failed(generation, registry, vec![scan_failed(&error)]);
            }
        };
        let listing = Listing::new(entries);
        let (registry, found) = read_files(port, &listing);
        match &registry {
            RegistryState::Valid {
                registry: valid, ..
            } => {
                let parts = assemble(valid, found, &listing);
                drop(listing);
                Snapshot {
                    generation,
                    state: ProjectState::from_drifts(&parts.drifts, false),
                    registry,
                    assets: parts.assets,
                    unregistered: parts.unregistered,
                    drifts: parts.drifts,
                    workspace_errors: Vec::new(),
                }
            }
            RegistryState::Invalid { .. } => Snapshot::failed(generation, registry, Vec::new()),
        }
    }

    /// A snapshot of a project that cannot be trusted: no assets, the registry's first
    /// error as drift.
    fn failed(
        generation: u64,
        registry: RegistryState,
        workspace_errors: Vec<Diagnostic>,
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
            assets: Vec::new(),
            unregistered: Vec::new(),
            drifts,
            workspace_errors,
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
    pub fn assets(&self) -> &[AssetRecord] {
        &self.assets
    }

    pub fn asset(&self, id: AssetId) -> Option<&AssetRecord> {
        self.assets
            .binary_search_by_key(&id, |a| a.entry.asset_id)
            .ok()
            .map(|i| &self.assets[i])
    }

    /// The registered asset named by `query`.
    pub fn find(&self, query: &AssetQuery) -> Option<&AssetRecord> {
        match query {
            AssetQuery::Id(id) => self.asset(*id),
            AssetQuery::Uuid(uuid) => self.assets.iter().find(|a| a.entry.asset_uuid == *uuid),
            AssetQuery::Root(root) => self.assets.iter().find(|a| a.entry.root == *root),
        }
    }

    /// `asset.json` files at roots the registry does not list, by root.
    pub fn unregistered(&self) -> &[FoundDeclaration] {
        &self.unregistered
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
}

fn scan_failed(error: &PortError) -> Diagnostic {
    Diagnostic {
        code: Code::ReadFailed,
        severity: Severity::Error,
        file: Some(error.path.display_in_project()),
        line: None,
        column: None,
        message: format!("the workspace cannot be scanned: {error}"),
        hint: Some("check the folder's permissions".to_owned()),
        excerpt: None,
        asset_id: None,
    }
}

/// The registry as read (or not) from `index.json`.
fn registry_state(result: Result<FileRead, PortError>) -> RegistryState {
    let file = registry_path().display_in_project();
    let read = match result {
        Ok(read) => read,
        Err(error) => {
            let (code, hint) = match error.kind {
                PortErrorKind::NotFound => (
                    Code::ReadFailed,
                    "run `prometeu-packer init` to create a project, or restore the file from version control",
                ),
                PortErrorKind::TooLarge => (
                    Code::FileTooLarge,
                    "the registry is far larger than any project needs; restore it from version control",
                ),
                _ => (Code::ReadFailed, "check the file's permissions"),
            };
            return RegistryState::Invalid {
                errors: vec![FileError::unreadable(
                    code,
                    &file,
                    error.to_string(),
                    Some(hint.to_owned()),
                )],
                stamp: None,
            };
        }
    };
    let stamp = FileStamp::of(&read);
    match Registry::parse_located(&read.bytes) {
        Ok((registry, offsets)) => RegistryState::Valid {
            registry,
            stamp,
            entry_positions: {
                let lines = LineIndex::new(&read.bytes);
                offsets.iter().map(|&o| lines.line_col(o)).collect()
            },
        },
        Err(errors) => RegistryState::Invalid {
            errors: file_errors(&errors, &file, &read.bytes),
            stamp: Some(stamp),
        },
    }
}

/// The format errors of `file` (whose bytes are `text`), placed.
fn file_errors(errors: &[FormatError], file: &str, text: &[u8]) -> Vec<FileError> {
    let lines = LineIndex::new(text);
    errors
        .iter()
        .map(|e| FileError::from_format(e, file, &lines))
        .collect()
}

/// The scan, indexed for lookups by path.
struct Listing {
    kinds: FxHashMap<WsPath, EntryKind>,
    /// Roots holding an `asset.json` (a regular file, or a link to one inside).
    declaration_roots: Vec<AssetPath>,
}

impl Listing {
    fn new(entries: Vec<crate::ports::ScanEntry>) -> Listing {
        let mut declaration_roots = Vec::new();
        let mut kinds = FxHashMap::with_capacity_and_hasher(entries.len(), Default::default());
        for entry in entries {
            if entry.path.file_name() == DECLARATION_FILE
                && !matches!(entry.kind, EntryKind::Dir)
                && let Some(root) = entry
                    .path
                    .parent()
                    .filter(|p| !p.is_root())
                    .and_then(|p| AssetPath::from_ws(p).ok())
            {
                declaration_roots.push(root);
            }
            kinds.insert(entry.path, entry.kind);
        }
        declaration_roots.sort();
        Listing {
            kinds,
            declaration_roots,
        }
    }

    /// Resolves `input` of the asset at `root` through the listing, following links
    /// that stay inside the root.
    fn input_state(&self, root: &AssetPath, input: &AssetPath) -> InputState {
        let root = root.as_ws();
        let mut path = root.join(input.as_ws());
        // Each step resolves one link; a chain longer than this is a loop to us.
        for _ in 0..16 {
            match self.kinds.get(&path) {
                Some(EntryKind::File) => return InputState::Present,
                Some(EntryKind::Dir) => {
                    return InputState::NotConfined("it is a directory, not a file".to_owned());
                }
                Some(EntryKind::Symlink(target)) => match target {
                    LinkTarget::Inside { path: target, .. } if target.starts_with(root) => {
                        path = target.clone();
                        continue;
                    }
                    LinkTarget::Inside { .. } | LinkTarget::Outside => {
                        return InputState::NotConfined(
                            "it is a symbolic link that leads outside the asset folder".to_owned(),
                        );
                    }
                    LinkTarget::Dangling => return InputState::Missing,
                },
                None => {}
            }
            // Not listed: maybe a folder on the way is a link the scan did not enter.
            match self.linked_ancestor(root, &path) {
                Some((link, target, rest)) => match target {
                    LinkTarget::Inside { path: target, .. } if target.starts_with(root) => {
                        path = target.join(&rest);
                    }
                    LinkTarget::Inside { .. } | LinkTarget::Outside => {
                        return InputState::NotConfined(format!(
                            "`{link}` is a symbolic link that leads outside the asset folder"
                        ));
                    }
                    LinkTarget::Dangling => return InputState::Missing,
                },
                None => return InputState::Missing,
            }
        }
        InputState::NotConfined("its symbolic links form a loop".to_owned())
    }

    /// The nearest folder between `root` (exclusive) and `path` that is a link, with the
    /// rest of `path` below it.
    fn linked_ancestor(
        &self,
        root: &WsPath,
        path: &WsPath,
    ) -> Option<(WsPath, LinkTarget, WsPath)> {
        let mut current = path.parent()?;
        while current.starts_with(root) && current != *root {
            if let Some(EntryKind::Symlink(target)) = self.kinds.get(&current) {
                let rest = path.strip_prefix(&current)?;
                return Some((current, target.clone(), rest));
            }
            current = current.parent()?;
        }
        None
    }
}

/// Reads and parses `index.json` and every `asset.json` the scan found in one batch,
/// so that the registry is parsed while the declarations are read, in parallel where
/// the port can.
fn read_files(
    port: &dyn WorkspacePort,
    listing: &Listing,
) -> (RegistryState, BTreeMap<AssetPath, DeclarationState>) {
    let mut requests = Vec::with_capacity(listing.declaration_roots.len() + 1);
    requests.push(ReadRequest {
        path: registry_path(),
        limit: MAX_REGISTRY_BYTES,
    });
    requests.extend(listing.declaration_roots.iter().map(|root| ReadRequest {
        path: root.declaration_path(),
        limit: MAX_DECLARATION_BYTES,
    }));
    let registry: OnceLock<RegistryState> = OnceLock::new();
    let slots: Vec<OnceLock<DeclarationState>> = listing
        .declaration_roots
        .iter()
        .map(|_| OnceLock::new())
        .collect();
    port.read_many(&requests, &|index, result| {
        if index == 0 {
            let _ = registry.set(registry_state(result));
        } else if let (Some(slot), Some(request)) = (slots.get(index - 1), requests.get(index)) {
            let _ = slot.set(parse_declaration(&request.path, result));
        }
    });
    let undelivered = |path: &WsPath| {
        FileError::unreadable(
            Code::ReadFailed,
            &path.display_in_project(),
            "the workspace adapter did not deliver this file".to_owned(),
            None,
        )
    };
    let registry = registry
        .into_inner()
        .unwrap_or_else(|| RegistryState::Invalid {
            errors: vec![undelivered(&registry_path())],
            stamp: None,
        });
    let found = listing
        .declaration_roots
        .iter()
        .cloned()
        .zip(slots)
        .map(|(root, slot)| {
            let state = slot.into_inner().unwrap_or_else(|| {
                DeclarationState::Invalid(InvalidDeclaration {
                    errors: vec![undelivered(&root.declaration_path())],
                    asset_uuid: None,
                    stamp: None,
                })
            });
            (root, state)
        })
        .collect();
    (registry, found)
}

fn parse_declaration(path: &WsPath, result: Result<FileRead, PortError>) -> DeclarationState {
    let file = path.display_in_project();
    let read = match result {
        Ok(read) => read,
        Err(error) => {
            let (code, hint) = match error.kind {
                PortErrorKind::TooLarge => {
                    (Code::FileTooLarge, "a declaration is a few lines of JSON")
                }
                PortErrorKind::OutsideWorkspace => (
                    Code::InputNotConfined,
                    "asset.json must be a file inside the workspace, not a link out of it",
                ),
                _ => (Code::ReadFailed, "check the file's permissions"),
            };
            return DeclarationState::Invalid(InvalidDeclaration {
                errors: vec![FileError::unreadable(
                    code,
                    &file,
                    error.to_string(),
                    Some(hint.to_owned()),
                )],
                asset_uuid: None,
                stamp: None,
            });
        }
    };
    let stamp = FileStamp::of(&read);
    match Declaration::parse(&read.bytes) {
        Ok(parsed) => DeclarationState::Valid(ValidDeclaration {
            uuid_position: line_col(&read.bytes, parsed.uuid_offset),
            input_positions: parsed
                .input_offsets
                .iter()
                .map(|&o| line_col(&read.bytes, o))
                .collect(),
            inputs: Vec::new(),
            declaration: parsed.declaration,
            stamp,
        }),
        Err(DeclarationFailure { errors, asset_uuid }) => {
            DeclarationState::Invalid(InvalidDeclaration {
                errors: file_errors(&errors, &file, &read.bytes),
                asset_uuid,
                stamp: Some(stamp),
            })
        }
    }
}

/// What [`assemble`] makes of a load.
struct Assembled {
    assets: Vec<AssetRecord>,
    unregistered: Vec<FoundDeclaration>,
    drifts: Vec<Drift>,
}

/// Joins registry, declarations and listing into records and classifies drift.
fn assemble(
    registry: &Registry,
    mut found: BTreeMap<AssetPath, DeclarationState>,
    listing: &Listing,
) -> Assembled {
    // Resolve inputs of every valid declaration.
    for (root, state) in &mut found {
        if let DeclarationState::Valid(valid) = state {
            valid.inputs = valid
                .declaration
                .inputs
                .iter()
                .map(|input| listing.input_state(root, input))
                .collect();
        }
    }
    let mut assets: Vec<AssetRecord> = registry
        .assets()
        .iter()
        .map(|entry| AssetRecord {
            declaration: found
                .remove(&entry.root)
                .unwrap_or(DeclarationState::Missing),
            entry: entry.clone(),
            status: AssetStatus::Ok,
        })
        .collect();
    let unregistered: Vec<FoundDeclaration> = found
        .into_iter()
        .map(|(root, declaration)| FoundDeclaration { root, declaration })
        .collect();

    let drifts = classify(&assets, &unregistered);
    let mut status: FxHashMap<AssetId, AssetStatus> = FxHashMap::default();
    for drift in &drifts {
        let (Some(id), Some(new)) = (drift.asset_id(), status_of(drift)) else {
            continue;
        };
        let current = status.entry(id).or_insert(AssetStatus::Ok);
        if rank(new) > rank(*current) {
            *current = new;
        }
    }
    for asset in &mut assets {
        if let Some(s) = status.get(&asset.entry.asset_id) {
            asset.status = *s;
        }
    }
    Assembled {
        assets,
        unregistered,
        drifts,
    }
}

fn classify(assets: &[AssetRecord], unregistered: &[FoundDeclaration]) -> Vec<Drift> {
    let registered: Vec<RegisteredView<'_>> = assets
        .iter()
        .map(|asset| RegisteredView {
            asset_id: asset.entry.asset_id,
            asset_uuid: asset.entry.asset_uuid,
            root: &asset.entry.root,
            found: found_view(&asset.entry.root, &asset.declaration),
        })
        .collect();
    let loose: BTreeMap<AssetPath, FoundView<'_>> = unregistered
        .iter()
        .filter_map(|f| Some((f.root.clone(), found_view(&f.root, &f.declaration)?)))
        .collect();
    drift::classify(&registered, &loose)
}

fn found_view<'a>(root: &AssetPath, state: &'a DeclarationState) -> Option<FoundView<'a>> {
    match state {
        DeclarationState::Missing => None,
        DeclarationState::Invalid(invalid) => Some(FoundView {
            asset_uuid: invalid.asset_uuid,
            error: invalid.errors.first().map(|e| &e.located),
            missing_inputs: Vec::new(),
            input_errors: Vec::new(),
        }),
        DeclarationState::Valid(valid) => Some(FoundView {
            asset_uuid: Some(valid.declaration.asset_uuid),
            error: None,
            missing_inputs: valid
                .declaration
                .inputs
                .iter()
                .zip(&valid.inputs)
                .filter(|(_, s)| **s == InputState::Missing)
                .map(|(input, _)| root.join(input))
                .collect(),
            input_errors: valid
                .inputs
                .iter()
                .enumerate()
                .filter_map(|(i, s)| match s {
                    InputState::NotConfined(reason) => Some(input_error(root, valid, i, reason)),
                    _ => None,
                })
                .collect(),
        }),
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

fn status_of(drift: &Drift) -> Option<AssetStatus> {
    Some(match drift {
        Drift::RootMissing { .. } => AssetStatus::Missing,
        Drift::RootMoved { .. } => AssetStatus::Moved,
        Drift::UuidMismatch { .. } | Drift::DuplicateUuid { .. } => AssetStatus::Conflict,
        Drift::DeclarationInvalid { .. } | Drift::InputMissing { .. } => AssetStatus::Invalid,
        Drift::DeclarationChanged { .. }
        | Drift::InputChanged { .. }
        | Drift::RegistryChanged
        | Drift::RegistryInvalid { .. }
        | Drift::UnregisteredAsset { .. } => return None,
    })
}

/// Which status wins when an asset has several drifts.
fn rank(status: AssetStatus) -> u8 {
    match status {
        AssetStatus::Ok => 0,
        AssetStatus::Invalid => 1,
        AssetStatus::Conflict => 2,
        AssetStatus::Moved => 3,
        AssetStatus::Missing => 4,
    }
}
