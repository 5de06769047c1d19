//! The loader: a [`Snapshot`] from one pass over the workspace through
//! [`WorkspacePort::scan_and_read`], which lists every folder while it reads `index.json`
//! and every `asset.json` it finds.
//!
//! The domain starts no thread, so the work that can run in parallel is done where the
//! port runs it: in the sink. There `index.json` is parsed (and its roots indexed), and
//! each `asset.json` is parsed, its inputs resolved against the listing of its own
//! folder (which comes with it) and its registry entry looked up. What that folder's
//! listing cannot answer (an input in a subfolder, a link that leads elsewhere in the
//! root) is resolved after the walk against the whole listing (the lookups and the walk
//! along links are in `inputs.rs`). What stays on the calling thread is moving each
//! declaration to its entry in registry order and classifying drift.
//!
//! Nothing here depends on the order of deliveries: declarations that come before the
//! registry wait for it, and the result is the same for every order (memfs delivers in
//! an order chosen to show it).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use rustc_hash::{FxHashMap, FxHashSet};

use crate::chunked::Chunked;
use crate::declaration::{Declaration, DeclarationFailure};
use crate::diagnostics::{Code, Diagnostic, FileError, FormatErrors, Severity};
use crate::drift::{self, Drift, FoundView, RegisteredView};
use crate::listing::{ListedDir, Listing};
use crate::location::LineIndex;
use crate::observe::InputStamps;
use crate::path::{AssetPath, DECLARATION_FILE, WsPath};
use crate::ports::{
    EntryKind, FileView, PortError, PortErrorKind, ReadRequest, ScanDelivery, ScanOptions,
    ScanReads, WorkspacePort,
};
use crate::registry::{AssetId, Registry, RegistryEntry};

use super::inputs::{
    FolderKinds, ListingKinds, SomeFolders, Unknown, push_joined, resolve_input, split_parent,
};
use super::{
    AssetRecord, AssetStatus, DeclarationState, FileStamp, FoundDeclaration, InputState,
    InvalidDeclaration, MAX_DECLARATION_BYTES, MAX_FILE_ERRORS, MAX_REGISTRY_BYTES, ProjectState,
    RegistryState, Snapshot, ValidDeclaration, input_error, registry_path,
};

/// The snapshot of generation `generation`; with `stamp_inputs`, also the stamp of
/// every present input of its registered assets, from the walk's own look at each file
/// (one `fstatat` beside its folder's handle) rather than a stat of each path after.
pub(super) fn load(
    port: &dyn WorkspacePort,
    generation: u64,
    stamp_inputs: bool,
) -> (Snapshot, Option<InputStamps>) {
    let requests = [ReadRequest {
        path: registry_path(),
        limit: MAX_REGISTRY_BYTES,
    }];
    let reads = ScanReads {
        requests: &requests,
        file_name: DECLARATION_FILE,
        limit: MAX_DECLARATION_BYTES,
    };
    let registry: OnceLock<RegistryState> = OnceLock::new();
    let roots: OnceLock<Roots<'_>> = OnceLock::new();
    let delivered = Delivered::default();
    let options = ScanOptions {
        fingerprints: stamp_inputs,
    };
    let walked = port.scan_and_read(options, &reads, &|delivery| match delivery {
        ScanDelivery::Request { index, result } => {
            if index == 0
                && registry.set(registry_state(result)).is_ok()
                && let Some(RegistryState::Valid {
                    registry: valid, ..
                }) = registry.get()
            {
                let roots = roots.get_or_init(|| Roots::new(valid.assets()));
                delivered.take_waiting(roots);
            }
        }
        ScanDelivery::Found { dir, result } => {
            if let Some(one) = found_declaration(dir, result) {
                delivered.take(one, &roots);
            }
        }
    });
    let entries = match registry.get() {
        Some(RegistryState::Valid { registry, .. }) => Some(registry.assets()),
        _ => None,
    };
    let (Ok(listing), Some(entries)) = (&walked, entries) else {
        drop(roots);
        let workspace_errors = match &walked {
            Err(error) => vec![scan_failed(error)],
            Ok(_) => Vec::new(),
        };
        let declaration_errors = unreadable_declarations(delivered.into_lists());
        let snapshot = Snapshot::failed(
            generation,
            registry_of(registry),
            workspace_errors,
            declaration_errors,
        );
        // No asset, no input to stamp.
        return (snapshot, stamp_inputs.then(InputStamps::default));
    };
    let roots = roots.into_inner().unwrap_or_else(|| Roots::new(entries));
    let count = delivered.count.load(Ordering::Relaxed);
    let Lists {
        mut placed,
        waiting,
        mut pending,
    } = delivered.into_lists();
    let listed = complete(&mut pending, listing);
    if listed != count {
        pending.extend(undelivered_roots(listing, [&placed, &waiting, &pending]));
    }
    // What the sink could not place (it came before the registry, or had inputs left)
    // is placed now; the few are kept apart so that `placed` is never copied.
    let mut late: Vec<Found> = waiting.into_iter().chain(pending).collect();
    for one in &mut late {
        roots.place(one);
    }
    // Every input's state is final here: stamped before the listing goes, as it goes
    // without stamps, so that the listing is never held beside the snapshot.
    let stamps = stamp_inputs.then(|| input_stamps(port, listing, placed.iter().chain(&late)));
    drop(walked);
    let (assets, unregistered) = gather(entries, &mut placed, &mut late);
    drop(roots);
    let snapshot = assemble(assets, unregistered).into_snapshot(generation, registry_of(registry));
    (snapshot, stamps)
}

