//! `parse_response` (§4.1) on arbitrary bytes with a fixed key, fed as a
//! prefix and then whole.
//!
//! Oracles:
//! * never panics;
//! * a verdict never changes when more bytes arrive, and `Ok(None)` only
//!   while httparse also sees an incomplete head within the limit;
//! * every accepted response is, to an independent httparse parse, a
//!   complete `HTTP/1.1 101` whose single `Sec-WebSocket-Accept` is the
//!   §1.3 value for our key, with `Upgrade: websocket`, a `Connection`
//!   listing `Upgrade`, and a subprotocol we offered (or none).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws6455_fuzz::{OFFERED_PROTOCOLS, RFC_KEY};
use ws6455_proto::handshake::{accept_key, header_has_token, parse_response, MAX_HEADERS};
use ws6455_proto::HandshakeError;

fuzz_target!(|data: &[u8]| {
    let [split_seed, limit_seed, bytes @ ..] = data else {
        return;
    };
    let split = usize::from(*split_seed) * bytes.len() / 255;
    let max_head = 16 + usize::from(*limit_seed) * 16;
    let offered: Vec<String> = OFFERED_PROTOCOLS.iter().map(|p| p.to_string()).collect();

    let first = parse_response(&bytes[..split], RFC_KEY, &offered, max_head);
    let whole = parse_response(bytes, RFC_KEY, &offered, max_head);
    match (&first, &whole) {
        (Ok(Some(_)) | Err(_), _) => assert_eq!(first, whole, "verdict changed with more bytes"),
        (Ok(None), Ok(Some((_, consumed)))) => assert!(*consumed > split),
        (Ok(None), _) => {}
    }

    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut independent = httparse::Response::new(&mut slots);
    let status = independent.parse(bytes);
    match &whole {
        Ok(None) => {
            assert!(bytes.len() <= max_head);
            assert!(matches!(status, Ok(httparse::Status::Partial)));
        }
        Ok(Some((response, consumed))) => {
            assert_eq!(status, Ok(httparse::Status::Complete(*consumed)));
            assert!(*consumed <= max_head);
            assert_eq!(independent.code, Some(101));
            assert_eq!(independent.version, Some(1));
            assert_eq!(response.status(), 101);
            let named = |name: &str| {
                independent
                    .headers
                    .iter()
                    .filter(|h| h.name.eq_ignore_ascii_case(name))
                    .map(|h| h.value)
                    .collect::<Vec<_>>()
            };
            let accepts = named("sec-websocket-accept");
            assert_eq!(accepts.len(), 1, "exactly one accept header");
            assert_eq!(
                accepts[0].trim_ascii(),
                accept_key(RFC_KEY.as_bytes()).as_bytes()
            );
            let upgrades = named("upgrade");
            assert!(!upgrades.is_empty());
            assert!(upgrades
                .iter()
                .all(|v| v.trim_ascii().eq_ignore_ascii_case(b"websocket")));
            assert!(named("connection")
                .iter()
                .any(|v| header_has_token(v, "upgrade")));
            if let Some(p) = response.protocol() {
                assert!(
                    OFFERED_PROTOCOLS.contains(&p),
                    "protocol {p:?} was not offered"
                );
            }
        }
        Err(HandshakeError::UnexpectedStatus(code)) => {
            // Only a complete head has a status worth reporting.
            assert!(matches!(status, Ok(httparse::Status::Complete(_))));
            assert_ne!(*code, 101);
            assert_eq!(independent.code, Some(*code));
        }
        Err(_) => {}
    }
});
