//! `serve --stdio` driven as a client would drive it: the real program as a child
//! process on a real temporary project, requests written to its stdin and every line of
//! its stdout read back. Each method's result is checked in its exact shape, with the
//! events the method caused; bad lines of every kind get the right error and the server
//! goes on; `shutdown` and the end of input end it with exit code 0.

use serde_json::{Value, json};

use crate::child::{Finished, Packer};
use crate::cli::{Project, declaration, hero_and_jump};
use crate::cli_write::{exists, index, read, tree_but_lock};
use crate::fixture_text::{U1, U2, U3};

/// A client's session with one `serve --stdio`.
pub(crate) struct Session {
    packer: Packer,
    next_id: u64,
    /// Events read and not yet taken, in the order they came.
    events: Vec<Value>,
}

impl Session {
    /// Starts serving `project` and reads its `runtime_started`.
    pub(crate) fn start(project: &Project) -> Session {
        let mut session = Session {
            packer: Packer::start(project.root(), &["serve", "--stdio"]),
            next_id: 1,
            events: Vec::new(),
        };
        session.event("runtime_started");
        session
    }

    /// Sends a request and gives its whole response; the events that came first are
    /// kept for [`take_events`](Session::take_events).
    pub(crate) fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params);
        self.response_to(id)
    }

    /// Sends a request without waiting for its answer; gives its id.
    pub(crate) fn send_request(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let request = if params.is_null() {
            json!({ "id": id, "method": method })
        } else {
            json!({ "id": id, "method": method, "params": params })
        };
        self.packer.send(&request.to_string());
        id
    }

    /// The next response, which must answer request `id`: requests are answered in
    /// the order they were sent.
    pub(crate) fn response_to(&mut self, id: u64) -> Value {
        let response = self.response();
        assert_eq!(
            response["id"],
            json!(id),
            "answered out of order: {response}"
        );
        response
    }

    /// The result of a request that must succeed.
    pub(crate) fn result(&mut self, method: &str, params: Value) -> Value {
        let response = self.call(method, params.clone());
        match response.get("result") {
            Some(result) => result.clone(),
            None => panic!("{method} {params} failed: {response}"),
        }
    }

    /// The error of a request that must fail.
    pub(crate) fn error(&mut self, method: &str, params: Value) -> Value {
        let response = self.call(method, params.clone());
        match response.get("error") {
            Some(error) => error.clone(),
            None => panic!("{method} {params} succeeded: {response}"),
        }
    }

    /// Sends `bytes` as they are (a line, or not) and gives the next response.
    fn raw(&mut self, bytes: &[u8]) -> Value {
        self.packer.send_bytes(bytes);
        self.response()
    }

    /// The next line that is a response; events on the way are kept.
    fn response(&mut self) -> Value {
        let line = self.response_line();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// The next line that is a response, as written; events on the way are kept.
    fn response_line(&mut self) -> String {
        loop {
            let line = self.packer.next_line("a response");
            let value: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout has a line that is not JSON ({e}): {line}"));
            if value.get("event").is_some() {
                self.events.push(value);
            } else {
                return line;
            }
        }
    }

    /// Waits for the event named `name` and gives it; the events before it are kept.
    pub(crate) fn event(&mut self, name: &str) -> Value {
        self.event_where(name, |_| true)
    }

    /// Waits for an event named `name` that `wanted` accepts and gives it; the events
    /// before it are kept, those named `name` that it does not accept are dropped.
    pub(crate) fn event_where(&mut self, name: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let mut kept = Vec::new();
        let mut found = None;
        for event in std::mem::take(&mut self.events) {
            if found.is_none() && event["event"] == name {
                if wanted(&event) {
                    found = Some(event);
                }
            } else {
                kept.push(event);
            }
        }
        self.events = kept;
        if let Some(event) = found {
            return event;
        }
        loop {
            let line = self.packer.next_line(&format!("a `{name}` event"));
            let value: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout has a line that is not JSON ({e}): {line}"));
            assert!(
                value.get("event").is_some(),
                "a response nobody asked for: {value}"
            );
            if value["event"] == name {
                if wanted(&value) {
                    return value;
                }
            } else {
                self.events.push(value);
            }
        }
    }

    /// The events read so far, forgotten.
    pub(crate) fn take_events(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.events)
    }

    pub(crate) fn packer(&mut self) -> &mut Packer {
        &mut self.packer
    }

    /// Ends the input and waits for the server to end.
    pub(crate) fn finish(self) -> Finished {
        self.packer.finish()
    }

    /// Waits for the server to end with its input still open.
    pub(crate) fn finish_with_input_open(self) -> Finished {
        self.packer.finish_with_input_open()
    }
}

