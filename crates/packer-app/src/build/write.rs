//! The end of a build: the key of everything the output depends on, the check that the
//! output folder already holds exactly that, writing the pack (streamed: payloads the
//! build did not keep are read back from the cache as the writer reaches them) and the
//! manifest, and keeping the cache index.

use std::collections::VecDeque;

use packer_domain::ports::{
    FileSource, Fingerprint, PackOutput, Pieces, SourceFailed, WorkspacePort,
};
use packer_domain::snapshot::ContentHash;
use packer_pack::cache::{self, CacheIndex, Entry, OutputRecord, decode_index, encode_index};
use packer_pack::codec::CODEC_VERSION;
use packer_pack::manifest::{ManifestAsset, manifest};
use packer_pack::pack::{self, MANIFEST_FILE, PACK_FILE, PackEntry, PackLayout};

use super::encode::{Payload, Stage, encode_again, read_entries};
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

/// Lays the pack out, writes it piece by piece and then the manifest, both atomically.
pub(crate) fn write_outputs(
    output: &dyn PackOutput,
    stage: &Stage<'_>,
    inputs: &Inputs,
    keys: &[ContentHash],
    payloads: &[Payload],
) -> Result<Written, AppError> {
    let entries: Vec<PackEntry<'_>> = stage
        .planned
        .iter()
        .zip(payloads)
        .map(|(plan, payload)| PackEntry {
            asset_id: plan.asset_id.0,
            asset_uuid: plan.asset_uuid,
            output: plan.declaration.output,
            parts: &payload.parts,
            length: payload.len,
            hash: payload.hash,
        })
        .collect();
    let layout = pack::layout(&entries).map_err(|e| {
        AppError::new(
            ErrorCode::Invalid,
            format!("the pack cannot be laid out: {e}"),
        )
    })?;
    let names: Vec<Vec<&str>> = stage
        .planned
        .iter()
        .map(|plan| plan.declaration.inputs.iter().map(|i| i.as_str()).collect())
        .collect();
    let described: Vec<ManifestAsset<'_>> = stage
        .planned
        .iter()
        .zip(&names)
        .map(|(plan, inputs)| ManifestAsset {
            root: plan.root.as_str(),
            name: &plan.declaration.name,
            inputs,
        })
        .collect();
    let manifest = manifest(&layout, &described);
    let mut pack = PackStream {
        stage,
        inputs,
        keys,
        payloads,
        layout: &layout,
        next: 0,
        step: StreamStep::Head,
        fetched: VecDeque::new(),
        current: None,
        error: None,
    };
    let manifest_chunks: [&[u8]; 1] = [&manifest];
    let mut manifest_source = Pieces::new(&manifest_chunks);
    // Both or neither: a manifest that fails to write must not leave a new pack beside
    // the old manifest.
    let result = output.write_streams_atomic(&mut [
        (PACK_FILE, &mut pack as &mut dyn FileSource),
        (MANIFEST_FILE, &mut manifest_source),
    ]);
    if let Some(error) = pack.error {
        return Err(error);
    }
    result.map_err(output_error)?;
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
        len: layout.len,
        pack: written(PACK_FILE)?,
        manifest: written(MANIFEST_FILE)?,
    })
}

/// Payload bytes the writer reads back from the cache at a time.
const READ_AHEAD_BYTES: u64 = 32 << 20;
/// Cache entries the writer reads back at a time.
const READ_AHEAD_ENTRIES: usize = 1024;

/// The pack as a [`FileSource`]: the head, then each payload and its padding. A payload
/// the build did not keep is read back from the cache, several at a time and in
/// parallel, a few megabytes ahead of the writer; one the cache no longer has (or has
/// damaged) is encoded again.
struct PackStream<'a> {
    stage: &'a Stage<'a>,
    inputs: &'a Inputs,
    keys: &'a [ContentHash],
    payloads: &'a [Payload],
    layout: &'a PackLayout,
    /// The asset whose payload or padding comes next.
    next: usize,
    step: StreamStep,
    /// Payloads read ahead, with their assets, in order.
    fetched: VecDeque<(usize, Entry)>,
    /// The payload being written, when it was read back.
    current: Option<Entry>,
    /// Why the stream stopped.
    error: Option<AppError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamStep {
    Head,
    Payload,
    Padding,
}

impl FileSource for PackStream<'_> {
    fn next_piece(&mut self) -> Result<Option<&[u8]>, SourceFailed> {
        match self.step {
            StreamStep::Head => {
                self.step = StreamStep::Payload;
                Ok(Some(self.layout.head()))
            }
            StreamStep::Padding => {
                self.step = StreamStep::Payload;
                let padding = self.layout.padding_after(self.next);
                self.next += 1;
                Ok(Some(padding))
            }
            StreamStep::Payload => {
                let asset = self.next;
                let Some(payload) = self.payloads.get(asset) else {
                    return Ok(None);
                };
                self.step = StreamStep::Padding;
                if let Some(entry) = &payload.held {
                    return Ok(Some(entry.payload()));
                }
                match self.fetch(asset) {
                    Ok(entry) => {
                        self.current = Some(entry);
                        Ok(self.current.as_ref().map(Entry::payload))
                    }
                    Err(error) => {
                        self.error = Some(error);
                        Err(SourceFailed)
                    }
                }
            }
        }
    }
}

impl PackStream<'_> {
    /// The payload of `asset`, which the build did not keep.
    fn fetch(&mut self, asset: usize) -> Result<Entry, AppError> {
        if self
            .fetched
            .front()
            .is_none_or(|(first, _)| *first != asset)
        {
            self.fetched.clear();
            self.read_ahead(asset)?;
        }
        match self.fetched.pop_front() {
            Some((first, entry)) if first == asset => Ok(entry),
            _ => Err(AppError::new(
                ErrorCode::Io,
                "the build lost track of one of its payloads",
            )),
        }
    }

    /// Reads back the payloads of `from` and of the next assets not kept, up to a few
    /// megabytes; encodes again those the cache cannot give.
    fn read_ahead(&mut self, from: usize) -> Result<(), AppError> {
        let mut wanted: Vec<usize> = Vec::new();
        let mut weight = 0u64;
        for (asset, payload) in self.payloads.iter().enumerate().skip(from) {
            if payload.held.is_some() {
                continue;
            }
            if !wanted.is_empty()
                && (weight.saturating_add(payload.len) > READ_AHEAD_BYTES
                    || wanted.len() >= READ_AHEAD_ENTRIES)
            {
                break;
            }
            weight = weight.saturating_add(payload.len);
            wanted.push(asset);
        }
        // Anything but the very payload the tables were laid out for is a miss.
        let payloads = self.payloads;
        let found = read_entries(self.stage, self.keys, &wanted, &|asset, entry| {
            payloads
                .get(asset)
                .is_some_and(|payload| payload.is(&entry))
                .then_some(entry)
        });
        for (&asset, read) in wanted.iter().zip(found) {
            let entry = match read {
                Some(entry) => entry,
                None => {
                    let payload = self.payloads.get(asset).ok_or_else(|| {
                        AppError::new(ErrorCode::Io, "the build lost track of one of its payloads")
                    })?;
                    encode_again(self.stage, self.inputs, asset, payload)?
                }
            };
            self.fetched.push_back((asset, entry));
        }
        Ok(())
    }
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
