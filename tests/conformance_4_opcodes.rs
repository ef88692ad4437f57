//! Autobahn 4.x — reserved opcodes (RFC 6455 §5.2: %x3–7 are "reserved for
//! further non-control frames", %xB–F "for further control frames"; §5.2
//! "If an unknown opcode is received, the receiving endpoint MUST _Fail
//! the WebSocket Connection_"). Failure is 1002 at once; a message before
//! is echoed, a ping after is not answered.

use ws6455::Config;
use ws6455_test_support::conformance;
use ws6455_test_support::conformance::*;

const HELLO: &str = "Hello, world!";
const PAYLOAD: &str = "reserved opcode payload";

/// (case, opcode, with payload, after a good message + then a ping)
type Row = (&'static str, u8, bool, bool);

/// 4.1.x: reserved non-control opcodes.
const NON_CONTROL: [Row; 5] = [
    ("4.1.1", 3, false, false),
    ("4.1.2", 4, true, false),
    ("4.1.3", 5, false, true),
    ("4.1.4", 6, true, true),
    ("4.1.5", 7, true, true),
];

/// 4.2.x: reserved control opcodes.
const CONTROL: [Row; 5] = [
    ("4.2.1", 11, false, false),
    ("4.2.2", 12, true, false),
    ("4.2.3", 13, false, true),
    ("4.2.4", 14, true, true),
    ("4.2.5", 15, true, true),
];

fn rows(role: Role, rows: &[Row]) {
    let mut testee = Testee::new(role, Config::default());
    for &(label, opcode, with_payload, sandwiched) in rows {
        testee.session(label, |p| {
            let payload = if with_payload { PAYLOAD } else { "" };
            let reserved = p.frame(true, 0, opcode, payload);
            if sandwiched {
                let frames = [p.text(HELLO), reserved, p.ping(HELLO)];
                p.send_all(&frames);
                p.assert_end(&[Ev::text(HELLO), Ev::close(1002)]);
            } else {
                p.send(&reserved);
                p.assert_failed(1002);
            }
            End::Failed
        });
    }
}

fn case_4_1_1_to_4_1_5_reserved_non_control_opcodes(role: Role) {
    rows(role, &NON_CONTROL);
}

fn case_4_2_1_to_4_2_5_reserved_control_opcodes(role: Role) {
    rows(role, &CONTROL);
}

/// Not an Autobahn case: every reserved opcode, alone and inside a
/// fragmented message, fails from the first header octet alone.
fn case_4_x_reserved_opcodes_fail_at_first_octet(role: Role) {
    let mut testee = Testee::new(role, Config::default());
    for opcode in (3..=7).chain(11..=15) {
        for inside_message in [false, true] {
            testee.session(
                &format!("opcode {opcode} in message {inside_message}"),
                |p| {
                    if inside_message {
                        let first = p.frame(false, 0, BINARY, "first fragment");
                        p.send(&first);
                    }
                    let frame = p.frame(true, 0, opcode, PAYLOAD);
                    p.send(&frame[..1]);
                    p.assert_failed(1002);
                    End::Failed
                },
            );
        }
    }
}

conformance!(
    [server, client, blocking]
    [
        case_4_1_1_to_4_1_5_reserved_non_control_opcodes,
        case_4_2_1_to_4_2_5_reserved_control_opcodes,
        case_4_x_reserved_opcodes_fail_at_first_octet,
    ]
);

conformance!([cli][case_4_1_1_to_4_1_5_reserved_non_control_opcodes]);
