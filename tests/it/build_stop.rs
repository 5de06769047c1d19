//! A build its host stops (a server on SIGTERM): it ends at its next asset with an `io`
//! error and no `build_completed`, leaves the output folder as it was, and the next
//! build runs to its end, reusing what the stopped one stored in the cache.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use packer_app::build::{BuildProgress, BuildRequest};
use packer_domain::event::Event;

use crate::build::{Project, demo};

/// Builds `project` with a stop flag that is set once the build reports `stop_at` assets
/// done; gives the outcome as text (`stopped`, or the error, or the report's counts) and
/// whether the build completed by its events.
fn build_stopped_at(project: &Project, stop_at: u64) -> (String, bool) {
    let stop = Arc::new(AtomicBool::new(false));
    let request = BuildRequest {
        stop: Some(Arc::clone(&stop)),
        threads: 2,
        ..BuildRequest::new(Arc::new(project.out.clone()))
    };
    project.events.clear();
    let result = project.runtime.build(&request, &|progress: BuildProgress| {
        if progress.done >= stop_at {
            stop.store(true, Ordering::Relaxed);
        }
    });
    let completed = project
        .events
        .events()
        .iter()
        .any(|e| matches!(e, Event::BuildCompleted { .. }));
    let outcome = match result {
        Ok(report) => format!("assets={} reused={}", report.assets, report.reused),
        Err(error) => format!("{}: {}", error.code, error.message),
    };
    (outcome, completed)
}

const STOPPED: &str = "io: the build was stopped before its end; the output folder is as it was";

#[test]
fn a_stopped_build_writes_no_output() {
    // Asked to stop as it starts, before any asset is encoded.
    let project = demo();
    assert_eq!(build_stopped_at(&project, 0), (STOPPED.to_owned(), false));
    assert!(project.out.names().is_empty(), "{:?}", project.out.names());
    assert_eq!(
        build_stopped_at(&project, u64::MAX),
        ("assets=4 reused=0".to_owned(), true)
    );
}

#[test]
fn a_stopped_build_leaves_the_last_pack_and_the_next_one_goes_on() {
    let project = demo();
    project.build().unwrap();
    let first = project.pack();
    project.fs.write("blobs/two/a.bin", "xyz");
    project.settle();
    // Three payloads come from the cache; the build stops before encoding the fourth.
    assert_eq!(build_stopped_at(&project, 3), (STOPPED.to_owned(), false));
    assert_eq!(project.pack(), first);
    assert_eq!(
        build_stopped_at(&project, u64::MAX),
        ("assets=4 reused=3".to_owned(), true)
    );
    assert_ne!(project.pack(), first);
}
