//! Reconcile through the runtime on memfs: for each structural drift, alone and in the
//! combinations that make it tricky, the exact plan, then the exact files after applying
//! all of it (user files untouched) and a project that is `ready`; and what cannot be
//! offered, with its reason.

use packer_domain::snapshot::ProjectState;
use packer_memfs::MemFs;

use crate::fixture_text::{U1, U2, U3, U4};
use crate::reconcile_fixture::{
    apply_only, check, check_plan, decl, fill, hand_registry, registry, written,
};
use crate::runtime::open;

#[test]
fn root_missing_is_unregistered_and_nothing_is_deleted() {
    check(
        "
//- .prometeu/index.json
{}
//- a/asset.json
{}
//- a/x.bin
bytes of a
//- b/x.bin
bytes of b, whose asset.json was deleted
",
        &[
            hand_registry(3, &[(1, U1, "a"), (2, U2, "b")]),
            decl(U1, "a"),
        ],
        "{'plan_id': 1, 'generation': 1, 'unresolved': [], 'actions': [
            {'action_id': 1, 'kind': 'unregister', 'drift': {'kind': 'root_missing', 'asset_id': 2, 'root': 'b'},
             'asset_id': 2, 'root': 'b'}]}",
        &[
            registry(3, &[(1, U1, "a")]),
            decl(U1, "a"),
        ],
    );
}

#[test]
fn root_moved_is_relocated_keeping_its_id() {
    check(
        "
//- .prometeu/index.json
{}
//- moved/a/asset.json
{}
//- moved/a/x.bin
bytes of a
",
        &[
            hand_registry(2, &[(1, U1, "a")]),
            decl(U1, "a"),
        ],
        "{'plan_id': 1, 'generation': 1, 'unresolved': [], 'actions': [
            {'action_id': 1, 'kind': 'relocate', 'drift': {'kind': 'root_moved', 'asset_id': 1, 'from': 'a', 'to': 'moved/a'},
             'asset_id': 1, 'from': 'a', 'to': 'moved/a'}]}",
        &[
            registry(2, &[(1, U1, "moved/a")]),
            decl(U1, "a"),
        ],
    );
}

/// A registered root replaced by a symbolic link to a folder: the packer does not look
/// for assets inside linked folders, so the root has no `asset.json` for it, and the
/// actions that rely on that absence apply although the link leads to one.
#[test]
fn a_root_replaced_by_a_linked_folder_is_relocated_or_unregistered() {
    check(
        "
//- .prometeu/index.json
{}
//- a -> real
//- b -> real
//- real/asset.json
{}
//- real/x.bin
bytes of a
",
        &[
            hand_registry(3, &[(1, U1, "a"), (2, U2, "b")]),
            decl(U1, "a"),
        ],
        "{'plan_id': 1, 'generation': 1, 'unresolved': [], 'actions': [
            {'action_id': 1, 'kind': 'relocate', 'drift': {'kind': 'root_moved', 'asset_id': 1, 'from': 'a', 'to': 'real'},
             'asset_id': 1, 'from': 'a', 'to': 'real'},
            {'action_id': 2, 'kind': 'unregister', 'drift': {'kind': 'root_missing', 'asset_id': 2, 'root': 'b'},
             'asset_id': 2, 'root': 'b'}]}",
        &[
            registry(3, &[(1, U1, "real")]),
            decl(U1, "a"),
        ],
    );
}

#[test]
fn unregistered_asset_is_adopted_keeping_its_uuid() {
    check(
        "
//- .prometeu/index.json
{}
//- a/asset.json
{}
//- a/x.bin
bytes of a
//- sfx/coin/asset.json
{}
//- sfx/coin/x.bin
bytes of coin
",
        &[
            hand_registry(4, &[(1, U1, "a")]),
            decl(U1, "a"),
            decl(U2, "coin"),
        ],
        &format!(
            "{{'plan_id': 1, 'generation': 1, 'unresolved': [], 'actions': [
            {{'action_id': 1, 'kind': 'adopt', 'drift': {{'kind': 'unregistered_asset', 'root': 'sfx/coin', 'asset_uuid': '{U2}'}},
             'root': 'sfx/coin', 'asset_uuid': '{U2}'}}]}}"
        ),
        &[
            registry(5, &[(1, U1, "a"), (4, U2, "sfx/coin")]),
            decl(U1, "a"),
            decl(U2, "coin"),
        ],
    );
}

