//! Where the CLI's words go: machine output (`--json`) and primary human output on
//! stdout, notes and progress on stderr (silenced by `-q`). A closed pipe is not an error.

use std::io::{self, Write};

use serde::Serialize;

/// The output settings of one invocation.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
    pub quiet: bool,
}

impl Output {
    /// Writes a value as one line of JSON on stdout.
    pub fn json<T: Serialize>(&self, value: &T) {
        match serde_json::to_string(value) {
            Ok(text) => self.stdout(&text),
            Err(e) => self.error(&format!("cannot encode the result as JSON: {e}")),
        }
    }

    /// Writes primary human output (with its own line breaks) on stdout.
    pub fn stdout(&self, text: &str) {
        let mut out = io::stdout().lock();
        // A reader that went away (`| head`) is not our failure.
        let _ = writeln!(out, "{text}");
    }

    /// A note for people on stderr, unless `-q`.
    pub fn note(&self, text: &str) {
        if !self.quiet {
            let _ = writeln!(io::stderr().lock(), "{text}");
        }
    }

    /// An error for people on stderr (never silenced).
    pub fn error(&self, text: &str) {
        let _ = writeln!(io::stderr().lock(), "{text}");
    }
}
