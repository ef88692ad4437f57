//! `ws6455 conformance`: the Autobahn testsuite's case catalog (sections
//! 1-7, 9, 10, 12, 13; 517 cases) as a Rust runner, against any server
//! (`conformance server URL`, wstest's fuzzingclient) or client
//! (`conformance client`, wstest's fuzzingserver), with wstest's verdicts
//! and reports.
//!
//! The runner's endpoint ([`peer`]) behaves like wstest's, because the
//! verdicts are judged from its side. It reads the peer's frames with the
//! core's header reader, UTF-8 validator and inflater, and writes its own
//! with the core's raw frame encoder (`proto::encode::push_raw_frame`),
//! the deliberate path for frames the library would refuse to send.
//!
//! | file | owns |
//! |---|---|
//! | `case.rs` | verdicts, expected events and close, the `Case` trait |
//! | `catalog.rs` | the case list in wstest's order, `--cases`/`--exclude` |
//! | `cases/` | the cases, a file per section |
//! | `peer.rs` | our endpoint: frames in and out, closing, timers |
//! | `compress.rs` | permessage-deflate for sections 12-13 |
//! | `handshake.rs` | the opening handshake both ways, deflate offers |
//! | `driver.rs` | one case's socket, poll loop and time bounds |
//! | `server_mode.rs`, `client_mode.rs` | the two roles |
//! | `report.rs`, `wirelog.rs` | `index.json`, per-case JSON and HTML |

mod case;
mod cases;
mod catalog;
mod client_mode;
mod compress;
mod driver;
mod handshake;
mod peer;
mod report;
mod server_mode;
mod wirelog;

use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ws6455::proto::uri::WsUri;

use case::Verdict;
use driver::Limits;
use report::CaseResult;

use crate::BadOptions;

/// Options of `ws6455 conformance`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    role: Role,
}

#[derive(clap::Subcommand, Debug)]
enum Role {
    /// Test a WebSocket server: connect to URL once per case, as wstest's
    /// fuzzingclient does.
    Server(ServerArgs),
    /// Test a WebSocket client: listen, and run each case the client asks
    /// for with /runCase?case=N&agent=A, as wstest's fuzzingserver does;
    /// /getCaseCount answers the number of cases; /updateReports writes
    /// the reports and ends the run (unless --keep-running).
    Client(ClientArgs),
}

/// Options both roles share.
#[derive(clap::Args, Debug)]
struct Common {
    /// Cases to run: comma-separated ids or patterns (`*` matches
    /// anything), as in wstest's spec.
    #[arg(long, default_value = "*")]
    cases: String,
    /// Cases to leave out, as --cases.
    #[arg(long, default_value = "")]
    exclude: String,
    /// Exit 1 on NON-STRICT verdicts too, not only on FAILED ones.
    #[arg(long)]
    strict: bool,
    /// The longest one case may take, in seconds, whatever the peer does.
    #[arg(long, default_value_t = 120)]
    case_timeout: u64,
    /// Print a line per case as it finishes.
    #[arg(long)]
    progress: bool,
}

#[derive(clap::Args, Debug)]
struct ServerArgs {
    /// The server's URL, ws://HOST:PORT/PATH.
    url: String,
    /// The agent name the reports file results under (default: the
    /// server's `Server` header, else UnknownServer).
    #[arg(long)]
    agent: Option<String>,
    /// Where the reports go.
    #[arg(long, default_value = "reports/servers")]
    report: PathBuf,
    /// Cases run at once (1 is wstest's way; more is faster).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    #[command(flatten)]
    common: Common,
}

#[derive(clap::Args, Debug)]
struct ClientArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9001")]
    listen: String,
    /// Where the reports go.
    #[arg(long, default_value = "reports/clients")]
    report: PathBuf,
    /// Keep serving after /updateReports (each update rewrites the reports).
    #[arg(long)]
    keep_running: bool,
    #[command(flatten)]
    common: Common,
}

/// The current time as wstest writes it (`2026-12-07T23:58:25.123Z`).
pub fn utc_now() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}

fn bad(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, BadOptions(why))
}

fn limits(common: &Common) -> Limits {
    Limits {
        case: Duration::from_secs(common.case_timeout.max(1)),
        handshake: Duration::from_secs(5),
    }
}

