//! Error messages that point into a file: `FILE:LINE:COLUMN: message`.
//!
//! Owns turning a byte offset into a 1-based line and column, and formatting TOML
//! deserialisation errors that way; the file name and message are shown safe for a
//! terminal. It does no I/O.

use crate::sanitize::terminal_safe;
use std::fmt;

/// A problem at a position in a named text file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// File name as the user knows it (a path, or `registry/ghosts/x.toml` for embedded data).
    pub file: String,
    /// 1-based line, when the position is known.
    pub line: Option<usize>,
    /// 1-based column in characters, when the position is known.
    pub column: Option<usize>,
    /// What is wrong, one line.
    pub message: String,
}

/// Shows `FILE:LINE:COLUMN: message` with the file name and the message made safe for a
/// terminal ([`terminal_safe`]): both can come from the user or from the file.
impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = terminal_safe(&self.file);
        let message = terminal_safe(&self.message);
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{file}:{l}:{c}: {message}"),
            (Some(l), None) => write!(f, "{file}:{l}: {message}"),
            _ => write!(f, "{file}: {message}"),
        }
    }
}

impl std::error::Error for FileError {}

/// 1-based (line, column) of byte `offset` in `text`; the column counts characters.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// The start offsets of a text's lines, computed once, so that many byte offsets can be
/// turned into (line, column) without rescanning the text for each one.
#[derive(Debug, Clone)]
pub struct LineIndex<'t> {
    text: &'t str,
    /// Byte offset of the first byte of each line, ascending; always starts with 0.
    starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    /// Indexes the lines of `text` in one pass.
    pub fn new(text: &'t str) -> LineIndex<'t> {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { text, starts }
    }

    /// 1-based (line, column) of byte `offset`, as [`line_col`] gives it: a binary search
    /// for the line, then the characters from the line's start to `offset`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        // `starts[0] == 0 <= offset`, so the partition point is at least 1.
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts.get(line.wrapping_sub(1)).copied().unwrap_or(0);
        let column = self.text.get(start..offset).map_or(0, |s| s.chars().count()) + 1;
        (line, column)
    }
}

impl FileError {
    /// An error at byte `offset` of `text` (or at no position when `offset` is `None`).
    pub fn at(file: &str, text: &str, offset: Option<usize>, message: impl Into<String>) -> FileError {
        let pos = offset.map(|o| line_col(text, o));
        FileError {
            file: file.to_string(),
            line: pos.map(|p| p.0),
            column: pos.map(|p| p.1),
            message: message.into(),
        }
    }

    /// Converts a `toml` deserialisation error, keeping its span as line and column and
    /// its message on one line.
    pub fn from_toml(file: &str, text: &str, err: &toml::de::Error) -> FileError {
        let message = err.message().trim().replace('\n', "; ");
        FileError::at(file, text, err.span().map(|s| s.start), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let t = "ab\ncdé\nx";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 1));
        assert_eq!(line_col(t, 7), (2, 4));
        assert_eq!(line_col(t, 8), (3, 1));
        assert_eq!(line_col(t, 100), (3, 2));
    }

    #[test]
    fn line_index_agrees_with_line_col() {
        for t in ["", "\n", "ab\ncdé\nx", "\n\nabc\n", "é\né\n"] {
            let index = LineIndex::new(t);
            for offset in 0..=t.len() + 2 {
                if t.is_char_boundary(offset.min(t.len())) {
                    assert_eq!(index.line_col(offset), line_col(t, offset), "{t:?} at {offset}");
                }
            }
        }
    }
}
