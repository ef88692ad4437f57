//! Section 3, reserved bits (RFC 6455 §5.2): a frame with RSV bits set
//! and no extension negotiated fails the connection (1002).
//!
//! Also the helpers sections 4 and 5 share: a frame table written in one
//! of wstest's three ways, and the case where the peer must fail the
//! connection with a protocol error.

use super::super::case::{ExpectedClose, Verdict};
use super::super::catalog::Entry;
use super::super::peer::{Frame, Peer};
use super::{message, on_open};

/// One frame a case sends: opcode, FIN, RSV, payload.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sent(pub u8, pub bool, pub u8, pub &'static [u8]);

/// How the frames go on the wire (wstest's `sendFrame` keywords).
#[derive(Clone, Copy, Debug)]
pub(super) enum Write {
    /// Plain: frames follow each other in the stream.
    Whole,
    /// `sync = True`: each frame on a turn of its own.
    Sync,
    /// `chopsize = 1`: octet by octet.
    Octets,
}

/// Send `frames` written `write`-wise.
pub(super) fn send_all(p: &mut Peer, frames: &[Sent], write: Write) {
    for &Sent(opcode, fin, rsv, payload) in frames {
        let frame = Frame::new(opcode, payload).fin(fin).rsv(rsv);
        p.send_frame(match write {
            Write::Whole => frame,
            Write::Sync => frame.sync(true),
            Write::Octets => frame.chop(1),
        });
    }
}

/// A case whose peer must fail the connection (1002) on something in
/// `frames`; we fail it ourselves after a second. `echo`: a text message
/// the peer echoes before failing (OK), with NON-STRICT for failing
/// before echoing it; without it, nothing must come back (OK).
pub(super) fn protocol_error(
    id: &str,
    description: &str,
    expectation: &str,
    frames: Vec<Sent>,
    write: Write,
    echo: Option<&'static [u8]>,
) -> Entry {
    on_open(id, description, expectation, move |p| {
        match echo {
            Some(text) => {
                p.expect(Verdict::Ok, vec![message(text, false)]);
                p.expect(Verdict::NonStrict, vec![]);
            }
            None => p.expect(Verdict::Ok, vec![]),
        }
        p.expect_close(ExpectedClose::failed_by_peer(&[1002]));
        send_all(p, &frames, write);
        p.kill_after(1.0);
    })
}

const HELLO: &[u8] = b"Hello, world!";

/// Add the section's cases.
pub fn register(list: &mut Vec<Entry>) {
    let immediately = "The connection is failed immediately, since RSV must be 0.";
    let after_echo = "Echo for first message is received, but then connection is failed immediately, since RSV must be 0, when no extension defining RSV meaning has been negotiated. The Pong is not received.";
    list.push(protocol_error(
        "3.1",
        "Send small text message with <b>RSV = 1</b>.",
        "The connection is failed immediately (1002/protocol error), since RSV must be 0, when no extension defining RSV meaning has been negotiated.",
        vec![Sent(1, true, 1, HELLO)],
        Write::Whole,
        None,
    ));
    // 3.2 to 3.4: an echoed message, the same with RSV set, a ping.
    let echoed = [
        ("3.2", 2, Write::Whole, "Send small text message, then send again with <b>RSV = 2</b>, then send Ping."),
        ("3.3", 3, Write::Sync, "Send small text message, then send again with <b>RSV = 3</b>, then send Ping. Octets are sent in frame-wise chops. Octets are sent in octet-wise chops."),
        ("3.4", 4, Write::Octets, "Send small text message, then send again with <b>RSV = 4</b>, then send Ping. Octets are sent in octet-wise chops."),
    ];
    for (id, rsv, write, description) in echoed {
        let frames = vec![
            Sent(1, true, 0, HELLO),
            Sent(1, true, rsv, HELLO),
            Sent(9, true, 0, b""),
        ];
        list.push(protocol_error(
            id,
            description,
            after_echo,
            frames,
            write,
            Some(HELLO),
        ));
    }
    list.push(protocol_error(
        "3.5",
        "Send small binary message with <b>RSV = 5</b>.",
        immediately,
        vec![Sent(2, true, 5, b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff")],
        Write::Whole,
        None,
    ));
    // wstest's 3.6 sends a binary frame, not the ping it describes.
    list.push(protocol_error(
        "3.6",
        "Send Ping with <b>RSV = 6</b>.",
        immediately,
        vec![Sent(2, true, 6, HELLO)],
        Write::Whole,
        None,
    ));
    list.push(protocol_error(
        "3.7",
        "Send Close with <b>RSV = 7</b>.",
        immediately,
        vec![Sent(8, true, 7, b"")],
        Write::Whole,
        None,
    ));
}
