//! `ws6455 bench`: a load generator on ws6455's own mio client loop.
//!
//! Closed loop by default: every connection keeps exactly one message in
//! flight (sent on open and again on each echo), so messages/s is set by
//! round trips, as in the peer comparisons of BENCHMARKS.md. All
//! connections are opened (in ramped batches) before the warmup starts;
//! counters, the latency histogram and the CPU clocks (ours from
//! /proc/self/stat, the server's from /proc/PID/stat) cover only the
//! measured window after it. Two more modes: `--fanout` (one publisher,
//! C subscribers of a broadcasting server, or of several servers sharing
//! a broker with `--subscribe-url`; plain WebSocket or `--socketio`),
//! `--idle` (C upgraded
//! connections held open, for memory per idle connection) and `--ratio`
//! (a corpus echoed over one compressing connection, for the server's
//! compression ratio).
//!
//! Echo and fan-out speak `wss://` too (`--ca`, `--insecure`); the idle
//! mode writes its raw upgrade requests to plain sockets, so it is
//! `ws://` only.

mod echo;
mod fanout;
mod hist;
mod idle;
mod ratio;
mod socketio;

use std::fmt::Write as _;
use std::io::{self, IsTerminal};
use std::time::{Duration, Instant};

/// Options of `ws6455 bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Server URL (`--fanout`: the server's base; `/publish` and
    /// `/subscribe` are appended, or with `--socketio` the Socket.IO
    /// path).
    #[arg(long, default_value = "ws://127.0.0.1:9001/")]
    pub url: String,
    /// Fan-out: a server base URL for the subscribers (repeatable); they
    /// are spread over these round robin while the publisher stays on
    /// `--url`. Default: `--url` alone.
    #[arg(long, value_name = "URL", requires = "fanout")]
    pub subscribe_url: Vec<String>,
    /// Fan-out: speak Socket.IO v5 over Engine.IO v4 (WebSocket
    /// transport, default namespace) instead of plain text messages: the
    /// publisher emits `publish` events, the subscribers count `m` events.
    #[arg(long, requires = "fanout")]
    pub socketio: bool,
    /// Connections to open (subscribers with `--fanout`).
    #[arg(long, short, default_value_t = 100)]
    pub connections: usize,
    /// Message size in bytes; accepts k/K (KiB) and m/M (MiB) suffixes.
    #[arg(long, short, default_value = "20", value_parser = parse_size)]
    pub size: usize,
    /// Seconds measured.
    #[arg(long, short, default_value_t = 5.0)]
    pub duration: f64,
    /// Seconds of load before measuring starts.
    #[arg(long, short, default_value_t = 2.0)]
    pub warmup: f64,
    /// Send binary messages (default: text).
    #[arg(long)]
    pub binary: bool,
    /// Print one JSON object on stdout instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// The server's process id: its CPU time over the window gives
    /// messages per server CPU-second. Repeatable or comma-separated
    /// (echo and fan-out): the CPU time is summed over every process
    /// listed (several servers and their broker, say).
    #[arg(long, value_name = "PID", value_delimiter = ',')]
    pub server_pid: Vec<u32>,
    /// Handshakes in flight while opening connections (keeps the
    /// server's accept backlog from overflowing).
    #[arg(long, default_value_t = 256)]
    pub ramp: usize,
    /// Give up if the connections are not all open after this many seconds.
    #[arg(long, default_value_t = 60.0)]
    pub connect_timeout: f64,
    /// Fan-out: subscribe C connections to `<url>/subscribe`, publish on
    /// `<url>/publish`, count deliveries.
    #[arg(long, conflicts_with = "idle")]
    pub fanout: bool,
    /// Fan-out: messages the publisher keeps in flight.
    #[arg(long, default_value_t = 16)]
    pub window: usize,
    /// Idle: open C upgraded connections (raw sockets, no frames) and hold
    /// them for `--hold` seconds; prints a line when all are open.
    #[arg(long)]
    pub idle: bool,
    /// Idle: seconds to hold the connections once open (0: until killed).
    #[arg(long, default_value_t = 0.0)]
    pub hold: f64,
    /// Idle: create this file once every connection is open.
    #[arg(long)]
    pub ready_file: Option<std::path::PathBuf>,
    /// Idle: local addresses to bind, round robin (comma-separated IPs
    /// or a range like 127.0.0.1-127.0.0.8), for more than ~28,000
    /// connections to one server port.
    #[arg(long)]
    pub source_addrs: Option<String>,
    /// Offer permessage-deflate (RFC 7692) and fail unless the server
    /// agrees. Echo: every message is compressed both ways, and the
    /// payload is JSON-like text (compressible, not trivially so) instead
    /// of a repeated sentence. Idle: the upgrade request offers it.
    /// (Not with `--fanout`: a broadcast is encoded once, uncompressed.)
    #[arg(long, conflicts_with = "fanout")]
    pub deflate: bool,
    /// Idle: each connection sends one message (about 1 KiB of JSON-like
    /// text; compressed with `--deflate`) and waits for its echo before it
    /// counts as open, so the server has used its compressor and
    /// decompressor once.
    #[arg(long, requires = "idle")]
    pub warm: bool,
    /// Compression ratio: over one connection offering permessage-deflate,
    /// echo each message of this JSON Lines file (one JSON string per
    /// line) and report the bytes the server's echoes took on the wire
    /// against their payload (RFC 7692; `ws://` only).
    #[arg(long, value_name = "CORPUS", conflicts_with_all = ["idle", "fanout"])]
    pub ratio: Option<std::path::PathBuf>,
    /// wss://: which certificates to trust.
    #[command(flatten)]
    pub tls: crate::tls_args::ClientTls,
}

