use super::*;
use proptest::prelude::*;
use ws6455_proto::connection::{Direction, FrameTrace, PREVIEW_LEN};
use ws6455_proto::frame::decode_header;

fn bytes(hex: &str) -> Vec<u8> {
    hex.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

fn frames(hex: &str) -> FramesReport {
    describe_frames(&bytes(hex), DescribeOptions::default())
}

fn only(report: &FramesReport) -> &FrameReport {
    assert_eq!(report.frames.len(), 1, "{report:#?}");
    &report.frames[0]
}

/// (offset, byte, section) of every violation.
fn where_(report: &FramesReport) -> Vec<(usize, Option<u8>, &'static str)> {
    report
        .violations()
        .map(|v| (v.offset, v.byte, v.section))
        .collect()
}

#[test]
fn rfc_5_7_unmasked_hello() {
    let report = frames("81 05 48 65 6c 6c 6f");
    let f = only(&report);
    let h = f.header.unwrap();
    assert!(h.fin);
    assert_eq!((h.rsv, h.opcode, h.len7, h.payload_len), (0, 1, 5, 5));
    assert_eq!(h.length_form, LengthForm::Seven);
    assert_eq!(f.minimal_length(), Some(true));
    assert_eq!(f.payload, b"Hello");
    assert_eq!(f.sender, Some(Role::Server));
    assert_eq!(f.fragment, Some(Fragment::Whole));
    assert_eq!(f.utf8_valid, Some(true));
    assert!(report.is_valid());
    let text = render_frames(&report, false);
    for needle in [
        "FIN=1 RSV1=0 RSV2=0 RSV3=0 opcode=0x1 (text)",
        "MASK=0 length=5 (7-bit, minimal)",
        "\"Hello\"",
        "a whole text message in one frame",
        "UTF-8         valid",
        "1 frame: all valid",
    ] {
        assert!(text.contains(needle), "{needle:?} in\n{text}");
    }
}

#[test]
fn rfc_5_7_masked_hello() {
    let report = frames("81 85 37 fa 21 3d 7f 9f 4d 51 58");
    let f = only(&report);
    assert_eq!(f.header.unwrap().mask, Some([0x37, 0xfa, 0x21, 0x3d]));
    assert_eq!(f.wire_payload, bytes("7f 9f 4d 51 58"));
    assert_eq!(f.payload, b"Hello");
    assert_eq!(f.sender, Some(Role::Client));
    let text = render_frames(&report, false);
    assert!(text.contains("37 fa 21 3d  masking key"), "{text}");
    assert!(text.contains("  masked      7f 9f 4d 51 58"), "{text}");
    assert!(text.contains("  unmasked    \"Hello\""), "{text}");
}

#[test]
fn rfc_5_7_fragmented_hello() {
    let report = frames("01 03 48 65 6c 80 02 6c 6f");
    assert_eq!(report.frames.len(), 2);
    assert_eq!(report.frames[0].fragment, Some(Fragment::First));
    assert_eq!(report.frames[1].fragment, Some(Fragment::Last(2)));
    assert_eq!(report.frames[1].offset, 5);
    assert_eq!(report.frames[1].message.as_deref(), Some(&b"Hello"[..]));
    assert!(report.is_valid());
    assert!(!report.unfinished_message);
    let text = render_frames(&report, false);
    assert!(text.contains("first fragment of a text message"), "{text}");
    assert!(
        text.contains("last fragment (2) of a text message"),
        "{text}"
    );
    assert!(text.contains("reassembled   \"Hello\""), "{text}");
    // The first fragment alone leaves the message unfinished, validly.
    let first = frames("01 03 48 65 6c");
    assert!(first.is_valid() && first.unfinished_message);
}

#[test]
fn rfc_5_7_ping_and_masked_pong() {
    let report = frames("89 05 48 65 6c 6c 6f 8a 85 37 fa 21 3d 7f 9f 4d 51 58");
    assert_eq!(report.frames.len(), 2);
    assert_eq!(report.frames[0].sender, Some(Role::Server));
    assert_eq!(report.frames[1].sender, Some(Role::Client));
    assert_eq!(report.frames[1].payload, b"Hello");
    assert!(report.is_valid(), "{report:#?}");
    let text = render_frames(&report, false);
    assert!(text.contains("opcode=0x9 (ping)"), "{text}");
    assert!(text.contains("opcode=0xa (pong)"), "{text}");
}

#[test]
fn rfc_5_7_long_binary_frames() {
    let mut wire = bytes("82 7e 01 00");
    wire.extend((0..=255u8).collect::<Vec<_>>());
    let report = describe_frames(&wire, DescribeOptions::default());
    let f = only(&report);
    assert_eq!(f.header.unwrap().length_form, LengthForm::Sixteen);
    assert_eq!(f.payload.len(), 256);
    assert!(report.is_valid());
    let text = render_frames(&report, false);
    assert!(
        text.contains("length=126: a 16-bit length follows"),
        "{text}"
    );
    assert!(
        text.contains("01 00  length=256 (16-bit, minimal)"),
        "{text}"
    );
    assert!(
        text.contains("… 192 more bytes (--full shows all)"),
        "{text}"
    );
    assert!(!text.contains("ff"), "cut after 64 bytes: {text}");
    assert!(render_frames(&report, true).contains("f0 f1 f2"));

    let mut wire = bytes("82 7f 00 00 00 00 00 01 00 00");
    wire.resize(10 + 65536, 0xab);
    let report = describe_frames(&wire, DescribeOptions::default());
    let f = only(&report);
    assert_eq!(f.header.unwrap().payload_len, 65536);
    assert!(report.is_valid());
    let text = render_frames(&report, false);
    assert!(
        text.contains("00 00 00 00 00 01 00 00  length=65536 (64-bit, minimal)"),
        "{text}"
    );
}

#[test]
fn broken_header_bytes_are_pinned_down() {
    // Reserved opcode: byte 0.
    let r = frames("83 00");
    assert_eq!(where_(&r), [(0, Some(0x83), "§5.2")]);
    // RSV1 without an extension: byte 0.
    let r = frames("c1 00");
    assert_eq!(where_(&r), [(0, Some(0xc1), "§5.2")]);
    assert!(r.violations().next().unwrap().rule.contains("RSV1"));
    // Control frame over 125 bytes: byte 1.
    let r = frames("89 7e 00 7e");
    assert_eq!(where_(&r)[0], (1, Some(0x7e), "§5.5"));
    // Fragmented control frame: byte 0.
    let r = frames("09 00");
    assert_eq!(where_(&r), [(0, Some(0x09), "§5.5")]);
    // Top bit of the 64-bit length: byte 2 (and the frame is unfinishable).
    let r = frames("82 7f 80 00 00 00 00 00 00 00");
    assert_eq!(where_(&r)[0], (2, Some(0x80), "§5.2"));
    // Non-minimal length: byte 1.
    let r = frames("82 7e 00 05 01 02 03 04 05");
    assert_eq!(where_(&r), [(1, Some(0x7e), "§5.2")]);
    assert!(render_frames(&r, false).contains("NOT minimal"));
    // The second frame's offsets count from the start of the input.
    let r = frames("81 00 83 00");
    assert_eq!(where_(&r), [(2, Some(0x83), "§5.2")]);
}

#[test]
fn masking_rule_is_checked_only_for_a_given_sender() {
    let masked = bytes("81 85 37 fa 21 3d 7f 9f 4d 51 58");
    let unmasked = bytes("81 05 48 65 6c 6c 6f");
    let server = DescribeOptions {
        sender: Some(Role::Server),
        ..DescribeOptions::default()
    };
    let client = DescribeOptions {
        sender: Some(Role::Client),
        ..DescribeOptions::default()
    };
    let r = describe_frames(&masked, server);
    assert_eq!(where_(&r), [(1, Some(0x85), "§5.1")]);
    assert!(describe_frames(&masked, client).is_valid());
    let r = describe_frames(&unmasked, client);
    assert_eq!(where_(&r), [(1, Some(0x05), "§5.1")]);
    assert!(describe_frames(&unmasked, server).is_valid());
}

#[test]
fn truncated_frames_say_how_much_is_missing() {
    let r = frames("81 05 48 65");
    let v: Vec<_> = r.violations().collect();
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].offset, v[0].byte), (4, None));
    assert!(v[0].rule.contains("3 bytes short"), "{}", v[0].rule);
    let r = frames("82 7e 01");
    assert!(r.violations().next().unwrap().rule.contains("1 byte short"));
    let r = frames("81");
    assert!(r.violations().next().unwrap().rule.contains("1 byte short"));
    let text = render_frames(&frames("81 05 48 65"), false);
    assert!(text.contains("byte 4 (end of input): truncated"), "{text}");
}

