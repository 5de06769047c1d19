//! Applying reconcile plans: the same disk gives the same plan, chosen actions compose
//! in one commit and the others stay offered, stale, unknown or repeated choices are
//! refused without writing, a hand edit after the plan is a conflict, and the command
//! takes nothing the snapshot's plan does not offer.

use packer_app::error::ErrorCode;
use packer_app::runtime::WriteRequest;
use packer_domain::command::{Command, Expected, FileChange, Refusal, plan as plan_command};
use packer_domain::event::{Event, RejectReason};
use packer_domain::path::AssetPath;
use packer_domain::reconcile::{self, ReconcileAction};
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{ProjectState, Snapshot};
use packer_memfs::MemFs;
use uuid::Uuid;

use crate::fixture_text::{U1, U2, U3, U4};
use crate::reconcile_fixture::{decl, hand_registry};
use crate::runtime::open;

/// A project with one drift of each kind.
fn every_kind() -> String {
    format!(
        "
//- .prometeu/index.json
{}
//- moved/a/asset.json
{}
//- moved/a/x.bin
bytes of a
//- c/asset.json
{}
//- c/x.bin
bytes of c
//- c2/asset.json
{}
//- c2/x.bin
bytes of c2
//- d/asset.json
{}
//- d/x.bin
bytes of d
//- loose/asset.json
{}
//- loose/x.bin
bytes of loose
",
        hand_registry(5, &[(1, U1, "a"), (2, U2, "b"), (3, U3, "c"), (4, U4, "d")]),
        decl(U1, "a"),
        decl(U3, "c"),
        decl(U3, "c2"),
        decl("55555555-5555-4555-8555-555555555555", "d"),
        decl("66666666-6666-4666-8666-666666666666", "loose"),
    )
}

