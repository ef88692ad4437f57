//! Tests for §4.2.1: each rule of the server's reading of the request, with
//! the status it refuses a violation with.

use super::*;

const MAX: usize = 8192;

/// The client handshake of RFC 6455 §1.2.
const RFC_REQUEST: &str = "GET /chat HTTP/1.1\r\n\
    Host: server.example.com\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Origin: http://example.com\r\n\
    Sec-WebSocket-Protocol: chat, superchat\r\n\
    Sec-WebSocket-Version: 13\r\n\
    \r\n";

fn parse(s: &str) -> Result<Option<(Request, usize)>, HandshakeError> {
    parse_request(s.as_bytes(), MAX)
}

fn complete(s: &str) -> Request {
    match parse(s) {
        Ok(Some((req, consumed))) => {
            assert_eq!(consumed, s.len());
            req
        }
        other => panic!("expected a complete request, got {other:?}"),
    }
}

fn status(s: &str) -> u16 {
    match parse(s) {
        Err(e) => e.http_status(),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// A valid upgrade request without the header lines starting with one of
/// `remove`, and with the `extra` lines added.
fn variant(remove: &[&str], extra: &[&str]) -> String {
    let mut lines = vec![
        "GET /chat HTTP/1.1",
        "Host: server.example.com",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
    ];
    lines.retain(|l| !remove.iter().any(|r| l.starts_with(r)));
    lines.extend_from_slice(extra);
    let mut s = lines.join("\r\n");
    s.push_str("\r\n\r\n");
    s
}

#[test]
fn rfc_example_request() {
    let req = complete(RFC_REQUEST);
    assert!(req.is_websocket());
    assert_eq!(req.method(), "GET");
    assert_eq!(req.target(), "/chat");
    assert_eq!(req.path(), "/chat");
    assert_eq!(req.query(), None);
    assert_eq!(req.host(), Some("server.example.com"));
    assert_eq!(req.origin(), Some("http://example.com"));
    assert_eq!(req.key(), Some("dGhlIHNhbXBsZSBub25jZQ=="));
    assert_eq!(req.protocols(), ["chat", "superchat"]);
    assert_eq!(req.extensions(), None);
    assert_eq!(req.headers().count(), 7);
    assert_eq!(req.header("SEC-WEBSOCKET-VERSION"), Some("13"));
    assert_eq!(req.header("cookie"), None);
}

#[test]
fn keys() {
    let missing = variant(&["Sec-WebSocket-Key"], &[]);
    assert_eq!(status(&missing), 400);
    let duplicate = variant(&[], &["Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]);
    assert_eq!(status(&duplicate), 400);
    for bad in [
        "garbage!",
        "",
        "AAECAwQFBgcICQoLDA0O",         // 15 bytes, unpadded
        "AAECAwQFBgcICQoLDA0ODw",       // 16 bytes without padding
        "AAECAwQFBgcICQoLDA0O==",       // 22 chars: 15 bytes + padding
        "AAECAwQFBgcICQoLDA0ODxA=",     // 17 bytes
        "AAECAwQFBgcICQoLDA0ODxAR",     // 18 bytes
        "AAECAwQFBgcICQoLDA0ODw=a",     // padding in the middle
        "AAECAwQFBgcICQoLDA0ODw-_",     // URL-safe alphabet
        "AAECAwQFBgcICQoLDA0ODw==AAAA", // trailing data
    ] {
        let s = variant(
            &["Sec-WebSocket-Key"],
            &[&format!("Sec-WebSocket-Key: {bad}")],
        );
        assert_eq!(
            parse(&s),
            Err(HandshakeError::BadRequest(
                "Sec-WebSocket-Key must be base64 of 16 bytes (RFC 6455 §4.2.1)"
            )),
            "{bad:?}"
        );
    }
    // 16 bytes, canonical; and §4.1's own example with non-zero trailing bits.
    for good in ["AAECAwQFBgcICQoLDA0ODw==", "AQIDBAUGBwgJCgsMDQ4PEC=="] {
        let s = variant(
            &["Sec-WebSocket-Key"],
            &[&format!("Sec-WebSocket-Key:  {good} ")],
        );
        assert_eq!(complete(&s).key(), Some(good));
    }
}

#[test]
fn versions() {
    for v in ["8", "12", "14", "13, 8", "13 8", "", "013"] {
        let s = variant(
            &["Sec-WebSocket-Version"],
            &[&format!("Sec-WebSocket-Version: {v}")],
        );
        assert_eq!(parse(&s), Err(HandshakeError::UnsupportedVersion), "{v:?}");
    }
    let twice = variant(&[], &["Sec-WebSocket-Version: 13"]);
    assert_eq!(status(&twice), 426);
    let missing = variant(&["Sec-WebSocket-Version"], &[]);
    assert_eq!(status(&missing), 400);
}

#[test]
fn header_names_and_tokens_are_case_insensitive() {
    let lower = "GET / HTTP/1.1\r\nhost: h\r\nupgrade: websocket\r\nconnection: upgrade\r\n\
        sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n";
    assert!(complete(lower).is_websocket());
    let upper =
        "GET / HTTP/1.1\r\nHOST: h\r\nUPGRADE: WEBSOCKET\r\nCONNECTION: keep-alive, UPGRADE\r\n\
        SEC-WEBSOCKET-KEY: dGhlIHNhbXBsZSBub25jZQ==\r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n";
    let req = complete(upper);
    assert!(req.is_websocket());
    assert_eq!(req.host(), Some("h"));
    // Upgrade listing other protocols too, Connection split over headers.
    let split = variant(
        &["Upgrade", "Connection"],
        &[
            "Upgrade: h2c, WebSocket",
            "Connection: keep-alive",
            "Connection: Upgrade",
        ],
    );
    assert!(complete(&split).is_websocket());
}

#[test]
fn method_and_http_version() {
    let post = RFC_REQUEST.replacen("GET", "POST", 1);
    assert_eq!(parse(&post), Err(HandshakeError::MethodNotAllowed));
    assert_eq!(status(&post), 405);
    // Methods are case-sensitive (RFC 7230 §3.1.1).
    assert_eq!(status(&RFC_REQUEST.replacen("GET", "get", 1)), 405);
    assert_eq!(
        status(&RFC_REQUEST.replacen("HTTP/1.1", "HTTP/1.0", 1)),
        400
    );
    assert_eq!(
        parse(&RFC_REQUEST.replacen("HTTP/1.1", "HTTP/2.0", 1)),
        Err(HandshakeError::MalformedHttp("invalid HTTP version"))
    );
}

#[test]
fn host_rules() {
    assert_eq!(
        parse(&variant(&["Host"], &[])),
        Err(HandshakeError::BadRequest("missing Host header"))
    );
    assert_eq!(status(&variant(&[], &["Host: other.example"])), 400);
    assert_eq!(status(&variant(&["Host"], &["Host: "])), 400);
}

#[test]
fn connection_must_include_upgrade() {
    assert_eq!(status(&variant(&["Connection"], &[])), 400);
    assert_eq!(
        status(&variant(&["Connection"], &["Connection: keep-alive"])),
        400
    );
    assert_eq!(
        status(&variant(&["Connection"], &["Connection: upgrades"])),
        400
    );
}

#[test]
fn bodies_are_refused() {
    let body = Err(HandshakeError::BadRequest("request body not allowed"));
    assert_eq!(parse(&variant(&[], &["Content-Length: 5"])), body);
    assert_eq!(parse(&variant(&[], &["Transfer-Encoding: chunked"])), body);
    assert_eq!(
        parse(&variant(&[], &["Content-Length: 0", "Content-Length: 1"])),
        body
    );
    assert!(complete(&variant(&[], &["Content-Length: 0"])).is_websocket());
}

#[test]
fn request_targets() {
    let req = complete(&RFC_REQUEST.replacen("/chat", "/chat?room=a&x", 1));
    assert_eq!(req.target(), "/chat?room=a&x");
    assert_eq!(req.path(), "/chat");
    assert_eq!(req.query(), Some("room=a&x"));
    // §4.2.1 item 1 allows an absolute http/https URI.
    let abs = complete(&RFC_REQUEST.replacen("/chat", "http://server.example.com/chat?q", 1));
    assert_eq!(abs.path(), "/chat");
    assert_eq!(abs.query(), Some("q"));
    let bare = complete(&RFC_REQUEST.replacen("/chat", "HTTPS://server.example.com", 1));
    assert_eq!(bare.path(), "/");
    assert_eq!(bare.query(), None);
    for target in ["*", "chat", "ftp://h/chat", "http:///chat", "/chat#frag"] {
        assert_eq!(
            status(&RFC_REQUEST.replacen("/chat", target, 1)),
            400,
            "{target}"
        );
    }
}

#[test]
fn protocols_and_extensions() {
    let req = complete(&variant(
        &[],
        &[
            "Sec-WebSocket-Protocol: a ,b,, c",
            "sec-websocket-protocol: d",
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
            "Sec-WebSocket-Extensions: x-foo",
        ],
    ));
    assert_eq!(req.protocols(), ["a", "b", "c", "d"]);
    assert_eq!(
        req.extensions(),
        Some("permessage-deflate; client_max_window_bits, x-foo")
    );
    assert_eq!(req.choose_subprotocol(&["z", "c", "a"]), Some("c"));
    assert_eq!(req.choose_subprotocol(&["A"]), None);
    assert_eq!(req.choose_subprotocol(&[]), None);
    for bad in [
        "Sec-WebSocket-Protocol: ",
        "Sec-WebSocket-Protocol: ,",
        "Sec-WebSocket-Protocol: a b",
        "Sec-WebSocket-Protocol: a/b",
    ] {
        assert_eq!(status(&variant(&[], &[bad])), 400, "{bad}");
    }
    let none = complete(
        RFC_REQUEST
            .replace("Sec-WebSocket-Protocol: chat, superchat\r\n", "")
            .as_str(),
    );
    assert!(none.protocols().is_empty());
    assert_eq!(none.choose_subprotocol(&["chat"]), None);
}

#[test]
fn plain_http_requests() {
    let get = complete("GET /index.html?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(!get.is_websocket());
    assert_eq!(get.path(), "/index.html");
    assert_eq!(get.query(), Some("x=1"));
    assert_eq!(get.key(), None);
    assert!(get.protocols().is_empty());
    // Whatever the method or version, and even with a body or a non-WebSocket
    // upgrade, a request that does not ask for websocket is the app's.
    for s in [
        "POST /form HTTP/1.1\r\nContent-Length: 3\r\n\r\n",
        "PUT / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\n\r\n",
    ] {
        assert!(!complete(s).is_websocket(), "{s:?}");
    }
}

#[test]
fn malformed_http() {
    for s in [
        "GET /chat HTTP/1.1\r\nHo st: x\r\n\r\n",
        "GET  /chat HTTP/1.1\r\n\r\n",
        "GET /chat HTTP/1.1\r\nHost: a\rb\r\n\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\x7c\x03\x03",
    ] {
        assert!(
            matches!(parse(s), Err(HandshakeError::MalformedHttp(_))),
            "{s:?}"
        );
        assert_eq!(status(s), 400);
    }
}

#[test]
fn heads_too_large() {
    let head = RFC_REQUEST.as_bytes();
    // Complete within the limit, exactly at it, and one byte over.
    assert!(matches!(parse_request(head, head.len()), Ok(Some(_))));
    assert_eq!(
        parse_request(head, head.len() - 1),
        Err(HandshakeError::HeadTooLarge)
    );
    // Partial: fine up to the limit, too large past it.
    let partial = &head[..100];
    assert_eq!(parse_request(partial, 100), Ok(None));
    assert_eq!(
        parse_request(partial, 99),
        Err(HandshakeError::HeadTooLarge)
    );
    // A huge header arriving slowly is refused once past the limit.
    let mut big = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    big.resize(MAX + 10, b'a');
    assert_eq!(parse_request(&big, MAX), Err(HandshakeError::HeadTooLarge));
    assert_eq!(HandshakeError::HeadTooLarge.http_status(), 431);
}

#[test]
fn too_many_headers() {
    let mut extra: Vec<String> = (0..MAX_HEADERS).map(|i| format!("X-H{i}: v")).collect();
    let refs: Vec<&str> = extra.iter().map(String::as_str).collect();
    assert_eq!(
        parse(&variant(&[], &refs)),
        Err(HandshakeError::HeadTooLarge)
    );
    // Exactly MAX_HEADERS in total is fine.
    extra.truncate(MAX_HEADERS - 5);
    let refs: Vec<&str> = extra.iter().map(String::as_str).collect();
    assert!(complete(&variant(&[], &refs)).is_websocket());
}

#[test]
fn split_at_every_offset() {
    let whole = complete(RFC_REQUEST);
    let bytes = RFC_REQUEST.as_bytes();
    for cut in 0..bytes.len() {
        assert_eq!(parse_request(&bytes[..cut], MAX), Ok(None), "cut at {cut}");
    }
    assert_eq!(parse_request(bytes, MAX), Ok(Some((whole, bytes.len()))));
}

#[test]
fn trailing_bytes_are_not_consumed() {
    let mut bytes = RFC_REQUEST.as_bytes().to_vec();
    bytes.extend_from_slice(&[0x81, 0x85, 1, 2, 3, 4, b'x']);
    let (req, consumed) = parse_request(&bytes, MAX).unwrap().unwrap();
    assert_eq!(consumed, RFC_REQUEST.len());
    assert!(req.is_websocket());
    // Trailing bytes do not count towards the head limit either.
    assert!(parse_request(&bytes, RFC_REQUEST.len()).unwrap().is_some());
}

#[test]
fn non_utf8_header_values() {
    let mut bytes = variant(&[], &[]).into_bytes();
    bytes.truncate(bytes.len() - 2);
    bytes.extend_from_slice(b"X-Bin: \xff\xfe\r\n\r\n");
    let (req, _) = parse_request(&bytes, MAX).unwrap().unwrap();
    assert_eq!(req.header("x-bin"), None);
    assert_eq!(req.headers().last(), Some(("X-Bin", &b"\xff\xfe"[..])));
}
