//! A strict JSON reader that keeps the byte offset of every value and key.
//!
//! `serde_json` positions syntax errors only; the packer must also point at the exact
//! place of a semantic error (a duplicate asset id, a root that escapes, an unknown key),
//! and must reject duplicate keys, which `serde_json::Value` silently collapses. So the
//! registry and declarations are read into this spanned tree first. It is bounded in
//! depth, never recursive beyond that bound, and never panics on any input.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::location::line_col;

/// Deepest nesting of arrays and objects accepted. The formats need four levels.
pub const MAX_DEPTH: usize = 64;

/// A JSON value and the byte offset where it starts. Strings without escapes borrow
/// from the text, so reading a large registry allocates little.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonValue<'t> {
    pub offset: usize,
    pub kind: JsonKind<'t>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JsonKind<'t> {
    Null,
    Bool(bool),
    /// The number as written, already checked against the JSON grammar.
    Number(&'t str),
    String(Cow<'t, str>),
    Array(Vec<JsonValue<'t>>),
    Object(Vec<JsonMember<'t>>),
}

/// One `"key": value` pair of an object, in document order.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonMember<'t> {
    pub key: Cow<'t, str>,
    pub key_offset: usize,
    pub value: JsonValue<'t>,
}

/// Room made for the members of a document's top-level object.
const TOP_LEVEL_KEYS: usize = 8;

/// Objects with more keys than this check duplicates with a set instead of a scan, so a
/// hostile object with a million keys costs linear time.
const LINEAR_KEY_CHECK: usize = 16;

/// A syntax error at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub offset: usize,
    pub message: String,
    /// A key given twice in one object: what to do about it depends on the file.
    pub duplicate_key: bool,
}

impl JsonError {
    /// The error `message` at byte `offset`, with nothing more to say.
    pub fn at(offset: usize, message: impl Into<String>) -> JsonError {
        JsonError {
            offset,
            message: message.into(),
            duplicate_key: false,
        }
    }

    /// Line and column of the error in `text`.
    pub fn line_col(&self, text: &[u8]) -> (u32, u32) {
        line_col(text, self.offset)
    }
}

/// Parses one JSON document. A leading UTF-8 byte-order mark is skipped; anything but
/// whitespace after the value is an error.
pub fn parse(text: &[u8]) -> Result<JsonValue<'_>, JsonError> {
    let src = match std::str::from_utf8(text) {
        Ok(src) => src,
        Err(e) => {
            return Err(JsonError::at(
                e.valid_up_to(),
                "the file is not valid UTF-8".to_owned(),
            ));
        }
    };
    let start = if src.starts_with('\u{feff}') { 3 } else { 0 };
    let mut parser = Parser {
        text,
        src,
        pos: start,
    };
    parser.skip_ws();
    if parser.pos >= text.len() {
        return Err(parser.error("the file is empty; a JSON value was expected"));
    }
    let value = parser.value()?;
    parser.skip_ws();
    if parser.pos < text.len() {
        return Err(parser.error("unexpected content after the end of the JSON value"));
    }
    Ok(value)
}

impl JsonKind<'_> {
    /// The JSON type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            JsonKind::Null => "null",
            JsonKind::Bool(_) => "a boolean",
            JsonKind::Number(_) => "a number",
            JsonKind::String(_) => "a string",
            JsonKind::Array(_) => "an array",
            JsonKind::Object(_) => "an object",
        }
    }
}

impl JsonValue<'_> {
    /// Converts to a `serde_json::Value`, key order kept, refusing a number it cannot
    /// hold (beyond `f64`'s range) with that number's offset, where
    /// [`to_serde`](Self::to_serde) would make it `null`.
    pub fn to_serde_exact(&self) -> Result<serde_json::Value, usize> {
        self.convert(&|value: &JsonValue<'_>, number: &str| {
            number
                .parse::<serde_json::Number>()
                .map(serde_json::Value::Number)
                .map_err(|_| value.offset)
        })
    }

    /// Converts to a `serde_json::Value` (for opaque option blocks). Key order is kept.
    pub fn to_serde(&self) -> serde_json::Value {
        let Ok(value) = self.convert(&|_: &JsonValue<'_>, number: &str| {
            Ok::<_, std::convert::Infallible>(
                number
                    .parse::<serde_json::Number>()
                    .map_or(serde_json::Value::Null, serde_json::Value::Number),
            )
        });
        value
    }

    /// The conversion both make, numbers converted by `number`.
    fn convert<E>(
        &self,
        number: &dyn Fn(&JsonValue<'_>, &str) -> Result<serde_json::Value, E>,
    ) -> Result<serde_json::Value, E> {
        Ok(match &self.kind {
            JsonKind::Null => serde_json::Value::Null,
            JsonKind::Bool(b) => serde_json::Value::Bool(*b),
            JsonKind::Number(n) => number(self, n)?,
            JsonKind::String(s) => serde_json::Value::String(s.to_string()),
            JsonKind::Array(items) => serde_json::Value::Array(
                items
                    .iter()
                    .map(|item| item.convert(number))
                    .collect::<Result<_, _>>()?,
            ),
            JsonKind::Object(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|m| Ok((m.key.to_string(), m.value.convert(number)?)))
                    .collect::<Result<_, E>>()?,
            ),
        })
    }
}