/// Two registered blob assets (1 `sprites/hero`, 2 `audio/jump`), an unregistered one
/// at `sfx/coin` (uuid U3), and the input of an asset yet to be created (`music/title`).
fn project() -> Project {
    let coin = declaration(U3, "coin", &["coin.bin"]);
    hero_and_jump(
        "sprites/hero",
        &[
            ("sfx/coin/asset.json", &coin),
            ("sfx/coin/coin.bin", "coin"),
            ("music/title/title.bin", "title"),
        ],
    )
}

/// The asset shape of a blob asset in good health.
fn blob(id: u64, uuid: &str, root: &str, name: &str, inputs: &[&str], included: bool) -> Value {
    json!({
        "asset_id": id, "asset_uuid": uuid, "root": root, "name": name, "kind": "blob",
        "inputs": inputs, "output": {}, "included_in_build": included, "status": "ok"
    })
}

/// Each event as `name generation command_id`, for comparing sequences.
pub(crate) fn summary(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let mut text = format!("{} {}", e["event"].as_str().unwrap(), e["generation"]);
            if let Some(id) = e.get("command_id") {
                text.push_str(&format!(" #{id}"));
            }
            if let (Some(from), Some(to)) = (e.get("from"), e.get("to")) {
                text.push_str(&format!(
                    " {} -> {}",
                    from.as_str().unwrap(),
                    to.as_str().unwrap()
                ));
            }
            text
        })
        .collect()
}

