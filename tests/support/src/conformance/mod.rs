//! The conformance harness shared by `tests/conformance_*.rs`: a peer
//! that speaks RFC 6455 byte by byte (written from the RFC, not from
//! ws6455), and ws6455 in every role it plays — in-process echo server,
//! the `ws6455 serve` binary, echo client on the event loop, and echo
//! client on the blocking adapter.
//!
//! A *case* is a function that drives one connection from the harness side
//! and says how it left it ([`End`]); [`Testee::session`] sets the
//! connection up in the chosen role, runs the case, completes a normal
//! close when the case left the connection open, and checks what a ws6455
//! client reported about the ending.

pub mod testee;

pub use crate::peer::{CheckedPeer, Ev, Next, Outcome, Side, TcpEnd};
pub use crate::server::{echo_server, ServerProcess};
pub use crate::wire::{hex, BINARY, CLOSE, CONT, PING, PONG, TEXT};
pub use crate::MUST;
pub use testee::{connect, connect_with, ClientKind, EchoClient, RawServer};

use ws6455::Config;
use ws6455::RunningServer;

/// The part ws6455 plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// In-process `Server` with an echo `Handler`.
    Server,
    /// The `ws6455 serve` binary (default limits).
    Cli,
    /// A ws6455 echo client.
    Client(ClientKind),
}

impl Role {
    /// The role a test module is named after (see [`conformance!`]).
    pub fn named(name: &str) -> Role {
        match name {
            "server" => Role::Server,
            "cli" => Role::Cli,
            "client" => Role::Client(ClientKind::EventLoop),
            "blocking" => Role::Client(ClientKind::Blocking),
            other => panic!("unknown role {other}"),
        }
    }

    /// Every role, for data-driven tests that loop over them.
    pub const ALL: [Role; 3] = [
        Role::Server,
        Role::Client(ClientKind::EventLoop),
        Role::Client(ClientKind::Blocking),
    ];
}

/// How a case left the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Still open: the session closes it with 1000 and checks the closing
    /// handshake (the testee echoes 1000; the server closes TCP first).
    Open,
    /// The testee failed the connection (the case has checked its close
    /// frame and that it closed TCP). A client must report 1006, unclean,
    /// and one protocol error.
    Failed,
    /// A closing handshake completed (checked by the case); a client must
    /// report this code (1005 for a close without one), clean.
    Closed(u16),
    /// The case accepted several outcomes; the client report is not checked.
    Any,
}

/// ws6455 in one role, ready to run cases against.
pub struct Testee {
    role: Role,
    config: Config,
    server: Option<RunningServer>,
    cli: Option<ServerProcess>,
}

impl Testee {
    /// Start ws6455 in `role` (a server now; a client per session).
    pub fn new(role: Role, config: Config) -> Testee {
        let (server, cli) = match role {
            Role::Server => (Some(echo_server(config.clone())), None),
            Role::Cli => {
                assert_eq!(config, Config::default(), "the CLI runs with its defaults");
                (None, Some(ServerProcess::spawn()))
            }
            Role::Client(_) => (None, None),
        };
        Testee {
            role,
            config,
            server,
            cli,
        }
    }

    /// The role ws6455 plays.
    pub fn role(&self) -> Role {
        self.role
    }

    /// One connection: set up, run `case`, finish, check the client report.
    pub fn session(&mut self, label: &str, case: impl FnOnce(&mut CheckedPeer) -> End) {
        match self.role {
            Role::Server | Role::Cli => {
                let addr = match (&self.server, &self.cli) {
                    (Some(server), _) => server.local_addr(),
                    (_, Some(cli)) => cli.addr,
                    _ => unreachable!(),
                };
                let mut peer = connect(addr);
                peer.label = label.to_string();
                let end = case(&mut peer);
                if end == End::Open {
                    close_normally(&mut peer);
                }
            }
            Role::Client(kind) => {
                let raw = RawServer::bind();
                let client = EchoClient::spawn(kind, raw.url(), self.config.clone());
                let mut peer = raw.accept(&[]);
                peer.label = label.to_string();
                let end = case(&mut peer);
                if end == End::Open {
                    close_normally(&mut peer);
                }
                drop(peer);
                check_report(label, end, &client.join());
            }
        }
    }
}

/// Run one case in `role` with the default configuration.
pub fn run(role: Role, case: impl FnOnce(&mut CheckedPeer) -> End) {
    Testee::new(role, Config::default()).session("", case);
}

/// Run one case in `role` with `config`.
pub fn run_with(role: Role, config: Config, case: impl FnOnce(&mut CheckedPeer) -> End) {
    Testee::new(role, config).session("", case);
}

/// Close with 1000 from the harness: the testee must echo 1000 (§5.5.1)
/// and the server side must close TCP first (§7.1.1) — the testee itself
/// when it is the server, the harness (see [`CheckedPeer::finish`]) otherwise.
#[track_caller]
pub fn close_normally(peer: &mut CheckedPeer) {
    let close = peer.close(1000);
    peer.send(&close);
    let outcome = peer.finish();
    assert_eq!(
        outcome.events,
        [Ev::close(1000)],
        "[{}] closing handshake",
        peer.label
    );
    assert_eq!(
        outcome.tcp,
        Some(TcpEnd::Eof),
        "[{}] TCP must end with an orderly close",
        peer.label
    );
}

/// What a ws6455 client must have reported for how the case ended.
#[track_caller]
pub fn check_report(label: &str, end: End, report: &testee::ClientReport) {
    match end {
        End::Open => {
            assert_eq!(report.closed, Some((1000, true)), "[{label}] {report:?}");
            assert!(report.errors.is_empty(), "[{label}] {report:?}");
        }
        End::Closed(code) => {
            assert_eq!(report.closed, Some((code, true)), "[{label}] {report:?}");
            assert!(report.errors.is_empty(), "[{label}] {report:?}");
        }
        End::Failed => {
            assert_eq!(report.closed, Some((1006, false)), "[{label}] {report:?}");
            assert_eq!(report.errors.len(), 1, "[{label}] {report:?}");
            assert!(
                report.errors[0].starts_with("protocol:"),
                "[{label}] {report:?}"
            );
        }
        End::Any => {}
    }
}

/// Generate one test module per role, one test per case:
/// `conformance!([server, client, blocking] [case_a, case_b]);` makes
/// `server::case_a`, `client::case_a`, … each calling `super::case_a(role)`.
#[macro_export]
macro_rules! conformance {
    ([$($role:ident),+ $(,)?] $cases:tt) => {
        $( conformance!(@role $role $cases); )+
    };
    (@role $role:ident [$($case:ident),* $(,)?]) => {
        mod $role {
            $(
                #[test]
                fn $case() {
                    super::$case($crate::conformance::Role::named(stringify!($role)));
                }
            )*
        }
    };
}
