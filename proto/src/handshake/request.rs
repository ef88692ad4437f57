//! §4.2.1 the server reading the client's opening handshake.
//!
//! [`parse_request`] turns the first bytes of a connection into a
//! [`Request`]. It sorts requests into two kinds:
//!
//! * a request whose `Upgrade` header lists `websocket` claims to be an
//!   RFC 6455 handshake, so every MUST of §4.2.1 applies and a violation is
//!   an error carrying the HTTP status to refuse it with;
//! * any other request is plain HTTP: it is returned with
//!   [`Request::is_websocket`] false, whatever its method, so the application
//!   can answer it (a status page, a redirect, a 404).
//!
//! Bodies are never read. A plain request that announces one still parses
//! (the caller answers and closes); a WebSocket request may not have one.

use alloc::{borrow::ToOwned, string::String, vec::Vec};

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use super::{
    first_str, head_status, head_window, header_has_token, httparse_error, is_token, own_headers,
    values, MAX_HEADERS,
};
use crate::error::HandshakeError;

/// Standard-alphabet base64 with its padding required, as §4.2.1 item 5 asks
/// ("base64-encoded (see Section 4 of [RFC4648])"), but tolerant of non-zero
/// trailing bits: the RFC's own §4.1 example key `AQIDBAUGBwgJCgsMDQ4PEC==`
/// has them, and refusing the specification's example would help nobody.
const KEY_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

/// A client's opening request (§4.2.1), owned so it outlives the receive
/// buffer. Built by [`parse_request`]; a request with
/// [`is_websocket`](Request::is_websocket) true has passed every check of
/// §4.2.1 and can be answered with
/// [`write_accept_response`](super::write_accept_response).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Request {
    method: String,
    target: String,
    headers: Vec<(String, Vec<u8>)>,
    is_websocket: bool,
    protocols: Vec<String>,
    extensions: Option<String>,
    key: Option<String>,
}

impl Request {
    /// The request method, e.g. `GET` (§4.2.1 item 1 requires GET for a
    /// WebSocket request).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The raw request-target of the request line, e.g. `/chat?room=a`
    /// (§4.2.1 item 1: the Request-URI, interpreted as the §3 /resource
    /// name/).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path of the §3 /resource name/: the target up to `?`. For an
    /// absolute `http(s)://` target (which §4.2.1 item 1 allows) the scheme
    /// and authority are dropped; an empty path reads as `/`.
    pub fn path(&self) -> &str {
        let resource = origin_form(&self.target).unwrap_or(&self.target);
        let path = resource.split_once('?').map_or(resource, |(path, _)| path);
        if path.is_empty() {
            "/"
        } else {
            path
        }
    }

    /// The query of the §3 /resource name/: what follows the first `?`, if
    /// there is one (possibly empty).
    pub fn query(&self) -> Option<&str> {
        let resource = origin_form(&self.target).unwrap_or(&self.target);
        resource.split_once('?').map(|(_, query)| query)
    }

    /// The value of the first header called `name` (names compare ASCII
    /// case-insensitively, as RFC 2616 §4.2 says), trimmed; `None` if there is
    /// no such header or its value is not UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        first_str(&self.headers, name)
    }

    /// Every header as (name, raw value), in the order received (§4.2.1
    /// item 10: headers the handshake does not define are the application's,
    /// e.g. cookies or authorization).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_slice()))
    }

    /// The `Host` header (§4.2.1 item 2: "the server's authority").
    pub fn host(&self) -> Option<&str> {
        self.header("host")
    }

    /// The `Origin` header (§4.2.1 item 7, §10.2): browsers always send it; a
    /// server that checks it refuses unwanted origins with 403.
    pub fn origin(&self) -> Option<&str> {
        self.header("origin")
    }

    /// True when this is a valid RFC 6455 opening handshake (§4.2.1), false
    /// for a plain HTTP request without `Upgrade: websocket`.
    pub fn is_websocket(&self) -> bool {
        self.is_websocket
    }

    /// The `Sec-WebSocket-Key` (§4.2.1 item 5) as sent, already checked to
    /// decode to 16 bytes; `None` for a plain HTTP request.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The subprotocols the client offered (§4.2.1 item 8), in its order of
    /// preference: the tokens of every `Sec-WebSocket-Protocol` header, split
    /// at commas and trimmed. Empty for a plain HTTP request.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The raw `Sec-WebSocket-Extensions` offer (§4.2.1 item 9, §9.1): every
    /// such header's value, joined with `", "`. `None` when absent or for a
    /// plain HTTP request.
    pub fn extensions(&self) -> Option<&str> {
        self.extensions.as_deref()
    }

    /// §4.2.2 /subprotocol/: the first of `supported` (the server's order of
    /// preference) that the client offered, compared exactly; `None` means
    /// the response must carry no `Sec-WebSocket-Protocol` header ("it MUST
    /// NOT send back a |Sec-WebSocket-Protocol| header field").
    pub fn choose_subprotocol<'s>(&self, supported: &[&'s str]) -> Option<&'s str> {
        supported
            .iter()
            .copied()
            .find(|candidate| self.protocols.iter().any(|offered| offered == candidate))
    }
}

