//! `watch` as a person runs it: the real program as a child process with the real
//! watcher on a temporary project, edits made by hand while it runs, and Ctrl-C
//! (SIGINT) or SIGTERM to end it, which must exit 0 after a clean shutdown. Every wait is
//! for a line, with a deadline.

use rustix::process::Signal;
use serde_json::{Value, json};

use crate::child::Packer;
use crate::cli::{Project, declaration, hero_and_jump};
use crate::fixture_text::U1;

/// Two registered blob assets in good health: 1 `sprites/hero`, 2 `audio/jump`.
fn project() -> Project {
    hero_and_jump("sprites/hero", &[])
}

/// The next JSON line that is the event `name`; the events before it are returned too.
fn json_event(packer: &mut Packer, name: &str) -> (Value, Vec<Value>) {
    let mut before = Vec::new();
    loop {
        let line = packer.next_line(&format!("a `{name}` event"));
        let event: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        if event["event"] == name {
            return (event, before);
        }
        before.push(event);
    }
}

#[test]
fn watch_json_prints_the_events_of_hand_edits_and_stops_on_sigint() {
    let project = project();
    let mut packer = Packer::start(project.root(), &["watch", "--json"]);
    let (started, _) = json_event(&mut packer, "runtime_started");
    assert_eq!(
        started,
        json!({"event": "runtime_started", "generation": 1, "state": "ready"})
    );

    project.put(
        "sprites/hero/asset.json",
        declaration(U1, "Hero", &["hero.bin"]).as_bytes(),
    );
    let (refreshed, before) = json_event(&mut packer, "snapshot_refreshed");
    assert_eq!(
        refreshed,
        json!({"event": "snapshot_refreshed", "generation": 2, "paths": ["sprites/hero/asset.json"], "changed": [1]})
    );
    assert!(
        before.iter().all(|e| e["event"] == "state_changed"),
        "{before:?}"
    );

    // The refresh above shows the watch is up: an input edit now comes as a hint.
    project.put("audio/jump/jump.bin", b"a louder jump");
    let (refreshed, _) = json_event(&mut packer, "snapshot_refreshed");
    assert_eq!(
        refreshed,
        json!({"event": "snapshot_refreshed", "generation": 3, "paths": ["audio/jump/jump.bin"], "changed": [2]})
    );

    let assets = project.root().join("assets");
    std::fs::remove_file(assets.join("sprites/hero/asset.json")).unwrap();
    let (detected, _) = json_event(&mut packer, "divergence_detected");
    assert_eq!(
        detected["drifts"],
        json!([{"kind": "root_missing", "asset_id": 1, "root": "sprites/hero"}]),
        "{detected}"
    );

    packer.signal(Signal::INT);
    let finished = packer.finish();
    assert!(finished.status.success(), "{finished:?}");
    assert!(
        finished.stderr.contains("stopped on SIGINT"),
        "{finished:?}"
    );
    for line in &finished.rest {
        let event: Value = serde_json::from_str(line).unwrap();
        assert!(event.get("event").is_some(), "{line}");
    }
}

#[test]
fn watch_prints_readable_lines_and_stops_on_sigterm() {
    let project = project();
    let mut packer = watching(&project, "ready");
    project.put(
        "sprites/hero/asset.json",
        declaration(U1, "Hero", &["hero.bin"]).as_bytes(),
    );
    let mut lines = Vec::new();
    loop {
        let line = packer.next_line("the refresh");
        let done = line.contains("refreshed");
        lines.push(line);
        if done {
            break;
        }
    }
    assert_eq!(
        lines.last().map(String::as_str),
        Some("generation 2  refreshed sprites/hero/asset.json (asset 1)"),
        "{lines:?}"
    );
    packer.signal(Signal::TERM);
    let finished = packer.finish();
    assert!(finished.status.success(), "{finished:?}");
    assert!(
        finished.stderr.contains("stopped on SIGTERM"),
        "{finished:?}"
    );
}

