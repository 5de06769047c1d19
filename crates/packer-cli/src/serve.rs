//! `serve --stdio`: the stdio protocol (docs/protocol.md). The runtime runs for one
//! project with its observer; requests are read from stdin one JSON line at a time and
//! answered in order on stdout, while the runtime's events (the observer's refreshes
//! among them) are written between them, unprompted, through the same line writer. A
//! bad line gets an error response and the server goes on; it stops on `shutdown`, at
//! the end of stdin, or on SIGINT or SIGTERM between two requests (a build under way
//! stops at its next asset and is answered first), joining every thread it started,
//! and exits 0.

mod methods;
mod stop;

use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::anyhow;
use packer_app::error::{AppError, ErrorCode};
use packer_app::observer::ObserverConfig;
use packer_app::runtime::{Ports, Runtime};
use packer_fs::{DiskWatcher, SystemClock};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::commands::{CommandResult, Failure, Outcome, open_workspace};
use crate::lines::{self, EventLines, Line, LineSink, MAX_LINE_BYTES};
use crate::output::Output;
use crate::project::ProjectDir;
use crate::serve::methods::Json;
use crate::serve::stop::StoppableStdin;
use packer_app::params::{self, Params};

/// Serves the project on the process's stdin and stdout until `shutdown` or the end of
/// stdin. Stdout carries nothing but protocol lines; a failure to start is said on
/// stderr.
pub fn serve(out: &Output<'_>, explicit: Option<&Path>) -> CommandResult {
    let (project, port) = open_workspace(out, explicit)?;
    // Taken before the runtime starts, so that a signal while the project opens still
    // ends the server cleanly.
    let input = StoppableStdin::new()
        .map_err(|e| Failure::Other(anyhow!("cannot listen for SIGINT and SIGTERM: {e}")))?;
    let sink = Arc::new(LineSink::new(Box::new(std::io::stdout())));
    let runtime = Runtime::open_observed(
        Ports {
            workspace: Arc::new(port),
            events: Arc::new(EventLines::json(Arc::clone(&sink))),
            clock: Arc::new(SystemClock::new()),
        },
        Arc::new(DiskWatcher::new(&project.assets)),
        ObserverConfig::default(),
    );
    let served = Served {
        runtime: &runtime,
        project: &project,
        stopping: input.stopping(),
    };
    let mut input = BufReader::new(input);
    let ended = serve_lines(&served, &sink, &mut input);
    runtime.shutdown();
    if let Some(signal) = input.get_ref().signal() {
        out.note(&format!("stopped on {signal}"));
        return Ok(Outcome::Success);
    }
    match ended {
        Ok(()) => Ok(Outcome::Success),
        Err(e) => Err(Failure::Other(anyhow!("cannot read stdin: {e}"))),
    }
}

