//! Hostile frames (RFC 6455 §5, §7.4, §8.1) sent after a valid handshake,
//! against the real `ws6455 serve` binary on loopback (and an in-process
//! server where a small configured limit is needed). Every case asserts the
//! exact close code the server fails the connection with (§7.1.7, §7.4.1),
//! that it then closed TCP, and that it still serves a fresh client.

use std::net::SocketAddr;

use ws6455_test_support::peer::{assert_serves, RawPeer};
use ws6455_test_support::server::*;
use ws6455_test_support::wire::*;

/// Open a connection, send `bytes`, expect the close frame `code` and TCP
/// closed by the server; then check a fresh client is still served.
/// Returns the close reason.
fn fails_with(addr: SocketAddr, bytes: &[u8], code: u16) -> String {
    let mut client = RawPeer::connect(addr, "/");
    client.send(bytes);
    let reason = client.expect_close_then_eof(code);
    assert_serves(addr);
    reason
}

/// A frame header with an explicit 64-bit length field (no payload).
fn header_len64(opcode: u8, len: u64) -> Vec<u8> {
    let mut out = vec![0x80 | opcode, 0x80 | 127];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&MASK);
    out
}

#[test]
fn length_with_top_bit_set_fails_with_1002() {
    let server = ServerProcess::spawn();
    let reason = fails_with(server.addr, &header_len64(BINARY, 1 << 63), 1002);
    assert_eq!(
        reason,
        "64-bit payload length has its top bit set (RFC 6455 §5.2)"
    );
    // Judged from the first extended-length byte, before the rest arrives.
    fails_with(server.addr, &[0x82, 0xff, 0x80], 1002);
}

#[test]
fn length_2_pow_62_fails_with_1009_without_allocating() {
    let mut server = ServerProcess::spawn();
    assert_serves(server.addr);
    #[cfg(target_os = "linux")]
    let before = rss_kib(server.pid());
    let reason = fails_with(server.addr, &header_len64(BINARY, 1 << 62), 1009);
    assert_eq!(
        reason,
        format!("frame of {} bytes exceeds the limit", 1u64 << 62)
    );
    // Just over the binary's 16 MiB frame limit: refused from the header.
    fails_with(server.addr, &header_len64(BINARY, (16 << 20) + 1), 1009);
    server.assert_alive();
    #[cfg(target_os = "linux")]
    {
        let peak = peak_rss_kib(server.pid());
        assert!(
            peak < before + 8 * 1024,
            "peak RSS {peak} KiB vs {before} KiB before: the announced length was allocated"
        );
    }
}

#[test]
fn control_frames_over_125_bytes_fail_with_1002() {
    let server = ServerProcess::spawn();
    // A 126-byte ping (16-bit length form, as it must be).
    let reason = fails_with(server.addr, &frame(PING, &[b'p'; 126]), 1002);
    assert_eq!(
        reason,
        "control frame payload of 126 bytes exceeds 125 (RFC 6455 §5.5)"
    );
    // A 5-byte ping and pong, a 2-byte close, in the 16-bit length form:
    // the length field alone says "more than 125".
    for opcode in [PING, PONG, CLOSE] {
        let mut bytes = vec![0x80 | opcode, 0x80 | 126, 0, 5];
        bytes.extend_from_slice(&MASK);
        bytes.extend_from_slice(&[1, 2, 3, 4, 5]);
        fails_with(server.addr, &bytes, 1002);
    }
    // And the 64-bit form.
    fails_with(server.addr, &header_len64(PING, 5), 1002);
}

#[test]
fn fragmented_ping_fails_with_1002() {
    let server = ServerProcess::spawn();
    let reason = fails_with(
        server.addr,
        &frame_bytes(false, 0, PING, b"half", true),
        1002,
    );
    assert_eq!(reason, "control frame without FIN (RFC 6455 §5.5)");
}

#[test]
fn reserved_opcodes_fail_with_1002() {
    let server = ServerProcess::spawn();
    for opcode in [0x3, 0x7, 0xB, 0xF] {
        let reason = fails_with(server.addr, &frame(opcode, b"x"), 1002);
        assert_eq!(
            reason,
            format!("reserved opcode {opcode:#x} (RFC 6455 §5.2)")
        );
    }
}

