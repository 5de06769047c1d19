//! `build [--out DIR]`: opens the project with the real disk, hands the runtime's build
//! a [`DiskOutput`] on the output folder (default `<project>/build`), shows a progress
//! bar while it runs on a terminal, and prints the summary or the `--json` report.

use std::io::IsTerminal;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use packer_app::build::{BuildProgress, BuildReport, BuildRequest};
use packer_fs::DiskOutput;

use crate::commands::{CommandResult, Failure, Outcome, open_workspace, start_runtime};
use crate::output::Output;
use crate::project::ProjectDir;

/// The output folder when `--out` is not given, relative to the project root.
pub const DEFAULT_OUT: &str = "build";

pub fn build(out: &Output<'_>, explicit: Option<&Path>, out_dir: Option<&Path>) -> CommandResult {
    let (project, port) = open_workspace(out, explicit)?;
    let output = output_folder(&project, &out.cwd(), out_dir)?;
    let (runtime, events) = start_runtime(port);
    let started = Instant::now();
    // A bar only where a person watches: never in `--json` or `-q` output, never into
    // a pipe or a file.
    let bar = (!out.json && !out.quiet && std::io::stderr().is_terminal()).then(progress_bar);
    let result = runtime.build(
        &BuildRequest::new(Arc::new(output)),
        &|progress: BuildProgress| {
            if let Some(bar) = &bar {
                bar.set_length(progress.total);
                bar.set_position(progress.done);
            }
        },
    );
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    runtime.shutdown();
    events.print(out);
    let report = result?;
    if out.json {
        out.json(&report);
    } else {
        out.done(&summary(&report, started.elapsed().as_secs_f64()));
    }
    Ok(Outcome::Success)
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("packing {bar:30} {pos}/{len} assets, {elapsed}")
    {
        bar.set_style(style);
    }
    bar
}

/// `packed 42 assets (39 reused), 3.1 MiB -> build/assets.pak in 0.42 s`.
fn summary(report: &BuildReport, seconds: f64) -> String {
    format!(
        "packed {} asset{} ({} reused), {} -> {} in {seconds:.2} s",
        report.assets,
        if report.assets == 1 { "" } else { "s" },
        report.reused,
        size(report.bytes),
        report.pack
    )
}

/// A byte count for people.
pub fn size(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    } else {
        format!("{:.2} GiB", b / (1024.0 * 1024.0 * 1024.0))
    }
}

/// The output folder: `out` (relative to `cwd`) or `<project>/build`, which must lie
/// outside `assets/`. It is shown relative to the project root when it lies inside it.
pub(crate) fn output_folder(
    project: &ProjectDir,
    cwd: &Path,
    out: Option<&Path>,
) -> Result<DiskOutput, Failure> {
    let dir = match out {
        // `cwd.join("")` is `cwd` itself: an empty name would pack into the project root.
        Some(dir) if dir.as_os_str().is_empty() => {
            return Err(Failure::Usage(
                "the build output folder is empty; name a folder outside the workspace".into(),
            ));
        }
        Some(dir) => cwd.join(dir),
        None => project.root.join(DEFAULT_OUT),
    };
    let dir = resolve(&dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    let assets = std::fs::canonicalize(&project.assets)
        .with_context(|| format!("cannot resolve {}", project.assets.display()))?;
    if dir.starts_with(&assets) {
        return Err(Failure::Usage(format!(
            "the build output {} lies inside {}; choose a folder outside the workspace",
            dir.display(),
            assets.display()
        )));
    }
    let root = std::fs::canonicalize(&project.root).unwrap_or_else(|_| project.root.clone());
    let location = match dir.strip_prefix(&root) {
        Ok(relative) if !relative.as_os_str().is_empty() => relative.display().to_string(),
        _ => dir.display().to_string(),
    };
    Ok(DiskOutput::new(dir).with_location(location))
}

/// `path` with its longest existing ancestor canonicalised (links resolved) and the
/// rest appended, `.` and `..` resolved: where the folder is, or will be once created.
fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    let mut existing = path.to_path_buf();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_owned());
                existing = parent.to_path_buf();
            }
            // `..` or the root: nothing left to strip.
            _ => break,
        }
    }
    let mut resolved = std::fs::canonicalize(&existing)?;
    for name in rest.iter().rev() {
        match Path::new(name).components().next() {
            Some(Component::ParentDir) => {
                resolved.pop();
            }
            Some(Component::CurDir) | None => {}
            Some(_) => resolved.push(name),
        }
    }
    Ok(resolved)
}
