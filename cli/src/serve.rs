//! `ws6455 serve`: the chat on `/chat` (page on `GET /`), the game on
//! `/game` (page on `GET /game`), and an echo server on every other
//! WebSocket path (the Autobahn testee). The demos live in `apps/`.
//! With `--tls-cert` and `--tls-key` all of it goes over TLS: the pages
//! on https://, the sockets on wss:// (the pages pick the scheme their
//! own URL has). Only pages `serve` served itself, and origins named with
//! `--allow-origin`, may open WebSockets (RFC 6455 §10.2; see
//! `policy_args.rs`); `--max-connections*` limit how many connections it
//! holds (§10.4). The numbers refused are printed on shutdown.
//! `--rate-limit MSGS/SECONDS` limits how fast each connection may send
//! (RFC 6455 §10.4): over it, closed with 1008 or paused
//! (`--rate-limit-mode`), counted and printed on shutdown. Without it
//! nothing is limited, which is what the Autobahn testee needs.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ws6455::broker::redis::{RedisBroker, RedisOptions};

use ws6455::proto::deflate::{DeflateConfig, DeflateMemory};
use ws6455::proto::handshake::Request;
use ws6455::proto::FrameTrace;
use ws6455::{CloseCode, Config};
use ws6455::{ConnId, Ctx, Decision, DeflateChoice, Handler, HttpResponse, Message, Server};
use ws6455_describe::TraceLine;

use log::info;

use crate::apps::cluster::{default_node_id, Cluster};
use crate::apps::Routes;
use crate::policy_args::Policy;
use crate::tls_args::ServerTls;

/// `serve --deflate-memory`: the library's [`DeflateMemory`] presets.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeflateMemoryArg {
    /// Codecs kept (about 340 KB per connection).
    Full,
    /// 32 KiB windows kept between bursts, codecs lent (64 KiB; the
    /// default).
    Windows,
    /// 4 KiB windows kept between bursts, codecs lent (about 8.5 KB).
    Small,
    /// 512-byte windows kept between bursts, codecs lent (about 1.5 KB).
    Tiny,
}

impl From<DeflateMemoryArg> for DeflateMemory {
    fn from(arg: DeflateMemoryArg) -> Self {
        match arg {
            DeflateMemoryArg::Full => DeflateMemory::Full,
            DeflateMemoryArg::Windows => DeflateMemory::Windows,
            DeflateMemoryArg::Small => DeflateMemory::Small,
            DeflateMemoryArg::Tiny => DeflateMemory::Tiny,
        }
    }
}

