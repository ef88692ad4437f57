//! Tests for §4.1: the request the client writes and the checks it applies
//! to the server's response.

use super::*;
use crate::handshake::parse_request;

const MAX: usize = 8192;
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The server handshake of RFC 6455 §1.2.
const RFC_RESPONSE: &str = "HTTP/1.1 101 Switching Protocols\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
    Sec-WebSocket-Protocol: chat\r\n\
    \r\n";

fn offered() -> Vec<String> {
    vec!["chat".to_owned(), "superchat".to_owned()]
}

fn parse(s: &str) -> Result<Option<(Response, usize)>, HandshakeError> {
    parse_response(s.as_bytes(), KEY, &offered(), MAX)
}

#[test]
fn rfc_example_response() {
    let (resp, consumed) = parse(RFC_RESPONSE).unwrap().unwrap();
    assert_eq!(consumed, RFC_RESPONSE.len());
    assert_eq!(resp.status(), 101);
    assert_eq!(resp.protocol(), Some("chat"));
    assert_eq!(resp.extensions(), None);
    assert_eq!(
        resp.header("sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    assert_eq!(resp.headers().count(), 4);
}

#[test]
fn non_101_status() {
    let s = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(parse(s), Err(HandshakeError::UnexpectedStatus(200)));
    let s = "HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n";
    assert_eq!(parse(s), Err(HandshakeError::UnexpectedStatus(302)));
    let s = RFC_RESPONSE.replacen("HTTP/1.1", "HTTP/1.0", 1);
    assert!(matches!(parse(&s), Err(HandshakeError::BadResponse(_))));
}

#[test]
fn accept_value() {
    let wrong = RFC_RESPONSE.replace(
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOA=",
    );
    assert!(matches!(parse(&wrong), Err(HandshakeError::BadResponse(_))));
    let missing =
        RFC_RESPONSE.replace("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", "");
    assert!(matches!(
        parse(&missing),
        Err(HandshakeError::BadResponse(_))
    ));
    let twice = RFC_RESPONSE.replace(
        "Sec-WebSocket-Protocol",
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol",
    );
    assert!(matches!(parse(&twice), Err(HandshakeError::BadResponse(_))));
    // "ignoring any leading and trailing whitespace"
    let padded = RFC_RESPONSE.replace(
        ": s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        ":   s3pPLMBiTxaQ9kYGzzhZRbK+xOo=  ",
    );
    assert!(parse(&padded).unwrap().is_some());
    // Against another key, the RFC's accept value is wrong.
    let other = parse_response(
        RFC_RESPONSE.as_bytes(),
        "AAECAwQFBgcICQoLDA0ODw==",
        &offered(),
        MAX,
    );
    assert!(matches!(other, Err(HandshakeError::BadResponse(_))));
}

#[test]
fn upgrade_and_connection() {
    for (from, to) in [
        ("Upgrade: websocket\r\n", ""),
        ("Upgrade: websocket", "Upgrade: h2c"),
        ("Upgrade: websocket", "Upgrade: websocket, h2c"),
        ("Connection: Upgrade\r\n", ""),
        ("Connection: Upgrade", "Connection: keep-alive"),
    ] {
        let s = RFC_RESPONSE.replacen(from, to, 1);
        assert!(
            matches!(parse(&s), Err(HandshakeError::BadResponse(_))),
            "{to:?}"
        );
    }
    let case = RFC_RESPONSE
        .replacen("Upgrade: websocket", "upgrade: WebSocket", 1)
        .replacen("Connection: Upgrade", "CONNECTION: keep-alive, UPGRADE", 1);
    assert!(parse(&case).unwrap().is_some());
}

#[test]
fn subprotocol_selection() {
    let absent = RFC_RESPONSE.replace("Sec-WebSocket-Protocol: chat\r\n", "");
    let (resp, _) = parse(&absent).unwrap().unwrap();
    assert_eq!(resp.protocol(), None);
    let superchat = RFC_RESPONSE.replace(": chat", ": superchat");
    assert_eq!(
        parse(&superchat).unwrap().unwrap().0.protocol(),
        Some("superchat")
    );
    for bad in [": other", ": Chat", ": chat, superchat", ": "] {
        let s = RFC_RESPONSE.replace(": chat", bad);
        assert!(
            matches!(parse(&s), Err(HandshakeError::BadResponse(_))),
            "{bad:?}"
        );
    }
    // Nothing offered, something selected.
    let none = parse_response(RFC_RESPONSE.as_bytes(), KEY, &[], MAX);
    assert!(matches!(none, Err(HandshakeError::BadResponse(_))));
    let twice = RFC_RESPONSE.replace(
        "Sec-WebSocket-Protocol: chat\r\n",
        "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n",
    );
    assert!(matches!(parse(&twice), Err(HandshakeError::BadResponse(_))));
}

#[test]
fn extensions_are_refused() {
    let ext = RFC_RESPONSE.replace(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
    );
    assert!(matches!(parse(&ext), Err(HandshakeError::BadResponse(_))));
    let empty = RFC_RESPONSE.replace("\r\n\r\n", "\r\nSec-WebSocket-Extensions: \r\n\r\n");
    assert_eq!(parse(&empty).unwrap().unwrap().0.extensions(), Some(""));
}

#[test]
fn split_at_every_offset_and_trailing_frames() {
    let mut bytes = RFC_RESPONSE.as_bytes().to_vec();
    for cut in 0..bytes.len() {
        assert_eq!(
            parse_response(&bytes[..cut], KEY, &offered(), MAX),
            Ok(None),
            "cut {cut}"
        );
    }
    let whole = parse(RFC_RESPONSE).unwrap().unwrap();
    bytes.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
    assert_eq!(
        parse_response(&bytes, KEY, &offered(), MAX),
        Ok(Some(whole))
    );
}

#[test]
fn response_head_limit() {
    let len = RFC_RESPONSE.len();
    assert!(
        parse_response(RFC_RESPONSE.as_bytes(), KEY, &offered(), len)
            .unwrap()
            .is_some()
    );
    assert_eq!(
        parse_response(RFC_RESPONSE.as_bytes(), KEY, &offered(), len - 1),
        Err(HandshakeError::HeadTooLarge)
    );
    assert_eq!(
        parse_response(b"HTTP/1.1 101 OK\r\nX: 1234567890", KEY, &offered(), 20),
        Err(HandshakeError::HeadTooLarge)
    );
    assert!(matches!(
        parse_response(b"HTTP/1.1 1x1 OK\r\n\r\n", KEY, &offered(), MAX),
        Err(HandshakeError::MalformedHttp(_))
    ));
}

#[test]
fn request_matches_rfc_example() {
    let mut req = ClientRequest::new("server.example.com", "/chat");
    req.protocols = offered();
    req.origin = Some("http://example.com".to_owned());
    let mut out = Vec::new();
    write_client_request(&mut out, &req, KEY);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "GET /chat HTTP/1.1\r\n\
         Host: server.example.com\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: chat, superchat\r\n\
         Origin: http://example.com\r\n\
         \r\n"
    );
}

#[test]
fn encode_key_matches_rfc_note() {
    // §4.1 item 7's NOTE gives "AQIDBAUGBwgJCgsMDQ4PEC==", whose last
    // character carries non-zero padding bits; canonical base64 ends in "A==".
    let nonce: [u8; 16] = core::array::from_fn(|i| i as u8 + 1);
    assert_eq!(encode_key(&nonce), "AQIDBAUGBwgJCgsMDQ4PEA==");
    assert_eq!(encode_key(&[0; 16]).len(), 24);
}

#[test]
fn request_defaults_and_from_uri() {
    assert_eq!(ClientRequest::new("h", "").path, "/");
    let uri = WsUri::parse("wss://Example.com:8443/a?b=c").unwrap();
    let req = ClientRequest::from_uri(&uri);
    assert_eq!(req.host, "example.com:8443");
    assert_eq!(req.path, "/a?b=c");
    let mut out = Vec::new();
    write_client_request(
        &mut out,
        &ClientRequest {
            path: String::new(),
            ..req
        },
        KEY,
    );
    assert!(out.starts_with(b"GET / HTTP/1.1\r\nHost: example.com:8443\r\n"));
}

#[test]
fn request_cannot_be_hijacked_by_caller_values() {
    let req = ClientRequest {
        host: "h\r\nX-Injected: 1".to_owned(),
        path: "/a b\r\nX-Injected: 2#x".to_owned(),
        protocols: vec![
            "ok".to_owned(),
            "bad\r\nX-Injected: 3".to_owned(),
            String::new(),
        ],
        origin: Some("http://o\r\nX-Injected: 4".to_owned()),
        headers: vec![
            ("Host".to_owned(), "evil".to_owned()),
            ("sec-websocket-key".to_owned(), "evil".to_owned()),
            ("Sec-WebSocket-Version".to_owned(), "8".to_owned()),
            ("Connection".to_owned(), "close".to_owned()),
            ("Content-Length".to_owned(), "4".to_owned()),
            ("X-Ok".to_owned(), "yes".to_owned()),
            ("X-Bad".to_owned(), "a\nX-Injected: 5".to_owned()),
            ("X-Bad\r\nX-Injected".to_owned(), "6".to_owned()),
            (
                "Origin".to_owned(),
                "http://allowed-when-no-origin".to_owned(),
            ),
        ],
    };
    let mut out = Vec::new();
    write_client_request(&mut out, &req, KEY);
    let (parsed, consumed) = parse_request(&out, MAX).unwrap().unwrap();
    assert_eq!(consumed, out.len());
    assert!(parsed.is_websocket());
    assert_eq!(parsed.target(), "/a%20b%0D%0AX-Injected:%202%23x");
    assert_eq!(parsed.host(), Some("hX-Injected:1"));
    assert_eq!(parsed.key(), Some(KEY));
    assert_eq!(parsed.protocols(), ["ok"]);
    // The unsafe origin was skipped, so the caller's own Origin header stands.
    assert_eq!(parsed.origin(), Some("http://allowed-when-no-origin"));
    assert_eq!(parsed.header("x-ok"), Some("yes"));
    assert!(parsed
        .headers()
        .all(|(name, _)| !name.eq_ignore_ascii_case("x-injected")));
    assert_eq!(parsed.header("sec-websocket-version"), Some("13"));
    assert_eq!(parsed.header("connection"), Some("Upgrade"));
    let hosts = parsed
        .headers()
        .filter(|(n, _)| n.eq_ignore_ascii_case("host"));
    assert_eq!(hosts.count(), 1);
    assert_eq!(parsed.header("content-length"), None);

    // A key with a line break cannot inject either: it is written without it.
    let mut out = Vec::new();
    write_client_request(
        &mut out,
        &ClientRequest::new("h", "/"),
        "abc\r\nX-Injected: 7",
    );
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("Sec-WebSocket-Key: abcX-Injected:7\r\n"));
    assert_eq!(text.matches("\r\n").count(), 7);
}

#[test]
fn origin_header_not_duplicated() {
    let mut req = ClientRequest::new("h", "/");
    req.origin = Some("http://a".to_owned());
    req.headers
        .push(("origin".to_owned(), "http://b".to_owned()));
    let mut out = Vec::new();
    write_client_request(&mut out, &req, KEY);
    let (parsed, _) = parse_request(&out, MAX).unwrap().unwrap();
    assert_eq!(parsed.origin(), Some("http://a"));
    let origins = parsed
        .headers()
        .filter(|(n, _)| n.eq_ignore_ascii_case("origin"));
    assert_eq!(origins.count(), 1);
}
