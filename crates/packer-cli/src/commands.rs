//! The commands: each locates the project, opens it through the runtime with the real
//! file system injected, and presents the answer.

use std::path::Path;

use anyhow::Context;
use packer_app::error::{AppError, ErrorCode};
use packer_app::views::{DoctorView, GetView, ListView, StatusView};
use packer_domain::snapshot::{AssetQuery, ProjectState, Snapshot};
use packer_fs::DiskWorkspace;

use crate::output::Output;
use crate::project::{self, ProjectDir};
use crate::render;

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
        let (code, message, detail, exit) = match self {
            Failure::Usage(message) => (
                ErrorCode::InvalidParams,
                message,
                serde_json::Value::Null,
                2,
            ),
            Failure::App(e) => (e.code, e.message, e.detail, 1),
            Failure::Other(e) => (ErrorCode::Io, format!("{e:#}"), serde_json::Value::Null, 1),
        };
        if out.json {
            let mut error = serde_json::json!({ "code": code, "message": message });
            if !detail.is_null() {
                error["detail"] = detail;
            }
            out.json(&serde_json::json!({ "error": error }));
        }
        out.error(&format!("error: {message}"));
        exit
    }
}

pub type CommandResult = Result<Outcome, Failure>;

/// Opens the project and loads its current snapshot.
fn open(out: &Output<'_>, explicit: Option<&Path>) -> Result<(ProjectDir, Snapshot), Failure> {
    let project = project::locate(explicit, &out.cwd())?;
    let port = DiskWorkspace::open(&project.assets)
        .with_context(|| format!("cannot open {}", project.assets.display()))?;
    let snapshot = Snapshot::load(&port, 1);
    Ok((project, snapshot))
}

/// Reads of the asset list need a registry; say so plainly when there is none.
fn require_registry(snapshot: &Snapshot) -> Result<(), Failure> {
    if snapshot.registry().is_none() {
        let first = snapshot.diagnostics().into_iter().next();
        let reason = first.map_or_else(String::new, |d| {
            let place = match (&d.file, d.line, d.column) {
                (Some(f), Some(l), Some(c)) => format!("{f}:{l}:{c}: "),
                (Some(f), _, _) => format!("{f}: "),
                _ => String::new(),
            };
            format!(": {place}{}", d.message)
        });
        return Err(Failure::App(AppError::new(
            ErrorCode::FailedState,
            format!(
                "the project is failed: the registry cannot be read{reason} (see `prometeu-packer doctor`)"
            ),
        )));
    }
    Ok(())
}

pub fn init(out: &Output<'_>, dir: Option<&Path>) -> CommandResult {
    let dir = match dir {
        Some(dir) => out.cwd().join(dir),
        None => out.cwd(),
    };
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

pub fn list(out: &Output<'_>, explicit: Option<&Path>) -> CommandResult {
    let (_, snapshot) = open(out, explicit)?;
    require_registry(&snapshot)?;
    let view = ListView::of(&snapshot);
    if out.json {
        out.json(&view);
    } else {
        out.stdout(render::list(&view).trim_end());
    }
    Ok(Outcome::Success)
}

pub fn show(out: &Output<'_>, explicit: Option<&Path>, asset: &str) -> CommandResult {
    let query = AssetQuery::parse(asset).map_err(Failure::Usage)?;
    let (project, snapshot) = open(out, explicit)?;
    let view = GetView::of(&snapshot, &query)?;
    if out.json {
        out.json(&view);
    } else {
        let id = view.asset.asset_id;
        let drifts: Vec<_> = snapshot
            .drifts()
            .iter()
            .filter(|d| d.asset_id() == Some(id))
            .collect();
        let diagnostics = snapshot.diagnostics();
        let mine: Vec<_> = diagnostics
            .iter()
            .filter(|d| d.asset_id == Some(id))
            .collect();
        out.stdout(render::show(&view.asset, &drifts, &mine, &project).trim_end());
    }
    Ok(Outcome::Success)
}

pub fn status(out: &Output<'_>, explicit: Option<&Path>) -> CommandResult {
    let (_, snapshot) = open(out, explicit)?;
    let view = StatusView::of(&snapshot);
    if out.json {
        out.json(&view);
    } else {
        out.stdout(render::status_report(&view).trim_end());
    }
    Ok(if view.state == ProjectState::Failed {
        Outcome::FoundErrors
    } else {
        Outcome::Success
    })
}

pub fn doctor(out: &Output<'_>, explicit: Option<&Path>) -> CommandResult {
    let (project, snapshot) = open(out, explicit)?;
    let view = DoctorView::of(&snapshot);
    if out.json {
        out.json(&view);
    } else {
        out.stdout(render::doctor(&view, &project).trim_end());
    }
    Ok(if view.has_errors() {
        Outcome::FoundErrors
    } else {
        Outcome::Success
    })
}
