//! Studio at its edges, as a careless or hostile client finds them: methods a path does
//! not take, writes the runtime refuses, requests sent a byte at a time, event streams
//! whose pages went away.

use crate::studio::{check, exchange, project, start};

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
