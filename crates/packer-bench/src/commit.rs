//! Write benchmarks (SPEC §3.3), on the real disk through the runtime: a durable
//! `create_asset` against the same file operations hand-coded with `std::fs`, a batch
//! against single commits, commit latency as the registry grows, and read throughput
//! while the writer lane commits.

mod floor;
pub(crate) mod projects;
mod reads;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use packer_app::observer::ObserverConfig;
use packer_app::runtime::{Ports, Runtime, WriteRequest};
use packer_domain::command::{self, Command, CreateAsset};
use packer_domain::declaration::AssetKind;
use packer_domain::event::Event;
use packer_domain::path::AssetPath;
use packer_domain::ports::EventPort;
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{AssetQuery, ProjectState, Snapshot, registry_path};
use packer_fs::{DiskWatcher, DiskWorkspace, SystemClock};

use crate::commit::floor::{
    FloorCommit, create_floor_commits, endless_toggles, toggle_floor_commits, wall_clock_ns,
};
use crate::commit::projects::{
    add_roots, ensure_real_disk, fresh_project, registry_mirror, scratch_copy, settle,
};
use crate::commit::reads::read_throughput;
use crate::report::{Measurement, Report, median, ms};

/// A durable `create_asset` costs at most 30% over its file operations alone.
const CREATE_GOAL: f64 = 1.3;
/// A batch of [`BATCH`] commands commits at least 20 times the commands per second.
const BATCH_GOAL: f64 = 20.0;
/// A commit at 100k assets takes at most this long.
const SCALE_GOAL_MS: f64 = 25.0;
/// Readers keep at least 90% of their throughput while the lane commits.
pub(crate) const READ_GOAL: f64 = 0.9;

const BATCH: usize = 64;
const BATCH_ROUNDS: usize = 3;
/// Untimed commits first, so the transaction directory exists and caches are warm.
const WARMUP: usize = 5;
/// At scale a commit takes about as long as an open; two warm it up.
const SCALE_WARMUP: usize = 2;
/// Commits taken apart step by step at each size.
const BREAKDOWN_RUNS: usize = 5;
/// Write commands timed each way at each scale (at 100k, about 2 s a pair).
const ONE_COMMAND_RUNS: usize = 5;
/// The input each benchmark asset declares, next to its `asset.json`.
pub(crate) const INPUT: &str = "data.json";

/// The command-line options of the write benchmarks.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Leave out the write benchmarks.
    #[arg(long, conflicts_with = "commit_only")]
    pub skip_commit: bool,
    /// Run only the write benchmarks.
    #[arg(long)]
    pub commit_only: bool,
    /// Timed durable `create_asset` commits on a fresh project.
    #[arg(long, default_value_t = 200)]
    pub commits: usize,
    /// Timed `set_included` commits on each workspace.
    #[arg(long, default_value_t = 20)]
    pub toggles: usize,
    /// Seconds of each reader-throughput phase (three with the lane idle, three with it
    /// committing, three with the floor committing, in turn).
    #[arg(long, default_value_t = 1.0)]
    pub read_seconds: f64,
    /// Where the projects the write benchmarks change live; must be a real disk, not
    /// tmpfs. Default: `scratch/` next to the report.
    #[arg(long, value_name = "DIR")]
    pub scratch: Option<PathBuf>,
}

/// The write benchmarks of one run and the scratch directory they work in.
#[derive(Debug)]
pub struct Writes<'o> {
    options: &'o Options,
    scratch: PathBuf,
}

