//! The fixture format: a whole workspace written as one string, parsed into a tree and
//! rendered back (see the crate documentation for the format itself).

use std::collections::BTreeMap;
use std::fmt;

use packer_domain::path::WsPath;

use crate::person;
use crate::tree::{Node, Tree};

/// Why a fixture text could not be loaded, with the line (1-based, in the text as
/// given) where the problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for FixtureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fixture line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for FixtureError {}

/// What one header declares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Declared {
    File(Vec<u8>),
    Dir,
    Link(String),
    Fifo,
}

#[derive(Debug)]
struct Entry {
    line: usize,
    path: WsPath,
    declared: Declared,
}

/// The start of every header line.
const HEADER: &str = "//-";

/// What follows the path of a FIFO's header.
const FIFO: &str = "<fifo>";

/// Builds the (durable) tree a fixture describes.
pub(crate) fn load(text: &str) -> Result<Tree, FixtureError> {
    let mut tree = Tree::new();
    let mut first_seen: BTreeMap<WsPath, usize> = BTreeMap::new();
    for entry in parse(text)? {
        if let Some(first) = first_seen.insert(entry.path.clone(), entry.line) {
            return Err(FixtureError {
                line: entry.line,
                message: format!(
                    "duplicate path `{}`, first declared on line {first}",
                    entry.path
                ),
            });
        }
        let loaded = match &entry.declared {
            Declared::File(bytes) => person::write(&mut tree, &entry.path, bytes),
            Declared::Dir => person::mkdir(&mut tree, &entry.path),
            Declared::Link(target) => person::symlink(&mut tree, &entry.path, target),
            Declared::Fifo => person::mkfifo(&mut tree, &entry.path),
        };
        loaded.map_err(|message| FixtureError {
            line: entry.line,
            message,
        })?;
    }
    Ok(tree)
}

/// The tree as fixture text: one header per file, link and empty directory, sorted by
/// path. Content that the text form cannot carry exactly is written as hex.
pub(crate) fn render(tree: &Tree) -> String {
    let mut blocks: Vec<(String, String)> = Vec::new();
    tree.visit(|path, _, node| {
        match node {
            Node::File(file) => {
                blocks.push((path.to_owned(), render_file(path, &file.current.bytes)))
            }
            Node::Dir(dir) if dir.entries.is_empty() => {
                blocks.push((path.to_owned(), format!("{HEADER} {path}/\n")));
            }
            Node::Dir(_) => {}
            Node::Link(target) => {
                blocks.push((path.to_owned(), format!("{HEADER} {path} -> {target}\n")));
            }
            Node::Special => {
                blocks.push((path.to_owned(), format!("{HEADER} {path} {FIFO}\n")));
            }
        }
        true
    });
    blocks.sort();
    blocks.into_iter().map(|(_, block)| block).collect()
}

fn render_file(path: &str, bytes: &[u8]) -> String {
    match as_text(bytes) {
        Some(text) => format!("{HEADER} {path}\n{text}"),
        None => {
            let hex: String = bytes.iter().map(|b| format!(" {b:02x}")).collect();
            format!("{HEADER} {path} hex:{hex}\n")
        }
    }
}

/// `bytes` as text that parses back to exactly `bytes`: UTF-8, empty or ending in a
/// newline after a non-empty last line (trailing empty lines are dropped when parsing),
/// and no line that would read as a header.
fn as_text(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    if text.is_empty() {
        return Some(text);
    }
    let body = text.strip_suffix('\n')?;
    let last_line_empty = body.is_empty() || body.ends_with('\n');
    if last_line_empty || body.split('\n').any(|line| line.starts_with(HEADER)) {
        return None;
    }
    Some(text)
}

/// Removes the common leading whitespace (spaces and tabs) of the non-blank lines and
/// drops the leading blank lines; keeps each line's number in `text`. A blank line
/// shorter than the indentation becomes empty.
pub(crate) fn dedent(text: &str) -> Vec<(usize, &str)> {
    let is_blank = |line: &str| line.chars().all(|c| c == ' ' || c == '\t');
    let lines: Vec<(usize, &str)> = text
        .split('\n')
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .skip_while(|(_, line)| is_blank(line))
        .collect();
    let indent = lines
        .iter()
        .filter(|(_, line)| !is_blank(line))
        .map(|(_, line)| &line[..line.len() - line.trim_start_matches([' ', '\t']).len()])
        .reduce(common_prefix)
        .unwrap_or("");
    lines
        .into_iter()
        .map(|(number, line)| (number, line.strip_prefix(indent).unwrap_or("")))
        .collect()
}

fn common_prefix<'t>(a: &'t str, b: &'t str) -> &'t str {
    let shared = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    // Both are runs of ASCII whitespace, so any byte count is a character boundary.
    a.get(..shared).unwrap_or("")
}

