//! Section 7, close handling (RFC 6455 §5.5.1, §7.1.5, §7.4): frames
//! after our close, close frames of every payload length, an invalid
//! UTF-8 reason, and every valid, invalid and undefined close code.
//!
//! All but 7.1.6 and 7.13.x turn a WRONG CODE close into a FAILED case;
//! those three are INFORMATIONAL whatever happens.

use std::sync::Arc;

use super::super::case::{Case, ExpectedClose, Verdict};
use super::super::catalog::Entry;
use super::super::peer::{Frame, Peer};
use super::message;

/// What the case sends when the connection opens.
type OnOpenFn = Arc<dyn Fn(&mut Peer) + Send + Sync>;

/// How the case adjusts wstest's judgement.
#[derive(Clone, Copy)]
enum Judge {
    /// A close with a code not allowed fails the case too.
    WrongCodeFails,
    /// 7.1.6: informational; the result says which order the peer took.
    MessageBeforeClose,
    /// 7.13.x: informational; the spec leaves the events undefined.
    Undefined,
}

struct CloseCase {
    send: OnOpenFn,
    judge: Judge,
}

impl Case for CloseCase {
    fn on_open(&mut self, p: &mut Peer) {
        (self.send)(p)
    }

    fn on_connection_lost(&mut self, p: &mut Peer) {
        p.judge();
        let o = &mut p.outcome;
        match self.judge {
            Judge::WrongCodeFails => {
                if o.behavior_close == Verdict::WrongCode {
                    o.behavior = Verdict::Failed;
                    o.result = o.result_close.clone();
                }
            }
            Judge::MessageBeforeClose => {
                match o.behavior {
                    Verdict::Ok => o.result = "Text message was processed before close.".into(),
                    Verdict::NonStrict => {
                        o.result =
                            "Close was processed before text message could be returned.".into()
                    }
                    _ => {}
                }
                o.behavior = Verdict::Informational;
                o.behavior_close = Verdict::Informational;
            }
            Judge::Undefined => {
                o.behavior = Verdict::Informational;
                o.behavior_close = Verdict::Informational;
                o.result = "Actual events are undefined by the spec.".into();
            }
        }
    }
}

fn case(
    id: impl Into<String>,
    description: impl Into<String>,
    expectation: impl Into<String>,
    judge: Judge,
    send: impl Fn(&mut Peer) + Send + Sync + 'static,
) -> Entry {
    let send: OnOpenFn = Arc::new(send);
    Entry::new(id, description, expectation, move || {
        Box::new(CloseCase {
            send: send.clone(),
            judge,
        })
    })
}

/// We close first; the close must be clean and carry one of `codes`.
fn clean_by_me(codes: &[u16]) -> ExpectedClose {
    ExpectedClose {
        closed_by_me: true,
        codes: codes.to_vec(),
        require_clean: true,
        wrong_endpoint_is_fatal: false,
    }
}

/// We close first; the peer may answer with one of `codes` or drop TCP.
fn unclean_by_me(codes: &[u16]) -> ExpectedClose {
    ExpectedClose {
        require_clean: false,
        ..clean_by_me(codes)
    }
}

/// A close frame reason that is not UTF-8 (a lone surrogate, `ED A0 80`).
const INVALID_UTF8: &[u8] =
    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64";

/// 7.7.x: close codes the peer must accept.
const VALID_CODES: [u16; 13] = [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
];

/// 7.9.x: close codes the peer must refuse.
const INVALID_CODES: [u16; 9] = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];

const HELLO: &[u8] = b"Hello World!";

/// A 7.3 case: id, description, expectation, the close codes allowed,
/// whether we close, and what it sends.
type LengthCase = (
    &'static str,
    &'static str,
    &'static str,
    &'static [u16],
    bool,
    fn(&mut Peer),
);

