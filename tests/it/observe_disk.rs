//! The observer on the real disk with the real watcher (inotify through `notify`), in a
//! temporary project: every drift kind made by hand ends in the right generation, state,
//! drift and events; the runtime's own commits are never taken for hand edits; and
//! detection writes nothing, checked byte for byte and stat for stat (in
//! `observe_disk/writes.rs`). The adversarial cases (editors' saves, bursts, storms,
//! moved folders, symbolic links) are in `observe_disk/adversarial.rs`. Both share the
//! harness here.
//!
//! Every wait is on an event with a deadline: the tests never sleep.

mod adversarial;
mod writes;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use packer_app::observer::ObserverConfig;
use packer_app::runtime::{Ports, Runtime, View, WriteRequest};
use packer_domain::command::{Command, CreateAsset};
use packer_domain::declaration::AssetKind;
use packer_domain::drift::Drift;
use packer_domain::event::Event;
use packer_domain::path::{AssetPath, WsPath};
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{AssetQuery, DeclarationState, ProjectState, registry_path};
use packer_fs::{DiskWatcher, DiskWorkspace, SystemClock};
use packer_memfs::EventLog;
use tempfile::TempDir;

use crate::fixture_text::{U1, U2, U3, declaration, registry};

/// Far beyond any wait on an idle machine: reaching it means the event never came.
const DEADLINE: Duration = Duration::from_secs(20);

fn good_registry() -> String {
    registry(3, &[(1, U1, "a", true), (2, U2, "b", true)])
}

/// Two registered blob assets: 1 at `a` (input `x.bin`), 2 at `b` (input `y.bin`).
fn two_assets() -> Vec<(&'static str, String)> {
    vec![
        (".prometeu/index.json", good_registry()),
        ("a/asset.json", declaration(U1, "a", "x.bin")),
        ("a/x.bin", "bytes of a".to_owned()),
        ("b/asset.json", declaration(U2, "b", "y.bin")),
        ("b/y.bin", "bytes of b".to_owned()),
    ]
}

/// Short pauses, so that the suite stays fast; settling long enough that a file being
/// written by `fs::write` (truncate, then write) is never reported half-written. No
/// periodic scan: every refresh here comes from a hint or a request.
fn config() -> ObserverConfig {
    ObserverConfig {
        debounce: Duration::from_millis(40),
        max_delay: Duration::from_secs(1),
        settle: Duration::from_millis(150),
        periodic: None,
        degraded_periodic: Duration::from_secs(3600),
        max_paths: 512,
    }
}

/// A project in a temporary directory (`assets/` and, beside it, `outside/`: the rest
/// of the person's disk), opened by a runtime with its observer and the real watcher.
struct Disk {
    // Fields drop in order: the runtime and its watcher stop before the directory goes.
    runtime: Runtime,
    events: EventLog,
    dir: TempDir,
    /// Names for temporary files outside the workspace.
    staged: AtomicUsize,
}

fn start() -> Disk {
    start_with(&two_assets(), config())
}

fn start_with(files: &[(&str, String)], config: ObserverConfig) -> Disk {
    open(project(files), config)
}

/// A project directory holding `files` (paths relative to `assets/`), not opened yet.
fn project(files: &[(&str, String)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let full = dir.path().join("assets").join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, content).unwrap();
    }
    fs::create_dir_all(dir.path().join("outside")).unwrap();
    dir
}

/// Opens the project in `dir` and waits for the first verification.
fn open(dir: TempDir, config: ObserverConfig) -> Disk {
    let assets = dir.path().join("assets");
    let events = EventLog::new();
    let runtime = Runtime::open_observed(
        Ports {
            workspace: Arc::new(DiskWorkspace::open(&assets).unwrap()),
            events: Arc::new(events.clone()),
            clock: Arc::new(SystemClock::new()),
        },
        Arc::new(DiskWatcher::new(&assets)),
        config,
    );
    // The watch is set up and the verification on start queued before `open_observed`
    // returns; the lane is FIFO, so that verification has run once a requested one
    // returns, and every hand edit after this is found by its own hints.
    let view = runtime.check_divergence();
    assert_eq!(view.snapshot.generation(), 1, "{:#?}", view.drifts());
    Disk {
        runtime,
        events,
        dir,
        staged: AtomicUsize::new(0),
    }
}

