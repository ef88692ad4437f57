//! `ws6455 conformance server URL`: the runner as wstest's fuzzingclient,
//! a connection per case to the server under test, `--jobs` cases at a
//! time.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use ws6455::proto::uri::WsUri;

use super::catalog::Entry;
use super::compress::Session;
use super::driver::{run_open, Conn, Limits};
use super::handshake::{check_response, client_request, parse_response};
use super::peer::Peer;
use super::report::CaseResult;
use super::utc_now;

/// Where to connect.
pub struct Target {
    /// The parsed URL.
    pub uri: WsUri,
    /// `--agent`, or `None` to take the server's `Server` header.
    pub agent: Option<String>,
}

/// Run `cases` against the target with `jobs` connections at a time; the
/// results come in catalog order.
pub fn run(
    target: &Target,
    cases: &[Entry],
    jobs: usize,
    limits: Limits,
    progress: bool,
) -> Vec<CaseResult> {
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<CaseResult>> = Mutex::new(Vec::with_capacity(cases.len()));
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(entry) = cases.get(i) else { break };
                let result = run_case(target, entry, i + 1, limits);
                if progress {
                    eprintln!(
                        "case {:<8} {:<13} {:<13} {:>6} ms",
                        result.id,
                        result.behavior().as_str(),
                        result.behavior_close().as_str(),
                        result.duration_ms
                    );
                }
                if let Ok(mut d) = done.lock() {
                    d.push(result);
                }
            });
        }
    });
    let mut results = done.into_inner().unwrap_or_default();
    results.sort_by_key(|r| r.index);
    results
}

fn connect(uri: &WsUri, limit: Duration) -> Result<TcpStream, String> {
    let addrs = (uri.host.as_str(), uri.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", uri.host))?;
    let mut last = String::from("no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, limit) {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("cannot connect to {addr}: {e}"),
        }
    }
    Err(last)
}

/// One case on a connection of its own.
pub fn run_case(target: &Target, entry: &Entry, index: usize, limits: Limits) -> CaseResult {
    let started = utc_now();
    let begin = Instant::now();
    let mut case = (entry.make)();
    let mut peer = Peer::new(false);
    let mut result = CaseResult {
        id: entry.id.clone(),
        index,
        agent: target
            .agent
            .clone()
            .unwrap_or_else(|| "UnknownServer".into()),
        description: entry.description.clone(),
        expectation: entry.expectation.clone(),
        started,
        duration_ms: 0,
        peer: Peer::new(false),
        http_request: String::new(),
        http_response: String::new(),
    };
    let outcome = (|| -> Result<(), String> {
        let stream = connect(&target.uri, limits.handshake)?;
        let mut conn = Conn::new(stream, limits.case).map_err(|e| e.to_string())?;
        let key = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 16]>());
        let offers = case.deflate_offers();
        let request = client_request(
            &target.uri.host_header(),
            &target.uri.resource,
            &key,
            &offers,
        );
        result.http_request = String::from_utf8_lossy(&request).into_owned();
        let until = Instant::now() + limits.handshake;
        conn.write_all(&request, until).map_err(|e| e.to_string())?;
        let (head, early) = conn.read_head(until, parse_response)?;
        result.http_response = head
            .headers
            .iter()
            .fold(format!("HTTP/1.1 {}\r\n", head.status), |s, (n, v)| {
                s + n + ": " + v + "\r\n"
            });
        if target.agent.is_none() {
            if let Some(server) = head.header("server") {
                result.agent = server.to_string();
            }
        }
        match check_response(&head, &key, !offers.is_empty()) {
            Ok(agreed) => {
                peer.deflate = agreed.map(|a| Session::new(false, a));
                run_open(conn, &mut peer, case.as_mut(), &early);
                Ok(())
            }
            Err(why) => {
                conn.close();
                Err(why)
            }
        }
    })();
    if let Err(why) = outcome {
        // The opening handshake never completed: wstest's judgement of a
        // connection that never opened.
        peer.was_not_clean_reason = Some(why);
        peer.lost();
        case.on_connection_lost(&mut peer);
    }
    result.duration_ms = u64::try_from(begin.elapsed().as_millis()).unwrap_or(u64::MAX);
    result.peer = peer;
    result
}