/// `size` bytes of JSON-like text: objects whose keys repeat and whose
/// values vary (what permessage-deflate meets in practice, and what
/// Autobahn's 12.x cases send), deterministic for a given size.
pub fn json_text(size: usize) -> String {
    const WORDS: [&str; 12] = [
        "lorem",
        "ipsum",
        "dolor",
        "sit",
        "amet",
        "consectetur",
        "adipiscing",
        "elit",
        "sed",
        "do",
        "eiusmod",
        "tempor",
    ];
    let mut out = String::with_capacity(size + 160);
    let mut state: u32 = 0x9e37_79b9;
    let mut seq = 0u32;
    while out.len() < size {
        let mut words = String::new();
        for _ in 0..(state >> 28) + 2 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            words.push_str(WORDS[(state % 12) as usize]);
            words.push(' ');
        }
        let _ = writeln!(
            out,
            "{{\"seq\":{seq},\"user\":\"user{}\",\"score\":{},\"text\":\"{}\"}}",
            state % 97,
            state % 10_007,
            words.trim_end()
        );
        seq += 1;
    }
    out.truncate(size);
    out
}

/// "20", "1k", "64K", "16m" → bytes.
fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1usize << 10),
        Some((i, 'm' | 'M')) => (&s[..i], 1 << 20),
        _ => (s, 1),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("not a size: {s:?} (e.g. 20, 1k, 64k)"))?;
    n.checked_mul(unit).ok_or_else(|| format!("too large: {s}"))
}

/// Run the mode the options ask for.
pub fn run(args: Args) -> io::Result<()> {
    if args.connections == 0 {
        return Err(io::Error::other("--connections must be at least 1"));
    }
    if args.server_pid.len() > 1 && (args.idle || args.ratio.is_some()) {
        return Err(crate::BadOptions(
            "--idle and --ratio read one server's memory: give one --server-pid".to_owned(),
        )
        .into());
    }
    if args.idle {
        return idle::run(&args);
    }
    if let Some(corpus) = &args.ratio {
        return ratio::run(&args, corpus);
    }
    let mut options = ws6455::ConnectOptions::default();
    options.tls = args.tls.config(&args.url)?;
    if args.fanout {
        fanout::run(&args, options)
    } else {
        echo::run(&args, options)
    }
}

/// `url` parsed, refused unless it is `ws://` (`why`: what needs plain
/// sockets, for the error).
fn plain_uri(url: &str, why: &str) -> io::Result<ws6455::proto::uri::WsUri> {
    let uri = ws6455::proto::uri::WsUri::parse(url).map_err(io::Error::other)?;
    if uri.secure {
        return Err(crate::BadOptions(format!("{why}: it takes a ws:// URL, not {url}")).into());
    }
    Ok(uri)
}

/// Linux's USER_HZ: the unit of utime/stime in /proc/*/stat, fixed at
/// 100 in the kernel's ABI whatever the kernel's own tick rate.
const USER_HZ: f64 = 100.0;

/// User + system CPU seconds of a process (all its threads, live and
/// exited) from /proc/PID/stat.
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name, which may hold spaces: state is
    // field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

/// A field of /proc/PID/status in bytes (e.g. "VmRSS").
pub fn status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        let kb: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb * 1024)
    })
}

