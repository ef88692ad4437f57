//! §4 the opening handshake, on both sides, without I/O.
//!
//! The handshake is one HTTP/1.1 exchange: the client's `GET` with
//! `Upgrade: websocket` and the server's `101 Switching Protocols`. This
//! module parses and writes those heads over byte slices:
//!
//! * [`request`] — §4.2.1, the server reading the client's request
//!   ([`parse_request`]);
//! * [`response`] — §4.2.2 and §4.4, the server's answers: the 101, the
//!   400/405/426/431 refusals and plain HTTP pages;
//! * [`client`] — §4.1, the client writing its request and validating the
//!   server's answer ([`parse_response`]);
//! * this file — what both sides share: the §1.3 accept key and header-list
//!   helpers.
//!
//! Every parser takes the bytes received so far, returns `Ok(None)` while the
//! head is incomplete and, once complete, how many bytes the head used: bytes
//! after it are early WebSocket frames and belong to the caller. Parsing is
//! stateless, so a head split into any number of pieces parses the same as in
//! one piece.

use alloc::{borrow::ToOwned, string::String, vec::Vec};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha1::{Digest, Sha1};

use crate::error::HandshakeError;

pub mod client;
pub mod request;
pub mod response;

#[cfg(test)]
mod roundtrip_tests;

pub(crate) use client::{encode_key, parse_response_offering, write_client_request_offering};
pub use client::{parse_response, write_client_request, ClientRequest, Response};
pub use request::{parse_request, Request};
pub(crate) use response::write_http_response;
pub use response::{reason_phrase, write_accept_response, write_error_response};

/// §1.3: the GUID the server appends to the client's key before hashing, so
/// that only a WebSocket server can produce the `Sec-WebSocket-Accept` value.
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The most header lines parsed in one request or response head (httparse
/// needs a fixed array); a head with more is refused as
/// [`HandshakeError::HeadTooLarge`] (431) — a §10.4-style resource limit.
pub const MAX_HEADERS: usize = 64;

/// §1.3/§4.2.2 `Sec-WebSocket-Accept`: base64(SHA-1(`key` ‖ GUID)).
///
/// `key` is the `Sec-WebSocket-Key` value exactly as sent (its base64 text,
/// not decoded: "It is not necessary for the server to base64-decode the
/// |Sec-WebSocket-Key| value"). Returns the 28-character value.
pub fn accept_key(key: &[u8]) -> String {
    let bytes = accept_key_bytes(key);
    // Base64 output is ASCII, so this conversion never loses anything.
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The same value as [`accept_key`] (§4.2.2), as 28 ASCII bytes and without
/// allocating, for writing straight into a response buffer or comparing with
/// a received header.
pub fn accept_key_bytes(key: &[u8]) -> [u8; 28] {
    let mut hasher = Sha1::new();
    hasher.update(key);
    hasher.update(WEBSOCKET_GUID.as_bytes());
    let digest = hasher.finalize();
    let mut out = [0u8; 28];
    // A 20-byte digest always encodes to exactly 28 padded characters, so the
    // one failure encode_slice reports (output too small) cannot occur.
    let _written = STANDARD.encode_slice(digest, &mut out);
    out
}

/// True when the comma-separated header value contains `token`, compared
/// ASCII case-insensitively with surrounding whitespace trimmed and empty
/// list items ignored.
///
/// §4.2.1 items 3 and 4: `Upgrade` must contain "websocket" and `Connection`
/// the token "Upgrade", both "treated as an ASCII case-insensitive value";
/// RFC 2616's `#rule` lets such lists hold empty elements and optional
/// whitespace.
pub fn header_has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|item| item.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Map an httparse failure onto our error: too many header lines is a size
/// limit (431), anything else is malformed HTTP (400).
pub(crate) fn httparse_error(err: httparse::Error) -> HandshakeError {
    match err {
        httparse::Error::TooManyHeaders => HandshakeError::HeadTooLarge,
        httparse::Error::HeaderName => HandshakeError::MalformedHttp("invalid header name"),
        httparse::Error::HeaderValue => HandshakeError::MalformedHttp("invalid header value"),
        httparse::Error::NewLine => HandshakeError::MalformedHttp("invalid line ending"),
        httparse::Error::Status => HandshakeError::MalformedHttp("invalid status code"),
        httparse::Error::Token => HandshakeError::MalformedHttp("invalid request line"),
        httparse::Error::Version => HandshakeError::MalformedHttp("invalid HTTP version"),
    }
}

/// The part of `buf` worth handing to httparse under a head limit of
/// `max_head` bytes: one byte more than the limit is enough to tell "too
/// large" from "complete", and stops a flood of bytes from being rescanned on
/// every call.
pub(crate) fn head_window(buf: &[u8], max_head: usize) -> &[u8] {
    let end = buf.len().min(max_head.saturating_add(1));
    buf.get(..end).unwrap_or(buf)
}

/// Decide what an httparse status means under the head limit: `Ok(None)` to
/// wait for more bytes, `Ok(Some(len))` for a complete head of `len` bytes.
pub(crate) fn head_status(
    status: httparse::Status<usize>,
    window_len: usize,
    max_head: usize,
) -> Result<Option<usize>, HandshakeError> {
    match status {
        httparse::Status::Complete(len) if len > max_head => Err(HandshakeError::HeadTooLarge),
        httparse::Status::Complete(len) => Ok(Some(len)),
        httparse::Status::Partial if window_len > max_head => Err(HandshakeError::HeadTooLarge),
        httparse::Status::Partial => Ok(None),
    }
}

/// Copy httparse's borrowed headers into owned pairs, in order, so the parsed
/// head can outlive the receive buffer.
pub(crate) fn own_headers(headers: &[httparse::Header<'_>]) -> Vec<(String, Vec<u8>)> {
    headers
        .iter()
        .map(|h| (h.name.to_owned(), h.value.to_vec()))
        .collect()
}

/// All values of the headers called `name` (case-insensitive: RFC 2616
/// §4.2 "Field names are case-insensitive"), in order.
pub(crate) fn values<'h>(
    headers: &'h [(String, Vec<u8>)],
    name: &'h str,
) -> impl Iterator<Item = &'h [u8]> + 'h {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
}

/// The first header called `name`, if its value is UTF-8, with surrounding
/// whitespace removed.
pub(crate) fn first_str<'h>(headers: &'h [(String, Vec<u8>)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| core::str::from_utf8(v.trim_ascii()).ok())
}

/// RFC 2616 §2.2 `token`: one or more CHARs that are neither CTLs nor
/// separators. Subprotocol names (§4.1 item 10, §4.3) and header names must
/// be tokens.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(
                    b,
                    b'(' | b')'
                        | b'<'
                        | b'>'
                        | b'@'
                        | b','
                        | b';'
                        | b':'
                        | b'\\'
                        | b'"'
                        | b'/'
                        | b'['
                        | b']'
                        | b'?'
                        | b'='
                        | b'{'
                        | b'}'
                )
        })
}

