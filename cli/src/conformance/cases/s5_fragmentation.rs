//! Section 5, fragmentation (RFC 6455 §5.4): fragmented messages are
//! reassembled (with control frames in between), fragmented control
//! frames and continuations with nothing to continue fail the connection.

use super::super::case::{Case, ExpectedClose, Observed, Verdict};
use super::super::catalog::Entry;
use super::super::peer::{Frame, Peer};
use super::s3_reserved_bits::{protocol_error, send_all, Sent, Write};
use super::{message, on_open, pong};

const FAILED_NOTHING_TO_CONTINUE: &str =
    "The connection is failed immediately, since there is no message to continue.";

/// The three ways of writing, with how 5.3-5.14 name them: the chops
/// of "octets are sent in ... chops" (none when written plainly), and of
/// "sent in ...".
const WRITES: [(Write, Option<&str>, &str); 3] = [
    (Write::Whole, None, "one chop"),
    (Write::Sync, Some("frame-wise"), "per-frame chops"),
    (Write::Octets, Some("octet-wise"), "octet-wise chops"),
];

/// A fragmented message the peer reassembles and echoes (with the pong of
/// a ping in between when `events` says so); we close after a second.
fn echoed(
    id: String,
    description: String,
    expectation: &str,
    frames: Vec<Sent>,
    write: Write,
    events: Vec<Observed>,
) -> Entry {
    on_open(id, description, expectation, move |p| {
        p.expect(Verdict::Ok, events.clone());
        p.expect_close(ExpectedClose::normal_by_me());
        send_all(p, &frames, write);
        p.close_after(1.0);
    })
}

/// 5.19, 5.20: a fragmented message with a ping, a pause of a second,
/// more fragments with another ping; `sync` writes every frame on its own.
struct PausedMessage {
    sync: bool,
}

const FRAGMENTS: [&[u8]; 5] = [
    b"fragment1",
    b"fragment2",
    b"fragment3",
    b"fragment4",
    b"fragment5",
];
const PINGS: [&[u8]; 2] = [b"pongme 1!", b"pongme 2!"];

impl PausedMessage {
    fn send(&self, p: &mut Peer, opcode: u8, fin: bool, payload: &[u8]) {
        p.send_frame(Frame::new(opcode, payload).fin(fin).sync(self.sync));
    }
}

impl Case for PausedMessage {
    fn on_open(&mut self, p: &mut Peer) {
        p.expect(
            Verdict::Ok,
            vec![
                pong(PINGS[0]),
                pong(PINGS[1]),
                message(FRAGMENTS.concat(), false),
            ],
        );
        p.expect_close(ExpectedClose::normal_by_me());
        self.send(p, 1, false, FRAGMENTS[0]);
        self.send(p, 0, false, FRAGMENTS[1]);
        self.send(p, 9, true, PINGS[0]);
        p.continue_later(1.0, 0);
    }

    fn on_timer(&mut self, p: &mut Peer, _tag: u32) {
        self.send(p, 0, false, FRAGMENTS[2]);
        self.send(p, 0, false, FRAGMENTS[3]);
        self.send(p, 9, true, PINGS[1]);
        self.send(p, 0, true, FRAGMENTS[4]);
        p.close_after(1.0);
    }
}

