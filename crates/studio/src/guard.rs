//! Who may talk to the Studio server. It listens on 127.0.0.1 only, and that is not
//! enough: any web page the user opens can make the browser send requests to a local
//! port, and a DNS name re-pointed at 127.0.0.1 makes them same-origin. So a request
//! must name this server in `Host` (defeats DNS rebinding), must not come from a
//! foreign `Origin` (defeats cross-site requests), and must carry the random token
//! printed at start (defeats everything that cannot read the terminal).

use crate::http::Request;

/// The header an API call may carry the token in; the page itself, the event stream
/// and images carry it in the `token` query parameter.
pub const TOKEN_HEADER: &str = "x-studio-token";

/// The secret a request must carry: 122 random bits (a v4 UUID from the operating
/// system's random source), in hexadecimal.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

/// Why a request was turned away (all answered with 403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Host,
    Origin,
    Token,
}

impl Token {
    pub fn generate() -> Token {
        Token(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares in time that does not depend on where `candidate` first differs.
    fn matches(&self, candidate: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), candidate.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Logs and panics must not carry the secret.
        f.write_str("Token(..)")
    }
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Host => {
                "forbidden: the Host header must be 127.0.0.1:PORT or localhost:PORT of this Studio"
            }
            Refusal::Origin => "forbidden: requests from another origin are refused",
            Refusal::Token => {
                "forbidden: a valid token is required; open the URL Studio printed at start"
            }
        }
    }
}

/// Lets `request` through, or says why not.
pub fn check(request: &Request, port: u16, token: &Token) -> Result<(), Refusal> {
    let host = request.header("host").ok_or(Refusal::Host)?;
    if !is_this_server(host, port) {
        return Err(Refusal::Host);
    }
    if let Some(origin) = request.header("origin") {
        let local = origin
            .strip_prefix("http://")
            .is_some_and(|authority| is_this_server(authority, port));
        if !local {
            return Err(Refusal::Origin);
        }
    }
    let offered = request
        .header(TOKEN_HEADER)
        .or_else(|| request.query("token"))
        .ok_or(Refusal::Token)?;
    if !token.matches(offered) {
        return Err(Refusal::Token);
    }
    Ok(())
}

/// `authority` is `127.0.0.1:PORT` or `localhost:PORT` for this server's port.
fn is_this_server(authority: &str, port: u16) -> bool {
    let Some((name, given)) = authority.rsplit_once(':') else {
        return false;
    };
    given == port.to_string() && (name == "127.0.0.1" || name.eq_ignore_ascii_case("localhost"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORT: u16 = 4321;

    fn check_request(
        headers: &[(&str, &str)],
        query: &[(&str, &str)],
        expected: Result<(), Refusal>,
    ) {
        let token = Token("0123456789abcdef0123456789abcdef".to_owned());
        let request = Request {
            method: "GET".to_owned(),
            path: "/".to_owned(),
            query: query
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: Vec::new(),
        };
        assert_eq!(
            check(&request, PORT, &token),
            expected,
            "{headers:?} {query:?}"
        );
    }

    const GOOD: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn the_token_in_the_query_or_the_header() {
        check_request(&[("host", "127.0.0.1:4321")], &[("token", GOOD)], Ok(()));
        check_request(
            &[("host", "localhost:4321"), (TOKEN_HEADER, GOOD)],
            &[],
            Ok(()),
        );
        check_request(
            &[
                ("host", "LOCALHOST:4321"),
                ("origin", "http://127.0.0.1:4321"),
            ],
            &[("token", GOOD)],
            Ok(()),
        );
    }

    #[test]
    fn a_missing_or_wrong_token() {
        check_request(&[("host", "127.0.0.1:4321")], &[], Err(Refusal::Token));
        check_request(
            &[("host", "127.0.0.1:4321")],
            &[("token", "0123456789abcdef0123456789abcdee")],
            Err(Refusal::Token),
        );
        check_request(
            &[("host", "127.0.0.1:4321")],
            &[("token", "")],
            Err(Refusal::Token),
        );
    }

    #[test]
    fn a_foreign_or_missing_host() {
        for host in [
            "evil.example:4321",
            "127.0.0.1:80",
            "127.0.0.1",
            "127.0.0.1.evil.example:4321",
            "",
        ] {
            check_request(&[("host", host)], &[("token", GOOD)], Err(Refusal::Host));
        }
        check_request(&[], &[("token", GOOD)], Err(Refusal::Host));
    }

    #[test]
    fn a_foreign_origin() {
        for origin in [
            "http://evil.example",
            "https://127.0.0.1:4321",
            "http://127.0.0.1:9999",
            "null",
        ] {
            check_request(
                &[("host", "127.0.0.1:4321"), ("origin", origin)],
                &[("token", GOOD)],
                Err(Refusal::Origin),
            );
        }
    }

    #[test]
    fn tokens_are_fresh_and_hidden_from_debug() {
        let (a, b) = (Token::generate(), Token::generate());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(!format!("{a:?}").contains(a.as_str()));
    }
}
