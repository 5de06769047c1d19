//! The writer lane's side of one write command: check it against the current view,
//! plan it, run the durable commit, and publish what follows (the next generation and
//! its events, or the refusal, or the failure that leaves the project `failed`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use packer_domain::command::{self, Command, Refusal};
use packer_domain::drift::Drift;
use packer_domain::event::{CommandId, Event, RejectReason};
use packer_domain::snapshot::ProjectState;

use crate::commit::{self, CommitError};
use crate::error::{AppError, ErrorCode};
use crate::recovery::RecoveryReport;
use crate::refresh::LaneState;
use crate::runtime::{
    Shared, View, WriteOutcome, WriteRequest, announce_recovered, fail, heal, publish, publish_next,
};

/// Publishes `write_rejected` and gives the error, whose detail names the command and
/// the generation in force, so a client can match it with the event.
pub(crate) fn reject(
    shared: &Shared,
    id: CommandId,
    generation: u64,
    reason: RejectReason,
    error: AppError,
) -> AppError {
    shared.ports.events.publish(Event::WriteRejected {
        generation,
        command_id: id,
        reason,
        detail: error.message.clone(),
    });
    error.with_detail(serde_json::json!({ "command_id": id, "generation": generation }))
}

pub(crate) fn write(
    shared: &Shared,
    lane: &mut LaneState,
    id: CommandId,
    request: &WriteRequest,
) -> Result<WriteOutcome, AppError> {
    let mut view = shared.view.load_full();
    let generation = view.snapshot.generation();
    if let Some(expected) = request.expected_generation
        && expected != generation
    {
        return Err(reject(
            shared,
            id,
            generation,
            RejectReason::StaleRequest,
            AppError::new(
                ErrorCode::StaleRequest,
                format!(
                    "the request was made against generation {expected}; the current one is {generation}"
                ),
            ),
        ));
    }
    if view.unrefreshed {
        // The registry stopped parsing, or the workspace cannot be read: reads keep the
        // last good generation, and only a fixed disk brings the next one (the observer,
        // or `check_divergence`, loads it). Loading it here would publish a generation
        // without the project's assets in its place.
        let registry = view
            .drifts()
            .iter()
            .any(|d| matches!(d, Drift::RegistryInvalid { .. }));
        let message = if registry {
            "the registry cannot be read; no write is possible until it is fixed".to_owned()
        } else {
            format!(
                "the workspace cannot be read ({}); no write is possible until it can",
                view.condition.as_deref().unwrap_or("unknown cause")
            )
        };
        return Err(reject(
            shared,
            id,
            generation,
            RejectReason::FailedState,
            AppError::new(ErrorCode::FailedState, message),
        ));
    }
    if view.condition.is_some() {
        view = heal(shared, id)
            .map_err(|error| reject(shared, id, generation, RejectReason::FailedState, error))?;
    }
    let generation = view.snapshot.generation();
    let plan = command::plan(&view.snapshot, &request.command, &mut uuid::Uuid::new_v4).map_err(
        |refusal| {
            let (reason, code) = match &refusal {
                Refusal::Invalid(_) => (RejectReason::Invalid, ErrorCode::Invalid),
                Refusal::NotFound(_) => (RejectReason::Invalid, ErrorCode::NotFound),
                Refusal::FailedState(_) => (RejectReason::FailedState, ErrorCode::FailedState),
            };
            reject(
                shared,
                id,
                generation,
                reason,
                AppError::new(code, refusal.to_string()),
            )
        },
    )?;
    let name = format!("{:020}-{}", shared.ports.clock.wall_clock_ns().max(0), id);
    let reconciling = matches!(request.command, Command::Reconcile(_));
    if reconciling {
        publish(
            shared,
            View {
                state: ProjectState::Reconciling,
                ..View::clone(&view)
            },
            Some(id),
        );
        shared.ports.events.publish(Event::ReconcileStarted {
            generation,
            command_id: id,
        });
    }
    let result = commit_planned(shared, lane, id, &view, plan, &name);
    if reconciling {
        let after = shared.view.load_full();
        if after.state == ProjectState::Reconciling {
            // Nothing was published: the commit did not happen; the state goes back.
            publish(shared, View::clone(&view), Some(id));
        }
        shared.ports.events.publish(Event::ReconcileCompleted {
            generation: shared.view.load().snapshot.generation(),
            command_id: id,
        });
    }
    result
}

