//! Section 1, framing: text (1.1) and binary (1.2) messages of every
//! length encoding (RFC 6455 §5.2: 7-bit, 16-bit, 64-bit), echoed back.

use super::super::case::{ExpectedClose, Verdict};
use super::super::catalog::Entry;
use super::super::peer::Frame;
use super::{message, on_open};

/// (length, chop size) of cases x.1 to x.8.
const LENGTHS: [(usize, Option<usize>); 8] = [
    (0, None),
    (125, None),
    (126, None),
    (127, None),
    (128, None),
    (65535, None),
    (65536, None),
    (65536, Some(997)),
];

/// Add the section's cases.
pub fn register(list: &mut Vec<Entry>) {
    for (sub, binary) in [(1, false), (2, true)] {
        let kind = if binary { "binary" } else { "text" };
        for (i, (len, chop)) in LENGTHS.into_iter().enumerate() {
            let description = match (len, chop) {
                (0, _) => format!("Send {kind} message with payload 0."),
                (_, None) => format!("Send {kind} message message with payload of length {len}."),
                (_, Some(c)) => format!(
                    "Send {kind} message message with payload of length {len}. Sent out data in chops of {c} octets."
                ),
            };
            let expectation = if len == 0 {
                format!("Receive echo'ed {kind} message (with empty payload). Clean close with normal code.")
            } else {
                format!("Receive echo'ed {kind} message (with payload as sent). Clean close with normal code.")
            };
            list.push(on_open(
                format!("1.{sub}.{}", i + 1),
                description,
                expectation,
                move |p| {
                    let payload = vec![if binary { 0xfe } else { b'*' }; len];
                    p.expect(Verdict::Ok, vec![message(payload.clone(), binary)]);
                    p.expect_close(ExpectedClose::normal_by_me());
                    let mut frame = Frame::new(if binary { 2 } else { 1 }, &payload);
                    if let Some(c) = chop {
                        frame = frame.chop(c);
                    }
                    p.send_frame(frame);
                    p.kill_after(if len > 128 { 10.0 } else { 1.0 });
                },
            ));
        }
    }
}
