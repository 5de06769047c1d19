//! What the observer knows of the disk: a table of facts (the stat data of every file,
//! what every symbolic link resolves to, and a content hash where the stat data cannot
//! be trusted), gathered by a verification scan through the [`WorkspacePort`], and the
//! comparisons that tell which paths changed and whether a change matters to a snapshot.
//!
//! Watcher hints only say where to look; these facts are what the observer acts on.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::path::{AssetPath, DECLARATION_FILE, WsPath};
use crate::ports::{
    DirEntryKind, EntryKind, Fingerprint, LinkTarget, PortError, PortErrorKind, Reuse, SeenDirs,
    WorkspacePort,
};
use crate::registry::AssetId;
use crate::snapshot::{
    AssetRecord, ContentHash, DeclarationState, InputState, MAX_DECLARATION_BYTES,
    MAX_REGISTRY_BYTES, RegistryState, Snapshot, registry_path,
};

/// An mtime this close to the moment it was read may be followed by another write in the
/// same timestamp tick that leaves size, mtime and ctime as they were: such a file is
/// hashed as well. Kernel timestamps move in ticks of a few milliseconds.
pub const TRUST_WINDOW_NS: i64 = 20_000_000;

/// Larger files are never hashed for trust; their stat data is all there is.
const MAX_HASHED_BYTES: u64 = 64 << 20;

/// What was seen at one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    File {
        fingerprint: Fingerprint,
        /// Present when the stat data was too fresh to trust.
        hash: Option<ContentHash>,
    },
    /// A symbolic link, by what it leads to.
    Link(LinkFact),
    /// A FIFO, socket or device: never opened; that it is there is all there is to see.
    Special,
}

impl Fact {
    /// Whether a file may be read at the path, as [`EntryKind::is_readable`] says of a
    /// listed entry: a file, or a link (read wherever it leads); never a special file.
    pub fn is_readable(&self) -> bool {
        matches!(self, Fact::File { .. } | Fact::Link(_))
    }
}

/// Where a symbolic link leads, as far as a change can be seen from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkFact {
    File(Fingerprint),
    Dir,
    Dangling,
    Outside,
    Unreadable,
}

/// Facts about every file of the workspace (or of the part that was scanned), by path.
/// Two tables of facts are equal when their facts are: what the last full scan saw of
/// the directories only saves the next one work.
#[derive(Debug, Clone, Default)]
pub struct DiskFacts {
    files: BTreeMap<WsPath, Fact>,
    /// What the last full scan saw of every directory, lent to the next one.
    seen: SeenDirs,
    /// The wall clock when that scan started.
    seen_at_ns: i64,
    /// Every symbolic link to a folder inside the workspace that the last full scan saw,
    /// by the link's path, with the folder it leads to.
    dir_links: BTreeMap<String, WsPath>,
}

impl PartialEq for DiskFacts {
    fn eq(&self, other: &DiskFacts) -> bool {
        self.files == other.files
    }
}

impl Eq for DiskFacts {}

/// Why a changed path matters to a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touched {
    /// `index.json`.
    Registry,
    /// An `asset.json`, registered or not, present or gone.
    Declaration,
    /// A declared input of a registered asset.
    Input(AssetId),
    /// A declared input of an `asset.json` the registry does not list (a folder moved or
    /// copied by hand, a new one): what `doctor` says of that folder depends on it.
    UnregisteredInput,
}

