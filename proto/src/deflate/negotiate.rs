//! RFC 7692 §5 and §7.1: negotiating permessage-deflate in the opening
//! handshake.
//!
//! The header grammar is RFC 6455 §9.1:
//!
//! ```text
//! Sec-WebSocket-Extensions = extension-list
//! extension-list = 1#extension
//! extension = extension-token *( ";" extension-param )
//! extension-token = registered-token
//! registered-token = token
//! extension-param = token [ "=" (token | quoted-string) ]
//!     ;When using the quoted-string syntax variant, the value
//!     ;after quoted-string unescaping MUST conform to the
//!     ;'token' ABNF.
//! ```
//!
//! A server takes the first permessage-deflate offer it can accept and
//! declines the others (§5.1: an offer with an unknown, duplicated or
//! invalid parameter is declined). A client fails the handshake when the
//! answer is not one it can live with (§5.1).

use alloc::{string::String, string::ToString, vec::Vec};

use super::{DeflateConfig, DeflateParams, MAX_WINDOW_BITS};
use crate::error::HandshakeError;

/// The extension's registered name (§7).
pub const EXTENSION_NAME: &str = "permessage-deflate";

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// One element of a `Sec-WebSocket-Extensions` list (RFC 6455 §9.1): an
/// extension name and its parameters, quoted values unescaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// Parameters in order: name and value (`None` for a bare name).
    pub params: Vec<(String, Option<String>)>,
}

/// Parse a `Sec-WebSocket-Extensions` value (several header lines joined
/// with commas are one list) into its elements, in order. Empty list
/// elements are skipped (RFC 7230 §7 `#rule`). `Err` when the value breaks
/// the §9.1 grammar anywhere.
pub fn parse_extensions(value: &str) -> Result<Vec<Extension>, HandshakeError> {
    const BAD: HandshakeError =
        HandshakeError::BadRequest("malformed Sec-WebSocket-Extensions (RFC 6455 §9.1)");
    let mut cur = Cursor {
        s: value.as_bytes(),
        i: 0,
    };
    let mut list = Vec::new();
    loop {
        cur.skip_ows();
        match cur.peek() {
            None => return Ok(list),
            Some(b',') => {
                cur.bump();
                continue;
            }
            Some(_) => {}
        }
        let name = cur.token().ok_or(BAD)?;
        let mut params = Vec::new();
        loop {
            cur.skip_ows();
            match cur.peek() {
                None => break,
                Some(b',') => {
                    cur.bump();
                    break;
                }
                Some(b';') => cur.bump(),
                Some(_) => return Err(BAD),
            }
            cur.skip_ows();
            let param = cur.token().ok_or(BAD)?;
            cur.skip_ows();
            let value = if cur.peek() == Some(b'=') {
                cur.bump();
                cur.skip_ows();
                let v = if cur.peek() == Some(b'"') {
                    cur.quoted().ok_or(BAD)?
                } else {
                    cur.token().ok_or(BAD)?
                };
                Some(v)
            } else {
                None
            };
            params.push((param, value));
        }
        list.push(Extension { name, params });
    }
}

/// A byte cursor over a header value.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Step over the byte `peek` returned (`i` never passes `s.len()`).
    fn bump(&mut self) {
        self.i = self.i.saturating_add(1);
    }

    /// OWS = *( SP / HTAB ) (RFC 7230 §3.2.3).
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.bump();
        }
    }

    /// token = 1*tchar (RFC 7230 §3.2.6).
    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.bump();
        }
        let bytes = self.s.get(start..self.i)?;
        if bytes.is_empty() {
            return None;
        }
        String::from_utf8(bytes.to_vec()).ok()
    }

    /// quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE, whose
    /// unescaped content must be a token (RFC 6455 §9.1).
    fn quoted(&mut self) -> Option<String> {
        self.bump();
        let mut out = Vec::new();
        loop {
            let b = self.peek()?;
            self.bump();
            match b {
                b'"' => break,
                b'\\' => {
                    out.push(self.peek()?);
                    self.bump();
                }
                _ => out.push(b),
            }
        }
        if out.is_empty() || !out.iter().copied().all(is_tchar) {
            return None;
        }
        String::from_utf8(out).ok()
    }
}

/// tchar (RFC 7230 §3.2.6).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// §7.1.2: a window size value is a decimal integer from 8 to 15 without
/// leading zeros.
fn window_bits(value: &str) -> Option<u8> {
    match value.parse::<u8>() {
        Ok(bits @ 8..=15) if !value.starts_with('0') && !value.starts_with('+') => Some(bits),
        _ => None,
    }
}

