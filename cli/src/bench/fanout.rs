//! Fan-out: C subscribers on `<url>/subscribe`, one publisher on
//! `<url>/publish` keeping `--window` messages in flight (it publishes
//! the next one once the subscribers have received all but `window` of the
//! messages sent). Counts deliveries and their publish-to-delivery latency.
//!
//! With `--subscribe-url` (repeated) the subscribers are spread round robin
//! over several servers (which must relay among themselves, through a
//! broker), the publisher staying on `--url`. With `--socketio` every
//! connection speaks Socket.IO instead (see [`super::socketio`]): it
//! counts as open once the server has let it into the default namespace,
//! the publisher emits `publish` events and a delivery is an event the
//! server emits; the window, the sequence numbers and the latencies are
//! the same.

use std::io;
use std::time::{Duration, Instant};

use ws6455::proto::Response;
use ws6455::CloseCode;
use ws6455::{ConnError, ConnId, ConnectOptions, Ctx, EventLoop, Handler, Message};

use super::echo::{client_config, Opener};
use super::hist::Histogram;
use super::socketio::{self, Packet};
use super::{json_str, Args, Measured, Progress, Report, Window};

const TICK: u64 = 1;
const PHASE: u64 = 2;
/// Send times kept for latency, indexed by sequence number modulo this.
const RING: usize = 4096;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Opening,
    Publisher,
    Warmup,
    Measure,
    Done,
}

struct Fanout {
    args: Args,
    publish_url: String,
    opener: Opener,
    phase: Phase,
    publisher: Option<ConnId>,
    body: Vec<u8>,
    sent: u64,
    sent_at: Box<[Option<Instant>; RING]>,
    delivered: u64,
    delivered_at_tick: u64,
    stalls: u64,
    lost: u64,
    count: u64,
    hist: Histogram,
    window: Option<Window>,
    measured: Option<Measured>,
    sent_at_start: u64,
    ticking: bool,
    progress: Progress,
    /// `--socketio`: Socket.IO framing, and the publish event's text.
    socketio: bool,
    frame: String,
}

impl Fanout {
    fn alive(&self) -> u64 {
        (self.opener.total as u64).saturating_sub(self.lost)
    }

    /// Publish while fewer than `window` messages are undelivered.
    fn pump(&mut self, ctx: &mut Ctx<'_>) {
        let window = self.args.window.max(1) as u64;
        while matches!(self.phase, Phase::Warmup | Phase::Measure)
            && (self.sent < window
                || self.delivered >= (self.sent - window).saturating_mul(self.alive()))
        {
            if !self.publish(ctx) {
                break;
            }
        }
    }

    fn publish(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let Some(publisher) = self.publisher else {
            return false;
        };
        let seq = self.sent;
        let head = format!("{seq:016x}");
        self.body[..16].copy_from_slice(head.as_bytes());
        let text = std::str::from_utf8(&self.body).unwrap_or("");
        let sent = if self.socketio {
            socketio::publish_into(&mut self.frame, text);
            ctx.send_text(publisher, &self.frame)
        } else {
            ctx.send_text(publisher, text)
        };
        if sent.is_err() {
            return false;
        }
        self.sent_at[seq as usize % RING] = Some(Instant::now());
        self.sent += 1;
        true
    }

    fn ensure_ticking(&mut self, ctx: &mut Ctx<'_>) {
        if !self.ticking {
            self.ticking = true;
            ctx.set_timer(Duration::from_secs(1), TICK);
        }
    }

    /// Connection `id` is ready: its WebSocket is open, and with
    /// `--socketio` it has joined the default namespace. While opening,
    /// start the next subscriber, or once all are ready the publisher;
    /// once the publisher is ready, start the warm-up.
    fn ready(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        match self.phase {
            Phase::Opening => {
                self.opener.next(ctx);
                if self.opener.all_open() {
                    self.phase = Phase::Publisher;
                    let url = self.publish_url.clone();
                    match ctx.connect(&url, &self.opener.options) {
                        Ok(p) => self.publisher = Some(p),
                        Err(e) => self.opener.fail(ctx, format!("cannot connect {url}: {e}")),
                    }
                }
            }
            Phase::Publisher if Some(id) == self.publisher => {
                self.phase = Phase::Warmup;
                ctx.set_timer(Duration::from_secs_f64(self.args.warmup.max(0.0)), PHASE);
                self.pump(ctx);
            }
            _ => {}
        }
    }

    /// A Socket.IO packet on connection `id`: answer the handshake and
    /// pings, note who joined, count deliveries; ignore the rest.
    fn on_socketio(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: &[u8]) {
        match socketio::parse(message) {
            Packet::Open => {
                let _ = ctx.send_text(id, socketio::CONNECT);
            }
            Packet::Ping(data) => {
                let _ = ctx.send_text(id, &socketio::pong(data));
            }
            Packet::Connected => self.ready(ctx, id),
            Packet::ConnectError(why)
                if matches!(self.phase, Phase::Opening | Phase::Publisher) =>
            {
                let why = String::from_utf8_lossy(why).into_owned();
                self.opener.fail(
                    ctx,
                    format!("connection {id}: the Socket.IO server refused to connect: {why}"),
                );
            }
            Packet::Event(_) if Some(id) != self.publisher => {
                self.deliver(ctx, socketio::delivery_payload(message).unwrap_or_default());
            }
            _ => {}
        }
    }

