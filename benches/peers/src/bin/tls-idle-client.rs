//! N idle wss:// connections, for RSS per idle TLS connection
//! (benches/tls.sh): opens them one after another (TCP, a full TLS 1.3
//! handshake, the opening handshake, 101 checked), prints `READY N` on
//! stdout when all are open, and holds them, sending nothing, until its
//! standard input closes or it is killed.
//!
//!   tls-idle-client --url wss://127.0.0.1:9443/ --ca cert.pem --count 2000
//!
//! Exit status 1 (and no READY) if any connection fails.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use ws6455_peers::tls;

const USAGE: &str = "tls-idle-client --url wss://HOST:PORT/ --ca cert.pem --count N";

fn main() {
    let url = tls::WssUrl::parse(&ws6455_peers::required_arg("--url", USAGE)).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let config = tls::client_config(&ws6455_peers::required_arg("--ca", USAGE), None);
    let count: usize = ws6455_peers::required_arg("--count", USAGE)
        .parse()
        .expect("--count: a number");
    let start = Instant::now();
    let mut open = Vec::with_capacity(count);
    for i in 0..count {
        match tls::connect(&url, &config, Duration::from_secs(10)) {
            Ok((stream, _)) => open.push(stream),
            Err(e) => {
                eprintln!("tls-idle-client: connection {} of {count}: {e}", i + 1);
                std::process::exit(1);
            }
        }
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "READY {count} {:.3}", start.elapsed().as_secs_f64());
    let _ = out.flush();
    drop(out);
    // Hold until stdin closes (or a signal ends the process).
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        if line.is_err() {
            break;
        }
    }
    drop(open);
}
