//! Positions in the project's files, as people read them: file, 1-based line, 1-based
//! column counted in characters.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

/// A place in a file of the project, with the message of what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Located {
    /// The file, relative to the project root (`assets/sprites/hero/asset.json`).
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Line and column (both 1-based, the column in characters) of byte `offset` in `text`.
/// An offset past the end, or inside a multi-byte character, is clamped to the nearest
/// character boundary before it.
pub fn line_col(text: &[u8], offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    // Count characters, not bytes: UTF-8 continuation bytes do not start a character.
    // Invalid UTF-8 counts one column per byte that is not a continuation byte.
    // A byte-order mark is invisible in every editor: it takes no column.
    let line_start = if line_start == 0 && before.starts_with(BOM) {
        BOM.len()
    } else {
        line_start
    };
    let column = before[line_start..]
        .iter()
        .filter(|&&b| (b & 0xC0) != 0x80)
        .count()
        + 1;
    (saturate(line), saturate(column))
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Line starts of a text, for turning many offsets into positions without rescanning
/// the text each time (the registry has one position per asset).
#[derive(Debug, Clone)]
pub struct LineIndex<'t> {
    text: Cow<'t, [u8]>,
    starts: Vec<usize>,
    /// The last position answered (line start, offset, column): a later offset on the
    /// same line counts on from it, so that the many positions of one long line (a
    /// minified registry) cost one pass over it, not one each.
    last: Cell<Option<(usize, usize, u32)>>,
}

impl<'t> LineIndex<'t> {
    pub fn new(text: &'t [u8]) -> LineIndex<'t> {
        LineIndex::of(Cow::Borrowed(text))
    }

    /// An index that owns its text.
    pub fn owned(text: Vec<u8>) -> LineIndex<'static> {
        LineIndex::of(Cow::Owned(text))
    }

    fn of(text: Cow<'t, [u8]>) -> LineIndex<'t> {
        let mut starts = vec![0];
        starts.extend(
            text.iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex {
            text,
            starts,
            last: Cell::new(None),
        }
    }

    /// The same as [`line_col`], in time proportional to the length of the line, or to
    /// the distance from the last position asked when that lies before on the same line.
    pub fn line_col(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts.get(line.wrapping_sub(1)).copied().unwrap_or(0);
        let column = match self.last.get() {
            // Past a first line's byte-order mark, characters count the same everywhere.
            Some((s, o, c)) if s == start && o <= offset && (start > 0 || o >= BOM.len()) => {
                let more = self.text[o..offset]
                    .iter()
                    .filter(|&&b| (b & 0xC0) != 0x80)
                    .count();
                c.saturating_add(saturate(more))
            }
            // On the first line, a byte-order mark is handled by `line_col` itself.
            _ => line_col(&self.text[start..], offset - start).1,
        };
        self.last.set(Some((start, offset, column)));
        (saturate(line), column)
    }

    /// The excerpt of the line holding byte `offset`, for a diagnostic placed there.
    pub fn excerpt(&self, offset: usize) -> Excerpt {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts.get(line.wrapping_sub(1)).copied().unwrap_or(0);
        let end = self
            .starts
            .get(line)
            .map_or(self.text.len(), |next| next - 1);
        Excerpt::of_line(&self.text[start..end], offset - start, start == 0)
    }

    /// The excerpt of line `line` (1-based) at `column` (1-based, in characters), for a
    /// diagnostic that names a place but was made without the file's bytes. `None` when
    /// the file has no such line.
    pub fn excerpt_at(&self, line: u32, column: u32) -> Option<Excerpt> {
        let index = usize::try_from(line.checked_sub(1)?).ok()?;
        let start = *self.starts.get(index)?;
        let end = self
            .starts
            .get(index + 1)
            .map_or(self.text.len(), |next| next - 1);
        let raw = &self.text[start..end];
        let skip = if start == 0 && raw.starts_with(BOM) {
            BOM.len()
        } else {
            0
        };
        // The byte where character `column` starts (or the end of the line), counted on
        // from the last position asked when that lies before it on the same line.
        let (from, counted) = match self.last.get() {
            Some((s, o, c)) if s == start && c <= column && (start > 0 || o >= BOM.len()) => {
                (o - start, c)
            }
            _ => (skip, 1),
        };
        let wanted = usize::try_from(column.saturating_sub(counted)).unwrap_or(usize::MAX);
        let at = raw[from..]
            .iter()
            .enumerate()
            .filter(|&(_, &b)| (b & 0xC0) != 0x80)
            .nth(wanted)
            .map_or(raw.len(), |(i, _)| from + i);
        if at < raw.len() {
            self.last.set(Some((start, start + at, column)));
        }
        Some(Excerpt::of_line(raw, at, start == 0))
    }
}

/// The most characters an excerpt shows of a line. A longer line (a minified file) is
/// cut to a window around the caret, so that neither a report nor the memory holding
/// one gets the whole line once per error.
pub const EXCERPT_CHARS: usize = 160;

/// The characters a cut excerpt keeps before its caret, at least.
pub const EXCERPT_LEAD: usize = 60;

/// The offending line under a diagnostic: its text, without the line ending, a leading
/// byte-order mark or, when it is longer than [`EXCERPT_CHARS`], what lies outside a
/// window around the caret (a cut end is marked `…`), lossily decoded; and the 1-based character of `text` that the
/// caret points at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Excerpt {
    pub text: String,
    pub caret: u32,
}

impl Excerpt {
    /// The excerpt of `line` (one line's bytes, without its `\n`) with the caret at
    /// byte `at` of it; `first` says whether it is the file's first line, where a
    /// byte-order mark may stand.
    fn of_line(line: &[u8], at: usize, first: bool) -> Excerpt {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let from = if first && line.starts_with(BOM) {
            BOM.len()
        } else {
            0
        };
        let at = at.clamp(from, line.len());
        let starts_char = |i: usize| (line[i] & 0xC0) != 0x80;
        // `n` characters on from `p` (fewer at the end): where that ends, and how many.
        let forward = |mut p: usize, n: usize| {
            let mut k = 0;
            while p < line.len() && k < n {
                p += 1;
                while p < line.len() && !starts_char(p) {
                    p += 1;
                }
                k += 1;
            }
            (p, k)
        };
        let backward = |mut p: usize, n: usize| {
            let mut k = 0;
            while p > from && k < n {
                p -= 1;
                while p > from && !starts_char(p) {
                    p -= 1;
                }
                k += 1;
            }
            (p, k)
        };
        // A short line whole; a long one with what follows the caret, keeping at least
        // EXCERPT_LEAD characters before it.
        let (_, after) = forward(at, EXCERPT_CHARS);
        let (begin, before) = backward(at, EXCERPT_CHARS - after.min(EXCERPT_CHARS - EXCERPT_LEAD));
        let (end, _) = forward(at, EXCERPT_CHARS - before);
        let cut_before = begin > from;
        let mut text = String::new();
        if cut_before {
            text.push('…');
        }
        text.push_str(&String::from_utf8_lossy(&line[begin..end]));
        if end < line.len() {
            text.push('…');
        }
        let caret =
            String::from_utf8_lossy(&line[begin..at]).chars().count() + usize::from(cut_before) + 1;
        Excerpt {
            text,
            caret: saturate(caret),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_lines_and_characters() {
        let text = "ab\nçd\n\"é\"x".as_bytes();
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 2), (1, 3));
        assert_eq!(line_col(text, 3), (2, 1));
        // `ç` is two bytes: `d` sits in column 2.
        assert_eq!(line_col(text, 5), (2, 2));
        let x = text.len() - 1;
        assert_eq!(line_col(text, x), (3, 4));
        assert_eq!(line_col(text, 10_000), (3, 5));
        assert_eq!(line_col(b"\xEF\xBB\xBF[x", 4), (1, 2));
        let index = LineIndex::new(text);
        for offset in 0..text.len() + 3 {
            assert_eq!(index.line_col(offset), line_col(text, offset), "{offset}");
        }
        let bom = b"\xEF\xBB\xBF[x\n y";
        let index = LineIndex::new(bom);
        for offset in 0..bom.len() {
            assert_eq!(index.line_col(offset), line_col(bom, offset), "{offset}");
        }
        // Asked in any order, the index answers as the plain count does.
        let long = "{\"a\": [1, 2, \"é\", 3]}\n  \"b\"".as_bytes();
        let index = LineIndex::new(long);
        for offset in (0..long.len())
            .rev()
            .chain(0..long.len())
            .chain([7, 3, 12, 2])
        {
            assert_eq!(index.line_col(offset), line_col(long, offset), "{offset}");
        }
    }