#[test]
fn a_copied_folder_gets_a_fresh_uuid_and_is_registered() {
    check(
        "
//- .prometeu/index.json
{}
//- hero/asset.json
{}
//- hero/x.bin
bytes of hero
//- hero_red/asset.json
{}
//- hero_red/x.bin
bytes of the red copy
",
        &[
            hand_registry(2, &[(1, U1, "hero")]),
            decl(U1, "hero"),
            decl(U1, "hero"),
        ],
        &format!(
            "{{'plan_id': 1, 'generation': 1, 'unresolved': [], 'actions': [
            {{'action_id': 1, 'kind': 'reassign_uuid',
              'drift': {{'kind': 'duplicate_uuid', 'asset_id': 1, 'asset_uuid': '{U1}', 'roots': ['hero', 'hero_red']}},
              'root': 'hero_red', 'asset_uuid': '{U1}'}}]}}"
        ),
        &[
            registry(3, &[(1, U1, "hero"), (2, "<fresh 2>", "hero_red")]),
            decl(U1, "hero"),
            written("<fresh 2>", "hero"),
        ],
    );
}

#[test]
fn a_mismatched_uuid_is_accepted_into_the_registry() {
    check(
        "
//- .prometeu/index.json
{}
//- a/asset.json
{}
//- a/x.bin
bytes of a
",
        &[
            hand_registry(2, &[(1, U1, "a")]),
            decl(U2, "a"),
        ],
        &format!(
            "{{'plan_id': 1, 'generation': 1, 'unresolved': [], 'actions': [
            {{'action_id': 1, 'kind': 'accept_declared_uuid',
              'drift': {{'kind': 'uuid_mismatch', 'asset_id': 1, 'root': 'a', 'registered_uuid': '{U1}', 'declared_uuid': '{U2}'}},
              'asset_id': 1, 'root': 'a', 'declared_uuid': '{U2}'}}]}}"
        ),
        &[
            registry(2, &[(1, U2, "a")]),
            decl(U2, "a"),
        ],
    );
}

/// `hero` was moved to `chars/hero` and copied to `chars/hero2`: the copy that kept the
/// folder's name is taken as the moved asset, the other gets a fresh uuid.
#[test]
fn a_moved_and_copied_folder_is_relocated_and_its_copy_registered() {
    check(
        "
//- .prometeu/index.json
{}
//- chars/hero/asset.json
{}
//- chars/hero/x.bin
bytes of hero
//- chars/hero2/asset.json
{}
//- chars/hero2/x.bin
bytes of hero 2
",
        &[
            hand_registry(2, &[(1, U1, "hero")]),
            decl(U1, "hero"),
            decl(U1, "hero"),
        ],
        &format!(
            "{{'plan_id': 1, 'generation': 1, 'unresolved': [], 'actions': [
            {{'action_id': 1, 'kind': 'relocate',
              'drift': {{'kind': 'duplicate_uuid', 'asset_id': 1, 'asset_uuid': '{U1}', 'roots': ['chars/hero', 'chars/hero2']}},
              'asset_id': 1, 'from': 'hero', 'to': 'chars/hero'}},
            {{'action_id': 2, 'kind': 'reassign_uuid',
              'drift': {{'kind': 'duplicate_uuid', 'asset_id': 1, 'asset_uuid': '{U1}', 'roots': ['chars/hero', 'chars/hero2']}},
              'root': 'chars/hero2', 'asset_uuid': '{U1}'}}]}}"
        ),
        &[
            registry(3, &[(1, U1, "chars/hero"), (2, "<fresh 2>", "chars/hero2")]),
            decl(U1, "hero"),
            written("<fresh 2>", "hero"),
        ],
    );
}

