//! [`Chunked`]: a sequence kept in shared, fixed-size chunks, so that a copy with a few
//! elements changed shares every chunk it did not change.
//!
//! A snapshot holds a record per asset and a registry entry per asset. Each commit makes
//! the next generation from the one before; with plain vectors that copied every record
//! and entry of the project (at 100k assets, milliseconds of copying and as many
//! reference counts raised and later dropped) to change one. Here a copy raises one count
//! per chunk, and a change copies the one chunk it lands in.
//!
//! The chunks are of one size (all full but the last), so that reaching element `i`
//! costs two loads, as a read of a slice costs one: reads by id are the runtime's
//! hottest path. A persistent tree (an RRB vector) would make removal cheap too, at the
//! price of a deeper walk on every read; removal is rare here (`remove_asset`), and a
//! sequence with an element removed is made anew, sharing nothing.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Index;
use std::slice;
use std::sync::Arc;

/// Elements per chunk.
const CHUNK: usize = 128;

/// A sequence stored in shared chunks of `CHUNK` (128) elements (the last may hold fewer).
/// Cloning it shares every chunk; changing an element copies its chunk when shared.
pub struct Chunked<T> {
    chunks: Vec<Arc<[T]>>,
    len: usize,
}

impl<T> Chunked<T> {
    pub const fn new() -> Chunked<T> {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, index: usize) -> Option<&T> {
        self.chunks.get(index / CHUNK)?.get(index % CHUNK)
    }

    pub fn first(&self) -> Option<&T> {
        self.get(0)
    }

    pub fn last(&self) -> Option<&T> {
        self.len.checked_sub(1).and_then(|i| self.get(i))
    }

    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            elements: self.chunks.iter().flat_map(elements as fn(&_) -> &_),
            remaining: self.len,
        }
    }

    /// As [`slice::binary_search_by`]: on a sequence sorted by `compare`, where an
    /// element is, or where it would go.
    pub fn binary_search_by(
        &self,
        mut compare: impl FnMut(&T) -> Ordering,
    ) -> Result<usize, usize> {
        // The chunk first, by its last element; then within it.
        let chunk = self
            .chunks
            .partition_point(|c| c.last().is_some_and(|last| compare(last) == Ordering::Less));
        let Some(found) = self.chunks.get(chunk) else {
            return Err(self.len);
        };
        let base = chunk * CHUNK;
        found
            .binary_search_by(compare)
            .map(|i| base + i)
            .map_err(|i| base + i)
    }

    /// As [`slice::binary_search_by_key`].
    pub fn binary_search_by_key<K: Ord>(
        &self,
        key: &K,
        mut key_of: impl FnMut(&T) -> K,
    ) -> Result<usize, usize> {
        self.binary_search_by(|e| key_of(e).cmp(key))
    }

    /// Whether chunk `chunk` is the same shared chunk in both sequences: if so, its
    /// elements are the same in both, with no need to compare them.
    fn shares_chunk(&self, other: &Chunked<T>, chunk: usize) -> bool {
        match (self.chunks.get(chunk), other.chunks.get(chunk)) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// The elements of chunk `chunk`, and the index of its first element.
    fn chunk(&self, chunk: usize) -> Option<(usize, &[T])> {
        self.chunks.get(chunk).map(|c| (chunk * CHUNK, &c[..]))
    }

    /// The elements, with their index, that do not lie in a chunk `other` shares at the
    /// same place: every element left out is at the same index in both, the same.
    pub fn unshared<'a>(&'a self, other: &'a Chunked<T>) -> impl Iterator<Item = (usize, &'a T)> {
        (0..self.chunks.len())
            .filter(|&c| !self.shares_chunk(other, c))
            .filter_map(|c| self.chunk(c))
            .flat_map(|(first, elements)| (first..).zip(elements))
    }
}

