//! Autobahn 1.x — framing (RFC 6455 §5.2): text and binary messages of
//! every payload-length class (7-bit, 16-bit and 64-bit lengths and their
//! edges) are echoed exactly, whole or chopped into 997-byte writes, in
//! every role ws6455 plays.

use ws6455::Config;
use ws6455_test_support::conformance;
use ws6455_test_support::conformance::*;

/// 1.x.1–1.x.7: the edges of the three length encodings (§5.2): 0, 125
/// (largest 7-bit), 126 (smallest 16-bit), 127, 128, 65535 (largest 16-bit),
/// 65536 (smallest 64-bit).
const LENGTHS: [usize; 7] = [0, 125, 126, 127, 128, 65535, 65536];

fn payload(opcode: u8, len: usize) -> Vec<u8> {
    // Autobahn's payloads: '*' for text, 0xfe (never valid UTF-8) for binary.
    vec![if opcode == TEXT { b'*' } else { 0xfe }; len]
}

fn echo_of(opcode: u8, payload: &[u8]) -> Ev {
    if opcode == TEXT {
        Ev::text(payload)
    } else {
        Ev::binary(payload)
    }
}

/// Every length on its own connection, sent whole; the echo must come back
/// as one frame (both ends' default `fragment_size` is 64 KiB, so 65536
/// bytes are not split).
fn lengths(role: Role, opcode: u8) {
    let family = if opcode == TEXT { "1.1" } else { "1.2" };
    let mut testee = Testee::new(role, Config::default());
    for (i, &len) in LENGTHS.iter().enumerate() {
        testee.session(&format!("{family}.{}", i + 1), |p| {
            let data = payload(opcode, len);
            let frame = p.frame(true, 0, opcode, &data);
            p.send(&frame);
            p.expect(echo_of(opcode, &data));
            assert_eq!(p.frames.len(), 1, "[{}] echo in one frame", p.label);
            End::Open
        });
    }
}

fn case_1_1_1_to_1_1_7_text_lengths(role: Role) {
    lengths(role, TEXT);
}

fn case_1_2_1_to_1_2_7_binary_lengths(role: Role) {
    lengths(role, BINARY);
}

/// 1.x.8: 65536 bytes in writes of 997 octets, so the header and the
/// payload arrive split at arbitrary points.
fn chopped(role: Role, opcode: u8) {
    run(role, |p| {
        let data = payload(opcode, 65536);
        let frame = p.frame(true, 0, opcode, &data);
        p.send_chops(&frame, 997);
        p.expect(echo_of(opcode, &data));
        End::Open
    });
}

fn case_1_1_8_text_65536_in_997_byte_chops(role: Role) {
    chopped(role, TEXT);
}

fn case_1_2_8_binary_65536_in_997_byte_chops(role: Role) {
    chopped(role, BINARY);
}

/// Not an Autobahn case: every length of both kinds back to back in one
/// write, so frames of every length class start at every kind of offset in
/// the testee's receive buffer. Echoes come back in order.
fn case_1_x_all_lengths_pipelined(role: Role) {
    run(role, |p| {
        let mut bytes = Vec::new();
        let mut expected = Vec::new();
        for opcode in [TEXT, BINARY] {
            for len in LENGTHS {
                let data = payload(opcode, len);
                bytes.extend(p.frame(true, 0, opcode, &data));
                expected.push(echo_of(opcode, &data));
            }
        }
        p.send(&bytes);
        p.expect_all(&expected);
        End::Open
    });
}

/// Not an Autobahn case: lengths written with a non-minimal encoding are
/// still well-formed frames to a receiver ("MUST be used" binds the sender;
/// §5.2 defines the length as the value of the field), so 5 bytes announced
/// in a 16-bit and in a 64-bit length field are echoed.
fn case_1_x_non_minimal_length_encodings(role: Role) {
    run(role, |p| {
        let fields: [&[u8]; 2] = [&[126, 0, 5], &[127, 0, 0, 0, 0, 0, 0, 0, 5]];
        for field in fields {
            // The minimal frame is [b0, MASK|5, key?, payload]: swap in the
            // longer length field, keeping the MASK bit, key and payload.
            let minimal = p.text("hello");
            let mut frame = vec![minimal[0], (minimal[1] & 0x80) | field[0]];
            frame.extend_from_slice(&field[1..]);
            frame.extend_from_slice(&minimal[2..]);
            p.send(&frame);
            p.expect(Ev::text("hello"));
        }
        End::Open
    });
}

conformance!(
    [server, cli, client, blocking]
    [
        case_1_1_1_to_1_1_7_text_lengths,
        case_1_2_1_to_1_2_7_binary_lengths,
        case_1_1_8_text_65536_in_997_byte_chops,
        case_1_2_8_binary_65536_in_997_byte_chops,
        case_1_x_all_lengths_pipelined,
        case_1_x_non_minimal_length_encodings,
    ]
);

/// Frames in the same TCP segment as the handshake must not be lost: the
/// client's first frame right behind its request, the server's first
/// frames right behind its 101 response.
#[test]
fn frames_right_behind_the_handshake_are_not_lost() {
    // ws6455 as the server: request + text frame in one write.
    let server = echo_server(Config::default());
    let early = wire_frame_masked(b"early bird");
    let mut p = connect_with(server.local_addr(), &early);
    p.expect(Ev::text("early bird"));
    close_normally(&mut p);
    drop(p);

    // ws6455 as the client: 101 + two frames in one write.
    for kind in [ClientKind::EventLoop, ClientKind::Blocking] {
        let raw = RawServer::bind();
        let client = EchoClient::spawn(kind, raw.url(), Config::default());
        let mut early = ws6455_test_support::wire::encode(true, 0, TEXT, b"first", None);
        early.extend(ws6455_test_support::wire::encode(
            true, 0, BINARY, b"second", None,
        ));
        let mut p = raw.accept(&early);
        p.expect_all(&[Ev::text("first"), Ev::binary("second")]);
        close_normally(&mut p);
        drop(p);
        check_report("early frames", End::Open, &client.join());
    }
}

fn wire_frame_masked(payload: &[u8]) -> Vec<u8> {
    ws6455_test_support::wire::encode(true, 0, TEXT, payload, Some([1, 2, 3, 4]))
}

/// The harness's own encoder and decoder against RFC 6455's examples.
#[test]
fn harness_matches_the_rfc_examples() {
    ws6455_test_support::wire::self_check();
}