/// True when a header value holds no control character other than HTAB —
/// above all no CR or LF, which would let a caller end the header line early
/// and inject headers or a body of its own.
pub(crate) fn is_safe_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// True when a caller-supplied header can be written verbatim: its name is a
/// token (so it cannot hide a colon, a space or a line break) and its value is
/// [`is_safe_value`].
pub(crate) fn is_safe_header(name: &str, value: &str) -> bool {
    is_token(name) && is_safe_value(value)
}

/// Append one `name: value` header line.
pub(crate) fn push_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Headers the handshake writes itself; a caller's extra header with one of
/// these names would duplicate or contradict them, so it is skipped.
pub(crate) fn is_handshake_header(name: &str) -> bool {
    const OWN: [&str; 5] = [
        "host",
        "upgrade",
        "connection",
        "content-length",
        "transfer-encoding",
    ];
    OWN.iter().any(|own| name.eq_ignore_ascii_case(own))
        || name
            .as_bytes()
            .get(..14)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"sec-websocket-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_accept_key_vector() {
        // §1.3 / §4.2.2 NOTE: the worked example.
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(
            &accept_key_bytes(b"dGhlIHNhbXBsZSBub25jZQ=="),
            b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn accept_key_is_over_the_text_not_the_decoded_bytes() {
        // Two spellings of similar nonces must hash differently: the key is
        // hashed "as a string, not base64-decoded" (§4.1 item 4).
        assert_ne!(
            accept_key(b"AQIDBAUGBwgJCgsMDQ4PEC=="),
            accept_key(b"AQIDBAUGBwgJCgsMDQ4PEA==")
        );
        assert_eq!(accept_key(b"").len(), 28);
    }

    #[test]
    fn header_tokens() {
        assert!(header_has_token(b"keep-alive, Upgrade", "upgrade"));
        assert!(header_has_token(b"UPGRADE", "upgrade"));
        assert!(header_has_token(b"Upgrade", "UPGRADE"));
        assert!(header_has_token(b"  upgrade  ", "upgrade"));
        assert!(header_has_token(b",,upgrade,", "upgrade"));
        assert!(header_has_token(b"keep-alive,\tupgrade", "upgrade"));
        assert!(!header_has_token(b"upgradex", "upgrade"));
        assert!(!header_has_token(b"xupgrade", "upgrade"));
        assert!(!header_has_token(b"up grade", "upgrade"));
        assert!(!header_has_token(b"", "upgrade"));
        assert!(!header_has_token(b", ,", "upgrade"));
        assert!(!header_has_token(b"keep-alive", "upgrade"));
    }

    #[test]
    fn tokens_and_safe_headers() {
        assert!(is_token("chat"));
        assert!(is_token("v1.json.api"));
        assert!(!is_token(""));
        assert!(!is_token("a b"));
        assert!(!is_token("a,b"));
        assert!(!is_token("é"));
        assert!(is_safe_header("X-Thing", "a\tb c"));
        assert!(!is_safe_header("X-Thing", "a\r\nInjected: 1"));
        assert!(!is_safe_header("X-Thing\r\nInjected", "1"));
        assert!(!is_safe_header("X Thing", "1"));
        assert!(!is_safe_header("X-Thing", "nul\0"));
    }

    #[test]
    fn handshake_header_names() {
        for name in [
            "Host",
            "UPGRADE",
            "connection",
            "Sec-WebSocket-Key",
            "sec-websocket-anything",
            "Content-Length",
        ] {
            assert!(is_handshake_header(name), "{name}");
        }
        for name in ["Origin", "Cookie", "Sec-Fetch-Mode", "X-Host"] {
            assert!(!is_handshake_header(name), "{name}");
        }
    }
}
