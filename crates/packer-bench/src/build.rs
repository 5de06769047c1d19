//! Build benchmarks (SPEC §6) on a copy of a generated workspace: a full build with an
//! empty cache, and a no-op rebuild against its floor measured in the same run — one
//! `stat` of every input the build packs, through the same port, on one thread as the
//! build does it. A no-op rebuild can skip reading inputs and writing anything, but it
//! cannot know nothing changed without looking at every input.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use packer_app::build::{BuildReport, BuildRequest};
use packer_app::runtime::{Ports, Runtime};
use packer_domain::event::Event;
use packer_domain::path::WsPath;
use packer_domain::ports::{EventPort, WorkspacePort};
use packer_domain::snapshot::DeclarationState;
use packer_fs::{DiskOutput, DiskWorkspace, SystemClock};

use crate::commit::projects::{ensure_real_disk, scratch_copy};
use crate::report::{Measurement, Report, ms};

/// A no-op rebuild costs at most 50% over stat-ing every input.
const NO_OP_GOAL: f64 = 1.5;
/// Full builds are long: fewer of them.
const FULL_RUNS: usize = 3;
/// Untimed no-op rebuilds first: the copy's inputs were linked recently, so the first
/// rebuild hashes them once more before their stat data can vouch for them.
const WARMUP: usize = 2;

#[derive(Debug)]
struct NoEvents;

impl EventPort for NoEvents {
    fn publish(&self, _event: Event) {}
}

/// Runs the build benchmarks on the workspace of `project` (the directory holding
/// `assets/`), working on a copy in `scratch`.
pub fn run(
    report: &mut Report,
    label: &str,
    project: &Path,
    scratch: &Path,
    iterations: usize,
) -> anyhow::Result<()> {
    fs::create_dir_all(scratch).with_context(|| format!("cannot create {}", scratch.display()))?;
    ensure_real_disk(scratch)?;
    let assets = scratch_copy(
        &project.join("assets"),
        &scratch.join(format!("ws-{label}-build")),
    )?;
    let out_dir = scratch.join(format!("ws-{label}-build-out"));
    let cache = assets.join(".prometeu").join("cache");
    let port = DiskWorkspace::open(&assets)
        .with_context(|| format!("cannot open the workspace {}", assets.display()))?;
    let runtime = Runtime::open(Ports {
        workspace: Arc::new(
            DiskWorkspace::open(&assets)
                .with_context(|| format!("cannot open the workspace {}", assets.display()))?,
        ),
        events: Arc::new(NoEvents),
        clock: Arc::new(SystemClock::new()),
    });
    let inputs = included_inputs(&runtime);
    let request = BuildRequest::new(Arc::new(DiskOutput::new(&out_dir)));
    let build = || -> anyhow::Result<BuildReport> {
        runtime
            .build(&request, &|_| {})
            .map_err(|e| anyhow::anyhow!("the build of {label} failed: {e}"))
    };

    let mut full = Vec::new();
    let mut packed = None;
    for _ in 0..FULL_RUNS.min(iterations) {
        for dir in [&cache, &out_dir] {
            if dir.exists() {
                fs::remove_dir_all(dir)
                    .with_context(|| format!("cannot remove {}", dir.display()))?;
            }
        }
        let t = Instant::now();
        let built = build()?;
        full.push(ms(t.elapsed()));
        ensure!(
            built.reused == 0,
            "a build with no cache reused {} assets",
            built.reused
        );
        packed = Some(built);
    }
    let packed = packed.context("no full build ran")?;

    for _ in 0..WARMUP {
        build()?;
    }
    floor(&port, &inputs)?;
    let mut no_op = Vec::with_capacity(iterations);
    let mut floor_samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        // Alternate so that drift in the machine's state hits both sides alike.
        let t = Instant::now();
        floor(&port, &inputs)?;
        floor_samples.push(ms(t.elapsed()));
        let t = Instant::now();
        let rebuilt = build()?;
        no_op.push(ms(t.elapsed()));
        ensure!(
            rebuilt.reused == rebuilt.assets,
            "a no-op rebuild encoded {} assets",
            rebuilt.assets - rebuilt.reused
        );
    }
    runtime.shutdown();

    report.push(Measurement::timings(
        format!(
            "full build, {label} assets ({} packed, empty cache)",
            packed.assets
        ),
        full,
    ));
    report.push(Measurement::info(
        format!("  pack size, {label}"),
        packed.bytes as f64,
        "bytes",
        Vec::new(),
    ));
    report.push_against_floor(
        format!("no-op rebuild, {label} assets"),
        no_op,
        format!("  floor: stat {} inputs, {label}", inputs.len()),
        floor_samples,
        NO_OP_GOAL,
    );
    Ok(())
}

/// Every input of every included asset: what a build must look at.
fn included_inputs(runtime: &Runtime) -> Vec<WsPath> {
    let snapshot = runtime.snapshot();
    snapshot
        .assets()
        .iter()
        .filter(|a| a.entry.included_in_build)
        .filter_map(|a| match &a.declaration {
            DeclarationState::Valid(valid) => Some(
                valid
                    .declaration
                    .inputs
                    .iter()
                    .map(|input| a.entry.root.join(input).as_ws().clone())
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The floor: one `stat` of every input, through the port, in order.
fn floor(port: &DiskWorkspace, inputs: &[WsPath]) -> anyhow::Result<()> {
    for path in inputs {
        if port.stat(path)?.is_none() {
            bail!("{} is missing", path.display_in_project());
        }
    }
    Ok(())
}
