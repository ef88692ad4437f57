//! Helpers shared by the integration tests in `tests/`, compiled once
//! instead of once per test binary.
//!
//! Everything that judges ws6455 by its bytes ([`wire`], [`handshake`],
//! [`peer`]) encodes and decodes by hand from RFC 6455, never with
//! ws6455's own codec, so a bug there cannot hide behind the same bug here.
//!
//! * [`bin`] — the `ws6455` binary, built on first use;
//! * [`program`] — that binary run as a child, its output line by line;
//! * [`wire`] — frames encoded and decoded by hand;
//! * [`handshake`] — opening-handshake requests and parsed responses;
//! * [`peer`] — raw TCP peers, blocking ([`peer::RawPeer`]) or judging on
//!   a reader thread ([`peer::CheckedPeer`]);
//! * [`core`] — in-memory pairs of core `Connection`s on a fake clock;
//! * [`server`] — ws6455 as a server under test, in process or the binary;
//! * [`loopback`] — the scripted server and client handlers of the
//!   loopback tests;
//! * [`conformance`] — the RFC conformance harness (every role, one case);
//! * [`interop`] — foreign peers (Node, Python, browsers) and their
//!   line protocol;
//! * [`echo_each`] — our event-loop client checking a peer's echoes one
//!   message at a time;
//! * [`redis`] — a real `redis-server` on a free port, for the broker;
//! * [`tls`] — certificates made at test time, and TLS configurations
//!   that trust them.

#![warn(missing_docs)]

use std::time::{Duration, Instant};

pub mod bin;
pub mod conformance;
pub mod core;
pub mod counting;
pub mod echo_each;
pub mod handshake;
pub mod interop;
pub mod loopback;
pub mod peer;
pub mod program;
pub mod redis;
pub mod server;
pub mod tls;
pub mod wire;

/// How long anything that must happen may take: generous, because the
/// suite runs in parallel on a loaded 2-core machine, and a correct
/// ws6455 is far faster. Only ever an upper bound.
pub const MUST: Duration = Duration::from_secs(10);

/// Poll `cond` every 2 ms until it holds; panic with `what` after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    assert!(
        poll(limit, Duration::from_millis(2), &mut cond),
        "timed out waiting for {what}"
    );
}

/// Poll `f` every 20 ms (it may be costly: it reads /proc) until it
/// returns true or `within` passes; returns the last verdict.
pub fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    poll(within, Duration::from_millis(20), &mut f)
}

fn poll(within: Duration, every: Duration, f: &mut dyn FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(every);
    }
}
