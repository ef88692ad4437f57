//! Tests of the output queue with shared (broadcast) messages: the bytes on
//! the wire are those of a queue that copies every message, for any mix of
//! owned frames, shared messages and control frames and any split of the
//! writes, through `pending` and through `chunks`; control frames only
//! ever go between frames (§5.4).

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use proptest::prelude::*;
use rand::SeedableRng;

use super::*;
use crate::frame::OpCode;

fn message(len: usize, fragment: usize) -> PreparedMessage {
    let payload: Vec<u8> = (0..len).map(|i| (i * 13 + 1) as u8).collect();
    PreparedMessage::binary(&payload, fragment)
}

/// Write everything through `pending`, one slice at a time.
fn drain(out: &mut Output) -> Vec<u8> {
    let mut wire = Vec::new();
    loop {
        let pending = out.pending();
        if pending.is_empty() {
            assert_eq!(out.buffered(), 0, "bytes buffered but none pending");
            return wire;
        }
        wire.extend_from_slice(pending);
        let n = pending.len();
        out.consume(n);
    }
}

/// Write up to `n` bytes from the first `slots` slices of `chunks`.
fn write_chunks(out: &mut Output, n: usize, slots: usize, wire: &mut Vec<u8>) -> usize {
    let mut chunks: Vec<&[u8]> = vec![&[]; slots];
    let filled = out.chunks(&mut chunks);
    assert!(filled <= slots);
    let mut took = 0;
    for chunk in &chunks[..filled] {
        assert!(!chunk.is_empty(), "no empty slices");
        let k = chunk.len().min(n - took);
        wire.extend_from_slice(&chunk[..k]);
        took += k;
    }
    if filled > 0 {
        assert_eq!(chunks[0], out.pending(), "the first slice is `pending`");
    }
    out.consume(took);
    took
}

/// Write up to `n` bytes through `pending`, slice after slice.
fn write_pending(out: &mut Output, n: usize, wire: &mut Vec<u8>) -> usize {
    let mut took = 0;
    while took < n {
        let pending = out.pending();
        if pending.is_empty() {
            break;
        }
        let k = pending.len().min(n - took);
        wire.extend_from_slice(&pending[..k]);
        took += k;
        out.consume(k);
    }
    took
}

/// Split a server's output into frames (panics on a torn one): the data
/// frames' bytes in order, and the control frames' bytes in order.
fn split_frames(wire: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (mut data, mut ctrl) = (Vec::new(), Vec::new());
    let mut pos = 0;
    while pos < wire.len() {
        let span = frame_span(&wire[pos..]).expect("a whole header");
        let frame = wire.get(pos..pos + span).expect("a whole frame");
        // Pings and pongs (0x9, 0xA) are the control frames that overtake.
        if matches!(frame[0] & 0x0f, 0x9 | 0xa) {
            ctrl.extend_from_slice(frame);
        } else {
            data.extend_from_slice(frame);
        }
        pos += span;
    }
    (data, ctrl)
}

