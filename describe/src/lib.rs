//! Explaining bytes: what each field of a frame (§5.2) or line of an
//! opening handshake (§4) means, and exactly which byte breaks which rule.
//!
//! This is for people studying the wire protocol: `ws6455 inspect` prints
//! [`describe_frames`] and [`describe_handshake`] reports, and `--trace`
//! prints each [`FrameTrace`](ws6455_proto::FrameTrace) as one
//! [`TraceLine`]. Everything here is a pure function from bytes to structs
//! and strings; nothing prints.
//!
//! A package of its own above the core (floor 3): the state machine
//! records what it parsed and sent; explaining it is not the core's job,
//! and no program that only embeds the library compiles this.
//!
//! A connection stops at the first broken rule (§7.1.7). A report reads
//! on: every field is decoded whatever it says, every rule is checked, and
//! each broken one becomes a [`Violation`] naming the byte (its offset in
//! the input and its value) and the RFC section. The rules are the core's
//! own — opcodes by [`OpCode::from_u8`], UTF-8 by [`Utf8Validator`]
//! (fail-fast, so the byte named is the first that no continuation could
//! make valid), close codes by [`CloseCode::is_valid_on_wire`] — and the
//! unit tests check that a header is flagged exactly when
//! [`ws6455_proto::frame::decode_header`] refuses it.

#![deny(missing_docs)]

use std::fmt::Write as _;

use ws6455_proto::close::CloseCode;
use ws6455_proto::frame::{LengthForm, OpCode};
use ws6455_proto::mask::apply_mask;
pub use ws6455_proto::raw_header::{read_raw_header, RawHeader};
use ws6455_proto::utf8::Utf8Validator;
use ws6455_proto::Role;

mod compressed;
mod handshake;
mod render;
mod trace_line;

pub use compressed::INFLATE_LIMIT;
pub use handshake::{describe_handshake, HandshakeReport, HeadKind, HeaderLine};
pub use render::{render_frames, render_handshake};
pub use trace_line::TraceLine;

/// §5.5: "All control frames MUST have a payload length of 125 bytes or less".
const MAX_CONTROL_PAYLOAD: u64 = 125;

/// One broken rule: where, which byte, what rule, which section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Offset in the input of the byte that breaks the rule (for a
    /// truncated frame: where the missing bytes should have been).
    pub offset: usize,
    /// That byte's value, or `None` when the input ends before it.
    pub byte: Option<u8>,
    /// For a rule about payload bytes: the offset within the payload.
    pub payload_offset: Option<u64>,
    /// What is wrong, in words.
    pub rule: String,
    /// The RFC 6455 section that states the rule, e.g. `§5.2`.
    pub section: &'static str,
}

/// Options for [`describe_frames`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DescribeOptions {
    /// Who sent the frames. When given, the masking rule (§5.1) is checked
    /// against it; when `None`, each frame's sender is inferred from its
    /// MASK bit (masked frames are from a client) and the rule is not
    /// checked.
    pub sender: Option<Role>,
    /// The connection agreed to RFC 7692 permessage-deflate: RSV1 on the
    /// first frame of a data message marks it compressed instead of
    /// breaking §5.2.
    pub deflate: bool,
    /// Also inflate compressed messages (implies `deflate`), keeping the
    /// window from one message to the next, and check the UTF-8 of
    /// compressed text on the inflated bytes.
    pub inflate: bool,
}

/// Where a data frame sits in its message (§5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fragment {
    /// FIN set, no message in progress: the whole message in one frame.
    Whole,
    /// FIN clear on a text or binary frame: a fragmented message begins.
    First,
    /// A continuation frame with FIN clear: fragment `n` (2, 3, …).
    Middle(usize),
    /// A continuation frame with FIN set: the last fragment, `n`.
    Last(usize),
}

/// What a close frame's payload says (§5.5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseInfo {
    /// The status code, if the payload had at least two bytes.
    pub code: Option<CloseCode>,
    /// The reason after the code, lossily decoded for display.
    pub reason: String,
}

