//! `ws6455 connect URL`: an interactive client in the spirit of wscat and
//! websocat. Each stdin line goes out as a message; whatever arrives is
//! printed with a timestamp; EOF on stdin closes with 1000 and waits for
//! the closing handshake.
//!
//! It runs on the event loop, not the blocking adapter: the connection
//! must react to the network (print messages, answer pings, time
//! heartbeats) while stdin may block for ever, and the blocking
//! `WebSocket` cannot read and send from two threads at once. So a thread
//! reads stdin and hands each line to the loop through a [`Remote`]; lines
//! wait in an [`Outbox`] while the connection's output buffer is full, and
//! the reader waits when the outbox is, so piping a large file in never
//! grows memory without bound.
//!
//! `wss://` URLs go over TLS: the server's certificate must chain to the
//! public roots, or to `--ca FILE`; `--insecure` skips the check. What
//! `--trace` shows are the WebSocket frames inside TLS, after decryption.
//!
//! Received messages, pings, pongs and the peer's close go to stdout;
//! connection news and `--trace` lines to the log on stderr (`-q` leaves
//! only errors there). Exit status: 0 after a
//! clean close, 1 after an unclean one or a protocol error, 2 if the
//! connection could not be made (a certificate that is not trusted, or a
//! `--ca` file that cannot be used, included).

use std::collections::VecDeque;
use std::io::{self, BufRead};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ws6455::proto::deflate::DeflateConfig;
use ws6455::proto::{FrameTrace, Response};
use ws6455::{CloseCode, Config, UsageError};
use ws6455::{ConnError, ConnId, ConnectOptions, Ctx, EventLoop, Handler, Message, Remote};
use ws6455_describe::hex;
use ws6455_describe::TraceLine;

use crate::log::timestamp;
use crate::tls_args::ClientTls;

/// Options of `ws6455 connect`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The server's ws:// or wss:// URL.
    pub url: String,
    /// Send each stdin line as a binary message instead of text (in text
    /// mode, bytes that are not UTF-8 are replaced by U+FFFD).
    #[arg(long)]
    pub binary: bool,
    /// Send a ping every SECS seconds and print each pong's round-trip time.
    #[arg(long, value_name = "SECS")]
    pub ping: Option<f64>,
    /// Offer this subprotocol (repeatable, most preferred first).
    #[arg(long = "subprotocol", value_name = "P")]
    pub subprotocols: Vec<String>,
    /// Add a request header, as 'Name: value' (repeatable).
    #[arg(long = "header", value_name = "'K: V'")]
    pub headers: Vec<String>,
    /// Send an Origin header, as a browser would.
    #[arg(long)]
    pub origin: Option<String>,
    /// Print every frame in (←) and out (→) on stderr.
    #[arg(long)]
    pub trace: bool,
    /// Do not offer permessage-deflate (RFC 7692) compression.
    #[arg(long)]
    pub no_deflate: bool,
    /// wss://: which certificates to trust.
    #[command(flatten)]
    pub tls: ClientTls,
}

const CLEAN: u8 = 0;
const UNCLEAN: u8 = 1;
const NOT_CONNECTED: u8 = 2;

/// Lines read from stdin and not yet handed to the connection.
const OUTBOX_LINES: usize = 1024;
const PING_TIMER: u64 = 1;

/// Lines between the stdin thread and the loop.
#[derive(Default)]
struct Outbox {
    state: Mutex<OutboxState>,
    room: Condvar,
}

#[derive(Default)]
struct OutboxState {
    lines: VecDeque<Vec<u8>>,
    /// stdin ended: close once every line is sent.
    eof: bool,
    /// The connection can take no more; the reader stops.
    done: bool,
    close_sent: bool,
}

impl Outbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, OutboxState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Called on the loop: send what the connection takes, then the close
    /// after the last line.
    fn flush(&self, ctx: &mut Ctx<'_>, id: ConnId, binary: bool) {
        let mut state = self.lock();
        while let Some(line) = state.lines.front() {
            let sent = if binary {
                ctx.send_binary(id, line)
            } else {
                ctx.send_text(id, &String::from_utf8_lossy(line))
            };
            match sent {
                Ok(()) => {
                    state.lines.pop_front();
                }
                // `on_writable` calls again once there is room.
                Err(UsageError::BufferFull) => break,
                Err(_) => {
                    state.lines.clear();
                    state.done = true;
                }
            }
        }
        if state.eof && state.lines.is_empty() && !state.close_sent && !state.done {
            state.close_sent = true;
            let _ = ctx.close(id, CloseCode::NORMAL, "");
        }
        self.room.notify_all();
    }
}