impl DiskFacts {
    /// The full verification scan: a fingerprint walk of the whole workspace and the stat
    /// of `index.json`. `now_ns` is the wall clock when the scan starts; `previous` lends
    /// the hashes of files that were untrusted before, so that they are compared by
    /// content again, and what its scan saw of the directories, so that those that
    /// cannot have changed since need not be listed again (every file is still looked
    /// at).
    pub fn scan(
        port: &dyn WorkspacePort,
        now_ns: i64,
        previous: Option<&DiskFacts>,
    ) -> Result<DiskFacts, PortError> {
        let (entries, seen) = port.scan_reusing(previous.and_then(DiskFacts::reuse))?;
        let hashed = previous.map(DiskFacts::hashed).unwrap_or_default();
        let mut dir_links = BTreeMap::new();
        let files: Vec<(WsPath, Fact)> = entries
            .into_iter()
            .filter_map(|entry| {
                let fact = match (entry.kind, entry.fingerprint) {
                    (EntryKind::File, Some(fingerprint)) => {
                        let was_hashed = hashed.get(entry.path.as_str()) == Some(&fingerprint);
                        file_fact(port, &entry.path, fingerprint, now_ns, was_hashed)
                    }
                    (EntryKind::Symlink(target), _) => {
                        if let LinkTarget::Inside { path, is_dir: true } = target {
                            dir_links.insert(entry.path.as_str().to_owned(), path);
                        }
                        Fact::Link(link_fact(port, &entry.path))
                    }
                    (EntryKind::Special, _) => Fact::Special,
                    // Directories hold no content of their own; a file whose stat
                    // vanished is left out as the scan leaves out what vanishes.
                    _ => return None,
                };
                Some((entry.path, fact))
            })
            .collect();
        let mut facts = DiskFacts {
            // Built in one go from the entries, which come sorted, not entry by entry.
            files: files.into_iter().collect(),
            seen,
            seen_at_ns: now_ns,
            dir_links,
        };
        facts.add_registry(port, now_ns, previous)?;
        Ok(facts)
    }

    /// Whether these facts hold a content hash for `path` with stat data `fingerprint`.
    fn was_hashed(&self, path: &WsPath, fingerprint: &Fingerprint) -> bool {
        matches!(self.files.get(path), Some(Fact::File { fingerprint: f, hash: Some(_) }) if f == fingerprint)
    }

    /// The files these facts hold a content hash for, with the stat data it went with:
    /// usually few, so a scan looks each file up here rather than in the whole table.
    fn hashed(&self) -> FxHashMap<&str, Fingerprint> {
        self.files
            .iter()
            .filter_map(|(path, fact)| match fact {
                Fact::File {
                    fingerprint,
                    hash: Some(_),
                } => Some((path.as_str(), *fingerprint)),
                _ => None,
            })
            .collect()
    }

    /// The other paths `path` can be reached by: through each link to a folder that
    /// holds it (as the last full scan saw the links), `path` as seen from the link. An
    /// input declared through a linked folder is edited at the folder's real path.
    fn through_links(&self, path: &WsPath) -> Vec<WsPath> {
        self.dir_links
            .iter()
            .filter_map(|(link, target)| {
                let rest = path.strip_prefix(target)?;
                WsPath::new(link).ok().map(|link| link.join(&rest))
            })
            .collect()
    }

