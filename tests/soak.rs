//! Soak: churn connections and messages against the real `ws6455 serve`
//! binary for a fixed time, then check that the server gives back what the
//! churn took — file descriptors to the baseline, memory within a bound.
//!
//! Several threads each loop: connect (sometimes dropping mid-handshake),
//! exchange a few messages of random kinds and sizes (some fragmented, some
//! with pings between the fragments), then close cleanly or drop abruptly
//! (sometimes mid-frame). Every echo is checked byte for byte.
//!
//! Runs ~5 s by default; `WS6455_SOAK_SECS=60` runs longer, and
//! `WS6455_SOAK_SEED` replays a run (`benches/soak.sh` does the former).
//! The fd and RSS checks read /proc and are Linux-only.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use ws6455_test_support::handshake::*;
use ws6455_test_support::peer::{assert_serves, RawPeer};
use ws6455_test_support::server::*;
use ws6455_test_support::wire::*;
use ws6455_test_support::{eventually, MUST};

const THREADS: u64 = 4;

#[derive(Default)]
struct Stats {
    connections: AtomicU64,
    messages: AtomicU64,
    bytes: AtomicU64,
    clean_closes: AtomicU64,
    drops: AtomicU64,
}

impl Stats {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn summary(&self) -> String {
        format!(
            "{} connections, {} messages, {:.1} MiB echoed, {} clean closes, {} abrupt drops",
            self.connections.load(Ordering::Relaxed),
            self.messages.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed) as f64 / (1 << 20) as f64,
            self.clean_closes.load(Ordering::Relaxed),
            self.drops.load(Ordering::Relaxed),
        )
    }
}

/// A payload size: mostly small, sometimes around the 7/16/64-bit length
/// boundaries, sometimes larger than the server's 64 KiB fragment size.
fn random_size(rng: &mut StdRng) -> usize {
    match rng.random_range(0..100) {
        0..=59 => rng.random_range(0..=200),
        60..=84 => rng.random_range(120..=16_384),
        85..=94 => *[125, 126, 127, 65_535, 65_536, 65_537]
            .get(rng.random_range(0..6))
            .unwrap_or(&0),
        _ => rng.random_range(65_537..=140_000),
    }
}

/// Random bytes and random valid UTF-8 (with 1- to 4-byte characters),
/// made once per worker: payloads are slices of them (generating bytes one
/// by one would make the test, not the server, the bottleneck).
struct Pools {
    bytes: Vec<u8>,
    text: String,
}

impl Pools {
    const LEN: usize = 160 << 10;

    fn new(rng: &mut StdRng) -> Self {
        let mut bytes = vec![0u8; Self::LEN];
        rng.fill_bytes(&mut bytes);
        const CHARS: [&str; 6] = ["a", "Z", " ", "é", "€", "𝄞"];
        let mut text = String::with_capacity(Self::LEN + 4);
        while text.len() < Self::LEN {
            text.push_str(CHARS.get(rng.random_range(0..CHARS.len())).unwrap_or(&"a"));
        }
        Pools { bytes, text }
    }

    fn binary(&self, rng: &mut StdRng, len: usize) -> Vec<u8> {
        let start = rng.random_range(0..=Self::LEN - len);
        self.bytes[start..start + len].to_vec()
    }

    /// Valid UTF-8 of about `len` bytes (cut at character boundaries).
    fn text(&self, rng: &mut StdRng, len: usize) -> Vec<u8> {
        let mut start = rng.random_range(0..=Self::LEN - len);
        while !self.text.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = start + len;
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        self.text.as_bytes()[start..end].to_vec()
    }
}

/// Send one message (fragmented at random points, a ping between some
/// fragments) and check its echo; the pong, if any, must carry the ping's
/// payload.
fn exchange(client: &mut RawPeer, rng: &mut StdRng, pools: &Pools, stats: &Stats) {
    let opcode = if rng.random_bool(0.5) { TEXT } else { BINARY };
    let size = random_size(rng);
    let payload = if opcode == TEXT {
        pools.text(rng, size)
    } else {
        pools.binary(rng, size)
    };
    let mut ping: Option<Vec<u8>> = None;
    let mut bytes = Vec::with_capacity(payload.len() + 64);
    if payload.len() > 1 && rng.random_bool(0.3) {
        let cut = rng.random_range(1..payload.len());
        bytes.extend_from_slice(&frame_bytes(false, 0, opcode, &payload[..cut], true));
        if rng.random_bool(0.5) {
            let len = rng.random_range(0..=125);
            let p = pools.binary(rng, len);
            bytes.extend_from_slice(&frame(PING, &p));
            ping = Some(p);
        }
        bytes.extend_from_slice(&frame_bytes(true, 0, CONT, &payload[cut..], true));
    } else {
        bytes.extend_from_slice(&frame(opcode, &payload));
    }
    client.send(&bytes);

    let mut echo = Vec::with_capacity(payload.len());
    let mut first = true;
    loop {
        let f = client.frame();
        match f.opcode {
            PONG => {
                let expected = ping.take().expect("a pong without a ping");
                assert_eq!(f.payload, expected, "pong payload");
            }
            op if first => {
                assert_eq!(op, opcode, "echo opcode");
                first = false;
                echo.extend_from_slice(&f.payload);
                if f.fin {
                    break;
                }
            }
            CONT => {
                echo.extend_from_slice(&f.payload);
                if f.fin {
                    break;
                }
            }
            other => panic!("unexpected opcode {other} in an echo"),
        }
    }
    assert!(ping.is_none(), "the ping was never answered");
    assert_eq!(echo.len(), payload.len(), "echo length");
    assert!(echo == payload, "echo content differs");
    Stats::add(&stats.messages, 1);
    Stats::add(&stats.bytes, payload.len() as u64);
}

