//! What `describe` knows of RFC 7692 permessage-deflate: which RSV bits a
//! connection that agreed to it may set, and inflating a compressed
//! message to show what it says.

use super::FrameReport;
use ws6455_proto::frame::OpCode;

/// The largest inflated message shown (a bomb in the input must not make
/// the inspector allocate without bound).
pub const INFLATE_LIMIT: u64 = 16 << 20;

/// The rule a frame's RSV bits break, if any: without the extension every
/// bit must be 0 (RFC 6455 §5.2); with it RSV1 marks a compressed message
/// on the message's first frame only (RFC 7692 §6.1).
pub(super) fn rsv_rule(rsv: u8, opcode: u8, deflate: bool) -> Option<(String, &'static str)> {
    if rsv == 0 {
        return None;
    }
    let first_data = opcode == OpCode::Text.as_u8() || opcode == OpCode::Binary.as_u8();
    if deflate && rsv == 0b100 {
        return (!first_data).then(|| {
            (
                "RSV1 (\"Per-Message Compressed\") may be set only on the first frame of a text or binary message, never on a continuation or control frame".to_owned(),
                "RFC 7692 §6.1",
            )
        });
    }
    let names = super::rsv_names(rsv);
    let rule = if deflate {
        format!("{names} set, but permessage-deflate gives a meaning to RSV1 only")
    } else {
        format!(
            "{names} set, but no extension was negotiated to give {} a meaning",
            if rsv.count_ones() == 1 { "it" } else { "them" }
        )
    };
    Some((rule, "§5.2"))
}

/// Inflates compressed messages in order, keeping the window between them
/// (context takeover, RFC 7692 §7.1.1 — which also reads the messages of a
/// peer that resets its context).
#[derive(Default)]
pub(super) struct Inflater {
    decompressor: Option<ws6455_proto::deflate::Decompressor>,
}

impl Inflater {
    /// The message whose compressed payload is `compressed` (all its
    /// fragments joined), inflated with the RFC 7692 §7.2.2 tail; `Err`
    /// says why not.
    pub(super) fn message(&mut self, compressed: &[u8]) -> Result<Vec<u8>, String> {
        {
            use ws6455_proto::deflate::{Decompressor, InflateSink};
            let d = self
                .decompressor
                .get_or_insert_with(|| Decompressor::new(15));
            let mut out = Vec::new();
            let mut produced = 0;
            let mut sink = InflateSink {
                produced: &mut produced,
                limit: INFLATE_LIMIT,
                push: |piece: &[u8]| {
                    out.extend_from_slice(piece);
                    Ok(())
                },
            };
            let result = d
                .inflate(compressed, &mut sink)
                .and_then(|()| d.finish(&mut sink));
            match result {
                Ok(()) => Ok(out),
                Err(e) => {
                    d.reset();
                    Err(e.to_string())
                }
            }
        }
    }
}

/// Inflate the compressed message that `frame` completes (RFC 7692
/// §7.2.2) and check the UTF-8 of text on the inflated bytes (§8.1).
pub(super) fn inflate_message(frame: &mut FrameReport, inflater: &mut Inflater) {
    let Some(bytes) = frame.message.as_deref() else {
        return;
    };
    match inflater.message(bytes) {
        Ok(inflated) => {
            let text = frame.message_kind == Some(OpCode::Text);
            if text && std::str::from_utf8(&inflated).is_err() {
                frame.violate(
                    0,
                    "invalid UTF-8 in the inflated text message".into(),
                    "§8.1",
                );
            }
            frame.inflated = Some(inflated);
        }
        Err(why) => frame.violate(
            0,
            format!("cannot inflate the message: {why}"),
            "RFC 7692 §7.2.2",
        ),
    }
}