/// The stamp of every present input of the registered declarations in `found`: the
/// fingerprint the walk took of it, or for one it did not reach as a plain file (a
/// link, a file in a linked folder), a stat of its path. An input that cannot be looked
/// at is left out (the verification's presence check covers it).
fn input_stamps<'f>(
    port: &dyn WorkspacePort,
    listing: &Listing,
    found: impl Iterator<Item = &'f Found>,
) -> InputStamps {
    let kinds = ListingKinds::new(listing);
    let mut stamps = FxHashMap::default();
    for one in found {
        let (Place::Registered { entry, .. }, DeclarationState::Valid(valid)) =
            (&one.place, &one.state)
        else {
            continue;
        };
        for (input, state) in valid.declaration.inputs.iter().zip(&valid.inputs) {
            if *state != InputState::Present {
                continue;
            }
            let path = entry.root.join(input).as_ws().clone();
            let walked = kinds
                .entry(path.as_str())
                .filter(|entry| *entry.kind == EntryKind::File)
                .and_then(|entry| entry.fingerprint);
            let stamp = match walked {
                Some(fingerprint) => Some(fingerprint),
                None => port.stat(&path).ok().flatten(),
            };
            if let Some(fingerprint) = stamp {
                stamps.insert(path, fingerprint);
            }
        }
    }
    InputStamps::of(stamps)
}

/// The errors of the declarations found that do not read, by root: what a failed
/// snapshot still says about them, since no registry places them.
fn unreadable_declarations(lists: Lists) -> Vec<Diagnostic> {
    let Lists {
        placed,
        waiting,
        pending,
    } = lists;
    let mut invalid: Vec<(AssetPath, Vec<FileError>)> = placed
        .into_iter()
        .chain(waiting)
        .chain(pending)
        .filter_map(|one| match (one.place.root(), one.state) {
            (Some(root), DeclarationState::Invalid(invalid)) => {
                Some((root.clone(), invalid.errors.clone()))
            }
            _ => None,
        })
        .collect();
    invalid.sort_by(|a, b| a.0.cmp(&b.0));
    invalid
        .into_iter()
        .flat_map(|(_, errors)| errors)
        .map(|e| e.to_diagnostic())
        .collect()
}

/// The registry as delivered, or the error of a port that did not deliver it.
fn registry_of(registry: OnceLock<RegistryState>) -> RegistryState {
    registry
        .into_inner()
        .unwrap_or_else(|| RegistryState::Invalid {
            errors: vec![undelivered(&registry_path())],
            stamp: None,
        })
}

/// An `asset.json` as the sink left it.
struct Found {
    place: Place,
    state: DeclarationState,
    /// Inputs (by index) that the folder's own listing could not resolve; they hold a
    /// placeholder until [`complete`] resolves them.
    pending: Vec<usize>,
}