/// Moved to `m`, and a registered asset's file overwritten with a copy of it: the move
/// is relocated, the overwritten asset keeps its id and gets a fresh uuid.
#[test]
fn a_moved_folder_copied_over_another_asset() {
    check(
        "
//- .prometeu/index.json
{}
//- m/asset.json
{}
//- m/x.bin
bytes of a
//- b/asset.json
{}
//- b/x.bin
bytes of b
",
        &[
            hand_registry(3, &[(1, U1, "a"), (2, U2, "b")]),
            decl(U1, "a"),
            decl(U1, "b"),
        ],
        &format!(
            "{{'plan_id': 1, 'generation': 1, 'unresolved': [], 'actions': [
            {{'action_id': 1, 'kind': 'relocate',
              'drift': {{'kind': 'root_moved', 'asset_id': 1, 'from': 'a', 'to': 'm'}},
              'asset_id': 1, 'from': 'a', 'to': 'm'}},
            {{'action_id': 2, 'kind': 'reassign_uuid',
              'drift': {{'kind': 'uuid_mismatch', 'asset_id': 2, 'root': 'b', 'registered_uuid': '{U2}', 'declared_uuid': '{U1}'}},
              'asset_id': 2, 'root': 'b', 'asset_uuid': '{U1}'}}]}}"
        ),
        &[
            registry(3, &[(1, U1, "m"), (2, "<fresh 2>", "b")]),
            decl(U1, "a"),
            written("<fresh 2>", "b"),
        ],
    );
}

/// `a`'s uuid was edited and a copy made before the edit still carries the old one:
/// the copy cannot be adopted with a uuid the registry holds, so it gets a fresh one.
#[test]
fn an_unregistered_copy_of_a_registered_uuid_is_reassigned_not_adopted() {
    check(
        "
//- .prometeu/index.json
{}
//- a/asset.json
{}
//- a/x.bin
bytes of a
//- old/asset.json
{}
//- old/x.bin
bytes of old
",
        &[
            hand_registry(2, &[(1, U1, "a")]),
            decl(U3, "a"),
            decl(U1, "old"),
        ],
        &format!(
            "{{'plan_id': 1, 'generation': 1, 'unresolved': [], 'actions': [
            {{'action_id': 1, 'kind': 'accept_declared_uuid',
              'drift': {{'kind': 'uuid_mismatch', 'asset_id': 1, 'root': 'a', 'registered_uuid': '{U1}', 'declared_uuid': '{U3}'}},
              'asset_id': 1, 'root': 'a', 'declared_uuid': '{U3}'}},
            {{'action_id': 2, 'kind': 'reassign_uuid',
              'drift': {{'kind': 'unregistered_asset', 'root': 'old', 'asset_uuid': '{U1}'}},
              'root': 'old', 'asset_uuid': '{U1}'}}]}}"
        ),
        &[
            registry(3, &[(1, U3, "a"), (2, "<fresh 2>", "old")]),
            decl(U3, "a"),
            written("<fresh 2>", "old"),
        ],
    );
}

/// A folder nobody registered was copied: the first copy is adopted with the uuid, the
/// other gets a fresh one.
#[test]
fn copies_of_an_unregistered_folder_adopt_one_and_reassign_the_rest() {
    check(
        "
//- .prometeu/index.json
{}
//- n/asset.json
{}
//- n/x.bin
bytes of n
//- n2/asset.json
{}
//- n2/x.bin
bytes of n2
",
        &[hand_registry(1, &[]), decl(U4, "n"), decl(U4, "n")],
        &format!(
            "{{'plan_id': 1, 'generation': 1, 'unresolved': [], 'actions': [
            {{'action_id': 1, 'kind': 'adopt',
              'drift': {{'kind': 'duplicate_uuid', 'asset_uuid': '{U4}', 'roots': ['n', 'n2']}},
              'root': 'n', 'asset_uuid': '{U4}'}},
            {{'action_id': 2, 'kind': 'reassign_uuid',
              'drift': {{'kind': 'duplicate_uuid', 'asset_uuid': '{U4}', 'roots': ['n', 'n2']}},
              'root': 'n2', 'asset_uuid': '{U4}'}}]}}"
        ),
        &[
            registry(3, &[(1, U4, "n"), (2, "<fresh 2>", "n2")]),
            decl(U4, "n"),
            written("<fresh 2>", "n"),
        ],
    );
}

