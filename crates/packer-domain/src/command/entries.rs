//! The registry entries a plan is changing: the snapshot's entries, shared, under the
//! few entries the commands changed, added or removed. Planning one command on a large
//! project then copies nothing until the new registry is made.

use std::cell::{Cell, OnceCell};
use std::collections::{BTreeMap, BTreeSet};
use std::iter::Peekable;

use rustc_hash::FxHashMap;
use uuid::Uuid;

use crate::chunked::{self, Chunked};
use crate::command::roots::RootSet;
use crate::path::AssetPath;
use crate::registry::{AssetId, RegistryEntry};

/// How many lookups by uuid or root are answered by a pass over the entries before
/// an index of them is made: one command asks a few, a batch of thousands asks
/// thousands, and a pass each made those batches quadratic.
const LOOKUPS_BEFORE_INDEX: u32 = 16;

/// The registry's entries as a batch has left them, in id order.
#[derive(Debug)]
pub(super) struct DraftEntries<'s> {
    /// The registry's entries, sorted by id.
    base: &'s Chunked<RegistryEntry>,
    /// Entries this batch changed or added (`Some`) or removed (`None`), by id.
    changed: BTreeMap<AssetId, Option<RegistryEntry>>,
    /// Lookups answered so far without the index.
    lookups: Cell<u32>,
    /// The entries by uuid and by root, once made; kept up to date after.
    index: OnceCell<Index>,
}

#[derive(Debug, Default)]
struct Index {
    by_uuid: FxHashMap<Uuid, BTreeSet<AssetId>>,
    by_root: RootSet,
}

impl Index {
    fn add(&mut self, entry: &RegistryEntry) {
        self.by_uuid
            .entry(entry.asset_uuid)
            .or_default()
            .insert(entry.asset_id);
        self.by_root.insert(&entry.root, entry.asset_id.0);
    }

    fn drop_entry(&mut self, entry: &RegistryEntry) {
        if let Some(ids) = self.by_uuid.get_mut(&entry.asset_uuid) {
            ids.remove(&entry.asset_id);
            if ids.is_empty() {
                self.by_uuid.remove(&entry.asset_uuid);
            }
        }
        self.by_root.remove(&entry.root, entry.asset_id.0);
    }
}

impl<'s> DraftEntries<'s> {
    /// The entries of a registry (sorted by id, as a `Registry` keeps them).
    pub(super) fn new(base: &'s Chunked<RegistryEntry>) -> DraftEntries<'s> {
        DraftEntries {
            base,
            changed: BTreeMap::new(),
            lookups: Cell::new(0),
            index: OnceCell::new(),
        }
    }

    /// The index, once enough lookups were made to be worth it.
    fn index(&self) -> Option<&Index> {
        if let Some(index) = self.index.get() {
            return Some(index);
        }
        let asked = self.lookups.get() + 1;
        self.lookups.set(asked);
        if asked <= LOOKUPS_BEFORE_INDEX {
            return None;
        }
        Some(self.index.get_or_init(|| {
            let mut index = Index::default();
            for entry in self.values() {
                index.add(entry);
            }
            index
        }))
    }

    /// The entry with the smallest id among those with `uuid`.
    pub(super) fn with_uuid(&self, uuid: Uuid) -> Option<&RegistryEntry> {
        match self.index() {
            Some(index) => self.get(index.by_uuid.get(&uuid)?.first()?),
            None => self.values().find(|e| e.asset_uuid == uuid),
        }
    }

    /// The entries at `root`, in id order (more than one only while a batch moves one
    /// asset into the root another leaves).
    pub(super) fn at_root(&self, root: &AssetPath) -> Vec<&RegistryEntry> {
        match self.index() {
            Some(index) => index
                .by_root
                .at(root.as_str())
                .filter_map(|id| self.get(&AssetId(id)))
                .collect(),
            None => self.values().filter(|e| e.root == *root).collect(),
        }
    }

    /// The entry with the smallest id, among those for which `ignored` does not hold,
    /// whose root is `root` or nests with it.
    pub(super) fn nested_with(
        &self,
        root: &AssetPath,
        ignored: impl Fn(AssetId) -> bool,
    ) -> Option<&RegistryEntry> {
        let nests = |e: &&RegistryEntry| {
            !ignored(e.asset_id)
                && (root.as_ws().starts_with(e.root.as_ws())
                    || e.root.as_ws().starts_with(root.as_ws()))
        };
        match self.index() {
            Some(index) => index
                .by_root
                .nested(root)
                .into_iter()
                .map(AssetId)
                .filter(|id| !ignored(*id))
                .min()
                .and_then(|id| self.get(&id)),
            None => self.values().find(nests),
        }
    }

    pub(super) fn get(&self, id: &AssetId) -> Option<&RegistryEntry> {
        match self.changed.get(id) {
            Some(changed) => changed.as_ref(),
            None => self.base_entry(*id),
        }
    }

    /// Changes the entry of `id` with `change` (copied out of the registry the first
    /// time); false when there is none.
    pub(super) fn update(&mut self, id: &AssetId, change: impl FnOnce(&mut RegistryEntry)) -> bool {
        let Some(mut entry) = self.get(id).cloned() else {
            return false;
        };
        change(&mut entry);
        self.insert(*id, entry);
        true
    }

    pub(super) fn insert(&mut self, id: AssetId, entry: RegistryEntry) {
        if let Some(index) = self.index.get_mut() {
            let old = match self.changed.get(&id) {
                Some(changed) => changed.as_ref(),
                None => base_entry(self.base, id),
            };
            if let Some(old) = old {
                index.drop_entry(old);
            }
            index.add(&entry);
        }
        self.changed.insert(id, Some(entry));
    }

    /// Removes the entry of `id`, giving it back.
    pub(super) fn remove(&mut self, id: &AssetId) -> Option<RegistryEntry> {
        // Marked removed even when already gone: a mark for an id the registry never had
        // hides nothing.
        let removed = match self.changed.insert(*id, None) {
            Some(changed) => changed,
            None => self.base_entry(*id).cloned(),
        };
        if let (Some(index), Some(entry)) = (self.index.get_mut(), &removed) {
            index.drop_entry(entry);
        }
        removed
    }

    /// Every entry, in id order.
    pub(super) fn values(&self) -> Merged<'_> {
        Merged {
            base: self.base.iter().peekable(),
            changed: self.changed.iter().peekable(),
        }
    }

