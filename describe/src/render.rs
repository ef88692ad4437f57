//! Reports as text, one annotated line per field, for `ws6455 inspect`.

use std::fmt::Write as _;

use super::{
    hex, plural, preview, Fragment, FrameReport, FramesReport, HandshakeReport, HeadKind,
    RawHeader, Violation,
};
use ws6455_proto::connection::Role;
use ws6455_proto::frame::OpCode;

/// Payload bytes shown as hex before `--full` is needed (four rows).
const HEX_PREVIEW: usize = 64;
/// Text bytes shown before `--full` is needed.
const TEXT_PREVIEW: usize = 256;
/// Hex bytes per row.
const ROW: usize = 16;
/// Width of the label column.
const LABEL: usize = 14;

/// Renders a [`FramesReport`]: per frame, each header byte with its bits
/// and fields, the masking key, the payload (masked and unmasked; long
/// payloads cut unless `full`), what the frame means in its message, and
/// each broken rule; then a one-line summary.
pub fn render_frames(report: &FramesReport, full: bool) -> String {
    let mut out = String::new();
    for frame in &report.frames {
        render_frame(&mut out, frame, report.sender_given, full);
        out.push('\n');
    }
    if report.unfinished_message {
        out.push_str("note: the input ends inside a fragmented message\n");
    }
    let frames = report.frames.len();
    let broken = report.violations().count();
    let _ = write!(out, "{frames} frame{}: ", plural(frames as u64));
    if broken == 0 {
        out.push_str("all valid\n");
    } else {
        let _ = writeln!(out, "{broken} rule{} broken", plural(broken as u64));
    }
    out
}

fn line(out: &mut String, label: &str, text: &str) {
    let width = LABEL.max(label.chars().count().saturating_add(1));
    let _ = writeln!(out, "  {label:<width$}{text}");
}

fn span(offset: usize, len: usize) -> String {
    match len {
        0 | 1 => format!("byte {offset}"),
        _ => format!(
            "bytes {offset}-{}",
            offset.saturating_add(len.saturating_sub(1))
        ),
    }
}

fn render_frame(out: &mut String, frame: &FrameReport, sender_given: bool, full: bool) {
    let name = match frame.head.first() {
        Some(b) => match OpCode::from_u8(b & 0x0f) {
            Some(op) => op.name().to_owned(),
            None => format!("reserved opcode {:#x}", b & 0x0f),
        },
        None => "empty".to_owned(),
    };
    let total = frame.head.len().saturating_add(frame.wire_payload.len());
    let _ = writeln!(
        out,
        "frame {} at byte {} ({total} byte{}{}): {name}",
        frame.number,
        frame.offset,
        plural(total as u64),
        if frame.missing > 0 { " present" } else { "" },
    );
    header_lines(out, frame);
    if let Some(sender) = frame.sender {
        let who = match sender {
            Role::Client => "client",
            Role::Server => "server",
        };
        let how = if sender_given {
            "as given"
        } else if sender == Role::Client {
            "inferred: masked frames come from clients, §5.1"
        } else {
            "inferred: unmasked frames come from servers, §5.1"
        };
        line(out, "sent by", &format!("a {who} ({how})"));
    }
    if let Some(header) = frame.header {
        payload_lines(out, frame, &header, full);
        meaning_lines(out, frame, full);
    }
    for v in &frame.violations {
        let _ = writeln!(out, "  ✗ {}", violation(v));
    }
}

/// `byte 9 = 0xa0 (payload byte 3): <rule> (RFC 6455 §8.1)`.
fn violation(v: &Violation) -> String {
    let at = match v.byte {
        Some(b) => format!("byte {} = {b:#04x}", v.offset),
        None => format!("byte {} (end of input)", v.offset),
    };
    let payload = v
        .payload_offset
        .map(|p| format!(" (payload byte {p})"))
        .unwrap_or_default();
    let rfc = if v.section.starts_with("RFC ") {
        ""
    } else {
        "RFC 6455 "
    };
    format!("{at}{payload}: {} ({rfc}{})", v.rule, v.section)
}

