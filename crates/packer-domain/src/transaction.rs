//! The redo log of one commit: the intent a transaction stages under
//! `.prometeu/tx/<id>/` before its commit point, and its strict reader. The intent lists
//! every operation in apply order with the content hashes a target has before and after,
//! so recovery can tell a finished step from a pending one and from a stranger's edit.

use std::fmt::Write as _;

use crate::decode::{self, ObjectReader};
use crate::diagnostics::{Code, FormatError, FormatErrors};
use crate::json;
use crate::path::WsPath;
use crate::snapshot::ContentHash;

/// Where transactions live, below `.prometeu`.
pub const TX_DIR: &str = "tx";
/// The intent's name while it is being staged; a transaction holding only this never
/// reached its commit point.
pub const INTENT_STAGED: &str = "intent.staged";
/// The intent's name once committed: renaming to it is the commit point.
pub const INTENT_COMMITTED: &str = "intent.json";
/// The intent format's version.
pub const INTENT_VERSION: u64 = 1;

/// One operation of a transaction, in apply order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxOp {
    /// Replace (or create) `path` by renaming the staged copy `staged` (a file name in
    /// the transaction's directory) over it.
    Write {
        path: WsPath,
        staged: String,
        /// The content before; `None`: the file did not exist.
        pre: Option<ContentHash>,
        post: ContentHash,
    },
    Delete {
        path: WsPath,
        pre: ContentHash,
    },
    RenameDir {
        from: WsPath,
        to: WsPath,
    },
}

/// A transaction's intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub ops: Vec<TxOp>,
}

impl Intent {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{{\n  \"version\": {INTENT_VERSION},\n  \"ops\": [");
        for (i, op) in self.ops.iter().enumerate() {
            out.push_str(if i == 0 { "\n    " } else { ",\n    " });
            let _ = match op {
                TxOp::Write {
                    path,
                    staged,
                    pre,
                    post,
                } => write!(
                    out,
                    "{{ \"op\": \"write\", \"path\": {}, \"staged\": {}, \"pre\": {}, \"post\": \"{post}\" }}",
                    quote(path.as_str()),
                    quote(staged),
                    pre.map_or_else(|| "null".to_owned(), |h| format!("\"{h}\"")),
                ),
                TxOp::Delete { path, pre } => write!(
                    out,
                    "{{ \"op\": \"delete\", \"path\": {}, \"pre\": \"{pre}\" }}",
                    quote(path.as_str())
                ),
                TxOp::RenameDir { from, to } => write!(
                    out,
                    "{{ \"op\": \"rename_dir\", \"from\": {}, \"to\": {} }}",
                    quote(from.as_str()),
                    quote(to.as_str())
                ),
            };
        }
        out.push_str(if self.ops.is_empty() {
            "]\n}\n"
        } else {
            "\n  ]\n}\n"
        });
        out.into_bytes()
    }

    /// Reads an intent. Anything unexpected — a path that is not a valid workspace path,
    /// an unknown operation, a newer version — is an error at the byte where it was
    /// found: recovery refuses what it does not fully understand, and says where.
    pub fn parse(text: &[u8]) -> Result<Intent, FormatError> {
        let value = json::parse(text)
            .map_err(|e| FormatError::new(Code::JsonSyntax, e.offset, e.message))?;
        let object = ObjectReader::new(&value, &"the intent")?;
        let mut errors = FormatErrors::default();
        object.unknown_keys(&["version", "ops"], &mut errors);
        if let Some(e) = errors.into_first() {
            return Err(e);
        }
        let field = object.required("version")?;
        let version = decode::unsigned(field, "`version`")?;
        if version != INTENT_VERSION {
            return Err(FormatError::new(
                Code::InvalidValue,
                field.offset,
                format!("intent version {version} is not {INTENT_VERSION}"),
            ));
        }
        let items = decode::array(object.required("ops")?, "`ops`")?;
        let ops = items.iter().map(parse_op).collect::<Result<_, _>>()?;
        Ok(Intent { ops })
    }
}

fn quote(s: &str) -> String {
    crate::registry::json_string(s)
}

