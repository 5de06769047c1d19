//! The Assets Workspace page: plain HTML, CSS and JavaScript embedded in the binary, no
//! build step. The page's own requests carry the token, so the HTML is served with it
//! written into the addresses of its script and style sheet.

use crate::guard::Token;
use crate::http::Response;

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/style.css");

/// Where `index.html` wants the token.
const TOKEN_PLACEHOLDER: &str = "{{token}}";

pub fn index(token: &Token) -> Response {
    // The token is hexadecimal: it needs no escaping in an attribute.
    let html = INDEX.replace(TOKEN_PLACEHOLDER, token.as_str());
    Response::new(200, "text/html; charset=utf-8", html)
}

pub fn script() -> Response {
    Response::new(200, "text/javascript; charset=utf-8", SCRIPT)
}

pub fn style() -> Response {
    Response::new(200, "text/css; charset=utf-8", STYLE)
}
