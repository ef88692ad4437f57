//! Sending without copying what the transport takes at once (§5.2, §5.4).
//!
//! When nothing is queued, a server's message does not need to pass
//! through the output queue: its frames are the header bytes and slices
//! of the caller's payload, so the driver is offered them as one list of
//! chunks (one `writev`), says how many bytes went, and only the rest is
//! copied into the queue. A prepared (broadcast) message is not even
//! copied then: the queue refers to the rest of its shared frames. The
//! core still does no I/O: the driver's `write` callback does, and the
//! bytes on the wire are exactly those the queueing path would have
//! produced (the `vectored_send` fuzz target checks this for every split).

use core::cmp::min;

use super::output::Output;
use crate::encode::push_message_rsv;
use crate::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use crate::prepared::PreparedMessage;

/// Frames offered per call of the driver's `write`: two chunks each
/// (header, payload), well under any system's `IOV_MAX`.
pub const FRAMES_PER_WRITE: usize = 16;

/// The driver's side of a vectored send: offered the chunks to write in
/// order, it returns how many bytes the transport took (0 when it would
/// block or failed; a short count when the transport is full).
pub type Transmit<'w> = dyn FnMut(&[&[u8]]) -> usize + 'w;

/// Offer the frames of one unmasked data message to `write`, batch by
/// batch, and queue whatever it did not take. Returns the bytes written.
/// The caller checked that `out` is empty, so nothing can overtake the
/// queue.
pub(super) fn send_message(
    out: &mut Output,
    opcode: OpCode,
    rsv: u8,
    payload: &[u8],
    fragment_size: usize,
    write: &mut Transmit<'_>,
) -> usize {
    let fragment_size = fragment_size.max(1);
    let mut written = 0usize;
    let mut pos = 0usize;
    loop {
        let mut headers = [[0u8; MAX_HEADER_LEN]; FRAMES_PER_WRITE];
        let mut header_lens = [0usize; FRAMES_PER_WRITE];
        let mut bodies: [&[u8]; FRAMES_PER_WRITE] = [&[]; FRAMES_PER_WRITE];
        let mut frames = 0usize;
        let mut end = pos;
        for ((header, header_len), body) in headers
            .iter_mut()
            .zip(header_lens.iter_mut())
            .zip(bodies.iter_mut())
        {
            let start = end;
            end = min(start.saturating_add(fragment_size), payload.len());
            let first = start == 0;
            let frame = FrameHeader {
                fin: end == payload.len(),
                // RFC 7692 §6.1: RSV1 on the first frame only.
                rsv: if first { rsv & 0b111 } else { 0 },
                opcode: if first { opcode } else { OpCode::Continuation },
                mask: None,
                payload_len: end.saturating_sub(start) as u64,
            };
            *header_len = frame.encode(header);
            *body = payload.get(start..end).unwrap_or_default();
            frames = frames.saturating_add(1);
            if frame.fin {
                break;
            }
        }
        let mut chunks: [&[u8]; 2 * FRAMES_PER_WRITE] = [&[]; 2 * FRAMES_PER_WRITE];
        let mut total = 0usize;
        for (i, pair) in chunks.chunks_exact_mut(2).take(frames).enumerate() {
            let header = headers
                .get(i)
                .and_then(|h| h.get(..header_lens.get(i).copied().unwrap_or(0)))
                .unwrap_or_default();
            let body = bodies.get(i).copied().unwrap_or_default();
            total = total
                .saturating_add(header.len())
                .saturating_add(body.len());
            if let [h, b] = pair {
                *h = header;
                *b = body;
            }
        }
        let offered = chunks.get(..frames.saturating_mul(2)).unwrap_or_default();
        let took = min(write(offered), total);
        written = written.saturating_add(took);
        if took == total {
            if end == payload.len() {
                return written;
            }
            pos = end;
            continue;
        }
        queue_rest(out, offered, took);
        if end < payload.len() {
            // The frames after this batch, still at fragment boundaries:
            // continuations, the last with FIN.
            let rest = payload.get(end..).unwrap_or_default();
            push_message_rsv(
                out.frames(),
                OpCode::Continuation,
                0,
                rest,
                fragment_size,
                || None,
            );
        }
        return written;
    }
}

/// Offer a server's [`PreparedMessage`] to `write` straight from its
/// shared buffer, and queue a reference to what it did not take (the frame
/// the write cut goes on as one unit, §5.4). Returns the bytes written.
pub(super) fn send_frames(
    out: &mut Output,
    message: &PreparedMessage,
    write: &mut Transmit<'_>,
) -> usize {
    let frames = message.as_bytes();
    let took = min(write(&[frames]), frames.len());
    out.queue_shared(message.shared(), took);
    took
}