#[test]
fn invalid_utf8_points_at_the_first_bad_byte() {
    // κόσμε then ED A0 80 (a surrogate): the core fails at A0.
    let payload = "ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64";
    let r = frames(&format!("81 14 {payload}"));
    let v: Vec<_> = r.violations().collect();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].payload_offset, Some(12));
    assert_eq!(
        (v[0].offset, v[0].byte, v[0].section),
        (14, Some(0xa0), "§8.1")
    );
    // Masked: the byte named is as on the wire, the offset the same.
    let r = frames("81 82 00 00 00 01 c0 81");
    let v: Vec<_> = r.violations().collect();
    assert_eq!((v[0].offset, v[0].payload_offset), (6, Some(0)));
    // Across fragments: the bad byte is in the second frame.
    let r = frames("01 01 e2 80 02 82 41");
    let v: Vec<_> = r.violations().collect();
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].offset, v[0].payload_offset), (6, Some(1)));
    // Ending inside a character is reported at the end of the message.
    let r = frames("81 02 e2 82");
    let v: Vec<_> = r.violations().collect();
    assert_eq!((v[0].payload_offset, v[0].section), (Some(2), "§8.1"));
    assert!(v[0].rule.contains("middle of a character"));
}

#[test]
fn fragmentation_order_is_checked() {
    let r = frames("80 02 6c 6f");
    assert_eq!(where_(&r), [(0, Some(0x80), "§5.4")]);
    let r = frames("01 01 48 81 01 49");
    assert_eq!(where_(&r), [(3, Some(0x81), "§5.4")]);
    // A control frame between fragments is fine (§5.4).
    assert!(frames("01 01 48 89 00 80 01 49").is_valid());
}

