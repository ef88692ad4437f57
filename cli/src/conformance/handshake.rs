//! The opening handshake as wstest does it (RFC 6455 §4), both sides,
//! with the permessage-deflate offers and answers of sections 12-13
//! (RFC 7692 §7.1). The runner reads the peer's handshake the way wstest
//! reads it, so this is not the library's handshake.

use ws6455::proto::deflate::negotiate::{parse_extensions, Extension};
use ws6455::proto::handshake::accept_key;

use super::case::{ClientDeflateOffer, DeflateAccept, DeflateOffer};
use super::compress::Agreed;

/// What we name ourselves in `User-Agent` and `Server`.
pub const PRODUCT: &str = concat!("ws6455-conformance/", env!("CARGO_PKG_VERSION"));

/// The most bytes of handshake head we read.
pub const MAX_HEAD: usize = 16 * 1024;

/// The opening request of a fuzzing client (server mode).
pub fn client_request(host: &str, path: &str, key: &str, offers: &[DeflateOffer]) -> Vec<u8> {
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nUser-Agent: {PRODUCT}\r\nHost: {host}\r\nUpgrade: WebSocket\r\n\
         Connection: Upgrade\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n\
         Sec-WebSocket-Key: {key}\r\n"
    );
    if !offers.is_empty() {
        let list: Vec<String> = offers.iter().map(offer_string).collect();
        req.push_str(&format!(
            "Sec-WebSocket-Extensions: {}\r\n",
            list.join(", ")
        ));
    }
    req.push_str("Sec-WebSocket-Version: 13\r\n\r\n");
    req.into_bytes()
}

/// An offer as autobahn writes it: we accept the server limiting our
/// window and context, and ask what the case asks.
fn offer_string(o: &DeflateOffer) -> String {
    let mut s =
        String::from("permessage-deflate; client_no_context_takeover; client_max_window_bits");
    if o.request_no_context_takeover {
        s.push_str("; server_no_context_takeover");
    }
    if o.request_max_window_bits != 0 {
        s.push_str(&format!(
            "; server_max_window_bits={}",
            o.request_max_window_bits
        ));
    }
    s
}

/// A response head read: status and headers (names lower-cased).
pub struct Head {
    /// The status code (responses) or 0 (requests).
    pub status: u16,
    /// The request target (requests).
    pub target: String,
    /// The headers.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// A header's value (the first of that name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, joined with commas (RFC 7230 §3.2.2).
    pub fn joined(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }
}

fn headers(list: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    list.iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).trim().to_string(),
            )
        })
        .collect()
}

/// Parse a response head: `Ok(None)` needs more bytes; `Ok(Some((head,
/// used)))`.
pub fn parse_response(buf: &[u8]) -> Result<Option<(Head, usize)>, String> {
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut slots);
    match r.parse(buf) {
        Ok(httparse::Status::Complete(used)) => Ok(Some((
            Head {
                status: r.code.unwrap_or(0),
                target: String::new(),
                headers: headers(r.headers),
            },
            used,
        ))),
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => Ok(None),
        Ok(httparse::Status::Partial) => Err("response head too large".into()),
        Err(e) => Err(format!("malformed HTTP response: {e}")),
    }
}

/// Parse a request head, as [`parse_response`].
pub fn parse_request(buf: &[u8]) -> Result<Option<(Head, usize)>, String> {
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Request::new(&mut slots);
    match r.parse(buf) {
        Ok(httparse::Status::Complete(used)) => {
            if r.method != Some("GET") {
                return Err("method is not GET".into());
            }
            Ok(Some((
                Head {
                    status: 0,
                    target: r.path.unwrap_or("/").to_string(),
                    headers: headers(r.headers),
                },
                used,
            )))
        }
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => Ok(None),
        Ok(httparse::Status::Partial) => Err("request head too large".into()),
        Err(e) => Err(format!("malformed HTTP request: {e}")),
    }
}

