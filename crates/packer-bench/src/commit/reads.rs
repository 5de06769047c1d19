//! Read throughput: reader threads taking views in a tight loop, with the writer lane
//! idle and while it commits back to back.

use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure};
use packer_app::runtime::Runtime;
use packer_domain::registry::AssetId;

use crate::commit::{READ_GOAL, compared, median_of};
use crate::report::Report;

/// Two readers: the reference machine has two cores.
const READERS: usize = 2;
/// Alternations of an idle and a committing phase, so drift hits both alike.
const READ_ROUNDS: usize = 3;
/// Reads between two looks at the stop flag.
const READS_PER_CHECK: u64 = 256;

/// Readers' throughput with the lane idle and with it committing.
#[derive(Debug)]
pub(super) struct ReadRates {
    /// One reader alone, lane idle: what [`READERS`] would scale from.
    alone: f64,
    idle: Vec<f64>,
    busy: Vec<f64>,
    commits_per_second: f64,
    /// The same readers while the floor makes the same file operations without a
    /// runtime: what committing costs readers on this machine whoever commits.
    floor_busy: Vec<f64>,
    floor_commits_per_second: f64,
}

impl ReadRates {
    pub(super) fn push(self, report: &mut Report, label: &str) {
        let idle = median_of(&self.idle);
        let busy = median_of(&self.busy);
        report.push(compared(
            &format!("  reads/s (1 reader), lane idle, {label}"),
            self.alone,
            None,
            "Mread/s",
            None,
            Vec::new(),
        ));
        report.push(compared(
            &format!("reads/s ({READERS} readers), lane idle, {label}"),
            idle,
            None,
            "Mread/s",
            None,
            self.idle,
        ));
        let ratio = busy / idle;
        report.push(compared(
            &format!("reads/s ({READERS} readers), lane committing, {label}"),
            busy,
            Some(idle),
            "Mread/s",
            Some((format!("ratio >= {READ_GOAL}"), ratio >= READ_GOAL)),
            self.busy,
        ));
        report.push(compared(
            &format!("  commits/s during the read test, {label}"),
            self.commits_per_second,
            None,
            "commit/s",
            None,
            Vec::new(),
        ));
        let floor_busy = median_of(&self.floor_busy);
        report.push(compared(
            &format!(
                "  reads/s ({READERS} readers), the floor's file operations committing, {label}"
            ),
            floor_busy,
            Some(idle),
            "Mread/s",
            None,
            self.floor_busy,
        ));
        report.push(compared(
            &format!("  floor commits/s during the read test, {label}"),
            self.floor_commits_per_second,
            None,
            "commit/s",
            None,
            Vec::new(),
        ));
        report.push(compared(
            &format!("  reads while the lane commits against while the floor commits, {label}"),
            busy,
            Some(floor_busy),
            "Mread/s",
            None,
            Vec::new(),
        ));
    }
}

/// [`READERS`] threads each take a view and look up an asset's status, as fast as they
/// can, for `seconds`; [`READ_ROUNDS`] times with the lane idle, as many while `commit`
/// runs back to back, and as many while `floor_commit` (the same file operations on
/// another copy, without a runtime) does, in turn. One reader alone first, for scale.
pub(super) fn read_throughput(
    runtime: &Runtime,
    ids: &[AssetId],
    seconds: f64,
    mut commit: impl FnMut() -> anyhow::Result<()>,
    mut floor_commit: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<ReadRates> {
    ensure!(!ids.is_empty(), "no asset to read");
    let phase = Duration::from_secs_f64(seconds);
    let (reads, _, elapsed) = read_phase(runtime, ids, 1, phase, None)?;
    let mut rates = ReadRates {
        alone: reads as f64 / elapsed.as_secs_f64() / 1e6,
        idle: Vec::new(),
        busy: Vec::new(),
        commits_per_second: 0.0,
        floor_busy: Vec::new(),
        floor_commits_per_second: 0.0,
    };
    let (mut commits, mut busy_time) = (0u64, Duration::ZERO);
    let (mut floor_commits, mut floor_time) = (0u64, Duration::ZERO);
    for _ in 0..READ_ROUNDS {
        let (reads, _, elapsed) = read_phase(runtime, ids, READERS, phase, None)?;
        rates.idle.push(reads as f64 / elapsed.as_secs_f64() / 1e6);
        let (reads, done, elapsed) = read_phase(runtime, ids, READERS, phase, Some(&mut commit))?;
        rates.busy.push(reads as f64 / elapsed.as_secs_f64() / 1e6);
        commits += done;
        busy_time += elapsed;
        let (reads, done, elapsed) =
            read_phase(runtime, ids, READERS, phase, Some(&mut floor_commit))?;
        rates
            .floor_busy
            .push(reads as f64 / elapsed.as_secs_f64() / 1e6);
        floor_commits += done;
        floor_time += elapsed;
    }
    rates.commits_per_second = commits as f64 / busy_time.as_secs_f64();
    rates.floor_commits_per_second = floor_commits as f64 / floor_time.as_secs_f64();
    Ok(rates)
}

/// Reads counted over one phase, commits made, and the phase's length.
fn read_phase(
    runtime: &Runtime,
    ids: &[AssetId],
    threads: usize,
    phase: Duration,
    mut commit: Option<&mut dyn FnMut() -> anyhow::Result<()>>,
) -> anyhow::Result<(u64, u64, Duration)> {
    let stop = AtomicBool::new(false);
    let start = Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        let readers: Vec<_> = (0..threads)
            .map(|offset| {
                let (stop, start) = (&stop, &start);
                scope.spawn(move || read_loop(runtime, ids, offset, stop, start))
            })
            .collect();
        start.wait();
        let began = Instant::now();
        let mut commits = 0u64;
        let mut failed = None;
        match commit.as_mut() {
            Some(commit) => {
                while began.elapsed() < phase {
                    if let Err(error) = commit() {
                        failed = Some(error);
                        break;
                    }
                    commits += 1;
                }
            }
            None => std::thread::sleep(phase),
        }
        let elapsed = began.elapsed();
        // Always stop the readers, even after a failed commit: the scope joins them.
        stop.store(true, Ordering::Relaxed);
        let mut reads = 0;
        for reader in readers {
            reads += reader
                .join()
                .map_err(|_| anyhow!("a reader thread panicked"))?;
        }
        match failed {
            Some(error) => Err(error),
            None => Ok((reads, commits, elapsed)),
        }
    })
}

fn read_loop(
    runtime: &Runtime,
    ids: &[AssetId],
    offset: usize,
    stop: &AtomicBool,
    start: &Barrier,
) -> u64 {
    start.wait();
    let mut reads = 0;
    let mut next = offset;
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..READS_PER_CHECK {
            let status = runtime
                .with_view(|view| view.snapshot.asset(ids[next % ids.len()]).map(|a| a.status));
            std::hint::black_box(status);
            next = next.wrapping_add(7);
        }
        reads += READS_PER_CHECK;
    }
    reads
}