/// A person's hand on the project's files.
impl Disk {
    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join("assets").join(relative)
    }

    fn outside(&self, relative: &str) -> PathBuf {
        self.dir.path().join("outside").join(relative)
    }

    /// Writes a file in place as most tools do (`fs::write`: truncate, then write),
    /// creating its folders.
    fn write(&self, relative: &str, bytes: impl AsRef<[u8]>) {
        let full = self.path(relative);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, bytes).unwrap();
    }

    /// Replaces a file's content in place with one write (no truncation first), so
    /// that no look can catch it empty. `bytes` is at least as long as the old content.
    fn overwrite(&self, relative: &str, bytes: &[u8]) {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .open(self.path(relative))
            .unwrap();
        assert!(file.metadata().unwrap().len() <= bytes.len() as u64);
        file.write_all(bytes).unwrap();
    }

    /// Writes `bytes` to a new file outside the workspace and renames it to `relative`:
    /// the file appears complete, in one step.
    fn save_whole(&self, relative: &str, bytes: impl AsRef<[u8]>) {
        let staged = self.outside(&format!(
            "staged-{}",
            self.staged.fetch_add(1, Ordering::Relaxed)
        ));
        fs::write(&staged, bytes).unwrap();
        fs::rename(staged, self.path(relative)).unwrap();
    }

    fn read(&self, relative: &str) -> Vec<u8> {
        fs::read(self.path(relative)).unwrap()
    }

    fn remove(&self, relative: &str) {
        fs::remove_file(self.path(relative)).unwrap();
    }

    fn mkdir(&self, relative: &str) {
        fs::create_dir_all(self.path(relative)).unwrap();
    }

    fn rename(&self, from: &str, to: &str) {
        fs::rename(self.path(from), self.path(to)).unwrap();
    }

    /// Moves a folder out of the workspace, as a file manager's trash does: one rename.
    fn trash(&self, relative: &str) {
        let trash = self.outside("trash");
        fs::create_dir_all(&trash).unwrap();
        let name = format!("{}", self.staged.fetch_add(1, Ordering::Relaxed));
        fs::rename(self.path(relative), trash.join(name)).unwrap();
    }

    /// Points the symbolic link `relative` at `target`, replacing what is there in one
    /// rename (as `ln -sfn` through a temporary name would).
    fn link(&self, relative: &str, target: &str) {
        let temporary = self.path(&format!("{relative}.new-link"));
        std::os::unix::fs::symlink(target, &temporary).unwrap();
        fs::rename(temporary, self.path(relative)).unwrap();
    }
}

/// Waiting on the runtime.
impl Disk {
    /// A mark in the event log: the number of events so far.
    fn mark(&self) -> usize {
        self.events.events().len()
    }

    /// The events published after `mark`.
    fn since(&self, mark: usize) -> Vec<Event> {
        self.events.events().split_off(mark)
    }

    /// The first event after `mark` that satisfies `pred`, waited for.
    fn wait(&self, mark: usize, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        // `wait_for` looks at the events in order, each once: counting the looks gives
        // each event's index.
        let index = AtomicUsize::new(0);
        self.events
            .wait_for(
                |e| index.fetch_add(1, Ordering::Relaxed) >= mark && pred(e),
                DEADLINE,
            )
            .unwrap_or_else(|| panic!("no {what}: {:#?}", self.since(mark)))
    }

    /// Waits until the view satisfies `pred`, looking again after each new event (every
    /// change of generation or state is published before its event).
    fn until(&self, what: &str, pred: impl Fn(&View) -> bool) -> Arc<View> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let seen = self.mark();
            let view = self.runtime.view();
            if pred(&view) {
                return view;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let index = AtomicUsize::new(0);
            let woken = self
                .events
                .wait_for(|_| index.fetch_add(1, Ordering::Relaxed) >= seen, left);
            assert!(
                woken.is_some(),
                "never {what}: {view:#?}\n{:#?}",
                self.events.events()
            );
        }
    }

    /// How many refreshes were published.
    fn refreshes(&self) -> usize {
        self.events
            .events()
            .iter()
            .filter(|e| matches!(e, Event::SnapshotRefreshed { .. }))
            .count()
    }

    fn tree(&self) -> Tree {
        tree(&self.path(""))
    }
}

/// What is at one path of the project.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Dir,
    File(Vec<u8>),
    Link(PathBuf),
    /// A FIFO, socket or device: never opened, here as by the packer.
    Special,
}