/// Everything [`describe_frames`] found out about one frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameReport {
    /// 1-based position in the input.
    pub number: usize,
    /// Offset of the frame's first byte in the input.
    pub offset: usize,
    /// The header bytes present (all of them unless the input ends inside
    /// the header).
    pub head: Vec<u8>,
    /// The decoded header, once complete.
    pub header: Option<RawHeader>,
    /// Bytes missing at the end of the input to complete the frame.
    pub missing: u64,
    /// The payload as on the wire (what of it is present).
    pub wire_payload: Vec<u8>,
    /// The payload unmasked (equal to `wire_payload` when not masked).
    pub payload: Vec<u8>,
    /// Who sent it: given by [`DescribeOptions::sender`] or inferred.
    pub sender: Option<Role>,
    /// For data frames: where the frame sits in its message.
    pub fragment: Option<Fragment>,
    /// For data frames: the kind of the message (text or binary).
    pub message_kind: Option<OpCode>,
    /// For text (and close reasons): `Some(true)` if valid UTF-8 so far.
    pub utf8_valid: Option<bool>,
    /// For a last fragment: the reassembled message.
    pub message: Option<Vec<u8>>,
    /// A frame of a compressed message (RFC 7692 §6: RSV1 on its first
    /// frame, with [`DescribeOptions::deflate`]).
    pub compressed: bool,
    /// For the last frame of a compressed message, with
    /// [`DescribeOptions::inflate`]: the inflated message.
    pub inflated: Option<Vec<u8>>,
    /// For close frames: code and reason.
    pub close: Option<CloseInfo>,
    /// Every rule this frame breaks.
    pub violations: Vec<Violation>,
}

impl FrameReport {
    /// The opcode, if it is one RFC 6455 defines.
    pub fn opcode(&self) -> Option<OpCode> {
        self.head.first().and_then(|b| OpCode::from_u8(b & 0x0f))
    }

    /// Whether the length used the fewest bytes possible (§5.2).
    pub fn minimal_length(&self) -> Option<bool> {
        self.header.map(|h| match h.length_form {
            LengthForm::Seven => true,
            LengthForm::Sixteen => h.payload_len > MAX_CONTROL_PAYLOAD,
            LengthForm::SixtyFour => h.payload_len > u64::from(u16::MAX),
        })
    }
}

/// The frames of an input, in order, and what they add up to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FramesReport {
    /// One report per frame (the last one possibly incomplete).
    pub frames: Vec<FrameReport>,
    /// Whether [`DescribeOptions::sender`] was given.
    pub sender_given: bool,
    /// The input ended inside a fragmented message (not a rule break:
    /// the rest may simply not have been captured).
    pub unfinished_message: bool,
}

impl FramesReport {
    /// Every violation of every frame.
    pub fn violations(&self) -> impl Iterator<Item = &Violation> {
        self.frames.iter().flat_map(|f| f.violations.iter())
    }

    /// True when no frame breaks a rule.
    pub fn is_valid(&self) -> bool {
        self.violations().next().is_none()
    }
}

/// The message being reassembled across frames (§5.4).
struct Message {
    kind: OpCode,
    /// RSV1 on the first frame (RFC 7692 §6).
    compressed: bool,
    fragments: usize,
    utf8: Utf8Validator,
    /// Set after the first UTF-8 error, so it is reported once.
    broken: bool,
    bytes: Vec<u8>,
}

/// Describes every frame in `input`, one after another (§5.2–§5.5, §7.4,
/// §8.1), reading on after broken rules for as long as the frame
/// boundaries are known.
pub fn describe_frames(input: &[u8], options: DescribeOptions) -> FramesReport {
    let mut report = FramesReport {
        sender_given: options.sender.is_some(),
        ..FramesReport::default()
    };
    let mut message: Option<Message> = None;
    let mut inflater = compressed::Inflater::default();
    let options = DescribeOptions {
        deflate: options.deflate || options.inflate,
        ..options
    };
    let mut offset = 0;
    while let Some(rest) = input.get(offset..).filter(|r| !r.is_empty()) {
        let number = report.frames.len().saturating_add(1);
        let mut frame = describe_one(rest, offset, number, options, &mut message);
        if options.inflate && frame.compressed && frame.message.is_some() {
            compressed::inflate_message(&mut frame, &mut inflater);
        }
        let complete = frame.missing == 0;
        let len = frame
            .header
            .map_or(0, |h| h.header_len)
            .saturating_add(frame.wire_payload.len());
        report.frames.push(frame);
        if !complete || len == 0 {
            break;
        }
        offset = offset.saturating_add(len);
    }
    report.unfinished_message = message.is_some();
    report
}

