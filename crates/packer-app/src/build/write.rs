//! The end of a build: the key of everything the output depends on, the check that the
//! output folder already holds exactly that, writing the pack and the manifest, and
//! keeping the cache index.

use packer_domain::ports::{Fingerprint, PackOutput, WorkspacePort};
use packer_domain::snapshot::ContentHash;
use packer_pack::cache::{self, CacheIndex, Entry, OutputRecord, decode_index, encode_index};
use packer_pack::codec::CODEC_VERSION;
use packer_pack::manifest::{ManifestAsset, manifest};
use packer_pack::pack::{self, MANIFEST_FILE, PACK_FILE, PackInput};

use super::inputs::{InputFact, Inputs};
use super::plan::Planned;
use crate::error::{AppError, ErrorCode};

/// Largest cache index read back (about two million inputs).
const MAX_INDEX_BYTES: u64 = 256 << 20;
/// Output folders the index remembers.
const REMEMBERED_OUTPUTS: usize = 8;

/// What decides the bytes of the pack and the manifest: each asset's identity, kind and
/// format, its inputs' names and content hashes, its root and name, and the codec
/// version. Everything is laid out in one buffer and hashed once: a no-op build computes
/// this for every asset.
pub(crate) fn build_key(planned: &[Planned<'_>], inputs: &Inputs) -> ContentHash {
    let mut buffer: Vec<u8> = Vec::with_capacity(64 + planned.len() * 160);
    buffer.extend_from_slice(b"prometeu-packer build key\0");
    buffer.extend_from_slice(&pack::VERSION.to_le_bytes());
    buffer.extend_from_slice(&CODEC_VERSION.to_le_bytes());
    let text = |buffer: &mut Vec<u8>, s: &str| {
        buffer.extend_from_slice(&(s.len() as u64).to_le_bytes());
        buffer.extend_from_slice(s.as_bytes());
    };
    for (index, plan) in planned.iter().enumerate() {
        buffer.extend_from_slice(&plan.asset_id.0.to_le_bytes());
        buffer.extend_from_slice(plan.asset_uuid.as_bytes());
        let (kind, format) = pack::codes(&plan.declaration.output);
        buffer.extend_from_slice(&[kind, format]);
        text(&mut buffer, plan.root.as_str());
        text(&mut buffer, &plan.declaration.name);
        let facts = inputs.of(index);
        buffer.extend_from_slice(&(facts.len() as u64).to_le_bytes());
        for (input, fact) in plan.declaration.inputs.iter().zip(facts) {
            text(&mut buffer, input.as_str());
            buffer.extend_from_slice(&fact.hash.0);
        }
    }
    ContentHash(*blake3::hash(&buffer).as_bytes())
}

/// Whether `old` already says all that a build that saw `facts` and wrote (or found)
/// `record` would write into it.
pub(crate) fn index_holds(old: &CacheIndex, facts: &[InputFact], record: &OutputRecord) -> bool {
    old.outputs.first() == Some(record)
        && old.inputs.len() == facts.len()
        && old.inputs.iter().zip(facts).all(|(known, fact)| {
            known.path == fact.path.as_str()
                && known.fingerprint == fact.fingerprint
                && known.hash == fact.hash
                && known.settled == fact.settled
        })
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
    // Both or neither: a manifest that fails to write must not leave a new pack beside
    // the old manifest.
    output
        .write_all_atomic(&[(PACK_FILE, &image.chunks()), (MANIFEST_FILE, &[&manifest])])
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

/// Writes `new` through a temporary name. Best effort, like every cache write.
pub(crate) fn save_index(port: &dyn WorkspacePort, new: &CacheIndex, tag: &str) {
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
