//! Section 2, pings and pongs (RFC 6455 §5.5.2, §5.5.3): a ping is
//! answered with its payload, an unsolicited pong with nothing, a ping
//! over 125 bytes fails the connection.

use super::super::case::{ExpectedClose, Verdict};
use super::super::catalog::Entry;
use super::super::peer::Frame;
use super::{on_open, pong};

const CLEAN: &str = "Clean close with normal code.";

/// A ping with `payload` (written in `chop`-byte pieces), answered by its
/// pong; we close after `close_after` seconds.
fn ping_case(
    id: &str,
    description: &str,
    expectation: &str,
    payload: Vec<u8>,
    chop: Option<usize>,
    close_after: f64,
) -> Entry {
    on_open(id, description, expectation, move |p| {
        p.expect(Verdict::Ok, vec![pong(payload.clone())]);
        p.expect_close(ExpectedClose::normal_by_me());
        let mut frame = Frame::new(9, &payload);
        if let Some(c) = chop {
            frame = frame.chop(c);
        }
        p.send_frame(frame);
        p.close_after(close_after);
    })
}

/// Ten pings, each answered (2.10, 2.11).
fn ten_pings(id: &str, description: &str, chop: Option<usize>) -> Entry {
    let expectation = format!("Pongs for our Pings with all the payloads. Note: This is not required by the Spec .. but we check for this behaviour anyway. {CLEAN}");
    on_open(id, description, expectation, move |p| {
        let payloads: Vec<Vec<u8>> = (0..10)
            .map(|i| format!("payload-{i}").into_bytes())
            .collect();
        p.expect(Verdict::Ok, payloads.iter().cloned().map(pong).collect());
        for payload in &payloads {
            let mut frame = Frame::new(9, payload);
            if let Some(c) = chop {
                frame = frame.chop(c);
            }
            p.send_frame(frame);
        }
        p.expect_close(ExpectedClose::normal_by_me());
        p.close_after(3.0);
    })
}

/// An unsolicited pong, then our close (2.7, 2.8).
fn unsolicited(id: &str, description: &str, payload: &'static [u8]) -> Entry {
    on_open(id, description, "Nothing.", move |p| {
        p.expect(Verdict::Ok, vec![]);
        p.expect_close(ExpectedClose::normal_by_me());
        p.send_frame(Frame::new(10, payload));
        p.send_close(Some(1000), None);
        p.close_after(1.0);
    })
}

/// Add the section's cases.
pub fn register(list: &mut Vec<Entry>) {
    let echoed = format!("Pong with payload echo'ed is sent in reply to Ping. {CLEAN}");
    list.push(ping_case(
        "2.1",
        "Send ping without payload.",
        &format!("Pong (with empty payload) is sent in reply to Ping. {CLEAN}"),
        Vec::new(),
        None,
        1.0,
    ));
    list.push(ping_case(
        "2.2",
        "Send ping with small text payload.",
        &echoed,
        b"Hello, world!".to_vec(),
        None,
        1.0,
    ));
    list.push(ping_case(
        "2.3",
        "Send ping with small binary (non UTF-8) payload.",
        &echoed,
        b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff".to_vec(),
        None,
        1.0,
    ));
    list.push(ping_case(
        "2.4",
        "Send ping with binary payload of 125 octets.",
        &echoed,
        vec![0xfe; 125],
        None,
        1.0,
    ));
    list.push(on_open(
        "2.5",
        "Send ping with binary payload of 126 octets.",
        "Connection is failed immediately (1002/Protocol Error), since control frames are only allowed to have payload up to and including 125 octets..",
        |p| {
            p.expect(Verdict::Ok, vec![]);
            p.expect_close(ExpectedClose::failed_by_peer(&[1002]));
            p.send_frame(Frame::new(9, &[0xfe; 126]));
            p.kill_after(1.0);
        },
    ));
    list.push(ping_case(
        "2.6",
        "Send ping with binary payload of 125 octets, send in octet-wise chops.",
        &format!("Pong with payload echo'ed is sent in reply to Ping. Implementations must be TCP clean. {CLEAN}"),
        vec![0xfe; 125],
        Some(1),
        2.0,
    ));
    list.push(unsolicited("2.7", "Send unsolicited pong without payload. Verify nothing is received. Clean close with normal code.", b""));
    list.push(unsolicited("2.8", "Send unsolicited pong with payload. Verify nothing is received. Clean close with normal code.", b"unsolicited pong payload"));
    list.push(on_open(
        "2.9",
        "Send unsolicited pong with payload. Send ping with payload. Verify pong for ping is received.",
        format!("Nothing in reply to own Pong, but Pong with payload echo'ed in reply to Ping. {CLEAN}"),
        |p| {
            p.expect(Verdict::Ok, vec![pong(&b"ping payload"[..])]);
            p.expect_close(ExpectedClose::normal_by_me());
            p.send_frame(Frame::new(10, b"unsolicited pong payload"));
            p.send_frame(Frame::new(9, b"ping payload"));
            p.close_after(1.0);
        },
    ));
    list.push(ten_pings("2.10", "Send 10 Pings with payload.", None));
    list.push(ten_pings(
        "2.11",
        "Send 10 Pings with payload. Send out octets in octet-wise chops.",
        Some(1),
    ));
}
