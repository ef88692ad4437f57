//! Headless Chromium against three `ws6455 serve --redis … --node-id
//! n1|n2|n3 --presence-ttl 3` sharing one real redis-server: alice on n1,
//! bob on n2 and carol on n3 meet in one room and see each other with
//! their servers; a room message and a direct message cross servers; a
//! game page on n1 and one on n2 see both dots move. Then n3 is killed
//! (carol leaves the others' presence when her entry expires, measured),
//! and Redis is killed mid-conversation: each page says the cluster is
//! down, alice's message reaches her own server only and she is told so;
//! Redis back, presence is rebuilt and messages cross again. Screenshots
//! (`cluster-*.png`) land in `target/screenshots/`.
//!
//! Needs Node, `playwright-core` (tests/interop/node), Debian's
//! `chromium` and `redis-server`; skips, saying so, when one is missing —
//! unless `WS6455_REQUIRE_INTEROP=1`.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use ws6455_test_support::interop::{
    announce, browser_ready, command, screenshot_dir, serve_with, Proc, Serve,
};
use ws6455_test_support::redis::RedisServer;

/// `ws6455 serve --redis URL --node-id NODE --presence-ttl 3` on a free
/// port; its log is kept for a failure's report.
fn node(redis: &str, node: &str) -> Serve {
    serve_with(
        "127.0.0.1:0",
        &["--redis", redis, "--node-id", node, "--presence-ttl", "3"],
    )
}

#[test]
fn chromium_chats_and_plays_across_three_servers_and_rides_out_outages() {
    const TEST: &str = "chromium_chats_and_plays_across_three_servers_and_rides_out_outages";
    if !browser_ready(TEST) {
        return;
    }
    let Some(mut redis) = RedisServer::start(TEST) else {
        return;
    };
    let url = redis.url();
    let n1 = node(&url, "n1");
    let n2 = node(&url, "n2");
    let mut n3 = Some(node(&url, "n3"));
    let shots = screenshot_dir();
    let bases: Vec<String> = [&n1, &n2, n3.as_ref().expect("n3")]
        .iter()
        .map(|s| format!("http://{}", s.addr))
        .collect();
    let mut browser = Proc::spawn(
        "browser_cluster.js",
        command(
            "node",
            &[
                "node/browser_cluster.js",
                &bases[0],
                &bases[1],
                &bases[2],
                &shots.display().to_string(),
            ],
        ),
    );

    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // n3 dies without a goodbye (SIGKILL): its users stay in Redis's
        // presence until their entries expire.
        browser.expect(|l| l == "KILL_N3");
        drop(n3.take());
        browser.send_line("KILLED");
        browser.expect(|l| l == "KILL_REDIS");
        redis.kill();
        browser.send_line("REDIS_DOWN");
        browser.expect(|l| l == "START_REDIS");
        redis.restart();
        browser.send_line("REDIS_UP");
        browser.succeed();
    }));
    if let Err(panic) = outcome {
        // The servers' side of the story.
        for (name, serve) in [("n1", &n1), ("n2", &n2)] {
            announce(&format!("--- {name}'s log ---\n{}", serve.proc.stderr()));
        }
        if let Some(n3) = &n3 {
            announce(&format!("--- n3's log ---\n{}", n3.proc.stderr()));
        }
        resume_unwind(panic);
    }

    let passes = browser.passes();
    for must in [
        "alice's presence lists alice@n1, bob@n2 and carol@n3",
        "bob's presence lists alice@n1, bob@n2 and carol@n3",
        "carol's presence lists alice@n1, bob@n2 and carol@n3",
        "alice's page shows server n1 with the cluster up",
        "bob's page shows server n2 with the cluster up",
        "carol's page shows server n3 with the cluster up",
        "bob gets alice's room message",
        "carol gets alice's room message",
        "bob's page tags alice's message with @ n1",
        "carol gets bob's direct message",
        "alice does not get bob's direct message to carol",
        "game page on n1 shows two dots, one on n1 and one on n2",
        "game page on n2 shows two dots, one on n1 and one on n2",
        "game page on n1 shows server n1, and its own dot is on n1",
        "game page on n2 shows server n2, and its own dot is on n2",
        "game page on n1 sees both dots move",
        "game page on n2 sees both dots move",
        "the n2 dot disappears from n1 when its page closes",
        "carol leaves alice's presence after n3 is killed",
        "carol leaves bob's presence after n3 is killed",
        "alice's page shows the cluster down",
        "bob's page shows the cluster down",
        "alice's own room message is delivered on n1",
        "alice's page says the message did not reach the other servers",
        "the undelivered notice names the message",
        "bob does not get alice's message sent while Redis is down",
        "alice's page shows the cluster up again",
        "bob's page shows the cluster up again",
        "bob@n2 is back in alice's presence",
        "alice@n1 is back in bob's presence",
        "carol (n3, killed) stays out of the rebuilt presence",
        "bob gets alice's message after Redis is back",
        "alice sees her own message after Redis is back",
        "bob never gets the message sent while Redis was down",
    ] {
        assert!(passes.contains(&must), "missing check {must:?}: {passes:?}");
    }

    // How long a killed server's user lingered: TTL 3 s + refresh 1 s +
    // slack, at most 10 s (the page's check already held it to that).
    for line in browser.seen.iter().filter(|l| l.starts_with("MEASURED ")) {
        let mut words = line.split_whitespace().skip(1);
        let (what, secs) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let secs: f64 = secs.parse().unwrap_or_else(|_| panic!("{line:?}"));
        assert!(secs <= 10.0, "{what} took {secs} s");
        announce(&format!("measured: {what} after {secs:.2} s"));
    }

    let screenshots: Vec<&str> = browser
        .seen
        .iter()
        .filter_map(|l| l.strip_prefix("SCREENSHOT "))
        .collect();
    assert_eq!(screenshots.len(), 7, "{screenshots:?}");
    for path in screenshots {
        assert!(
            std::path::Path::new(path)
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("cluster-")),
            "{path}"
        );
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1000, "{path} is missing or empty");
        announce(&format!("screenshot: {path}"));
    }
    drop((n1, n2, redis));
}
