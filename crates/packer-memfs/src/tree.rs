//! The inode tree behind a [`MemFs`](crate::MemFs): files, directories and symbolic
//! links, each with a current and a durable state, the path walk every operation goes
//! through, and the crash that throws away whatever was not made durable.
//!
//! Directories map names to inode numbers, as on a real file system, so that renaming a
//! directory moves its whole subtree at once and durability is a property of each
//! directory's entry set, not of paths.

use std::collections::{BTreeMap, BTreeSet};

use packer_domain::path::PROMETEU_DIR;
use packer_domain::ports::Fingerprint;

/// An inode number: assigned when an inode is made, never reused.
pub(crate) type Ino = u64;

/// The workspace directory (`assets/`) itself.
pub(crate) const ROOT: Ino = 1;

/// Links followed during one walk before it is taken for a loop: Linux's own limit.
const MAX_LINK_HOPS: u32 = 40;

/// Where the logical clock starts: November 2023, so that times read like real ones.
pub(crate) const CLOCK_ORIGIN_NS: i64 = 1_700_000_000_000_000_000;

/// A file's content and times as of one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileData {
    pub(crate) bytes: Vec<u8>,
    pub(crate) mtime_ns: i64,
    pub(crate) ctime_ns: i64,
}

#[derive(Debug)]
pub(crate) struct FileNode {
    /// What reads see.
    pub(crate) current: FileData,
    /// What survives a crash: the content as of the last `sync_file`.
    pub(crate) durable: FileData,
}

#[derive(Debug, Default)]
pub(crate) struct DirNode {
    /// What lookups see.
    pub(crate) entries: BTreeMap<String, Ino>,
    /// What survives a crash: the entries as of the last `sync_dir`.
    pub(crate) durable: BTreeMap<String, Ino>,
    /// When an entry was last created, removed or renamed: the directory's times.
    pub(crate) changed_ns: i64,
    /// Set by a person (`chmod a-w`): the port may not add, remove or rename entries.
    pub(crate) read_only: bool,
}

#[derive(Debug)]
pub(crate) enum Node {
    File(FileNode),
    Dir(DirNode),
    /// A symbolic link and its raw target text, as `readlink` would give it.
    Link(String),
    /// A FIFO (or socket, or device): a name and a kind, nothing to read or write.
    Special,
}

/// Why a walk stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WalkError {
    /// A name on the way is missing, or a link leads nowhere.
    NotFound,
    /// A file stands where a directory is needed.
    NotADirectory,
    /// A link leads out of the workspace (absolute, or `..` above `assets/`), or moves the
    /// path between the user's area and `.prometeu`.
    Outside,
    /// More than [`MAX_LINK_HOPS`] links: a loop, as far as anyone can tell.
    Loop,
}

/// The physical path a walk reached: every directory (and the final entry) by name and
/// inode, with no link left in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Walk {
    steps: Vec<(String, Ino)>,
}

impl Walk {
    /// The inode the walk ended at.
    pub(crate) fn ino(&self) -> Ino {
        self.steps.last().map_or(ROOT, |(_, ino)| *ino)
    }

    /// Whether the walk went through (or ended at) `ino`.
    pub(crate) fn passes(&self, ino: Ino) -> bool {
        ino == ROOT || self.steps.iter().any(|(_, step)| *step == ino)
    }

    /// The link-free path, `/`-separated; empty for the root.
    pub(crate) fn path(&self) -> String {
        let names: Vec<&str> = self.steps.iter().map(|(name, _)| name.as_str()).collect();
        names.join("/")
    }

    fn is_internal(&self) -> bool {
        self.steps
            .first()
            .is_some_and(|(name, _)| name == PROMETEU_DIR)
    }
}

/// What a walk that follows every link ends at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolved {
    File(Ino),
    Dir(Ino),
    /// A FIFO, socket or device.
    Special,
}

#[derive(Debug)]
pub(crate) struct Tree {
    nodes: BTreeMap<Ino, Node>,
    next_ino: Ino,
    clock_ns: i64,
}

impl Tree {
    /// A workspace holding only its (durable) root directory.
    pub(crate) fn new() -> Tree {
        Tree {
            nodes: BTreeMap::from([(ROOT, Node::Dir(DirNode::default()))]),
            next_ino: ROOT + 1,
            clock_ns: CLOCK_ORIGIN_NS,
        }
    }

    /// Advances the logical clock; every mutation takes one tick, so no two mutations
    /// share a time and a fingerprint always moves.
    pub(crate) fn tick(&mut self) -> i64 {
        self.clock_ns += 1;
        self.clock_ns
    }

    /// Number of inodes alive (reachable now, or from durable state).
    pub(crate) fn inode_count(&self) -> usize {
        self.nodes.len()
    }

    pub(crate) fn node(&self, ino: Ino) -> &Node {
        // Invariant: every inode named by a directory entry (current or durable) is in
        // the table; inodes leave it only in `crash`, which drops exactly the unreachable
        // ones, and every `Ino` handed out comes from a lookup or a creation.
        self.nodes
            .get(&ino)
            .expect("directory entries only name inodes in the table")
    }

