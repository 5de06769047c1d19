//! The protocol's methods: each reads its params, asks the runtime, and gives the result
//! in the shape every frontend shows (`packer_app::views`). Reads are answered from the
//! current view; writes go through the runtime's writer lane, never around it.

use std::path::Path;
use std::sync::Arc;

use packer_app::build::BuildRequest;
use packer_app::error::{AppError, ErrorCode};
use packer_app::runtime::Runtime;
use packer_app::views::{self, DoctorView, GetView, ListView, StatusView, WriteView};
use packer_domain::command::{Command, CreateAsset, DeclarationChanges};
use packer_domain::declaration::{AssetKind, OutputOptions};
use packer_domain::snapshot::{AssetQuery, DeclarationState};
use serde::Serialize;
use serde_json::Value;

use crate::commands::{Failure, build};
use crate::serve::Served;
use packer_app::params::{self, Params, invalid, name_param, typed};

/// The methods that write, as a batch item may name them.
const WRITE_METHODS: [&str; 6] = [
    "create_asset",
    "adopt_asset",
    "move_asset",
    "remove_asset",
    "set_included",
    "update_declaration",
];

/// Whether `method` is one of the protocol's methods.
pub fn is_known(method: &str) -> bool {
    WRITE_METHODS.contains(&method)
        || matches!(
            method,
            "status"
                | "list_assets"
                | "get_asset"
                | "batch"
                | "doctor"
                | "check_divergence"
                | "reconcile_plan"
                | "reconcile_apply"
                | "build"
                | "shutdown"
        )
}

/// Answers one request for `method` (known, and not `shutdown`).
pub fn call(served: &Served<'_>, method: &str, mut params: Params) -> Result<Json, AppError> {
    let (runtime, project) = (served.runtime, served.project);
    match method {
        "status" => {
            params.finish()?;
            result(StatusView::of_view(&runtime.view()))
        }
        "list_assets" => {
            params.finish()?;
            result(ListView::of_view(&runtime.view())?)
        }
        "get_asset" => {
            let asset = params.required("asset", params::asset)?;
            params.finish()?;
            result(GetView::of(&runtime.snapshot(), &asset)?)
        }
        "doctor" => {
            params.finish()?;
            result(DoctorView::of_view(&runtime.view()))
        }
        "check_divergence" => {
            params.finish()?;
            result(StatusView::of_view(&runtime.check_divergence()))
        }
        "reconcile_plan" => {
            params.finish()?;
            // Without a registry there is no plan, not an empty one (as `reconcile`).
            views::require_registry(&runtime.snapshot())?;
            result(runtime.reconcile_plan())
        }
        "reconcile_apply" => {
            let plan_id = params.required("plan_id", typed)?;
            let action_ids: Vec<u32> = params.required("action_ids", typed)?;
            params.finish()?;
            let outcome = runtime
                .reconcile_apply(plan_id, &action_ids)
                .map_err(|error| name_param(error, "action_ids"))?;
            result(WriteView::of_reconcile(&outcome))
        }
        "build" => {
            let out: Option<String> = params.optional("out", typed)?;
            params.finish()?;
            // `out` is relative to the project root, as `build/` is by default.
            let output =
                build::output_folder(project, &project.root, out.as_deref().map(Path::new))
                    .map_err(|failure| match failure {
                        Failure::Usage(message) => invalid("out", message),
                        Failure::App(error) => error,
                        Failure::Other(error) => AppError::new(ErrorCode::Io, format!("{error:#}")),
                    })?;
            // Progress goes out as `build_progress` events. A stop signal stops it.
            let request = BuildRequest {
                stop: Some(Arc::clone(&served.stopping)),
                ..BuildRequest::new(Arc::new(output))
            };
            result(runtime.build(&request, &|_| {})?)
        }
        "batch" => {
            let expected_generation = params.optional("expected_generation", typed)?;
            let commands = batch_commands(runtime, &mut params)?;
            params.finish()?;
            write(runtime, Command::Batch(commands), expected_generation)
        }
        _ => {
            let expected_generation = params.optional("expected_generation", typed)?;
            let command = write_command(runtime, method, &mut params)?;
            params.finish()?;
            write(runtime, command, expected_generation)
        }
    }
}

/// The `{generation}` a `shutdown` answers with.
pub fn shutdown(runtime: &Runtime, params: Params) -> Result<Json, AppError> {
    params.finish()?;
    result(serde_json::json!({ "generation": runtime.snapshot().generation() }))
}

fn write(
    runtime: &Runtime,
    command: Command,
    expected_generation: Option<u64>,
) -> Result<Json, AppError> {
    result(WriteView::submit(runtime, command, expected_generation)?)
}

