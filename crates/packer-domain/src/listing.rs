//! A workspace scan grouped by directory, in a few large buffers: what
//! `WorkspacePort::scan_and_read` fills for the loader to find entries by directory and
//! name.

use crate::path::WsPath;
use crate::ports::{EntryKind, Fingerprint, ScanEntry};

/// A scan grouped by directory: what [`WorkspacePort::scan_and_read`] returns.
///
/// It holds the same entries as [`WorkspacePort::scan`], but in a few large buffers
/// instead of one allocated path per entry, so that building and dropping the listing of
/// a large workspace costs little, and an entry is found by its directory and name.
/// Adapters fill it one directory at a time through [`Listing::dir`], possibly one
/// listing per thread joined with [`Listing::append`].
///
/// [`WorkspacePort::scan_and_read`]: crate::ports::WorkspacePort::scan_and_read
/// [`WorkspacePort::scan`]: crate::ports::WorkspacePort::scan
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Where directories are added.
    own: Chunk,
    /// What other listings appended to this one brought.
    appended: Vec<Chunk>,
}

/// Directories with their paths and names back to back in one string.
#[derive(Debug, Clone, Default)]
struct Chunk {
    text: String,
    dirs: Vec<DirRecord>,
    entries: Vec<EntryRecord>,
}

/// A range of a chunk's `text` or `entries`, as (start, end).
type Span = (usize, usize);

#[derive(Debug, Clone)]
struct DirRecord {
    /// The directory's path, in `text`.
    path: Span,
    /// Its entries, in `entries`, sorted by name once the directory is complete.
    entries: Span,
}

#[derive(Debug, Clone)]
struct EntryRecord {
    /// The name, in `text`.
    name: Span,
    kind: EntryKind,
    fingerprint: Option<Fingerprint>,
}

impl Chunk {
    /// The text at `span`; every span is made from the text it points into.
    fn text(&self, span: Span) -> &str {
        self.text.get(span.0..span.1).unwrap_or_default()
    }
}

impl Listing {
    pub fn new() -> Listing {
        Listing::default()
    }

    /// Starts the listing of the directory `path`; its entries are added through the
    /// builder. Each directory should be listed once.
    pub fn dir(&mut self, path: &WsPath) -> DirBuilder<'_> {
        let chunk = &mut self.own;
        let start = chunk.text.len();
        chunk.text.push_str(path.as_str());
        let first = chunk.entries.len();
        chunk.dirs.push(DirRecord {
            path: (start, chunk.text.len()),
            entries: (first, first),
        });
        DirBuilder { chunk }
    }

    /// Adds every directory of `other`.
    pub fn append(&mut self, other: Listing) {
        let chunks = std::iter::once(other.own).chain(other.appended);
        self.appended
            .extend(chunks.filter(|chunk| !chunk.dirs.is_empty()));
    }

    /// The directory listed last through [`dir`](Self::dir), once its builder is dropped.
    pub fn last_dir(&self) -> Option<ListedDir<'_>> {
        Some(ListedDir {
            chunk: &self.own,
            record: self.own.dirs.last()?,
        })
    }

    /// Every directory listed, in no particular order.
    pub fn dirs(&self) -> impl Iterator<Item = ListedDir<'_>> {
        std::iter::once(&self.own)
            .chain(&self.appended)
            .flat_map(|chunk| {
                chunk
                    .dirs
                    .iter()
                    .map(move |record| ListedDir { chunk, record })
            })
    }

    /// The number of entries in all directories.
    pub fn entry_count(&self) -> usize {
        std::iter::once(&self.own)
            .chain(&self.appended)
            .map(|chunk| chunk.entries.len())
            .sum()
    }

    /// The entries as [`WorkspacePort::scan`](crate::ports::WorkspacePort::scan) reports
    /// them, in no particular order.
    pub fn to_scan_entries(&self) -> Vec<ScanEntry> {
        let mut out = Vec::with_capacity(self.entry_count());
        for dir in self.dirs() {
            let parent = dir.path();
            out.extend(dir.entries().map(|entry| ScanEntry {
                // Both parts were checked as they were added.
                path: WsPath::trusted(&join(parent, entry.name)),
                kind: entry.kind.clone(),
                fingerprint: entry.fingerprint,
            }));
        }
        out
    }
}

