//! The real `prometeu-packer` program as a child process, for the tests of its
//! long-running commands (`serve --stdio`, `watch`). Its stdout is read line by line on a
//! thread of its own and taken through a channel with a deadline, so a test waits for
//! what it expects and never for a fixed time; a deadline that passes fails the test with
//! what the child said on stderr.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use std::sync::mpsc::{Receiver, RecvTimeoutError};

/// How long any one expected line may take. Generous: a loaded CI machine is slow, and
/// a passing test never waits this long.
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);

/// The program, built from the CLI's `main.rs` for these tests (see tests/Cargo.toml).
pub(crate) const PROGRAM: &str = env!("CARGO_BIN_EXE_prometeu-packer-it");

/// A running `prometeu-packer`.
pub(crate) struct Packer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stdout_reader: Option<JoinHandle<()>>,
    stderr_reader: Option<JoinHandle<String>>,
}

impl Packer {
    /// Starts `prometeu-packer --project ROOT ARGS...` in `root`.
    pub(crate) fn start(root: &Path, args: &[&str]) -> Packer {
        let mut child = Command::new(PROGRAM)
            .arg("--project")
            .arg(root)
            .args(args)
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {PROGRAM}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (sender, lines) = std::sync::mpsc::channel();
        let stdout_reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr_reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Packer {
            stdin: child.stdin.take(),
            child,
            lines,
            stdout_reader: Some(stdout_reader),
            stderr_reader: Some(stderr_reader),
        }
    }

    /// Writes `bytes` to the child's stdin as they are.
    pub(crate) fn send_bytes(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is still open");
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    /// Writes one line to the child's stdin.
    pub(crate) fn send(&mut self, line: &str) {
        self.send_bytes(format!("{line}\n").as_bytes());
    }

    /// The next line on stdout; fails the test if none comes before the deadline or
    /// stdout ends.
    pub(crate) fn next_line(&mut self, waiting_for: &str) -> String {
        match self.lines.recv_timeout(DEADLINE) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => self.fail(&format!(
                "no line within {DEADLINE:?} while waiting for {waiting_for}"
            )),
            Err(RecvTimeoutError::Disconnected) => {
                self.fail(&format!("stdout ended while waiting for {waiting_for}"))
            }
        }
    }

    /// Sends `signal` to the child.
    pub(crate) fn signal(&self, signal: rustix::process::Signal) {
        let pid = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .expect("a child's pid is a positive i32");
        rustix::process::kill_process(pid, signal).unwrap();
    }

    /// Waits for the child to end on its own (after `shutdown`, the end of its input or
    /// a signal): the rest of its stdout, its exit status and its stderr.
    pub(crate) fn finish(mut self) -> Finished {
        self.stdin = None;
        self.wait()
    }

    /// Waits for the child to end with its stdin still open, as only a signal or a
    /// request can end it.
    pub(crate) fn finish_with_input_open(self) -> Finished {
        self.wait()
    }

    fn wait(mut self) -> Finished {
        let started = Instant::now();
        let mut rest = Vec::new();
        loop {
            let left = DEADLINE.saturating_sub(started.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) => rest.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    self.fail(&format!("the child did not end within {DEADLINE:?}"))
                }
            }
        }
        // Stdout is closed: the process is exiting.
        let status = self.child.wait().unwrap();
        let stderr = self.join_readers();
        Finished {
            status,
            rest,
            stderr,
        }
    }

    fn join_readers(&mut self) -> String {
        if let Some(reader) = self.stdout_reader.take() {
            reader.join().unwrap();
        }
        self.stderr_reader
            .take()
            .map(|reader| reader.join().unwrap())
            .unwrap_or_default()
    }

    /// Kills the child and fails the test with what it said.
    fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stdin = None;
        let stderr = self.join_readers();
        panic!("{why}\n--- the child's stderr ---\n{stderr}");
    }
}

impl Drop for Packer {
    /// A test that failed half way leaves no process behind.
    fn drop(&mut self) {
        if self.stdout_reader.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.stdin = None;
            let _ = self.join_readers();
        }
    }
}

/// How a child ended.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    /// Stdout lines not taken before the end.
    pub(crate) rest: Vec<String>,
    pub(crate) stderr: String,
}
