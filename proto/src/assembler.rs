//! §5.4 fragmentation: which data frame may follow which, how large a
//! message may grow, and UTF-8 validation of text across fragment
//! boundaries (§8.1).
//!
//! The assembler sees data frames only; control frames (§5.5) may arrive
//! between fragments and never reach it. It owns the buffer that collects a
//! fragmented message. A message that arrives in a single frame never
//! touches that buffer: the connection hands it out straight from the
//! receive buffer, so the common case copies nothing.

use alloc::vec::Vec;

use crate::error::ProtocolError;
use crate::frame::OpCode;
use crate::utf8::Utf8Validator;

/// The kind of data message being received (§5.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// Opcode 0x1: the payload must be UTF-8 (§8.1).
    Text,
    /// Opcode 0x2: arbitrary bytes.
    Binary,
}

/// How a data frame fits into its message, decided from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FramePlace {
    /// The message this frame belongs to.
    pub kind: MessageKind,
    /// True for a message carried whole by this one frame (FIN set, no
    /// fragments before it): its payload needs no reassembly. Never for a
    /// compressed message, which is inflated into the reassembly buffer.
    pub single: bool,
    /// The message is compressed (RFC 7692 §6: RSV1 on its first frame):
    /// its payload must be inflated before it reaches the assembler.
    pub compressed: bool,
}

/// Tracks the message in progress across data frames (§5.4).
#[derive(Debug, Default)]
pub struct Assembler {
    /// The kind of the fragmented message in progress, if any.
    current: Option<MessageKind>,
    /// The message in progress is compressed (RFC 7692 §6.1).
    compressed: bool,
    /// Payload bytes announced so far for the message in progress.
    size: u64,
    utf8: Utf8Validator,
    /// Reassembly buffer for fragmented messages; kept between messages so
    /// that steady-state traffic does not allocate.
    buffer: Vec<u8>,
    /// How long the message in progress will probably be (see
    /// [`Assembler::expect`]); 0 for no guess.
    expected: usize,
}

impl Assembler {
    /// A new assembler with no message in progress and no buffer.
    #[cfg(test)]
    pub fn new() -> Self {
        Self::default()
    }

    /// A data frame header arrived. Applies §5.4's ordering rules and the
    /// message size limit before any of the payload is buffered.
    #[cfg(test)]
    pub fn begin_frame(
        &mut self,
        opcode: OpCode,
        fin: bool,
        payload_len: u64,
        max_message: u64,
    ) -> Result<FramePlace, ProtocolError> {
        self.begin_frame_rsv1(opcode, fin, payload_len, max_message, false)
    }

