//! `ws6455 bench` end to end against an in-process echo server: the echo
//! and idle modes complete and print their JSON figures (the fan-out mode
//! needs the broadcasting example and is run by benches/fanout.sh), with
//! and without permessage-deflate, and a refused connection or a declined
//! `--deflate` fails the run with a clear message. `--fanout --socketio`
//! runs against an in-process fake of a Socket.IO server, with
//! subscribers spread over several URLs and several server pids summed.

use std::process::Command;
use ws6455_test_support::server::Echo;

use ws6455::Server;

fn bench(args: &[&str]) -> String {
    let out = Command::new(ws6455_test_support::bin::ws6455_bin())
        .arg("bench")
        .args(args)
        .output()
        .expect("run ws6455 bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "bench {args:?} failed: {}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The number after `"key":` in a one-line JSON object.
fn number(json: &str, key: &str) -> f64 {
    let pat = format!("\"{key}\":");
    let at = json
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key} in {json}"))
        + pat.len();
    let rest = &json[at..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end]
        .parse()
        .unwrap_or_else(|_| panic!("{key} is not a number in {json}"))
}

/// Two readings of /proc's CPU clock, each rounded to a tick (1/USER_HZ
/// = 10 ms), can disagree with the truth by one tick each.
const TICKS_OF_ROUNDING: f64 = 0.02 + 1e-9;

/// User + system CPU seconds of this process (every thread) so far, read
/// the way the kernel accounts them (utime and stime of /proc/self/stat,
/// in USER_HZ = 100 ticks per second).
fn own_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    // Fields after the command name (which may hold spaces): utime is the
    // 14th field, stime the 15th.
    let rest = &stat[stat.rfind(')').expect("a command name") + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let mut next = || -> f64 {
        fields
            .next()
            .and_then(|f| f.parse().ok())
            .expect("a tick count")
    };
    (next() + next()) / 100.0
}

#[test]
fn echo_and_idle_modes_report() {
    let server = Server::new()
        .bind("127.0.0.1:0")
        .expect("bind")
        .spawn(|| Echo);
    let url = format!("ws://{}/", server.local_addr());
    let pid = std::process::id().to_string();

    for extra in [&["--size", "1k"][..], &["--size", "70k", "--binary"][..]] {
        let mut args = vec!["--url", &url, "-c", "3", "-w", "0.2", "-d", "0.5", "--json"];
        args.extend_from_slice(&["--server-pid", &pid]);
        args.extend_from_slice(extra);
        let cpu_before = own_cpu_seconds();
        let json = bench(&args);
        let cpu_during_run = own_cpu_seconds() - cpu_before;
        let messages = number(&json, "messages");
        assert!(messages > 0.0, "{json}");
        // The server is this process, so the figure must be what this
        // process's own accounting saw: the measured window lies inside the
        // bench run, so no more than this process used over the whole run
        // (plus one clock tick of rounding on each reading), and no more
        // than the window's wall time on every core. Echoing for half a
        // second costs the server CPU, so it cannot be zero either: a bench
        // that read the wrong process, the wrong fields or the wrong unit
        // (ticks for seconds) fails one of these.
        let server_cpu = number(&json, "server_cpu_s");
        let wall = number(&json, "duration_s");
        let cores = number(&json, "cores");
        assert!(
            server_cpu > 0.0,
            "no server CPU for {messages} echoes: {json}"
        );
        assert!(
            server_cpu <= cpu_during_run + TICKS_OF_ROUNDING,
            "server CPU {server_cpu}s, but this process used {cpu_during_run}s over the run: {json}"
        );
        assert!(
            server_cpu <= wall * cores + TICKS_OF_ROUNDING,
            "server CPU {server_cpu}s exceeds {wall}s on {cores} cores: {json}"
        );
        // And the per-CPU-second rate is that figure, not another one.
        let per_cpu = number(&json, "per_server_cpu_s");
        assert!(
            (per_cpu * server_cpu - messages).abs() <= messages * 0.01 + 1.0,
            "per_server_cpu_s {per_cpu} × {server_cpu}s is not {messages} messages: {json}"
        );
        assert!(json.contains("\"latency_us\""), "{json}");
        assert!(!json.contains("connections_lost"), "{json}");
        assert!(!json.contains("echo_size_mismatches"), "{json}");
    }

    let json = bench(&[
        "--idle",
        "--url",
        &url,
        "-c",
        "20",
        "--hold",
        "0.2",
        "--json",
        "--server-pid",
        &pid,
        "--source-addrs",
        "127.0.0.1-127.0.0.2",
    ]);
    assert_eq!(number(&json, "connections"), 20.0, "{json}");
    assert_eq!(number(&json, "closed_by_server"), 0.0, "{json}");
    assert!(json.contains("\"rss_per_connection\":"), "{json}");
}

#[test]
fn refused_connections_fail_clearly() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let out = Command::new(ws6455_test_support::bin::ws6455_bin())
        .args([
            "bench",
            "--url",
            &format!("ws://127.0.0.1:{port}/"),
            "-c",
            "2",
        ])
        .output()
        .expect("run ws6455 bench");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("failed while opening"), "{err}");
}

