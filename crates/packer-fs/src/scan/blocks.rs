//! A walk's entries gathered in blocks, so that the growing list of a large tree is
//! never copied as it grows, only once at the end.

use packer_domain::path::WsPath;
use packer_domain::ports::{EntryKind, Fingerprint, ScanEntry};

/// A worker's entries in blocks, so that its growing list never copies itself, and the
/// final list is copied once into a vector of exactly the right size. Blocks start small
/// (most scans the observer makes are of small trees) and double up to [`BLOCK`].
pub(super) struct Blocks {
    full: Vec<Vec<ScanEntry>>,
    current: Vec<ScanEntry>,
}

/// Largest block, in entries.
const BLOCK: usize = 4096;
const FIRST_BLOCK: usize = 64;

impl Blocks {
    pub(super) fn new() -> Blocks {
        Blocks {
            full: Vec::new(),
            current: Vec::with_capacity(FIRST_BLOCK),
        }
    }

    pub(super) fn push(&mut self, entry: ScanEntry) {
        if self.current.len() == self.current.capacity() {
            let next = Vec::with_capacity((self.current.capacity() * 2).min(BLOCK));
            self.full.push(std::mem::replace(&mut self.current, next));
        }
        self.current.push(entry);
    }

    /// Adds the entry `name` of the directory `dir`; `false` when the workspace cannot
    /// name it.
    pub(super) fn push_child(
        &mut self,
        dir: &WsPath,
        name: &str,
        kind: EntryKind,
        fingerprint: Option<Fingerprint>,
    ) -> bool {
        let Ok(path) = dir.child(name) else {
            return false;
        };
        self.push(ScanEntry {
            path,
            kind,
            fingerprint,
        });
        true
    }

    pub(super) fn merge(&mut self, other: Blocks) {
        self.full.extend(other.full);
        self.full.push(other.current);
    }

    /// Blocks holding `entries` as they are.
    pub(super) fn of(entries: Vec<ScanEntry>) -> Blocks {
        Blocks {
            full: Vec::new(),
            current: entries,
        }
    }

    pub(super) fn into_vec(mut self) -> Vec<ScanEntry> {
        if self.full.is_empty() {
            return self.current;
        }
        self.full.push(self.current);
        let total = self.full.iter().map(Vec::len).sum();
        let mut entries = Vec::with_capacity(total);
        for block in self.full {
            entries.extend(block);
        }
        entries
    }
}