    pub(crate) fn dir(&self, ino: Ino) -> Option<&DirNode> {
        match self.nodes.get(&ino) {
            Some(Node::Dir(dir)) => Some(dir),
            _ => None,
        }
    }

    pub(crate) fn dir_mut(&mut self, ino: Ino) -> Option<&mut DirNode> {
        match self.nodes.get_mut(&ino) {
            Some(Node::Dir(dir)) => Some(dir),
            _ => None,
        }
    }

    pub(crate) fn file(&self, ino: Ino) -> Option<&FileNode> {
        match self.nodes.get(&ino) {
            Some(Node::File(file)) => Some(file),
            _ => None,
        }
    }

    pub(crate) fn file_mut(&mut self, ino: Ino) -> Option<&mut FileNode> {
        match self.nodes.get_mut(&ino) {
            Some(Node::File(file)) => Some(file),
            _ => None,
        }
    }

    /// The inode named `name` in directory `dir`, as lookups see it now.
    pub(crate) fn entry(&self, dir: Ino, name: &str) -> Option<Ino> {
        self.dir(dir)?.entries.get(name).copied()
    }

    /// A new file inode holding `bytes`. A durable one survives a crash with this
    /// content; otherwise its durable content is empty until `sync_file`.
    pub(crate) fn add_file(&mut self, bytes: Vec<u8>, durable: bool) -> Ino {
        let now = self.tick();
        let current = FileData {
            bytes,
            mtime_ns: now,
            ctime_ns: now,
        };
        let durable = if durable {
            current.clone()
        } else {
            FileData {
                bytes: Vec::new(),
                mtime_ns: now,
                ctime_ns: now,
            }
        };
        self.insert(Node::File(FileNode { current, durable }))
    }

    pub(crate) fn add_dir(&mut self) -> Ino {
        self.tick();
        self.insert(Node::Dir(DirNode::default()))
    }

    pub(crate) fn add_link(&mut self, target: String) -> Ino {
        self.tick();
        self.insert(Node::Link(target))
    }

    pub(crate) fn add_special(&mut self) -> Ino {
        self.tick();
        self.insert(Node::Special)
    }

    fn insert(&mut self, node: Node) -> Ino {
        let ino = self.next_ino;
        self.next_ino += 1;
        self.nodes.insert(ino, node);
        ino
    }

    /// Names `ino` as `name` in `dir`, replacing what was there; in the durable entries
    /// too when `durable`.
    pub(crate) fn attach(&mut self, dir: Ino, name: &str, ino: Ino, durable: bool) {
        // The time of the operation doing it; an entry change takes no tick of its own,
        // so that file times stay as each operation's one tick makes them.
        let now = self.clock_ns;
        if let Some(dir) = self.dir_mut(dir) {
            dir.changed_ns = now;
            dir.entries.insert(name.to_owned(), ino);
            if durable {
                dir.durable.insert(name.to_owned(), ino);
            }
        }
    }

    /// Drops the name `name` from `dir`; from the durable entries too when `durable`.
    /// The inode itself stays: a durable entry elsewhere may still bring it back.
    pub(crate) fn detach(&mut self, dir: Ino, name: &str, durable: bool) -> Option<Ino> {
        let now = self.clock_ns;
        let dir = self.dir_mut(dir)?;
        dir.changed_ns = now;
        if durable {
            dir.durable.remove(name);
        }
        dir.entries.remove(name)
    }

    /// Sets a moved or re-linked file's status-change time, as the kernel does.
    pub(crate) fn touch_ctime(&mut self, ino: Ino) {
        let now = self.tick();
        if let Some(file) = self.file_mut(ino) {
            file.current.ctime_ns = now;
        }
    }

    pub(crate) fn fingerprint(ino: Ino, data: &FileData) -> Fingerprint {
        Fingerprint {
            size: data.bytes.len() as u64,
            mtime_ns: data.mtime_ns,
            ctime_ns: data.ctime_ns,
            inode: ino,
        }
    }