/// Two registered assets declare the same uuid that no one registered: the first
/// accepts it, the other gets a fresh one.
#[test]
fn two_assets_declaring_one_new_uuid() {
    check(
        "
//- .prometeu/index.json
{}
//- a/asset.json
{}
//- a/x.bin
bytes of a
//- b/asset.json
{}
//- b/x.bin
bytes of b
",
        &[
            hand_registry(3, &[(1, U1, "a"), (2, U2, "b")]),
            decl(U3, "a"),
            decl(U3, "b"),
        ],
        &format!(
            "{{'plan_id': 1, 'generation': 1, 'unresolved': [], 'actions': [
            {{'action_id': 1, 'kind': 'accept_declared_uuid',
              'drift': {{'kind': 'uuid_mismatch', 'asset_id': 1, 'root': 'a', 'registered_uuid': '{U1}', 'declared_uuid': '{U3}'}},
              'asset_id': 1, 'root': 'a', 'declared_uuid': '{U3}'}},
            {{'action_id': 2, 'kind': 'reassign_uuid',
              'drift': {{'kind': 'duplicate_uuid', 'asset_uuid': '{U3}', 'roots': ['a', 'b']}},
              'asset_id': 2, 'root': 'b', 'asset_uuid': '{U3}'}}]}}"
        ),
        &[
            registry(3, &[(1, U3, "a"), (2, "<fresh 2>", "b")]),
            decl(U3, "a"),
            written("<fresh 2>", "b"),
        ],
    );
}

/// What cannot be registered is explained, not offered: an unreadable or invalid
/// declaration, and a folder inside another asset's folder.
#[test]
fn what_cannot_be_applied_is_unresolved_with_a_reason() {
    let plan = check_plan(
        &format!(
            "
//- .prometeu/index.json
{}
//- a/asset.json
{}
//- a/x.bin
bytes of a
//- a/inner/asset.json
{}
//- broken/asset.json
{{ not json
//- nameless/asset.json
{{ \"schema_version\": 1, \"asset_uuid\": \"{U3}\", \"kind\": \"blob\", \"inputs\": [\"x.bin\"] }}
",
            hand_registry(2, &[(1, U1, "a")]),
            decl(U1, "a"),
            decl(U2, "inner"),
        ),
        &format!(
            "{{'plan_id': 1, 'generation': 1, 'actions': [], 'unresolved': [
            {{'drift': {{'kind': 'unregistered_asset', 'root': 'a/inner', 'asset_uuid': '{U2}'}},
              'reason': '`a/inner` and `a`, the root of asset 1, would be nested (asset roots may not contain one another); move one of the folders, then plan again'}},
            {{'drift': {{'kind': 'unregistered_asset', 'root': 'broken', 'asset_uuid': null}},
              'reason': '`broken/asset.json` cannot be read as a declaration (no uuid could be read); fix it (see `prometeu-packer doctor`), then plan again'}},
            {{'drift': {{'kind': 'unregistered_asset', 'root': 'nameless', 'asset_uuid': '{U3}'}},
              'reason': '`nameless/asset.json` is not valid, so it can be neither registered nor given a fresh uuid; fix it (see `prometeu-packer doctor`), then plan again'}}]}}"
        ),
    );
    assert!(plan.select(&[1]).is_err());
}

/// Two unregistered folders, one inside the other: each could be adopted alone, not
/// both, and the packer does not choose.
#[test]
fn nested_unregistered_folders_are_not_offered() {
    check_plan(
        &format!(
            "
//- .prometeu/index.json
{}
//- n/asset.json
{}
//- n/m/asset.json
{}
//- z/asset.json
{}
",
            hand_registry(1, &[]),
            decl(U1, "n"),
            decl(U2, "m"),
            decl(U3, "z"),
        ),
        &format!(
            "{{'plan_id': 1, 'generation': 1, 'actions': [
            {{'action_id': 1, 'kind': 'adopt', 'drift': {{'kind': 'unregistered_asset', 'root': 'z', 'asset_uuid': '{U3}'}},
              'root': 'z', 'asset_uuid': '{U3}'}}], 'unresolved': [
            {{'drift': {{'kind': 'unregistered_asset', 'root': 'n', 'asset_uuid': '{U1}'}},
              'reason': '`n/m` and `n` would both be registered, but asset roots may not contain one another; move one of the folders, then plan again'}},
            {{'drift': {{'kind': 'unregistered_asset', 'root': 'n/m', 'asset_uuid': '{U2}'}},
              'reason': '`n/m` and `n` would both be registered, but asset roots may not contain one another; move one of the folders, then plan again'}}]}}"
        ),
    );
}

