//! `ws6455 conformance client`: the runner as wstest's fuzzingserver. A
//! client under test drives it with wstest's protocol: `/getCaseCount`
//! (a text message with the number of cases), `/runCase?case=N&agent=A`
//! (case N, 1-based, of this run's list), `/updateReports?agent=A` (write
//! the reports), plus `/getCaseInfo` and `/getCaseStatus`.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::case::{Case, Observed};
use super::catalog::Entry;
use super::compress::Session;
use super::driver::{run_open, Conn, Limits};
use super::handshake::{
    accept_answer, accept_response, client_offers, parse_request, refusal, Head,
};
use super::peer::Peer;
use super::report::CaseResult;
use super::utc_now;

/// What the server shares between connections.
pub struct Shared {
    /// This run's cases.
    pub cases: Vec<Entry>,
    /// Results so far.
    pub results: Mutex<Vec<CaseResult>>,
    /// Bounds on each case.
    pub limits: Limits,
    /// Print a line per case.
    pub progress: bool,
}

/// What a connection asked for.
enum Command {
    /// Run case N (index into `cases`) for an agent.
    Run(usize, String),
    /// Send the number of cases.
    Count,
    /// Write the reports.
    Update,
    /// Describe case N.
    Info(usize),
    /// The verdict of case N for an agent.
    Status(usize, String),
}

