//! Idle connections cost no CPU: a server and a client event loop holding
//! a thousand open, silent connections (heartbeats off) sleep in
//! `epoll_wait` instead of spinning.
//!
//! CPU time is the whole process's user + system time from
//! `/proc/self/stat`, in clock ticks of 10 ms (Linux reports `/proc` times
//! in USER_HZ, which is 100 on every architecture). The bound is loose on
//! purpose: 100 ms over 1.5 s can only be exceeded by a loop that wakes up
//! without cause. This file holds a single test so that nothing else runs
//! in the process while it measures.
#![cfg(target_os = "linux")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ws6455::ConnectOptions;
use ws6455_test_support::loopback::*;

/// This process's CPU time so far, user plus system, in 10 ms ticks.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The command name (field 2) is in parentheses and may hold spaces;
    // fields 14 (utime) and 15 (stime) count from after it.
    let after_name = &stat[stat.rfind(')').expect("comm") + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: u64 = fields[11].parse().expect("utime");
    let stime: u64 = fields[12].parse().expect("stime");
    utime + stime
}

#[test]
fn idle_connections_use_no_cpu() {
    const TICK: Duration = Duration::from_millis(10);
    let n = connections_that_fit(1000);
    assert!(
        n >= 100,
        "too few file descriptors for a meaningful test: {n}"
    );
    // A thousand handshakes at once on a loaded machine may take a while.
    let config = {
        let mut config = quiet_config();
        config.handshake_timeout = Duration::from_secs(60);
        config
    };
    let served = serve_with(config.clone(), false);
    let url = served.url("/idle");

    let client_open = Arc::new(AtomicUsize::new(0));
    let counter = client_open.clone();
    let client = std::thread::spawn(move || {
        run_client(
            config,
            (0..n)
                .map(|_| (url.clone(), ConnectOptions::default()))
                .collect(),
            Recorder::new(move |_, _, ev| {
                if let ClientEv::Open(..) = ev {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            }),
        )
    });
    wait_until(MUST, "every connection open on both ends", || {
        served.stats.opened.load(Ordering::SeqCst) == n && client_open.load(Ordering::SeqCst) == n
    });

    let window = Duration::from_millis(1500);
    let before = cpu_ticks();
    let started = Instant::now();
    // Measuring idleness: nothing to wait for but time itself.
    std::thread::sleep(window);
    let spent = TICK * u32::try_from(cpu_ticks() - before).unwrap_or(u32::MAX);
    let elapsed = started.elapsed();
    assert!(
        spent < Duration::from_millis(100),
        "{n} idle connections used {spent:?} of CPU in {elapsed:?}"
    );

    // Both loops are still alive: a graceful shutdown closes every
    // connection cleanly and ends the client loop.
    let Served { server, .. } = served;
    server.stop().expect("server stopped");
    let (rec, _) = client.join().expect("client loop");
    let clean = rec
        .events
        .iter()
        .filter(|e| matches!(e, ClientEv::Closed(_, 1001, true)))
        .count();
    assert_eq!(clean, n);
}
