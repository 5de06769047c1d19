//! A running runtime beside another process's commit: taken in half-way, that commit's
//! changes show one file at a time (a new `asset.json` unregistered until its
//! `index.json` lands), a divergence no settled disk has. A commit in flight is waited
//! for, and taken in whole; one interrupted (its process killed after the commit point)
//! fails the project, as a fresh read says, until it is finished or removed. A read
//! command (`read_only_view`) waits for a commit in flight the same way, and loads
//! again when one landed while it loaded.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::delegate::delegate;
use crate::fixture_text::{U1, U2, declaration, registry};
use crate::observe::{DEADLINE, check_no_divergence, config, start_with, wait_for_state};
use crate::runtime::open;
use packer_app::runtime::{View, read_only_view};
use packer_domain::event::Event;
use packer_domain::listing::Listing;
use packer_domain::path::WsPath;
use packer_domain::ports::{
    PortError, PortOp, ScanDelivery, ScanOptions, ScanReads, ScanSink, WorkspacePort,
};
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{ContentHash, ProjectState};
use packer_domain::transaction::{Intent, TxOp};
use packer_memfs::MemFs;

const TX: &str = ".prometeu/tx/0001-7";

/// One registered asset `a`; the input of an asset `b` that another process registers.
fn fixture() -> String {
    format!(
        "//- .prometeu/index.json\n{}//- a/asset.json\n{}//- a/x.bin\nuser bytes\n//- b/x.bin\nmore bytes\n",
        registry(2, &[(1, U1, "a", true)]),
        declaration(U1, "a", "x.bin"),
    )
}

fn project() -> MemFs {
    MemFs::from_fixture(&fixture()).unwrap()
}

fn registry_after() -> String {
    registry(3, &[(1, U1, "a", true), (2, U2, "b", true)])
}

/// Another process's commit of `b`, past its commit point, with the declaration in
/// place and the registry not yet replaced.
fn half_applied(fs: &MemFs) {
    let declaration = declaration(U2, "b", "x.bin");
    let index = registry_after();
    let now = fs.read(".prometeu/index.json").unwrap();
    let intent = Intent {
        ops: vec![
            TxOp::Write {
                path: WsPath::new("b/asset.json").unwrap(),
                staged: "0".to_owned(),
                pre: None,
                post: ContentHash::of(declaration.as_bytes()),
            },
            TxOp::Write {
                path: WsPath::internal("index.json").unwrap(),
                staged: "1".to_owned(),
                pre: Some(ContentHash::of(&now)),
                post: ContentHash::of(index.as_bytes()),
            },
        ],
    };
    fs.write(&format!("{TX}/0"), &declaration);
    fs.write(&format!("{TX}/1"), &index);
    fs.write(&format!("{TX}/intent.json"), intent.to_bytes());
    fs.write("b/asset.json", &declaration);
}

/// The rest of that commit: the registry replaced, the transaction removed.
fn finish(fs: &MemFs) {
    fs.write(".prometeu/index.json", registry_after());
    fs.remove(TX);
    fs.remove(".prometeu/tx");
}

/// Killed right after its commit point, another process changed nothing a person sees:
/// no hint about a file says so, but a full verification (`check_divergence`, the
/// periodic one) finds the transaction (and so does the lock's release, below).
#[test]
fn a_full_verification_finds_a_commit_interrupted_before_it_changed_anything() {
    let fs = project();
    let (runtime, events) = open(&fs);
    half_applied(&fs);
    fs.remove("b/asset.json");

    let view = runtime.check_divergence();
    check_failed_by_the_transaction(&view);
    check_no_divergence(&events);
    runtime.shutdown();
}

/// The condition follows what waits in `tx/`, as a fresh read would say it: the
/// registry edited by hand in the middle of the commit makes recovery refuse it; put
/// back, the transaction can be finished again.
#[test]
fn the_condition_follows_a_transaction_refused_then_finishable_again() {
    let fs = project();
    let (runtime, _events) = open(&fs);
    let before = fs.read(".prometeu/index.json").unwrap();
    half_applied(&fs);
    fs.write(".prometeu/index.json", registry(9, &[(1, U1, "a", true)]));
    let condition = |view: &View| view.condition.clone().unwrap_or_default();

    let view = runtime.check_divergence();
    assert_eq!(view.state, ProjectState::Failed, "{view:?}");
    assert!(
        condition(&view).starts_with("recovery_conflict: transaction 0001-7"),
        "{view:?}"
    );

    fs.write(".prometeu/index.json", &before);
    let view = runtime.check_divergence();
    assert_eq!(view.state, ProjectState::Failed, "{view:?}");
    assert_eq!(
        condition(&view),
        read_only_view(&fs).condition.unwrap_or_default(),
        "as a fresh read says"
    );
    assert!(condition(&view).contains("waits for recovery"), "{view:?}");
    runtime.shutdown();
}