    /// [`Assembler::begin_frame`] for a connection that agreed to
    /// permessage-deflate: `rsv1` on a message's first frame marks it
    /// compressed (RFC 7692 §6), and on a continuation it is an error
    /// (§6.1). A compressed message's size limit applies to its inflated
    /// bytes, counted by whoever inflates them, not to its payload here.
    pub fn begin_frame_rsv1(
        &mut self,
        opcode: OpCode,
        fin: bool,
        payload_len: u64,
        max_message: u64,
        rsv1: bool,
    ) -> Result<FramePlace, ProtocolError> {
        if rsv1 && opcode == OpCode::Continuation {
            return Err(ProtocolError::CompressionBitMisplaced);
        }
        let kind = match (opcode, self.current) {
            // §5.4: "a fragmented message consists of a single frame with the
            // FIN bit clear and an opcode other than 0, followed by zero or
            // more frames with the FIN bit clear and the opcode set to 0".
            (OpCode::Continuation, Some(kind)) => kind,
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Text | OpCode::Binary, Some(_)) => {
                return Err(ProtocolError::ExpectedContinuation)
            }
            (OpCode::Text, None) => MessageKind::Text,
            (OpCode::Binary, None) => MessageKind::Binary,
            // Control frames never reach the assembler; treat one as a
            // caller bug rather than trusting it.
            (other, _) => return Err(ProtocolError::ReservedOpcode(other.as_u8())),
        };
        let first = self.current.is_none();
        let compressed = if first { rsv1 } else { self.compressed };
        let size = if first {
            payload_len
        } else {
            self.size.saturating_add(payload_len)
        };
        if size > max_message && !compressed {
            return Err(ProtocolError::MessageTooLarge(size));
        }
        self.size = size;
        let single = first && fin && !compressed;
        if first && !single {
            self.current = Some(kind);
            self.compressed = compressed;
            self.buffer.clear();
            self.utf8.reset();
        }
        Ok(FramePlace {
            kind,
            single,
            compressed,
        })
    }

    /// The fragmented message just begun will probably be `len` bytes long
    /// (the connection's last one was; the caller bounds `len` by the
    /// message size limit). Nothing is reserved until the buffer must
    /// grow: then it grows to `len` at once instead of doubling its way
    /// there, since each doubling copies what was received so far into
    /// fresh memory that faults its pages in again. A guess that is too
    /// small falls back to doubling; one that is too large costs address
    /// space the message never touches.
    pub fn expect(&mut self, len: usize) {
        self.expected = len;
    }

    /// Payload bytes of a fragment (already unmasked) arrived: validate
    /// them if the message is text, fail-fast (§8.1), and collect them.
    pub fn push_fragment(&mut self, kind: MessageKind, bytes: &[u8]) -> Result<(), ProtocolError> {
        if kind == MessageKind::Text {
            self.utf8.feed(bytes)?;
        }
        let len = self.buffer.len();
        let needed = len.saturating_add(bytes.len());
        if needed > self.buffer.capacity() && self.expected >= needed {
            // `reserve_exact` counts from the length, not the capacity.
            self.buffer.reserve_exact(self.expected.saturating_sub(len));
        }
        self.buffer.extend_from_slice(bytes);
        Ok(())
    }

    /// The last fragment is complete: checks that text does not end inside
    /// a code point. The message is then in [`Assembler::message`].
    pub fn finish_message(&mut self) -> Result<(), ProtocolError> {
        let kind = self.current.take();
        self.size = 0;
        self.expected = 0;
        self.compressed = false;
        if kind == Some(MessageKind::Text) {
            self.utf8.finish()?;
        }
        Ok(())
    }

    /// Payload bytes received for the message in progress, as announced
    /// by its frame headers (compressed bytes for a compressed message).
    pub fn wire_size(&self) -> u64 {
        self.size
    }

    /// The last message completed by [`Assembler::finish_message`].
    pub fn message(&self) -> &[u8] {
        &self.buffer
    }

    /// True while a fragmented message is in progress.
    pub fn in_message(&self) -> bool {
        self.current.is_some()
    }

    /// Bytes held for reassembly (for memory accounting, and the inflated
    /// size limit of RFC 7692 messages).
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Bytes the reassembly buffer holds allocated.
    pub fn capacity(&self) -> usize {
        self.buffer.capacity()
    }

    /// Gives the reassembly buffer back to the allocator when its capacity
    /// exceeds `keep`, so one huge message does not pin memory for the rest
    /// of an idle connection's life.
    pub fn trim(&mut self, keep: usize) {
        if self.current.is_none() {
            self.buffer.clear();
            if self.buffer.capacity() > keep {
                self.buffer = Vec::new();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u64 = 1000;

    #[test]
    fn single_frame_messages_need_no_reassembly() {
        let mut a = Assembler::new();
        let place = a.begin_frame(OpCode::Text, true, 5, MAX).unwrap();
        assert_eq!(
            place,
            FramePlace {
                kind: MessageKind::Text,
                single: true,
                compressed: false,
            }
        );
        assert!(!a.in_message());
    }

    #[test]
    fn continuation_without_a_message_is_rejected() {
        let mut a = Assembler::new();
        assert_eq!(
            a.begin_frame(OpCode::Continuation, true, 1, MAX),
            Err(ProtocolError::UnexpectedContinuation)
        );
        assert_eq!(
            a.begin_frame(OpCode::Continuation, false, 1, MAX),
            Err(ProtocolError::UnexpectedContinuation)
        );
    }

    #[test]
    fn new_data_frame_inside_a_message_is_rejected() {
        let mut a = Assembler::new();
        a.begin_frame(OpCode::Text, false, 1, MAX).unwrap();
        assert_eq!(
            a.begin_frame(OpCode::Text, true, 1, MAX),
            Err(ProtocolError::ExpectedContinuation)
        );
        assert_eq!(
            a.begin_frame(OpCode::Binary, true, 1, MAX),
            Err(ProtocolError::ExpectedContinuation)
        );
    }

    #[test]
    fn fragments_reassemble_and_validate_across_boundaries() {
        let mut a = Assembler::new();
        let text = "κόσμε".as_bytes();
        let (head, tail) = text.split_at(3); // inside a code point
        let p = a.begin_frame(OpCode::Text, false, 3, MAX).unwrap();
        assert!(!p.single);
        a.push_fragment(p.kind, head).unwrap();
        let p = a
            .begin_frame(OpCode::Continuation, true, tail.len() as u64, MAX)
            .unwrap();
        assert_eq!(p.kind, MessageKind::Text);
        a.push_fragment(p.kind, tail).unwrap();
        a.finish_message().unwrap();
        assert_eq!(a.message(), text);
        assert!(!a.in_message());
    }

    #[test]
    fn text_ending_inside_a_code_point_fails_at_the_end() {
        let mut a = Assembler::new();
        let p = a.begin_frame(OpCode::Text, false, 1, MAX).unwrap();
        a.push_fragment(p.kind, &[0xce]).unwrap();
        a.begin_frame(OpCode::Continuation, true, 0, MAX).unwrap();
        assert_eq!(a.finish_message(), Err(ProtocolError::InvalidUtf8));
    }

    #[test]
    fn invalid_text_fails_in_the_fragment_that_breaks_it() {
        let mut a = Assembler::new();
        let p = a.begin_frame(OpCode::Text, false, 1, MAX).unwrap();
        a.push_fragment(p.kind, &[0xf4]).unwrap();
        a.begin_frame(OpCode::Continuation, false, 1, MAX).unwrap();
        assert_eq!(
            a.push_fragment(p.kind, &[0x90]),
            Err(ProtocolError::InvalidUtf8)
        );
    }

    #[test]
    fn binary_is_not_validated() {
        let mut a = Assembler::new();
        let p = a.begin_frame(OpCode::Binary, false, 1, MAX).unwrap();
        a.push_fragment(p.kind, &[0xff]).unwrap();
        a.begin_frame(OpCode::Continuation, true, 0, MAX).unwrap();
        a.finish_message().unwrap();
        assert_eq!(a.message(), &[0xff]);
    }

    #[test]
    fn message_size_counts_every_fragment() {
        let mut a = Assembler::new();
        a.begin_frame(OpCode::Binary, false, 600, MAX).unwrap();
        assert_eq!(
            a.begin_frame(OpCode::Continuation, true, 401, MAX),
            Err(ProtocolError::MessageTooLarge(1001))
        );
        let mut b = Assembler::new();
        assert_eq!(
            b.begin_frame(OpCode::Text, true, MAX + 1, MAX),
            Err(ProtocolError::MessageTooLarge(MAX + 1))
        );
    }

    #[test]
    fn compressed_messages_always_stream_and_skip_the_wire_size_limit() {
        let mut a = Assembler::new();
        let p = a
            .begin_frame_rsv1(OpCode::Text, true, MAX + 5, MAX, true)
            .unwrap();
        assert!(p.compressed && !p.single);
        assert!(a.in_message());
        a.push_fragment(p.kind, b"hi").unwrap();
        a.finish_message().unwrap();
        assert_eq!(a.message(), b"hi");
        // A continuation inherits the flag; RSV1 on it is an error.
        let p = a
            .begin_frame_rsv1(OpCode::Binary, false, 1, MAX, true)
            .unwrap();
        assert!(p.compressed);
        let c = a
            .begin_frame_rsv1(OpCode::Continuation, false, 1, MAX, false)
            .unwrap();
        assert!(c.compressed);
        assert_eq!(
            a.begin_frame_rsv1(OpCode::Continuation, true, 1, MAX, true),
            Err(ProtocolError::CompressionBitMisplaced)
        );
        // After the message ends, the next one is uncompressed again.
        let mut b = Assembler::new();
        b.begin_frame_rsv1(OpCode::Text, false, 1, MAX, true)
            .unwrap();
        b.begin_frame_rsv1(OpCode::Continuation, true, 1, MAX, false)
            .unwrap();
        b.finish_message().unwrap();
        let p = b
            .begin_frame_rsv1(OpCode::Text, true, 1, MAX, false)
            .unwrap();
        assert!(p.single && !p.compressed);
    }

    #[test]
    fn a_finished_message_leaves_room_for_the_next() {
        let mut a = Assembler::new();
        a.begin_frame(OpCode::Binary, false, 600, MAX).unwrap();
        a.push_fragment(MessageKind::Binary, &[1; 600]).unwrap();
        a.begin_frame(OpCode::Continuation, true, 0, MAX).unwrap();
        a.finish_message().unwrap();
        a.begin_frame(OpCode::Binary, false, 600, MAX).unwrap();
        a.push_fragment(MessageKind::Binary, &[2; 3]).unwrap();
        a.begin_frame(OpCode::Continuation, true, 0, MAX).unwrap();
        a.finish_message().unwrap();
        assert_eq!(a.message(), &[2, 2, 2]);
    }

    /// Fragments of `total` bytes in pieces of `piece`: the buffer's
    /// address after each push.
    fn push_in_pieces(a: &mut Assembler, total: usize, piece: usize) -> Vec<*const u8> {
        a.begin_frame(OpCode::Binary, false, 0, MAX).unwrap();
        let bytes = alloc::vec![7u8; total];
        bytes
            .chunks(piece)
            .map(|chunk| {
                a.push_fragment(MessageKind::Binary, chunk).unwrap();
                a.message().as_ptr()
            })
            .collect()
    }

    #[test]
    fn an_expected_length_is_allocated_once_when_the_buffer_first_grows() {
        let mut a = Assembler::new();
        a.expect(10_000);
        let addresses = push_in_pieces(&mut a, 10_000, 1_000);
        a.finish_message().unwrap();
        assert_eq!(a.message(), &[7u8; 10_000][..]);
        assert_eq!(a.capacity(), 10_000);
        // Never moved: no reallocation after the first.
        assert!(addresses.windows(2).all(|w| w[0] == w[1]));
    }

    #[test]
    fn a_wrong_guess_still_assembles_the_message() {
        let mut small = Assembler::new();
        small.expect(2_000);
        push_in_pieces(&mut small, 10_000, 1_000);
        small.finish_message().unwrap();
        assert_eq!(small.message(), &[7u8; 10_000][..]);

        let mut large = Assembler::new();
        large.expect(100_000);
        push_in_pieces(&mut large, 3_000, 1_000);
        large.finish_message().unwrap();
        assert_eq!(large.message(), &[7u8; 3_000][..]);
        assert_eq!(large.capacity(), 100_000);
    }

    #[test]
    fn the_guess_lasts_one_message() {
        let mut a = Assembler::new();
        a.expect(100_000);
        push_in_pieces(&mut a, 10, 5);
        a.finish_message().unwrap();
        a.trim(0);
        push_in_pieces(&mut a, 10, 5);
        assert!(a.capacity() < 100_000, "capacity {}", a.capacity());
    }
}