fn header_lines(out: &mut String, frame: &FrameReport) {
    let base = frame.offset;
    if let Some(&b0) = frame.head.first() {
        let op = b0 & 0x0f;
        let op_name = OpCode::from_u8(op).map_or("reserved", OpCode::name);
        let text = format!(
            "{b0:02x}  {} {}{}{} {:04b}   FIN={} RSV1={} RSV2={} RSV3={} opcode={op:#x} ({op_name})",
            b0 >> 7,
            b0 >> 6 & 1,
            b0 >> 5 & 1,
            b0 >> 4 & 1,
            op,
            b0 >> 7,
            b0 >> 6 & 1,
            b0 >> 5 & 1,
            b0 >> 4 & 1,
        );
        let first = matches!(frame.fragment, Some(Fragment::First | Fragment::Whole));
        let text = if frame.compressed && first && b0 & 0x40 != 0 {
            format!("{text}: compressed (permessage-deflate, RFC 7692 §6)")
        } else {
            text
        };
        line(out, &span(base, 1), &text);
    }
    let Some(&b1) = frame.head.get(1) else {
        return;
    };
    let len7 = b1 & 0x7f;
    let length = match len7 {
        126 => "length=126: a 16-bit length follows".to_owned(),
        127 => "length=127: a 64-bit length follows".to_owned(),
        n => format!("length={n} (7-bit, {})", minimal_word(frame)),
    };
    let text = format!(
        "{b1:02x}  {} {:07b}    MASK={} {length}",
        b1 >> 7,
        len7,
        b1 >> 7
    );
    line(out, &span(base.saturating_add(1), 1), &text);
    let extended = match len7 {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    if extended > 0 {
        let bytes = frame.head.get(2..).unwrap_or_default();
        let bytes = bytes.get(..extended).unwrap_or(bytes);
        let text = match frame.header {
            Some(h) => format!(
                "{}  length={} ({}-bit, {})",
                hex(bytes),
                h.payload_len,
                if extended == 2 { 16 } else { 64 },
                minimal_word(frame)
            ),
            None => format!("{}  (incomplete)", hex(bytes)),
        };
        line(out, &span(base.saturating_add(2), bytes.len()), &text);
    }
    if b1 & 0x80 != 0 {
        let start = extended.saturating_add(2);
        let key = frame.head.get(start..).unwrap_or_default();
        let key = key.get(..4).unwrap_or(key);
        if !key.is_empty() || frame.header.is_some() {
            let what = if key.len() == 4 {
                "masking key"
            } else {
                "masking key (incomplete)"
            };
            line(
                out,
                &span(base.saturating_add(start), key.len()),
                &format!("{}  {what}", hex(key)),
            );
        }
    }
}

fn minimal_word(frame: &FrameReport) -> &'static str {
    match frame.minimal_length() {
        Some(true) => "minimal",
        Some(false) => "NOT minimal",
        None => "…",
    }
}

/// Whether a payload is best shown as text: text messages, and control
/// payloads (ping and pong bodies are often text, as in §5.7).
fn shows_as_text(frame: &FrameReport) -> bool {
    if frame.compressed {
        return false;
    }
    match frame.message_kind {
        Some(kind) => kind == OpCode::Text,
        None => {
            frame.opcode().is_some_and(OpCode::is_control)
                && super::looks_like_text(&frame.payload, false)
        }
    }
}

fn payload_lines(out: &mut String, frame: &FrameReport, header: &RawHeader, full: bool) {
    let start = frame.offset.saturating_add(header.header_len);
    let len = frame.wire_payload.len();
    let mut title = format!(
        "payload, {} byte{}",
        header.payload_len,
        plural(header.payload_len)
    );
    if frame.missing > 0 {
        let _ = write!(title, " ({len} present)");
    }
    if len == 0 {
        let text = if header.payload_len == 0 {
            "none (length 0)".to_owned()
        } else {
            format!("{title}, none present")
        };
        line(out, "payload", &text);
        return;
    }
    let label = span(start, len);
    let as_text = shows_as_text(frame);
    if header.mask.is_some() {
        line(out, &label, &title);
        body(out, "  masked", &frame.wire_payload, false, full);
        body(out, "  unmasked", &frame.payload, as_text, full);
    } else if let Some(short) = one_line(&frame.payload, as_text) {
        line(out, &label, &format!("{title}: {short}"));
    } else {
        line(out, &label, &title);
        body(out, "", &frame.payload, as_text, full);
    }
}

/// A payload short enough to follow its title on the same line.
fn one_line(bytes: &[u8], as_text: bool) -> Option<String> {
    if as_text {
        let text = std::str::from_utf8(bytes).ok()?;
        (text.len() <= 60).then(|| format!("{text:?}"))
    } else {
        (bytes.len() <= ROW).then(|| hex(bytes))
    }
}

/// Payload bytes: as one quoted string when `as_text` and they are UTF-8,
/// otherwise as rows of hex; cut after a preview unless `full`.
fn body(out: &mut String, label: &str, bytes: &[u8], as_text: bool, full: bool) {
    let indent = format!("  {label:<LABEL$}");
    let limit = if full {
        bytes.len()
    } else if as_text {
        TEXT_PREVIEW
    } else {
        HEX_PREVIEW
    };
    let shown = bytes.get(..limit.min(bytes.len())).unwrap_or(bytes);
    let cut = shown.len() < bytes.len();
    let text_ok = as_text && std::str::from_utf8(bytes).is_ok();
    if text_ok {
        let _ = writeln!(out, "{indent}{}", preview(shown, true, cut));
    } else {
        let pad = " ".repeat(indent.chars().count());
        for (i, row) in shown.chunks(ROW).enumerate() {
            let lead = if i == 0 {
                indent.as_str()
            } else {
                pad.as_str()
            };
            let _ = writeln!(out, "{lead}{}", hex(row));
        }
    }
    if cut {
        let more = bytes.len().saturating_sub(shown.len());
        let _ = writeln!(
            out,
            "{}… {more} more byte{} (--full shows all)",
            " ".repeat(2 + LABEL),
            plural(more as u64)
        );
    }
}

