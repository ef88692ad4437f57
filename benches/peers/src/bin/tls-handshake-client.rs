//! TLS handshakes in a loop (benches/tls.sh): each of K threads repeats
//! new TCP connection → full TLS 1.3 handshake (no resumption) → opening
//! handshake (101 checked) → masked Close → the server's Close → the
//! server ending the connection, and counts the cycles completed within
//! the measured window. With `--server-pid`, the server's CPU time over
//! the window too, for cycles per server CPU-second. One JSON line.
//!
//!   tls-handshake-client --url wss://127.0.0.1:9443/ --ca cert.pem \
//!       --warmup 2 --seconds 5 --concurrency 4 [--server-pid PID] [--groups X25519]
//!
//! `--groups`: the key exchange groups offered (rustls names, commas);
//! by default aws-lc-rs's list, X25519MLKEM768 first (as ws6455's client
//! and browsers), which a server without ML-KEM answers with X25519.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ws6455_peers::tls;

const USAGE: &str =
    "tls-handshake-client --url wss://HOST:PORT/ --ca cert.pem [--warmup S] [--seconds S] [--concurrency K] [--server-pid PID] [--groups G,…]";

#[derive(Default)]
struct Counts {
    cycles: AtomicU64,
    errors: AtomicU64,
    /// Cycles where the server sent its Close but did not end the
    /// connection within the timeout (the client then closed it).
    lingering: AtomicU64,
}

fn main() {
    let arg = |name: &str, default: &str| ws6455_peers::arg(name).unwrap_or_else(|| default.to_string());
    let url = tls::WssUrl::parse(&ws6455_peers::required_arg("--url", USAGE)).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let groups = ws6455_peers::arg("--groups");
    let config = tls::client_config(&ws6455_peers::required_arg("--ca", USAGE), groups.as_deref());
    let warmup: f64 = arg("--warmup", "1").parse().expect("--warmup: seconds");
    let seconds: f64 = arg("--seconds", "5").parse().expect("--seconds: seconds");
    let concurrency: usize = arg("--concurrency", "4").parse().expect("--concurrency: a number");
    let server_pid: Option<u32> = ws6455_peers::arg("--server-pid").map(|p| p.parse().expect("--server-pid: a pid"));

    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    // What the server agreed to, from the first completed handshake.
    let negotiated: Arc<Mutex<Option<(String, String, String)>>> = Arc::default();
    let first_error: Arc<Mutex<Option<String>>> = Arc::default();
    let threads: Vec<_> = (0..concurrency)
        .map(|_| {
            let (url, config, stop, counts) = (url.clone(), config.clone(), stop.clone(), counts.clone());
            let (negotiated, first_error) = (negotiated.clone(), first_error.clone());
            std::thread::spawn(move || {
                while !stop.load(Relaxed) {
                    let cycle = tls::connect(&url, &config, Duration::from_secs(5)).and_then(|(mut s, rest)| {
                        let mut n = negotiated.lock().unwrap();
                        if n.is_none() {
                            *n = Some((
                                format!("{:?}", s.conn.protocol_version().unwrap()),
                                format!("{:?}", s.conn.negotiated_cipher_suite().unwrap().suite()),
                                format!("{:?}", s.conn.negotiated_key_exchange_group().unwrap().name()),
                            ));
                        }
                        drop(n);
                        tls::close(&mut s, rest)
                    });
                    match cycle {
                        Ok(ended) => {
                            counts.cycles.fetch_add(1, Relaxed);
                            if !ended {
                                counts.lingering.fetch_add(1, Relaxed);
                            }
                        }
                        Err(e) => {
                            counts.errors.fetch_add(1, Relaxed);
                            first_error.lock().unwrap().get_or_insert_with(|| e.to_string());
                            std::thread::sleep(Duration::from_millis(10));
                        }
                    }
                }
            })
        })
        .collect();

    std::thread::sleep(Duration::from_secs_f64(warmup));
    let snapshot = || {
        (
            Instant::now(),
            counts.cycles.load(Relaxed),
            counts.errors.load(Relaxed),
            counts.lingering.load(Relaxed),
            server_pid.and_then(tls::cpu_seconds),
            tls::own_cpu_seconds(),
        )
    };
    let (t0, c0, e0, l0, s0, o0) = snapshot();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    let (t1, c1, e1, l1, s1, o1) = snapshot();
    stop.store(true, Relaxed);
    for t in threads {
        let _ = t.join();
    }

    let duration = (t1 - t0).as_secs_f64();
    let cycles = c1 - c0;
    let server_cpu = match (s0, s1) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let num = |v: Option<f64>| v.map_or("null".to_string(), |v| format!("{v:.3}"));
    let quoted = |v: Option<String>| v.map_or("null".to_string(), |v| format!("{v:?}"));
    let (version, suite, group) = match negotiated.lock().unwrap().clone() {
        Some((v, s, g)) => (Some(v), Some(s), Some(g)),
        None => (None, None, None),
    };
    println!(
        "{{\"url\":\"wss://{}{}\",\"concurrency\":{concurrency},\"warmup_s\":{warmup},\"duration_s\":{duration:.3},\
\"handshakes\":{cycles},\"per_second\":{:.1},\"server_cpu_s\":{},\"per_server_cpu_s\":{},\"client_cpu_s\":{:.3},\
\"errors\":{},\"lingering\":{},\"first_error\":{},\"protocol\":{},\"cipher_suite\":{},\"kx_group\":{}}}",
        url.socket_addr(),
        url.path,
        cycles as f64 / duration,
        num(server_cpu),
        num(server_cpu.filter(|&c| c > 0.0).map(|c| cycles as f64 / c)),
        o1 - o0,
        e1 - e0,
        l1 - l0,
        quoted(first_error.lock().unwrap().clone()),
        quoted(version),
        quoted(suite),
        quoted(group),
    );
    if cycles == 0 {
        std::process::exit(1);
    }
}
