//! Studio at its edges, as a careless or hostile client finds them: methods a path does
//! not take, writes the runtime refuses, requests sent a byte at a time, event streams
//! whose pages went away.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use packer_app::error::ErrorCode;
use packer_app::observer::ObserverConfig;
use serde_json::{Value, json};
use studio::container::{Container, ContainerConfig};
use studio::packer::PackerHost;
use studio::server::ServerConfig;
use studio::workspace::AssetsWorkspace;
use studio::{Studio, StudioConfig};
use tempfile::TempDir;

use crate::cli::hero_and_jump;
use crate::serve::Session;
use crate::studio::{
    DEADLINE, check, connect, exchange, next_event, open_events, post, project, start,
};

#[test]
fn a_wrong_method_is_told_which_one_the_path_takes() {
    let project = project();
    let studio = start(&project);
    for (method, target, allowed) in [
        ("GET", "/api/set_included", "POST"),
        ("GET", "/api/build", "POST"),
        ("POST", "/api/status", "GET"),
        ("HEAD", "/api/list_assets", "GET"),
        ("OPTIONS", "/api/shutdown", "POST"),
        ("DELETE", "/", "GET"),
        ("POST", "/api/thumbnail/1", "GET"),
    ] {
        let answer = exchange(
            &studio,
            &format!(
                "{method} {target} HTTP/1.1\r\nHost: {{addr}}\r\nX-Studio-Token: {{token}}\r\nContent-Length: 0\r\n\r\n"
            ),
        );
        assert_eq!(answer.status, 405, "{method} {target}: {answer:?}");
        assert!(
            answer.head.contains(&format!("\r\nAllow: {allowed}")),
            "{method} {target}: {}",
            answer.head
        );
    }
    check(
        &studio,
        "PUT /api/nothing HTTP/1.1\r\nHost: {addr}\r\nX-Studio-Token: {token}\r\n\r\n",
        404,
        "unknown_method",
    );
    studio.shutdown();
}

#[test]
fn a_write_for_an_asset_that_is_not_there_is_refused_by_the_writer_lane() {
    let project = project();
    let studio = start(&project);
    let mut events = open_events(&studio, None);
    next_event(&mut events, |e| e["event"] == "runtime_started");
    let refused = post(
        &studio,
        "/api/set_included",
        &json!({ "asset": 9, "included": false }),
    );
    assert_eq!(refused.status, 404, "{refused:?}");
    let error = &refused.json()["error"];
    assert_eq!(error["code"], "not_found");
    // As under `serve --stdio`: the refusal names its command, and the page's event log
    // shows it next to the click.
    let command_id = &error["detail"]["command_id"];
    assert!(command_id.is_u64(), "{error}");
    let (_, rejected) = next_event(&mut events, |e| e["event"] == "write_rejected");
    assert_eq!(&rejected["command_id"], command_id);
    assert!(
        rejected["detail"].as_str().unwrap().contains("asset id 9"),
        "{rejected}"
    );
    studio.shutdown();
}

/// Studio on the fixture project with `server`'s settings.
fn start_with(project: &TempDir, server: ServerConfig) -> Studio {
    Studio::start(StudioConfig {
        project: project.path().to_path_buf(),
        container: ContainerConfig::default(),
        observer: ObserverConfig::default(),
        server,
    })
    .unwrap()
}

/// Whether the server has closed `stream`, waiting up to `wait` for it to.
fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    match stream.read(&mut [0u8; 256]) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

#[test]
fn a_request_that_trickles_in_is_cut_off_at_its_deadline() {
    let project = project();
    let studio = start_with(
        &project,
        ServerConfig {
            request_timeout: Duration::from_millis(300),
            ..ServerConfig::default()
        },
    );
    let mut stream = connect(studio.addr());
    stream
        .write_all(b"GET /api/status HTTP/1.1\r\nX-Pad: ")
        .unwrap();
    // One byte at a time, far more often than any per-read timeout, for as long as the
    // server keeps the connection: it must close it once the request's time is up.
    let deadline = Instant::now() + DEADLINE;
    loop {
        assert!(
            Instant::now() < deadline,
            "the trickling connection was never closed"
        );
        if stream.write_all(b"a").is_err() || closed_within(&mut stream, Duration::from_millis(20))
        {
            break;
        }
    }
    // The server still answers everyone else.
    check(
        &studio,
        "GET /api/status HTTP/1.1\r\nHost: {addr}\r\nX-Studio-Token: {token}\r\n\r\n",
        200,
        "\"state\":\"ready\"",
    );
    studio.shutdown();
}