    /// A subscriber received a published message whose payload is
    /// `payload` (16 hex digits of sequence number first).
    fn deliver(&mut self, ctx: &mut Ctx<'_>, payload: &[u8]) {
        if self.phase == Phase::Done {
            return;
        }
        let now = Instant::now();
        let seq = payload
            .get(..16)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u64::from_str_radix(h, 16).ok());
        self.delivered += 1;
        if self.phase == Phase::Measure {
            self.count += 1;
            if let Some(sent) = seq
                .filter(|&s| s + RING as u64 > self.sent)
                .and_then(|s| self.sent_at[s as usize % RING])
            {
                self.hist.record(now.duration_since(sent).as_nanos() as u64);
            }
        }
        self.pump(ctx);
    }
}

impl Handler for Fanout {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, id: ConnId, _: Option<&Response>) {
        self.ensure_ticking(ctx);
        // A Socket.IO connection is ready only once it has joined.
        if !self.socketio {
            self.ready(ctx, id);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        if self.socketio {
            self.on_socketio(ctx, id, message.as_bytes());
        } else if Some(id) != self.publisher {
            self.deliver(ctx, message.as_bytes());
        }
    }

    fn on_error(&mut self, ctx: &mut Ctx<'_>, id: ConnId, error: &ConnError) {
        self.ensure_ticking(ctx);
        if matches!(self.phase, Phase::Opening | Phase::Publisher) {
            self.opener.fail(
                ctx,
                format!("connection {id} failed while opening: {error}"),
            );
        }
    }

    fn on_closed(&mut self, ctx: &mut Ctx<'_>, id: ConnId, code: CloseCode, _: bool) {
        match self.phase {
            Phase::Opening | Phase::Publisher => self.opener.fail(
                ctx,
                format!("connection {id} closed while opening ({code})"),
            ),
            Phase::Warmup | Phase::Measure => {
                if Some(id) == self.publisher {
                    self.opener
                        .fail(ctx, format!("the publisher's connection closed ({code})"));
                } else {
                    self.lost += 1;
                }
            }
            Phase::Done => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, token: u64) {
        match token {
            TICK if self.phase != Phase::Done => {
                ctx.set_timer(Duration::from_secs(1), TICK);
                if matches!(self.phase, Phase::Opening | Phase::Publisher) {
                    self.opener.check_timeout(ctx);
                } else if self.delivered == self.delivered_at_tick {
                    // Some subscriber's copy was dropped (its buffer was
                    // full): do not wait for it forever.
                    self.stalls += 1;
                    self.publish(ctx);
                }
                self.delivered_at_tick = self.delivered;
                let detail = format!(
                    "{}/{} subscribers open",
                    self.opener.opened, self.opener.total
                );
                self.progress.tick("fanout", self.delivered, &detail);
            }
            PHASE => match self.phase {
                Phase::Warmup => {
                    self.phase = Phase::Measure;
                    self.hist.clear();
                    self.count = 0;
                    self.sent_at_start = self.sent;
                    self.window = Some(Window::start(&self.args.server_pid));
                    ctx.set_timer(Duration::from_secs_f64(self.args.duration.max(0.1)), PHASE);
                }
                Phase::Measure => {
                    self.measured = self.window.as_ref().map(Window::finish);
                    self.phase = Phase::Done;
                    ctx.stop();
                }
                _ => {}
            },
            _ => {}
        }
    }
}

/// The URL a subscriber (`publish` false) or the publisher connects to on
/// the server whose base URL is `base`.
fn endpoint(base: &str, socketio: bool, publish: bool) -> String {
    if socketio {
        return socketio::url(base);
    }
    let base = base.trim_end_matches('/');
    format!("{base}/{}", if publish { "publish" } else { "subscribe" })
}

pub fn run(args: &Args, options: ConnectOptions) -> io::Result<()> {
    let bases = if args.subscribe_url.is_empty() {
        std::slice::from_ref(&args.url)
    } else {
        &args.subscribe_url[..]
    };
    let subscribe_urls = bases
        .iter()
        .map(|b| endpoint(b, args.socketio, false))
        .collect();
    let mut ev = EventLoop::new(client_config(args.size, false))?;
    let mut f = Fanout {
        args: args.clone(),
        publish_url: endpoint(&args.url, args.socketio, true),
        opener: Opener::new(args, subscribe_urls, options),
        phase: Phase::Opening,
        publisher: None,
        body: b"x".repeat(args.size.max(16)),
        sent: 0,
        sent_at: Box::new([None; RING]),
        delivered: 0,
        delivered_at_tick: 0,
        stalls: 0,
        lost: 0,
        count: 0,
        hist: Histogram::default(),
        window: None,
        measured: None,
        sent_at_start: 0,
        ticking: false,
        progress: Progress::new(),
        socketio: args.socketio,
        frame: String::new(),
    };
    f.opener.start(&mut ev, args.ramp)?;
    ev.run(&mut f)?;
    f.progress.done();
    if let Some(e) = f.opener.error.take() {
        return Err(io::Error::other(e));
    }
    let measured = f
        .measured
        .take()
        .ok_or_else(|| io::Error::other("the run ended before the measurement"))?;
    let mut extra = vec![
        ("published", (f.sent - f.sent_at_start).to_string()),
        ("window", args.window.to_string()),
    ];
    if f.stalls > 0 {
        extra.push(("stalls", f.stalls.to_string()));
    }
    if f.lost > 0 {
        extra.push(("subscribers_lost", f.lost.to_string()));
    }
    if args.socketio {
        extra.push(("protocol", json_str("socketio")));
    }
    if !args.subscribe_url.is_empty() {
        let urls: Vec<String> = args.subscribe_url.iter().map(|u| json_str(u)).collect();
        extra.push(("subscribe_urls", format!("[{}]", urls.join(","))));
    }
    Report {
        mode: "fanout",
        args: args.clone(),
        unit: "deliveries",
        count: f.count,
        latency: f.hist.percentiles(),
        measured,
        extra,
    }
    .print();
    Ok(())
}
