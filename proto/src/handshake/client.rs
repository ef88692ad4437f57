//! §4.1 the client's side of the opening handshake: writing the `GET`
//! request and validating the server's answer.
//!
//! The nonce for `Sec-WebSocket-Key` comes from the caller ("The nonce MUST
//! be selected randomly for each connection"): the core has no random source
//! of its own, so the shell draws 16 bytes and passes them to
//! `encode_key`.

use alloc::{borrow::ToOwned, string::String, vec::Vec};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::{
    accept_key_bytes, first_str, head_status, head_window, header_has_token, httparse_error,
    is_handshake_header, is_safe_header, is_safe_value, is_token, own_headers, push_header, values,
    MAX_HEADERS,
};
use crate::error::HandshakeError;
use crate::uri::WsUri;

/// What a client puts in its opening request (§4.1): the /host/, /port/ and
/// /resource name/ of a §3 URI, the /protocols/ it offers, an /origin/ and
/// any other headers (cookies, authorization — §4.1 item 12).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientRequest {
    /// The `Host` header value, `host[:port]` (§4.1 item 4: "/host/ plus
    /// optionally ":" followed by /port/ (when not using the default
    /// port)"); see [`WsUri::host_header`].
    pub host: String,
    /// The request-target: the §3 /resource name/, path plus `?query`; `/`
    /// if empty.
    pub path: String,
    /// Subprotocols offered, most preferred first (§4.1 item 10). Entries
    /// that are not HTTP tokens are left out of the request.
    pub protocols: Vec<String>,
    /// The `Origin` header (§4.1 item 8), sent when set.
    pub origin: Option<String>,
    /// Further headers, written after the handshake's own. Ones named like a
    /// handshake header (`Host`, `Upgrade`, `Connection`, `Content-Length`,
    /// `Transfer-Encoding`, `Sec-WebSocket-*`, and `Origin` when
    /// [`origin`](Self::origin) is set) or whose name or value could break
    /// the request (CR, LF, other control characters) are skipped.
    pub headers: Vec<(String, String)>,
}

impl ClientRequest {
    /// A request for `path` on `host` (§4.1), offering no subprotocols and no
    /// origin. An empty path becomes `/` (§3: "/" if the path component is
    /// empty).
    pub fn new(host: impl Into<String>, path: impl Into<String>) -> Self {
        let mut path = path.into();
        if path.is_empty() {
            path.push('/');
        }
        ClientRequest {
            host: host.into(),
            path,
            ..ClientRequest::default()
        }
    }

    /// The request for a parsed §3 URI: its `Host` header value and
    /// /resource name/ (§4.1 items 3 and 4).
    pub fn from_uri(uri: &WsUri) -> Self {
        ClientRequest::new(uri.host_header(), uri.resource.clone())
    }
}

/// Write the §4.1 opening request into `out`: `GET <path> HTTP/1.1`, `Host`,
/// `Upgrade: websocket`, `Connection: Upgrade`, `Sec-WebSocket-Key: <key>`,
/// `Sec-WebSocket-Version: 13`, then `Sec-WebSocket-Protocol`, `Origin` and
/// the caller's headers.
///
/// `key` is the base64 nonce from `encode_key`. Nothing the caller passes
/// can end a line early: bytes of the path outside visible ASCII (and `#`,
/// which §3 says "MUST be escaped as %23") are percent-encoded; bytes of
/// `host` and `key` outside visible ASCII are dropped; unsafe headers are
/// skipped (see [`ClientRequest::headers`]).
pub fn write_client_request(out: &mut Vec<u8>, req: &ClientRequest, key: &str) {
    write_client_request_offering(out, req, key, None);
}

