//! `build`: every included asset of one coherent generation packed into the output
//! folder's `assets.pak`, with `assets.manifest.json` beside it.
//!
//! The stages, each in its own file: `plan` (what to pack, or why not, from the view
//! alone), `inputs` (each input's content hash, read only when the cache index cannot
//! vouch for it), `encode` (each payload from the cache or encoded afresh on several
//! threads), `write` (the pack and the manifest, and the cache index), `prune` (old
//! cache entries, after a build that stored new ones). When the index
//! shows that the output folder already holds exactly what this build would write,
//! nothing is read beyond the inputs' stat data and nothing is written.
//!
//! A build writes only derived data: the cache under `assets/.prometeu/cache/` and the
//! output folder. It runs on the caller's thread, beside the writer lane, and reads one
//! view, so a commit in the middle of it changes nothing it packs.

mod budget;
mod encode;
mod inputs;
mod plan;
mod prune;
mod write;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use packer_domain::event::{CommandId, Event};
use packer_domain::ports::{EventPort, PackOutput};
use packer_domain::snapshot::ContentHash;
use packer_pack::cache::{CacheIndex, OutputRecord, asset_key};
use packer_pack::pack::{MANIFEST_FILE, PACK_FILE};

use crate::error::{AppError, ErrorCode};
use crate::runtime::Runtime;

/// What a build keeps in memory between its stages, unless its request says otherwise.
pub const DEFAULT_MEMORY_BUDGET: u64 = 256 << 20;

/// What to build and where.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// The output folder (`build/` of the project, or `--out DIR`).
    pub output: Arc<dyn PackOutput>,
    /// Threads that encode assets; 0 means one per core.
    pub threads: usize,
    /// Once set (a host that is stopping), the build stops at its next asset, with the
    /// output folder as it was; `None`: it runs to its end.
    pub stop: Option<Arc<AtomicBool>>,
    /// Bytes of inputs and payloads the build may keep in memory from one stage to the
    /// next; beyond them it reads again what it let go (see `build/budget.rs`). The
    /// pack is written piece by piece whatever this is, so it need not fit in memory.
    pub memory: u64,
}

impl BuildRequest {
    /// A build into `output` with one encoding thread per core.
    pub fn new(output: Arc<dyn PackOutput>) -> BuildRequest {
        BuildRequest {
            output,
            threads: 0,
            stop: None,
            memory: DEFAULT_MEMORY_BUDGET,
        }
    }

    /// Whether the host asked the build to stop.
    fn stopped(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|stop| stop.load(Ordering::Relaxed))
    }
}

/// The error of a build that stopped because its host asked it to: it did not complete,
/// though nothing failed (`io` is the code of a build that did not complete).
fn stopped() -> AppError {
    AppError::new(
        ErrorCode::Io,
        "the build was stopped before its end; the output folder is as it was",
    )
}

/// How far a build is: `done` of `total` assets have their payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BuildProgress {
    pub done: u64,
    pub total: u64,
}

/// A finished build (SPEC §5.1's `build` result).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BuildReport {
    /// The generation that was packed.
    pub generation: u64,
    /// The pack, as the output folder's location names it (`build/assets.pak`).
    pub pack: String,
    pub manifest: String,
    /// Assets packed.
    pub assets: u64,
    /// How many of them came from the cache.
    pub reused: u64,
    /// The pack's size.
    pub bytes: u64,
}

