//! The reference model itself: the registry and the `asset.json` files as the model knows
//! them, on disk and as the snapshot saw them, and how a command or batch changes them
//! (or which refusal it must get).

use std::collections::{BTreeMap, BTreeSet};

use packer_domain::declaration::{AssetKind, Declaration, OutputOptions};
use packer_domain::path::AssetPath;
use packer_domain::registry::{AssetId, Registry, RegistryEntry};
use packer_memfs::MemFs;
use uuid::Uuid;

use super::ops::{Op, Place, ROOTS, Target};

pub(super) const INDEX: &str = ".prometeu/index.json";

/// A uuid as the model knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Uid {
    Known(Uuid),
    /// The one the runtime drew for the asset it created with this id; learnt from the
    /// registry once the commit is acknowledged.
    Fresh(u64),
}

impl Uid {
    /// The uuid; the nil uuid for one never learnt (which then shows in a comparison).
    pub(super) fn value(self) -> Uuid {
        match self {
            Uid::Known(uuid) => uuid,
            Uid::Fresh(_) => Uuid::nil(),
        }
    }
}

/// A valid declaration: its output options are always the kind's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Decl {
    pub(super) uuid: Uid,
    pub(super) name: String,
    pub(super) kind: AssetKind,
    pub(super) inputs: Vec<String>,
}

impl Decl {
    pub(super) fn declaration(&self) -> Declaration {
        Declaration {
            asset_uuid: self.uuid.value(),
            name: self.name.clone(),
            kind: self.kind,
            inputs: self.inputs.iter().map(|i| path(i)).collect(),
            output: OutputOptions::default_for(self.kind),
        }
    }

    /// The declaration as a person writes it: one line, no `output`.
    pub(super) fn by_hand(&self) -> String {
        let inputs: Vec<String> = self.inputs.iter().map(|i| format!("\"{i}\"")).collect();
        format!(
            "{{\"schema_version\": 1, \"asset_uuid\": \"{}\", \"name\": \"{}\", \"kind\": \"{}\", \"inputs\": [{}]}}\n",
            self.uuid.value(),
            self.name,
            self.kind,
            inputs.join(", ")
        )
    }
}

/// The content of an `asset.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Content {
    /// Written by the packer: exactly `Declaration::to_bytes` of this.
    Packer(Decl),
    /// Written by a person: these bytes, and what they declare when they are valid.
    Hand { text: String, decl: Option<Decl> },
}

impl Content {
    pub(super) fn decl(&self) -> Option<&Decl> {
        match self {
            Content::Packer(decl) => Some(decl),
            Content::Hand { decl, .. } => decl.as_ref(),
        }
    }

    pub(super) fn bytes(&self) -> Vec<u8> {
        match self {
            Content::Packer(decl) => decl.declaration().to_bytes(),
            Content::Hand { text, .. } => text.clone().into_bytes(),
        }
    }

    pub(super) fn learn(&mut self, id: u64, uuid: Uuid) {
        if let Content::Packer(decl) = self
            && decl.uuid == Uid::Fresh(id)
        {
            decl.uuid = Uid::Known(uuid);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) uuid: Uid,
    pub(super) root: String,
    pub(super) included: bool,
}

/// The project as the model knows it.
#[derive(Debug, Clone)]
pub(super) struct Model {
    pub(super) next_id: u64,
    pub(super) registry: BTreeMap<u64, Entry>,
    /// Every `asset.json` on disk, by root.
    pub(super) disk: BTreeMap<String, Content>,
    /// Every folder on disk (outside `.prometeu`).
    pub(super) dirs: BTreeSet<String>,
    /// Every `asset.json` as the current snapshot saw it.
    pub(super) seen: BTreeMap<String, Content>,
    pub(super) generation: u64,
    /// Hand edits made so far: makes each one's content unique.
    pub(super) edits: u32,
}

/// What the model expects of a command.
pub(super) enum Expected {
    Commit(Draft),
    Refused(&'static str),
}

impl Expected {
    pub(super) fn describe(&self) -> String {
        match self {
            Expected::Commit(draft) => format!("a commit (created: {:?})", draft.created),
            Expected::Refused(code) => format!("a refusal with `{code}`"),
        }
    }
}

pub(super) const INVALID: &str = "invalid";
pub(super) const NOT_FOUND: &str = "not_found";
pub(super) const CONFLICT: &str = "conflict";

impl Model {
    /// Two registered assets (one excluded) and an unregistered folder, all hand-written.
    pub(super) fn initial() -> Model {
        let decl = |uuid: u128, name: &str, kind, input: &str| Decl {
            uuid: Uid::Known(Uuid::from_u128(uuid)),
            name: name.to_owned(),
            kind,
            inputs: vec![input.to_owned()],
        };
        let hand = |decl: Decl| Content::Hand {
            text: decl.by_hand(),
            decl: Some(decl),
        };
        let disk: BTreeMap<String, Content> = [
            ("a", hand(decl(0x1111, "a", AssetKind::Blob, "x.bin"))),
            ("d/e", hand(decl(0x2222, "e", AssetKind::Image, "e.png"))),
            ("c", hand(decl(0x9999, "c", AssetKind::Data, "c.json"))),
        ]
        .into_iter()
        .map(|(root, content)| (root.to_owned(), content))
        .collect();
        let entry = |uuid: u128, root: &str, included| Entry {
            uuid: Uid::Known(Uuid::from_u128(uuid)),
            root: root.to_owned(),
            included,
        };
        Model {
            next_id: 3,
            registry: BTreeMap::from([
                (1, entry(0x1111, "a", true)),
                (2, entry(0x2222, "d/e", false)),
            ]),
            dirs: disk.keys().flat_map(|root| ancestors(root)).collect(),
            seen: disk.clone(),
            disk,
            generation: 1,
            edits: 0,
        }
    }

