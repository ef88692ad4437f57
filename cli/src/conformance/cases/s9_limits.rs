//! Section 9, limits and performance: big messages (9.1, 9.2), a 4 MiB
//! message in fragments of increasing size (9.3, 9.4), a 1 MiB message
//! written in chops of increasing size (9.5, 9.6), and 1000 round trips
//! of increasing size (9.7, 9.8). The wire log is off while they run; the
//! report shows how long each took. Judged in `on_message`, not by
//! expected events. (9.9.1 exists in wstest's sources but is not in its
//! case list.)

use super::super::case::{Case, ExpectedClose, Verdict};
use super::super::catalog::Entry;
use super::super::peer::{Frame, Peer};
use super::conclude;

/// How a big message goes out.
#[derive(Clone, Copy)]
enum Sending {
    /// One frame, `pattern` repeated to the length, written in pieces of
    /// `chop` bytes if set.
    Frame {
        pattern: &'static [u8],
        chop: Option<usize>,
    },
    /// `byte` repeated to the length, as a message in frames of `size`.
    Fragments { byte: u8, size: usize },
}

/// 9.1 to 9.6: one message echoed back.
struct BigMessage {
    binary: bool,
    len: usize,
    wait: u32,
    send: Sending,
    /// What the result says when a text message comes back instead
    /// (9.4 says "binary": wstest's wording).
    got_other: &'static str,
}

impl Case for BigMessage {
    fn on_open(&mut self, p: &mut Peer) {
        p.outcome.report_time = true;
        p.enable_wirelog(false);
        p.outcome.behavior = Verdict::Failed;
        p.expect_close(ExpectedClose::normal_by_me());
        p.outcome.result = format!("Did not receive message within {} seconds.", self.wait);
        let opcode = if self.binary { 2 } else { 1 };
        match self.send {
            Sending::Frame { pattern, chop } => {
                let mut frame = Frame::new(opcode, pattern).repeat_to(self.len);
                if let Some(c) = chop {
                    frame = frame.chop(c);
                }
                p.send_frame(frame);
            }
            Sending::Fragments { byte, size } => {
                let payload = vec![byte; self.len];
                p.send_message_split(&payload, self.binary, Some(size), false);
            }
        }
        p.close_after(f64::from(self.wait));
    }

    fn on_message(&mut self, p: &mut Peer, payload: Vec<u8>, binary: bool) {
        let kind = if self.binary { "binary" } else { "text" };
        let o = &mut p.outcome;
        if binary != self.binary {
            o.result = self.got_other.into();
        } else if payload.len() != self.len {
            o.result = format!(
                "Expected {kind} message with payload of length {}, but got {}.",
                self.len,
                payload.len()
            );
        } else {
            o.behavior = Verdict::Ok;
            o.result = format!("Received {kind} message of length {}.", payload.len());
        }
        p.enable_wirelog(true);
        p.send_close(Some(1000), None);
    }
}

/// 9.7, 9.8: `count` messages of `len` bytes, each sent once the one
/// before came back.
struct RoundTrips {
    binary: bool,
    len: usize,
    count: usize,
    wait: u32,
    sent: usize,
}

impl RoundTrips {
    fn send_one(&mut self, p: &mut Peer) {
        let frame = if self.binary {
            Frame::new(2, b"\xfe")
        } else {
            Frame::new(1, b"*")
        };
        p.send_frame(frame.repeat_to(self.len));
        self.sent += 1;
    }
}

impl Case for RoundTrips {
    fn on_open(&mut self, p: &mut Peer) {
        p.outcome.report_time = true;
        p.enable_wirelog(false);
        p.outcome.behavior = Verdict::Failed;
        p.expect_close(ExpectedClose::normal_by_me());
        p.outcome.result = format!("Case did not finish within {} seconds.", self.wait);
        p.close_after(f64::from(self.wait));
        self.sent = 0;
        self.send_one(p);
    }

    fn on_message(&mut self, p: &mut Peer, payload: Vec<u8>, binary: bool) {
        if binary != self.binary || payload.len() != self.len {
            let py_bool = if binary { "True" } else { "False" };
            let why = format!(
                "Echo'ed message type or length differs from what I sent (got binary = {py_bool}, payload length = {}).",
                payload.len()
            );
            conclude(p, Verdict::Failed, why);
        } else if self.sent < self.count {
            self.send_one(p);
        } else {
            conclude(p, Verdict::Ok, "Ok, received all echo'ed messages in time.");
        }
    }
}

/// A message size as wstest's descriptions write it, and its label.
const SIZES: [(usize, &str, &str); 6] = [
    (64 << 10, "64 * 2**10", "64k"),
    (256 << 10, "256 * 2**10", "256k"),
    (1 << 20, "1 * 2**20", "1M"),
    (4 << 20, "4 * 2**20", "4M"),
    (8 << 20, "8 * 2**20", "8M"),
    (16 << 20, "16 * 2**20", "16M"),
];

/// 9.3, 9.4: fragment sizes and their labels.
const FRAGMENTS: [(usize, &str); 9] = [
    (64, "64"),
    (256, "256"),
    (1 << 10, "1k"),
    (4 << 10, "4k"),
    (16 << 10, "16k"),
    (64 << 10, "64k"),
    (256 << 10, "256k"),
    (1 << 20, "1M"),
    (4 << 20, "4M"),
];