impl Runtime {
    /// Packs every included asset of the current generation into `request.output`,
    /// reporting progress to `progress` (on this thread) and as `build_started`,
    /// `build_progress` and `build_completed` events.
    ///
    /// Refused, before anything is read or written, with `failed_state` on a `failed`
    /// project and with `invalid` when an included asset has an error (naming each
    /// asset, file and reason); refused with `invalid` too when an input turns out
    /// missing or cannot be decoded. A refusal after `build_started` ends without
    /// `build_completed`, and leaves the output folder as it was; so does a build that
    /// `request.stop` stops (`io`), which may have stored payloads in the
    /// cache for the next one.
    pub fn build(
        &self,
        request: &BuildRequest,
        progress: &dyn Fn(BuildProgress),
    ) -> Result<BuildReport, AppError> {
        let view = self.view();
        let planned = plan::plan(&view)?;
        let generation = view.snapshot.generation();
        let ports = self.ports();
        let port = ports.workspace.as_ref();
        let output = request.output.as_ref();
        let command_id = self.issue_command_id();
        let now_ns = ports.clock.wall_clock_ns();
        let total = planned.len() as u64;
        let mut reporter = Reporter {
            events: ports.events.as_ref(),
            generation,
            command_id,
            total,
            progress,
            published: None,
        };
        ports.events.publish(Event::BuildStarted {
            generation,
            command_id,
            assets: total,
        });
        reporter.report(0);

        let old_index = write::load_index(port);
        let budget = budget::Budget::new(request.memory);
        let mut inputs = inputs::gather(port, &planned, &old_index, now_ns, &budget)?;
        if request.stopped() {
            return Err(stopped());
        }
        let tag = format!("{}-{}", now_ns.max(0), command_id);
        let location = output.location();
        let build_key = write::build_key(&planned, &inputs);
        let (record, reused) = match write::unchanged(output, &old_index, &build_key)? {
            Some(record) => {
                // Nothing to write; what a killed build left goes all the same.
                output.remove_abandoned(&[PACK_FILE, MANIFEST_FILE]);
                reporter.report(total);
                (record, total)
            }
            None => {
                let mut keys: Vec<ContentHash> = (0..planned.len())
                    .filter_map(|i| {
                        let plan = planned.get(i)?;
                        let hashes: Vec<ContentHash> =
                            inputs.of(i).iter().map(|f| f.hash).collect();
                        Some(asset_key(&plan.declaration.output, &hashes))
                    })
                    .collect();
                let stage = encode::Stage {
                    port,
                    planned: &planned,
                    threads: threads(request.threads),
                    tag: tag.clone(),
                    now_ns,
                    stop: request.stop.as_deref(),
                    budget: &budget,
                };
                let (payloads, reused) =
                    encode::payloads(&stage, &mut inputs, &mut keys, &mut |done| {
                        reporter.report(done)
                    })?;
                if request.stopped() {
                    return Err(stopped());
                }
                let written = write::write_outputs(output, &stage, &inputs, &keys, &payloads)?;
                if reused < total {
                    // New entries were stored: make room by the old ones.
                    prune::prune(port, &keys, now_ns);
                }
                let record = OutputRecord {
                    location: location.clone(),
                    // Inputs that changed during the build changed their assets' keys.
                    build_key: write::build_key(&planned, &inputs),
                    pack: written.pack,
                    manifest: written.manifest,
                    pack_len: written.len,
                    assets: total,
                };
                (record, reused)
            }
        };
        // Also when nothing was written: inputs hashed again because their times were
        // too recent to vouch for them may be settled now.
        if !write::index_holds(&old_index, &inputs.facts, &record) {
            let new_index = CacheIndex {
                inputs: inputs.facts.iter().map(inputs::InputFact::record).collect(),
                outputs: write::outputs_with(&old_index, record.clone()),
            };
            write::save_index(port, &new_index, &tag);
        }
        ports.events.publish(Event::BuildCompleted {
            generation,
            command_id,
            assets: total,
            reused,
            bytes: record.pack_len,
        });
        Ok(report(
            generation,
            &location,
            total,
            reused,
            record.pack_len,
        ))
    }
}

fn report(generation: u64, location: &str, assets: u64, reused: u64, bytes: u64) -> BuildReport {
    let file = |name: &str| {
        let base = location.trim_end_matches('/');
        if base.is_empty() {
            name.to_owned()
        } else {
            format!("{base}/{name}")
        }
    };
    BuildReport {
        generation,
        pack: file(PACK_FILE),
        manifest: file(MANIFEST_FILE),
        assets,
        reused,
        bytes,
    }
}

/// The encoding threads for `asked` (0: one per core).
fn threads(asked: usize) -> usize {
    if asked > 0 {
        return asked;
    }
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Hands progress to the caller at every step, and to the event port at most once per
/// hundredth of the build (and at its end), so a large build does not flood a client.
struct Reporter<'a> {
    events: &'a dyn EventPort,
    generation: u64,
    command_id: CommandId,
    total: u64,
    progress: &'a dyn Fn(BuildProgress),
    /// The hundredth last published; 101 once the end is.
    published: Option<u64>,
}

impl Reporter<'_> {
    fn report(&mut self, done: u64) {
        let done = done.min(self.total);
        (self.progress)(BuildProgress {
            done,
            total: self.total,
        });
        let step = if done == self.total {
            101
        } else {
            done.saturating_mul(100) / self.total.max(1)
        };
        if self.published == Some(step) {
            return;
        }
        self.published = Some(step);
        self.events.publish(Event::BuildProgress {
            generation: self.generation,
            command_id: self.command_id,
            done,
            total: self.total,
        });
    }
}