fn query_param(target: &str, name: &str) -> Option<String> {
    let query = target.split_once('?')?.1;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b, hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn command(head: &Head, count: usize) -> Result<Command, String> {
    let path = head.target.split('?').next().unwrap_or("/");
    let agent = query_param(&head.target, "agent");
    let case = match query_param(&head.target, "case") {
        Some(n) => match n.parse::<usize>() {
            Ok(n) if (1..=count).contains(&n) => Some(n - 1),
            _ => return Err(format!("case {n} not found")),
        },
        None => None,
    };
    match (path, case, agent) {
        ("/runCase", Some(n), Some(a)) => Ok(Command::Run(n, a)),
        ("/runCase", None, _) => Err("need case to run".into()),
        ("/runCase", _, None) => Err("need agent to run case".into()),
        ("/getCaseCount", _, _) => Ok(Command::Count),
        ("/updateReports", _, Some(_)) => Ok(Command::Update),
        ("/updateReports", _, None) => Err("need agent to update reports for".into()),
        ("/getCaseInfo", Some(n), _) => Ok(Command::Info(n)),
        ("/getCaseStatus", Some(n), Some(a)) => Ok(Command::Status(n, a)),
        _ => Err(format!("unknown command {path}")),
    }
}

/// A connection that only says one message and closes (the commands).
struct Say(Option<String>);

impl Case for Say {
    fn on_open(&mut self, p: &mut Peer) {
        if let Some(text) = self.0.take() {
            p.send_message(text.as_bytes(), false);
        }
        p.send_close(None, None);
    }

    fn on_message(&mut self, _p: &mut Peer, _payload: Vec<u8>, _binary: bool) {}

    fn on_pong(&mut self, p: &mut Peer, payload: Vec<u8>) {
        p.outcome.received.push(Observed::Pong(payload));
    }
}

/// Serve one connection; true when it asked for the reports.
pub fn serve(stream: TcpStream, shared: &Arc<Shared>) -> io::Result<bool> {
    let started = utc_now();
    let begin = Instant::now();
    let limits = shared.limits;
    let mut conn = Conn::new(stream, limits.case)?;
    let until = Instant::now() + limits.handshake;
    let (head, early) = match conn.read_head(until, parse_request) {
        Ok(x) => x,
        Err(_) => {
            conn.close();
            return Ok(false);
        }
    };
    let key = head.header("sec-websocket-key").map(str::to_string);
    let valid = head.header("sec-websocket-version") == Some("13")
        && key.as_deref().is_some_and(|k| k.len() == 24)
        && head
            .header("upgrade")
            .is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    let asked = match key {
        Some(key) if valid => command(&head, shared.cases.len()).map(|cmd| (cmd, key)),
        _ => Err("not a WebSocket version 13 opening handshake".into()),
    };
    let (cmd, key) = match asked {
        Ok(x) => x,
        Err(why) => {
            let _ = conn.write_all(&refusal(400, &why), until);
            conn.close();
            return Ok(false);
        }
    };
    let request_text = head
        .headers
        .iter()
        .fold(format!("GET {} HTTP/1.1\r\n", head.target), |s, (n, v)| {
            s + n + ": " + v + "\r\n"
        });
    match cmd {
        Command::Run(n, agent) => {
            let Some(entry) = shared.cases.get(n) else {
                return Ok(false);
            };
            let offers = match client_offers(&head) {
                Ok(offers) => offers,
                Err(why) => {
                    let _ = conn.write_all(&refusal(400, &why), until);
                    conn.close();
                    return Ok(false);
                }
            };
            let mut case = (entry.make)();
            let mut peer = Peer::new(true);
            let answer = case.deflate_accept(&offers).map(|a| accept_answer(&a));
            let response = accept_response(&key, answer.as_ref().map(|(s, _)| s.as_str()));
            peer.deflate = answer.map(|(_, agreed)| Session::new(true, agreed));
            if conn.write_all(&response, until).is_err() {
                return Ok(false);
            }
            if shared.progress {
                eprintln!("running case {} for agent {agent}", entry.id);
            }
            run_open(conn, &mut peer, case.as_mut(), &early);
            let result = CaseResult {
                id: entry.id.clone(),
                index: n + 1,
                agent,
                description: entry.description.clone(),
                expectation: entry.expectation.clone(),
                started,
                duration_ms: u64::try_from(begin.elapsed().as_millis()).unwrap_or(u64::MAX),
                peer,
                http_request: request_text,
                http_response: String::from_utf8_lossy(&response).into_owned(),
            };
            if let Ok(mut results) = shared.results.lock() {
                results.retain(|r| !(r.id == result.id && r.agent == result.agent));
                results.push(result);
            }
            Ok(false)
        }
        other => {
            let text = match &other {
                Command::Count => Some(shared.cases.len().to_string()),
                Command::Info(n) => shared.cases.get(*n).map(|e| {
                    serde_json::json!({"id": e.id, "description": e.description}).to_string()
                }),
                Command::Status(n, agent) => shared.results.lock().ok().and_then(|rs| {
                    let id = &shared.cases.get(*n)?.id;
                    let r = rs.iter().find(|r| &r.id == id && &r.agent == agent)?;
                    Some(serde_json::json!({"behavior": r.behavior().as_str()}).to_string())
                }),
                _ => None,
            };
            let response = accept_response(&key, None);
            if conn.write_all(&response, until).is_err() {
                return Ok(false);
            }
            let mut peer = Peer::new(true);
            run_open(conn, &mut peer, &mut Say(text), &early);
            Ok(matches!(other, Command::Update))
        }
    }
}

/// Accept connections until a client asks for the reports (or forever
/// with `keep_running`), each on a thread of its own; `on_update` writes
/// the reports.
pub fn listen(
    listener: TcpListener,
    shared: Arc<Shared>,
    keep_running: bool,
    on_update: impl Fn(&Shared) + Send + Sync,
) -> io::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel::<bool>();
    listener.set_nonblocking(true)?;
    std::thread::scope(|s| loop {
        if let Ok(update) = rx.try_recv() {
            if update {
                on_update(&shared);
                if !keep_running {
                    return Ok(());
                }
            }
        }
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false)?;
                let shared = Arc::clone(&shared);
                let tx = tx.clone();
                s.spawn(move || {
                    let update = serve(stream, &shared).unwrap_or(false);
                    let _ = tx.send(update);
                });
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    })
}
