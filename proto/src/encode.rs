//! Writing whole frames into an output buffer: header, payload and, for a
//! client, the mask (§5.2, §5.3), and splitting a message into frames of a
//! bounded size (§5.4) so control frames can go out between them.

use alloc::vec::Vec;

use crate::frame::{FrameHeader, OpCode};
use crate::mask::apply_mask;

/// Append one frame. `mask` is `Some` for client frames (§5.3: a fresh key
/// per frame) and `None` for server frames.
pub fn push_frame(
    out: &mut Vec<u8>,
    fin: bool,
    opcode: OpCode,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    push_frame_rsv(out, fin, 0, opcode, payload, mask);
}

/// [`push_frame`] with RSV bits (`0b100` = RSV1), for frames whose meaning
/// a negotiated extension defines (RFC 7692 §6: RSV1 marks a compressed
/// message).
pub(crate) fn push_frame_rsv(
    out: &mut Vec<u8>,
    fin: bool,
    rsv: u8,
    opcode: OpCode,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    let header = FrameHeader {
        fin,
        rsv: rsv & 0b111,
        opcode,
        mask,
        payload_len: payload.len() as u64,
    };
    header.write_to(out);
    append_payload(out, payload, mask);
}

/// Append one frame with any first byte (FIN, RSV bits, opcode — including
/// reserved ones) for conformance testing; the length and mask encoding are
/// still correct.
pub fn push_raw_frame(
    out: &mut Vec<u8>,
    fin: bool,
    rsv: u8,
    opcode: u8,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    let start = out.len();
    let header = FrameHeader {
        fin,
        rsv: 0,
        opcode: OpCode::Binary,
        mask,
        payload_len: payload.len() as u64,
    };
    header.write_to(out);
    if let Some(first) = out.get_mut(start) {
        *first = (u8::from(fin) << 7) | ((rsv & 0b111) << 4) | (opcode & 0x0f);
    }
    append_payload(out, payload, mask);
}

fn append_payload(out: &mut Vec<u8>, payload: &[u8], mask: Option<[u8; 4]>) {
    let start = out.len();
    out.extend_from_slice(payload);
    if let (Some(key), Some(written)) = (mask, out.get_mut(start..)) {
        apply_mask(written, key, 0);
    }
}

/// Append a data message as frames of at most `fragment_size` payload
/// bytes: the first carries `opcode`, the rest are continuations, the last
/// has FIN (§5.4). `next_mask` supplies one key per frame (clients).
pub fn push_message(
    out: &mut Vec<u8>,
    opcode: OpCode,
    payload: &[u8],
    fragment_size: usize,
    next_mask: impl FnMut() -> Option<[u8; 4]>,
) {
    push_message_rsv(out, opcode, 0, payload, fragment_size, next_mask);
}

/// [`push_message`] with RSV bits on the first frame only (RFC 7692 §6.1:
/// "the Per-Message Compressed bit" is set on the first frame of a
/// compressed message and on no continuation).
pub(crate) fn push_message_rsv(
    out: &mut Vec<u8>,
    opcode: OpCode,
    rsv: u8,
    payload: &[u8],
    fragment_size: usize,
    mut next_mask: impl FnMut() -> Option<[u8; 4]>,
) {
    let fragment_size = fragment_size.max(1);
    // One key per frame, in frame order; the first tells whether frames
    // are masked, which the exact size depends on.
    let mut key = next_mask();
    out.reserve(message_wire_len(
        payload.len(),
        fragment_size,
        key.is_some(),
    ));
    let mut chunks = payload.chunks(fragment_size).peekable();
    if chunks.peek().is_none() {
        push_frame_rsv(out, true, rsv, opcode, &[], key);
        return;
    }
    let (mut op, mut bits) = (opcode, rsv);
    while let Some(chunk) = chunks.next() {
        let fin = chunks.peek().is_none();
        push_frame_rsv(out, fin, bits, op, chunk, key);
        if fin {
            return;
        }
        key = next_mask();
        op = OpCode::Continuation;
        bits = 0;
    }
}

/// The bytes [`push_message_rsv`] appends for `len` payload bytes in frames
/// of at most `fragment_size` (at least 1) payload bytes, each with a
/// masking key when `masked`: exactly, so that the output queue reserves
/// what a message takes and no more. Reserving the 14-byte worst-case
/// header per frame instead made a queue with 1-byte fragments hold five
/// times the bytes it had to send.
fn message_wire_len(len: usize, fragment_size: usize, masked: bool) -> usize {
    let frame = |payload: usize| {
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: OpCode::Binary,
            mask: masked.then_some([0; 4]),
            payload_len: payload as u64,
        };
        header.encoded_len().saturating_add(payload)
    };
    let full = len.checked_div(fragment_size).unwrap_or(0);
    let rest = len.checked_rem(fragment_size).unwrap_or(0);
    let mut total = full.saturating_mul(frame(fragment_size));
    // The short last frame, or the one empty frame of an empty message.
    if rest > 0 || len == 0 {
        total = total.saturating_add(frame(rest));
    }
    total
}

