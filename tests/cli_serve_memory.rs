//! `ws6455 serve` gives memory back to the system after a burst: its
//! allocator (jemalloc, cli/src/alloc.rs) runs a background thread that
//! purges freed pages while the loop sleeps, and RSS returns near its
//! baseline once a burst of compressed connections is gone. Under glibc's
//! malloc the same burst leaves the heap grown for good (the reason for
//! the allocator, see `benches/churn.sh`).
#![cfg(target_os = "linux")]

use std::process::{Command, Stdio};

use ws6455_test_support::bin::ws6455_bin;
use ws6455_test_support::eventually;
use ws6455_test_support::server::{fd_count, peak_rss_kib, rss_kib, ServerProcess};
use ws6455_test_support::MUST;

/// Names of the threads of process `pid`.
fn thread_names(pid: u32) -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect()
}

#[test]
fn serve_purges_freed_memory_on_a_background_thread() {
    let server = ServerProcess::spawn();
    let names = thread_names(server.pid());
    assert!(
        names.iter().any(|n| n == "jemalloc_bg_thd"),
        "no jemalloc purging thread: the allocator options in cli/src/alloc.rs \
         were not applied; threads: {names:?}"
    );
}

#[test]
fn rss_returns_near_its_baseline_after_a_burst_of_compressed_connections() {
    // Under `--deflate-memory full` each connection's compressor and
    // decompressor hold ~330 KB once a message went each way: 300 of them
    // make a ~100 MB burst. (The default keeps only the windows.)
    const CONNECTIONS: &str = "300";
    const ALLOWED_KIB: u64 = 20 << 10;
    let mut server = ServerProcess::spawn_with(&["--deflate-memory", "full"]);
    let pid = server.pid();
    let fds = fd_count(pid);
    let baseline = rss_kib(pid);
    let url = format!("ws://{}/", server.addr);
    // Two rounds: glibc serves the first from fresh mappings and unmaps
    // them; it is from the second on that its heap keeps what was freed.
    for _ in 0..2 {
        let status = Command::new(ws6455_bin())
            .args(["bench", "--quiet", "--idle", "--warm", "--deflate"])
            .args(["--hold", "1"])
            .args(["--connections", CONNECTIONS, "--url", &url])
            .stdout(Stdio::null())
            .status()
            .expect("run ws6455 bench");
        assert!(status.success(), "bench failed: {status}");
    }
    let peak = peak_rss_kib(pid);
    assert!(
        peak > baseline + 2 * ALLOWED_KIB,
        "the burst was too small to tell: peak {peak} KiB, baseline {baseline} KiB"
    );
    let mut now = rss_kib(pid);
    let back = eventually(MUST, || {
        now = rss_kib(pid);
        fd_count(pid) <= fds && now <= baseline + ALLOWED_KIB
    });
    server.assert_alive();
    assert!(
        back,
        "RSS {now} KiB after the burst (peak {peak} KiB), baseline {baseline} KiB, \
         {} fds open (baseline {fds})",
        fd_count(pid)
    );
}
