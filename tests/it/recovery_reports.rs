//! What recovery did is always told: transactions left in `.prometeu/tx/` by another
//! process (killed after its commit point, or made by hand) are reported with
//! `recovery_performed` whatever becomes of the write that recovered them — committed,
//! refused as a conflict, or stopped by a later transaction that recovery refuses — and
//! a write refused because the project stays `failed` is announced with
//! `write_rejected`, as every refusal is. A read command, which recovers nothing,
//! reports the condition a runtime opening the project would report.

use crate::fixture_text::{U1, declaration, registry};
use crate::runtime::open;
use packer_app::runtime::{WriteRequest, read_only_view};
use packer_domain::command::Command;
use packer_domain::event::Event;
use packer_domain::path::WsPath;
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{AssetQuery, ContentHash, ProjectState};
use packer_domain::transaction::{Intent, TxOp};
use packer_memfs::{EventLog, MemFs};

/// One registered asset, included in the build.
fn project() -> MemFs {
    let text = format!(
        "//- .prometeu/index.json\n{}//- a/asset.json\n{}//- a/x.bin\nuser bytes\n",
        registry(2, &[(1, U1, "a", true)]),
        declaration(U1, "a", "x.bin"),
    );
    MemFs::from_fixture(&text).unwrap()
}

/// A transaction left in `tx/`: one whose commit point was passed by another packer
/// process, killed before it replaced the registry with the staged text, or one whose
/// intent cannot be read.
enum Left<'a> {
    RegistryReplacedBy(&'a str),
    MalformedIntent,
    /// Committed, and the registry then edited by hand: it matches neither the content
    /// before the commit nor after it.
    RegistryEditedSince,
}

fn leave(fs: &MemFs, name: &str, left: Left<'_>) {
    let dir = format!(".prometeu/tx/{name}");
    match left {
        Left::RegistryReplacedBy(index) => {
            let now = fs.read(".prometeu/index.json").unwrap();
            let intent = Intent {
                ops: vec![TxOp::Write {
                    path: WsPath::internal("index.json").unwrap(),
                    staged: "0".to_owned(),
                    pre: Some(ContentHash::of(&now)),
                    post: ContentHash::of(index.as_bytes()),
                }],
            };
            fs.write(&format!("{dir}/0"), index);
            fs.write(&format!("{dir}/intent.json"), intent.to_bytes());
        }
        Left::MalformedIntent => {
            fs.write(&format!("{dir}/intent.json"), "{\"version\": 1, \"ops\": [")
        }
        Left::RegistryEditedSince => {
            let theirs = registry(3, &[(1, U1, "a", true)]);
            leave(fs, name, Left::RegistryReplacedBy(&theirs));
            fs.write(".prometeu/index.json", registry(9, &[(1, U1, "a", true)]));
        }
    }
}

fn exclude_asset_1() -> WriteRequest {
    WriteRequest {
        command: Command::SetIncluded {
            asset: AssetQuery::Id(AssetId(1)),
            included: false,
        },
        expected_generation: None,
    }
}

/// The recovery and rejection events, as `(name, transaction or reason)`, in order.
fn told(events: &EventLog) -> Vec<(&'static str, String)> {
    events
        .events()
        .iter()
        .filter_map(|event| match event {
            Event::RecoveryPerformed {
                transaction,
                outcome,
                ..
            } => Some(("recovery_performed", format!("{transaction} {outcome:?}"))),
            Event::WriteRejected { reason, .. } => Some(("write_rejected", format!("{reason:?}"))),
            _ => None,
        })
        .collect()
}