/// A header and the lines that follow it, until the next header.
struct Open<'t> {
    line: usize,
    header: &'t str,
    path: WsPath,
    kind: HeaderKind,
    body: Vec<(usize, &'t str)>,
}

enum HeaderKind {
    Text,
    Hex(Vec<u8>),
    Dir,
    Link(String),
    Fifo,
}

fn parse(text: &str) -> Result<Vec<Entry>, FixtureError> {
    let mut entries = Vec::new();
    let mut open: Option<Open<'_>> = None;
    for (number, line) in dedent(text) {
        if line.starts_with(HEADER) {
            if let Some(done) = open.take() {
                entries.push(done.finish()?);
            }
            open = Some(parse_header(number, line)?);
            continue;
        }
        match &mut open {
            Some(open) => open.body.push((number, line)),
            None if line.is_empty() => {}
            None => {
                return Err(FixtureError {
                    line: number,
                    message: format!("text before the first `{HEADER} PATH` header"),
                });
            }
        }
    }
    if let Some(done) = open {
        entries.push(done.finish()?);
    }
    Ok(entries)
}

impl Open<'_> {
    fn finish(mut self) -> Result<Entry, FixtureError> {
        while self.body.last().is_some_and(|(_, line)| line.is_empty()) {
            self.body.pop();
        }
        // Only a text file has a body; lines under any other header are a mistake.
        let takes_body = matches!(self.kind, HeaderKind::Text);
        let first_line = self.body.iter().find(|(_, line)| !line.is_empty());
        if !takes_body && let Some((number, _)) = first_line {
            return Err(FixtureError {
                line: *number,
                message: format!("`{}` takes no content lines", self.header),
            });
        }
        let declared = match self.kind {
            HeaderKind::Text => {
                let mut bytes = Vec::new();
                for (_, line) in &self.body {
                    bytes.extend_from_slice(line.as_bytes());
                    bytes.push(b'\n');
                }
                Declared::File(bytes)
            }
            HeaderKind::Hex(bytes) => Declared::File(bytes),
            HeaderKind::Dir => Declared::Dir,
            HeaderKind::Link(target) => Declared::Link(target),
            HeaderKind::Fifo => Declared::Fifo,
        };
        Ok(Entry {
            line: self.line,
            path: self.path,
            declared,
        })
    }
}

fn parse_header(line: usize, text: &str) -> Result<Open<'_>, FixtureError> {
    let text = text.trim_end();
    let bad_header = || FixtureError {
        line,
        message: format!(
            "bad header `{text}`: expected `{HEADER} PATH`, `{HEADER} DIR/`, \
             `{HEADER} LINK -> TARGET`, `{HEADER} PATH hex: BYTES` or `{HEADER} PATH {FIFO}`"
        ),
    };
    let rest = text
        .strip_prefix(HEADER)
        .and_then(|rest| rest.strip_prefix(' '))
        .map(str::trim_end)
        .filter(|rest| !rest.trim_start().is_empty())
        .ok_or_else(bad_header)?;
    // A link whose target was forgotten, not a file named `x ->`.
    if rest.ends_with(" ->") {
        return Err(bad_header());
    }
    let (path, kind) = if let Some((path, target)) = rest.split_once(" -> ") {
        let target = target.trim();
        if target.is_empty() {
            return Err(bad_header());
        }
        (path, HeaderKind::Link(target.to_owned()))
    } else if let Some((path, hex)) = rest.split_once(" hex:") {
        (path, HeaderKind::Hex(parse_hex(line, hex)?))
    } else if let Some(path) = rest.strip_suffix(FIFO).and_then(|p| p.strip_suffix(' ')) {
        (path, HeaderKind::Fifo)
    } else if let Some(path) = rest.strip_suffix('/') {
        (path, HeaderKind::Dir)
    } else {
        (rest, HeaderKind::Text)
    };
    let path = path.trim();
    if path.is_empty() {
        return Err(bad_header());
    }
    let path = WsPath::new(path).map_err(|error| FixtureError {
        line,
        message: format!("invalid path `{path}`: {error}"),
    })?;
    Ok(Open {
        line,
        header: text,
        path,
        kind,
        body: Vec::new(),
    })
}

/// Bytes written as hex pairs, optionally separated by whitespace: `89 50 4e 47` or
/// `89504e47`.
fn parse_hex(line: usize, text: &str) -> Result<Vec<u8>, FixtureError> {
    let mut bytes = Vec::new();
    for token in text.split_ascii_whitespace() {
        let bad_hex = || FixtureError {
            line,
            message: format!("bad hex `{token}`: expected pairs of hexadecimal digits"),
        };
        if token.len() % 2 != 0 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad_hex());
        }
        for pair in token.as_bytes().chunks(2) {
            let digits = std::str::from_utf8(pair).map_err(|_| bad_hex())?;
            bytes.push(u8::from_str_radix(digits, 16).map_err(|_| bad_hex())?);
        }
    }
    Ok(bytes)
}
