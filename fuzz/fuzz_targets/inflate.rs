//! The permessage-deflate inflate path (RFC 7692 §7.2.2) under its size
//! limit (§10.4 of RFC 6455: a compressed message is held to
//! `max_message_size` by its *inflated* size, checked while inflating).
//!
//! Two halves, both with the input cut at arbitrary points:
//! * **arbitrary bytes** as a message's compressed payload: inflating
//!   never panics, hands on at most `limit` bytes in pieces of at most
//!   `INFLATE_CHUNK`, counts at most `limit + 1` (the one byte that proves
//!   the message too large), and whether it succeeds, and what it hands on,
//!   do not depend on where the payload was cut;
//! * **round trip**: a message compressed by our `Compressor` (any level,
//!   window and takeover mode, two messages in a row to exercise the
//!   shared window) inflates back to exactly itself when within the limit,
//!   and fails with `MessageTooLarge` having handed on only a prefix of it
//!   when not.
//!
//! And a third, chosen by `session`: the rest of the input drives a whole
//! compressing session between a client and a server core under drawn
//! settings (memory presets, windows 9–15 each way, threshold, codecs
//! released when idle and taken back from a pool), with its own oracles
//! (`ws6455_fuzz::deflate_session`).
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use ws6455_fuzz::deflate_session::{self, Session};
use ws6455_proto::deflate::{Compressor, Decompressor, InflateSink, INFLATE_CHUNK};
use ws6455_proto::ProtocolError;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// Fragment lengths; whatever is left after them is the last fragment.
    /// (A fixed count keeps the input layout simple for the seeds.)
    cuts: [u16; 6],
    limit: u16,
    window_bits: u8,
    level: u8,
    /// Reset the compressor and decompressor between the two messages
    /// (no context takeover, §7.1.1).
    reset: bool,
    /// Round trip (`true`) or arbitrary compressed bytes (`false`).
    round_trip: bool,
    /// The second message is `data` with this many bytes of its front
    /// repeated, so it can point into the first one's window.
    second: u8,
    /// `data` is a [`Session`] instead.
    session: bool,
    data: &'a [u8],
}

/// Cut `bytes` into fragments at `cuts`.
fn fragments<'a>(bytes: &'a [u8], cuts: &[u16]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = bytes;
    for &cut in cuts {
        let (piece, tail) = rest.split_at(usize::from(cut).min(rest.len()));
        out.push(piece);
        rest = tail;
    }
    out.push(rest);
    out
}

/// Inflate one message given as `pieces`; returns what was handed on and
/// the outcome, checking the limit oracles on the way.
fn inflate(
    d: &mut Decompressor,
    pieces: &[&[u8]],
    limit: u64,
) -> (Vec<u8>, Result<(), ProtocolError>) {
    let mut produced = 0u64;
    let mut out = Vec::new();
    let result = (|| {
        let mut sink = InflateSink {
            produced: &mut produced,
            limit,
            push: |bytes: &[u8]| {
                assert!(!bytes.is_empty() && bytes.len() <= INFLATE_CHUNK);
                out.extend_from_slice(bytes);
                Ok(())
            },
        };
        for piece in pieces {
            d.inflate(piece, &mut sink)?;
        }
        d.finish(&mut sink)
    })();
    assert!(
        out.len() as u64 <= limit,
        "{} bytes handed on, limit {limit}",
        out.len()
    );
    assert!(
        produced <= limit + 1,
        "{produced} bytes counted, limit {limit}"
    );
    match &result {
        Ok(()) => assert_eq!(produced, out.len() as u64),
        Err(ProtocolError::MessageTooLarge(n)) => assert_eq!(*n, limit + 1),
        Err(ProtocolError::BadCompressedData) => {}
        Err(other) => panic!("unexpected error {other:?}"),
    }
    (out, result)
}

fuzz_target!(|input: Input<'_>| {
    if input.session {
        if let Ok(session) = Session::arbitrary_take_rest(Unstructured::new(input.data)) {
            deflate_session::run(&session);
        }
        return;
    }
    let limit = u64::from(input.limit);
    let window = 9 + input.window_bits % 7;
    if !input.round_trip {
        let pieces = fragments(input.data, &input.cuts);
        let mut cut = Decompressor::new(window);
        let (cut_out, cut_result) = inflate(&mut cut, &pieces, limit);
        let mut whole = Decompressor::new(window);
        let (whole_out, whole_result) = inflate(&mut whole, &[input.data], limit);
        // Which of two faults is seen first (too large, bad data) may
        // depend on how much zlib had buffered; that there is one may not.
        assert_eq!(
            cut_result.is_ok(),
            whole_result.is_ok(),
            "outcome depends on the cuts"
        );
        if cut_result.is_ok() {
            assert_eq!(cut_out, whole_out, "output depends on the cuts");
        } else {
            let (short, long) = if cut_out.len() <= whole_out.len() {
                (&cut_out, &whole_out)
            } else {
                (&whole_out, &cut_out)
            };
            assert!(long.starts_with(short), "outputs diverge before the fault");
        }
        return;
    }

    let level = u32::from(input.level % 10);
    let mut compressor = Compressor::new(level, window);
    let mut decompressor = Decompressor::new(window);
    let repeat = usize::from(input.second).min(input.data.len());
    let second = [input.data, &input.data[..repeat]].concat();
    for message in [input.data, &second] {
        let mut payload = Vec::new();
        assert!(
            compressor.compress(message, &mut payload),
            "compress failed"
        );
        let pieces = fragments(&payload, &input.cuts);
        let (out, result) = inflate(&mut decompressor, &pieces, limit);
        if message.len() as u64 <= limit {
            assert_eq!(result, Ok(()));
            assert_eq!(out, message, "round trip changed the message");
        } else {
            assert_eq!(result, Err(ProtocolError::MessageTooLarge(limit + 1)));
            assert!(
                message.starts_with(&out),
                "handed on something not in the message"
            );
            // The stream is unusable after a failure: the connection closes.
            return;
        }
        if input.reset {
            compressor.reset();
            decompressor.reset();
        }
    }
});
