//! Each asset's payload: its cache entry when one is there and checks out, else its
//! inputs encoded afresh, on several threads, and stored in the cache for next time.
//!
//! The results land in plan order whatever thread made them, so the pack does not
//! depend on the thread count. Storing an entry is best effort: a cache that cannot be
//! written only makes the next build slower.
//!
//! Memory: missed assets are encoded a slice at a time, each slice's inputs read only
//! when its turn comes, and a payload is kept for the pack only while the build's
//! budget allows; the writer gets any other back from the cache, or by encoding its
//! asset again ([`encode_again`]).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, mpsc};

use packer_domain::ports::{PortError, PortErrorKind, PortOp, ReadRequest, WorkspacePort};
use packer_domain::snapshot::ContentHash;
use packer_pack::cache::{self, Entry, asset_key, decode_entry, encode_entry};
use packer_pack::codec::{self, InputError, Part};

use super::budget::Budget;
use super::inputs::{Inputs, MAX_INPUT_BYTES, input_blocker, is_blocking, read_hashed, settled};
use super::plan::{Blocker, Planned, refusal};
use crate::error::{AppError, ErrorCode};

/// Largest cache entry the build reads back.
const MAX_ENTRY_BYTES: u64 = 4 << 30;
/// Input bytes of one slice of missed assets, read and encoded together.
const SLICE_BYTES: u64 = 64 << 20;

/// An asset's payload as the pack needs it: what the tables say of it, and its bytes
/// while the budget let the build keep them.
#[derive(Debug)]
pub(crate) struct Payload {
    pub(crate) parts: Vec<Part>,
    pub(crate) hash: ContentHash,
    pub(crate) len: u64,
    pub(crate) held: Option<Entry>,
}

impl Payload {
    fn of(entry: Entry, budget: &Budget) -> Payload {
        let len = entry.payload().len() as u64;
        Payload {
            parts: entry.parts.clone(),
            hash: entry.hash,
            len,
            held: budget.take(len).then_some(entry),
        }
    }

    /// Whether `entry` is this payload.
    pub(crate) fn is(&self, entry: &Entry) -> bool {
        entry.hash == self.hash && entry.parts == self.parts
    }
}

/// What the encode stage needs from the build.
pub(crate) struct Stage<'a> {
    pub(crate) port: &'a dyn WorkspacePort,
    pub(crate) planned: &'a [Planned<'a>],
    pub(crate) threads: usize,
    /// Distinguishes this build's temporary cache files from another process's.
    pub(crate) tag: String,
    /// When the build started, for [`settled`].
    pub(crate) now_ns: i64,
    /// Once set, no further asset is encoded (the build is stopping).
    pub(crate) stop: Option<&'a AtomicBool>,
    /// What may be kept in memory for the writer.
    pub(crate) budget: &'a Budget,
}

/// Every asset's payload in plan order, and how many came from the cache. `keys` and
/// `inputs` are brought up to date if an input changed since it was first hashed.
pub(crate) fn payloads(
    stage: &Stage<'_>,
    inputs: &mut Inputs,
    keys: &mut [ContentHash],
    progress: &mut dyn FnMut(u64),
) -> Result<(Vec<Payload>, u64), AppError> {
    let mut payloads = cached(stage, keys);
    let stopping = || stage.stop.is_some_and(|stop| stop.load(Ordering::Relaxed));
    let reused = payloads.iter().filter(|e| e.is_some()).count() as u64;
    progress(reused);
    let misses: Vec<usize> = (0..payloads.len())
        .filter(|&i| payloads[i].is_none())
        .collect();
    let mut done = reused;
    let mut failures = Vec::new();
    for slice in slices(inputs, &misses) {
        if stopping() {
            break;
        }
        let sources = sources(stage, inputs, keys, slice)?;
        encode_all(stage, keys, slice, sources, &mut |asset, result| {
            match result {
                Ok(entry) => {
                    if let Some(slot) = payloads.get_mut(asset) {
                        *slot = Some(Payload::of(entry, stage.budget));
                    }
                }
                Err(error) => failures.push((asset, error)),
            }
            done += 1;
            progress(done);
        });
    }
    if !failures.is_empty() {
        failures.sort_by_key(|(asset, _)| *asset);
        return Err(refusal(&decode_blockers(stage.planned, inputs, &failures)));
    }
    let payloads: Vec<Payload> = payloads.into_iter().flatten().collect();
    if payloads.len() != stage.planned.len() && !stopping() {
        return Err(AppError::new(
            ErrorCode::Io,
            "an asset was neither found in the cache nor encoded",
        ));
    }
    Ok((payloads, reused))
}

