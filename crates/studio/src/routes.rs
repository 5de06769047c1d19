//! What each path answers. The page and its two files; the JSON API, one endpoint per
//! method of the stdio protocol with the same parameters and result shapes (reads are
//! `GET`, writes `POST` with a JSON body); image thumbnails; the event stream.
//!
//! Errors have the protocol's shape, `{"error": {"code", "message", "detail"}}`, with
//! an HTTP status that matches the code.

use packer_app::error::{AppError, ErrorCode};
use packer_app::params::{self, Params, typed};
use packer_domain::registry::AssetId;
use packer_domain::snapshot::AssetQuery;

use crate::http::{Request, Response};
use crate::page;
use crate::server::Shared;

/// What a request gets.
pub enum Routed {
    Response(Response),
    /// The server-sent event stream (`GET /api/events`).
    EventStream,
}

pub fn route(shared: &Shared, request: &Request) -> Routed {
    let path = request.path.as_str();
    let Some(method) = allowed_method(path) else {
        return Routed::Response(error(&AppError::new(
            ErrorCode::UnknownMethod,
            format!("nothing is served at {path}"),
        )));
    };
    if request.method != method {
        // RFC 9110 §15.5.6: a 405 says which methods the path does take.
        return Routed::Response(
            error(&AppError::new(
                ErrorCode::InvalidParams,
                format!("{} is not accepted on {path}; use {method}", request.method),
            ))
            .with_status(405)
            .with_header("Allow", method),
        );
    }
    let workspace = &shared.workspace;
    let response = match path {
        "/api/events" => return Routed::EventStream,
        "/" | "/index.html" => page::index(&shared.token),
        "/app.js" => page::script(),
        "/style.css" => page::style(),
        "/api/status" => Response::json(200, &workspace.status()),
        "/api/list_assets" => answer(workspace.list_assets().map(|v| Response::json(200, &v))),
        "/api/get_asset" => answer(get_asset(shared, request)),
        "/api/doctor" => Response::json(200, &workspace.doctor()),
        "/api/journal" => Response::json(200, &workspace.journal()),
        "/api/check_divergence" => {
            answer(no_params(request).map(|()| Response::json(200, &workspace.check_divergence())))
        }
        "/api/set_included" => answer(set_included(shared, request)),
        "/api/reconcile_plan" => {
            answer(workspace.reconcile_plan().map(|v| Response::json(200, &v)))
        }
        "/api/reconcile_apply" => answer(reconcile_apply(shared, request)),
        "/api/build" => answer(build(shared, request)),
        "/api/shutdown" => answer(no_params(request).map(|()| {
            // A second request while the first is pending finds the slot taken: the
            // host is already stopping.
            let _ = shared.stop_request.try_send(());
            Response::json(200, &serde_json::json!({ "stopping": true }))
        })),
        // `allowed_method` knows no other path.
        _ => match path.strip_prefix("/api/thumbnail/") {
            Some(id) => thumbnail(shared, id),
            None => error(&AppError::new(
                ErrorCode::UnknownMethod,
                format!("nothing is served at {path}"),
            )),
        },
    };
    Routed::Response(response)
}

/// The method each path is served with, the one table of what Studio serves: `None` for
/// a path it does not serve, and the `Allow` header of a 405 otherwise.
fn allowed_method(path: &str) -> Option<&'static str> {
    match path {
        "/"
        | "/index.html"
        | "/app.js"
        | "/style.css"
        | "/api/events"
        | "/api/status"
        | "/api/list_assets"
        | "/api/get_asset"
        | "/api/doctor"
        | "/api/journal"
        | "/api/reconcile_plan" => Some("GET"),
        "/api/check_divergence"
        | "/api/set_included"
        | "/api/reconcile_apply"
        | "/api/build"
        | "/api/shutdown" => Some("POST"),
        _ if path.starts_with("/api/thumbnail/") => Some("GET"),
        _ => None,
    }
}

