//! `ws6455 autobahn-client`: runs every case of an Autobahn fuzzingserver
//! through ws6455's client: `/getCaseCount`, `/runCase?case=N&agent=A`
//! for each case (echoing every message), then `/updateReports`.
//!
//! Between the last case and `/updateReports` one more `/getCaseCount`
//! round trip lets the fuzzingserver finish filing the last case: it files
//! a case when it sees the TCP connection end, and a busy wstest could
//! otherwise write the report first (seen with 13.7.18, the heaviest
//! permessage-deflate case, missing from an otherwise complete report).

use std::io;

use ws6455::proto::deflate::DeflateConfig;
use ws6455::{CloseCode, Config};
use ws6455::{ConnError, ConnId, ConnectOptions, Ctx, EventLoop, Handler, Message};

use crate::tls_args::ClientTls;

/// How long the last case's connection gets to close before the reports
/// are requested.
const REPORT_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// Options of `ws6455 autobahn-client`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The fuzzingserver's base URL (ws:// or wss://).
    #[arg(long, default_value = "ws://127.0.0.1:9001")]
    pub url: String,
    /// Agent name the reports are filed under.
    #[arg(long, default_value = "ws6455")]
    pub agent: String,
    /// Run only cases FROM-TO (1-based, inclusive), for a quick look.
    #[arg(long)]
    pub cases: Option<String>,
    /// wss://: which certificates to trust.
    #[command(flatten)]
    pub tls: ClientTls,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Counting,
    Case(u32),
    /// A round trip after the last case, before the report.
    Settling,
    Reporting,
    Done,
}

struct Runner {
    base: String,
    /// For every connection (`--ca`, `--insecure`).
    options: ConnectOptions,
    agent: String,
    step: Step,
    /// Cases the server has, then the range to run.
    count: u32,
    first: u32,
    last: u32,
    error: Option<String>,
    /// The connection of the current step; errors of earlier ones are stale.
    current: Option<ConnId>,
}

impl Runner {
    /// The step after the current one, and the path it connects to.
    fn advance(&self) -> (Step, Option<String>) {
        let report = || Some(format!("/updateReports?agent={}", self.agent));
        match self.step {
            Step::Counting if self.error.is_some() => (Step::Done, None),
            Step::Counting if self.count == 0 || self.first > self.last => {
                (Step::Reporting, report())
            }
            Step::Counting => (Step::Case(self.first), Some(self.case_path(self.first))),
            Step::Case(n) if n < self.last => (Step::Case(n + 1), Some(self.case_path(n + 1))),
            Step::Case(_) => (Step::Settling, Some("/getCaseCount".to_owned())),
            Step::Settling => (Step::Reporting, report()),
            Step::Reporting | Step::Done => (Step::Done, None),
        }
    }

    fn next(&mut self, ctx: &mut Ctx<'_>) {
        let (step, path) = self.advance();
        self.step = step;
        let Some(path) = path else {
            ctx.stop();
            return;
        };
        if let Step::Case(n) = step {
            log::info!("case {n}/{}", self.last);
        }
        let url = format!("{}{}", self.base, path);
        match ctx.connect(&url, &self.options) {
            Ok(id) => self.current = Some(id),
            Err(e) => {
                self.error = Some(format!("{url}: {e}"));
                self.step = Step::Done;
                ctx.stop();
            }
        }
    }

    fn case_path(&self, n: u32) -> String {
        format!("/runCase?case={n}&agent={}", self.agent)
    }
}

impl Handler for Runner {
    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        match (self.step, message) {
            (Step::Counting, Message::Text(text)) => {
                self.count = text.trim().parse().unwrap_or(0);
                self.last = self.last.min(self.count);
            }
            (Step::Case(_), Message::Text(text)) => {
                let _ = ctx.send_text(id, text);
            }
            (Step::Case(_), Message::Binary(data)) => {
                let _ = ctx.send_binary(id, data);
            }
            _ => {}
        }
    }

    fn on_error(&mut self, _: &mut Ctx<'_>, id: ConnId, error: &ConnError) {
        if self.current != Some(id) {
            return;
        }
        // A TLS error is as fatal as an unreachable server: every case
        // would meet the same certificate.
        if let (
            Step::Counting | Step::Settling | Step::Reporting,
            ConnError::Io(_) | ConnError::Tls(_),
        ) = (self.step, error)
        {
            self.error = Some(format!(
                "cannot reach the fuzzingserver at {}: {error}",
                self.base
            ));
        }
    }

    fn on_closed(&mut self, ctx: &mut Ctx<'_>, id: ConnId, _: CloseCode, _: bool) {
        if self.current != Some(id) {
            return;
        }
        // `on_closed` comes with the close handshake; the fuzzingserver files
        // a case only when its TCP connection is gone, which follows a moment
        // later. Ask for the reports only once the last case has had that
        // moment, or the report misses it.
        if matches!(self.step, Step::Case(n) if n >= self.last) {
            ctx.set_timer(REPORT_GRACE, 0);
        } else {
            self.next(ctx);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, _: u64) {
        self.next(ctx);
    }
}

/// Run all cases, or the range given with `--cases`.
pub fn run(args: Args) -> io::Result<()> {
    let (first, last) = parse_range(args.cases.as_deref())?;
    let mut options = ConnectOptions::default();
    options.tls = args.tls.config(&args.url)?;
    let config = {
        let mut config = Config::default();
        config.ping_interval = None;
        // Sections 12 and 13 need permessage-deflate (RFC 7692); the
        // fuzzingserver accepts the offer only in those cases.
        config.deflate = Some(DeflateConfig::default());
        config
    };
    let mut event_loop = EventLoop::new(config)?;
    let base = args.url.trim_end_matches('/').to_owned();
    let counting = event_loop
        .connect(&format!("{base}/getCaseCount"), &options)
        .map_err(io::Error::other)?;
    let mut runner = Runner {
        base,
        options,
        agent: args.agent,
        step: Step::Counting,
        count: 0,
        first,
        last,
        error: None,
        current: Some(counting),
    };
    event_loop.run(&mut runner)?;
    match runner.error {
        Some(e) => Err(io::Error::other(e)),
        None => Ok(()),
    }
}

fn parse_range(cases: Option<&str>) -> io::Result<(u32, u32)> {
    let Some(spec) = cases else {
        return Ok((1, u32::MAX));
    };
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "--cases takes FROM-TO, e.g. 1-20",
        )
    };
    let (from, to) = spec.split_once('-').unwrap_or((spec, spec));
    let from: u32 = from.trim().parse().map_err(|_| bad())?;
    let to: u32 = to.trim().parse().map_err(|_| bad())?;
    if from == 0 || to < from {
        return Err(bad());
    }
    Ok((from, to))
}
