//! The runtime's typed events, published through the host's [`EventPort`]. Each names
//! the generation it refers to and, where a command caused it, that command's id.
//!
//! [`EventPort`]: crate::ports::EventPort

use std::fmt;

use crate::drift::Drift;
use crate::path::WsPath;
use crate::registry::AssetId;
use crate::snapshot::ProjectState;

/// Identifies one command for its whole life: response, events, failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct CommandId(pub u64);

impl fmt::Display for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a write was turned down before anything was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The disk no longer matches what the command was checked against.
    Conflict,
    /// The command itself is not valid against the current snapshot.
    Invalid,
    /// The command was computed against an older generation.
    StaleRequest,
    /// The project is `failed`; no write is accepted until that is resolved.
    FailedState,
}

/// What recovery did with a transaction left in `tx/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryOutcome {
    RolledForward,
    Discarded,
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RuntimeStarted {
        generation: u64,
        state: ProjectState,
    },
    /// `command_id` names the write that changed the state (a reconcile, a commit that
    /// resolves the last drift or that fails after its commit point); a state the
    /// observer or the opening of the project changed has none.
    StateChanged {
        generation: u64,
        from: ProjectState,
        to: ProjectState,
        #[serde(skip_serializing_if = "Option::is_none")]
        command_id: Option<CommandId>,
    },
    SnapshotCommitted {
        generation: u64,
        command_id: CommandId,
        changed: Vec<AssetId>,
    },
    SnapshotRefreshed {
        generation: u64,
        paths: Vec<WsPath>,
        changed: Vec<AssetId>,
    },
    DivergenceDetected {
        generation: u64,
        drifts: Vec<Drift>,
    },
    WriteRejected {
        generation: u64,
        command_id: CommandId,
        reason: RejectReason,
        detail: String,
    },
    CommitFailed {
        generation: u64,
        command_id: CommandId,
        step: String,
        error: String,
        transaction: String,
    },
    /// `command_id` names the write whose commit ran the recovery first; recovery when
    /// the project is opened has none.
    RecoveryPerformed {
        generation: u64,
        transaction: String,
        outcome: RecoveryOutcome,
        #[serde(skip_serializing_if = "Option::is_none")]
        command_id: Option<CommandId>,
    },
    /// The observer cannot watch the whole workspace (the kernel's watch limit, say) and
    /// relies on periodic verification for what it cannot watch.
    ObserverDegraded {
        generation: u64,
        reason: String,
    },
    /// The observer watches the whole workspace again (the watch limit was raised):
    /// changes are heard as they happen once more.
    ObserverRestored {
        generation: u64,
    },
    ReconcileStarted {
        generation: u64,
        command_id: CommandId,
    },
    ReconcileCompleted {
        generation: u64,
        command_id: CommandId,
    },
    BuildStarted {
        generation: u64,
        command_id: CommandId,
        assets: u64,
    },
    BuildProgress {
        generation: u64,
        command_id: CommandId,
        done: u64,
        total: u64,
    },
    BuildCompleted {
        generation: u64,
        command_id: CommandId,
        assets: u64,
        reused: u64,
        bytes: u64,
    },
}

impl Event {
    /// The name written in the `event` field.
    pub fn name(&self) -> &'static str {
        match self {
            Event::RuntimeStarted { .. } => "runtime_started",
            Event::StateChanged { .. } => "state_changed",
            Event::SnapshotCommitted { .. } => "snapshot_committed",
            Event::SnapshotRefreshed { .. } => "snapshot_refreshed",
            Event::DivergenceDetected { .. } => "divergence_detected",
            Event::WriteRejected { .. } => "write_rejected",
            Event::CommitFailed { .. } => "commit_failed",
            Event::RecoveryPerformed { .. } => "recovery_performed",
            Event::ObserverDegraded { .. } => "observer_degraded",
            Event::ObserverRestored { .. } => "observer_restored",
            Event::ReconcileStarted { .. } => "reconcile_started",
            Event::ReconcileCompleted { .. } => "reconcile_completed",
            Event::BuildStarted { .. } => "build_started",
            Event::BuildProgress { .. } => "build_progress",
            Event::BuildCompleted { .. } => "build_completed",
        }
    }

    /// The generation the event refers to.
    pub fn generation(&self) -> u64 {
        match self {
            Event::RuntimeStarted { generation, .. }
            | Event::StateChanged { generation, .. }
            | Event::SnapshotCommitted { generation, .. }
            | Event::SnapshotRefreshed { generation, .. }
            | Event::DivergenceDetected { generation, .. }
            | Event::WriteRejected { generation, .. }
            | Event::CommitFailed { generation, .. }
            | Event::RecoveryPerformed { generation, .. }
            | Event::ObserverDegraded { generation, .. }
            | Event::ObserverRestored { generation }
            | Event::ReconcileStarted { generation, .. }
            | Event::ReconcileCompleted { generation, .. }
            | Event::BuildStarted { generation, .. }
            | Event::BuildProgress { generation, .. }
            | Event::BuildCompleted { generation, .. } => *generation,
        }
    }

    /// The command that caused the event, if one did.
    pub fn command_id(&self) -> Option<CommandId> {
        match self {
            Event::SnapshotCommitted { command_id, .. }
            | Event::WriteRejected { command_id, .. }
            | Event::CommitFailed { command_id, .. }
            | Event::ReconcileStarted { command_id, .. }
            | Event::ReconcileCompleted { command_id, .. }
            | Event::BuildStarted { command_id, .. }
            | Event::BuildProgress { command_id, .. }
            | Event::BuildCompleted { command_id, .. } => Some(*command_id),
            Event::StateChanged { command_id, .. }
            | Event::RecoveryPerformed { command_id, .. } => *command_id,
            Event::RuntimeStarted { .. }
            | Event::SnapshotRefreshed { .. }
            | Event::DivergenceDetected { .. }
            | Event::ObserverDegraded { .. }
            | Event::ObserverRestored { .. } => None,
        }
    }
}