/// A path's node and the stat data any write, rename or removal there would move.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    node: Node,
    inode: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

/// Every path under `assets/`, `.prometeu` included, by path relative to `assets/`
/// (`""` for `assets/` itself).
type Tree = BTreeMap<String, Entry>;

fn tree(root: &Path) -> Tree {
    let mut out = Tree::new();
    let mut stack = vec![String::new()];
    while let Some(relative) = stack.pop() {
        let full = root.join(&relative);
        let meta = fs::symlink_metadata(&full).unwrap();
        let node = if meta.file_type().is_symlink() {
            Node::Link(fs::read_link(&full).unwrap())
        } else if meta.is_dir() {
            for entry in fs::read_dir(&full).unwrap() {
                let name = entry.unwrap().file_name().into_string().unwrap();
                stack.push(if relative.is_empty() {
                    name
                } else {
                    format!("{relative}/{name}")
                });
            }
            Node::Dir
        } else if meta.is_file() {
            Node::File(fs::read(&full).unwrap())
        } else {
            Node::Special
        };
        let entry = Entry {
            node,
            inode: meta.ino(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        };
        out.insert(relative, entry);
    }
    out
}

fn kinds(drifts: &[Drift]) -> Vec<&'static str> {
    drifts.iter().map(Drift::kind_name).collect()
}

fn input(path: &str) -> AssetPath {
    AssetPath::new(path).unwrap()
}

fn name_of(view: &View, id: u64) -> Option<String> {
    match &view.snapshot.asset(AssetId(id))?.declaration {
        DeclarationState::Valid(valid) => Some(valid.declaration.name.clone()),
        _ => None,
    }
}

/// The events a refresh is told by, in order: state changes, refreshes, divergence.
fn observed(events: Vec<Event>) -> Vec<Event> {
    events
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                Event::StateChanged { .. }
                    | Event::SnapshotRefreshed { .. }
                    | Event::DivergenceDetected { .. }
            )
        })
        .collect()
}

/// What one refresh after a hand edit must show.
struct Expected<'a> {
    state: ProjectState,
    /// The kinds of drift the refreshed generation holds, in order.
    drifts: &'a [&'a str],
    /// What the refresh took in on its own.
    refreshed: &'a [Drift],
    /// The paths `snapshot_refreshed` names.
    paths: &'a [&'a str],
    /// The asset ids it names.
    changed: &'a [u64],
}

/// Applies `edit` to the two-asset project and checks the one refresh it causes (see
/// [`check_on`]).
fn check(edit: impl FnOnce(&Disk), expected: &Expected<'_>) -> Disk {
    let disk = start();
    check_on(&disk, edit, expected);
    disk
}

/// Applies `edit` to a `ready` project and checks the one refresh it causes: the
/// generation, state and drift, and the events — the project goes `stale`, then to the
/// refreshed generation's state, with `snapshot_refreshed` and, for structural drift,
/// `divergence_detected`. A full verification afterwards finds nothing more, and no
/// file was written or touched while the observer looked.
fn check_on(disk: &Disk, edit: impl FnOnce(&Disk), expected: &Expected<'_>) {
    let generation = disk.runtime.view().snapshot.generation();
    let mark = disk.mark();
    edit(disk);
    let edited = disk.tree();
    disk.wait(mark, "refresh", |e| {
        matches!(e, Event::SnapshotRefreshed { .. })
    });
    let diverged = expected.state == ProjectState::Diverged;
    if diverged {
        disk.wait(mark, "divergence", |e| {
            matches!(e, Event::DivergenceDetected { .. })
        });
    }
    let view = disk.runtime.check_divergence();
    let next = generation + 1;
    assert_eq!(view.snapshot.generation(), next, "{:#?}", disk.since(mark));
    assert_eq!(view.state, expected.state, "{:#?}", view.drifts());
    assert_eq!(kinds(view.snapshot.drifts()), expected.drifts);
    assert_eq!(view.refreshed, expected.refreshed);
    let mut events = vec![
        Event::StateChanged {
            generation,
            from: ProjectState::Ready,
            to: ProjectState::Stale,
            command_id: None,
        },
        Event::StateChanged {
            generation: next,
            from: ProjectState::Stale,
            to: expected.state,
            command_id: None,
        },
        Event::SnapshotRefreshed {
            generation: next,
            paths: expected.paths.iter().map(|p| ws(p)).collect(),
            changed: expected.changed.iter().map(|id| AssetId(*id)).collect(),
        },
    ];
    if diverged {
        events.push(Event::DivergenceDetected {
            generation: next,
            drifts: view
                .snapshot
                .drifts()
                .iter()
                .filter(|d| d.is_structural())
                .cloned()
                .collect(),
        });
    }
    assert_eq!(observed(disk.since(mark)), events);
    assert_eq!(disk.tree(), edited, "detection wrote or touched a file");
}

