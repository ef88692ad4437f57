//! The wire log of a case: octets and frames in both directions and the
//! case's timers, as the report's per-case page shows them (wstest's
//! `wirelog`).

/// One line of the log.
#[derive(Clone, Debug)]
pub enum Entry {
    /// Octets read: how many, and the first 64.
    RxOctets(usize, Vec<u8>),
    /// Octets written: how many, the first 64, and whether on a turn of
    /// their own.
    TxOctets(usize, Vec<u8>, bool),
    /// A frame read.
    RxFrame {
        /// Opcode.
        opcode: u8,
        /// FIN bit.
        fin: bool,
        /// RSV bits.
        rsv: u8,
        /// Payload length.
        len: usize,
        /// The first bytes of the payload (control frames).
        head: Vec<u8>,
        /// Whether it was masked.
        masked: bool,
    },
    /// A frame sent.
    TxFrame {
        /// Opcode.
        opcode: u8,
        /// FIN bit.
        fin: bool,
        /// RSV bits.
        rsv: u8,
        /// Payload length.
        len: usize,
        /// The first 64 bytes of the payload.
        head: Vec<u8>,
        /// Chop size.
        chop: Option<usize>,
        /// Written on a turn of its own.
        sync: bool,
    },
    /// A timer set or fired, or the log switched.
    Note(String),
}

/// The log; performance cases switch it off while they run.
#[derive(Clone, Debug, Default)]
pub struct Wirelog {
    entries: Vec<Entry>,
    off: bool,
}

impl Wirelog {
    /// Log what `entry` makes, unless logging is off.
    pub fn push(&mut self, entry: impl FnOnce() -> Entry) {
        if !self.off {
            self.entries.push(entry());
        }
    }

    /// Switch logging on or off (noted in the log).
    pub fn enable(&mut self, on: bool) {
        if on == self.off {
            self.off = !on;
            let note = if on {
                "WIRELOG ENABLED"
            } else {
                "WIRELOG DISABLED"
            };
            self.entries.push(Entry::Note(note.into()));
        }
    }

    /// The lines so far.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}
