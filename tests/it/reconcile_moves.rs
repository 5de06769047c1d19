//! Folders moved, swapped and replaced by hand, combined with copies: each asset
//! follows its uuid and a copy put where an asset left becomes a new asset; and what
//! the other commands and the views make of an asset whose root now holds the
//! `asset.json` of another asset that moved in.

use packer_app::runtime::WriteRequest;
use packer_app::views::ListView;
use packer_domain::command::{Command, DeclarationChanges};
use packer_domain::path::AssetPath;
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{AssetQuery, AssetStatus};
use packer_memfs::MemFs;

use crate::fixture_text::{U1, U2, U3};
use crate::reconcile_fixture::{apply_only, check, decl, hand_registry, registry, written};
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
            let index = after.remove(".prometeu/index.json").unwrap();
            assert_eq!(
                String::from_utf8(index).unwrap(),
                format!("{}\n", registry(3, &[(2, U2, "b")]))
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

/// `b` renamed to `b_old` and a copy of `a` put in its place: asset 2 follows its uuid
/// to `b_old`, and the copy that came after gets a fresh uuid as a new asset, which
/// needs asset 2 gone from `b` first. (Asset 2 used to keep its id at the copy of `a`,
/// and its own folder was registered as a new asset.)
#[test]
fn a_folder_renamed_and_a_copy_put_in_its_place_keeps_its_identity() {
    let layout = "
//- .prometeu/index.json
{}
//- a/asset.json
{}
//- a/x.bin
bytes of a
//- b/asset.json
{}
//- b/x.bin
bytes of a
//- b_old/asset.json
{}
//- b_old/x.bin
bytes of b
";
    let before = [
        hand_registry(3, &[(1, U1, "a"), (2, U2, "b")]),
        decl(U1, "a"),
        decl(U1, "a"),
        decl(U2, "b"),
    ];
    let plan = format!(
        "{{'plan_id': 1, 'generation': 1, 'unresolved': [], 'actions': [
            {{'action_id': 1, 'kind': 'relocate',
              'drift': {{'kind': 'root_moved', 'asset_id': 2, 'from': 'b', 'to': 'b_old'}},
              'asset_id': 2, 'from': 'b', 'to': 'b_old'}},
            {{'action_id': 2, 'kind': 'reassign_uuid', 'requires': [1],
              'drift': {{'kind': 'duplicate_uuid', 'asset_id': 1, 'asset_uuid': '{U1}', 'roots': ['a', 'b']}},
              'root': 'b', 'asset_uuid': '{U1}'}}]}}"
    );
    let after = [
        registry(4, &[(1, U1, "a"), (2, U2, "b_old"), (3, "<fresh 3>", "b")]),
        decl(U1, "a"),
        written("<fresh 3>", "a"),
        decl(U2, "b"),
    ];
    check(layout, &before, &plan, &after);

    // The copy's action alone brings asset 2's relocation with it.
    apply_only(layout, &before, &[2]);
}

/// Two folders swapped, then each copied: each asset follows its uuid to one of its
/// folders, and the other copy of each is a new asset. Nobody's id changes content.
#[test]
fn swapped_and_copied_folders_keep_every_identity() {
    let layout = "
//- .prometeu/index.json
{}
//- a/asset.json
{}
//- a/x.bin
bytes of b
//- a_copy/asset.json
{}
//- a_copy/x.bin
bytes of b
//- b/asset.json
{}
//- b/x.bin
bytes of a
//- b_copy/asset.json
{}
//- b_copy/x.bin
bytes of a
";
    let before = [
        hand_registry(3, &[(1, U1, "a"), (2, U2, "b")]),
        decl(U2, "b"),
        decl(U2, "b"),
        decl(U1, "a"),
        decl(U1, "a"),
    ];
    let plan = format!(
        "{{'plan_id': 1, 'generation': 1, 'unresolved': [], 'actions': [
            {{'action_id': 1, 'kind': 'relocate',
              'drift': {{'kind': 'root_moved', 'asset_id': 1, 'from': 'a', 'to': 'b_copy'}},
              'asset_id': 1, 'from': 'a', 'to': 'b_copy'}},
            {{'action_id': 2, 'kind': 'relocate',
              'drift': {{'kind': 'root_moved', 'asset_id': 2, 'from': 'b', 'to': 'a_copy'}},
              'asset_id': 2, 'from': 'b', 'to': 'a_copy'}},
            {{'action_id': 3, 'kind': 'reassign_uuid', 'requires': [2],
              'drift': {{'kind': 'duplicate_uuid', 'asset_id': 1, 'asset_uuid': '{U1}', 'roots': ['b', 'b_copy']}},
              'root': 'b', 'asset_uuid': '{U1}'}},
            {{'action_id': 4, 'kind': 'reassign_uuid', 'requires': [1],
              'drift': {{'kind': 'duplicate_uuid', 'asset_id': 2, 'asset_uuid': '{U2}', 'roots': ['a', 'a_copy']}},
              'root': 'a', 'asset_uuid': '{U2}'}}]}}"
    );
    let after = [
        registry(
            5,
            &[
                (1, U1, "b_copy"),
                (2, U2, "a_copy"),
                (3, "<fresh 3>", "b"),
                (4, "<fresh 4>", "a"),
            ],
        ),
        written("<fresh 4>", "b"),
        decl(U2, "b"),
        written("<fresh 3>", "a"),
        decl(U1, "a"),
    ];
    check(layout, &before, &plan, &after);
}

/// `a` and `b` swapped, then `c` replaced by a copy of `b`'s folder: asset 2 follows
/// its uuid to `a`, whose asset left for `b`, and the copy over `c` gets a fresh uuid,
/// keeping asset 3's id. (Asset 2 used to be unregistered and both of its folders given
/// fresh uuids: its uuid was gone from the disk.)
#[test]
fn a_swapped_folder_copied_over_another_asset_keeps_its_identity() {
    let layout = "
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
//- c/asset.json
{}
//- c/x.bin
bytes of b
";
    let before = [
        hand_registry(4, &[(1, U1, "a"), (2, U2, "b"), (3, U3, "c")]),
        decl(U2, "b"),
        decl(U1, "a"),
        decl(U2, "b"),
    ];
    let plan = format!(
        "{{'plan_id': 1, 'generation': 1, 'unresolved': [], 'actions': [
            {{'action_id': 1, 'kind': 'relocate', 'requires': [2],
              'drift': {{'kind': 'root_moved', 'asset_id': 1, 'from': 'a', 'to': 'b'}},
              'asset_id': 1, 'from': 'a', 'to': 'b'}},
            {{'action_id': 2, 'kind': 'relocate', 'requires': [1],
              'drift': {{'kind': 'root_moved', 'asset_id': 2, 'from': 'b', 'to': 'a'}},
              'asset_id': 2, 'from': 'b', 'to': 'a'}},
            {{'action_id': 3, 'kind': 'reassign_uuid',
              'drift': {{'kind': 'uuid_mismatch', 'asset_id': 3, 'root': 'c',
                'registered_uuid': '{U3}', 'declared_uuid': '{U2}'}},
              'root': 'c', 'asset_id': 3, 'asset_uuid': '{U2}'}}]}}"
    );
    let after = [
        registry(4, &[(1, U1, "b"), (2, U2, "a"), (3, "<fresh 3>", "c")]),
        decl(U2, "b"),
        decl(U1, "a"),
        written("<fresh 3>", "b"),
    ];
    check(layout, &before, &plan, &after);
}
