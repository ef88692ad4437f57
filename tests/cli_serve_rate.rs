//! `ws6455 serve --rate-limit 20/1`: a chat member flooding 100,000
//! messages is closed with 1008 and the reason the page shows, the other
//! member of its room receives no more of its messages than the limit
//! allows, the server's memory does not grow with the flood, and the
//! shutdown summary counts it (`rate limited: N`).
#![cfg(target_os = "linux")]

use std::io::Write;
use std::thread;
use std::time::Instant;

use ws6455_test_support::interop::serve_with;
use ws6455_test_support::peer::RawPeer;
use ws6455_test_support::server::rss_kib;
use ws6455_test_support::wire::{self, CLOSE, MASK, TEXT};

/// `--rate-limit 20/1`.
const BURST: u64 = 20;
/// What the flood may add to serve's RSS: the flooder's bytes wait in
/// the kernel, not in serve, which holds at most a read buffer of them.
const ALLOWED_GROWTH_KIB: u64 = 4 << 10;

/// The next data frame's text, skipping nothing else: a close ends it.
fn next_text(peer: &mut RawPeer) -> Result<String, (u16, String)> {
    let frame = peer.frame();
    match frame.opcode {
        TEXT => Ok(String::from_utf8(frame.payload).expect("UTF-8")),
        CLOSE => Err(frame.close_parts().unwrap_or_default()),
        other => panic!("unexpected opcode {other:#x}"),
    }
}

/// Read `peer`'s messages until one contains `marker`.
fn read_until(peer: &mut RawPeer, marker: &str) {
    loop {
        let text = next_text(peer).expect("a message, not a close");
        if text.contains(marker) {
            return;
        }
    }
}

#[test]
fn a_chat_flood_is_closed_with_1008_and_the_room_sees_at_most_the_limit() {
    let mut serve = serve_with("127.0.0.1:0", &["--rate-limit", "20/1"]);
    let addr = serve.addr;
    let pid = serve.proc.pid();

    let mut bob = RawPeer::connect(addr, "/chat");
    bob.send_text(r#"{"type":"join","room":"flood","nick":"bob"}"#);
    read_until(&mut bob, r#""type":"presence""#);
    let mut ann = RawPeer::connect(addr, "/chat");
    ann.send_text(r#"{"type":"join","room":"flood","nick":"ann"}"#);
    read_until(&mut ann, r#""type":"presence""#);
    read_until(&mut bob, r#""users":["ann","bob"]"#);
    let baseline = rss_kib(pid);

    // The join was one of ann's messages; the flood is the rest.
    let started = Instant::now();
    let flood: Vec<u8> = (0..100_000)
        .flat_map(|i| {
            let say = format!(r#"{{"type":"say","text":"flood {i}"}}"#);
            wire::encode(true, 0, TEXT, say.as_bytes(), Some(MASK))
        })
        .collect();
    let mut writer = ann.stream.try_clone().expect("clone the socket");
    let writer = thread::spawn(move || {
        // The server closes the connection halfway through.
        let _ = writer.write_all(&flood);
    });
    let (code, reason) = loop {
        if let Err(close) = next_text(&mut ann) {
            break close;
        }
    };
    assert_eq!(code, 1008, "policy violation");
    assert_eq!(reason, "message rate limit exceeded");

    // Bob sees ann's messages, then ann leave; count what got through.
    let mut from_ann = 0u64;
    loop {
        let text = next_text(&mut bob).expect("a message, not a close");
        if text.contains(r#""type":"left""#) && text.contains(r#""nick":"ann""#) {
            assert!(
                text.contains(r#""reason":"rate limited""#),
                "the room hears why ann left: {text}"
            );
            break;
        }
        if text.contains(r#""type":"message""#) && text.contains(r#""from":"ann""#) {
            from_ann += 1;
        }
    }
    let elapsed = started.elapsed();
    // The burst (less the join), and what refilled while the flood ran:
    // 20 a second, rounded up.
    let refill = (elapsed.as_secs_f64() * BURST as f64).ceil() as u64;
    assert!(from_ann >= 1, "some of ann's messages reach the room");
    assert!(
        from_ann < BURST + refill,
        "bob got {from_ann} of ann's messages in {elapsed:?} under 20/1"
    );
    writer.join().expect("writer thread");
    let after = rss_kib(pid);
    eprintln!("from ann {from_ann} in {elapsed:?}; RSS {baseline} -> {after} KiB");
    assert!(
        after <= baseline + ALLOWED_GROWTH_KIB,
        "serve grew from {baseline} KiB to {after} KiB with the flood"
    );

    // Bob is still served.
    bob.send_text(r#"{"type":"say","text":"still here"}"#);
    read_until(&mut bob, "still here");

    serve.proc.terminate();
    assert!(serve.proc.wait_exit().success(), "serve stopped cleanly");
    let log = serve.proc.stderr();
    let counted: u64 = log
        .lines()
        .find_map(|l| l.split("rate limited: ").nth(1))
        .unwrap_or_else(|| panic!("no 'rate limited: N' on shutdown: {log}"))
        .trim()
        .parse()
        .expect("a count");
    assert!(counted >= 1, "{log}");
    assert!(
        log.contains("closed 1008: message rate limit exceeded"),
        "{log}"
    );
}

#[test]
fn serve_without_rate_limit_limits_nothing() {
    let mut serve = serve_with("127.0.0.1:0", &[]);
    let mut peer = RawPeer::connect(serve.addr, "/echo");
    let burst: Vec<u8> = (0..500)
        .flat_map(|i: u32| wire::encode(true, 0, TEXT, i.to_string().as_bytes(), Some(MASK)))
        .collect();
    peer.send(&burst);
    for i in 0..500u32 {
        assert_eq!(next_text(&mut peer), Ok(i.to_string()));
    }
    serve.proc.terminate();
    assert!(serve.proc.wait_exit().success());
    assert!(serve.proc.stderr().contains("rate limited: 0\n"));
}

#[test]
fn a_bad_rate_limit_is_one_line_and_exit_2() {
    let mut serve = ws6455_test_support::interop::Proc::spawn("ws6455 serve", {
        let mut command = std::process::Command::new(ws6455_test_support::bin::ws6455_bin());
        command.args(["serve", "--listen", "127.0.0.1:0", "--rate-limit", "20/0"]);
        command
    });
    let status = serve.wait_exit();
    assert_eq!(status.code(), Some(2), "{}", serve.stderr());
    assert!(
        serve.stderr().contains("--rate-limit \"20/0\""),
        "{}",
        serve.stderr()
    );
}
