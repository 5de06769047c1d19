//! The registry entries a plan is changing: the snapshot's entries, shared, under the
//! few entries the commands changed, added or removed. Planning one command on a large
//! project then copies nothing until the new registry is made.

use std::collections::BTreeMap;
use std::iter::Peekable;

use crate::registry::{AssetId, RegistryEntry};

/// The registry's entries as a batch has left them, in id order.
#[derive(Debug)]
pub(super) struct DraftEntries<'s> {
    /// The registry's entries, sorted by id.
    base: &'s [RegistryEntry],
    /// Entries this batch changed or added (`Some`) or removed (`None`), by id.
    changed: BTreeMap<AssetId, Option<RegistryEntry>>,
}

impl<'s> DraftEntries<'s> {
    /// The entries of a registry (sorted by id, as a `Registry` keeps them).
    pub(super) fn new(base: &'s [RegistryEntry]) -> DraftEntries<'s> {
        DraftEntries {
            base,
            changed: BTreeMap::new(),
        }
    }

    pub(super) fn get(&self, id: &AssetId) -> Option<&RegistryEntry> {
        match self.changed.get(id) {
            Some(changed) => changed.as_ref(),
            None => self.base_entry(*id),
        }
    }

    /// The entry of `id`, to change; copied out of the registry the first time.
    pub(super) fn get_mut(&mut self, id: &AssetId) -> Option<&mut RegistryEntry> {
        if !self.changed.contains_key(id) {
            let entry = self.base_entry(*id)?.clone();
            self.changed.insert(*id, Some(entry));
        }
        self.changed.get_mut(id)?.as_mut()
    }

    pub(super) fn insert(&mut self, id: AssetId, entry: RegistryEntry) {
        self.changed.insert(id, Some(entry));
    }

    /// Removes the entry of `id`, giving it back.
    pub(super) fn remove(&mut self, id: &AssetId) -> Option<RegistryEntry> {
        // Marked removed even when already gone: a mark for an id the registry never had
        // hides nothing.
        match self.changed.insert(*id, None) {
            Some(changed) => changed,
            None => self.base_entry(*id).cloned(),
        }
    }

    /// Every entry, in id order.
    pub(super) fn values(&self) -> Merged<'_> {
        Merged {
            base: self.base.iter().peekable(),
            changed: self.changed.iter().peekable(),
        }
    }

    /// The entries, in id order, for the new registry.
    pub(super) fn into_vec(self) -> Vec<RegistryEntry> {
        // Entries changed in place (the common case: one flag or root) leave every id
        // where it was: a plain copy of the registry's entries, patched, is quicker than
        // a merge.
        let in_place = self
            .changed
            .iter()
            .all(|(id, entry)| entry.is_some() && self.base_entry(*id).is_some());
        if in_place {
            let mut out = self.base.to_vec();
            for (id, entry) in self.changed {
                if let (Ok(index), Some(entry)) =
                    (out.binary_search_by_key(&id, |e| e.asset_id), entry)
                {
                    out[index] = entry;
                }
            }
            return out;
        }
        let mut out = Vec::with_capacity(self.base.len() + self.changed.len());
        out.extend(self.values().cloned());
        out
    }

    fn base_entry(&self, id: AssetId) -> Option<&'s RegistryEntry> {
        let index = self.base.binary_search_by_key(&id, |e| e.asset_id).ok()?;
        self.base.get(index)
    }
}

/// The registry's entries and the batch's changes merged in id order.
pub(super) struct Merged<'a> {
    base: Peekable<std::slice::Iter<'a, RegistryEntry>>,
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
        let base: Vec<RegistryEntry> = base.iter().map(|&id| entry(id, true)).collect();
        let mut draft = DraftEntries::new(&base);
        let mut plain: BTreeMap<AssetId, RegistryEntry> =
            base.iter().map(|e| (e.asset_id, e.clone())).collect();
        for &(id, step) in steps {
            let id = AssetId(id);
            match step {
                Some(included) => match draft.get_mut(&id) {
                    Some(e) => {
                        e.included_in_build = included;
                        plain.get_mut(&id).unwrap().included_in_build = included;
                    }
                    None => {
                        draft.insert(id, entry(id.0, included));
                        plain.insert(id, entry(id.0, included));
                    }
                },
                None => assert_eq!(draft.remove(&id), plain.remove(&id)),
            }
            for probe in 0..12 {
                assert_eq!(draft.get(&AssetId(probe)), plain.get(&AssetId(probe)));
            }
            let merged: Vec<&RegistryEntry> = draft.values().collect();
            assert_eq!(merged, plain.values().collect::<Vec<_>>());
        }
        assert_eq!(draft.into_vec(), plain.into_values().collect::<Vec<_>>());
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
}
