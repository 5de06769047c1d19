//! Folders moved, swapped and replaced by hand, beyond what the plan itself offers:
//! what the other commands and the views make of an asset whose root now holds the
//! `asset.json` of another asset that moved in.

use packer_app::runtime::WriteRequest;
use packer_app::views::ListView;
use packer_domain::command::{Command, DeclarationChanges};
use packer_domain::path::AssetPath;
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{AssetQuery, AssetStatus};
use packer_memfs::MemFs;

use crate::fixture_text::{U1, U2};
use crate::reconcile::{decl, hand_registry};
use crate::runtime::open;

/// `a` and `b` swapped by hand: asset 1's root `a` holds asset 2's folder, and back.
fn swapped() -> MemFs {
    MemFs::from_fixture(&format!(
        "
//- .prometeu/index.json
{}
//- a/asset.json
{}
//- a/x.bin
bytes of b
//- b/asset.json
{}
//- b/x.bin
bytes of a
",
        hand_registry(3, &[(1, U1, "a"), (2, U2, "b")]),
        decl(U2, "b"),
        decl(U1, "a"),
    ))
    .unwrap()
}

fn write(command: Command) -> WriteRequest {
    WriteRequest {
        command,
        expected_generation: None,
    }
}

/// Moving, removing or editing an asset whose folder left its root never touches the
/// folder that moved in there: that is another asset's. (They used to move asset 2's
/// folder under asset 1's name, delete asset 2's `asset.json`, or rewrite it.)
#[test]
fn commands_on_a_swapped_asset_leave_the_folder_that_moved_in_alone() {
    let one = || AssetQuery::Id(AssetId(1));
    let commands = [
        Command::MoveAsset {
            asset: one(),
            to: AssetPath::new("elsewhere").unwrap(),
        },
        Command::UpdateDeclaration {
            asset: one(),
            changes: DeclarationChanges {
                name: Some("renamed".to_owned()),
                kind: None,
                inputs: None,
                output: None,
            },
        },
        Command::RemoveAsset { asset: one() },
    ];
    for command in commands {
        let fs = swapped();
        let before = fs.files();
        let (runtime, _) = open(&fs);
        let outcome = runtime.submit(write(command.clone()));
        let mut after = fs.files();
        if outcome.is_ok() {
            // Only removing succeeds: it unregisters asset 1 and deletes nothing.
            assert!(
                matches!(command, Command::RemoveAsset { .. }),
                "{command:?}"
            );
            let registry = after.remove(".prometeu/index.json").unwrap();
            assert_eq!(
                String::from_utf8(registry).unwrap(),
                format!("{}\n", crate::reconcile::registry(3, &[(2, U2, "b")]))
            );
        } else {
            after.remove(".prometeu/index.json");
        }
        let mut before = before;
        before.remove(".prometeu/index.json");
        assert_eq!(after, before, "{command:?}: {outcome:?}");
    }
}

/// `list` and `show` describe a swapped asset by its own declaration, not by what moved
/// into its root: like any moved asset, by nothing until the move is recorded.
#[test]
fn a_swapped_asset_is_not_shown_with_the_declaration_that_moved_in() {
    let fs = swapped();
    let (runtime, _) = open(&fs);
    let list = ListView::of(&runtime.snapshot());
    let shown: Vec<(u64, Option<&str>, AssetStatus)> = list
        .assets
        .iter()
        .map(|a| (a.asset_id.0, a.name.as_deref(), a.status))
        .collect();
    assert_eq!(
        shown,
        [(1, None, AssetStatus::Moved), (2, None, AssetStatus::Moved)]
    );
}