#[test]
fn every_method_answers_in_its_shape() {
    let project = project();
    let mut s = Session::start(&project);
    let hero = blob(1, U1, "sprites/hero", "hero", &["hero.bin"], true);
    let jump = blob(2, U2, "audio/jump", "jump", &["jump.bin"], true);
    let unregistered = json!({"kind": "unregistered_asset", "root": "sfx/coin", "asset_uuid": U3});

    assert_eq!(
        s.result("status", Value::Null),
        json!({"generation": 1, "state": "diverged", "drifts": [unregistered]})
    );
    assert_eq!(
        s.result("list_assets", json!({})),
        json!({"generation": 1, "state": "diverged", "assets": [hero, jump]})
    );
    assert_eq!(
        s.result("reconcile_plan", Value::Null),
        json!({"plan_id": 1, "generation": 1, "actions": [
            {"action_id": 1, "kind": "adopt", "drift": unregistered, "root": "sfx/coin", "asset_uuid": U3}
        ], "unresolved": []})
    );
    for asset in [json!(1), json!(U1), json!("sprites/hero")] {
        assert_eq!(
            s.result("get_asset", json!({ "asset": asset })),
            json!({"generation": 1, "asset": hero})
        );
    }
    // A string is never an id: `"1"` is the root `1`.
    assert_eq!(
        s.error("get_asset", json!({"asset": "1"})),
        json!({"code": "not_found", "message": "no registered asset has asset root `1`", "detail": {}})
    );

    // create_asset with its defaults: the name is the root's last segment, included.
    let created = s.result(
        "create_asset",
        json!({"root": "music/title", "kind": "blob", "inputs": ["title.bin"], "expected_generation": 1}),
    );
    let new_uuid = created["asset"]["asset_uuid"].as_str().unwrap().to_owned();
    let title = blob(3, &new_uuid, "music/title", "title", &["title.bin"], true);
    assert_eq!(
        created,
        json!({"generation": 2, "command_id": 1, "asset": title})
    );
    assert_eq!(
        s.event("snapshot_committed"),
        json!({"event": "snapshot_committed", "generation": 2, "command_id": 1, "changed": [3]})
    );

    assert_eq!(
        s.result("adopt_asset", json!({"root": "sfx/coin"})),
        json!({"generation": 3, "command_id": 2, "asset": blob(4, U3, "sfx/coin", "coin", &["coin.bin"], true)})
    );
    assert_eq!(
        s.result("move_asset", json!({"asset": 3, "to": "music/intro"})),
        json!({"generation": 4, "command_id": 3, "asset": blob(3, &new_uuid, "music/intro", "title", &["title.bin"], true)})
    );
    assert_eq!(
        s.result("set_included", json!({"asset": U2, "included": false})),
        json!({"generation": 5, "command_id": 4, "asset": blob(2, U2, "audio/jump", "jump", &["jump.bin"], false)})
    );
    assert_eq!(
        s.result(
            "update_declaration",
            json!({"asset": "sprites/hero", "declaration": {"name": "Hero", "output": {}}})
        ),
        json!({"generation": 6, "command_id": 5, "asset": blob(1, U1, "sprites/hero", "Hero", &["hero.bin"], true)})
    );
    assert_eq!(
        s.result(
            "batch",
            json!({"expected_generation": 6, "commands": [
                {"method": "set_included", "params": {"asset": 1, "included": false}},
                {"method": "move_asset", "params": {"asset": 2, "to": "sfx/jump"}}
            ]})
        ),
        json!({"generation": 7, "command_id": 6})
    );
    assert_eq!(
        s.result("remove_asset", json!({"asset": 4})),
        json!({"generation": 8, "command_id": 7})
    );
    assert_eq!(
        s.result("doctor", Value::Null),
        json!({"generation": 8, "diagnostics": []})
    );
    assert_eq!(
        s.result("status", Value::Null),
        json!({"generation": 8, "state": "ready", "drifts": []})
    );
    // The disk is as the lane left it: a full verification finds nothing new.
    assert_eq!(
        s.result("check_divergence", Value::Null),
        json!({"generation": 8, "state": "ready", "drifts": []})
    );
    assert_eq!(
        s.result("reconcile_plan", Value::Null),
        json!({"plan_id": 8, "generation": 8, "actions": [], "unresolved": []})
    );
    // Only asset 3 is still included. The build reads the generation it was asked on;
    // its progress comes as events.
    let built = s.result("build", Value::Null);
    let bytes = built["bytes"].as_u64().unwrap();
    assert!(bytes > 0, "{built}");
    assert_eq!(
        built,
        json!({"generation": 8, "pack": "build/assets.pak", "manifest": "build/assets.manifest.json", "assets": 1, "reused": 0, "bytes": bytes})
    );
    assert_eq!(
        s.result("build", json!({"out": "dist"})),
        json!({"generation": 8, "pack": "dist/assets.pak", "manifest": "dist/assets.manifest.json", "assets": 1, "reused": 1, "bytes": bytes})
    );
    assert!(project.root().join("dist/assets.pak").is_file());
    assert_eq!(s.result("shutdown", Value::Null), json!({"generation": 8}));

    // The state change and the commit that caused it come in either order; each build
    // says it started, how far it is and that it is done.
    let mut events: Vec<String> = summary(&s.take_events())
        .into_iter()
        .filter(|e| !e.starts_with("build_progress"))
        .collect();
    events.sort();
    assert_eq!(
        events,
        [
            "build_completed 8 #8",
            "build_completed 8 #9",
            "build_started 8 #8",
            "build_started 8 #9",
            "snapshot_committed 3 #2",
            "snapshot_committed 4 #3",
            "snapshot_committed 5 #4",
            "snapshot_committed 6 #5",
            "snapshot_committed 7 #6",
            "snapshot_committed 8 #7",
            "state_changed 3 #2 diverged -> ready",
        ]
    );
    let finished = s.finish();
    assert!(finished.status.success(), "{}", finished.stderr);
    assert!(finished.rest.is_empty(), "{finished:?}");
    assert_eq!(
        read(&project, ".prometeu/index.json"),
        index(
            5,
            &[
                (1, U1, "sprites/hero", false),
                (2, U2, "sfx/jump", false),
                (3, &new_uuid, "music/intro", true),
            ]
        )
    );
    assert!(!exists(&project, "sfx/coin/asset.json"));
    assert_eq!(read(&project, "sfx/coin/coin.bin"), "coin");
}

