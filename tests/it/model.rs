//! The write commands against a reference model: random sequences of commands, batches
//! and a person's edits run through the runtime on memfs and through a small model of the
//! registry and of the `asset.json` files on disk. After every step the runtime's answer,
//! the registry and declarations on disk, the folders on disk and the published snapshot
//! must be exactly what the model says.
//!
//! The model knows what the runtime's snapshot saw (the disk as of its last commit) apart
//! from what is on disk now, so it also predicts every `conflict` a hand edit causes.
//!
//! The generators are in `model/ops.rs`, the model in `model/reference.rs`, and the
//! runner that compares the two in `model/runner.rs`; the proptest entry point and the
//! scripted scenarios are here.

mod ops;
mod reference;
mod runner;

use packer_domain::declaration::AssetKind;
use proptest::prelude::*;

use ops::{Op, Place, Step, Target, step};
use runner::run;

proptest! {
    #![proptest_config(ProptestConfig {
        // A failure is reported shrunk; nothing is written next to the sources.
        failure_persistence: None,
        ..ProptestConfig::with_cases(64)
    })]

    #[test]
    fn commands_and_hand_edits_follow_the_model(steps in prop::collection::vec(step(), 1..=30)) {
        run(&steps)?;
    }
}

/// Runs a fixed scenario through the same checks as the property test.
fn check_scenario(steps: &[Step]) {
    if let Err(error) = run(steps) {
        panic!("{error}");
    }
}

fn create_blob(root: &'static str) -> Op {
    Op::Create {
        root,
        kind: AssetKind::Blob,
        inputs: &["x.bin"],
        name: None,
        included: true,
    }
}

/// Every kind of step, with outcomes of every kind: commits, `not_found` for a folder the
/// snapshot has not seen yet, `invalid` for a duplicate uuid, and `conflict` for edits
/// the snapshot has not seen, until a commit lets it see them.
#[test]
fn a_scripted_scenario_follows_the_model() {
    let rename = |asset| Op::Update {
        asset: Target::Id(asset),
        name: Some("hero"),
        kind: Some(AssetKind::Data),
        inputs: None,
    };
    let include = |asset, included| Op::SetIncluded {
        asset: Target::Id(asset),
        included,
    };
    check_scenario(&[
        Step::HandCreate { root: "h" },
        Step::Run(Op::Adopt {
            root: Place::Root("h"),
        }),
        Step::Run(include(2, true)),
        Step::Run(Op::Adopt {
            root: Place::Root("h"),
        }),
        Step::HandCopy { from: "a", to: "k" },
        Step::Run(include(1, false)),
        Step::Run(Op::Adopt {
            root: Place::Root("k"),
        }),
        Step::EditThenUpdate { asset: 1 },
        Step::Run(rename(1)),
        Step::Run(include(3, false)),
        Step::Run(rename(1)),
        Step::HandDelete { root: "d/e" },
        Step::Run(Op::Move {
            asset: Target::Id(2),
            to: "b",
        }),
        Step::Run(Op::Remove {
            asset: Target::Id(2),
        }),
        Step::Batch(vec![
            create_blob("b"),
            Op::Move {
                asset: Target::Id(1),
                to: "f/g",
            },
            include(4, false),
        ]),
        Step::HandEdit {
            root: "c",
            valid: false,
        },
        Step::Run(Op::Remove {
            asset: Target::Root("d/e"),
        }),
        Step::Run(Op::Adopt {
            root: Place::Root("c"),
        }),
        Step::Batch(vec![
            Op::Move {
                asset: Target::Id(4),
                to: "i/j",
            },
            rename(4),
            Op::Remove {
                asset: Target::Id(3),
            },
        ]),
        Step::Run(Op::Move {
            asset: Target::Id(1),
            to: "d",
        }),
        Step::Run(create_blob("d/e")),
    ]);
}

/// Found by the property test: `move_asset` into the asset's own folder passes planning,
/// then fails after the commit point, leaving a transaction that recovery can never
/// finish: the project stays `failed` for every later write, and after reopening.
#[test]
fn moving_a_root_into_itself_is_refused() {
    check_scenario(&[Step::Run(Op::Move {
        asset: Target::Id(1),
        to: "a/x",
    })]);
}

/// Found by the property test: the commit writes declarations before it moves folders,
/// so creating at a root the same batch moved away cannot work; the runtime refuses it
/// as a `conflict` ("assets/a/asset.json appeared on disk since the snapshot"), which
/// is untrue, instead of as `invalid`.
#[test]
fn a_batch_cannot_create_where_it_moves_a_root_away() {
    check_scenario(&[Step::Batch(vec![
        Op::Move {
            asset: Target::Id(1),
            to: "b",
        },
        create_blob("a"),
    ])]);
}

