//! The read commands: `list`, `show`, `status`, `doctor`. Each answers from the
//! runtime's read-only view of the project, so a commit interrupted after its commit
//! point shows as `failed`, with its condition, exactly as a running runtime would say.
//! They write nothing, and take the lock only to wait for another process's commit
//! in flight.

use std::path::Path;

use packer_app::runtime::{View, read_only_view};
use packer_app::views::{self, DoctorView, GetView, ListView, StatusView};
use packer_domain::snapshot::{AssetQuery, ProjectState, Snapshot};
use packer_fs::DiskWorkspace;

use crate::commands::{CommandResult, Failure, Outcome, open_workspace};
use crate::output::Output;
use crate::render;

pub fn list(out: &Output<'_>, explicit: Option<&Path>) -> CommandResult {
    let (_, view) = open(out, explicit)?;
    require_registry(&view.snapshot)?;
    let mut list = ListView::of(&view.snapshot);
    list.state = view.state;
    if out.json {
        out.json(&list);
    } else {
        out.stdout(render::list(&list).trim_end());
    }
    Ok(failed_outcome(out, &view))
}

pub fn show(out: &Output<'_>, explicit: Option<&Path>, asset: &str) -> CommandResult {
    let query = AssetQuery::parse(asset).map_err(Failure::Usage)?;
    let (port, view) = open(out, explicit)?;
    require_registry(&view.snapshot)?;
    let snapshot = &view.snapshot;
    let get = GetView::of(snapshot, &query)?;
    if out.json {
        out.json(&get);
    } else {
        let id = get.asset.asset_id;
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
        out.stdout(
            render::show(&get.asset, &drifts, &mine, &render::Sources::new(&port)).trim_end(),
        );
    }
    Ok(failed_outcome(out, &view))
}

pub fn status(out: &Output<'_>, explicit: Option<&Path>) -> CommandResult {
    let (_, view) = open(out, explicit)?;
    let status = StatusView::of_view(&view);
    if out.json {
        out.json(&status);
        if let Some(condition) = &status.condition {
            out.error(&format!("error: the project is failed: {condition}"));
        }
    } else {
        out.stdout(render::status_report(&status, status.condition.as_deref()).trim_end());
    }
    Ok(if status.state == ProjectState::Failed {
        Outcome::FoundErrors
    } else {
        Outcome::Success
    })
}

pub fn doctor(out: &Output<'_>, explicit: Option<&Path>) -> CommandResult {
    let (port, view) = open(out, explicit)?;
    let doctor = DoctorView::of_view(&view);
    if out.json {
        out.json(&doctor);
        if let Some(condition) = &view.condition {
            out.error(&format!("error: the project is failed: {condition}"));
        }
    } else {
        out.stdout(render::doctor(&doctor, &render::Sources::new(&port)).trim_end());
    }
    Ok(if doctor.has_errors() || view.condition.is_some() {
        Outcome::FoundErrors
    } else {
        Outcome::Success
    })
}

/// Locates the project and takes the read-only view of it; the port stays open for
/// the excerpts of diagnostics.
fn open(out: &Output<'_>, explicit: Option<&Path>) -> Result<(DiskWorkspace, View), Failure> {
    let (_, port) = open_workspace(out, explicit)?;
    let view = read_only_view(&port);
    Ok((port, view))
}

/// A `failed` project is still shown as far as it can be; the command then says why on
/// stderr and exits 1.
pub(crate) fn failed_outcome(out: &Output<'_>, view: &View) -> Outcome {
    if view.state != ProjectState::Failed {
        return Outcome::Success;
    }
    let reason = view.condition.clone().unwrap_or_else(|| {
        "no trustworthy snapshot can be built (see `prometeu-packer doctor`)".to_owned()
    });
    out.error(&format!("error: the project is failed: {reason}"));
    Outcome::FoundErrors
}

/// Reads of the registered assets (and the reconcile plan) need a registry; say so
/// plainly, and where it cannot be read, when there is none.
pub(crate) fn require_registry(snapshot: &Snapshot) -> Result<(), Failure> {
    views::require_registry(snapshot).map_err(Failure::App)
}