/// Adds the entries of one directory to a [`Listing`]; the directory is complete (and
/// its entries sorted by name) when the builder is dropped.
#[derive(Debug)]
pub struct DirBuilder<'a> {
    chunk: &'a mut Chunk,
}

impl DirBuilder<'_> {
    /// Adds the entry `name`, which must be a valid path segment
    /// ([`WsPath::check_segment`]); an invalid one is refused and not added.
    pub fn push(
        &mut self,
        name: &str,
        kind: EntryKind,
        fingerprint: Option<Fingerprint>,
    ) -> Result<(), crate::path::PathError> {
        WsPath::check_segment(name)?;
        let start = self.chunk.text.len();
        self.chunk.text.push_str(name);
        self.chunk.entries.push(EntryRecord {
            name: (start, self.chunk.text.len()),
            kind,
            fingerprint,
        });
        if let Some(dir) = self.chunk.dirs.last_mut() {
            dir.entries.1 = self.chunk.entries.len();
        }
        Ok(())
    }
}

impl Drop for DirBuilder<'_> {
    fn drop(&mut self) {
        // Sorted, an entry is found by binary search however large the directory.
        let Some(&DirRecord { entries: span, .. }) = self.chunk.dirs.last() else {
            return;
        };
        let mut records = std::mem::take(&mut self.chunk.entries);
        if let Some(slice) = records.get_mut(span.0..span.1) {
            slice.sort_unstable_by(|a, b| self.chunk.text(a.name).cmp(self.chunk.text(b.name)));
        }
        self.chunk.entries = records;
    }
}

/// One directory of a [`Listing`].
#[derive(Debug, Clone, Copy)]
pub struct ListedDir<'a> {
    chunk: &'a Chunk,
    record: &'a DirRecord,
}

/// One entry of a [`ListedDir`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedEntry<'a> {
    pub name: &'a str,
    pub kind: &'a EntryKind,
    /// Present for files when
    /// [`ScanOptions::fingerprints`](crate::ports::ScanOptions::fingerprints) was asked
    /// for.
    pub fingerprint: Option<Fingerprint>,
}

impl<'a> ListedDir<'a> {
    /// The directory's path (empty for the workspace root).
    pub fn path(&self) -> &'a str {
        self.chunk.text(self.record.path)
    }

    /// The directory's path as a [`WsPath`].
    pub fn ws_path(&self) -> WsPath {
        // It was a `WsPath` when the directory was added.
        WsPath::trusted(self.path())
    }

    /// The entries, sorted by name.
    pub fn entries(&self) -> impl Iterator<Item = ListedEntry<'a>> + use<'a> {
        let chunk = self.chunk;
        self.records()
            .iter()
            .map(move |record| listed_entry(chunk, record))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.records().len()
    }

    pub fn is_empty(&self) -> bool {
        self.records().is_empty()
    }

    /// The kind of the entry `name`, if the directory holds one.
    pub fn get(&self, name: &str) -> Option<&'a EntryKind> {
        self.entry(name).map(|entry| entry.kind)
    }

    /// The entry `name`, if the directory holds one.
    pub fn entry(&self, name: &str) -> Option<ListedEntry<'a>> {
        let records = self.records();
        let chunk = self.chunk;
        let index = records
            .binary_search_by(|r| chunk.text(r.name).cmp(name))
            .ok()?;
        records.get(index).map(|record| listed_entry(chunk, record))
    }

    fn records(&self) -> &'a [EntryRecord] {
        let (first, end) = self.record.entries;
        self.chunk.entries.get(first..end).unwrap_or_default()
    }
}

/// `parent/name`, or `name` below the root.
fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        return name.to_owned();
    }
    let mut out = String::with_capacity(parent.len() + 1 + name.len());
    out.push_str(parent);
    out.push('/');
    out.push_str(name);
    out
}

/// The entry `record` of `chunk`, as a [`ListedDir`] hands it out.
fn listed_entry<'a>(chunk: &'a Chunk, record: &'a EntryRecord) -> ListedEntry<'a> {
    ListedEntry {
        name: chunk.text(record.name),
        kind: &record.kind,
        fingerprint: record.fingerprint,
    }
}