#[test]
fn close_frames_are_explained() {
    let r = frames("88 05 03 e8 62 79 65");
    let f = only(&r);
    let close = f.close.as_ref().unwrap();
    assert_eq!(close.code, Some(CloseCode::NORMAL));
    assert_eq!(close.reason, "bye");
    assert!(r.is_valid());
    assert!(render_frames(&r, false).contains("code 1000 (normal closure), reason \"bye\""));
    // 1005 may not be sent: the code's offset in the payload (0) and input (2).
    let r = frames("88 02 03 ed");
    assert_eq!(where_(&r), [(2, Some(0x03), "§7.4")]);
    assert_eq!(r.violations().next().unwrap().payload_offset, Some(0));
    let r = frames("88 01 03");
    assert_eq!(where_(&r), [(2, Some(0x03), "§5.5.1")]);
    let r = frames("88 04 03 e8 c3 28");
    assert_eq!(where_(&r), [(5, Some(0x28), "§8.1")]);
    assert!(frames("88 00").is_valid());
}

#[test]
fn raw_headers_read_every_field_whatever_it_says() {
    let h = read_raw_header(&bytes("ff ff 00 00 00 00 00 00 00 07 01 02 03 04")).unwrap();
    assert_eq!((h.fin, h.rsv, h.opcode), (true, 7, 15));
    assert_eq!((h.payload_len, h.header_len), (7, 14));
    assert_eq!(h.mask, Some([1, 2, 3, 4]));
    assert_eq!(read_raw_header(&[]), Err(2));
    assert_eq!(read_raw_header(&[0x81]), Err(1));
    assert_eq!(read_raw_header(&[0x81, 0xfe, 0]), Err(5));
}

