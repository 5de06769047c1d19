//! The parent's side of a child process: starting this test binary again on
//! [`child_entry`], reading its protocol lines, killing it at a chosen moment, and what a
//! stream child's run told the parent.
//!
//! [`child_entry`]: super::child_entry

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, ChildStdout, Command as Process, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use packer_domain::event::RecoveryOutcome;

use super::child::Op;
use super::expect::Project;
use super::{ASSETS_VAR, MARK, ROLE_VAR, SCRIPT_VAR, parse_number, words};

/// When to kill a stream child.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kill {
    /// Let it finish: a calibration run.
    Never,
    /// This long after it was started: the kill may land in its opening recovery.
    AfterSpawn(Duration),
    /// This long after it said it is ready: the kill lands among its commits.
    AfterReady(Duration),
}

/// How long a child that was let finish took.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    pub(super) to_ready: Duration,
    pub(super) after_ready: Duration,
}

impl Timing {
    pub(super) fn total(self) -> Duration {
        self.to_ready + self.after_ready
    }
}

/// What the parent learned from one stream child.
#[derive(Debug, Default)]
pub(super) struct StreamRun {
    /// The asset id of each acknowledged command, by its index in the script.
    pub(super) acks: BTreeMap<usize, u64>,
    pub(super) done: bool,
    pub(super) killed: bool,
    pub(super) ready: bool,
    pub(super) recoveries: Vec<RecoveryOutcome>,
    /// Set by a run that was let finish.
    pub(super) timing: Option<Timing>,
}

pub(super) fn run_stream_child(
    project: &Project,
    script: &[Op],
    kill: Kill,
    label: &str,
) -> StreamRun {
    let encoded: Vec<String> = script.iter().map(Op::encode).collect();
    let spawned = Instant::now();
    let mut child = ChildProcess::spawn(
        "stream",
        &project.assets,
        &[(SCRIPT_VAR, &encoded.join(";"))],
        false,
    );
    let mut run = StreamRun::default();
    let mut messages = Vec::new();
    let mut ready_at = None;
    match kill {
        Kill::Never => {}
        Kill::AfterSpawn(delay) => {
            // The delay is the disturbance itself, the moment to pull the plug; nothing
            // is waited for.
            std::thread::sleep(delay);
            child.kill();
        }
        Kill::AfterReady(delay) => {
            while let Some(message) = child.next_message() {
                let ready = message == "ready";
                messages.push(message);
                if ready {
                    break;
                }
            }
            std::thread::sleep(delay);
            child.kill();
        }
    }
    while let Some(message) = child.next_message() {
        if message == "ready" {
            ready_at = Some(Instant::now());
        }
        messages.push(message);
    }
    let finished_at = Instant::now();
    let (status, stderr) = child.finish();
    run.killed = status.signal() == Some(9);
    assert!(
        status.success() || run.killed,
        "{label}: the child failed: {status}\nscript: {encoded:?}\n{stderr}"
    );
    for message in &messages {
        match words(message).as_slice() {
            ["ready"] => run.ready = true,
            ["done"] => run.done = true,
            ["ack", index, id, root] => {
                let index = usize::try_from(parse_number(index)).unwrap();
                assert_eq!(*root, script[index].root(), "{label}");
                run.acks.insert(index, parse_number(id));
            }
            ["recovered", outcome] => run.recoveries.push(match *outcome {
                "rolled_forward" => RecoveryOutcome::RolledForward,
                "discarded" => RecoveryOutcome::Discarded,
                _ => RecoveryOutcome::Refused,
            }),
            _ => panic!("{label}: unexpected message `{message}`"),
        }
    }
    assert!(
        !run.recoveries.contains(&RecoveryOutcome::Refused),
        "{label}: the child's recovery refused a transaction\n{stderr}"
    );
    if matches!(kill, Kill::Never) {
        assert!(
            run.done,
            "{label}: a child let run did not finish\n{stderr}"
        );
        if let Some(ready_at) = ready_at {
            run.timing = Some(Timing {
                to_ready: ready_at - spawned,
                after_ready: finished_at - ready_at,
            });
        }
    }
    run
}

/// A child process running this test binary's [`child_entry`]. Dropping it kills and
/// reaps the child, so no child outlives its test, whether the test passes or panics.
pub(super) struct ChildProcess {
    pub(super) child: Child,
    pub(super) stdout: BufReader<ChildStdout>,
}

impl ChildProcess {
    pub(super) fn spawn(
        role: &str,
        assets: &Path,
        vars: &[(&str, &str)],
        stdin: bool,
    ) -> ChildProcess {
        let exe = std::env::current_exe().unwrap();
        let mut command = Process::new(exe);
        command
            .args([
                "--exact",
                "processes::child_entry",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ROLE_VAR, role)
            .env(ASSETS_VAR, assets)
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in vars {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        ChildProcess { child, stdout }
    }

    /// The next protocol message, without its mark; `None` once the child's stdout is
    /// closed (it exited or was killed). Blocks until a line arrives.
    pub(super) fn next_message(&mut self) -> Option<String> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.stdout.read_line(&mut line).unwrap_or(0) == 0 {
                return None;
            }
            if let Some(at) = line.find(MARK) {
                return Some(line[at + MARK.len()..].trim_end().to_owned());
            }
        }
    }

    pub(super) fn send(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Sends SIGKILL (`Child::kill` does that on Unix). Killing a child that already
    /// exited does nothing; its exit status says how it ended.
    pub(super) fn kill(&mut self) {
        let _ = self.child.kill();
    }

    /// Reaps the child, which must have closed its stdout (read to the end first), and
    /// returns how it ended and what it wrote to stderr.
    pub(super) fn finish(&mut self) -> (ExitStatus, String) {
        let status = self.child.wait().unwrap();
        (status, self.stderr())
    }

    /// What the child wrote to stderr; waits for the child to close it.
    pub(super) fn stderr(&mut self) -> String {
        let mut text = String::new();
        if let Some(stderr) = self.child.stderr.as_mut() {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