    /// The workspace the model describes.
    pub(super) fn materialise(&self) -> MemFs {
        let fs = MemFs::new();
        fs.write(INDEX, self.registry_value().to_bytes());
        for (root, content) in &self.disk {
            fs.write(&format!("{root}/asset.json"), content.bytes());
        }
        fs
    }

    pub(super) fn registry_value(&self) -> Registry {
        let entries = self
            .registry
            .iter()
            .map(|(id, entry)| RegistryEntry {
                asset_id: AssetId(*id),
                asset_uuid: entry.uuid.value(),
                root: path(&entry.root),
                included_in_build: entry.included,
            })
            .collect();
        Registry::new(self.next_id, entries).expect("the model keeps a valid registry")
    }

    /// `asset.json` files the snapshot saw that the registry does not list.
    pub(super) fn unregistered(&self) -> BTreeMap<String, Content> {
        let registered: BTreeSet<&str> = self.registry.values().map(|e| e.root.as_str()).collect();
        self.seen
            .iter()
            .filter(|(root, _)| !registered.contains(root.as_str()))
            .map(|(root, content)| (root.clone(), content.clone()))
            .collect()
    }

    pub(super) fn predict(&self, ops: &[Op]) -> Expected {
        let mut draft = Draft::new(self);
        for op in ops {
            if let Err(code) = draft.apply(op) {
                return Expected::Refused(code);
            }
        }
        let changed = |root: &String| self.disk.get(root) != self.seen.get(root);
        if draft.reads.iter().any(changed)
            || draft.folders.iter().any(|dir| !self.dirs.contains(dir))
            || draft.free.iter().any(|dir| self.dirs.contains(dir))
        {
            return Expected::Refused(CONFLICT);
        }
        Expected::Commit(draft)
    }

    /// Applies a commit the runtime acknowledged; `registry` is the one it wrote, where
    /// the uuids it drew are learnt.
    pub(super) fn commit(&mut self, draft: Draft, registry: Option<&Registry>) {
        if draft.changes_nothing(self) {
            return;
        }
        // The disk as the snapshot saw it, moved as the commit moves folders: where the
        // draft differs from it, the commit wrote or deleted.
        let mut seen = self.seen.clone();
        for (from, to) in &draft.renames {
            self.disk = rekey(&self.disk, from, to);
            seen = rekey(&seen, from, to);
            self.dirs = self
                .dirs
                .iter()
                .map(|dir| moved(dir, from, to).unwrap_or_else(|| dir.clone()))
                .collect();
            self.dirs.extend(ancestors(to));
        }
        let roots: BTreeSet<&String> = draft.files.keys().chain(seen.keys()).collect();
        for root in roots {
            match (draft.files.get(root), seen.get(root)) {
                (Some(slot), Some(before)) if slot.content == *before => {}
                (Some(slot), _) => {
                    self.disk.insert(root.clone(), slot.content.clone());
                    self.dirs.extend(ancestors(root));
                }
                (None, Some(_)) => {
                    self.disk.remove(root);
                }
                (None, None) => {}
            }
        }
        self.registry = draft.entries;
        self.next_id = draft.next_id;
        for (id, entry) in &mut self.registry {
            let Uid::Fresh(fresh) = entry.uuid else {
                continue;
            };
            let Some(written) = registry.and_then(|r| r.get(AssetId(*id))) else {
                continue;
            };
            entry.uuid = Uid::Known(written.asset_uuid);
            for content in self.disk.values_mut() {
                content.learn(fresh, written.asset_uuid);
            }
        }
        self.seen = self.disk.clone();
        self.generation += 1;
    }