#[test]
fn trace_lines() {
    let t = FrameTrace::new(Direction::Received, true, 0, 1, true, 5, b"Hello");
    assert_eq!(TraceLine(&t).to_string(), "← text fin len=5 \"Hello\"");
    let t = FrameTrace::new(Direction::Sent, true, 0, 8, false, 2, &[0x03, 0xe8]);
    assert_eq!(TraceLine(&t).to_string(), "→ close 1000 (normal closure)");
    let t = FrameTrace::new(Direction::Sent, true, 0, 8, false, 5, b"\x03\xe8bye");
    assert_eq!(
        TraceLine(&t).to_string(),
        "→ close 1000 (normal closure) \"bye\""
    );
    let t = FrameTrace::new(Direction::Sent, false, 0, 2, false, 3, &[1, 2, 0xff]);
    assert_eq!(TraceLine(&t).to_string(), "→ binary len=3 01 02 ff");
    let t = FrameTrace::new(Direction::Received, true, 0, 9, false, 0, &[]);
    assert_eq!(TraceLine(&t).to_string(), "← ping len=0");
    let t = FrameTrace::new(Direction::Received, true, 0, 9, false, 2, &[0, 7]);
    assert_eq!(TraceLine(&t).to_string(), "← ping len=2 00 07");
    let t = FrameTrace::new(Direction::Received, true, 0, 10, false, 2, b"hi");
    assert_eq!(TraceLine(&t).to_string(), "← pong len=2 \"hi\"");
    let t = FrameTrace::new(Direction::Sent, true, 4, 3, false, 0, &[]);
    assert_eq!(
        TraceLine(&t).to_string(),
        "→ opcode 0x3 (reserved) fin rsv=100 len=0"
    );
    // A long text is cut at the preview, never inside a character.
    let long = "é".repeat(40);
    let t = FrameTrace::new(Direction::Sent, true, 0, 1, false, 80, long.as_bytes());
    assert_eq!(t.preview().len(), PREVIEW_LEN);
    assert_eq!(
        TraceLine(&t).to_string(),
        format!("→ text fin len=80 \"{}\"…", "é".repeat(16))
    );
}

