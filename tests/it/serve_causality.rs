//! Which events name a command over `serve --stdio`: every event a write caused carries
//! its `command_id`, the state changes and recoveries of its commit included, and the
//! events the observer's refreshes cause carry none.

use serde_json::{Value, json};

use crate::cli::{declaration, hero_and_jump};
use crate::fixture_text::{U3, U4};
use crate::serve::{Session, summary};

/// Waits for `last` (the final event of a command), then gives every event read so far
/// as `name generation #command_id from -> to`.
fn events_until(s: &mut Session, last: &str) -> Vec<String> {
    let last = s.event(last);
    let mut events = s.take_events();
    events.push(last);
    summary(&events)
}

#[test]
fn the_state_changes_and_recoveries_a_write_causes_carry_its_command_id() {
    // Diverged from the start: `sfx/coin` holds an asset.json nobody registered.
    let coin = declaration(U3, "coin", &["coin.bin"]);
    let project = hero_and_jump(
        "sprites/hero",
        &[
            ("sfx/coin/asset.json", &coin),
            ("sfx/coin/coin.bin", "coin"),
        ],
    );
    let mut s = Session::start(&project);
    assert!(summary(&s.take_events()).is_empty());

    // A reconcile: both of its state changes are its own.
    let plan = s.result("reconcile_plan", Value::Null);
    let applied = s.result(
        "reconcile_apply",
        json!({"plan_id": plan["plan_id"], "action_ids": [1]}),
    );
    assert_eq!(applied["command_id"], json!(1), "{applied}");
    assert_eq!(
        events_until(&mut s, "reconcile_completed"),
        [
            "state_changed 1 #1 diverged -> reconciling",
            "reconcile_started 1 #1",
            "state_changed 2 #1 reconciling -> ready",
            "snapshot_committed 2 #1",
            "reconcile_completed 2 #1",
        ]
    );

    // A transaction that never reached its commit point is discarded by the next
    // write's commit, which says so under its own id.
    project.put(".prometeu/tx/00000000000000000001-77/intent.staged", b"{}");
    let excluded = s.result("set_included", json!({"asset": 1, "included": false}));
    assert_eq!(excluded["command_id"], json!(2), "{excluded}");
    assert_eq!(
        events_until(&mut s, "snapshot_committed"),
        ["recovery_performed 2 #2", "snapshot_committed 3 #2"]
    );

    // The observer's refresh (here asked for by `check_divergence`) names no command...
    let jar = declaration(U4, "jar", &["jar.bin"]);
    project.put("props/jar/asset.json", jar.as_bytes());
    project.put("props/jar/jar.bin", b"jar");
    let status = s.result("check_divergence", Value::Null);
    assert_eq!(status["state"], json!("diverged"), "{status}");
    assert_eq!(
        events_until(&mut s, "divergence_detected"),
        [
            "state_changed 3 ready -> stale",
            "state_changed 4 stale -> diverged",
            "snapshot_refreshed 4",
            "divergence_detected 4",
        ]
    );

    // ...and the write that resolves the drift owns the state change back to `ready`.
    let adopted = s.result("adopt_asset", json!({"root": "props/jar"}));
    assert_eq!(adopted["command_id"], json!(3), "{adopted}");
    assert_eq!(
        events_until(&mut s, "snapshot_committed"),
        [
            "state_changed 5 #3 diverged -> ready",
            "snapshot_committed 5 #3"
        ]
    );
    let finished = s.finish();
    assert!(finished.status.success(), "{}", finished.stderr);
}