fn describe_one(
    bytes: &[u8],
    offset: usize,
    number: usize,
    options: DescribeOptions,
    message: &mut Option<Message>,
) -> FrameReport {
    let raw = read_raw_header(bytes);
    let head_len = match raw {
        Ok(h) => h.header_len,
        Err(_) => bytes.len(),
    };
    let mut frame = FrameReport {
        number,
        offset,
        head: bytes.get(..head_len).unwrap_or(bytes).to_vec(),
        header: raw.ok(),
        missing: 0,
        wire_payload: Vec::new(),
        payload: Vec::new(),
        sender: options.sender,
        fragment: None,
        message_kind: None,
        utf8_valid: None,
        message: None,
        compressed: false,
        inflated: None,
        close: None,
        violations: Vec::new(),
    };
    check_header_bytes(&mut frame, options);
    let header = match raw {
        Ok(header) => header,
        Err(missing) => {
            frame.missing = missing as u64;
            truncated(&mut frame, missing as u64, "the header");
            return frame;
        }
    };
    check_length_is_minimal(&mut frame, &header);
    let available = bytes.get(header.header_len..).unwrap_or_default();
    let take = usize::try_from(header.payload_len)
        .unwrap_or(usize::MAX)
        .min(available.len());
    frame.wire_payload = available.get(..take).unwrap_or_default().to_vec();
    frame.payload = frame.wire_payload.clone();
    if let Some(key) = header.mask {
        apply_mask(&mut frame.payload, key, 0);
    }
    frame.missing = header.payload_len.saturating_sub(take as u64);
    match OpCode::from_u8(header.opcode) {
        Some(OpCode::Close) => check_close(&mut frame, &header),
        Some(op) if !op.is_control() => {
            let rsv1 = options.deflate && header.rsv == 0b100;
            check_data(&mut frame, &header, op, rsv1, message);
        }
        _ => {}
    }
    if frame.missing > 0 {
        let missing = frame.missing;
        truncated(&mut frame, missing, "the payload");
    }
    frame
}

impl FrameReport {
    fn violate(&mut self, at: usize, rule: String, section: &'static str) {
        self.violations.push(Violation {
            offset: self.offset.saturating_add(at),
            byte: self.head.get(at).copied(),
            payload_offset: None,
            rule,
            section,
        });
    }

    fn violate_payload(&mut self, at: u64, rule: String, section: &'static str) {
        let header_len = self.header.map_or(0, |h| h.header_len);
        let index = usize::try_from(at).unwrap_or(usize::MAX);
        self.violations.push(Violation {
            offset: self.offset.saturating_add(header_len).saturating_add(index),
            byte: self.wire_payload.get(index).copied(),
            payload_offset: Some(at),
            rule,
            section,
        });
    }
}

fn truncated(frame: &mut FrameReport, missing: u64, what: &str) {
    let end = frame
        .offset
        .saturating_add(frame.head.len())
        .saturating_add(frame.wire_payload.len());
    frame.violations.push(Violation {
        offset: end,
        byte: None,
        payload_offset: None,
        rule: format!(
            "truncated: the input ends {missing} byte{} short of the end of {what}",
            plural(missing)
        ),
        section: "§5.2",
    });
}

/// The rules that bytes 0–2 decide on their own, checked on whatever part
/// of the header is present (like the core, which fails fast on them).
fn check_header_bytes(frame: &mut FrameReport, options: DescribeOptions) {
    let Some(&byte0) = frame.head.first() else {
        return;
    };
    let opcode = byte0 & 0x0f;
    let known = OpCode::from_u8(opcode);
    if known.is_none() {
        let kind = if opcode < 0x8 {
            "non-control"
        } else {
            "control"
        };
        frame.violate(
            0,
            format!("opcode {opcode:#x} is reserved for further {kind} frames"),
            "§5.2",
        );
    }
    let rsv = (byte0 >> 4) & 0b111;
    if let Some((rule, section)) = compressed::rsv_rule(rsv, opcode, options.deflate) {
        frame.violate(0, rule, section);
    }
    let control = known.is_some_and(OpCode::is_control);
    if control && byte0 & 0x80 == 0 {
        frame.violate(
            0,
            "control frames must not be fragmented: FIN must be 1".into(),
            "§5.5",
        );
    }
    let Some(&byte1) = frame.head.get(1) else {
        return;
    };
    let masked = byte1 & 0x80 != 0;
    match options.sender {
        Some(Role::Client) if !masked => frame.violate(
            1,
            "a client must mask every frame it sends: MASK must be 1".into(),
            "§5.1",
        ),
        Some(Role::Server) if masked => frame.violate(
            1,
            "a server must not mask the frames it sends: MASK must be 0".into(),
            "§5.1",
        ),
        Some(_) => {}
        None => frame.sender = Some(if masked { Role::Client } else { Role::Server }),
    }
    let len7 = byte1 & 0x7f;
    if control && u64::from(len7) > MAX_CONTROL_PAYLOAD {
        frame.violate(
            1,
            format!(
                "control frame payloads are at most 125 bytes, but the length field says {len7} ({} length follows)",
                if len7 == 126 { "a 16-bit" } else { "a 64-bit" }
            ),
            "§5.5",
        );
    }
    if len7 == 127 && frame.head.get(2).is_some_and(|&b| b & 0x80 != 0) {
        frame.violate(
            2,
            "the most significant bit of a 64-bit length must be 0".into(),
            "§5.2",
        );
    }
}

