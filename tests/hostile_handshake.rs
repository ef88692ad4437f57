//! Hostile and odd opening handshakes (RFC 6455 §4.2.1) against the real
//! `ws6455 serve` binary on loopback. Every case asserts the exact answer
//! (status line and the headers that matter, or no answer at all), that the
//! server closed TCP, and that the server still serves a fresh client.

use ws6455_test_support::handshake::*;
use ws6455_test_support::peer::{assert_serves, RawPeer};
use ws6455_test_support::server::*;
use ws6455_test_support::wire::*;

/// Send `request` on a fresh connection, expect the refusal `status_line`
/// with `Connection: close`, a plain-text body naming `why`, TCP closed by
/// the server, and the server still serving others.
fn refused(request: &str, status_line: &str, why: &str) -> HttpResponse {
    let server = ServerProcess::spawn();
    let mut client = RawPeer::tcp(server.addr);
    client.send(request.as_bytes());
    let response = client.expect_refusal(status_line);
    assert_eq!(
        response.header("content-type"),
        ["text/plain; charset=utf-8"]
    );
    let body = String::from_utf8_lossy(&response.body);
    assert!(body.contains(why), "body {body:?} should mention {why:?}");
    assert_serves(server.addr);
    response
}

/// Send `request`, expect a 101 and a working echo on that connection.
fn accepted(request: &str) {
    let server = ServerProcess::spawn();
    let mut client = RawPeer::tcp(server.addr);
    client.send(request.as_bytes());
    client.expect_101();
    client.echo_and_close("on the accepted connection");
    assert_serves(server.addr);
}

fn headers_without(name: &str) -> Vec<String> {
    default_headers()
        .into_iter()
        .filter(|h| {
            !h.to_ascii_lowercase()
                .starts_with(&name.to_ascii_lowercase())
        })
        .collect()
}

fn with_headers(request_line: &str, headers: &[String]) -> String {
    let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    request_with(request_line, &refs)
}

#[test]
fn truncated_head_then_eof_gets_no_answer_and_is_dropped() {
    let server = ServerProcess::spawn();
    let mut client = RawPeer::tcp(server.addr);
    client.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: webso");
    client.shutdown_write();
    // No response at all: the head never completed. The server closes.
    client.expect_eof();
    assert_serves(server.addr);
}

#[test]
fn head_over_8_kib_is_refused_with_431() {
    let pad = "a".repeat(9 << 10);
    refused(
        &request("/", &format!("X-Pad: {pad}\r\n")),
        "HTTP/1.1 431 Request Header Fields Too Large",
        "request head too large",
    );
}

#[test]
fn endless_head_without_blank_line_is_refused_with_431() {
    // 64 KiB of header lines that never end: refused once past the limit,
    // not buffered until the peer stops.
    let server = ServerProcess::spawn();
    let mut client = RawPeer::tcp(server.addr);
    let mut head = String::from("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    while head.len() < 64 << 10 {
        head.push_str("X-Filler: 0123456789abcdef0123456789abcdef\r\n");
    }
    // The server may refuse and close before it has read everything.
    let _ = std::io::Write::write_all(&mut client.stream, head.as_bytes());
    client.expect_refusal("HTTP/1.1 431 Request Header Fields Too Large");
    assert_serves(server.addr);
}

#[test]
fn more_than_64_headers_is_refused_with_431() {
    let mut headers = default_headers();
    for i in 0..60 {
        headers.push(format!("X-H{i}: v"));
    }
    assert_eq!(headers.len(), 65);
    refused(
        &with_headers("GET / HTTP/1.1", &headers),
        "HTTP/1.1 431 Request Header Fields Too Large",
        "request head too large",
    );
}

#[test]
fn exactly_64_headers_are_accepted() {
    let mut headers = default_headers();
    for i in 0..59 {
        headers.push(format!("X-H{i}: v"));
    }
    assert_eq!(headers.len(), 64);
    accepted(&with_headers("GET / HTTP/1.1", &headers));
}

#[test]
fn missing_key_is_refused_with_400() {
    refused(
        &with_headers("GET / HTTP/1.1", &headers_without("sec-websocket-key")),
        "HTTP/1.1 400 Bad Request",
        "missing Sec-WebSocket-Key",
    );
}

#[test]
fn duplicate_key_is_refused_with_400() {
    refused(
        &request("/", &format!("Sec-WebSocket-Key: {SAMPLE_KEY}\r\n")),
        "HTTP/1.1 400 Bad Request",
        "duplicate Sec-WebSocket-Key",
    );
}

