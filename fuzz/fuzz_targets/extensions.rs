//! The `Sec-WebSocket-Extensions` parser (RFC 6455 §9.1) and the
//! permessage-deflate negotiation built on it (RFC 7692 §5, §7.1).
//!
//! Oracles:
//! * `parse_extensions` never panics on any value; what it accepts,
//!   written back in canonical form, parses to the same list;
//! * `negotiate_server` never panics; an answer it gives is a single
//!   well-formed permessage-deflate element, and what it agrees to never
//!   lets our server compress with a larger window than its configuration
//!   (or its memory preset) allows, keeps every window within 8–15 (RFC
//!   7692 §7.1.2), and keeps a "no context takeover" we configured;
//! * **differential between the two roles**: for any client and server
//!   `DeflateConfig`, the server accepts the client's own offer, and the
//!   client accepts the server's answer with exactly the parameters the
//!   server agreed to;
//! * `validate_response` never panics on arbitrary answers, and what it
//!   accepts never gives the server a larger window than we asked for, nor
//!   drops a "no context takeover" we promised or asked for.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ws6455_proto::deflate::{
    client_offer, negotiate_server, parse_extensions, validate_response, DeflateConfig,
    DeflateMemory, Extension,
};

#[derive(Arbitrary, Debug)]
struct Side {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
    /// 0: no preset; 1–4: start from a [`DeflateMemory`] preset (its
    /// windows are then replaced by the two above unless they are 0).
    preset: u8,
}

impl Side {
    fn config(&self) -> DeflateConfig {
        {
            let mut deflate = match self.preset % 5 {
                1 => DeflateConfig::preset(DeflateMemory::Full),
                2 => DeflateConfig::preset(DeflateMemory::Windows),
                3 => DeflateConfig::preset(DeflateMemory::Small),
                4 => DeflateConfig::preset(DeflateMemory::Tiny),
                _ => DeflateConfig::default(),
            };
            deflate.server_no_context_takeover = self.server_no_context_takeover;
            deflate.client_no_context_takeover = self.client_no_context_takeover;
            if self.server_max_window_bits != 0 {
                deflate.server_max_window_bits = self.server_max_window_bits;
            }
            if self.client_max_window_bits != 0 {
                deflate.client_max_window_bits = self.client_max_window_bits;
            }
            deflate
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    client: Side,
    server: Side,
    value: &'a str,
}

/// The list written back: `name; p; q=v, …` (values are tokens, §9.1).
fn render(list: &[Extension]) -> String {
    let mut out = String::new();
    for (i, e) in list.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&e.name);
        for (name, value) in &e.params {
            out.push_str("; ");
            out.push_str(name);
            if let Some(v) = value {
                out.push('=');
                out.push_str(v);
            }
        }
    }
    out
}

fuzz_target!(|input: Input<'_>| {
    if let Ok(list) = parse_extensions(input.value) {
        let again = parse_extensions(&render(&list)).expect("canonical form parses");
        assert_eq!(again, list);
    }

    let (cc, sc) = (input.client.config(), input.server.config());
    if let Some((agreed, answer)) = negotiate_server(input.value, &sc) {
        let list = parse_extensions(&answer).expect("our answer parses");
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].name, "permessage-deflate");
        assert!((8..=sc.server_bits()).contains(&agreed.server_max_window_bits));
        assert!((8..=15).contains(&agreed.client_max_window_bits));
        assert!(!sc.server_no_context_takeover || agreed.server_no_context_takeover);
        assert!(!sc.client_no_context_takeover || agreed.client_no_context_takeover);
    }

    let offer = client_offer(&cc);
    let (agreed, answer) = negotiate_server(&offer, &sc).expect("our own offer is acceptable");
    let seen = validate_response(Some(&answer), &cc)
        .unwrap_or_else(|e| panic!("client refused {answer:?} to {offer:?}: {e:?}"));
    assert_eq!(seen, Some(agreed), "the two sides disagree on {answer:?}");

    if let Ok(Some(p)) = validate_response(Some(input.value), &cc) {
        assert!(p.server_max_window_bits <= cc.server_bits().max(15));
        if cc.server_bits() < 15 {
            assert!(p.server_max_window_bits <= cc.server_bits());
        }
        assert!(p.client_max_window_bits <= cc.client_bits());
        assert!(!cc.server_no_context_takeover || p.server_no_context_takeover);
        assert!(!cc.client_no_context_takeover || p.client_no_context_takeover);
    }
});