/// A workspace path as events name it; `index.json` is the one internal path they name.
fn ws(path: &str) -> WsPath {
    if path == ".prometeu/index.json" {
        registry_path()
    } else {
        WsPath::new(path).unwrap()
    }
}

#[test]
fn an_edited_declaration_is_refreshed() {
    let disk = check(
        |d| d.write("a/asset.json", declaration(U1, "renamed", "x.bin")),
        &Expected {
            state: ProjectState::Ready,
            drifts: &[],
            refreshed: &[Drift::DeclarationChanged {
                asset_id: AssetId(1),
            }],
            paths: &["a/asset.json"],
            changed: &[1],
        },
    );
    assert_eq!(name_of(&disk.runtime.view(), 1).unwrap(), "renamed");
}

#[test]
fn an_edited_input_is_refreshed() {
    check(
        |d| d.overwrite("b/y.bin", b"new bytes of b"),
        &Expected {
            state: ProjectState::Ready,
            drifts: &[],
            refreshed: &[Drift::InputChanged {
                asset_id: AssetId(2),
                path: input("b/y.bin"),
            }],
            paths: &["b/y.bin"],
            changed: &[2],
        },
    );
}

#[test]
fn an_edited_registry_is_refreshed() {
    let disk = check(
        |d| {
            d.write(
                ".prometeu/index.json",
                registry(3, &[(1, U1, "a", false), (2, U2, "b", true)]),
            );
        },
        &Expected {
            state: ProjectState::Ready,
            drifts: &[],
            refreshed: &[Drift::RegistryChanged],
            paths: &[".prometeu/index.json"],
            changed: &[1],
        },
    );
    let view = disk.runtime.view();
    assert!(
        !view
            .snapshot
            .asset(AssetId(1))
            .unwrap()
            .entry
            .included_in_build
    );
}

#[test]
fn a_declaration_that_does_not_validate_is_flagged_with_its_position() {
    let disk = check(
        |d| {
            d.write(
                "a/asset.json",
                "{ \"schema_version\": 1,\n  \"name\": 5 }\n",
            )
        },
        &Expected {
            state: ProjectState::Ready,
            drifts: &["declaration_invalid"],
            refreshed: &[],
            paths: &["a/asset.json"],
            changed: &[1],
        },
    );
    let view = disk.runtime.view();
    let Drift::DeclarationInvalid { asset_id, error } = &view.snapshot.drifts()[0] else {
        panic!("{:#?}", view.snapshot.drifts())
    };
    assert_eq!(*asset_id, AssetId(1));
    assert_eq!(error.file, "assets/a/asset.json");
    assert!(error.line >= 1 && error.column >= 1, "{error:?}");
}

#[test]
fn a_declaration_that_does_not_parse_is_flagged_once_it_stays_broken() {
    // Broken JSON just written may be a save in progress: it is reported only after the
    // settle time, and then once.
    check(
        |d| d.write("b/asset.json", "{ \"schema_version\": 1, \"asset_uu"),
        &Expected {
            state: ProjectState::Ready,
            drifts: &["declaration_invalid"],
            refreshed: &[],
            paths: &["b/asset.json"],
            changed: &[2],
        },
    );
}

#[test]
fn a_deleted_input_is_missing() {
    check(
        |d| d.remove("b/y.bin"),
        &Expected {
            state: ProjectState::Ready,
            drifts: &["input_missing"],
            refreshed: &[],
            paths: &["b/y.bin"],
            changed: &[2],
        },
    );
}

#[test]
fn a_folder_thrown_away_is_root_missing() {
    check(
        |d| d.trash("b"),
        &Expected {
            state: ProjectState::Diverged,
            drifts: &["root_missing"],
            refreshed: &[],
            paths: &["b/asset.json", "b/y.bin"],
            changed: &[2],
        },
    );
}