#[test]
fn a_commit_another_process_left_half_applied_fails_the_project_until_it_is_finished() {
    let fs = project();
    let (runtime, events) = open(&fs);
    half_applied(&fs);
    let before = fs.files();

    let view = runtime.check_divergence();
    check_failed_by_the_transaction(&view);
    assert_eq!(fs.files(), before, "a verification writes nothing");
    check_no_divergence(&events);

    // The next write of that process (or any) rolls it forward.
    finish(&fs);
    let view = runtime.check_divergence();
    assert_eq!(
        (view.state, view.condition.as_deref()),
        (ProjectState::Ready, None)
    );
    assert!(view.snapshot.asset(AssetId(2)).is_some(), "{view:?}");
    check_no_divergence(&events);
    runtime.shutdown();
}

/// Runs `look` while another process holds the lock half-way through its commit,
/// finishing the commit once `look` waits for the lock (or has answered).
fn during_commit<T: Send>(fs: &MemFs, look: impl FnOnce() -> T + Send) -> T {
    let other = fs.clone();
    let lock = WorkspacePort::lock(&other).unwrap();
    half_applied(fs);
    fs.clear_ops();
    std::thread::scope(|scope| {
        let looking = scope.spawn(look);
        let deadline = Instant::now() + DEADLINE;
        while !fs.ops().iter().any(|(op, _)| *op == PortOp::Lock)
            && !looking.is_finished()
            && Instant::now() < deadline
        {
            std::thread::yield_now();
        }
        finish(fs);
        drop(lock);
        looking.join().unwrap()
    })
}

/// Failed, the condition naming the transaction left half applied.
fn check_failed_by_the_transaction(view: &View) {
    assert_eq!(view.state, ProjectState::Failed, "{view:?}");
    assert!(
        view.condition
            .as_deref()
            .is_some_and(|c| c.contains("0001-7")),
        "{view:?}"
    );
}

fn check_whole(view: &View) {
    assert_eq!(
        (view.state, view.condition.as_deref()),
        (ProjectState::Ready, None),
        "{view:?}"
    );
    assert!(view.snapshot.asset(AssetId(2)).is_some(), "{view:?}");
    assert!(view.snapshot.unregistered().is_empty(), "{view:?}");
}

/// A read of a project a crashed writer left half-applied: the lock is free, the same
/// transaction still waits, and what the read loaded stands; it loads once.
#[test]
fn a_read_of_a_commit_no_process_applies_loads_the_project_once() {
    let fs = project();
    half_applied(&fs);
    fs.clear_ops();
    let view = read_only_view(&fs);
    assert!(
        view.condition
            .as_deref()
            .is_some_and(|c| c.contains("waits for recovery")),
        "{view:?}"
    );
    let scans = fs
        .ops()
        .iter()
        .filter(|(op, path)| *op == PortOp::Scan && path.is_empty())
        .count();
    assert_eq!(scans, 1, "{:?}", fs.ops());
}

/// `status` while Studio (or another CLI command) commits: not a transient `failed`
/// ("an interrupted commit waits for recovery"), nor half of the commit.
#[test]
fn a_read_command_waits_for_a_commit_in_flight_in_another_process() {
    let fs = project();
    let view = during_commit(&fs, || read_only_view(&fs));
    check_whole(&view);
}

/// A workspace where another process's whole commit of `b` lands while the first load
/// runs: after the load read the registry, before it lists the folders.
#[derive(Debug)]
struct CommitDuringLoad {
    fs: MemFs,
    armed: AtomicBool,
}

impl WorkspacePort for CommitDuringLoad {
    fn scan_and_read(
        &self,
        options: ScanOptions,
        reads: &ScanReads<'_>,
        sink: &ScanSink<'_>,
    ) -> Result<Listing, PortError> {
        if !self.armed.swap(false, Ordering::SeqCst) {
            return self.fs.scan_and_read(options, reads, sink);
        }
        self.fs.scan_and_read(options, reads, &|delivery| {
            if let ScanDelivery::Request { .. } = delivery {
                sink(delivery);
            }
        })?;
        self.fs.write("b/asset.json", declaration(U2, "b", "x.bin"));
        self.fs.write(".prometeu/index.json", registry_after());
        self.fs.scan_and_read(options, reads, &|delivery| {
            if let ScanDelivery::Found { .. } = delivery {
                sink(delivery);
            }
        })
    }
    delegate!(fs: scan, scan_reusing, read, read_many, list_dir, stat, check_writable);
    delegate!(fs: create_dir_all, write_file, sync_file, sync_dir, sync_all, rename);
    delegate!(fs: remove_file, remove_dir_all, remove_empty_dir, lock, lock_if_in_use);
}