#[test]
fn the_same_disk_gives_the_same_plan() {
    let first = reconcile::plan(&Snapshot::load(
        &MemFs::from_fixture(&every_kind()).unwrap(),
        1,
    ));
    let again = reconcile::plan(&Snapshot::load(
        &MemFs::from_fixture(&every_kind()).unwrap(),
        1,
    ));
    assert_eq!(first, again);
    let kinds: Vec<&str> = first.actions.iter().map(|a| a.action.kind_name()).collect();
    assert_eq!(
        kinds,
        [
            "relocate",
            "unregister",
            "accept_declared_uuid",
            "reassign_uuid",
            "adopt"
        ]
    );
    assert_eq!(
        first
            .actions
            .iter()
            .map(|a| a.action_id)
            .collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
}

#[test]
fn chosen_actions_compose_in_one_commit_and_the_rest_stay_offered() {
    let fs = MemFs::from_fixture(&every_kind()).unwrap();
    let (runtime, events) = open(&fs);
    let plan = runtime.reconcile_plan();
    // relocate asset 1 and adopt `loose`.
    let outcome = runtime.reconcile_apply(1, &[5, 1]).unwrap();
    assert_eq!(outcome.changed, [AssetId(1), AssetId(5)]);
    assert_eq!(outcome.asset, None);
    assert!(
        events
            .events()
            .iter()
            .any(|e| e.name() == "snapshot_committed")
    );
    let snapshot = runtime.snapshot();
    assert_eq!(
        snapshot.asset(AssetId(1)).unwrap().entry.root,
        AssetPath::new("moved/a").unwrap()
    );
    assert_eq!(
        snapshot.asset(AssetId(5)).unwrap().entry.root,
        AssetPath::new("loose").unwrap()
    );
    // The others are offered again, renumbered, in the same order.
    let next = runtime.reconcile_plan();
    let before: Vec<&ReconcileAction> =
        [1, 2, 3].iter().map(|&i| &plan.actions[i].action).collect();
    let after: Vec<&ReconcileAction> = next.actions.iter().map(|a| &a.action).collect();
    assert_eq!(after, before);
    assert_eq!(next.plan_id, 2);
    let all: Vec<u32> = next.actions.iter().map(|a| a.action_id).collect();
    runtime.reconcile_apply(next.plan_id, &all).unwrap();
    assert_eq!(runtime.view().state, ProjectState::Ready);
}

#[test]
fn stale_unknown_or_repeated_choices_are_refused_without_writing() {
    let fs = MemFs::from_fixture(&every_kind()).unwrap();
    let (runtime, _) = open(&fs);
    let before = fs.files();
    let error = |plan_id, ids: &[u32]| runtime.reconcile_apply(plan_id, ids).unwrap_err();
    assert_eq!(error(7, &[1]).code, ErrorCode::StaleRequest);
    assert_eq!(error(1, &[]).code, ErrorCode::InvalidParams);
    assert_eq!(error(1, &[6]).code, ErrorCode::InvalidParams);
    assert_eq!(error(1, &[0]).code, ErrorCode::InvalidParams);
    let twice = error(1, &[2, 2]);
    assert_eq!(
        (twice.code, twice.message.as_str()),
        (ErrorCode::InvalidParams, "action 2 is chosen twice")
    );
    assert_eq!(fs.files(), before);

    // A plan of an older generation: the project moved on with a commit.
    runtime.reconcile_apply(1, &[2]).unwrap();
    assert_eq!(error(1, &[1]).code, ErrorCode::StaleRequest);
    assert_eq!(runtime.view().snapshot.generation(), 2);
}

/// A stale plan is a write refused like any other: the refusal names its command and
/// the generation in force, and `write_rejected` says so to every consumer.
#[test]
fn a_stale_plan_is_announced_as_a_rejected_write() {
    let fs = MemFs::from_fixture(&every_kind()).unwrap();
    let (runtime, events) = open(&fs);
    runtime.reconcile_apply(1, &[2]).unwrap();
    let error = runtime.reconcile_apply(1, &[1]).unwrap_err();
    assert_eq!(error.code, ErrorCode::StaleRequest);
    let rejected: Vec<Event> = events
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::WriteRejected { .. }))
        .collect();
    let [
        Event::WriteRejected {
            generation: 2,
            command_id,
            reason: RejectReason::StaleRequest,
            detail,
        },
    ] = rejected.as_slice()
    else {
        panic!("{rejected:?}");
    };
    assert_eq!(detail, &error.message);
    assert_eq!(
        error.detail,
        serde_json::json!({"command_id": command_id, "generation": 2})
    );
}

/// A person's edit of the project.
type Edit = Box<dyn Fn(&MemFs)>;

/// The plan was decided on the files as the snapshot saw them: a hand edit since then
/// is a conflict, and nothing is written.
#[test]
fn a_hand_edit_after_the_plan_is_a_conflict() {
    let edits: [(&str, Edit); 4] = [
        (
            "relocate",
            Box::new(|fs| fs.write("moved/a/asset.json", decl(U1, "renamed"))),
        ),
        (
            "unregister",
            Box::new(|fs| fs.write("b/asset.json", decl(U2, "b"))),
        ),
        (
            "accept_declared_uuid",
            Box::new(|fs| fs.write("d/asset.json", decl(U4, "d"))),
        ),
        (
            "reassign_uuid",
            Box::new(|fs| fs.write("c2/asset.json", decl(U3, "edited"))),
        ),
    ];
    for (kind, edit) in edits {
        let fs = MemFs::from_fixture(&every_kind()).unwrap();
        let (runtime, _) = open(&fs);
        let plan = runtime.reconcile_plan();
        let id = plan
            .actions
            .iter()
            .find(|a| a.action.kind_name() == kind)
            .unwrap()
            .action_id;
        edit(&fs);
        let before = fs.files();
        let error = runtime.reconcile_apply(plan.plan_id, &[id]).unwrap_err();
        assert_eq!(error.code, ErrorCode::Conflict, "{kind}: {}", error.message);
        assert_eq!(fs.files(), before, "{kind}");
    }
}

