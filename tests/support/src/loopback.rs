//! The loopback tests' world: a scripted, recording server handler; a
//! runner for client event loops with a watchdog; a recording client
//! handler; deterministic payloads. Re-exports the blocking [`RawPeer`]
//! and the rest a loopback test needs, so one glob import serves it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ws6455::proto::handshake::Request;
use ws6455::proto::PreparedMessage;
use ws6455::{CloseCode, Config, UsageError};
use ws6455::{
    ConnError, ConnId, ConnectOptions, Ctx, Decision, DeflateChoice, DeflateConfig, EventLoop,
    Handler, HttpResponse, Message, RunningServer, Server,
};

pub use crate::handshake::{upgrade_request, SAMPLE_ACCEPT, SAMPLE_KEY};
pub use crate::peer::{raw_listener, End, RawPeer};
pub use crate::wire::{self, close_payload, Frame};
pub use crate::{wait_until, MUST};

/// The default config with heartbeats and the idle timeout off, so no
/// timer fires in a test that is not about timers.
pub fn quiet_config() -> Config {
    {
        let mut config = Config::default();
        config.ping_interval = None;
        config.idle_timeout = None;
        config
    }
}

// ----- deterministic payloads -------------------------------------------

/// `n` bytes that differ from their neighbours, repeating with a prime
/// period so no frame or read boundary lines up with the pattern. Built by
/// copying one period, which keeps debug-build tests fast.
pub fn bytes_of(n: usize, seed: u8) -> Vec<u8> {
    const PERIOD: usize = 65521;
    let period: Vec<u8> = (0..PERIOD.min(n))
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8 ^ seed)
        .collect();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let take = (n - out.len()).min(period.len());
        out.extend_from_slice(&period[..take]);
    }
    out
}

/// What the test server's `/deflate-lean` path compresses with, whatever
/// its `Config::deflate`: 10-bit windows both ways, no context takeover on
/// its side, every message compressed.
pub fn lean_deflate() -> DeflateConfig {
    let mut config = DeflateConfig::default();
    config.server_max_window_bits = 10;
    config.client_max_window_bits = 10;
    config.server_no_context_takeover = true;
    config.threshold = 0;
    config
}

/// A string of exactly `n` bytes mixing 1- to 4-byte characters, so that
/// frame and read boundaries fall inside characters.
pub fn text_of(n: usize) -> String {
    const CYCLE: [char; 5] = ['a', 'é', '€', '😀', 'z'];
    let block: String = CYCLE.iter().cycle().take(5 * 1000).collect();
    let mut s = String::with_capacity(n);
    while s.len() + block.len() <= n {
        s.push_str(&block);
    }
    let mut i = 0;
    while s.len() + 4 <= n {
        s.push(CYCLE[i % CYCLE.len()]);
        i += 1;
    }
    while s.len() < n {
        s.push('x');
    }
    s
}

// ----- the recording server ---------------------------------------------

/// What the test server saw, in order, per connection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // one variant per `Handler` callback (or command), named alike
pub enum Ev {
    Request {
        id: ConnId,
        path: String,
        protocols: Vec<String>,
    },
    Http(ConnId, String),
    Open(ConnId),
    Text(ConnId, String),
    Binary(ConnId, Vec<u8>),
    Ping(ConnId, Vec<u8>),
    Pong(ConnId, Vec<u8>),
    Close(ConnId, Option<u16>, String),
    Error(ConnId, String),
    Writable(ConnId),
    BufferFull(ConnId),
    FloodDone(ConnId),
    Broadcast(usize),
    Closed(ConnId, u16, bool),
    Shutdown,
}

impl Ev {
    /// The connection the event belongs to, if any.
    pub fn id(&self) -> Option<ConnId> {
        match self {
            Ev::Request { id, .. } => Some(*id),
            Ev::Http(id, _)
            | Ev::Open(id)
            | Ev::Text(id, _)
            | Ev::Binary(id, _)
            | Ev::Ping(id, _)
            | Ev::Pong(id, _)
            | Ev::Close(id, _, _)
            | Ev::Error(id, _)
            | Ev::Writable(id)
            | Ev::BufferFull(id)
            | Ev::FloodDone(id)
            | Ev::Closed(id, _, _) => Some(*id),
            Ev::Broadcast(_) | Ev::Shutdown => None,
        }
    }
}

