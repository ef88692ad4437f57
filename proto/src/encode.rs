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
    let frames = payload.len().div_ceil(fragment_size).max(1);
    out.reserve(payload.len().saturating_add(frames.saturating_mul(14)));
    let mut chunks = payload.chunks(fragment_size).peekable();
    if chunks.peek().is_none() {
        push_frame_rsv(out, true, rsv, opcode, &[], next_mask());
        return;
    }
    let (mut op, mut bits) = (opcode, rsv);
    while let Some(chunk) = chunks.next() {
        let fin = chunks.peek().is_none();
        push_frame_rsv(out, fin, bits, op, chunk, next_mask());
        op = OpCode::Continuation;
        bits = 0;
    }
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
