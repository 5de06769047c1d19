//! Validated workspace paths: the only path type the domain and its ports speak.
//!
//! A [`WsPath`] is relative to the project's `assets/` directory, `/`-separated,
//! normalised and valid UTF-8. It can never name anything outside the workspace,
//! so a port that joins it onto its own root cannot be steered elsewhere.
//! An [`AssetPath`] is a `WsPath` that may also be written by users as an asset root
//! or an input: it may not reach into `.prometeu`.

use std::fmt;
use std::sync::Arc;

/// The name of the packer's own directory directly under `assets/`.
pub const PROMETEU_DIR: &str = ".prometeu";
/// The declaration file name that marks a directory as an asset root.
pub const DECLARATION_FILE: &str = "asset.json";

/// Why a string is not a valid workspace path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path is empty")]
    Empty,
    #[error("the path is absolute; it must be relative to its base")]
    Absolute,
    #[error("the path contains a backslash; use `/` as the separator")]
    Backslash,
    #[error("the path has an empty segment (`//` or a trailing `/`)")]
    EmptySegment,
    #[error("the path has a `.` segment")]
    CurrentDir,
    #[error("the path has a `..` segment; it may not leave its base")]
    ParentDir,
    #[error("the path contains a NUL or control character")]
    ControlCharacter,
    #[error("the path lies under `.prometeu`, which belongs to the packer")]
    Reserved,
    #[error("a single file name was expected, not a path")]
    NotASegment,
    #[error("the path is {0} bytes long; the limit is {MAX_PATH_BYTES}")]
    TooLong(usize),
    #[error(
        "a file or folder name in the path is {0} bytes long; the limit is {MAX_SEGMENT_BYTES}"
    )]
    SegmentTooLong(usize),
}

/// Longest path, in bytes, the packer accepts: far above any real project and below
/// the `PATH_MAX` of common file systems.
pub const MAX_PATH_BYTES: usize = 1024;

/// Longest file or folder name, in bytes: the `NAME_MAX` of common file systems. A
/// longer name can never exist on disk, so a command that would create one must be
/// refused before its commit point rather than fail while applying it.
pub const MAX_SEGMENT_BYTES: usize = 255;

/// A normalised, relative, `/`-separated UTF-8 path inside the workspace.
///
/// Ordering is byte-wise on the string, which sorts a directory before its contents
/// and gives the same order on every machine.
///
/// The text is shared: a snapshot, the registry a plan makes from it and the next
/// generation hold the same paths, so copying an entry of a large project allocates
/// nothing.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WsPath(Arc<str>);

/// A [`WsPath`] usable as an asset root or an input: not under `.prometeu`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AssetPath(WsPath);