/// The status of a `GET /api/status` with the token, or `None` when the connection
/// broke (a server at its limit answers 503 without reading the request).
fn status_code(studio: &Studio) -> Option<u16> {
    let mut stream = TcpStream::connect(studio.addr()).ok()?;
    stream.set_read_timeout(Some(DEADLINE)).ok()?;
    let request = format!(
        "GET /api/status HTTP/1.1\r\nHost: {}\r\nX-Studio-Token: {}\r\n\r\n",
        studio.addr(),
        studio.token().as_str()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

#[test]
fn event_streams_whose_pages_went_away_free_their_connections() {
    let project = project();
    // No heartbeat in the test's time: only the hang-up itself can end a stream.
    let studio = start_with(
        &project,
        ServerConfig {
            heartbeat: Duration::from_secs(3600),
            ..ServerConfig::default()
        },
    );
    // Pages that open their stream and go away, more of them than the server serves
    // connections at once.
    for _ in 0..studio::server::MAX_CONNECTIONS {
        let mut events = open_events(&studio, None);
        next_event(&mut events, |e| e["event"] == "runtime_started");
    }
    let deadline = Instant::now() + DEADLINE;
    while status_code(&studio) != Some(200) {
        assert!(
            Instant::now() < deadline,
            "the streams of pages that went away still hold their connections"
        );
    }
    studio.shutdown();
}

#[test]
fn bad_parameters_are_refused_in_the_words_of_serve_stdio() {
    let project = hero_and_jump("sprites/hero", &[]);
    let studio = start_with(&project.dir, ServerConfig::default());
    let mut session = Session::start(&project);
    for (method, params) in [
        ("set_included", json!({})),
        ("set_included", json!({ "asset": 1 })),
        ("set_included", json!({ "asset": 1, "included": "yes" })),
        ("set_included", json!({ "asset": -1, "included": true })),
        ("set_included", json!({ "asset": "../x", "included": true })),
        (
            "set_included",
            json!({ "asset": 1, "included": true, "extra": 1 }),
        ),
        ("set_included", json!([])),
        ("reconcile_apply", json!({ "plan_id": 1 })),
        (
            "reconcile_apply",
            json!({ "plan_id": "1", "action_ids": [1] }),
        ),
        ("reconcile_apply", json!({ "plan_id": 1, "action_ids": [] })),
        ("build", json!({ "bogus": 1 })),
        ("check_divergence", json!({ "bogus": 1 })),
    ] {
        let expected = session.error(method, params.clone());
        let answer = post(&studio, &format!("/api/{method}"), &params);
        assert_eq!(answer.status, 400, "{method} {params}: {answer:?}");
        let got = &answer.json()["error"];
        for key in ["code", "message", "detail"] {
            assert_eq!(got[key], expected[key], "{method} {params}: {key}");
        }
    }
    session.call("shutdown", Value::Null);
    session.finish();
    // What only a body can say: a key given twice, and no JSON at all.
    for body in [r#"{"asset": 1, "asset": 2, "included": true}"#, "{bad"] {
        check(
            &studio,
            &format!(
                "POST /api/set_included HTTP/1.1\r\nHost: {{addr}}\r\nX-Studio-Token: {{token}}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
            400,
            "\"code\":\"parse_error\"",
        );
    }
    studio.shutdown();
}

#[test]
fn posts_without_parameters_must_still_be_json() {
    let project = project();
    let studio = start(&project);
    for path in ["/api/check_divergence", "/api/shutdown", "/api/build"] {
        check(
            &studio,
            &format!(
                "POST {path} HTTP/1.1\r\nHost: {{addr}}\r\nX-Studio-Token: {{token}}\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{{}}"
            ),
            400,
            "must be JSON",
        );
    }
    assert!(
        studio.stop_requests().try_recv().is_err(),
        "a text/plain post asked Studio to stop"
    );
    // An empty JSON body is `{}`.
    check(
        &studio,
        "POST /api/check_divergence HTTP/1.1\r\nHost: {addr}\r\nX-Studio-Token: {token}\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n",
        200,
        "\"state\":\"ready\"",
    );
    studio.shutdown();
}

#[test]
fn a_build_is_stopped_by_the_shutdown_instead_of_holding_it_up() {
    let project = project();
    let container = Container::new(ContainerConfig::default()).boot();
    let host =
        PackerHost::bootstrap(&container, project.path(), ObserverConfig::default()).unwrap();
    let workspace = AssetsWorkspace::new(&container, &host).unwrap();
    // What `Studio::shutdown` does first: a build running then stops at its next asset.
    workspace.stop_builds();
    let error = workspace.build().unwrap_err();
    assert_eq!(error.code, ErrorCode::Io, "{error:?}");
    assert!(error.message.contains("stopped"), "{error:?}");
    assert!(
        !project.path().join("build/assets.pak").exists(),
        "a stopped build wrote its pack"
    );
    workspace.shutdown();
    host.shutdown();
}