    /// What the full scan that gathered these facts lends the next one: the directories
    /// it saw, trusted where their times are older than its start by the trust window.
    pub fn reuse(&self) -> Option<Reuse<'_>> {
        (!self.seen.is_empty()).then(|| Reuse {
            seen: &self.seen,
            trusted_before_ns: self.seen_at_ns.saturating_sub(TRUST_WINDOW_NS),
        })
    }

    /// The facts at and below `path` alone: a file, a link, a whole directory, or nothing
    /// when it is gone. Inside `.prometeu` only `index.json` is looked at.
    pub fn scan_under(
        port: &dyn WorkspacePort,
        path: &WsPath,
        now_ns: i64,
        previous: Option<&DiskFacts>,
    ) -> Result<DiskFacts, PortError> {
        let mut facts = DiskFacts::default();
        if path.is_internal() {
            if registry_path().starts_with(path) {
                facts.add_registry(port, now_ns, previous)?;
            }
            return Ok(facts);
        }
        if path.is_root() {
            return DiskFacts::scan(port, now_ns, previous);
        }
        let Some(parent) = path.parent() else {
            return Ok(facts);
        };
        let kind = match port.list_dir(&parent) {
            Ok(entries) => entries
                .into_iter()
                .find(|e| e.name == path.file_name())
                .map(|e| e.kind),
            Err(e) if gone(&e) => None,
            Err(e) => return Err(e),
        };
        match kind {
            Some(DirEntryKind::File) => facts.add_file(port, path, now_ns, previous)?,
            Some(DirEntryKind::Symlink) => {
                facts
                    .files
                    .insert(path.clone(), Fact::Link(link_fact(port, path)));
            }
            Some(DirEntryKind::Dir) => facts.add_dir(port, path, now_ns, previous)?,
            Some(DirEntryKind::Other) => {
                facts.files.insert(path.clone(), Fact::Special);
            }
            None => {}
        }
        Ok(facts)
    }

    /// Replaces what is known at and below `path` with `part` (a [`scan_under`] of the
    /// same path) and gives the paths whose facts changed, appeared or disappeared.
    ///
    /// [`scan_under`]: Self::scan_under
    pub fn replace_under(&mut self, path: &WsPath, part: DiskFacts) -> Vec<WsPath> {
        let old: BTreeMap<WsPath, Fact> = self
            .keys_under(path)
            .into_iter()
            .filter_map(|key| self.files.remove_entry(&key))
            .collect();
        let changed = diff_maps(&old, &part.files);
        self.files.extend(part.files);
        changed
    }

    /// The paths whose facts differ between `self` and `newer`.
    pub fn diff(&self, newer: &DiskFacts) -> Vec<WsPath> {
        diff_maps(&self.files, &newer.files)
    }

    /// Moves every fact at and below `from` to the same place below `to`: a directory
    /// rename keeps its files as they were.
    pub fn rename_under(&mut self, from: &WsPath, to: &WsPath) {
        for key in self.keys_under(from) {
            if let Some(fact) = self.files.remove(&key) {
                let moved = match key.strip_prefix(from) {
                    Some(rest) => to.join(&rest),
                    None => to.clone(),
                };
                self.files.insert(moved, fact);
            }
        }
    }

    /// Records a file the runtime just wrote with content of hash `hash`: its stat data,
    /// and the hash, which decides while the stat data is too fresh to trust.
    pub fn record_written(
        &mut self,
        port: &dyn WorkspacePort,
        path: &WsPath,
        hash: ContentHash,
    ) -> Result<(), PortError> {
        let fact = port.stat(path)?.map(|fingerprint| Fact::File {
            fingerprint,
            hash: Some(hash),
        });
        let mut part = DiskFacts::default();
        if let Some(fact) = fact {
            part.files.insert(path.clone(), fact);
        }
        self.replace_under(path, part);
        Ok(())
    }

    /// Looks again at every symbolic link for which `matters` holds, and gives those
    /// whose facts changed. What a link resolves to changes with paths elsewhere (its
    /// target edited, replaced or removed) that a scan of the changed paths alone does not
    /// connect to the link.
    pub fn recheck_links(
        &mut self,
        port: &dyn WorkspacePort,
        matters: impl Fn(&WsPath) -> bool,
    ) -> Vec<WsPath> {
        let mut changed = Vec::new();
        for (path, fact) in &mut self.files {
            let Fact::Link(old) = fact else {
                continue;
            };
            if !matters(path) {
                continue;
            }
            let new = link_fact(port, path);
            if new != *old {
                *old = new;
                changed.push(path.clone());
            }
        }
        changed
    }

    pub fn get(&self, path: &str) -> Option<&Fact> {
        self.files.get(path)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Where `path` lies when it goes through a link to a folder that the last full scan
    /// saw (the reverse of [`through_links`](Self::through_links)); `None` when it goes
    /// through none.
    fn real_path(&self, path: &WsPath) -> Option<WsPath> {
        if self.dir_links.is_empty() {
            return None;
        }
        // The nearest folder above `path` that is a link, found by its text.
        let text = path.as_str();
        let (link, target) = text
            .rmatch_indices('/')
            .find_map(|(at, _)| Some((&text[..at], self.dir_links.get(&text[..at])?)))?;
        let rest = path.strip_prefix(&WsPath::new(link).ok()?)?;
        Some(target.join(&rest))
    }

    /// Whether a folder on the way to `path` is a symbolic link.
    fn behind_link(&self, path: &WsPath) -> bool {
        let mut at = path.parent();
        while let Some(dir) = at.filter(|dir| !dir.is_root()) {
            if matches!(self.files.get(&dir), Some(Fact::Link(_))) {
                return true;
            }
            at = dir.parent();
        }
        false
    }

    /// Every path known to be `path` or below it.
    fn keys_under(&self, path: &WsPath) -> Vec<WsPath> {
        if path.is_root() {
            return self.files.keys().cloned().collect();
        }
        let base = path.as_str();
        let mut keys: Vec<WsPath> = self
            .files
            .get_key_value(base)
            .map(|(k, _)| k.clone())
            .into_iter()
            .collect();
        let start = format!("{base}/");
        keys.extend(
            self.files
                .range::<str, _>((Bound::Included(start.as_str()), Bound::Unbounded))
                .map(|(k, _)| k)
                .take_while(|k| k.as_str().starts_with(&start))
                .cloned(),
        );
        keys
    }

    fn add_registry(
        &mut self,
        port: &dyn WorkspacePort,
        now_ns: i64,
        previous: Option<&DiskFacts>,
    ) -> Result<(), PortError> {
        self.add_file(port, &registry_path(), now_ns, previous)
    }

    fn add_file(
        &mut self,
        port: &dyn WorkspacePort,
        path: &WsPath,
        now_ns: i64,
        previous: Option<&DiskFacts>,
    ) -> Result<(), PortError> {
        match port.stat(path) {
            Ok(Some(fingerprint)) => {
                let was_hashed = previous.is_some_and(|p| p.was_hashed(path, &fingerprint));
                let fact = file_fact(port, path, fingerprint, now_ns, was_hashed);
                self.files.insert(path.clone(), fact);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) if gone(&e) || e.kind == PortErrorKind::IsADirectory => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn add_dir(
        &mut self,
        port: &dyn WorkspacePort,
        dir: &WsPath,
        now_ns: i64,
        previous: Option<&DiskFacts>,
    ) -> Result<(), PortError> {
        // Depth-first with an explicit stack: a deep tree cannot exhaust the call stack.
        let mut stack = vec![dir.clone()];
        while let Some(dir) = stack.pop() {
            let entries = match port.list_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                let Ok(path) = dir.child(&entry.name) else {
                    continue;
                };
                match entry.kind {
                    DirEntryKind::File => self.add_file(port, &path, now_ns, previous)?,
                    DirEntryKind::Symlink => {
                        let fact = Fact::Link(link_fact(port, &path));
                        self.files.insert(path, fact);
                    }
                    DirEntryKind::Dir => stack.push(path),
                    DirEntryKind::Other => {
                        self.files.insert(path, Fact::Special);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Whether an error only says the path vanished while it was looked at.
fn gone(error: &PortError) -> bool {
    matches!(
        error.kind,
        PortErrorKind::NotFound | PortErrorKind::NotADirectory
    )
}

fn file_fact(
    port: &dyn WorkspacePort,
    path: &WsPath,
    fingerprint: Fingerprint,
    now_ns: i64,
    was_hashed: bool,
) -> Fact {
    let fresh = now_ns.saturating_sub(fingerprint.mtime_ns) < TRUST_WINDOW_NS
        || now_ns.saturating_sub(fingerprint.ctime_ns) < TRUST_WINDOW_NS;
    let hash = if (fresh || was_hashed) && fingerprint.size <= MAX_HASHED_BYTES {
        port.read(path, MAX_HASHED_BYTES)
            .ok()
            .map(|read| ContentHash::of(&read.bytes))
    } else {
        None
    };
    Fact::File { fingerprint, hash }
}

fn link_fact(port: &dyn WorkspacePort, path: &WsPath) -> LinkFact {
    match port.stat(path) {
        Ok(Some(fingerprint)) => LinkFact::File(fingerprint),
        Ok(None) => LinkFact::Dangling,
        Err(e) => match e.kind {
            PortErrorKind::IsADirectory => LinkFact::Dir,
            PortErrorKind::NotFound => LinkFact::Dangling,
            PortErrorKind::OutsideWorkspace => LinkFact::Outside,
            _ => LinkFact::Unreadable,
        },
    }
}

/// Two facts about the same file say the same content. A hash decides when both sides
/// have one; otherwise the stat data does.
fn same(old: &Fact, new: &Fact) -> bool {
    match (old, new) {
        (
            Fact::File {
                fingerprint: a,
                hash: ha,
            },
            Fact::File {
                fingerprint: b,
                hash: hb,
            },
        ) => match (ha, hb) {
            (Some(x), Some(y)) => x == y && a.size == b.size,
            _ => a == b,
        },
        (a, b) => a == b,
    }
}

fn diff_maps(old: &BTreeMap<WsPath, Fact>, new: &BTreeMap<WsPath, Fact>) -> Vec<WsPath> {
    let mut changed = Vec::new();
    for (path, fact) in old {
        if new.get(path).is_none_or(|n| !same(fact, n)) {
            changed.push(path);
        }
    }
    for path in new.keys() {
        if !old.contains_key(path) {
            changed.push(path);
        }
    }
    changed.sort_unstable();
    changed.into_iter().cloned().collect()
}

/// Every declared input of every registered asset, by path, and those of the
/// `asset.json` files the registry does not list, for telling what a changed path is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputIndex {
    by_path: FxHashMap<String, AssetId>,
    /// Few (folders waiting for a reconcile): built anew with each generation.
    unregistered: FxHashSet<String>,
}

impl InputIndex {
    pub fn of(snapshot: &Snapshot) -> InputIndex {
        let mut index = InputIndex::default();
        for asset in snapshot.assets() {
            index.insert(asset);
        }
        index.unregistered = unregistered_inputs(snapshot);
        index
    }

    /// Turns this index of `old` into the index of `new`. Only the assets whose root or
    /// declaration differ are looked at again: a generation derived from another shares
    /// the chunks of records it kept, which are skipped whole, and the declarations it
    /// kept, so that this costs a comparison per asset of a changed chunk where building
    /// the index anew costs a path per input.
    pub fn update(&mut self, old: &Snapshot, new: &Snapshot) {
        let mut gone: Vec<&AssetRecord> = Vec::new();
        let mut added: Vec<&AssetRecord> = Vec::new();
        let mut kept = 0;
        let mut looked_at = 0;
        for (i, record) in new.assets().unshared(old.assets()) {
            looked_at += 1;
            let id = record.entry.asset_id;
            // Usually at the same place in both.
            let before = old
                .assets()
                .get(i)
                .filter(|r| r.entry.asset_id == id)
                .or_else(|| old.asset(id));
            match before {
                Some(before) => {
                    kept += 1;
                    if !same_inputs(before, record) {
                        gone.push(before);
                        added.push(record);
                    }
                }
                None => added.push(record),
            }
        }
        // The records of shared chunks are in both.
        kept += new.assets().len() - looked_at;
        if kept != old.assets().len() {
            gone.extend(
                old.assets()
                    .iter()
                    .filter(|r| new.asset(r.entry.asset_id).is_none()),
            );
        }
        // Every removal first: a path an asset gave up may be another one's now.
        for record in gone {
            for path in input_paths(record) {
                if self.by_path.get(path.as_str()) == Some(&record.entry.asset_id) {
                    self.by_path.remove(path.as_str());
                }
            }
        }
        for record in added {
            self.insert(record);
        }
        // Most generations keep the unregistered folders as they were.
        if old.unregistered() != new.unregistered() {
            self.unregistered = unregistered_inputs(new);
        }
    }

    fn insert(&mut self, record: &AssetRecord) {
        for path in input_paths(record) {
            self.by_path
                .insert(path.as_str().to_owned(), record.entry.asset_id);
        }
    }

    /// Why `path` matters to the snapshot, if it does.
    pub fn touched(&self, path: &WsPath) -> Option<Touched> {
        if *path == registry_path() {
            return Some(Touched::Registry);
        }
        if path.is_internal() {
            return None;
        }
        if path.file_name() == DECLARATION_FILE {
            return Some(Touched::Declaration);
        }
        match self.by_path.get(path.as_str()) {
            Some(id) => Some(Touched::Input(*id)),
            None => self
                .unregistered
                .contains(path.as_str())
                .then_some(Touched::UnregisteredInput),
        }
    }

    /// Why `path` matters to the snapshot and by which path: `path` itself, or, where
    /// `path` lies in a folder that a link leads to (as `facts` saw the links), the path
    /// an input is declared by through that link.
    pub fn touched_via(
        &self,
        path: &WsPath,
        facts: Option<&DiskFacts>,
    ) -> Option<(WsPath, Touched)> {
        if let Some(touched) = self.touched(path) {
            return Some((path.clone(), touched));
        }
        facts?
            .through_links(path)
            .into_iter()
            .find_map(|alias| self.touched(&alias).map(|t| (alias, t)))
    }
}

/// The workspace paths of an asset's declared inputs; none unless its declaration is
/// valid.
fn input_paths(record: &AssetRecord) -> impl Iterator<Item = AssetPath> + '_ {
    let inputs = match &record.declaration {
        DeclarationState::Valid(valid) => valid.declaration.inputs.as_slice(),
        _ => &[],
    };
    inputs.iter().map(|input| record.entry.root.join(input))
}

/// The workspace paths of the inputs declared by the `asset.json` files the registry
/// does not list.
fn unregistered_inputs(snapshot: &Snapshot) -> FxHashSet<String> {
    let mut out = FxHashSet::default();
    for found in snapshot.unregistered() {
        if let DeclarationState::Valid(valid) = &found.declaration {
            for input in &valid.declaration.inputs {
                out.insert(found.root.join(input).as_str().to_owned());
            }
        }
    }
    out
}

/// Whether two records of an asset declare the same inputs at the same root.
fn same_inputs(a: &AssetRecord, b: &AssetRecord) -> bool {
    a.entry.root == b.entry.root
        && match (&a.declaration, &b.declaration) {
            (DeclarationState::Valid(x), DeclarationState::Valid(y)) => {
                Arc::ptr_eq(x, y) || x.declaration.inputs == y.declaration.inputs
            }
            (DeclarationState::Valid(_), _) | (_, DeclarationState::Valid(_)) => false,
            _ => true,
        }
}

/// Every `asset.json` the snapshot holds: the registered assets' at their roots, then
/// those the registry does not list.
fn every_declaration(snapshot: &Snapshot) -> impl Iterator<Item = (&AssetPath, &DeclarationState)> {
    snapshot
        .assets()
        .iter()
        .map(|a| (&a.entry.root, &a.declaration))
        .chain(
            snapshot
                .unregistered()
                .iter()
                .map(|u| (&u.root, &u.declaration)),
        )
}

/// The paths where `facts` (a scan of the whole workspace) contradict what `snapshot`
/// was built from: `index.json` and every `asset.json` by their stamps, and the
/// presence of every declared input. Used when there are no earlier facts to compare
/// with, so that a change made between a load and the first scan is not missed.
pub fn contradictions(snapshot: &Snapshot, facts: &DiskFacts) -> Vec<WsPath> {
    let mut out = Vec::new();
    let registry = registry_path();
    if !agrees(
        facts.get(registry.as_str()),
        snapshot.registry_state().stamp(),
    ) {
        out.push(registry);
    }
    if matches!(snapshot.registry_state(), RegistryState::Invalid { .. }) {
        // Without a registry the snapshot holds no declarations: only a change to the
        // registry can make a difference, and nothing else contradicts it.
        return out;
    }
    let mut known = std::collections::HashSet::new();
    for (root, declaration) in every_declaration(snapshot) {
        let path = root.declaration_path();
        known.insert(path.as_str().to_owned());
        let fact = facts.get(path.as_str());
        let agrees = match declaration {
            // A special file named `asset.json` is no declaration, as a load finds.
            DeclarationState::Missing => !fact.is_some_and(Fact::is_readable),
            state => agrees(fact, state.stamp()),
        };
        if !agrees {
            out.push(path);
        }
    }
    // The inputs of unregistered folders too: `doctor` reports the missing ones.
    for (root, declaration) in every_declaration(snapshot) {
        if let DeclarationState::Valid(valid) = declaration {
            for (input, state) in valid.declaration.inputs.iter().zip(&valid.inputs) {
                let path = root.join(input);
                let present = facts.get(path.as_str()).is_some();
                // The scan does not descend into linked folders: a file reached through
                // one is never in the facts, which then say nothing about it.
                if present != (*state != InputState::Missing) && !facts.behind_link(path.as_ws()) {
                    out.push(path.as_ws().clone());
                }
            }
        }
    }
    for (path, fact) in &facts.files {
        if !path.is_internal()
            && path.file_name() == DECLARATION_FILE
            && fact.is_readable()
            && !known.contains(path.as_str())
        {
            out.push(path.clone());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// What every present input of the registered assets looked like as a load saw it
/// ([`Snapshot::load_stamped`]). A snapshot records whether each input exists, not what
/// it holds: the first verification compares its facts with these, so that an input
/// edited after the load (before the watch was in place) is found as changed.
#[derive(Debug, Clone, Default)]
pub struct InputStamps(FxHashMap<WsPath, Fingerprint>);

impl InputStamps {
    /// The stamps `stamps`, taken as the load saw each input.
    pub(crate) fn of(stamps: FxHashMap<WsPath, Fingerprint>) -> InputStamps {
        InputStamps(stamps)
    }

    /// The inputs that `facts` (a full scan) show changed since, sorted. One gone or no
    /// longer a file is not among them: the presence check of
    /// [`contradictions`] finds it.
    pub fn changed(&self, facts: &DiskFacts) -> Vec<WsPath> {
        let mut changed: Vec<WsPath> = self
            .0
            .iter()
            .filter(|(path, stamp)| {
                let fact = facts.get(path.as_str()).or_else(|| {
                    // A file in a linked folder is in the facts at its real path only.
                    facts.get(facts.real_path(path)?.as_str())
                });
                match fact {
                    Some(
                        Fact::File { fingerprint, .. } | Fact::Link(LinkFact::File(fingerprint)),
                    ) => fingerprint != *stamp,
                    _ => false,
                }
            })
            .map(|(path, _)| path.clone())
            .collect();
        changed.sort();
        changed
    }
}

/// Whether a fact and a snapshot's stamp describe the same file.
fn agrees(fact: Option<&Fact>, stamp: Option<&crate::snapshot::FileStamp>) -> bool {
    match (fact, stamp) {
        (None, None) => true,
        (Some(Fact::File { fingerprint, hash }), Some(stamp)) => {
            *fingerprint == stamp.fingerprint || *hash == Some(stamp.hash)
        }
        // A link to a file inside the workspace was read through: the stamp is its
        // target's, as the fact is.
        (Some(Fact::Link(LinkFact::File(fingerprint))), Some(stamp)) => {
            *fingerprint == stamp.fingerprint
        }
        // A link the snapshot could not read through (out of the workspace, dangling, to
        // a FIFO) has no stamp, and still cannot be read: nothing contradicts it.
        (Some(Fact::Link(link)), None) => !matches!(link, LinkFact::File(_)),
        _ => false,
    }
}

/// The largest file the observer reads to settle whether a change is complete.
pub fn read_limit(path: &WsPath) -> u64 {
    if *path == registry_path() {
        MAX_REGISTRY_BYTES
    } else {
        MAX_DECLARATION_BYTES
    }
}