    /// `op` with its picks made concrete against the current project.
    pub(super) fn resolve(&self, op: &Op) -> Op {
        let target = |target: &Target| match target {
            Target::Registered(n) if !self.registry.is_empty() => {
                let ids: Vec<u64> = self.registry.keys().copied().collect();
                Target::Id(ids[n % ids.len()])
            }
            Target::Registered(_) => Target::Id(self.next_id),
            Target::Next(n) => Target::Id(self.next_id + n),
            other => *other,
        };
        match op {
            Op::Adopt {
                root: Place::Unregistered(n),
            } => {
                let loose: Vec<&'static str> = ROOTS
                    .into_iter()
                    .filter(|root| self.unregistered().contains_key(*root))
                    .collect();
                let root = if loose.is_empty() {
                    ROOTS[n % ROOTS.len()]
                } else {
                    loose[n % loose.len()]
                };
                Op::Adopt {
                    root: Place::Root(root),
                }
            }
            Op::Move { asset, to } => Op::Move {
                asset: target(asset),
                to,
            },
            Op::Remove { asset } => Op::Remove {
                asset: target(asset),
            },
            Op::SetIncluded { asset, included } => Op::SetIncluded {
                asset: target(asset),
                included: *included,
            },
            Op::Update {
                asset,
                name,
                kind,
                inputs,
            } => Op::Update {
                asset: target(asset),
                name: *name,
                kind: *kind,
                inputs: *inputs,
            },
            other => other.clone(),
        }
    }

    /// A person writes `root/asset.json`.
    pub(super) fn write_by_hand(&mut self, fs: &MemFs, root: &str, content: Content) {
        fs.write(&format!("{root}/asset.json"), content.bytes());
        self.dirs.extend(ancestors(root));
        self.disk.insert(root.to_owned(), content);
    }

    /// The next hand edit's number.
    pub(super) fn next_edit(&mut self) -> u32 {
        self.edits += 1;
        self.edits
    }
}

/// An `asset.json` in the middle of a command: its content and the root it had before
/// the commit (`None` for one the command creates).
#[derive(Debug, Clone)]
pub(super) struct Slot {
    pub(super) content: Content,
    pub(super) origin: Option<String>,
}

/// A command applied to the model's picture of the snapshot, op by op, as the user means
/// it: a batch is its commands one after the other, within the limits that the commit's
/// fixed order (declarations, then folder moves, then the registry) sets: the folder
/// moves of one batch do not overlap, nothing is created or adopted inside a folder
/// the batch has moved away, and nothing is created where it moves a folder to. It collects what the disk must still be for the commit to
/// go ahead.
pub(super) struct Draft {
    pub(super) entries: BTreeMap<u64, Entry>,
    pub(super) next_id: u64,
    /// Every `asset.json` as the snapshot saw it, changed by the ops so far.
    pub(super) files: BTreeMap<String, Slot>,
    pub(super) unregistered: BTreeMap<String, Content>,
    /// Folder moves so far: (from, to).
    pub(super) renames: Vec<(String, String)>,
    /// Roots whose `asset.json` must be on disk as the snapshot saw it (or absent, as
    /// the snapshot saw it).
    pub(super) reads: BTreeSet<String>,
    /// Folders that must exist.
    pub(super) folders: BTreeSet<String>,
    /// Paths where nothing may be.
    pub(super) free: BTreeSet<String>,
    pub(super) created: Option<u64>,
    /// Whether an update changed a declaration (and so writes its file).
    pub(super) rewrote: bool,
}

impl Draft {
    /// Whether the commit writes nothing: the runtime then checks the disk, publishes no
    /// new generation and answers with the current one.
    pub(super) fn changes_nothing(&self, model: &Model) -> bool {
        !self.rewrote
            && self.renames.is_empty()
            && self.next_id == model.next_id
            && self.entries == model.registry
    }