/// Reads stdin line by line into the outbox, posting a flush for each.
fn read_stdin(outbox: Arc<Outbox>, remote: Remote, id: ConnId, binary: bool) {
    let post = |remote: &Remote, outbox: &Arc<Outbox>| {
        let outbox = outbox.clone();
        remote
            .send(move |ctx| outbox.flush(ctx, id, binary))
            .is_ok()
    };
    let mut stdin = io::stdin().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = stdin.read_until(b'\n', &mut line);
        if !matches!(read, Ok(n) if n > 0) {
            break;
        }
        while line.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
            line.pop();
        }
        {
            let mut state = outbox.lock();
            while state.lines.len() >= OUTBOX_LINES && !state.done {
                state = outbox
                    .room
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.done {
                return;
            }
            state.lines.push_back(line.clone());
        }
        if !post(&remote, &outbox) {
            return;
        }
    }
    outbox.lock().eof = true;
    post(&remote, &outbox);
}

struct Client {
    id: ConnId,
    url: String,
    binary: bool,
    ping: Option<Duration>,
    trace: bool,
    remote: Remote,
    outbox: Arc<Outbox>,
    opened: bool,
    failed: bool,
    clean: bool,
    pings: VecDeque<(u64, Instant)>,
    next_ping: u64,
}

impl Handler for Client {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, id: ConnId, response: Option<&Response>) {
        self.opened = true;
        let protocol = response
            .and_then(Response::protocol)
            .map(|p| format!(" (subprotocol {p})"))
            .unwrap_or_default();
        let extensions = response
            .and_then(Response::extensions)
            .filter(|e| !e.is_empty())
            .map(|e| format!(" (extensions: {e})"))
            .unwrap_or_default();
        log::info!("connected to {}{protocol}{extensions}", self.url);
        let (outbox, remote, binary) = (self.outbox.clone(), self.remote.clone(), self.binary);
        std::thread::spawn(move || read_stdin(outbox, remote, id, binary));
        if let Some(every) = self.ping {
            ctx.set_timer(every, PING_TIMER);
        }
    }

    fn on_message(&mut self, _: &mut Ctx<'_>, _: ConnId, message: Message<'_>) {
        match message {
            Message::Text(text) => println!("{} < text: {text}", timestamp()),
            Message::Binary(data) => println!(
                "{} < binary ({} bytes): {}",
                timestamp(),
                data.len(),
                short_hex(data)
            ),
        }
    }

    fn on_ping(&mut self, _: &mut Ctx<'_>, _: ConnId, payload: &[u8]) {
        println!("{} < ping{}", timestamp(), payload_suffix(payload));
    }

    fn on_pong(&mut self, ctx: &mut Ctx<'_>, _: ConnId, payload: &[u8]) {
        let seq = <[u8; 8]>::try_from(payload).ok().map(u64::from_be_bytes);
        let sent = seq.and_then(|seq| {
            let at = self.pings.iter().position(|(s, _)| *s == seq)?;
            // Pongs answer pings in order; older unanswered ones are lost.
            let (_, sent) = self.pings.drain(..=at).next_back()?;
            Some(sent)
        });
        match sent {
            Some(sent) => {
                let rtt = ctx.now().saturating_duration_since(sent);
                println!(
                    "{} < pong rtt={:.3} ms",
                    timestamp(),
                    rtt.as_secs_f64() * 1000.0
                );
            }
            None => println!("{} < pong{}", timestamp(), payload_suffix(payload)),
        }
    }

    fn on_close(&mut self, _: &mut Ctx<'_>, _: ConnId, code: Option<CloseCode>, reason: &str) {
        let code = code.map_or_else(|| "without a code".to_owned(), |c| c.to_string());
        let reason = if reason.is_empty() {
            String::new()
        } else {
            format!(" {reason:?}")
        };
        println!("{} < close {code}{reason}", timestamp());
        self.outbox.lock().done = true;
        self.outbox.room.notify_all();
    }

    fn on_error(&mut self, _: &mut Ctx<'_>, _: ConnId, error: &ConnError) {
        if self.opened {
            self.failed = true;
            eprintln!("{} error: {error}", timestamp());
        } else {
            eprintln!(
                "{} cannot connect to {}: {error}{}",
                timestamp(),
                self.url,
                certificate_hint(error)
            );
        }
    }

    fn on_writable(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        self.outbox.flush(ctx, id, self.binary);
    }

    fn on_closed(&mut self, ctx: &mut Ctx<'_>, _: ConnId, code: CloseCode, clean: bool) {
        self.clean = clean;
        if self.opened {
            log::info!(
                "closed: {code}, {}",
                if clean { "clean" } else { "unclean" }
            );
        }
        // Without heartbeats the loop ends by itself once the server has
        // closed TCP, which §7.1.1 wants to happen first. A pending
        // heartbeat timer would keep it running up to one more interval,
        // so then stop now, dropping the socket without that wait.
        if self.ping.is_some() {
            ctx.stop();
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, token: u64) {
        let (Some(every), PING_TIMER) = (self.ping, token) else {
            return;
        };
        let id = self.id;
        let seq = self.next_ping;
        self.next_ping = seq.wrapping_add(1);
        if ctx.send_ping(id, &seq.to_be_bytes()).is_ok() {
            self.pings.push_back((seq, ctx.now()));
            ctx.set_timer(every, PING_TIMER);
        }
    }

    fn on_frame(&mut self, _: &mut Ctx<'_>, id: ConnId, frame: &FrameTrace) {
        if self.trace {
            log::info!("{id} {}", TraceLine(frame));
        }
    }
}

