//! A frame to send, as wstest's `sendFrame` takes it.

/// A frame to send, built up like wstest's `sendFrame` keyword arguments.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// Opcode, including reserved ones.
    pub opcode: u8,
    /// The payload (repeated to `payload_len` if set).
    pub payload: &'a [u8],
    /// FIN bit.
    pub fin: bool,
    /// RSV bits (0–7).
    pub rsv: u8,
    /// A fixed masking key.
    pub mask: Option<[u8; 4]>,
    /// Repeat the payload up to this length.
    pub payload_len: Option<usize>,
    /// Write in pieces of this size, one per turn.
    pub chop: Option<usize>,
    /// Write on a turn of its own.
    pub sync: bool,
}

impl<'a> Frame<'a> {
    /// A final frame with `opcode` and `payload`, no RSV bits.
    pub fn new(opcode: u8, payload: &'a [u8]) -> Self {
        Frame {
            opcode,
            payload,
            fin: true,
            rsv: 0,
            mask: None,
            payload_len: None,
            chop: None,
            sync: false,
        }
    }

    /// Set FIN.
    pub fn fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }

    /// Set the RSV bits.
    pub fn rsv(mut self, rsv: u8) -> Self {
        self.rsv = rsv;
        self
    }

    /// Repeat the payload to `n` bytes.
    pub fn repeat_to(mut self, n: usize) -> Self {
        self.payload_len = Some(n);
        self
    }

    /// Write in pieces of `n` bytes.
    pub fn chop(mut self, n: usize) -> Self {
        self.chop = Some(n);
        self
    }

    /// Write on a turn of its own.
    pub fn sync(mut self, sync: bool) -> Self {
        self.sync = sync;
        self
    }
}
