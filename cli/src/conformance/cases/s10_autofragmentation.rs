//! Section 10, miscellaneous: a message we send auto-fragmented (frames
//! of at most 1300 bytes) is reassembled and echoed, and we check we did
//! send the frames we meant to.

use super::super::case::{Case, ExpectedClose, Verdict};
use super::super::catalog::Entry;
use super::super::peer::Peer;
use super::message;

const LEN: usize = 65536;
const FRAGMENT: usize = 1300;

/// 10.1.1.
struct AutoFragmented;

impl Case for AutoFragmented {
    fn on_open(&mut self, p: &mut Peer) {
        let payload = vec![b'*'; LEN];
        p.auto_fragment_size = FRAGMENT;
        p.expect(Verdict::Ok, vec![message(payload.clone(), false)]);
        p.expect_close(ExpectedClose::normal_by_me());
        p.send_message(&payload, false);
        p.kill_after(10.0);
    }

    /// wstest then compares the continuation and text frames it sent
    /// (its `txFrameStats`) with what the fragment size makes.
    fn on_connection_lost(&mut self, p: &mut Peer) {
        p.judge();
        if !p.connection_was_open {
            p.outcome.behavior = Verdict::Failed;
            p.outcome.result = "WebSocket connection was never open".into();
            return;
        }
        let expected = (LEN / FRAGMENT, usize::from(LEN % FRAGMENT > 0));
        let count = |opcode: usize| p.tx_frames.get(opcode).map_or(0, |n| *n as usize);
        let got = (count(0), count(1));
        if got != expected {
            p.outcome.behavior = Verdict::Failed;
            p.outcome.result = format!(
                "Frames transmitted {{0: {}, 1: {}}} does not match what we expected {{0: {}, 1: {}}}.",
                got.0, got.1, expected.0, expected.1
            );
        }
    }
}

/// Add the section's cases.
pub fn register(list: &mut Vec<Entry>) {
    list.push(Entry::new(
        "10.1.1",
        "Send text message with payload of length 65536 auto-fragmented with <b>autoFragmentSize = 1300</b>.",
        "Receive echo'ed text message (with payload as sent and transmitted frame counts as expected). Clean close with normal code.",
        || Box::new(AutoFragmented),
    ));
}
