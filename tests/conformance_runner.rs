//! `ws6455 conformance`, run as a program: against `ws6455 serve` (server
//! role) and `ws6455 autobahn-client` (client role) it gives the verdicts
//! the real wstest gives them (`autobahn/expected-results.json`), writes
//! wstest's `index.json` and an HTML page per case, selects cases like
//! wstest's spec, and judges hostile peers (silent, garbage, flooding)
//! within bounded time while the run goes on.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use ws6455::proto::handshake::accept_key;
use ws6455_test_support::bin::ws6455_bin;
use ws6455_test_support::server::ServerProcess;

/// Cases quick enough for a debug build (sections 9, 12 and 13 are run in
/// full by CI's release-build parity check).
const QUICK: &str = "1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.7.1,9.8.1,10.*,12.1.1,13.7.1";

fn report_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("conformance-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(ws6455_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run ws6455")
}

fn describe(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `index.json`'s cases for the only agent in it.
fn verdicts(dir: &Path, agent: &str) -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(dir.join("index.json")).expect("index.json written");
    let index: Value = serde_json::from_str(&text).expect("index.json is JSON");
    index
        .get(agent)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(|| panic!("agent {agent} in {text}"))
}

fn expected(role: &str) -> serde_json::Map<String, Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("autobahn/expected-results.json");
    let all: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("expected results"))
            .expect("JSON");
    all.get(role)
        .and_then(Value::as_object)
        .cloned()
        .expect("role")
}

