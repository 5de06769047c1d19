//! The `WorkspacePort` operations over a [`Tree`], as strict as a disk can be: every
//! check is made before anything changes, so a failed operation has no effect.

use std::collections::BTreeMap;
use std::sync::Arc;

use packer_domain::listing::Listing;
use packer_domain::path::{PROMETEU_DIR, WsPath};
use packer_domain::ports::{
    DirEntry, DirEntryKind, EntryKind, FileRead, Fingerprint, LinkTarget, PortError, PortErrorKind,
    PortOp, ScanEntry, ScanOptions, SeenDir, SeenDirs,
};

use crate::tree::{Ino, Node, ROOT, Resolved, Tree, Walk, WalkError};

/// What a scan sees of every directory: its stat data (its inode, its entry count as
/// size, the time of its last entry change) and its entries as `scan` reports them.
pub(crate) fn seen_dirs(tree: &Tree) -> SeenDirs {
    let mut dirs = vec![(WsPath::root(), ROOT)];
    tree.visit(|path, ino, node| {
        if path == PROMETEU_DIR {
            return false;
        }
        // A path too deep to spell is the scan's error to report.
        if let (Node::Dir(_), Ok(path)) = (node, WsPath::new(path)) {
            dirs.push((path, ino));
        }
        true
    });
    dirs.into_iter()
        .filter_map(|(path, ino)| {
            let dir = tree.dir(ino)?;
            let entries: Vec<(String, DirEntryKind)> = dir
                .entries
                .iter()
                .filter(|(name, _)| !(path.is_root() && name.as_str() == PROMETEU_DIR))
                .map(|(name, &child)| (name.clone(), entry_kind(tree.node(child))))
                .collect();
            let stamp = Fingerprint {
                size: entries.len() as u64,
                mtime_ns: dir.changed_ns,
                ctime_ns: dir.changed_ns,
                inode: ino,
            };
            Some((path, Arc::new(SeenDir { stamp, entries })))
        })
        .collect()
}

/// What a directory listing calls `node`.
fn entry_kind(node: &Node) -> DirEntryKind {
    match node {
        Node::File(_) => DirEntryKind::File,
        Node::Dir(_) => DirEntryKind::Dir,
        Node::Link(_) => DirEntryKind::Symlink,
        Node::Special => DirEntryKind::Other,
    }
}

/// What reading, stat-ing or writing a FIFO (or socket, or device) gives, as on a disk.
fn not_a_file(op: PortOp, path: &WsPath) -> PortError {
    PortError::new(PortErrorKind::Io, op, path)
        .with_detail("not a regular file (a device, FIFO or socket)")
}