/// [`write_client_request`] offering `extensions` (§4.1 item 11, §9.1) in
/// a `Sec-WebSocket-Extensions` header, written when it is free of control
/// characters. The core offers only extensions it implements (RFC 7692
/// permessage-deflate, see [`crate::Config`]); callers cannot add
/// the header through [`ClientRequest::headers`].
pub(crate) fn write_client_request_offering(
    out: &mut Vec<u8>,
    req: &ClientRequest,
    key: &str,
    extensions: Option<&str>,
) {
    out.extend_from_slice(b"GET ");
    push_target(out, &req.path);
    out.extend_from_slice(b" HTTP/1.1\r\n");
    push_header(out, "Host", &visible_ascii(&req.host));
    push_header(out, "Upgrade", b"websocket");
    push_header(out, "Connection", b"Upgrade");
    push_header(out, "Sec-WebSocket-Key", &visible_ascii(key));
    push_header(out, "Sec-WebSocket-Version", b"13");
    // §4.1 item 10: "The elements that comprise this value MUST be non-empty
    // strings with characters in the range U+0021 to U+007E not including
    // separator characters" — so non-tokens are left out.
    let protocols: Vec<&str> = req
        .protocols
        .iter()
        .map(String::as_str)
        .filter(|p| is_token(p))
        .collect();
    if !protocols.is_empty() {
        push_header(
            out,
            "Sec-WebSocket-Protocol",
            protocols.join(", ").as_bytes(),
        );
    }
    if let Some(extensions) = extensions.filter(|e| is_safe_value(e) && !e.is_empty()) {
        push_header(out, "Sec-WebSocket-Extensions", extensions.as_bytes());
    }
    let origin = req.origin.as_deref().filter(|o| is_safe_value(o));
    if let Some(origin) = origin {
        push_header(out, "Origin", origin.as_bytes());
    }
    for (name, value) in &req.headers {
        let duplicates_origin = origin.is_some() && name.eq_ignore_ascii_case("origin");
        if is_safe_header(name, value) && !is_handshake_header(name) && !duplicates_origin {
            push_header(out, name, value.as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// §4.1 item 7: the `Sec-WebSocket-Key` text for a 16-byte nonce, "a
/// randomly selected 16-byte value that has been base64-encoded" (24
/// characters).
pub(crate) fn encode_key(nonce: &[u8; 16]) -> String {
    STANDARD.encode(nonce)
}

/// The server's answer to our opening request (§4.1), validated by
/// [`parse_response`]: a 101 whose accept value matches our key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Response {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    protocol: Option<String>,
    extensions: Option<String>,
}

impl Response {
    /// The status code (always 101 for a parsed response, §4.1).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The value of the first header called `name` (case-insensitive, as
    /// §4.1 reminds: "all header field names in both HTTP requests and HTTP
    /// responses are case-insensitive"), trimmed; `None` if absent or not
    /// UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        first_str(&self.headers, name)
    }

    /// Every header as (name, raw value), in the order received (§4.1: e.g.
    /// the _Cookies Set During the Server's Opening Handshake_).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_slice()))
    }

    /// §4.1 the _Subprotocol In Use_: the server's `Sec-WebSocket-Protocol`,
    /// one of those we offered, or `None` (the null value).
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// §4.1 the _Extensions In Use_: the server's `Sec-WebSocket-Extensions`
    /// (several headers joined with `", "`), or `None`. Without an offer of
    /// ours it is at most empty; with one, the connection checked it
    /// (RFC 7692 §5.1 for permessage-deflate) before reporting it.
    pub fn extensions(&self) -> Option<&str> {
        self.extensions.as_deref()
    }
}

/// Parse and validate the server's response head from the start of `buf`,
/// which may hold only part of it (§4.1; call again with more bytes).
///
/// * `Ok(None)`: incomplete, still at most `max_head` bytes.
/// * `Ok(Some((response, consumed)))`: the handshake succeeded; bytes after
///   `consumed` are the server's first frames.
/// * `Err(_)`: _Fail the WebSocket Connection_. A status other than 101 is
///   [`HandshakeError::UnexpectedStatus`]; a 101 that breaks §4.1 is
///   [`HandshakeError::BadResponse`].
///
/// `key` is the `Sec-WebSocket-Key` we sent and `offered_protocols` the
/// subprotocols we offered.
pub fn parse_response(
    buf: &[u8],
    key: &str,
    offered_protocols: &[String],
    max_head: usize,
) -> Result<Option<(Response, usize)>, HandshakeError> {
    parse_response_offering(buf, key, offered_protocols, false, max_head)
}

/// [`parse_response`] after a request that offered extensions
/// (`offered_extensions`): a `Sec-WebSocket-Extensions` answer is then
/// returned in [`Response::extensions`] for the caller to check against
/// its offer (§4.1 step 5), instead of failing the handshake.
pub(crate) fn parse_response_offering(
    buf: &[u8],
    key: &str,
    offered_protocols: &[String],
    offered_extensions: bool,
    max_head: usize,
) -> Result<Option<(Response, usize)>, HandshakeError> {
    let window = head_window(buf, max_head);
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut slots);
    let status = parsed.parse(window).map_err(httparse_error)?;
    let Some(consumed) = head_status(status, window.len(), max_head)? else {
        return Ok(None);
    };
    let (Some(version), Some(code)) = (parsed.version, parsed.code) else {
        return Err(HandshakeError::MalformedHttp("incomplete status line"));
    };
    // §4.1 step 1: "If the status code received from the server is not 101,
    // the client handles the response per HTTP [RFC2616] procedures" — not
    // ours to follow redirects or authenticate, so the caller gets the code.
    if code != 101 {
        return Err(HandshakeError::UnexpectedStatus(code));
    }
    if version < 1 {
        return Err(HandshakeError::BadResponse(
            "101 response must be HTTP/1.1 (RFC 6455 §4.1)",
        ));
    }
    let headers = own_headers(parsed.headers);
    validate_headers(&headers, key)?;
    let protocol = selected_protocol(&headers, offered_protocols)?;
    let extensions = if offered_extensions {
        joined_extensions(&headers)
    } else {
        selected_extensions(&headers)?
    };
    let response = Response {
        status: code,
        headers,
        protocol,
        extensions,
    };
    Ok(Some((response, consumed)))
}