/// Sends each line (adding its `\n` if it has none) and checks the response's `id`,
/// error `code` and `detail` (`{}` when the error has nothing more to say); every case is followed by
/// a request that must still be answered, so a server that stopped or fell out of step
/// fails here. Nothing may be written: no commit, not a byte of the project changed.
fn check_bad_lines(cases: &[(&[u8], Value)]) {
    let project = project();
    let before = tree_but_lock(&project);
    let mut s = Session::start(&project);
    for (line, expected) in cases {
        let mut line = line.to_vec();
        if line.last() != Some(&b'\n') {
            line.push(b'\n');
        }
        let response = s.raw(&line);
        let error = &response["error"];
        let got = json!({"id": response["id"], "code": error["code"], "detail": error["detail"]});
        assert_eq!(&got, expected, "for {}", String::from_utf8_lossy(&line));
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{response}"
        );
        assert_eq!(s.result("status", Value::Null)["generation"], 1);
    }
    let events = s.take_events();
    assert!(
        events.iter().all(|e| e["event"] == "write_rejected"),
        "a bad line caused more than a rejection: {events:?}"
    );
    let finished = s.finish();
    assert!(finished.status.success(), "{}", finished.stderr);
    assert_eq!(
        tree_but_lock(&project),
        before,
        "a bad line changed the project"
    );
}

fn parse_error(id: Value) -> Value {
    json!({"id": id, "code": "parse_error", "detail": {}})
}

/// A line that is not JSON: the detail says where reading stopped.
fn not_json(column: u64) -> Value {
    json!({"id": null, "code": "parse_error", "detail": {"column": column}})
}

fn bad_param(id: u64, param: &str) -> Value {
    json!({"id": id, "code": "invalid_params", "detail": {"param": param}})
}

#[test]
fn lines_that_are_not_requests_are_parse_errors() {
    check_bad_lines(&[
        (b"garbage\n", not_json(1)),
        (b"{\"id\": 1, \"method\": \"status\"\n", not_json(29)),
        (b"[1, 2]\n", parse_error(Value::Null)),
        (b"\"status\"\n", parse_error(Value::Null)),
        (b"42\n", parse_error(Value::Null)),
        (b"null\n", parse_error(Value::Null)),
        (b"{}\n", parse_error(Value::Null)),
        (
            b"{\"id\": \"7\", \"method\": \"status\"}\n",
            parse_error(Value::Null),
        ),
        (b"{\"id\": 8}\n", parse_error(json!(8))),
        (b"{\"id\": 9, \"method\": 5}\n", parse_error(json!(9))),
        (
            b"{\"id\": 10, \"method\": \"status\", \"extra\": 1}\n",
            parse_error(json!(10)),
        ),
        (
            b"{\"id\": 11, \"method\": \"st\xffatus\"}\n",
            parse_error(Value::Null),
        ),
        (b"\xfe\xff\x00\n", parse_error(Value::Null)),
        // The request on the line after blank ones is the next answered.
        (b"\n   \n\r\n{\"id\": 12}\n", parse_error(json!(12))),
        // Nested deeper than the JSON reader goes.
        (&[b'['; 10_000], not_json(65)),
        // A key given twice: which one was meant is not for the server to guess.
        (
            b"{\"id\": 13, \"method\": \"status\", \"method\": \"doctor\"}\n",
            not_json(32),
        ),
        (
            b"{\"id\": 14, \"method\": \"remove_asset\", \"params\": {\"asset\": 1, \"asset\": 2}}\n",
            not_json(61),
        ),
        // A number no JSON value can hold.
        (
            b"{\"id\": 15, \"method\": \"status\", \"params\": {\"x\": 1e400}}\n",
            not_json(48),
        ),
    ]);
}

