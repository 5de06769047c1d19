//! A small JSON value with deterministic writers for the generated data inputs. Keys
//! keep the order they were built in, whatever features `serde_json` is compiled with
//! elsewhere in the workspace, so the bytes depend on the generator alone.

use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    /// Written with Rust's shortest round-trip formatting; must be finite.
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// How a JSON file is laid out: the ways people and tools commonly write them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One line, no spaces.
    Compact,
    /// Nested values on their own lines, indented by this many spaces.
    Spaces(usize),
    /// Nested values on their own lines, indented with tabs.
    Tabs,
}

impl Json {
    pub fn str(s: &str) -> Json {
        Json::Str(s.to_owned())
    }

    pub fn object<const N: usize>(members: [(&str, Json); N]) -> Json {
        Json::Object(
            members
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }

    /// The file's text, ending with a newline.
    pub fn to_text(&self, layout: Layout) -> String {
        let mut out = String::new();
        write_value(&mut out, self, layout, 0);
        out.push('\n');
        out
    }
}

fn write_value(out: &mut String, value: &Json, layout: Layout, depth: usize) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Json::Float(f) => write_float(out, *f),
        Json::Str(s) => write_string(out, s),
        Json::Array(items) => {
            // Arrays of plain numbers stay on one line, as formatters usually keep them.
            let flat = items
                .iter()
                .all(|i| matches!(i, Json::Int(_) | Json::Float(_)));
            write_list(
                out,
                ['[', ']'],
                items.iter(),
                layout,
                depth,
                flat,
                |out, item, d| {
                    write_value(out, item, layout, d);
                },
            );
        }
        Json::Object(members) => {
            write_list(
                out,
                ['{', '}'],
                members.iter(),
                layout,
                depth,
                false,
                |out, (k, v), d| {
                    write_string(out, k);
                    out.push(':');
                    if layout != Layout::Compact {
                        out.push(' ');
                    }
                    write_value(out, v, layout, d);
                },
            );
        }
    }
}

/// Writes `[open, close]`-bracketed items; `flat` keeps them on one line.
fn write_list<T>(
    out: &mut String,
    [open, close]: [char; 2],
    items: impl ExactSizeIterator<Item = T>,
    layout: Layout,
    depth: usize,
    flat: bool,
    mut write_item: impl FnMut(&mut String, T, usize),
) {
    out.push(open);
    let empty = items.len() == 0;
    let multiline = layout != Layout::Compact && !flat && !empty;
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
            if !multiline && layout != Layout::Compact {
                out.push(' ');
            }
        }
        if multiline {
            out.push('\n');
            indent(out, layout, depth + 1);
        }
        write_item(out, item, depth + 1);
    }
    if multiline {
        out.push('\n');
        indent(out, layout, depth);
    }
    out.push(close);
}

fn indent(out: &mut String, layout: Layout, depth: usize) {
    match layout {
        Layout::Compact => {}
        Layout::Spaces(n) => out.extend(std::iter::repeat_n(' ', n * depth)),
        Layout::Tabs => out.extend(std::iter::repeat_n('\t', depth)),
    }
}

fn write_float(out: &mut String, f: f64) {
    if !f.is_finite() {
        // JSON has no NaN or infinity; generators never build one, but stay valid.
        out.push_str("null");
    } else if f == f.trunc() && f.abs() < 1e15 {
        // Keep a visible fraction so the value reads as a float (`2.0`, not `2`).
        let _ = write!(out, "{f:.1}");
    } else {
        let _ = write!(out, "{f}");
    }
}

fn write_string(out: &mut String, s: &str) {
    // serde_json's escaping of a plain string does not depend on any feature flag.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Json {
        Json::object([
            ("name", Json::str("Forêt \"Nord\"\n")),
            ("size", Json::Array(vec![Json::Int(3), Json::Float(-0.25)])),
            (
                "tags",
                Json::Array(vec![Json::str("a"), Json::Null, Json::Bool(true)]),
            ),
            ("empty", Json::Object(Vec::new())),
            ("scale", Json::Float(2.0)),
        ])
    }

    #[test]
    fn writes_each_layout() {
        assert_eq!(
            sample().to_text(Layout::Compact),
            "{\"name\":\"Forêt \\\"Nord\\\"\\n\",\"size\":[3,-0.25],\"tags\":[\"a\",null,true],\"empty\":{},\"scale\":2.0}\n"
        );
        assert_eq!(
            sample().to_text(Layout::Spaces(2)),
            "{\n  \"name\": \"Forêt \\\"Nord\\\"\\n\",\n  \"size\": [3, -0.25],\n  \"tags\": [\n    \"a\",\n    null,\n    true\n  ],\n  \"empty\": {},\n  \"scale\": 2.0\n}\n"
        );
    }

    #[test]
    fn every_layout_is_valid_json() {
        for layout in [Layout::Compact, Layout::Spaces(4), Layout::Tabs] {
            let text = sample().to_text(layout);
            let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(parsed["name"], "Forêt \"Nord\"\n");
            assert_eq!(parsed["scale"], 2.0);
        }
    }
}