pub(crate) fn scan(tree: &Tree, options: ScanOptions) -> Result<Vec<ScanEntry>, PortError> {
    let mut entries = Vec::new();
    let mut unspellable = None;
    tree.visit(|path, ino, node| {
        if path == PROMETEU_DIR {
            return false;
        }
        let Ok(ws_path) = WsPath::new(path) else {
            // Only a directory moved under a deep enough path gets here: its entries'
            // paths outgrow what a `WsPath` may hold.
            unspellable.get_or_insert_with(|| path.to_owned());
            return false;
        };
        let (kind, fingerprint) = match node {
            Node::File(file) => (
                EntryKind::File,
                options
                    .fingerprints
                    .then(|| Tree::fingerprint(ino, &file.current)),
            ),
            Node::Dir(_) => (EntryKind::Dir, None),
            Node::Link(_) => (EntryKind::Symlink(link_target(tree, &ws_path)), None),
            Node::Special => (EntryKind::Special, None),
        };
        entries.push(ScanEntry {
            path: ws_path,
            kind,
            fingerprint,
        });
        true
    });
    if let Some(path) = unspellable {
        return Err(
            PortError::new(PortErrorKind::Io, PortOp::Scan, &WsPath::root()).with_detail(format!(
                "a path below the workspace is not a valid workspace path: {path}"
            )),
        );
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// The entries of [`scan`], grouped by directory: every directory the scan entered (the
/// root included) with its entries.
pub(crate) fn listing(tree: &Tree, options: ScanOptions) -> Result<Listing, PortError> {
    let entries = scan(tree, options)?;
    // Sorted by path, a directory's entries are interleaved with its subdirectories'
    // (`a/b`, `a/b/c`, `a/c`): group them by parent first.
    let mut children: BTreeMap<WsPath, Vec<&ScanEntry>> = BTreeMap::new();
    children.insert(WsPath::root(), Vec::new());
    for entry in &entries {
        if entry.kind == EntryKind::Dir {
            children.entry(entry.path.clone()).or_default();
        }
        if let Some(parent) = entry.path.parent() {
            children.entry(parent).or_default().push(entry);
        }
    }
    let mut listing = Listing::new();
    for (dir, entries) in &children {
        let mut builder = listing.dir(dir);
        for entry in entries {
            builder
                .push(
                    entry.path.file_name(),
                    entry.kind.clone(),
                    entry.fingerprint,
                )
                .map_err(|e| {
                    PortError::new(PortErrorKind::Io, PortOp::Scan, &entry.path)
                        .with_detail(e.to_string())
                })?;
        }
    }
    Ok(listing)
}

/// Where the link at `path` leads, judged as every operation judges it.
fn link_target(tree: &Tree, path: &WsPath) -> LinkTarget {
    let segments = segments(path);
    match tree.resolve(&segments) {
        Ok((walk, resolved)) => {
            let path = walk.path();
            let target = if path.is_empty() {
                Ok(WsPath::root())
            } else {
                WsPath::new(&path)
            };
            match target {
                Ok(path) => LinkTarget::Inside {
                    path,
                    is_dir: matches!(resolved, Resolved::Dir(_)),
                },
                // Too long to spell: the disk adapter calls that outside too.
                Err(_) => LinkTarget::Outside,
            }
        }
        Err(WalkError::Outside) => LinkTarget::Outside,
        Err(WalkError::NotFound | WalkError::NotADirectory | WalkError::Loop) => {
            LinkTarget::Dangling
        }
    }
}

pub(crate) fn read(tree: &Tree, path: &WsPath, limit: u64) -> Result<FileRead, PortError> {
    let op = PortOp::Read;
    let ino = match tree.resolve(&segments(path)) {
        Ok((_, Resolved::File(ino))) => ino,
        Ok((_, Resolved::Dir(_))) => {
            return Err(PortError::new(PortErrorKind::IsADirectory, op, path));
        }
        Ok((_, Resolved::Special)) => return Err(not_a_file(op, path)),
        Err(error) => return Err(walk_error(error, op, path)),
    };
    let Some(file) = tree.file(ino) else {
        return Err(walk_error(WalkError::NotFound, op, path));
    };
    let size = file.current.bytes.len() as u64;
    if size > limit {
        return Err(PortError::new(PortErrorKind::TooLarge, op, path)
            .with_detail(format!("{size} bytes; the limit is {limit}")));
    }
    Ok(FileRead {
        bytes: file.current.bytes.clone(),
        fingerprint: Tree::fingerprint(ino, &file.current),
    })
}

pub(crate) fn stat(tree: &Tree, path: &WsPath) -> Result<Option<Fingerprint>, PortError> {
    let op = PortOp::Stat;
    match tree.resolve(&segments(path)) {
        Ok((_, Resolved::File(ino))) => Ok(tree
            .file(ino)
            .map(|file| Tree::fingerprint(ino, &file.current))),
        Ok((_, Resolved::Dir(_))) => Err(PortError::new(PortErrorKind::IsADirectory, op, path)),
        Ok((_, Resolved::Special)) => Err(not_a_file(op, path)),
        // Nothing is there: absent, a dangling link, or a file where a directory would
        // have to be. The disk adapter answers the same.
        Err(WalkError::NotFound | WalkError::NotADirectory) => Ok(None),
        Err(error) => Err(walk_error(error, op, path)),
    }
}

pub(crate) fn create_dir_all(tree: &mut Tree, path: &WsPath) -> Result<(), PortError> {
    let op = PortOp::CreateDir;
    let segments = segments(path);
    // The longest prefix that exists, links followed as `mkdir -p` follows them.
    let mut existing = 0;
    let mut dir = crate::tree::ROOT;
    while existing < segments.len() {
        match tree.resolve(&segments[..=existing]) {
            Ok((_, Resolved::Dir(ino))) => {
                dir = ino;
                existing += 1;
            }
            Ok((_, Resolved::File(_) | Resolved::Special)) => {
                return Err(
                    PortError::new(PortErrorKind::AlreadyExists, op, path).with_detail(format!(
                        "`{}` is not a directory",
                        segments[..=existing].join("/")
                    )),
                );
            }
            Err(WalkError::NotFound) => break,
            Err(error) => return Err(walk_error(error, op, path)),
        }
    }
    let Some(missing) = segments.get(existing..) else {
        return Ok(());
    };
    if let Some(first) = missing.first()
        && tree.entry(dir, first).is_some()
    {
        // The name is there but did not resolve: a link that leads nowhere.
        return Err(
            PortError::new(PortErrorKind::AlreadyExists, op, path).with_detail(format!(
                "`{}` is a symbolic link that leads nowhere",
                segments[..=existing].join("/")
            )),
        );
    }
    if !missing.is_empty() {
        writable(tree, dir, op, path)?;
    }
    for name in missing {
        let ino = tree.add_dir();
        tree.attach(dir, name, ino, false);
        dir = ino;
    }
    Ok(())
}

pub(crate) fn write_file(tree: &mut Tree, path: &WsPath, bytes: &[u8]) -> Result<(), PortError> {
    let op = PortOp::Write;
    let (dir, name) = parent(tree, path, op)?;
    let Some(existing) = tree.entry(dir, name) else {
        writable(tree, dir, op, path)?;
        let ino = tree.add_file(bytes.to_vec(), false);
        tree.attach(dir, name, ino, false);
        return Ok(());
    };
    match tree.node(existing) {
        Node::File(_) => {}
        Node::Dir(_) => return Err(PortError::new(PortErrorKind::IsADirectory, op, path)),
        Node::Link(_) => return Err(refuse_link(tree, path, op)),
        Node::Special => return Err(not_a_file(op, path)),
    }
    // Truncate in place, as `O_TRUNC` does: same inode, new content and times.
    let now = tree.tick();
    if let Some(file) = tree.file_mut(existing) {
        file.current.bytes = bytes.to_vec();
        file.current.mtime_ns = now;
        file.current.ctime_ns = now;
    }
    Ok(())
}

pub(crate) fn sync_file(tree: &mut Tree, path: &WsPath) -> Result<(), PortError> {
    let op = PortOp::SyncFile;
    match tree.resolve(&segments(path)) {
        Ok((_, Resolved::File(ino))) => {
            if let Some(file) = tree.file_mut(ino) {
                file.durable = file.current.clone();
            }
            Ok(())
        }
        Ok((_, Resolved::Dir(_))) => Err(PortError::new(PortErrorKind::IsADirectory, op, path)
            .with_detail("use sync_dir for a directory")),
        Ok((_, Resolved::Special)) => Err(not_a_file(op, path)),
        Err(error) => Err(walk_error(error, op, path)),
    }
}

pub(crate) fn list_dir(tree: &Tree, path: &WsPath) -> Result<Vec<DirEntry>, PortError> {
    let op = PortOp::Scan;
    match tree.resolve(&segments(path)) {
        Ok((_, Resolved::Dir(ino))) => Ok(tree
            .dir(ino)
            .map(|dir| {
                dir.entries
                    .iter()
                    .map(|(name, &child)| DirEntry {
                        name: name.clone(),
                        kind: entry_kind(tree.node(child)),
                    })
                    .collect()
            })
            .unwrap_or_default()),
        Ok((_, Resolved::File(_) | Resolved::Special)) => {
            Err(PortError::new(PortErrorKind::NotADirectory, op, path))
        }
        Err(error) => Err(walk_error(error, op, path)),
    }
}

pub(crate) fn sync_dir(tree: &mut Tree, path: &WsPath) -> Result<(), PortError> {
    let op = PortOp::SyncDir;
    match tree.resolve(&segments(path)) {
        Ok((_, Resolved::Dir(ino))) => {
            if let Some(dir) = tree.dir_mut(ino) {
                dir.durable = dir.entries.clone();
            }
            Ok(())
        }
        Ok((_, Resolved::File(_) | Resolved::Special)) => {
            Err(PortError::new(PortErrorKind::NotADirectory, op, path)
                .with_detail("use sync_file for a file"))
        }
        Err(error) => Err(walk_error(error, op, path)),
    }
}

pub(crate) fn rename(tree: &mut Tree, from: &WsPath, to: &WsPath) -> Result<(), PortError> {
    let op = PortOp::Rename;
    if from.is_root() {
        return Err(PortError::new(PortErrorKind::PermissionDenied, op, from)
            .with_detail("the workspace directory itself cannot be renamed"));
    }
    let (from_dir, from_name) = parent(tree, from, op)?;
    let source = tree
        .entry(from_dir, from_name)
        .ok_or_else(|| PortError::new(PortErrorKind::NotFound, op, from))?;
    let source_is_dir = matches!(tree.node(source), Node::Dir(_));
    if to.is_root() {
        // The root is always there, and always a directory.
        let kind = if source_is_dir {
            PortErrorKind::AlreadyExists
        } else {
            PortErrorKind::IsADirectory
        };
        return Err(PortError::new(kind, op, to));
    }
    let (to_walk, to_dir, to_name) = parent_walk(tree, to, op)?;
    if from_dir == to_dir && from_name == to_name {
        return Ok(());
    }
    let existing = tree.entry(to_dir, to_name);
    if existing == Some(source) {
        // Two names for one inode (a crash can leave that): POSIX makes this a no-op.
        return Ok(());
    }
    if source_is_dir {
        if to_walk.passes(source) {
            return Err(
                PortError::new(PortErrorKind::Io, op, to).with_detail(format!(
                    "a directory cannot move into itself ({from} -> {to})"
                )),
            );
        }
        if existing.is_some() {
            return Err(PortError::new(PortErrorKind::AlreadyExists, op, to)
                .with_detail("a directory only moves to a path where nothing is"));
        }
    } else if let Some(existing) = existing
        && matches!(tree.node(existing), Node::Dir(_))
    {
        return Err(PortError::new(PortErrorKind::IsADirectory, op, to));
    }
    writable(tree, from_dir, op, from)?;
    writable(tree, to_dir, op, to)?;
    if source_is_dir && from_dir != to_dir {
        // Its `..` entry changes with its parent.
        writable(tree, source, op, from)?;
    }
    tree.detach(from_dir, from_name, false);
    tree.attach(to_dir, to_name, source, false);
    tree.touch_ctime(source);
    Ok(())
}

pub(crate) fn remove_file(tree: &mut Tree, path: &WsPath) -> Result<(), PortError> {
    let op = PortOp::RemoveFile;
    if path.is_root() {
        return Err(PortError::new(PortErrorKind::IsADirectory, op, path));
    }
    let (dir, name) = parent(tree, path, op)?;
    let existing = tree
        .entry(dir, name)
        .ok_or_else(|| PortError::new(PortErrorKind::NotFound, op, path))?;
    if matches!(tree.node(existing), Node::Dir(_)) {
        return Err(PortError::new(PortErrorKind::IsADirectory, op, path)
            .with_detail("use remove_dir_all for a directory"));
    }
    writable(tree, dir, op, path)?;
    tree.tick();
    tree.detach(dir, name, false);
    Ok(())
}

pub(crate) fn remove_dir_all(tree: &mut Tree, path: &WsPath) -> Result<(), PortError> {
    let op = PortOp::RemoveDir;
    let (dir, name, existing) = removable_dir(tree, path, op)?;
    // Emptying the tree removes the entries of every directory in it.
    let mut pending = vec![existing];
    while let Some(ino) = pending.pop() {
        writable(tree, ino, op, path)?;
        if let Some(inner) = tree.dir(ino) {
            pending.extend(
                inner
                    .entries
                    .values()
                    .copied()
                    .filter(|&child| matches!(tree.node(child), Node::Dir(_))),
            );
        }
    }
    tree.tick();
    tree.detach(dir, name, false);
    Ok(())
}

pub(crate) fn remove_empty_dir(tree: &mut Tree, path: &WsPath) -> Result<bool, PortError> {
    let (dir, name, existing) = removable_dir(tree, path, PortOp::RemoveDir)?;
    if tree
        .dir(existing)
        .is_some_and(|inner| !inner.entries.is_empty())
    {
        return Ok(false);
    }
    tree.tick();
    tree.detach(dir, name, false);
    Ok(true)
}

/// The directory `path`, about to be removed: its parent (checked to allow the change,
/// as a disk checks before it looks inside), its name there and its own node.
fn removable_dir<'p>(
    tree: &Tree,
    path: &'p WsPath,
    op: PortOp,
) -> Result<(Ino, &'p str, Ino), PortError> {
    if path.is_root() {
        return Err(PortError::new(PortErrorKind::PermissionDenied, op, path)
            .with_detail("the workspace directory itself is never removed"));
    }
    let (dir, name) = parent(tree, path, op)?;
    let existing = tree
        .entry(dir, name)
        .ok_or_else(|| PortError::new(PortErrorKind::NotFound, op, path))?;
    match tree.node(existing) {
        Node::Dir(_) => {}
        Node::File(_) | Node::Special => {
            return Err(PortError::new(PortErrorKind::NotADirectory, op, path));
        }
        Node::Link(_) => {
            return Err(PortError::new(PortErrorKind::NotADirectory, op, path)
                .with_detail("it is a symbolic link; remove it with remove_file"));
        }
    }
    writable(tree, dir, op, path)?;
    Ok((dir, name, existing))
}

pub(crate) fn check_writable(tree: &Tree, path: &WsPath) -> Result<(), PortError> {
    let op = PortOp::CheckWritable;
    match tree.resolve(&segments(path)) {
        Ok((_, Resolved::Dir(ino))) => writable(tree, ino, op, path),
        Ok((_, Resolved::File(_) | Resolved::Special)) => {
            Err(PortError::new(PortErrorKind::NotADirectory, op, path))
        }
        Err(error) => Err(walk_error(error, op, path)),
    }
}

/// `PermissionDenied` when a person made the directory `dir` read-only.
fn writable(tree: &Tree, dir: Ino, op: PortOp, path: &WsPath) -> Result<(), PortError> {
    if tree.dir(dir).is_some_and(|dir| dir.read_only) {
        return Err(PortError::new(PortErrorKind::PermissionDenied, op, path)
            .with_detail("a directory on the way is read-only"));
    }
    Ok(())
}

/// Checks that the lock can live where the disk adapter keeps it: `.prometeu/` must be
/// a directory.
pub(crate) fn check_lock_dir(tree: &Tree, lock_path: &WsPath) -> Result<(), PortError> {
    let op = PortOp::Lock;
    match tree.resolve(&[PROMETEU_DIR]) {
        Ok((_, Resolved::Dir(_))) => Ok(()),
        Ok((_, Resolved::File(_) | Resolved::Special)) => {
            Err(PortError::new(PortErrorKind::NotADirectory, op, lock_path)
                .with_detail(".prometeu is not a directory"))
        }
        Err(error) => Err(walk_error(error, op, lock_path)
            .with_detail("the lock lives in .prometeu, which must exist")),
    }
}

fn segments(path: &WsPath) -> Vec<&str> {
    path.segments().collect()
}

/// The directory that holds `path`'s last segment (links on the way followed), and that
/// segment. `path` must not be the root.
fn parent<'p>(tree: &Tree, path: &'p WsPath, op: PortOp) -> Result<(Ino, &'p str), PortError> {
    parent_walk(tree, path, op).map(|(_, dir, name)| (dir, name))
}