impl<T: Clone> Chunked<T> {
    /// The element at `index`, to change in place; its chunk is copied first if
    /// another sequence shares it.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        let chunk = self.chunks.get_mut(index / CHUNK)?;
        if index % CHUNK >= chunk.len() {
            return None;
        }
        if Arc::get_mut(chunk).is_none() {
            *chunk = chunk.iter().cloned().collect();
        }
        Arc::get_mut(chunk)?.get_mut(index % CHUNK)
    }

    /// Adds `value` at the end: the last chunk is copied with it, or a new one begun.
    /// For more than one, [`Extend`] copies the last chunk once.
    #[cfg(test)]
    pub fn push(&mut self, value: T) {
        self.extend([value]);
    }

    #[cfg(test)]
    pub fn to_vec(&self) -> Vec<T> {
        self.iter().cloned().collect()
    }
}

impl<T> Default for Chunked<T> {
    fn default() -> Chunked<T> {
        Chunked::new()
    }
}

impl<T> Clone for Chunked<T> {
    /// Shares every chunk.
    fn clone(&self) -> Chunked<T> {
        Chunked {
            chunks: self.chunks.clone(),
            len: self.len,
        }
    }
}

impl<T> FromIterator<T> for Chunked<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Chunked<T> {
        let mut items = items.into_iter();
        let mut chunks = Vec::new();
        let mut len = 0;
        loop {
            let chunk: Vec<T> = items.by_ref().take(CHUNK).collect();
            if chunk.is_empty() {
                break;
            }
            len += chunk.len();
            let full = chunk.len() == CHUNK;
            chunks.push(Arc::from(chunk));
            if !full {
                break;
            }
        }
        Chunked { chunks, len }
    }
}

impl<T: Clone> Extend<T> for Chunked<T> {
    /// Adds `items` at the end: the last chunk, if not full, is copied once and topped
    /// up, and the rest go into new chunks.
    fn extend<I: IntoIterator<Item = T>>(&mut self, items: I) {
        let mut items = items.into_iter().peekable();
        if items.peek().is_none() {
            return;
        }
        if let Some(last) = self.chunks.last_mut()
            && last.len() < CHUNK
        {
            let mut grown = Vec::with_capacity(CHUNK);
            grown.extend(last.iter().cloned());
            let before = grown.len();
            grown.extend(items.by_ref().take(CHUNK - before));
            self.len += grown.len() - before;
            *last = grown.into();
        }
        let rest: Chunked<T> = items.collect();
        self.len += rest.len;
        self.chunks.extend(rest.chunks);
    }
}

impl<T> From<Vec<T>> for Chunked<T> {
    fn from(items: Vec<T>) -> Chunked<T> {
        items.into_iter().collect()
    }
}

impl<T> Index<usize> for Chunked<T> {
    type Output = T;

    fn index(&self, index: usize) -> &T {
        match self.get(index) {
            Some(element) => element,
            None => panic!(
                "index {index} out of range for a sequence of {} elements",
                self.len
            ),
        }
    }
}

impl<'a, T> IntoIterator for &'a Chunked<T> {
    type Item = &'a T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T: PartialEq> PartialEq for Chunked<T> {
    fn eq(&self, other: &Chunked<T>) -> bool {
        self.len == other.len
            && self
                .chunks
                .iter()
                .zip(&other.chunks)
                .all(|(a, b)| Arc::ptr_eq(a, b) || a[..] == b[..])
    }
}

impl<T: Eq> Eq for Chunked<T> {}

impl<T: Hash> Hash for Chunked<T> {
    /// As a slice of the same elements hashes.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.len);
        for element in self {
            element.hash(state);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Chunked<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self).finish()
    }
}

/// The elements of a [`Chunked`] in order, from either end: the chunks flattened, with
/// the count left kept for [`ExactSizeIterator`].
pub struct Iter<'a, T> {
    elements: Flattened<'a, T>,
    remaining: usize,
}

