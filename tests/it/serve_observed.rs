//! `serve --stdio` while the disk changes under it: hand edits and a folder moved by hand
//! reach the client as events and refreshed answers, a move is reconciled through the
//! protocol, and two servers on one project, writing at once, lose nothing. The real
//! program runs as a child process with the real watcher on a temporary project; every
//! wait is for an event or an answer, with a deadline.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::cli::{Project, declaration, hero_and_jump, registry};
use crate::cli_write::{index, read};
use crate::fixture_text::{U1, U2};
use crate::serve::Session;

/// Two registered blob assets in good health: 1 `sprites/hero`, 2 `audio/jump`.
fn project() -> Project {
    hero_and_jump("sprites/hero", &[])
}

#[test]
fn hand_edits_and_moves_while_serving_are_reported_and_reconciled() {
    let project = project();
    let mut s = Session::start(&project);
    assert_eq!(s.result("status", Value::Null)["state"], "ready");

    // A declaration edited by hand is taken in on its own.
    project.put(
        "sprites/hero/asset.json",
        declaration(U1, "Hero, by hand", &["hero.bin"]).as_bytes(),
    );
    let refreshed = s.event("snapshot_refreshed");
    assert_eq!(
        refreshed["paths"],
        json!(["sprites/hero/asset.json"]),
        "{refreshed}"
    );
    assert_eq!(refreshed["changed"], json!([1]), "{refreshed}");
    let generation = refreshed["generation"].as_u64().unwrap();
    assert_eq!(
        s.result("get_asset", json!({"asset": 1}))["asset"]["name"],
        "Hero, by hand"
    );

    // A folder moved by hand is structural drift: reported, never repaired.
    let assets = project.root().join("assets");
    std::fs::create_dir_all(assets.join("sfx")).unwrap();
    std::fs::rename(assets.join("audio/jump"), assets.join("sfx/jump")).unwrap();
    let moved =
        json!({"kind": "root_moved", "asset_id": 2, "from": "audio/jump", "to": "sfx/jump"});
    let detected = s.event_where("divergence_detected", |e| {
        e["drifts"].as_array().unwrap().contains(&moved)
    });
    assert_eq!(detected["drifts"], json!([moved]), "{detected}");
    let generation_moved = detected["generation"].as_u64().unwrap();
    assert!(generation_moved > generation);
    s.event_where("state_changed", |e| e["to"] == "diverged");
    let status = s.result("status", Value::Null);
    assert_eq!(
        status,
        json!({"generation": generation_moved, "state": "diverged", "drifts": [moved]})
    );
    assert_eq!(
        read(&project, ".prometeu/index.json"),
        registry(&[(1, U1, "sprites/hero"), (2, U2, "audio/jump")]),
        "detection wrote to the registry"
    );

    // The plan offers the relocation; applying it is one commit through the lane.
    let plan = s.result("reconcile_plan", Value::Null);
    assert_eq!(
        plan,
        json!({"plan_id": generation_moved, "generation": generation_moved, "actions": [
            {"action_id": 1, "kind": "relocate", "drift": moved, "asset_id": 2, "from": "audio/jump", "to": "sfx/jump"}
        ], "unresolved": []})
    );
    let applied = s.result(
        "reconcile_apply",
        json!({"plan_id": generation_moved, "action_ids": [1]}),
    );
    let command_id = applied["command_id"].clone();
    assert_eq!(
        applied,
        json!({"generation": generation_moved + 1, "command_id": command_id})
    );
    let started = s.event("reconcile_started");
    assert_eq!(
        started,
        json!({"event": "reconcile_started", "generation": generation_moved, "command_id": command_id})
    );
    let completed = s.event("reconcile_completed");
    assert_eq!(
        completed,
        json!({"event": "reconcile_completed", "generation": generation_moved + 1, "command_id": command_id})
    );
    assert_eq!(
        s.result("check_divergence", Value::Null),
        json!({"generation": generation_moved + 1, "state": "ready", "drifts": []})
    );
    assert_eq!(
        read(&project, ".prometeu/index.json"),
        index(
            3,
            &[(1, U1, "sprites/hero", true), (2, U2, "sfx/jump", true)]
        )
    );
    // Taking the hand edit in rewrote nothing: the file is as the person left it.
    assert_eq!(
        read(&project, "sprites/hero/asset.json"),
        declaration(U1, "Hero, by hand", &["hero.bin"])
    );
    let finished = s.finish();
    assert!(finished.status.success(), "{}", finished.stderr);
}

