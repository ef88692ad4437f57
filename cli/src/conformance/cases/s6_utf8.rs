//! Section 6, UTF-8 handling (RFC 6455 §8.1): text messages must be valid
//! UTF-8, and an endpoint must fail the connection with 1007 on invalid
//! text, ideally as soon as the first invalid byte arrives (6.4). 6.5-6.23
//! are generated from the test vectors in `s6_utf8_vectors.rs`.

use super::super::case::{Case, ExpectedClose, Observed, Verdict};
use super::super::catalog::Entry;
use super::super::peer::{Frame, Peer, State};
use super::s6_utf8_vectors::{groups, KOSME};
use super::{message, on_open};
use ws6455::proto::mask::apply_mask;

const ECHOED: &str = "The message is echo'ed back to us.";
const FAILED: &str = "The connection is failed immediately, since the payload is not valid UTF-8.";

/// 6.2.1 and 6.2.3's message.
const HELLO: &str = "Hello-µ@ßöäüàá-UTF-8!!";

/// The echo of `payload`, then our clean close.
fn expect_echo(p: &mut Peer, payload: &[u8]) {
    p.expect(Verdict::Ok, vec![message(payload, false)]);
    p.expect_close(ExpectedClose::normal_by_me());
}

/// Nothing back: the peer fails the connection with 1007, and its not
/// doing so fails the case itself.
fn expect_1007(p: &mut Peer) {
    p.expect(Verdict::Ok, vec![]);
    p.expect_close(ExpectedClose {
        wrong_endpoint_is_fatal: true,
        ..ExpectedClose::failed_by_peer(&[1007])
    });
}

