//! Autobahn 2.x — pings and pongs (RFC 6455 §5.5.2, §5.5.3): every ping is
//! answered by a pong with the same payload, a control frame over 125
//! bytes fails the connection with 1002, unsolicited pongs are ignored.

use ws6455::Config;
use ws6455_test_support::conformance;
use ws6455_test_support::conformance::*;

/// 2.1–2.4: empty, small text, small binary (not UTF-8) and 125-byte
/// (largest allowed, §5.5) ping payloads, each echoed in a pong.
fn case_2_1_to_2_4_pong_echoes_ping_payload(role: Role) {
    let cases: [(&str, Vec<u8>); 4] = [
        ("2.1", Vec::new()),
        ("2.2", b"Hello, world!".to_vec()),
        ("2.3", vec![0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]),
        ("2.4", vec![0xfe; 125]),
    ];
    let mut testee = Testee::new(role, Config::default());
    for (label, payload) in cases {
        testee.session(label, |p| {
            let ping = p.ping(&payload);
            p.send(&ping);
            p.expect(Ev::pong(&payload));
            End::Open
        });
    }
}

/// 2.5: a 126-byte ping breaks §5.5 ("All control frames MUST have a
/// payload length of 125 bytes or less"): 1002, no pong, TCP closed.
fn case_2_5_ping_of_126_bytes_fails(role: Role) {
    run(role, |p| {
        let ping = p.ping([0xfe; 126]);
        p.send(&ping);
        p.assert_failed(1002);
        End::Failed
    });
}

/// 2.6: a 125-byte ping written one octet at a time.
fn case_2_6_ping_125_octet_wise(role: Role) {
    run(role, |p| {
        let payload = [0xfe; 125];
        let ping = p.ping(payload);
        p.send_octets(&ping);
        p.expect(Ev::pong(payload));
        End::Open
    });
}

/// 2.7: an unsolicited pong (§5.5.3: "A response to an unsolicited Pong
/// frame is not expected") — the closing handshake that follows checks
/// that nothing else was sent.
fn case_2_7_unsolicited_empty_pong_ignored(role: Role) {
    run(role, |p| {
        let pong = p.pong([]);
        p.send(&pong);
        End::Open
    });
}

/// 2.8: the same with a payload.
fn case_2_8_unsolicited_pong_with_payload_ignored(role: Role) {
    run(role, |p| {
        let pong = p.pong("unsolicited pong payload");
        p.send(&pong);
        End::Open
    });
}

/// 2.9: an unsolicited pong, then a ping: only the ping is answered.
fn case_2_9_pong_then_ping(role: Role) {
    run(role, |p| {
        let pong = p.pong("unsolicited pong payload");
        let ping = p.ping("ping payload");
        p.send_all(&[pong, ping]);
        p.expect(Ev::pong("ping payload"));
        End::Open
    });
}

fn ten_pings(p: &mut CheckedPeer) -> (Vec<u8>, Vec<Ev>) {
    let mut bytes = Vec::new();
    let mut pongs = Vec::new();
    for i in 0..10 {
        let payload = format!("payload-{i}");
        bytes.extend(p.ping(&payload));
        pongs.push(Ev::pong(payload));
    }
    (bytes, pongs)
}

/// 2.10: ten pings in a row get ten pongs, in order (§5.5.3 lets an
/// endpoint answer only the latest; ws6455 answers each, as Autobahn
/// checks).
fn case_2_10_ten_pings_ten_pongs(role: Role) {
    run(role, |p| {
        let (bytes, pongs) = ten_pings(p);
        p.send(&bytes);
        p.expect_all(&pongs);
        End::Open
    });
}

/// 2.11: the same, written one octet at a time.
fn case_2_11_ten_pings_octet_wise(role: Role) {
    run(role, |p| {
        let (bytes, pongs) = ten_pings(p);
        p.send_octets(&bytes);
        p.expect_all(&pongs);
        End::Open
    });
}

/// Not an Autobahn case: every control frame length marker above 125 —
/// a 126-marker (16-bit) and a 127-marker (64-bit) ping announcing a small
/// payload — fails at the header, before any payload is sent.
fn case_2_x_ping_with_extended_length_fails_at_header(role: Role) {
    for marker in [126u8, 127] {
        run(role, |p| {
            // Only the first two octets: the testee cannot need more.
            let ping = p.ping([0; 125]);
            p.send(&[ping[0], (ping[1] & 0x80) | marker]);
            p.assert_failed(1002);
            End::Failed
        });
    }
}

conformance!(
    [server, client, blocking]
    [
        case_2_1_to_2_4_pong_echoes_ping_payload,
        case_2_5_ping_of_126_bytes_fails,
        case_2_6_ping_125_octet_wise,
        case_2_7_unsolicited_empty_pong_ignored,
        case_2_8_unsolicited_pong_with_payload_ignored,
        case_2_9_pong_then_ping,
        case_2_10_ten_pings_ten_pongs,
        case_2_11_ten_pings_octet_wise,
        case_2_x_ping_with_extended_length_fails_at_header,
    ]
);

conformance!([cli] [case_2_1_to_2_4_pong_echoes_ping_payload, case_2_5_ping_of_126_bytes_fails]);