/// What to do about a server certificate that was not trusted.
fn certificate_hint(error: &ConnError) -> &'static str {
    match error {
        ConnError::Tls(ws6455::tls::rustls::Error::InvalidCertificate(_)) => {
            " (--ca FILE trusts a certificate or CA; --insecure skips the check)"
        }
        _ => "",
    }
}

/// Up to 64 bytes of hex, then how many more.
fn short_hex(data: &[u8]) -> String {
    match data.get(..64) {
        Some(head) if data.len() > 64 => format!("{} … (+{})", hex(head), data.len() - 64),
        _ => hex(data),
    }
}

fn payload_suffix(payload: &[u8]) -> String {
    if payload.is_empty() {
        return String::new();
    }
    match std::str::from_utf8(payload) {
        Ok(text) => format!(": {text:?}"),
        Err(_) => format!(": {}", short_hex(payload)),
    }
}

fn options(args: &Args) -> Result<ConnectOptions, String> {
    let mut headers = Vec::new();
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| format!("--header {header:?}: expected 'Name: value'"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut options = ConnectOptions::default();
    options.protocols.clone_from(&args.subprotocols);
    options.headers = headers;
    options.origin.clone_from(&args.origin);
    options.tls = args.tls.config(&args.url).map_err(|e| e.to_string())?;
    Ok(options)
}

/// Connect, talk until the connection ends, and exit 0 (clean close), 1
/// (unclean close or protocol error) or 2 (no connection).
pub fn run(args: Args) -> ExitCode {
    match converse(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("ws6455 connect: {e}");
            ExitCode::from(NOT_CONNECTED)
        }
    }
}

fn converse(args: Args) -> Result<u8, String> {
    let ping = match args.ping {
        Some(secs) if secs.is_finite() && secs > 0.0 => Some(Duration::from_secs_f64(secs)),
        Some(_) => return Err("--ping takes a positive number of seconds".into()),
        None => None,
    };
    let options = options(&args)?;
    let config = {
        let mut config = Config::default();
        // Heartbeats are ours (--ping), so that their pongs can be timed.
        config.ping_interval = None;
        config.deflate = (!args.no_deflate).then(DeflateConfig::default);
        config
    };
    let mut event_loop = EventLoop::new(config).map_err(|e| e.to_string())?;
    event_loop.trace_frames(args.trace);
    let id = event_loop
        .connect(&args.url, &options)
        .map_err(|e| format!("{}: {e}", args.url))?;
    let remote = event_loop.remote();
    let interrupted = Arc::new(AtomicBool::new(false));
    let on_ctrl_c = remote.clone();
    // First Ctrl-C: close politely; second: give up.
    let _ = ctrlc::set_handler(move || {
        if interrupted.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(UNCLEAN));
        }
        let _ = on_ctrl_c.send(move |ctx| {
            let _ = ctx.close(id, CloseCode::NORMAL, "");
        });
    });
    let mut client = Client {
        id,
        url: args.url,
        binary: args.binary,
        ping,
        trace: args.trace,
        remote,
        outbox: Arc::default(),
        opened: false,
        failed: false,
        clean: false,
        pings: VecDeque::new(),
        next_ping: 0,
    };
    event_loop.run(&mut client).map_err(|e| e.to_string())?;
    Ok(match (client.opened, client.failed || !client.clean) {
        (false, _) => NOT_CONNECTED,
        (true, true) => UNCLEAN,
        (true, false) => CLEAN,
    })
}
