//! Diagnostics: what `doctor` reports and what every format error becomes. Codes are
//! stable identifiers that tools may match on; messages and hints are for people.

use std::fmt;

use crate::json::JsonError;
use crate::location::{Excerpt, LineIndex, Located};
use crate::registry::AssetId;

/// A stable diagnostic code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// The file is not well-formed JSON (syntax, encoding, nesting).
    JsonSyntax,
    /// The file could not be read at all.
    ReadFailed,
    /// The file is larger than the packer reads.
    FileTooLarge,
    UnknownKey,
    MissingKey,
    WrongType,
    /// `schema_version` is newer than this packer understands.
    SchemaTooNew,
    /// A value has the right type but is not allowed (bad uuid, name, kind, option).
    InvalidValue,
    /// A root or input is not a valid workspace path.
    InvalidPath,
    DuplicateAssetId,
    DuplicateAssetUuid,
    DuplicateRoot,
    NestedRoot,
    DuplicateInput,
    /// `next_asset_id` is not above every issued id.
    NextAssetIdTooLow,
    /// A declared input is a symbolic link that leaves the asset root, or is not a file.
    InputNotConfined,
    /// The drift kinds, when doctor reports them.
    RootMissing,
    RootMoved,
    UnregisteredAsset,
    DuplicateUuid,
    UuidMismatch,
    InputMissing,
    /// The project is `failed` for a reason no file position shows: an interrupted
    /// commit, or a transaction recovery refuses to finish.
    ProjectFailed,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::JsonSyntax => "json_syntax",
            Code::ReadFailed => "read_failed",
            Code::FileTooLarge => "file_too_large",
            Code::UnknownKey => "unknown_key",
            Code::MissingKey => "missing_key",
            Code::WrongType => "wrong_type",
            Code::SchemaTooNew => "schema_too_new",
            Code::InvalidValue => "invalid_value",
            Code::InvalidPath => "invalid_path",
            Code::DuplicateAssetId => "duplicate_asset_id",
            Code::DuplicateAssetUuid => "duplicate_asset_uuid",
            Code::DuplicateRoot => "duplicate_root",
            Code::NestedRoot => "nested_root",
            Code::DuplicateInput => "duplicate_input",
            Code::NextAssetIdTooLow => "next_asset_id_too_low",
            Code::InputNotConfined => "input_not_confined",
            Code::RootMissing => "root_missing",
            Code::RootMoved => "root_moved",
            Code::UnregisteredAsset => "unregistered_asset",
            Code::DuplicateUuid => "duplicate_uuid",
            Code::UuidMismatch => "uuid_mismatch",
            Code::InputMissing => "input_missing",
            Code::ProjectFailed => "project_failed",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// One finding, positioned in a file where there is one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// Relative to the project root; `None` for a finding about the project as a whole.
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
    pub hint: Option<String>,
    /// The offending line, for people; not part of the JSON shape.
    #[serde(skip)]
    pub excerpt: Option<Excerpt>,
    /// The registered asset the finding concerns, for filtering; not part of the shape.
    #[serde(skip)]
    pub asset_id: Option<AssetId>,
}

impl Diagnostic {
    /// The finding on one line, placed as far as it is known: `file:line:col: message`,
    /// `file: message`, or the message alone.
    pub fn one_line(&self) -> String {
        match (&self.file, self.line, self.column) {
            (Some(file), Some(line), Some(column)) => {
                format!("{file}:{line}:{column}: {}", self.message)
            }
            (Some(file), _, _) => format!("{file}: {}", self.message),
            _ => self.message.clone(),
        }
    }
}

/// The lines a merge tool writes around the two sides of a conflict.
const CONFLICT_MARKERS: [&str; 4] = ["<<<<<<<", "|||||||", "=======", ">>>>>>>"];

/// A problem found while decoding a file, at a byte offset of that file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    pub code: Code,
    pub offset: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl FormatError {
    pub fn new(code: Code, offset: usize, message: impl Into<String>) -> FormatError {
        FormatError {
            code,
            offset,
            message: message.into(),
            hint: None,
        }
    }

    /// The order errors of one file are reported in: by position, except that a missing
    /// key (placed at its object's start) comes after the errors found inside the object.
    pub fn report_order(&self) -> (bool, usize) {
        (self.code == Code::MissingKey, self.offset)
    }

    pub fn hint(mut self, hint: impl Into<String>) -> FormatError {
        self.hint = Some(hint.into());
        self
    }

    /// The syntax error `error` of `text`. When the parser stopped at a merge's conflict
    /// marker (git's `<<<<<<<`, `|||||||`, `=======`, `>>>>>>>` at the start of a line,
    /// which no JSON document holds there), says so, with `merge_hint` on resolving it;
    /// a key given twice comes with `duplicate_hint`.
    pub fn syntax(
        text: &[u8],
        error: JsonError,
        merge_hint: &str,
        duplicate_hint: &str,
    ) -> FormatError {
        let line_start = text[..error.offset.min(text.len())]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let marker = CONFLICT_MARKERS
            .iter()
            .find(|m| text[line_start..].starts_with(m.as_bytes()));
        match marker {
            Some(marker) => FormatError::new(
                Code::JsonSyntax,
                line_start,
                format!(
                    "merge conflict marker `{marker}`: the file still holds both sides of a merge"
                ),
            )
            .hint(merge_hint),
            None => FormatError {
                hint: error.duplicate_key.then(|| duplicate_hint.to_owned()),
                ..FormatError::new(Code::JsonSyntax, error.offset, error.message)
            },
        }
    }

    /// The error as a positioned message in `file`, whose lines are `lines`.
    pub fn locate(&self, file: &str, lines: &LineIndex<'_>) -> Located {
        let (line, column) = lines.line_col(self.offset);
        Located {
            file: file.to_owned(),
            line,
            column,
            message: self.message.clone(),
        }
    }

    /// The error as a diagnostic in `file`, whose lines are `lines`.
    pub fn diagnostic(&self, file: &str, lines: &LineIndex<'_>) -> Diagnostic {
        let (line, column) = lines.line_col(self.offset);
        Diagnostic {
            code: self.code,
            severity: Severity::Error,
            file: Some(file.to_owned()),
            line: Some(line),
            column: Some(column),
            message: self.message.clone(),
            hint: self.hint.clone(),
            excerpt: Some(lines.excerpt(self.offset)),
            asset_id: None,
        }
    }
}

