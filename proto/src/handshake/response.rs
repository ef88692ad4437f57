//! §4.2.2 and §4.4: the server's side of the opening handshake, written into
//! a caller's buffer.
//!
//! * [`write_accept_response`] — the `101 Switching Protocols` that opens the
//!   connection (§4.2.2 step 5);
//! * [`write_error_response`] — the refusal for a [`HandshakeError`] (§4.2.1
//!   "return an HTTP response with an appropriate error code", §4.4's 426
//!   with the versions we speak);
//! * `write_http_response` — any other complete response: plain pages,
//!   and the application's own refusals (403 for an unwanted origin, 404 for
//!   an unknown resource, §4.2.2 step 4).
//!
//! Headers supplied by the application are **skipped**, not stripped, when
//! their name is not an HTTP token or their value contains CR, LF or another
//! control character (HTAB excepted): a header cut short by stripping could
//! carry a meaning the application did not intend, while skipping leaves the
//! response well-formed and cannot let anyone inject a header or a body.

use alloc::{format, string::ToString, vec, vec::Vec};

use super::push_header;
use super::{accept_key_bytes, is_handshake_header, is_safe_header, is_safe_value, is_token};
use crate::error::HandshakeError;

/// Write the §4.2.2 step 5 response that accepts a WebSocket connection: the
/// `101` status line, `Upgrade: websocket`, `Connection: Upgrade` and
/// `Sec-WebSocket-Accept` computed from the client's `key` (as received,
/// [`Request::key`](super::Request::key)).
///
/// `protocol` is the /subprotocol/ chosen with
/// [`Request::choose_subprotocol`](super::Request::choose_subprotocol):
/// `None` writes no `Sec-WebSocket-Protocol` header ("it MUST NOT send back
/// a |Sec-WebSocket-Protocol| header field"), and so does a value that is not
/// a token ("The empty string ... is not a legal value for this field").
/// `extensions`, when given and free of control characters, is written as
/// `Sec-WebSocket-Extensions`. `extra_headers` follow (cookies, for example);
/// unsafe ones and ones named like a handshake header (`Host`, `Upgrade`,
/// `Connection`, `Content-Length`, `Transfer-Encoding`, `Sec-WebSocket-*`)
/// are skipped so they cannot contradict the handshake.
pub fn write_accept_response(
    out: &mut Vec<u8>,
    key: &str,
    protocol: Option<&str>,
    extensions: Option<&str>,
    extra_headers: &[(&str, &str)],
) {
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
    push_header(out, "Upgrade", b"websocket");
    push_header(out, "Connection", b"Upgrade");
    push_header(
        out,
        "Sec-WebSocket-Accept",
        &accept_key_bytes(key.as_bytes()),
    );
    if let Some(protocol) = protocol.filter(|p| is_token(p)) {
        push_header(out, "Sec-WebSocket-Protocol", protocol.as_bytes());
    }
    if let Some(extensions) = extensions.filter(|e| is_safe_value(e)) {
        push_header(out, "Sec-WebSocket-Extensions", extensions.as_bytes());
    }
    push_extra_headers(out, extra_headers);
    out.extend_from_slice(b"\r\n");
}

/// Write the complete response refusing a failed handshake (§4.2.1: "the
/// server MUST stop processing the client's handshake and return an HTTP
/// response with an appropriate error code"): the status of
/// [`HandshakeError::http_status`] with its reason phrase,
/// `Content-Type: text/plain; charset=utf-8`, `Content-Length`,
/// `Connection: close` and the error's text plus `"\n"` as the body.
///
/// A 426 also carries `Sec-WebSocket-Version: 13` (§4.2.2 /version/: "send
/// an appropriate HTTP error code (such as 426 Upgrade Required) and a
/// |Sec-WebSocket-Version| header field indicating the version(s) the server
/// is capable of understanding") and `Upgrade: websocket` (which RFC 7231
/// §6.5.15 requires of every 426); a 405 carries `Allow: GET`.
pub fn write_error_response(out: &mut Vec<u8>, err: &HandshakeError) {
    let status = err.http_status();
    let body = format!("{err}\n");
    let mut headers: Vec<(&str, &str)> = vec![("Content-Type", "text/plain; charset=utf-8")];
    match status {
        426 => {
            headers.push(("Sec-WebSocket-Version", "13"));
            headers.push(("Upgrade", "websocket"));
        }
        405 => headers.push(("Allow", "GET")),
        _ => {}
    }
    write_head(out, status, &headers, Some(body.len()));
    out.extend_from_slice(body.as_bytes());
}

