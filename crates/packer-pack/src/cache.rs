//! The build cache under `assets/.prometeu/cache/`: derived data only, safe to delete at
//! any moment, checked on every read so that a damaged file is rebuilt, never packed.
//!
//! * `objects/<xx>/<key>`: one asset's encoded payload (`entry.rs`), named by its key:
//!   blake3 of the codec version, the kind and format, and the hash of each input's
//!   content in order. Nothing else decides a payload, so a renamed or moved asset, or
//!   one whose name changed, keeps its entry.
//! * `index`: what the last build learned (`index.rs`): each input's fingerprint and
//!   content hash, so that an input whose stat data did not move is not read again, and
//!   for each output folder the key of what was written there last, so that a build
//!   with nothing to change writes nothing.
//!
//! Files are written to a temporary name and renamed into place, without syncing: a
//! crash may leave a damaged or empty file, which its hash check turns into a miss.

mod entry;
mod index;

use packer_domain::declaration::OutputOptions;
use packer_domain::path::{PathError, WsPath};
use packer_domain::snapshot::ContentHash;

use crate::codec::CODEC_VERSION;
use crate::pack::codes;

pub use crate::cache::entry::{Entry, EntryError, decode_entry, encode_entry};
pub use crate::cache::index::{CacheIndex, InputRecord, OutputRecord, decode_index, encode_index};

/// The cache folder, below `.prometeu`.
pub const CACHE_DIR: &str = "cache";

/// `.prometeu/cache`.
pub fn cache_dir() -> Result<WsPath, PathError> {
    WsPath::internal(CACHE_DIR)
}

/// `.prometeu/cache/index`.
pub fn index_path() -> Result<WsPath, PathError> {
    WsPath::internal(&format!("{CACHE_DIR}/index"))
}

/// `.prometeu/cache/objects`: where the entries are.
pub fn objects_dir() -> Result<WsPath, PathError> {
    WsPath::internal(&format!("{CACHE_DIR}/objects"))
}

/// `.prometeu/cache/objects/<first two hex digits>/<key>`: the entry of `key`. Entries
/// are spread over 256 folders so that no folder grows very large.
pub fn entry_path(key: &ContentHash) -> Result<WsPath, PathError> {
    let hex = key.to_string();
    let shard = hex.get(..2).unwrap_or("00");
    objects_dir()?.child(shard)?.child(&hex)
}

/// The key of an asset's cache entry: everything its payload depends on.
pub fn asset_key(output: &OutputOptions, inputs: &[ContentHash]) -> ContentHash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"prometeu-packer asset key\0");
    hasher.update(&CODEC_VERSION.to_le_bytes());
    let (kind, format) = codes(output);
    hasher.update(&[kind, format]);
    hasher.update(&(inputs.len() as u64).to_le_bytes());
    for input in inputs {
        hasher.update(&input.0);
    }
    ContentHash(*hasher.finalize().as_bytes())
}
