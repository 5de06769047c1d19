//! Edits made the way a person makes them (an editor, `mkdir -p`, `mv`, `rm -r`, `ln -s`,
//! `git pull`): not port operations, never faulted, durable at once. The test helpers
//! and the fixture loader are built on these.
//!
//! They never go through a symbolic link on the way to what they change: a test names
//! the real directories, and a fixture that put a file "inside" a link would describe
//! two things at once.

use packer_domain::path::WsPath;

use crate::tree::{Ino, Node, ROOT, Resolved, Tree};

/// Creates `path` and its missing parents as directories.
pub(crate) fn mkdir(tree: &mut Tree, path: &WsPath) -> Result<(), String> {
    let segments: Vec<&str> = path.segments().collect();
    directory(tree, &segments, true).map(drop)
}

/// Creates or overwrites the file `path` (same inode when it exists), parents included.
pub(crate) fn write(tree: &mut Tree, path: &WsPath, bytes: &[u8]) -> Result<(), String> {
    let (dir, name) = parent(tree, path, true)?;
    let Some(existing) = tree.entry(dir, name) else {
        let ino = tree.add_file(bytes.to_vec(), true);
        tree.attach(dir, name, ino, true);
        return Ok(());
    };
    match tree.node(existing) {
        Node::File(_) => {}
        Node::Dir(_) => return Err(format!("`{path}` is a directory")),
        Node::Link(_) => return Err(format!("`{path}` is a symbolic link; remove it first")),
        Node::Special => return Err(format!("`{path}` is a FIFO; remove it first")),
    }
    let now = tree.tick();
    if let Some(file) = tree.file_mut(existing) {
        file.current.bytes = bytes.to_vec();
        file.current.mtime_ns = now;
        file.current.ctime_ns = now;
        file.durable = file.current.clone();
    }
    Ok(())
}

/// Creates the symbolic link `path` with the raw target `target`, parents included.
pub(crate) fn symlink(tree: &mut Tree, path: &WsPath, target: &str) -> Result<(), String> {
    if target.is_empty() {
        return Err("a symbolic link needs a target".to_owned());
    }
    if target.contains(['\0', '\n']) {
        return Err(format!("{target:?} cannot be a link target"));
    }
    let (dir, name) = parent(tree, path, true)?;
    if tree.entry(dir, name).is_some() {
        return Err(format!("`{path}` already exists"));
    }
    let ino = tree.add_link(target.to_owned());
    tree.attach(dir, name, ino, true);
    Ok(())
}

/// Creates the FIFO `path` (`mkfifo`), parents included.
pub(crate) fn mkfifo(tree: &mut Tree, path: &WsPath) -> Result<(), String> {
    let (dir, name) = parent(tree, path, true)?;
    if tree.entry(dir, name).is_some() {
        return Err(format!("`{path}` already exists"));
    }
    let ino = tree.add_special();
    tree.attach(dir, name, ino, true);
    Ok(())
}

/// Removes the file, link or whole directory `path`.
pub(crate) fn remove(tree: &mut Tree, path: &WsPath) -> Result<(), String> {
    let (dir, name) = parent(tree, path, false)?;
    if tree.entry(dir, name).is_none() {
        return Err(format!("`{path}` does not exist"));
    }
    tree.tick();
    tree.detach(dir, name, true);
    Ok(())
}

/// Moves `from` to `to` (creating `to`'s parents); a file may replace a file, nothing
/// else is replaced.
pub(crate) fn rename(tree: &mut Tree, from: &WsPath, to: &WsPath) -> Result<(), String> {
    let (from_dir, from_name) = parent(tree, from, false)?;
    let source = tree
        .entry(from_dir, from_name)
        .ok_or_else(|| format!("`{from}` does not exist"))?;
    if from == to {
        return Ok(());
    }
    let source_is_dir = matches!(tree.node(source), Node::Dir(_));
    if source_is_dir && to.starts_with(from) {
        return Err(format!("`{from}` cannot move into itself"));
    }
    let (to_dir, to_name) = parent(tree, to, true)?;
    if let Some(existing) = tree.entry(to_dir, to_name) {
        let replaceable = !source_is_dir && matches!(tree.node(existing), Node::File(_));
        if !replaceable {
            return Err(format!("`{to}` already exists"));
        }
    }
    tree.detach(from_dir, from_name, true);
    tree.attach(to_dir, to_name, source, true);
    tree.touch_ctime(source);
    Ok(())
}

