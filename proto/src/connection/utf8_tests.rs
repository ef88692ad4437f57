//! Every `Text` event holds valid UTF-8, whatever bytes arrive and however
//! they are framed and split: the guard behind
//! [`crate::utf8::already_validated`], which builds the event's `&str`
//! without a second pass (§8.1).

use alloc::sync::Arc;
use alloc::vec::Vec;

use proptest::prelude::*;

use super::Connection;
use crate::config::Config;
use crate::encode::push_frame;
use crate::event::Event;
use crate::frame::OpCode;
use crate::time::Timestamp;

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

pub(super) fn open_server() -> Connection {
    let now = Timestamp::ZERO;
    let mut conn = Connection::server(Arc::new(Config::default()), now);
    conn.recv(REQUEST);
    while let Some(event) = conn.poll_event() {
        if matches!(event, Event::Request(_)) {
            break;
        }
    }
    assert!(conn.accept(now, None, &[]).is_ok());
    let n = conn.pending_output().len();
    conn.consume_output(n);
    conn
}

/// What the connection made of `wire`, fed in pieces of `piece` bytes:
/// the text it delivered, or that it failed.
fn deliver(wire: &[u8], piece: usize) -> Result<Vec<u8>, ()> {
    let mut conn = open_server();
    let mut text = None;
    let mut failed = false;
    for chunk in wire.chunks(piece.max(1)) {
        conn.recv(chunk);
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Text(t) => {
                    // The claim `already_validated` rests on.
                    assert!(core::str::from_utf8(t.as_bytes()).is_ok());
                    text = Some(t.as_bytes().to_vec());
                }
                Event::Failed(_) => failed = true,
                _ => {}
            }
        }
    }
    match (text, failed) {
        (Some(t), false) => Ok(t),
        _ => Err(()),
    }
}

proptest! {
    #[test]
    fn text_events_are_valid_utf8(
        bytes in prop::collection::vec(
            prop_oneof![any::<u8>(), Just(0xe2u8), Just(0x82u8), Just(0xacu8), Just(b'a')],
            0..64,
        ),
        cuts in prop::collection::vec(0usize..64, 0..4),
        piece in 1usize..40,
    ) {
        // One frame, or fragments cut at `cuts`, each masked.
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut wire = Vec::new();
        let mut start = 0;
        let mut bounds: Vec<usize> = cuts.into_iter().filter(|&c| c > 0).collect();
        bounds.push(bytes.len());
        bounds.dedup();
        let last = bounds.len() - 1;
        for (i, end) in bounds.into_iter().enumerate() {
            let opcode = if i == 0 { OpCode::Text } else { OpCode::Continuation };
            let part = bytes.get(start..end).unwrap_or_default();
            push_frame(&mut wire, i == last, opcode, part, Some([1, 2, 3, 4]));
            start = end;
        }
        let valid = core::str::from_utf8(&bytes).is_ok();
        match deliver(&wire, piece) {
            Ok(text) => {
                prop_assert!(valid);
                prop_assert_eq!(text, bytes);
            }
            Err(()) => prop_assert!(!valid),
        }
    }
}
