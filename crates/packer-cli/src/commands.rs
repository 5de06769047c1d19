//! The commands: each locates the project, opens it with the real file system injected
//! (reads through the runtime's read-only view, writes through a running runtime), and
//! presents the answer. What they share lives here: how a command ends, opening the
//! project and starting a runtime on it, and `init`.

pub mod build;
pub mod inspect;
pub mod read;
pub mod reconcile;
pub mod write;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use packer_app::error::{AppError, ErrorCode};
use packer_app::runtime::{Ports, Runtime};
use packer_fs::{DiskWorkspace, SystemClock};

use crate::events::EventPrinter;
use crate::output::Output;
use crate::project::{self, ProjectDir};

/// How a command that ran to the end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the command ran, and what it found is an error (doctor found errors, the
    /// project is failed).
    FoundErrors,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::FoundErrors => 1,
        }
    }
}

/// Why a command could not do its job.
#[derive(Debug)]
pub enum Failure {
    /// The words of the call are wrong: exit 2.
    Usage(String),
    /// The runtime refused or failed: exit 1, reported with its code.
    App(AppError),
    /// Anything else on the way (no project here, an unreadable directory): exit 1.
    Other(anyhow::Error),
}

impl From<AppError> for Failure {
    fn from(error: AppError) -> Failure {
        Failure::App(error)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        Failure::Other(error)
    }
}

impl Failure {
    /// Prints the failure where it belongs and gives the exit code.
    pub fn report(self, out: &Output<'_>) -> u8 {
        let (error, exit) = match self {
            Failure::Usage(message) => (AppError::new(ErrorCode::InvalidParams, message), 2),
            Failure::App(e) => (e, 1),
            Failure::Other(e) => (AppError::new(ErrorCode::Io, format!("{e:#}")), 1),
        };
        if out.json {
            out.json(&ErrorOutput { error: &error });
        }
        out.error(&format!("error: {}", error.message));
        exit
    }
}

/// `{"error": {...}}`, the `--json` form of a failure. Encoded straight from the
/// struct, so that its keys keep the order of the protocol's error responses (`code`,
/// `message`, `detail`).
#[derive(serde::Serialize)]
pub(crate) struct ErrorOutput<'a> {
    pub(crate) error: &'a AppError,
}

pub type CommandResult = Result<Outcome, Failure>;

/// Creates a project in `dir`, else in the folder `--project` names (`project`), else in
/// the current folder.
pub fn init(out: &Output<'_>, dir: Option<&Path>, project: Option<&Path>) -> CommandResult {
    let dir = match (dir.map(|dir| out.cwd().join(dir)), project) {
        (Some(dir), Some(project)) if !same_folder(&dir, project) => {
            return Err(Failure::Usage(format!(
                "`--project {}` and `init {}` name two different folders; give the folder once",
                project.display(),
                dir.display()
            )));
        }
        (Some(dir), _) => dir,
        (None, Some(project)) => project.to_path_buf(),
        (None, None) => out.cwd(),
    };
    if dir.is_relative() {
        // Only an unknown current folder leaves a relative one (see `project::locate`).
        return Err(Failure::Other(anyhow::anyhow!(
            "the current folder cannot be read (was it deleted?): give the new project's folder as an absolute path"
        )));
    }
    if let Some(outer) = project::enclosing_project(&dir) {
        return Err(Failure::App(AppError::new(
            ErrorCode::Invalid,
            format!(
                "{} is in the assets folder of the project in {}: a project there would have its files taken for that project's assets; create it outside {}",
                dir.display(),
                outer.display(),
                outer.join("assets").display()
            ),
        )));
    }
    let assets = dir.join("assets");
    std::fs::create_dir_all(&assets)
        .with_context(|| format!("cannot create {}", assets.display()))?;
    let port = DiskWorkspace::open(&assets)
        .with_context(|| format!("cannot open {}", assets.display()))?;
    let report = packer_app::init::init_workspace(&port)?;
    if out.json {
        out.json(&report);
    } else {
        for file in &report.created {
            out.note(&format!("created {file}"));
        }
        for file in &report.kept {
            out.note(&format!("kept the existing {file}"));
        }
        out.note(&format!(
            "initialised a Prometeu project in {}",
            dir.display()
        ));
    }
    Ok(Outcome::Success)
}

/// Whether two paths name one folder, spelt alike or not (`a/../b` and `b`).
fn same_folder(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(a), Ok(b)) if a == b
        )
}

/// Locates the project and opens its `assets/` on the real disk.
pub(crate) fn open_workspace(
    out: &Output<'_>,
    explicit: Option<&Path>,
) -> Result<(ProjectDir, DiskWorkspace), Failure> {
    let project = project::locate(explicit, &out.cwd())?;
    let port = DiskWorkspace::open(&project.assets)
        .with_context(|| format!("cannot open {}", project.assets.display()))?;
    Ok((project, port))
}

/// Starts a runtime on `port` with the system clock, for the one command this process
/// runs; its events are gathered for the command to print once the runtime is shut down.
pub(crate) fn start_runtime(port: DiskWorkspace) -> (Runtime, EventPrinter) {
    let events = EventPrinter::new();
    let runtime = Runtime::open_for_one_command(Ports {
        workspace: Arc::new(port),
        events: events.port(),
        clock: Arc::new(SystemClock::new()),
    });
    (runtime, events)
}