/// wstest's `sendMessage(payload, fragmentSize = size)` for a text
/// message: frames of `size` bytes (one frame if it fits).
fn send_fragmented(p: &mut Peer, payload: &[u8], size: usize) {
    let n = payload.chunks(size).count();
    if n <= 1 {
        p.send_frame(Frame::new(1, payload));
        return;
    }
    for (i, chunk) in payload.chunks(size).enumerate() {
        let opcode = if i == 0 { 1 } else { 0 };
        p.send_frame(Frame::new(opcode, chunk).fin(i + 1 == n));
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Ends of the first two parts of 6.4's message.
type Split = (usize, usize);

/// 6.4: an invalid message sent in three parts with a second's wait
/// between them; the peer should fail the connection on the second part
/// (OK), or at least at the end of the message (NON-STRICT).
struct FailFast {
    split: Split,
    /// The parts are chops of one frame, not frames of their own.
    chops: bool,
    /// The frame's masking key and how far into the payload we are.
    mask: Option<[u8; 4]>,
    sent: usize,
}

/// 6.4's message: valid, then U+110000 in the UTF-8 integer encoding
/// (F4 90 80 80, invalid at the 90), then valid again.
fn fail_fast_payload() -> Vec<u8> {
    [KOSME, b"\xf4\x90\x80\x80", b"edited"].concat()
}

impl FailFast {
    fn part(&self, n: usize) -> Vec<u8> {
        let payload = fail_fast_payload();
        let (a, b) = self.split;
        let range = match n {
            0 => 0..a,
            1 => a..b,
            _ => b..payload.len(),
        };
        payload.get(range).unwrap_or_default().to_vec()
    }

    /// Send part `n`: a frame of its own (text first, FIN last), or the
    /// next bytes of the one frame (wstest's `sendMessageFrameData`).
    fn send_part(&mut self, p: &mut Peer, n: usize) {
        let part = self.part(n);
        if !self.chops {
            let opcode = if n == 0 { 1 } else { 0 };
            p.send_frame(Frame::new(opcode, &part).fin(n == 2));
            return;
        }
        let mut data = part;
        if let Some(key) = self.mask {
            apply_mask(&mut data, key, self.sent % 4);
        }
        self.sent += data.len();
        p.send_data(data, false, None);
    }

    /// wstest's `beginMessage` + `beginMessageFrame(len)`: the header of
    /// a text frame holding the whole message, FIN clear (streaming).
    fn begin_frame(&mut self, p: &mut Peer) {
        // 21 bytes: the 7-bit length form.
        let len = u8::try_from(fail_fast_payload().len()).unwrap_or(0);
        let mut header = vec![0x01, len];
        if !p.is_server {
            let key: [u8; 4] = rand::random();
            self.mask = Some(key);
            header[1] |= 0x80;
            header.extend_from_slice(&key);
        }
        p.send_data(header, false, None);
    }
}

impl Case for FailFast {
    fn on_open(&mut self, p: &mut Peer) {
        p.expect(Verdict::Ok, vec![Observed::Timeout("A")]);
        p.expect(
            Verdict::NonStrict,
            vec![Observed::Timeout("A"), Observed::Timeout("B")],
        );
        p.expect_close(ExpectedClose {
            wrong_endpoint_is_fatal: true,
            ..ExpectedClose::failed_by_peer(&[1007])
        });
        if self.chops {
            self.begin_frame(p);
        }
        self.send_part(p, 0);
        p.continue_later(1.0, 1);
    }

    fn on_timer(&mut self, p: &mut Peer, tag: u32) {
        if p.state != State::Open {
            return;
        }
        match tag {
            1 => {
                p.outcome.received.push(Observed::Timeout("A"));
                self.send_part(p, 1);
                p.continue_later(1.0, 2);
            }
            2 => {
                p.outcome.received.push(Observed::Timeout("B"));
                self.send_part(p, 2);
                if self.chops {
                    // wstest's `endMessage`: an empty final continuation.
                    p.send_frame(Frame::new(0, &[]));
                }
                p.kill_after(1.0);
            }
            _ => {}
        }
    }
}

/// 6.4's expectation (the frames' or the chops').
fn fail_fast_expectation(what: &str) -> String {
    format!(
        "The first {what} is accepted, we expect to timeout on the first wait. The 2nd {what} should be rejected immediately (fail fast on UTF-8). If we timeout, we expect the connection is failed at least then, since the complete message payload is not valid UTF-8."
    )
}

fn fail_fast_entry(id: &str, description: String, split: Split, chops: bool) -> Entry {
    let what = if chops { "chop" } else { "frame" };
    Entry::new(id, description, fail_fast_expectation(what), move || {
        Box::new(FailFast {
            split,
            chops,
            mask: None,
            sent: 0,
        })
    })
}

/// 6.4's description tail: the three parts in hex.
fn parts(a: &[u8], b: &[u8], c: &[u8]) -> String {
    format!(
        " <br><br>MESSAGE PARTS:<br> PART1 = {}<br> PART2 = {}<br> PART3 = {}<br>",
        hex(a),
        hex(b),
        hex(c)
    )
}

/// 6.1 to 6.4.
fn register_fixed(list: &mut Vec<Entry>) {
    list.push(on_open(
        "6.1.1",
        "Send text message of length 0.",
        "A message is echo'ed back to us (with empty payload).",
        |p| {
            expect_echo(p, b"");
            p.send_frame(Frame::new(1, b""));
            p.close_after(1.0);
        },
    ));
    list.push(on_open(
        "6.1.2",
        "Send fragmented text message, 3 fragments each of length 0.",
        "A message is echo'ed back to us (with empty payload).",
        |p| {
            expect_echo(p, b"");
            p.send_frame(Frame::new(1, b"").fin(false));
            p.send_frame(Frame::new(0, b"").fin(false));
            p.send_frame(Frame::new(0, b""));
            p.close_after(1.0);
        },
    ));
    list.push(on_open(
        "6.1.3",
        "Send fragmented text message, 3 fragments, first and last of length 0, middle non-empty.",
        "A message is echo'ed back to us (with payload = payload of middle fragment).",
        |p| {
            let middle = b"middle frame payload";
            expect_echo(p, middle);
            p.send_frame(Frame::new(1, b"").fin(false));
            p.send_frame(Frame::new(0, middle).fin(false));
            p.send_frame(Frame::new(0, b""));
            p.close_after(1.0);
        },
    ));

    let hello = HELLO.as_bytes();
    list.push(on_open(
        "6.2.1",
        format!(
            "Send a valid UTF-8 text message in one fragment.<br><br>MESSAGE:<br>{HELLO}<br>{}",
            hex(hello)
        ),
        ECHOED,
        move |p| {
            expect_echo(p, hello);
            p.send_message(hello, false);
            p.close_after(1.0);
        },
    ));
    let (first, second) = HELLO.split_at(HELLO.find('ü').unwrap_or(0));
    list.push(on_open(
        "6.2.2",
        format!(
            "Send a valid UTF-8 text message in two fragments, fragmented on UTF-8 code point boundary.<br><br>MESSAGE FRAGMENT 1:<br>{first}<br>{}<br><br>MESSAGE FRAGMENT 2:<br>{second}<br>{}",
            hex(first.as_bytes()),
            hex(second.as_bytes())
        ),
        ECHOED,
        move |p| {
            expect_echo(p, hello);
            p.send_frame(Frame::new(1, first.as_bytes()).fin(false));
            p.send_frame(Frame::new(0, second.as_bytes()));
            p.close_after(1.0);
        },
    ));
    let within = "Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.<br><br>MESSAGE:<br>";
    // 6.2.4: κόσμε as Kuhn writes it, with U+1F79 (e1 bd b9) for the ό.
    for (id, text) in [("6.2.3", HELLO), ("6.2.4", "κ\u{1f79}σμε")] {
        let bytes = text.as_bytes();
        list.push(on_open(
            id,
            format!("{within}{text}<br>{}", hex(bytes)),
            ECHOED,
            move |p| {
                expect_echo(p, bytes);
                send_fragmented(p, bytes, 1);
                p.close_after(1.0);
            },
        ));
    }

    // Invalid at byte 12 (the A0 of a UTF-16 surrogate).
    let invalid: &'static [u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited";
    for (id, what, size) in [
        ("6.3.1", "unfragmented", None),
        ("6.3.2", "in fragments of 1 octet, resulting in frames ending on positions which are not code point ends", Some(1)),
    ] {
        let description = format!("Send invalid UTF-8 text message {what}.<br><br>MESSAGE:<br>{}", hex(invalid));
        list.push(on_open(id, description, FAILED, move |p| {
            expect_1007(p);
            match size {
                Some(n) => send_fragmented(p, invalid, n),
                None => p.send_message(invalid, false),
            }
            p.kill_after(1.0);
        }));
    }

    let m = fail_fast_payload();
    let at = |r: std::ops::Range<usize>| m.get(r).unwrap_or_default().to_vec();
    let (p1, p2, p3) = (at(0..11), at(11..15), at(15..m.len()));
    let (q1, q2, q3) = (at(0..12), at(12..13), at(13..m.len()));
    list.push(fail_fast_entry(
        "6.4.1",
        format!(
            "Send invalid UTF-8 text message in 3 fragments (frames). First frame payload is valid, then wait, then 2nd frame which contains the payload making the sequence invalid, then wait, then 3rd frame with rest. Note that PART1 and PART3 are valid UTF-8 in themselves, PART2 is a 0x110000 encoded as in the UTF-8 integer encoding scheme, but the codepoint is invalid (out of range).{}",
            parts(&p1, &p2, &p3)
        ),
        (11, 15),
        false,
    ));
    list.push(fail_fast_entry(
        "6.4.2",
        format!(
            "Same as Case 6.4.1, but in 2nd frame, we send only up to and including the octet making the complete payload invalid.{}",
            parts(&q1, &q2, &q3)
        ),
        (12, 13),
        false,
    ));
    list.push(fail_fast_entry(
        "6.4.3",
        format!(
            "Same as Case 6.4.1, but we send message not in 3 frames, but in 3 chops of the same message frame.{}",
            parts(&p1, &p2, &p3)
        ),
        (11, 15),
        true,
    ));
    // wstest's description shows PART3 as PAYLOAD3[13:], which is empty.
    list.push(fail_fast_entry(
        "6.4.4",
        format!(
            "Same as Case 6.4.2, but we send message not in 3 frames, but in 3 chops of the same message frame.{}",
            parts(&q1, &q2, b"")
        ),
        (12, 13),
        true,
    ));
}

/// Add the section's cases.
pub fn register(list: &mut Vec<Entry>) {
    register_fixed(list);
    for (i, group) in groups().into_iter().enumerate() {
        for (j, (valid, payload)) in group.vectors.into_iter().enumerate() {
            let id = format!("6.{}.{}", i + 5, j + 1);
            let (what, expectation) = if valid {
                ("", ECHOED)
            } else {
                ("not ", FAILED)
            };
            let description = format!(
                "Send a text message with payload which is {what}valid UTF-8 in one fragment.<br><br>Payload: 0x{}",
                hex(&payload)
            );
            list.push(on_open(id, description, expectation, move |p| {
                if valid {
                    expect_echo(p, &payload);
                } else {
                    expect_1007(p);
                }
                p.send_message(&payload, false);
                p.kill_after(0.5);
            }));
        }
    }
}
