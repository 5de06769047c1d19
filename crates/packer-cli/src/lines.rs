//! Line streams for the long-running commands (`serve`, `watch`): a reader that takes one
//! line at a time with a bound on its length (a client cannot make the server hold an
//! endless line in memory), and the one writer every outgoing line goes through, so that
//! lines written by the main thread and events from the runtime's threads never
//! interleave inside a line.

use std::io::{self, BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use packer_domain::event::Event;
use packer_domain::ports::EventPort;

/// The longest request line taken, in bytes. A batch of thousands of commands fits; a
/// longer line is answered with `parse_error` and skipped to its end.
pub const MAX_LINE_BYTES: usize = 8 << 20;

/// What the next line of the input is.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A whole line (without its `\n`), in the reader's buffer.
    Complete,
    /// A line longer than the bound, of this many bytes; it was read to its end and
    /// dropped.
    TooLong(usize),
    /// The input ended.
    Eof,
}

/// Reads the next line into `buffer` (cleared first), holding at most `max` bytes of it.
/// A last line without `\n` is still a line.
pub fn next_line(input: &mut dyn BufRead, max: usize, buffer: &mut Vec<u8>) -> io::Result<Line> {
    buffer.clear();
    let mut length = 0usize;
    let mut seen_any = false;
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(match (seen_any, length > max) {
                (false, _) => Line::Eof,
                (true, true) => Line::TooLong(length),
                (true, false) => Line::Complete,
            });
        }
        seen_any = true;
        let (chunk, used, ended) = match available.iter().position(|&b| b == b'\n') {
            Some(end) => (&available[..end], end + 1, true),
            None => (available, available.len(), false),
        };
        length = length.saturating_add(chunk.len());
        if length <= max {
            buffer.extend_from_slice(chunk);
        } else if !buffer.is_empty() {
            // Past the bound the content is of no use; give the memory back at once.
            *buffer = Vec::new();
        }
        input.consume(used);
        if ended {
            return Ok(if length > max {
                Line::TooLong(length)
            } else {
                Line::Complete
            });
        }
    }
}

/// The single writer of the output stream. Each line is written whole, then flushed,
/// under one lock.
pub struct LineSink {
    out: Mutex<Box<dyn Write + Send>>,
    /// Set when a write failed: the client is gone, nobody reads what follows.
    closed: AtomicBool,
}

impl std::fmt::Debug for LineSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineSink")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl LineSink {
    pub fn new(out: Box<dyn Write + Send>) -> LineSink {
        LineSink {
            out: Mutex::new(out),
            closed: AtomicBool::new(false),
        }
    }

    /// Writes `text` and a `\n` as one line.
    pub fn line(&self, text: &str) {
        // A writer that panicked mid-line left at worst a partial line; the next one
        // still starts on a line of its own only if we go on, which beats going silent.
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        let written = out
            .write_all(text.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        if written.is_err() {
            self.closed.store(true, Ordering::Relaxed);
        }
    }

    /// Writes `value` as one line of compact JSON.
    pub fn json<T: serde::Serialize>(&self, value: &T) {
        // Every value written here is made of maps with string keys and plain data,
        // which always encode; should one not, the line is dropped rather than half
        // written.
        if let Ok(text) = crate::output::json_line(value) {
            self.line(&text);
        }
    }

    /// Writes a line for people, its control characters escaped
    /// ([`printable`](crate::output::printable)).
    pub fn text(&self, text: &str) {
        self.line(&crate::output::printable(text));
    }

    /// Whether a write has failed (the reader of the output went away).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }
}

/// The event port that writes each event through the sink: as a JSON line, or as text
/// for people.
#[derive(Debug, Clone)]
pub struct EventLines {
    sink: Arc<LineSink>,
    human: bool,
}

impl EventLines {
    /// Events as JSON lines, exactly as docs/events.md shows them.
    pub fn json(sink: Arc<LineSink>) -> EventLines {
        EventLines { sink, human: false }
    }

    /// Events as readable lines (`generation 2  state stale -> ready`).
    pub fn human(sink: Arc<LineSink>) -> EventLines {
        EventLines { sink, human: true }
    }
}

impl EventPort for EventLines {
    fn publish(&self, event: Event) {
        if self.human {
            let text = format!(
                "generation {}  {}",
                event.generation(),
                crate::events::describe(&event)
            );
            self.sink.text(&text);
        } else {
            self.sink.json(&event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads every line of `input` with a bound of `max`, describing each.
    fn check(input: &[u8], max: usize, expected: &[&str]) {
        let mut reader = io::BufReader::with_capacity(4, input);
        let mut buffer = Vec::new();
        let mut got = Vec::new();
        loop {
            match next_line(&mut reader, max, &mut buffer).unwrap() {
                Line::Complete => got.push(format!("line {}", String::from_utf8_lossy(&buffer))),
                Line::TooLong(n) => got.push(format!("too long {n}")),
                Line::Eof => break,
            }
        }
        assert_eq!(got, expected);
    }

    #[test]
    fn splits_lines_and_bounds_them() {
        check(b"", 8, &[]);
        check(b"a\nbb\n\n", 8, &["line a", "line bb", "line "]);
        check(b"last without newline", 64, &["line last without newline"]);
        check(
            b"12345678\n123456789\nok\n123456789",
            8,
            &["line 12345678", "too long 9", "line ok", "too long 9"],
        );
        check(b"\xff\xfe\n", 8, &["line \u{fffd}\u{fffd}"]);
    }
}
