//! Planning write commands against snapshots of fixture workspaces: the exact file
//! changes, their preconditions, the registry that results, and every refusal.

use crate::fixture_text::{U1, U2, U9};
use packer_domain::command::{
    Command, CreateAsset, DeclarationChanges, Expected, FileChange, Plan, plan,
};
use packer_domain::declaration::{AssetKind, OutputOptions, PixelFormat};
use packer_domain::path::AssetPath;
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{AssetQuery, Snapshot};
use packer_memfs::MemFs;
use uuid::Uuid;

/// Two registered assets (`a`, `b/c`) and one unregistered (`loose`).
fn fixture() -> String {
    format!(
        r#"
//- .prometeu/index.json
{{ "schema_version": 1, "next_asset_id": 5, "assets": [
{{ "asset_id": 1, "asset_uuid": "{U1}", "root": "a", "included_in_build": true }},
{{ "asset_id": 4, "asset_uuid": "{U2}", "root": "b/c", "included_in_build": false }}
] }}
//- a/asset.json
{{ "schema_version": 1, "asset_uuid": "{U1}", "name": "a", "kind": "blob", "inputs": ["x.bin"] }}
//- a/x.bin
1
//- b/c/asset.json
{{ "schema_version": 1, "asset_uuid": "{U2}", "name": "c", "kind": "image", "inputs": ["c.png"] }}
//- b/c/c.png
png
//- loose/asset.json
{{ "schema_version": 1, "asset_uuid": "{U9}", "name": "loose", "kind": "data", "inputs": ["l.json"] }}
//- loose/l.json
{{}}
"#
    )
}

fn root(s: &str) -> AssetPath {
    AssetPath::new(s).unwrap()
}