/// Write any complete HTTP/1.1 response: for plain HTTP requests and for the
/// application's refusals of a handshake (§4.2.2 step 4: 403 for an origin it
/// does not accept, 404 for a resource it does not serve, 401 or 3xx per
/// steps 2–3).
///
/// `Content-Length` and `Connection: close` are added here (the connection
/// is closed after a non-101 answer), so caller headers with those names,
/// `Transfer-Encoding`, or unsafe names/values are skipped. A status outside
/// 100–999 is written as 500. Responses that may not have a body (1xx, 204,
/// 304; RFC 7230 §3.3) get neither `Content-Length` nor the body.
pub(crate) fn write_http_response(
    out: &mut Vec<u8>,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) {
    let status = if (100..=999).contains(&status) {
        status
    } else {
        500
    };
    let has_body = !matches!(status, 100..=199 | 204 | 304);
    let allowed: Vec<(&str, &str)> = headers
        .iter()
        .copied()
        .filter(|(name, _)| {
            !["content-length", "connection", "transfer-encoding"]
                .iter()
                .any(|own| name.eq_ignore_ascii_case(own))
        })
        .collect();
    write_head(out, status, &allowed, has_body.then_some(body.len()));
    if has_body {
        out.extend_from_slice(body);
    }
}

/// The reason phrase for common statuses (RFC 7231 §6.1 wording), used on
/// every status line we write; `"Unknown"` for the rest (the phrase is
/// informational only).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

