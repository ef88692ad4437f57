//! Reading a credential from an upgrade request, for a
//! [`Handler::on_request`](crate::Handler::on_request) that authenticates.
//!
//! The library cannot know what a valid token is, so authentication is the
//! handler's: it reads a token with one of these helpers, checks it, and
//! answers [`Decision::unauthorized`](crate::Decision::unauthorized) (401
//! with `WWW-Authenticate`, RFC 7235 §3.1) or
//! [`Decision::forbidden`](crate::Decision::forbidden) (403) before the
//! upgrade. The library counts those answers in
//! [`Refusals::auth_failed`](crate::Refusals::auth_failed) and logs them;
//! the handler keeps the identity of an accepted connection in its own
//! `HashMap<ConnId, Identity>` (see [`Handler`](crate::Handler),
//! "Per-connection state", and `examples/token_auth.rs`).
//!
//! # Three places a token can travel
//!
//! - [`bearer`]: `Authorization: Bearer <token>` (RFC 6750 §2.1). What
//!   programs use (`ws6455 connect --header 'Authorization: Bearer T'`).
//!   A browser page cannot set it: `new WebSocket()` takes no headers.
//! - [`query`]: `ws://host/path?token=<token>`. Works everywhere, but the
//!   URL ends up in proxy logs and browser history (RFC 6750 §2.3 says
//!   as much): supported, not recommended.
//! - [`subprotocol`]: `Sec-WebSocket-Protocol`, the one per-socket value a
//!   page can choose besides the URL (cookies are what cross-site
//!   hijacking rides on, RFC 6455 §10.2). The convention here: the page
//!   offers a real subprotocol **and** one entry made of a prefix and the
//!   token, e.g.
//!   `new WebSocket(url, ["ws6455.chat", "ws6455.token." + token])`.
//!
//! # The subprotocol convention, and why
//!
//! Each offered subprotocol must be an HTTP `token` (RFC 6455 §4.1 item 10,
//! RFC 2616 §2.2): visible ASCII without separators, so no `=`, `/`, `:`,
//! `,` or spaces. Base64url without padding or hex fit; the request parser
//! refuses anything else with 400 before the handler runs.
//!
//! The server must answer with one of the offered protocols (§4.2.2), and
//! Chromium fails a 101 that names none when the page offered some. It must
//! **never** answer with the token entry: that would echo the secret back
//! in the response, into every log that records headers. So a page offers
//! the token entry beside a real protocol, and the server accepts with the
//! real one (`Decision::accept_protocol("ws6455.chat")`);
//! a request that offered only the token entry has nothing honest to
//! accept and should be refused (400). [`subprotocol`] returns just the
//! token; [`Request::choose_subprotocol`] over the server's own list never
//! picks the token entry, because no server lists it.

use std::borrow::Cow;

use crate::proto::handshake::Request;

/// The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1;
/// the scheme compares case-insensitively, RFC 7235 §2.1), or `None` if
/// there is none, the scheme is another, or the token is empty.
pub fn bearer(request: &Request) -> Option<&str> {
    let value = request.header("Authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The value of query parameter `name` in the request target
/// (`/chat?token=abc` → `abc`), percent-decoded (RFC 3986 §2.1, `+` as a
/// space as in forms); the first one if repeated. `None` if absent, empty,
/// or not UTF-8 once decoded.
pub fn query<'r>(request: &'r Request, name: &str) -> Option<Cow<'r, str>> {
    query_param(request.query()?, name)
}

/// [`query`] over a raw query string (what follows the `?`).
fn query_param<'q>(query: &'q str, name: &str) -> Option<Cow<'q, str>> {
    let value = query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)?;
    let value = percent_decode(value)?;
    (!value.is_empty()).then_some(value)
}

/// Percent-decoding (RFC 3986 §2.1) plus `+` → space; `None` on a broken
/// escape or bytes that are not UTF-8.
fn percent_decode(raw: &str) -> Option<Cow<'_, str>> {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return Some(Cow::Borrowed(raw));
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'%' => {
                let hi = hex(bytes.next()?)?;
                let lo = hex(bytes.next()?)?;
                out.push(hi << 4 | lo);
            }
            b'+' => out.push(b' '),
            other => out.push(other),
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// The token carried in `Sec-WebSocket-Protocol` by the convention above:
/// the first offered protocol that starts with `prefix` (e.g.
/// `"ws6455.token."`), without the prefix. `None` if no offer has the
/// prefix or the rest is empty. Never accept with the entry this came from.
pub fn subprotocol<'r>(request: &'r Request, prefix: &str) -> Option<&'r str> {
    request
        .protocols()
        .iter()
        .find_map(|p| p.strip_prefix(prefix))
        .filter(|token| !token.is_empty())
}

/// Whether `a` and `b` are equal, in a time that depends on their lengths
/// only, not on where they first differ: comparing a secret with `==`
/// tells a patient attacker, byte by byte, how much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::handshake::parse_request;

    fn request(target: &str, extra: &str) -> Request {
        let text = format!(
            "GET {target} HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
        );
        match parse_request(text.as_bytes(), 8192) {
            Ok(Some((value, _))) => value,
            other => panic!("test request did not parse: {other:?}"),
        }
    }

    #[test]
    fn bearer_reads_the_authorization_header() {
        let r = request("/", "Authorization: Bearer s3cr3t\r\n");
        assert_eq!(bearer(&r), Some("s3cr3t"));
        let r = request("/", "authorization: bEaReR   abc \r\n");
        assert_eq!(bearer(&r), Some("abc"));
        assert_eq!(bearer(&request("/", "Authorization: Basic YTpi\r\n")), None);
        assert_eq!(bearer(&request("/", "Authorization: Bearer\r\n")), None);
        assert_eq!(bearer(&request("/", "Authorization: Bearer  \r\n")), None);
        assert_eq!(bearer(&request("/", "")), None);
    }

    #[test]
    fn query_finds_and_decodes_the_parameter() {
        let r = request("/chat?room=a&token=s3cr3t&x", "");
        assert_eq!(query(&r, "token").as_deref(), Some("s3cr3t"));
        assert_eq!(query(&r, "x"), None, "present but empty");
        assert_eq!(query(&r, "nope"), None);
        assert_eq!(query(&request("/chat", ""), "token"), None);
        let r = request("/?token=a%2Bb%3D+c", "");
        assert_eq!(query(&r, "token").as_deref(), Some("a+b= c"));
        assert_eq!(query(&request("/?token=%zz", ""), "token"), None);
        assert_eq!(query(&request("/?token=%f", ""), "token"), None);
        assert_eq!(query(&request("/?token=%ff", ""), "token"), None);
        let r = request("/?tokens=no&token=yes&token=later", "");
        assert_eq!(query(&r, "token").as_deref(), Some("yes"));
    }

    #[test]
    fn subprotocol_returns_the_token_without_its_prefix() {
        let r = request(
            "/",
            "Sec-WebSocket-Protocol: ws6455.chat, ws6455.token.AbC-_09\r\n",
        );
        assert_eq!(subprotocol(&r, "ws6455.token."), Some("AbC-_09"));
        // The server's own list never contains the token entry.
        assert_eq!(r.choose_subprotocol(&["ws6455.chat"]), Some("ws6455.chat"));
        let r = request("/", "Sec-WebSocket-Protocol: ws6455.token.\r\n");
        assert_eq!(subprotocol(&r, "ws6455.token."), None);
        let r = request("/", "Sec-WebSocket-Protocol: ws6455.chat\r\n");
        assert_eq!(subprotocol(&r, "ws6455.token."), None);
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
