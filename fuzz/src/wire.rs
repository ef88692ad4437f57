//! Reading back what a connection wrote: its HTTP head and its frames,
//! checked against RFC 6455 as a strict peer would.

use ws6455_proto::frame::{decode_header, OpCode};
use ws6455_proto::mask::apply_mask_scalar;
use ws6455_proto::Role;

use crate::content_length;

/// One frame a connection wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Its opcode.
    pub opcode: OpCode,
    /// Its FIN bit.
    pub fin: bool,
    /// Its payload, unmasked.
    pub payload: Vec<u8>,
}

/// What a connection wrote, read back.
#[derive(Debug, Default)]
pub struct Output {
    /// The status of the server's HTTP answer, if it wrote one.
    pub status: Option<u16>,
    /// Every frame after the head, in order.
    pub frames: Vec<Frame>,
}

impl Output {
    /// The close frames written.
    pub fn closes(&self) -> impl Iterator<Item = &Frame> {
        self.frames.iter().filter(|f| f.opcode == OpCode::Close)
    }
}

/// Parses everything `role` wrote on a connection and asserts it is well
/// formed: one HTTP head (the client's request; the server's answer, with
/// exactly its body after a non-101), then only complete frames that a
/// strict peer accepts — masked exactly when the writer is a client (§5.1),
/// no RSV bits (§5.2), control frames final and at most 125 bytes (§5.5),
/// continuations only inside a fragmented message and no new message inside
/// one (§5.4, so a control frame never cut a data frame), and nothing at all
/// after a close frame (§5.5.1).
///
/// `complete` is false when the driver aborted the connection, which drops
/// queued output wherever it stands: the bytes may then end inside the head
/// or a frame, and parsing stops there.
pub fn check_output(role: Role, out: &[u8], complete: bool) -> Output {
    check_output_with(role, out, complete, false)
}

/// [`check_output`] for a connection that agreed on permessage-deflate
/// when `compressed`: RSV1 is then allowed on the first frame of a data
/// message, and only there (RFC 7692 §6.1); other RSV bits never are.
pub fn check_output_with(role: Role, out: &[u8], complete: bool, compressed: bool) -> Output {
    let mut result = Output::default();
    if out.is_empty() {
        return result;
    }
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let frames_start = match role {
        Role::Client => {
            let mut request = httparse::Request::new(&mut slots);
            match request.parse(out) {
                Ok(httparse::Status::Complete(n)) => n,
                Ok(httparse::Status::Partial) if !complete => return result,
                other => panic!("client output does not start with a request head: {other:?}"),
            }
        }
        Role::Server => {
            let mut response = httparse::Response::new(&mut slots);
            let head = match response.parse(out) {
                Ok(httparse::Status::Complete(n)) => n,
                Ok(httparse::Status::Partial) if !complete => return result,
                other => panic!(
                    "server output does not start with a response head: {other:?}\n{:?}",
                    String::from_utf8_lossy(&out[..out.len().min(300)])
                ),
            };
            let status = response.code.expect("complete head has a status");
            result.status = Some(status);
            if status != 101 {
                let body = content_length(response.headers).unwrap_or(0);
                if complete {
                    assert_eq!(out.len(), head + body, "bytes after a non-101 answer");
                } else {
                    assert!(out.len() <= head + body, "bytes after a non-101 answer");
                }
                return result;
            }
            head
        }
    };
    let mut rest = &out[frames_start..];
    let mut in_message = false;
    while !rest.is_empty() {
        let (header, header_len) = match decode_header(rest) {
            Ok(Some(found)) => found,
            Ok(None) if !complete => break,
            other => panic!(
                "output frame does not decode: {other:?} at {:02x?}",
                &rest[..rest.len().min(14)]
            ),
        };
        if compressed && matches!(header.opcode, OpCode::Text | OpCode::Binary) {
            assert!(header.rsv & 0b011 == 0, "RSV2/RSV3 in our own frame");
        } else {
            assert_eq!(header.rsv, 0, "RSV bits in our own frame");
        }
        assert_eq!(
            header.mask.is_some(),
            role == Role::Client,
            "§5.1 masking rule broken"
        );
        let len = usize::try_from(header.payload_len).unwrap();
        if rest.len() - header_len < len {
            assert!(!complete, "output ends inside a frame");
            break;
        }
        let mut payload = rest[header_len..header_len + len].to_vec();
        if let Some(key) = header.mask {
            apply_mask_scalar(&mut payload, key, 0);
        }
        rest = &rest[header_len + len..];
        if let Some(last) = result.frames.last() {
            assert_ne!(last.opcode, OpCode::Close, "a frame after our close frame");
        }
        match header.opcode {
            OpCode::Continuation => assert!(in_message, "continuation outside a message"),
            OpCode::Text | OpCode::Binary => assert!(!in_message, "new message inside a message"),
            _ => {}
        }
        if !header.opcode.is_control() {
            in_message = !header.fin;
        }
        if header.opcode == OpCode::Close {
            assert!(!in_message, "close frame inside a fragmented message");
        }
        result.frames.push(Frame {
            opcode: header.opcode,
            fin: header.fin,
            payload,
        });
    }
    result
}

/// Bytes that a data message of `len` bytes takes on the wire when split
/// into frames of at most `fragment` bytes (§5.4), masked or not.
pub fn message_wire_len(len: usize, fragment: usize, masked: bool) -> usize {
    let fragment = fragment.max(1);
    if len == 0 {
        return frame_wire_len(0, masked);
    }
    let full = len / fragment;
    let mut total = full * frame_wire_len(fragment, masked);
    if !len.is_multiple_of(fragment) {
        total += frame_wire_len(len % fragment, masked);
    }
    total
}

/// Bytes one frame with a `len`-byte payload takes on the wire (§5.2).
pub fn frame_wire_len(len: usize, masked: bool) -> usize {
    let ext = match len {
        0..=125 => 0,
        126..=65535 => 2,
        _ => 8,
    };
    2 + ext + if masked { 4 } else { 0 } + len
}
