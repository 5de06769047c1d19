//! `reconcile`: the plan that resolves structural drift, printed; with `--apply ID...`
//! or `--apply-all`, the chosen actions applied as one commit through a running
//! runtime (`Runtime::reconcile_apply`). Printing the plan is a read: it writes
//! nothing, and takes the lock only to wait for another process's commit in flight.

use std::fmt::Write as _;
use std::path::Path;

use packer_app::runtime::read_only_view;
use packer_app::views::WriteView;
use packer_domain::reconcile::{self, ReconcilePlan};

use crate::commands::read::{failed_outcome, require_registry};
use crate::commands::{CommandResult, Outcome, open_workspace, start_runtime};
use crate::output::Output;
use crate::render;

/// Which actions to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Apply {
    /// None: print the plan.
    Nothing,
    /// These action ids of the plan.
    Chosen(Vec<u32>),
    /// Every action of the plan.
    All,
}

pub fn reconcile(out: &Output<'_>, explicit: Option<&Path>, apply: &Apply) -> CommandResult {
    match apply {
        Apply::Nothing => print_plan(out, explicit),
        Apply::Chosen(ids) => apply_actions(out, explicit, Some(ids)),
        Apply::All => apply_actions(out, explicit, None),
    }
}

fn print_plan(out: &Output<'_>, explicit: Option<&Path>) -> CommandResult {
    let (_, port) = open_workspace(out, explicit)?;
    let view = read_only_view(&port);
    // Without a registry there is no plan, not an empty one.
    require_registry(&view.snapshot)?;
    let plan = reconcile::plan(&view.snapshot);
    if out.json {
        out.json(&plan);
    } else {
        out.stdout(plan_text(&plan).trim_end());
    }
    // A project failed by an interrupted commit has a plan, which waits for recovery:
    // say so.
    Ok(failed_outcome(out, &view))
}

/// Applies `ids` (all the plan's actions when `None`) of the plan of the generation the
/// runtime opens on.
fn apply_actions(out: &Output<'_>, explicit: Option<&Path>, ids: Option<&[u32]>) -> CommandResult {
    let (_, port) = open_workspace(out, explicit)?;
    let (runtime, events) = start_runtime(port);
    // Without a registry there is no plan, so not "nothing to reconcile" either.
    if let Err(failure) = require_registry(&runtime.snapshot()) {
        runtime.shutdown();
        events.print(out);
        return Err(failure);
    }
    let plan = runtime.reconcile_plan();
    let ids: Vec<u32> = match ids {
        Some(ids) => ids.to_vec(),
        None => plan.actions.iter().map(|a| a.action_id).collect(),
    };
    if !plan.unresolved.is_empty() {
        out.note(&format!(
            "{} structural drift{} no action can resolve; run `prometeu-packer reconcile` to see why",
            plan.unresolved.len(),
            if plan.unresolved.len() == 1 { "" } else { "s" }
        ));
    }
    if ids.is_empty() {
        // `--apply-all` with nothing to apply: nothing to commit either. A project still
        // `failed` (a recovery refused) is said, and exits 1, as a read does.
        let view = runtime.view();
        runtime.shutdown();
        events.print(out);
        if out.json {
            out.json(&serde_json::json!({ "generation": plan.generation }));
        } else {
            out.done(&format!(
                "nothing to reconcile · generation {}",
                plan.generation
            ));
        }
        return Ok(failed_outcome(out, &view));
    }
    // Actions that others require are applied with them.
    let applied = plan.select(&ids).map_or(ids.len(), |actions| actions.len());
    let result = runtime.reconcile_apply(plan.plan_id, &ids);
    runtime.shutdown();
    events.print(out);
    let outcome = result?;
    if out.json {
        out.json(&WriteView {
            generation: outcome.generation,
            command_id: outcome.command_id,
            asset: None,
        });
    } else {
        out.done(&format!(
            "applied {applied} action{} · generation {}",
            if applied == 1 { "" } else { "s" },
            outcome.generation
        ));
    }
    Ok(Outcome::Success)
}

/// How many of the actions applied with one are named beside it: a long chain of moves
/// would otherwise name the whole rest of the chain on every line.
const APPLIED_WITH_SHOWN: usize = 10;

/// The plan for people: one numbered line per action, then what no action resolves.
fn plan_text(plan: &ReconcilePlan) -> String {
    let mut text = String::new();
    let count = plan.actions.len();
    if count == 0 && plan.unresolved.is_empty() {
        let _ = writeln!(
            text,
            "nothing to reconcile · generation {}: no structural drift",
            plan.generation
        );
        return text;
    }
    let _ = writeln!(
        text,
        "plan for generation {}: {count} action{}",
        plan.generation,
        if count == 1 { "" } else { "s" }
    );
    for planned in &plan.actions {
        let _ = write!(text, "  {:>2}  {}", planned.action_id, planned.action);
        let (with, more) = plan.applied_with_first(planned.action_id, APPLIED_WITH_SHOWN);
        if !with.is_empty() {
            let with: Vec<String> = with.iter().map(u32::to_string).collect();
            let more = if more { ", …" } else { "" };
            let _ = write!(text, "   (applied with {}{more})", with.join(", "));
        }
        text.push('\n');
    }
    if !plan.unresolved.is_empty() {
        let _ = writeln!(text, "no action can resolve:");
        for unresolved in &plan.unresolved {
            let _ = writeln!(text, "  {}", render::drift_line(&unresolved.drift));
            let _ = writeln!(text, "      {}", unresolved.reason);
        }
    }
    if count > 0 {
        let ids: Vec<String> = plan
            .actions
            .iter()
            .map(|a| a.action_id.to_string())
            .collect();
        let _ = writeln!(
            text,
            "apply with: prometeu-packer reconcile --apply {}   (or --apply-all)",
            ids.join(" ")
        );
    }
    text
}