fn check(events: &EventLog, expected: &[(&'static str, &str)]) {
    let expected: Vec<(&str, String)> = expected
        .iter()
        .map(|(name, what)| (*name, (*what).to_owned()))
        .collect();
    assert_eq!(told(events), expected, "{:#?}", events.events());
}

/// Another process's commit waits in `tx/` when this runtime writes: recovery rolls it
/// forward, which changes the registry this runtime's snapshot saw, so the write is
/// refused as a conflict. The roll-forward happened all the same and is reported.
#[test]
fn a_transaction_rolled_forward_by_a_write_that_then_conflicts_is_reported() {
    let fs = project();
    let (runtime, events) = open(&fs);
    let theirs = registry(3, &[(1, U1, "a", true)]);
    leave(&fs, "0001-9", Left::RegistryReplacedBy(&theirs));

    let error = runtime.submit(exclude_asset_1()).unwrap_err();

    assert_eq!(error.code.as_str(), "conflict", "{error:?}");
    check(
        &events,
        &[
            ("recovery_performed", "0001-9 RolledForward"),
            ("write_rejected", "Conflict"),
        ],
    );
    assert_eq!(fs.read(".prometeu/index.json").unwrap(), theirs.as_bytes());
    runtime.shutdown();
}

/// Two transactions wait on open: the first is rolled forward, the second cannot be
/// read and is refused. Both outcomes are told, not only the refusal.
#[test]
fn recovery_on_open_reports_what_it_finished_before_a_refusal() {
    let fs = project();
    let theirs = registry(3, &[(1, U1, "a", true)]);
    leave(&fs, "0001-1", Left::RegistryReplacedBy(&theirs));
    leave(&fs, "0002-1", Left::MalformedIntent);

    let (runtime, events) = open(&fs);

    assert_eq!(runtime.view().state, ProjectState::Failed);
    check(
        &events,
        &[
            ("recovery_performed", "0001-1 RolledForward"),
            ("recovery_performed", "0002-1 Refused"),
        ],
    );
    runtime.shutdown();
}

/// On a project that recovery keeps refusing, a write runs recovery again, which
/// refuses again: the write is refused with `failed_state` and, like every refusal,
/// announced to everyone with `write_rejected`; nothing is written.
#[test]
fn a_write_refused_because_recovery_still_refuses_is_announced() {
    let fs = project();
    leave(&fs, "0001-1", Left::MalformedIntent);
    let (runtime, events) = open(&fs);
    let before = fs.files();
    events.clear();

    let error = runtime.submit(exclude_asset_1()).unwrap_err();

    assert_eq!(error.code.as_str(), "failed_state", "{error:?}");
    assert!(error.message.contains("0001-1"), "{error:?}");
    check(
        &events,
        &[
            ("recovery_performed", "0001-1 Refused"),
            ("write_rejected", "FailedState"),
        ],
    );
    assert_eq!(fs.files(), before, "nothing written");
    assert_eq!(runtime.view().state, ProjectState::Failed);
    runtime.shutdown();
}

/// A refused transaction is resolved as the hint says (the person keeps the files as
/// they are and removes the transaction's folder), or one that waited is finished by
/// another process's write: a running runtime's next full verification
/// (`check_divergence`, or the periodic one) finds `tx/` clear and the project is
/// `ready` again, without a write or a restart. Nothing is written on the way.
#[test]
fn a_full_verification_finds_a_transaction_resolved_behind_the_runtime() {
    let fs = project();
    leave(&fs, "0001-1", Left::MalformedIntent);
    let (runtime, events) = open(&fs);
    assert_eq!(runtime.view().state, ProjectState::Failed);
    // Still there: still failed.
    assert_eq!(runtime.check_divergence().state, ProjectState::Failed);

    fs.remove(".prometeu/tx/0001-1");
    let before = fs.files();
    let view = runtime.check_divergence();
    assert_eq!(
        (view.state, view.condition.as_deref()),
        (ProjectState::Ready, None),
        "{view:?}"
    );
    assert_eq!(fs.files(), before, "a verification writes nothing");
    assert!(
        events.events().iter().any(|e| matches!(
            e,
            Event::StateChanged {
                to: ProjectState::Ready,
                ..
            }
        )),
        "{:#?}",
        events.events()
    );
    runtime.submit(exclude_asset_1()).unwrap();
    runtime.shutdown();
}

/// A read command recovers nothing, yet says what a runtime opening the project would:
/// `failed` with the same condition, which names the transaction and why recovery
/// refuses it (not that the next write finishes it), or why `tx/` cannot be read.
fn check_read_only_view(setup: impl Fn(&MemFs), expected: &str) {
    let fs = project();
    setup(&fs);
    let before = fs.files();
    let view = read_only_view(&fs);
    assert_eq!(fs.files(), before, "a read-only view writes nothing");
    let (runtime, _events) = open(&fs);
    let opened = runtime.view();
    assert_eq!(
        (view.state, view.condition.as_deref()),
        (opened.state, opened.condition.as_deref()),
        "the read-only view and the runtime disagree"
    );
    assert_eq!(view.state, ProjectState::Failed);
    let condition = view.condition.unwrap_or_default();
    assert!(condition.contains(expected), "{condition}");
    runtime.shutdown();
}

#[test]
fn a_read_command_names_a_transaction_that_recovery_refuses() {
    check_read_only_view(
        |fs| leave(fs, "0001-1", Left::MalformedIntent),
        "recovery_conflict: transaction 0001-1 cannot be finished safely: the intent cannot be read: assets/.prometeu/tx/0001-1/intent.json:1:24: unexpected end of the file",
    );
    // Where the intent goes wrong, to the line and column, as for every file read.
    check_read_only_view(
        |fs| {
            fs.write(
                ".prometeu/tx/0001-1/intent.json",
                "{\"version\": 1,\n \"ops\": [{\"op\": \"rename_dir\", \"from\": \"a\", \"to\": \"../b\"}]}",
            )
        },
        "the intent cannot be read: assets/.prometeu/tx/0001-1/intent.json:2:50: `../b` is not a workspace path",
    );
    check_read_only_view(
        |fs| leave(fs, "0001-1", Left::RegistryEditedSince),
        "recovery_conflict: transaction 0001-1 cannot be finished safely: assets/.prometeu/index.json matches neither",
    );
    // The first refusal stops recovery, as it stops the runtime's.
    check_read_only_view(
        |fs| {
            leave(fs, "0001-1", Left::RegistryEditedSince);
            leave(fs, "0002-1", Left::MalformedIntent);
        },
        "transaction 0001-1",
    );
}

#[test]
fn a_read_command_reports_a_transaction_folder_it_cannot_list() {
    check_read_only_view(
        |fs| fs.write(".prometeu/tx", "not a folder"),
        "assets/.prometeu/tx",
    );
}

/// A transaction that recovery will roll forward is pending for a read command, which
/// does not finish it: the next write does.
#[test]
fn a_read_command_says_the_next_write_finishes_a_recoverable_transaction() {
    let fs = project();
    leave(
        &fs,
        "0001-1",
        Left::RegistryReplacedBy(&registry(3, &[(1, U1, "a", true)])),
    );
    let view = read_only_view(&fs);
    assert_eq!(view.state, ProjectState::Failed);
    assert_eq!(
        view.condition.as_deref(),
        Some(
            "an interrupted commit waits for recovery (transaction 0001-1); the next write command finishes it"
        )
    );
}
