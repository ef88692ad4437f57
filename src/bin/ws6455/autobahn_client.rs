//! `ws6455 autobahn-client`: runs every case of an Autobahn fuzzingserver
//! through ws6455's client: `/getCaseCount`, `/runCase?case=N&agent=A`
//! for each case (echoing every message), then `/updateReports`.

use std::io;

use ws6455::io::{ConnError, ConnId, ConnectOptions, Ctx, EventLoop, Handler, Message};
use ws6455::{CloseCode, Config};

/// Options of `ws6455 autobahn-client`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The fuzzingserver's base URL.
    #[arg(long, default_value = "ws://127.0.0.1:9001")]
    pub url: String,
    /// Agent name the reports are filed under.
    #[arg(long, default_value = "ws6455")]
    pub agent: String,
    /// Run only cases FROM..=TO (1-based), for a quick look.
    #[arg(long)]
    pub cases: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
enum Step {
    Counting,
    Case(u32),
    Reporting,
    Done,
}

struct Runner {
    base: String,
    agent: String,
    step: Step,
    count: u32,
    last: u32,
    error: Option<String>,
}

impl Runner {
    fn next(&mut self, ctx: &mut Ctx<'_>) {
        let (step, path) = match self.step {
            Step::Counting => match self.count {
                0 => {
                    self.error
                        .get_or_insert_with(|| "the server reported no cases".into());
                    (Step::Done, None)
                }
                _ => (Step::Case(1), Some(self.case_path(1))),
            },
            Step::Case(n) if n < self.last => (Step::Case(n + 1), Some(self.case_path(n + 1))),
            Step::Case(_) => (
                Step::Reporting,
                Some(format!("/updateReports?agent={}", self.agent)),
            ),
            Step::Reporting | Step::Done => (Step::Done, None),
        };
        self.step = step;
        match path {
            Some(path) => {
                if let Step::Case(n) = self.step {
                    eprintln!("case {n}/{}", self.last);
                }
                let url = format!("{}{}", self.base, path);
                if let Err(e) = ctx.connect(&url, &ConnectOptions::default()) {
                    self.error = Some(format!("{url}: {e}"));
                    self.step = Step::Done;
                }
            }
            None => ctx.stop(),
        }
    }

    fn case_path(&self, n: u32) -> String {
        format!("/runCase?case={n}&agent={}", self.agent)
    }
}

impl Handler for Runner {
    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        match (&self.step, message) {
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

    fn on_error(&mut self, _: &mut Ctx<'_>, _: ConnId, error: &ConnError) {
        if let (Step::Counting | Step::Reporting, ConnError::Io(e)) = (&self.step, error) {
            self.error = Some(format!(
                "cannot reach the fuzzingserver at {}: {e}",
                self.base
            ));
        }
    }

    fn on_closed(&mut self, ctx: &mut Ctx<'_>, _: ConnId, _: CloseCode, _: bool) {
        if self.error.is_some() && self.step == Step::Counting {
            self.step = Step::Done;
            ctx.stop();
            return;
        }
        self.next(ctx);
    }
}

/// Run all cases, or the range given with `--cases`.
pub fn run(args: Args) -> io::Result<()> {
    let (first, last) = parse_range(args.cases.as_deref())?;
    let config = Config {
        ping_interval: None,
        ..Config::default()
    };
    let mut event_loop = EventLoop::new(config)?;
    let base = args.url.trim_end_matches('/').to_owned();
    event_loop
        .connect(&format!("{base}/getCaseCount"), &ConnectOptions::default())
        .map_err(io::Error::other)?;
    let mut runner = Runner {
        base,
        agent: args.agent,
        step: Step::Counting,
        count: 0,
        last,
        error: None,
    };
    // Cases before `first` are skipped by starting the count there.
    if first > 1 {
        runner.step = Step::Counting;
    }
    let mut runner = Skip {
        first,
        inner: runner,
    };
    event_loop.run(&mut runner)?;
    match runner.inner.error {
        Some(e) => Err(io::Error::other(e)),
        None => Ok(()),
    }
}

/// Starts the case sequence at `first` instead of 1.
struct Skip {
    first: u32,
    inner: Runner,
}

impl Handler for Skip {
    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        self.inner.on_message(ctx, id, message);
    }
    fn on_error(&mut self, ctx: &mut Ctx<'_>, id: ConnId, error: &ConnError) {
        self.inner.on_error(ctx, id, error);
    }
    fn on_closed(&mut self, ctx: &mut Ctx<'_>, id: ConnId, code: CloseCode, clean: bool) {
        if self.inner.step == Step::Counting && self.inner.error.is_none() && self.first > 1 {
            self.inner.step = Step::Case(self.first - 1);
            if self.first > self.inner.last {
                self.inner.step = Step::Case(self.inner.last);
            }
            self.inner.next(ctx);
            return;
        }
        self.inner.on_closed(ctx, id, code, clean);
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
