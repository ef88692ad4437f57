//! Who may open a WebSocket from a web page: the `Origin` policy (RFC 6455
//! §10.2, §4.2.2 item 4; origins as RFC 6454 serializes them).
//!
//! A browser sends the page's origin with every opening handshake, and a
//! page on any site may open a socket to any server, carrying the user's
//! cookies. §10.2: "servers that are not intended to process input from any
//! web page but only for certain sites SHOULD verify the |Origin| field is
//! an origin they expect. If the origin indicated is unacceptable to the
//! server, then it SHOULD respond to the WebSocket handshake with a reply
//! containing HTTP 403 Forbidden status code."
//!
//! An [`OriginPolicy`] is that check. The event loop applies it to every
//! upgrade request before [`Handler::on_request`](crate::Handler::on_request)
//! (see [`Server::origins`](crate::Server::origins)): a refused request is
//! answered 403, counted in [`Refusals::origin`](crate::Refusals::origin)
//! and logged, and the handler never hears of it. The library's default,
//! [`OriginPolicy::any`], refuses nothing.
//!
//! The rules:
//!
//! - **No `Origin` header: allowed.** Programs that are not browsers
//!   (Autobahn's wstest, Python `websockets`, Node `ws`, `ws6455 connect`)
//!   send none, and the check only protects browsers' users: a program can
//!   send any `Origin` it likes (§10.2).
//! - **`Origin: null`** (a `file:` page, a sandboxed frame, some
//!   redirects) is refused unless `null` is allowed explicitly.
//! - **An `Origin` that is not `scheme://host[:port]`** (RFC 6454 §6.1: no
//!   path, no trailing slash, no user info), or several `Origin` headers:
//!   refused.
//! - **Same origin as `Host`** ([`OriginPolicy::same_host`]): the scheme is
//!   `http`, or `https` when the loop serves TLS; host and port are the
//!   `Host` header's (§4.2.1 item 2). Default ports (80, 443) are filled in
//!   on both sides, hosts compare ASCII case-insensitively, IPv6 literals
//!   are in brackets and compare as addresses. This is exactly "a page
//!   this server served itself", whatever name the browser used for it.
//! - **Allowed origins** ([`OriginPolicy::allow`]): exact
//!   (`https://example.com`, `http://127.0.0.1:8080`), a wildcard first
//!   label (`https://*.example.com` matches `a.example.com` and
//!   `a.b.example.com`, not `example.com`), `null`, or `*` for any.
//!
//! Behind a proxy that terminates TLS, the loop serves plain TCP but pages
//! are `https://`: allow their origin by name.
//!
//! ```
//! use ws6455::OriginPolicy;
//!
//! let policy = OriginPolicy::same_host().allow("https://*.example.com")?;
//! let secure = false; // the loop serves plain ws://
//! let host = Some("127.0.0.1:9001");
//! assert!(policy.allows(Some("http://127.0.0.1:9001"), host, secure));
//! assert!(policy.allows(Some("https://app.example.com"), host, secure));
//! assert!(policy.allows(None, host, secure)); // not a browser
//! assert!(!policy.allows(Some("https://evil.example"), host, secure));
//! assert!(!policy.allows(Some("null"), host, secure));
//! # Ok::<(), ws6455::origin::OriginPatternError>(())
//! ```

use std::fmt;

use crate::proto::handshake::Request;
use syntax::{same_host, Allowed, Parts, Pattern};

mod syntax;

/// Which browser origins may open a WebSocket (RFC 6455 §10.2). See the
/// [module docs](self) for the rules; the default is [`OriginPolicy::any`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginPolicy {
    any: bool,
    same_host: bool,
    null: bool,
    allowed: Vec<Pattern>,
}

impl Default for OriginPolicy {
    /// [`OriginPolicy::any`]: what a server does without a policy.
    fn default() -> Self {
        OriginPolicy::any()
    }
}

impl OriginPolicy {
    /// Every origin, and none at all: the check is off.
    pub fn any() -> Self {
        OriginPolicy {
            any: true,
            same_host: false,
            null: false,
            allowed: Vec::new(),
        }
    }

