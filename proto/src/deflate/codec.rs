//! RFC 7692 §7.2: turning a message into its compressed payload and back.
//!
//! Compression works on whole messages (the core sends a message in one
//! call): raw DEFLATE, flushed with an empty stored block (zlib's
//! `Z_SYNC_FLUSH`), whose final `00 00 ff ff` is removed (§7.2.1).
//!
//! Decompression works one fragment at a time, as the fragments arrive:
//! the `00 00 ff ff` is put back at the end of the message (§7.2.2). The
//! output comes in pieces of at most [`INFLATE_CHUNK`] bytes and is counted
//! as it comes, so a small payload that would inflate to gigabytes stops
//! after the limit plus one byte, and memory never holds more than the
//! limit (the caller sees each piece before the next is made).

use alloc::vec::Vec;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::error::ProtocolError;

/// §7.2.1: the tail of an empty stored block that a sync flush ends with,
/// removed by the sender and appended again by the receiver.
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The largest piece of inflated output produced at a time.
pub const INFLATE_CHUNK: usize = 16 << 10;

/// A raw DEFLATE compressor for outgoing messages.
pub struct Compressor {
    inner: Compress,
    level: u32,
    window: u8,
}

impl core::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Compressor").finish_non_exhaustive()
    }
}

impl Compressor {
    /// A compressor at `level` (0–9) with a window of 2^`window_bits`
    /// bytes (9–15; other values are clamped).
    pub fn new(level: u32, window_bits: u8) -> Self {
        let (level, window) = (level.min(9), window_bits.clamp(9, 15));
        Compressor {
            inner: Compress::new_with_window_bits(Compression::new(level), false, window),
            level,
            window,
        }
    }

    /// The (level, window bits) it was made with.
    pub fn settings(&self) -> (u32, u8) {
        (self.level, self.window)
    }

    /// Append the payload of `message`'s compressed form to `out` (§7.2.1):
    /// compress, sync-flush, drop the `00 00 ff ff` tail. An empty result
    /// becomes the single byte `00`, an empty stored block whose tail the
    /// receiver restores (§7.2.3.6). Returns false (with `out` as it was)
    /// if zlib reported an error; the caller must then reset.
    pub fn compress(&mut self, message: &[u8], out: &mut Vec<u8>) -> bool {
        let start = out.len();
        let mut input = message;
        // Text compresses to well under half; more room is made if needed.
        out.reserve((message.len() / 2).saturating_add(64));
        loop {
            if out.capacity() == out.len() {
                out.reserve((input.len() / 2).saturating_add(1024));
            }
            let (in_before, out_before) = (self.inner.total_in(), out.len());
            if self
                .inner
                .compress_vec(input, out, FlushCompress::Sync)
                .is_err()
            {
                out.truncate(start);
                return false;
            }
            let used = usize::try_from(self.inner.total_in().saturating_sub(in_before))
                .unwrap_or(usize::MAX);
            input = input.get(used..).unwrap_or_default();
            // The flush is complete once all input is in and zlib stopped
            // short of the space it was given; no progress at all means the
            // same (a second flush with nothing new to say).
            let stalled = used == 0 && out.len() == out_before;
            if input.is_empty() && (out.len() < out.capacity() || stalled) {
                break;
            }
        }
        if out.get(start..).is_some_and(|o| o.ends_with(&TAIL)) {
            out.truncate(out.len().saturating_sub(TAIL.len()));
        }
        if out.len() == start {
            out.push(0x00);
        }
        true
    }

    /// Forget all history: the next message is compressed on its own.
    pub fn reset(&mut self) {
        self.inner.reset();
    }

    /// Start afresh from `window`, the newest plaintext this stream sent
    /// (at most 2^bits bytes): the next message may refer back into it,
    /// as it could if this compressor had been kept. False if zlib
    /// refused it; the compressor is then fresh, which is still correct
    /// (it only compresses less).
    pub fn prime(&mut self, window: &[u8]) -> bool {
        self.inner.reset();
        if self.inner.set_dictionary(window).is_ok() {
            return true;
        }
        self.inner.reset();
        false
    }
}

/// A raw DEFLATE decompressor for incoming messages.
pub struct Decompressor {
    inner: Decompress,
    window: u8,
    /// The stream ended with a final block (BFINAL, §7.2.3.4): the rest of
    /// the message is ignored, and the stream restarts after it.
    ended: bool,
    /// Compressed bytes of the current message were fed.
    in_message: bool,
    /// The last `finish` found the stream ended and reset the window.
    restarted: bool,
}

impl core::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Decompressor")
            .field("ended", &self.ended)
            .field("in_message", &self.in_message)
            .finish_non_exhaustive()
    }
}

/// Where inflated bytes go, and how many may still come.
pub struct InflateSink<'a, F> {
    /// Inflated bytes of this message so far.
    pub produced: &'a mut u64,
    /// The most inflated bytes the message may have (§10.4; 1009 beyond).
    pub limit: u64,
    /// Receives each piece; its error stops inflating (e.g. bad UTF-8).
    pub push: F,
}