    /// Walks `segments` from the root as the kernel's path lookup does, following every
    /// symbolic link on the way, and the last one too when `follow_last`.
    ///
    /// Link targets are resolved against the directory holding the link, `..` climbs the
    /// physical path, and the walk is confined: an absolute target or a `..` above the
    /// root is [`WalkError::Outside`] even if a later step would come back in, and so is
    /// a walk that links carry between the user's area and `.prometeu` (judged on where
    /// the walk ends against how the path was spelt).
    pub(crate) fn walk(&self, segments: &[&str], follow_last: bool) -> Result<Walk, WalkError> {
        let internal = segments.first() == Some(&PROMETEU_DIR);
        // Segments still to walk, the next one last.
        let mut pending: Vec<String> = segments.iter().rev().map(|s| (*s).to_owned()).collect();
        let mut walk = Walk::default();
        let mut hops = 0;
        while let Some(segment) = pending.pop() {
            match segment.as_str() {
                "" | "." => continue,
                ".." => {
                    if self.dir(walk.ino()).is_none() {
                        return Err(WalkError::NotADirectory);
                    }
                    if walk.steps.pop().is_none() {
                        return Err(WalkError::Outside);
                    }
                }
                name => {
                    let Some(dir) = self.dir(walk.ino()) else {
                        return Err(WalkError::NotADirectory);
                    };
                    let child = *dir.entries.get(name).ok_or(WalkError::NotFound)?;
                    match self.node(child) {
                        Node::Link(target) if follow_last || !pending.is_empty() => {
                            hops += 1;
                            if hops > MAX_LINK_HOPS {
                                return Err(WalkError::Loop);
                            }
                            if target.starts_with('/') {
                                return Err(WalkError::Outside);
                            }
                            if target.is_empty() {
                                return Err(WalkError::NotFound);
                            }
                            // The link's own name is not a step: its target is walked
                            // from the directory that holds it.
                            pending.extend(target.rsplit('/').map(str::to_owned));
                        }
                        _ => walk.steps.push((name.to_owned(), child)),
                    }
                }
            }
        }
        if walk.is_internal() != internal {
            return Err(WalkError::Outside);
        }
        Ok(walk)
    }

    /// Walks `segments` following every link, and says whether it ended at a file or a
    /// directory.
    pub(crate) fn resolve(&self, segments: &[&str]) -> Result<(Walk, Resolved), WalkError> {
        let walk = self.walk(segments, true)?;
        let ino = walk.ino();
        match self.node(ino) {
            Node::File(_) => Ok((walk, Resolved::File(ino))),
            Node::Dir(_) => Ok((walk, Resolved::Dir(ino))),
            Node::Special => Ok((walk, Resolved::Special)),
            // A walk that follows the last link never stops on one; answering as the
            // kernel does for a link it gave up on keeps this total.
            Node::Link(_) => Err(WalkError::Loop),
        }
    }

    /// Calls `visit` with the path and node of every entry below the root, parents
    /// before children, siblings in name order, without following links. `visit`
    /// returns whether to descend into a directory.
    pub(crate) fn visit(&self, mut visit: impl FnMut(&str, Ino, &Node) -> bool) {
        // Directories still to list, the next one last.
        let mut pending: Vec<(String, Ino)> = vec![(String::new(), ROOT)];
        while let Some((path, dir)) = pending.pop() {
            let Some(dir) = self.dir(dir) else { continue };
            let mut below = Vec::new();
            for (name, &child) in &dir.entries {
                let child_path = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}/{name}")
                };
                let node = self.node(child);
                if visit(&child_path, child, node) && matches!(node, Node::Dir(_)) {
                    below.push((child_path, child));
                }
            }
            pending.extend(below.into_iter().rev());
        }
    }

    /// Makes the whole tree durable as it is now, as a sync of the whole disk does.
    pub(crate) fn sync_all(&mut self) {
        for node in self.nodes.values_mut() {
            match node {
                Node::File(file) => file.durable = file.current.clone(),
                Node::Dir(dir) => dir.durable = dir.entries.clone(),
                Node::Link(_) | Node::Special => {}
            }
        }
    }

    /// Replaces the current state with the durable one, as a power cut followed by a
    /// reboot would: every directory gets its durable entries back and every file its
    /// durable content; what nothing durable names any more is gone.
    ///
    /// Durability is per directory, so a rename synced at only one end can leave a
    /// directory named twice (or, in principle, inside itself); the first name met in a
    /// depth-first walk from the root keeps it and the others are dropped, which is what
    /// a file system check would do.
    pub(crate) fn crash(&mut self) {
        let mut kept = BTreeSet::from([ROOT]);
        let mut pending = vec![ROOT];
        while let Some(dir) = pending.pop() {
            let Some(durable) = self.dir(dir).map(|d| d.durable.clone()) else {
                continue;
            };
            let mut restored = BTreeMap::new();
            for (name, child) in durable {
                match self.nodes.get_mut(&child) {
                    Some(Node::Dir(_)) => {
                        // Already restored under another name: that name keeps it.
                        if !kept.insert(child) {
                            continue;
                        }
                        pending.push(child);
                        restored.insert(name, child);
                    }
                    Some(Node::File(file)) => {
                        file.current = file.durable.clone();
                        kept.insert(child);
                        restored.insert(name, child);
                    }
                    Some(Node::Link(_) | Node::Special) => {
                        kept.insert(child);
                        restored.insert(name, child);
                    }
                    None => {}
                }
            }
            let now = self.clock_ns;
            if let Some(dir) = self.dir_mut(dir) {
                dir.changed_ns = now;
                dir.entries = restored.clone();
                dir.durable = restored;
            }
        }
        self.nodes.retain(|ino, _| kept.contains(ino));
    }
}
