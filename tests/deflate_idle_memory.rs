//! What an idle compressing connection keeps, by memory preset
//! (`DeflateConfig::preset`), counted by a global allocator on the event
//! loop's thread only: with context takeover both ways and a compressed
//! message each way, `Full` keeps its compressor and decompressor, while
//! the other presets keep only their windows (RFC 7692 §7.1.1) and hand
//! the codecs back to the loop, and still read and write the same stream.
//! Measured once the loop has gone quiet and trimmed its pool of codecs.
#![cfg(feature = "deflate")]

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use ws6455::proto::deflate::{DeflateConfig, DeflateMemory};
use ws6455::proto::{ClientRequest, CloseCode, Config};
use ws6455::{Incoming, RunningServer, Server, WebSocket};
use ws6455_test_support::counting::{count_this_thread, settled, ThreadLive};
use ws6455_test_support::server::Echo;
use ws6455_test_support::MUST;

#[global_allocator]
static GLOBAL: ThreadLive = ThreadLive;

/// Idle connections per preset.
const IDLE: usize = 20;

/// A compressing echo server on one event loop, whose thread is counted.
fn counted_server(memory: DeflateMemory) -> RunningServer {
    let mut config = Config::default();
    config.deflate = Some(DeflateConfig::preset(memory));
    Server::new()
        .config(config)
        .bind("127.0.0.1:0")
        .expect("bind")
        .spawn(|| {
            count_this_thread();
            Echo
        })
}

/// Chat-like JSON that repeats itself, so that each message refers back
/// into the window.
fn chat(i: usize) -> String {
    format!(
        "{{\"type\":\"message\",\"room\":\"lobby\",\"user\":\"user-{i}\",\"text\":\"{}\"}}",
        "hello everyone, how is the game going? ".repeat(20)
    )
}

/// A client with the same preset (so that it offers the smaller windows)
/// that has echoed two compressed messages.
fn echoed(addr: SocketAddr, memory: DeflateMemory, i: usize) -> WebSocket<TcpStream> {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(MUST)).expect("timeout");
    let mut config = Config::default();
    config.deflate = Some(DeflateConfig::preset(memory));
    let (mut ws, _) = WebSocket::client(stream, ClientRequest::new(addr.to_string(), "/"), config)
        .expect("handshake");
    for round in 0..2 {
        let text = chat(i + round);
        ws.send_text(&text).expect("send");
        assert_eq!(ws.read().expect("echo"), Incoming::Text(text));
    }
    ws
}

fn close(mut ws: WebSocket<TcpStream>) {
    ws.close(CloseCode::NORMAL, "").expect("close");
    match ws.read() {
        Ok(Incoming::Close(..)) => {}
        other => panic!("expected the close echo, got {other:?}"),
    }
}

/// The live heap once the loop has gone quiet: it trims its pool (spare
/// buffers and codecs, down to 4 of each) after lending nothing for a
/// whole second, checked once a second.
fn quiet() -> isize {
    std::thread::sleep(Duration::from_millis(2500));
    settled(MUST)
}

/// Live heap bytes per idle connection of the loop serving `memory`.
fn per_idle_connection(memory: DeflateMemory) -> isize {
    let server = counted_server(memory);
    let addr = server.local_addr();
    // The loop's own buffers and its idle pool (4 spare codecs of each
    // kind) exist from then on.
    let warm: Vec<_> = (0..6).map(|i| echoed(addr, memory, 1000 + i)).collect();
    warm.into_iter().for_each(close);
    let baseline = quiet();
    let idle: Vec<_> = (0..IDLE).map(|i| echoed(addr, memory, i)).collect();
    let held = quiet();
    // And they keep talking after going quiet: the windows resume.
    let idle: Vec<_> = idle
        .into_iter()
        .enumerate()
        .map(|(i, mut ws)| {
            let text = chat(i);
            ws.send_text(&text).expect("send");
            assert_eq!(ws.read().expect("echo"), Incoming::Text(text));
            ws
        })
        .collect();
    idle.into_iter().for_each(close);
    drop(server);
    (held - baseline) / IDLE as isize
}

#[test]
fn idle_compressing_connections_keep_what_their_memory_preset_says() {
    let full = per_idle_connection(DeflateMemory::Full);
    let windows = per_idle_connection(DeflateMemory::Windows);
    let small = per_idle_connection(DeflateMemory::Small);
    let tiny = per_idle_connection(DeflateMemory::Tiny);
    eprintln!("live heap per idle connection: full {full} B, windows {windows} B, small {small} B, tiny {tiny} B");
    // The codecs themselves: hundreds of kilobytes.
    assert!(full > 200_000, "full: {full} B");
    // Two 32 KiB windows and the connection.
    assert!(windows <= 72 << 10, "windows: {windows} B");
    // Two 4 KiB windows and the connection.
    assert!(small <= 12 << 10, "small: {small} B");
    // Two 512-byte windows and the connection.
    assert!(tiny <= 4 << 10, "tiny: {tiny} B");
}