/// Counters the test thread can read while the server runs.
#[derive(Debug, Default)]
pub struct Stats {
    /// Largest `ctx.buffered_amount(id)` seen right after a send.
    pub max_buffered: AtomicUsize,
    /// Connections opened.
    pub opened: AtomicUsize,
    /// Connections closed.
    pub closed: AtomicUsize,
    /// Sends refused with `BufferFull`.
    pub buffer_full: AtomicUsize,
}

struct Flood {
    remaining: usize,
    size: usize,
    seq: u32,
}

/// A server handler driven by the client's text messages:
///
/// * `cmd:close:<code>:<reason>` — close this connection;
/// * `cmd:ping:<payload>` — ping this connection;
/// * `cmd:close-others:<code>:<reason>` — close every other connection;
/// * `cmd:broadcast:<text>` — send `<text>` to every open connection;
/// * `cmd:flood:<count>:<size>` — send `count` binary messages of `size`
///   bytes (a 4-byte big-endian sequence number first), as fast as the
///   output buffer allows, resuming on `on_writable`;
/// * `cmd:stop` — shut the loop down;
/// * anything else is echoed.
///
/// Paths: `/reject` is refused with 403, `/badproto` is accepted with a
/// subprotocol the client did not offer, `/close-on-open` is closed with
/// 4001 as soon as it opens; otherwise "chat" or "superchat" is selected
/// when offered. Plain HTTP: `GET /` gets a page, the rest 404.
pub struct TestServer {
    tx: Sender<Ev>,
    stats: Arc<Stats>,
    paths: HashMap<ConnId, String>,
    floods: HashMap<ConnId, Flood>,
    record_payloads: bool,
}

/// The page `GET /` gets as plain HTTP.
pub const PAGE: &str = "<!doctype html><title>ws6455</title><p>hello\n";

impl TestServer {
    fn note_buffered(&self, ctx: &mut Ctx<'_>, id: ConnId) {
        let now = ctx.buffered_amount(id);
        self.stats.max_buffered.fetch_max(now, Ordering::SeqCst);
    }

    fn pump(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        let Some(flood) = self.floods.get_mut(&id) else {
            return;
        };
        while flood.remaining > 0 {
            let mut msg = vec![0xA5u8; flood.size.max(4)];
            msg[..4].copy_from_slice(&flood.seq.to_be_bytes());
            match ctx.send_binary(id, &msg) {
                Ok(()) => {
                    flood.seq += 1;
                    flood.remaining -= 1;
                    let now = ctx.buffered_amount(id);
                    self.stats.max_buffered.fetch_max(now, Ordering::SeqCst);
                }
                Err(UsageError::BufferFull) => {
                    self.stats.buffer_full.fetch_add(1, Ordering::SeqCst);
                    let _ = self.tx.send(Ev::BufferFull(id));
                    return;
                }
                Err(e) => {
                    let _ = self.tx.send(Ev::Error(id, format!("flood: {e}")));
                    return;
                }
            }
        }
        self.floods.remove(&id);
        let _ = self.tx.send(Ev::FloodDone(id));
    }

    fn command(&mut self, ctx: &mut Ctx<'_>, id: ConnId, cmd: &str) {
        let mut parts = cmd.splitn(3, ':');
        match parts.next().unwrap_or_default() {
            "close" => {
                let code: u16 = parts.next().and_then(|c| c.parse().ok()).unwrap_or(1000);
                let reason = parts.next().unwrap_or_default();
                if let Err(e) = ctx.close(id, CloseCode(code), reason) {
                    let _ = self.tx.send(Ev::Error(id, format!("close: {e}")));
                }
            }
            "close-others" => {
                let code: u16 = parts.next().and_then(|c| c.parse().ok()).unwrap_or(1000);
                let reason = parts.next().unwrap_or_default();
                let others: Vec<ConnId> = ctx.connections().filter(|&o| o != id).collect();
                for other in others {
                    if let Err(e) = ctx.close(other, CloseCode(code), reason) {
                        let _ = self.tx.send(Ev::Error(other, format!("close: {e}")));
                    }
                }
            }
            "ping" => {
                let payload = cmd.strip_prefix("ping:").unwrap_or_default();
                if let Err(e) = ctx.send_ping(id, payload.as_bytes()) {
                    let _ = self.tx.send(Ev::Error(id, format!("ping: {e}")));
                }
            }
            "broadcast" => {
                let text = cmd.strip_prefix("broadcast:").unwrap_or_default();
                let message = PreparedMessage::text(text, 1000);
                let ids: Vec<ConnId> = ctx.connections().collect();
                let n = ctx.broadcast(ids, &message);
                let _ = self.tx.send(Ev::Broadcast(n));
            }
            "flood" => {
                let count = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
                let size = parts.next().and_then(|c| c.parse().ok()).unwrap_or(4);
                self.floods.insert(
                    id,
                    Flood {
                        remaining: count,
                        size,
                        seq: 0,
                    },
                );
                self.pump(ctx, id);
            }
            "stop" => ctx.stop(),
            other => {
                let _ = self
                    .tx
                    .send(Ev::Error(id, format!("unknown command {other}")));
            }
        }
    }
}

