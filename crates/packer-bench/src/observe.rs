//! The observer's costs on a real workspace: the full verification scan against
//! `git status` on the same tree, the watcher's setup against adding one inotify watch
//! per directory by hand, the latency from a hand edit to `snapshot_refreshed`, and the
//! cost of a refresh after editing 1, 100 and 10k declarations.
//!
//! Edits are made to the shared benchmark workspace and undone byte for byte before
//! this returns, so that the other benchmarks see it as generated.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use crossbeam_channel::{Receiver, Sender};
use packer_app::observer::ObserverConfig;
use packer_app::runtime::{Ports, Runtime};
use packer_domain::event::Event;
use packer_domain::observe::DiskFacts;
use packer_domain::ports::{ClockPort, EventPort, HintSink, ScanOptions, WatchPort, WorkspacePort};
use packer_domain::registry::Registry;
use packer_fs::{DiskWatcher, DiskWorkspace, SystemClock};

use crate::report::{Measurement, Report, median, ms};

/// The goal: a full verification scan costs at most half of `git status`.
const SCAN_GOAL: f64 = 0.5;
/// The goal: setting up the watcher costs at most 1.5× adding the watches by hand.
const WATCH_GOAL: f64 = 1.5;

pub fn run(
    report: &mut Report,
    label: &str,
    project: &Path,
    iterations: usize,
) -> anyhow::Result<()> {
    let assets = project.join("assets");
    let port = DiskWorkspace::open(&assets)
        .with_context(|| format!("cannot open the workspace {}", assets.display()))?;
    let clock = SystemClock::new();
    scan_vs_git(report, label, project, &port, &clock, iterations)?;
    watcher_setup(report, label, &assets, iterations)?;
    observed_open(report, label, &assets, iterations)?;
    let declarations = declarations(&assets)?;
    let edits = Edits::new(declarations);
    let result = refreshes(report, label, &assets, &edits, iterations);
    edits.restore()?;
    result
}

fn scan_vs_git(
    report: &mut Report,
    label: &str,
    project: &Path,
    port: &DiskWorkspace,
    clock: &SystemClock,
    iterations: usize,
) -> anyhow::Result<()> {
    ensure_git(project)?;
    // Warm both: the page cache, git's index and its untracked cache.
    for _ in 0..2 {
        git_status(project)?;
    }
    let mut previous = DiskFacts::scan(port, clock.wall_clock_ns(), None)?;
    let mut ours = Vec::with_capacity(iterations);
    let mut git = Vec::with_capacity(iterations);
    let mut walks = Vec::with_capacity(iterations);
    let mut listing_walks = Vec::with_capacity(iterations);
    let mut stats_alone = Vec::with_capacity(iterations);
    let tree = StatTree::of(&project.join("assets"))?;
    for _ in 0..iterations {
        // What the scan spends in the walk and its stat calls, the rest being the table;
        // and what the walk costs when it lists every directory.
        let t = Instant::now();
        let entries = port.scan_reusing(previous.reuse())?;
        walks.push(ms(t.elapsed()));
        drop(entries);
        let t = Instant::now();
        let entries = port.scan(ScanOptions { fingerprints: true })?;
        listing_walks.push(ms(t.elapsed()));
        drop(entries);
        let t = Instant::now();
        let stated = tree.stat_all()?;
        stats_alone.push(ms(t.elapsed()));
        anyhow::ensure!(
            stated == tree.entries,
            "the workspace changed under the benchmark"
        );
        let t = Instant::now();
        let facts = DiskFacts::scan(port, clock.wall_clock_ns(), Some(&previous))?;
        ours.push(ms(t.elapsed()));
        anyhow::ensure!(
            previous.diff(&facts).is_empty(),
            "the workspace changed under the benchmark"
        );
        previous = facts;
        let t = Instant::now();
        git_status(project)?;
        git.push(ms(t.elapsed()));
    }
    report.push_against_floor(
        format!("verification scan, {label} ({} files)", previous.len()),
        ours,
        format!("  floor: git status (untracked cache on), {label}"),
        git,
        SCAN_GOAL,
    );
    report.push(Measurement::timings(
        format!("  of which the walk (unchanged folders taken over, one stat per file), {label}"),
        walks,
    ));
    report.push(Measurement::timings(
        format!("  a walk listing every folder instead, {label}"),
        listing_walks,
    ));
    report.push(Measurement::timings(
        format!(
            "  the stat calls alone ({} entries known beforehand, no listing), {label}",
            tree.entries
        ),
        stats_alone,
    ));
    Ok(())
}

