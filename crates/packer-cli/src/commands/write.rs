//! The write commands: `add`, `adopt`, `move`, `remove`, `include`, `exclude`. The CLI is
//! just another host of the runtime: each command opens the project with the real file
//! system, the system clock and an event printer injected, submits one write request to
//! the writer lane, prints the result and shuts the runtime down (joining its thread).
//! Validation, locking, conflict checks, the durable commit and recovery are all the
//! runtime's; nothing here writes a file.

use std::path::Path;

use packer_app::error::ErrorCode;
use packer_app::runtime::{WriteOutcome, WriteRequest};
use packer_app::views::WriteView;
use packer_domain::command::{Command, CreateAsset};
use packer_domain::declaration::AssetKind;
use packer_domain::path::AssetPath;
use packer_domain::ports::WorkspacePort;
use packer_domain::snapshot::{
    AssetQuery, ContentHash, MAX_REGISTRY_BYTES, RegistryState, Snapshot, registry_path,
};

use crate::commands::{CommandResult, Failure, Outcome, open_workspace, start_runtime};
use crate::output::Output;

/// `add` as typed.
#[derive(Debug, Clone)]
pub struct AddArgs<'a> {
    pub root: &'a str,
    pub kind: AssetKind,
    pub inputs: &'a [String],
    pub name: Option<&'a str>,
    pub exclude: bool,
}

pub fn add(out: &Output<'_>, explicit: Option<&Path>, args: &AddArgs<'_>) -> CommandResult {
    let root = root_arg("ROOT", args.root)?;
    let inputs = args
        .inputs
        .iter()
        .map(|input| input_arg(input))
        .collect::<Result<Vec<_>, _>>()?;
    let command = Command::CreateAsset(CreateAsset {
        root,
        kind: args.kind,
        inputs,
        name: args.name.map(str::to_owned),
        output: None,
        included_in_build: !args.exclude,
    });
    submit(out, explicit, command)
}

pub fn adopt(out: &Output<'_>, explicit: Option<&Path>, root: &str) -> CommandResult {
    let root = root_arg("ROOT", root)?;
    submit(out, explicit, Command::AdoptAsset { root })
}

pub fn move_asset(
    out: &Output<'_>,
    explicit: Option<&Path>,
    asset: &str,
    new_root: &str,
) -> CommandResult {
    let asset = asset_arg(asset)?;
    let to = root_arg("NEW_ROOT", new_root)?;
    submit(out, explicit, Command::MoveAsset { asset, to })
}

pub fn remove(out: &Output<'_>, explicit: Option<&Path>, asset: &str) -> CommandResult {
    let asset = asset_arg(asset)?;
    submit(out, explicit, Command::RemoveAsset { asset })
}

pub fn set_included(
    out: &Output<'_>,
    explicit: Option<&Path>,
    asset: &str,
    included: bool,
) -> CommandResult {
    let asset = asset_arg(asset)?;
    submit(out, explicit, Command::SetIncluded { asset, included })
}

/// How many times a write command is run at most, each time on the project as it is
/// then, while every try meets a registry that another packer process committed
/// between the try's load and its commit. Each such try means that another commit went
/// through, so a few concurrent commands all go through well within this.
const TRIES: usize = 10;

/// Runs `command` through a runtime opened on the project, then presents the outcome.
/// A one-shot command is typed against the project as it is: when its commit is refused
/// as a `conflict` because the registry changed since its own load (another packer
/// process committed, or recovery finished one's commit), it runs again on a fresh
/// load — which sees that change, so nothing unseen is overwritten. Any other conflict
/// (a hand edit of the files it concerns, something in the way) is reported.
fn submit(out: &Output<'_>, explicit: Option<&Path>, command: Command) -> CommandResult {
    let mut tries = 0;
    loop {
        tries += 1;
        let (_, port) = open_workspace(out, explicit)?;
        let (runtime, events) = start_runtime(port);
        let before = runtime.snapshot();
        let result = runtime.submit(WriteRequest {
            command: command.clone(),
            expected_generation: None,
        });
        let again = tries < TRIES
            && matches!(&result, Err(error) if error.code == ErrorCode::Conflict)
            && registry_moved_on(runtime.ports().workspace.as_ref(), &before);
        runtime.shutdown();
        if again {
            // What recovery did happened; the refusal did not stand.
            events.print_recovery(out);
            out.note(
                "the registry changed while the command ran (another packer process committed); running it again on the project as it is now",
            );
            continue;
        }
        // Recovery on open, a rejection or a failed commit: said before the result or error.
        events.print(out);
        let outcome = result?;
        present(out, &command, &outcome, &before);
        return Ok(Outcome::Success);
    }
}

