//! Origins as text (RFC 6454 §6.1: `scheme "://" host [ ":" port ]`),
//! `Host` headers (RFC 6455 §4.2.1 item 2) and the patterns
//! [`OriginPolicy::allow`](super::OriginPolicy::allow) takes: parsed
//! without allocating, compared the way browsers serialize them.

use std::fmt;
use std::net::Ipv6Addr;

use super::OriginPatternError;

/// An origin taken apart (RFC 6454 §6.1 `scheme "://" host [ ":" port ]`),
/// borrowing the text it came from. `port` is filled in from the scheme's
/// default; `None` for a scheme without one and no port given.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Parts<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<u16>,
}

impl<'a> Parts<'a> {
    pub(super) fn parse(text: &'a str) -> Result<Self, &'static str> {
        let (scheme, authority) = text
            .split_once("://")
            .ok_or("no scheme:// before the host")?;
        if !is_scheme(scheme) {
            return Err("invalid scheme");
        }
        if authority.contains(['/', '?', '#']) {
            return Err("an origin has no path, query or fragment (drop any trailing /)");
        }
        if authority.contains('@') {
            return Err("an origin has no user name or password");
        }
        let (host, port) = split_host_port(authority)?;
        Ok(Parts {
            scheme,
            host,
            port: port.or_else(|| default_port(scheme)),
        })
    }
}

/// RFC 3986 §3.1: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(scheme: &str) -> bool {
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The port a scheme implies when none is written (RFC 6454 §4 leaves it
/// out of the serialization when it is the default).
fn default_port(scheme: &str) -> Option<u16> {
    if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("ws") {
        Some(80)
    } else if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("wss") {
        Some(443)
    } else {
        None
    }
}

/// `host[:port]` (an origin's authority or a `Host` header): the host
/// (brackets kept for an IPv6 literal) and the port, if written.
fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), &'static str> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (inner, after) = rest.split_once(']').ok_or("unclosed [ in the host")?;
        if inner.parse::<Ipv6Addr>().is_err() {
            return Err("invalid IPv6 address");
        }
        let host = authority
            .get(..inner.len().saturating_add(2))
            .ok_or("invalid host")?;
        if after.is_empty() {
            (host, None)
        } else {
            let port = after
                .strip_prefix(':')
                .ok_or("junk after the IPv6 address")?;
            (host, Some(port))
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if !host.starts_with('[') && !is_reg_name(host) {
        return Err("invalid host");
    }
    let port = match port {
        None => None,
        Some(port)
            if !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(port.parse::<u16>().map_err(|_| "invalid port")?)
        }
        Some(_) => return Err("invalid port"),
    };
    Ok((host, port))
}

/// A host name or IPv4 address as browsers serialize it (ASCII, IDNs in
/// punycode): letters, digits, `-`, `.`, `_`, `~`; not empty.
fn is_reg_name(host: &str) -> bool {
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Hosts compare ASCII case-insensitively; IPv6 literals as addresses
/// (`[::1]` is `[0:0::1]`).
fn host_eq(a: &str, b: &str) -> bool {
    let v6 = |h: &str| {
        h.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .and_then(|h| h.parse::<Ipv6Addr>().ok())
    };
    match (v6(a), v6(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a.eq_ignore_ascii_case(b),
    }
}

/// The origin names the server the `Host` header names, with the scheme
/// this connection speaks (§4.2.1 item 2, §10.2).
pub(super) fn same_host(origin: &Parts<'_>, host: &str, secure: bool) -> bool {
    let scheme = if secure { "https" } else { "http" };
    let Ok((host, port)) = split_host_port(host) else {
        return false;
    };
    origin.scheme.eq_ignore_ascii_case(scheme)
        && host_eq(origin.host, host)
        && origin.port == port.or_else(|| default_port(scheme))
}

/// What [`OriginPolicy::allow`] was given.
pub(super) enum Allowed {
    Any,
    Null,
    Origin(Pattern),
}

/// One allowed origin, lowercased, its port filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Pattern {
    scheme: String,
    host: Host,
    port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Host {
    /// This host only.
    Exact(String),
    /// Any host below this domain (`*.example.com`), not the domain itself.
    Below(String),
}

impl Pattern {
    pub(super) fn parse(text: &str) -> Result<Allowed, OriginPatternError> {
        let error = |reason| OriginPatternError {
            pattern: text.to_owned(),
            reason,
        };
        let trimmed = text.trim();
        if trimmed == "*" {
            return Ok(Allowed::Any);
        }
        if trimmed.eq_ignore_ascii_case("null") {
            return Ok(Allowed::Null);
        }
        if trimmed.is_empty() {
            return Err(error("empty"));
        }
        // A wildcard label stands in for a valid one while parsing.
        let (unstarred, below) = match trimmed.split_once("://*.") {
            Some((_, rest)) if rest.starts_with('[') => {
                return Err(error("a wildcard needs a domain name, not an IP address"));
            }
            Some((scheme, rest)) => (format!("{scheme}://x.{rest}"), true),
            None => (trimmed.to_owned(), false),
        };
        if unstarred.contains('*') {
            return Err(error(
                "a wildcard can only be the whole first label, as in https://*.example.com",
            ));
        }
        let parts = Parts::parse(&unstarred).map_err(error)?;
        let host = parts.host.to_ascii_lowercase();
        let host = if below {
            if host.get(2..).is_some_and(is_ip_v4) {
                return Err(error("a wildcard needs a domain name, not an IP address"));
            }
            Host::Below(host.get(2..).unwrap_or_default().to_owned())
        } else {
            Host::Exact(host)
        };
        Ok(Allowed::Origin(Pattern {
            scheme: parts.scheme.to_ascii_lowercase(),
            host,
            port: parts.port,
        }))
    }

    pub(super) fn matches(&self, origin: &Parts<'_>) -> bool {
        if !origin.scheme.eq_ignore_ascii_case(&self.scheme) || origin.port != self.port {
            return false;
        }
        match &self.host {
            Host::Exact(host) => host_eq(origin.host, host),
            Host::Below(domain) => {
                // `label.` then the domain: at least one label more.
                let Some(split) = origin.host.len().checked_sub(domain.len()) else {
                    return false;
                };
                let (labels, tail) = match (origin.host.get(..split), origin.host.get(split..)) {
                    (Some(labels), Some(tail)) => (labels, tail),
                    _ => return false,
                };
                tail.eq_ignore_ascii_case(domain)
                    && labels.len() > 1
                    && labels.ends_with('.')
                    && !labels.starts_with('.')
            }
        }
    }
}

fn is_ip_v4(host: &str) -> bool {
    host.parse::<std::net::Ipv4Addr>().is_ok()
}

impl fmt::Display for Pattern {
    /// As RFC 6454 serializes it: the default port left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        match &self.host {
            Host::Exact(host) => f.write_str(host)?,
            Host::Below(domain) => write!(f, "*.{domain}")?,
        }
        match self.port {
            Some(port) if Some(port) != default_port(&self.scheme) => write!(f, ":{port}"),
            _ => Ok(()),
        }
    }
}
