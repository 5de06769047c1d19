//! The one error type at the application edge: a kind every frontend maps the same way
//! (CLI exit codes, protocol error codes), a message for people and structured detail.

use std::fmt;

use packer_domain::ports::PortError;

/// The error codes of the protocol and of `--json` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    ParseError,
    UnknownMethod,
    InvalidParams,
    NotFound,
    Conflict,
    Invalid,
    StaleRequest,
    FailedState,
    Io,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ParseError => "parse_error",
            ErrorCode::UnknownMethod => "unknown_method",
            ErrorCode::InvalidParams => "invalid_params",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Invalid => "invalid",
            ErrorCode::StaleRequest => "stale_request",
            ErrorCode::FailedState => "failed_state",
            ErrorCode::Io => "io",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed request, as every frontend reports it.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize)]
#[error("{message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// Structured facts about the failure (the path concerned, the diagnostics found):
    /// always an object, empty when the message says everything, so a client can look a
    /// key up without checking the shape first.
    pub detail: serde_json::Value,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> AppError {
        AppError {
            code,
            message: message.into(),
            detail: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// Whether the error carries no structured facts beyond its code and message.
    pub fn detail_is_empty(&self) -> bool {
        self.detail
            .as_object()
            .is_some_and(serde_json::Map::is_empty)
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> AppError {
        self.detail = detail;
        self
    }
}

impl From<PortError> for AppError {
    fn from(error: PortError) -> AppError {
        AppError::new(ErrorCode::Io, error.to_string()).with_detail(serde_json::json!({
            "path": error.path.display_in_project(),
            "operation": error.op,
            "kind": error.kind,
        }))
    }
}