/// Print the summary and the time per section; true if the run passes.
fn summarize(results: &[&CaseResult], wall: Duration, strict: bool) -> bool {
    let mut sections: Vec<(String, usize, u64)> = Vec::new();
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    let mut failing = Vec::new();
    for r in results {
        let section = r.id.split('.').next().unwrap_or("?").to_string();
        match sections.iter_mut().find(|(s, _, _)| *s == section) {
            Some(s) => {
                s.1 += 1;
                s.2 += r.duration_ms;
            }
            None => sections.push((section, 1, r.duration_ms)),
        }
        let b = r.behavior();
        match counts.iter_mut().find(|(name, _)| *name == b.as_str()) {
            Some(c) => c.1 += 1,
            None => counts.push((b.as_str(), 1)),
        }
        if b == Verdict::Failed || (strict && b == Verdict::NonStrict) {
            failing.push(format!(
                "{} {} ({})",
                r.id,
                b.as_str(),
                r.peer.outcome.result
            ));
        }
    }
    println!("section  cases  time");
    for (s, n, ms) in &sections {
        println!("{s:>7}  {n:>5}  {:>7.2} s", *ms as f64 / 1000.0);
    }
    let summary: Vec<String> = counts.iter().map(|(v, n)| format!("{n} {v}")).collect();
    println!(
        "{} cases in {:.1} s: {}",
        results.len(),
        wall.as_secs_f64(),
        summary.join(", ")
    );
    for f in &failing {
        println!("  {f}");
    }
    failing.is_empty()
}

fn write_reports(dir: &Path, results: &[&CaseResult]) -> io::Result<()> {
    report::write(dir, results)?;
    println!("reports: {}", dir.join("index.html").display());
    Ok(())
}

/// Run `ws6455 conformance`. Exit 0 when no case FAILED (with --strict,
/// also none NON-STRICT), 1 otherwise, 2 on bad options.
pub fn run(args: Args) -> io::Result<bool> {
    match args.role {
        Role::Server(a) => run_server(a),
        Role::Client(a) => run_client(a),
    }
}

fn selection(common: &Common) -> io::Result<Vec<catalog::Entry>> {
    let cases = catalog::select(catalog::all(), &common.cases, &common.exclude);
    if cases.is_empty() {
        return Err(bad(format!(
            "no case matches --cases {:?} --exclude {:?}",
            common.cases, common.exclude
        )));
    }
    Ok(cases)
}

fn run_server(a: ServerArgs) -> io::Result<bool> {
    let uri = WsUri::parse(&a.url).map_err(|e| bad(format!("{}: {e}", a.url)))?;
    if uri.secure {
        return Err(bad(
            "wss:// is not supported by the runner yet; test over ws://".into(),
        ));
    }
    let cases = selection(&a.common)?;
    let target = server_mode::Target {
        uri,
        agent: a.agent,
    };
    let begin = Instant::now();
    let results = server_mode::run(
        &target,
        &cases,
        a.jobs,
        limits(&a.common),
        a.common.progress,
    );
    let wall = begin.elapsed();
    let refs: Vec<&CaseResult> = results.iter().collect();
    write_reports(&a.report, &refs)?;
    Ok(summarize(&refs, wall, a.common.strict))
}

fn run_client(a: ClientArgs) -> io::Result<bool> {
    let cases = selection(&a.common)?;
    let listener = TcpListener::bind(&a.listen)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {}: {e}", a.listen)))?;
    println!("listening on {}", listener.local_addr()?);
    let shared = Arc::new(client_mode::Shared {
        cases,
        results: Mutex::new(Vec::new()),
        limits: limits(&a.common),
        progress: a.common.progress,
    });
    let begin = Instant::now();
    let passed = Mutex::new(true);
    let report = a.report.clone();
    let strict = a.common.strict;
    client_mode::listen(listener, Arc::clone(&shared), a.keep_running, |s| {
        let Ok(results) = s.results.lock() else {
            return;
        };
        let mut refs: Vec<&CaseResult> = results.iter().collect();
        refs.sort_by_key(|r| r.index);
        if let Err(e) = write_reports(&report, &refs) {
            eprintln!("ws6455: cannot write the reports: {e}");
        }
        let ok = summarize(&refs, begin.elapsed(), strict);
        if let Ok(mut p) = passed.lock() {
            *p = ok;
        }
    })?;
    Ok(passed.into_inner().unwrap_or(false))
}