/// Sets the modification time of the file `path` (links followed, as `touch` does); the
/// status-change time moves on regardless, as the kernel makes it.
pub(crate) fn set_mtime(tree: &mut Tree, path: &WsPath, mtime_ns: i64) -> Result<(), String> {
    let segments: Vec<&str> = path.segments().collect();
    let ino = match tree.resolve(&segments) {
        Ok((_, Resolved::File(ino))) => ino,
        Ok((_, Resolved::Dir(_) | Resolved::Special)) => {
            return Err(format!(
                "`{path}` is not a file; only files carry times here"
            ));
        }
        Err(error) => return Err(format!("`{path}` cannot be reached: {error:?}")),
    };
    let now = tree.tick();
    if let Some(file) = tree.file_mut(ino) {
        for data in [&mut file.current, &mut file.durable] {
            data.mtime_ns = mtime_ns;
            data.ctime_ns = now;
        }
    }
    Ok(())
}

/// The content of the file `path`, links followed as `cat` follows them.
pub(crate) fn read(tree: &Tree, path: &WsPath) -> Option<Vec<u8>> {
    let segments: Vec<&str> = path.segments().collect();
    match tree.resolve(&segments) {
        Ok((_, Resolved::File(ino))) => tree.file(ino).map(|file| file.current.bytes.clone()),
        _ => None,
    }
}

/// The directory holding `path`'s last segment, and that segment; missing parents are
/// created when `create`.
fn parent<'p>(tree: &mut Tree, path: &'p WsPath, create: bool) -> Result<(Ino, &'p str), String> {
    let segments: Vec<&str> = path.segments().collect();
    let Some((name, parents)) = segments.split_last() else {
        return Err("the workspace directory itself cannot be edited".to_owned());
    };
    Ok((directory(tree, parents, create)?, name))
}

/// The directory at `segments`, walked without following links.
fn directory(tree: &mut Tree, segments: &[&str], create: bool) -> Result<Ino, String> {
    let mut dir = ROOT;
    for (depth, name) in segments.iter().enumerate() {
        let walked = || segments[..=depth].join("/");
        dir = match tree.entry(dir, name) {
            Some(child) => match tree.node(child) {
                Node::Dir(_) => child,
                Node::File(_) => return Err(format!("`{}` is a file", walked())),
                Node::Link(_) => return Err(format!("`{}` is a symbolic link", walked())),
                Node::Special => return Err(format!("`{}` is a FIFO", walked())),
            },
            None if create => {
                let child = tree.add_dir();
                tree.attach(dir, name, child, true);
                child
            }
            None => return Err(format!("`{}` does not exist", walked())),
        };
    }
    Ok(dir)
}

/// Makes the directory `path` read-only or writable again (`chmod a-w`, `chmod u+w`):
/// the port may then not add, remove or rename its entries. A person's own edits pass.
pub(crate) fn set_read_only(tree: &mut Tree, path: &WsPath, read_only: bool) -> Result<(), String> {
    let segments: Vec<&str> = path.segments().collect();
    match tree.resolve(&segments) {
        Ok((_, Resolved::Dir(ino))) => {
            if let Some(dir) = tree.dir_mut(ino) {
                dir.read_only = read_only;
            }
            Ok(())
        }
        Ok((_, Resolved::File(_) | Resolved::Special)) => {
            Err(format!("`{path}` is not a directory"))
        }
        Err(error) => Err(format!("`{path}` cannot be reached: {error:?}")),
    }
}