/// Answers every request of `input` until `shutdown` or its end. Also stops when the
/// output is gone: nobody would read the answers.
fn serve_lines(
    served: &Served<'_>,
    sink: &LineSink,
    input: &mut dyn std::io::BufRead,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    while !sink.is_closed() {
        match lines::next_line(input, MAX_LINE_BYTES, &mut buffer)? {
            Line::Eof => break,
            Line::TooLong(length) => sink.json(&failure(
                None,
                AppError::new(
                    ErrorCode::ParseError,
                    format!(
                        "the line has {length} bytes; a request may have at most {MAX_LINE_BYTES}"
                    ),
                ),
            )),
            Line::Complete => {
                if answer(served, sink, &buffer) == Flow::Stop {
                    break;
                }
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

/// What the methods answer from.
pub(crate) struct Served<'a> {
    pub(crate) runtime: &'a Runtime,
    pub(crate) project: &'a ProjectDir,
    /// Set once SIGINT or SIGTERM came: a build under way stops.
    pub(crate) stopping: Arc<AtomicBool>,
}

/// Answers one line.
fn answer(served: &Served<'_>, sink: &LineSink, line: &[u8]) -> Flow {
    let runtime = served.runtime;
    // Blank lines (a keep-alive, a stray `\r\n`) carry no request and get no answer.
    if line.iter().all(u8::is_ascii_whitespace) {
        return Flow::Continue;
    }
    let request = match Request::parse(line) {
        Ok(request) => request,
        Err((id, error)) => {
            sink.json(&failure(id.as_deref(), error));
            return Flow::Continue;
        }
    };
    let id = Some(&*request.id);
    if !methods::is_known(&request.method) {
        sink.json(&failure(
            id,
            AppError::new(
                ErrorCode::UnknownMethod,
                format!("there is no method `{}`", request.method),
            )
            .with_detail(serde_json::json!({ "method": request.method })),
        ));
        return Flow::Continue;
    }
    let params = match Params::new(request.params, "params", "") {
        Ok(params) => params,
        Err(error) => {
            sink.json(&failure(id, error));
            return Flow::Continue;
        }
    };
    if request.method == "shutdown" {
        return match methods::shutdown(runtime, params) {
            Ok(result) => {
                sink.line(&success(&request.id, &result));
                Flow::Stop
            }
            Err(error) => {
                sink.json(&failure(id, error));
                Flow::Continue
            }
        };
    }
    match methods::call(served, &request.method, params) {
        Ok(result) => sink.line(&success(&request.id, &result)),
        Err(error) => sink.json(&failure(id, error)),
    }
    Flow::Continue
}

/// One request line, read.
#[derive(Debug)]
struct Request {
    /// The number as the client wrote it, answered as written: `1e2` stays `1e2`, and an
    /// id too large for any integer type loses no digit.
    id: Box<RawValue>,
    method: String,
    params: Option<Value>,
}

impl Request {
    /// Reads the request form. An error comes with the request's `id` when that much
    /// could be read, so the client can still match the answer.
    fn parse(line: &[u8]) -> Result<Request, (Option<Box<RawValue>>, AppError)> {
        let parse_error = |message: String| AppError::new(ErrorCode::ParseError, message);
        if let Err(e) = std::str::from_utf8(line) {
            return Err((
                None,
                parse_error(format!(
                    "the line is not UTF-8: invalid byte at offset {}",
                    e.valid_up_to()
                )),
            ));
        }
        let read = packer_domain::json::parse(line)
            .and_then(|tree| Ok((written_id(&tree), packer_app::params::exact_value(&tree)?)));
        let (written, value) = read.map_err(|e| {
            let (_, column) = e.line_col(line);
            (
                None,
                parse_error(format!(
                    "the line is not JSON: {} at column {column}",
                    e.message
                ))
                .with_detail(serde_json::json!({ "column": column })),
            )
        })?;
        let Value::Object(mut object) = value else {
            return Err((
                None,
                parse_error(format!(
                    "a request is a JSON object, not {}",
                    params::type_name(&value)
                )),
            ));
        };
        // `written` is there exactly when `id` is a number.
        let id = match (written, object.remove("id")) {
            (Some(id), _) => id,
            (None, Some(other)) => {
                return Err((
                    None,
                    parse_error(format!(
                        "the request's `id` must be a number, not {}",
                        params::type_name(&other)
                    )),
                ));
            }
            (None, None) => {
                return Err((None, parse_error("the request has no `id`".to_owned())));
            }
        };
        let method = match object.remove("method") {
            Some(Value::String(method)) => method,
            Some(other) => {
                return Err((
                    Some(id),
                    parse_error(format!(
                        "the request's `method` must be a string, not {}",
                        params::type_name(&other)
                    )),
                ));
            }
            None => {
                return Err((
                    Some(id),
                    parse_error("the request has no `method`".to_owned()),
                ));
            }
        };
        let params = object.remove("params");
        if let Some(key) = first_key(&object) {
            return Err((
                Some(id),
                parse_error(format!(
                    "unknown key `{key}` in the request; a request has `id`, `method` and `params`"
                )),
            ));
        }
        Ok(Request { id, method, params })
    }
}

/// The request's `id` as written, when the line is an object whose `id` is a number.
fn written_id(tree: &packer_domain::json::JsonValue<'_>) -> Option<Box<RawValue>> {
    use packer_domain::json::JsonKind;
    let JsonKind::Object(members) = &tree.kind else {
        return None;
    };
    // The reader refuses a key given twice: there is one `id` at most.
    match members.iter().find(|m| m.key == "id")?.value.kind {
        JsonKind::Number(text) => RawValue::from_string(text.to_owned()).ok(),
        _ => None,
    }
}

fn first_key(object: &Map<String, Value>) -> Option<&str> {
    object.keys().next().map(String::as_str)
}

/// A success line, `{"id", "result"}`, around a result already encoded.
fn success(id: &RawValue, result: &Json) -> String {
    // The result was escaped when it was encoded, and a number has nothing to escape.
    format!("{{\"id\":{},\"result\":{}}}", id.get(), result.0)
}

/// An error line, `{"id", "error"}`.
#[derive(Debug, serde::Serialize)]
struct ErrorLine<'a> {
    /// `null` when the request's id could not be read.
    id: Option<&'a RawValue>,
    error: AppError,
}

fn failure(id: Option<&RawValue>, error: AppError) -> ErrorLine<'_> {
    ErrorLine { id, error }
}