/// The least a verification scan can cost: one `lstat` of every file and folder by its
/// whole path, the names known beforehand (so no folder is listed or opened), on as many
/// threads as the scan uses. A scan must stat every file to notice an in-place edit,
/// and every folder to notice an entry added or removed; what these calls alone cost
/// against `git status` bounds the ratio any such scan can reach. (Stating relative to
/// each folder's handle instead, as the scan does, costs the opens on top.)
struct StatTree {
    folders: Vec<(PathBuf, Vec<std::ffi::OsString>)>,
    entries: usize,
}

impl StatTree {
    fn of(assets: &Path) -> anyhow::Result<StatTree> {
        // As the scan: `.prometeu`'s own entries, nothing below them.
        let internal = assets.join(".prometeu");
        let mut folders = Vec::new();
        for dir in directories(assets)? {
            if dir.starts_with(&internal) && dir != internal {
                continue;
            }
            let mut names = Vec::new();
            for entry in std::fs::read_dir(&dir)? {
                names.push(entry?.file_name());
            }
            folders.push((dir, names));
        }
        let entries = folders.iter().map(|(_, names)| names.len()).sum();
        Ok(StatTree { folders, entries })
    }

    /// Stats every entry; how many were found.
    fn stat_all(&self) -> anyhow::Result<usize> {
        use rustix::fs::{AtFlags, CWD};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let next = AtomicUsize::new(0);
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let worker = || -> anyhow::Result<usize> {
            let mut found = 0;
            loop {
                let Some((dir, names)) = self.folders.get(next.fetch_add(1, Ordering::Relaxed))
                else {
                    return Ok(found);
                };
                for name in names {
                    let path = dir.join(name);
                    rustix::fs::statat(CWD, path.as_path(), AtFlags::SYMLINK_NOFOLLOW)?;
                    found += 1;
                }
            }
        };
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads).map(|_| scope.spawn(worker)).collect();
            workers.into_iter().try_fold(0, |sum, worker| {
                let found = worker
                    .join()
                    .map_err(|_| anyhow::anyhow!("a stat worker panicked"))??;
                Ok(sum + found)
            })
        })
    }
}

fn watcher_setup(
    report: &mut Report,
    label: &str,
    assets: &Path,
    iterations: usize,
) -> anyhow::Result<()> {
    let count = directories(assets)?.len();
    let mut ours = Vec::with_capacity(iterations);
    let mut raw = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let watcher = DiskWatcher::new(assets);
        let sink: HintSink = Arc::new(|_| {});
        let t = Instant::now();
        let session = watcher.watch(sink)?;
        ours.push(ms(t.elapsed()));
        drop(session);
        // The floor finds the directories too: a watcher must.
        let t = Instant::now();
        let inotify = raw_watches(&directories(assets)?)?;
        raw.push(ms(t.elapsed()));
        drop(inotify);
    }
    report.push_against_floor(
        format!("watcher setup, {label} ({count} directories)"),
        ours,
        format!("  floor: walk + inotify_add_watch per directory, {label}"),
        raw,
        WATCH_GOAL,
    );
    Ok(())
}

/// What opening a runtime costs until `runtime_started`, with an observer (the disk's
/// facts are taken before the load, so that every later change is reported) and
/// without one.
fn observed_open(
    report: &mut Report,
    label: &str,
    assets: &Path,
    iterations: usize,
) -> anyhow::Result<()> {
    let fresh_ports = || -> anyhow::Result<Ports> {
        Ok(Ports {
            workspace: Arc::new(DiskWorkspace::open(assets)?),
            events: Arc::new(ChannelEvents::new().0),
            clock: Arc::new(SystemClock::new()),
        })
    };
    let mut observed = Vec::with_capacity(iterations);
    let mut plain = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let ports = fresh_ports()?;
        let t = Instant::now();
        let runtime = Runtime::open(ports);
        plain.push(ms(t.elapsed()));
        runtime.shutdown();
        let ports = fresh_ports()?;
        let config = ObserverConfig {
            periodic: None,
            ..ObserverConfig::default()
        };
        let t = Instant::now();
        let runtime = Runtime::open_observed(ports, Arc::new(DiskWatcher::new(assets)), config);
        observed.push(ms(t.elapsed()));
        runtime.shutdown();
    }
    for (name, samples) in [
        (
            format!("open until runtime_started, observed, {label}"),
            observed,
        ),
        (format!("  the same without an observer, {label}"), plain),
    ] {
        report.push(Measurement::timings(name, samples));
    }
    Ok(())
}