/// `Command::Reconcile` takes only what the snapshot's plan offers: an action made up by
/// a client, or one whose drift is gone, is refused.
#[test]
fn the_command_refuses_actions_the_plan_does_not_offer() {
    let fs = MemFs::from_fixture(&every_kind()).unwrap();
    let snapshot = Snapshot::load(&fs, 1);
    let root = |s: &str| AssetPath::new(s).unwrap();
    let refusals = [
        ReconcileAction::Unregister {
            asset_id: AssetId(3),
            root: root("c"),
        },
        ReconcileAction::Relocate {
            asset_id: AssetId(1),
            from: root("a"),
            to: root("c2"),
        },
        ReconcileAction::Adopt {
            root: root("c2"),
            asset_uuid: Uuid::parse_str(U3).unwrap(),
        },
    ];
    let mut uuids = Uuid::new_v4;
    for action in refusals {
        let got = plan_command(
            &snapshot,
            &Command::Reconcile(vec![action.clone()]),
            &mut uuids,
        );
        assert!(
            matches!(&got, Err(Refusal::Invalid(m)) if m.contains("not an action of the reconcile plan")),
            "{action}: {got:?}"
        );
    }
    let offered = reconcile::plan(&snapshot);
    let first = offered.actions[0].action.clone();
    let got = plan_command(
        &snapshot,
        &Command::Reconcile(vec![first.clone(), first]),
        &mut uuids,
    );
    assert!(matches!(got, Err(Refusal::Invalid(_))), "{got:?}");
    let in_batch = Command::Batch(vec![Command::Reconcile(vec![
        offered.actions[0].action.clone(),
    ])]);
    assert!(matches!(
        plan_command(&snapshot, &in_batch, &mut uuids),
        Err(Refusal::Invalid(_))
    ));

    // Through the lane, with the drift gone: the asset.json of `b` came back.
    let (runtime, _) = open(&fs);
    fs.write("b/asset.json", decl(U2, "b"));
    runtime.reconcile_apply(1, &[5]).unwrap(); // adopt `loose`: a new generation
    let unregister = ReconcileAction::Unregister {
        asset_id: AssetId(2),
        root: root("b"),
    };
    let error = runtime
        .submit(WriteRequest {
            command: Command::Reconcile(vec![unregister]),
            expected_generation: None,
        })
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::Invalid, "{}", error.message);
}

/// Each action carries the precondition of what it was decided on: a moved or adopted
/// declaration unchanged, a gone one still gone, a rewritten one replaced only if
/// unchanged.
#[test]
fn every_action_verifies_what_it_was_decided_on() {
    let fs = MemFs::from_fixture(&every_kind()).unwrap();
    let snapshot = Snapshot::load(&fs, 1);
    let actions = reconcile::plan(&snapshot).select(&[1, 2, 3, 4, 5]).unwrap();
    let mut uuids = || Uuid::from_u128(0xF0F0_F0F0_F0F0_40F0_80F0_F0F0_F0F0_F0F0);
    let plan = plan_command(&snapshot, &Command::Reconcile(actions), &mut uuids).unwrap();
    let changes: Vec<String> = plan
        .changes
        .iter()
        .map(|change| match change {
            FileChange::Verify { path, .. } => format!("verify {path} unchanged"),
            FileChange::VerifyAbsent { path } => format!("verify {path} absent"),
            FileChange::Write {
                path,
                expected: Expected::Content(_),
                ..
            } => format!("write {path} if unchanged"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        changes,
        [
            "verify d/asset.json unchanged",
            "verify loose/asset.json unchanged",
            "verify moved/a/asset.json unchanged",
            "verify a/asset.json absent",
            "verify b/asset.json absent",
            "write c2/asset.json if unchanged",
            "write .prometeu/index.json if unchanged",
        ]
    );
    assert_eq!(
        plan.changed,
        [AssetId(1), AssetId(2), AssetId(4), AssetId(5), AssetId(6)]
    );
    assert_eq!(plan.created, None);
}