impl Decompressor {
    /// A decompressor for a peer whose window is at most 2^`window_bits`
    /// bytes (raised to at least 9: a larger window reads anything).
    pub fn new(window_bits: u8) -> Self {
        let window = window_bits.clamp(9, 15);
        Decompressor {
            inner: Decompress::new_with_window_bits(false, window),
            window,
            ended: false,
            in_message: false,
            restarted: false,
        }
    }

    /// The window bits it was made with.
    pub fn window(&self) -> u8 {
        self.window
    }

    /// True between the first compressed bytes of a message and `finish`.
    pub fn in_message(&self) -> bool {
        self.in_message
    }

    /// Inflate the next compressed bytes of the current message (§7.2.2),
    /// handing the output to `sink` in pieces of at most [`INFLATE_CHUNK`]
    /// bytes. Fails with [`ProtocolError::MessageTooLarge`] as soon as the
    /// message would grow past `sink.limit` (having produced at most one
    /// byte more, which is not handed on), and with
    /// [`ProtocolError::BadCompressedData`] on invalid DEFLATE data.
    pub fn inflate<F>(
        &mut self,
        input: &[u8],
        sink: &mut InflateSink<'_, F>,
    ) -> Result<(), ProtocolError>
    where
        F: FnMut(&[u8]) -> Result<(), ProtocolError>,
    {
        if input.is_empty() {
            return Ok(());
        }
        self.in_message = true;
        if self.ended {
            // §7.2.3.4 puts an empty block header after the final block so
            // that receivers which do not stop there still work; whatever
            // follows the final block is not part of the stream.
            return Ok(());
        }
        self.run(input, sink)
    }

    /// The message's last fragment was inflated: append the `00 00 ff ff`
    /// tail (§7.2.2) and flush what it releases. The decompressor is then
    /// ready for the next message, keeping its window unless
    /// [`Decompressor::reset`] is called.
    pub fn finish<F>(&mut self, sink: &mut InflateSink<'_, F>) -> Result<(), ProtocolError>
    where
        F: FnMut(&[u8]) -> Result<(), ProtocolError>,
    {
        self.in_message = false;
        self.restarted = false;
        if self.ended {
            // The stream finished inside the message; zlib accepts nothing
            // more, so the next message starts a new stream.
            self.reset();
            self.restarted = true;
            return Ok(());
        }
        self.run(&TAIL, sink)?;
        if self.ended {
            self.reset();
            self.restarted = true;
        }
        Ok(())
    }

    /// Forget the window and any message in progress.
    pub fn reset(&mut self) {
        self.inner.reset(false);
        self.ended = false;
        self.in_message = false;
    }

    /// Start afresh from `window`, the newest plaintext this stream
    /// produced (at most 2^bits bytes), so that the next message's
    /// references into it resolve as they would had this decompressor
    /// been kept. False if zlib refused it (the next message that refers
    /// back then fails as bad compressed data, never as wrong bytes).
    pub fn prime(&mut self, window: &[u8]) -> bool {
        self.reset();
        self.inner.set_dictionary(window).is_ok()
    }

    /// Whether the last message ended the stream (a final block, §7.2.3.4)
    /// so that this decompressor started a new one without a window.
    pub fn restarted(&self) -> bool {
        self.restarted
    }

    fn run<F>(
        &mut self,
        mut input: &[u8],
        sink: &mut InflateSink<'_, F>,
    ) -> Result<(), ProtocolError>
    where
        F: FnMut(&[u8]) -> Result<(), ProtocolError>,
    {
        let mut buf = [0u8; INFLATE_CHUNK];
        loop {
            // Room for one byte past the limit: producing it proves the
            // message too large without producing anything more.
            let left = sink.limit.saturating_sub(*sink.produced).saturating_add(1);
            let room = usize::try_from(left)
                .unwrap_or(INFLATE_CHUNK)
                .min(INFLATE_CHUNK);
            let out = buf.get_mut(..room).unwrap_or_default();
            let (in_before, out_before) = (self.inner.total_in(), self.inner.total_out());
            let status = self
                .inner
                .decompress(input, out, FlushDecompress::Sync)
                .map_err(|_| ProtocolError::BadCompressedData)?;
            let used = usize::try_from(self.inner.total_in().saturating_sub(in_before))
                .unwrap_or(usize::MAX);
            let made = usize::try_from(self.inner.total_out().saturating_sub(out_before))
                .unwrap_or(usize::MAX);
            input = input.get(used..).unwrap_or_default();
            if made > 0 {
                *sink.produced = sink.produced.saturating_add(made as u64);
                if *sink.produced > sink.limit {
                    return Err(ProtocolError::MessageTooLarge(*sink.produced));
                }
                (sink.push)(out.get(..made).unwrap_or_default())?;
            }
            if status == Status::StreamEnd {
                self.ended = true;
                return Ok(());
            }
            // Done when the input is used up and zlib left room unused (it
            // has nothing more to give). With room to write, zlib always
            // takes input; if it took none and gave nothing, it is stuck.
            if input.is_empty() && made < room {
                return Ok(());
            }
            if used == 0 && made == 0 {
                return if input.is_empty() {
                    Ok(())
                } else {
                    Err(ProtocolError::BadCompressedData)
                };
            }
        }
    }
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