    fn excerpt(text: &str, offset: usize) -> (String, u32) {
        let e = LineIndex::new(text.as_bytes()).excerpt(offset);
        (e.text, e.caret)
    }

    #[test]
    fn an_excerpt_is_the_line_around_its_caret() {
        assert_eq!(excerpt("ab\r\nçd\r\n", 6), ("çd".to_owned(), 2));
        assert_eq!(excerpt("\u{feff}{x", 4), ("{x".to_owned(), 2));
        assert_eq!(excerpt("[1,", 3), ("[1,".to_owned(), 4));
        // A line of EXCERPT_CHARS is whole; a longer one is cut to a window around the
        // caret, marked at both cuts.
        let line = format!("{}X{}", "a".repeat(100), "b".repeat(EXCERPT_CHARS - 101));
        assert_eq!(excerpt(&line, 100), (line.clone(), 101));
        let line = format!("{}X{}", "a".repeat(500), "b".repeat(500));
        let (text, caret) = excerpt(&line, 500);
        let after = "b".repeat(EXCERPT_CHARS - EXCERPT_LEAD - 1);
        let expected = format!("…{}X{after}…", "a".repeat(EXCERPT_LEAD));
        assert_eq!((text.as_str(), caret), (expected.as_str(), 62));
        let (text, caret) = excerpt(&line, 990);
        // Near the end, the window takes more of what comes before.
        let expected = format!("…{}", "b".repeat(EXCERPT_CHARS));
        assert_eq!(
            (text.as_str(), caret),
            (expected.as_str(), EXCERPT_CHARS as u32 - 9)
        );
        // Counted in characters, whatever their width in bytes.
        let line = format!("{}X", "é".repeat(200));
        let (text, caret) = excerpt(&line, 400);
        assert_eq!(text, format!("…{}X", "é".repeat(EXCERPT_CHARS - 1)));
        assert_eq!(text.chars().nth(caret as usize - 1), Some('X'));
        // By line and column, for a diagnostic made without the bytes.
        let index = LineIndex::new("{\n  \"é\": 7\n}".as_bytes());
        let at = index.excerpt_at(2, 9).unwrap();
        assert_eq!((at.text.as_str(), at.caret), ("  \"é\": 7", 9));
        assert_eq!(index.excerpt_at(4, 1), None);
        assert_eq!(index.excerpt_at(0, 1), None);
        let bom = LineIndex::new(b"\xEF\xBB\xBF{\"x\"");
        let at = bom.excerpt_at(1, 2).unwrap();
        assert_eq!((at.text.as_str(), at.caret), ("{\"x\"", 2));
    }
}
