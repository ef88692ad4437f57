//! Frame tracing in the core (`Connection::set_trace` / `poll_trace`): off
//! by default, every frame in and out once, in order, with unmasked
//! previews, bounded memory when nobody polls.

use std::sync::Arc;
use ws6455::Timestamp;
use ws6455_describe::TraceLine;
use ws6455_test_support::core::take_output;

use ws6455::proto::connection::{Direction, FrameTrace, PREVIEW_LEN};
use ws6455::proto::{ClientRequest, CloseCode, Config, Connection, Event};

/// Deliver `from`'s output to `to` and poll every event `to` produces.
fn pump(from: &mut Connection, to: &mut Connection) -> usize {
    let bytes = take_output(from);
    to.recv(&bytes);
    let mut events = 0;
    while to.poll_event().is_some() {
        events += 1;
    }
    events
}

fn pair(config: Config) -> (Connection, Connection) {
    let config = Arc::new(config);
    let now = Timestamp::ZERO;
    let request = ClientRequest::new("example.com", "/chat");
    let mut client = Connection::client(config.clone(), request, [7; 32], now);
    let mut server = Connection::server(config, now);
    server.recv(&take_output(&mut client));
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(now, None, &[]).unwrap();
    pump(&mut server, &mut client);
    assert!(client.is_open() && server.is_open());
    (client, server)
}

fn traces(conn: &mut Connection) -> Vec<FrameTrace> {
    std::iter::from_fn(|| conn.poll_trace()).collect()
}

/// (direction, opcode, fin, masked, len, preview) of each record.
fn summary(traces: &[FrameTrace]) -> Vec<(Direction, u8, bool, bool, u64, Vec<u8>)> {
    traces
        .iter()
        .map(|t| {
            (
                t.direction,
                t.opcode,
                t.fin,
                t.masked,
                t.len,
                t.preview().to_vec(),
            )
        })
        .collect()
}

#[test]
fn tracing_is_off_by_default() {
    let (mut client, mut server) = pair(Config::default());
    client.send_text("Hello").unwrap();
    pump(&mut client, &mut server);
    assert_eq!(client.poll_trace(), None);
    assert_eq!(server.poll_trace(), None);
}

#[test]
fn every_frame_in_and_out_in_order() {
    use Direction::{Received, Sent};
    let (mut client, mut server) = pair({
        let mut config = Config::default();
        config.fragment_size = 4;
        config
    });
    client.set_trace(true);
    server.set_trace(true);

    client.send_text("Hello").unwrap(); // two frames: "Hell", "o"
    client.send_ping(b"hb").unwrap();
    pump(&mut client, &mut server);
    pump(&mut server, &mut client); // the automatic pong
    client
        .close(Timestamp::ZERO, CloseCode::NORMAL, "bye")
        .unwrap();
    pump(&mut client, &mut server);
    pump(&mut server, &mut client);

    let client_side = traces(&mut client);
    let server_side = traces(&mut server);
    // The ping was queued after the message, so it is traced after it,
    // though on the wire it may go first.
    assert_eq!(
        summary(&client_side),
        vec![
            (Sent, 0x1, false, true, 4, b"Hell".to_vec()),
            (Sent, 0x0, true, true, 1, b"o".to_vec()),
            (Sent, 0x9, true, true, 2, b"hb".to_vec()),
            (Received, 0xA, true, false, 2, b"hb".to_vec()),
            (Sent, 0x8, true, true, 5, b"\x03\xe8bye".to_vec()),
            (Received, 0x8, true, false, 2, b"\x03\xe8".to_vec()),
        ]
    );
    // The ping overtook the data frames on the wire (§5.4), so the server
    // saw it first and answered it at once.
    let lines: Vec<String> = server_side
        .iter()
        .map(|t| TraceLine(t).to_string())
        .collect();
    assert_eq!(
        lines,
        [
            "← ping len=2 \"hb\"",
            "→ pong len=2 \"hb\"",
            "← text len=4 \"Hell\"",
            "← continuation fin len=1 \"o\"",
            "← close 1000 (normal closure) \"bye\"",
            "→ close 1000 (normal closure)",
        ]
    );
    // Received frames were masked; their previews are unmasked, streamed
    // fragments included.
    assert!(server_side
        .iter()
        .all(|t| t.masked == (t.direction == Received)));
}

#[test]
fn previews_are_bounded_and_raw_frames_are_traced() {
    let (mut client, mut server) = pair(Config::default());
    server.set_trace(true);
    let big = vec![b'x'; 1000];
    server.send_binary(&big).unwrap();
    server.send_raw_frame(true, 0b100, 0x3, b"odd").unwrap();
    let t = traces(&mut server);
    assert_eq!(t.len(), 2);
    assert_eq!((t[0].len, t[0].preview().len()), (1000, PREVIEW_LEN));
    assert_eq!(
        (t[1].opcode, t[1].rsv, t[1].preview()),
        (0x3, 0b100, &b"odd"[..])
    );
    assert_eq!(
        TraceLine(&t[1]).to_string(),
        "→ opcode 0x3 (reserved) fin rsv=100 len=3 \"odd\""
    );
    // The receiver fails on the reserved opcode before tracing the frame:
    // the failure is reported by Event::Failed instead.
    client.set_trace(true);
    pump(&mut server, &mut client);
    let received = traces(&mut client);
    assert_eq!(received.len(), 2, "{received:?}");
    assert_eq!(received[0].direction, Direction::Received);
    assert_eq!(received[1].opcode, 0x8, "the client's close after failing");
}

#[test]
fn unpolled_records_are_counted_not_kept() {
    let (_client, mut server) = pair(Config::default());
    server.set_trace(true);
    for _ in 0..1000 {
        server.send_text("x").unwrap();
    }
    let t = traces(&mut server);
    assert!(t.len() < 1000 && !t.is_empty());
    assert!(t.iter().all(|t| t.lost == 0));
    server.send_text("after").unwrap();
    let after = traces(&mut server);
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].lost, 1000 - t.len() as u64);
    // Switching off drops what is queued.
    server.send_text("y").unwrap();
    server.set_trace(false);
    assert_eq!(server.poll_trace(), None);
}