/// `misses` cut into runs whose inputs weigh about [`SLICE_BYTES`] (one asset at least).
fn slices<'m>(inputs: &Inputs, misses: &'m [usize]) -> Vec<&'m [usize]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut weight = 0u64;
    for (i, &asset) in misses.iter().enumerate() {
        let size: u64 = inputs.of(asset).iter().map(|f| f.fingerprint.size).sum();
        if i > start && weight.saturating_add(size) > SLICE_BYTES {
            out.extend(misses.get(start..i));
            start = i;
            weight = 0;
        }
        weight = weight.saturating_add(size);
    }
    if start < misses.len() {
        out.extend(misses.get(start..));
    }
    out
}

/// The cache entries that exist and check out, read in parallel; their bytes kept as
/// far as the budget allows.
fn cached(stage: &Stage<'_>, keys: &[ContentHash]) -> Vec<Option<Payload>> {
    let assets: Vec<usize> = (0..keys.len()).collect();
    read_entries(stage, keys, &assets, &|_, entry| {
        Some(Payload::of(entry, stage.budget))
    })
}

/// Reads the cache entries of `assets` in parallel and hands each one that checks out
/// (made for its asset's key and kind, hashes intact) to `take` on the thread that read
/// it; what `take` gives, in `assets` order. A missing, damaged or foreign entry, or one
/// `take` refuses, is `None`: a miss.
pub(crate) fn read_entries<T: Send>(
    stage: &Stage<'_>,
    keys: &[ContentHash],
    assets: &[usize],
    take: &(dyn Fn(usize, Entry) -> Option<T> + Sync),
) -> Vec<Option<T>> {
    let wanted: Vec<(usize, ReadRequest)> = assets
        .iter()
        .enumerate()
        .filter_map(|(slot, &asset)| {
            let path = cache::entry_path(keys.get(asset)?).ok()?;
            Some((
                slot,
                ReadRequest {
                    path,
                    limit: MAX_ENTRY_BYTES,
                },
            ))
        })
        .collect();
    let only: Vec<ReadRequest> = wanted.iter().map(|(_, r)| r.clone()).collect();
    let found: Mutex<Vec<Option<T>>> =
        Mutex::new(std::iter::repeat_with(|| None).take(assets.len()).collect());
    stage.port.read_many(&only, &|index, result| {
        let Some(&(slot, _)) = wanted.get(index) else {
            return;
        };
        let Some(&asset) = assets.get(slot) else {
            return;
        };
        let (Ok(read), Some(key), Some(plan)) = (result, keys.get(asset), stage.planned.get(asset))
        else {
            return;
        };
        let Some(taken) = decode_entry(read.bytes, key, &plan.declaration.output)
            .ok()
            .and_then(|entry| take(asset, entry))
        else {
            return;
        };
        let mut found = found.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(place) = found.get_mut(slot) {
            *place = Some(taken);
        }
    });
    found.into_inner().unwrap_or_else(PoisonError::into_inner)
}

