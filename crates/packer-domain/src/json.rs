//! A strict JSON reader that keeps the byte offset of every value and key.
//!
//! `serde_json` positions syntax errors only; the packer must also point at the exact
//! place of a semantic error (a duplicate asset id, a root that escapes, an unknown key),
//! and must reject duplicate keys, which `serde_json::Value` silently collapses. So the
//! registry and declarations are read into this spanned tree first. A document that is
//! only checked (a `data` input of a build) goes through [`validate`], which reads it
//! the same way without building the tree. Both are bounded in depth, never recursive
//! beyond that bound, and never panic on any input.

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
    read::<Tree>(text)
}

/// Checks one JSON document as [`parse`] reads it, with the same errors at the same
/// offsets, without building its tree: what it holds costs nothing, only the keys of
/// the objects open at a time are kept (to refuse a duplicate). For documents that are
/// only checked, however large: a 50 MB array of numbers is some 25 million values,
/// which a tree would hold at forty bytes each.
pub fn validate(text: &[u8]) -> Result<(), JsonError> {
    read::<Check>(text)
}

fn read<'t, B: Build<'t>>(text: &'t [u8]) -> Result<B::Value, JsonError> {
    let src = match std::str::from_utf8(text) {
        Ok(src) => src,
        Err(e) => {
            return Err(JsonError::at(
                e.valid_up_to(),
                "the file is not valid UTF-8",
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
    let value = parser.value::<B>()?;
    parser.skip_ws();
    if parser.pos < text.len() {
        return Err(parser.error("unexpected content after the end of the JSON value"));
    }
    Ok(value)
}

/// What the reader makes of the values it reads: the tree ([`Tree`]), or nothing but
/// the keys needed to refuse a duplicate ([`Check`]).
trait Build<'t> {
    type Value;
    /// An array's items so far.
    type Items: Default;
    /// An object's members so far, with what finds a duplicate key among them.
    type Members: Default;
    /// Members of a document's top-level object.
    fn top_level_members() -> Self::Members;
    fn scalar(offset: usize, kind: JsonKind<'t>) -> Self::Value;
    fn push_item(items: &mut Self::Items, value: Self::Value);
    fn array(offset: usize, items: Self::Items) -> Self::Value;
    fn has_key(members: &Self::Members, key: &str) -> bool;
    fn push_member(
        members: &mut Self::Members,
        key: Cow<'t, str>,
        key_offset: usize,
        value: Self::Value,
    );
    fn object(offset: usize, members: Self::Members) -> Self::Value;
}

/// Builds the spanned tree.
struct Tree;

/// An object's members as the tree holds them, and its keys in a set once there are
/// many.
#[derive(Default)]
struct TreeMembers<'t> {
    list: Vec<JsonMember<'t>>,
    index: KeyIndex,
}

impl<'t> Build<'t> for Tree {
    type Value = JsonValue<'t>;
    type Items = Vec<JsonValue<'t>>;
    type Members = TreeMembers<'t>;

    fn top_level_members() -> TreeMembers<'t> {
        // The formats' top-level objects have up to eight keys: room for them at once.
        // Nested ones (a registry's many entries) grow.
        TreeMembers {
            list: Vec::with_capacity(TOP_LEVEL_KEYS),
            index: KeyIndex::default(),
        }
    }

    fn scalar(offset: usize, kind: JsonKind<'t>) -> JsonValue<'t> {
        JsonValue { offset, kind }
    }

    fn push_item(items: &mut Vec<JsonValue<'t>>, value: JsonValue<'t>) {
        items.push(value);
    }

    fn array(offset: usize, items: Vec<JsonValue<'t>>) -> JsonValue<'t> {
        JsonValue {
            offset,
            kind: JsonKind::Array(items),
        }
    }

    fn has_key(members: &TreeMembers<'t>, key: &str) -> bool {
        members
            .index
            .contains(key, members.list.iter().map(|m| m.key.as_ref()))
    }

    fn push_member(
        members: &mut TreeMembers<'t>,
        key: Cow<'t, str>,
        key_offset: usize,
        value: JsonValue<'t>,
    ) {
        members
            .index
            .note(&key, members.list.iter().map(|m| m.key.as_ref()));
        members.list.push(JsonMember {
            key,
            key_offset,
            value,
        });
    }

    fn object(offset: usize, members: TreeMembers<'t>) -> JsonValue<'t> {
        JsonValue {
            offset,
            kind: JsonKind::Object(members.list),
        }
    }
}

/// Checks without building: an object keeps its keys, and only until they are in the
/// set.
struct Check;

#[derive(Default)]
struct CheckedKeys<'t> {
    list: Vec<Cow<'t, str>>,
    index: KeyIndex,
}

impl<'t> Build<'t> for Check {
    type Value = ();
    type Items = ();
    type Members = CheckedKeys<'t>;

    fn top_level_members() -> CheckedKeys<'t> {
        CheckedKeys::default()
    }

    fn scalar(_: usize, _: JsonKind<'t>) {}

    fn push_item((): &mut (), (): ()) {}

    fn array(_: usize, (): ()) {}

    fn has_key(members: &CheckedKeys<'t>, key: &str) -> bool {
        members
            .index
            .contains(key, members.list.iter().map(AsRef::as_ref))
    }

    fn push_member(members: &mut CheckedKeys<'t>, key: Cow<'t, str>, _: usize, (): ()) {
        members
            .index
            .note(&key, members.list.iter().map(AsRef::as_ref));
        if members.index.set.is_some() {
            // The set holds them all from now on.
            members.list = Vec::new();
        } else {
            members.list.push(key);
        }
    }

    fn object(_: usize, _: CheckedKeys<'t>) {}
}

/// How an object finds a duplicate key: by a scan of its keys while they are few, by a
/// set once they are many, so that a hostile object with a million keys costs linear
/// time.
#[derive(Default)]
struct KeyIndex {
    /// Every key so far, once the object is too large for a scan; `count` until then.
    set: Option<HashSet<String>>,
    count: usize,
}

impl KeyIndex {
    /// Whether `key` is among the object's keys (`keys`, all of them while there is no
    /// set).
    fn contains<'k>(&self, key: &str, mut keys: impl Iterator<Item = &'k str>) -> bool {
        match &self.set {
            Some(set) => set.contains(key),
            None => keys.any(|k| k == key),
        }
    }

    /// Records `key`, about to join `keys`.
    fn note<'k>(&mut self, key: &str, keys: impl Iterator<Item = &'k str>) {
        self.count += 1;
        if let Some(set) = &mut self.set {
            set.insert(key.to_owned());
        } else if self.count > LINEAR_KEY_CHECK {
            let mut all: HashSet<String> = keys.map(str::to_owned).collect();
            all.insert(key.to_owned());
            self.set = Some(all);
        }
    }
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
enum Frame<'t, B: Build<'t>> {
    Array {
        offset: usize,
        items: B::Items,
    },
    Object {
        offset: usize,
        members: B::Members,
        key: Cow<'t, str>,
        key_offset: usize,
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
    fn value<B: Build<'t>>(&mut self) -> Result<B::Value, JsonError> {
        let mut stack: Vec<Frame<'t, B>> = Vec::new();
        loop {
            // Parse the start of a value: either a scalar, or open a container.
            self.skip_ws();
            let offset = self.pos;
            let mut done: B::Value = match self.peek() {
                Some(b'[') => {
                    self.pos += 1;
                    self.check_depth(stack.len())?;
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        B::array(offset, B::Items::default())
                    } else {
                        stack.push(Frame::Array {
                            offset,
                            items: B::Items::default(),
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
                        B::object(offset, B::Members::default())
                    } else {
                        let (key, key_offset) = self.key(|_| false)?;
                        let members = if stack.is_empty() {
                            B::top_level_members()
                        } else {
                            B::Members::default()
                        };
                        stack.push(Frame::Object {
                            offset,
                            members,
                            key,
                            key_offset,
                        });
                        continue;
                    }
                }
                _ => {
                    let (offset, kind) = self.scalar()?;
                    B::scalar(offset, kind)
                }
            };
            // Hand the finished value to its container; close containers that end here.
            loop {
                let Some(frame) = stack.last_mut() else {
                    return Ok(done);
                };
                self.skip_ws();
                match frame {
                    Frame::Array { offset, items } => {
                        B::push_item(items, done);
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
                                done = B::array(offset, items);
                            }
                            _ => return Err(self.error("expected `,` or `]` in the array")),
                        }
                    }
                    Frame::Object {
                        offset,
                        members,
                        key,
                        key_offset,
                    } => {
                        B::push_member(members, std::mem::take(key), *key_offset, done);
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                self.skip_ws();
                                let (next_key, next_offset) =
                                    self.key(|key| B::has_key(members, key))?;
                                *key = next_key;
                                *key_offset = next_offset;
                                break;
                            }
                            Some(b'}') => {
                                self.pos += 1;
                                let offset = *offset;
                                let members = std::mem::take(members);
                                stack.pop();
                                done = B::object(offset, members);
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

    /// Reads `"key":`, refusing a key that `taken` says the object already has.
    fn key(&mut self, taken: impl Fn(&str) -> bool) -> Result<(Cow<'t, str>, usize), JsonError> {
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
        if taken(&key) {
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

    /// A scalar value's offset and kind.
    fn scalar(&mut self) -> Result<(usize, JsonKind<'t>), JsonError> {
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
        Ok((offset, kind))
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
                            "unpaired surrogate in a `\\u` escape",
                        ));
                    }
                    self.pos += 2;
                    let low = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err(JsonError::at(
                            escape_start,
                            "unpaired surrogate in a `\\u` escape",
                        ));
                    }
                    0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    high
                };
                let Some(c) = char::from_u32(code) else {
                    return Err(JsonError::at(
                        escape_start,
                        "unpaired surrogate in a `\\u` escape",
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
            let _ = validate(&bytes);
        }

        /// Checking without a tree gives exactly what reading gives: the same error, at
        /// the same offset, or none.
        #[test]
        fn validate_agrees_with_parse(text in r#"[\[\]{}":,0-9a-c .eE+\-\\tnul]{0,40}"#) {
            prop_assert_eq!(validate(text.as_bytes()), parse(text.as_bytes()).map(|_| ()));
        }

        /// The same on objects with many keys, some repeated: the set that takes over
        /// from the scan of keys after the sixteenth finds the same duplicates.
        #[test]
        fn validate_agrees_with_parse_on_large_objects(
            keys in proptest::collection::vec(0u8..40, 0..40),
            nested in any::<bool>(),
        ) {
            let members: Vec<String> = keys.iter().map(|k| format!("\"k{k}\": {k}")).collect();
            let object = format!("{{{}}}", members.join(", "));
            let text = if nested { format!("[1, {{\"a\": {object}}}]") } else { object };
            prop_assert_eq!(validate(text.as_bytes()), parse(text.as_bytes()).map(|_| ()));
        }
    }

    #[test]
    fn validate_refuses_what_parse_refuses_and_holds_no_tree() {
        for (text, offset, message) in [
            ("{\"a\": 1, \"a\": 2}", 9, "duplicate key `a` in the object"),
            ("[1, 2,]", 6, "trailing comma before `]`"),
            ("\u{feff}[01]", 5, "a number may not have a leading zero"),
        ] {
            let error = validate(text.as_bytes()).unwrap_err();
            assert_eq!(
                (error.offset, error.message.as_str()),
                (offset, message),
                "{text}"
            );
            assert_eq!(Err(error), parse(text.as_bytes()).map(|_| ()));
        }
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert_eq!(
            validate(deep.as_bytes()).unwrap_err().message,
            format!("the JSON is nested more than {MAX_DEPTH} levels deep")
        );
        // A million values, checked with nothing kept for them.
        let mut big = String::from("[0");
        big.push_str(&",1".repeat(1_000_000));
        big.push(']');
        assert_eq!(validate(big.as_bytes()), Ok(()));
    }
}