fn check_length_is_minimal(frame: &mut FrameReport, header: &RawHeader) {
    if frame.minimal_length() == Some(false) {
        let needed = match header.payload_len {
            0..=125 => "the 7-bit field alone",
            _ => "the 16-bit form",
        };
        frame.violate(
            1,
            format!(
                "length {} is not minimally encoded: {needed} would do (\"the minimal number of bytes MUST be used\"; receivers, ws6455 included, accept it)",
                header.payload_len
            ),
            "§5.2",
        );
    }
}

/// §5.4 fragmentation order and §8.1 UTF-8 of text messages.
fn check_data(
    frame: &mut FrameReport,
    header: &RawHeader,
    opcode: OpCode,
    rsv1: bool,
    message: &mut Option<Message>,
) {
    if opcode == OpCode::Continuation {
        let Some(current) = message.as_mut() else {
            frame.violate(
                0,
                "continuation frame, but no fragmented message is in progress".into(),
                "§5.4",
            );
            return;
        };
        current.fragments = current.fragments.saturating_add(1);
        frame.fragment = Some(if header.fin {
            Fragment::Last(current.fragments)
        } else {
            Fragment::Middle(current.fragments)
        });
    } else {
        if message.is_some() {
            frame.violate(
                0,
                format!(
                    "a new {} message begins while a fragmented message is in progress: expected a continuation frame (opcode 0x0)",
                    opcode.name()
                ),
                "§5.4",
            );
        }
        *message = Some(Message {
            kind: opcode,
            compressed: rsv1,
            fragments: 1,
            utf8: Utf8Validator::new(),
            broken: false,
            bytes: Vec::new(),
        });
        frame.fragment = Some(if header.fin {
            Fragment::Whole
        } else {
            Fragment::First
        });
    }
    let Some(current) = message.as_mut() else {
        return;
    };
    frame.message_kind = Some(current.kind);
    frame.compressed = current.compressed;
    current.bytes.extend_from_slice(&frame.payload);
    // Compressed text is UTF-8 only once inflated.
    if current.kind == OpCode::Text && !current.broken && !current.compressed {
        let before = current.utf8;
        match current.utf8.feed(&frame.payload) {
            Ok(()) => frame.utf8_valid = Some(true),
            Err(_) => {
                current.broken = true;
                frame.utf8_valid = Some(false);
                let at = first_invalid_byte(before, &frame.payload).unwrap_or(0);
                let byte = frame.payload.get(at).copied().unwrap_or(0);
                frame.violate_payload(
                    at as u64,
                    format!("invalid UTF-8 in a text message: no UTF-8 text can continue with {byte:#04x} here"),
                    "§8.1",
                );
            }
        }
    }
    if header.fin {
        let done = message.take();
        if let Some(mut done) = done {
            let complete = frame.missing == 0;
            let plain_text = done.kind == OpCode::Text && !done.compressed;
            if complete && plain_text && !done.broken && done.utf8.finish().is_err() {
                frame.utf8_valid = Some(false);
                let end = frame.payload.len() as u64;
                frame.violate_payload(
                    end,
                    "invalid UTF-8: the text message ends in the middle of a character".into(),
                    "§8.1",
                );
            }
            if complete && (done.fragments > 1 || done.compressed) {
                frame.message = Some(done.bytes);
            }
        }
    }
}