fn assert_like_wstest(got: &serde_json::Map<String, Value>, role: &str, dir: &Path, agent: &str) {
    let want = expected(role);
    let mut wrong = Vec::new();
    for (id, case) in got {
        let behavior = case.get("behavior").and_then(Value::as_str).unwrap_or("?");
        let close = case
            .get("behaviorClose")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let expected = want.get(id).and_then(Value::as_str).unwrap_or("?");
        let close_ok = close == "OK" || (expected == "INFORMATIONAL" && close == "INFORMATIONAL");
        if behavior != expected || !close_ok {
            wrong.push(format!("{id}: {behavior}/{close}, wstest says {expected}"));
        }
        let file = case
            .get("reportfile")
            .and_then(Value::as_str)
            .expect("reportfile");
        assert!(dir.join(file).is_file(), "{file} written");
        assert!(
            dir.join(file.replace(".json", ".html")).is_file(),
            "the case's page"
        );
    }
    assert!(
        wrong.is_empty(),
        "{} cases differ from wstest:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let index = std::fs::read_to_string(dir.join("index.html")).expect("index.html");
    assert!(
        index.contains(agent) && index.contains("5.19"),
        "the HTML index lists the cases"
    );
}

#[test]
fn server_role_judges_ws6455_serve_like_wstest() {
    let server = ServerProcess::spawn();
    let dir = report_dir("server");
    let url = format!("ws://{}/", server.addr);
    let report = dir.to_string_lossy().to_string();
    let out = run(&[
        "conformance",
        "server",
        &url,
        "--agent",
        "ws6455",
        "--report",
        &report,
        "--cases",
        QUICK,
        "--jobs",
        "2",
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    let got = verdicts(&dir, "ws6455");
    assert_eq!(
        got.len(),
        16 + 11 + 7 + 10 + 20 + 145 + 37 + 2 + 1 + 2,
        "every selected case"
    );
    assert_like_wstest(&got, "server", &dir, "ws6455");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("section") && stdout.contains("OK"),
        "time per section: {stdout}"
    );
    // The wire log of a case shows the frames both ways.
    let page = std::fs::read_to_string(dir.join("ws6455_case_5_19.html")).expect("page");
    assert!(page.contains("TX FRAME") && page.contains("RX FRAME") && page.contains("pongme 1!"));
}

/// `conformance client` on a free port: the address it prints.
fn start_client_role(args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(ws6455_bin())
        .args(["conformance", "client", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start conformance client");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a line").expect("utf-8");
    let addr = first
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_string();
    thread::spawn(move || for _ in lines {});
    (child, addr)
}

fn wait_exit(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let end = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("the runner did not finish within {limit:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn client_role_judges_ws6455s_client_like_wstest() {
    let dir = report_dir("client");
    let report = dir.to_string_lossy().to_string();
    let (mut runner, addr) = start_client_role(&["--report", &report, "--cases", QUICK]);
    let out = run(&[
        "autobahn-client",
        "--url",
        &format!("ws://{addr}"),
        "--agent",
        "ws6455",
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    let status = wait_exit(&mut runner, Duration::from_secs(60));
    assert!(status.success(), "no case FAILED");
    let got = verdicts(&dir, "ws6455");
    assert_eq!(got.len(), 16 + 11 + 7 + 10 + 20 + 145 + 37 + 2 + 1 + 2);
    assert_like_wstest(&got, "client", &dir, "ws6455");
}

#[test]
fn cases_and_exclusions_select_like_wstest_and_a_bad_selection_exits_2() {
    let server = ServerProcess::spawn();
    let dir = report_dir("select");
    let url = format!("ws://{}/", server.addr);
    let report = dir.to_string_lossy().to_string();
    let out = run(&[
        "conformance",
        "server",
        &url,
        "--report",
        &report,
        "--cases",
        "2.*,7.7.*",
        "--exclude",
        "2.1*,7.7.1",
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    let mut ids: Vec<String> = verdicts(&dir, "UnknownServer").keys().cloned().collect();
    ids.sort();
    let mut want: Vec<String> = ["2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9"]
        .iter()
        .map(|s| s.to_string())
        .chain((2..=13).map(|i| format!("7.7.{i}")))
        .collect();
    want.sort();
    assert_eq!(ids, want);
    let out = run(&["conformance", "server", &url, "--cases", "99.*"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let out = run(&["conformance", "server", "http://nowhere", "--cases", "1.*"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

/// A server that misbehaves in `how` on every connection.
fn hostile_server(how: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut head = Vec::new();
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                match how {
                    "silent" => thread::sleep(Duration::from_secs(30)),
                    "garbage" => {
                        let _ = s.write_all(b"\x00\xffnot http at all\r\n\r\n");
                        thread::sleep(Duration::from_secs(30));
                    }
                    _ => {
                        let text = String::from_utf8_lossy(&head).to_string();
                        let key = text
                            .lines()
                            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                            .unwrap_or("")
                            .trim()
                            .to_string();
                        let answer = format!(
                            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                            accept_key(key.as_bytes())
                        );
                        let _ = s.write_all(answer.as_bytes());
                        // One binary frame announcing 2^62 bytes, then bytes forever.
                        let _ = s.write_all(&[0x82, 127, 0x40, 0, 0, 0, 0, 0, 0, 0]);
                        let chunk = vec![0x5a; 64 * 1024];
                        while s.write_all(&chunk).is_ok() {}
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn hostile_servers_get_each_case_judged_within_bounded_time() {
    for how in ["silent", "garbage", "flood"] {
        let addr = hostile_server(how);
        let dir = report_dir(&format!("hostile-{how}"));
        let report = dir.to_string_lossy().to_string();
        let begin = Instant::now();
        let out = run(&[
            "conformance",
            "server",
            &format!("ws://{addr}/"),
            "--report",
            &report,
            "--cases",
            "1.1.1,2.1,5.19",
            "--case-timeout",
            "4",
            "--jobs",
            "3",
        ]);
        let took = begin.elapsed();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{how}: FAILED cases exit 1\n{}",
            describe(&out)
        );
        assert!(
            took < Duration::from_secs(20),
            "{how}: the run took {took:?}"
        );
        let got = verdicts(&dir, "UnknownServer");
        assert_eq!(got.len(), 3, "{how}: every case judged");
        for (id, case) in &got {
            assert_eq!(case["behavior"], "FAILED", "{how} {id}");
        }
    }
}

#[test]
fn a_hostile_client_does_not_stop_the_client_role() {
    let dir = report_dir("hostile-client");
    let report = dir.to_string_lossy().to_string();
    let (mut runner, addr) = start_client_role(&[
        "--report",
        &report,
        "--cases",
        "1.1.*",
        "--case-timeout",
        "3",
    ]);
    // Garbage, a request for a case that does not exist, and one that never ends its head.
    let mut garbage = TcpStream::connect(&addr).expect("connect");
    garbage
        .write_all(b"\x16\x03\x01 hello\r\n\r\n")
        .expect("write");
    let mut missing = TcpStream::connect(&addr).expect("connect");
    missing
        .write_all(b"GET /runCase?case=99&agent=x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        .expect("write");
    let mut answer = String::new();
    let _ = missing.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let _silent = TcpStream::connect(&addr).expect("connect");
    let out = run(&[
        "autobahn-client",
        "--url",
        &format!("ws://{addr}"),
        "--agent",
        "ws6455",
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(wait_exit(&mut runner, Duration::from_secs(30)).success());
    assert_eq!(verdicts(&dir, "ws6455").len(), 8);
}