/// Options of `ws6455 serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9001")]
    pub listen: String,
    /// Event loops (threads) sharing the port.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Seconds of silence before a heartbeat ping (0 turns heartbeats off).
    #[arg(long, default_value_t = 30)]
    pub ping_interval: u64,
    /// Largest message accepted, in bytes.
    #[arg(long, default_value_t = 16 << 20)]
    pub max_message: u64,
    /// Log every frame in (←) and out (→) on stderr, one line each.
    #[arg(long)]
    pub trace: bool,
    /// Do not negotiate permessage-deflate (RFC 7692): every message goes
    /// uncompressed even when the client offers compression.
    #[arg(long)]
    pub no_deflate: bool,
    /// Negotiate permessage-deflate without context takeover in either
    /// direction (RFC 7692 §7.1.1): compresses less, but an idle
    /// connection holds no compression state, not even the windows.
    #[arg(long, conflicts_with = "no_deflate")]
    pub deflate_no_context_takeover: bool,
    /// Negotiate permessage-deflate with `server_no_context_takeover` only
    /// (RFC 7692 §7.1.1.1, the server's own choice): our compressor keeps
    /// no history, while clients keep compressing with their history. An
    /// idle connection then holds only the window of what it received.
    #[arg(long, conflicts_with_all = ["no_deflate", "deflate_no_context_takeover"])]
    pub deflate_server_no_context_takeover: bool,
    /// Send messages shorter than this many bytes uncompressed (RFC 7692
    /// §6: compression is chosen per message); for tiny messages the
    /// compressed form is rarely smaller and the work is wasted.
    #[arg(long, value_name = "BYTES", default_value_t = DeflateConfig::default().threshold,
          conflicts_with = "no_deflate")]
    pub deflate_threshold: usize,
    /// zlib compression level for what we send, 0 (store) to 9 (smallest
    /// output). Each step down costs some ratio and saves compressor time,
    /// which dominates a compressing server's CPU for messages of
    /// kilobytes and more; the default, 5, is one step below zlib's and
    /// Node's 6 (BENCHMARKS.md measures both).
    #[arg(long, value_name = "0-9", default_value_t = DeflateConfig::default().level,
          value_parser = clap::value_parser!(u32).range(0..=9), conflicts_with = "no_deflate")]
    pub deflate_level: u32,
    /// permessage-deflate's memory per connection against its
    /// compression: `windows` (the default) keeps only the two 32 KiB
    /// windows between bursts and lends codecs from the event loop (a
    /// busy connection gets its own back; 64 KiB), `small` the same with
    /// 4 KiB windows (about 8.5 KB), `tiny` with 512-byte windows (about
    /// 1.5 KB); `full` keeps each connection's compressor and decompressor
    /// (32 KiB windows, about 340 KB once a message went each way). A
    /// client whose offer does not allow a smaller window still gets a
    /// 32 KiB one for what it sends.
    #[arg(long, value_name = "PRESET", value_enum, default_value_t = DeflateMemoryArg::Windows,
          conflicts_with = "no_deflate")]
    pub deflate_memory: DeflateMemoryArg,
    /// TLS: serve https:// and wss:// instead of http:// and ws://.
    #[command(flatten)]
    pub tls: ServerTls,
    /// Who may connect: `--allow-origin`.
    #[command(flatten)]
    pub policy: Policy,
    /// Share the chat and the game with every server using this Redis
    /// (`redis://host:port`): rooms, presence, direct messages and the
    /// field span them all. Without it each server is its own world.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// This server's name on the shared Redis, shown to users beside
    /// everyone's name (default: host name and process id).
    #[arg(long, value_name = "NAME", requires = "redis", value_parser = node_id)]
    pub node_id: Option<String>,
    /// With --redis: seconds a killed server's users stay in everyone's
    /// presence lists at most (refreshed every third of it).
    #[arg(long, value_name = "SECS", default_value_t = 9, requires = "redis",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub presence_ttl: u64,
}

/// `--node-id`: 1 to 64 characters, none of them control characters
/// (presence entries are lines) or spaces (it is shown in pages and logs).
fn node_id(name: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && !name.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then(|| name.to_owned())
        .ok_or_else(|| "1 to 64 characters, no spaces or control characters".into())
}

/// Subprotocols the echo endpoint agrees to (§1.9, §4.2.2): echoing
/// speaks any protocol, but a server only names one it knows.
const ECHO_PROTOCOLS: &[&str] = &["ws6455.echo"];

/// Echoes every message back as it came; logs opens and closes (plain
/// HTTP requests are logged by [`Routes`], which answers them).
pub struct Echo {
    trace: bool,
}

impl Handler for Echo {
    fn on_request(&mut self, _: &mut Ctx<'_>, _: ConnId, request: &Request) -> Decision {
        Decision::Accept {
            protocol: request.choose_subprotocol(ECHO_PROTOCOLS).map(Into::into),
            deflate: DeflateChoice::Configured,
        }
    }

    fn on_http(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &Request) -> HttpResponse {
        HttpResponse::not_found()
    }

    fn on_open(&mut self, ctx: &mut Ctx<'_>, id: ConnId, _: Option<&ws6455::proto::Response>) {
        let peer = ctx.peer_addr(id).map(|a| a.to_string()).unwrap_or_default();
        info!("{id} open {peer}");
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        // The loop stops reading while output is backed up, so an echo
        // is never refused; a failure here means the connection is closing.
        let _ = match message {
            Message::Text(text) => ctx.send_text(id, text),
            Message::Binary(data) => ctx.send_binary(id, data),
        };
    }

    fn on_error(&mut self, _: &mut Ctx<'_>, id: ConnId, error: &ws6455::ConnError) {
        info!("{id} error: {error}");
    }