/// With one id left below the last, one new asset can still be registered, not two:
/// then neither is offered, since every offered action must apply with the others.
#[test]
fn new_assets_are_offered_only_while_ids_are_left_for_all_of_them() {
    let layout = |folders: &[(&str, &str)]| {
        let mut text = format!(
            "//- .prometeu/index.json\n{}\n",
            hand_registry(9_007_199_254_740_991, &[])
        );
        for (root, uuid) in folders {
            text.push_str(&format!("//- {root}/asset.json\n{}\n", decl(uuid, root)));
        }
        text
    };
    check_plan(
        &layout(&[("y", U1)]),
        &format!(
            "{{'plan_id': 1, 'generation': 1, 'actions': [
            {{'action_id': 1, 'kind': 'adopt', 'drift': {{'kind': 'unregistered_asset', 'root': 'y', 'asset_uuid': '{U1}'}},
              'root': 'y', 'asset_uuid': '{U1}'}}], 'unresolved': []}}"
        ),
    );
    let reason = "the registry is running out of asset ids: 2 new assets would each need one, and 1 is left (9007199254740991 is the last)";
    check_plan(
        &layout(&[("y", U1), ("z", U2)]),
        &format!(
            "{{'plan_id': 1, 'generation': 1, 'actions': [], 'unresolved': [
            {{'drift': {{'kind': 'unregistered_asset', 'root': 'y', 'asset_uuid': '{U1}'}}, 'reason': '{reason}'}},
            {{'drift': {{'kind': 'unregistered_asset', 'root': 'z', 'asset_uuid': '{U2}'}}, 'reason': '{reason}'}}]}}"
        ),
    );
}

#[test]
fn a_project_without_structural_drift_has_an_empty_plan() {
    check_plan(
        &format!(
            "
//- .prometeu/index.json
{}
//- a/asset.json
{}
",
            hand_registry(2, &[(1, U1, "a")]),
            decl(U1, "a"),
        ),
        "{'plan_id': 1, 'generation': 1, 'actions': [], 'unresolved': []}",
    );
    check_plan(
        "
//- .prometeu/index.json
{ not a registry
//- loose/asset.json
{}
",
        "{'plan_id': 1, 'generation': 1, 'actions': [], 'unresolved': []}",
    );
}

/// `a` moved to `b`'s place after `b` moved to `c`: each asset follows its uuid, and
/// the relocation into `b` comes with the one out of it. Nothing but the registry is
/// written: both keep their ids and uuids.
#[test]
fn a_chain_of_moves_keeps_every_identity() {
    check(
        "
//- .prometeu/index.json
{}
//- b/asset.json
{}
//- b/x.bin
bytes of a
//- c/asset.json
{}
//- c/x.bin
bytes of b
",
        &[
            hand_registry(3, &[(1, U1, "a"), (2, U2, "b")]),
            decl(U1, "a"),
            decl(U2, "b"),
        ],
        "{'plan_id': 1, 'generation': 1, 'unresolved': [], 'actions': [
            {'action_id': 1, 'kind': 'relocate', 'requires': [2],
              'drift': {'kind': 'root_moved', 'asset_id': 1, 'from': 'a', 'to': 'b'},
              'asset_id': 1, 'from': 'a', 'to': 'b'},
            {'action_id': 2, 'kind': 'relocate',
              'drift': {'kind': 'root_moved', 'asset_id': 2, 'from': 'b', 'to': 'c'},
              'asset_id': 2, 'from': 'b', 'to': 'c'}]}",
        &[
            registry(3, &[(1, U1, "b"), (2, U2, "c")]),
            decl(U1, "a"),
            decl(U2, "b"),
        ],
    );
}

