//! `ws6455`: the command-line face of the stack (floor 3). Every command is
//! a thin app on the library's public API.

mod autobahn_client;
mod bench;
mod log;
mod serve;

use clap::{Parser, Subcommand};

/// A from-scratch RFC 6455 WebSocket stack: server, client and tools.
#[derive(Parser, Debug)]
#[command(name = "ws6455", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the WebSocket server: every upgrade is an echo endpoint (the
    /// Autobahn testee); `GET /` answers with a page.
    Serve(serve::Args),
    /// Drive an Autobahn fuzzingserver with ws6455's client, echoing every
    /// message of every case.
    AutobahnClient(autobahn_client::Args),
    /// Load generator: closed-loop echo load, fan-out, or idle connections.
    Bench(bench::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::AutobahnClient(args) => autobahn_client::run(args),
        Command::Bench(args) => bench::run(args),
    };
    if let Err(e) = result {
        eprintln!("ws6455: {e}");
        std::process::exit(1);
    }
}
