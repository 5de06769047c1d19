//! Studio from outside: the boot order (the packer's events reach the container's bus
//! from its very first one), the HTTP server's refusals (token, `Host`, `Origin`) over
//! real connections, the API answering with the runtime's views and commands, image
//! thumbnails, the server-sent event stream carrying packer events with their command
//! ids, and a shutdown that returns with streams and idle connections still open.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::fixture_text::{U1, U2};
use packer_app::observer::ObserverConfig;
use packer_app::runtime::WriteRequest;
use packer_domain::command::Command;
use packer_domain::event::Event;
use packer_domain::registry::AssetId;
use packer_domain::snapshot::AssetQuery;
use packer_memfs::MemFs;
use serde_json::{Value, json};
use studio::container::{Container, ContainerConfig};
use studio::packer::{PackerEvent, PackerHost};
use studio::server::ServerConfig;
use studio::workspace::AssetsWorkspace;
use studio::{Studio, StudioConfig};
use tempfile::TempDir;

/// How long any one exchange may take before the test fails.
pub(crate) const DEADLINE: Duration = Duration::from_secs(20);

/// Two assets: 1 an image at `sprites/hero`, 2 a blob at `audio/jump`.
pub(crate) fn fixture() -> String {
    format!(
        r#"
//- .prometeu/index.json
{{ "schema_version": 1, "next_asset_id": 3, "assets": [
{{ "asset_id": 1, "asset_uuid": "{U1}", "root": "sprites/hero", "included_in_build": true }},
{{ "asset_id": 2, "asset_uuid": "{U2}", "root": "audio/jump", "included_in_build": true }}
] }}
//- sprites/hero/asset.json
{{ "schema_version": 1, "asset_uuid": "{U1}", "name": "hero", "kind": "image", "inputs": ["hero.png"] }}
//- audio/jump/asset.json
{{ "schema_version": 1, "asset_uuid": "{U2}", "name": "jump", "kind": "blob", "inputs": ["jump.bin"] }}
//- audio/jump/jump.bin
samples
"#
    )
}

/// The demo project's hero sprite: a real PNG.
pub(crate) fn hero_png() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/demo-project/assets/sprites/hero/hero.png");
    std::fs::read(path).unwrap()
}

/// A project on disk with the fixture's files under `assets/`.
pub(crate) fn project() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fs = MemFs::from_fixture(&fixture()).unwrap();
    fs.write("sprites/hero/hero.png", hero_png());
    for (path, bytes) in fs.files() {
        let file = dir.path().join("assets").join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, bytes).unwrap();
    }
    dir
}

pub(crate) fn start(project: &TempDir) -> Studio {
    Studio::start(StudioConfig {
        project: project.path().to_path_buf(),
        container: ContainerConfig::default(),
        observer: ObserverConfig::default(),
        server: ServerConfig::default(),
    })
    .unwrap()
}

/// An answer: status, head and body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) head: String,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub(crate) fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream
}

/// Sends `request` (`{addr}` and `{token}` filled in) as it is and reads the whole answer.
pub(crate) fn exchange(studio: &Studio, request: &str) -> Answer {
    let request = request
        .replace("{addr}", &studio.addr().to_string())
        .replace("{token}", studio.token().as_str());
    let mut stream = connect(studio.addr());
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head}"));
    Answer {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    }
}

/// A `GET` of `target` with the Host header of the server and `headers` added.
pub(crate) fn get(studio: &Studio, target: &str, headers: &str) -> Answer {
    exchange(
        studio,
        &format!("GET {target} HTTP/1.1\r\nHost: {{addr}}\r\n{headers}\r\n"),
    )
}