impl Handler for TestServer {
    fn on_request(&mut self, _ctx: &mut Ctx<'_>, id: ConnId, request: &Request) -> Decision {
        let path = request.path().to_owned();
        let _ = self.tx.send(Ev::Request {
            id,
            path: path.clone(),
            protocols: request.protocols().to_vec(),
        });
        let decision = match path.as_str() {
            "/reject" => Decision::Reject {
                status: 403,
                reason: "forbidden".into(),
            },
            "/badproto" => Decision::accept_protocol("not-offered"),
            // Compression chosen per connection (RFC 7692 §5).
            "/deflate-off" => Decision::accept().with_deflate(DeflateChoice::Off),
            "/deflate-lean" => Decision::accept().with_deflate(DeflateChoice::With(lean_deflate())),
            _ => Decision::Accept {
                protocol: request
                    .choose_subprotocol(&["chat", "superchat"])
                    .map(str::to_owned),
                deflate: DeflateChoice::Configured,
            },
        };
        self.paths.insert(id, path);
        decision
    }

    fn on_http(&mut self, _ctx: &mut Ctx<'_>, id: ConnId, request: &Request) -> HttpResponse {
        let _ = self.tx.send(Ev::Http(id, request.path().to_owned()));
        if request.path() == "/" {
            HttpResponse::ok("text/html; charset=utf-8", PAGE)
        } else {
            HttpResponse::not_found()
        }
    }

    fn on_open(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: ConnId,
        _response: Option<&ws6455::proto::Response>,
    ) {
        self.stats.opened.fetch_add(1, Ordering::SeqCst);
        let _ = self.tx.send(Ev::Open(id));
        if self.paths.get(&id).map(String::as_str) == Some("/close-on-open") {
            if let Err(e) = ctx.close(id, CloseCode(4001), "server first") {
                let _ = self.tx.send(Ev::Error(id, format!("close on open: {e}")));
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        if let Message::Text(t) = message {
            if let Some(cmd) = t.strip_prefix("cmd:") {
                let _ = self.tx.send(Ev::Text(id, t.to_owned()));
                self.command(ctx, id, cmd);
                return;
            }
        }
        if self.record_payloads {
            let _ = self.tx.send(match message {
                Message::Text(t) => Ev::Text(id, t.to_owned()),
                Message::Binary(b) => Ev::Binary(id, b.to_vec()),
            });
        }
        let sent = match message {
            Message::Text(t) => ctx.send_text(id, t),
            Message::Binary(b) => ctx.send_binary(id, b),
        };
        match sent {
            Ok(()) => self.note_buffered(ctx, id),
            Err(UsageError::BufferFull) => {
                self.stats.buffer_full.fetch_add(1, Ordering::SeqCst);
                let _ = self.tx.send(Ev::BufferFull(id));
            }
            Err(e) => {
                let _ = self.tx.send(Ev::Error(id, format!("echo: {e}")));
            }
        }
    }

    fn on_ping(&mut self, _ctx: &mut Ctx<'_>, id: ConnId, payload: &[u8]) {
        let _ = self.tx.send(Ev::Ping(id, payload.to_vec()));
    }

    fn on_pong(&mut self, _ctx: &mut Ctx<'_>, id: ConnId, payload: &[u8]) {
        let _ = self.tx.send(Ev::Pong(id, payload.to_vec()));
    }

    fn on_close(&mut self, _ctx: &mut Ctx<'_>, id: ConnId, code: Option<CloseCode>, reason: &str) {
        let _ = self
            .tx
            .send(Ev::Close(id, code.map(|c| c.0), reason.to_owned()));
    }

    fn on_error(&mut self, _ctx: &mut Ctx<'_>, id: ConnId, error: &ConnError) {
        let _ = self.tx.send(Ev::Error(id, error.to_string()));
    }

    fn on_writable(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        let _ = self.tx.send(Ev::Writable(id));
        self.pump(ctx, id);
    }

    fn on_closed(&mut self, _ctx: &mut Ctx<'_>, id: ConnId, code: CloseCode, clean: bool) {
        self.stats.closed.fetch_add(1, Ordering::SeqCst);
        self.paths.remove(&id);
        self.floods.remove(&id);
        let _ = self.tx.send(Ev::Closed(id, code.0, clean));
    }

    fn on_shutdown(&mut self, _ctx: &mut Ctx<'_>) {
        let _ = self.tx.send(Ev::Shutdown);
    }
}

/// A running test server and what it reports.
pub struct Served {
    /// The running server (dropping it shuts it down).
    pub server: RunningServer,
    /// What its handler saw.
    pub events: Events,
    /// Its counters.
    pub stats: Arc<Stats>,
}

impl Served {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// A `ws://` URL for `path` on it.
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{}", self.server.local_addr(), path)
    }
}

/// Start a [`TestServer`] on 127.0.0.1, port chosen by the OS.
pub fn serve(config: Config) -> Served {
    serve_with(config, true)
}

/// Like [`serve`]; `record_payloads` false keeps echoed messages out of
/// the event stream (for tests that move many or large messages).
pub fn serve_with(config: Config, record_payloads: bool) -> Served {
    let (tx, rx) = mpsc::channel();
    let stats = Arc::new(Stats::default());
    let shared = stats.clone();
    let server = Server::new()
        .config(config)
        .bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0")
        .spawn(move || TestServer {
            tx: tx.clone(),
            stats: shared.clone(),
            paths: HashMap::new(),
            floods: HashMap::new(),
            record_payloads,
        });
    Served {
        server,
        events: Events(rx),
        stats,
    }
}

/// The server's event stream, read with deadlines.
pub struct Events(pub Receiver<Ev>);

impl Events {
    /// The next event; panics if none comes within [`MUST`].
    pub fn next(&self) -> Ev {
        match self.0.recv_timeout(MUST) {
            Ok(ev) => ev,
            Err(RecvTimeoutError::Timeout) => panic!("no server event within {MUST:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the server is gone"),
        }
    }

