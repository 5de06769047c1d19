//! Roots in text order, so that those equal to, above or below one root are found
//! without a pass over them all: a batch of thousands of commands checks each root it
//! registers or moves against every registered root and every folder it moves.

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::path::AssetPath;

/// Roots, each with the numbers saying whose it is; a root may be listed with several.
#[derive(Debug, Default)]
pub(super) struct RootSet {
    /// Root → its numbers, smallest first. In byte order the roots below `a` follow
    /// `a/` together. Looked up by text, so a lookup allocates nothing.
    map: BTreeMap<AssetPath, Vec<u64>>,
}

impl RootSet {
    pub(super) fn insert(&mut self, root: &AssetPath, number: u64) {
        let numbers = self.map.entry(root.clone()).or_default();
        if let Err(i) = numbers.binary_search(&number) {
            numbers.insert(i, number);
        }
    }

    pub(super) fn remove(&mut self, root: &AssetPath, number: u64) {
        let Some(numbers) = self.map.get_mut(root.as_str()) else {
            return;
        };
        if let Ok(i) = numbers.binary_search(&number) {
            numbers.remove(i);
        }
        if numbers.is_empty() {
            self.map.remove(root.as_str());
        }
    }

    /// The numbers listed with exactly `root`, smallest first.
    pub(super) fn at(&self, root: &str) -> impl Iterator<Item = u64> + '_ {
        self.map.get(root).into_iter().flatten().copied()
    }

    /// The numbers of the roots that `root` is or lies below, segment-wise.
    pub(super) fn at_or_above(&self, root: &AssetPath) -> Vec<u64> {
        root.at_and_above().flat_map(|r| self.at(r)).collect()
    }

    /// The numbers of the roots that are `root`, lie above it or below it.
    pub(super) fn nested(&self, root: &AssetPath) -> Vec<u64> {
        let mut found = self.at_or_above(root);
        let below = format!("{}/", root.as_str());
        found.extend(
            self.map
                .range::<str, _>((Bound::Included(below.as_str()), Bound::Unbounded))
                .take_while(|(path, _)| path.as_str().starts_with(&below))
                .flat_map(|(_, numbers)| numbers.iter().copied()),
        );
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(roots: &[&str], root: &str, at_or_above: &[u64], nested: &[u64]) {
        let mut set = RootSet::default();
        for (i, r) in roots.iter().enumerate() {
            set.insert(&AssetPath::new(r).unwrap(), i as u64);
        }
        let root = AssetPath::new(root).unwrap();
        let mut got = set.at_or_above(&root);
        got.sort_unstable();
        assert_eq!(got, at_or_above, "at or above {root}");
        let mut got = set.nested(&root);
        got.sort_unstable();
        assert_eq!(got, nested, "nested with {root}");
    }

    #[test]
    fn finds_roots_segment_wise() {
        let roots = ["a", "a/b", "a/b/c", "a/bc", "a-b", "a/b-c", "b", "a/b/c/d"];
        check(&roots, "a/b", &[0, 1], &[0, 1, 2, 7]);
        check(&roots, "a/b/c/d/e", &[0, 1, 2, 7], &[0, 1, 2, 7]);
        check(&roots, "a-b", &[4], &[4]);
        check(&roots, "c", &[], &[]);
        check(&roots, "a", &[0], &[0, 1, 2, 3, 5, 7]);
        check(&["x", "x"], "x", &[0, 1], &[0, 1]);
    }
}
