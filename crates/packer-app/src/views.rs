//! The JSON shapes that every frontend shows: the stdio protocol's results and the CLI's
//! `--json` output are the same values. Built from a snapshot, never from the disk.

use packer_domain::command::Command;
use packer_domain::diagnostics::{Code, Diagnostic, Severity};
use packer_domain::drift::Drift;
use packer_domain::event::CommandId;
use packer_domain::path::AssetPath;
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{
    AssetQuery, AssetRecord, AssetStatus, DeclarationState, ProjectState, Snapshot,
};
use uuid::Uuid;

use crate::error::{AppError, ErrorCode};
use crate::runtime::{Runtime, View, WriteOutcome, WriteRequest};

/// One registered asset.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AssetView {
    pub asset_id: AssetId,
    pub asset_uuid: Uuid,
    pub root: AssetPath,
    /// `None` (JSON `null`) when the declaration cannot be read.
    pub name: Option<String>,
    pub kind: Option<String>,
    pub inputs: Option<Vec<AssetPath>>,
    pub output: Option<serde_json::Value>,
    pub included_in_build: bool,
    pub status: AssetStatus,
}

impl AssetView {
    pub fn of(record: &AssetRecord) -> AssetView {
        // An asset that left its root is not described by what moved in there.
        let declaration = record
            .own_declaration()
            .and_then(DeclarationState::declaration);
        AssetView {
            asset_id: record.entry.asset_id,
            asset_uuid: record.entry.asset_uuid,
            root: record.entry.root.clone(),
            name: declaration.map(|d| d.name.clone()),
            kind: declaration.map(|d| d.kind.as_str().to_owned()),
            inputs: declaration.map(|d| d.inputs.clone()),
            output: declaration.map(|d| d.output.to_json()),
            included_in_build: record.entry.included_in_build,
            status: record.status,
        }
    }
}

/// `status` and `check_divergence`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StatusView {
    pub generation: u64,
    pub state: ProjectState,
    pub drifts: Vec<Drift>,
    /// Why the project is `failed` beyond its drifts (an interrupted commit, say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Present while the observer cannot watch the whole workspace: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degraded: Option<String>,
}

impl StatusView {
    pub fn of(snapshot: &Snapshot) -> StatusView {
        StatusView {
            generation: snapshot.generation(),
            state: snapshot.state(),
            drifts: snapshot.drifts().to_vec(),
            condition: None,
            degraded: None,
        }
    }

    /// The status a runtime's view gives: its state, every drift it knows of, and what
    /// the observer says of itself.
    pub fn of_view(view: &View) -> StatusView {
        StatusView {
            generation: view.snapshot.generation(),
            state: view.state,
            drifts: view.drifts(),
            // A workspace that could not be scanned is a reason of its own: without it
            // a `failed` state with no drift would not say why.
            condition: view.condition.clone().or_else(|| {
                let error = view.snapshot.scan_error()?;
                Some(error.message.clone())
            }),
            degraded: view.degraded.clone(),
        }
    }
}

/// `list_assets`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ListView {
    pub generation: u64,
    pub state: ProjectState,
    pub assets: Vec<AssetView>,
}

impl ListView {
    /// The list a runtime's view gives, in the view's state; `failed_state` when no
    /// generation holds a registry (see [`require_registry`]).
    pub fn of_view(view: &View) -> Result<ListView, AppError> {
        require_registry(&view.snapshot)?;
        let mut list = ListView::of(&view.snapshot);
        list.state = view.state;
        Ok(list)
    }

    pub fn of(snapshot: &Snapshot) -> ListView {
        ListView {
            generation: snapshot.generation(),
            state: snapshot.state(),
            assets: snapshot.assets().iter().map(AssetView::of).collect(),
        }
    }
}

/// `get_asset`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GetView {
    pub generation: u64,
    pub asset: AssetView,
}