/// Same cause, worse outcome: creating inside a folder the batch moves away commits,
/// registers the new asset at `a/x`, and writes its `asset.json` to `b/x` (into the moved
/// asset's folder), where the registry does not look.
#[test]
fn a_batch_cannot_create_inside_a_folder_it_moves_away() {
    check_scenario(&[Step::Batch(vec![
        Op::Move {
            asset: Target::Id(1),
            to: "b",
        },
        create_blob("a/x"),
    ])]);
}

/// Same cause: adopting an unregistered folder that lies inside a folder the batch moves
/// away commits, registering `a/x` while the folder ends up at `b/x`.
#[test]
fn a_batch_cannot_adopt_a_folder_it_moves_away() {
    check_scenario(&[
        Step::HandCreate { root: "a/x" },
        // Any commit, so that the snapshot sees the new folder.
        Step::Run(Op::SetIncluded {
            asset: Target::Id(1),
            included: false,
        }),
        Step::Batch(vec![
            Op::Move {
                asset: Target::Id(1),
                to: "b",
            },
            Op::Adopt {
                root: Place::Root("a/x"),
            },
        ]),
    ]);
}

/// Found by the property test: a batch that created an asset and then moved it was
/// refused as a `conflict`, then, once allowed, left the folder the create made behind.
/// Moving an asset created in the same batch is now refused as `invalid`.
#[test]
fn a_batch_cannot_move_an_asset_it_creates() {
    check_scenario(&[Step::Batch(vec![
        create_blob("h"),
        Op::Move {
            asset: Target::Id(3),
            to: "k",
        },
    ])]);
}

/// Found by the property test: a batch that updates an asset and then removes it
/// commits, unregisters the asset, but leaves its (old) `asset.json` on disk, where it
/// becomes an unregistered asset: removing the update's write dropped the delete.
#[test]
fn removing_an_asset_updated_in_the_same_batch_deletes_its_declaration() {
    check_scenario(&[Step::Batch(vec![
        Op::Update {
            asset: Target::Id(2),
            name: Some("hero"),
            kind: None,
            inputs: None,
        },
        Op::Remove {
            asset: Target::Id(2),
        },
    ])]);
}

/// Found by the property test: a batch that adopts a folder, removes the asset it made
/// (deleting its `asset.json`) and adopts the folder again committed, registering an
/// asset whose declaration the same commit deleted. The second adopt is now refused as
/// `invalid`.
#[test]
fn a_batch_cannot_adopt_a_declaration_it_deleted() {
    check_scenario(&[
        Step::Run(Op::Create {
            root: "b",
            kind: AssetKind::Image,
            inputs: &["x.bin"],
            name: None,
            included: false,
        }),
        Step::Run(Op::Remove {
            asset: Target::Registered(0),
        }),
        Step::Batch(vec![
            Op::Adopt {
                root: Place::Unregistered(0),
            },
            Op::Remove {
                asset: Target::Next(0),
            },
            Op::Adopt {
                root: Place::Unregistered(0),
            },
        ]),
    ]);
}

/// Found by the property test: a batch that creates an asset and removes it again was
/// decided on there being no `asset.json` at its root; one a person made meanwhile was
/// not checked for, since the batch writes nothing there. It is now a `conflict`.
#[test]
fn a_batch_that_creates_and_removes_an_asset_still_checks_its_root_is_free() {
    check_scenario(&[
        // Frees `a`.
        Step::Run(Op::Move {
            asset: Target::Registered(0),
            to: "b",
        }),
        Step::HandCreate { root: "a" },
        Step::Batch(vec![
            Op::Create {
                root: "a",
                kind: AssetKind::Image,
                inputs: &["x.bin"],
                name: None,
                included: false,
            },
            Op::Remove {
                asset: Target::Root("a"),
            },
        ]),
    ]);
}

/// Found by the property test: a batch that moved an asset, removed it, and created
/// another at the folder's destination passed planning, then failed after its commit
/// point (the create made the folder the move needed free), leaving the project
/// `failed`. Creating at a destination of the batch is now refused as `invalid`.
#[test]
fn a_batch_cannot_create_where_it_moves_a_folder() {
    check_scenario(&[Step::Batch(vec![
        Op::Move {
            asset: Target::Registered(1),
            to: "b",
        },
        Op::Remove {
            asset: Target::Registered(1),
        },
        create_blob("b"),
    ])]);
}
