//! `watch`: the runtime with its observer, every event printed on stdout as it comes
//! (readable lines, or JSON lines with `--json`) until SIGINT (Ctrl-C) or SIGTERM, or
//! until stdout is gone (the reader of a pipe quit). The main thread only waits for
//! either; then the runtime is shut down, joining the observer and the writer lane, and
//! the command exits 0.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use anyhow::Context;
use packer_app::observer::ObserverConfig;
use packer_app::runtime::{Ports, Runtime, ViewReader};
use packer_app::views::failure_reason;
use packer_domain::event::Event;
use packer_domain::ports::EventPort;
use packer_domain::snapshot::ProjectState;
use packer_fs::{DiskWatcher, SystemClock};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

use crate::commands::{CommandResult, Outcome, open_workspace};
use crate::lines::{EventLines, LineSink};
use crate::output::Output;

pub fn watch(out: &Output<'_>, explicit: Option<&Path>) -> CommandResult {
    let (project, port) = open_workspace(out, explicit)?;
    // Taken before the runtime starts, so that a Ctrl-C while the project opens still
    // ends the command cleanly instead of killing it half way.
    let mut signals =
        Signals::new([SIGINT, SIGTERM]).context("cannot listen for SIGINT and SIGTERM")?;
    let watcher = DiskWatcher::new(&project.assets);
    let sink = Arc::new(LineSink::new(Box::new(std::io::stdout())));
    let lines = if out.json {
        EventLines::json(Arc::clone(&sink))
    } else {
        EventLines::human(Arc::clone(&sink))
    };
    let reader = Arc::new(OnceLock::new());
    let events: Arc<dyn EventPort> = Arc::new(UntilClosed {
        lines,
        sink: Arc::clone(&sink),
        stop: signals.handle(),
        why_failed: (!out.json).then(|| Arc::clone(&reader)),
    });
    let runtime = Runtime::open_observed(
        Ports {
            workspace: Arc::new(port),
            events,
            clock: Arc::new(SystemClock::new()),
        },
        Arc::new(watcher),
        ObserverConfig::default(),
    );
    // The runtime exists only now: a project failed from the start is told here.
    let _ = reader.set(runtime.reader());
    let view = runtime.view();
    if !out.json
        && let Some(reason) = failure_reason(&view)
    {
        let generation = view.snapshot.generation();
        failed_line(&sink, generation, &reason);
    }
    drop(view);
    out.note(&format!(
        "watching {} (Ctrl-C to stop)",
        project.assets.display()
    ));
    let signal = signals.forever().next();
    runtime.shutdown();
    match signal {
        Some(SIGTERM) => out.note("stopped on SIGTERM"),
        Some(_) => out.note("stopped on SIGINT"),
        None => out.note("stopped: stdout was closed"),
    }
    Ok(Outcome::Success)
}

/// Prints events; once a line cannot be written (whoever read stdout has quit, as
/// `head` does), ends the wait for a signal: nobody would read the rest.
#[derive(Debug)]
struct UntilClosed {
    lines: EventLines,
    sink: Arc<LineSink>,
    stop: Handle,
    /// For readable lines: `state_changed` to `failed` names no reason (the event's
    /// shape is the contract's), so the line after it gives the view's.
    why_failed: Option<Arc<OnceLock<ViewReader>>>,
}

impl EventPort for UntilClosed {
    fn publish(&self, event: Event) {
        let failed = matches!(
            event,
            Event::StateChanged {
                to: ProjectState::Failed,
                ..
            }
        );
        let generation = event.generation();
        self.lines.publish(event);
        if failed
            && let Some(view) = self
                .why_failed
                .as_ref()
                .and_then(|reader| reader.get())
                .and_then(ViewReader::view)
            && let Some(reason) = failure_reason(&view)
        {
            failed_line(&self.sink, generation, &reason);
        }
        if self.sink.is_closed() {
            self.stop.close();
        }
    }
}

/// The readable line that follows a change to `failed`: why.
fn failed_line(sink: &LineSink, generation: u64, reason: &str) {
    sink.text(&format!("generation {generation}  failed: {reason}"));
}
