//! A message encoded once and sent to many connections.
//!
//! Server frames are never masked (§5.1), so the same bytes are valid on
//! every server connection: broadcasting to N clients costs one encoding
//! and N copies instead of N encodings.

use alloc::vec::Vec;

use crate::encode::push_message;
use crate::frame::OpCode;

/// Unmasked frames of one data message, ready to be queued on any number of
/// connections with [`crate::Connection::send_prepared`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedMessage {
    frames: Vec<u8>,
}

impl PreparedMessage {
    /// A text message split into frames of at most `fragment_size` bytes.
    pub fn text(text: &str, fragment_size: usize) -> Self {
        Self::new(OpCode::Text, text.as_bytes(), fragment_size)
    }

    /// A binary message split into frames of at most `fragment_size` bytes.
    pub fn binary(data: &[u8], fragment_size: usize) -> Self {
        Self::new(OpCode::Binary, data, fragment_size)
    }

    fn new(opcode: OpCode, payload: &[u8], fragment_size: usize) -> Self {
        let mut frames = Vec::new();
        push_message(&mut frames, opcode, payload, fragment_size, || None);
        PreparedMessage { frames }
    }

    /// The encoded frames, exactly as a server writes them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.frames
    }
}