type Flattened<'a, T> =
    std::iter::FlatMap<slice::Iter<'a, Arc<[T]>>, &'a [T], fn(&'a Arc<[T]>) -> &'a [T]>;

fn elements<T>(chunk: &Arc<[T]>) -> &[T] {
    chunk
}

impl<T> Clone for Iter<'_, T> {
    fn clone(&self) -> Self {
        Iter {
            elements: self.elements.clone(),
            remaining: self.remaining,
        }
    }
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        let element = self.elements.next()?;
        self.remaining -= 1;
        Some(element)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T> DoubleEndedIterator for Iter<'_, T> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let element = self.elements.next_back()?;
        self.remaining -= 1;
        Some(element)
    }
}

impl<T> ExactSizeIterator for Iter<'_, T> {}

impl<T> std::iter::FusedIterator for Iter<'_, T> {}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn reads_as_the_vector_it_was_made_from(
            items in proptest::collection::vec(any::<u16>(), 0..600),
            probes in proptest::collection::vec(any::<u16>(), 0..40),
        ) {
            let chunked: Chunked<u16> = items.iter().copied().collect();
            prop_assert_eq!(chunked.len(), items.len());
            prop_assert_eq!(chunked.iter().copied().collect::<Vec<_>>(), items.clone());
            prop_assert_eq!(chunked.iter().rev().copied().collect::<Vec<_>>(),
                items.iter().rev().copied().collect::<Vec<_>>());
            prop_assert_eq!(chunked.first(), items.first());
            prop_assert_eq!(chunked.last(), items.last());
            for i in 0..items.len() + 2 {
                prop_assert_eq!(chunked.get(i), items.get(i));
            }
            let mut sorted = items.clone();
            sorted.sort_unstable();
            sorted.dedup();
            let chunked: Chunked<u16> = sorted.iter().copied().collect();
            for probe in probes.iter().chain(&sorted) {
                prop_assert_eq!(
                    chunked.binary_search_by_key(probe, |e| *e),
                    sorted.binary_search(probe)
                );
            }
        }

        #[test]
        fn a_changed_copy_leaves_the_original_and_shares_the_rest(
            items in proptest::collection::vec(any::<u32>(), 1..600),
            changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u32>()), 0..8),
            pushed in proptest::collection::vec(any::<u32>(), 0..200),
        ) {
            let original: Chunked<u32> = items.iter().copied().collect();
            let mut copy = original.clone();
            let mut expected = items.clone();
            for (at, value) in &changes {
                let i = at.index(items.len());
                *copy.get_mut(i).unwrap() = *value;
                expected[i] = *value;
            }
            // Pushed one by one, then as many again at once.
            for value in &pushed {
                copy.push(*value);
                expected.push(*value);
            }
            copy.extend(pushed.iter().copied());
            expected.extend(pushed.iter().copied());
            prop_assert_eq!(original.to_vec(), items.clone());
            prop_assert_eq!(copy.to_vec(), expected.clone());
            prop_assert_eq!(copy.len(), expected.len());
            prop_assert_eq!(copy == original, expected == items);
            let touched: std::collections::BTreeSet<usize> = changes
                .iter()
                .map(|(at, _)| at.index(items.len()) / CHUNK)
                .collect();
            let full = items.len() / CHUNK;
            for chunk in 0..full {
                prop_assert_eq!(copy.shares_chunk(&original, chunk), !touched.contains(&chunk));
            }
            // Whatever `unshared` leaves out is the same in both.
            let listed: std::collections::BTreeSet<usize> =
                copy.unshared(&original).map(|(i, _)| i).collect();
            for (i, value) in copy.iter().enumerate() {
                if !listed.contains(&i) {
                    prop_assert_eq!(Some(value), original.get(i));
                }
            }
            for (i, value) in copy.unshared(&original) {
                prop_assert_eq!(Some(value), copy.get(i));
            }
        }
    }

    #[test]
    fn an_index_out_of_range_is_none() {
        let empty: Chunked<u8> = Chunked::new();
        assert_eq!(empty.get(0), None);
        assert_eq!(empty.last(), None);
        assert_eq!(empty.binary_search_by_key(&3, |e| *e), Err(0));
        let mut one: Chunked<u8> = [1].into_iter().collect();
        assert_eq!(one.get_mut(1), None);
        assert_eq!(one.get(CHUNK), None);
    }
}