/// Add the section's cases.
pub fn register(list: &mut Vec<Entry>) {
    use Judge::*;
    let clean = "Clean close with normal code.";

    // 7.1 Basic close behavior.
    list.push(case(
        "7.1.1",
        "Send a message followed by a close frame",
        "Echoed message followed by clean close with normal code.",
        WrongCodeFails,
        |p| {
            p.expect(Verdict::Ok, vec![message(HELLO, false)]);
            p.expect_close(clean_by_me(&[1000]));
            p.send_frame(Frame::new(1, HELLO));
            p.kill_after(1.0);
        },
    ));
    // 7.1.2-7.1.4: a frame after our close, which the peer must ignore.
    for (id, description, expectation, opcode, payload) in [
        (
            "7.1.2",
            "Send two close frames",
            "Clean close with normal code. Second close frame ignored.",
            8,
            &b""[..],
        ),
        (
            "7.1.3",
            "Send a ping after close message",
            "Clean close with normal code, no pong.",
            9,
            b"",
        ),
        (
            "7.1.4",
            "Send text message after sending a close frame.",
            "Clean close with normal code. Text message ignored.",
            1,
            HELLO,
        ),
    ] {
        list.push(case(
            id,
            description,
            expectation,
            WrongCodeFails,
            move |p| {
                p.outcome.suppress_close = true;
                p.expect(Verdict::Ok, vec![]);
                p.expect_close(clean_by_me(&[1000]));
                p.send_close(Some(1000), None);
                p.send_frame(Frame::new(opcode, payload));
                p.kill_after(1.0);
            },
        ));
    }
    list.push(case(
        "7.1.5",
        "Send message fragment1 followed by close then fragment",
        clean,
        WrongCodeFails,
        |p| {
            p.outcome.suppress_close = true;
            p.expect(Verdict::Ok, vec![]);
            p.expect_close(clean_by_me(&[1000]));
            p.send_frame(Frame::new(1, b"fragment1").fin(false));
            p.send_close(Some(1000), None);
            p.send_frame(Frame::new(0, b"fragment2"));
            p.kill_after(1.0);
        },
    ));
    list.push(case(
        "7.1.6",
        "Send 256K message followed by close then a ping",
        "Case outcome depends on implementation defined close behavior. Message and close frame are sent back to back. If the close frame is processed before the text message write is complete (as can happen in asynchronous processing models) the close frame is processed first and the text message may not be received or may only be partially received.",
        MessageBeforeClose,
        |p| {
            p.outcome.suppress_close = true;
            p.expect(Verdict::Ok, vec![message(HELLO, false)]);
            p.expect(Verdict::NonStrict, vec![]);
            p.expect_close(clean_by_me(&[1000]));
            p.send_frame(Frame::new(1, b"BAsd7&jh23").repeat_to(256 << 10));
            p.send_frame(Frame::new(1, HELLO));
            p.send_close(Some(1000), None);
            p.send_frame(Frame::new(9, b""));
            p.kill_after(1.0);
        },
    ));

    // 7.3 Close frame structure: payload length.
    let lengths: [LengthCase; 6] = [
        (
            "7.3.1",
            "Send a close frame with payload length 0 (no close code, no close reason)",
            clean,
            &[1000],
            true,
            |p| p.send_close_frame(None, None, false),
        ),
        (
            "7.3.2",
            "Send a close frame with payload length 1",
            "Clean close with protocol error or drop TCP.",
            &[1002],
            false,
            |p| p.send_close_frame(None, Some(b"a"), false),
        ),
        (
            "7.3.3",
            "Send a close frame with payload length 2 (regular close with a code)",
            clean,
            &[1000],
            true,
            |p| p.send_close(Some(1000), None),
        ),
        (
            "7.3.4",
            "Send a close frame with close code and close reason",
            clean,
            &[1000],
            true,
            |p| p.send_close(Some(1000), Some(HELLO)),
        ),
        (
            "7.3.5",
            "Send a close frame with close code and close reason of maximum length (123)",
            clean,
            &[1000],
            true,
            |p| p.send_close(Some(1000), Some(&[b'*'; 123])),
        ),
        (
            "7.3.6",
            "Send a close frame with close code and close reason which is too long (124) - total frame payload 126 octets",
            "Clean close with protocol error code or dropped TCP connection.",
            &[1002],
            false,
            |p| p.send_close_frame(Some(1000), Some(&[b'*'; 124]), false),
        ),
    ];
    for (id, description, expectation, codes, require_clean, send) in lengths {
        list.push(case(
            id,
            description,
            expectation,
            WrongCodeFails,
            move |p| {
                p.outcome.suppress_close = true;
                p.expect(Verdict::Ok, vec![]);
                p.expect_close(if require_clean {
                    clean_by_me(codes)
                } else {
                    unclean_by_me(codes)
                });
                send(p);
                p.kill_after(1.0);
            },
        ));
    }

    // 7.5 Close frame structure: payload value.
    list.push(case(
        "7.5.1",
        "Send a close frame with invalid UTF8 payload",
        "Clean close with protocol error or invalid utf8 code or dropped TCP.",
        WrongCodeFails,
        |p| {
            p.outcome.suppress_close = true;
            p.expect(Verdict::Ok, vec![]);
            p.expect_close(unclean_by_me(&[1002, 1007]));
            p.send_close_frame(Some(1000), Some(INVALID_UTF8), false);
            p.kill_after(1.0);
        },
    ));

    // 7.7 Valid close codes: answered with 1000 or the code echoed.
    for (i, code) in VALID_CODES.into_iter().enumerate() {
        list.push(case(
            format!("7.7.{}", i + 1),
            format!("Send close with valid close code {code}"),
            "Clean close with normal or echoed code",
            WrongCodeFails,
            move |p| {
                p.expect(Verdict::Ok, vec![]);
                p.expect_close(clean_by_me(&[1000, code]));
                p.send_close_frame(Some(code), None, false);
                p.kill_after(1.0);
            },
        ));
    }

    // 7.9 Invalid close codes: a protocol error.
    for (i, code) in INVALID_CODES.into_iter().enumerate() {
        list.push(case(
            format!("7.9.{}", i + 1),
            format!("Send close with invalid close code {code}"),
            "Clean close with protocol error code or drop TCP",
            WrongCodeFails,
            move |p| {
                p.expect(Verdict::Ok, vec![]);
                p.expect_close(unclean_by_me(&[1002]));
                p.send_close_frame(Some(code), None, false);
                p.kill_after(1.0);
            },
        ));
    }

    // 7.13 Close codes the spec leaves undefined.
    for (i, code) in [5000u16, 65535].into_iter().enumerate() {
        list.push(case(
            format!("7.13.{}", i + 1),
            format!("Send close with close code {code}"),
            "Actual events are undefined by the spec.",
            Undefined,
            move |p| {
                p.outcome.suppress_close = true;
                p.expect(Verdict::Ok, vec![]);
                p.expect_close(unclean_by_me(&[1000, code, 1002]));
                p.send_close_frame(Some(code), None, false);
                p.kill_after(1.0);
            },
        ));
    }
}