    pub(super) fn new(model: &Model) -> Draft {
        Draft {
            entries: model.registry.clone(),
            next_id: model.next_id,
            files: model
                .seen
                .iter()
                .map(|(root, content)| {
                    let slot = Slot {
                        content: content.clone(),
                        origin: Some(root.clone()),
                    };
                    (root.clone(), slot)
                })
                .collect(),
            unregistered: model.unregistered(),
            renames: Vec::new(),
            reads: BTreeSet::new(),
            folders: BTreeSet::new(),
            free: BTreeSet::new(),
            created: None,
            rewrote: false,
        }
    }

    pub(super) fn apply(&mut self, op: &Op) -> Result<(), &'static str> {
        match op {
            Op::Create {
                root,
                kind,
                inputs,
                name,
                included,
            } => {
                self.check_free(root, None)?;
                // An unregistered `asset.json` is adopted, not overwritten.
                if self.files.contains_key(*root) {
                    return Err(INVALID);
                }
                // The commit writes declarations before it moves folders, so a batch
                // cannot create inside a folder it has moved away, nor where it moves one
                // to.
                if self
                    .renames
                    .iter()
                    .any(|(from, to)| under(root, from) || under(root, to))
                {
                    return Err(INVALID);
                }
                let name = name.map_or_else(|| last_segment(root).to_owned(), str::to_owned);
                check_name(&name)?;
                check_inputs(inputs)?;
                let id = self.next_id;
                self.next_id += 1;
                self.entries.insert(
                    id,
                    Entry {
                        uuid: Uid::Fresh(id),
                        root: (*root).to_owned(),
                        included: *included,
                    },
                );
                self.reads.insert((*root).to_owned());
                let decl = Decl {
                    uuid: Uid::Fresh(id),
                    name,
                    kind: *kind,
                    inputs: inputs.iter().map(|i| (*i).to_owned()).collect(),
                };
                self.files.insert(
                    (*root).to_owned(),
                    Slot {
                        content: Content::Packer(decl),
                        origin: None,
                    },
                );
                self.created = Some(id);
            }
            Op::Adopt { root } => {
                let Place::Root(root) = root else {
                    unreachable!("places are resolved before the model runs");
                };
                let found = self.unregistered.get(*root).ok_or(NOT_FOUND)?;
                let uuid = found.decl().ok_or(INVALID)?.uuid;
                self.check_free(root, None)?;
                if self.entries.values().any(|e| e.uuid == uuid) {
                    return Err(INVALID);
                }
                // Carried away by a move of this batch: not there to adopt any more.
                let slot = self.files.get(*root).ok_or(INVALID)?;
                self.reads.extend(slot.origin.clone());
                let id = self.next_id;
                self.next_id += 1;
                self.entries.insert(
                    id,
                    Entry {
                        uuid,
                        root: (*root).to_owned(),
                        included: true,
                    },
                );
                self.created = Some(id);
            }
            Op::Move { asset, to } => {
                let id = self.find(*asset)?;
                let from = self.entries[&id].root.clone();
                if from == *to {
                    return Err(INVALID);
                }
                self.check_free(to, Some(id))?;
                // Moves of one batch must not overlap (a documented limit).
                let before = self.root_before(&from);
                if self.renames.iter().any(|(f, t)| {
                    overlaps(f, &before)
                        || overlaps(t, &before)
                        || overlaps(f, to)
                        || overlaps(t, to)
                }) {
                    return Err(INVALID);
                }
                if self.unregistered.keys().any(|u| overlaps(u, to)) {
                    return Err(INVALID);
                }
                let slot = self.files.get(&from).ok_or(INVALID)?;
                // An asset created in this batch has no folder on disk to move yet
                // (a documented limit: move it in a separate commit).
                if slot.origin.is_none() {
                    return Err(INVALID);
                }
                // A folder cannot move into itself, nor onto a folder above it.
                if under(to, &from) || under(&from, to) {
                    return Err(INVALID);
                }
                if let Some(origin) = &slot.origin {
                    self.reads.insert(origin.clone());
                    self.folders.insert(origin.clone());
                }
                self.free.insert((*to).to_owned());
                self.files = rekey(&self.files, &from, to);
                self.renames.push((from, (*to).to_owned()));
                if let Some(entry) = self.entries.get_mut(&id) {
                    entry.root = (*to).to_owned();
                }
            }
            Op::Remove { asset } => {
                let id = self.find(*asset)?;
                let entry = self.entries.remove(&id).ok_or(NOT_FOUND)?;
                if let Some(slot) = self.files.remove(&entry.root) {
                    self.reads.extend(slot.origin);
                }
            }
            Op::SetIncluded { asset, included } => {
                let id = self.find(*asset)?;
                if let Some(entry) = self.entries.get_mut(&id) {
                    entry.included = *included;
                }
            }
            Op::Update {
                asset,
                name,
                kind,
                inputs,
            } => {
                let id = self.find(*asset)?;
                let root = self.entries[&id].root.clone();
                let slot = self.files.get(&root).ok_or(INVALID)?;
                let mut decl = slot.content.decl().ok_or(INVALID)?.clone();
                let origin = slot.origin.clone();
                if let Some(name) = name {
                    check_name(name)?;
                    decl.name = (*name).to_owned();
                }
                if let Some(kind) = kind {
                    decl.kind = *kind;
                }
                if let Some(inputs) = inputs {
                    check_inputs(inputs)?;
                    decl.inputs = inputs.iter().map(|i| (*i).to_owned()).collect();
                }
                if slot.content.decl() == Some(&decl) {
                    // What the declaration already says: its file stays as it is.
                    return Ok(());
                }
                self.rewrote = true;
                self.reads.extend(origin.clone());
                self.files.insert(
                    root,
                    Slot {
                        content: Content::Packer(decl),
                        origin,
                    },
                );
            }
        }
        Ok(())
    }

