//! `cargo xtask bench`: generates (once) the benchmark workspaces under `target/bench/`
//! and runs the `packer-bench` runner on them in release mode, which prints a table and
//! writes `target/bench/report.json`. The build benchmarks run on the 10k workspace.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::ci::cargo;
use crate::gen_workspace;
use crate::workspace_root;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Workspace sizes to measure, in assets.
    #[arg(long, value_delimiter = ',', default_values_t = [1_000usize, 10_000, 100_000])]
    pub sizes: Vec<usize>,
    /// Timed repetitions of each measurement (medians are reported).
    #[arg(long, default_value_t = 5)]
    pub iterations: usize,
    /// Leave out the write benchmarks (commits, batches, reads while committing).
    #[arg(long, conflicts_with = "commit_only")]
    pub skip_commit: bool,
    /// Run only the write benchmarks.
    #[arg(long)]
    pub commit_only: bool,
    /// Leave out the observer benchmarks.
    #[arg(long, conflicts_with = "observe_only")]
    pub skip_observe: bool,
    /// Run only the observer benchmarks.
    #[arg(long)]
    pub observe_only: bool,
    /// Run only the build benchmarks (full build and no-op rebuild of the 10k-asset
    /// workspace against its floor).
    #[arg(long, conflicts_with_all = ["commit_only", "observe_only", "skip_build"])]
    pub build_only: bool,
    /// Leave out the build benchmarks.
    #[arg(long)]
    pub skip_build: bool,
}

/// The workspace size the build benchmarks run on.
const BUILD_SIZE: usize = 10_000;

/// The seed of every benchmark workspace: fixed, so runs compare.
const SEED: u64 = 1;

pub fn run(args: &Args) -> anyhow::Result<()> {
    let root = workspace_root();
    let bench_dir = root.join("target").join("bench");
    let mut workspaces = Vec::new();
    let sizes = if args.build_only {
        vec![BUILD_SIZE]
    } else {
        args.sizes.clone()
    };
    for &size in &sizes {
        let dir = bench_dir.join(format!("ws-{size}"));
        ensure_workspace(&dir, size)?;
        workspaces.push(format!("{}={}", label(size), dir.display()));
    }
    let report = bench_dir.join("report.json");
    let mut command = Command::new(cargo());
    command
        .args(["run", "--release", "--quiet", "-p", "packer-bench", "--"])
        .arg("--iterations")
        .arg(args.iterations.to_string())
        .arg("--out")
        .arg(&report)
        .current_dir(&root);
    for workspace in &workspaces {
        command.arg("--workspace").arg(workspace);
    }
    // The selection flags are the runner's own, passed on as they are.
    let selection = [
        (args.skip_commit, "--skip-commit"),
        (args.commit_only, "--commit-only"),
        (args.skip_observe, "--skip-observe"),
        (args.observe_only, "--observe-only"),
        (args.build_only, "--build-only"),
        (args.skip_build, "--skip-build"),
    ];
    for (_, flag) in selection.iter().filter(|(on, _)| *on) {
        command.arg(flag);
    }
    command.arg("--build-at").arg(label(BUILD_SIZE));
    let status = command
        .status()
        .context("cannot run the benchmark runner")?;
    if !status.success() {
        bail!("the benchmark runner failed ({status})");
    }
    eprintln!("bench: report written to {}", report.display());
    Ok(())
}

/// Generates the workspace of `size` assets in `dir` unless an identical one is there.
fn ensure_workspace(dir: &Path, size: usize) -> anyhow::Result<()> {
    let stamp_path = dir.join(".bench-stamp");
    let stamp = format!(
        "assets={size} seed={SEED} generator={}\n",
        env!("CARGO_PKG_VERSION")
    );
    if std::fs::read_to_string(&stamp_path).ok().as_deref() == Some(stamp.as_str()) {
        return Ok(());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    gen_workspace::run(&gen_workspace::Args {
        assets: size,
        out: PathBuf::from(dir),
        seed: SEED,
        force: true,
    })?;
    std::fs::write(&stamp_path, stamp)
        .with_context(|| format!("cannot write {}", stamp_path.display()))
}

fn label(size: usize) -> String {
    if size >= 1000 && size.is_multiple_of(1000) {
        format!("{}k", size / 1000)
    } else {
        size.to_string()
    }
}