/// Hand edit → `snapshot_refreshed`, and refreshes after many edits.
fn refreshes(
    report: &mut Report,
    label: &str,
    assets: &Path,
    edits: &Edits,
    iterations: usize,
) -> anyhow::Result<()> {
    let (events, received) = ChannelEvents::new();
    let config = ObserverConfig {
        debounce: Duration::from_millis(5),
        periodic: None,
        ..ObserverConfig::default()
    };
    let runtime = Runtime::open_observed(
        Ports {
            workspace: Arc::new(DiskWorkspace::open(assets)?),
            events: Arc::new(events),
            clock: Arc::new(SystemClock::new()),
        },
        Arc::new(DiskWatcher::new(assets)),
        config,
    );
    // The observer's first verification (once its watch is in place), then nothing
    // pending.
    anyhow::ensure!(
        runtime.wait_observing(Duration::from_secs(120)),
        "the observer did not start"
    );
    let mut latencies = Vec::new();
    let rounds = (iterations * 4).max(8);
    for round in 0..rounds {
        while received.try_recv().is_ok() {}
        let t = Instant::now();
        edits.edit(round % edits.len().max(1), round)?;
        wait_refresh(&received)?;
        latencies.push(ms(t.elapsed()));
    }
    let mut sorted = latencies.clone();
    let p50 = median(&mut sorted);
    let p99 = percentile(&latencies, 0.99);
    report.push(Measurement::info(
        format!("hand edit → snapshot_refreshed p50, {label} (debounce 5 ms)"),
        p50,
        "ms",
        latencies.clone(),
    ));
    report.push(Measurement::info(
        format!("hand edit → snapshot_refreshed p99, {label}"),
        p99,
        "ms",
        Vec::new(),
    ));
    // The same edits as the watcher sees them: from the last write until the refreshes
    // have taken in every edited declaration.
    let rounds = time_edits(
        report,
        edits,
        (rounds, iterations),
        |count| format!("last of {count} asset.json edits → all refreshed (watcher), {label}"),
        || while received.try_recv().is_ok() {},
        |count| wait_changed(&received, count),
    )?;
    time_edits(
        report,
        edits,
        (rounds, iterations),
        |count| format!("refresh after editing {count} asset.json (check_divergence), {label}"),
        || {},
        |_| {
            let view = runtime.check_divergence();
            anyhow::ensure!(!view.refreshed.is_empty(), "the edits were not seen");
            Ok(())
        },
    )?;
    runtime.shutdown();
    Ok(())
}

/// For 1, 100 and 10k edited declarations, `iterations` times: runs `before`, edits
/// them (with names no earlier round used, from round `first`), and times `settle`, the
/// measurement named `name(count)`. Gives the next unused round.
fn time_edits(
    report: &mut Report,
    edits: &Edits,
    (first, iterations): (usize, usize),
    name: impl Fn(usize) -> String,
    mut before: impl FnMut(),
    mut settle: impl FnMut(usize) -> anyhow::Result<()>,
) -> anyhow::Result<usize> {
    const COUNTS: [usize; 3] = [1, 100, 10_000];
    for (c, count) in COUNTS.into_iter().enumerate() {
        if count > edits.len() {
            continue;
        }
        let mut samples = Vec::with_capacity(iterations);
        for i in 0..iterations {
            before();
            // A round of its own for every count and iteration: an edit that wrote what
            // the file already held would change nothing, and never be refreshed.
            let round = first + c * iterations + i;
            for file in 0..count {
                edits.edit(file, round)?;
            }
            let t = Instant::now();
            settle(count)?;
            samples.push(ms(t.elapsed()));
        }
        let mut sorted = samples.clone();
        let value = median(&mut sorted);
        report.push(Measurement::info(name(count), value, "ms", samples));
    }
    Ok(first + COUNTS.len() * iterations)
}

fn wait_refresh(received: &Receiver<Event>) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(left) {
            Ok(Event::SnapshotRefreshed { .. }) => return Ok(()),
            Ok(_) => {}
            Err(_) => bail!("no snapshot_refreshed within a minute of a hand edit"),
        }
    }
}

/// Waits until `snapshot_refreshed` events have named `count` distinct assets.
fn wait_changed(received: &Receiver<Event>, count: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = std::collections::HashSet::new();
    while seen.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(left) {
            Ok(Event::SnapshotRefreshed { changed, .. }) => seen.extend(changed),
            Ok(_) => {}
            Err(_) => bail!(
                "{} of {count} edited declarations refreshed after two minutes",
                seen.len()
            ),
        }
    }
    Ok(())
}