impl WsPath {
    /// The workspace directory itself (`assets/`). It is the only empty `WsPath`; it
    /// cannot be parsed from user input and is never an asset root.
    pub fn root() -> WsPath {
        WsPath(Arc::from(""))
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// Validates `s` as a workspace path.
    pub fn new(s: &str) -> Result<WsPath, PathError> {
        validate(s)?;
        Ok(WsPath(Arc::from(s)))
    }

    /// `assets/.prometeu/<rest>`; `rest` must itself be a valid path.
    pub fn internal(rest: &str) -> Result<WsPath, PathError> {
        validate(rest)?;
        Ok(WsPath(concat(PROMETEU_DIR, rest)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Appends a relative path (itself validated) below this one.
    pub fn join(&self, rest: &WsPath) -> WsPath {
        match (self.is_root(), rest.is_root()) {
            (true, _) => rest.clone(),
            (false, true) => self.clone(),
            (false, false) => WsPath(concat(&self.0, &rest.0)),
        }
    }

    /// Appends one file name. Fails if `name` is not a single valid segment.
    pub fn child(&self, name: &str) -> Result<WsPath, PathError> {
        WsPath::check_segment(name)?;
        if self.is_root() {
            return Ok(WsPath(Arc::from(name)));
        }
        Ok(WsPath(concat(&self.0, name)))
    }

    /// Whether [`child`](Self::child) would accept `name`, without building a path: a
    /// walk checks every name it lists but keeps them in one shared buffer.
    pub fn check_segment(name: &str) -> Result<(), PathError> {
        validate(name)?;
        if name.contains('/') {
            return Err(PathError::NotASegment);
        }
        Ok(())
    }

    /// The last segment.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The path without its last segment: the root for a single-segment path, `None`
    /// for the root.
    pub fn parent(&self) -> Option<WsPath> {
        if self.is_root() {
            return None;
        }
        Some(match self.0.rfind('/') {
            Some(i) => WsPath(Arc::from(&self.0[..i])),
            None => WsPath::root(),
        })
    }

    /// Whether `self` is `base` or lies below it, segment-wise (`a/bc` is not below `a/b`).
    pub fn starts_with(&self, base: &WsPath) -> bool {
        base.is_root()
            || self.0 == base.0
            || (self.0.len() > base.0.len()
                && self.0.starts_with(&*base.0)
                && self.0.as_bytes()[base.0.len()] == b'/')
    }

    /// The part of `self` below `base`, if `self` lies strictly below it.
    pub fn strip_prefix(&self, base: &WsPath) -> Option<WsPath> {
        if base.is_root() {
            return (!self.is_root()).then(|| self.clone());
        }
        if self.0.len() > base.0.len() && self.starts_with(base) {
            Some(WsPath(Arc::from(&self.0[base.0.len() + 1..])))
        } else {
            None
        }
    }

    /// The `/`-separated segments.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|s| !s.is_empty())
    }

    /// The path as written under the project directory, for messages: `assets/<path>`.
    pub fn display_in_project(&self) -> String {
        if self.is_root() {
            "assets".to_owned()
        } else {
            format!("assets/{}", self.0)
        }
    }

    /// Whether the path is `.prometeu` or lies below it.
    pub fn is_internal(&self) -> bool {
        self.segments().next() == Some(PROMETEU_DIR)
    }

    /// A path known to be valid because it was validated when it was taken apart (a
    /// directory path and one of its entry names, each checked as it was listed).
    pub(crate) fn trusted(path: &str) -> WsPath {
        WsPath(Arc::from(path))
    }
}

impl AssetPath {
    /// Validates `s` as an asset root or input path.
    pub fn new(s: &str) -> Result<AssetPath, PathError> {
        let path = WsPath::new(s)?;
        AssetPath::from_ws(path)
    }

    /// Checks the extra rule of asset paths on an already valid workspace path.
    pub fn from_ws(path: WsPath) -> Result<AssetPath, PathError> {
        if path.is_internal() {
            return Err(PathError::Reserved);
        }
        Ok(AssetPath(path))
    }

    pub fn as_ws(&self) -> &WsPath {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The path of this root's `asset.json`.
    pub fn declaration_path(&self) -> WsPath {
        WsPath(concat(&self.0.0, DECLARATION_FILE))
    }

    /// The root whose `asset.json` is at `path`: the inverse of
    /// [`declaration_path`](Self::declaration_path). `None` for any other file.
    pub fn of_declaration(path: &WsPath) -> Option<AssetPath> {
        if path.file_name() != DECLARATION_FILE {
            return None;
        }
        AssetPath::from_ws(path.parent()?).ok()
    }

    /// Orders paths segment by segment, so that a folder's descendants directly follow
    /// it (`a`, `a/b`, `a-b`); byte order would put `a-b` between `a` and `a/b`.
    pub fn cmp_segments(&self, other: &AssetPath) -> std::cmp::Ordering {
        // `/` compared as the lowest byte gives segment order: no segment holds a NUL.
        // Only the first differing byte decides, so skip the common prefix (roots of one
        // folder share long ones) eight bytes at a time before mapping anything.
        let (a, b) = (self.as_str().as_bytes(), other.as_str().as_bytes());
        let common = common_prefix(a, b);
        let key = |b: u8| if b == b'/' { 0 } else { b };
        match (a.get(common), b.get(common)) {
            (Some(&x), Some(&y)) => key(x).cmp(&key(y)),
            _ => a.len().cmp(&b.len()),
        }
    }

    /// An input of the asset rooted here.
    pub fn join(&self, input: &AssetPath) -> AssetPath {
        AssetPath(self.0.join(&input.0))
    }

    pub fn file_name(&self) -> &str {
        self.0.file_name()
    }

    /// The paths this one lies below, segment-wise, outermost first: `a` and `a/b` for
    /// `a/b/c` (`a-b` is not below `a`).
    pub fn ancestors(&self) -> impl Iterator<Item = &str> {
        let text = self.as_str();
        text.match_indices('/').map(move |(cut, _)| &text[..cut])
    }

    /// [`ancestors`](Self::ancestors), then this path itself: `a`, `a/b` and `a/b/c` for
    /// `a/b/c`.
    pub fn at_and_above(&self) -> impl Iterator<Item = &str> {
        self.ancestors().chain([self.as_str()])
    }

    /// The run of `sorted` (in byte order of `key`) whose paths lie below this one,
    /// segment-wise: in byte order they follow `self/` together.
    pub fn below_in<'a, T>(&self, sorted: &'a [T], key: impl Fn(&T) -> &str) -> &'a [T] {
        let prefix = format!("{}/", self.as_str());
        let start = sorted.partition_point(|item| key(item) < prefix.as_str());
        let rest = &sorted[start..];
        let len = rest.partition_point(|item| key(item).starts_with(&prefix));
        &rest[..len]
    }
}

/// The length of the longest common prefix of `a` and `b`.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let mut done = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        if x != y {
            break;
        }
        done += 8;
    }
    done + a[done..]
        .iter()
        .zip(&b[done..])
        .take_while(|(x, y)| x == y)
        .count()
}

