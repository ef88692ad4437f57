//! The closed-loop echo load: every connection keeps one message in flight.

use std::collections::HashMap;
use std::io;
use std::time::{Duration, Instant};

use ws6455::proto::deflate::DeflateConfig;
use ws6455::proto::Response;
use ws6455::{CloseCode, Config};
use ws6455::{ConnError, ConnId, ConnectOptions, Ctx, EventLoop, Handler, Message};

use super::hist::Histogram;
use super::{Args, Measured, Progress, Report, Window};

const TICK: u64 = 1;
const PHASE: u64 = 2;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Opening,
    Warmup,
    Measure,
    Done,
}

/// The client config of every generator: no heartbeats (they would add
/// traffic), room for the largest message asked for; with `deflate`, an
/// offer of permessage-deflate that compresses every message.
pub fn client_config(size: usize, deflate: bool) -> Config {
    let limit = (size as u64).max(16 << 20);
    {
        let mut config = Config::default();
        config.ping_interval = None;
        config.max_message_size = limit;
        config.max_frame_size = limit;
        config.max_output_buffer = size.saturating_mul(2).max(1 << 20);
        config.deflate = deflate.then(|| {
            let mut deflate = DeflateConfig::default();
            deflate.threshold = 0;
            deflate
        });
        config
    }
}

/// With `--deflate`, a server that declined the offer is an error: the
/// figures would silently be of uncompressed traffic.
pub fn check_agreed(args: &Args, response: Option<&Response>) -> Result<(), String> {
    let agreed = response
        .and_then(Response::extensions)
        .is_some_and(|e| e.to_ascii_lowercase().contains("permessage-deflate"));
    if args.deflate && !agreed {
        return Err("--deflate: the server did not agree to permessage-deflate".to_owned());
    }
    Ok(())
}

/// Opens connections `ramp` at a time: one more for each that opens,
/// spread round robin over `urls`.
pub struct Opener {
    /// Where connections go: the n-th started to `urls[n % urls.len()]`.
    pub urls: Vec<String>,
    /// For every connection (`--ca`, `--insecure`).
    pub options: ConnectOptions,
    pub total: usize,
    pub started: usize,
    pub opened: usize,
    pub began: Instant,
    pub timeout: Duration,
    pub error: Option<String>,
}

impl Opener {
    /// An opener of `args.connections` connections over `urls` (at least
    /// one).
    pub fn new(args: &Args, urls: Vec<String>, options: ConnectOptions) -> Self {
        Opener {
            urls,
            options,
            total: args.connections,
            started: 0,
            opened: 0,
            began: Instant::now(),
            timeout: Duration::from_secs_f64(args.connect_timeout.max(0.1)),
            error: None,
        }
    }

    /// Start the first batch before the loop runs.
    pub fn start(&mut self, ev: &mut EventLoop, ramp: usize) -> io::Result<Vec<ConnId>> {
        let mut ids = Vec::new();
        while self.started < self.total.min(ramp.max(1)) {
            ids.push(
                ev.connect(self.url_of(self.started), &self.options)
                    .map_err(io::Error::other)?,
            );
            self.started += 1;
        }
        Ok(ids)
    }

    /// One connection opened: start the next. Returns the new id, if any.
    pub fn next(&mut self, ctx: &mut Ctx<'_>) -> Option<ConnId> {
        self.opened += 1;
        if self.started >= self.total {
            return None;
        }
        let n = self.started;
        self.started += 1;
        match ctx.connect(self.url_of(n), &self.options) {
            Ok(id) => Some(id),
            Err(e) => {
                self.fail(
                    ctx,
                    format!("cannot start connection {}: {e}", self.started),
                );
                None
            }
        }
    }

    /// The URL of the `n`-th connection.
    fn url_of(&self, n: usize) -> &str {
        self.urls
            .get(n % self.urls.len().max(1))
            .map_or("", String::as_str)
    }

    pub fn all_open(&self) -> bool {
        self.opened == self.total
    }

