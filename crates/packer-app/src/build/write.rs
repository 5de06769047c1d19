//! The end of a build: the key of everything the output depends on, the check that the
//! output folder already holds exactly that, writing the pack and the manifest, and
//! keeping the cache index.

use packer_domain::ports::{Fingerprint, PackOutput, WorkspacePort};
use packer_domain::snapshot::ContentHash;
use packer_pack::cache::{self, CacheIndex, Entry, OutputRecord, decode_index, encode_index};
use packer_pack::manifest::{ManifestAsset, manifest};
use packer_pack::pack::{self, MANIFEST_FILE, PACK_FILE, PackInput};

use super::plan::Planned;
use crate::error::{AppError, ErrorCode};

/// Largest cache index read back (about two million inputs).
const MAX_INDEX_BYTES: u64 = 256 << 20;
/// Output folders the index remembers.
const REMEMBERED_OUTPUTS: usize = 8;

/// What decides the bytes of the pack and the manifest: each asset's identity, its
/// cache key (codec version, format, input contents), and what the manifest shows.
pub(crate) fn build_key(planned: &[Planned<'_>], keys: &[ContentHash]) -> ContentHash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"prometeu-packer build key\0");
    hasher.update(&pack::VERSION.to_le_bytes());
    let text = |hasher: &mut blake3::Hasher, s: &str| {
        hasher.update(&(s.len() as u64).to_le_bytes());
        hasher.update(s.as_bytes());
    };
    for (plan, key) in planned.iter().zip(keys) {
        hasher.update(&plan.asset_id.0.to_le_bytes());
        hasher.update(plan.asset_uuid.as_bytes());
        hasher.update(&key.0);
        text(&mut hasher, plan.root.as_str());
        text(&mut hasher, &plan.declaration.name);
        hasher.update(&(plan.declaration.inputs.len() as u64).to_le_bytes());
        for input in &plan.declaration.inputs {
            text(&mut hasher, input.as_str());
        }
    }
    ContentHash(*hasher.finalize().as_bytes())
}

/// The record of the output folder when it holds exactly what `build_key` describes,
/// as this cache last wrote it.
pub(crate) fn unchanged(
    output: &dyn PackOutput,
    index: &CacheIndex,
    build_key: &ContentHash,
) -> Result<Option<OutputRecord>, AppError> {
    let Some(record) = index.output(&output.location()) else {
        return Ok(None);
    };
    if record.build_key != *build_key {
        return Ok(None);
    }
    let same = output.stat(PACK_FILE).map_err(output_error)? == Some(record.pack)
        && output.stat(MANIFEST_FILE).map_err(output_error)? == Some(record.manifest);
    Ok(same.then(|| record.clone()))
}

/// What writing the output produced.
pub(crate) struct Written {
    pub(crate) len: u64,
    pub(crate) pack: Fingerprint,
    pub(crate) manifest: Fingerprint,
}

/// Lays the pack out, writes it and then the manifest, each atomically.
pub(crate) fn write_outputs(
    output: &dyn PackOutput,
    planned: &[Planned<'_>],
    entries: &[Entry],
) -> Result<Written, AppError> {
    let inputs: Vec<PackInput<'_>> = planned
        .iter()
        .zip(entries)
        .map(|(plan, entry)| PackInput {
            asset_id: plan.asset_id.0,
            asset_uuid: plan.asset_uuid,
            output: plan.declaration.output,
            parts: &entry.parts,
            payload: entry.payload(),
            hash: entry.hash,
        })
        .collect();
    let image = pack::write(&inputs).map_err(|e| {
        AppError::new(
            ErrorCode::Invalid,
            format!("the pack cannot be laid out: {e}"),
        )
    })?;
    let names: Vec<Vec<&str>> = planned
        .iter()
        .map(|plan| plan.declaration.inputs.iter().map(|i| i.as_str()).collect())
        .collect();
    let described: Vec<ManifestAsset<'_>> = planned
        .iter()
        .zip(&names)
        .map(|(plan, inputs)| ManifestAsset {
            root: plan.root.as_str(),
            name: &plan.declaration.name,
            inputs,
        })
        .collect();
    let manifest = manifest(&image, &described);
    output
        .write_atomic(PACK_FILE, &image.chunks())
        .map_err(output_error)?;
    output
        .write_atomic(MANIFEST_FILE, &[&manifest])
        .map_err(output_error)?;
    let written = |name: &str| {
        output.stat(name).map_err(output_error)?.ok_or_else(|| {
            AppError::new(
                ErrorCode::Io,
                format!(
                    "{}/{name} is not there right after it was written",
                    output.location()
                ),
            )
        })
    };
    Ok(Written {
        len: image.len,
        pack: written(PACK_FILE)?,
        manifest: written(MANIFEST_FILE)?,
    })
}

/// The cache index as the last build left it; empty when there is none or it does not
/// check out.
pub(crate) fn load_index(port: &dyn WorkspacePort) -> CacheIndex {
    cache::index_path()
        .ok()
        .and_then(|path| port.read(&path, MAX_INDEX_BYTES).ok())
        .and_then(|read| decode_index(&read.bytes))
        .unwrap_or_default()
}

/// `old`'s output records with `record` first, the oldest dropped beyond a few.
pub(crate) fn outputs_with(old: &CacheIndex, record: OutputRecord) -> Vec<OutputRecord> {
    let others = old
        .outputs
        .iter()
        .filter(|o| o.location != record.location)
        .take(REMEMBERED_OUTPUTS - 1)
        .cloned();
    std::iter::once(record.clone()).chain(others).collect()
}

/// Writes `new` if it says anything `old` does not, through a temporary name. Best
/// effort, like every cache write.
pub(crate) fn save_index(port: &dyn WorkspacePort, old: &CacheIndex, new: &CacheIndex, tag: &str) {
    if old == new {
        return;
    }
    let (Ok(dir), Ok(path)) = (cache::cache_dir(), cache::index_path()) else {
        return;
    };
    let Ok(temporary) = dir.child(&format!("index.tmp-{tag}")) else {
        return;
    };
    let saved = port
        .create_dir_all(&dir)
        .and_then(|()| port.write_file(&temporary, &encode_index(new)))
        .and_then(|()| port.rename(&temporary, &path));
    if saved.is_err() {
        let _ = port.remove_file(&temporary);
    }
}

pub(crate) fn output_error(error: packer_domain::ports::OutputError) -> AppError {
    AppError::new(ErrorCode::Io, error.to_string()).with_detail(serde_json::json!({
        "path": error.file,
        "operation": error.op,
        "kind": error.kind,
    }))
}