/// The four parameters of §7.1 as one offer or response states them.
#[derive(Default)]
struct Stated {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value (allowed in an offer only).
    client_max_window_bits: Option<Option<u8>>,
}

/// Read the parameters of one element, or `None` if one is unknown,
/// repeated or has an invalid value (§5.1). `response` requires the value
/// of `client_max_window_bits` (§7.1.2.2: a server's answer carries one).
fn read_params(params: &[(String, Option<String>)], response: bool) -> Option<Stated> {
    let mut stated = Stated::default();
    let mut seen = [false; 4];
    for (name, value) in params {
        let index = match name.as_str() {
            SERVER_NO_CONTEXT_TAKEOVER => 0,
            CLIENT_NO_CONTEXT_TAKEOVER => 1,
            SERVER_MAX_WINDOW_BITS => 2,
            CLIENT_MAX_WINDOW_BITS => 3,
            _ => return None,
        };
        let slot = seen.get_mut(index)?;
        if *slot {
            return None;
        }
        *slot = true;
        let value = value.as_deref();
        match index {
            // §7.1.1: "This extension parameter has no value."
            0 if value.is_none() => stated.server_no_context_takeover = true,
            1 if value.is_none() => stated.client_no_context_takeover = true,
            // §7.1.2.1: this parameter always has a value.
            2 => stated.server_max_window_bits = Some(window_bits(value?)?),
            3 => {
                stated.client_max_window_bits = Some(match value {
                    Some(v) => Some(window_bits(v)?),
                    None if response => return None,
                    None => None,
                })
            }
            _ => return None,
        }
    }
    Some(stated)
}

/// Server side (§5, §7.1): choose the first permessage-deflate offer in
/// `offers` (the request's `Sec-WebSocket-Extensions`) that `config` can
/// accept. Returns the agreed parameters and the response's
/// `Sec-WebSocket-Extensions` value, or `None` to decline every offer
/// (the connection then runs uncompressed). A value that breaks the §9.1
/// grammar is declined as a whole: its elements cannot be told apart.
pub fn negotiate_server(offers: &str, config: &DeflateConfig) -> Option<(DeflateParams, String)> {
    parse_extensions(offers)
        .ok()?
        .iter()
        .filter(|e| e.name.eq_ignore_ascii_case(EXTENSION_NAME))
        .find_map(|e| accept_offer(&e.params, config))
}

fn accept_offer(
    params: &[(String, Option<String>)],
    config: &DeflateConfig,
) -> Option<(DeflateParams, String)> {
    let offer = read_params(params, false)?;
    // §7.1.1.1: the server may reset its context whether asked or not;
    // §7.1.1.2: it may ask the client to, whether the client offered or not.
    let server_no_context_takeover =
        offer.server_no_context_takeover || config.server_no_context_takeover;
    let client_no_context_takeover =
        offer.client_no_context_takeover || config.client_no_context_takeover;
    // §7.1.2.1: answer with "the same or smaller value as the offer"; with
    // no offer, a smaller window may be announced all the same. An offer of
    // 8 is accepted: we then send uncompressed (see `send_window`).
    let ours = config.server_bits();
    let server_bits = offer.server_max_window_bits.map_or(ours, |n| n.min(ours));
    let announce_server = offer.server_max_window_bits.is_some() || server_bits < MAX_WINDOW_BITS;
    // §7.1.2.2: only a client that offered the parameter may be told a
    // window, and not a larger one than it offered.
    let (client_bits, announce_client) = match offer.client_max_window_bits {
        None => (MAX_WINDOW_BITS, false),
        Some(limit) => {
            let bits = limit.unwrap_or(MAX_WINDOW_BITS).min(config.client_bits());
            (bits, limit.is_some() || bits < MAX_WINDOW_BITS)
        }
    };
    let params = DeflateParams {
        server_no_context_takeover,
        client_no_context_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    };
    let mut response = String::from(EXTENSION_NAME);
    if server_no_context_takeover {
        push_param(&mut response, SERVER_NO_CONTEXT_TAKEOVER, None);
    }
    if client_no_context_takeover {
        push_param(&mut response, CLIENT_NO_CONTEXT_TAKEOVER, None);
    }
    if announce_server {
        push_param(&mut response, SERVER_MAX_WINDOW_BITS, Some(server_bits));
    }
    if announce_client {
        push_param(&mut response, CLIENT_MAX_WINDOW_BITS, Some(client_bits));
    }
    Some((params, response))
}

