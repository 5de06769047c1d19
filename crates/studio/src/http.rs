//! Just enough HTTP/1.1 for a local page: one request per connection, read with
//! `httparse` under size limits, answered with a complete response and `Connection:
//! close`. Bodies need `Content-Length`; nothing here allocates more than the limits say.

use std::io::{self, Read, Write};

/// The request line and headers may take this much; more is refused.
pub const MAX_HEAD: usize = 16 << 10;
/// A request body (the API's JSON parameters) may take this much.
pub const MAX_BODY: usize = 1 << 20;
const MAX_HEADERS: usize = 64;
/// Headers a request may carry at most once.
const SINGLE_HEADERS: [&str; 5] = [
    "host",
    "origin",
    crate::guard::TOKEN_HEADER,
    "content-length",
    "transfer-encoding",
];

/// One parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The path without its query, percent-decoded.
    pub path: String,
    /// The query's `name=value` pairs, percent-decoded.
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first query parameter called `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why no request could be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The peer closed the connection before sending anything.
    #[error("the connection closed before a request")]
    Closed,
    #[error("reading the request: {0}")]
    Io(#[from] io::Error),
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("the request is larger than allowed")]
    TooLarge,
}

impl ReadError {
    /// The status to answer with, when there is still someone to answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            ReadError::Closed | ReadError::Io(_) => None,
            ReadError::Malformed(_) => Some(400),
            ReadError::TooLarge => Some(413),
        }
    }
}

/// A request whose head was read and whose body (if any) is still to come.
#[derive(Debug)]
pub struct Head {
    pub request: Request,
    /// Bytes read past the head: the start of the body.
    rest: Vec<u8>,
}

/// Reads one request's head from `stream`: enough to decide whether to serve it
/// before reading a body.
pub fn read_head(stream: &mut impl Read) -> Result<Head, ReadError> {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let head_length = loop {
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            return Err(if buffer.is_empty() {
                ReadError::Closed
            } else {
                ReadError::Malformed("the connection closed inside the request head".to_owned())
            });
        }
        buffer.extend_from_slice(&chunk[..read]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(&buffer) {
            Ok(httparse::Status::Complete(length)) => break length,
            Ok(httparse::Status::Partial) if buffer.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) => return Err(ReadError::TooLarge),
            Err(e) => return Err(ReadError::Malformed(e.to_string())),
        }
    };
    if head_length > MAX_HEAD {
        return Err(ReadError::TooLarge);
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    parsed
        .parse(&buffer[..head_length])
        .map_err(|e| ReadError::Malformed(e.to_string()))?;
    let method = parsed.method.unwrap_or_default().to_owned();
    let target = parsed.path.unwrap_or_default();
    let headers = parsed
        .headers
        .iter()
        .map(|h| {
            let value = std::str::from_utf8(h.value)
                .map_err(|_| ReadError::Malformed(format!("header {} is not UTF-8", h.name)))?;
            Ok((h.name.to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect::<Result<Vec<_>, ReadError>>()?;
    // The guard and the body reader take the first of each; a second one, which no
    // browser sends, would leave the request meaning two things (RFC 9112 §3.2, §6.3).
    for name in SINGLE_HEADERS {
        if headers.iter().filter(|(n, _)| n == name).count() > 1 {
            return Err(ReadError::Malformed(format!("more than one {name} header")));
        }
    }
    let (raw_path, raw_query) = target.split_once('?').unwrap_or((target, ""));
    let path = percent_decode(raw_path, Plus::Literal)
        .ok_or_else(|| ReadError::Malformed(format!("bad escape in path {raw_path}")))?;
    let query = raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match (
                percent_decode(name, Plus::Space),
                percent_decode(value, Plus::Space),
            ) {
                (Some(name), Some(value)) => Ok((name, value)),
                _ => Err(ReadError::Malformed(format!("bad escape in query {pair}"))),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let request = Request {
        method,
        path,
        query,
        headers,
        body: Vec::new(),
    };
    Ok(Head {
        request,
        rest: buffer.split_off(head_length),
    })
}

impl Head {
    /// Reads the body `Content-Length` announced and gives the whole request.
    pub fn read_body(self, stream: &mut impl Read) -> Result<Request, ReadError> {
        let Head {
            mut request,
            mut rest,
        } = self;
        if request.header("transfer-encoding").is_some() {
            return Err(ReadError::Malformed(
                "chunked request bodies are not accepted; send Content-Length".to_owned(),
            ));
        }
        let length = match request.header("content-length") {
            None => 0,
            // `usize::from_str` takes a leading `+`, which HTTP does not.
            Some(text) => Some(text)
                .filter(|text| text.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|text| text.parse::<usize>().ok())
                .ok_or_else(|| ReadError::Malformed(format!("bad Content-Length {text}")))?,
        };
        if length > MAX_BODY {
            return Err(ReadError::TooLarge);
        }
        rest.truncate(length);
        if rest.len() < length {
            let start = rest.len();
            rest.resize(length, 0);
            stream.read_exact(&mut rest[start..])?;
        }
        request.body = rest;
        Ok(request)
    }
}

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    /// Headers this answer adds to those every answer carries (`Allow` on a 405).
    pub headers: Vec<(&'static str, &'static str)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            content_type,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// `value` as JSON.
    pub fn json(status: u16, value: &impl serde::Serialize) -> Response {
        match serde_json::to_vec(value) {
            Ok(body) => Response::new(status, "application/json", body),
            Err(e) => Response::text(500, &format!("cannot encode the answer: {e}")),
        }
    }

    /// A short message for people.
    pub fn text(status: u16, message: &str) -> Response {
        Response::new(status, "text/plain; charset=utf-8", format!("{message}\n"))
    }

    /// Writes the whole response; the connection closes after it.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        let mut head = status_line(self.status);
        head.push_str(&format!(
            "Content-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.content_type,
            self.body.len()
        ));
        for (name, value) in COMMON_HEADERS.iter().chain(&self.headers) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        out.write_all(head.as_bytes())?;
        out.write_all(&self.body)?;
        out.flush()
    }
}

/// The head of a server-sent event stream, which then stays open.
pub fn write_event_stream_head(out: &mut impl Write) -> io::Result<()> {
    let mut head = status_line(200);
    head.push_str("Content-Type: text/event-stream\r\nConnection: close\r\n");
    for (name, value) in COMMON_HEADERS {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    out.flush()
}

/// Sent with every answer: nothing is cached (answers carry a token-bearing page and
/// live state), nothing is sniffed, framed or leaks the token through a referrer.
const COMMON_HEADERS: [(&str, &str); 5] = [
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    ),
];

fn status_line(status: u16) -> String {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    };
    format!("HTTP/1.1 {status} {reason}\r\n")
}

/// What a `+` stands for: a space in a query (form encoding), itself in a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plus {
    Space,
    Literal,
}

/// `%XX` escapes decoded, and `+` as `plus` says; `None` for a broken escape or bytes
/// that are not UTF-8.
fn percent_decode(text: &str, plus: Plus) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'%' => {
                // Two hex digits, as RFC 3986 writes an escape (no sign, unlike what
                // `from_str_radix` takes).
                let digit = |at: usize| char::from(*bytes.get(at)?).to_digit(16);
                let value = digit(i + 1)? * 16 + digit(i + 2)?;
                out.push(u8::try_from(value).ok()?);
                i += 3;
            }
            b'+' if plus == Plus::Space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `raw` and renders the request as `METHOD PATH [query] BODY`, or the error
    /// as `error: MESSAGE`; checks that the rendering contains `expected`.
    fn check(raw: &str, expected: &str) {
        let mut stream = raw.as_bytes();
        let got = match read_head(&mut stream).and_then(|head| head.read_body(&mut stream)) {
            Ok(r) => format!(
                "{} {} {:?} {}",
                r.method,
                r.path,
                r.query,
                String::from_utf8_lossy(&r.body)
            ),
            Err(error) => format!("error: {error}"),
        };
        assert!(got.contains(expected), "{got:?} lacks {expected:?}");
    }

    #[test]
    fn a_page_request_with_its_token() {
        check(
            "GET /?token=ab%2Fc+d HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n",
            r#"GET / [("token", "ab/c d")] "#,
        );
    }

    #[test]
    fn a_plus_is_a_space_in_the_query_only() {
        check(
            "GET /a+b%2B?q=a+b%2B HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n",
            r#"GET /a+b+ [("q", "a b+")] "#,
        );
    }

    #[test]
    fn a_post_with_a_body() {
        check(
            "POST /api/set_included HTTP/1.1\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
            r#"POST /api/set_included [] {"a":1}"#,
        );
    }

    #[test]
    fn refusals() {
        check("", "error: the connection closed before a request");
        check(
            "GET / HTTP/1.1\r\nHost",
            "error: malformed request: the connection closed inside",
        );
        check(
            "GET /%zz HTTP/1.1\r\n\r\n",
            "error: malformed request: bad escape",
        );
        check(
            "GET /a%+1 HTTP/1.1\r\n\r\n",
            "error: malformed request: bad escape",
        );
        check(
            "GET /?q=%+f HTTP/1.1\r\n\r\n",
            "error: malformed request: bad escape",
        );
        check(
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "error: malformed request: chunked",
        );
        check(
            &format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD)),
            "error: the request is larger than allowed",
        );
        check(
            &format!(
                "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
                MAX_BODY + 1
            ),
            "error: the request is larger than allowed",
        );
        for duplicated in ["Host", "Origin", "X-Studio-Token", "Content-Length"] {
            check(
                &format!("POST / HTTP/1.1\r\n{duplicated}: 1\r\n{duplicated}: 2\r\n\r\n"),
                &format!(
                    "error: malformed request: more than one {}",
                    duplicated.to_ascii_lowercase()
                ),
            );
        }
        check(
            "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n{",
            "error: malformed request: bad Content-Length +1",
        );
        check(
            "POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nshort",
            "error: reading the request",
        );
    }

    #[test]
    fn a_response_carries_its_length_and_closes() {
        let mut out = Vec::new();
        Response::text(403, "no")
            .write_to(&mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{text}");
        assert!(text.contains("Content-Length: 3\r\n"), "{text}");
        assert!(text.contains("Connection: close\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nno\n"), "{text}");
    }
}