/// Whether `index.json` on disk differs from the one `snapshot` was loaded from. Every
/// commit of a write command writes it; a hand edit of it counts too, and a fresh load
/// sees that as well.
fn registry_moved_on(port: &dyn WorkspacePort, snapshot: &Snapshot) -> bool {
    let RegistryState::Valid { stamp, .. } = snapshot.registry_state() else {
        return false;
    };
    port.read(&registry_path(), MAX_REGISTRY_BYTES)
        .is_ok_and(|read| ContentHash::of(&read.bytes) != stamp.hash)
}

fn present(out: &Output<'_>, command: &Command, outcome: &WriteOutcome, before: &Snapshot) {
    let after = &outcome.snapshot;
    // A create or adopt names the asset it registered; any other single command changes
    // exactly the one asset it names.
    let id = outcome.asset.or_else(|| outcome.changed.first().copied());
    let removed = matches!(command, Command::RemoveAsset { .. });
    // Only a declaration the snapshot read is deleted: one that is gone, a folder in its
    // place or a link out of the workspace is left as it is, and the asset only
    // unregistered.
    let deleted = |id| {
        before
            .asset(id)
            .and_then(|record| record.own_declaration()?.stamp())
            .is_some()
    };
    if out.json {
        out.json(&WriteView::of(command, outcome));
        return;
    }
    if outcome.changed.is_empty() && outcome.asset.is_none() {
        out.done(&format!(
            "nothing to change: {} · generation {}",
            already(command),
            outcome.generation
        ));
        return;
    }
    let Some(id) = id else {
        out.done(&format!("committed · generation {}", outcome.generation));
        return;
    };
    let root_in = |snapshot: &Snapshot| {
        snapshot
            .asset(id)
            .map(|record| record.entry.root.to_string())
    };
    let old_root = root_in(before).unwrap_or_else(|| "?".to_owned());
    let new_root = root_in(after).unwrap_or_else(|| "?".to_owned());
    let what = match command {
        Command::CreateAsset(_) => format!("added asset {id} ({new_root})"),
        Command::AdoptAsset { .. } => format!("adopted asset {id} ({new_root})"),
        Command::MoveAsset { .. } => format!("moved asset {id} ({old_root} -> {new_root})"),
        Command::RemoveAsset { .. } => format!("removed asset {id} ({old_root})"),
        Command::SetIncluded { included: true, .. } => {
            format!("included asset {id} ({new_root}) in the build")
        }
        Command::SetIncluded {
            included: false, ..
        } => format!("excluded asset {id} ({new_root}) from the build"),
        Command::UpdateDeclaration { .. } | Command::Batch(_) | Command::Reconcile(_) => {
            format!("changed asset {id}")
        }
    };
    out.done(&format!("{what} · generation {}", outcome.generation));
    if removed && deleted(id) {
        out.note(&format!(
            "its asset.json was deleted; the input files in {old_root} were kept"
        ));
    } else if removed {
        out.note(&format!(
            "it had no readable asset.json in {old_root}: nothing there was deleted"
        ));
    }
}

/// An asset root as a person types it: relative to `assets/`, with a trailing `/` or a
/// leading `./` tolerated (shell completion adds the one, habit the other).
fn root_arg(what: &str, text: &str) -> Result<AssetPath, Failure> {
    let trimmed = text.trim_end_matches('/');
    let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
    AssetPath::new(trimmed)
        .map_err(|e| Failure::Usage(format!("{what} `{text}` is not a valid asset root: {e}")))
}

/// An input file, relative to the asset root; a leading `./` is tolerated.
fn input_arg(text: &str) -> Result<AssetPath, Failure> {
    let trimmed = text.strip_prefix("./").unwrap_or(text);
    AssetPath::new(trimmed)
        .map_err(|e| Failure::Usage(format!("FILE `{text}` is not a valid input path: {e}")))
}

fn asset_arg(text: &str) -> Result<AssetQuery, Failure> {
    AssetQuery::parse(text).map_err(Failure::Usage)
}

/// Why a command that changed nothing had nothing to do.
fn already(command: &Command) -> &'static str {
    match command {
        Command::SetIncluded { included: true, .. } => "the asset is already included",
        Command::SetIncluded {
            included: false, ..
        } => "the asset is already excluded",
        Command::UpdateDeclaration { .. } => "the declaration already says so",
        _ => "the project is already so",
    }
}