/// The command of a write method, from its params (a whole request's, or a batch
/// item's).
fn write_command(runtime: &Runtime, method: &str, p: &mut Params) -> Result<Command, AppError> {
    Ok(match method {
        "create_asset" => {
            let root = p.required("root", params::root)?;
            let kind = p.required("kind", params::kind)?;
            let inputs = p.required("inputs", params::inputs)?;
            let name = p.optional("name", typed)?;
            let output = output(p, kind)?;
            let included_in_build = p.optional("included_in_build", typed)?.unwrap_or(true);
            Command::CreateAsset(CreateAsset {
                root,
                kind,
                inputs,
                name,
                output,
                included_in_build,
            })
        }
        "adopt_asset" => Command::AdoptAsset {
            root: p.required("root", params::root)?,
        },
        "move_asset" => Command::MoveAsset {
            asset: p.required("asset", params::asset)?,
            to: p.required("to", params::root)?,
        },
        "remove_asset" => Command::RemoveAsset {
            asset: p.required("asset", params::asset)?,
        },
        "set_included" => Command::SetIncluded {
            asset: p.required("asset", params::asset)?,
            included: p.required("included", typed)?,
        },
        "update_declaration" => {
            let asset = p.required("asset", params::asset)?;
            let name = p.name("declaration");
            let Some(raw) = p.raw("declaration") else {
                return Err(invalid(&name, format!("`{name}` is required")));
            };
            let mut fields = Params::new(Some(raw), &name, &format!("{name}."))?;
            let changes = declaration_changes(runtime, &asset, &mut fields)?;
            fields.finish()?;
            Command::UpdateDeclaration { asset, changes }
        }
        other => {
            return Err(AppError::new(
                ErrorCode::UnknownMethod,
                format!("`{other}` is not a write method"),
            ));
        }
    })
}

/// The fields `update_declaration` may change. The uuid and schema version are the
/// file's identity and format, not things a client edits.
fn declaration_changes(
    runtime: &Runtime,
    asset: &AssetQuery,
    p: &mut Params,
) -> Result<DeclarationChanges, AppError> {
    for key in ["asset_uuid", "schema_version"] {
        p.refuse(key, "cannot be changed with update_declaration")?;
    }
    let name = p.optional("name", typed)?;
    let kind = p.optional("kind", params::kind)?;
    let inputs = p.optional("inputs", params::inputs)?;
    // Options are read for the kind the asset will have: the new one, or the one it
    // has now. The lane checks the pair again against the generation it writes on.
    let output = match kind {
        Some(kind) => output(p, kind)?,
        None if p.has("output") => {
            let snapshot = runtime.snapshot();
            let record = views::find(&snapshot, asset)?;
            let Some(current) = record
                .own_declaration()
                .and_then(DeclarationState::declaration)
            else {
                return Err(AppError::new(
                    ErrorCode::Invalid,
                    format!(
                        "asset {} has no valid asset.json to update; fix it by hand first (see `prometeu-packer doctor`)",
                        record.entry.asset_id
                    ),
                ));
            };
            output(p, current.kind)?
        }
        None => None,
    };
    Ok(DeclarationChanges {
        name,
        kind,
        inputs,
        output,
    })
}

/// The `output` param read for `kind`, by the rules of `asset.json`.
fn output(p: &mut Params, kind: AssetKind) -> Result<Option<OutputOptions>, AppError> {
    let name = p.name("output");
    let Some(raw) = p.raw("output") else {
        return Ok(None);
    };
    OutputOptions::parse(kind, raw.to_string().as_bytes())
        .map(Some)
        .map_err(|message| invalid(&name, format!("`{name}`: {message}")))
}

/// The `commands` of a batch: each `{"method", "params"}` of a write method.
fn batch_commands(runtime: &Runtime, p: &mut Params) -> Result<Vec<Command>, AppError> {
    let name = p.name("commands");
    let items = match p.raw("commands") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) => {
            return Err(invalid(
                &name,
                format!("`{name}` is empty: a batch needs a command"),
            ));
        }
        Some(other) => {
            return Err(invalid(
                &name,
                format!(
                    "`{name}` must be an array, not {}",
                    params::type_name(&other)
                ),
            ));
        }
        None => return Err(invalid(&name, format!("`{name}` is required"))),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let at = format!("{name}[{index}]");
            let mut fields = Params::new(Some(item), &at, &format!("{at}."))?;
            let method_name = fields.name("method");
            let method: String = fields.required("method", typed)?;
            if !WRITE_METHODS.contains(&method.as_str()) {
                return Err(invalid(
                    &method_name,
                    format!(
                        "`{method_name}`: `{method}` is not a write method; a batch holds {}",
                        WRITE_METHODS.join(", ")
                    ),
                ));
            }
            let params_name = fields.name("params");
            let mut params = Params::new(
                fields.raw("params"),
                &params_name,
                &format!("{params_name}."),
            )?;
            fields.finish()?;
            let command = write_command(runtime, &method, &mut params)?;
            params.finish()?;
            Ok(command)
        })
        .collect()
}

/// A result encoded as JSON text, its keys in the order of the shape's definition.
#[derive(Debug)]
pub struct Json(pub String);

/// The result encoded (its control characters escaped, as every JSON line's are).
fn result<T: Serialize>(value: T) -> Result<Json, AppError> {
    crate::output::json_line(&value)
        .map(Json)
        .map_err(|e| AppError::new(ErrorCode::Io, format!("cannot encode the result: {e}")))
}