#[test]
fn two_servers_writing_to_one_project_at_once_lose_nothing() {
    const PER_SERVER: usize = 12;
    let project = project();
    let prefixes = ["left", "right"];
    for prefix in prefixes {
        for n in 0..PER_SERVER {
            project.put(&format!("{prefix}/n{n}/in.bin"), prefix.as_bytes());
        }
    }
    let mut servers = [Session::start(&project), Session::start(&project)];
    // Every request goes out before any answer is read, so the two lanes commit in
    // between each other.
    let mut sent = Vec::new();
    for n in 0..PER_SERVER {
        for (server, prefix) in servers.iter_mut().zip(prefixes) {
            let root = format!("{prefix}/n{n}");
            let params = json!({"root": root, "kind": "blob", "inputs": ["in.bin"]});
            sent.push((prefix, root, server.send_request("create_asset", params)));
        }
    }
    let answered: Vec<(usize, String, Value)> = sent
        .into_iter()
        .map(|(prefix, root, request)| {
            let server = usize::from(prefix == "right");
            (server, root, servers[server].response_to(request))
        })
        .collect();
    let mut ids = BTreeSet::new();
    for (server, root, mut response) in answered {
        let server = &mut servers[server];
        // A snapshot overtaken by the other server's commit is refused, never
        // overwritten: the client verifies and sends again, as a real one would.
        let mut attempts = 0;
        while response["error"]["code"] == "conflict" {
            attempts += 1;
            assert!(attempts < 50, "{root}: still in conflict: {response}");
            server.result("check_divergence", Value::Null);
            response = server.call(
                "create_asset",
                json!({"root": root, "kind": "blob", "inputs": ["in.bin"]}),
            );
        }
        let asset = &response["result"]["asset"];
        assert_eq!(asset["root"], json!(root), "{response}");
        assert!(
            ids.insert(asset["asset_id"].as_u64().unwrap()),
            "{response}"
        );
    }
    // Both servers end up with the same picture of all the assets.
    let lists: Vec<Value> = servers
        .iter_mut()
        .map(|server| {
            server.result("check_divergence", Value::Null);
            server.result("list_assets", Value::Null)["assets"].clone()
        })
        .collect();
    assert_eq!(lists[0], lists[1]);
    assert_eq!(lists[0].as_array().unwrap().len(), 2 + 2 * PER_SERVER);
    assert_eq!(ids.len(), 2 * PER_SERVER);
    for server in servers {
        let finished = server.finish();
        assert!(finished.status.success(), "{}", finished.stderr);
    }
}

/// `assets/` moved away makes the project `failed` (the packer will not follow the folder
/// elsewhere); moved back, the same folder is in place again, and the project comes back
/// with it, without a restart.
#[test]
fn assets_moved_away_and_back_fail_the_project_and_then_recover_it() {
    let project = project();
    let mut s = Session::start(&project);
    assert_eq!(s.result("status", Value::Null)["state"], "ready");
    let assets = project.root().join("assets");
    let away = project.root().join("elsewhere");

    std::fs::rename(&assets, &away).unwrap();
    s.event_where("state_changed", |e| e["to"] == "failed");
    std::fs::rename(&away, &assets).unwrap();

    let status = s.result("check_divergence", Value::Null);
    assert_eq!(status["state"], "ready", "{status}");
    assert!(status["generation"].as_u64().unwrap() > 1, "{status}");
    assert_eq!(
        s.result("list_assets", Value::Null)["assets"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    s.finish();
}