/// The input bytes of every missed asset, in `misses` order, reading what the input
/// stage did not read. An input that changed since it was hashed is taken as it is
/// now: its fact and its asset's key are updated.
fn sources(
    stage: &Stage<'_>,
    inputs: &mut Inputs,
    keys: &mut [ContentHash],
    misses: &[usize],
) -> Result<Vec<Vec<Vec<u8>>>, AppError> {
    let mut wanted: Vec<usize> = Vec::new();
    for &asset in misses {
        let start = inputs.starts.get(asset).copied().unwrap_or(0);
        let count = inputs.of(asset).len();
        wanted.extend(
            (start..start + count).filter(|&i| inputs.bytes.get(i).is_some_and(Option::is_none)),
        );
    }
    let requests: Vec<ReadRequest> = wanted
        .iter()
        .filter_map(|&i| inputs.facts.get(i))
        .map(|fact| ReadRequest {
            path: fact.path.clone(),
            limit: MAX_INPUT_BYTES,
        })
        .collect();
    let mut blockers = Vec::new();
    for ((&slot, request), result) in wanted
        .iter()
        .zip(&requests)
        .zip(read_hashed(stage.port, &requests, None))
    {
        match result {
            Some(Ok(read)) => {
                if let Some(fact) = inputs.facts.get_mut(slot) {
                    fact.fingerprint = read.fingerprint;
                    fact.hash = read.hash;
                    fact.settled = settled(&read.fingerprint, stage.now_ns);
                }
                if let Some(bytes) = inputs.bytes.get_mut(slot) {
                    *bytes = read.bytes;
                }
            }
            Some(Err(e)) if is_blocking(e.kind) => {
                let owner = misses.iter().copied().find(|&asset| {
                    let start = inputs.starts.get(asset).copied().unwrap_or(0);
                    (start..start + inputs.of(asset).len()).contains(&slot)
                });
                if let Some(plan) = owner.and_then(|asset| stage.planned.get(asset)) {
                    blockers.push(input_blocker(plan, &request.path, e.kind));
                }
            }
            Some(Err(e)) => return Err(e.into()),
            None => {
                return Err(
                    PortError::new(PortErrorKind::Io, PortOp::Read, &request.path)
                        .with_detail("the workspace adapter did not deliver this file")
                        .into(),
                );
            }
        }
    }
    if !blockers.is_empty() {
        return Err(refusal(&blockers));
    }
    let mut sources = Vec::with_capacity(misses.len());
    for &asset in misses {
        let start = inputs.starts.get(asset).copied().unwrap_or(0);
        let count = inputs.of(asset).len();
        let hashes: Vec<ContentHash> = inputs.of(asset).iter().map(|f| f.hash).collect();
        if let (Some(key), Some(plan)) = (keys.get_mut(asset), stage.planned.get(asset)) {
            *key = asset_key(&plan.declaration.output, &hashes);
        }
        // Every input of a missed asset was read just above, or by the input stage.
        let bytes = (start..start + count)
            .map(|i| {
                inputs
                    .bytes
                    .get_mut(i)
                    .and_then(Option::take)
                    .unwrap_or_default()
            })
            .collect();
        sources.push(bytes);
    }
    Ok(sources)
}

/// Encodes the missed assets on up to `stage.threads` threads, storing each new entry
/// in the cache, and hands each result (asset index, entry or error) to `done` on the
/// calling thread as it comes.
fn encode_all(
    stage: &Stage<'_>,
    keys: &[ContentHash],
    misses: &[usize],
    sources: Vec<Vec<Vec<u8>>>,
    done: &mut dyn FnMut(usize, Result<Entry, InputError>),
) {
    let sources: Vec<Mutex<Vec<Vec<u8>>>> = sources.into_iter().map(Mutex::new).collect();
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel();
    let work = |sender: mpsc::Sender<(usize, Result<Entry, InputError>)>| {
        loop {
            if stage.stop.is_some_and(|stop| stop.load(Ordering::Relaxed)) {
                break;
            }
            let index = next.fetch_add(1, Ordering::Relaxed);
            let (Some(&asset), Some(source)) = (misses.get(index), sources.get(index)) else {
                break;
            };
            // Each source is taken once, so its bytes are freed as soon as it is encoded.
            let bytes = std::mem::take(&mut *source.lock().unwrap_or_else(PoisonError::into_inner));
            let (Some(plan), Some(key)) = (stage.planned.get(asset), keys.get(asset)) else {
                continue;
            };
            let views: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
            let result = codec::encode(&plan.declaration.output, &views).map(|encoded| {
                let hash = ContentHash::of(&encoded.payload);
                store(
                    stage,
                    key,
                    &encode_entry(key, &encoded.parts, &encoded.payload, &hash),
                );
                Entry::from_encoded(encoded, hash)
            });
            drop(bytes);
            if sender.send((asset, result)).is_err() {
                break;
            }
        }
    };
    let threads = stage.threads.clamp(1, misses.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let sender = sender.clone();
            // A thread that cannot be started leaves its share to the others.
            let _ = std::thread::Builder::new()
                .name("packer-build-encode".to_owned())
                .spawn_scoped(scope, move || work(sender));
        }
        drop(sender);
        for (asset, result) in receiver.iter() {
            done(asset, result);
        }
    });
    // Had no thread started, the work is done here.
    let (sender, receiver) = mpsc::channel();
    work(sender);
    for (asset, result) in receiver.iter() {
        done(asset, result);
    }
}

