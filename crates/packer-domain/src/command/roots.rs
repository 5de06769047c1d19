//! Roots in text order, so that those equal to, above or below one root are found
//! without a pass over them all: a batch of thousands of commands checks each root it
//! registers or moves against every registered root and every folder it moves.

use std::collections::BTreeSet;

use crate::path::AssetPath;
use crate::snapshot::FoundDeclaration;

/// Roots, each with a number saying whose it is; a root may be listed with several.
#[derive(Debug, Default)]
pub(super) struct RootSet {
    /// (root, number): the roots below `a` are the range that starts at `a/`.
    set: BTreeSet<(String, u64)>,
}

impl RootSet {
    pub(super) fn insert(&mut self, root: &AssetPath, number: u64) {
        self.set.insert((root.as_str().to_owned(), number));
    }

    pub(super) fn remove(&mut self, root: &AssetPath, number: u64) {
        self.set.remove(&(root.as_str().to_owned(), number));
    }

    /// The numbers listed with exactly `root`, smallest first.
    pub(super) fn at(&self, root: &str) -> impl Iterator<Item = u64> + '_ {
        self.set
            .range((root.to_owned(), 0)..=(root.to_owned(), u64::MAX))
            .map(|(_, number)| *number)
    }

    /// The numbers of the roots that `root` is or lies below, segment-wise.
    pub(super) fn at_or_above(&self, root: &AssetPath) -> Vec<u64> {
        let text = root.as_str();
        let mut found: Vec<u64> = text
            .match_indices('/')
            .flat_map(|(cut, _)| self.at(&text[..cut]))
            .collect();
        found.extend(self.at(text));
        found
    }

    /// The numbers of the roots that are `root`, lie above it or below it.
    pub(super) fn nested(&self, root: &AssetPath) -> Vec<u64> {
        let mut found = self.at_or_above(root);
        let below = format!("{}/", root.as_str());
        found.extend(
            self.set
                .range((below.clone(), 0)..)
                .take_while(|(path, _)| path.starts_with(&below))
                .map(|(_, number)| *number),
        );
        found
    }
}

/// The unregistered `asset.json` at `root` among `found` (sorted by root, as the loader
/// keeps them).
pub(super) fn found_at<'a>(
    found: &'a [FoundDeclaration],
    root: &AssetPath,
) -> Option<&'a FoundDeclaration> {
    let i = found.binary_search_by(|f| f.root.cmp(root)).ok()?;
    found.get(i)
}

/// Whether an `asset.json` of `found` (sorted by root) lies at, above or below `root`.
pub(super) fn nests_with_found(found: &[FoundDeclaration], root: &AssetPath) -> bool {
    let text = root.as_str();
    let at_or_above = text
        .match_indices('/')
        .map(|(cut, _)| &text[..cut])
        .chain([text])
        .any(|r| found.binary_search_by(|f| f.root.as_str().cmp(r)).is_ok());
    // In text order the roots below `root` follow `root/`.
    let below = format!("{text}/");
    let first_below = found.partition_point(|f| f.root.as_str() < below.as_str());
    at_or_above
        || found
            .get(first_below)
            .is_some_and(|f| f.root.as_str().starts_with(&below))
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