/// Where a found `asset.json` belongs.
enum Place {
    /// Not known yet: the registry was not there when it came.
    Root(AssetPath),
    /// The registry entry at this index, rebuilt from the found root (equal to the
    /// entry's), so that placing costs no allocation.
    Registered { index: usize, entry: RegistryEntry },
    /// At a root the registry does not list.
    Unregistered(AssetPath),
    /// Moved into the snapshot.
    Taken,
}

impl Place {
    fn root(&self) -> Option<&AssetPath> {
        match self {
            Place::Root(root) | Place::Unregistered(root) => Some(root),
            Place::Registered { entry, .. } => Some(&entry.root),
            Place::Taken => None,
        }
    }
}

/// What the sink delivered, appended in arrival order: appending costs little, and
/// records only move to their place in the snapshot once, in [`gather`].
#[derive(Default)]
struct Delivered {
    lists: Mutex<Lists>,
    /// Every `asset.json` delivered, to notice one the port left out.
    count: AtomicUsize,
}

#[derive(Default)]
struct Lists {
    /// Placed by the sink.
    placed: Vec<Found>,
    /// Delivered before the registry was parsed.
    waiting: Vec<Found>,
    /// With inputs left for [`complete`].
    pending: Vec<Found>,
}

impl Delivered {
    fn lists(&self) -> MutexGuard<'_, Lists> {
        // A sink that panicked left the lists whole: a push or a swap is all that is
        // done under the lock.
        self.lists.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn into_lists(self) -> Lists {
        self.lists
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Places `one` if the registry is there yet, and keeps it.
    fn take(&self, mut one: Found, roots: &OnceLock<Roots<'_>>) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if !one.pending.is_empty() {
            self.lists().pending.push(one);
            return;
        }
        if let Some(roots) = roots.get() {
            roots.place(&mut one);
            self.lists().placed.push(one);
            return;
        }
        let mut lists = self.lists();
        // The registry's delivery sets `roots`, then takes `waiting` under this lock:
        // look again now that it is held.
        match roots.get() {
            Some(roots) => {
                drop(lists);
                roots.place(&mut one);
                self.lists().placed.push(one);
            }
            None => lists.waiting.push(one),
        }
    }

    /// Places what came before the registry, once `roots` is set.
    fn take_waiting(&self, roots: &Roots<'_>) {
        let mut waiting = {
            let mut lists = self.lists();
            // Room for every registered asset at once: growing by doubling would copy
            // the records already there, under the lock.
            let room = roots.entries.len().saturating_sub(lists.placed.len());
            lists.placed.reserve(room);
            std::mem::take(&mut lists.waiting)
        };
        for one in &mut waiting {
            roots.place(one);
        }
        self.lists().placed.append(&mut waiting);
    }
}

/// The registry's entries by root. Built on the port's thread that parsed the registry.
struct Roots<'r> {
    entries: &'r Chunked<RegistryEntry>,
    by_root: FxHashMap<&'r str, usize>,
}