fn meaning_lines(out: &mut String, frame: &FrameReport, full: bool) {
    if let Some(kind) = frame.message_kind {
        let kind = kind.name();
        let text = match frame.fragment {
            Some(Fragment::Whole) => format!("a whole {kind} message in one frame"),
            Some(Fragment::First) => {
                format!("first fragment of a {kind} message (FIN=0: more follow, §5.4)")
            }
            Some(Fragment::Middle(n)) => format!("fragment {n} of a {kind} message"),
            Some(Fragment::Last(n)) => format!("last fragment ({n}) of a {kind} message"),
            None => String::new(),
        };
        let text = if frame.compressed {
            format!("{text}, compressed (RFC 7692 §6)")
        } else {
            text
        };
        line(out, "message", &text);
        if let Some(message) = &frame.message {
            let label = if frame.compressed {
                "compressed"
            } else {
                "reassembled"
            };
            body(
                out,
                label,
                message,
                kind == "text" && !frame.compressed,
                full,
            );
        }
        if let Some(inflated) = &frame.inflated {
            let sizes = format!(
                "{} byte{} from {} compressed (RFC 7692 §7.2.2)",
                inflated.len(),
                plural(inflated.len() as u64),
                frame.message.as_ref().map_or(0, Vec::len)
            );
            line(out, "inflated", &sizes);
            body(out, "", inflated, kind == "text", full);
        }
    }
    match frame.opcode() {
        Some(OpCode::Ping) => line(
            out,
            "control",
            "ping: the receiver answers with a pong carrying the same payload (§5.5.2)",
        ),
        Some(OpCode::Pong) => line(
            out,
            "control",
            "pong: the answer to a ping, or an unsolicited heartbeat (§5.5.3)",
        ),
        _ => {}
    }
    if let Some(close) = &frame.close {
        let text = match close.code {
            Some(code) => {
                let reason = if close.reason.is_empty() {
                    "no reason".to_owned()
                } else {
                    format!("reason {:?}", close.reason)
                };
                format!("code {code}, {reason}")
            }
            None => "no status code (empty payload; the receiver reports 1005, §7.1.5)".into(),
        };
        line(out, "close", &text);
    }
    match frame.utf8_valid {
        Some(true) if matches!(frame.fragment, Some(Fragment::First | Fragment::Middle(_))) => {
            line(out, "UTF-8", "valid so far (§8.1)");
        }
        Some(true) => line(out, "UTF-8", "valid (§8.1)"),
        Some(false) => line(out, "UTF-8", "INVALID (§8.1)"),
        None => {}
    }
}

/// Renders a [`HandshakeReport`]: the start line, each header with its
/// note, the computed accept value, each check (✓ or ✗) and the notes.
pub fn render_handshake(report: &HandshakeReport) -> String {
    let mut out = String::new();
    let title = match report.kind {
        HeadKind::Request => "opening handshake request (client to server, RFC 6455 §4.1)",
        HeadKind::Response => "opening handshake response (server to client, RFC 6455 §4.2.2)",
    };
    let _ = writeln!(out, "{title}");
    if !report.start_line.is_empty() {
        let _ = writeln!(out, "  {}", report.start_line);
    }
    let width = report
        .headers
        .iter()
        .map(|h| h.name.len().saturating_add(h.value.len()).saturating_add(2))
        .max()
        .unwrap_or(0)
        .min(60);
    for h in &report.headers {
        let header = format!("{}: {}", h.name, h.value);
        match h.note {
            Some(note) => {
                let _ = writeln!(out, "  {header:<width$}  {note}");
            }
            None => {
                let _ = writeln!(out, "  {header}");
            }
        }
    }
    if let Some(accept) = &report.computed_accept {
        let _ = writeln!(
            out,
            "  computed Sec-WebSocket-Accept: {accept}\n    = base64(SHA-1(key + \"{}\")) (§1.3, §4.2.2)",
            ws6455_proto::handshake::WEBSOCKET_GUID
        );
    }
    for (ok, rule) in &report.checks {
        let _ = writeln!(out, "  {} {rule}", if *ok { "✓" } else { "✗" });
    }
    for note in &report.notes {
        let _ = writeln!(out, "  note: {note}");
    }
    out
}
