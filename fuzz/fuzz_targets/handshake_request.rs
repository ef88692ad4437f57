//! `parse_request` (§4.2.1) on arbitrary bytes, fed as a prefix and then
//! whole, as a server sees a request that arrives in two reads.
//!
//! Oracles:
//! * never panics;
//! * `Ok(None)` only when the head is really incomplete: an independent
//!   httparse parse of the same bytes says `Partial`, and the bytes are
//!   shorter than the head limit; a prefix of a head that completes later is
//!   always `Ok(None)`;
//! * the prefix and the whole agree once the prefix has decided (a verdict
//!   never changes when more bytes arrive);
//! * an accepted WebSocket request, written again with
//!   `write_client_request` from its parsed fields and parsed again, gives
//!   the same target, path, protocols, key, host and origin; the 101 written
//!   for it is accepted by `parse_response`;
//! * every error's `write_error_response` is a well-formed HTTP response to
//!   httparse, with the error's status and a `Content-Length` matching the
//!   body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws6455_fuzz::check_error_response;
use ws6455_proto::handshake::{
    parse_request, parse_response, write_accept_response, write_client_request,
    write_error_response, ClientRequest, MAX_HEADERS,
};

fuzz_target!(|data: &[u8]| {
    // Two bytes of parameters: where to split, and the head limit.
    let [split_seed, limit_seed, bytes @ ..] = data else {
        return;
    };
    let split = usize::from(*split_seed) * bytes.len() / 255;
    // Limits from tiny (so HeadTooLarge is reachable) to roomy.
    let max_head = 16 + usize::from(*limit_seed) * 16;

    let prefix = &bytes[..split];
    let first = parse_request(prefix, max_head);
    let whole = parse_request(bytes, max_head);

    match (&first, &whole) {
        // Once the prefix has decided, more bytes change nothing.
        (Ok(Some(_)) | Err(_), _) => assert_eq!(first, whole, "verdict changed with more bytes"),
        (Ok(None), Ok(Some((_, consumed)))) => assert!(*consumed > split),
        (Ok(None), _) => {}
    }

    match &whole {
        Ok(None) => {
            // Incomplete means: a complete head is not there yet, and the
            // limit has not been reached.
            assert!(
                bytes.len() <= max_head,
                "Ok(None) at {} > {max_head}",
                bytes.len()
            );
            let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut req = httparse::Request::new(&mut slots);
            assert!(
                matches!(req.parse(bytes), Ok(httparse::Status::Partial)),
                "Ok(None) for a head httparse finds complete or invalid"
            );
        }
        Ok(Some((request, consumed))) => {
            assert!(*consumed <= bytes.len() && *consumed <= max_head);
            // The head ends with its blank line.
            assert!(bytes[..*consumed].ends_with(b"\n"));
            if request.is_websocket() {
                round_trip(request, max_head);
            } else {
                assert!(request.key().is_none() && request.protocols().is_empty());
            }
        }
        Err(err) => {
            let mut out = Vec::new();
            write_error_response(&mut out, err);
            check_error_response(&out, err.http_status());
        }
    }
});

/// Writes an accepted request again as a client would and parses it back.
fn round_trip(request: &ws6455_proto::Request, max_head: usize) {
    let key = request.key().expect("a WebSocket request has a key");
    assert_eq!(key.len(), 24);
    assert_eq!(request.method(), "GET");
    let Some(host) = request.host() else {
        // A Host that is not UTF-8 passes §4.2.1 but cannot be rebuilt.
        return;
    };
    let target = request.target();
    // write_client_request percent-encodes or drops what is not visible
    // ASCII, so only such requests come back byte for byte.
    let visible = |s: &str| s.bytes().all(|b| b.is_ascii_graphic());
    if !visible(host) || !visible(target) {
        return;
    }
    let origin = request
        .origin()
        .filter(|o| !o.is_empty())
        .map(str::to_owned);
    let client = ClientRequest {
        host: host.to_owned(),
        path: target.to_owned(),
        protocols: request.protocols().to_vec(),
        origin: origin.clone(),
        headers: Vec::new(),
    };
    let mut wire = Vec::new();
    write_client_request(&mut wire, &client, key);
    // A larger limit: our rewrite may be longer than what was parsed (the
    // protocol list is re-joined with ", ").
    let limit = max_head.max(wire.len() + 1);
    let (again, consumed) = parse_request(&wire, limit)
        .unwrap_or_else(|e| {
            panic!(
                "rewritten request refused: {e:?}\n{}",
                String::from_utf8_lossy(&wire)
            )
        })
        .expect("rewritten request is complete");
    assert_eq!(consumed, wire.len());
    assert!(again.is_websocket());
    assert_eq!(again.target(), request.target());
    assert_eq!(again.path(), request.path());
    assert_eq!(again.query(), request.query());
    assert_eq!(again.protocols(), request.protocols());
    assert_eq!(again.key(), request.key());
    assert_eq!(again.host(), request.host());
    if let Some(origin) = &origin {
        if visible(origin) {
            assert_eq!(again.origin(), Some(origin.as_str()));
        }
    }

    // The server's 101 for it is what the client accepts (§4.2.2 / §4.1).
    let chosen = request.protocols().first().map(String::as_str);
    let mut response = Vec::new();
    write_accept_response(&mut response, key, chosen, None, &[]);
    let (parsed, used) = parse_response(&response, key, request.protocols(), response.len() + 1)
        .expect("our 101 is valid")
        .expect("our 101 is complete");
    assert_eq!(used, response.len());
    assert_eq!(parsed.status(), 101);
    assert_eq!(parsed.protocol(), chosen);
}