impl<'r> Roots<'r> {
    fn new(entries: &'r Chunked<RegistryEntry>) -> Roots<'r> {
        let mut by_root = FxHashMap::with_capacity_and_hasher(entries.len(), Default::default());
        for (index, entry) in entries.iter().enumerate() {
            by_root.insert(entry.root.as_str(), index);
        }
        Roots { entries, by_root }
    }

    /// Decides where `one` belongs, if that is not known yet.
    fn place(&self, one: &mut Found) {
        let Place::Root(root) = std::mem::replace(&mut one.place, Place::Taken) else {
            return;
        };
        let found = self
            .by_root
            .get(root.as_str())
            .and_then(|&index| Some((index, self.entries.get(index)?)));
        one.place = match found {
            Some((index, entry)) => Place::Registered {
                index,
                entry: RegistryEntry {
                    asset_id: entry.asset_id,
                    asset_uuid: entry.asset_uuid,
                    root,
                    included_in_build: entry.included_in_build,
                },
            },
            None => Place::Unregistered(root),
        };
    }
}

/// Moves every placed declaration to its registry entry, in registry order (`Missing`
/// where none was found), and gives back the unregistered ones. Delivered twice, the
/// first one stands.
fn gather(
    entries: &Chunked<RegistryEntry>,
    placed: &mut [Found],
    late: &mut [Found],
) -> (Vec<AssetRecord>, Vec<Found>) {
    // Where each entry's declaration is: (in `late`, index in its list).
    let mut at: Vec<Option<(bool, usize)>> = vec![None; entries.len()];
    let mut unregistered = Vec::new();
    for (is_late, list) in [(false, &mut *placed), (true, &mut *late)] {
        for (position, one) in list.iter_mut().enumerate() {
            match &one.place {
                Place::Registered { index, .. } => {
                    if let Some(slot @ None) = at.get_mut(*index) {
                        *slot = Some((is_late, position));
                    }
                }
                Place::Unregistered(_) => {
                    let state = std::mem::replace(&mut one.state, DeclarationState::Missing);
                    unregistered.push(Found {
                        place: std::mem::replace(&mut one.place, Place::Taken),
                        state,
                        pending: Vec::new(),
                    });
                }
                Place::Root(_) | Place::Taken => {}
            }
        }
    }
    let assets = entries
        .iter()
        .zip(at)
        .map(|(entry, at)| {
            let one = match at {
                Some((false, position)) => placed.get_mut(position),
                Some((true, position)) => late.get_mut(position),
                None => None,
            };
            let taken = one.and_then(
                |one| match std::mem::replace(&mut one.place, Place::Taken) {
                    Place::Registered { entry, .. } => Some((
                        entry,
                        std::mem::replace(&mut one.state, DeclarationState::Missing),
                    )),
                    _ => None,
                },
            );
            let (entry, declaration) =
                taken.unwrap_or_else(|| (entry.clone(), DeclarationState::Missing));
            AssetRecord {
                entry,
                declaration,
                status: AssetStatus::Ok,
            }
        })
        .collect();
    (assets, unregistered)
}

/// The asset roots of `listing` that are in none of the `delivered` lists, each with an
/// error of its own.
fn undelivered_roots(listing: &Listing, delivered: [&[Found]; 3]) -> Vec<Found> {
    let seen: FxHashSet<&str> = delivered
        .iter()
        .flat_map(|list| list.iter())
        .filter_map(|f| Some(f.place.root()?.as_str()))
        .collect();
    listing
        .dirs()
        .filter(|dir| holds_declaration(dir) && !seen.contains(dir.path()))
        .filter_map(|dir| AssetPath::from_ws(dir.ws_path()).ok())
        .map(|root| Found {
            state: DeclarationState::Invalid(Arc::new(InvalidDeclaration {
                errors: vec![undelivered(&root.declaration_path())],
                asset_uuid: None,
                stamp: None,
            })),
            place: Place::Root(root),
            pending: Vec::new(),
        })
        .collect()
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

fn undelivered(path: &WsPath) -> FileError {
    FileError::unreadable(
        Code::ReadFailed,
        &path.display_in_project(),
        "the workspace adapter did not deliver this file".to_owned(),
        None,
    )
}

/// The registry as read (or not) from `index.json`.
fn registry_state(result: Result<FileView<'_>, PortError>) -> RegistryState {
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
                PortErrorKind::PermissionDenied => {
                    (Code::ReadFailed, "check the file's permissions")
                }
                PortErrorKind::OutsideWorkspace => (
                    Code::ReadFailed,
                    "index.json must be a file inside .prometeu, not a symbolic link out of it",
                ),
                // A folder, a FIFO or a broken link in its place: a permission would not
                // be the cause.
                _ => (
                    Code::ReadFailed,
                    "index.json must be a regular file inside the workspace; restore it from version control",
                ),
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
    let stamp = FileStamp::of(read);
    match Registry::parse_located(read.bytes) {
        Ok((registry, offsets)) => RegistryState::Valid {
            registry,
            stamp,
            entry_positions: {
                let lines = LineIndex::new(read.bytes);
                offsets.iter().map(|&o| lines.line_col(o)).collect()
            },
        },
        Err(errors) => RegistryState::Invalid {
            errors: file_errors(&errors, &file, read.bytes),
            stamp: Some(stamp),
        },
    }
}

/// The format errors of `file` (whose bytes are `text`), placed: the first
/// [`MAX_FILE_ERRORS`] of them.
fn file_errors(errors: &FormatErrors, file: &str, text: &[u8]) -> Vec<FileError> {
    let lines = LineIndex::new(text);
    let mut placed: Vec<FileError> = errors
        .list
        .iter()
        .take(MAX_FILE_ERRORS)
        .map(|e| FileError::from_format(e, file, &lines))
        .collect();
    let more = errors.total.saturating_sub(placed.len());
    if let Some(last) = placed.last_mut().filter(|_| more > 0) {
        let _ = write!(
            last.located.message,
            " ({more} more error{} in this file not listed: fix these, then check again)",
            if more == 1 { "" } else { "s" }
        );
    }
    placed
}

/// Whether `dir` is an asset root: a folder below `assets/` holding an `asset.json` that
/// can be read (a regular file, or a link, read wherever it leads inside).
fn holds_declaration(dir: &ListedDir<'_>) -> bool {
    !dir.path().is_empty()
        && dir
            .get(DECLARATION_FILE)
            .is_some_and(EntryKind::is_readable)
}

/// Parses one delivered `asset.json` and resolves what inputs its folder's listing can.
/// Runs in the sink, on the port's threads.
fn found_declaration(dir: ListedDir<'_>, result: Result<FileView<'_>, PortError>) -> Option<Found> {
    if !holds_declaration(&dir) {
        return None;
    }
    // Never fails: the walk does not enter `.prometeu`.
    let root = AssetPath::from_ws(dir.ws_path()).ok()?;
    let mut state = parse_declaration(&root, result);
    let mut pending = Vec::new();
    if let DeclarationState::Valid(valid) = &mut state {
        // Just made: not shared yet, so this does not copy.
        let valid = Arc::make_mut(valid);
        let kinds = FolderKinds(dir);
        // Allocated only if an input needs more than the common case below.
        let mut path = String::new();
        valid.inputs = valid
            .declaration
            .inputs
            .iter()
            .enumerate()
            .map(|(index, input)| {
                // A file directly in the folder: the first step of `resolve_input`,
                // answered without joining the root and the input into a path.
                if dir.get(input.as_str()) == Some(&EntryKind::File) {
                    return InputState::Present;
                }
                resolve_input(&kinds, root.as_ws(), input, &mut path).unwrap_or_else(|Unknown| {
                    pending.push(index);
                    InputState::Missing
                })
            })
            .collect();
    }
    Some(Found {
        place: Place::Root(root),
        state,
        pending,
    })
}

pub(super) fn parse_declaration(
    root: &AssetPath,
    result: Result<FileView<'_>, PortError>,
) -> DeclarationState {
    let file = || root.declaration_path().display_in_project();
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
                PortErrorKind::PermissionDenied => {
                    (Code::ReadFailed, "check the file's permissions")
                }
                // The scan listed the name, so what is not found is what it leads to
                // (a link to nothing), or the file went in between.
                PortErrorKind::NotFound => (
                    Code::ReadFailed,
                    "the file is gone or is a symbolic link to nothing; restore it from version control",
                ),
                _ => (
                    Code::ReadFailed,
                    "asset.json must be a regular file (not a link to a FIFO or a device)",
                ),
            };
            return DeclarationState::Invalid(Arc::new(InvalidDeclaration {
                errors: vec![FileError::unreadable(
                    code,
                    &file(),
                    error.to_string(),
                    Some(hint.to_owned()),
                )],
                asset_uuid: None,
                stamp: None,
            }));
        }
    };
    let stamp = FileStamp::of(read);
    match Declaration::parse(read.bytes) {
        Ok(parsed) => {
            // One pass over the text for every position: thousands of inputs on one
            // long line would otherwise each count from the start.
            let lines = LineIndex::new(read.bytes);
            DeclarationState::Valid(Arc::new(ValidDeclaration {
                uuid_position: lines.line_col(parsed.uuid_offset),
                input_positions: parsed
                    .input_offsets
                    .iter()
                    .map(|&o| lines.line_col(o))
                    .collect(),
                inputs: Vec::new(),
                declaration: parsed.declaration,
                stamp,
            }))
        }
        Err(DeclarationFailure { errors, asset_uuid }) => {
            DeclarationState::Invalid(Arc::new(InvalidDeclaration {
                errors: file_errors(&errors, &file(), read.bytes),
                asset_uuid,
                stamp: Some(stamp),
            }))
        }
    }
}

