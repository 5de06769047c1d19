//! Reconcile through the runtime: the plan of the current generation, and applying
//! chosen actions of it as one write on the lane.

use packer_domain::command::Command;
use packer_domain::event::RejectReason;
use packer_domain::reconcile::{self, ReconcilePlan};

use crate::error::{AppError, ErrorCode};
use crate::runtime::{Runtime, WriteOutcome, WriteRequest};

impl Runtime {
    /// The reconcile plan of the current snapshot. Reads nothing from the disk.
    pub fn reconcile_plan(&self) -> ReconcilePlan {
        reconcile::plan(&self.snapshot())
    }

    /// Applies the actions `action_ids` of the plan `plan_id` as one commit. The plan is
    /// recomputed from the current snapshot (the same snapshot gives the same plan), so
    /// a `plan_id` that is not the current generation is `stale_request`; a registry
    /// that cannot be read is `failed_state` (both announced with `write_rejected`, as
    /// any refused write); no id, an unknown id or one named twice is `invalid_params`.
    pub fn reconcile_apply(
        &self,
        plan_id: u64,
        action_ids: &[u32],
    ) -> Result<WriteOutcome, AppError> {
        let snapshot = self.snapshot();
        let generation = snapshot.generation();
        // These refusals come before the lane, which could not tell the actions chosen
        // from a plan that is not there; they are announced as the lane's are.
        if plan_id != generation {
            return Err(self.reject_write(
                generation,
                RejectReason::StaleRequest,
                AppError::new(
                    ErrorCode::StaleRequest,
                    format!(
                        "the plan was made for generation {plan_id}; the current one is {generation}: ask for a new plan"
                    ),
                ),
            ));
        }
        // Without a registry there is no plan to choose from, not an empty one.
        if snapshot.registry().is_none() {
            return Err(self.reject_write(
                generation,
                RejectReason::FailedState,
                AppError::new(
                    ErrorCode::FailedState,
                    "the registry cannot be read; no reconcile is possible until it is fixed",
                ),
            ));
        }
        let actions = reconcile::plan(&snapshot)
            .select(action_ids)
            .map_err(|message| AppError::new(ErrorCode::InvalidParams, message))?;
        // The lane rejects the write if a new generation was published meanwhile.
        self.submit(WriteRequest {
            command: Command::Reconcile(actions),
            expected_generation: Some(plan_id),
        })
    }
}