    pub(super) fn find(&self, target: Target) -> Result<u64, &'static str> {
        match target {
            Target::Id(id) => self.entries.contains_key(&id).then_some(id),
            Target::Root(root) => self
                .entries
                .iter()
                .find(|(_, e)| e.root == root)
                .map(|(id, _)| *id),
            Target::Registered(_) | Target::Next(_) => {
                unreachable!("targets are resolved before the model runs")
            }
        }
        .ok_or(NOT_FOUND)
    }

    /// Roots are unique and never nested.
    pub(super) fn check_free(&self, root: &str, except: Option<u64>) -> Result<(), &'static str> {
        let taken = self
            .entries
            .iter()
            .any(|(id, e)| Some(*id) != except && overlaps(&e.root, root));
        if taken { Err(INVALID) } else { Ok(()) }
    }

    /// Where the folder now at `root` was before this batch's moves.
    pub(super) fn root_before(&self, root: &str) -> String {
        let mut current = root.to_owned();
        for (from, to) in self.renames.iter().rev() {
            if current == *to {
                current = from.clone();
            }
        }
        current
    }
}

pub(super) fn check_name(name: &str) -> Result<(), &'static str> {
    if name.trim().is_empty() || name.chars().count() > 128 {
        Err(INVALID)
    } else {
        Ok(())
    }
}

pub(super) fn check_inputs(inputs: &[&str]) -> Result<(), &'static str> {
    let unique: BTreeSet<&&str> = inputs.iter().collect();
    if inputs.is_empty() || unique.len() != inputs.len() {
        Err(INVALID)
    } else {
        Ok(())
    }
}

/// Whether `path` is `base` or lies inside it.
pub(super) fn under(path: &str, base: &str) -> bool {
    path == base
        || path
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'))
}

pub(super) fn overlaps(a: &str, b: &str) -> bool {
    under(a, b) || under(b, a)
}

/// `path` once the folder `from` is moved to `to`; `None` when it is not inside `from`.
pub(super) fn moved(path: &str, from: &str, to: &str) -> Option<String> {
    under(path, from).then(|| format!("{to}{}", &path[from.len()..]))
}

pub(super) fn rekey<V: Clone>(
    map: &BTreeMap<String, V>,
    from: &str,
    to: &str,
) -> BTreeMap<String, V> {
    map.iter()
        .map(|(key, value)| {
            let key = moved(key, from, to).unwrap_or_else(|| key.clone());
            (key, value.clone())
        })
        .collect()
}

/// `path` and every folder above it, up to (not including) `assets/`.
pub(super) fn ancestors(path: &str) -> Vec<String> {
    let mut out = vec![path.to_owned()];
    let mut current = path;
    while let Some((parent, _)) = current.rsplit_once('/') {
        out.push(parent.to_owned());
        current = parent;
    }
    out
}

pub(super) fn last_segment(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

pub(super) fn path(s: &str) -> AssetPath {
    AssetPath::new(s).unwrap()
}