/// Two folders that swapped places: each relocation needs the other, so either one
/// chosen applies both.
#[test]
fn swapped_folders_are_relocated_together() {
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
";
    let before = [
        hand_registry(3, &[(1, U1, "a"), (2, U2, "b")]),
        decl(U2, "b"),
        decl(U1, "a"),
    ];
    let plan = "{'plan_id': 1, 'generation': 1, 'unresolved': [], 'actions': [
            {'action_id': 1, 'kind': 'relocate', 'requires': [2],
              'drift': {'kind': 'root_moved', 'asset_id': 1, 'from': 'a', 'to': 'b'},
              'asset_id': 1, 'from': 'a', 'to': 'b'},
            {'action_id': 2, 'kind': 'relocate', 'requires': [1],
              'drift': {'kind': 'root_moved', 'asset_id': 2, 'from': 'b', 'to': 'a'},
              'asset_id': 2, 'from': 'b', 'to': 'a'}]}";
    let after = [
        registry(3, &[(1, U1, "b"), (2, U2, "a")]),
        decl(U2, "b"),
        decl(U1, "a"),
    ];
    check(layout, &before, plan, &after);

    // One action chosen: the one it requires comes with it.
    let fs = apply_only(layout, &before, &[2]);
    assert_eq!(
        fs.read(".prometeu/index.json").unwrap(),
        format!("{}\n", after[0]).as_bytes()
    );
}

/// `b` deleted and `a` moved in its place: `a` is relocated there and `b`, whose own
/// `asset.json` is nowhere, unregistered; `a`'s file is left as it is.
#[test]
fn a_folder_moved_over_a_deleted_one_takes_its_place() {
    check(
        "
//- .prometeu/index.json
{}
//- b/asset.json
{}
//- b/x.bin
bytes of a
",
        &[
            hand_registry(3, &[(1, U1, "a"), (2, U2, "b")]),
            decl(U1, "a"),
        ],
        "{'plan_id': 1, 'generation': 1, 'unresolved': [], 'actions': [
            {'action_id': 1, 'kind': 'relocate', 'requires': [2],
              'drift': {'kind': 'root_moved', 'asset_id': 1, 'from': 'a', 'to': 'b'},
              'asset_id': 1, 'from': 'a', 'to': 'b'},
            {'action_id': 2, 'kind': 'unregister',
              'drift': {'kind': 'root_missing', 'asset_id': 2, 'root': 'b'},
              'asset_id': 2, 'root': 'b'}]}",
        &[registry(3, &[(1, U1, "b")]), decl(U1, "a")],
    );
}

/// `a` is gone and an `asset.json` whose uuid cannot be read turned up elsewhere: it
/// may be `a`, moved and broken on the way, so `a` is not offered for unregistering
/// (its id would be lost for good) until that file is fixed.
#[test]
fn an_unreadable_asset_json_holds_back_unregistering() {
    check_plan(
        &format!(
            "
//- .prometeu/index.json
{}
//- moved/asset.json
{{ \"schema_version\": 1, \"asset_uuid\": \"{U1}\",, }}
//- moved/x.bin
bytes of a
",
            hand_registry(2, &[(1, U1, "a")]),
        ),
        "{'plan_id': 1, 'generation': 1, 'actions': [], 'unresolved': [
            {'drift': {'kind': 'root_missing', 'asset_id': 1, 'root': 'a'},
              'reason': '`moved/asset.json` cannot be read, so it cannot be told whether it is asset 1 moved there; fix it (see `prometeu-packer doctor`), then plan again'},
            {'drift': {'kind': 'unregistered_asset', 'root': 'moved', 'asset_uuid': null},
              'reason': '`moved/asset.json` cannot be read as a declaration (no uuid could be read); fix it (see `prometeu-packer doctor`), then plan again'}]}",
    );
}

