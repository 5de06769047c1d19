//! Reading a request's `params`, for every frontend that takes them as JSON (the stdio
//! protocol, Studio's API), so that they refuse alike: key by key, each value through
//! serde or a reader of the domain's own types, so that every error is `invalid_params`
//! naming the param at fault (`detail.param`, with its place in a batch:
//! `commands[2].params.asset`). Keys nobody read are refused: a misspelt optional param
//! must not be silently ignored.

use crate::error::{AppError, ErrorCode};
use packer_domain::declaration::AssetKind;
use packer_domain::path::AssetPath;
use packer_domain::snapshot::AssetQuery;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A value reader: the value, or what is wrong with it in words.
pub type Read<T> = fn(&Value) -> Result<T, String>;

/// The params of one request, or of one item of a batch.
#[derive(Debug)]
pub struct Params {
    map: Map<String, Value>,
    /// Where these params sit in the request (`""`, `commands[2].params.`), put before
    /// every key an error names.
    at: String,
}

/// A JSON text as a request's value, read by the strict reader: a key given twice, which
/// `serde_json` would settle by taking the last, is refused (a request that says two
/// things is not one to act on), as is a number no JSON value can hold. On error, the
/// message and the byte offset where reading stopped.
pub fn read_json(text: &[u8]) -> Result<Value, packer_domain::json::JsonError> {
    exact_value(&packer_domain::json::parse(text)?)
}

/// As [`read_json`], from the tree the strict reader made of the text.
pub fn exact_value(
    parsed: &packer_domain::json::JsonValue<'_>,
) -> Result<Value, packer_domain::json::JsonError> {
    parsed.to_serde_exact().map_err(|offset| {
        packer_domain::json::JsonError::at(offset, "the number is too large".to_owned())
    })
}

/// An `invalid_params` error about `param`.
pub fn invalid(param: &str, message: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::InvalidParams, message)
        .with_detail(serde_json::json!({ "param": param }))
}

/// An `invalid_params` error from the runtime names no param; the method knows which.
pub fn name_param(error: AppError, param: &str) -> AppError {
    if error.code == ErrorCode::InvalidParams && error.detail_is_empty() {
        error.with_detail(serde_json::json!({ "param": param }))
    } else {
        error
    }
}

impl Params {
    /// The params object found at `at` (named `name` in errors); absent and `null` are
    /// the same as `{}`.
    pub fn new(value: Option<Value>, name: &str, at: &str) -> Result<Params, AppError> {
        match value {
            None | Some(Value::Null) => Ok(Params {
                map: Map::new(),
                at: at.to_owned(),
            }),
            Some(Value::Object(map)) => Ok(Params {
                map,
                at: at.to_owned(),
            }),
            Some(other) => Err(invalid(
                name,
                format!("`{name}` must be an object, not {}", type_name(&other)),
            )),
        }
    }

    /// The full name of `key`, as errors give it.
    pub fn name(&self, key: &str) -> String {
        format!("{}{key}", self.at)
    }

    /// Whether `key` is given (and not `null`).
    pub fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|value| !value.is_null())
    }

    /// The value of `key` as it is, if present and not `null`.
    pub fn raw(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key).filter(|value| !value.is_null())
    }

    /// `key` read by `read`; `None` when absent or `null`.
    pub fn optional<T>(&mut self, key: &str, read: Read<T>) -> Result<Option<T>, AppError> {
        let Some(value) = self.raw(key) else {
            return Ok(None);
        };
        read(&value).map(Some).map_err(|message| {
            let name = self.name(key);
            invalid(&name, format!("`{name}`: {message}"))
        })
    }

    /// `key` read by `read`; absent or `null` is an error.
    pub fn required<T>(&mut self, key: &str, read: Read<T>) -> Result<T, AppError> {
        self.optional(key, read)?.ok_or_else(|| {
            let name = self.name(key);
            invalid(&name, format!("`{name}` is required"))
        })
    }

    /// Refuses `key` with a reason of its own (a key that is known but not accepted).
    pub fn refuse(&self, key: &str, reason: &str) -> Result<(), AppError> {
        if self.map.contains_key(key) {
            let name = self.name(key);
            return Err(invalid(&name, format!("`{name}` {reason}")));
        }
        Ok(())
    }

    /// Ends the reading: a key nobody asked for is an error.
    pub fn finish(self) -> Result<(), AppError> {
        match self.map.keys().next() {
            Some(key) => {
                let name = self.name(key);
                Err(invalid(&name, format!("unknown param `{name}`")))
            }
            None => Ok(()),
        }
    }
}

/// Any type serde reads from JSON (numbers, booleans, strings, lists of them).
pub fn typed<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    T::deserialize(value).map_err(|e| e.to_string())
}

/// An `asset` param: a number is an `asset_id`; a string an `asset_uuid` or a root.
pub fn asset(value: &Value) -> Result<AssetQuery, String> {
    crate::views::asset_query(value)
}

/// An asset root, relative to `assets/`.
pub fn root(value: &Value) -> Result<AssetPath, String> {
    let text: String = typed(value)?;
    AssetPath::new(&text).map_err(|e| format!("`{text}` is not a valid asset root: {e}"))
}

/// A list of input paths, relative to the asset root.
pub fn inputs(value: &Value) -> Result<Vec<AssetPath>, String> {
    let texts: Vec<String> = typed(value)?;
    texts
        .iter()
        .enumerate()
        .map(|(index, text)| {
            AssetPath::new(text)
                .map_err(|e| format!("item {index}, `{text}`, is not a valid input path: {e}"))
        })
        .collect()
}

/// An asset kind by name.
pub fn kind(value: &Value) -> Result<AssetKind, String> {
    let text: String = typed(value)?;
    AssetKind::parse(&text).ok_or_else(|| {
        let names: Vec<&str> = AssetKind::ALL.iter().map(|k| k.as_str()).collect();
        format!(
            "`{text}` is not an asset kind; use one of: {}",
            names.join(", ")
        )
    })
}

/// How a JSON value's type is named in messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