/// The total length (header + payload) of the frame at the start of
/// `bytes`, read leniently (any opcode or RSV bits) because it is only used
/// on frames we wrote ourselves. `None` if the header is incomplete.
pub(crate) fn frame_span(bytes: &[u8]) -> Option<usize> {
    let b1 = *bytes.get(1)?;
    let mask_len = if b1 & 0x80 != 0 { 4 } else { 0 };
    let (len, header) = match b1 & 0x7f {
        126 => {
            let b: [u8; 2] = bytes.get(2..4)?.try_into().ok()?;
            (u64::from(u16::from_be_bytes(b)), 4)
        }
        127 => {
            let b: [u8; 8] = bytes.get(2..10)?.try_into().ok()?;
            (u64::from_be_bytes(b), 10)
        }
        n => (u64::from(n), 2),
    };
    usize::try_from(len)
        .ok()?
        .checked_add(header)?
        .checked_add(mask_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::decode_header;

    #[test]
    fn rfc_examples_are_reproduced() {
        let mut out = Vec::new();
        push_frame(&mut out, true, OpCode::Text, b"Hello", None);
        assert_eq!(out, [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        out.clear();
        push_frame(
            &mut out,
            true,
            OpCode::Text,
            b"Hello",
            Some([0x37, 0xfa, 0x21, 0x3d]),
        );
        assert_eq!(
            out,
            [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        );
    }

    #[test]
    fn messages_split_into_continuations() {
        let mut out = Vec::new();
        push_message(&mut out, OpCode::Text, b"Hello", 3, || None);
        assert_eq!(out, [0x01, 0x03, b'H', b'e', b'l', 0x80, 0x02, b'l', b'o']);
    }

    #[test]
    fn rsv_goes_on_the_first_frame_only() {
        let mut out = Vec::new();
        push_message_rsv(&mut out, OpCode::Text, 0b100, b"Hello", 3, || None);
        assert_eq!(out, [0x41, 0x03, b'H', b'e', b'l', 0x80, 0x02, b'l', b'o']);
        out.clear();
        push_message_rsv(&mut out, OpCode::Binary, 0b100, b"", 3, || None);
        assert_eq!(out, [0xc2, 0x00]);
    }

    /// Found by `connection_server` with `fragment_size` 1: a message
    /// reserved room for a 14-byte header per frame, 15 bytes per payload
    /// byte where a server's frames take 3, so the output queue held five
    /// times the bytes it had to send (562,065 for a 112,413-byte message;
    /// over a megabyte once `Vec` doubled that for the next message).
    #[test]
    fn a_message_reserves_no_more_than_its_wire_size() {
        let key = Some([1, 2, 3, 4]);
        for fragment in [1, 2, 125, 126, 1000, 70_000] {
            for mask in [None, key] {
                for len in [0, 1, 125, 126, 3000, 65_536, 70_001] {
                    let mut out = Vec::new();
                    push_message(&mut out, OpCode::Binary, &vec![7; len], fragment, || mask);
                    assert_eq!(message_wire_len(len, fragment, mask.is_some()), out.len());
                    // Empty vectors grow to at least 8 bytes.
                    assert!(
                        out.capacity() <= out.len().max(8),
                        "{len} bytes in frames of {fragment}, mask {mask:?}: \
                         {} reserved for {} written",
                        out.capacity(),
                        out.len()
                    );
                }
            }
        }
    }

    /// One fresh key per frame (§5.3), taken in frame order.
    #[test]
    fn each_frame_takes_the_next_key() {
        let mut calls = 0u8;
        let mut out = Vec::new();
        push_message(&mut out, OpCode::Text, b"Hello", 2, || {
            calls += 1;
            Some([calls; 4])
        });
        assert_eq!(calls, 3);
        let mut rest = &out[..];
        for n in 1..=3 {
            let (h, len) = decode_header(rest).unwrap().unwrap();
            assert_eq!(h.mask, Some([n; 4]));
            rest = &rest[len + h.payload_len as usize..];
        }
        assert!(rest.is_empty());
    }

    #[test]
    fn empty_message_is_one_frame() {
        let mut out = Vec::new();
        push_message(&mut out, OpCode::Binary, b"", 3, || None);
        assert_eq!(out, [0x82, 0x00]);
    }

    #[test]
    fn raw_frames_carry_any_first_byte() {
        let mut out = Vec::new();
        push_raw_frame(&mut out, false, 0b101, 0xb, b"x", None);
        assert_eq!(out, [0x5b, 0x01, b'x']);
    }

    #[test]
    fn span_matches_every_length_form() {
        for len in [0usize, 125, 126, 65535, 65536] {
            for mask in [None, Some([1, 2, 3, 4])] {
                let mut out = Vec::new();
                push_frame(&mut out, true, OpCode::Binary, &vec![7; len], mask);
                assert_eq!(frame_span(&out), Some(out.len()));
                let (h, _) = decode_header(&out).unwrap().unwrap();
                assert_eq!(h.payload_len, len as u64);
                assert_eq!(frame_span(&out[..1]), None);
            }
        }
    }
}