#[test]
fn garbage_key_is_refused_with_400() {
    let mut headers = headers_without("sec-websocket-key");
    // 24 characters, but not base64.
    headers.push("Sec-WebSocket-Key: !!!!not~base64~at~all!!!".into());
    refused(
        &with_headers("GET / HTTP/1.1", &headers),
        "HTTP/1.1 400 Bad Request",
        "Sec-WebSocket-Key must be base64 of 16 bytes",
    );
}

#[test]
fn keys_of_the_wrong_length_are_refused_with_400() {
    // base64 of 15, 17 and 32 bytes, and of 16 bytes without padding.
    for key in [
        "AAAAAAAAAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAAAAAAAAAA=",
        "AAAAAAAAAAAAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "AAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let mut headers = headers_without("sec-websocket-key");
        headers.push(format!("Sec-WebSocket-Key: {key}"));
        refused(
            &with_headers("GET / HTTP/1.1", &headers),
            "HTTP/1.1 400 Bad Request",
            "Sec-WebSocket-Key must be base64 of 16 bytes",
        );
    }
}

#[test]
fn version_8_is_refused_with_426_naming_version_13() {
    let mut headers = headers_without("sec-websocket-version");
    headers.push("Sec-WebSocket-Version: 8".into());
    let response = refused(
        &with_headers("GET / HTTP/1.1", &headers),
        "HTTP/1.1 426 Upgrade Required",
        "Sec-WebSocket-Version must be 13",
    );
    assert_eq!(response.header("sec-websocket-version"), ["13"]);
    assert_eq!(response.header("upgrade"), ["websocket"]);
}

#[test]
fn missing_version_is_refused_with_400() {
    refused(
        &with_headers("GET / HTTP/1.1", &headers_without("sec-websocket-version")),
        "HTTP/1.1 400 Bad Request",
        "missing Sec-WebSocket-Version",
    );
}

#[test]
fn lowercase_header_names_and_tokens_are_accepted() {
    accepted(&request_with(
        "GET / HTTP/1.1",
        &[
            "host: 127.0.0.1",
            "upgrade: websocket",
            "connection: upgrade",
            &format!("sec-websocket-key: {SAMPLE_KEY}"),
            "sec-websocket-version: 13",
        ],
    ));
}

#[test]
fn uppercase_header_names_and_tokens_are_accepted() {
    accepted(&request_with(
        "GET / HTTP/1.1",
        &[
            "HOST: 127.0.0.1",
            "UPGRADE: WEBSOCKET",
            "CONNECTION: UPGRADE",
            &format!("SEC-WEBSOCKET-KEY: {SAMPLE_KEY}"),
            "SEC-WEBSOCKET-VERSION: 13",
        ],
    ));
}

#[test]
fn connection_keep_alive_upgrade_is_accepted() {
    let mut headers = headers_without("connection");
    headers.push("Connection: keep-alive, Upgrade".into());
    accepted(&with_headers("GET / HTTP/1.1", &headers));
}

#[test]
fn connection_without_upgrade_token_is_refused_with_400() {
    let mut headers = headers_without("connection");
    headers.push("Connection: keep-alive".into());
    refused(
        &with_headers("GET / HTTP/1.1", &headers),
        "HTTP/1.1 400 Bad Request",
        "Connection header must include \"Upgrade\"",
    );
}

#[test]
fn post_upgrade_is_refused_with_405() {
    let response = refused(
        &with_headers("POST / HTTP/1.1", &default_headers()),
        "HTTP/1.1 405 Method Not Allowed",
        "method must be GET",
    );
    assert_eq!(response.header("allow"), ["GET"]);
}

#[test]
fn http_1_0_upgrade_is_refused_with_400() {
    refused(
        &with_headers("GET / HTTP/1.0", &default_headers()),
        "HTTP/1.1 400 Bad Request",
        "requires HTTP/1.1",
    );
}

#[test]
fn missing_host_is_refused_with_400() {
    refused(
        &with_headers("GET / HTTP/1.1", &headers_without("host")),
        "HTTP/1.1 400 Bad Request",
        "missing Host header",
    );
}

#[test]
fn upgrade_with_a_body_is_refused_with_400() {
    let mut req = request("/", "Content-Length: 5\r\n");
    req.push_str("hello");
    refused(&req, "HTTP/1.1 400 Bad Request", "request body not allowed");
}