#[test]
fn handshake_request_with_the_rfc_key() {
    let request = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";
    let report = describe_handshake(request.as_bytes(), None);
    assert_eq!(report.kind, HeadKind::Request);
    assert_eq!(report.start_line, "GET /chat HTTP/1.1");
    assert_eq!(report.headers.len(), 7);
    assert_eq!(
        report.computed_accept.as_deref(),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    assert!(report.is_valid(), "{report:#?}");
    assert_eq!(report.head_len, request.len());
    let text = render_handshake(&report);
    assert!(text.contains("computed Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    assert!(text.contains("✓ a valid WebSocket opening handshake"));
    assert!(text.contains("must be 13"));
}

#[test]
fn handshake_request_problems_use_the_core_verdict() {
    // LF line endings and no final empty line: noted, still parsed.
    let request = "GET / HTTP/1.1\nHost: x\nUpgrade: websocket\nConnection: Upgrade\n\
        Sec-WebSocket-Version: 8\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n";
    let report = describe_handshake(request.as_bytes(), None);
    assert!(!report.is_valid());
    let text = render_handshake(&report);
    assert!(text.contains("426 Upgrade Required"), "{text}");
    assert!(text.contains("one was assumed"), "{text}");
    assert!(text.contains("LF alone"), "{text}");
    let plain = describe_handshake(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", None);
    assert!(!plain.is_valid());
    assert!(render_handshake(&plain).contains("not a WebSocket upgrade"));
}

#[test]
fn handshake_response_accept_value() {
    let response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    let report = describe_handshake(response.as_bytes(), None);
    assert_eq!(report.kind, HeadKind::Response);
    assert!(report.is_valid(), "{report:#?}");
    assert!(render_handshake(&report).contains("✓ Sec-WebSocket-Accept is well-formed"));
    let keyed = describe_handshake(response.as_bytes(), Some("dGhlIHNhbXBsZSBub25jZQ=="));
    assert!(keyed.is_valid());
    let wrong = describe_handshake(response.as_bytes(), Some("AQIDBAUGBwgJCgsMDQ4PEC=="));
    assert!(!wrong.is_valid());
    let bad = response.replace("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "not base64!");
    let report = describe_handshake(bad.as_bytes(), None);
    assert!(!report.is_valid());
    assert!(render_handshake(&report).contains("not base64"));
    let refused = describe_handshake(b"HTTP/1.1 403 Forbidden\r\n\r\n", None);
    assert!(!refused.is_valid());
}

#[test]
fn rsv1_marks_compression_once_deflate_is_agreed() {
    let hello = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    // Without the extension RSV1 breaks §5.2.
    let plain = describe_frames(&hello, DescribeOptions::default());
    let v = plain.violations().next().unwrap();
    assert_eq!(v.section, "§5.2");
    assert!(v.rule.contains("no extension was negotiated"));
    // With it, the frame is valid and marked compressed; its payload is
    // not text until inflated.
    let deflate = DescribeOptions {
        deflate: true,
        ..DescribeOptions::default()
    };
    let r = describe_frames(&hello, deflate);
    assert!(r.is_valid(), "{:?}", r.frames[0].violations);
    assert!(r.frames[0].compressed);
    assert_eq!(r.frames[0].inflated, None);
    assert!(render_frames(&r, false).contains("compressed (permessage-deflate, RFC 7692 §6)"));
    // RSV1 on a continuation or a control frame breaks RFC 7692 §6.1.
    let bad = [
        0x41, 0x03, 0xf2, 0x48, 0xcd, 0xc0, 0x04, 0xc9, 0xc9, 0x07, 0x00, 0xc9, 0x00,
    ];
    let r = describe_frames(&bad, deflate);
    let sections: Vec<_> = r.violations().map(|v| (v.offset, v.section)).collect();
    assert_eq!(sections, [(5, "RFC 7692 §6.1"), (11, "RFC 7692 §6.1")]);
    assert!(render_frames(&r, false).contains("(RFC 7692 §6.1)"));
    // RSV2 is still reserved.
    let r = describe_frames(&[0xe1, 0x00], deflate);
    assert_eq!(r.violations().next().unwrap().section, "§5.2");
}

#[test]
fn inflate_shows_what_compressed_messages_say() {
    let inflate = DescribeOptions {
        inflate: true,
        ..DescribeOptions::default()
    };
    // RFC 7692 §7.2.3.1 fragmented, then §7.2.3.2's shared-window message.
    let input = [
        0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00, 0xc1, 0x05, 0xf2, 0x00,
        0x11, 0x00, 0x00,
    ];
    let r = describe_frames(&input, inflate);
    assert!(r.is_valid(), "{:?}", r.violations().collect::<Vec<_>>());
    assert_eq!(r.frames[0].inflated, None);
    assert_eq!(r.frames[1].inflated.as_deref(), Some(&b"Hello"[..]));
    assert_eq!(r.frames[2].inflated.as_deref(), Some(&b"Hello"[..]));
    let text = render_frames(&r, false);
    assert!(
        text.contains("inflated      5 bytes from 7 compressed"),
        "{text}"
    );
    // Garbage and inflated text that is not UTF-8 are reported.
    let r = describe_frames(&[0xc2, 0x02, 0xff, 0xff], inflate);
    assert_eq!(r.violations().next().unwrap().section, "RFC 7692 §7.2.2");
    let mut payload = Vec::new();
    assert!(ws6455_proto::deflate::Compressor::new(6, 15).compress(&[0xff, 0xfe], &mut payload));
    let mut frame = vec![0xc1, payload.len() as u8];
    frame.extend_from_slice(&payload);
    let r = describe_frames(&frame, inflate);
    assert_eq!(r.violations().next().unwrap().section, "§8.1");
}

#[test]
fn trace_lines_name_compressed_frames() {
    let t = FrameTrace::new(Direction::Received, true, 0b100, 1, true, 7, &[]);
    assert_eq!(TraceLine(&t).to_string(), "← text fin compressed len=7");
    let t = FrameTrace::new(Direction::Received, true, 0b100, 9, true, 0, &[]);
    assert_eq!(TraceLine(&t).to_string(), "← ping rsv=100 len=0");
}

proptest! {
    /// The header rules agree with the core's decoder: a complete header
    /// breaks one of the four rules `decode_header` checks exactly when it
    /// refuses the header.
    #[test]
    fn header_rules_agree_with_decode_header(bytes in proptest::collection::vec(any::<u8>(), 2..16)) {
        let report = describe_frames(&bytes, DescribeOptions::default());
        let first = &report.frames[0];
        let flagged = first.violations.iter().any(|v| {
            v.payload_offset.is_none()
                && v.byte.is_some()
                && (v.section == "§5.5" || v.rule.contains("reserved for") || v.rule.contains("most significant"))
        });
        match decode_header(&bytes) {
            Err(_) => prop_assert!(flagged, "{:?}", first.violations),
            Ok(Some(_)) => prop_assert!(!flagged, "{:?}", first.violations),
            Ok(None) => {}
        }
    }

    /// Describing never panics, and frames tile the input.
    #[test]
    fn frames_tile_the_input(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let report = describe_frames(&bytes, DescribeOptions::default());
        let mut at = 0;
        for f in &report.frames {
            prop_assert_eq!(f.offset, at);
            at += f.head.len() + f.wire_payload.len();
        }
        prop_assert_eq!(at, bytes.len());
        let _ = render_frames(&report, false);
    }
}