/// Parse a request head from the start of `buf`, which may hold only part of
/// it (§4.2.1; call again with more bytes — parsing restarts from the start).
///
/// * `Ok(None)`: the head is incomplete and still at most `max_head` bytes.
/// * `Ok(Some((request, consumed)))`: `consumed` is the length of the head;
///   bytes after it (frames a client sent early) belong to the caller.
/// * `Err(e)`: refuse the request with status `e.http_status()` (for
///   instance via [`write_error_response`](super::write_error_response)).
///   A head longer than `max_head` or with more than
///   [`MAX_HEADERS`] headers is [`HandshakeError::HeadTooLarge`].
pub fn parse_request(
    buf: &[u8],
    max_head: usize,
) -> Result<Option<(Request, usize)>, HandshakeError> {
    let window = head_window(buf, max_head);
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut slots);
    let status = parsed.parse(window).map_err(httparse_error)?;
    let Some(consumed) = head_status(status, window.len(), max_head)? else {
        return Ok(None);
    };
    let (Some(method), Some(target), Some(version)) = (parsed.method, parsed.path, parsed.version)
    else {
        return Err(HandshakeError::MalformedHttp("incomplete request line"));
    };
    let headers = own_headers(parsed.headers);
    let is_websocket = values(&headers, "upgrade").any(|v| header_has_token(v, "websocket"));
    let mut request = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
        is_websocket,
        protocols: Vec::new(),
        extensions: None,
        key: None,
    };
    if is_websocket {
        validate_upgrade(&mut request, version)?;
    }
    Ok(Some((request, consumed)))
}

/// Apply every MUST of §4.2.1 to a request that asked for `Upgrade:
/// websocket`, filling in its key, subprotocols and extensions. "If the
/// server, while reading the handshake, finds that the client did not send a
/// handshake that matches the description below ..., the server MUST stop
/// processing the client's handshake and return an HTTP response with an
/// appropriate error code".
fn validate_upgrade(request: &mut Request, version: u8) -> Result<(), HandshakeError> {
    // Item 1: "An HTTP/1.1 or higher GET request". A wrong method gets 405 so
    // the client learns which one to use.
    if request.method != "GET" {
        return Err(HandshakeError::MethodNotAllowed);
    }
    if version < 1 {
        return Err(HandshakeError::BadRequest(
            "WebSocket handshake requires HTTP/1.1 (RFC 6455 §4.2.1)",
        ));
    }
    // Item 1: the Request-URI is a /resource name/ (§3) or an absolute
    // HTTP/HTTPS URI containing one; §3: fragment identifiers "MUST NOT be
    // used on these URIs".
    if origin_form(&request.target).is_none() {
        return Err(HandshakeError::BadRequest(
            "request target must be a path or an absolute http(s) URI (RFC 6455 §4.2.1)",
        ));
    }
    if request.target.contains('#') {
        return Err(HandshakeError::BadRequest(
            "fragment in request target (RFC 6455 §3)",
        ));
    }
    let headers = &request.headers;
    // Item 2: "A |Host| header field containing the server's authority." One
    // Host only, as HTTP/1.1 requires: two could name different servers.
    let mut hosts = values(headers, "host");
    match (hosts.next(), hosts.next()) {
        (None, _) => return Err(HandshakeError::BadRequest("missing Host header")),
        (Some(_), Some(_)) => return Err(HandshakeError::BadRequest("duplicate Host header")),
        (Some(host), None) if host.trim_ascii().is_empty() => {
            return Err(HandshakeError::BadRequest("empty Host header"))
        }
        (Some(_), None) => {}
    }
    // Item 4: "A |Connection| header field that includes the token
    // "Upgrade", treated as an ASCII case-insensitive value."
    if !values(headers, "connection").any(|v| header_has_token(v, "upgrade")) {
        return Err(HandshakeError::BadRequest(
            "Connection header must include \"Upgrade\" (RFC 6455 §4.2.1)",
        ));
    }
    // Item 6: "A |Sec-WebSocket-Version| header field, with a value of 13."
    // Checked before the key so that a client speaking another version is
    // told (426 + Sec-WebSocket-Version: 13, §4.4) which one we speak.
    let mut versions = values(headers, "sec-websocket-version");
    match (versions.next(), versions.next()) {
        (None, _) => {
            return Err(HandshakeError::BadRequest(
                "missing Sec-WebSocket-Version header (RFC 6455 §4.2.1)",
            ))
        }
        (Some(v), None) if v.trim_ascii() == b"13" => {}
        _ => return Err(HandshakeError::UnsupportedVersion),
    }
    // Item 5: "A |Sec-WebSocket-Key| header field with a base64-encoded ...
    // value that, when decoded, is 16 bytes in length."
    let key = single_key(headers)?;
    // We never read a body, and bytes after the head are frames; a body
    // would be misread as frames, so a handshake may not announce one.
    let has_body = values(headers, "content-length").any(|v| v.trim_ascii() != b"0")
        || values(headers, "transfer-encoding").next().is_some();
    if has_body {
        return Err(HandshakeError::BadRequest("request body not allowed"));
    }
    let protocols = offered_protocols(headers)?;
    let extensions = joined_extensions(headers)?;
    request.key = Some(key);
    request.protocols = protocols;
    request.extensions = extensions;
    Ok(())
}