/// The clocks at the start of the measured window.
pub struct Window {
    start: Instant,
    own_cpu: Option<f64>,
    /// Each server process and its CPU clock then.
    servers: Vec<(u32, Option<f64>)>,
}

/// What the clocks said over the window.
pub struct Measured {
    pub secs: f64,
    pub own_cpu: Option<f64>,
    /// The servers' CPU seconds summed; `None` without servers or if any
    /// of them could not be read at either end (a partial sum would
    /// flatter the figure per CPU-second).
    pub server_cpu: Option<f64>,
    /// Each server process and its CPU seconds over the window.
    pub server_cpus: Vec<(u32, Option<f64>)>,
}

impl Window {
    pub fn start(server_pids: &[u32]) -> Self {
        Window {
            start: Instant::now(),
            own_cpu: cpu_seconds(None),
            servers: server_pids
                .iter()
                .map(|&p| (p, cpu_seconds(Some(p))))
                .collect(),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    pub fn finish(&self) -> Measured {
        let secs = self.start.elapsed().as_secs_f64();
        let delta = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
        let server_cpus: Vec<(u32, Option<f64>)> = self
            .servers
            .iter()
            .map(|&(p, before)| (p, delta(before, cpu_seconds(Some(p)))))
            .collect();
        let server_cpu = if server_cpus.is_empty() {
            None
        } else {
            server_cpus.iter().map(|&(_, cpu)| cpu).sum()
        };
        Measured {
            secs,
            own_cpu: delta(self.own_cpu, cpu_seconds(None)),
            server_cpu,
            server_cpus,
        }
    }
}

/// Share of one core at or above which the generator may itself be the
/// bottleneck.
const SATURATED: f64 = 0.9;

/// The figures every mode reports, in text or JSON.
pub struct Report {
    pub mode: &'static str,
    pub args: Args,
    /// "messages" (echo) or "deliveries" (fanout).
    pub unit: &'static str,
    pub count: u64,
    pub measured: Measured,
    pub latency: Option<[u64; 4]>,
    pub extra: Vec<(&'static str, String)>,
}

impl Report {
    fn rate(&self) -> f64 {
        self.count as f64 / self.measured.secs.max(1e-9)
    }

    fn own_core_share(&self) -> Option<f64> {
        Some(self.measured.own_cpu? / self.measured.secs.max(1e-9))
    }

    fn per_server_cpu(&self) -> Option<f64> {
        let cpu = self.measured.server_cpu?;
        (cpu > 0.0).then(|| self.count as f64 / cpu)
    }

    /// Print to stdout (and the saturation warning to stderr).
    pub fn print(&self) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let saturated = self.own_core_share().is_some_and(|s| s >= SATURATED);
        if self.args.json {
            println!("{}", self.json(cores, saturated));
        } else {
            println!("{}", self.text(cores));
        }
        if saturated {
            eprintln!(
                "warning: the load generator used {:.0}% of a core: it may be the bottleneck it measures (the server figures are then a lower bound)",
                self.own_core_share().unwrap_or(0.0) * 100.0
            );
        }
    }

    fn text(&self, cores: f64) -> String {
        let a = &self.args;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} {}: {} connections, {} B {} messages, {:.1} s measured",
            self.mode,
            a.url,
            a.connections,
            a.size,
            if a.binary { "binary" } else { "text" },
            self.measured.secs
        );
        let _ = writeln!(s, "  {} {:>12.0} /s", self.unit, self.rate());
        if let Some([p50, p99, p999, max]) = self.latency {
            let _ = writeln!(
                s,
                "  latency  p50 {}  p99 {}  p99.9 {}  max {}",
                micros(p50),
                micros(p99),
                micros(p999),
                micros(max)
            );
        }
        if let Some(share) = self.own_core_share() {
            let _ = writeln!(
                s,
                "  generator CPU {:.0}% of a core, {:.0}% of the machine ({cores} cores)",
                share * 100.0,
                share * 100.0 / cores
            );
        }
        if let (Some(cpu), Some(per)) = (self.measured.server_cpu, self.per_server_cpu()) {
            let _ = writeln!(
                s,
                "  server CPU {:.2} s ({:.0}% of a core): {per:.0} {} per server CPU-second",
                cpu,
                cpu / self.measured.secs.max(1e-9) * 100.0,
                self.unit
            );
            if self.measured.server_cpus.len() > 1 {
                let each: Vec<String> = self
                    .measured
                    .server_cpus
                    .iter()
                    .map(|(p, cpu)| format!("{p}: {:.2} s", cpu.unwrap_or(0.0)))
                    .collect();
                let _ = writeln!(s, "    summed over pids {}", each.join(", "));
            }
        }
        for (k, v) in &self.extra {
            let _ = writeln!(s, "  {k}: {v}");
        }
        s.trim_end().to_owned()
    }