fn parse_op(value: &json::JsonValue<'_>) -> Result<TxOp, FormatError> {
    let object = ObjectReader::new(value, &"an operation")?;
    // Each string field with the offset of its value, for the errors about it.
    let text = |key: &str| -> Result<(String, usize), FormatError> {
        let field = object.required(key)?;
        Ok((decode::string(field, key)?.to_owned(), field.offset))
    };
    let path = |key: &str| -> Result<WsPath, FormatError> {
        let (raw, offset) = text(key)?;
        WsPath::new(&raw).map_err(|e| {
            FormatError::new(
                Code::InvalidPath,
                offset,
                format!("`{raw}` is not a workspace path: {e}"),
            )
        })
    };
    let hash = |key: &str| -> Result<ContentHash, FormatError> {
        let (raw, offset) = text(key)?;
        parse_hash(&raw).ok_or_else(|| {
            FormatError::new(
                Code::InvalidValue,
                offset,
                format!("`{raw}` is not a content hash"),
            )
        })
    };
    let (op, op_offset) = text("op")?;
    let known: &[&str] = match op.as_str() {
        "write" => &["op", "path", "staged", "pre", "post"],
        "delete" => &["op", "path", "pre"],
        "rename_dir" => &["op", "from", "to"],
        other => {
            return Err(FormatError::new(
                Code::InvalidValue,
                op_offset,
                format!("unknown operation `{other}`"),
            ));
        }
    };
    let mut errors = FormatErrors::default();
    object.unknown_keys(known, &mut errors);
    if let Some(e) = errors.into_first() {
        return Err(e);
    }
    Ok(match op.as_str() {
        "write" => {
            let (staged, offset) = text("staged")?;
            if staged.is_empty() || staged.contains('/') || staged == "." || staged == ".." {
                return Err(FormatError::new(
                    Code::InvalidValue,
                    offset,
                    format!("`{staged}` is not a staged file name"),
                ));
            }
            let pre = match object.required("pre")?.kind {
                json::JsonKind::Null => None,
                _ => Some(hash("pre")?),
            };
            TxOp::Write {
                path: path("path")?,
                staged,
                pre,
                post: hash("post")?,
            }
        }
        "delete" => TxOp::Delete {
            path: path("path")?,
            pre: hash("pre")?,
        },
        _ => TxOp::RenameDir {
            from: path("from")?,
            to: path("to")?,
        },
    })
}

/// A hash written as 64 lower-case hex digits.
pub fn parse_hash(raw: &str) -> Option<ContentHash> {
    if raw.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        let pair = raw.get(2 * i..2 * i + 2)?;
        // `from_str_radix` also takes a sign (`+f` is 15): digits only, lower case.
        if !pair.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(ContentHash(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> WsPath {
        WsPath::new(s).unwrap()
    }

    #[test]
    fn round_trips() {
        let intent = Intent {
            ops: vec![
                TxOp::Write {
                    path: p("a/asset.json"),
                    staged: "0".to_owned(),
                    pre: None,
                    post: ContentHash::of(b"x"),
                },
                TxOp::Delete {
                    path: p("b/asset.json"),
                    pre: ContentHash::of(b"y"),
                },
                TxOp::RenameDir {
                    from: p("c"),
                    to: p("d/c"),
                },
                TxOp::Write {
                    path: p(".prometeu/index.json"),
                    staged: "1".to_owned(),
                    pre: Some(ContentHash::of(b"old")),
                    post: ContentHash::of(b"new"),
                },
            ],
        };
        assert_eq!(Intent::parse(&intent.to_bytes()), Ok(intent));
    }

    /// Each error is placed at the value it is about, so recovery can say where.
    #[test]
    fn errors_point_at_the_value_at_fault() {
        for (text, at) in [
            ("{\"version\": 2, \"ops\": []}", "2, "),
            (
                "{\"version\": 1, \"ops\": [{\"op\": \"chmod\"}]}",
                "\"chmod",
            ),
            (
                "{\"version\": 1, \"ops\": [{\"op\": \"rename_dir\", \"from\": \"a\", \"to\": \"/b\"}]}",
                "\"/b",
            ),
            ("{\"version\": 1, \"ops\": [", ""),
        ] {
            let offset = text
                .rfind(at)
                .filter(|_| !at.is_empty())
                .unwrap_or(text.len());
            assert_eq!(
                Intent::parse(text.as_bytes()).map_err(|e| e.offset),
                Err(offset),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        let h = ContentHash::of(b"x");
        for (text, error) in [
            ("{\"version\": 2, \"ops\": []}", "intent version 2 is not 1"),
            (
                "{\"version\": 1, \"ops\": [{\"op\": \"chmod\"}]}",
                "unknown operation `chmod`",
            ),
            (
                &format!(
                    "{{\"version\": 1, \"ops\": [{{\"op\": \"delete\", \"path\": \"../x\", \"pre\": \"{h}\"}}]}}"
                ),
                "`../x` is not a workspace path: the path has a `..` segment; it may not leave its base",
            ),
            (
                "{\"version\": 1, \"ops\": [{\"op\": \"delete\", \"path\": \"x\", \"pre\": \"zz\"}]}",
                "`zz` is not a content hash",
            ),
            (
                &format!(
                    "{{\"version\": 1, \"ops\": [{{\"op\": \"delete\", \"path\": \"x\", \"pre\": \"{}\"}}]}}",
                    "+f".repeat(32)
                ),
                "`+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f` is not a content hash",
            ),
            (
                &format!(
                    "{{\"version\": 1, \"ops\": [{{\"op\": \"write\", \"path\": \"x\", \"staged\": \"../../etc\", \"pre\": null, \"post\": \"{h}\"}}]}}"
                ),
                "`../../etc` is not a staged file name",
            ),
            (
                "{\"version\": 1, \"ops\": [",
                "unexpected end of the file; a value was expected",
            ),
        ] {
            assert_eq!(
                Intent::parse(text.as_bytes()).map_err(|e| e.message),
                Err(error.to_owned()),
                "{text}"
            );
        }
    }
}