impl GetView {
    /// The asset `query` names, or `not_found`.
    pub fn of(snapshot: &Snapshot, query: &AssetQuery) -> Result<GetView, AppError> {
        let record = find(snapshot, query)?;
        Ok(GetView {
            generation: snapshot.generation(),
            asset: AssetView::of(record),
        })
    }
}

/// `doctor`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DoctorView {
    pub generation: u64,
    pub diagnostics: Vec<Diagnostic>,
}

impl DoctorView {
    pub fn of(snapshot: &Snapshot) -> DoctorView {
        DoctorView {
            generation: snapshot.generation(),
            diagnostics: snapshot.diagnostics(),
        }
    }

    /// The diagnostics a runtime's view gives: while a failed load keeps the last good
    /// generation for reads, what made it fail comes first.
    pub fn of_view(view: &View) -> DoctorView {
        DoctorView {
            generation: view.snapshot.generation(),
            diagnostics: with_failure(view),
        }
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Why the project is `failed`, on one line: the condition a runtime met, else the first
/// error a file shows (`file:line:col: message`). `None` while it is not failed.
pub fn failure_reason(view: &View) -> Option<String> {
    if view.state != ProjectState::Failed {
        return None;
    }
    with_failure(view)
        .into_iter()
        .find(|d| d.severity == Severity::Error)
        .map(|d| d.one_line())
}

/// The view's diagnostics, led by why the project is `failed` when no error among them
/// says so (an interrupted commit, a refused recovery: nothing a file position shows).
fn with_failure(view: &View) -> Vec<Diagnostic> {
    let mut all = view.diagnostics();
    let explained = view
        .pending_diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error);
    if let (Some(condition), false) = (&view.condition, explained) {
        all.insert(
            0,
            Diagnostic {
                code: Code::ProjectFailed,
                severity: Severity::Error,
                file: None,
                line: None,
                column: None,
                message: format!("the project is failed: {condition}"),
                hint: Some(
                    "reads show the last good generation and writes are refused until this is resolved: the next write finishes an interrupted commit once its cause is gone; a refused one needs you to keep the version you want of each file named and remove the transaction's folder under assets/.prometeu/tx/".to_owned(),
                ),
                excerpt: None,
                asset_id: None,
            },
        );
    }
    all
}

/// A write result: the generation the commit published, the command's id, and the asset
/// the command concerned as that generation holds it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WriteView {
    pub generation: u64,
    pub command_id: CommandId,
    /// Absent for commands that leave no single asset to show (remove, batch,
    /// reconcile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset: Option<AssetView>,
}

impl WriteView {
    /// Submits `command` to `runtime`'s writer lane, as every frontend does, and gives
    /// its result.
    pub fn submit(
        runtime: &Runtime,
        command: Command,
        expected_generation: Option<u64>,
    ) -> Result<WriteView, AppError> {
        // Taken before the command goes: a batch of thousands is not copied for it.
        let concerned = Concerned::by(&command);
        let outcome = runtime.submit(WriteRequest {
            command,
            expected_generation,
        })?;
        Ok(WriteView::with(&outcome, concerned))
    }

    /// The result of an applied reconcile: several assets may have changed, so it
    /// names none.
    pub fn of_reconcile(outcome: &WriteOutcome) -> WriteView {
        WriteView::with(outcome, Concerned::None)
    }

    /// The result of `command`, which committed as `outcome` (or found nothing to
    /// change).
    pub fn of(command: &Command, outcome: &WriteOutcome) -> WriteView {
        WriteView::with(outcome, Concerned::by(command))
    }

    fn with(outcome: &WriteOutcome, concerned: Concerned) -> WriteView {
        let id = match concerned {
            Concerned::Created => outcome.asset,
            // A command that changed nothing still names its asset (found as the
            // unchanged generation holds it).
            Concerned::Query(asset) => outcome.changed.first().copied().or_else(|| {
                outcome
                    .snapshot
                    .find(&asset)
                    .map(|record| record.entry.asset_id)
            }),
            Concerned::None => None,
        };
        WriteView {
            generation: outcome.generation,
            command_id: outcome.command_id,
            asset: id
                .and_then(|id| outcome.snapshot.asset(id))
                .map(AssetView::of),
        }
    }
}