fn render(plan: &Plan) -> String {
    let mut out = String::new();
    for change in &plan.changes {
        let line = match change {
            FileChange::Write {
                path,
                bytes,
                expected,
            } => {
                let condition = match expected {
                    Expected::Absent => "absent",
                    Expected::Content(_) => "unchanged",
                };
                if path.as_str() == ".prometeu/index.json" {
                    format!("write {path} if {condition}")
                } else {
                    format!(
                        "write {path} if {condition}:\n{}",
                        String::from_utf8_lossy(bytes).trim_end()
                    )
                }
            }
            FileChange::Delete { path, .. } => format!("delete {path} if unchanged"),
            FileChange::RenameDir { from, to } => format!("rename {from} -> {to}"),
            FileChange::Verify { path, .. } => format!("verify {path} unchanged"),
            FileChange::VerifyAbsent { path } => format!("verify {path} absent"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    let registry = String::from_utf8(plan.registry.to_bytes()).unwrap();
    let entries: Vec<&str> = registry
        .lines()
        .filter(|l| l.trim_start().starts_with("{ \"asset_id\""))
        .collect();
    out.push_str(&format!(
        "registry next {}:\n{}\n",
        plan.registry.next_asset_id(),
        entries.join("\n")
    ));
    let changed: Vec<u64> = plan.changed.iter().map(|id| id.0).collect();
    out.push_str(&format!(
        "changed {changed:?} created {:?}\n",
        plan.created.map(|i| i.0)
    ));
    out
}

fn check(command: Command, expected: &str) {
    let fs = MemFs::from_fixture(&fixture()).unwrap();
    let snapshot = Snapshot::load(&fs, 1);
    let mut next = 0xA0u8;
    let mut uuids = || {
        next += 1;
        uuid::Builder::from_random_bytes([next; 16]).into_uuid()
    };
    let got = match plan(&snapshot, &command, &mut uuids) {
        Ok(plan) => render(&plan),
        Err(refusal) => format!("refused ({refusal:?})"),
    };
    assert_eq!(got.trim(), expected.trim(), "\n--- got ---\n{got}");
}

fn create(root_path: &str) -> CreateAsset {
    CreateAsset {
        root: root(root_path),
        kind: AssetKind::Image,
        inputs: vec![root("hero.png")],
        name: None,
        output: None,
        included_in_build: true,
    }
}

#[test]
fn create_writes_a_new_declaration_and_registers_it() {
    let new = Uuid::from_bytes([0xA1; 16]);
    let new = uuid::Builder::from_random_bytes(*new.as_bytes()).into_uuid();
    check(
        Command::CreateAsset(create("sprites/hero")),
        &format!(
            r#"
write sprites/hero/asset.json if absent:
{{
  "schema_version": 1,
  "asset_uuid": "{new}",
  "name": "hero",
  "kind": "image",
  "inputs": ["hero.png"],
  "output": {{ "format": "rgba8" }}
}}
write .prometeu/index.json if unchanged
registry next 6:
    {{ "asset_id": 1, "asset_uuid": "{U1}", "root": "a", "included_in_build": true }},
    {{ "asset_id": 4, "asset_uuid": "{U2}", "root": "b/c", "included_in_build": false }},
    {{ "asset_id": 5, "asset_uuid": "{new}", "root": "sprites/hero", "included_in_build": true }}
changed [5] created Some(5)"#
        ),
    );
}

#[test]
fn adopt_registers_without_writing_the_declaration() {
    check(
        Command::AdoptAsset {
            root: root("loose"),
        },
        &format!(
            r#"
verify loose/asset.json unchanged
write .prometeu/index.json if unchanged
registry next 6:
    {{ "asset_id": 1, "asset_uuid": "{U1}", "root": "a", "included_in_build": true }},
    {{ "asset_id": 4, "asset_uuid": "{U2}", "root": "b/c", "included_in_build": false }},
    {{ "asset_id": 5, "asset_uuid": "{U9}", "root": "loose", "included_in_build": true }}
changed [5] created Some(5)"#
        ),
    );
}

#[test]
fn move_renames_the_folder_and_repoints_the_registry() {
    check(
        Command::MoveAsset {
            asset: AssetQuery::Id(AssetId(4)),
            to: root("sprites/c"),
        },
        &format!(
            r#"
verify b/c/asset.json unchanged
rename b/c -> sprites/c
write .prometeu/index.json if unchanged
registry next 5:
    {{ "asset_id": 1, "asset_uuid": "{U1}", "root": "a", "included_in_build": true }},
    {{ "asset_id": 4, "asset_uuid": "{U2}", "root": "sprites/c", "included_in_build": false }}
changed [4] created None"#
        ),
    );
}

#[test]
fn remove_deletes_the_declaration_and_keeps_inputs() {
    check(
        Command::RemoveAsset {
            asset: AssetQuery::Root(root("a")),
        },
        &format!(
            r#"
delete a/asset.json if unchanged
write .prometeu/index.json if unchanged
registry next 5:
    {{ "asset_id": 4, "asset_uuid": "{U2}", "root": "b/c", "included_in_build": false }}
changed [1] created None"#
        ),
    );
}

#[test]
fn include_and_update_touch_only_what_they_change() {
    check(
        Command::SetIncluded {
            asset: AssetQuery::Uuid(Uuid::parse_str(U2).unwrap()),
            included: true,
        },
        &format!(
            r#"
write .prometeu/index.json if unchanged
registry next 5:
    {{ "asset_id": 1, "asset_uuid": "{U1}", "root": "a", "included_in_build": true }},
    {{ "asset_id": 4, "asset_uuid": "{U2}", "root": "b/c", "included_in_build": true }}
changed [4] created None"#
        ),
    );
    check(
        Command::UpdateDeclaration {
            asset: AssetQuery::Id(AssetId(4)),
            changes: DeclarationChanges {
                name: Some("tiles".to_owned()),
                output: Some(OutputOptions::Image {
                    format: PixelFormat::Indexed8,
                }),
                ..DeclarationChanges::default()
            },
        },
        &format!(
            r#"
write b/c/asset.json if unchanged:
{{
  "schema_version": 1,
  "asset_uuid": "{U2}",
  "name": "tiles",
  "kind": "image",
  "inputs": ["c.png"],
  "output": {{ "format": "indexed8" }}
}}
verify .prometeu/index.json unchanged
registry next 5:
    {{ "asset_id": 1, "asset_uuid": "{U1}", "root": "a", "included_in_build": true }},
    {{ "asset_id": 4, "asset_uuid": "{U2}", "root": "b/c", "included_in_build": false }}
changed [4] created None"#
        ),
    );
}

/// Asking for what already is plans a commit that writes nothing: the registry and the
/// declaration it was decided on are only verified, and no asset is changed.
#[test]
fn commands_that_ask_for_what_already_is_change_nothing() {
    let unchanged = format!(
        r#"
verify .prometeu/index.json unchanged
registry next 5:
    {{ "asset_id": 1, "asset_uuid": "{U1}", "root": "a", "included_in_build": true }},
    {{ "asset_id": 4, "asset_uuid": "{U2}", "root": "b/c", "included_in_build": false }}
changed [] created None"#
    );
    let included = Command::SetIncluded {
        asset: AssetQuery::Id(AssetId(1)),
        included: true,
    };
    check(included.clone(), &unchanged);
    let same = Command::UpdateDeclaration {
        asset: AssetQuery::Id(AssetId(4)),
        changes: DeclarationChanges {
            kind: Some(AssetKind::Image),
            inputs: Some(vec![root("c.png")]),
            ..DeclarationChanges::default()
        },
    };
    check(same.clone(), &unchanged);
    check(Command::Batch(vec![included, same]), &unchanged);
}

#[test]
fn a_batch_is_one_plan_in_apply_order() {
    // Update then move: the file is rewritten where it is, then its folder moves.
    check(
        Command::Batch(vec![
            Command::MoveAsset {
                asset: AssetQuery::Id(AssetId(1)),
                to: root("z/a"),
            },
            Command::UpdateDeclaration {
                asset: AssetQuery::Root(root("z/a")),
                changes: DeclarationChanges {
                    kind: Some(AssetKind::Data),
                    ..DeclarationChanges::default()
                },
            },
            Command::SetIncluded {
                asset: AssetQuery::Id(AssetId(1)),
                included: false,
            },
        ]),
        &format!(
            r#"
write a/asset.json if unchanged:
{{
  "schema_version": 1,
  "asset_uuid": "{U1}",
  "name": "a",
  "kind": "data",
  "inputs": ["x.bin"],
  "output": {{}}
}}
rename a -> z/a
write .prometeu/index.json if unchanged
registry next 5:
    {{ "asset_id": 1, "asset_uuid": "{U1}", "root": "z/a", "included_in_build": false }},
    {{ "asset_id": 4, "asset_uuid": "{U2}", "root": "b/c", "included_in_build": false }}
changed [1] created None"#
        ),
    );
}

#[test]
fn refusals_say_why() {
    let cases = [
        (
            Command::CreateAsset(create("a")),
            "Invalid(\"`a` is already the root of asset 1\")",
        ),
        (
            Command::CreateAsset(create("b")),
            "Invalid(\"`b` and the root `b/c` of asset 4 would be nested; asset roots may not contain one another\")",
        ),
        (
            Command::CreateAsset(create("loose")),
            "Invalid(\"`loose` already holds an asset.json; adopt it instead (`prometeu-packer adopt`)\")",
        ),
        (
            Command::AdoptAsset {
                root: root("nothing"),
            },
            "NotFound(\"`nothing` holds no unregistered asset.json\")",
        ),
        (
            Command::MoveAsset {
                asset: AssetQuery::Id(AssetId(1)),
                to: root("b/c/inner"),
            },
            "Invalid(\"`b/c/inner` and the root `b/c` of asset 4 would be nested; asset roots may not contain one another\")",
        ),
        (
            Command::RemoveAsset {
                asset: AssetQuery::Id(AssetId(7)),
            },
            "NotFound(\"no registered asset has asset id 7\")",
        ),
        (
            Command::UpdateDeclaration {
                asset: AssetQuery::Id(AssetId(1)),
                changes: DeclarationChanges {
                    inputs: Some(vec![]),
                    ..DeclarationChanges::default()
                },
            },
            "Invalid(\"an asset needs at least one input\")",
        ),
        (
            Command::Batch(vec![Command::Batch(vec![])]),
            "Invalid(\"command 1 of the batch is itself a batch; batches do not nest\")",
        ),
        (
            Command::Batch(vec![
                Command::RemoveAsset {
                    asset: AssetQuery::Id(AssetId(1)),
                },
                Command::SetIncluded {
                    asset: AssetQuery::Id(AssetId(1)),
                    included: true,
                },
            ]),
            "NotFound(\"command 2 of the batch: no registered asset has asset id 1\")",
        ),
    ];
    for (command, expected) in cases {
        check(command, &format!("refused ({expected})"));
    }
}

#[test]
fn a_failed_project_takes_no_writes() {
    let fs = MemFs::from_fixture("//- .prometeu/index.json\n{\n").unwrap();
    let snapshot = Snapshot::load(&fs, 1);
    let refusal = plan(
        &snapshot,
        &Command::AdoptAsset { root: root("x") },
        &mut Uuid::new_v4,
    )
    .unwrap_err();
    assert!(matches!(
        refusal,
        packer_domain::command::Refusal::FailedState(_)
    ));
}

/// The last id a registry may issue is 2^53 - 1: it is issued, and after it a command
/// that needs an id is refused, changing nothing.
#[test]
fn ids_run_out_at_the_largest_exact_json_integer() {
    let with_next = |next: u64| {
        format!(
            "//- .prometeu/index.json\n{{ \"schema_version\": 1, \"next_asset_id\": {next}, \"assets\": [] }}\n//- loose/asset.json\n{{ \"schema_version\": 1, \"asset_uuid\": \"{U9}\", \"name\": \"loose\", \"kind\": \"data\", \"inputs\": [\"l.json\"] }}\n"
        )
    };
    let last = packer_domain::registry::MAX_ASSET_ID;
    let planned = |next: u64, command: &Command| {
        let fs = MemFs::from_fixture(&with_next(next)).unwrap();
        plan(&Snapshot::load(&fs, 1), command, &mut Uuid::new_v4)
    };
    let create = Command::CreateAsset(create("new"));
    let made = planned(last, &create).unwrap();
    assert_eq!(made.created, Some(AssetId(last)));
    assert_eq!(made.registry.next_asset_id(), last + 1);
    let adopt = Command::AdoptAsset {
        root: root("loose"),
    };
    for command in [create, adopt] {
        let refusal = planned(last + 1, &command).unwrap_err();
        assert_eq!(
            format!("{refusal:?}"),
            "Invalid(\"the registry has run out of asset ids: 9007199254740991 is the last\")"
        );
    }
}