    /// Give up: remember the first reason, stop the loop.
    pub fn fail(&mut self, ctx: &mut Ctx<'_>, why: String) {
        if self.error.is_none() {
            self.error = Some(why);
        }
        ctx.stop();
    }

    /// Called once a second while opening.
    pub fn check_timeout(&mut self, ctx: &mut Ctx<'_>) {
        if !self.all_open() && self.began.elapsed() > self.timeout {
            let why = format!(
                "only {} of {} connections opened in {:.0} s",
                self.opened,
                self.total,
                self.timeout.as_secs_f64()
            );
            self.fail(ctx, why);
        }
    }
}

/// With `--deflate`: how far into the payload pool a message may start.
const ROTATION: usize = 64 << 10;

struct Load {
    args: Args,
    /// Messages sent, to pick each one's window of the pool.
    sends: usize,
    text: String,
    binary: Vec<u8>,
    opener: Opener,
    phase: Phase,
    ids: Vec<ConnId>,
    sent_at: HashMap<ConnId, Instant>,
    hist: Histogram,
    count: u64,
    mismatched: u64,
    lost: u64,
    first_error: Option<String>,
    window: Option<Window>,
    measured: Option<Measured>,
    ticking: bool,
    progress: Progress,
}

impl Load {
    fn send(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        // With --deflate each message is a different window of a longer
        // text (same vocabulary, different bytes): identical messages
        // would let context takeover match each one whole against the
        // last, which flatters the compressor.
        let size = self.args.size;
        let start = if self.args.deflate {
            self.sends = self.sends.wrapping_add(1);
            self.sends.wrapping_mul(4099) % ROTATION
        } else {
            0
        };
        let sent = if self.args.binary {
            ctx.send_binary(id, &self.binary[start..start + size])
        } else {
            ctx.send_text(id, &self.text[start..start + size])
        };
        if sent.is_ok() {
            self.sent_at.insert(id, Instant::now());
        }
    }

    fn ensure_ticking(&mut self, ctx: &mut Ctx<'_>) {
        if !self.ticking {
            self.ticking = true;
            ctx.set_timer(Duration::from_secs(1), TICK);
        }
    }

    fn start_warmup(&mut self, ctx: &mut Ctx<'_>) {
        self.phase = Phase::Warmup;
        let ids = std::mem::take(&mut self.ids);
        for &id in &ids {
            self.send(ctx, id);
        }
        self.ids = ids;
        if self.args.warmup > 0.0 {
            ctx.set_timer(Duration::from_secs_f64(self.args.warmup), PHASE);
        } else {
            self.start_measure(ctx);
        }
    }

    fn start_measure(&mut self, ctx: &mut Ctx<'_>) {
        self.phase = Phase::Measure;
        self.hist.clear();
        self.count = 0;
        self.mismatched = 0;
        self.window = Some(Window::start(&self.args.server_pid));
        ctx.set_timer(Duration::from_secs_f64(self.args.duration.max(0.1)), PHASE);
    }

    fn finish(&mut self, ctx: &mut Ctx<'_>) {
        self.measured = self.window.as_ref().map(Window::finish);
        self.phase = Phase::Done;
        ctx.stop();
    }
}

impl Handler for Load {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, id: ConnId, response: Option<&Response>) {
        self.ensure_ticking(ctx);
        if let Err(why) = check_agreed(&self.args, response) {
            self.opener.fail(ctx, why);
            return;
        }
        self.ids.push(id);
        self.opener.next(ctx);
        if self.phase == Phase::Opening && self.opener.all_open() {
            self.start_warmup(ctx);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        let now = Instant::now();
        if self.phase == Phase::Done {
            return;
        }
        if message.as_bytes().len() != self.args.size {
            self.mismatched += 1;
        }
        if let Some(sent) = self.sent_at.get(&id) {
            // Warmup messages count too (for the progress line); the
            // count restarts with the measured window.
            self.count += 1;
            if self.phase == Phase::Measure {
                self.hist
                    .record(now.duration_since(*sent).as_nanos() as u64);
            }
        }
        self.send(ctx, id);
    }

