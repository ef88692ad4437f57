//! A message encoded once and sent to many connections.
//!
//! Server frames are never masked (§5.1), so the same bytes are valid on
//! every server connection: broadcasting to N clients costs one encoding
//! and one buffer, shared by reference count. A server's output queue
//! holds a reference to the frames instead of a copy, and the driver
//! writes them to each socket straight from the shared buffer. A client
//! must mask every frame with a fresh key (§5.3), so it re-encodes the
//! frames into its own queue.

use alloc::sync::Arc;

use crate::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};

/// Unmasked frames of one data message (§5.2, split as §5.4 allows), ready
/// to be queued on any number of connections with
/// [`crate::Connection::send_prepared`]. Cloning it is a reference-count
/// increment: the frames are never copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedMessage {
    frames: Arc<[u8]>,
}

impl PreparedMessage {
    /// A text message (§5.6) split into frames of at most `fragment_size`
    /// payload bytes (§5.4).
    pub fn text(text: &str, fragment_size: usize) -> Self {
        Self::new(OpCode::Text, text.as_bytes(), fragment_size)
    }

    /// A binary message (§5.6) split into frames of at most
    /// `fragment_size` payload bytes (§5.4).
    pub fn binary(data: &[u8], fragment_size: usize) -> Self {
        Self::new(OpCode::Binary, data, fragment_size)
    }

    /// One allocation: the frames' exact length is known before they are
    /// written, so they go straight into the shared buffer.
    fn new(opcode: OpCode, payload: &[u8], fragment_size: usize) -> Self {
        let fragment_size = fragment_size.max(1);
        let total = payload
            .chunks(fragment_size)
            .map(|chunk| {
                header(true, opcode, chunk.len())
                    .encoded_len()
                    .saturating_add(chunk.len())
            })
            .fold(0usize, usize::saturating_add)
            .max(2);
        // `repeat_n` knows its exact length, so this allocates the shared
        // buffer once and fills it in place (no intermediate `Vec`).
        let mut frames: Arc<[u8]> = core::iter::repeat_n(0u8, total).collect();
        if let Some(buf) = Arc::get_mut(&mut frames) {
            write_frames(buf, opcode, payload, fragment_size);
        }
        PreparedMessage { frames }
    }

    /// The encoded frames, exactly as a server writes them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.frames
    }

    /// The shared buffer, for output queues to hold a reference to.
    pub(crate) fn shared(&self) -> &Arc<[u8]> {
        &self.frames
    }
}

fn header(fin: bool, opcode: OpCode, len: usize) -> FrameHeader {
    FrameHeader {
        fin,
        rsv: 0,
        opcode,
        mask: None,
        payload_len: len as u64,
    }
}

/// Write the frames of one message into `buf`, which is exactly as long as
/// they are: the first frame carries `opcode`, the rest are continuations,
/// the last has FIN (§5.4); an empty message is one empty final frame.
fn write_frames(buf: &mut [u8], opcode: OpCode, payload: &[u8], fragment_size: usize) {
    let mut at = 0usize;
    let mut put = |bytes: &[u8]| {
        let end = at.saturating_add(bytes.len());
        if let Some(dst) = buf.get_mut(at..end) {
            dst.copy_from_slice(bytes);
        }
        at = end;
    };
    let mut chunks = payload.chunks(fragment_size).peekable();
    let mut op = opcode;
    loop {
        let chunk = chunks.next().unwrap_or_default();
        let fin = chunks.peek().is_none();
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = header(fin, op, chunk.len()).encode(&mut head);
        put(head.get(..n).unwrap_or_default());
        put(chunk);
        if fin {
            return;
        }
        op = OpCode::Continuation;
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use proptest::prelude::*;

    use super::*;
    use crate::encode::push_message;

    proptest! {
        #[test]
        fn frames_are_what_push_message_encodes(
            len in 0usize..70_000,
            fragment in 0usize..70_000,
            text in any::<bool>(),
        ) {
            let payload: Vec<u8> = (0..len).map(|i| (i % 97) as u8 + b' ').collect();
            let opcode = if text { OpCode::Text } else { OpCode::Binary };
            let mut expected = Vec::new();
            push_message(&mut expected, opcode, &payload, fragment, || None);
            let prepared = PreparedMessage::new(opcode, &payload, fragment);
            prop_assert_eq!(prepared.as_bytes(), &expected[..]);
        }
    }

    #[test]
    fn clones_share_one_buffer() {
        let a = PreparedMessage::text("shared", 2);
        let b = a.clone();
        assert!(Arc::ptr_eq(a.shared(), b.shared()));
        assert_eq!(a, b);
        assert_eq!(Arc::strong_count(a.shared()), 2);
    }
}