/// Status line, the caller's safe headers, then `Content-Length` (when the
/// response has a body) and `Connection: close`, and the blank line.
fn write_head(
    out: &mut Vec<u8>,
    status: u16,
    headers: &[(&str, &str)],
    content_length: Option<usize>,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason_phrase(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    for &(name, value) in headers {
        if is_safe_header(name, value) {
            push_header(out, name, value.as_bytes());
        }
    }
    if let Some(len) = content_length {
        push_header(out, "Content-Length", len.to_string().as_bytes());
    }
    push_header(out, "Connection", b"close");
    out.extend_from_slice(b"\r\n");
}

/// The application's extra headers on a 101: only safe ones, and none that
/// would duplicate or contradict the handshake's own.
fn push_extra_headers(out: &mut Vec<u8>, headers: &[(&str, &str)]) {
    for &(name, value) in headers {
        if is_safe_header(name, value) && !is_handshake_header(name) {
            push_header(out, name, value.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parse a complete response with httparse and return (status, headers,
    /// body), asserting the head is complete and Content-Length is right.
    fn parse(bytes: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut slots = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut slots);
        let status = resp.parse(bytes).expect("well-formed response");
        let httparse::Status::Complete(head_len) = status else {
            panic!("incomplete response: {:?}", String::from_utf8_lossy(bytes));
        };
        assert_eq!(resp.version, Some(1));
        let headers: Vec<(String, String)> = resp
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_owned(),
                    String::from_utf8(h.value.to_vec()).unwrap(),
                )
            })
            .collect();
        let body = bytes[head_len..].to_vec();
        if let Some((_, len)) = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        {
            assert_eq!(len.parse::<usize>().unwrap(), body.len());
        }
        (resp.code.unwrap(), headers, body)
    }

    fn get<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
        headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    #[test]
    fn accept_response_matches_rfc_example() {
        let mut out = Vec::new();
        write_accept_response(
            &mut out,
            "dGhlIHNhbXBsZSBub25jZQ==",
            Some("chat"),
            None,
            &[],
        );
        assert_eq!(
            out,
            b"HTTP/1.1 101 Switching Protocols\r\n\
              Upgrade: websocket\r\n\
              Connection: Upgrade\r\n\
              Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
              Sec-WebSocket-Protocol: chat\r\n\r\n"
        );
    }

    #[test]
    fn accept_response_skips_bad_protocol_and_unsafe_or_handshake_headers() {
        let mut out = Vec::new();
        write_accept_response(
            &mut out,
            "dGhlIHNhbXBsZSBub25jZQ==",
            Some(""),
            Some("x-ext\r\nEvil: 1"),
            &[
                ("Set-Cookie", "a=b"),
                ("Sec-WebSocket-Accept", "forged"),
                ("Connection", "close"),
                ("X-Bad", "v\r\nInjected: yes"),
                ("X-Bad\r\nInjected", "yes"),
            ],
        );
        let (status, headers, body) = parse(&out);
        assert_eq!(status, 101);
        assert!(body.is_empty());
        assert_eq!(get(&headers, "set-cookie"), ["a=b"]);
        assert_eq!(
            get(&headers, "sec-websocket-accept"),
            ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]
        );
        assert_eq!(get(&headers, "connection"), ["Upgrade"]);
        assert!(get(&headers, "sec-websocket-protocol").is_empty());
        assert!(get(&headers, "sec-websocket-extensions").is_empty());
        assert!(get(&headers, "injected").is_empty());
        assert!(get(&headers, "evil").is_empty());
    }

    #[test]
    fn error_responses_are_well_formed() {
        let errors = [
            HandshakeError::MalformedHttp("invalid header name"),
            HandshakeError::HeadTooLarge,
            HandshakeError::MethodNotAllowed,
            HandshakeError::BadRequest("missing Host header"),
            HandshakeError::UnsupportedVersion,
        ];
        for err in errors {
            let mut out = Vec::new();
            write_error_response(&mut out, &err);
            let (status, headers, body) = parse(&out);
            assert_eq!(status, err.http_status());
            assert_eq!(body, format!("{err}\n").as_bytes());
            assert_eq!(get(&headers, "connection"), ["close"]);
            assert_eq!(get(&headers, "content-type"), ["text/plain; charset=utf-8"]);
            let first_line = out.split(|&b| b == b'\r').next().unwrap();
            let expected = format!("HTTP/1.1 {status} {}", reason_phrase(status));
            assert_eq!(first_line, expected.as_bytes());
            match status {
                426 => {
                    assert_eq!(get(&headers, "sec-websocket-version"), ["13"]);
                    assert_eq!(get(&headers, "upgrade"), ["websocket"]);
                }
                405 => assert_eq!(get(&headers, "allow"), ["GET"]),
                _ => assert!(get(&headers, "sec-websocket-version").is_empty()),
            }
        }
    }

    #[test]
    fn http_response_adds_length_and_close_and_skips_injection() {
        let mut out = Vec::new();
        write_http_response(
            &mut out,
            403,
            &[
                ("Content-Type", "text/html"),
                ("Content-Length", "999"),
                ("Connection", "keep-alive"),
                ("X-Evil", "1\r\n\r\n<script>"),
                ("X-Evil2", "1\nInjected: yes"),
                ("X Evil", "1"),
                ("X-Ok", "fine"),
            ],
            b"<h1>no</h1>",
        );
        let (status, headers, body) = parse(&out);
        assert_eq!(status, 403);
        assert_eq!(body, b"<h1>no</h1>");
        assert_eq!(get(&headers, "content-length"), ["11"]);
        assert_eq!(get(&headers, "connection"), ["close"]);
        assert_eq!(get(&headers, "x-ok"), ["fine"]);
        assert!(get(&headers, "x-evil").is_empty());
        assert!(get(&headers, "x-evil2").is_empty());
        assert!(get(&headers, "injected").is_empty());
        assert_eq!(headers.len(), 4);
    }

    #[test]
    fn http_response_status_edge_cases() {
        let mut out = Vec::new();
        write_http_response(&mut out, 204, &[], b"dropped");
        assert_eq!(out, b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");

        let mut out = Vec::new();
        write_http_response(&mut out, 42, &[], b"");
        let (status, headers, _) = parse(&out);
        assert_eq!(status, 500);
        assert_eq!(get(&headers, "content-length"), ["0"]);

        let mut out = Vec::new();
        write_http_response(&mut out, 299, &[], b"x");
        assert!(out.starts_with(b"HTTP/1.1 299 Unknown\r\n"));
    }

    #[test]
    fn reason_phrases() {
        for (status, phrase) in [
            (101, "Switching Protocols"),
            (200, "OK"),
            (400, "Bad Request"),
            (403, "Forbidden"),
            (404, "Not Found"),
            (405, "Method Not Allowed"),
            (426, "Upgrade Required"),
            (431, "Request Header Fields Too Large"),
            (500, "Internal Server Error"),
            (503, "Service Unavailable"),
            (999, "Unknown"),
        ] {
            assert_eq!(reason_phrase(status), phrase);
        }
    }
}