/// Declarations edited by renaming their asset, and put back as they were.
struct Edits {
    originals: Vec<(PathBuf, Vec<u8>)>,
}

impl Edits {
    fn new(paths: Vec<PathBuf>) -> Edits {
        let originals = paths
            .into_iter()
            .filter_map(|p| std::fs::read(&p).ok().map(|bytes| (p, bytes)))
            .collect();
        Edits { originals }
    }

    fn len(&self) -> usize {
        self.originals.len()
    }

    /// Rewrites declaration `index` with a name that differs in every `round`.
    fn edit(&self, index: usize, round: usize) -> anyhow::Result<()> {
        let (path, original) = &self.originals[index % self.originals.len()];
        let text = String::from_utf8_lossy(original);
        let edited = text.replacen("\"name\": \"", &format!("\"name\": \"e{round}-"), 1);
        anyhow::ensure!(edited != text, "{} has no name to edit", path.display());
        std::fs::write(path, edited.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
    }

    fn restore(&self) -> anyhow::Result<()> {
        for (path, bytes) in &self.originals {
            std::fs::write(path, bytes)
                .with_context(|| format!("cannot restore {}", path.display()))?;
        }
        Ok(())
    }
}

/// The first 10k registered declarations.
fn declarations(assets: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let index = std::fs::read(assets.join(".prometeu").join("index.json"))?;
    let registry =
        Registry::parse(&index).map_err(|e| anyhow::anyhow!("invalid registry: {e:?}"))?;
    Ok(registry
        .assets()
        .iter()
        .take(10_000)
        .map(|e| assets.join(e.root.declaration_path().as_str()))
        .collect())
}

/// Every directory of the workspace, `.prometeu` included, as the watcher watches them.
fn directories(assets: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![assets.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                stack.push(entry.path());
            }
        }
        out.push(dir);
    }
    Ok(out)
}

/// The floor: an inotify instance with one watch per directory, the same mask notify
/// uses, nothing else.
fn raw_watches(dirs: &[PathBuf]) -> anyhow::Result<rustix::fd::OwnedFd> {
    use rustix::fs::inotify::{self, CreateFlags, WatchFlags};
    let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?;
    let mask = WatchFlags::ATTRIB
        | WatchFlags::CREATE
        | WatchFlags::OPEN
        | WatchFlags::DELETE
        | WatchFlags::CLOSE_WRITE
        | WatchFlags::MODIFY
        | WatchFlags::MOVED_FROM
        | WatchFlags::MOVED_TO;
    for dir in dirs {
        inotify::add_watch(&fd, dir.as_path(), mask)?;
    }
    Ok(fd)
}

fn ensure_git(project: &Path) -> anyhow::Result<()> {
    if project.join(".git").join("bench-ready").exists() {
        return Ok(());
    }
    let run = |args: &[&str]| -> anyhow::Result<()> {
        let status = Command::new("git")
            .args(args)
            .current_dir(project)
            .stdout(std::process::Stdio::null())
            .status()
            .context("cannot run git")?;
        anyhow::ensure!(status.success(), "git {args:?} failed");
        Ok(())
    };
    run(&["init", "-q"])?;
    run(&["config", "core.untrackedCache", "true"])?;
    run(&["config", "core.fsmonitor", "false"])?;
    run(&["add", "-A", "assets"])?;
    run(&[
        "-c",
        "user.name=bench",
        "-c",
        "user.email=bench@localhost",
        "commit",
        "-q",
        "-m",
        "bench",
    ])?;
    std::fs::write(project.join(".git").join("bench-ready"), "")?;
    Ok(())
}

fn git_status(project: &Path) -> anyhow::Result<()> {
    let output = Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(project)
        .output()
        .context("cannot run git status")?;
    anyhow::ensure!(output.status.success(), "git status failed");
    Ok(())
}

fn percentile(samples: &[f64], q: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(index).copied().unwrap_or(0.0)
}

/// Events into a channel, for timing.
#[derive(Debug)]
struct ChannelEvents {
    sender: Sender<Event>,
}

impl ChannelEvents {
    fn new() -> (ChannelEvents, Receiver<Event>) {
        let (sender, receiver) = crossbeam_channel::unbounded();
        (ChannelEvents { sender }, receiver)
    }
}

impl EventPort for ChannelEvents {
    fn publish(&self, event: Event) {
        let _ = self.sender.send(event);
    }
}