#[test]
fn unknown_methods_and_bad_params_are_refused_by_name() {
    let long_name = "n".repeat(129);
    let long = format!(
        r#"{{"id": 40, "method": "update_declaration", "params": {{"asset": 1, "declaration": {{"name": "{long_name}"}}}}}}"#
    );
    check_bad_lines(&[
        (
            b"{\"id\": 1, \"method\": \"nope\"}\n",
            json!({"id": 1, "code": "unknown_method", "detail": {"method": "nope"}}),
        ),
        (
            b"{\"id\": 2, \"method\": \"status\", \"params\": [1]}\n",
            bad_param(2, "params"),
        ),
        (
            b"{\"id\": 3, \"method\": \"status\", \"params\": {\"verbose\": true}}\n",
            bad_param(3, "verbose"),
        ),
        (b"{\"id\": 4, \"method\": \"get_asset\"}\n", bad_param(4, "asset")),
        (
            b"{\"id\": 5, \"method\": \"get_asset\", \"params\": {\"asset\": true}}\n",
            bad_param(5, "asset"),
        ),
        (
            b"{\"id\": 6, \"method\": \"get_asset\", \"params\": {\"asset\": -1}}\n",
            bad_param(6, "asset"),
        ),
        (
            b"{\"id\": 7, \"method\": \"get_asset\", \"params\": {\"asset\": \"../etc\"}}\n",
            bad_param(7, "asset"),
        ),
        (
            b"{\"id\": 8, \"method\": \"create_asset\", \"params\": {\"root\": \"a\", \"kind\": \"sprite\", \"inputs\": [\"a.png\"]}}\n",
            bad_param(8, "kind"),
        ),
        (
            b"{\"id\": 9, \"method\": \"create_asset\", \"params\": {\"root\": \"/abs\", \"kind\": \"blob\", \"inputs\": [\"a\"]}}\n",
            bad_param(9, "root"),
        ),
        (
            b"{\"id\": 10, \"method\": \"create_asset\", \"params\": {\"root\": \"a\", \"kind\": \"blob\", \"inputs\": [\"ok\", \"../x\"]}}\n",
            bad_param(10, "inputs"),
        ),
        (
            b"{\"id\": 11, \"method\": \"create_asset\", \"params\": {\"root\": \"a\", \"kind\": \"image\", \"inputs\": [\"a.png\"], \"output\": {\"format\": \"pcm16\"}}}\n",
            bad_param(11, "output"),
        ),
        (
            b"{\"id\": 12, \"method\": \"create_asset\", \"params\": {\"root\": \"a\", \"kind\": \"blob\"}}\n",
            bad_param(12, "inputs"),
        ),
        (
            b"{\"id\": 13, \"method\": \"set_included\", \"params\": {\"asset\": 1, \"included\": \"yes\"}}\n",
            bad_param(13, "included"),
        ),
        (
            b"{\"id\": 14, \"method\": \"set_included\", \"params\": {\"asset\": 1, \"included\": true, \"expected_generation\": \"1\"}}\n",
            bad_param(14, "expected_generation"),
        ),
        (
            b"{\"id\": 15, \"method\": \"update_declaration\", \"params\": {\"asset\": 1, \"declaration\": {\"asset_uuid\": \"x\"}}}\n",
            bad_param(15, "declaration.asset_uuid"),
        ),
        (
            b"{\"id\": 16, \"method\": \"update_declaration\", \"params\": {\"asset\": 1, \"declaration\": {\"colour\": 1}}}\n",
            bad_param(16, "declaration.colour"),
        ),
        (
            b"{\"id\": 17, \"method\": \"update_declaration\", \"params\": {\"asset\": 1, \"declaration\": {\"output\": {\"format\": \"rgba8\"}}}}\n",
            bad_param(17, "declaration.output"),
        ),
        (
            b"{\"id\": 18, \"method\": \"batch\", \"params\": {\"commands\": []}}\n",
            bad_param(18, "commands"),
        ),
        (
            b"{\"id\": 19, \"method\": \"batch\", \"params\": {\"commands\": [{\"method\": \"set_included\", \"params\": {\"asset\": 1, \"included\": false}}, {\"method\": \"status\"}]}}\n",
            bad_param(19, "commands[1].method"),
        ),
        (
            b"{\"id\": 20, \"method\": \"batch\", \"params\": {\"commands\": [{\"method\": \"batch\", \"params\": {\"commands\": []}}]}}\n",
            bad_param(20, "commands[0].method"),
        ),
        (
            b"{\"id\": 21, \"method\": \"batch\", \"params\": {\"commands\": [{\"method\": \"move_asset\", \"params\": {\"asset\": 1, \"to\": 5}}]}}\n",
            bad_param(21, "commands[0].params.to"),
        ),
        (
            b"{\"id\": 22, \"method\": \"batch\", \"params\": {\"commands\": [{\"method\": \"remove_asset\", \"params\": {\"asset\": 1, \"expected_generation\": 1}}]}}\n",
            bad_param(22, "commands[0].params.expected_generation"),
        ),
        (
            b"{\"id\": 23, \"method\": \"batch\", \"params\": {\"commands\": [{\"method\": \"remove_asset\", \"params\": {\"asset\": 1}, \"id\": 1}]}}\n",
            bad_param(23, "commands[0].id"),
        ),
        (
            b"{\"id\": 24, \"method\": \"shutdown\", \"params\": {\"now\": true}}\n",
            bad_param(24, "now"),
        ),
        (
            b"{\"id\": 25, \"method\": \"reconcile_apply\", \"params\": {\"plan_id\": 1, \"action_ids\": []}}\n",
            bad_param(25, "action_ids"),
        ),
        (
            b"{\"id\": 26, \"method\": \"reconcile_apply\", \"params\": {\"plan_id\": 1, \"action_ids\": [2]}}\n",
            bad_param(26, "action_ids"),
        ),
        (
            b"{\"id\": 27, \"method\": \"reconcile_apply\", \"params\": {\"plan_id\": 1, \"action_ids\": [1, 1]}}\n",
            bad_param(27, "action_ids"),
        ),
        (
            b"{\"id\": 28, \"method\": \"reconcile_apply\", \"params\": {\"plan_id\": \"1\", \"action_ids\": [1]}}\n",
            bad_param(28, "plan_id"),
        ),
        (
            b"{\"id\": 29, \"method\": \"check_divergence\", \"params\": {\"deep\": true}}\n",
            bad_param(29, "deep"),
        ),
        (
            b"{\"id\": 34, \"method\": \"build\", \"params\": {\"out\": \"assets/build\"}}\n",
            bad_param(34, "out"),
        ),
        (
            b"{\"id\": 35, \"method\": \"build\", \"params\": {\"out\": 1}}\n",
            bad_param(35, "out"),
        ),
        (
            b"{\"id\": 36, \"method\": \"build\", \"params\": {\"out\": \"\"}}\n",
            bad_param(36, "out"),
        ),
        // Refusals from the runtime, not the params: nothing is written either.
        (
            b"{\"id\": 30, \"method\": \"get_asset\", \"params\": {\"asset\": 99}}\n",
            json!({"id": 30, "code": "not_found", "detail": {}}),
        ),
        (
            b"{\"id\": 31, \"method\": \"move_asset\", \"params\": {\"asset\": 1, \"to\": \"audio/jump/hero\"}}\n",
            json!({"id": 31, "code": "invalid", "detail": {"command_id": 1, "generation": 1}}),
        ),
        (
            b"{\"id\": 32, \"method\": \"remove_asset\", \"params\": {\"asset\": 2, \"expected_generation\": 0}}\n",
            json!({"id": 32, "code": "stale_request", "detail": {"command_id": 2, "generation": 1}}),
        ),
        (
            b"{\"id\": 33, \"method\": \"reconcile_apply\", \"params\": {\"plan_id\": 0, \"action_ids\": [1]}}\n",
            json!({"id": 33, "code": "stale_request", "detail": {"command_id": 3, "generation": 1}}),
        ),
        (
            long.as_bytes(),
            json!({"id": 40, "code": "invalid", "detail": {"command_id": 4, "generation": 1}}),
        ),
    ]);
}