fn push_param(out: &mut String, name: &str, value: Option<u8>) {
    out.push_str("; ");
    out.push_str(name);
    if let Some(v) = value {
        out.push('=');
        out.push_str(&v.to_string());
    }
}

/// Client side (§7.1): the `Sec-WebSocket-Extensions` offer for `config`.
/// It always carries `client_max_window_bits` (§7.1.2.2: so the server may
/// ask for a smaller window), with a value when ours is below 15.
pub fn client_offer(config: &DeflateConfig) -> String {
    let mut offer = String::from(EXTENSION_NAME);
    if config.server_no_context_takeover {
        push_param(&mut offer, SERVER_NO_CONTEXT_TAKEOVER, None);
    }
    if config.client_no_context_takeover {
        push_param(&mut offer, CLIENT_NO_CONTEXT_TAKEOVER, None);
    }
    if config.server_bits() < MAX_WINDOW_BITS {
        push_param(
            &mut offer,
            SERVER_MAX_WINDOW_BITS,
            Some(config.server_bits()),
        );
    }
    let client = config.client_bits();
    push_param(
        &mut offer,
        CLIENT_MAX_WINDOW_BITS,
        (client < MAX_WINDOW_BITS).then_some(client),
    );
    offer
}

/// Client side (§5.1, §7.1): check the server's `Sec-WebSocket-Extensions`
/// answer to [`client_offer`]`(config)`. `Ok(None)`: the server declined
/// (no or an empty header); `Ok(Some(params))`: the agreement; `Err`: fail
/// the connection — an extension we did not offer, the extension twice, an
/// unknown, repeated or invalid parameter, a window larger than we asked
/// for, or a request of ours the answer ignores.
pub fn validate_response(
    value: Option<&str>,
    config: &DeflateConfig,
) -> Result<Option<DeflateParams>, HandshakeError> {
    const MALFORMED: HandshakeError =
        HandshakeError::BadResponse("malformed Sec-WebSocket-Extensions (RFC 6455 §9.1)");
    const NOT_OFFERED: HandshakeError = HandshakeError::BadResponse(
        "server selected an extension we did not offer (RFC 6455 §4.1)",
    );
    const BAD_PARAMS: HandshakeError = HandshakeError::BadResponse(
        "server's permessage-deflate parameters are invalid or were not offered (RFC 7692 §5.1)",
    );
    let Some(value) = value else {
        return Ok(None);
    };
    let list = parse_extensions(value).map_err(|_| MALFORMED)?;
    let mut elements = list.iter();
    let (element, extra) = match (elements.next(), elements.next()) {
        (None, _) => return Ok(None),
        (Some(e), None) => (e, false),
        (Some(e), Some(_)) => (e, true),
    };
    // We offered one extension once: anything else was not offered.
    if extra || !element.name.eq_ignore_ascii_case(EXTENSION_NAME) {
        return Err(NOT_OFFERED);
    }
    let answer = read_params(&element.params, true).ok_or(BAD_PARAMS)?;
    // §7.1.1.1 / §7.1.2.1: a server accepts a request by echoing it.
    if config.server_no_context_takeover && !answer.server_no_context_takeover {
        return Err(BAD_PARAMS);
    }
    let asked_server = (config.server_bits() < MAX_WINDOW_BITS).then(|| config.server_bits());
    let server_bits = match (asked_server, answer.server_max_window_bits) {
        (Some(_), None) => return Err(BAD_PARAMS),
        (Some(asked), Some(got)) if got > asked => return Err(BAD_PARAMS),
        (_, got) => got.unwrap_or(MAX_WINDOW_BITS),
    };
    // §7.1.2.2: at most the value we offered (we offered the parameter).
    let client_bits = match answer.client_max_window_bits {
        Some(Some(got)) if got > config.client_bits() => return Err(BAD_PARAMS),
        Some(Some(got)) => got,
        _ => config.client_bits(),
    };
    Ok(Some(DeflateParams {
        server_no_context_takeover: answer.server_no_context_takeover,
        // Our own offer of it is a promise we keep whatever the answer.
        client_no_context_takeover: answer.client_no_context_takeover
            || config.client_no_context_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    }))
}

#[cfg(test)]
#[path = "negotiate_tests.rs"]
mod tests;