/// `a/b`, in one allocation.
fn concat(a: &str, b: &str) -> Arc<str> {
    let mut out = String::with_capacity(a.len() + 1 + b.len());
    out.push_str(a);
    out.push('/');
    out.push_str(b);
    Arc::from(out)
}

fn validate(s: &str) -> Result<(), PathError> {
    if s.is_empty() {
        return Err(PathError::Empty);
    }
    if s.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong(s.len()));
    }
    // One pass over the bytes (every name a scan lists comes through here); the errors
    // are then reported in a fixed order whatever their places in the path.
    let bytes = s.as_bytes();
    let mut backslash = false;
    let mut control = false;
    let mut bad_segment = None;
    let mut segment_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\\' => backslash = true,
            // C0 controls and DEL; the C1 controls (U+0080 to U+009F) are `C2 80`..`C2 9F`
            // in UTF-8. These are exactly the characters `char::is_control` accepts.
            0x00..=0x1F | 0x7F => control = true,
            0xC2 if matches!(bytes.get(i + 1), Some(0x80..=0x9F)) => control = true,
            b'/' => {
                bad_segment = bad_segment.or(segment_error(&bytes[segment_start..i]));
                segment_start = i + 1;
            }
            _ => {}
        }
    }
    bad_segment = bad_segment.or(segment_error(&bytes[segment_start..]));
    if backslash {
        return Err(PathError::Backslash);
    }
    if s.starts_with('/') || looks_like_drive(s) {
        return Err(PathError::Absolute);
    }
    if control {
        return Err(PathError::ControlCharacter);
    }
    bad_segment.map_or(Ok(()), Err)
}