    /// The entries, in id order, for the new registry.
    pub(super) fn into_entries(self) -> Chunked<RegistryEntry> {
        // Entries changed in place (the common case: one flag or root) and entries added
        // after the last (a new asset takes the next id) leave every other entry where
        // it was: the registry's chunks are kept, and only those changed are copied.
        // Where each change goes, found once: at its entry's index, or after the last
        // entry (`None`). Anything else (a removal, an id between two others) is
        // rebuilt whole.
        let slots: Option<Vec<Option<usize>>> = self
            .changed
            .iter()
            .map(|(id, entry)| {
                entry.as_ref()?;
                match self.base.binary_search_by_key(id, |e| e.asset_id) {
                    Ok(index) => Some(Some(index)),
                    Err(index) if index == self.base.len() => Some(None),
                    Err(_) => None,
                }
            })
            .collect();
        let Some(slots) = slots else {
            return self.values().cloned().collect();
        };
        let mut out = self.base.clone();
        let mut added = Vec::new();
        // Every change is `Some` (checked above); in id order, so the additions come last.
        for (slot, entry) in slots.into_iter().zip(self.changed.into_values().flatten()) {
            match slot {
                Some(index) => {
                    if let Some(place) = out.get_mut(index) {
                        *place = entry;
                    }
                }
                None => added.push(entry),
            }
        }
        out.extend(added);
        out
    }

    fn base_entry(&self, id: AssetId) -> Option<&'s RegistryEntry> {
        base_entry(self.base, id)
    }
}

/// The entry of `id` in `base`, sorted by id.
fn base_entry(base: &Chunked<RegistryEntry>, id: AssetId) -> Option<&RegistryEntry> {
    let index = base.binary_search_by_key(&id, |e| e.asset_id).ok()?;
    base.get(index)
}

/// The registry's entries and the batch's changes merged in id order.
pub(super) struct Merged<'a> {
    base: Peekable<chunked::Iter<'a, RegistryEntry>>,
    changed: Peekable<std::collections::btree_map::Iter<'a, AssetId, Option<RegistryEntry>>>,
}

impl<'a> Iterator for Merged<'a> {
    type Item = &'a RegistryEntry;