/// Commits a planned write and publishes what follows from it.
fn commit_planned(
    shared: &Shared,
    lane: &mut LaneState,
    id: CommandId,
    view: &Arc<View>,
    plan: command::Plan,
    name: &str,
) -> Result<WriteOutcome, AppError> {
    let port = shared.ports.workspace.as_ref();
    let generation = view.snapshot.generation();
    let (recovered, result) = commit::execute(port, &plan, name);
    match result {
        Ok(()) if recovered.is_empty() && plan.changes_nothing() => {
            // Every command asked for what already is, and the disk still says so:
            // nothing was written, so no new generation and no event; the answer is the
            // generation that already holds it.
            Ok(WriteOutcome {
                generation,
                command_id: id,
                asset: plan.created,
                changed: Vec::new(),
                snapshot: Arc::clone(&view.snapshot),
            })
        }
        Ok(()) => {
            lane.committed(port, &plan);
            let command::Plan {
                changes,
                registry,
                changed,
                created,
            } = plan;
            // The commit knows what it wrote: with an observer to report hand edits, or
            // for a host that reads nothing after this command, the next generation is
            // derived from this one, unless recovery changed the disk besides or the plan
            // needs a fresh look.
            let derived = if recovered.is_empty() && shared.commits_derive.load(Ordering::Acquire) {
                view.snapshot
                    .after_commit(port, &changes, registry, generation + 1)
            } else {
                None
            };
            let snapshot = Arc::clone(
                &publish_next(shared, generation, &recovered, derived, Some(id)).snapshot,
            );
            let new_generation = snapshot.generation();
            shared.ports.events.publish(Event::SnapshotCommitted {
                generation: new_generation,
                command_id: id,
                changed: changed.clone(),
            });
            Ok(WriteOutcome {
                generation: new_generation,
                command_id: id,
                asset: created,
                changed,
                snapshot,
            })
        }
        Err(error) => Err(commit_error(shared, id, view, &recovered, error)),
    }
}

/// What a commit that did not go through publishes: what recovery did on the way first
/// (it happened on disk, whatever became of the commit), then the commit's own failure.
fn commit_error(
    shared: &Shared,
    id: CommandId,
    view: &View,
    recovered: &[RecoveryReport],
    error: CommitError,
) -> AppError {
    let generation = view.snapshot.generation();
    announce_recovered(
        shared.ports.events.as_ref(),
        generation,
        recovered,
        Some(id),
    );
    let message = error.to_string();
    match error {
        CommitError::Conflict(detail) => reject(
            shared,
            id,
            generation,
            RejectReason::Conflict,
            AppError::new(ErrorCode::Conflict, detail),
        ),
        // Before the commit point nothing changed and no transaction is left: the
        // command's error says it all.
        CommitError::Aborted { error, .. } => {
            AppError::new(ErrorCode::Io, message).with_detail(AppError::from(error).detail)
        }
        CommitError::Interrupted {
            step,
            error: cause,
            transaction,
        } => {
            // What failed and where, as for every `io` error, and which transaction now
            // waits for recovery: a program can tell the user without parsing prose.
            let mut detail = AppError::from(cause).detail;
            if let Some(fields) = detail.as_object_mut() {
                fields.insert("step".to_owned(), step.to_string().into());
                fields.insert("transaction".to_owned(), transaction.clone().into());
            }
            shared.ports.events.publish(Event::CommitFailed {
                generation,
                command_id: id,
                step: step.to_string(),
                error: message.clone(),
                transaction,
            });
            // After the commit point the transaction is the truth until recovery runs.
            fail(shared, view, message.clone(), Some(id));
            AppError::new(ErrorCode::Io, message).with_detail(detail)
        }
        // Its `refused` report was among the recovered ones, announced above.
        CommitError::RecoveryRefused { .. } => {
            fail(shared, view, message.clone(), Some(id));
            AppError::new(ErrorCode::FailedState, message)
        }
    }
}