#[test]
fn reserved_bits_fail_with_1002() {
    let server = ServerProcess::spawn();
    for rsv in [0b100, 0b010, 0b001] {
        let reason = fails_with(server.addr, &frame_bytes(true, rsv, TEXT, b"x", true), 1002);
        assert_eq!(
            reason,
            format!("reserved bits {rsv:#05b} set without an extension (RFC 6455 §5.2)")
        );
    }
}

#[test]
fn unmasked_client_frame_fails_with_1002() {
    let server = ServerProcess::spawn();
    let reason = fails_with(
        server.addr,
        &frame_bytes(true, 0, TEXT, b"naked", false),
        1002,
    );
    assert_eq!(reason, "client frame is not masked (RFC 6455 §5.1)");
}

#[test]
fn close_with_one_byte_payload_fails_with_1002() {
    let server = ServerProcess::spawn();
    let reason = fails_with(server.addr, &frame(CLOSE, &[0x03]), 1002);
    assert_eq!(reason, "close frame payload of 1 byte (RFC 6455 §5.5.1)");
}

#[test]
fn close_codes_that_may_not_be_sent_fail_with_1002() {
    let server = ServerProcess::spawn();
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        let reason = fails_with(server.addr, &close_frame(code, b""), 1002);
        assert_eq!(
            reason,
            format!("close code {code} may not be sent on the wire (RFC 6455 §7.4)")
        );
    }
}

#[test]
fn valid_close_codes_are_echoed() {
    // §5.5.1: the answer "typically echo[es] the status code it received".
    let server = ServerProcess::spawn();
    for code in [1000u16, 1001, 1003, 1007, 1014, 3000, 4999] {
        let mut client = RawPeer::connect(server.addr, "/");
        client.send(&close_frame(code, b"why"));
        assert_eq!(client.expect_close_then_eof(code), "");
    }
    // An empty close is answered with an empty close.
    let mut client = RawPeer::connect(server.addr, "/");
    client.send(&frame(CLOSE, b""));
    let answer = client.frame();
    assert_eq!((answer.opcode, answer.payload.len()), (CLOSE, 0));
    client.expect_eof();
    assert_serves(server.addr);
}

#[test]
fn close_with_invalid_utf8_reason_fails_with_1007() {
    let server = ServerProcess::spawn();
    let reason = fails_with(server.addr, &close_frame(1000, b"ok \xff\xfe"), 1007);
    assert_eq!(reason, "invalid UTF-8 in text (RFC 6455 §8.1)");
}

#[test]
fn invalid_utf8_text_fails_with_1007() {
    let server = ServerProcess::spawn();
    // One frame: a lone continuation byte, an overlong encoding, a
    // surrogate, a code point above U+10FFFF, a truncated sequence.
    for bad in [
        &b"abc\x80def"[..],
        b"\xc0\xaf",
        b"\xed\xa0\x80",
        b"\xf4\x90\x80\x80",
        b"ends in the middle \xe2\x82",
    ] {
        let reason = fails_with(server.addr, &frame(TEXT, bad), 1007);
        assert_eq!(reason, "invalid UTF-8 in text (RFC 6455 §8.1)");
    }
}

#[test]
fn invalid_utf8_in_fragmented_text_fails_with_1007() {
    let server = ServerProcess::spawn();
    // A 4-byte sequence split across fragments, broken in the second.
    let mut bytes = frame_bytes(false, 0, TEXT, b"ok \xf0\x9f", true);
    bytes.extend_from_slice(&frame_bytes(true, 0, CONT, b"\x28 no", true));
    fails_with(server.addr, &bytes, 1007);
    // Valid fragments, but the message ends inside a sequence.
    let mut bytes = frame_bytes(false, 0, TEXT, b"ok ", true);
    bytes.extend_from_slice(&frame_bytes(true, 0, CONT, b"\xf0\x9f\x98", true));
    fails_with(server.addr, &bytes, 1007);
    // Invalid in the first fragment: fails before the message is complete.
    fails_with(
        server.addr,
        &frame_bytes(false, 0, TEXT, b"\xff", true),
        1007,
    );
}

