//! Micro-benchmarks of the Sans-I/O core: masking, frame headers, UTF-8,
//! the handshake, a whole echo between an in-memory client and server, and
//! permessage-deflate compression of JSON text.
//!
//! Run: `cargo bench --bench core` (add `-- mask` etc. to filter). Speed
//! goals are ratios against the baselines measured in the same run (memcpy
//! for masking, simdutf8 and std for UTF-8), never absolute numbers.

use std::hint::black_box;
use std::sync::Arc;
use ws6455::Timestamp;

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
        let now = Timestamp::ZERO;
        b.iter(|| {
            let mut conn = Connection::server(config.clone(), now);
            conn.recv(REQUEST);
            let _ = conn.poll_event();
            conn.accept(now, None, &[]).ok();
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
    let now = Timestamp::ZERO;
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
    server.accept(now, None, &[]).ok();
    pump(&mut server, &mut client);
    while client.poll_event().is_some() {}
    (client, server)
}

/// One message client → server, echoed, back at the client: both cores'
/// full work (mask, unmask, validate, frame, reassemble), no sockets.
fn core_echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("core_echo");
    for size in [20usize, 1 << 10, 64 << 10, 16 << 20] {
        let config = {
            let mut config = Config::default();
            config.max_output_buffer = 64 << 20;
            config
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

#[cfg(feature = "deflate")]
/// JSON text like Autobahn 12.1's "large JSON data file": records whose
/// keys repeat and whose values vary, `len` bytes of it.
fn json_text(len: usize) -> String {
    let mut out = String::from("[");
    let mut i = 0u64;
    while out.len() < len {
        let x = i.wrapping_mul(2_654_435_761) % 100_000;
        out.push_str(&format!(
            "{{\"id\": {i}, \"guid\": \"{x:08x}-{:04x}\", \"isActive\": {}, \"balance\": \"${}.{:02}\", \
             \"name\": \"user{}\", \"tags\": [\"lorem\", \"ipsum\", \"t{}\"], \"latitude\": {}.{}}},\n",
            x % 4096,
            x % 2 == 0,
            x % 4000,
            x % 100,
            x % 977,
            x % 31,
            x % 90,
            x % 1_000_000
        ));
        i += 1;
    }
    out.truncate(len);
    out
}

/// RFC 7692 permessage-deflate: compressing and inflating one message of
/// JSON text (bytes of uncompressed message per second) at zlib levels 1
/// and 6 (the default). `fresh`: each message on a reset context (no
/// context takeover; the reset is part of the cost). `takeover`: one
/// context across messages, each message a different stretch of the text.
#[cfg(feature = "deflate")]
fn deflate(c: &mut Criterion) {
    use ws6455::proto::deflate::{Compressor, Decompressor, InflateSink};
    let mut group = c.benchmark_group("deflate");
    let corpus = json_text(4 << 20);
    for size in [256usize, 4 << 10, 128 << 10] {
        let text = json_text(size);
        group.throughput(Throughput::Bytes(size as u64));
        for level in [1u32, 6] {
            let mut z = Compressor::new(level, 15);
            let mut out = Vec::with_capacity(size);
            group.bench_with_input(
                BenchmarkId::new(format!("compress_l{level}_fresh"), size),
                &size,
                |b, _| {
                    b.iter(|| {
                        out.clear();
                        z.compress(black_box(text.as_bytes()), &mut out);
                        z.reset();
                    })
                },
            );
            let mut z = Compressor::new(level, 15);
            let mut at = 0;
            group.bench_with_input(
                BenchmarkId::new(format!("compress_l{level}_takeover"), size),
                &size,
                |b, _| {
                    b.iter(|| {
                        if at + size > corpus.len() {
                            at = 0;
                        }
                        out.clear();
                        z.compress(black_box(&corpus.as_bytes()[at..at + size]), &mut out);
                        at += size;
                    })
                },
            );
        }
        let mut compressed = Vec::new();
        Compressor::new(6, 15).compress(text.as_bytes(), &mut compressed);
        let mut d = Decompressor::new(15);
        group.bench_with_input(BenchmarkId::new("inflate", size), &size, |b, _| {
            b.iter(|| {
                let mut produced = 0;
                let mut sink = InflateSink {
                    produced: &mut produced,
                    limit: u64::MAX,
                    push: |piece: &[u8]| {
                        black_box(piece);
                        Ok(())
                    },
                };
                d.inflate(black_box(&compressed), &mut sink).ok();
                d.finish(&mut sink).ok();
                d.reset();
                assert_eq!(produced, size as u64);
            })
        });
    }
    group.finish();
}

#[cfg(not(feature = "deflate"))]
fn deflate(_: &mut Criterion) {}

criterion_group!(
    benches,
    masking,
    frame_headers,
    utf8,
    handshake,
    core_echo,
    deflate
);
criterion_main!(benches);