    /// Pages from this server only: the `Origin` must name the server the
    /// `Host` header names, with `https` when the loop serves TLS and `http`
    /// otherwise (§10.2, §4.2.1 item 2). Add other origins with
    /// [`OriginPolicy::allow`].
    pub fn same_host() -> Self {
        OriginPolicy {
            any: false,
            same_host: true,
            null: false,
            allowed: Vec::new(),
        }
    }

    /// Only the origins [`OriginPolicy::allow`] adds (requests without an
    /// `Origin`, from programs, are still allowed).
    pub fn allow_list() -> Self {
        OriginPolicy {
            same_host: false,
            ..OriginPolicy::same_host()
        }
    }

    /// Also allow `pattern`: an origin as RFC 6454 serializes it
    /// (`scheme://host[:port]`, e.g. `https://example.com` or
    /// `http://[::1]:8080`), the same with a wildcard first label
    /// (`https://*.example.com`: any subdomain, not the domain itself),
    /// `null`, or `*` (any origin). Schemes and hosts are case-insensitive;
    /// `http` and `https` imply ports 80 and 443.
    pub fn allow(mut self, pattern: &str) -> Result<Self, OriginPatternError> {
        match Pattern::parse(pattern)? {
            Allowed::Any => self.any = true,
            Allowed::Null => self.null = true,
            Allowed::Origin(pattern) => {
                if !self.allowed.contains(&pattern) {
                    self.allowed.push(pattern);
                }
            }
        }
        Ok(self)
    }

    /// True when every origin is allowed ([`OriginPolicy::any`], or `*`).
    pub fn allows_any(&self) -> bool {
        self.any
    }

    /// Whether a request with this `Origin` header value (`None`: none) and
    /// this `Host` header value may open a WebSocket; `secure`: the request
    /// came over TLS.
    pub fn allows(&self, origin: Option<&str>, host: Option<&str>, secure: bool) -> bool {
        if self.any {
            return true;
        }
        let Some(origin) = origin else {
            // Not a browser (§10.2): nothing to protect.
            return true;
        };
        if origin == "null" {
            return self.null;
        }
        let Ok(origin) = Parts::parse(origin) else {
            return false;
        };
        (self.same_host && host.is_some_and(|host| same_host(&origin, host, secure)))
            || self.allowed.iter().any(|p| p.matches(&origin))
    }

    /// [`OriginPolicy::allows`] for a parsed request: its `Origin` and
    /// `Host` headers. Several `Origin` headers, or one that is not UTF-8,
    /// are refused.
    pub fn check(&self, request: &Request, secure: bool) -> Result<(), OriginRefused> {
        if self.any {
            return Ok(());
        }
        let mut values = request
            .headers()
            .filter(|(name, _)| name.eq_ignore_ascii_case("origin"))
            .map(|(_, value)| value);
        let first = values.next();
        if values.next().is_some() {
            return Err(OriginRefused::malformed("several Origin headers"));
        }
        let origin = match first.map(std::str::from_utf8) {
            None => None,
            Some(Ok(origin)) => Some(origin.trim_matches([' ', '\t'])),
            Some(Err(_)) => {
                return Err(OriginRefused::malformed(
                    "an Origin header that is not UTF-8",
                ))
            }
        };
        if self.allows(origin, request.host(), secure) {
            Ok(())
        } else {
            Err(OriginRefused::named(origin.unwrap_or_default()))
        }
    }
}

impl fmt::Display for OriginPolicy {
    /// What the policy allows, in words: `any origin`, `same origin as
    /// Host`, `same origin as Host, null, https://*.example.com`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.any {
            return f.write_str("any origin");
        }
        let mut parts: Vec<String> = Vec::new();
        if self.same_host {
            parts.push("same origin as Host".into());
        }
        if self.null {
            parts.push("null".into());
        }
        parts.extend(self.allowed.iter().map(Pattern::to_string));
        if parts.is_empty() {
            return f.write_str("no browser origin");
        }
        f.write_str(&parts.join(", "))
    }
}

/// Why [`OriginPolicy::check`] refused a request: the origin it named
/// (shortened to 200 bytes for logs), or what was wrong with its `Origin`
/// headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginRefused {
    origin: Option<String>,
    malformed: &'static str,
}