    fn on_closed(&mut self, _: &mut Ctx<'_>, id: ConnId, code: CloseCode, clean: bool) {
        info!(
            "{id} closed {code} {}",
            if clean { "clean" } else { "unclean" }
        );
    }

    fn on_frame(&mut self, _: &mut Ctx<'_>, id: ConnId, frame: &FrameTrace) {
        // Asked for with --trace, so at info: seen without -v.
        if self.trace {
            info!("{id} {}", TraceLine(frame));
        }
    }
}

/// Bind, serve until Ctrl-C, shut down gracefully.
pub fn run(args: Args) -> io::Result<()> {
    let config = {
        let mut config = Config::default();
        config.ping_interval =
            (args.ping_interval > 0).then(|| Duration::from_secs(args.ping_interval));
        config.max_message_size = args.max_message;
        config.max_frame_size = args.max_message;
        config.deflate = (!args.no_deflate).then(|| {
            let mut deflate = DeflateConfig::preset(args.deflate_memory.into());
            deflate.server_no_context_takeover =
                args.deflate_no_context_takeover || args.deflate_server_no_context_takeover;
            deflate.client_no_context_takeover = args.deflate_no_context_takeover;
            deflate.threshold = args.deflate_threshold;
            deflate.level = args.deflate_level;
            deflate
        });
        config.rate_limit = args.policy.rate_limit()?;
        config
    };
    // Before binding: a bad file or origin is reported without touching
    // the port.
    let tls = args.tls.config()?;
    let origins = args.policy.origins()?;
    let limits = args.policy.limits();
    let chat_tokens = args.policy.chat_tokens()?;
    let chat_auth = match &chat_tokens {
        Some(tokens) => format!("; chat needs a token ({} known)", tokens.count()),
        None => String::new(),
    };
    let allowed = origins.to_string();
    let cluster = match &args.redis {
        Some(url) => {
            let options = RedisOptions {
                presence_ttl: Duration::from_secs(args.presence_ttl),
                ..RedisOptions::default()
            };
            let node = args.node_id.clone().unwrap_or_else(default_node_id);
            let broker = RedisBroker::connect(url, options)
                .map_err(|e| io::Error::new(e.kind(), format!("--redis {e}")))?;
            info!("sharing the demos through redis {url} as server {node}");
            Some(Cluster::new(broker, node))
        }
        None => None,
    };
    let secure = tls.is_some();
    let mut server = Server::new()
        .config(config)
        .threads(args.threads)
        .trace_frames(args.trace)
        .origins(origins)
        .limits(limits);
    if let Some(tls) = tls {
        server = server.tls(tls);
    }
    let server = server.bind(args.listen.as_str())?;
    let handle = server.handle();
    let stopper = handle.clone();
    ctrlc::set_handler(move || stopper.shutdown()).map_err(io::Error::other)?;
    let (ws, http) = if secure {
        ("wss", "https")
    } else {
        ("ws", "http")
    };
    info!(
        "ws6455 serving on {ws}://{addr} ({} thread(s)); chat page {http}://{addr}/; origins: {allowed}{chat_auth}; {limits}",
        args.threads,
        addr = server.local_addr(),
    );
    if args.threads > 1 && cluster.is_none() {
        info!(
            "the chat and game demos need --threads 1; with {} event loops they answer 503",
            args.threads
        );
    }
    let (trace, demos) = (args.trace, args.threads <= 1 || cluster.is_some());
    let (loops, started) = (args.threads, AtomicUsize::new(0));
    server.run(move || {
        let index = started.fetch_add(1, Ordering::Relaxed);
        Routes::new(Echo { trace }, demos)
            .with_chat_tokens(chat_tokens.clone())
            .with_cluster(cluster.as_ref().map(|c| c.for_loop(index, loops)))
    })?;
    let refusals = handle.refusals();
    info!("refused origins: {}", refusals.origin);
    info!("auth failed: {}", refusals.auth_failed);
    info!("over connection limit: {}", refusals.over_limit);
    info!("rate limited: {}", refusals.rate_limited);
    info!("ws6455 stopped");
    Ok(())
}
