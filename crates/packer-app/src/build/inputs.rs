//! The inputs of a build: each one's content hash, learned from the cache index when
//! its stat data proves it unchanged, else by reading it (in parallel, through the
//! workspace port, so confinement holds) and hashing what was read.
//!
//! Stat data proves nothing about a file whose times are too close to the moment it was
//! hashed: a second write within the file system's timestamp granularity leaves them as
//! they were. So a hash is trusted later only if the file's modification and change
//! times were at least [`SETTLE_NS`] older than the build that hashed it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use packer_domain::path::WsPath;
use packer_domain::ports::{
    FileRead, Fingerprint, PortError, PortErrorKind, ReadRequest, WorkspacePort,
};
use packer_domain::snapshot::ContentHash;
use packer_pack::cache::{CacheIndex, InputRecord};

use super::budget::Budget;
use super::plan::{Blocker, Planned, refusal};
use crate::error::AppError;

/// How far in the past a file's times must be for its stat data to vouch for its
/// content: above the timestamp granularity of every common file system.
pub(crate) const SETTLE_NS: i64 = 2_000_000_000;
/// Largest input the packer reads.
pub(crate) const MAX_INPUT_BYTES: u64 = 1 << 30;

/// What a build knows of one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InputFact {
    pub(crate) path: WsPath,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) hash: ContentHash,
    pub(crate) settled: bool,
}

impl InputFact {
    pub(crate) fn record(&self) -> InputRecord {
        InputRecord {
            path: self.path.as_str().to_owned(),
            fingerprint: self.fingerprint,
            hash: self.hash,
            settled: self.settled,
        }
    }
}

/// Every input of a build, asset after asset in plan order.
#[derive(Debug)]
pub(crate) struct Inputs {
    pub(crate) facts: Vec<InputFact>,
    /// Where each asset's inputs start in `facts`; one more entry than assets.
    pub(crate) starts: Vec<usize>,
    /// The content of the inputs read by this build and kept, by index into `facts`.
    pub(crate) bytes: Vec<Option<Vec<u8>>>,
}

impl Inputs {
    /// The facts of asset `index`'s inputs.
    pub(crate) fn of(&self, index: usize) -> &[InputFact] {
        match (self.starts.get(index), self.starts.get(index + 1)) {
            (Some(&start), Some(&end)) => self.facts.get(start..end).unwrap_or_default(),
            _ => &[],
        }
    }
}

/// Whether a file with `fingerprint`, hashed by a build that started at `now_ns`, may
/// later be vouched for by its stat data.
pub(crate) fn settled(fingerprint: &Fingerprint, now_ns: i64) -> bool {
    fingerprint.mtime_ns.max(fingerprint.ctime_ns) < now_ns.saturating_sub(SETTLE_NS)
}

/// Learns every planned input's hash: stats each one, and reads those the index cannot
/// vouch for, keeping what was read as far as `budget` allows. A missing input, or one
/// that leads outside the workspace, refuses the build, naming the asset and the file.
pub(crate) fn gather(
    port: &dyn WorkspacePort,
    planned: &[Planned<'_>],
    index: &CacheIndex,
    now_ns: i64,
    budget: &Budget,
) -> Result<Inputs, AppError> {
    let mut known = Known {
        records: &index.inputs,
        by_path: None,
    };
    let mut starts = Vec::with_capacity(planned.len() + 1);
    let mut owners = Vec::new();
    let mut slots: Vec<Option<InputFact>> = Vec::new();
    let mut to_read: Vec<(usize, WsPath)> = Vec::new();
    let mut blockers = Vec::new();
    for (asset, plan) in planned.iter().enumerate() {
        starts.push(slots.len());
        for path in plan.input_paths() {
            let slot = slots.len();
            owners.push(asset);
            let fact = match port.stat(&path) {
                Ok(Some(fingerprint)) => match known.get(slot, path.as_str()) {
                    Some(record) if record.settled && record.fingerprint == fingerprint => {
                        Some(InputFact {
                            path,
                            fingerprint,
                            hash: record.hash,
                            settled: true,
                        })
                    }
                    _ => {
                        to_read.push((slot, path));
                        None
                    }
                },
                Ok(None) => {
                    blockers.push(input_blocker(plan, &path, PortErrorKind::NotFound));
                    None
                }
                Err(e) if is_blocking(e.kind) => {
                    blockers.push(input_blocker(plan, &path, e.kind));
                    None
                }
                Err(e) => return Err(e.into()),
            };
            slots.push(fact);
        }
    }
    starts.push(slots.len());
    if !blockers.is_empty() {
        return Err(refusal(&blockers));
    }

    let requests: Vec<ReadRequest> = to_read
        .iter()
        .map(|(_, path)| ReadRequest {
            path: path.clone(),
            limit: MAX_INPUT_BYTES,
        })
        .collect();
    let results = read_hashed(port, &requests, Some(budget));
    let mut bytes: Vec<Option<Vec<u8>>> = vec![None; slots.len()];
    for (((slot, _), request), result) in to_read.iter().zip(&requests).zip(results) {
        let slot = *slot;
        let Some(&asset) = owners.get(slot) else {
            continue;
        };
        match result {
            Some(Ok(read)) => {
                slots[slot] = Some(InputFact {
                    path: request.path.clone(),
                    fingerprint: read.fingerprint,
                    hash: read.hash,
                    settled: settled(&read.fingerprint, now_ns),
                });
                bytes[slot] = read.bytes;
            }
            Some(Err(e)) if is_blocking(e.kind) => {
                if let Some(plan) = planned.get(asset) {
                    blockers.push(input_blocker(plan, &request.path, e.kind));
                }
            }
            Some(Err(e)) => return Err(e.into()),
            None => {
                return Err(AppError::from(
                    PortError::new(
                        PortErrorKind::Io,
                        packer_domain::ports::PortOp::Read,
                        &request.path,
                    )
                    .with_detail("the workspace adapter did not deliver this file"),
                ));
            }
        }
    }
    if !blockers.is_empty() {
        return Err(refusal(&blockers));
    }
    // Every slot was filled above, or the build was refused.
    let facts: Vec<InputFact> = slots.into_iter().flatten().collect();
    Ok(Inputs {
        facts,
        starts,
        bytes,
    })
}

/// A file read and hashed.
#[derive(Debug, Clone)]
pub(crate) struct HashedRead {
    pub(crate) hash: ContentHash,
    pub(crate) fingerprint: Fingerprint,
    /// The content, unless the budget it was read under had no room left for it.
    pub(crate) bytes: Option<Vec<u8>>,
}

/// A file read and hashed, or why it could not be; `None` if the port never delivered.
pub(crate) type Hashed = Option<Result<HashedRead, PortError>>;

/// The last build's records, looked up by position first: a build that plans what the
/// last one planned finds every input where it left it, and needs no map.
struct Known<'i> {
    records: &'i [InputRecord],
    /// Made only when a record is not at its position.
    by_path: Option<HashMap<&'i str, &'i InputRecord>>,
}