#[cfg(feature = "deflate")]
#[test]
fn deflate_modes_compress_and_insist_on_the_extension() {
    use ws6455::proto::deflate::DeflateConfig;
    use ws6455::Config;
    let with = Server::new()
        .config({
            let mut config = Config::default();
            config.deflate = Some(DeflateConfig::default());
            config
        })
        .bind("127.0.0.1:0")
        .expect("bind")
        .spawn(|| Echo);
    let url = format!("ws://{}/", with.local_addr());
    let json = bench(&[
        "--url",
        &url,
        "-c",
        "2",
        "-s",
        "4k",
        "-w",
        "0.2",
        "-d",
        "0.5",
        "--json",
        "--deflate",
    ]);
    assert!(number(&json, "messages") > 0.0, "{json}");
    assert!(json.contains("\"deflate\":true"), "{json}");
    assert!(!json.contains("echo_size_mismatches"), "{json}");
    let json = bench(&[
        "--idle",
        "--url",
        &url,
        "-c",
        "5",
        "--hold",
        "0.2",
        "--json",
        "--deflate",
        "--warm",
    ]);
    assert_eq!(number(&json, "connections"), 5.0, "{json}");
    assert!(json.contains("\"deflate\":true,\"warm\":true"), "{json}");

    // A server that declines the offer fails both modes, saying why.
    let without = Server::new()
        .bind("127.0.0.1:0")
        .expect("bind")
        .spawn(|| Echo);
    let url = format!("ws://{}/", without.local_addr());
    for args in [
        &["-c", "1", "-d", "0.2", "--deflate"][..],
        &["--idle", "-c", "1", "--hold", "0.1", "--deflate"][..],
    ] {
        let out = Command::new(ws6455_test_support::bin::ws6455_bin())
            .args(["bench", "--url", &url])
            .args(args)
            .output()
            .expect("run ws6455 bench");
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("did not agree to permessage-deflate"),
            "{args:?}: {err}"
        );
    }
}

/// Just enough of a Socket.IO server for `bench --fanout --socketio`: the
/// Engine.IO open packet, a join, one ping per joined connection, and
/// every `publish` event emitted as `m` to every joined connection (the
/// publisher's too, as `io.emit` does), after a packet the client must
/// ignore.
struct FakeSocketIo {
    joined: Vec<ws6455::ConnId>,
    pongs: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl ws6455::Handler for FakeSocketIo {
    fn on_open(
        &mut self,
        ctx: &mut ws6455::Ctx<'_>,
        id: ws6455::ConnId,
        _: Option<&ws6455::proto::Response>,
    ) {
        let _ = ctx.send_text(
            id,
            r#"0{"sid":"e","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
        );
    }

    fn on_message(
        &mut self,
        ctx: &mut ws6455::Ctx<'_>,
        id: ws6455::ConnId,
        message: ws6455::Message<'_>,
    ) {
        let text = std::str::from_utf8(message.as_bytes()).unwrap_or("");
        if text == "40" {
            self.joined.push(id);
            let _ = ctx.send_text(id, r#"40{"sid":"s"}"#);
            let _ = ctx.send_text(id, "9 not a packet");
            let _ = ctx.send_text(id, "2");
        } else if text == "3" {
            self.pongs
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        } else if let Some(payload) = text
            .strip_prefix(r#"42["publish",""#)
            .and_then(|p| p.strip_suffix(r#""]"#))
        {
            let event = format!(r#"42["m","{payload}"]"#);
            for &to in &self.joined {
                let _ = ctx.send_text(to, &event);
            }
        }
    }
}

#[test]
fn socketio_fanout_over_several_urls_sums_server_pids() {
    let pongs = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = pongs.clone();
    let server = Server::new()
        .bind("127.0.0.1:0")
        .expect("bind")
        .spawn(move || FakeSocketIo {
            joined: Vec::new(),
            pongs: counter.clone(),
        });
    let url = format!("ws://{}", server.local_addr());
    let pid = std::process::id().to_string();
    let pids = format!("{pid},{pid}");
    let json = bench(&[
        "--fanout",
        "--socketio",
        "--url",
        &url,
        "--subscribe-url",
        &url,
        "--subscribe-url",
        &format!("{url}/"),
        "-c",
        "4",
        "-w",
        "0.2",
        "-d",
        "0.5",
        "--json",
        "--server-pid",
        &pids,
    ]);
    assert!(number(&json, "deliveries") > 0.0, "{json}");
    assert!(json.contains("\"protocol\":\"socketio\""), "{json}");
    assert!(
        json.contains(&format!("\"server_pids\":[{pids}]")),
        "{json}"
    );
    assert!(json.contains("\"subscribe_urls\":["), "{json}");
    assert!(json.contains("\"latency_us\""), "{json}");
    assert!(!json.contains("subscribers_lost"), "{json}");
    // Every subscriber and the publisher answered its ping.
    assert_eq!(
        pongs.load(std::sync::atomic::Ordering::Relaxed),
        5,
        "{json}"
    );
}