/// Writes a cache entry under a temporary name and renames it into place. Failures are
/// left unreported: the entry is only a shortcut for the next build.
fn store(stage: &Stage<'_>, key: &ContentHash, bytes: &[u8]) {
    let Ok(path) = cache::entry_path(key) else {
        return;
    };
    let Some(dir) = path.parent() else {
        return;
    };
    let Ok(temporary) = dir.child(&format!("{}.tmp-{}", path.file_name(), stage.tag)) else {
        return;
    };
    let port = stage.port;
    let stored = port
        .create_dir_all(&dir)
        .and_then(|()| port.write_file(&temporary, bytes))
        .and_then(|()| port.rename(&temporary, &path));
    if stored.is_err() {
        let _ = port.remove_file(&temporary);
    }
}

/// The payload of `asset` made again from its inputs, for a writer that found its cache
/// entry gone or damaged (another build pruned it, say): refused with `conflict` if an
/// input changed since this build hashed it, since the pack's tables are laid out
/// already.
pub(crate) fn encode_again(
    stage: &Stage<'_>,
    inputs: &Inputs,
    asset: usize,
    expected: &Payload,
) -> Result<Entry, AppError> {
    let plan = stage
        .planned
        .get(asset)
        .ok_or_else(|| AppError::new(ErrorCode::Io, "the build lost track of one of its assets"))?;
    let mut bytes = Vec::new();
    for fact in inputs.of(asset) {
        let read = stage.port.read(&fact.path, MAX_INPUT_BYTES)?;
        if ContentHash::of(&read.bytes) != fact.hash {
            return Err(AppError::new(
                ErrorCode::Conflict,
                format!(
                    "{} (asset {}) changed during the build; nothing was written, build again",
                    fact.path.display_in_project(),
                    plan.asset_id
                ),
            ));
        }
        bytes.push(read.bytes);
    }
    let views: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
    let encoded = codec::encode(&plan.declaration.output, &views).map_err(|error| {
        AppError::new(
            ErrorCode::Io,
            format!(
                "asset {} could not be encoded again: {}",
                plan.asset_id, error.error
            ),
        )
    })?;
    let hash = ContentHash::of(&encoded.payload);
    let entry = Entry::from_encoded(encoded, hash);
    if !expected.is(&entry) {
        return Err(AppError::new(
            ErrorCode::Io,
            format!(
                "asset {} encoded again differs from its first encoding; nothing was written",
                plan.asset_id
            ),
        ));
    }
    Ok(entry)
}

/// The refusal lines of inputs that could not be decoded.
fn decode_blockers(
    planned: &[Planned<'_>],
    inputs: &Inputs,
    failures: &[(usize, InputError)],
) -> Vec<Blocker> {
    failures
        .iter()
        .filter_map(|(asset, failure)| {
            let plan = planned.get(*asset)?;
            let file = inputs.of(*asset).get(failure.input).map_or_else(
                || plan.root.declaration_path().display_in_project(),
                |f| f.path.display_in_project(),
            );
            let (line, column) = failure.error.position().unzip();
            Some(Blocker {
                asset_id: plan.asset_id,
                root: plan.root.to_string(),
                file,
                line,
                column,
                message: failure.error.to_string(),
                hint: Some(failure.error.hint().to_owned()),
            })
        })
        .collect()
}
