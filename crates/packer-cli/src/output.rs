//! Where the CLI's words go: machine output (`--json`) and primary human output on
//! stdout, notes and progress on stderr; `-q` silences notes, progress and the
//! confirmations of work done. The streams are injected, so the whole CLI runs
//! in-process in tests. A closed pipe is not an error.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

/// The process's surroundings, as the CLI sees them: its streams and its directory.
pub struct Console<'a> {
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    /// Where project discovery starts, and what relative paths are relative to.
    pub cwd: PathBuf,
}

/// The output settings and streams of one invocation.
pub struct Output<'a> {
    pub json: bool,
    pub quiet: bool,
    console: RefCell<Console<'a>>,
}

impl<'a> Output<'a> {
    pub fn new(json: bool, quiet: bool, console: Console<'a>) -> Output<'a> {
        Output {
            json,
            quiet,
            console: RefCell::new(console),
        }
    }

    pub fn cwd(&self) -> PathBuf {
        self.console.borrow().cwd.clone()
    }

    /// Writes a value as one line of JSON on stdout.
    pub fn json<T: Serialize>(&self, value: &T) {
        match json_line(value) {
            Ok(text) => self.write_stdout(&text),
            Err(e) => self.error(&format!("cannot encode the result as JSON: {e}")),
        }
    }

    /// Writes primary human output (with its own line breaks) on stdout.
    pub fn stdout(&self, text: &str) {
        self.write_stdout(&printable(text));
    }

    fn write_stdout(&self, text: &str) {
        let mut console = self.console.borrow_mut();
        // A reader that went away (`| head`) is not our failure.
        let _ = writeln!(console.stdout, "{text}");
        let _ = console.stdout.flush();
    }

    /// The confirmation of work done (a commit, a build) on stdout, unless `-q`: what
    /// was asked for has happened, and the exit code already says so.
    pub fn done(&self, text: &str) {
        if !self.quiet {
            self.stdout(text);
        }
    }

    /// A note for people on stderr, unless `-q`.
    pub fn note(&self, text: &str) {
        if !self.quiet {
            self.error(text);
        }
    }

    /// An error for people on stderr (never silenced).
    pub fn error(&self, text: &str) {
        let mut console = self.console.borrow_mut();
        let _ = writeln!(console.stderr, "{}", printable(text));
        let _ = console.stderr.flush();
    }
}

/// `text` with its control characters (but line breaks and tabs) escaped, `\u{1b}` for
/// ESC: messages quote what files hold (a key, a uuid, a format), and a file must not
/// be able to move the cursor, recolour or clear the terminal it is reported on.
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `value` as one line of JSON, every control character in it escaped
/// ([`json_printable`]): how every JSON line the CLI writes is made.
pub(crate) fn json_line<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let text = serde_json::to_string(value)?;
    Ok(match json_printable(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(escaped) => escaped,
    })
}

/// JSON text with the control characters its encoder leaves as they are (DEL and the C1
/// controls: it escapes only those below U+0020) written as `\u00XX` escapes, which
/// read back as the same characters: `--json` output is read on terminals too. Such a
/// character can only stand inside a string, where the escape is valid.
fn json_printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::{json_printable, printable};

    #[test]
    fn json_output_escapes_the_controls_its_encoder_leaves() {
        let value = serde_json::json!({"name": "del\u{7f} csi\u{9b}2J esc\u{1b}"});
        let text = serde_json::to_string(&value).unwrap();
        let shown = json_printable(&text);
        assert_eq!(shown, r#"{"name":"del\u007f csi\u009b2J esc\u001b"}"#);
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn control_characters_are_escaped_but_line_breaks_and_tabs() {
        assert_eq!(printable("plain · héros\n\tnext"), "plain · héros\n\tnext");
        assert_eq!(
            printable("unknown key `k\u{1b}[5m`\r\u{9b}2J"),
            "unknown key `k\\u{1b}[5m`\\r\\u{9b}2J"
        );
    }
}