/// The index of the first byte of `bytes` at which `state` fails (the
/// core's fail-fast validator decides, so this is the byte the core would
/// fail on). A binary search: once a prefix fails, every longer one does.
fn first_invalid_byte(state: Utf8Validator, bytes: &[u8]) -> Option<usize> {
    let fails = |n: usize| {
        let mut v = state;
        v.feed(bytes.get(..n).unwrap_or(bytes)).is_err()
    };
    if !fails(bytes.len()) {
        return None;
    }
    let (mut good, mut bad) = (0, bytes.len());
    while bad.saturating_sub(good) > 1 {
        let mid = good.saturating_add(bad.saturating_sub(good) / 2);
        if fails(mid) {
            bad = mid;
        } else {
            good = mid;
        }
    }
    Some(bad.saturating_sub(1))
}

/// §5.5.1 close payloads and §7.4 codes.
fn check_close(frame: &mut FrameReport, header: &RawHeader) {
    if frame.missing > 0 || header.payload_len > MAX_CONTROL_PAYLOAD {
        return;
    }
    let payload = frame.payload.clone();
    let (code, reason) = match payload.as_slice() {
        [] => {
            frame.close = Some(CloseInfo {
                code: None,
                reason: String::new(),
            });
            return;
        }
        [_] => {
            frame.violate_payload(
                0,
                "a close payload is empty or starts with a 2-byte status code; this one has 1 byte"
                    .into(),
                "§5.5.1",
            );
            return;
        }
        [hi, lo, reason @ ..] => (CloseCode(u16::from_be_bytes([*hi, *lo])), reason),
    };
    frame.close = Some(CloseInfo {
        code: Some(code),
        reason: String::from_utf8_lossy(reason).into_owned(),
    });
    if !code.is_valid_on_wire() {
        frame.violate_payload(
            0,
            format!(
                "close code {} ({}) may not appear in a close frame",
                code.0,
                code.meaning()
            ),
            "§7.4",
        );
    }
    let mut validator = Utf8Validator::new();
    let valid = validator.feed(reason).is_ok() && validator.finish().is_ok();
    if !reason.is_empty() {
        frame.utf8_valid = Some(valid);
    }
    if !valid {
        match first_invalid_byte(Utf8Validator::new(), reason) {
            Some(at) => frame.violate_payload(
                (at as u64).saturating_add(2),
                "invalid UTF-8 in the close reason".into(),
                "§8.1",
            ),
            None => frame.violate_payload(
                payload.len() as u64,
                "invalid UTF-8: the close reason ends in the middle of a character".into(),
                "§8.1",
            ),
        }
    }
}

fn rsv_names(rsv: u8) -> String {
    let names: Vec<&str> = [(0b100, "RSV1"), (0b010, "RSV2"), (0b001, "RSV3")]
        .into_iter()
        .filter(|(bit, _)| rsv & bit != 0)
        .map(|(_, name)| name)
        .collect();
    names.join(" and ")
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Bytes as lower-case hex pairs separated by spaces.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().saturating_mul(3));
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// A payload preview for one line: valid UTF-8 as a quoted, escaped string
/// (control characters cannot reach the terminal), anything else as hex.
/// `cut` says the bytes are the start of a longer payload, so a character
/// split at the end is not held against them.
pub fn preview(bytes: &[u8], as_text: bool, cut: bool) -> String {
    if as_text {
        match std::str::from_utf8(bytes) {
            Ok(text) => return format!("{text:?}"),
            Err(e) if cut && e.error_len().is_none() => {
                let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
                return format!("{:?}", String::from_utf8_lossy(valid));
            }
            Err(_) => {}
        }
    }
    hex(bytes)
}

/// Whether bytes of a payload that may be anything (ping, pong,
/// continuation) read as text: UTF-8 (a character cut at the end of a
/// preview allowed) without control characters other than whitespace.
fn looks_like_text(bytes: &[u8], cut: bool) -> bool {
    let valid = match std::str::from_utf8(bytes) {
        Ok(_) => bytes,
        Err(e) if cut && e.error_len().is_none() => {
            bytes.get(..e.valid_up_to()).unwrap_or_default()
        }
        Err(_) => return false,
    };
    String::from_utf8_lossy(valid)
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
}

#[cfg(test)]
mod tests;
