//! Keeps the build cache from growing without end. Every edit of an input leaves a new
//! entry behind and the old one unused; a build that stored new entries then removes
//! unused ones, oldest first, until they weigh no more than the entries it used. What is
//! kept still covers switching back to a recent version of the project (another branch,
//! an undone edit) without encoding everything again.
//!
//! Best effort, like every cache write: an entry that cannot be listed, looked at or
//! removed is left where it is.

use std::collections::HashSet;

use packer_domain::path::WsPath;
use packer_domain::ports::{DirEntryKind, WorkspacePort};
use packer_domain::snapshot::ContentHash;
use packer_pack::cache;

/// A leftover temporary file (`<key>.tmp-<build>`) is removed once it is this old: a
/// build still writing it would have renamed it long before.
const STALE_TEMPORARY_NS: i64 = 3_600_000_000_000;

/// Removes cache entries that none of `used` names, oldest first, until the rest of the
/// unused ones weigh no more than the used ones; and temporary files left by builds that
/// stopped half-way, once they are an hour old.
pub(crate) fn prune(port: &dyn WorkspacePort, used: &[ContentHash], now_ns: i64) {
    let used: HashSet<String> = used.iter().map(ContentHash::to_string).collect();
    let mut used_bytes = 0u64;
    let mut unused: Vec<(i64, u64, WsPath)> = Vec::new();
    for (path, name) in entries(port) {
        let Ok(Some(fingerprint)) = port.stat(&path) else {
            continue;
        };
        if name.contains(".tmp-") {
            if now_ns.saturating_sub(fingerprint.mtime_ns) > STALE_TEMPORARY_NS {
                let _ = port.remove_file(&path);
            }
        } else if used.contains(name.as_str()) {
            used_bytes = used_bytes.saturating_add(fingerprint.size);
        } else {
            unused.push((fingerprint.mtime_ns, fingerprint.size, path));
        }
    }
    let mut unused_bytes: u64 = unused.iter().map(|(_, size, _)| size).sum();
    // Oldest first; by path among equals, so that the outcome does not depend on the
    // order of listings.
    unused.sort();
    for (_, size, path) in unused {
        if unused_bytes <= used_bytes {
            break;
        }
        unused_bytes -= size;
        let _ = port.remove_file(&path);
    }
}

/// Every file in the cache's entry folders, with its name.
fn entries(port: &dyn WorkspacePort) -> Vec<(WsPath, String)> {
    let Ok(objects) = cache::objects_dir() else {
        return Vec::new();
    };
    let Ok(shards) = port.list_dir(&objects) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for shard in shards {
        let Ok(dir) = objects.child(&shard.name) else {
            continue;
        };
        let Ok(files) = port.list_dir(&dir) else {
            continue;
        };
        out.extend(files.into_iter().filter_map(|file| {
            if file.kind != DirEntryKind::File {
                return None;
            }
            let path = dir.child(&file.name).ok()?;
            Some((path, file.name))
        }));
    }
    out
}