#[derive(Clone, Debug)]
enum Op {
    /// `queue_message` (copied, as `send_binary` does).
    Owned { len: usize, fragment: usize },
    /// `queue_prepared`: a reference (a copy in the reference queue).
    Prepared { len: usize, fragment: usize },
    /// A prepared message offered to the transport first when nothing is
    /// queued (`send_prepared_vectored`), which takes `took` bytes.
    Direct {
        len: usize,
        fragment: usize,
        took: usize,
    },
    /// `queue_control`: a ping.
    Ping { len: u8 },
    /// `queue_close`.
    Close,
    /// Write `n` bytes through `pending` (`slots == 0`) or through up to
    /// `slots` slices of `chunks`.
    Write { n: usize, slots: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..3000, 1usize..1200).prop_map(|(len, fragment)| Op::Owned { len, fragment }),
        1 => (16_000usize..40_000, 1000usize..20_000)
            .prop_map(|(len, fragment)| Op::Owned { len, fragment }),
        6 => (0usize..3000, 1usize..1200)
            .prop_map(|(len, fragment)| Op::Prepared { len, fragment }),
        2 => (0usize..3000, 1usize..1200, 0usize..3500)
            .prop_map(|(len, fragment, took)| Op::Direct { len, fragment, took }),
        3 => (0u8..126).prop_map(|len| Op::Ping { len }),
        1 => Just(Op::Close),
        8 => (0usize..5000, 0usize..8).prop_map(|(n, slots)| Op::Write { n, slots }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn shared_messages_put_the_all_copies_bytes_on_the_wire(
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        // `out` refers to shared messages; `copies` copies every message
        // into its data queue (the behaviour before sharing).
        let mut out = Output::default();
        let mut copies = Output::default();
        let (mut wire, mut copies_wire) = (Vec::new(), Vec::new());
        let (mut data_frames, mut ctrl_frames) = (Vec::new(), Vec::new());
        let mut held = Vec::new();
        for op in &ops {
            match *op {
                Op::Owned { len, fragment } => {
                    let payload = vec![3u8; len];
                    out.queue_message(OpCode::Binary, 0, &payload, fragment, None);
                    copies.queue_message(OpCode::Binary, 0, &payload, fragment, None);
                    push_message_rsv(&mut data_frames, OpCode::Binary, 0, &payload, fragment, || None);
                }
                Op::Prepared { len, fragment } => {
                    let m = message(len, fragment);
                    out.queue_prepared(&m, None);
                    copies.frames().extend_from_slice(m.as_bytes());
                    data_frames.extend_from_slice(m.as_bytes());
                    held.push(m);
                }
                Op::Direct { len, fragment, took } => {
                    let m = message(len, fragment);
                    let bytes = m.as_bytes();
                    data_frames.extend_from_slice(bytes);
                    if out.buffered() == 0 {
                        prop_assert_eq!(copies.buffered(), 0);
                        let took = took.min(bytes.len());
                        wire.extend_from_slice(&bytes[..took]);
                        copies_wire.extend_from_slice(&bytes[..took]);
                        out.queue_shared(m.shared(), took);
                        // The old path: the cut frame as one unit, then
                        // whole frames.
                        let cut = frame_end_after(bytes, took);
                        copies.write_raw(|v| v.extend_from_slice(&bytes[took..cut]));
                        copies.frames().extend_from_slice(&bytes[cut..]);
                    } else {
                        out.queue_prepared(&m, None);
                        copies.frames().extend_from_slice(bytes);
                    }
                    held.push(m);
                }
                Op::Ping { len } => {
                    let payload = vec![b'p'; usize::from(len)];
                    out.queue_control(OpCode::Ping, &payload, None);
                    copies.queue_control(OpCode::Ping, &payload, None);
                    push_frame(&mut ctrl_frames, true, OpCode::Ping, &payload, None);
                }
                Op::Close => {
                    out.queue_close(&[3, 232], None);
                    copies.queue_close(&[3, 232], None);
                    push_frame(&mut data_frames, true, OpCode::Close, &[3, 232], None);
                }
                Op::Write { n, slots } => {
                    let took = if slots == 0 {
                        write_pending(&mut out, n, &mut wire)
                    } else {
                        write_chunks(&mut out, n, slots, &mut wire)
                    };
                    prop_assert_eq!(write_pending(&mut copies, took, &mut copies_wire), took);
                    prop_assert_eq!(&wire, &copies_wire);
                }
            }
            prop_assert_eq!(out.buffered(), copies.buffered());
            prop_assert_eq!(out.pending().is_empty(), out.buffered() == 0);
        }
        wire.extend_from_slice(&drain(&mut out));
        copies_wire.extend_from_slice(&drain(&mut copies));
        prop_assert_eq!(&wire, &copies_wire);
        let (data, ctrl) = split_frames(&wire);
        prop_assert_eq!(data, data_frames);
        prop_assert_eq!(ctrl, ctrl_frames);
        // Everything written: no reference is left behind.
        for m in &held {
            prop_assert_eq!(Arc::strong_count(m.shared()), 1);
        }
    }

    #[test]
    fn chunks_list_everything_queued_in_order(
        ops in proptest::collection::vec(op(), 1..30),
    ) {
        // With enough slices, one vectored write takes everything, in the
        // order `pending` would give it.
        let mut out = Output::default();
        let mut held = Vec::new();
        for op in &ops {
            match *op {
                Op::Owned { len, fragment } => {
                    out.queue_message(OpCode::Binary, 0, &vec![1; len], fragment, None);
                }
                Op::Prepared { len, fragment } | Op::Direct { len, fragment, .. } => {
                    let m = message(len, fragment);
                    out.queue_prepared(&m, None);
                    held.push(m);
                }
                Op::Ping { len } => out.queue_control(OpCode::Pong, &vec![0; usize::from(len)], None),
                Op::Close => out.queue_close(&[], None),
                Op::Write { n, .. } => {
                    write_pending(&mut out, n, &mut Vec::new());
                }
            }
        }
        let buffered = out.buffered();
        let mut all = Vec::new();
        prop_assert_eq!(write_chunks(&mut out, usize::MAX, 4096, &mut all), buffered);
        prop_assert_eq!(out.buffered(), 0);
        prop_assert!(out.pending().is_empty());
    }
}

#[test]
fn a_shared_message_is_queued_by_reference() {
    let m = message(1000, 300);
    let mut out = Output::default();
    out.queue_prepared(&m, None);
    assert_eq!(Arc::strong_count(m.shared()), 2);
    assert_eq!(out.capacities()[0], 0, "nothing copied");
    assert_eq!(out.buffered(), m.as_bytes().len());
    assert_eq!(out.pending(), m.as_bytes());
    out.consume(10);
    assert_eq!(out.buffered(), m.as_bytes().len() - 10);
    assert_eq!(out.pending(), &m.as_bytes()[10..]);
    out.consume(m.as_bytes().len() - 10);
    assert_eq!(out.buffered(), 0);
    assert_eq!(Arc::strong_count(m.shared()), 1, "written: released");
}

#[test]
fn a_short_prepared_message_is_copied() {
    let m = message(10, 100);
    assert!(m.as_bytes().len() < SHARE_MIN);
    let mut out = Output::default();
    out.queue_prepared(&m, None);
    assert_eq!(Arc::strong_count(m.shared()), 1);
    assert_eq!(out.pending(), m.as_bytes());
}

#[test]
fn chunks_interleave_owned_and_shared_bytes_in_queue_order() {
    let (a, b) = (message(100, 1000), message(200, 1000));
    let mut out = Output::default();
    out.queue_message(OpCode::Text, 0, b"one", 100, None);
    out.queue_prepared(&a, None);
    out.queue_prepared(&b, None);
    out.queue_message(OpCode::Text, 0, b"two", 100, None);
    out.queue_close(&[], None);
    let mut chunks = [&[][..]; 8];
    let n = out.chunks(&mut chunks);
    assert_eq!(n, 4);
    assert_eq!(chunks[0], [0x81, 3, b'o', b'n', b'e']);
    assert_eq!(chunks[1], a.as_bytes());
    assert_eq!(chunks[2], b.as_bytes());
    assert_eq!(chunks[3], [0x81, 3, b't', b'w', b'o', 0x88, 0]);
    // A count spanning slices.
    out.consume(5 + 100 + 7);
    assert_eq!(out.pending(), &b.as_bytes()[5..]);
    let mut two = [&[][..]; 2];
    assert_eq!(out.chunks(&mut two), 2);
    assert_eq!(two[1], [0x81, 3, b't', b'w', b'o', 0x88, 0]);
}

#[test]
fn a_pong_goes_between_the_frames_of_a_shared_message() {
    // Three frames of 100 bytes, the first partly written.
    let m = message(300, 100);
    let mut out = Output::default();
    out.queue_prepared(&m, None);
    let mut wire = out.pending()[..50].to_vec();
    out.consume(50);
    out.queue_control(OpCode::Pong, b"p", None);
    let mut chunks = [&[][..]; 8];
    let n = out.chunks(&mut chunks);
    assert_eq!(n, 3, "the cut frame's rest, the pong, the other frames");
    assert_eq!(chunks[0], &m.as_bytes()[50..102]);
    assert_eq!(chunks[1], [0x8a, 1, b'p']);
    assert_eq!(chunks[2], &m.as_bytes()[102..]);
    assert_eq!(out.pending(), chunks[0]);
    wire.extend_from_slice(&drain(&mut out));
    let mut expected = m.as_bytes().to_vec();
    expected.splice(102..102, [0x8a, 1, b'p']);
    assert_eq!(wire, expected);
}

#[test]
fn a_ping_at_a_boundary_goes_before_the_next_shared_message() {
    let (a, b) = (message(100, 1000), message(100, 1000));
    let mut out = Output::default();
    out.queue_prepared(&a, None);
    out.queue_prepared(&b, None);
    let n = a.as_bytes().len() - 1;
    out.consume(n);
    out.queue_control(OpCode::Ping, b"", None);
    let mut chunks = [&[][..]; 8];
    assert_eq!(out.chunks(&mut chunks), 3);
    assert_eq!(chunks[0].len(), 1);
    assert_eq!(chunks[1], [0x89, 0]);
    assert_eq!(chunks[2], b.as_bytes());
}

#[test]
fn discarding_or_releasing_drops_the_references() {
    let m = message(1000, 100);
    let mut out = Output::default();
    out.queue_prepared(&m, None);
    out.queue_prepared(&m, None);
    assert_eq!(Arc::strong_count(m.shared()), 3);
    out.release_if_larger(1 << 20);
    assert_eq!(Arc::strong_count(m.shared()), 1);
    assert_eq!(out.buffered(), 0);
    assert!(out.pending().is_empty());

    out.queue_prepared(&m, None);
    out.consume(7);
    out.discard();
    assert_eq!(Arc::strong_count(m.shared()), 1);
    assert_eq!(out.buffered(), 0);
}

#[test]
fn a_client_masks_a_prepared_message_into_its_own_bytes() {
    let m = message(1000, 300);
    let mut rng = rand::rngs::StdRng::from_seed([9; 32]);
    let mut out = Output::default();
    out.queue_prepared(&m, Some(&mut rng));
    assert_eq!(Arc::strong_count(m.shared()), 1, "no reference kept");
    let wire = drain(&mut out);
    // Four frames, each with a mask bit and key: 4 * 4 more bytes.
    assert_eq!(wire.len(), m.as_bytes().len() + 16);
    let mut pos = 0;
    while pos < wire.len() {
        assert_ne!(wire[pos + 1] & 0x80, 0, "masked (§5.3)");
        pos += frame_span(&wire[pos..]).unwrap();
    }
}

#[test]
fn the_queue_keeps_its_capacity_across_shared_messages() {
    let m = message(1000, 100);
    let mut out = Output::default();
    for _ in 0..4 {
        out.queue_prepared(&m, None);
    }
    drain(&mut out);
    let capacities = out.capacities();
    for _ in 0..100 {
        for _ in 0..4 {
            out.queue_prepared(&m, None);
        }
        drain(&mut out);
        assert_eq!(out.capacities(), capacities);
    }
}