    fn next(&mut self) -> Option<&'a RegistryEntry> {
        loop {
            let next_changed = self.changed.peek().map(|(id, _)| **id);
            match (self.base.peek(), next_changed) {
                (Some(base), Some(id)) if base.asset_id < id => return self.base.next(),
                (Some(_), None) => return self.base.next(),
                (None, None) => return None,
                (base, Some(id)) => {
                    // A changed entry stands for the registry's entry of the same id.
                    if base.is_some_and(|b| b.asset_id == id) {
                        self.base.next();
                    }
                    if let Some((_, Some(entry))) = self.changed.next() {
                        return Some(entry);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::path::AssetPath;

    fn entry(id: u64, included: bool) -> RegistryEntry {
        RegistryEntry {
            asset_id: AssetId(id),
            asset_uuid: Uuid::from_u128(u128::from(id)),
            root: AssetPath::new(&format!("r{id}")).unwrap(),
            included_in_build: included,
        }
    }

    /// Applies `steps` (id, `Some(included)` to set or add, `None` to remove) to the
    /// entries of `base` and to a plain map, and compares every view of the two.
    fn check(base: &[u64], steps: &[(u64, Option<bool>)]) {
        let base: Chunked<RegistryEntry> = base.iter().map(|&id| entry(id, true)).collect();
        let mut draft = DraftEntries::new(&base);
        let mut plain: BTreeMap<AssetId, RegistryEntry> =
            base.iter().map(|e| (e.asset_id, e.clone())).collect();
        for &(id, step) in steps {
            let id = AssetId(id);
            match step {
                Some(included) => {
                    if draft.update(&id, |e| e.included_in_build = included) {
                        plain.get_mut(&id).unwrap().included_in_build = included;
                    } else {
                        draft.insert(id, entry(id.0, included));
                        plain.insert(id, entry(id.0, included));
                    }
                }
                None => assert_eq!(draft.remove(&id), plain.remove(&id)),
            }
            for probe in 0..12 {
                assert_eq!(draft.get(&AssetId(probe)), plain.get(&AssetId(probe)));
            }
            let merged: Vec<&RegistryEntry> = draft.values().collect();
            assert_eq!(merged, plain.values().collect::<Vec<_>>());
        }
        assert_eq!(
            draft.into_entries().to_vec(),
            plain.into_values().collect::<Vec<_>>()
        );
    }

    #[test]
    fn changes_read_as_a_plain_map_would() {
        check(&[], &[]);
        check(&[1, 2, 3], &[]);
        check(&[1, 2, 3], &[(2, Some(false))]);
        check(&[1, 2, 3], &[(1, None), (3, None), (2, None)]);
        check(
            &[1, 2, 3],
            &[(3, None), (4, Some(true)), (4, None), (5, Some(false))],
        );
        check(
            &[2, 5, 7],
            &[
                (1, Some(true)),
                (5, None),
                (5, None),
                (6, Some(false)),
                (7, Some(false)),
                (9, Some(true)),
            ],
        );
        check(
            &[],
            &[
                (1, Some(true)),
                (1, Some(false)),
                (1, None),
                (2, Some(true)),
            ],
        );
    }

    /// Once the index is made, lookups answer as a pass over the entries would, through
    /// changed roots and uuids, additions and removals.
    #[test]
    fn the_index_answers_as_a_pass_would() {
        let roots = ["a", "a/b", "b", "a-b", "c/d", "c", "a/b/c"];
        let make = |id: u64, uuid: u128, root: &str| RegistryEntry {
            asset_id: AssetId(id),
            asset_uuid: Uuid::from_u128(uuid),
            root: AssetPath::new(root).unwrap(),
            included_in_build: true,
        };
        let base: Chunked<RegistryEntry> = (1..=4)
            .map(|id| make(id, u128::from(id % 3), roots[id as usize]))
            .collect();
        let mut draft = DraftEntries::new(&base);
        for _ in 0..=LOOKUPS_BEFORE_INDEX {
            draft.with_uuid(Uuid::nil());
        }
        assert!(draft.index.get().is_some());
        let probe = |draft: &DraftEntries<'_>| {
            for r in roots {
                let root = AssetPath::new(r).unwrap();
                let pass: Vec<&RegistryEntry> = draft.values().filter(|e| e.root == root).collect();
                assert_eq!(draft.at_root(&root), pass, "at {root}");
                let ignored = |id: AssetId| id == AssetId(2);
                let pass = draft.values().find(|e| {
                    !ignored(e.asset_id)
                        && (root.as_ws().starts_with(e.root.as_ws())
                            || e.root.as_ws().starts_with(root.as_ws()))
                });
                assert_eq!(
                    draft.nested_with(&root, ignored),
                    pass,
                    "nested with {root}"
                );
            }
            for u in 0..4 {
                let uuid = Uuid::from_u128(u);
                let pass = draft.values().find(|e| e.asset_uuid == uuid);
                assert_eq!(draft.with_uuid(uuid), pass, "uuid {u}");
            }
        };
        probe(&draft);
        assert!(draft.update(&AssetId(1), |e| e.root = AssetPath::new("c/d").unwrap()));
        probe(&draft);
        assert!(draft.update(&AssetId(3), |e| e.asset_uuid = Uuid::from_u128(3)));
        probe(&draft);
        draft.remove(&AssetId(2));
        probe(&draft);
        draft.insert(AssetId(5), make(5, 1, "a/b/c"));
        probe(&draft);
        draft.insert(AssetId(5), make(5, 2, "a"));
        probe(&draft);
        draft.remove(&AssetId(5));
        probe(&draft);
        assert!(!draft.update(&AssetId(5), |e| e.included_in_build = false));
        probe(&draft);
    }
}