/// §4.1 steps 2–4: `Upgrade`, `Connection` and `Sec-WebSocket-Accept`.
fn validate_headers(headers: &[(String, Vec<u8>)], key: &str) -> Result<(), HandshakeError> {
    // Step 2: "If the response lacks an |Upgrade| header field or the
    // |Upgrade| header field contains a value that is not an ASCII
    // case-insensitive match for the value "websocket", the client MUST
    // _Fail the WebSocket Connection_."
    let mut upgrades = values(headers, "upgrade").peekable();
    let upgrade_ok = upgrades.peek().is_some()
        && upgrades.all(|v| v.trim_ascii().eq_ignore_ascii_case(b"websocket"));
    if !upgrade_ok {
        return Err(HandshakeError::BadResponse(
            "response Upgrade header must be \"websocket\" (RFC 6455 §4.1)",
        ));
    }
    // Step 3: "If the response lacks a |Connection| header field or the
    // |Connection| header field doesn't contain a token that is an ASCII
    // case-insensitive match for the value "Upgrade", the client MUST _Fail
    // the WebSocket Connection_."
    if !values(headers, "connection").any(|v| header_has_token(v, "upgrade")) {
        return Err(HandshakeError::BadResponse(
            "response Connection header must include \"Upgrade\" (RFC 6455 §4.1)",
        ));
    }
    // Step 4: "If the response lacks a |Sec-WebSocket-Accept| header field or
    // the |Sec-WebSocket-Accept| contains a value other than the
    // base64-encoded SHA-1 of the concatenation of the |Sec-WebSocket-Key|
    // ... but ignoring any leading and trailing whitespace, the client MUST
    // _Fail the WebSocket Connection_." Two accept headers are refused: which
    // one would the server have meant?
    let mut accepts = values(headers, "sec-websocket-accept");
    match (accepts.next(), accepts.next()) {
        (None, _) => Err(HandshakeError::BadResponse(
            "missing Sec-WebSocket-Accept header (RFC 6455 §4.1)",
        )),
        (Some(accept), None) if accept.trim_ascii() == accept_key_bytes(key.as_bytes()) => Ok(()),
        _ => Err(HandshakeError::BadResponse(
            "Sec-WebSocket-Accept does not match our key (RFC 6455 §4.1)",
        )),
    }
}

