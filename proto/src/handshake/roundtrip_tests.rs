//! Property tests across both sides of §4: what the client writes, the
//! server parses back unchanged; what the server answers, the client
//! accepts; and no strict prefix of either head is mistaken for a whole one.

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

const MAX: usize = 16 * 1024;

/// A path plus optional query made of characters a request-target carries
/// literally.
fn path() -> impl Strategy<Value = String> {
    (
        vec("[a-zA-Z0-9._~!$&'()*+,;=:@%-]{0,8}", 0..4),
        proptest::option::of("[a-zA-Z0-9=&/?._-]{0,12}"),
    )
        .prop_map(|(segments, query)| {
            let mut p = String::new();
            for s in segments {
                p.push('/');
                p.push_str(&s);
            }
            if p.is_empty() {
                p.push('/');
            }
            if let Some(q) = query {
                p.push('?');
                p.push_str(&q);
            }
            p
        })
}

/// Distinct subprotocol tokens, in order.
fn protocols() -> impl Strategy<Value = Vec<String>> {
    vec("[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,10}", 0..5).prop_map(|mut ps| {
        let mut seen = std::collections::HashSet::new();
        ps.retain(|p| seen.insert(p.clone()));
        ps
    })
}

/// Extra header values from a safe alphabet (visible ASCII and inner
/// spaces; leading/trailing whitespace is not part of a field value).
fn header_values() -> impl Strategy<Value = Vec<String>> {
    vec("[!-~]([ -~]{0,20}[!-~])?", 0..6)
}

proptest! {
    #[test]
    fn client_request_round_trips_and_is_accepted(
        path in path(),
        protocols in protocols(),
        values in header_values(),
        nonce in any::<[u8; 16]>(),
        origin in proptest::option::of("https?://[a-z]{1,10}(:[0-9]{1,5})?"),
        host in "[a-z0-9.-]{1,20}(:[0-9]{1,5})?",
        trailing in vec(any::<u8>(), 0..16),
        pick in any::<prop::sample::Index>(),
    ) {
        let key = encode_key(&nonce);
        let mut req = ClientRequest::new(host.clone(), path.clone());
        req.protocols = protocols.clone();
        req.origin = origin.clone();
        req.headers = values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("X-Extra-{i}"), v.clone()))
            .collect();
        let mut wire = Vec::new();
        write_client_request(&mut wire, &req, &key);
        let head_len = wire.len();

        // Every strict prefix is incomplete, never an error.
        for cut in 0..head_len {
            prop_assert_eq!(parse_request(&wire[..cut], MAX), Ok(None));
        }
        wire.extend_from_slice(&trailing);
        let (parsed, consumed) = parse_request(&wire, MAX).unwrap().unwrap();
        prop_assert_eq!(consumed, head_len);
        prop_assert!(parsed.is_websocket());
        prop_assert_eq!(parsed.method(), "GET");
        prop_assert_eq!(parsed.target(), path.as_str());
        prop_assert_eq!(parsed.host(), Some(host.as_str()));
        prop_assert_eq!(parsed.key(), Some(key.as_str()));
        prop_assert_eq!(parsed.protocols(), protocols.as_slice());
        prop_assert_eq!(parsed.origin(), origin.as_deref());
        prop_assert_eq!(parsed.extensions(), None);
        for (i, v) in values.iter().enumerate() {
            prop_assert_eq!(parsed.header(&format!("x-extra-{i}")), Some(v.as_str()));
        }

        // The server picks one of the offered protocols (or none); the
        // client accepts the 101 for its key.
        let chosen = if protocols.is_empty() {
            None
        } else {
            Some(pick.get(&protocols).as_str())
        };
        let supported: Vec<&str> = chosen.into_iter().collect();
        prop_assert_eq!(parsed.choose_subprotocol(&supported), chosen);
        let mut answer = Vec::new();
        write_accept_response(&mut answer, parsed.key().unwrap(), chosen, None, &[("Set-Cookie", "s=1")]);
        let answer_len = answer.len();
        for cut in 0..answer_len {
            prop_assert_eq!(parse_response(&answer[..cut], &key, &protocols, MAX), Ok(None));
        }
        answer.extend_from_slice(&trailing);
        let (resp, used) = parse_response(&answer, &key, &protocols, MAX).unwrap().unwrap();
        prop_assert_eq!(used, answer_len);
        prop_assert_eq!(resp.status(), 101);
        prop_assert_eq!(resp.protocol(), chosen);
        prop_assert_eq!(resp.header("set-cookie"), Some("s=1"));
    }

    #[test]
    fn parse_request_never_panics(bytes in vec(any::<u8>(), 0..512), max in 0usize..600) {
        let _ = parse_request(&bytes, max);
        let _ = parse_response(&bytes, "dGhlIHNhbXBsZSBub25jZQ==", &[], max);
    }
}