/// 9.5, 9.6: chop sizes.
const CHOPS: [usize; 6] = [64, 128, 256, 512, 1024, 2048];

/// 9.7, 9.8: (payload size, seconds allowed) for 1000 round trips.
const ROUND_TRIPS: [(usize, u32); 6] = [
    (0, 60),
    (16, 60),
    (64, 60),
    (256, 120),
    (1024, 240),
    (4096, 480),
];

const TEXT_PATTERN: &[u8] = b"BAsd7&jh23";
const BINARY_PATTERN: &[u8] = b"\x00\xfe\x23\xfa\xf0";

fn big(id: String, description: String, expectation: String, case: BigMessage) -> Entry {
    let BigMessage {
        binary,
        len,
        wait,
        send,
        got_other,
    } = case;
    Entry::new(id, description, expectation, move || {
        Box::new(BigMessage {
            binary,
            len,
            wait,
            send,
            got_other,
        })
    })
}

/// Add the section's cases.
pub fn register(list: &mut Vec<Entry>) {
    const GOT_BINARY: &str = "Expected text message with payload, but got binary.";
    const GOT_TEXT: &str = "Expected binary message with payload, but got text.";

    // 9.1, 9.2: one frame of increasing size.
    for (sub, binary, waits) in [
        (1, false, [10, 10, 100, 100, 100, 100]),
        (2, true, [10, 10, 10, 10, 100, 100]),
    ] {
        let kind = if binary { "binary" } else { "text" };
        for (i, ((len, expr, label), wait)) in SIZES.into_iter().zip(waits).enumerate() {
            // wstest's 9.2.5 calls its 8M message "16M".
            let label = if (sub, i) == (2, 4) { "16M" } else { label };
            list.push(big(
                format!("9.{sub}.{}", i + 1),
                format!("Send {kind} message message with payload of length {expr} ({label})."),
                format!("Receive echo'ed {kind} message (with payload as sent)."),
                BigMessage {
                    binary,
                    len,
                    wait,
                    send: Sending::Frame {
                        pattern: if binary { BINARY_PATTERN } else { TEXT_PATTERN },
                        chop: None,
                    },
                    got_other: if binary { GOT_TEXT } else { GOT_BINARY },
                },
            ));
        }
    }

    // 9.3, 9.4: 4 MiB in fragments of increasing size.
    for (sub, binary) in [(3, false), (4, true)] {
        let kind = if binary { "binary" } else { "text" };
        for (i, (size, label)) in FRAGMENTS.into_iter().enumerate() {
            // wstest's 9.3.9 calls its 4M message "8M".
            let total = if (sub, i) == (3, 8) { "8M" } else { "4M" };
            list.push(big(
                format!("9.{sub}.{}", i + 1),
                format!(
                    "Send fragmented {kind} message message with message payload of length 4 * 2**20 ({total}). Sent out in fragments of {label}."
                ),
                format!("Receive echo'ed {kind} message (with payload as sent)."),
                BigMessage {
                    binary,
                    len: 4 << 20,
                    wait: 100,
                    // 9.4.1 sends 0xfe, the others of 9.4 '*'.
                    send: Sending::Fragments {
                        byte: if (sub, i) == (4, 0) { 0xfe } else { b'*' },
                        size,
                    },
                    // 9.4's wording, as wstest has it.
                    got_other: if binary {
                        "Expected binary message with payload, but got binary."
                    } else {
                        GOT_BINARY
                    },
                },
            ));
        }
    }

    // 9.5, 9.6: 1 MiB written in chops of increasing size.
    for (sub, binary) in [(5, false), (6, true)] {
        let kind = if binary { "binary" } else { "text" };
        for (i, chop) in CHOPS.into_iter().enumerate() {
            // wstest's 9.6.2 to 9.6.6 expect a "text" message.
            let echoed = if binary && i == 0 { "binary" } else { "text" };
            list.push(big(
                format!("9.{sub}.{}", i + 1),
                format!(
                    "Send {kind} message message with payload of length 1 * 2**20 (1M). Sent out data in chops of {chop} octets."
                ),
                format!("Receive echo'ed {echoed} message (with payload as sent)."),
                BigMessage {
                    binary,
                    len: 1 << 20,
                    wait: 1000,
                    send: Sending::Frame {
                        pattern: if binary { BINARY_PATTERN } else { TEXT_PATTERN },
                        chop: Some(chop),
                    },
                    got_other: if binary { GOT_TEXT } else { GOT_BINARY },
                },
            ));
        }
    }

    // 9.7, 9.8: 1000 round trips of increasing size.
    for (sub, binary) in [(7, false), (8, true)] {
        let kind = if binary { "binary" } else { "text" };
        for (i, (len, wait)) in ROUND_TRIPS.into_iter().enumerate() {
            list.push(Entry::new(
                format!("9.{sub}.{}", i + 1),
                format!(
                    "Send 1000 {kind} messages of payload size {len} to measure implementation/network RTT (round trip time) / latency."
                ),
                format!("Receive echo'ed {kind} messages (with payload as sent). Timeout case after {wait} secs."),
                move || {
                    Box::new(RoundTrips {
                        binary,
                        len,
                        count: 1000,
                        wait,
                        sent: 0,
                    })
                },
            ));
        }
    }
}
