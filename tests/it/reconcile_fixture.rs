//! The reconcile fixture shared by the reconcile modules: declarations and registries as
//! hand-written and as the packer writes them, layouts with placeholders, and `check`,
//! which opens a layout, compares the plan, applies it and compares every file after.

use std::collections::BTreeMap;

use packer_domain::drift::Drift;
use packer_domain::reconcile::{self, ReconcilePlan};
use packer_domain::snapshot::{ProjectState, Snapshot};
use packer_memfs::MemFs;

use crate::runtime::open;

/// A hand-written `asset.json` of a blob asset.
pub(crate) fn decl(uuid: &str, name: &str) -> String {
    format!(
        r#"{{ "schema_version": 1, "asset_uuid": "{uuid}", "name": "{name}", "kind": "blob", "inputs": ["x.bin"] }}"#
    )
}

/// The same declaration as the packer writes it.
pub(crate) fn written(uuid: &str, name: &str) -> String {
    format!(
        r#"{{
  "schema_version": 1,
  "asset_uuid": "{uuid}",
  "name": "{name}",
  "kind": "blob",
  "inputs": ["x.bin"],
  "output": {{}}
}}"#
    )
}

/// A registry as the packer writes it: (id, uuid, root) entries, all included.
pub(crate) fn registry(next: u64, entries: &[(u64, &str, &str)]) -> String {
    let lines: Vec<String> = entries
        .iter()
        .map(|e| format!("    {}", entry(e)))
        .collect();
    format!(
        "{{\n  \"schema_version\": 1,\n  \"next_asset_id\": {next},\n  \"assets\": [\n{}\n  ]\n}}",
        lines.join(",\n")
    )
}

/// A hand-written registry of (id, uuid, root) entries.
pub(crate) fn hand_registry(next: u64, entries: &[(u64, &str, &str)]) -> String {
    let lines: Vec<String> = entries.iter().map(entry).collect();
    format!(
        r#"{{ "schema_version": 1, "next_asset_id": {next}, "assets": [{}] }}"#,
        lines.join(", ")
    )
}

/// One included registry entry on one line.
fn entry((id, uuid, root): &(u64, &str, &str)) -> String {
    format!(
        r#"{{ "asset_id": {id}, "asset_uuid": "{uuid}", "root": "{root}", "included_in_build": true }}"#
    )
}

/// The plan as JSON, compared as a value; `'` stands for `"` in `expected`.
fn assert_plan(plan: &ReconcilePlan, expected: &str) {
    let got = serde_json::to_value(plan).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&expected.replace('\'', "\""))
        .unwrap_or_else(|e| panic!("bad expected JSON ({e}): {expected}"));
    assert_eq!(
        got,
        expected,
        "\n--- got ---\n{}",
        serde_json::to_string_pretty(&got).unwrap()
    );
}

/// Every file by path, as text, for a readable comparison.
fn render(files: &BTreeMap<String, Vec<u8>>) -> String {
    files
        .iter()
        .map(|(path, bytes)| format!("//- {path}\n{}", String::from_utf8_lossy(bytes)))
        .collect()
}

/// `layout`, a fixture, with each `{}` filled in order by one of `parts` (the registry
/// and the declarations, which is what reconcile rewrites).
pub(crate) fn fill(layout: &str, parts: &[String]) -> String {
    let pieces: Vec<&str> = layout.split("{}").collect();
    assert_eq!(pieces.len(), parts.len() + 1, "placeholders of {layout}");
    let mut out = pieces[0].to_owned();
    for (part, piece) in parts.iter().zip(&pieces[1..]) {
        out.push_str(part);
        out.push_str(piece);
    }
    out
}

/// Opens `layout` filled with `before` (see [`fill`]), expects the plan `plan`, applies
/// every action and expects exactly the files of `layout` filled with `after` (in which
/// `<fresh N>` stands for the fresh uuid asset N was given), a `ready` project and no
/// action left to offer.
pub(crate) fn check(layout: &str, before: &[String], plan: &str, after: &[String]) {
    let before = fill(layout, before);
    let after = fill(layout, after);
    let fs = MemFs::from_fixture(&before).unwrap();
    let (runtime, _) = open(&fs);
    let offered = runtime.reconcile_plan();
    assert_plan(&offered, plan);
    let ids: Vec<u32> = offered.actions.iter().map(|a| a.action_id).collect();
    let outcome = runtime.reconcile_apply(offered.plan_id, &ids).unwrap();
    assert_eq!(outcome.generation, offered.generation + 1);

    let view = runtime.view();
    let drifts: Vec<&Drift> = view
        .snapshot
        .drifts()
        .iter()
        .filter(|d| d.is_structural())
        .collect();
    assert_eq!(drifts, Vec::<&Drift>::new());
    assert_eq!(view.state, ProjectState::Ready);
    assert!(runtime.reconcile_plan().actions.is_empty());

    let mut expected = after;
    for asset in view.snapshot.assets() {
        let uuid = asset.entry.asset_uuid.to_string();
        if !before.contains(&uuid) {
            expected = expected.replace(&format!("<fresh {}>", asset.entry.asset_id), &uuid);
        }
    }
    let expected = MemFs::from_fixture(&expected).unwrap().files();
    assert_eq!(render(&fs.files()), render(&expected));
}

/// Opens `layout` filled with `before`, applies only the actions `ids` of its plan
/// (with what they require) and expects a `ready` project; gives the disk after.
pub(crate) fn apply_only(layout: &str, before: &[String], ids: &[u32]) -> MemFs {
    let fs = MemFs::from_fixture(&fill(layout, before)).unwrap();
    let (runtime, _) = open(&fs);
    runtime.reconcile_apply(1, ids).unwrap();
    assert_eq!(runtime.view().state, ProjectState::Ready);
    fs
}

/// Only the plan of `before`.
pub(crate) fn check_plan(before: &str, plan: &str) -> ReconcilePlan {
    let fs = MemFs::from_fixture(before).unwrap();
    let offered = reconcile::plan(&Snapshot::load(&fs, 1));
    assert_plan(&offered, plan);
    offered
}