/// Which asset a write result shows.
enum Concerned {
    /// The one the command registered.
    Created,
    /// The one the command names.
    Query(AssetQuery),
    /// None: a removal, a batch or a reconcile leave no single asset to show.
    None,
}

impl Concerned {
    fn by(command: &Command) -> Concerned {
        match command {
            Command::CreateAsset(_) | Command::AdoptAsset { .. } => Concerned::Created,
            Command::MoveAsset { asset, .. }
            | Command::SetIncluded { asset, .. }
            | Command::UpdateDeclaration { asset, .. } => Concerned::Query(asset.clone()),
            Command::RemoveAsset { .. } | Command::Batch(_) | Command::Reconcile(_) => {
                Concerned::None
            }
        }
    }
}

/// Refuses, with `failed_state`, a read that needs the registry (a list, a plan) when
/// `snapshot` holds none, or holds no asset because the workspace could not be scanned:
/// an empty answer would say the project has no assets, or nothing to reconcile. The
/// message names the registry's first error, or why the scan failed.
pub fn require_registry(snapshot: &Snapshot) -> Result<(), AppError> {
    if snapshot.registry().is_some() {
        let Some(error) = snapshot.scan_error() else {
            return Ok(());
        };
        // The message names the folder that could not be listed.
        return Err(AppError::new(
            ErrorCode::FailedState,
            format!("the project is failed: {} (see `doctor`)", error.message),
        ));
    }
    let first = snapshot.diagnostics().into_iter().next();
    let reason = first.map_or_else(String::new, |d| format!(": {}", d.one_line()));
    Err(AppError::new(
        ErrorCode::FailedState,
        format!("the project is failed: the registry cannot be read{reason} (see `doctor`)"),
    ))
}

/// An `asset` parameter as every frontend reads it (SPEC §5): a number is an
/// `asset_id`; a string an `asset_uuid` or a root, never an id (a root may be called
/// `7`). The error says what was wrong, for the frontend to name the parameter.
pub fn asset_query(value: &serde_json::Value) -> Result<AssetQuery, String> {
    use serde_json::Value;
    match value {
        Value::Number(number) => number
            .as_u64()
            .map(|id| AssetQuery::Id(AssetId(id)))
            .ok_or_else(|| format!("{number} is not an asset id (a whole number from 1)")),
        Value::String(text) => match Uuid::try_parse(text) {
            Ok(uuid) => Ok(AssetQuery::Uuid(uuid)),
            Err(_) => AssetPath::new(text)
                .map(AssetQuery::Root)
                .map_err(|e| format!("`{text}` is neither an asset uuid nor a valid root: {e}")),
        },
        other => Err(format!(
            "expected an asset id (a number) or an asset uuid or root (a string), not {}",
            match other {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Array(_) => "an array",
                _ => "an object",
            }
        )),
    }
}

/// The registered asset `query` names, or a `not_found` error saying how it was named.
pub fn find<'s>(snapshot: &'s Snapshot, query: &AssetQuery) -> Result<&'s AssetRecord, AppError> {
    if snapshot.state() == ProjectState::Failed && snapshot.registry().is_none() {
        return Err(AppError::new(
            ErrorCode::FailedState,
            "the registry cannot be read; run `prometeu-packer doctor` for details",
        ));
    }
    snapshot.find(query).ok_or_else(|| {
        let named = match query {
            AssetQuery::Id(id) => format!("asset id {id}"),
            AssetQuery::Uuid(uuid) => format!("asset uuid {uuid}"),
            AssetQuery::Root(root) => format!("asset root `{root}`"),
        };
        AppError::new(
            ErrorCode::NotFound,
            format!("no registered asset has {named}"),
        )
    })
}