/// §4.1 step 6: "If the response includes a |Sec-WebSocket-Protocol| header
/// field and this header field indicates the use of a subprotocol that was
/// not present in the client's handshake ..., the client MUST _Fail the
/// WebSocket Connection_." The server may also decline all of them by
/// sending none (§4.2.2 /subprotocol/ null). Its value is one token
/// (§4.3 `Sec-WebSocket-Protocol-Server = token`), so a list or a second
/// header is refused too.
fn selected_protocol(
    headers: &[(String, Vec<u8>)],
    offered: &[String],
) -> Result<Option<String>, HandshakeError> {
    const NOT_OFFERED: HandshakeError = HandshakeError::BadResponse(
        "server selected a subprotocol we did not offer (RFC 6455 §4.1)",
    );
    let mut selected = values(headers, "sec-websocket-protocol");
    match (selected.next(), selected.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => {
            let value = core::str::from_utf8(value.trim_ascii()).map_err(|_| NOT_OFFERED)?;
            match offered.iter().find(|p| p.as_str() == value) {
                Some(protocol) => Ok(Some(protocol.clone())),
                None => Err(NOT_OFFERED),
            }
        }
        (Some(_), Some(_)) => Err(HandshakeError::BadResponse(
            "several Sec-WebSocket-Protocol headers (RFC 6455 §4.3)",
        )),
    }
}

/// §4.1 step 5: "If the response includes a |Sec-WebSocket-Extensions|
/// header field and this header field indicates the use of an extension that
/// was not present in the client's handshake ..., the client MUST _Fail the
/// WebSocket Connection_." We offer none, so any named extension fails; an
/// empty header names none.
fn selected_extensions(headers: &[(String, Vec<u8>)]) -> Result<Option<String>, HandshakeError> {
    let mut present = false;
    for value in values(headers, "sec-websocket-extensions") {
        present = true;
        if !value.trim_ascii().is_empty() {
            return Err(HandshakeError::BadResponse(
                "server selected an extension we did not offer (RFC 6455 §4.1)",
            ));
        }
    }
    Ok(present.then(String::new))
}

/// Every `Sec-WebSocket-Extensions` value joined with `", "` (§9.1: one
/// list, however many header lines carry it), `None` without one; a value
/// that is not UTF-8 is kept as an unparseable marker so the check fails.
fn joined_extensions(headers: &[(String, Vec<u8>)]) -> Option<String> {
    let mut joined: Option<String> = None;
    for value in values(headers, "sec-websocket-extensions") {
        let text = core::str::from_utf8(value.trim_ascii()).unwrap_or("\u{fffd}");
        match joined.as_mut() {
            Some(j) => {
                j.push_str(", ");
                j.push_str(text);
            }
            None => joined = Some(text.to_owned()),
        }
    }
    joined
}

/// Append the request-target, percent-encoding every byte that could end the
/// request line or is not allowed in a URI (controls, space, non-ASCII), and
/// `#` (§3: "the character "#", when not indicating the start of a fragment,
/// MUST be escaped as %23"). An empty path is sent as `/`.
fn push_target(out: &mut Vec<u8>, path: &str) {
    if path.is_empty() {
        out.push(b'/');
        return;
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in path.bytes() {
        if b.is_ascii_graphic() && b != b'#' {
            out.push(b);
        } else {
            out.push(b'%');
            out.extend(HEX.get(usize::from(b >> 4)));
            out.extend(HEX.get(usize::from(b & 0x0f)));
        }
    }
}

/// `s` without the bytes that may not appear in a host or a base64 key
/// (anything outside visible ASCII), so a caller's CR or LF cannot end the
/// header line.
fn visible_ascii(s: &str) -> Vec<u8> {
    s.bytes().filter(u8::is_ascii_graphic).collect()
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