/// `status` while another process commits quickly enough to start and finish during the
/// read's load: the load that holds half of it (the new declaration, the old registry)
/// is taken again, since the registry changed under it.
#[test]
fn a_read_command_loads_again_when_a_commit_lands_while_it_loads() {
    let port = CommitDuringLoad {
        fs: project(),
        armed: AtomicBool::new(true),
    };
    let view = read_only_view(&port);
    assert!(!port.armed.load(Ordering::SeqCst), "the commit landed");
    check_whole(&view);
}

#[test]
fn a_commit_in_flight_in_another_process_is_waited_for_and_taken_in_whole() {
    let fs = project();
    let (runtime, events) = open(&fs);
    let view = during_commit(&fs, || runtime.check_divergence());

    check_whole(&view);
    check_no_divergence(&events);
    assert!(
        !events.events().iter().any(|e| matches!(
            e,
            Event::StateChanged {
                to: ProjectState::Failed,
                ..
            }
        )),
        "{:#?}",
        events.events()
    );
    runtime.shutdown();
}

/// The observer hears the half-applied commit and fails the project; it does not hear
/// the transaction go (nothing below `.prometeu/tx` is watched), but the change that
/// finishing it makes (`index.json`) is verified, looks at `tx/` again, and brings the
/// project back without waiting for a full verification.
#[test]
fn the_observer_hears_an_interrupted_commit_of_another_process_finished() {
    let o = start_with(&fixture(), config());
    half_applied(&o.fs);
    o.watcher.changed("b/asset.json");
    wait_for_state(&o.events, ProjectState::Failed);
    check_no_divergence(&o.events);

    finish(&o.fs);
    o.watcher.changed(".prometeu/index.json");
    wait_for_state(&o.events, ProjectState::Ready);
    let view = o.runtime.view();
    assert!(view.snapshot.asset(AssetId(2)).is_some(), "{view:?}");
    check_no_divergence(&o.events);
}

/// Killed right after its commit point, another process changed nothing a person sees,
/// but the kernel let its lock go: heard, that release is a look at `tx/`, and the
/// project is failed without waiting for a full verification.
#[test]
fn a_writer_letting_the_lock_go_is_heard_when_its_commit_changed_nothing_yet() {
    let o = start_with(&fixture(), config());
    half_applied(&o.fs);
    o.fs.remove("b/asset.json");
    o.watcher.changed(".prometeu/lock");

    wait_for_state(&o.events, ProjectState::Failed);
    check_failed_by_the_transaction(&o.view());
    check_no_divergence(&o.events);
}

/// Failed by a transaction, the observer hears its own look at `tx/` (it takes the lock
/// to tell a commit in flight from an interrupted one) as a release: one alone is looked
/// into without the lock while the transaction waits, or it would look for ever. Killed
/// after applying everything but before its cleanup, the writer leaves only `tx/`;
/// another writer's recovery then removes just that, and its release alone brings the
/// project back.
#[test]
fn a_release_alone_while_failed_takes_no_lock_and_hears_the_transaction_finished() {
    let o = start_with(&fixture(), config());
    half_applied(&o.fs);
    o.fs.write(".prometeu/index.json", registry_after());
    o.watcher.changed(".prometeu/lock");
    wait_for_state(&o.events, ProjectState::Failed);

    o.fs.clear_ops();
    o.watcher.changed(".prometeu/lock");
    let deadline = Instant::now() + DEADLINE;
    let looked = |fs: &MemFs| {
        fs.ops()
            .iter()
            .any(|(op, path)| *op == PortOp::Scan && path == ".prometeu/tx")
    };
    while !looked(&o.fs) && Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert!(
        looked(&o.fs),
        "the release was looked into: {:?}",
        o.fs.ops()
    );
    // Served after that look: its own takes the lock once.
    let view = o.runtime.check_divergence();
    check_failed_by_the_transaction(&view);
    let locks =
        o.fs.ops()
            .iter()
            .filter(|(op, _)| *op == PortOp::Lock)
            .count();
    assert_eq!(locks, 1, "{:?}", o.fs.ops());

    o.fs.remove(TX);
    o.fs.remove(".prometeu/tx");
    o.watcher.changed(".prometeu/lock");
    wait_for_state(&o.events, ProjectState::Ready);
    let view = o.view();
    assert_eq!(view.condition, None, "{view:?}");
    assert!(view.snapshot.asset(AssetId(2)).is_some(), "{view:?}");
    check_no_divergence(&o.events);
}
