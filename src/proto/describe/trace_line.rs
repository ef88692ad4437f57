//! `--trace` lines: how a [`FrameTrace`] record (a frame, or a whole
//! compressed message) reads as one line of text.

use std::fmt;

use super::{hex, looks_like_text, plural, preview};
use crate::proto::close::CloseCode;
use crate::proto::connection::{Direction, FrameTrace};
use crate::proto::frame::OpCode;

/// One line per frame: `← text fin len=5 "Hello"`, `→ close 1000 (normal
/// closure)`. Data and ping/pong payloads are previewed as text when they
/// are UTF-8, as hex otherwise; `…` marks a payload longer than the
/// preview.
impl fmt::Display for FrameTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let arrow = match self.direction {
            Direction::Received => "←",
            Direction::Sent => "→",
        };
        match OpCode::from_u8(self.opcode) {
            Some(op) => write!(f, "{arrow} {}", op.name())?,
            None => write!(f, "{arrow} opcode {:#x} (reserved)", self.opcode)?,
        }
        let preview_bytes = self.preview();
        let cut = (preview_bytes.len() as u64) < self.len;
        if let Some(compressed) = self.compressed_len {
            // RFC 7692 §7.2: the message the compressed frames carried.
            let (verb, way) = match self.direction {
                Direction::Received => ("inflated", "from"),
                Direction::Sent => ("deflated", "to"),
            };
            write!(f, " message {} B {verb} {way} {compressed} B", self.len)?;
            if !preview_bytes.is_empty() {
                let as_text = self.opcode == OpCode::Text.as_u8();
                write!(f, " {}", preview(preview_bytes, as_text, cut))?;
                if cut {
                    f.write_str("…")?;
                }
            }
            return write_lost(f, self.lost);
        }
        if self.opcode == OpCode::Close.as_u8() && self.rsv == 0 {
            if let [hi, lo, reason @ ..] = preview_bytes {
                write!(f, " {}", CloseCode(u16::from_be_bytes([*hi, *lo])))?;
                if !reason.is_empty() {
                    write!(f, " {}", preview(reason, true, cut))?;
                }
            } else if self.len == 0 {
                f.write_str(" (no status code)")?;
            } else {
                write!(f, " len={} {}", self.len, hex(preview_bytes))?;
            }
        } else {
            if self.fin && self.opcode & 0x8 == 0 {
                f.write_str(" fin")?;
            }
            let data = self.opcode == OpCode::Text.as_u8() || self.opcode == OpCode::Binary.as_u8();
            if self.rsv == 0b100 && data {
                // RFC 7692 §6: what RSV1 means on a message's first frame
                // once permessage-deflate is agreed (else §5.2 fails it).
                f.write_str(" compressed")?;
            } else if self.rsv != 0 {
                write!(f, " rsv={:03b}", self.rsv)?;
            }
            write!(f, " len={}", self.len)?;
            if !preview_bytes.is_empty() {
                let as_text = match OpCode::from_u8(self.opcode) {
                    Some(OpCode::Text) => true,
                    Some(OpCode::Binary) => false,
                    _ => looks_like_text(preview_bytes, cut),
                };
                write!(f, " {}", preview(preview_bytes, as_text, cut))?;
            }
        }
        if cut && !preview_bytes.is_empty() {
            f.write_str("…")?;
        }
        write_lost(f, self.lost)
    }
}

/// The note on a trace line that records were dropped before it.
fn write_lost(f: &mut fmt::Formatter<'_>, lost: u64) -> fmt::Result {
    if lost > 0 {
        write!(f, " ({lost} earlier frame{} not traced)", plural(lost))?;
    }
    Ok(())
}
