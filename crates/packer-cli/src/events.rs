//! Events for people. One-shot commands inject a port that only collects (events are
//! published from whichever thread the runtime is on, while the command's streams belong
//! to the main thread) and print what a person should know once the runtime answered;
//! `watch` describes every event as it comes.

use std::sync::{Arc, Mutex, PoisonError};

use std::fmt::Write as _;

use packer_domain::event::{Event, RecoveryOutcome, RejectReason};
use packer_domain::ports::EventPort;

use crate::output::Output;
use crate::render;

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
        // Recovery runs on open and again before the command's commit: a transaction
        // it refuses is reported by both, and a person needs to read that once.
        let mut said: Vec<String> = Vec::new();
        for event in &events {
            if let Some(line) = human_line(event)
                && !said.contains(&line)
            {
                out.note(&line);
                said.push(line);
            }
        }
    }

    /// Like [`print`](EventPrinter::print), but only for what recovery did: for a try
    /// of a command that is run again, whose refusal does not stand.
    pub fn print_recovery(&self, out: &Output<'_>) {
        let events = std::mem::take(&mut *self.lock());
        for event in &events {
            if matches!(event, Event::RecoveryPerformed { .. })
                && let Some(line) = human_line(event)
            {
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
                "recovery refused: transaction {transaction} cannot be finished safely; the project is failed until a person decides (`prometeu-packer doctor` says what to do)"
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
        } => Some(format!(
            "command {command_id}: write rejected ({}); nothing was written",
            reject_reason(*reason)
        )),
        _ => None,
    }
}

/// Every event in words, for `watch`: one line, or for found drift a line and one
/// indented line per drift. The generation is the caller's to add.
pub fn describe(event: &Event) -> String {
    match event {
        Event::RuntimeStarted { state, .. } => format!("runtime started ({state})"),
        Event::StateChanged { from, to, .. } => format!("state {from} -> {to}"),
        Event::SnapshotCommitted {
            command_id,
            changed,
            ..
        } => format!("command {command_id} committed{}", assets(changed)),
        Event::SnapshotRefreshed { paths, changed, .. } => {
            let paths: Vec<String> = paths.iter().map(ToString::to_string).collect();
            format!("refreshed {}{}", abridged(&paths), assets(changed))
        }
        Event::DivergenceDetected { drifts, .. } => {
            let mut text = format!("found {} drift{}:", drifts.len(), plural(drifts.len()));
            for drift in drifts {
                let _ = write!(text, "\n    {}", render::drift_line(drift));
            }
            text
        }
        Event::WriteRejected {
            command_id,
            reason,
            detail,
            ..
        } => format!(
            "command {command_id} rejected ({}): {detail}",
            reject_reason(*reason)
        ),
        Event::CommitFailed {
            command_id,
            step,
            error,
            transaction,
            ..
        } => format!(
            "command {command_id} failed at {step}: {error}; transaction {transaction} is left for recovery"
        ),
        Event::RecoveryPerformed {
            transaction,
            outcome,
            ..
        } => {
            let outcome = match outcome {
                RecoveryOutcome::RolledForward => "rolled forward",
                RecoveryOutcome::Discarded => "discarded",
                RecoveryOutcome::Refused => "refused: the project is failed until a person decides",
            };
            format!("recovery: transaction {transaction} {outcome}")
        }
        Event::ObserverDegraded { reason, .. } => format!("observer degraded: {reason}"),
        Event::ObserverRestored { .. } => {
            "observer restored: the whole workspace is watched again".to_owned()
        }
        Event::ReconcileStarted { command_id, .. } => {
            format!("command {command_id} reconcile started")
        }
        Event::ReconcileCompleted { command_id, .. } => {
            format!("command {command_id} reconcile completed")
        }
        Event::BuildStarted {
            command_id, assets, ..
        } => format!(
            "command {command_id} build started: {assets} asset{}",
            plural_u64(*assets)
        ),
        Event::BuildProgress {
            command_id,
            done,
            total,
            ..
        } => format!("command {command_id} build {done}/{total}"),
        Event::BuildCompleted {
            command_id,
            assets,
            reused,
            bytes,
            ..
        } => format!(
            "command {command_id} build completed: {assets} asset{} ({reused} reused), {bytes} bytes",
            plural_u64(*assets)
        ),
    }
}

fn reject_reason(reason: RejectReason) -> &'static str {
    match reason {
        RejectReason::Conflict => "conflict",
        RejectReason::Invalid => "invalid",
        RejectReason::StaleRequest => "stale_request",
        RejectReason::FailedState => "failed_state",
    }
}

/// ` (asset 1)`, ` (assets 1, 5)`, or nothing.
fn assets(ids: &[packer_domain::registry::AssetId]) -> String {
    match ids {
        [] => String::new(),
        [one] => format!(" (asset {one})"),
        many => {
            let ids: Vec<String> = many.iter().map(ToString::to_string).collect();
            format!(" (assets {})", abridged(&ids))
        }
    }
}

/// The first few items, then how many more: a checkout touches thousands of files.
fn abridged(items: &[String]) -> String {
    const SHOWN: usize = 5;
    if items.len() <= SHOWN {
        return items.join(", ");
    }
    format!(
        "{} and {} more",
        items[..SHOWN].join(", "),
        items.len() - SHOWN
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn plural_u64(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use packer_domain::drift::Drift;
    use packer_domain::event::CommandId;
    use packer_domain::path::{AssetPath, WsPath};
    use packer_domain::registry::AssetId;
    use packer_domain::snapshot::ProjectState;

    use super::*;

    fn check(event: Event, expected: &str) {
        assert_eq!(describe(&event), expected);
    }

    fn path(text: &str) -> WsPath {
        WsPath::new(text).unwrap()
    }

    #[test]
    fn describes_every_kind_of_event_in_words() {
        check(
            Event::StateChanged {
                generation: 1,
                from: ProjectState::Ready,
                to: ProjectState::Stale,
                command_id: None,
            },
            "state ready -> stale",
        );
        check(
            Event::SnapshotRefreshed {
                generation: 2,
                paths: vec![path("sprites/hero/asset.json")],
                changed: vec![AssetId(1)],
            },
            "refreshed sprites/hero/asset.json (asset 1)",
        );
        check(
            Event::SnapshotRefreshed {
                generation: 2,
                paths: (0..7).map(|n| path(&format!("f{n}"))).collect(),
                changed: vec![AssetId(1), AssetId(2)],
            },
            "refreshed f0, f1, f2, f3, f4 and 2 more (assets 1, 2)",
        );
        check(
            Event::DivergenceDetected {
                generation: 3,
                drifts: vec![Drift::RootMoved {
                    asset_id: AssetId(3),
                    from: AssetPath::new("audio/jump").unwrap(),
                    to: AssetPath::new("sfx/jump").unwrap(),
                }],
            },
            "found 1 drift:\n    root_moved           asset 3: moved audio/jump -> sfx/jump",
        );
        check(
            Event::SnapshotCommitted {
                generation: 4,
                command_id: CommandId(2),
                changed: vec![],
            },
            "command 2 committed",
        );
        check(
            Event::WriteRejected {
                generation: 4,
                command_id: CommandId(3),
                reason: RejectReason::Conflict,
                detail: "assets/a/asset.json changed on disk".to_owned(),
            },
            "command 3 rejected (conflict): assets/a/asset.json changed on disk",
        );
        check(
            Event::BuildCompleted {
                generation: 4,
                command_id: CommandId(5),
                assets: 1,
                reused: 0,
                bytes: 10,
            },
            "command 5 build completed: 1 asset (0 reused), 10 bytes",
        );
    }
}