/// A `POST` of JSON `body` to `target` with the token.
pub(crate) fn post(studio: &Studio, target: &str, body: &Value) -> Answer {
    let body = body.to_string();
    exchange(
        studio,
        &format!(
            "POST {target} HTTP/1.1\r\nHost: {{addr}}\r\nX-Studio-Token: {{token}}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// Sends `request` and expects `status` with `body_has` in the body.
pub(crate) fn check(studio: &Studio, request: &str, status: u16, body_has: &str) {
    let answer = exchange(studio, request);
    assert_eq!(answer.status, status, "{request:?} got {answer:?}");
    assert!(
        answer.text().contains(body_has),
        "{request:?}: {body_has:?} not in {}",
        answer.text()
    );
}

#[test]
fn the_packer_publishes_on_the_container_bus_from_its_first_event() {
    let project = project();
    let container = Container::new(ContainerConfig::default()).boot();
    let events = container.bus().subscribe::<PackerEvent>("test", 16);
    let host =
        PackerHost::bootstrap(&container, project.path(), ObserverConfig::default()).unwrap();
    let first = events.recv_timeout(DEADLINE).unwrap();
    assert_eq!(first.seq, 1);
    assert!(
        matches!(first.event, Event::RuntimeStarted { generation: 1, .. }),
        "{first:?}"
    );
    host.shutdown();
}

#[test]
fn bootstrapping_outside_a_project_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let container = Container::new(ContainerConfig::default()).boot();
    let error =
        PackerHost::bootstrap(&container, dir.path(), ObserverConfig::default()).unwrap_err();
    assert!(
        error.to_string().contains("is not a Prometeu project"),
        "{error}"
    );
}

#[test]
fn requests_without_the_token_or_from_elsewhere_are_refused() {
    let project = project();
    let studio = start(&project);
    let port = studio.addr().port();
    let refusals = [
        ("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n", "valid token"),
        (
            "GET /api/status HTTP/1.1\r\nHost: {addr}\r\n\r\n",
            "valid token",
        ),
        (
            "GET /api/events HTTP/1.1\r\nHost: {addr}\r\n\r\n",
            "valid token",
        ),
        (
            "GET /api/status?token=0123456789abcdef0123456789abcdef HTTP/1.1\r\nHost: {addr}\r\n\r\n",
            "valid token",
        ),
        (
            "GET /api/status HTTP/1.1\r\nHost: {addr}\r\nX-Studio-Token: {token}x\r\n\r\n",
            "valid token",
        ),
        (
            "GET /?token={token} HTTP/1.1\r\nHost: evil.example\r\n\r\n",
            "Host header",
        ),
        ("GET /?token={token} HTTP/1.1\r\n\r\n", "Host header"),
        (
            "GET /?token={token} HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n",
            "Host header",
        ),
        (
            "GET /api/status HTTP/1.1\r\nHost: {addr}\r\nX-Studio-Token: {token}\r\nOrigin: http://evil.example\r\n\r\n",
            "another origin",
        ),
        (
            "POST /api/set_included HTTP/1.1\r\nHost: {addr}\r\nX-Studio-Token: {token}\r\nOrigin: null\r\nContent-Type: application/json\r\nContent-Length: 31\r\n\r\n{\"asset\": 1, \"included\": false}",
            "another origin",
        ),
    ];
    for (request, reason) in refusals {
        check(&studio, request, 403, reason);
    }
    let evil_host = format!("evil.example:{port}");
    check(
        &studio,
        &format!("GET /?token={{token}} HTTP/1.1\r\nHost: {evil_host}\r\n\r\n"),
        403,
        "Host header",
    );
    // Nothing was written by any of them.
    let list = get(&studio, "/api/list_assets", "X-Studio-Token: {token}\r\n").json();
    assert_eq!(list["generation"], 1);
    assert_eq!(list["assets"][0]["included_in_build"], true);
    // The same server, properly asked, answers: by header, by query, from its origin.
    check(
        &studio,
        "GET /api/status HTTP/1.1\r\nHost: {addr}\r\nX-Studio-Token: {token}\r\n\r\n",
        200,
        "\"state\":\"ready\"",
    );
    check(
        &studio,
        &format!(
            "GET /api/status?token={{token}} HTTP/1.1\r\nHost: localhost:{port}\r\nOrigin: http://localhost:{port}\r\n\r\n"
        ),
        200,
        "\"generation\":1",
    );
    studio.shutdown();
}

#[test]
fn the_page_is_served_with_its_token_and_a_strict_policy() {
    let project = project();
    let studio = start(&project);
    let page = get(&studio, "/?token={token}", "");
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.head.contains("Content-Type: text/html"),
        "{}",
        page.head
    );
    assert!(
        page.head
            .contains("Content-Security-Policy: default-src 'self'")
    );
    assert!(page.head.contains("Referrer-Policy: no-referrer"));
    let html = page.text();
    assert!(html.contains(&format!("app.js?token={}", studio.token().as_str())));
    assert!(!html.contains("{{token}}"));
    for file in ["app.js", "style.css"] {
        let answer = get(&studio, &format!("/{file}?token={{token}}"), "");
        assert_eq!(answer.status, 200, "{file}: {answer:?}");
    }
    studio.shutdown();
}

#[test]
fn the_api_answers_with_the_runtime_views_and_commands() {
    let project = project();
    let studio = start(&project);
    let token = "X-Studio-Token: {token}\r\n";
    let list = get(&studio, "/api/list_assets", token).json();
    assert_eq!(list["state"], "ready");
    assert_eq!(list["assets"][0]["root"], "sprites/hero");
    assert_eq!(list["assets"][1]["kind"], "blob");
    let one = get(&studio, "/api/get_asset?asset=audio%2Fjump", token).json();
    assert_eq!(one["asset"]["asset_id"], 2);
    assert_eq!(get(&studio, "/api/doctor", token).json()["generation"], 1);

    let write = post(
        &studio,
        "/api/set_included",
        &json!({ "asset": "audio/jump", "included": false, "expected_generation": 1 }),
    );
    assert_eq!(write.status, 200, "{write:?}");
    let result = write.json();
    assert_eq!(result["generation"], 2);
    assert_eq!(result["asset"]["included_in_build"], false);
    let registry =
        std::fs::read_to_string(project.path().join("assets/.prometeu/index.json")).unwrap();
    assert!(
        registry.contains(r#""root": "audio/jump", "included_in_build": false"#),
        "{registry}"
    );

    // Refusals carry the protocol's error shape.
    let stale = post(
        &studio,
        "/api/set_included",
        &json!({ "asset": 2, "included": true, "expected_generation": 1 }),
    );
    assert_eq!(stale.status, 409);
    assert_eq!(stale.json()["error"]["code"], "stale_request");
    let unknown = post(
        &studio,
        "/api/set_included",
        &json!({ "asset": 9, "included": true }),
    );
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["error"]["code"], "not_found");
    let bad = post(&studio, "/api/set_included", &json!({ "asset": 1 }));
    assert_eq!(bad.json()["error"]["code"], "invalid_params");
    check(
        &studio,
        "POST /api/set_included HTTP/1.1\r\nHost: {addr}\r\nX-Studio-Token: {token}\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}",
        400,
        "must be JSON",
    );
    check(
        &studio,
        "GET /api/set_included HTTP/1.1\r\nHost: {addr}\r\nX-Studio-Token: {token}\r\n\r\n",
        405,
        "not accepted",
    );
    check(
        &studio,
        "GET /api/nothing HTTP/1.1\r\nHost: {addr}\r\nX-Studio-Token: {token}\r\n\r\n",
        404,
        "unknown_method",
    );
    studio.shutdown();
}

#[test]
fn thumbnails_serve_only_image_inputs() {
    let project = project();
    let studio = start(&project);
    let image = get(&studio, "/api/thumbnail/1?token={token}", "");
    assert_eq!(image.status, 200, "{image:?}");
    assert!(image.head.contains("Content-Type: image/png"));
    assert_eq!(image.body, hero_png());
    for (target, status) in [
        ("/api/thumbnail/2?token={token}", 404),
        ("/api/thumbnail/7?token={token}", 404),
        ("/api/thumbnail/x?token={token}", 400),
        ("/api/thumbnail/1", 403),
    ] {
        assert_eq!(get(&studio, target, "").status, status, "{target}");
    }
    studio.shutdown();
}

/// Reads server-sent events from `stream` until one whose data satisfies `pred`; gives
/// its `id` and data.
pub(crate) fn next_event(
    reader: &mut BufReader<TcpStream>,
    pred: impl Fn(&Value) -> bool,
) -> (Option<u64>, Value) {
    // Keep-alive comments arrive every few seconds, so the socket's read timeout alone
    // would never end a wait for an event that does not come.
    let deadline = Instant::now() + DEADLINE;
    let mut id = None;
    let mut line = String::new();
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
            .expect("no such event before the deadline");
        reader.get_ref().set_read_timeout(Some(left)).unwrap();
        line.clear();
        let read = reader.read_line(&mut line).unwrap();
        assert!(read > 0, "the event stream ended");
        if let Some(value) = line.strip_prefix("id: ") {
            id = value.trim().parse().ok();
        } else if let Some(data) = line.strip_prefix("data: ") {
            let value: Value = serde_json::from_str(data).unwrap();
            if pred(&value) {
                return (id, value);
            }
            id = None;
        }
    }
}