/// After the walk: resolves the inputs the sink left pending against the whole listing,
/// and counts the asset roots the listing holds. One pass over the folders does both and
/// picks out the few folders the pending inputs lie in; only an input whose links lead
/// further needs an index of every folder.
fn complete(pending: &mut [Found], listing: &Listing) -> usize {
    let mut path = String::new();
    let mut wanted: FxHashMap<String, Option<ListedDir<'_>>> = FxHashMap::default();
    for one in pending.iter() {
        let (DeclarationState::Valid(valid), Some(root)) = (&one.state, one.place.root()) else {
            continue;
        };
        for input in one
            .pending
            .iter()
            .filter_map(|&i| valid.declaration.inputs.get(i))
        {
            path.clear();
            push_joined(&mut path, root.as_str(), input.as_str());
            wanted.insert(split_parent(&path).0.to_owned(), None);
        }
    }
    let mut listed = 0;
    for dir in listing.dirs() {
        if holds_declaration(&dir) {
            listed += 1;
        }
        if !wanted.is_empty()
            && let Some(slot) = wanted.get_mut(dir.path())
        {
            *slot = Some(dir);
        }
    }
    let some = SomeFolders { dirs: &wanted };
    let mut every: Option<ListingKinds<'_>> = None;
    for one in pending.iter_mut() {
        let inputs = std::mem::take(&mut one.pending);
        let (DeclarationState::Valid(valid), Some(root)) = (&mut one.state, one.place.root())
        else {
            continue;
        };
        // Not shared before the snapshot is assembled: this does not copy.
        let valid = Arc::make_mut(valid);
        for index in inputs {
            let (Some(input), Some(state)) = (
                valid.declaration.inputs.get(index),
                valid.inputs.get_mut(index),
            ) else {
                continue;
            };
            let root = root.as_ws();
            *state = match resolve_input(&some, root, input, &mut path) {
                Ok(state) => state,
                Err(Unknown) => {
                    let every = every.get_or_insert_with(|| ListingKinds::new(listing));
                    // The whole listing knows every path: `Unknown` cannot come back.
                    resolve_input(every, root, input, &mut path).unwrap_or(InputState::Missing)
                }
            };
        }
    }
    listed
}

