//! `--trace` lines: how a [`FrameTrace`] record (a frame, or a whole
//! compressed message) reads as one line of text.

use std::fmt;

use super::{hex, looks_like_text, plural, preview};
use ws6455_proto::close::CloseCode;
use ws6455_proto::connection::{Direction, FrameTrace};
use ws6455_proto::frame::OpCode;

/// A [`FrameTrace`] record as one `--trace` line: `← text fin len=5
/// "Hello"`, `→ close 1000 (normal closure)`. Data and ping/pong payloads
/// are previewed as text when they are UTF-8, as hex otherwise; `…` marks a
/// payload longer than the preview.
#[derive(Clone, Copy, Debug)]
pub struct TraceLine<'a>(pub &'a FrameTrace);

impl fmt::Display for TraceLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let TraceLine(trace) = *self;
        trace_line(trace, f)
    }
}

fn trace_line(this: &FrameTrace, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let arrow = match this.direction {
        Direction::Received => "←",
        Direction::Sent => "→",
    };
    match OpCode::from_u8(this.opcode) {
        Some(op) => write!(f, "{arrow} {}", op.name())?,
        None => write!(f, "{arrow} opcode {:#x} (reserved)", this.opcode)?,
    }
    let preview_bytes = this.preview();
    let cut = (preview_bytes.len() as u64) < this.len;
    if let Some(compressed) = this.compressed_len {
        // RFC 7692 §7.2: the message the compressed frames carried.
        let (verb, way) = match this.direction {
            Direction::Received => ("inflated", "from"),
            Direction::Sent => ("deflated", "to"),
        };
        write!(f, " message {} B {verb} {way} {compressed} B", this.len)?;
        if !preview_bytes.is_empty() {
            let as_text = this.opcode == OpCode::Text.as_u8();
            write!(f, " {}", preview(preview_bytes, as_text, cut))?;
            if cut {
                f.write_str("…")?;
            }
        }
        return write_lost(f, this.lost);
    }
    if this.opcode == OpCode::Close.as_u8() && this.rsv == 0 {
        if let [hi, lo, reason @ ..] = preview_bytes {
            write!(f, " {}", CloseCode(u16::from_be_bytes([*hi, *lo])))?;
            if !reason.is_empty() {
                write!(f, " {}", preview(reason, true, cut))?;
            }
        } else if this.len == 0 {
            f.write_str(" (no status code)")?;
        } else {
            write!(f, " len={} {}", this.len, hex(preview_bytes))?;
        }
    } else {
        if this.fin && this.opcode & 0x8 == 0 {
            f.write_str(" fin")?;
        }
        let data = this.opcode == OpCode::Text.as_u8() || this.opcode == OpCode::Binary.as_u8();
        if this.rsv == 0b100 && data {
            // RFC 7692 §6: what RSV1 means on a message's first frame
            // once permessage-deflate is agreed (else §5.2 fails it).
            f.write_str(" compressed")?;
        } else if this.rsv != 0 {
            write!(f, " rsv={:03b}", this.rsv)?;
        }
        write!(f, " len={}", this.len)?;
        if !preview_bytes.is_empty() {
            let as_text = match OpCode::from_u8(this.opcode) {
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
    write_lost(f, this.lost)
}

/// The note on a trace line that records were dropped before it.
fn write_lost(f: &mut fmt::Formatter<'_>, lost: u64) -> fmt::Result {
    if lost > 0 {
        write!(f, " ({lost} earlier frame{} not traced)", plural(lost))?;
    }
    Ok(())
}