    /// Skip events until one matches; panics after [`MUST`].
    pub fn wait(&self, what: &str, pred: impl Fn(&Ev) -> bool) -> Ev {
        let deadline = Instant::now() + MUST;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.0.recv_timeout(left) {
                Ok(ev) if pred(&ev) => return ev,
                Ok(_) => {}
                Err(_) => panic!("no server event {what} within {MUST:?}"),
            }
        }
    }

    /// Every event up to and including the `Closed` of one connection
    /// (the first connection to close, if `id` is `None`).
    pub fn until_closed(&self, id: Option<ConnId>) -> Vec<Ev> {
        let mut seen = Vec::new();
        loop {
            let ev = self.next();
            let done = matches!(ev, Ev::Closed(c, _, _) if id.is_none_or(|id| id == c));
            seen.push(ev);
            if done {
                return seen;
            }
        }
    }

    /// Whatever has arrived so far, without waiting.
    pub fn drain(&self) -> Vec<Ev> {
        self.0.try_iter().collect()
    }
}

// ----- client event loops -----------------------------------------------

/// Run a client event loop on its own thread with `handler`, after
/// connecting to every `(url, options)`; returns the handler and the ids
/// of those connections once `run` returns. Panics (after shutting the
/// loop down) if that takes longer than 60 s.
pub fn run_client<H>(
    config: Config,
    connects: Vec<(String, ConnectOptions)>,
    handler: H,
) -> (H, Vec<ConnId>)
where
    H: Handler + Send + 'static,
{
    let (handle_tx, handle_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let mut handler = handler;
    std::thread::spawn(move || {
        let mut ev = EventLoop::new(config).expect("event loop");
        let ids: Vec<ConnId> = connects
            .iter()
            .map(|(url, options)| ev.connect(url, options).expect("connect"))
            .collect();
        let _ = handle_tx.send(ev.shutdown_handle());
        let result = ev.run(&mut handler);
        let _ = done_tx.send((result, handler, ids));
    });
    let limit = Duration::from_secs(60);
    let handle = handle_rx
        .recv_timeout(MUST)
        .expect("the client loop started");
    match done_rx.recv_timeout(limit) {
        Ok((result, handler, ids)) => {
            result.expect("the client loop ran");
            (handler, ids)
        }
        Err(RecvTimeoutError::Timeout) => {
            handle.shutdown();
            panic!("the client event loop did not finish within {limit:?}");
        }
        Err(RecvTimeoutError::Disconnected) => panic!("the client loop's thread panicked"),
    }
}

/// The process's soft limit on open files, from /proc (Linux), if known.
pub fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line.split_whitespace().nth(3)?;
    if soft == "unlimited" {
        return Some(usize::MAX);
    }
    soft.parse().ok()
}