/// Queue the chunks of one batch after the first `took` bytes: the rest of
/// the frame the write cut into as one unit, then the untouched frames.
fn queue_rest(out: &mut Output, chunks: &[&[u8]], took: usize) {
    let mut skip = took;
    let mut pairs = chunks.chunks_exact(2);
    for pair in pairs.by_ref() {
        let [header, body] = pair else { continue };
        let len = header.len().saturating_add(body.len());
        if skip >= len {
            skip = skip.saturating_sub(len);
            continue;
        }
        let header_rest = header.get(min(skip, header.len())..).unwrap_or_default();
        let body_rest = body
            .get(skip.saturating_sub(header.len())..)
            .unwrap_or_default();
        if skip > 0 {
            out.write_raw(|v| {
                v.extend_from_slice(header_rest);
                v.extend_from_slice(body_rest);
            });
        } else {
            let v = out.frames();
            v.extend_from_slice(header_rest);
            v.extend_from_slice(body_rest);
        }
        break;
    }
    for pair in pairs {
        let v = out.frames();
        for chunk in pair {
            v.extend_from_slice(chunk);
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use proptest::prelude::*;

    use super::*;
    use crate::encode::push_message_rsv;

    /// What the transport got, then everything the queue still writes.
    fn wire(out: &mut Output, mut sent: Vec<u8>) -> Vec<u8> {
        loop {
            let pending = out.pending();
            if pending.is_empty() {
                return sent;
            }
            sent.extend_from_slice(pending);
            let n = pending.len();
            out.consume(n);
        }
    }

    /// A transport that takes at most `budget` bytes in all, in calls of
    /// at most `per_call`.
    fn transport(
        budget: usize,
        per_call: usize,
        sent: &mut Vec<u8>,
    ) -> impl FnMut(&[&[u8]]) -> usize + '_ {
        let mut left = budget;
        move |chunks| {
            let mut took = 0;
            let mut room = left.min(per_call);
            for chunk in chunks {
                let n = chunk.len().min(room);
                sent.extend_from_slice(chunk.get(..n).unwrap_or_default());
                took += n;
                room -= n;
            }
            left -= took;
            took
        }
    }

    fn queued(opcode: OpCode, rsv: u8, payload: &[u8], fragment: usize) -> Vec<u8> {
        let mut v = Vec::new();
        push_message_rsv(&mut v, opcode, rsv, payload, fragment, || None);
        v
    }

    proptest! {
        #[test]
        fn any_split_puts_the_queued_bytes_on_the_wire(
            len in 0usize..3000,
            fragment in 1usize..700,
            budget in 0usize..4000,
            per_call in 1usize..4000,
            rsv in prop_oneof![Just(0u8), Just(0b100u8)],
        ) {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let mut out = Output::default();
            let mut sent = Vec::new();
            let took = {
                let mut write = transport(budget, per_call, &mut sent);
                send_message(&mut out, OpCode::Binary, rsv, &payload, fragment, &mut write)
            };
            prop_assert_eq!(took, sent.len());
            prop_assert_eq!(wire(&mut out, sent), queued(OpCode::Binary, rsv, &payload, fragment));
        }

        #[test]
        fn prepared_frames_survive_any_split(
            len in 0usize..3000,
            fragment in 1usize..700,
            budget in 0usize..4000,
        ) {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let frames = queued(OpCode::Binary, 0, &payload, fragment);
            let message = PreparedMessage::binary(&payload, fragment);
            let mut out = Output::default();
            let mut sent = Vec::new();
            let took = {
                let mut write = transport(budget, usize::MAX, &mut sent);
                send_frames(&mut out, &message, &mut write)
            };
            prop_assert_eq!(took, sent.len());
            // The rest is referred to, never copied.
            prop_assert_eq!(out.capacities()[0], 0);
            prop_assert_eq!(out.buffered(), frames.len() - took);
            prop_assert_eq!(wire(&mut out, sent), frames);
        }
    }

    #[test]
    fn a_pong_queued_after_a_short_write_waits_for_the_cut_frame_only() {
        // Three frames of 100 bytes; the transport takes 50 bytes of the
        // first. A pong must go right after the first frame's rest.
        let payload = [7u8; 300];
        let mut out = Output::default();
        let mut sent = Vec::new();
        {
            let mut write = transport(50, usize::MAX, &mut sent);
            send_message(&mut out, OpCode::Binary, 0, &payload, 100, &mut write);
        }
        out.queue_control(OpCode::Pong, b"p", None);
        let all = wire(&mut out, sent);
        let frame = 2 + 100;
        assert_eq!(all.get(frame..frame + 3), Some(&[0x8a, 0x01, b'p'][..]));
    }

    #[test]
    fn a_prepared_message_cut_by_a_short_write_is_referred_to_and_keeps_its_frames_whole() {
        // The same with a shared message: the rest is a reference, and the
        // pong still waits for the cut frame only.
        let message = PreparedMessage::binary(&[7u8; 300], 100);
        let mut out = Output::default();
        let mut sent = Vec::new();
        {
            let mut write = transport(50, usize::MAX, &mut sent);
            assert_eq!(send_frames(&mut out, &message, &mut write), 50);
        }
        assert_eq!(alloc::sync::Arc::strong_count(message.shared()), 2);
        assert_eq!(out.capacities()[0], 0, "nothing copied");
        out.queue_control(OpCode::Pong, b"p", None);
        let all = wire(&mut out, sent);
        let frame = 2 + 100;
        assert_eq!(all.get(frame..frame + 3), Some(&[0x8a, 0x01, b'p'][..]));
        let mut expected = message.as_bytes().to_vec();
        expected.splice(frame..frame, [0x8a, 0x01, b'p']);
        assert_eq!(all, expected);
        assert_eq!(
            alloc::sync::Arc::strong_count(message.shared()),
            1,
            "written: released"
        );
    }
}