    fn json(&self, cores: f64, saturated: bool) -> String {
        let a = &self.args;
        let num = |v: Option<f64>| v.map_or("null".to_owned(), |v| format!("{v:.3}"));
        let mut s = format!(
            "{{\"mode\":\"{}\",\"url\":{},\"connections\":{},\"size\":{},\"binary\":{},\"warmup_s\":{},\"duration_s\":{:.3},\"{}\":{},\"per_second\":{:.1}",
            self.mode,
            json_str(&a.url),
            a.connections,
            a.size,
            a.binary,
            a.warmup,
            self.measured.secs,
            self.unit,
            self.count,
            self.rate()
        );
        if let Some([p50, p99, p999, max]) = self.latency {
            let _ = write!(
                s,
                ",\"latency_us\":{{\"p50\":{:.1},\"p99\":{:.1},\"p999\":{:.1},\"max\":{:.1}}}",
                p50 as f64 / 1e3,
                p99 as f64 / 1e3,
                p999 as f64 / 1e3,
                max as f64 / 1e3
            );
        }
        let share = self.own_core_share();
        let _ = write!(
            s,
            ",\"generator_cpu_s\":{},\"generator_core_pct\":{},\"generator_machine_pct\":{},\"generator_saturated\":{saturated},\"cores\":{cores}",
            num(self.measured.own_cpu),
            num(share.map(|x| x * 100.0)),
            num(share.map(|x| x * 100.0 / cores)),
        );
        // server_pid: the first (the only one before several were
        // allowed); server_pids and server_cpus_s: every one, in order.
        let _ = write!(
            s,
            ",\"server_pid\":{},\"server_cpu_s\":{},\"per_server_cpu_s\":{}",
            a.server_pid
                .first()
                .map_or("null".to_owned(), |p| p.to_string()),
            num(self.measured.server_cpu),
            num(self.per_server_cpu())
        );
        if a.server_pid.len() > 1 {
            let pids: Vec<String> = a.server_pid.iter().map(u32::to_string).collect();
            let cpus: Vec<String> = self
                .measured
                .server_cpus
                .iter()
                .map(|&(_, cpu)| num(cpu))
                .collect();
            let _ = write!(
                s,
                ",\"server_pids\":[{}],\"server_cpus_s\":[{}]",
                pids.join(","),
                cpus.join(",")
            );
        }
        for (k, v) in &self.extra {
            let _ = write!(s, ",{}:{v}", json_str(k));
        }
        s.push('}');
        s
    }
}

fn micros(ns: u64) -> String {
    if ns >= 10_000_000 {
        format!("{:.1} ms", ns as f64 / 1e6)
    } else {
        format!("{:.1} µs", ns as f64 / 1e3)
    }
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A once-a-second progress line, only on a terminal.
pub struct Progress {
    on: bool,
    last_count: u64,
    last_at: Instant,
}

impl Progress {
    pub fn new() -> Self {
        Progress {
            on: io::stderr().is_terminal(),
            last_count: 0,
            last_at: Instant::now(),
        }
    }

    pub fn tick(&mut self, phase: &str, count: u64, detail: &str) {
        let now = Instant::now();
        let secs = now.duration_since(self.last_at).as_secs_f64().max(1e-9);
        // The count restarts when measuring starts.
        let delta = count.checked_sub(self.last_count).unwrap_or(count);
        let rate = delta as f64 / secs;
        self.last_count = count;
        self.last_at = now;
        if self.on {
            eprint!("\r\x1b[2K{phase:<8} {rate:>10.0}/s  {detail}");
        }
    }

    pub fn done(&self) {
        if self.on {
            eprint!("\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("20"), Ok(20));
        assert_eq!(parse_size("1k"), Ok(1024));
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("16m"), Ok(16 << 20));
        assert!(parse_size("x").is_err());
        assert!(parse_size("k").is_err());
    }

    #[test]
    fn own_cpu_is_readable() {
        assert!(cpu_seconds(None).is_some_and(|s| s >= 0.0));
        assert!(status_bytes(std::process::id(), "VmRSS").is_some_and(|b| b > 0));
    }

    #[test]
    fn json_strings() {
        assert_eq!(json_str("a\"b\\\n"), "\"a\\\"b\\\\\\u000a\"");
    }
}