    fn on_error(&mut self, ctx: &mut Ctx<'_>, id: ConnId, error: &ConnError) {
        self.ensure_ticking(ctx);
        if self.phase == Phase::Opening {
            self.opener.fail(
                ctx,
                format!("connection {id} failed while opening: {error}"),
            );
        } else if self.phase != Phase::Done && self.first_error.is_none() {
            self.first_error = Some(format!("connection {id}: {error}"));
        }
    }

    fn on_closed(&mut self, ctx: &mut Ctx<'_>, id: ConnId, code: CloseCode, _: bool) {
        self.ensure_ticking(ctx);
        match self.phase {
            Phase::Opening => self.opener.fail(
                ctx,
                format!("connection {id} closed while opening ({code})"),
            ),
            Phase::Warmup | Phase::Measure => {
                self.lost += 1;
                self.sent_at.remove(&id);
                if self.lost as usize == self.opener.total {
                    let why = match &self.first_error {
                        Some(e) => format!("every connection closed; the first error: {e}"),
                        None => format!("the server closed every connection ({code})"),
                    };
                    self.opener.fail(ctx, why);
                }
            }
            Phase::Done => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, token: u64) {
        match token {
            TICK if self.phase != Phase::Done => {
                ctx.set_timer(Duration::from_secs(1), TICK);
                let (phase, count) = match self.phase {
                    Phase::Opening => {
                        self.opener.check_timeout(ctx);
                        ("opening", self.opener.opened as u64)
                    }
                    Phase::Warmup => ("warmup", self.count),
                    _ => ("measure", self.count),
                };
                let detail = format!(
                    "{}/{} open{}",
                    self.opener.opened,
                    self.opener.total,
                    self.window.as_ref().map_or(String::new(), |w| format!(
                        ", {:.0} s measured",
                        w.elapsed().as_secs_f64()
                    ))
                );
                self.progress.tick(phase, count, &detail);
            }
            PHASE => match self.phase {
                Phase::Warmup => self.start_measure(ctx),
                Phase::Measure => self.finish(ctx),
                _ => {}
            },
            _ => {}
        }
    }
}

pub fn run(args: &Args, options: ConnectOptions) -> io::Result<()> {
    let mut ev = EventLoop::new(client_config(args.size, args.deflate))?;
    let pattern = b"ws6455 bench: the quick brown fox jumps over the lazy dog. ";
    let binary: Vec<u8> = if args.deflate {
        super::json_text(args.size + ROTATION).into_bytes()
    } else {
        pattern.iter().copied().cycle().take(args.size).collect()
    };
    let text = String::from_utf8(binary.clone()).map_err(io::Error::other)?;
    let mut load = Load {
        args: args.clone(),
        sends: 0,
        text,
        binary,
        opener: Opener::new(args, vec![args.url.clone()], options),
        phase: Phase::Opening,
        ids: Vec::with_capacity(args.connections),
        sent_at: HashMap::with_capacity(args.connections),
        hist: Histogram::default(),
        count: 0,
        mismatched: 0,
        lost: 0,
        first_error: None,
        window: None,
        measured: None,
        ticking: false,
        progress: Progress::new(),
    };
    load.opener.start(&mut ev, args.ramp)?;
    ev.run(&mut load)?;
    load.progress.done();
    if let Some(e) = load.opener.error.take() {
        return Err(io::Error::other(e));
    }
    let measured = load
        .measured
        .take()
        .ok_or_else(|| io::Error::other("the run ended before the measurement"))?;
    let mut extra = Vec::new();
    if load.lost > 0 {
        extra.push(("connections_lost", load.lost.to_string()));
    }
    if let Some(e) = load.first_error.take() {
        extra.push(("first_error", super::json_str(&e)));
    }
    if load.mismatched > 0 {
        extra.push(("echo_size_mismatches", load.mismatched.to_string()));
    }
    if args.deflate {
        extra.push(("deflate", "true".to_owned()));
    }
    Report {
        mode: "echo",
        args: args.clone(),
        unit: "messages",
        count: load.count,
        latency: load.hist.percentiles(),
        measured,
        extra,
    }
    .print();
    Ok(())
}