/// What [`assemble`] makes of a load.
pub(super) struct Assembled {
    pub(super) assets: Chunked<AssetRecord>,
    pub(super) unregistered: Vec<FoundDeclaration>,
    pub(super) drifts: Vec<Drift>,
}

impl Assembled {
    /// The snapshot of a readable registry `registry` made of these parts.
    pub(super) fn into_snapshot(self, generation: u64, registry: RegistryState) -> Snapshot {
        Snapshot {
            generation,
            state: ProjectState::from_drifts(&self.drifts, false),
            registry,
            ids: super::ids_of(&self.assets),
            lookup: super::Lookup::default(),
            assets: self.assets,
            unregistered: self.unregistered,
            drifts: self.drifts,
            workspace_errors: Vec::new(),
            declaration_errors: Vec::new(),
        }
    }
}

/// Orders the unregistered declarations, classifies drift and gives each registered
/// asset its status.
fn assemble(assets: Vec<AssetRecord>, unregistered: Vec<Found>) -> Assembled {
    let mut unregistered: Vec<FoundDeclaration> = unregistered
        .into_iter()
        .filter_map(|one| match one.place {
            Place::Unregistered(root) => Some(FoundDeclaration {
                root,
                declaration: one.state,
            }),
            _ => None,
        })
        .collect();
    unregistered.sort_by(|a, b| a.root.cmp(&b.root));
    // Delivered twice: the first one stands (the sort is stable).
    unregistered.dedup_by(|later, first| later.root == first.root);
    finish(assets, unregistered)
}

/// Classifies drift over registered assets (in id order, each with status `ok`) and
/// unregistered declarations (sorted by root), and gives each asset its status.
pub(super) fn finish(
    mut assets: Vec<AssetRecord>,
    unregistered: Vec<FoundDeclaration>,
) -> Assembled {
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
        assets: assets.into(),
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