/// Where a container was opened, so the iterative parser can resume it.
enum Frame<'t> {
    Array {
        offset: usize,
        items: Vec<JsonValue<'t>>,
    },
    Object {
        offset: usize,
        members: Vec<JsonMember<'t>>,
        key: Cow<'t, str>,
        key_offset: usize,
        /// Every key so far, once the object is too large for a linear check.
        seen: Option<HashSet<String>>,
    },
}

struct Parser<'t> {
    text: &'t [u8],
    /// The same bytes, known to be UTF-8.
    src: &'t str,
    pos: usize,
}

impl<'t> Parser<'t> {
    fn error(&self, message: impl Into<String>) -> JsonError {
        JsonError::at(self.pos, message.into())
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Parses a value with an explicit stack, so nesting depth costs heap, not stack.
    fn value(&mut self) -> Result<JsonValue<'t>, JsonError> {
        let mut stack: Vec<Frame<'t>> = Vec::new();
        loop {
            // Parse the start of a value: either a scalar, or open a container.
            self.skip_ws();
            let offset = self.pos;
            let mut done: JsonValue<'t> = match self.peek() {
                Some(b'[') => {
                    self.pos += 1;
                    self.check_depth(stack.len())?;
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        JsonValue {
                            offset,
                            kind: JsonKind::Array(Vec::new()),
                        }
                    } else {
                        stack.push(Frame::Array {
                            offset,
                            items: Vec::new(),
                        });
                        continue;
                    }
                }
                Some(b'{') => {
                    self.pos += 1;
                    self.check_depth(stack.len())?;
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        JsonValue {
                            offset,
                            kind: JsonKind::Object(Vec::new()),
                        }
                    } else {
                        let (key, key_offset) = self.key(&[], None)?;
                        // The formats' top-level objects have up to eight keys: room for
                        // them at once. Nested ones (a registry's many entries) grow.
                        let members = if stack.is_empty() {
                            Vec::with_capacity(TOP_LEVEL_KEYS)
                        } else {
                            Vec::new()
                        };
                        stack.push(Frame::Object {
                            offset,
                            members,
                            key,
                            key_offset,
                            seen: None,
                        });
                        continue;
                    }
                }
                _ => self.scalar()?,
            };
            // Hand the finished value to its container; close containers that end here.
            loop {
                let Some(frame) = stack.last_mut() else {
                    return Ok(done);
                };
                self.skip_ws();
                match frame {
                    Frame::Array { offset, items } => {
                        items.push(done);
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                break;
                            }
                            Some(b']') => {
                                self.pos += 1;
                                let offset = *offset;
                                let items = std::mem::take(items);
                                stack.pop();
                                done = JsonValue {
                                    offset,
                                    kind: JsonKind::Array(items),
                                };
                            }
                            _ => return Err(self.error("expected `,` or `]` in the array")),
                        }
                    }
                    Frame::Object {
                        offset,
                        members,
                        key,
                        key_offset,
                        seen,
                    } => {
                        let finished_key = std::mem::take(key);
                        if let Some(seen) = seen {
                            seen.insert(finished_key.to_string());
                        } else if members.len() >= LINEAR_KEY_CHECK {
                            let mut all: HashSet<String> =
                                members.iter().map(|m| m.key.to_string()).collect();
                            all.insert(finished_key.to_string());
                            *seen = Some(all);
                        }
                        members.push(JsonMember {
                            key: finished_key,
                            key_offset: *key_offset,
                            value: done,
                        });
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                self.skip_ws();
                                let (next_key, next_offset) = self.key(members, seen.as_ref())?;
                                *key = next_key;
                                *key_offset = next_offset;
                                break;
                            }
                            Some(b'}') => {
                                self.pos += 1;
                                let offset = *offset;
                                let members = std::mem::take(members);
                                stack.pop();
                                done = JsonValue {
                                    offset,
                                    kind: JsonKind::Object(members),
                                };
                            }
                            _ => return Err(self.error("expected `,` or `}` in the object")),
                        }
                    }
                }
            }
        }
    }

    fn check_depth(&self, open: usize) -> Result<(), JsonError> {
        if open >= MAX_DEPTH {
            return Err(JsonError::at(
                self.pos - 1,
                format!("the JSON is nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    /// Reads `"key":`, refusing a key already among `members` (or in `set`, which holds
    /// them all for large objects).
    fn key(
        &mut self,
        members: &[JsonMember<'t>],
        set: Option<&HashSet<String>>,
    ) -> Result<(Cow<'t, str>, usize), JsonError> {
        self.skip_ws();
        let offset = self.pos;
        if self.peek() != Some(b'"') {
            return Err(self.error(if self.peek() == Some(b'}') {
                "trailing comma before `}`"
            } else {
                "expected a string key in the object"
            }));
        }
        let key = self.string()?;
        let duplicate = match set {
            Some(set) => set.contains(key.as_ref()),
            None => members.iter().any(|m| m.key == key),
        };
        if duplicate {
            return Err(JsonError {
                offset,
                message: format!("duplicate key `{key}` in the object"),
                duplicate_key: true,
            });
        }
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(self.error("expected `:` after the key"));
        }
        self.pos += 1;
        Ok((key, offset))
    }

    fn scalar(&mut self) -> Result<JsonValue<'t>, JsonError> {
        let offset = self.pos;
        let kind = match self.peek() {
            None => return Err(self.error("unexpected end of the file; a value was expected")),
            Some(b'"') => JsonKind::String(self.string()?),
            Some(b't') => self.literal("true", JsonKind::Bool(true))?,
            Some(b'f') => self.literal("false", JsonKind::Bool(false))?,
            Some(b'n') => self.literal("null", JsonKind::Null)?,
            Some(b'-' | b'0'..=b'9') => JsonKind::Number(self.number()?),
            Some(b']') => return Err(self.error("trailing comma before `]`")),
            Some(_) => return Err(self.error("expected a JSON value")),
        };
        Ok(JsonValue { offset, kind })
    }

    fn literal(&mut self, word: &str, kind: JsonKind<'t>) -> Result<JsonKind<'t>, JsonError> {
        if self.text[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(kind)
        } else {
            Err(self.error("expected a JSON value"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<&'t str, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.error("a number may not have a leading zero"));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error("expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error("expected a digit after the decimal point"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("expected a digit in the exponent"));
            }
        }
        // The grammar above admits ASCII only, so the slice lies on character boundaries.
        Ok(self.src.get(start..self.pos).unwrap_or_default())
    }

    fn string(&mut self) -> Result<Cow<'t, str>, JsonError> {
        // The caller has seen the opening quote.
        self.pos += 1;
        let start = self.pos;
        let mut out: Option<String> = None;
        loop {
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // `parse` checked the whole text is UTF-8 and the run stopped on an ASCII
            // byte, so it lies on character boundaries.
            let run = self.src.get(run_start..self.pos).unwrap_or_default();
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(match out {
                        None => {
                            Cow::Borrowed(self.src.get(start..self.pos - 1).unwrap_or_default())
                        }
                        Some(mut owned) => {
                            owned.push_str(run);
                            Cow::Owned(owned)
                        }
                    });
                }
                Some(b'\\') => {
                    let owned = out.get_or_insert_with(String::new);
                    owned.push_str(run);
                    self.pos += 1;
                    self.escape(owned)?;
                }
                Some(b'\n' | b'\r') => {
                    return Err(self.error("unterminated string: the line ends inside it"));
                }
                Some(_) => {
                    return Err(self.error(
                        "control character in a string; write it as an escape such as `\\t`",
                    ));
                }
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), JsonError> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let escape_start = self.pos - 2;
                let high = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&high) {
                    if !self.text[self.pos..].starts_with(b"\\u") {
                        return Err(JsonError::at(
                            escape_start,
                            "unpaired surrogate in a `\\u` escape".to_owned(),
                        ));
                    }
                    self.pos += 2;
                    let low = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err(JsonError::at(
                            escape_start,
                            "unpaired surrogate in a `\\u` escape".to_owned(),
                        ));
                    }
                    0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    high
                };
                let Some(c) = char::from_u32(code) else {
                    return Err(JsonError::at(
                        escape_start,
                        "unpaired surrogate in a `\\u` escape".to_owned(),
                    ));
                };
                out.push(c);
                return Ok(());
            }
            _ => return Err(self.error("invalid escape in a string")),
        };
        self.pos += 1;
        out.push(c);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = match self.peek() {
                Some(b @ b'0'..=b'9') => b - b'0',
                Some(b @ b'a'..=b'f') => b - b'a' + 10,
                Some(b @ b'A'..=b'F') => b - b'A' + 10,
                _ => return Err(self.error("expected four hex digits in a `\\u` escape")),
            };
            code = code * 16 + u32::from(digit);
            self.pos += 1;
        }
        Ok(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check_err(text: &str, line: u32, column: u32, message: &str) {
        let err = parse(text.as_bytes()).expect_err("the text should be rejected");
        assert_eq!(err.line_col(text.as_bytes()), (line, column), "{err:?}");
        assert!(err.message.contains(message), "{err:?}");
    }

    #[test]
    fn parses_with_offsets() {
        let v = parse(br#" {"a": [1, "x"], "b": null}"#).unwrap();
        assert_eq!(v.offset, 1);
        let JsonKind::Object(members) = &v.kind else {
            panic!("object expected")
        };
        assert_eq!(members[0].key, "a");
        assert_eq!(members[0].key_offset, 2);
        assert_eq!(members[0].value.offset, 7);
        assert_eq!(members[1].value.kind, JsonKind::Null);
    }

    #[test]
    fn reports_errors_where_they_are() {
        check_err("{\n  \"a\": 1,\n  \"a\": 2\n}", 3, 3, "duplicate key `a`");
        check_err("{\"a\": 1,}", 1, 9, "trailing comma");
        check_err("[1, 2,]", 1, 7, "trailing comma");
        check_err("{\"a\": tru}", 1, 7, "expected a JSON value");
        check_err("{\"a\": 01}", 1, 8, "leading zero");
        check_err("\"abc", 1, 5, "unterminated");
        check_err("{} x", 1, 4, "after the end");
        check_err("", 1, 1, "empty");
        check_err("{\"é\": \"\\q\"}", 1, 9, "invalid escape");
        check_err("\"\\ud800\"", 1, 2, "surrogate");
        check_err("\"a\tb\"", 1, 3, "control character");
    }

    #[test]
    fn rejects_invalid_utf8_at_its_offset() {
        let err = parse(b"{\"a\": \"\xff\"}").unwrap_err();
        assert_eq!(err.offset, 7);
    }

    #[test]
    fn bounds_depth_without_recursion() {
        let deep = "[".repeat(100_000);
        let err = parse(deep.as_bytes()).unwrap_err();
        assert!(err.message.contains("nested"), "{err:?}");
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
        let too_deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(parse(too_deep.as_bytes()).is_err());
    }

    #[test]
    fn large_objects_still_refuse_duplicate_keys() {
        let keys: Vec<String> = (0..1000).map(|i| format!("\"k{i}\": {i}")).collect();
        let ok = format!("{{{}}}", keys.join(", "));
        assert!(parse(ok.as_bytes()).is_ok());
        let dup = format!("{{{}, \"k500\": 1}}", keys.join(", "));
        let err = parse(dup.as_bytes()).unwrap_err();
        assert!(err.message.contains("duplicate key `k500`"), "{err:?}");
        let dup_early = format!("{{{}, \"k3\": 1}}", keys[..20].join(", "));
        assert!(parse(dup_early.as_bytes()).is_err());
    }

    #[test]
    fn decodes_escapes() {
        let v = parse(br#""a\n\u00e9\ud83d\ude00\/""#).unwrap();
        assert_eq!(v.kind, JsonKind::String("a\né😀/".into()));
    }

    proptest! {
        /// Agrees with serde_json on which documents are valid (serde_json accepts
        /// duplicate keys and nests only 128 deep; inputs here avoid both).
        #[test]
        fn agrees_with_serde_json(text in r#"[\[\]{}":,0-9a-z .eE+\-\\tnul]{0,24}"#) {
            let ours = parse(text.as_bytes());
            let theirs = serde_json::from_str::<serde_json::Value>(&text);
            let duplicate = ours.as_ref().err().is_some_and(|e| e.message.contains("duplicate"));
            // serde_json refuses numbers beyond f64; the grammar allows them.
            let out_of_range = theirs.as_ref().err().is_some_and(|e| e.to_string().contains("out of range"));
            if !duplicate && !out_of_range {
                prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{:?} {:?}", ours, theirs);
            }
            if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
                prop_assert_eq!(ours.to_serde(), theirs);
            }
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse(&bytes);
        }
    }
}