/// The one `Sec-WebSocket-Key` (§4.2.1 item 5), checked to be base64 of
/// exactly 16 bytes. A second key header is refused: the server could not
/// know which one the client will verify the accept value against.
fn single_key(headers: &[(String, Vec<u8>)]) -> Result<String, HandshakeError> {
    let mut keys = values(headers, "sec-websocket-key");
    let key = match (keys.next(), keys.next()) {
        (None, _) => {
            return Err(HandshakeError::BadRequest(
                "missing Sec-WebSocket-Key header (RFC 6455 §4.2.1)",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(HandshakeError::BadRequest(
                "duplicate Sec-WebSocket-Key header (RFC 6455 §4.2.1)",
            ))
        }
        (Some(key), None) => key.trim_ascii(),
    };
    // Padded base64 of 16 bytes is always 24 characters; checking the length
    // first keeps the decoder's work bounded.
    let mut decoded = [0u8; 18];
    let decodes_to_16 = key.len() == 24
        && KEY_BASE64
            .decode_slice(key, &mut decoded)
            .is_ok_and(|n| n == 16);
    match core::str::from_utf8(key) {
        Ok(text) if decodes_to_16 => Ok(text.to_owned()),
        _ => Err(HandshakeError::BadRequest(
            "Sec-WebSocket-Key must be base64 of 16 bytes (RFC 6455 §4.2.1)",
        )),
    }
}

/// §4.2.1 item 8 / §4.3 `Sec-WebSocket-Protocol-Client = 1#token`: the
/// tokens of every such header, in order. Empty list elements are allowed by
/// the `#rule`; a header with no token at all, or an element that is not a
/// token, breaks the grammar.
fn offered_protocols(headers: &[(String, Vec<u8>)]) -> Result<Vec<String>, HandshakeError> {
    const BAD: HandshakeError =
        HandshakeError::BadRequest("invalid Sec-WebSocket-Protocol header (RFC 6455 §4.3)");
    let mut protocols = Vec::new();
    for value in values(headers, "sec-websocket-protocol") {
        let text = core::str::from_utf8(value).map_err(|_| BAD)?;
        let before = protocols.len();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !is_token(item) {
                return Err(BAD);
            }
            protocols.push(item.to_owned());
        }
        if protocols.len() == before {
            return Err(BAD);
        }
    }
    Ok(protocols)
}

/// §4.2.1 item 9: every `Sec-WebSocket-Extensions` value joined with `", "`
/// (§9.1: an offer may be split across several headers). Interpreting the
/// offer is left to whoever negotiates extensions.
fn joined_extensions(headers: &[(String, Vec<u8>)]) -> Result<Option<String>, HandshakeError> {
    let mut joined: Option<String> = None;
    for value in values(headers, "sec-websocket-extensions") {
        let text = core::str::from_utf8(value.trim_ascii()).map_err(|_| {
            HandshakeError::BadRequest("Sec-WebSocket-Extensions is not UTF-8 (RFC 6455 §9.1)")
        })?;
        match joined.as_mut() {
            Some(all) => {
                all.push_str(", ");
                all.push_str(text);
            }
            None => joined = Some(text.to_owned()),
        }
    }
    Ok(joined)
}

/// The §3 /resource name/ inside a request-target: the target itself when it
/// is a path (`/…`), or what follows the authority of an absolute `http://`
/// or `https://` URI (§4.2.1 item 1 allows both). `None` for anything else
/// (`*`, an authority, another scheme).
fn origin_form(target: &str) -> Option<&str> {
    if target.starts_with('/') {
        return Some(target);
    }
    let (scheme, rest) = target.split_once("://")?;
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return None;
    }
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    if authority_end == 0 {
        return None;
    }
    rest.get(authority_end..)
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