/// The longest origin kept for a log line.
const SHOWN: usize = 200;

impl OriginRefused {
    fn named(origin: &str) -> Self {
        let mut end = origin.len().min(SHOWN);
        while !origin.is_char_boundary(end) {
            end -= 1;
        }
        OriginRefused {
            origin: Some(origin.get(..end).unwrap_or_default().to_owned()),
            malformed: "",
        }
    }

    fn malformed(why: &'static str) -> Self {
        OriginRefused {
            origin: None,
            malformed: why,
        }
    }

    /// The refused origin as sent (shortened); `None` when the request's
    /// `Origin` headers could not be read (several of them, not UTF-8).
    pub fn refused_origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }
}

impl fmt::Display for OriginRefused {
    /// `origin "http://evil.example" is not allowed`, or `several Origin
    /// headers`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(origin) => write!(f, "origin {origin:?} is not allowed"),
            None => f.write_str(self.malformed),
        }
    }
}

impl std::error::Error for OriginRefused {}

/// A pattern given to [`OriginPolicy::allow`] that is not an origin: the
/// pattern and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginPatternError {
    pattern: String,
    reason: &'static str,
}

impl OriginPatternError {
    /// What is wrong with the pattern, e.g. `an origin has no path`.
    pub fn reason(&self) -> &str {
        self.reason
    }
}

impl fmt::Display for OriginPatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not an origin pattern: {} (expected scheme://host[:port], \
             scheme://*.domain[:port], null or *)",
            self.pattern, self.reason
        )
    }
}