#[test]
fn invalid_utf8_fails_fast_inside_a_frame_still_arriving() {
    // §8.1 fail-fast: a 1 MiB text frame whose first bytes are invalid is
    // refused without waiting for the rest (which never comes).
    let server = ServerProcess::spawn();
    let mut bytes = vec![0x81, 0x80 | 127];
    bytes.extend_from_slice(&(1u64 << 20).to_be_bytes());
    bytes.extend_from_slice(&MASK);
    bytes.extend(b"ok\xff".iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    fails_with(server.addr, &bytes, 1007);
}

#[test]
fn continuation_without_a_message_fails_with_1002() {
    let server = ServerProcess::spawn();
    let reason = fails_with(server.addr, &frame(CONT, b"orphan"), 1002);
    assert_eq!(
        reason,
        "continuation frame without a message in progress (RFC 6455 §5.4)"
    );
}

#[test]
fn data_frame_inside_a_fragmented_message_fails_with_1002() {
    let server = ServerProcess::spawn();
    for (first, second) in [(TEXT, TEXT), (BINARY, TEXT), (TEXT, BINARY)] {
        let mut bytes = frame_bytes(false, 0, first, b"part one", true);
        bytes.extend_from_slice(&frame(second, b"intruder"));
        let reason = fails_with(server.addr, &bytes, 1002);
        assert_eq!(
            reason,
            "new data frame while a fragmented message is in progress (RFC 6455 §5.4)"
        );
    }
}

#[test]
fn control_frames_between_fragments_are_answered_and_the_message_echoed() {
    let server = ServerProcess::spawn();
    let mut client = RawPeer::connect(server.addr, "/");
    let mut bytes = frame_bytes(false, 0, TEXT, b"frag", true);
    bytes.extend_from_slice(&frame(PING, b"between"));
    bytes.extend_from_slice(&frame_bytes(true, 0, CONT, b"mented", true));
    client.send(&bytes);
    let pong = client.frame();
    assert_eq!(
        (pong.opcode, pong.payload.as_slice()),
        (PONG, &b"between"[..])
    );
    let echo = client.frame();
    assert_eq!(
        (echo.opcode, echo.payload.as_slice()),
        (TEXT, &b"fragmented"[..])
    );
    client.echo_and_close("after fragments");
    assert_serves(server.addr);
}

#[test]
fn message_over_the_configured_limit_fails_with_1009() {
    let config = {
        let mut config = test_config();
        config.max_message_size = 1000;
        config.max_frame_size = 1000;
        config
    };
    let server = echo_server(config);
    let addr = server.local_addr();
    // One frame over the limit: refused from its header.
    let reason = fails_with(addr, &frame(BINARY, &[7; 1001]), 1009);
    assert_eq!(reason, "frame of 1001 bytes exceeds the limit");
    // Fragments each under the limit, together over it.
    let mut bytes = frame_bytes(false, 0, TEXT, &[b'a'; 400], true);
    bytes.extend_from_slice(&frame_bytes(false, 0, CONT, &[b'b'; 400], true));
    bytes.extend_from_slice(&frame_bytes(true, 0, CONT, &[b'c'; 400], true));
    let reason = fails_with(addr, &bytes, 1009);
    assert!(
        reason.starts_with("message of at least") && reason.ends_with("exceeds the limit"),
        "{reason:?}"
    );
    // Exactly at the limit, in two fragments: echoed whole.
    let mut client = RawPeer::connect(addr, "/");
    let mut bytes = frame_bytes(false, 0, BINARY, &[1; 500], true);
    bytes.extend_from_slice(&frame_bytes(true, 0, CONT, &[2; 500], true));
    client.send(&bytes);
    let echo = client.frame();
    assert_eq!(echo.opcode, BINARY);
    assert_eq!(echo.payload.len(), 1000);
    assert!(echo.payload[..500].iter().all(|&b| b == 1));
    assert!(echo.payload[500..].iter().all(|&b| b == 2));
    client.echo_and_close("at the limit");
}