/// Readable `watch` on `project`, once it said it started in `state`.
fn watching(project: &Project, state: &str) -> Packer {
    let mut packer = Packer::start(project.root(), &["watch"]);
    assert_eq!(
        packer.next_line("the start"),
        format!("generation 1  runtime started ({state})")
    );
    packer
}

/// Ctrl-C, and a clean exit.
fn stop(packer: Packer) {
    packer.signal(Signal::INT);
    assert!(packer.finish().status.success());
}

/// The next line that starts with `prefix`.
fn line_starting(packer: &mut Packer, prefix: &str) -> String {
    loop {
        let line = packer.next_line(&format!("a line starting `{prefix}`"));
        if line.starts_with(prefix) {
            return line;
        }
    }
}

/// `state_changed` carries no reason, so the readable output gives it on the next line:
/// for a registry broken while watching, and for one broken before the start.
#[test]
fn watch_says_why_the_project_failed() {
    let project = project();
    let mut packer = watching(&project, "ready");
    project.put(".prometeu/index.json", b"{\"schema_version\": 1, \"next");
    let why = "failed: assets/.prometeu/index.json:1:28: unterminated string";
    let failed = line_starting(&mut packer, "generation 1  state stale -> failed");
    assert_eq!(failed, "generation 1  state stale -> failed");
    let reason = packer.next_line("the reason");
    assert!(
        reason.starts_with(&format!("generation 1  {why}")),
        "{reason}"
    );
    stop(packer);

    let mut packer = watching(&project, "failed");
    let reason = packer.next_line("the reason");
    assert!(
        reason.starts_with(&format!("generation 1  {why}")),
        "{reason}"
    );
    stop(packer);
}

/// `watch --json | head -1`: once whoever reads stdout has quit, the next event cannot
/// be written, and `watch` stops (exit 0) instead of running on for nobody.
#[test]
fn watch_stops_when_its_output_is_closed() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let project = project();
    let mut child = Command::new(crate::child::PROGRAM)
        .arg("--project")
        .arg(project.root())
        .args(["watch", "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("runtime_started"), "{first}");
    drop(stdout);
    // The project is loaded: this edit is found (by the watch or the first verification)
    // and its events have nowhere to go.
    project.put(
        "sprites/hero/asset.json",
        declaration(U1, "Hero", &["hero.bin"]).as_bytes(),
    );
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    let (sender, ended) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let output = child.wait_with_output();
        let _ = sender.send(());
        output
    });
    let waited = ended.recv_timeout(crate::child::DEADLINE);
    if waited.is_err() {
        // Still running: end it, so the test fails without leaving it behind.
        let _ = rustix::process::kill_process(pid, Signal::KILL);
    }
    let output = waiter.join().unwrap().unwrap();
    assert!(waited.is_ok(), "watch did not stop: {output:?}");
    assert!(output.status.success(), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("stopped: stdout was closed"),
        "{output:?}"
    );
}

/// Watching a project (a fresh clone: no `tx/`, no lock file) changes nothing in it,
/// not even the transient lock file: there is nothing to recover, so opening takes no
/// lock, and the observer only reads.
#[test]
fn watching_a_project_writes_nothing_in_it() {
    let project = project();
    let before = project.tree();
    let mut packer = Packer::start(project.root(), &["watch", "--json"]);
    json_event(&mut packer, "runtime_started");
    project.put(
        "sprites/hero/asset.json",
        declaration(U1, "Hero", &["hero.bin"]).as_bytes(),
    );
    json_event(&mut packer, "snapshot_refreshed");
    packer.signal(Signal::TERM);
    let finished = packer.finish();
    assert!(finished.status.success(), "{finished:?}");
    let edited = std::path::Path::new("assets/sprites/hero/asset.json");
    let unedited = |mut tree: std::collections::BTreeMap<_, _>| {
        tree.remove(edited);
        tree
    };
    let (before, after) = (unedited(before), unedited(project.tree()));
    let names = |tree: &std::collections::BTreeMap<std::path::PathBuf, _>| {
        tree.keys().cloned().collect::<Vec<_>>()
    };
    assert_eq!(names(&after), names(&before));
    assert!(after == before, "a file or folder changed");
}
