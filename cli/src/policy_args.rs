//! `serve`'s options for who may connect, and the library policy they
//! make: `--allow-origin` (RFC 6455 §10.2); `--chat-token-file`, the
//! chat's tokens (checked by the chat's route, see `apps/tokens.rs`);
//! `--max-connections`, `--max-connections-per-ip` and
//! `--max-handshakes-per-ip`, the connection limits (§10.4; none by
//! default, so the Autobahn testee and the benchmarks, which open
//! thousands of connections from one address, are never refused).
//! `--rate-limit`, how fast a connection may send (§10.4, `Config::rate_limit`).
//! Without `--rate-limit` nothing is limited: the Autobahn testsuite runs
//! `serve` without options and must never be.
//!
//! serve's default is stricter than the library's: pages it serves itself
//! (the chat and the game, which connect to `location.host`) and the
//! origins named with `--allow-origin`; `--allow-origin '*'` allows any.
//! Requests without an `Origin` (programs, not browsers: Autobahn's
//! wstest, `ws6455 connect`, `bench`) are always allowed.

use std::time::Duration;

use ws6455::proto::RateLimit;
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
    /// Limit every connection to MSGS messages per SECONDS (`20/1`,
    /// `100/10`): a burst of MSGS, then MSGS per SECONDS sustained. Over
    /// it, the connection is closed with 1008 (or paused, see
    /// `--rate-limit-mode`). Default: no limit.
    #[arg(long = "rate-limit", value_name = "MSGS/SECONDS")]
    pub rate_limit: Option<String>,
    /// Also limit every connection to BYTES of message payload per SECONDS
    /// (`65536/1`); the burst, BYTES, also caps a single message.
    #[arg(long = "rate-limit-bytes", value_name = "BYTES/SECONDS")]
    pub rate_limit_bytes: Option<String>,
    /// What happens to a connection over its rate limit: `close` it with
    /// 1008 (policy violation) and the reason "message rate limit
    /// exceeded", or `pause` reading it until it is within the limit again.
    #[arg(long = "rate-limit-mode", value_name = "MODE", value_enum)]
    pub rate_limit_mode: Option<RateMode>,
}

/// `--rate-limit-mode`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RateMode {
    /// Close with 1008.
    #[default]
    Close,
    /// Stop reading until the connection is within its limit.
    Pause,
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

    /// The rate limit from `--rate-limit`, `--rate-limit-bytes` and
    /// `--rate-limit-mode`; `None` without the first two (no limit).
    pub fn rate_limit(&self) -> Result<Option<RateLimit>, BadOptions> {
        let messages = self
            .rate_limit
            .as_deref()
            .map(|v| parse_rate("--rate-limit", v))
            .transpose()?;
        let bytes = self
            .rate_limit_bytes
            .as_deref()
            .map(|v| parse_rate("--rate-limit-bytes", v))
            .transpose()?;
        let limit = match (messages, bytes) {
            (None, None) => {
                return match self.rate_limit_mode {
                    Some(_) => Err(BadOptions(
                        "--rate-limit-mode needs --rate-limit or --rate-limit-bytes".to_owned(),
                    )),
                    None => Ok(None),
                };
            }
            (Some((count, per)), bytes) => {
                let count = u32::try_from(count).map_err(|_| {
                    BadOptions(format!("--rate-limit: at most {} messages", u32::MAX))
                })?;
                let limit = RateLimit::messages(count, per);
                match bytes {
                    Some((count, per)) => limit.bytes(count, per),
                    None => limit,
                }
            }
            (None, Some((count, per))) => RateLimit::bytes_only(count, per),
        };
        Ok(Some(match self.rate_limit_mode.unwrap_or_default() {
            RateMode::Close => limit.close(),
            RateMode::Pause => limit.pause(),
        }))
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

/// `COUNT/SECONDS`, both whole numbers of at least 1, for `option`.
fn parse_rate(option: &str, value: &str) -> Result<(u64, Duration), BadOptions> {
    let bad = || {
        BadOptions(format!(
            "{option} {value:?}: expected COUNT/SECONDS, whole numbers of at least 1 (like 20/1)"
        ))
    };
    let (count, seconds) = value.split_once('/').ok_or_else(bad)?;
    // `u64::from_str` takes a leading `+`; digits only here.
    let number = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse::<u64>().ok())
            .flatten()
            .filter(|&n| n >= 1)
    };
    match (number(count), number(seconds)) {
        (Some(count), Some(seconds)) => Ok((count, Duration::from_secs(seconds))),
        _ => Err(bad()),
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

    fn rate(
        limit: Option<&str>,
        bytes: Option<&str>,
        mode: Option<RateMode>,
    ) -> Result<Option<RateLimit>, BadOptions> {
        Policy {
            rate_limit: limit.map(str::to_owned),
            rate_limit_bytes: bytes.map(str::to_owned),
            rate_limit_mode: mode,
            ..Policy::default()
        }
        .rate_limit()
    }

    #[test]
    fn no_rate_limit_unless_asked() {
        assert_eq!(rate(None, None, None).unwrap(), None);
        assert!(rate(None, None, Some(RateMode::Pause)).is_err());
    }

    #[test]
    fn rate_limits_parse_strictly() {
        let secs = Duration::from_secs;
        let limit = rate(Some("20/1"), None, None).unwrap().unwrap();
        assert_eq!(limit, RateLimit::messages(20, secs(1)));
        let limit = rate(Some("100/10"), Some("65536/2"), Some(RateMode::Pause))
            .unwrap()
            .unwrap();
        assert_eq!(
            limit,
            RateLimit::messages(100, secs(10))
                .bytes(65536, secs(2))
                .pause()
        );
        let limit = rate(None, Some("1000/1"), None).unwrap().unwrap();
        assert_eq!(limit, RateLimit::bytes_only(1000, secs(1)));
        for bad in [
            "20",
            "20/",
            "/1",
            "0/1",
            "20/0",
            "+20/1",
            "20/1.5",
            " 20/1",
            "a/b",
            "20/1/1",
            "4294967296/1",
        ] {
            let error = rate(Some(bad), None, None).unwrap_err();
            assert!(error.0.starts_with("--rate-limit"), "{bad}: {}", error.0);
        }
        let error = rate(Some("20/1"), Some("x"), None).unwrap_err();
        assert!(
            error.0.starts_with("--rate-limit-bytes \"x\""),
            "{}",
            error.0
        );
    }
}