/// A client matches answers to requests by `id`: it comes back as written, whether it
/// reads as an integer, a float or a number no integer type holds.
#[test]
fn an_id_comes_back_as_the_client_wrote_it() {
    let project = project();
    let mut session = Session::start(&project);
    for id in [
        "7",
        "1e2",
        "-0",
        "1.50",
        "9007199254740993",
        "18446744073709551616",
    ] {
        for (method, answer) in [("status", "result"), ("nope", "error")] {
            let line = format!("{{\"id\": {id}, \"method\": \"{method}\"}}\n");
            session.packer.send_bytes(line.as_bytes());
            let response = session.response_line();
            let expected = format!("{{\"id\":{id},\"{answer}\":");
            assert!(response.starts_with(&expected), "{line} → {response}");
        }
    }
    session.finish();
}

#[test]
fn a_line_too_long_to_take_is_refused_and_the_server_goes_on() {
    let project = project();
    let mut s = Session::start(&project);
    // A well-formed request, only far too long: 9 MiB where 8 are taken.
    let mut line = br#"{"id": 1, "method": "get_asset", "params": {"asset": ""#.to_vec();
    line.resize(9 << 20, b'a');
    line.extend_from_slice(b"\"}}\n");
    let response = s.raw(&line);
    assert_eq!(response["id"], Value::Null, "{response}");
    assert_eq!(response["error"]["code"], "parse_error", "{response}");
    assert_eq!(s.result("status", Value::Null)["generation"], 1);
    let finished = s.finish();
    assert!(finished.status.success(), "{}", finished.stderr);
}