impl std::error::Error for OriginPatternError {}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: bool = false;
    const TLS: bool = true;

    fn policy(patterns: &[&str]) -> OriginPolicy {
        patterns
            .iter()
            .try_fold(OriginPolicy::allow_list(), |p, pattern| p.allow(pattern))
            .unwrap()
    }

    /// (origin, allowed?) against `policy` with Host `host`.
    fn table(policy: &OriginPolicy, host: &str, secure: bool, cases: &[(&str, bool)]) {
        for &(origin, expected) in cases {
            assert_eq!(
                policy.allows(Some(origin), Some(host), secure),
                expected,
                "origin {origin:?}, Host {host:?}, secure {secure}, policy {policy}"
            );
        }
    }

    #[test]
    fn any_allows_everything_even_junk() {
        let any = OriginPolicy::default();
        assert!(any.allows_any());
        table(
            &any,
            "example.com",
            PLAIN,
            &[
                ("http://evil.example", true),
                ("null", true),
                ("junk", true),
            ],
        );
        let star = OriginPolicy::same_host().allow("*").unwrap();
        assert!(star.allows_any());
        table(
            &star,
            "example.com",
            PLAIN,
            &[("null", true), ("junk", true)],
        );
    }

    #[test]
    fn no_origin_header_is_allowed_by_every_policy() {
        for p in [
            OriginPolicy::same_host(),
            OriginPolicy::allow_list(),
            policy(&["https://example.com"]),
        ] {
            assert!(p.allows(None, Some("127.0.0.1:9001"), PLAIN), "{p}");
            assert!(p.allows(None, None, TLS), "{p}");
        }
    }

    #[test]
    fn same_host_over_plain_tcp() {
        let p = OriginPolicy::same_host();
        table(
            &p,
            "127.0.0.1:9001",
            PLAIN,
            &[
                ("http://127.0.0.1:9001", true),
                ("HTTP://127.0.0.1:9001", true),
                ("https://127.0.0.1:9001", false), // not the scheme this loop speaks
                ("http://127.0.0.1:9002", false),
                ("http://127.0.0.1", false), // port 80
                ("http://localhost:9001", false),
                ("http://127.0.0.2:9001", false),
                ("null", false),
            ],
        );
        table(
            &p,
            "LocalHost:9001",
            PLAIN,
            &[
                ("http://localhost:9001", true),
                ("http://LOCALHOST:9001", true),
                ("http://localhost.:9001", false),
                ("http://127.0.0.1:9001", false),
            ],
        );
    }

    #[test]
    fn same_host_fills_in_default_ports_both_ways() {
        let p = OriginPolicy::same_host();
        // Host without a port: 80 over plain TCP.
        table(
            &p,
            "example.com",
            PLAIN,
            &[
                ("http://example.com", true),
                ("http://example.com:80", true),
                ("http://example.com:8080", false),
                ("https://example.com", false),
            ],
        );
        table(&p, "example.com:80", PLAIN, &[("http://example.com", true)]);
        // 443 over TLS.
        table(
            &p,
            "example.com",
            TLS,
            &[
                ("https://example.com", true),
                ("https://example.com:443", true),
                ("http://example.com", false),
                ("http://example.com:443", false),
                ("https://example.com:80", false),
            ],
        );
        table(&p, "example.com:443", TLS, &[("https://example.com", true)]);
        table(
            &p,
            "example.com:8443",
            TLS,
            &[
                ("https://example.com:8443", true),
                ("https://example.com", false),
            ],
        );
    }

    #[test]
    fn same_host_with_ipv6_literals() {
        let p = OriginPolicy::same_host();
        table(
            &p,
            "[::1]:9001",
            PLAIN,
            &[
                ("http://[::1]:9001", true),
                ("http://[0:0::1]:9001", true),
                ("http://[::2]:9001", false),
                ("http://[::1]", false),
                ("http://::1:9001", false),
                ("http://[::1]:9001]", false),
                ("http://[nope]:9001", false),
            ],
        );
        table(
            &p,
            "[::1]",
            TLS,
            &[("https://[::1]", true), ("https://[::1]:443", true)],
        );
    }

    #[test]
    fn same_host_needs_a_host_it_can_read() {
        let p = OriginPolicy::same_host();
        assert!(!p.allows(Some("http://example.com"), None, PLAIN));
        for host in [
            "",
            "example.com:",
            "example.com:http",
            "a b",
            "[::1",
            "x:1:2",
            "h:99999",
        ] {
            assert!(
                !p.allows(Some("http://example.com"), Some(host), PLAIN),
                "Host {host:?}"
            );
        }
    }

    #[test]
    fn exact_patterns_match_scheme_host_and_port() {
        let p = policy(&[
            "https://example.com",
            "http://127.0.0.1:8080",
            "HTTP://Upper.Example",
        ]);
        table(
            &p,
            "server.test",
            PLAIN,
            &[
                ("https://example.com", true),
                ("https://example.com:443", true),
                ("https://EXAMPLE.com", true),
                ("http://example.com", false),
                ("https://example.com:8443", false),
                ("https://www.example.com", false),
                ("https://example.com.evil.test", false),
                ("http://127.0.0.1:8080", true),
                ("http://127.0.0.1:8081", false),
                ("https://127.0.0.1:8080", false),
                ("http://127.0.0.1", false),
                ("http://upper.example", true),
                // The server's own origin is not on the list.
                ("http://server.test", false),
            ],
        );
    }

    #[test]
    fn wildcards_match_every_depth_below_the_domain_but_not_the_domain() {
        let p = policy(&["https://*.example.com"]);
        table(
            &p,
            "server.test",
            TLS,
            &[
                ("https://a.example.com", true),
                ("https://a.b.example.com", true),
                ("https://A.Example.COM", true),
                ("https://example.com", false),
                ("https://.example.com", false),
                ("https://aexample.com", false),
                ("https://a.example.com.evil.test", false),
                ("http://a.example.com", false),
                ("https://a.example.com:8443", false),
            ],
        );
        let with_port = policy(&["http://*.local.test:8080"]);
        table(
            &with_port,
            "x",
            PLAIN,
            &[
                ("http://a.local.test:8080", true),
                ("http://a.local.test", false),
            ],
        );
    }

    #[test]
    fn null_is_refused_unless_allowed() {
        for p in [OriginPolicy::same_host(), policy(&["https://example.com"])] {
            assert!(!p.allows(Some("null"), Some("null"), PLAIN), "{p}");
        }
        let p = policy(&["null"]);
        assert!(p.allows(Some("null"), Some("127.0.0.1"), PLAIN));
        assert!(!p.allows(Some("http://127.0.0.1"), Some("127.0.0.1"), PLAIN));
        // Only the exact serialization is the opaque origin.
        assert!(!p.allows(Some("NULL"), Some("127.0.0.1"), PLAIN));
    }

    #[test]
    fn junk_origins_are_refused() {
        let p = OriginPolicy::same_host()
            .allow("https://example.com")
            .unwrap();
        for junk in [
            "",
            "example.com",
            "https://",
            "https://example.com/",
            "https://example.com/path",
            "https://example.com?q",
            "https://example.com#f",
            "https://user@example.com",
            "https://example.com:",
            "https://example.com:+443",
            "https://example.com:443443",
            "https://exa mple.com",
            "https://exämple.com",
            "1https://example.com",
            "https:/example.com",
            "https://*.example.com",
        ] {
            assert!(!p.allows(Some(junk), Some("example.com"), TLS), "{junk:?}");
        }
    }

    #[test]
    fn patterns_are_checked_when_given() {
        for (bad, why) in [
            ("", "empty"),
            ("example.com", "scheme"),
            ("https://example.com/", "path"),
            ("https://user@example.com", "user"),
            ("https://a.*.example.com", "wildcard"),
            ("https://*example.com", "wildcard"),
            ("*.example.com", "wildcard"),
            ("https://*.127.0.0.1", "IP address"),
            ("https://*.[::1]", "IP address"),
            ("https://example.com:99999", "port"),
            ("https://example.com:*", "wildcard"),
            ("ht tp://example.com", "scheme"),
            ("https://[::1", "["),
        ] {
            let error = OriginPolicy::same_host().allow(bad).unwrap_err();
            let message = error.to_string();
            assert!(message.contains(why), "{bad:?}: {message}");
            assert!(
                message.contains("expected scheme://host[:port]"),
                "{message}"
            );
        }
    }

    #[test]
    fn the_policy_reads_as_it_was_given() {
        assert_eq!(OriginPolicy::any().to_string(), "any origin");
        assert_eq!(OriginPolicy::same_host().to_string(), "same origin as Host");
        assert_eq!(OriginPolicy::allow_list().to_string(), "no browser origin");
        let p = OriginPolicy::same_host()
            .allow("HTTPS://*.Example.com:443")
            .and_then(|p| p.allow("http://127.0.0.1:8080"))
            .and_then(|p| p.allow("null"))
            .and_then(|p| p.allow("http://127.0.0.1:8080"))
            .unwrap();
        assert_eq!(
            p.to_string(),
            "same origin as Host, null, https://*.example.com, http://127.0.0.1:8080"
        );
    }

    fn request(headers: &str) -> Request {
        let head = format!(
            "GET /chat HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n{headers}\r\n"
        );
        let (request, _) = crate::proto::handshake::parse_request(head.as_bytes(), 8192)
            .unwrap()
            .unwrap();
        request
    }

    #[test]
    fn check_reads_the_request_headers() {
        let p = OriginPolicy::same_host();
        assert_eq!(p.check(&request(""), PLAIN), Ok(()));
        assert_eq!(
            p.check(&request("Origin: http://127.0.0.1:9001\r\n"), PLAIN),
            Ok(())
        );
        let refused = p
            .check(&request("Origin: http://evil.example\r\n"), PLAIN)
            .unwrap_err();
        assert_eq!(refused.refused_origin(), Some("http://evil.example"));
        assert_eq!(
            refused.to_string(),
            "origin \"http://evil.example\" is not allowed"
        );
        let twice = "Origin: http://127.0.0.1:9001\r\nOrigin: http://evil.example\r\n";
        let several = p.check(&request(twice), PLAIN).unwrap_err();
        assert_eq!(several.refused_origin(), None);
        assert_eq!(several.to_string(), "several Origin headers");
        assert!(OriginPolicy::any().check(&request(twice), PLAIN).is_ok());
        let long = format!("Origin: http://{}.example\r\n", "é".repeat(300));
        let long = p.check(&request(&long), PLAIN).unwrap_err();
        assert!(long.refused_origin().unwrap().len() <= SHOWN);
    }
}