fn get_asset(shared: &Shared, request: &Request) -> Result<Response, AppError> {
    let asset = request
        .query("asset")
        .ok_or_else(|| params::invalid("asset", "`asset` is required"))?;
    // A query string has no numbers: `1` is asset id 1 here, as on the command line.
    let query =
        AssetQuery::parse(asset).map_err(|e| params::invalid("asset", format!("`asset`: {e}")))?;
    let view = shared.workspace.get_asset(&query)?;
    Ok(Response::json(200, &view))
}

fn set_included(shared: &Shared, request: &Request) -> Result<Response, AppError> {
    let mut p = params(request)?;
    let asset = p.required("asset", params::asset)?;
    let included = p.required("included", typed)?;
    let expected_generation = p.optional("expected_generation", typed)?;
    p.finish()?;
    let result = shared
        .workspace
        .set_included(asset, included, expected_generation)?;
    Ok(Response::json(200, &result))
}

fn reconcile_apply(shared: &Shared, request: &Request) -> Result<Response, AppError> {
    let mut p = params(request)?;
    let plan_id = p.required("plan_id", typed)?;
    let action_ids: Vec<u32> = p.required("action_ids", typed)?;
    p.finish()?;
    let result = shared
        .workspace
        .reconcile_apply(plan_id, &action_ids)
        .map_err(|error| params::name_param(error, "action_ids"))?;
    Ok(Response::json(200, &result))
}

/// `build`: the stdio method's `out` is refused, so that no request can make Studio
/// write outside the project's `build/`.
fn build(shared: &Shared, request: &Request) -> Result<Response, AppError> {
    let p = params(request)?;
    p.refuse(
        "out",
        "is not accepted here: Studio builds into the project's build/ folder (use `prometeu-packer build --out DIR`)",
    )?;
    p.finish()?;
    Ok(Response::json(200, &shared.workspace.build()?))
}

/// A `POST` that takes no parameters: its body must still be JSON, with no key.
fn no_params(request: &Request) -> Result<(), AppError> {
    params(request)?.finish()
}

fn thumbnail(shared: &Shared, id: &str) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return error(&invalid_params(format!("`{id}` is not an asset id")));
    };
    match shared.workspace.thumbnail(AssetId(id)) {
        Ok(bytes) => Response::new(200, "image/png", bytes),
        Err(e) => error(&e),
    }
}

/// The parameters of a `POST`: its JSON body, read as `serve --stdio` reads a request's
/// `params` (an empty body is `{}`, as absent `params` are).
fn params(request: &Request) -> Result<Params, AppError> {
    let declared = request.header("content-type").unwrap_or_default();
    if !declared.starts_with("application/json") {
        // A form or text/plain post is what another site can send without asking the
        // browser first; the page always sends JSON.
        return Err(AppError::new(
            ErrorCode::InvalidParams,
            "the body must be JSON (Content-Type: application/json)",
        ));
    }
    if request.body.is_empty() {
        return Params::new(None, "params", "");
    }
    // Read as `serve --stdio` reads a request line.
    let value = packer_app::params::read_json(&request.body).map_err(|e| {
        let (line, column) = e.line_col(&request.body);
        AppError::new(
            ErrorCode::ParseError,
            format!(
                "the body is not JSON: {} at line {line} column {column}",
                e.message
            ),
        )
    })?;
    Params::new(Some(value), "params", "")
}

fn answer(result: Result<Response, AppError>) -> Response {
    result.unwrap_or_else(|e| error(&e))
}

fn invalid_params(message: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::InvalidParams, message)
}

/// The protocol's error object, with the HTTP status its code stands for.
pub fn error(error: &AppError) -> Response {
    let status = match error.code {
        ErrorCode::ParseError | ErrorCode::InvalidParams => 400,
        ErrorCode::UnknownMethod | ErrorCode::NotFound => 404,
        ErrorCode::Conflict | ErrorCode::StaleRequest => 409,
        ErrorCode::Invalid => 422,
        ErrorCode::FailedState => 503,
        ErrorCode::Io => 500,
    };
    Response::json(status, &serde_json::json!({ "error": error }))
}

impl Response {
    fn with_status(mut self, status: u16) -> Response {
        self.status = status;
        self
    }

    fn with_header(mut self, name: &'static str, value: &'static str) -> Response {
        self.headers.push((name, value));
        self
    }
}