impl<'o> Writes<'o> {
    /// `None` when the write benchmarks are left out.
    pub fn new(options: &'o Options, out: &Path) -> anyhow::Result<Option<Writes<'o>>> {
        if options.skip_commit {
            return Ok(None);
        }
        ensure!(
            options.commits > 0 && options.toggles > 0 && options.read_seconds > 0.0,
            "--commits, --toggles and --read-seconds must be positive"
        );
        let scratch = options.scratch.clone().unwrap_or_else(|| {
            out.parent()
                .map_or_else(|| PathBuf::from("scratch"), |dir| dir.join("scratch"))
        });
        fs::create_dir_all(&scratch)
            .with_context(|| format!("cannot create {}", scratch.display()))?;
        ensure_real_disk(&scratch)?;
        Ok(Some(Writes { options, scratch }))
    }

    /// Commit latency with the registry of the benchmark workspace in `project` (the
    /// directory holding `assets/`), and reads while committing there. Works on a copy.
    pub fn at_scale(&self, report: &mut Report, label: &str, project: &Path) -> anyhow::Result<()> {
        let assets = scratch_copy(
            &project.join("assets"),
            &self.scratch.join(format!("ws-{label}")),
        )?;
        let floor_assets =
            registry_mirror(&assets, &self.scratch.join(format!("ws-{label}-floor")))?;
        settle(&self.scratch)?;
        let runtime = open_runtime(&assets)?;
        let snapshot = runtime.snapshot();
        let first = snapshot
            .assets()
            .first()
            .with_context(|| format!("the workspace {label} has no registered asset"))?;
        let id = first.entry.asset_id;
        let mut included = first.entry.included_in_build;
        let registry = snapshot
            .registry()
            .with_context(|| format!("the registry of {label} cannot be read"))?
            .clone();
        let ids: Vec<AssetId> = snapshot.assets().iter().map(|a| a.entry.asset_id).collect();
        drop(snapshot);
        let on_disk = fs::read(floor_assets.join(registry_path().as_str()))?;
        let floor_commits =
            toggle_floor_commits(&on_disk, &registry, id, SCALE_WARMUP + self.options.toggles)?;
        drop(registry);

        let mut toggle = || {
            included = !included;
            submit(&runtime, set_included(id, included))
        };
        let (samples, floor) =
            interleaved(&floor_assets, &floor_commits, SCALE_WARMUP, |_| toggle())?;
        latency_rows(
            report,
            &format!("set_included commit, {label} assets"),
            &samples,
            &floor,
            Some((
                format!("median <= {SCALE_GOAL_MS} ms"),
                median_of(&samples) <= SCALE_GOAL_MS,
            )),
        );
        let floor_toggle = endless_toggles(&floor_assets, id)?;
        let rates = read_throughput(
            &runtime,
            &ids,
            self.options.read_seconds,
            toggle,
            floor_toggle,
        )?;
        rates.push(report, label);
        runtime.shutdown();
        one_command(report, label, &assets, id)?;
        breakdown(
            report,
            &format!("set_included step, {label}"),
            &assets,
            |snapshot, _| {
                let record = snapshot
                    .asset(id)
                    .with_context(|| format!("asset {id} is gone"))?;
                Ok(set_included(id, !record.entry.included_in_build))
            },
        )
    }

    /// The benchmarks on a small project made for them: durable `create_asset` against
    /// its floor, batches against single commits, reads while committing.
    pub fn on_fresh_project(&self, report: &mut Report) -> anyhow::Result<()> {
        let creates = WARMUP + self.options.commits;
        let batched = creates + BREAKDOWN_RUNS;
        let roots: Vec<String> = (0..batched + BATCH_ROUNDS * 2 * BATCH)
            .map(item_root)
            .collect();
        let assets = fresh_project(&self.scratch.join("fresh"), &roots[..creates])?;
        let floor_assets = fresh_project(&self.scratch.join("fresh-floor"), &roots[..creates])?;
        let floor_commits = create_floor_commits(&roots[..creates])?;
        settle(&self.scratch)?;
        let mut runtime = open_runtime(&assets)?;

        let (samples, floor) = interleaved(&floor_assets, &floor_commits, WARMUP, |i| {
            submit(&runtime, create(&roots[i])?)
        })?;
        let ratio = median_of(&samples) / median_of(&floor);
        latency_rows(
            report,
            "create_asset commit, fresh project",
            &samples,
            &floor,
            Some((format!("ratio <= {CREATE_GOAL}"), ratio <= CREATE_GOAL)),
        );
        let per_second = |s: &[f64]| 1000.0 * s.len() as f64 / s.iter().sum::<f64>();
        report.push(compared(
            "  create_asset commits/s (sequential)",
            per_second(&samples),
            Some(per_second(&floor)),
            "commit/s",
            None,
            Vec::new(),
        ));

        // Taking a commit apart runs it outside the runtime, which would then find
        // `index.json` changed under it: stop it, and open it again afterwards.
        runtime.shutdown();
        add_roots(&assets, &roots[creates..batched])?;
        breakdown(
            report,
            "create_asset step, fresh project",
            &assets,
            |_, run| create(&roots[creates + run]),
        )?;
        runtime = open_runtime(&assets)?;

        add_roots(&assets, &roots[batched..])?;
        settle(&self.scratch)?;
        batches(report, &runtime, &roots[batched..])?;

        let ids: Vec<AssetId> = runtime
            .snapshot()
            .assets()
            .iter()
            .map(|a| a.entry.asset_id)
            .collect();
        let first = *ids.first().context("the fresh project has no asset")?;
        let mut included = true;
        let floor_toggle = endless_toggles(&floor_assets, first)?;
        let rates = read_throughput(
            &runtime,
            &ids,
            self.options.read_seconds,
            || {
                included = !included;
                submit(&runtime, set_included(first, included))
            },
            floor_toggle,
        )?;
        rates.push(report, "fresh project");
        runtime.shutdown();
        Ok(())
    }
}

/// Where a runtime commit's time goes: the steps of the writer lane's `write` run one by
/// one on the same workspace (the runtime is shut down by then): planning against the
/// snapshot, the durable commit, and the reload that makes the next snapshot.
/// `command(snapshot, run)` is the command of each run.
fn breakdown(
    report: &mut Report,
    name: &str,
    assets: &Path,
    mut command: impl FnMut(&Snapshot, usize) -> anyhow::Result<Command>,
) -> anyhow::Result<()> {
    let port = DiskWorkspace::open(assets)
        .with_context(|| format!("cannot open the workspace {}", assets.display()))?;
    let mut snapshot = Snapshot::load(&port, 1);
    let (mut plans, mut executes) = (Vec::new(), Vec::new());
    let (mut derives, mut reloads, mut loads) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..BREAKDOWN_RUNS {
        let command = command(&snapshot, run)?;
        let start = Instant::now();
        let plan = command::plan(&snapshot, &command, &mut uuid::Uuid::new_v4)
            .context("the command cannot be planned")?;
        let planned = Instant::now();
        packer_app::commit::execute(&port, &plan, &format!("{:020}-b{run}", wall_clock_ns()))
            .1
            .map_err(|e| anyhow!("the commit failed: {e}"))?;
        let executed = Instant::now();
        let next = snapshot.generation() + 1;
        // What an observed runtime publishes: derived from what the commit wrote, else
        // loaded; the old snapshot is dropped inside the timing, as the lane drops it.
        let derived = snapshot.after_commit(&port, &plan.changes, plan.registry, next);
        let derived_ms = derived.as_ref().map(|_| ms(executed.elapsed()));
        let loaded_at = Instant::now();
        snapshot = derived.unwrap_or_else(|| Snapshot::load(&port, next));
        let next_ready = Instant::now();
        plans.push(ms(planned - start));
        executes.push(ms(executed - planned));
        match derived_ms {
            Some(d) => derives.push(d + ms(next_ready - loaded_at)),
            None => reloads.push(ms(next_ready - loaded_at)),
        }
        let fresh = Instant::now();
        let full = Snapshot::load(&port, next);
        loads.push(ms(fresh.elapsed()));
        anyhow::ensure!(
            full == snapshot,
            "the derived snapshot differs from a fresh load"
        );
    }
    for (step, samples) in [
        ("plan (pure)", plans),
        ("execute (the durable commit)", executes),
        ("next generation derived from the commit", derives),
        ("next generation loaded (commit cannot vouch)", reloads),
        ("full load, for comparison", loads),
    ] {
        if samples.is_empty() {
            continue;
        }
        report.push(compared(
            &format!("  {name}: {step}"),
            median_of(&samples),
            None,
            "ms",
            None,
            samples,
        ));
    }
    Ok(())
}

/// [`BATCH`] commands as one `batch` against as many single commits, for `create_asset`
/// (one new file each) and `set_included` (only `index.json` changes).
fn batches(report: &mut Report, runtime: &Runtime, roots: &[String]) -> anyhow::Result<()> {
    let mut roots = roots.iter();
    let mut next_creates = || -> anyhow::Result<Vec<Command>> {
        (0..BATCH)
            .map(|_| create(roots.next().context("too few prepared roots")?))
            .collect()
    };
    let (mut create_single, mut create_batch) = (Vec::new(), Vec::new());
    for _ in 0..BATCH_ROUNDS {
        let singles = next_creates()?;
        create_single.push(timed(|| {
            singles
                .into_iter()
                .try_for_each(|command| submit(runtime, command))
        })?);
        let batch = Command::Batch(next_creates()?);
        create_batch.push(timed(|| submit(runtime, batch))?);
    }

    let ids: Vec<AssetId> = runtime
        .snapshot()
        .assets()
        .iter()
        .take(BATCH)
        .map(|a| a.entry.asset_id)
        .collect();
    ensure!(ids.len() == BATCH, "too few assets for a batch");
    let mut included = true;
    let (mut toggle_single, mut toggle_batch) = (Vec::new(), Vec::new());
    for _ in 0..BATCH_ROUNDS {
        included = !included;
        toggle_single.push(timed(|| {
            ids.iter()
                .try_for_each(|id| submit(runtime, set_included(*id, included)))
        })?);
        included = !included;
        let batch = Command::Batch(ids.iter().map(|id| set_included(*id, included)).collect());
        toggle_batch.push(timed(|| submit(runtime, batch))?);
    }
    for (what, single, batch) in [
        ("create_asset", create_single, create_batch),
        ("set_included", toggle_single, toggle_batch),
    ] {
        let per_second = |ms: f64| 1000.0 * BATCH as f64 / ms;
        let value = per_second(median_of(&batch));
        let floor = per_second(median_of(&single));
        let ratio = value / floor;
        report.push(compared(
            &format!("batch of {BATCH} {what} vs {BATCH} commits"),
            value,
            Some(floor),
            "cmd/s",
            Some((format!("ratio >= {BATCH_GOAL}"), ratio >= BATCH_GOAL)),
            batch,
        ));
    }
    Ok(())
}

/// Runs `commit(i)` on the runtime and the floor's commit `i` on `floor_assets` in
/// turn, first one then the other, so that drift in the machine's state hits both
/// alike. Returns the timed milliseconds of each, without the first `warmup`.
fn interleaved(
    floor_assets: &Path,
    floor_commits: &[FloorCommit],
    warmup: usize,
    mut commit: impl FnMut(usize) -> anyhow::Result<()>,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let (mut samples, mut floor) = (Vec::new(), Vec::new());
    for (i, floor_commit) in floor_commits.iter().enumerate() {
        let mut runtime_side = || timed(|| commit(i));
        let floor_side = || timed(|| floor_commit.run(floor_assets, i));
        let (a, b) = if i % 2 == 0 {
            let a = runtime_side()?;
            (a, floor_side()?)
        } else {
            let b = floor_side()?;
            (runtime_side()?, b)
        };
        if i >= warmup {
            samples.push(a);
            floor.push(b);
        }
    }
    Ok((samples, floor))
}

/// Median and p99 rows of a latency against its floor; the goal goes on the median.
fn latency_rows(
    report: &mut Report,
    name: &str,
    samples: &[f64],
    floor: &[f64],
    goal: Option<(String, bool)>,
) {
    report.push(compared(
        &format!("{name}, median"),
        median_of(samples),
        Some(median_of(floor)),
        "ms",
        goal,
        samples.to_vec(),
    ));
    report.push(compared(
        &format!("{name}, p99"),
        percentile(samples, 0.99),
        Some(percentile(floor, 0.99)),
        "ms",
        None,
        Vec::new(),
    ));
    report.push(compared(
        &format!("  floor: the same file operations, {name}"),
        median_of(floor),
        None,
        "ms",
        None,
        floor.to_vec(),
    ));
    // Each runtime commit ran next to its floor commit: their difference is the
    // runtime's own cost, and depends far less on how fast the disk is that moment.
    let overhead: Vec<f64> = samples.iter().zip(floor).map(|(s, f)| s - f).collect();
    report.push(compared(
        &format!("  runtime over floor (median of pairs), {name}"),
        median_of(&overhead),
        None,
        "ms",
        None,
        overhead,
    ));
}

/// A measurement, compared with its floor where it has one.
pub(crate) fn compared(
    name: &str,
    value: f64,
    floor: Option<f64>,
    unit: &'static str,
    goal: Option<(String, bool)>,
    samples: Vec<f64>,
) -> Measurement {
    let (goal, met) = goal.map_or((None, None), |(g, m)| (Some(g), Some(m)));
    Measurement {
        name: name.to_owned(),
        value,
        unit,
        floor,
        ratio: floor.map(|f| value / f),
        goal,
        met,
        samples,
    }
}

pub(crate) fn median_of(samples: &[f64]) -> f64 {
    median(&mut samples.to_vec())
}

/// Nearest-rank percentile.
fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn timed(work: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let start = Instant::now();
    work()?;
    Ok(ms(start.elapsed()))
}

/// Events go nowhere: the benchmark measures the runtime, not a subscriber.
#[derive(Debug)]
struct NoEvents;

impl EventPort for NoEvents {
    fn publish(&self, _event: Event) {}
}

/// How long the observer may take to watch a workspace and verify it once.
const OBSERVER_START: Duration = Duration::from_secs(120);

/// The runtime as the hosts that keep it running (Studio, `serve`, `watch`) open it:
/// with its observer, so that a commit publishes what it wrote instead of reading the
/// workspace again. The start verification is done before anything is timed.
fn open_runtime(assets: &Path) -> anyhow::Result<Runtime> {
    let runtime = Runtime::open_observed(
        ports(assets)?,
        Arc::new(DiskWatcher::new(assets)),
        ObserverConfig {
            periodic: None,
            ..ObserverConfig::default()
        },
    );
    // The observer's first verification waits for its watch (a while at 100k): done
    // before anything is timed, so that it does not land among the timed commits.
    ensure!(
        runtime.wait_observing(OBSERVER_START),
        "the observer did not start within {OBSERVER_START:?}"
    );
    let view = runtime.view();
    if let Some(condition) = &view.condition {
        bail!("the project {} is failed: {condition}", assets.display());
    }
    ensure!(
        view.state != ProjectState::Failed,
        "the project {} is failed",
        assets.display()
    );
    Ok(runtime)
}

/// The real disk at `assets`, events going nowhere, the system clock.
fn ports(assets: &Path) -> anyhow::Result<Ports> {
    let workspace = DiskWorkspace::open(assets)
        .with_context(|| format!("cannot open the workspace {}", assets.display()))?;
    Ok(Ports {
        workspace: Arc::new(workspace),
        events: Arc::new(NoEvents),
        clock: Arc::new(SystemClock::new()),
    })
}

type OpenRuntime = fn(Ports) -> Runtime;

/// What a CLI write command costs the runtime: open the project, commit one
/// `set_included` of `id`, shut down. Against the same in a runtime that loads the
/// project again after its commit (`Runtime::open`, for a host that keeps it open), which
/// is what a CLI command did before it derived its commit.
fn one_command(report: &mut Report, label: &str, assets: &Path, id: AssetId) -> anyhow::Result<()> {
    let (mut derived, mut loaded) = (Vec::new(), Vec::new());
    for _ in 0..ONE_COMMAND_RUNS {
        let opens: [(OpenRuntime, &mut Vec<f64>); 2] = [
            (Runtime::open_for_one_command, &mut derived),
            (Runtime::open, &mut loaded),
        ];
        for (open, samples) in opens {
            let ports = ports(assets)?;
            samples.push(timed(|| {
                let runtime = open(ports);
                let included = runtime
                    .snapshot()
                    .asset(id)
                    .with_context(|| format!("asset {id} is gone"))?
                    .entry
                    .included_in_build;
                let result = submit(&runtime, set_included(id, !included));
                runtime.shutdown();
                result
            })?);
        }
    }
    report.push(compared(
        &format!("one write command (open, set_included, shut down), {label}"),
        median_of(&derived),
        Some(median_of(&loaded)),
        "ms",
        None,
        derived,
    ));
    report.push(compared(
        &format!("  the same loading the project again after its commit, {label}"),
        median_of(&loaded),
        None,
        "ms",
        None,
        loaded,
    ));
    Ok(())
}

fn submit(runtime: &Runtime, command: Command) -> anyhow::Result<()> {
    runtime
        .submit(WriteRequest {
            command,
            expected_generation: None,
        })
        .context("a benchmark commit failed")?;
    Ok(())
}

fn create(root: &str) -> anyhow::Result<Command> {
    Ok(Command::CreateAsset(CreateAsset {
        root: asset_path(root)?,
        kind: AssetKind::Data,
        inputs: vec![asset_path(INPUT)?],
        name: None,
        output: None,
        included_in_build: true,
    }))
}

fn set_included(id: AssetId, included: bool) -> Command {
    Command::SetIncluded {
        asset: AssetQuery::Id(id),
        included,
    }
}

pub(crate) fn asset_path(path: &str) -> anyhow::Result<AssetPath> {
    AssetPath::new(path).with_context(|| format!("`{path}` is not an asset path"))
}

fn item_root(i: usize) -> String {
    format!("data/item_{i:04}")
}
