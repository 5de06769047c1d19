//! Input resolution for the loader: what the listing holds at an input's path, asked of
//! one folder's listing, of some folders, or of the whole listing, and the walk that
//! follows links as long as they stay inside the asset's root.

use rustc_hash::FxHashMap;

use crate::listing::{ListedDir, ListedEntry, Listing};
use crate::path::{AssetPath, WsPath};
use crate::ports::{DirEntryKind, EntryKind, LinkTarget};

use super::InputState;

/// The state of an input whose entry is of kind `kind`, where the kind alone settles
/// it; `None` for a link, which is followed instead.
pub(super) fn listed_input_state(kind: DirEntryKind) -> Option<InputState> {
    let unusable = |why: &str| Some(InputState::NotConfined(why.to_owned()));
    match kind {
        DirEntryKind::File => Some(InputState::Present),
        DirEntryKind::Dir => unusable("it is a directory, not a file"),
        DirEntryKind::Other => unusable("it is a FIFO, socket or device, not a file"),
        DirEntryKind::Symlink => None,
    }
}

/// A lookup that cannot tell: the path lies outside what it was given.
pub(super) struct Unknown;

/// What the listing holds at a path, as far as a lookup knows.
pub(super) trait Kinds<'l> {
    fn kind(&self, path: &str) -> Result<Option<&'l EntryKind>, Unknown>;
}

/// One folder's listing: it knows the paths directly inside that folder.
pub(super) struct FolderKinds<'l>(pub(super) ListedDir<'l>);

impl<'l> Kinds<'l> for FolderKinds<'l> {
    fn kind(&self, path: &str) -> Result<Option<&'l EntryKind>, Unknown> {
        let (parent, name) = split_parent(path);
        if parent == self.0.path() {
            Ok(self.0.get(name))
        } else {
            Err(Unknown)
        }
    }
}

/// Some folders of the listing, by path: they know the paths directly inside them. A
/// folder wanted but not listed holds nothing.
pub(super) struct SomeFolders<'w, 'l> {
    pub(super) dirs: &'w FxHashMap<String, Option<ListedDir<'l>>>,
}

impl<'l> Kinds<'l> for SomeFolders<'_, 'l> {
    fn kind(&self, path: &str) -> Result<Option<&'l EntryKind>, Unknown> {
        let (parent, name) = split_parent(path);
        match self.dirs.get(parent) {
            Some(dir) => Ok(dir.and_then(|dir| dir.get(name))),
            None => Err(Unknown),
        }
    }
}

/// The whole listing, its folders indexed by path.
pub(super) struct ListingKinds<'l> {
    dirs: FxHashMap<&'l str, ListedDir<'l>>,
}

impl<'l> ListingKinds<'l> {
    pub(super) fn new(listing: &'l Listing) -> ListingKinds<'l> {
        ListingKinds {
            dirs: listing.dirs().map(|dir| (dir.path(), dir)).collect(),
        }
    }

    /// The entry at `path`, if its folder was listed and holds one.
    pub(super) fn entry(&self, path: &str) -> Option<ListedEntry<'l>> {
        let (parent, name) = split_parent(path);
        self.dirs.get(parent)?.entry(name)
    }
}

impl<'l> Kinds<'l> for ListingKinds<'l> {
    fn kind(&self, path: &str) -> Result<Option<&'l EntryKind>, Unknown> {
        let (parent, name) = split_parent(path);
        Ok(self.dirs.get(parent).and_then(|dir| dir.get(name)))
    }
}

/// `a/b/c` → (`a/b`, `c`); `c` → (``, `c`).
pub(super) fn split_parent(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

/// The path without its last segment; `None` for the root (the empty path).
pub(super) fn parent_of(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    Some(split_parent(path).0)
}

/// [`WsPath::starts_with`] on strings: `path` is `base` or lies below it.
pub(super) fn starts_with_segments(path: &str, base: &str) -> bool {
    base.is_empty()
        || path == base
        || (path.len() > base.len()
            && path.starts_with(base)
            && path.as_bytes().get(base.len()) == Some(&b'/'))
}

/// Appends `parent/rest` (or `rest` below the root) to `out`.
pub(super) fn push_joined(out: &mut String, parent: &str, rest: &str) {
    if !parent.is_empty() {
        out.push_str(parent);
        out.push('/');
    }
    out.push_str(rest);
}

/// Resolves `input` of the asset at `root` through the listing, following links that
/// stay inside the root. `path` is a buffer, reused so that a lookup allocates nothing.
pub(super) fn resolve_input<'l>(
    kinds: &impl Kinds<'l>,
    root: &WsPath,
    input: &AssetPath,
    path: &mut String,
) -> Result<InputState, Unknown> {
    let root_text = root.as_str();
    path.clear();
    push_joined(path, root_text, input.as_str());
    // Each step resolves one link; a chain longer than this is a loop to us.
    for _ in 0..16 {
        match kinds.kind(path)? {
            Some(EntryKind::Symlink(target)) => match target {
                LinkTarget::Inside { path: target, .. } if target.starts_with(root) => {
                    path.clear();
                    path.push_str(target.as_str());
                    continue;
                }
                LinkTarget::Inside { .. } | LinkTarget::Outside => {
                    return Ok(InputState::NotConfined(
                        "it is a symbolic link that leads outside the asset folder".to_owned(),
                    ));
                }
                LinkTarget::Dangling => return Ok(InputState::Missing),
            },
            Some(kind) => {
                if let Some(state) = listed_input_state(kind.listed()) {
                    return Ok(state);
                }
            }
            None => {}
        }
        // Not listed: maybe a folder on the way is a link the scan did not enter.
        match linked_ancestor(kinds, root_text, path)? {
            Some((link_len, target)) => match target {
                LinkTarget::Inside { path: target, .. } if target.starts_with(root) => {
                    let rest = path[link_len + 1..].to_owned();
                    path.clear();
                    push_joined(path, target.as_str(), &rest);
                }
                LinkTarget::Inside { .. } | LinkTarget::Outside => {
                    return Ok(InputState::NotConfined(format!(
                        "`{}` is a symbolic link that leads outside the asset folder",
                        &path[..link_len]
                    )));
                }
                LinkTarget::Dangling => return Ok(InputState::Missing),
            },
            None => return Ok(InputState::Missing),
        }
    }
    Ok(InputState::NotConfined(
        "its symbolic links form a loop".to_owned(),
    ))
}

/// The nearest folder between `root` (exclusive) and `path` that is a link: the length
/// of its path (a prefix of `path`) and where it leads.
pub(super) fn linked_ancestor<'l>(
    kinds: &impl Kinds<'l>,
    root: &str,
    path: &str,
) -> Result<Option<(usize, &'l LinkTarget)>, Unknown> {
    let Some(mut current) = parent_of(path) else {
        return Ok(None);
    };
    while starts_with_segments(current, root) && current != root {
        if let Some(EntryKind::Symlink(target)) = kinds.kind(current)? {
            return Ok(Some((current.len(), target)));
        }
        match parent_of(current) {
            Some(parent) => current = parent,
            None => return Ok(None),
        }
    }
    Ok(None)
}
