//! `ws6455`: the command-line face of the stack (floor 3). Every command is
//! a thin app on the library's public API.

mod alloc;
mod apps;
mod autobahn_client;
mod bench;
mod conformance;
mod connect;
mod inspect;
mod log;
mod policy_args;
mod serve;
mod tls_args;

use std::fmt;
use std::io;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A from-scratch RFC 6455 WebSocket stack: server, client and tools.
#[derive(Parser, Debug)]
#[command(name = "ws6455", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More log lines on stderr: -v adds debug (why connections were
    /// dropped), -vv trace.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors on stderr (no per-connection lines).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the WebSocket server: the chat demo (http://127.0.0.1:9001/),
    /// the game demo (/game), and an echo endpoint on every other path;
    /// over TLS (https://, wss://) with --tls-cert and --tls-key. Only
    /// pages it serves itself, and origins named with --allow-origin, may
    /// open WebSockets. Exit 2 if a certificate or key file cannot be used
    /// or an --allow-origin is not an origin.
    Serve(serve::Args),
    /// Talk to a WebSocket server: stdin lines go out as messages, what
    /// arrives is printed (like wscat). Exit 0 on a clean close, 1 on an
    /// unclean one, 2 if no connection could be made.
    Connect(connect::Args),
    /// Explain frames (given as hex) or an opening handshake byte by byte,
    /// naming the RFC rule any byte breaks. Exit 0 if all is valid, 1 if a
    /// rule is broken, 2 for unreadable input.
    Inspect(inspect::Args),
    /// Drive an Autobahn fuzzingserver with ws6455's client, echoing every
    /// message of every case.
    AutobahnClient(autobahn_client::Args),
    /// Load generator: closed-loop echo load, fan-out, or idle connections.
    Bench(bench::Args),
    /// Test any WebSocket server or client against the Autobahn case
    /// catalog (517 cases: sections 1-7, 9, 10, 12, 13) with wstest's
    /// verdicts and reports. Exit 0 when no case FAILED, 1 otherwise, 2
    /// for unusable options.
    Conformance(conformance::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(code) = alloc::keep_giant_buffers_longer() {
        eprintln!("ws6455: jemalloc refused the oversize arena's decay (error {code})");
    }
    log::init(log::level(cli.verbose, cli.quiet));
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::AutobahnClient(args) => autobahn_client::run(args),
        Command::Connect(args) => return connect::run(args),
        Command::Inspect(args) => return inspect::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Conformance(args) => match conformance::run(args) {
            Ok(true) => return ExitCode::SUCCESS,
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ws6455: {e}");
            let bad_options = e.get_ref().is_some_and(|inner| inner.is::<BadOptions>());
            if bad_options {
                ExitCode::from(BAD_OPTIONS)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The exit status for options that cannot be used: 2, like clap's own
/// usage errors (and `connect`'s "no connection").
const BAD_OPTIONS: u8 = 2;

/// Options that parsed but cannot be used — a certificate, key or CA file
/// that is missing, unreadable or wrong, an `--allow-origin` that is not
/// an origin. The message is one line naming
/// the option and the file; the command exits with [`BAD_OPTIONS`].
#[derive(Debug)]
pub struct BadOptions(pub String);

impl fmt::Display for BadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadOptions {}

impl From<BadOptions> for io::Error {
    fn from(bad: BadOptions) -> Self {
        io::Error::new(io::ErrorKind::InvalidInput, bad)
    }
}
