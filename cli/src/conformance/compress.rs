//! permessage-deflate (RFC 7692) for the runner's side of sections 12
//! and 13: the agreed parameters, and the core's compressor and
//! decompressor driven the way wstest drives zlib (a fresh stream per
//! message when context takeover is off).

use ws6455::proto::deflate::codec::{Compressor, Decompressor, InflateSink};
use ws6455::proto::ProtocolError;

/// Compression level of our messages. The verdicts do not depend on it;
/// level 1 keeps the runner's share of sections 12-13 small.
const LEVEL: u32 = 1;

/// What was agreed, from the server's point of view (RFC 7692 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Agreed {
    /// The server starts each message with a fresh window.
    pub server_no_context_takeover: bool,
    /// The client starts each message with a fresh window.
    pub client_no_context_takeover: bool,
    /// The server's window (8-15; 0 = 15).
    pub server_max_window_bits: u8,
    /// The client's window (8-15; 0 = 15).
    pub client_max_window_bits: u8,
}

/// One connection's compression state.
pub struct Session {
    compressor: Compressor,
    decompressor: Decompressor,
    reset_sending: bool,
    reset_receiving: bool,
}

fn bits(b: u8) -> u8 {
    if b == 0 {
        15
    } else {
        b
    }
}

impl Session {
    /// The state for our side (`is_server`) of what was agreed.
    pub fn new(is_server: bool, a: Agreed) -> Self {
        let (send_bits, recv_bits, reset_sending, reset_receiving) = if is_server {
            (
                a.server_max_window_bits,
                a.client_max_window_bits,
                a.server_no_context_takeover,
                a.client_no_context_takeover,
            )
        } else {
            (
                a.client_max_window_bits,
                a.server_max_window_bits,
                a.client_no_context_takeover,
                a.server_no_context_takeover,
            )
        };
        Session {
            compressor: Compressor::new(LEVEL, bits(send_bits)),
            // A decompressor reads windows up to its own size.
            decompressor: Decompressor::new(bits(recv_bits)),
            reset_sending,
            reset_receiving,
        }
    }

    /// One message's compressed payload (§7.2.1).
    pub fn compress(&mut self, message: &[u8]) -> Vec<u8> {
        if self.reset_sending {
            self.compressor.reset();
        }
        let mut out = Vec::new();
        if !self.compressor.compress(message, &mut out) {
            self.compressor.reset();
            out.clear();
            self.compressor.compress(message, &mut out);
        }
        out
    }

    /// Inflate the next compressed bytes of the current message.
    pub fn decompress(&mut self, data: &[u8]) -> Result<Vec<u8>, ProtocolError> {
        let d = &mut self.decompressor;
        collect(|sink| d.inflate(data, sink))
    }

    /// The message ended: flush what the §7.2.2 tail releases.
    pub fn finish_message(&mut self) -> Result<Vec<u8>, ProtocolError> {
        let d = &mut self.decompressor;
        let plain = collect(|sink| d.finish(sink))?;
        if self.reset_receiving {
            self.decompressor.reset();
        }
        Ok(plain)
    }
}

/// Where inflated bytes go: one vector, no limit (the driver bounds what
/// a peer may make the runner hold).
type Push<'a> = &'a mut dyn FnMut(&[u8]) -> Result<(), ProtocolError>;

/// What `run` inflates, gathered.
fn collect(
    run: impl FnOnce(&mut InflateSink<'_, Push<'_>>) -> Result<(), ProtocolError>,
) -> Result<Vec<u8>, ProtocolError> {
    let mut plain = Vec::new();
    let mut produced = 0u64;
    let mut push = |piece: &[u8]| {
        plain.extend_from_slice(piece);
        Ok(())
    };
    let mut sink = InflateSink {
        produced: &mut produced,
        limit: u64::MAX,
        push: &mut push as Push<'_>,
    };
    run(&mut sink)?;
    Ok(plain)
}