/// How many loopback connections (two descriptors each, both ends in this
/// process) fit under the open-files limit, up to `wanted`.
pub fn connections_that_fit(wanted: usize) -> usize {
    match open_files_limit() {
        Some(limit) => wanted.min(limit.saturating_sub(128) / 2),
        None => wanted,
    }
}

/// What a [`Recorder`] calls for each event.
pub type Hook = Box<dyn FnMut(&mut Ctx<'_>, ConnId, &ClientEv) + Send>;

/// A client handler that records every callback as a [`ClientEv`] and
/// lets the test react to each one through a hook (called before the
/// event is recorded).
pub struct Recorder {
    /// Every callback so far, in order.
    pub events: Vec<ClientEv>,
    hook: Hook,
}

impl Recorder {
    /// A recorder that calls `hook` on each event before recording it.
    pub fn new(hook: impl FnMut(&mut Ctx<'_>, ConnId, &ClientEv) + Send + 'static) -> Self {
        Recorder {
            events: Vec::new(),
            hook: Box::new(hook),
        }
    }

    /// A recorder that only watches.
    pub fn passive() -> Self {
        Recorder::new(|_, _, _| {})
    }

    fn note(&mut self, ctx: &mut Ctx<'_>, id: ConnId, ev: ClientEv) {
        (self.hook)(ctx, id, &ev);
        self.events.push(ev);
    }

    /// The events of one connection.
    pub fn of(&self, id: ConnId) -> Vec<ClientEv> {
        self.events
            .iter()
            .filter(|e| e.id() == id)
            .cloned()
            .collect()
    }
}

impl ClientEv {
    /// The connection the event belongs to.
    pub fn id(&self) -> ConnId {
        match self {
            ClientEv::Open(id, _)
            | ClientEv::Text(id, _)
            | ClientEv::Binary(id, _)
            | ClientEv::Ping(id, _)
            | ClientEv::Pong(id, _)
            | ClientEv::Close(id, _, _)
            | ClientEv::Error(id, _)
            | ClientEv::Closed(id, _, _) => *id,
        }
    }
}

impl Handler for Recorder {
    fn on_open(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: ConnId,
        response: Option<&ws6455::proto::Response>,
    ) {
        let protocol = response.and_then(|r| r.protocol()).map(str::to_owned);
        self.note(ctx, id, ClientEv::Open(id, protocol));
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        let ev = match message {
            Message::Text(t) => ClientEv::Text(id, t.to_owned()),
            Message::Binary(b) => ClientEv::Binary(id, b.to_vec()),
        };
        self.note(ctx, id, ev);
    }

    fn on_ping(&mut self, ctx: &mut Ctx<'_>, id: ConnId, payload: &[u8]) {
        self.note(ctx, id, ClientEv::Ping(id, payload.to_vec()));
    }

    fn on_pong(&mut self, ctx: &mut Ctx<'_>, id: ConnId, payload: &[u8]) {
        self.note(ctx, id, ClientEv::Pong(id, payload.to_vec()));
    }

    fn on_close(&mut self, ctx: &mut Ctx<'_>, id: ConnId, code: Option<CloseCode>, reason: &str) {
        let ev = ClientEv::Close(id, code.map(|c| c.0), reason.to_owned());
        self.note(ctx, id, ev);
    }

    fn on_error(&mut self, ctx: &mut Ctx<'_>, id: ConnId, error: &ConnError) {
        self.note(ctx, id, ClientEv::Error(id, error.to_string()));
    }

    fn on_closed(&mut self, ctx: &mut Ctx<'_>, id: ConnId, code: CloseCode, clean: bool) {
        self.note(ctx, id, ClientEv::Closed(id, code.0, clean));
    }
}

// ----- a recording client handler ---------------------------------------

/// What a client handler saw, for tests that only need to watch.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // one variant per `Handler` callback, named alike
pub enum ClientEv {
    Open(ConnId, Option<String>),
    Text(ConnId, String),
    Binary(ConnId, Vec<u8>),
    Ping(ConnId, Vec<u8>),
    Pong(ConnId, Vec<u8>),
    Close(ConnId, Option<u16>, String),
    Error(ConnId, String),
    Closed(ConnId, u16, bool),
}
