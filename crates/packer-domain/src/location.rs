//! Positions in the project's files, as people read them: file, 1-based line, 1-based
//! column counted in characters.

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
    text: &'t [u8],
    starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    pub fn new(text: &'t [u8]) -> LineIndex<'t> {
        let mut starts = vec![0];
        starts.extend(
            text.iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { text, starts }
    }

    /// The same as [`line_col`], in time proportional to the length of the line.
    pub fn line_col(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts.get(line.wrapping_sub(1)).copied().unwrap_or(0);
        let (_, column) = line_col(&self.text[start..], offset - start);
        // On the first line, a byte-order mark is handled by `line_col` itself.
        let column = if start == 0 {
            line_col(self.text, offset).1
        } else {
            column
        };
        (saturate(line), column)
    }

    /// The text of line `line` (1-based), as [`line_text`] gives it.
    pub fn line_text(&self, line: u32) -> Option<String> {
        let index = usize::try_from(line.checked_sub(1)?).ok()?;
        let start = *self.starts.get(index)?;
        let end = self
            .starts
            .get(index + 1)
            .map_or(self.text.len(), |next| next - 1);
        let raw = &self.text[start..end];
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        Some(String::from_utf8_lossy(raw).into_owned())
    }
}

/// The text of line `line` (1-based) of `text`, without its line ending, lossily decoded.
pub fn line_text(text: &[u8], line: u32) -> Option<String> {
    let index = usize::try_from(line.checked_sub(1)?).ok()?;
    let raw = text.split(|&b| b == b'\n').nth(index)?;
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    Some(String::from_utf8_lossy(raw).into_owned())
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
        assert_eq!(line_text(text, 2).as_deref(), Some("çd"));
        assert_eq!(line_text(text, 9), None);
        assert_eq!(line_text(text, 0), None);
        let index = LineIndex::new(text);
        for line in 0..5 {
            assert_eq!(index.line_text(line), line_text(text, line), "{line}");
        }
    }
}