/// The errors a decoder found in one file, kept bounded while it finds them: a file
/// mangled by a tool (a registry of a million empty entries) can hold millions, and
/// keeping every one would make reading it take hundreds of times its size in memory.
/// Only the first [`MAX_FILE_ERRORS`](crate::snapshot::MAX_FILE_ERRORS) in report order
/// are kept, and how many there were in all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FormatErrors {
    /// The errors kept, in report order once the decoder is done.
    pub list: Vec<FormatError>,
    /// How many errors the file has in all, kept or not.
    pub total: usize,
}

impl FormatErrors {
    /// One error alone.
    pub fn one(error: FormatError) -> FormatErrors {
        FormatErrors {
            list: vec![error],
            total: 1,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    pub(crate) fn push(&mut self, error: FormatError) {
        self.total += 1;
        self.list.push(error);
        // Sorting and cutting once the list holds twice what is kept costs a constant
        // per error; every error dropped has as many before it in report order as are
        // kept, so the first ones of the whole file are among those kept.
        if self.list.len() >= 2 * crate::snapshot::MAX_FILE_ERRORS {
            self.finish();
        }
    }

    /// The first error in report order.
    pub(crate) fn into_first(mut self) -> Option<FormatError> {
        self.finish();
        self.list.into_iter().next()
    }

    /// Puts the kept errors in report order, the first ones only.
    pub(crate) fn finish(&mut self) {
        // Stable: errors at one place keep the order they were found in.
        self.list.sort_by_key(FormatError::report_order);
        self.list.truncate(crate::snapshot::MAX_FILE_ERRORS);
    }
}

/// A format error already placed in its file: what a snapshot keeps of an unreadable
/// registry or declaration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileError {
    pub code: Code,
    pub located: Located,
    pub hint: Option<String>,
    pub excerpt: Option<Excerpt>,
}

impl FileError {
    pub fn from_format(error: &FormatError, file: &str, lines: &LineIndex<'_>) -> FileError {
        let diagnostic = error.diagnostic(file, lines);
        FileError {
            code: error.code,
            located: error.locate(file, lines),
            hint: diagnostic.hint,
            excerpt: diagnostic.excerpt,
        }
    }

    /// An error about a whole file that could not be read (positioned at 1:1).
    pub fn unreadable(code: Code, file: &str, message: String, hint: Option<String>) -> FileError {
        FileError {
            code,
            located: Located {
                file: file.to_owned(),
                line: 1,
                column: 1,
                message,
            },
            hint,
            excerpt: None,
        }
    }

    pub fn to_diagnostic(&self) -> Diagnostic {
        Diagnostic {
            code: self.code,
            severity: Severity::Error,
            file: Some(self.located.file.clone()),
            line: Some(self.located.line),
            column: Some(self.located.column),
            message: self.located.message.clone(),
            hint: self.hint.clone(),
            excerpt: self.excerpt.clone(),
            asset_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::MAX_FILE_ERRORS;
    use proptest::prelude::*;

    proptest! {
        /// Bounded as it goes, the list keeps what sorting every error would put first.
        #[test]
        fn keeps_what_a_full_sort_puts_first(
            found in proptest::collection::vec((any::<bool>(), 0usize..50), 0..1000)
        ) {
            let all: Vec<FormatError> = found
                .iter()
                .enumerate()
                .map(|(i, &(missing, offset))| {
                    let code = if missing { Code::MissingKey } else { Code::UnknownKey };
                    FormatError::new(code, offset, i.to_string())
                })
                .collect();
            let mut bounded = FormatErrors::default();
            for error in all.iter().cloned() {
                bounded.push(error);
            }
            bounded.finish();
            let mut sorted = all;
            sorted.sort_by_key(FormatError::report_order);
            sorted.truncate(MAX_FILE_ERRORS);
            prop_assert_eq!(bounded.total, found.len());
            prop_assert_eq!(bounded.list, sorted);
        }
    }
}