/// Add the section's cases.
pub fn register(list: &mut Vec<Entry>) {
    let fail_fragmented =
        "Connection is failed immediately, since control message MUST NOT be fragmented.";
    for (id, opcode, name) in [("5.1", 9, "Ping"), ("5.2", 10, "Pong")] {
        list.push(protocol_error(
            id,
            &format!("Send {name} fragmented into 2 fragments."),
            fail_fragmented,
            vec![
                Sent(opcode, false, 0, b"fragment1"),
                Sent(0, true, 0, b"fragment2"),
            ],
            Write::Whole,
            None,
        ));
    }

    // 5.3-5.5: two fragments; 5.6-5.8: with a ping in between.
    for (i, (write, chops, _)) in WRITES.into_iter().enumerate() {
        let how = chops
            .map(|c| format!(", octets are sent in {c} chops"))
            .unwrap_or_default();
        list.push(echoed(
            format!("5.{}", 3 + i),
            format!("Send text Message fragmented into 2 fragments{how}."),
            "Message is processed and echo'ed back to us.",
            vec![
                Sent(1, false, 0, b"fragment1"),
                Sent(0, true, 0, b"fragment2"),
            ],
            write,
            vec![message(&b"fragment1fragment2"[..], false)],
        ));
    }
    for (i, (write, chops, _)) in WRITES.into_iter().enumerate() {
        let how = chops
            .map(|c| format!(". Octets are sent in {c} chops"))
            .unwrap_or_default();
        list.push(echoed(
            format!("5.{}", 6 + i),
            format!("Send text Message fragmented into 2 fragments, one ping with payload in-between{how}."),
            "A pong is received, then the message is echo'ed back to us.",
            vec![
                Sent(1, false, 0, b"fragment1"),
                Sent(9, true, 0, b"ping payload"),
                Sent(0, true, 0, b"fragment2"),
            ],
            write,
            vec![pong(&b"ping payload"[..]), message(&b"fragment1fragment2"[..], false)],
        ));
    }

    // 5.9-5.14: a continuation with nothing to continue (FIN set, then
    // not), then a text message.
    for (j, fin) in [true, false].into_iter().enumerate() {
        for (i, (write, _, chops)) in WRITES.into_iter().enumerate() {
            list.push(protocol_error(
                &format!("5.{}", 9 + 3 * j + i),
                &format!(
                    "Send unfragmented Text Message after Continuation Frame with FIN = {fin}, where there is nothing to continue, sent in {chops}."
                ),
                FAILED_NOTHING_TO_CONTINUE,
                vec![Sent(0, fin, 0, b"non-continuation payload"), Sent(1, true, 0, b"Hello, world!")],
                write,
                None,
            ));
        }
    }

    list.push(protocol_error(
        "5.15",
        "Send text Message fragmented into 2 fragments, then Continuation Frame with FIN = false where there is nothing to continue, then unfragmented Text Message, all sent in one chop.",
        FAILED_NOTHING_TO_CONTINUE,
        vec![
            Sent(1, false, 0, b"fragment1"),
            Sent(0, true, 0, b"fragment2"),
            Sent(0, false, 0, b"fragment3"),
            Sent(1, true, 0, b"fragment4"),
        ],
        Write::Whole,
        Some(&b"fragment1fragment2"[..]),
    ));

    // 5.16, 5.17: twice a continuation with nothing to continue, then a
    // message in two fragments.
    for (id, fin) in [("5.16", false), ("5.17", true)] {
        let round = [
            Sent(0, fin, 0, b"fragment1"),
            Sent(1, false, 0, b"fragment2"),
            Sent(0, true, 0, b"fragment3"),
        ];
        list.push(protocol_error(
            id,
            &format!(
                "Repeated 2x: Continuation Frame with FIN = {fin} (where there is nothing to continue), then text Message fragmented into 2 fragments."
            ),
            FAILED_NOTHING_TO_CONTINUE,
            round.repeat(2),
            Write::Whole,
            None,
        ));
    }

    list.push(protocol_error(
        "5.18",
        "Send text Message fragmented into 2 fragments, with both frame opcodes set to text, sent in one chop.",
        "The connection is failed immediately, since all data frames after the initial data frame must have opcode 0.",
        vec![Sent(1, false, 0, b"fragment1"), Sent(1, true, 0, b"fragment2")],
        Write::Whole,
        None,
    ));

    list.push(Entry::new(
        "5.19",
        "A fragmented text message is sent in multiple frames. After sending the first 2 frames of the text message, a Ping is sent. Then we wait 1s, then we send 2 more text fragments, another Ping and then the final text fragment. Everything is legal.",
        "The peer immediately answers the first Ping before it has received the last text message fragment. The peer pong's back the Ping's payload exactly, and echo's the payload of the fragmented message back to us.",
        || Box::new(PausedMessage { sync: false }),
    ));
    list.push(Entry::new(
        "5.20",
        "Same as Case 5.19, but send all frames with SYNC = True. Note, this does not change the octets sent in any way, only how the stream is chopped up on the wire.",
        "Same as Case 5.19. Implementations must be agnostic to how octet stream is chopped up on wire (must be TCP clean).",
        || Box::new(PausedMessage { sync: true }),
    ));
}