fn has_token(value: Option<&str>, token: &str) -> bool {
    value.is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// Check a server's answer as autobahn's client does (§4.1): 101, the
/// upgrade, the accept key, and any extension against our offers. The
/// agreed permessage-deflate parameters when the server took an offer.
pub fn check_response(head: &Head, key: &str, offered: bool) -> Result<Option<Agreed>, String> {
    if head.status != 101 {
        return Err(format!("HTTP status {} instead of 101", head.status));
    }
    if !has_token(head.header("upgrade"), "websocket") {
        return Err("Upgrade header missing or not 'websocket'".into());
    }
    if !has_token(head.header("connection"), "upgrade") {
        return Err("Connection header missing or without 'upgrade'".into());
    }
    if head.header("sec-websocket-accept") != Some(accept_key(key.as_bytes()).as_str()) {
        return Err("Sec-WebSocket-Accept missing or wrong".into());
    }
    let Some(value) = head.joined("sec-websocket-extensions") else {
        return Ok(None);
    };
    let list =
        parse_extensions(&value).map_err(|e| format!("bad Sec-WebSocket-Extensions: {e}"))?;
    let mut agreed = None;
    for ext in list {
        if ext.name != "permessage-deflate" || !offered || agreed.is_some() {
            return Err(format!(
                "server answered extension '{}' that was not offered",
                ext.name
            ));
        }
        agreed = Some(parse_deflate_answer(&ext)?);
    }
    Ok(agreed)
}

fn window_bits(value: Option<&str>) -> Result<u8, String> {
    match value.map(str::parse::<u8>) {
        Some(Ok(b @ 8..=15)) => Ok(b),
        _ => Err("illegal window bits".into()),
    }
}

fn parse_deflate_answer(ext: &Extension) -> Result<Agreed, String> {
    let mut a = Agreed {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 0,
        client_max_window_bits: 0,
    };
    let mut seen: Vec<&str> = Vec::new();
    for (name, value) in &ext.params {
        if seen.contains(&name.as_str()) {
            return Err(format!("parameter '{name}' given twice"));
        }
        seen.push(name);
        match (name.as_str(), value.as_deref()) {
            ("server_no_context_takeover", None) => a.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => a.client_no_context_takeover = true,
            ("server_max_window_bits", v) => a.server_max_window_bits = window_bits(v)?,
            ("client_max_window_bits", v) => a.client_max_window_bits = window_bits(v)?,
            _ => return Err(format!("illegal permessage-deflate parameter '{name}'")),
        }
    }
    Ok(a)
}

/// A client's permessage-deflate offers, parsed as autobahn's server
/// parses them (a client always allows no context takeover); an offer it
/// cannot read fails the handshake.
pub fn client_offers(head: &Head) -> Result<Vec<ClientDeflateOffer>, String> {
    let Some(value) = head.joined("sec-websocket-extensions") else {
        return Ok(Vec::new());
    };
    let list =
        parse_extensions(&value).map_err(|e| format!("bad Sec-WebSocket-Extensions: {e}"))?;
    let mut offers = Vec::new();
    for e in list.iter().filter(|e| e.name == "permessage-deflate") {
        let mut o = ClientDeflateOffer {
            accept_no_context_takeover: true,
            ..ClientDeflateOffer::default()
        };
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in &e.params {
            if seen.contains(&name.as_str()) {
                return Err(format!(
                    "multiple occurrence of extension parameter '{name}'"
                ));
            }
            seen.push(name);
            match (name.as_str(), value.as_deref()) {
                ("client_no_context_takeover", None) => {}
                ("client_max_window_bits", None) => o.accept_max_window_bits = true,
                ("client_max_window_bits", v) => {
                    window_bits(v)?;
                    o.accept_max_window_bits = true;
                }
                ("server_no_context_takeover", None) => o.request_no_context_takeover = true,
                ("server_max_window_bits", v) => o.request_max_window_bits = window_bits(v)?,
                _ => {
                    return Err(format!(
                        "illegal extension parameter '{name}' for permessage-deflate"
                    ))
                }
            }
        }
        offers.push(o);
    }
    Ok(offers)
}

/// The `Sec-WebSocket-Extensions` answer for an accepted offer, and what
/// it agrees.
pub fn accept_answer(a: &DeflateAccept) -> (String, Agreed) {
    let mut s = String::from("permessage-deflate");
    if a.offer.request_no_context_takeover {
        s.push_str("; server_no_context_takeover");
    }
    if a.offer.request_max_window_bits != 0 {
        s.push_str(&format!(
            "; server_max_window_bits={}",
            a.offer.request_max_window_bits
        ));
    }
    if a.request_no_context_takeover {
        s.push_str("; client_no_context_takeover");
    }
    if a.request_max_window_bits != 0 {
        s.push_str(&format!(
            "; client_max_window_bits={}",
            a.request_max_window_bits
        ));
    }
    let agreed = Agreed {
        server_no_context_takeover: a.offer.request_no_context_takeover,
        client_no_context_takeover: a.request_no_context_takeover,
        server_max_window_bits: a.offer.request_max_window_bits,
        client_max_window_bits: a.request_max_window_bits,
    };
    (s, agreed)
}

/// The 101 answer to a client (client mode).
pub fn accept_response(key: &str, extensions: Option<&str>) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 101 Switching Protocols\r\nServer: {PRODUCT}\r\nUpgrade: WebSocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        accept_key(key.as_bytes())
    );
    if let Some(ext) = extensions {
        r.push_str(&format!("Sec-WebSocket-Extensions: {ext}\r\n"));
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// A refusal (client mode: a request wstest would not accept).
pub fn refusal(status: u16, why: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} Bad Request\r\nServer: {PRODUCT}\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{why}",
        why.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_are_written_as_autobahn_writes_them() {
        let o = DeflateOffer {
            request_no_context_takeover: true,
            request_max_window_bits: 9,
        };
        assert_eq!(
            offer_string(&o),
            "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=9"
        );
    }

    #[test]
    fn a_response_must_upgrade_with_the_right_key() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let raw = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=9\r\n\r\n";
        let (head, used) = parse_response(raw).unwrap().unwrap();
        assert_eq!(used, raw.len());
        let agreed = check_response(&head, key, true).unwrap().unwrap();
        assert_eq!(agreed.client_max_window_bits, 9);
        assert!(
            check_response(&head, key, false).is_err(),
            "an extension never offered"
        );
        assert!(check_response(&head, "AAAAAAAAAAAAAAAAAAAAAA==", true).is_err());
    }

    #[test]
    fn client_offers_are_read_and_answered() {
        let raw = b"GET /runCase?case=1&agent=x HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits=9; server_no_context_takeover\r\n\r\n";
        let (head, _) = parse_request(raw).unwrap().unwrap();
        let offers = client_offers(&head).unwrap();
        assert_eq!(offers.len(), 2);
        assert!(offers[0].accept_max_window_bits);
        assert_eq!(offers[1].request_max_window_bits, 9);
        let (answer, agreed) = accept_answer(&DeflateAccept {
            offer: offers[1],
            request_no_context_takeover: false,
            request_max_window_bits: 0,
        });
        assert_eq!(
            answer,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=9"
        );
        assert!(agreed.server_no_context_takeover);
    }
}
