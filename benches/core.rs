//! Micro-benchmarks of the Sans-I/O core: masking, frame headers, UTF-8,
//! the handshake, and a whole echo between an in-memory client and server.
//!
//! Run: `cargo bench --bench core` (add `-- mask` etc. to filter). Speed
//! goals are ratios against the baselines measured in the same run (memcpy
//! for masking, simdutf8 and std for UTF-8), never absolute numbers.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ws6455::proto::frame::{decode_header, FrameHeader, OpCode, MAX_HEADER_LEN};
use ws6455::proto::handshake::{accept_key_bytes, parse_request};
use ws6455::proto::mask::{apply_mask, apply_mask_scalar};
use ws6455::proto::utf8::{validate, Utf8Validator};
use ws6455::proto::{ClientRequest, Config, Connection, Event};

const SIZES: &[usize] = &[16, 256, 4 << 10, 64 << 10, 1 << 20, 16 << 20];

fn masking(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask");
    for &size in SIZES {
        let mut buf = vec![0x5au8; size];
        let src = vec![0xa5u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("fast", size), &size, |b, _| {
            b.iter(|| apply_mask(black_box(&mut buf), [1, 2, 3, 4], 1))
        });
        if size <= 1 << 20 {
            group.bench_with_input(BenchmarkId::new("scalar", size), &size, |b, _| {
                b.iter(|| apply_mask_scalar(black_box(&mut buf), [1, 2, 3, 4], 1))
            });
        }
        group.bench_with_input(BenchmarkId::new("memcpy", size), &size, |b, _| {
            b.iter(|| buf.copy_from_slice(black_box(&src)))
        });
    }
    group.finish();
}

fn frame_headers(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_header");
    for len in [5u64, 300, 70_000] {
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: OpCode::Binary,
            mask: Some([1, 2, 3, 4]),
            payload_len: len,
        };
        let mut bytes = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut bytes);
        group.bench_with_input(BenchmarkId::new("decode", len), &len, |b, _| {
            b.iter(|| decode_header(black_box(&bytes[..n])))
        });
        group.bench_with_input(BenchmarkId::new("encode", len), &len, |b, _| {
            let mut out = [0u8; MAX_HEADER_LEN];
            b.iter(|| black_box(&header).encode(&mut out))
        });
    }
    group.finish();
}

fn utf8(c: &mut Criterion) {
    let ascii = "The quick brown fox jumps over the lazy dog. ".repeat(1500);
    let multi = "Κόσμε, здравствуй мир, 你好世界, こんにちは, 🌍🚀 ".repeat(800);
    let mut group = c.benchmark_group("utf8");
    for (name, text) in [("ascii", &ascii), ("multilingual", &multi)] {
        let bytes = text.as_bytes();
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(BenchmarkId::new("ws6455_whole", name), |b| {
            b.iter(|| validate(black_box(bytes)).is_ok())
        });
        group.bench_function(BenchmarkId::new("ws6455_incremental_1k", name), |b| {
            b.iter(|| {
                let mut v = Utf8Validator::new();
                for chunk in black_box(bytes).chunks(1000) {
                    v.feed(chunk).ok();
                }
                v.finish().is_ok()
            })
        });
        group.bench_function(BenchmarkId::new("simdutf8", name), |b| {
            b.iter(|| simdutf8::basic::from_utf8(black_box(bytes)).is_ok())
        });
        group.bench_function(BenchmarkId::new("std", name), |b| {
            b.iter(|| std::str::from_utf8(black_box(bytes)).is_ok())
        });
    }
    group.finish();
}

const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn handshake(c: &mut Criterion) {
    let mut group = c.benchmark_group("handshake");
    group.bench_function("parse_request", |b| {
        b.iter(|| parse_request(black_box(REQUEST), 8192))
    });
    group.bench_function("accept_key", |b| {
        b.iter(|| accept_key_bytes(black_box(b"dGhlIHNhbXBsZSBub25jZQ==")))
    });
    group.bench_function("server_connection_accept", |b| {
        let config = Arc::new(Config::default());
        let now = Instant::now();
        b.iter(|| {
            let mut conn = Connection::server(config.clone(), now);
            conn.recv(REQUEST);
            let _ = conn.poll_event();
            conn.accept(None, &[]).ok();
            black_box(conn.pending_output().len())
        })
    });
    group.finish();
}

/// Move `from`'s output into `to`.
fn pump(from: &mut Connection, to: &mut Connection) {
    loop {
        let n = {
            let out = from.pending_output();
            if out.is_empty() {
                return;
            }
            to.recv(out);
            out.len()
        };
        from.consume_output(n);
    }
}

fn echo_pair(config: Config) -> (Connection, Connection) {
    let config = Arc::new(config);
    let now = Instant::now();
    let mut client = Connection::client(
        config.clone(),
        ClientRequest::new("bench", "/"),
        [9; 32],
        now,
    );
    let mut server = Connection::server(config, now);
    pump(&mut client, &mut server);
    while let Some(ev) = server.poll_event() {
        if matches!(ev, Event::Request(_)) {
            break;
        }
    }
    server.accept(None, &[]).ok();
    pump(&mut server, &mut client);
    while client.poll_event().is_some() {}
    (client, server)
}

/// One message client → server, echoed, back at the client: both cores'
/// full work (mask, unmask, validate, frame, reassemble), no sockets.
fn core_echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("core_echo");
    for size in [20usize, 1 << 10, 64 << 10, 16 << 20] {
        let config = Config {
            max_output_buffer: 64 << 20,
            ..Config::default()
        };
        let (mut client, mut server) = echo_pair(config);
        let message = "x".repeat(size);
        group.throughput(Throughput::Elements(1));
        if size >= 1 << 20 {
            group.sample_size(10);
        }
        group.bench_with_input(BenchmarkId::new("text", size), &size, |b, _| {
            b.iter(|| {
                client.send_text(&message).ok();
                pump(&mut client, &mut server);
                while let Some((event, mut sender)) = server.poll_event_with_sender() {
                    if let Event::Text(t) = event {
                        sender.send_text(t).ok();
                    }
                }
                pump(&mut server, &mut client);
                let mut got = 0;
                while let Some(event) = client.poll_event() {
                    if let Event::Text(t) = event {
                        got += t.len();
                    }
                }
                assert_eq!(got, size);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, masking, frame_headers, utf8, handshake, core_echo);
criterion_main!(benches);
