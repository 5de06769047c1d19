//! What a build packs, decided from the snapshot alone: every included asset in id
//! order, or the refusal that names each included asset with an error and why. An
//! excluded asset is never looked at.

use packer_domain::declaration::Declaration;
use packer_domain::diagnostics::{Diagnostic, Severity};
use packer_domain::path::{AssetPath, WsPath};
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{
    AssetRecord, AssetStatus, DeclarationState, InputState, ProjectState, Snapshot,
};
use uuid::Uuid;

use crate::error::{AppError, ErrorCode};
use crate::runtime::View;

/// One asset to pack.
#[derive(Debug, Clone)]
pub(crate) struct Planned<'s> {
    pub(crate) asset_id: AssetId,
    pub(crate) asset_uuid: Uuid,
    pub(crate) root: &'s AssetPath,
    pub(crate) declaration: &'s Declaration,
}

impl Planned<'_> {
    /// The workspace path of each input, in declaration order.
    pub(crate) fn input_paths(&self) -> impl Iterator<Item = WsPath> + '_ {
        let root = self.root.as_ws();
        self.declaration
            .inputs
            .iter()
            .map(move |input| root.join(input.as_ws()))
    }
}

/// One reason a build cannot go on, about one asset's file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Blocker {
    pub(crate) asset_id: AssetId,
    pub(crate) root: String,
    /// Relative to the project root.
    pub(crate) file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) column: Option<u32>,
    pub(crate) message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) hint: Option<String>,
}

impl Blocker {
    /// `asset 3 (sprites/hero): assets/sprites/hero/hero.png: the PNG ends early`.
    pub(crate) fn line(&self) -> String {
        let place = match (self.line, self.column) {
            (Some(line), Some(column)) => format!("{}:{line}:{column}", self.file),
            _ => self.file.clone(),
        };
        format!(
            "asset {} ({}): {place}: {}",
            self.asset_id, self.root, self.message
        )
    }
}

/// The refusal of a build blocked by `blockers`: `invalid`, every blocker in the
/// message (one per line) and in `detail.errors`.
pub(crate) fn refusal(blockers: &[Blocker]) -> AppError {
    let count = blockers.len();
    let mut message = format!(
        "the build is refused: {count} problem{} in included assets",
        if count == 1 { "" } else { "s" }
    );
    for blocker in blockers {
        message.push_str("\n  ");
        message.push_str(&blocker.line());
    }
    AppError::new(ErrorCode::Invalid, message)
        .with_detail(serde_json::json!({ "errors": blockers }))
}

/// The assets `view` packs, or why it cannot be built.
pub(crate) fn plan(view: &View) -> Result<Vec<Planned<'_>>, AppError> {
    let snapshot = &view.snapshot;
    if view.state == ProjectState::Failed {
        let why = view
            .condition
            .clone()
            .unwrap_or_else(|| failure_of(snapshot));
        return Err(AppError::new(
            ErrorCode::FailedState,
            format!("the project is failed, so nothing is built: {why}"),
        ));
    }
    let mut planned = Vec::new();
    let mut blocked: Vec<&AssetRecord> = Vec::new();
    for record in snapshot.assets() {
        if !record.entry.included_in_build {
            continue;
        }
        match usable(record) {
            Some(declaration) => planned.push(Planned {
                asset_id: record.entry.asset_id,
                asset_uuid: record.entry.asset_uuid,
                root: &record.entry.root,
                declaration,
            }),
            None => blocked.push(record),
        }
    }
    if blocked.is_empty() {
        Ok(planned)
    } else {
        Err(refusal(&blockers(snapshot, &blocked)))
    }
}

/// The declaration of an asset that can be packed: readable, valid, its identity
/// undisputed, every input a file inside its root.
fn usable(record: &AssetRecord) -> Option<&Declaration> {
    let DeclarationState::Valid(valid) = &record.declaration else {
        return None;
    };
    let inputs_ok = valid.inputs.len() == valid.declaration.inputs.len()
        && valid.inputs.iter().all(|i| *i == InputState::Present);
    (record.status == AssetStatus::Ok && inputs_ok).then_some(&valid.declaration)
}

/// The errors of the `blocked` assets, as `doctor` reports them.
fn blockers(snapshot: &Snapshot, blocked: &[&AssetRecord]) -> Vec<Blocker> {
    let diagnostics = snapshot.diagnostics();
    let mut out = Vec::new();
    for record in blocked {
        let id = record.entry.asset_id;
        let root = record.entry.root.to_string();
        let of_asset = |severity: Severity| -> Vec<&Diagnostic> {
            diagnostics
                .iter()
                .filter(|d| d.asset_id == Some(id) && d.severity == severity)
                .collect()
        };
        // Structural drift (a moved or vanished root, a copied folder) is a warning
        // for `doctor` but stops the build: then its warnings say where and what to do.
        let mut errors = of_asset(Severity::Error);
        if errors.is_empty() {
            errors = of_asset(Severity::Warning);
        }
        if errors.is_empty() {
            out.push(Blocker {
                asset_id: id,
                root: root.clone(),
                file: record.entry.root.declaration_path().display_in_project(),
                line: None,
                column: None,
                message: format!("the asset's status is {:?}", record.status).to_lowercase(),
                hint: Some("run `prometeu-packer doctor` for details".to_owned()),
            });
        }
        out.extend(errors.into_iter().map(|d| Blocker {
            asset_id: id,
            root: root.clone(),
            file: d.file.clone().unwrap_or_else(|| "assets".to_owned()),
            line: d.line,
            column: d.column,
            message: d.message.clone(),
            hint: d.hint.clone(),
        }));
    }
    out
}

/// Why a snapshot is failed, in one line: its first workspace or registry error.
fn failure_of(snapshot: &Snapshot) -> String {
    snapshot
        .diagnostics()
        .into_iter()
        .find(|d| d.severity == Severity::Error)
        .map_or_else(
            || "the snapshot cannot be trusted".to_owned(),
            |d| d.one_line(),
        )
}
