//! `serve`'s options for who may connect, and the library policy they
//! make: `--allow-origin` (RFC 6455 §10.2); `--chat-token-file`, the
//! chat's tokens (checked by the chat's route, see `apps/tokens.rs`);
//! `--max-connections`, `--max-connections-per-ip` and
//! `--max-handshakes-per-ip`, the connection limits (§10.4; none by
//! default, so the Autobahn testee and the benchmarks, which open
//! thousands of connections from one address, are never refused).
//!
//! serve's default is stricter than the library's: pages it serves itself
//! (the chat and the game, which connect to `location.host`) and the
//! origins named with `--allow-origin`; `--allow-origin '*'` allows any.
//! Requests without an `Origin` (programs, not browsers: Autobahn's
//! wstest, `ws6455 connect`, `bench`) are always allowed.

use ws6455::{ConnectionLimits, OriginPolicy};

use crate::apps::tokens::ChatTokens;

use crate::BadOptions;

/// `serve`'s admission options.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Policy {
    /// Also let web pages from this origin open WebSockets (repeatable):
    /// `https://example.com`, `http://127.0.0.1:8080`, `https://*.example.com`
    /// (any subdomain), `null`, or `*` (any origin). Without it only pages
    /// served by this server itself may (same origin as the Host header);
    /// others are answered 403.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,
    /// Require a token to join the chat (`/chat` only; the echo endpoint
    /// stays open): FILE has one `TOKEN NAME` a line (blank lines and `#`
    /// comments ignored), and the NAME is that user's nickname. A missing
    /// or unknown token is answered 401 before the upgrade.
    #[arg(long = "chat-token-file", value_name = "FILE")]
    pub chat_token_file: Option<std::path::PathBuf>,
    /// Hold at most N WebSocket connections in all: the next upgrade is
    /// answered 503 (and sockets beyond N handshakes in progress are
    /// closed at accept). Default: no limit.
    #[arg(long = "max-connections", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Hold at most N WebSocket connections per client address (an IPv4
    /// address or an IPv6 /64): the next upgrade from it is answered 503.
    /// Default: no limit.
    #[arg(long = "max-connections-per-ip", value_name = "N")]
    pub max_connections_per_ip: Option<usize>,
    /// Let one client address (IPv4, or IPv6 /64) have at most N opening
    /// handshakes in progress; beyond them a new socket is closed at accept
    /// without reading a byte. Default: no limit.
    #[arg(long = "max-handshakes-per-ip", value_name = "N")]
    pub max_handshakes_per_ip: Option<usize>,
}

impl Policy {
    /// The chat's tokens, if `--chat-token-file` was given.
    pub fn chat_tokens(&self) -> Result<Option<ChatTokens>, BadOptions> {
        self.chat_token_file
            .as_deref()
            .map(|path| ChatTokens::load(path).map_err(BadOptions))
            .transpose()
    }

    /// The connection limits from `--max-connections*` and
    /// `--max-handshakes-per-ip`.
    pub fn limits(&self) -> ConnectionLimits {
        let mut limits = ConnectionLimits::none();
        limits.max_connections = self.max_connections;
        limits.max_per_client = self.max_connections_per_ip;
        limits.max_handshakes_per_client = self.max_handshakes_per_ip;
        limits
    }

    /// The Origin policy: same origin as Host, plus every `--allow-origin`.
    pub fn origins(&self) -> Result<OriginPolicy, BadOptions> {
        self.allow_origin
            .iter()
            .try_fold(OriginPolicy::same_host(), |policy, pattern| {
                policy
                    .allow(pattern)
                    .map_err(|e| BadOptions(format!("--allow-origin {e}")))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(patterns: &[&str]) -> Result<OriginPolicy, BadOptions> {
        Policy {
            allow_origin: patterns.iter().map(|p| (*p).to_owned()).collect(),
            ..Policy::default()
        }
        .origins()
    }

    #[test]
    fn same_host_unless_told_otherwise() {
        let p = policy(&[]).unwrap();
        assert_eq!(p.to_string(), "same origin as Host");
        let host = Some("127.0.0.1:9001");
        assert!(p.allows(Some("http://127.0.0.1:9001"), host, false));
        assert!(!p.allows(Some("http://127.0.0.1:8080"), host, false));
        let p = policy(&["http://127.0.0.1:8080"]).unwrap();
        assert!(p.allows(Some("http://127.0.0.1:8080"), host, false));
        assert!(policy(&["*"]).unwrap().allows_any());
    }

    #[test]
    fn a_bad_pattern_names_the_option() {
        let error = policy(&["https://ok.example", "https://example.com/"]).unwrap_err();
        assert!(
            error
                .0
                .starts_with("--allow-origin \"https://example.com/\""),
            "{}",
            error.0
        );
    }
}