/// What is wrong with one `/`-separated segment, if anything.
fn segment_error(segment: &[u8]) -> Option<PathError> {
    match segment {
        b"" => Some(PathError::EmptySegment),
        b"." => Some(PathError::CurrentDir),
        b".." => Some(PathError::ParentDir),
        _ if segment.len() > MAX_SEGMENT_BYTES => Some(PathError::SegmentTooLong(segment.len())),
        _ => None,
    }
}

/// `C:` and friends: absolute on Windows, and never a sensible asset folder name.
fn looks_like_drive(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

/// Looked up by its text: maps keyed by path answer for a `&str` (its hash and order
/// are those of the text).
impl std::borrow::Borrow<str> for WsPath {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// Looked up by its text, as [`WsPath`] is.
impl std::borrow::Borrow<str> for AssetPath {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for WsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for WsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for AssetPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for AssetPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl serde::Serialize for WsPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl serde::Serialize for AssetPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, PathError>) {
        let got = AssetPath::new(input).map(|p| p.as_str().to_owned());
        assert_eq!(got, expected.map(str::to_owned), "input: {input:?}");
    }

    #[test]
    fn accepts_normal_paths() {
        check("sprites/hero", Ok("sprites/hero"));
        check("a", Ok("a"));
        check("héros/épée.png", Ok("héros/épée.png"));
        check(".hidden/x", Ok(".hidden/x"));
        check("a/.prometeu", Ok("a/.prometeu"));
        let longest = "x".repeat(MAX_SEGMENT_BYTES);
        check(
            &format!("{longest}/{longest}"),
            Ok(&format!("{longest}/{longest}")),
        );
    }

    #[test]
    fn finds_relatives_segment_wise() {
        let path = |s: &str| AssetPath::new(s).unwrap();
        let deep = path("a/b/c");
        assert_eq!(deep.ancestors().collect::<Vec<_>>(), ["a", "a/b"]);
        assert_eq!(path("a").ancestors().count(), 0);
        assert_eq!(
            deep.at_and_above().collect::<Vec<_>>(),
            ["a", "a/b", "a/b/c"]
        );

        let mut sorted = ["a", "a/b", "a/b/c", "a/bc", "a-b", "a/b-c", "b", "a/b/c/d"];
        sorted.sort_unstable();
        let below = |root: &str| path(root).below_in(&sorted, |s| s).to_vec();
        assert_eq!(below("a/b"), ["a/b/c", "a/b/c/d"]);
        assert_eq!(below("a"), ["a/b", "a/b-c", "a/b/c", "a/b/c/d", "a/bc"]);
        assert!(below("a/b/c/d").is_empty());
        assert!(below("c").is_empty());
    }

    #[test]
    fn rejects_bad_paths() {
        check("", Err(PathError::Empty));
        check("/abs", Err(PathError::Absolute));
        check("C:/x", Err(PathError::Absolute));
        check("a\\b", Err(PathError::Backslash));
        check("a//b", Err(PathError::EmptySegment));
        check("a/", Err(PathError::EmptySegment));
        check("./a", Err(PathError::CurrentDir));
        check("a/../b", Err(PathError::ParentDir));
        check("..", Err(PathError::ParentDir));
        check(".prometeu", Err(PathError::Reserved));
        check(".prometeu/index.json", Err(PathError::Reserved));
        check("a\0b", Err(PathError::ControlCharacter));
        check(&"x".repeat(2000), Err(PathError::TooLong(2000)));
        // A name no file system can hold: refused before a commit would try to create it.
        check(
            &format!("a/{}", "x".repeat(256)),
            Err(PathError::SegmentTooLong(256)),
        );
        check(&"é".repeat(128), Err(PathError::SegmentTooLong(256)));
    }

    /// The single-pass check against the obvious one, on paths mixing every problem.
    #[test]
    fn validation_matches_the_plain_rules() {
        fn plain(s: &str) -> Result<(), PathError> {
            if s.is_empty() {
                return Err(PathError::Empty);
            }
            if s.len() > MAX_PATH_BYTES {
                return Err(PathError::TooLong(s.len()));
            }
            if s.contains('\\') {
                return Err(PathError::Backslash);
            }
            if s.starts_with('/') || looks_like_drive(s) {
                return Err(PathError::Absolute);
            }
            if s.chars().any(char::is_control) {
                return Err(PathError::ControlCharacter);
            }
            for segment in s.split('/') {
                match segment {
                    "" => return Err(PathError::EmptySegment),
                    "." => return Err(PathError::CurrentDir),
                    ".." => return Err(PathError::ParentDir),
                    _ if segment.len() > MAX_SEGMENT_BYTES => {
                        return Err(PathError::SegmentTooLong(segment.len()));
                    }
                    _ => {}
                }
            }
            Ok(())
        }
        let long = "é".repeat(128);
        let parts = [
            "a",
            "",
            ".",
            "..",
            "\\",
            "x\u{1}",
            "\u{7f}",
            "\u{85}",
            "\u{9f}",
            "\u{a0}",
            "é",
            "\u{200b}",
            "C:",
            "/",
            long.as_str(),
        ];
        for a in parts {
            for b in parts {
                for c in parts {
                    for sep in ["/", ""] {
                        let s = format!("{a}{sep}{b}/{c}");
                        assert_eq!(validate(&s), plain(&s), "{s:?}");
                    }
                }
            }
        }
    }

    /// The prefix-skipping comparison against the byte-by-byte one.
    #[test]
    fn segment_order_matches_the_plain_comparison() {
        let plain = |a: &AssetPath, b: &AssetPath| {
            let key = |b: &u8| if *b == b'/' { 0 } else { *b };
            a.as_str()
                .as_bytes()
                .iter()
                .map(key)
                .cmp(b.as_str().as_bytes().iter().map(key))
        };
        let parts = [
            "a",
            "a-b",
            "a/b",
            "abcdefgh",
            "abcdefghi",
            "abcdefg/h",
            "b",
            "ab.c",
        ];
        let paths: Vec<AssetPath> = parts
            .iter()
            .flat_map(|x| parts.iter().map(move |y| format!("{x}/{y}")))
            .chain(parts.iter().map(|x| (*x).to_owned()))
            .map(|s| AssetPath::new(&s).unwrap())
            .collect();
        for a in &paths {
            for b in &paths {
                assert_eq!(a.cmp_segments(b), plain(a, b), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn prefix_is_segment_wise() {
        let ab = WsPath::new("a/b").unwrap();
        assert!(WsPath::new("a/b/c").unwrap().starts_with(&ab));
        assert!(ab.starts_with(&ab));
        assert!(!WsPath::new("a/bc").unwrap().starts_with(&ab));
        assert_eq!(
            WsPath::new("a/b/c/d").unwrap().strip_prefix(&ab),
            Some(WsPath::new("c/d").unwrap())
        );
        assert_eq!(ab.strip_prefix(&ab), None);
        assert_eq!(ab.parent(), Some(WsPath::new("a").unwrap()));
        assert_eq!(WsPath::new("a").unwrap().parent(), Some(WsPath::root()));
        assert_eq!(WsPath::root().parent(), None);
        assert!(ab.starts_with(&WsPath::root()));
        assert_eq!(WsPath::root().join(&ab), ab);
        assert_eq!(
            WsPath::root().child("x").unwrap(),
            WsPath::new("x").unwrap()
        );
        let mut roots: Vec<AssetPath> = ["a-b", "a/b", "a", "a/b/c", "a.b", "ab"]
            .iter()
            .map(|s| AssetPath::new(s).unwrap())
            .collect();
        roots.sort_by(AssetPath::cmp_segments);
        let sorted: Vec<&str> = roots.iter().map(AssetPath::as_str).collect();
        assert_eq!(sorted, ["a", "a/b", "a/b/c", "a-b", "a.b", "ab"]);
    }
}
