//! Chunking invariance: the same stream, cut in the script's chunks, byte
//! by byte once open, and whole, without any API call but the server's
//! decision, gives the same events and the same output.

use std::sync::Arc;

use ws6455_proto::{Connection, Event, Role};

use super::{decide, owned, Ev};
use crate::canned::{new_connection, t0};
use crate::script::{Input, Op, Setup};

/// How [`plain_run`] cuts the stream.
enum Cuts<'c> {
    /// These chunk lengths, then the rest.
    These(&'c [usize]),
    /// One byte at a time once the connection is open, 64 before: every
    /// partial frame header is seen, while the handshake head (which the
    /// core parses again on every read) costs a few dozen parses, not one
    /// per byte — its cuts are the handshake targets' business.
    Bytewise,
}

/// Feeds `stream` cut as `cuts` says (then the rest) and returns every
/// event and every byte written, without any API call but the server's
/// decision and with no output limit (so backpressure cannot make runs
/// differ).
fn plain_run(role: Role, setup: &Setup, stream: &[u8], cuts: Cuts<'_>) -> (Vec<Ev>, Vec<u8>) {
    let mut config = setup.config();
    config.max_output_buffer = usize::MAX;
    let mut conn = new_connection(role, Arc::new(config));
    let mut events = Vec::new();
    let mut pos = 0;
    let drain = |conn: &mut Connection, events: &mut Vec<Ev>| {
        while let Some(event) = conn.poll_event() {
            let ev = owned(&event);
            let request = match event {
                Event::Request(r) | Event::HttpRequest(r) => Some(r),
                _ => None,
            };
            events.push(ev);
            if let Some(r) = request {
                decide(conn, t0(), setup.decision, &r);
            }
            assert!(events.len() < 100_000, "endless events");
        }
    };
    match cuts {
        Cuts::These(chunks) => {
            for &len in chunks {
                let n = len.min(stream.len() - pos);
                conn.recv(&stream[pos..pos + n]);
                pos += n;
                drain(&mut conn, &mut events);
            }
        }
        Cuts::Bytewise => {
            while pos < stream.len() {
                let n = if conn.is_open() { 1 } else { 64 };
                let n = n.min(stream.len() - pos);
                conn.recv(&stream[pos..pos + n]);
                pos += n;
                drain(&mut conn, &mut events);
            }
        }
    }
    conn.recv(&stream[pos..]);
    drain(&mut conn, &mut events);
    conn.recv_eof(t0());
    drain(&mut conn, &mut events);
    let mut out = Vec::new();
    loop {
        let pending = conn.pending_output();
        if pending.is_empty() {
            break;
        }
        out.extend_from_slice(pending);
        let n = pending.len();
        conn.consume_output(n);
    }
    (events, out)
}

/// The same stream in the script's chunks, byte by byte (the cut that
/// exercises every partial-header path), and whole gives the same events
/// and the same output.
pub(super) fn invariance(role: Role, input: &Input<'_>, stream: &[u8]) {
    let chunks: Vec<usize> = input
        .ops
        .iter()
        .filter_map(|op| match op {
            Op::Recv { len } | Op::RecvBuf { len } => Some(usize::from(*len)),
            _ => None,
        })
        .collect();
    let (whole_events, whole_out) = plain_run(role, &input.setup, stream, Cuts::These(&[]));
    let closed = whole_events
        .iter()
        .filter(|e| matches!(e, Ev::Closed(..)))
        .count();
    assert_eq!(closed, 1, "exactly one Closed");
    assert!(
        matches!(whole_events.last(), Some(Ev::Closed(..))),
        "Closed is last"
    );
    if !chunks.is_empty() {
        let (events, out) = plain_run(role, &input.setup, stream, Cuts::These(&chunks));
        assert_eq!(
            events, whole_events,
            "events depend on how the stream was cut ({chunks:?})"
        );
        assert_eq!(out, whole_out, "output depends on how the stream was cut");
    }
    // Byte by byte costs a poll per byte; short streams are where the
    // interesting cuts are anyway.
    if stream.len() <= 4096 {
        let (events, out) = plain_run(role, &input.setup, stream, Cuts::Bytewise);
        assert_eq!(events, whole_events, "events differ when fed byte by byte");
        assert_eq!(out, whole_out, "output differs when fed byte by byte");
    }
}