/// One connection's life, chosen at random.
fn one_connection(addr: SocketAddr, rng: &mut StdRng, pools: &Pools, stats: &Stats) {
    Stats::add(&stats.connections, 1);
    if rng.random_ratio(1, 20) {
        // Drop in the middle of the handshake.
        let mut client = RawPeer::tcp(addr);
        let head = request("/soak", "");
        client.send(&head.as_bytes()[..rng.random_range(0..head.len())]);
        Stats::add(&stats.drops, 1);
        return;
    }
    let mut client = RawPeer::connect(addr, "/");
    for _ in 0..rng.random_range(1..=6) {
        exchange(&mut client, rng, pools, stats);
    }
    match rng.random_range(0..4) {
        0 | 1 => {
            client.send(&close_frame(1000, b"soak done"));
            client.expect_close_then_eof(1000);
            Stats::add(&stats.clean_closes, 1);
        }
        2 => {
            // Abruptly, mid-frame.
            let f = frame(BINARY, &vec![3u8; random_size(rng).max(2)]);
            client.send(&f[..rng.random_range(1..f.len())]);
            Stats::add(&stats.drops, 1);
        }
        _ => Stats::add(&stats.drops, 1),
    }
}

/// `THREADS` workers churning until `until`.
fn churn(addr: SocketAddr, until: Instant, seed: u64, stats: &Arc<Stats>) {
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let stats = Arc::clone(stats);
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(31).wrapping_add(t));
                let pools = Pools::new(&mut rng);
                while Instant::now() < until {
                    one_connection(addr, &mut rng, &pools, &stats);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a soak worker failed");
    }
}

#[test]
fn soak_churn_returns_fds_and_memory() {
    let secs: f64 = std::env::var("WS6455_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let seed: u64 = std::env::var("WS6455_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    eprintln!("soak: {secs} s, seed {seed} (WS6455_SOAK_SEED={seed} replays it)");

    let mut server = ServerProcess::spawn();
    let addr = server.addr;
    assert_serves(addr);
    // The probe connection closes asynchronously (the server drains it until
    // our FIN), so the idle count is taken once it has settled.
    #[cfg(target_os = "linux")]
    let idle_fds = {
        let pid = server.pid();
        let mut last = fd_count(pid);
        for _ in 0..50 {
            std::thread::sleep(Duration::from_millis(50));
            let now = fd_count(pid);
            if now == last {
                break;
            }
            last = now;
        }
        last
    };

    // Warm up, so allocator pools and buffers reach their working size
    // before the baseline is taken.
    let warm = Arc::new(Stats::default());
    churn(addr, Instant::now() + Duration::from_secs(1), seed, &warm);
    #[cfg(target_os = "linux")]
    let (baseline_fds, baseline_rss) = {
        let pid = server.pid();
        assert!(
            eventually(2 * MUST, || fd_count(pid) <= idle_fds),
            "fds after warm-up: {} (idle {idle_fds})",
            fd_count(pid)
        );
        (fd_count(pid), rss_kib(pid))
    };

    let stats = Arc::new(Stats::default());
    let started = Instant::now();
    churn(
        addr,
        started + Duration::from_secs_f64(secs),
        seed.wrapping_add(1),
        &stats,
    );
    eprintln!(
        "soak: {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        stats.summary()
    );
    assert!(stats.messages.load(Ordering::Relaxed) > 0);
    server.assert_alive();
    assert_serves(addr);

    #[cfg(target_os = "linux")]
    {
        let pid = server.pid();
        let settled = eventually(2 * MUST, || fd_count(pid).abs_diff(baseline_fds) <= 2);
        let fds = fd_count(pid);
        let rss = rss_kib(pid);
        let peak = peak_rss_kib(pid);
        eprintln!(
            "soak: server fds baseline {baseline_fds}, after {fds}; RSS baseline {baseline_rss} KiB, after {rss} KiB ({:+} KiB), peak {peak} KiB",
            rss as i64 - baseline_rss as i64
        );
        assert!(
            settled,
            "server fds {fds} did not return to the baseline {baseline_fds}"
        );
        assert!(
            rss < baseline_rss + 16 * 1024,
            "server RSS {rss} KiB grew more than 16 MiB over {baseline_rss} KiB"
        );
    }
}