#[test]
fn a_folder_moved_by_hand_is_root_moved() {
    let disk = check(
        |d| {
            d.mkdir("art");
            d.rename("a", "art/a");
        },
        &Expected {
            state: ProjectState::Diverged,
            drifts: &["root_moved"],
            refreshed: &[],
            paths: &["a/asset.json", "a/x.bin", "art/a/asset.json"],
            changed: &[1],
        },
    );
    assert_eq!(
        disk.runtime.view().snapshot.drifts()[0],
        Drift::RootMoved {
            asset_id: AssetId(1),
            from: input("a"),
            to: input("art/a"),
        }
    );
}

#[test]
fn a_new_declaration_is_an_unregistered_asset() {
    check(
        |d| {
            d.write("c/asset.json", declaration(U3, "c", "z.bin"));
            d.write("c/z.bin", "bytes of c");
        },
        &Expected {
            state: ProjectState::Diverged,
            drifts: &["unregistered_asset"],
            refreshed: &[],
            paths: &["c/asset.json"],
            changed: &[],
        },
    );
}

#[test]
fn a_copied_folder_is_a_duplicate_uuid() {
    let disk = check(
        |d| {
            d.write("copy/asset.json", d.read("a/asset.json"));
            d.write("copy/x.bin", d.read("a/x.bin"));
        },
        &Expected {
            state: ProjectState::Diverged,
            drifts: &["duplicate_uuid"],
            refreshed: &[],
            paths: &["copy/asset.json"],
            changed: &[1],
        },
    );
    let view = disk.runtime.view();
    let Drift::DuplicateUuid { roots, .. } = &view.snapshot.drifts()[0] else {
        panic!()
    };
    assert_eq!(roots, &[input("a"), input("copy")]);
}

#[test]
fn a_rewritten_uuid_is_a_uuid_mismatch() {
    check(
        |d| d.write("b/asset.json", declaration(U3, "b", "y.bin")),
        &Expected {
            state: ProjectState::Diverged,
            drifts: &["uuid_mismatch"],
            refreshed: &[Drift::DeclarationChanged {
                asset_id: AssetId(2),
            }],
            paths: &["b/asset.json"],
            changed: &[2],
        },
    );
}

#[test]
fn an_unreadable_registry_fails_the_project_until_it_is_fixed() {
    let disk = start();
    let mark = disk.mark();
    disk.write(
        ".prometeu/index.json",
        "{ \"schema_version\": 1, \"next_asset_id\": ",
    );
    let view = disk.until("failed", |v| v.state == ProjectState::Failed);
    // Reads keep the last good generation, flagged with the registry's error.
    assert_eq!(view.snapshot.generation(), 1);
    assert_eq!(view.snapshot.assets().len(), 2);
    assert_eq!(kinds(&view.drifts()), ["registry_invalid"]);
    let condition = view.condition.as_deref().unwrap();
    assert!(
        condition.starts_with("assets/.prometeu/index.json:1:"),
        "{condition}"
    );
    assert_eq!(
        observed(disk.since(mark)),
        [
            Event::StateChanged {
                generation: 1,
                from: ProjectState::Ready,
                to: ProjectState::Stale,
                command_id: None,
            },
            Event::StateChanged {
                generation: 1,
                from: ProjectState::Stale,
                to: ProjectState::Failed,
                command_id: None,
            },
        ]
    );
    // Fixed by hand (a `git checkout` of the file), it comes back as the next generation.
    let mark = disk.mark();
    disk.save_whole(".prometeu/index.json", good_registry());
    disk.wait(mark, "refresh", |e| {
        matches!(e, Event::SnapshotRefreshed { .. })
    });
    let view = disk.runtime.check_divergence();
    assert_eq!(view.snapshot.generation(), 2);
    assert_eq!(view.state, ProjectState::Ready);
    assert!(view.condition.is_none() && view.pending_drifts.is_empty());
    assert_eq!(
        observed(disk.since(mark)),
        [
            Event::StateChanged {
                generation: 1,
                from: ProjectState::Failed,
                to: ProjectState::Stale,
                command_id: None,
            },
            Event::StateChanged {
                generation: 2,
                from: ProjectState::Stale,
                to: ProjectState::Ready,
                command_id: None,
            },
            Event::SnapshotRefreshed {
                generation: 2,
                paths: vec![registry_path()],
                changed: Vec::new(),
            },
        ]
    );
}