pub(crate) fn open_events(studio: &Studio, since: Option<u64>) -> BufReader<TcpStream> {
    let mut stream = connect(studio.addr());
    let last = since.map_or_else(String::new, |seq| format!("Last-Event-ID: {seq}\r\n"));
    let request = format!(
        "GET /api/events?token={} HTTP/1.1\r\nHost: {}\r\n{last}\r\n",
        studio.token().as_str(),
        studio.addr()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    reader
}

#[test]
fn the_event_stream_carries_packer_events_with_their_causes() {
    let project = project();
    let studio = start(&project);
    let mut events = open_events(&studio, None);
    // The journal replays what came before the page connected.
    let (id, started) = next_event(&mut events, |e| e["event"] == "runtime_started");
    assert_eq!(id, Some(1));
    assert_eq!(started["generation"], 1);

    let result = post(
        &studio,
        "/api/set_included",
        &json!({ "asset": 1, "included": false }),
    )
    .json();
    let (id, committed) = next_event(&mut events, |e| e["event"] == "snapshot_committed");
    assert_eq!(committed["command_id"], result["command_id"]);
    assert_eq!(committed["generation"], 2);
    assert_eq!(committed["changed"], json!([1]));
    let seq = id.unwrap();

    // A page that reconnects after `seq` gets only what came later.
    let rejected = post(
        &studio,
        "/api/set_included",
        &json!({ "asset": 1, "included": true, "expected_generation": 1 }),
    );
    assert_eq!(rejected.status, 409);
    let mut again = open_events(&studio, Some(seq));
    let (next, event) = next_event(&mut again, |_| true);
    assert_eq!(next, Some(seq + 1));
    assert_eq!(event["event"], "write_rejected");
    assert_eq!(event["reason"], "stale_request");
    studio.shutdown();
}

#[test]
fn an_event_id_from_an_earlier_run_does_not_hold_back_live_events() {
    let project = project();
    let studio = start(&project);
    let mut events = open_events(&studio, Some(1000));
    let (id, started) = next_event(&mut events, |_| true);
    assert_eq!(
        (id, &started["event"]),
        (Some(1), &json!("runtime_started"))
    );
    post(
        &studio,
        "/api/set_included",
        &json!({ "asset": 1, "included": false }),
    );
    let (_, committed) = next_event(&mut events, |e| e["event"] == "snapshot_committed");
    assert_eq!(committed["generation"], 2);
    studio.shutdown();
}

#[test]
fn shutdown_ends_streams_and_idle_connections_and_stops_listening() {
    let project = project();
    let studio = start(&project);
    let addr = studio.addr();
    let mut events = open_events(&studio, None);
    next_event(&mut events, |e| e["event"] == "runtime_started");
    // A connection that never sends its request: its thread waits in a read.
    let idle = connect(addr);
    studio.shutdown();
    let mut rest = Vec::new();
    events.read_to_end(&mut rest).unwrap();
    let mut idle = idle;
    assert_eq!(
        idle.read(&mut [0u8; 16]).unwrap(),
        0,
        "the idle connection closed"
    );
    assert!(
        TcpStream::connect(addr).is_err(),
        "nothing listens any more"
    );
}

#[test]
fn the_api_can_ask_the_host_to_stop() {
    let project = project();
    let studio = start(&project);
    assert!(studio.stop_requests().try_recv().is_err());
    let answer = post(&studio, "/api/shutdown", &json!({}));
    assert_eq!(answer.json(), json!({ "stopping": true }));
    studio.stop_requests().recv_timeout(DEADLINE).unwrap();
    studio.shutdown();
}

#[test]
fn a_folder_moved_by_hand_reaches_the_page_as_divergence() {
    let project = project();
    let studio = start(&project);
    let mut events = open_events(&studio, None);
    next_event(&mut events, |e| e["event"] == "runtime_started");
    let assets = project.path().join("assets");
    std::fs::create_dir(assets.join("characters")).unwrap();
    std::fs::rename(assets.join("sprites/hero"), assets.join("characters/hero")).unwrap();
    // The observer sees it: the stream says so, with the drift the runtime found.
    let (_, diverged) = next_event(&mut events, |e| {
        e["event"] == "state_changed" && e["to"] == "diverged"
    });
    let status = get(&studio, "/api/status", "X-Studio-Token: {token}\r\n").json();
    assert!(status["generation"].as_u64() >= diverged["generation"].as_u64());
    assert_eq!(status["state"], "diverged");
    assert_eq!(
        status["drifts"],
        json!([{ "kind": "root_moved", "asset_id": 1, "from": "sprites/hero", "to": "characters/hero" }])
    );
    studio.shutdown();
}

#[test]
fn check_divergence_scans_the_disk_before_answering() {
    let project = project();
    let studio = Studio::start(StudioConfig {
        project: project.path().to_path_buf(),
        container: ContainerConfig::default(),
        // No periodic scan and a debounce longer than any test: the watcher's hints
        // wait, so the answer shows the move because the check itself scanned.
        observer: ObserverConfig {
            debounce: Duration::from_secs(3600),
            max_delay: Duration::from_secs(3600),
            periodic: None,
            ..ObserverConfig::default()
        },
        server: ServerConfig::default(),
    })
    .unwrap();
    let assets = project.path().join("assets");
    std::fs::rename(assets.join("audio/jump"), assets.join("audio/hop")).unwrap();
    let status = post(&studio, "/api/check_divergence", &json!({})).json();
    assert_eq!(status["state"], "diverged", "{status}");
    assert_eq!(status["drifts"][0]["kind"], "root_moved");
    assert_eq!(status["drifts"][0]["to"], "audio/hop");
    studio.shutdown();
}

#[test]
fn a_relocate_applied_through_the_api_updates_the_registry() {
    let project = project();
    let studio = start(&project);
    let mut events = open_events(&studio, None);
    let assets = project.path().join("assets");
    std::fs::rename(assets.join("audio/jump"), assets.join("audio/hop")).unwrap();
    let status = post(&studio, "/api/check_divergence", &json!({})).json();
    assert_eq!(status["state"], "diverged", "{status}");
    let plan = get(
        &studio,
        "/api/reconcile_plan",
        "X-Studio-Token: {token}\r\n",
    )
    .json();
    assert_eq!(plan["generation"], status["generation"]);
    assert_eq!(plan["actions"][0]["kind"], "relocate", "{plan}");
    assert_eq!(plan["actions"][0]["drift"]["kind"], "root_moved");
    let action = &plan["actions"][0]["action_id"];

    let applied = post(
        &studio,
        "/api/reconcile_apply",
        &json!({ "plan_id": plan["plan_id"], "action_ids": [action] }),
    );
    assert_eq!(applied.status, 200, "{applied:?}");
    let applied = applied.json();
    let registry = std::fs::read_to_string(assets.join(".prometeu/index.json")).unwrap();
    assert!(registry.contains(r#""root": "audio/hop""#), "{registry}");
    let (_, completed) = next_event(&mut events, |e| e["event"] == "reconcile_completed");
    assert_eq!(completed["command_id"], applied["command_id"]);
    assert_eq!(
        get(&studio, "/api/status", "X-Studio-Token: {token}\r\n").json()["state"],
        "ready"
    );

    // The plan was for an older generation now.
    let again = post(
        &studio,
        "/api/reconcile_apply",
        &json!({ "plan_id": plan["plan_id"], "action_ids": [action] }),
    );
    assert_eq!(again.status, 409);
    assert_eq!(again.json()["error"]["code"], "stale_request");
    let bad = post(
        &studio,
        "/api/reconcile_apply",
        &json!({ "plan_id": plan["plan_id"], "actions": [1] }),
    );
    assert_eq!(bad.json()["error"]["code"], "invalid_params");
    studio.shutdown();
}

#[test]
fn the_journal_holds_every_event_published_before_it_is_read() {
    let project = project();
    let container = Container::new(ContainerConfig::default()).boot();
    let host =
        PackerHost::bootstrap(&container, project.path(), ObserverConfig::default()).unwrap();
    let workspace = AssetsWorkspace::new(&container, &host).unwrap();
    for round in 0..50 {
        let outcome = host
            .runtime()
            .submit(WriteRequest {
                command: Command::SetIncluded {
                    asset: AssetQuery::Id(AssetId(2)),
                    included: round % 2 == 1,
                },
                expected_generation: None,
            })
            .unwrap();
        // Published before `submit` returned: the journal has it, whatever its thread
        // has done so far.
        let journal = workspace.journal_after(0);
        assert!(
            journal.iter().any(|e| matches!(
                e.event,
                Event::SnapshotCommitted { command_id, .. } if command_id == outcome.command_id
            )),
            "round {round}: {journal:?}"
        );
        let numbers: Vec<u64> = journal.iter().map(|e| e.seq).collect();
        assert!(numbers.windows(2).all(|w| w[0] + 1 == w[1]), "{numbers:?}");
    }
    assert_eq!(workspace.journal().missed, 0);
    workspace.shutdown();
    host.shutdown();
}

#[test]
fn a_build_writes_the_pack_and_reports_its_progress_as_events() {
    let project = project();
    let studio = start(&project);
    let mut events = open_events(&studio, None);
    let refused = post(&studio, "/api/build", &json!({ "out": "/tmp/elsewhere" }));
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["error"]["code"], "invalid_params");

    let answer = post(&studio, "/api/build", &json!({}));
    assert_eq!(answer.status, 200, "{answer:?}");
    let report = answer.json();
    assert_eq!(report["generation"], 1);
    assert_eq!(report["assets"], 2);
    assert_eq!(report["pack"], "build/assets.pak");
    let pack = std::fs::metadata(project.path().join("build/assets.pak")).unwrap();
    assert_eq!(json!(pack.len()), report["bytes"]);

    let (_, started) = next_event(&mut events, |e| e["event"] == "build_started");
    let (_, progress) = next_event(&mut events, |e| e["event"] == "build_progress");
    let (_, completed) = next_event(&mut events, |e| e["event"] == "build_completed");
    assert_eq!(started["command_id"], completed["command_id"]);
    assert_eq!(progress["command_id"], completed["command_id"]);
    assert_eq!(progress["total"], 2);
    assert_eq!(completed["bytes"], report["bytes"]);
    studio.shutdown();
}

#[test]
fn a_registry_that_never_read_has_no_asset_list_and_no_plan() {
    let project = project();
    std::fs::write(
        project.path().join("assets/.prometeu/index.json"),
        "{ \"schema_version\": 1,\n",
    )
    .unwrap();
    let studio = start(&project);
    let status = get(&studio, "/api/status", "X-Studio-Token: {token}\r\n");
    assert_eq!(status.json()["state"], "failed", "{status:?}");
    // No registry means no list and no plan, not empty ones: as `serve --stdio`.
    for path in ["/api/list_assets", "/api/reconcile_plan"] {
        let answer = get(&studio, path, "X-Studio-Token: {token}\r\n");
        assert_eq!(answer.status, 503, "{path}: {answer:?}");
        assert_eq!(answer.json()["error"]["code"], "failed_state", "{path}");
    }
    studio.shutdown();
}

#[test]
fn an_asset_param_reads_as_under_stdio() {
    let project = project();
    let studio = start(&project);
    let set = |asset: Value| {
        post(
            &studio,
            "/api/set_included",
            &json!({ "asset": asset, "included": true }),
        )
    };
    // A string is an asset uuid or a root, never an asset id: no asset lives at `1`.
    let by_text = set(json!("1"));
    assert_eq!(by_text.status, 404, "{by_text:?}");
    assert_eq!(by_text.json()["error"]["code"], "not_found");
    assert_eq!(set(json!(1)).status, 200);
    assert_eq!(set(json!("sprites/hero")).status, 200);
    assert_eq!(set(json!(U1)).status, 200);
    for (asset, says) in [
        (
            json!(-1),
            "`asset`: -1 is not an asset id (a whole number from 1)",
        ),
        (
            json!(1.5),
            "`asset`: 1.5 is not an asset id (a whole number from 1)",
        ),
        (
            json!(true),
            "`asset`: expected an asset id (a number) or an asset uuid or root (a string), not a boolean",
        ),
        (
            json!("../x"),
            "`asset`: `../x` is neither an asset uuid nor a valid root",
        ),
    ] {
        let answer = set(asset.clone());
        assert_eq!(answer.status, 400, "{asset}: {answer:?}");
        let error = &answer.json()["error"];
        assert_eq!(error["code"], "invalid_params", "{asset}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(says), "{asset}: {message}");
    }
    studio.shutdown();
}
