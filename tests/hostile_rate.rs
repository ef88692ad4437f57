//! A peer that floods messages against a server with a rate limit
//! (`Config::rate_limit`, RFC 6455 §10.4): in close mode it is closed with
//! 1008 after its burst, counted in `Refusals::rate_limited`, and the other
//! connections go on; in pause mode it is read no faster than its rate and
//! stays open.

use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use ws6455::proto::RateLimit;
use ws6455::Config;
use ws6455_test_support::peer::RawPeer;
use ws6455_test_support::server::echo_server;
use ws6455_test_support::wire::{self, CLOSE, MASK, TEXT};
use ws6455_test_support::MUST;

const BURST: u32 = 20;

fn limited(limit: RateLimit) -> Config {
    let mut config = Config::default();
    config.rate_limit = Some(limit);
    config
}

/// `n` masked text frames, "0", "1", … as one write.
fn flood(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| wire::encode(true, 0, TEXT, i.to_string().as_bytes(), Some(MASK)))
        .collect()
}

/// Write `bytes` from another thread, ignoring the end of the connection
/// (the server closes it halfway through a flood).
fn write_in_background(stream: &TcpStream, bytes: Vec<u8>) -> thread::JoinHandle<()> {
    let mut stream = stream.try_clone().expect("clone the socket");
    thread::spawn(move || {
        let _ = stream.write_all(&bytes);
    })
}

/// The most messages a limit of `BURST` per second (plus `extra` for
/// pause mode's message in debt) lets through in `elapsed`.
fn allowed(elapsed: Duration, extra: u32) -> u64 {
    let refill = (elapsed.as_secs_f64() * f64::from(BURST)).ceil() as u64;
    u64::from(BURST + extra) + refill
}

#[test]
fn a_flood_is_closed_with_1008_and_the_others_go_on() {
    let server = echo_server(limited(RateLimit::messages(BURST, Duration::from_secs(1))));
    let addr = server.local_addr();
    let mut bystander = RawPeer::connect(addr, "/");
    let mut flooder = RawPeer::connect(addr, "/");

    let started = Instant::now();
    let writer = write_in_background(&flooder.stream, flood(100_000));
    let mut echoed = 0u64;
    let reason = loop {
        let frame = flooder.frame();
        match frame.opcode {
            TEXT => {
                assert_eq!(frame.payload, echoed.to_string().as_bytes(), "in order");
                echoed += 1;
            }
            CLOSE => {
                let (code, reason) = frame.close_parts().expect("a close code");
                assert_eq!(code, 1008, "policy violation (reason {reason:?})");
                break reason;
            }
            other => panic!("unexpected opcode {other:#x}"),
        }
    };
    let elapsed = started.elapsed();
    assert_eq!(reason, "message rate limit exceeded");
    assert!(
        echoed >= u64::from(BURST),
        "the burst goes through: {echoed}"
    );
    assert!(
        echoed <= allowed(elapsed, 0),
        "{echoed} messages echoed in {elapsed:?} under {BURST}/s"
    );
    writer.join().expect("writer thread");
    assert!(server.handle().refusals().rate_limited >= 1);

    // The other connection has its own allowance and keeps being served.
    for i in 0..5 {
        let text = format!("still here {i}");
        bystander.send_text(&text);
        let (opcode, payload, _) = bystander.message();
        assert_eq!((opcode, payload), (TEXT, text.into_bytes()));
    }
}

#[test]
fn a_flood_in_pause_mode_is_read_at_the_rate_and_stays_open() {
    let server = echo_server(limited(
        RateLimit::messages(BURST, Duration::from_secs(1)).pause(),
    ));
    let addr = server.local_addr();
    let mut flooder = RawPeer::connect(addr, "/");

    // The burst and then some, all at once: the server's pace alone
    // decides what comes back. Every message is echoed (a few pauses come
    // and go: the connection resumes) and then our close is read.
    let want = u64::from(BURST) + 15;
    let started = Instant::now();
    let writer = write_in_background(&flooder.stream, flood(want as usize));
    let mut echoed = 0u64;
    while echoed < want {
        let frame = flooder
            .try_frame(MUST)
            .unwrap_or_else(|end| panic!("after {echoed} echoes: {end:?}"));
        assert_eq!(frame.opcode, TEXT, "no close in pause mode: {frame:?}");
        assert_eq!(frame.payload, echoed.to_string().as_bytes(), "in order");
        echoed += 1;
        let elapsed = started.elapsed();
        assert!(
            echoed <= allowed(elapsed, 1),
            "{echoed} messages echoed in {elapsed:?} under {BURST}/s"
        );
    }
    writer.join().expect("writer thread");
    assert!(server.handle().refusals().rate_limited >= 1);
    // Still open: a close from us is answered.
    flooder.send_close(1000, "");
    loop {
        let frame = flooder.frame();
        if frame.opcode == CLOSE {
            assert_eq!(frame.close_code(), Some(1000));
            break;
        }
    }
}

/// The blocking adapter waits out a pause instead of reading on (or
/// spinning), resumes by itself, and a read timeout of the user's still
/// ends a read that a long pause holds up.
#[test]
fn the_blocking_adapter_waits_out_a_pause() {
    use std::net::TcpListener;
    use ws6455::blocking::{Error, Incoming, WebSocket};

    fn read_text(ws: &mut WebSocket<TcpStream>) -> String {
        match ws.read().expect("a message") {
            Incoming::Text(t) => t,
            other => panic!("unexpected {other:?}"),
        }
    }

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = thread::spawn(move || {
        // Two at once, a third in debt, then one every 100 ms.
        let (stream, _) = listener.accept().expect("accept");
        let config = limited(RateLimit::messages(2, Duration::from_millis(200)).pause());
        let (mut ws, _) = WebSocket::accept(stream, config).expect("handshake");
        let started = Instant::now();
        for i in 0..6 {
            assert_eq!(read_text(&mut ws), i.to_string());
        }
        let paced = started.elapsed();

        // One a minute: the second message starts a minute's pause, and
        // the user's read timeout ends the read that waits for the third.
        let (stream, _) = listener.accept().expect("accept");
        let config = limited(RateLimit::messages(1, Duration::from_secs(60)).pause());
        let (mut ws, _) = WebSocket::accept(stream, config).expect("handshake");
        assert_eq!(read_text(&mut ws), "0");
        assert_eq!(read_text(&mut ws), "1");
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(150)))
            .expect("timeout");
        let waited = Instant::now();
        let third = ws.read();
        (
            paced,
            waited.elapsed(),
            third.err().map(|e| matches!(e, Error::Io(_))),
        )
    });
    let mut paced_client = RawPeer::connect(addr, "/");
    paced_client.send(&flood(6));
    let mut paused_client = RawPeer::connect(addr, "/");
    paused_client.send(&flood(3));
    let (paced, waited, third) = server.join().expect("server thread");
    // Messages 3 to 6 came after 0, 100, 200 and 300 ms of refill.
    assert!(
        paced >= Duration::from_millis(250),
        "not throttled: {paced:?}"
    );
    // The third message is in the socket, but the pause holds it; the
    // read gives up at the user's timeout instead of hanging or reading.
    assert_eq!(third, Some(true), "the read ends with an I/O timeout");
    assert!(waited < MUST, "the read waited {waited:?}");
}
