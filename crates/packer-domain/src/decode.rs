//! Strict decoding of the spanned JSON tree into typed values: every unknown key, wrong
//! type or bad value becomes a [`FormatError`] at the offset of the offending token.

use std::fmt;

use uuid::Uuid;

use crate::diagnostics::{Code, FormatError, FormatErrors};
use crate::json::{JsonKind, JsonMember, JsonValue};
use crate::path::{AssetPath, PathError};

/// Reads the members of one object, tracking which keys were used.
pub(crate) struct ObjectReader<'a> {
    offset: usize,
    what: &'a dyn fmt::Display,
    members: &'a [JsonMember<'a>],
}

impl<'a> ObjectReader<'a> {
    /// `what` names the object in messages ("the registry", "asset entry 3"); it is
    /// only rendered when there is something to say.
    pub(crate) fn new(
        value: &'a JsonValue<'a>,
        what: &'a dyn fmt::Display,
    ) -> Result<Self, FormatError> {
        match &value.kind {
            JsonKind::Object(members) => Ok(ObjectReader {
                offset: value.offset,
                what,
                members,
            }),
            other => Err(wrong_type(value, "an object", other, &what.to_string())),
        }
    }

    /// Errors for every key not in `known`, in document order.
    pub(crate) fn unknown_keys(&self, known: &[&str], errors: &mut FormatErrors) {
        for member in self.members {
            if !known.contains(&member.key.as_ref()) {
                errors.push(
                    FormatError::new(
                        Code::UnknownKey,
                        member.key_offset,
                        format!("unknown key `{}` in {}", member.key, self.what),
                    )
                    .hint(format!("the keys allowed here are: {}", known.join(", "))),
                );
            }
        }
    }

    pub(crate) fn optional(&self, key: &str) -> Option<&'a JsonValue<'a>> {
        self.members.iter().find(|m| m.key == key).map(|m| &m.value)
    }

    pub(crate) fn required(&self, key: &str) -> Result<&'a JsonValue<'a>, FormatError> {
        self.optional(key).ok_or_else(|| {
            FormatError::new(
                Code::MissingKey,
                self.offset,
                format!("{} has no `{key}`", self.what),
            )
            .hint(format!("add the key `{key}`"))
        })
    }
}

pub(crate) fn wrong_type(
    value: &JsonValue<'_>,
    expected: &str,
    found: &JsonKind<'_>,
    what: &str,
) -> FormatError {
    FormatError::new(
        Code::WrongType,
        value.offset,
        format!("{what} must be {expected}, not {}", found.type_name()),
    )
}

pub(crate) fn string<'v>(value: &'v JsonValue<'_>, what: &str) -> Result<&'v str, FormatError> {
    match &value.kind {
        JsonKind::String(s) => Ok(s.as_ref()),
        other => Err(wrong_type(value, "a string", other, what)),
    }
}

pub(crate) fn boolean(value: &JsonValue<'_>, what: &str) -> Result<bool, FormatError> {
    match &value.kind {
        JsonKind::Bool(b) => Ok(*b),
        other => Err(wrong_type(value, "true or false", other, what)),
    }
}

pub(crate) fn array<'v>(
    value: &'v JsonValue<'v>,
    what: &str,
) -> Result<&'v [JsonValue<'v>], FormatError> {
    match &value.kind {
        JsonKind::Array(items) => Ok(items),
        other => Err(wrong_type(value, "an array", other, what)),
    }
}

/// A non-negative integer that fits in `u64`, written without fraction or exponent.
pub(crate) fn unsigned(value: &JsonValue<'_>, what: &str) -> Result<u64, FormatError> {
    unsigned_up_to(value, what, u64::MAX)
}

/// A whole number from 0 to `max`, written without fraction or exponent.
pub(crate) fn unsigned_up_to(
    value: &JsonValue<'_>,
    what: &str,
    max: u64,
) -> Result<u64, FormatError> {
    match &value.kind {
        JsonKind::Number(text) => text
            .parse::<u64>()
            .ok()
            .filter(|&n| n <= max)
            .ok_or_else(|| {
                FormatError::new(
                    Code::InvalidValue,
                    value.offset,
                    format!("{what} must be a whole number from 0 to {max}, not {text}"),
                )
            }),
        other => Err(wrong_type(value, "a whole number", other, what)),
    }
}

/// A UUID in its canonical lower-case hyphenated form, not nil.
pub(crate) fn uuid(value: &JsonValue<'_>, what: &str) -> Result<Uuid, FormatError> {
    let text = string(value, what)?;
    let parsed = Uuid::try_parse(text)
        .ok()
        .filter(|u| !u.is_nil() && u.hyphenated().encode_lower(&mut Uuid::encode_buffer()) == text);
    parsed.ok_or_else(|| {
        FormatError::new(
            Code::InvalidValue,
            value.offset,
            format!("{what} `{text}` is not a lower-case hyphenated UUID"),
        )
        .hint("write it like 6f1c2d0e-8a57-4b6e-9a53-0c0b6a1d2e11")
    })
}

/// A root or input path.
pub(crate) fn asset_path(value: &JsonValue<'_>, what: &str) -> Result<AssetPath, FormatError> {
    let text = string(value, what)?;
    AssetPath::new(text).map_err(|e| path_error(value.offset, what, text, &e))
}

pub(crate) fn path_error(offset: usize, what: &str, text: &str, e: &PathError) -> FormatError {
    FormatError::new(
        Code::InvalidPath,
        offset,
        format!("{what} `{}` is not allowed: {e}", text.escape_debug()),
    )
    .hint("paths are relative, `/`-separated, without `.`, `..` or empty segments, and not under `.prometeu`")
}

/// Checks `schema_version` against the newest version this packer understands.
pub(crate) fn schema_version(
    object: &ObjectReader<'_>,
    supported: u64,
    what: &str,
) -> Result<(), FormatError> {
    let value = object.required("schema_version")?;
    let version = unsigned(value, "`schema_version`")?;
    if version > supported {
        return Err(FormatError::new(
            Code::SchemaTooNew,
            value.offset,
            format!(
                "{what} has schema_version {version}; this packer understands up to {supported}"
            ),
        )
        .hint("upgrade prometeu-packer to read this project"));
    }
    if version == 0 {
        return Err(FormatError::new(
            Code::InvalidValue,
            value.offset,
            "`schema_version` starts at 1",
        ));
    }
    Ok(())
}

/// Keeps the value, or records the error and gives `None`.
pub(crate) fn take<T>(errors: &mut FormatErrors, result: Result<T, FormatError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            errors.push(error);
            None
        }
    }
}