/// SIGTERM and SIGINT end the server as `shutdown` does: between two requests, with
/// the runtime shut down and exit code 0, even with stdin still open.
#[test]
fn sigterm_and_sigint_end_the_server_cleanly() {
    let project = project();
    for (signal, name) in [
        (rustix::process::Signal::TERM, "SIGTERM"),
        (rustix::process::Signal::INT, "SIGINT"),
    ] {
        let mut s = Session::start(&project);
        assert_eq!(s.result("status", Value::Null)["generation"], 1);
        s.packer().signal(signal);
        // The input stays open: only the signal can have ended the server.
        let finished = s.finish_with_input_open();
        assert!(finished.status.success(), "{name}: {finished:?}");
        assert!(
            finished.stderr.contains(&format!("stopped on {name}")),
            "{name}: {finished:?}"
        );
        assert!(finished.rest.is_empty(), "{name}: {finished:?}");
    }
    // Nothing is left behind: the next server opens the project as the first did.
    let mut s = Session::start(&project);
    assert_eq!(s.result("status", Value::Null)["generation"], 1);
    assert!(s.finish().status.success());
}

#[test]
fn shutdown_and_the_end_of_input_end_the_server_with_exit_code_0() {
    let project = project();

    // `shutdown` is answered, then the server ends: what follows is not read.
    let mut s = Session::start(&project);
    s.packer()
        .send("{\"id\": 1, \"method\": \"shutdown\"}\n{\"id\": 2, \"method\": \"status\"}");
    assert_eq!(s.response(), json!({"id": 1, "result": {"generation": 1}}));
    let finished = s.finish();
    assert!(finished.status.success(), "{}", finished.stderr);
    assert!(
        finished.rest.is_empty(),
        "answered after shutdown: {finished:?}"
    );

    // The end of input ends it too, and a last line without `\n` is still a request.
    let mut s = Session::start(&project);
    s.packer()
        .send_bytes(b"{\"id\": 1, \"method\": \"status\"}");
    let finished = s.finish();
    assert!(finished.status.success(), "{}", finished.stderr);
    let last: Vec<Value> = finished
        .rest
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        last,
        [
            json!({"id": 1, "result": {"generation": 1, "state": "diverged", "drifts": [
                {"kind": "unregistered_asset", "root": "sfx/coin", "asset_uuid": U3}
            ]}})
        ]
    );
}

#[test]
fn reads_of_a_registry_that_never_read_are_failed_state_as_under_the_cli() {
    let text = "{\n  \"schema_version\": 7,\n  \"next_asset_id\": 1,\n  \"assets\": []\n}\n";
    let project = Project::new(&[(".prometeu/index.json", text)]);
    let mut s = Session::start(&project);
    assert_eq!(s.result("status", Value::Null)["state"], "failed");
    // No registry means no plan, not an empty one: `reconcile --json` says the same.
    for method in ["list_assets", "reconcile_plan"] {
        let error = s.error(method, Value::Null);
        assert_eq!(error["code"], "failed_state", "{method}: {error}");
    }
    let cli = project.run(&["reconcile", "--json"]);
    assert_eq!(cli.json()["error"]["code"], "failed_state", "{cli:?}");
    let finished = s.finish();
    assert!(finished.status.success(), "{}", finished.stderr);
}