/// In a chain of three moves each relocation requires the next one: choosing the first
/// applies all three, and the plan says so.
#[test]
fn the_first_move_of_a_chain_is_applied_with_all_the_others() {
    let layout = "
//- .prometeu/index.json
{}
//- b/asset.json
{}
//- c/asset.json
{}
//- d/asset.json
{}
";
    let before = [
        hand_registry(4, &[(1, U1, "a"), (2, U2, "b"), (3, U3, "c")]),
        decl(U1, "a"),
        decl(U2, "b"),
        decl(U3, "c"),
    ];
    let fs = MemFs::from_fixture(&fill(layout, &before)).unwrap();
    let (runtime, _) = open(&fs);
    let plan = runtime.reconcile_plan();
    assert_eq!(plan.actions.len(), 3, "{plan:#?}");
    assert_eq!(plan.applied_with(1), [2, 3]);
    assert_eq!(plan.applied_with(2), [3]);
    assert_eq!(plan.applied_with(3), Vec::<u32>::new());
    runtime.reconcile_apply(plan.plan_id, &[1]).unwrap();
    assert_eq!(runtime.view().state, ProjectState::Ready);
    let roots: Vec<String> = runtime
        .snapshot()
        .assets()
        .iter()
        .map(|a| a.entry.root.to_string())
        .collect();
    assert_eq!(roots, ["b", "c", "d"]);
}

/// `a` and `b` swapped by hand and `b`'s `asset.json`, now at `a`, broken on the way:
/// the only folder carrying asset 1's uuid is `b`, and whether it is asset 1 moved
/// there or a copy cannot be told until `a/asset.json` reads again. No fresh uuid is
/// written into it meanwhile (that used to wipe asset 1's uuid from the disk for good).
#[test]
fn an_unreadable_asset_json_holds_back_a_fresh_uuid_for_its_asset_s_uuid() {
    check_plan(
        &format!(
            "
//- .prometeu/index.json
{}
//- a/asset.json
{{ \"schema_version\": 1, \"asset_uuid\": \"{U2}\",, }}
//- b/asset.json
{}
",
            hand_registry(3, &[(1, U1, "a"), (2, U2, "b")]),
            decl(U1, "a"),
        ),
        "{'plan_id': 1, 'generation': 1, 'actions': [], 'unresolved': [
            {'drift': {'kind': 'uuid_mismatch', 'asset_id': 2, 'root': 'b',
                'registered_uuid': 'UUID2', 'declared_uuid': 'UUID1'},
              'reason': '`a/asset.json` of asset 1 cannot be read, so it cannot be told whether `b` is asset 1 moved there or a copy of it; fix it (see `prometeu-packer doctor`), then plan again'}]}"
            .replace("UUID1", U1)
            .replace("UUID2", U2)
            .as_str(),
    );
}

/// A copy of `a` while `a/asset.json` cannot be read: the copy is not given a fresh
/// uuid until it can be told whether `a` still carries the uuid.
#[test]
fn a_copy_of_an_asset_whose_asset_json_cannot_be_read_waits() {
    check_plan(
        &format!(
            "
//- .prometeu/index.json
{}
//- a/asset.json
{{ \"schema_version\": 1,, }}
//- a2/asset.json
{}
",
            hand_registry(2, &[(1, U1, "a")]),
            decl(U1, "a"),
        ),
        "{'plan_id': 1, 'generation': 1, 'actions': [], 'unresolved': [
            {'drift': {'kind': 'unregistered_asset', 'root': 'a2', 'asset_uuid': 'UUID1'},
              'reason': '`a/asset.json` of asset 1 cannot be read, so it cannot be told whether `a2` is asset 1 moved there or a copy of it; fix it (see `prometeu-packer doctor`), then plan again'}]}"
            .replace("UUID1", U1)
            .as_str(),
    );
}
