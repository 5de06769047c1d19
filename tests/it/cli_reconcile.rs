//! `reconcile` in-process on real temporary projects: the plan printed for people and as
//! JSON without a byte written, chosen actions and all of them applied in one commit
//! with the registry's exact bytes, and refusals that change nothing.

use serde_json::{Value, json};

use crate::cli::{Project, declaration, hero_and_jump};
use crate::cli_write::{index, read, tree_but_lock};
use crate::fixture_text::{U1, U2, U3};

/// Asset 1 registered at `sprites/hero` but moved by hand to `characters/hero`; asset 2
/// in place at `audio/jump`; an unregistered asset at `sfx/coin`.
fn project() -> Project {
    let coin = declaration(U3, "coin", &["coin.bin"]);
    hero_and_jump(
        "characters/hero",
        &[
            ("sfx/coin/asset.json", &coin),
            ("sfx/coin/coin.bin", "coin"),
        ],
    )
}

fn moved() -> Value {
    json!({"kind": "root_moved", "asset_id": 1, "from": "sprites/hero", "to": "characters/hero"})
}

fn unregistered() -> Value {
    json!({"kind": "unregistered_asset", "root": "sfx/coin", "asset_uuid": U3})
}

#[test]
fn the_plan_is_printed_without_a_byte_written() {
    let project = project();
    let before = tree_but_lock(&project);
    let run = project.run(&["reconcile"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "plan for generation 1: 2 actions
   1  relocate asset 1: sprites/hero -> characters/hero
   2  adopt sfx/coin (uuid {U3})
apply with: prometeu-packer reconcile --apply 1 2   (or --apply-all)
"
        )
    );
    let run = project.run(&["reconcile", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({"plan_id": 1, "generation": 1, "actions": [
            {"action_id": 1, "kind": "relocate", "drift": moved(), "asset_id": 1, "from": "sprites/hero", "to": "characters/hero"},
            {"action_id": 2, "kind": "adopt", "drift": unregistered(), "root": "sfx/coin", "asset_uuid": U3}
        ], "unresolved": []})
    );
    assert_eq!(tree_but_lock(&project), before);
}

#[test]
fn chosen_actions_then_all_of_them_are_applied_in_one_commit_each() {
    let project = project();
    let run = project.run(&["reconcile", "--apply", "1", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json(), json!({"generation": 2, "command_id": 1}));
    assert_eq!(
        read(&project, ".prometeu/index.json"),
        index(
            3,
            &[
                (1, U1, "characters/hero", true),
                (2, U2, "audio/jump", true)
            ]
        )
    );
    // What is left is renumbered from 1 in the next plan.
    let run = project.run(&["reconcile", "--json"]);
    assert_eq!(run.json()["actions"][0]["kind"], "adopt", "{run:?}");

    let run = project.run(&["reconcile", "--apply-all"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "applied 1 action · generation 2\n");
    assert_eq!(
        read(&project, ".prometeu/index.json"),
        index(
            4,
            &[
                (1, U1, "characters/hero", true),
                (2, U2, "audio/jump", true),
                (3, U3, "sfx/coin", true)
            ]
        )
    );
    let run = project.run(&["reconcile"]);
    assert_eq!(
        run.stdout,
        "nothing to reconcile · generation 1: no structural drift\n"
    );
    let run = project.run(&["reconcile", "--apply-all", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json(), json!({"generation": 1}));
}

#[test]
fn refusals_change_nothing() {
    let project = project();
    let before = tree_but_lock(&project);
    let run = project.run(&["reconcile", "--apply", "3", "--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.json(),
        json!({"error": {"code": "invalid_params",
            "message": "the plan of generation 1 has no action 3 (it has 2 actions)", "detail": {}}})
    );
    let run = project.run(&["reconcile", "--apply", "1", "1"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stderr, "error: action 1 is chosen twice\n");
    for usage in [
        &["reconcile", "--apply", "1", "--apply-all"][..],
        &["reconcile", "--apply"],
        &["reconcile", "--apply", "one"],
    ] {
        assert_eq!(project.run(usage).code, 2, "{usage:?}");
    }
    assert_eq!(tree_but_lock(&project), before);

    // A registry that does not parse: no plan, and the command says why.
    project.put(".prometeu/index.json", b"{ \"schema_version\": 1,");
    let run = project.run(&["reconcile"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.starts_with("error: the project is failed"),
        "{run:?}"
    );
}

/// Applying needs a registry as much as planning does: `--apply-all` on one that does
/// not parse is not "nothing to reconcile", and `--apply` is not an unknown action.
#[test]
fn applying_without_a_readable_registry_is_failed_state() {
    let project = project();
    project.put(".prometeu/index.json", b"{ \"schema_version\": 1,");
    let before = tree_but_lock(&project);
    for args in [
        &["reconcile", "--apply-all", "--json"][..],
        &["reconcile", "--apply", "1", "--json"],
    ] {
        let run = project.run(args);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert_eq!(
            run.json()["error"]["code"],
            "failed_state",
            "{args:?}: {run:?}"
        );
    }
    assert_eq!(tree_but_lock(&project), before);
}

/// Two branches that each added an asset, merged: git leaves both sides of the
/// registry's conflict in `index.json`. `doctor` names the marker and says how to
/// resolve it; keeping one side, `reconcile` adopts what the other side added.
#[test]
fn a_merge_conflict_in_the_registry_is_named_and_resolved_by_adopting() {
    let ours = format!(
        r#"    {{ "asset_id": 2, "asset_uuid": "{U2}", "root": "audio/jump", "included_in_build": true }}"#
    );
    let theirs = format!(
        r#"    {{ "asset_id": 2, "asset_uuid": "{U3}", "root": "sfx/coin", "included_in_build": true }}"#
    );
    let first = format!(
        r#"    {{ "asset_id": 1, "asset_uuid": "{U1}", "root": "sprites/hero", "included_in_build": true }},"#
    );
    let conflicted = format!(
        "{{\n  \"schema_version\": 1,\n  \"next_asset_id\": 3,\n  \"assets\": [\n{first}\n<<<<<<< HEAD\n{ours}\n=======\n{theirs}\n>>>>>>> feature\n  ]\n}}\n"
    );
    let project = project();
    std::fs::remove_dir_all(project.root().join("assets/characters")).unwrap();
    project.put(
        "sprites/hero/asset.json",
        declaration(U1, "hero", &["hero.bin"]).as_bytes(),
    );
    project.put("sprites/hero/hero.bin", b"hero");
    project.put(".prometeu/index.json", conflicted.as_bytes());

    let doctor = project.run(&["doctor", "--json"]);
    assert_eq!(doctor.code, 1, "{doctor:?}");
    let diagnostic = &doctor.json()["diagnostics"][0];
    assert_eq!(
        (
            &diagnostic["code"],
            &diagnostic["line"],
            &diagnostic["column"]
        ),
        (&json!("json_syntax"), &json!(6), &json!(1)),
        "{doctor:?}"
    );
    assert!(
        diagnostic["message"]
            .as_str()
            .unwrap()
            .contains("merge conflict marker `<<<<<<<`"),
        "{doctor:?}"
    );
    assert!(
        diagnostic["hint"]
            .as_str()
            .unwrap()
            .contains("prometeu-packer reconcile"),
        "{doctor:?}"
    );

    // Keep our side, as the hint says; the other side's asset is then unregistered.
    let kept = format!(
        "{{\n  \"schema_version\": 1,\n  \"next_asset_id\": 3,\n  \"assets\": [\n{first}\n{ours}\n  ]\n}}\n"
    );
    project.put(".prometeu/index.json", kept.as_bytes());
    let applied = project.run(&["reconcile", "--apply-all", "--json"]);
    assert_eq!(applied.code, 0, "{applied:?}");
    assert_eq!(
        read(&project, ".prometeu/index.json"),
        index(
            4,
            &[
                (1, U1, "sprites/hero", true),
                (2, U2, "audio/jump", true),
                (3, U3, "sfx/coin", true),
            ]
        )
    );
}