impl<'i> Known<'i> {
    fn get(&mut self, slot: usize, path: &str) -> Option<&'i InputRecord> {
        if let Some(record) = self.records.get(slot)
            && record.path == path
        {
            return Some(record);
        }
        let records = self.records;
        self.by_path
            .get_or_insert_with(|| records.iter().map(|r| (r.path.as_str(), r)).collect())
            .get(path)
            .copied()
    }
}

/// Reads `requests` through the port, hashing each file on the thread that read it. The
/// content is kept as far as `budget` allows (all of it without one).
pub(crate) fn read_hashed(
    port: &dyn WorkspacePort,
    requests: &[ReadRequest],
    budget: Option<&Budget>,
) -> Vec<Hashed> {
    let results: Mutex<Vec<Hashed>> = Mutex::new(vec![None; requests.len()]);
    port.read_many(requests, &|index, result| {
        let hashed = result.map(|read: FileRead| {
            let keep = budget.is_none_or(|budget| budget.take(read.bytes.len() as u64));
            HashedRead {
                hash: ContentHash::of(&read.bytes),
                fingerprint: read.fingerprint,
                bytes: keep.then_some(read.bytes),
            }
        });
        // A sink that panicked mid-store left the vector whole.
        let mut results = results.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = results.get_mut(index) {
            *slot = Some(hashed);
        }
    });
    results.into_inner().unwrap_or_else(PoisonError::into_inner)
}

/// The failures of an input that are the project's to fix, not the machine's.
pub(crate) fn is_blocking(kind: PortErrorKind) -> bool {
    matches!(
        kind,
        PortErrorKind::NotFound
            | PortErrorKind::OutsideWorkspace
            | PortErrorKind::TooLarge
            | PortErrorKind::IsADirectory
            | PortErrorKind::NotADirectory
    )
}

pub(crate) fn input_blocker(plan: &Planned<'_>, path: &WsPath, kind: PortErrorKind) -> Blocker {
    let (message, hint) = match kind {
        PortErrorKind::NotFound | PortErrorKind::NotADirectory => (
            "the input is missing".to_owned(),
            "restore the file, or change the asset's inputs",
        ),
        PortErrorKind::OutsideWorkspace => (
            "the input leads outside the workspace through a symbolic link".to_owned(),
            "replace the link with the file itself",
        ),
        PortErrorKind::TooLarge => (
            format!("the input is larger than {MAX_INPUT_BYTES} bytes"),
            "split it into smaller inputs",
        ),
        _ => (
            "the input is not a regular file".to_owned(),
            "point the asset at a file",
        ),
    };
    Blocker {
        asset_id: plan.asset_id,
        root: plan.root.to_string(),
        file: path.display_in_project(),
        line: None,
        column: None,
        message,
        hint: Some(hint.to_owned()),
    }
}