fn parent_walk<'p>(
    tree: &Tree,
    path: &'p WsPath,
    op: PortOp,
) -> Result<(Walk, Ino, &'p str), PortError> {
    let segments = segments(path);
    let Some((name, parents)) = segments.split_last() else {
        return Err(PortError::new(PortErrorKind::IsADirectory, op, path)
            .with_detail("the workspace directory itself"));
    };
    match tree.resolve(parents) {
        Ok((walk, Resolved::Dir(dir))) => Ok((walk, dir, name)),
        Ok((_, Resolved::File(_) | Resolved::Special)) => {
            Err(PortError::new(PortErrorKind::NotADirectory, op, path)
                .with_detail("the parent is not a directory"))
        }
        Err(WalkError::NotFound) => Err(PortError::new(PortErrorKind::NotFound, op, path)
            .with_detail("the parent directory does not exist")),
        Err(error) => Err(walk_error(error, op, path)),
    }
}

/// The refusal to write through the link at `path`: `OutsideWorkspace` when it leads
/// out, `AlreadyExists` otherwise (the port never writes through a link).
fn refuse_link(tree: &Tree, path: &WsPath, op: PortOp) -> PortError {
    match tree.walk(&segments(path), true) {
        Err(WalkError::Outside) => PortError::new(PortErrorKind::OutsideWorkspace, op, path)
            .with_detail("it is a symbolic link that leads outside the workspace"),
        _ => PortError::new(PortErrorKind::AlreadyExists, op, path)
            .with_detail("it is a symbolic link; the workspace port never writes through one"),
    }
}

pub(crate) fn walk_error(error: WalkError, op: PortOp, path: &WsPath) -> PortError {
    match error {
        WalkError::NotFound => PortError::new(PortErrorKind::NotFound, op, path),
        WalkError::NotADirectory => PortError::new(PortErrorKind::NotADirectory, op, path)
            .with_detail("a file stands where a directory is needed"),
        WalkError::Outside => PortError::new(PortErrorKind::OutsideWorkspace, op, path).with_detail(
            "a symbolic link on the way leads outside the workspace, or between it and .prometeu",
        ),
        WalkError::Loop => PortError::new(PortErrorKind::Io, op, path)
            .with_detail("too many levels of symbolic links"),
    }
}
