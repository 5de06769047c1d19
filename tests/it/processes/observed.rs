//! A runtime that watches the project (Studio, `serve`, `watch`) beside another process
//! killed in the middle of its commit.

use std::sync::Arc;

use packer_app::observer::ObserverConfig;
use packer_app::runtime::{Ports, Runtime, read_only_view};
use packer_domain::event::Event;
use packer_domain::snapshot::ProjectState;
use packer_fs::{DiskWatcher, DiskWorkspace, SystemClock};
use packer_memfs::EventLog;

use super::child::{Op, write};
use super::driver::ChildProcess;
use super::expect::{Project, check_project};
use super::{INPUT, PREFIX_VAR};
use crate::observe::DEADLINE;

/// Killed right after its commit point, the other process changed nothing a person
/// sees, and no file hint says anything happened; the kernel letting its lock go does.
/// The watching runtime is `failed` by the transaction at once, as a fresh read says,
/// and its own next write finishes that commit before making its own.
#[test]
fn a_watching_runtime_hears_a_writer_killed_after_its_commit_point() {
    let mut project = Project::new();
    project.write_user_file(&format!("late/{INPUT}"), b"late bytes");
    project.write_user_file(&format!("next/{INPUT}"), b"next bytes");
    let workspace = Arc::new(DiskWorkspace::open(&project.assets).unwrap());
    let events = EventLog::new();
    let runtime = Runtime::open_observed(
        Ports {
            workspace: workspace.clone(),
            events: Arc::new(events.clone()),
            clock: Arc::new(SystemClock::new()),
        },
        Arc::new(DiskWatcher::new(&project.assets)),
        ObserverConfig {
            periodic: None,
            ..ObserverConfig::default()
        },
    );
    assert!(
        runtime.wait_observing(DEADLINE),
        "the observer did not start"
    );

    let mut child = ChildProcess::spawn("halting", &project.assets, &[(PREFIX_VAR, "late")], false);
    let said = child.next_message();
    if said.as_deref() != Some("committed") {
        child.kill();
        panic!("the child said {said:?}\n{}", child.stderr());
    }
    child.kill();
    let _ = child.finish();

    let failed = events.wait_for(
        |e| {
            matches!(
                e,
                Event::StateChanged {
                    to: ProjectState::Failed,
                    ..
                }
            )
        },
        DEADLINE,
    );
    assert!(failed.is_some(), "{:#?}", events.events());
    let view = runtime.view();
    let condition = view.condition.clone().unwrap_or_default();
    assert!(condition.contains("waits for recovery"), "{view:?}");
    assert_eq!(
        view.condition,
        read_only_view(workspace.as_ref()).condition,
        "as a fresh read says"
    );

    let outcome = runtime.submit(write(
        Op::Create {
            root: "next".to_owned(),
        }
        .command(),
    ));
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(runtime.view().state, ProjectState::Ready);
    runtime.shutdown();
    let reopened = check_project(&project, "after the kill");
    let roots: Vec<&str> = reopened.assets.keys().map(String::as_str).collect();
    assert_eq!(roots, ["late", "next"]);
}
