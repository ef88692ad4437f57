//! `ws6455 inspect`, run as a program: every RFC 6455 §5.7 example frame
//! annotated, broken frames pointing at the exact byte with the RFC
//! section, the §1.3 handshake example, and the exit statuses (0 valid, 1
//! a rule broken, 2 unreadable input).

use std::io::Write;
use std::process::{Command, Stdio};

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

fn inspect(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut child = Command::new(ws6455_test_support::bin::ws6455_bin())
        .arg("inspect")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ws6455 binary runs");
    if let Some(input) = stdin {
        // Written from a thread: a large input must not deadlock against
        // a large output.
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_vec();
        std::thread::spawn(move || pipe.write_all(&input));
    }
    let out = child.wait_with_output().unwrap();
    Run {
        status: out.status.code().expect("exited normally"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn hex_args(hex: &str) -> Vec<&str> {
    hex.split_whitespace().collect()
}

/// Runs inspect on `hex` (as arguments) and checks the status and that
/// every needle is in the output.
fn expect(hex: &str, status: i32, needles: &[&str]) -> String {
    let run = inspect(&hex_args(hex), None);
    assert_eq!(run.status, status, "{hex}\n{}{}", run.stdout, run.stderr);
    for needle in needles {
        assert!(
            run.stdout.contains(needle),
            "{needle:?} missing for {hex}:\n{}",
            run.stdout
        );
    }
    run.stdout
}

#[test]
fn rfc_5_7_single_frame_unmasked_text() {
    expect(
        "81 05 48 65 6c 6c 6f",
        0,
        &[
            "frame 1 at byte 0 (7 bytes): text",
            "byte 0        81  1 000 0001   FIN=1 RSV1=0 RSV2=0 RSV3=0 opcode=0x1 (text)",
            "byte 1        05  0 0000101    MASK=0 length=5 (7-bit, minimal)",
            "payload, 5 bytes: \"Hello\"",
            "a whole text message in one frame",
            "UTF-8         valid",
            "a server (inferred",
            "1 frame: all valid",
        ],
    );
}

#[test]
fn rfc_5_7_single_frame_masked_text() {
    expect(
        "81 85 37 fa 21 3d 7f 9f 4d 51 58",
        0,
        &[
            "MASK=1 length=5 (7-bit, minimal)",
            "bytes 2-5     37 fa 21 3d  masking key",
            "masked      7f 9f 4d 51 58",
            "unmasked    \"Hello\"",
            "a client (inferred",
            "1 frame: all valid",
        ],
    );
}

#[test]
fn rfc_5_7_fragmented_text() {
    // As one input and with the RFC's own 0x spelling.
    let out = expect(
        "0x01 0x03 0x48 0x65 0x6c 0x80 0x02 0x6c 0x6f",
        0,
        &[
            "FIN=0 RSV1=0 RSV2=0 RSV3=0 opcode=0x1 (text)",
            "\"Hel\"",
            "first fragment of a text message",
            "valid so far",
            "frame 2 at byte 5 (4 bytes): continuation",
            "FIN=1 RSV1=0 RSV2=0 RSV3=0 opcode=0x0 (continuation)",
            "\"lo\"",
            "last fragment (2) of a text message",
            "reassembled   \"Hello\"",
            "2 frames: all valid",
        ],
    );
    assert!(!out.contains("ends inside a fragmented message"));
    // The first fragment alone is valid, but unfinished.
    expect(
        "01 03 48 65 6c",
        0,
        &["note: the input ends inside a fragmented message"],
    );
}

#[test]
fn rfc_5_7_ping_and_masked_pong() {
    expect(
        "89 05 48 65 6c 6c 6f",
        0,
        &[
            "opcode=0x9 (ping)",
            "payload, 5 bytes: \"Hello\"",
            "pong carrying the same payload",
        ],
    );
    expect(
        "8a 85 37 fa 21 3d 7f 9f 4d 51 58",
        0,
        &["opcode=0xa (pong)", "unmasked    \"Hello\"", "a client"],
    );
    // Both in a row, as the RFC shows them: a server's ping, a client's pong.
    expect(
        "89 05 48 65 6c 6c 6f 8a 85 37 fa 21 3d 7f 9f 4d 51 58",
        0,
        &["frame 2 at byte 7 (11 bytes): pong", "2 frames: all valid"],
    );
}

#[test]
fn rfc_5_7_256_byte_binary() {
    let payload: Vec<String> = (0..=255u8).map(|b| format!("{b:02x}")).collect();
    let input = format!("82 7E 0x0100 {}", payload.join(" "));
    let run = inspect(&[], Some(input.as_bytes()));
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    for needle in [
        "byte 1        7e  0 1111110    MASK=0 length=126: a 16-bit length follows",
        "bytes 2-3     01 00  length=256 (16-bit, minimal)",
        "bytes 4-259   payload, 256 bytes",
        "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f",
        "… 192 more bytes (--full shows all)",
        "a whole binary message in one frame",
    ] {
        assert!(run.stdout.contains(needle), "{needle:?}:\n{}", run.stdout);
    }
    assert!(!run.stdout.contains("f0 f1"), "cut after 64 bytes");
    let full = inspect(&["--full"], Some(input.as_bytes()));
    assert!(full
        .stdout
        .contains("f0 f1 f2 f3 f4 f5 f6 f7 f8 f9 fa fb fc fd fe ff"));
    assert!(!full.stdout.contains("more bytes"));
}

#[test]
fn rfc_5_7_64_kib_binary() {
    let mut raw = vec![0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
    raw.extend((0..65536u32).map(|i| (i % 251) as u8));
    let needles = [
        "byte 1        7f  0 1111111    MASK=0 length=127: a 64-bit length follows",
        "bytes 2-9     00 00 00 00 00 01 00 00  length=65536 (64-bit, minimal)",
        "bytes 10-65545 payload, 65536 bytes",
        "… 65472 more bytes",
        "1 frame: all valid",
    ];
    // As raw bytes …
    let run = inspect(&["--raw"], Some(&raw));
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    for needle in needles {
        assert!(run.stdout.contains(needle), "{needle:?}:\n{}", run.stdout);
    }
    // … and as hex with newlines, the RFC's 64-bit spelling first.
    let mut text = String::from("0x82 0x7F 0x0000000000010000\n");
    for row in raw[10..].chunks(32) {
        let row: Vec<String> = row.iter().map(|b| format!("{b:02x}")).collect();
        text.push_str(&row.join(" "));
        text.push('\n');
    }
    let run = inspect(&[], Some(text.as_bytes()));
    assert_eq!(run.status, 0, "{}", run.stderr);
    for needle in needles {
        assert!(run.stdout.contains(needle), "{needle:?}:\n{}", run.stdout);
    }
}

#[test]
fn broken_frames_point_at_the_byte_and_the_rule() {
    let cases: &[(&str, &str)] = &[
        // Reserved opcode: byte 0, §5.2.
        (
            "83 00",
            "✗ byte 0 = 0x83: opcode 0x3 is reserved for further non-control frames (RFC 6455 §5.2)",
        ),
        (
            "8b 00",
            "✗ byte 0 = 0x8b: opcode 0xb is reserved for further control frames (RFC 6455 §5.2)",
        ),
        // RSV bit without an extension: byte 0, §5.2.
        (
            "c1 00",
            "✗ byte 0 = 0xc1: RSV1 set, but no extension was negotiated to give it a meaning (RFC 6455 §5.2)",
        ),
        // Control frame over 125 bytes: byte 1, §5.5.
        (
            "89 7e 00 7e",
            "✗ byte 1 = 0x7e: control frame payloads are at most 125 bytes",
        ),
        // Control frame without FIN: byte 0, §5.5.
        (
            "09 00",
            "✗ byte 0 = 0x09: control frames must not be fragmented: FIN must be 1 (RFC 6455 §5.5)",
        ),
        // Top bit of a 64-bit length: byte 2, §5.2.
        (
            "82 7f 80 00 00 00 00 00 00 00",
            "✗ byte 2 = 0x80: the most significant bit of a 64-bit length must be 0 (RFC 6455 §5.2)",
        ),
        // Invalid UTF-8 (a surrogate, Autobahn 6.4.x): the first bad byte,
        // in the payload and in the input, §8.1.
        (
            "81 14 ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64",
            "✗ byte 14 = 0xa0 (payload byte 12): invalid UTF-8 in a text message",
        ),
        // A close code that may not be sent: its payload offset, §7.4.
        (
            "88 02 03 ed",
            "✗ byte 2 = 0x03 (payload byte 0): close code 1005 (no status received) may not appear in a close frame (RFC 6455 §7.4)",
        ),
        // Truncated: how many bytes are missing.
        (
            "81 05 48 65",
            "✗ byte 4 (end of input): truncated: the input ends 3 bytes short of the end of the payload",
        ),
        // §5.4: a continuation with no message to continue.
        (
            "80 02 6c 6f",
            "✗ byte 0 = 0x80: continuation frame, but no fragmented message is in progress (RFC 6455 §5.4)",
        ),
        // The minimal-length rule of §5.2.
        ("82 7e 00 03 01 02 03", "✗ byte 1 = 0x7e: length 3 is not minimally encoded"),
    ];
    for (hex, needle) in cases {
        let out = expect(hex, 1, &[needle]);
        assert!(out.contains("broken"), "{out}");
    }
    // A broken frame does not stop the frames after it.
    expect(
        "81 00 83 00 81 02 68 69",
        1,
        &[
            "✗ byte 2 = 0x83",
            "frame 3 at byte 4",
            "\"hi\"",
            "3 frames: 1 rule broken",
        ],
    );
}

#[test]
fn the_masking_rule_needs_a_role() {
    let masked = "81 85 37 fa 21 3d 7f 9f 4d 51 58";
    let unmasked = "81 05 48 65 6c 6c 6f";
    for (role, hex, status) in [
        ("client", masked, 0),
        ("server", unmasked, 0),
        ("client", unmasked, 1),
        ("server", masked, 1),
    ] {
        let mut args = vec!["--role", role];
        args.extend(hex_args(hex));
        let run = inspect(&args, None);
        assert_eq!(run.status, status, "{role} {hex}: {}", run.stdout);
        if status == 1 {
            assert!(run.stdout.contains("✗ byte 1 = "), "{}", run.stdout);
            assert!(run.stdout.contains("(RFC 6455 §5.1)"), "{}", run.stdout);
        }
    }
}

#[test]
fn close_frames_show_code_meaning_and_reason() {
    expect(
        "88 05 03 e8 62 79 65",
        0,
        &["close         code 1000 (normal closure), reason \"bye\""],
    );
    expect(
        "88 82 00 00 00 00 0f a2",
        0,
        &["code 4002 (private use (4000–4999)), no reason"],
    );
    expect("88 00", 0, &["no status code"]);
}

const RFC_REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

#[test]
fn handshake_request_shows_the_accept_value() {
    for args in [&[][..], &["--handshake"][..]] {
        let run = inspect(args, Some(RFC_REQUEST.as_bytes()));
        assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
        for needle in [
            "opening handshake request",
            "GET /chat HTTP/1.1",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "base64 of a random 16-byte nonce",
            "Sec-WebSocket-Version: 13",
            "computed Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
            "258EAFA5-E914-47DA-95CA-C5AB0DC85B11",
            "✓ a valid WebSocket opening handshake",
        ] {
            assert!(run.stdout.contains(needle), "{needle:?}:\n{}", run.stdout);
        }
    }
    // Typed with LF line endings and no final empty line: still read.
    let typed = RFC_REQUEST.replace("\r\n", "\n");
    let run = inspect(&[], Some(typed.trim_end().as_bytes()));
    assert_eq!(run.status, 0, "{}", run.stdout);
    assert!(run.stdout.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    assert!(run
        .stdout
        .contains("note: the head did not end with an empty line"));
    // A broken request gets the status a server would refuse it with.
    let broken = RFC_REQUEST.replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8");
    let run = inspect(&[], Some(broken.as_bytes()));
    assert_eq!(run.status, 1);
    assert!(
        run.stdout.contains("✗ Sec-WebSocket-Version must be 13"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("426 Upgrade Required"),
        "{}",
        run.stdout
    );
}

#[test]
fn handshake_response_checks_the_accept_value() {
    let response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    let run = inspect(&[], Some(response.as_bytes()));
    assert_eq!(run.status, 0, "{}", run.stdout);
    assert!(run.stdout.contains("✓ Sec-WebSocket-Accept is well-formed"));
    let keyed = inspect(
        &["--key", "dGhlIHNhbXBsZSBub25jZQ=="],
        Some(response.as_bytes()),
    );
    assert_eq!(keyed.status, 0, "{}", keyed.stdout);
    assert!(keyed
        .stdout
        .contains("✓ Sec-WebSocket-Accept matches the key"));
    let wrong = inspect(
        &["--key", "AQIDBAUGBwgJCgsMDQ4PEC=="],
        Some(response.as_bytes()),
    );
    assert_eq!(wrong.status, 1);
    assert!(wrong
        .stdout
        .contains("✗ Sec-WebSocket-Accept matches the key"));
    let garbled = response.replace("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "s3pPLMBiTxaQ9kYGzzhZRbK+xO");
    let run = inspect(&[], Some(garbled.as_bytes()));
    assert_eq!(run.status, 1);
    assert!(
        run.stdout.contains("✗ Sec-WebSocket-Accept is well-formed"),
        "{}",
        run.stdout
    );
}

#[test]
fn handshake_then_frames_in_raw_input() {
    // A captured client stream: the request, then its first (masked) frame.
    let mut raw = RFC_REQUEST.as_bytes().to_vec();
    raw.extend([
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ]);
    let run = inspect(&["--raw"], Some(&raw));
    assert_eq!(run.status, 0, "{}", run.stdout);
    assert!(run.stdout.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    assert!(
        run.stdout.contains("unmasked    \"Hello\""),
        "{}",
        run.stdout
    );
    // An unmasked frame after a request breaks §5.1: clients mask.
    let mut raw = RFC_REQUEST.as_bytes().to_vec();
    raw.extend([0x81, 0x02, 0x68, 0x69]);
    let run = inspect(&["--raw"], Some(&raw));
    assert_eq!(run.status, 1, "{}", run.stdout);
    assert!(run.stdout.contains("(RFC 6455 §5.1)"));
}

#[test]
fn unreadable_input_exits_2() {
    let run = inspect(&["81", "zz"], None);
    assert_eq!(run.status, 2);
    assert!(run.stderr.contains("not hex: 'z'"), "{}", run.stderr);
    assert_eq!(inspect(&["810"], None).status, 2);
    assert_eq!(inspect(&[], Some(b"")).status, 2);
    assert_eq!(inspect(&[], Some(b" \n")).status, 2);
    assert_eq!(inspect(&[], Some(b"\xff\xfe")).status, 2);
}