#[test]
fn tls_client_hello_is_refused_with_400() {
    // A TLS ClientHello sent to the plain-text port.
    let mut hello = vec![
        0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03,
    ];
    hello.extend_from_slice(&[0x42; 32]);
    hello.extend_from_slice(b"\r\n\r\n");
    let server = ServerProcess::spawn();
    let mut client = RawPeer::tcp(server.addr);
    client.send(&hello);
    let response = client.expect_refusal("HTTP/1.1 400 Bad Request");
    let body = String::from_utf8_lossy(&response.body);
    assert!(body.contains("malformed HTTP"), "{body:?}");
    assert_serves(server.addr);
}

#[test]
fn pipelined_garbage_after_the_head_fails_with_1002_after_the_101() {
    // The bytes after the head are frames (§4.2.1 + §5): "GARBAGE\r\n"
    // starts with 0x47 = RSV1 set and reserved opcode 7. The opcode is
    // checked first, so the reason names it.
    let server = ServerProcess::spawn();
    let mut client = RawPeer::tcp(server.addr);
    let mut bytes = request("/", "").into_bytes();
    bytes.extend_from_slice(b"GARBAGE\r\n");
    client.send(&bytes);
    client.expect_101();
    let reason = client.expect_close_then_eof(1002);
    assert_eq!(reason, "reserved opcode 0x7 (RFC 6455 §5.2)");
    assert_serves(server.addr);
}

#[test]
fn pipelined_frames_after_the_head_are_not_lost() {
    let server = ServerProcess::spawn();
    let mut client = RawPeer::tcp(server.addr);
    let mut bytes = request("/", "").into_bytes();
    bytes.extend_from_slice(&frame(TEXT, b"early"));
    bytes.extend_from_slice(&frame(BINARY, b"bird"));
    client.send(&bytes);
    client.expect_101();
    assert_eq!(client.frame().payload, b"early");
    assert_eq!(client.frame().payload, b"bird");
    client.echo_and_close("after pipelining");
    assert_serves(server.addr);
}

#[test]
fn plain_get_root_is_the_200_page() {
    let server = ServerProcess::spawn();
    let mut client = RawPeer::tcp(server.addr);
    client.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    let response = client.read_response();
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(
        response.header("content-type"),
        ["text/html; charset=utf-8"]
    );
    assert_eq!(response.header("connection"), ["close"]);
    let body = String::from_utf8_lossy(&response.body);
    assert!(body.starts_with("<!doctype html>"), "{body:?}");
    client.expect_eof();
    assert_serves(server.addr);
}

#[test]
fn plain_get_unknown_path_is_404() {
    let server = ServerProcess::spawn();
    let mut client = RawPeer::tcp(server.addr);
    client.send(b"GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    let response = client.read_response();
    assert_eq!(response.status_line, "HTTP/1.1 404 Not Found");
    assert_eq!(response.header("connection"), ["close"]);
    client.expect_eof();
    assert_serves(server.addr);
}

#[test]
fn duplicate_host_is_refused_with_400() {
    refused(
        &request("/", "Host: evil.example\r\n"),
        "HTTP/1.1 400 Bad Request",
        "duplicate Host header",
    );
}

#[test]
fn upgrade_with_chunked_body_is_refused_with_400() {
    refused(
        &request("/", "Transfer-Encoding: chunked\r\n"),
        "HTTP/1.1 400 Bad Request",
        "request body not allowed",
    );
}

#[test]
fn head_sent_one_byte_per_write_is_accepted() {
    let server = ServerProcess::spawn();
    let mut client = RawPeer::tcp(server.addr);
    for byte in request("/split", "").as_bytes() {
        client.send(std::slice::from_ref(byte));
    }
    client.expect_101();
    client.echo_and_close("after a byte-by-byte head");
    assert_serves(server.addr);
}

/// A valid request whose head is exactly `len` bytes long.
fn request_of_len(len: usize) -> String {
    let base = request("/", "X-Pad: \r\n").len();
    let head = request("/", &format!("X-Pad: {}\r\n", "p".repeat(len - base)));
    assert_eq!(head.len(), len);
    head
}

#[test]
fn head_of_exactly_8_kib_is_accepted() {
    accepted(&request_of_len(8 << 10));
}

#[test]
fn head_of_8_kib_plus_one_is_refused_with_431() {
    refused(
        &request_of_len((8 << 10) + 1),
        "HTTP/1.1 431 Request Header Fields Too Large",
        "request head too large",
    );
}
