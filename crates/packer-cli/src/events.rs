//! The event port the CLI injects into the runtime. Events are published from whichever
//! thread the runtime is on (the writer lane, or the caller during open), while the CLI's
//! streams belong to the main thread; so the port only collects, and the command prints
//! what was collected, in order, when the runtime has answered.

use std::sync::{Arc, Mutex, PoisonError};

use packer_domain::event::{Event, RecoveryOutcome, RejectReason};
use packer_domain::ports::EventPort;

use crate::output::Output;

/// Collects the runtime's events for [`print`](EventPrinter::print).
#[derive(Debug, Clone, Default)]
pub struct EventPrinter {
    pending: Arc<Mutex<Vec<Event>>>,
}

impl EventPrinter {
    pub fn new() -> EventPrinter {
        EventPrinter::default()
    }

    /// The port to hand to the runtime.
    pub fn port(&self) -> Arc<dyn EventPort> {
        Arc::new(self.clone())
    }

    /// Prints a short human line on stderr (unless `-q`) for each collected event that a
    /// person should know about, and forgets them all. Stdout stays reserved for the
    /// result, so `--json` output is unaffected.
    pub fn print(&self, out: &Output<'_>) {
        let events = std::mem::take(&mut *self.lock());
        for event in &events {
            if let Some(line) = human_line(event) {
                out.note(&line);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Event>> {
        // A panic elsewhere while holding the lock cannot leave a `Vec` half-pushed in a
        // way that matters here: keep what is there.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl EventPort for EventPrinter {
    fn publish(&self, event: Event) {
        self.lock().push(event);
    }
}

/// The line for `event`, or `None` for the events that a one-shot command need not
/// mention (its result already says what committed).
fn human_line(event: &Event) -> Option<String> {
    match event {
        Event::RecoveryPerformed {
            transaction,
            outcome,
            ..
        } => Some(match outcome {
            RecoveryOutcome::RolledForward => format!(
                "recovered an interrupted commit: transaction {transaction} was rolled forward"
            ),
            RecoveryOutcome::Discarded => format!(
                "recovered an interrupted commit: transaction {transaction} had not reached its commit point and was discarded"
            ),
            RecoveryOutcome::Refused => format!(
                "recovery refused: transaction {transaction} cannot be finished safely; the project is failed until a person decides (see `prometeu-packer status`)"
            ),
        }),
        Event::CommitFailed {
            command_id,
            step,
            transaction,
            ..
        } => Some(format!(
            "command {command_id}: the commit failed at {step} after its commit point; transaction {transaction} is left for recovery"
        )),
        Event::WriteRejected {
            command_id, reason, ..
        } => {
            let reason = match reason {
                RejectReason::Conflict => "conflict",
                RejectReason::Invalid => "invalid",
                RejectReason::StaleRequest => "stale_request",
                RejectReason::FailedState => "failed_state",
            };
            Some(format!(
                "command {command_id}: write rejected ({reason}); nothing was written"
            ))
        }
        _ => None,
    }
}
