//! §3 WebSocket URIs: `ws://` and `wss://`.
//!
//! ```text
//! ws-URI = "ws:" "//" host [ ":" port ] path [ "?" query ]
//! wss-URI = "wss:" "//" host [ ":" port ] path [ "?" query ]
//! ```
//!
//! [`WsUri::parse`] splits such a URI into the /host/, /port/, /resource
//! name/ and /secure/ flag that §4.1 opens a connection with. Parsing is
//! strict where a mistake would connect somewhere unintended (user info,
//! unbracketed IPv6, bad ports, fragments) and lenient where the intent is
//! plain: characters a URI may not hold literally, such as a space in the
//! path, are percent-encoded.

use alloc::{format, string::String, string::ToString};

use core::fmt;
use core::net::Ipv6Addr;
use core::str::FromStr;

/// A parsed §3 WebSocket URI: the /host/, /port/, /resource name/ and
/// /secure/ flag of §4.1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WsUri {
    /// §3: "The URI is called "secure" ... if the scheme component matches
    /// "wss" case-insensitively."
    pub secure: bool,
    /// The host, lowercased (RFC 3986 §3.2.2: "The host subcomponent is
    /// case-insensitive"); an IPv6 literal without its brackets.
    pub host: String,
    /// The port: the one given, or §3's defaults, 80 for `ws` and 443 for
    /// `wss`.
    pub port: u16,
    /// The §3 /resource name/: the path ("/" if empty), then "?" and the
    /// query if the query is non-empty.
    pub resource: String,
}

/// Why a string is not a usable §3 WebSocket URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UriError {
    /// The scheme is missing or is neither `ws` nor `wss` (§3).
    BadScheme,
    /// There is no `//` authority, or its host is empty (§3: `host` is
    /// required).
    MissingHost,
    /// The authority carries `user@`, which §3's `host [":" port]` does not
    /// allow.
    UserInfo,
    /// The host is not an RFC 3986 §3.2.2 reg-name, IPv4 address or
    /// bracketed IPv6 address.
    BadHost,
    /// The port is not a number from 1 to 65535 (RFC 3986 §3.2.3).
    BadPort,
    /// §3: fragment identifiers "MUST NOT be used on these URIs"; a `#` that
    /// is data "MUST be escaped as %23".
    Fragment,
    /// A control character (CR, LF, TAB, NUL, …) appears in the URI.
    InvalidCharacter,
    /// A `%` is not followed by two hexadecimal digits (RFC 3986 §2.1).
    BadPercentEncoding,
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UriError::BadScheme => "scheme must be ws or wss (RFC 6455 §3)",
            UriError::MissingHost => "URI has no host (RFC 6455 §3)",
            UriError::UserInfo => {
                "user information is not allowed in a WebSocket URI (RFC 6455 §3)"
            }
            UriError::BadHost => "invalid host (RFC 3986 §3.2.2)",
            UriError::BadPort => "port must be a number from 1 to 65535",
            UriError::Fragment => "fragment identifiers must not be used (RFC 6455 §3)",
            UriError::InvalidCharacter => "control character in URI",
            UriError::BadPercentEncoding => {
                "'%' must be followed by two hex digits (RFC 3986 §2.1)"
            }
        })
    }
}

impl core::error::Error for UriError {}

impl WsUri {
    /// Parse `ws://host[:port][/path][?query]`, or the same with `wss://`
    /// (reported as `secure`), per §3.
    ///
    /// The scheme is case-insensitive; the ports default to 80 and 443; IPv6
    /// literals go in brackets (`ws://[::1]:9001/`). §3: fragment identifiers
    /// "MUST NOT be used on these URIs", so any `#` is an error. Leading and
    /// trailing whitespace is ignored; control characters are refused; other
    /// characters a URI may not hold literally (space, non-ASCII, `"`, `<`,
    /// …) are percent-encoded into the resource.
    pub fn parse(s: &str) -> Result<WsUri, UriError> {
        let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
        if s.chars().any(|c| c.is_ascii_control()) {
            return Err(UriError::InvalidCharacter);
        }
        let (scheme, rest) = s.split_once(':').ok_or(UriError::BadScheme)?;
        let secure = if scheme.eq_ignore_ascii_case("ws") {
            false
        } else if scheme.eq_ignore_ascii_case("wss") {
            true
        } else {
            return Err(UriError::BadScheme);
        };
        if rest.contains('#') {
            return Err(UriError::Fragment);
        }
        let rest = rest.strip_prefix("//").ok_or(UriError::MissingHost)?;
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest
            .split_at_checked(authority_end)
            .ok_or(UriError::MissingHost)?;
        if authority.contains('@') {
            return Err(UriError::UserInfo);
        }
        let (host, port) = split_host_port(authority)?;
        let port = match port {
            Some(port) => port,
            None if secure => 443,
            None => 80,
        };
        let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
        let mut resource = String::with_capacity(tail.len().saturating_add(1));
        if path.is_empty() {
            resource.push('/');
        }
        encode_into(&mut resource, path)?;
        if !query.is_empty() {
            resource.push('?');
            encode_into(&mut resource, query)?;
        }
        Ok(WsUri {
            secure,
            host,
            port,
            resource,
        })
    }

    /// The `Host` header value for this URI (§4.1 item 4: "/host/ plus
    /// optionally ":" followed by /port/ (when not using the default
    /// port)"), with an IPv6 literal back in brackets.
    pub fn host_header(&self) -> String {
        let mut value = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port != default_port(self.secure) {
            value.push(':');
            value.push_str(&self.port.to_string());
        }
        value
    }
}

impl FromStr for WsUri {
    type Err = UriError;

    /// Same as [`WsUri::parse`] (§3).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WsUri::parse(s)
    }
}

impl fmt::Display for WsUri {
    /// The URI in §3 form: scheme, [`host_header`](WsUri::host_header), then
    /// the resource name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.secure { "wss" } else { "ws" };
        write!(f, "{scheme}://{}{}", self.host_header(), self.resource)
    }
}

/// §3: "the default for "ws" is port 80, while the default for "wss" is port
/// 443".
fn default_port(secure: bool) -> u16 {
    if secure {
        443
    } else {
        80
    }
}

/// Split an authority (without user info) into a lowercased host and an
/// optional port. An empty port (`host:`) means the default, as RFC 3986
/// §3.2.3 allows.
fn split_host_port(authority: &str) -> Result<(String, Option<u16>), UriError> {
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        // RFC 3986 §3.2.2: IP-literal = "[" IPv6address "]". Zone IDs and
        // IPvFuture are not supported.
        let (literal, after) = bracketed.split_once(']').ok_or(UriError::BadHost)?;
        if literal.parse::<Ipv6Addr>().is_err() {
            return Err(UriError::BadHost);
        }
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(UriError::BadPort)?),
        };
        (literal, port)
    } else {
        match authority.rsplit_once(':') {
            // An unbracketed IPv6 address would be misread as host and port.
            Some((host, _)) if host.contains(':') => return Err(UriError::BadHost),
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(UriError::MissingHost);
    }
    if !authority.starts_with('[') && !is_reg_name(host) {
        return Err(UriError::BadHost);
    }
    let port = match port {
        None | Some("") => None,
        Some(digits) => Some(parse_port(digits)?),
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// RFC 3986 §3.2.2 `reg-name = *( unreserved / pct-encoded / sub-delims )`,
/// which also covers IPv4 addresses.
fn is_reg_name(host: &str) -> bool {
    let bytes = host.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| match b {
        b'%' => is_pct_encoded(bytes, i),
        _ => is_unreserved(b) || is_sub_delim(b),
    })
}

/// RFC 3986 §3.2.3 `port = *DIGIT`, limited to a TCP port we can connect to.
fn parse_port(digits: &str) -> Result<u16, UriError> {
    // u16::from_str would accept a leading '+'; the grammar allows digits
    // only.
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UriError::BadPort);
    }
    match digits.parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(UriError::BadPort),
    }
}

/// Append a path or query to `out`, keeping what RFC 3986 §3.3/§3.4 allow
/// literally (`pchar`, `/`, `?`, valid `%XX`) and percent-encoding the rest,
/// so the resource name can go on a request line unchanged.
fn encode_into(out: &mut String, part: &str) -> Result<(), UriError> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = part.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'%' {
            if !is_pct_encoded(bytes, i) {
                return Err(UriError::BadPercentEncoding);
            }
            out.push('%');
        } else if is_unreserved(b) || is_sub_delim(b) || matches!(b, b':' | b'@' | b'/' | b'?') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.extend(HEX.get(usize::from(b >> 4)).map(|&h| char::from(h)));
            out.extend(HEX.get(usize::from(b & 0x0f)).map(|&h| char::from(h)));
        }
    }
    Ok(())
}

/// RFC 3986 §2.1: the `%` at `i` is followed by two hex digits.
fn is_pct_encoded(bytes: &[u8], i: usize) -> bool {
    bytes
        .get(i.saturating_add(1)..i.saturating_add(3))
        .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
}

/// RFC 3986 §2.3 `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 §2.2 `sub-delims`.
fn is_sub_delim(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> WsUri {
        WsUri::parse(s).unwrap()
    }

    #[test]
    fn section_4_1_example() {
        // §4.1: "if the WebSocket URI is "ws://example.com/chat", the first
        // line sent should be "GET /chat HTTP/1.1"".
        let u = uri("ws://example.com/chat");
        assert_eq!(
            u,
            WsUri {
                secure: false,
                host: "example.com".into(),
                port: 80,
                resource: "/chat".into()
            }
        );
        assert_eq!(u.host_header(), "example.com");
        assert_eq!(u.to_string(), "ws://example.com/chat");
    }

    #[test]
    fn default_ports_and_explicit_ports() {
        assert_eq!(uri("ws://h").port, 80);
        assert_eq!(uri("wss://h").port, 443);
        assert!(uri("wss://h").secure);
        assert_eq!(uri("ws://h:9001/").port, 9001);
        assert_eq!(uri("ws://h:9001/").host_header(), "h:9001");
        assert_eq!(uri("ws://h:80/").host_header(), "h");
        assert_eq!(uri("wss://h:443/").host_header(), "h");
        assert_eq!(uri("wss://h:80/").host_header(), "h:80");
        assert_eq!(uri("ws://h:443/").host_header(), "h:443");
        assert_eq!(uri("ws://h:/x").port, 80);
        assert_eq!(uri("ws://h:65535").port, 65535);
    }

    #[test]
    fn scheme_is_case_insensitive() {
        assert!(!uri("WS://h/").secure);
        assert!(uri("WsS://h/").secure);
    }

    #[test]
    fn resource_name_construction() {
        // §3: "/" if the path is empty; "?" only if the query is non-empty.
        assert_eq!(uri("ws://h").resource, "/");
        assert_eq!(uri("ws://h/").resource, "/");
        assert_eq!(uri("ws://h?x=1").resource, "/?x=1");
        assert_eq!(uri("ws://h/a/b?x=1&y=2").resource, "/a/b?x=1&y=2");
        assert_eq!(uri("ws://h/a?").resource, "/a");
        assert_eq!(uri("ws://h/a?b?c").resource, "/a?b?c");
        assert_eq!(uri("ws://h/a%23b").resource, "/a%23b");
        assert_eq!(uri("ws://h/a b/é").resource, "/a%20b/%C3%A9");
        assert_eq!(uri("ws://h/<x>").resource, "/%3Cx%3E");
        assert_eq!(uri("  ws://h/x \n").resource, "/x");
    }

    #[test]
    fn hosts() {
        assert_eq!(uri("ws://Example.COM/").host, "example.com");
        assert_eq!(uri("ws://127.0.0.1:9001").host, "127.0.0.1");
        let v6 = uri("ws://[::1]:9001/chat");
        assert_eq!(v6.host, "::1");
        assert_eq!(v6.port, 9001);
        assert_eq!(v6.host_header(), "[::1]:9001");
        assert_eq!(uri("wss://[2001:DB8::1]").host_header(), "[2001:db8::1]");
        assert_eq!(uri("ws://[::1]").to_string(), "ws://[::1]/");
        assert_eq!(uri("ws://my_host.local").host, "my_host.local");
    }

    #[test]
    fn fragments_rejected() {
        assert_eq!(WsUri::parse("ws://h/chat#x"), Err(UriError::Fragment));
        assert_eq!(WsUri::parse("ws://h/#"), Err(UriError::Fragment));
        assert_eq!(WsUri::parse("ws://h#x"), Err(UriError::Fragment));
        assert_eq!(WsUri::parse("ws://h/?q#x"), Err(UriError::Fragment));
    }

    #[test]
    fn bad_schemes() {
        for s in [
            "http://h/",
            "https://h/",
            "wss2://h/",
            "h/chat",
            "",
            "://h",
            "ws//h",
        ] {
            assert_eq!(WsUri::parse(s), Err(UriError::BadScheme), "{s:?}");
        }
    }

    #[test]
    fn missing_or_bad_hosts() {
        for s in [
            "ws:",
            "ws:h",
            "ws://",
            "ws:///chat",
            "ws://:80/",
            "ws://?x",
            "ws://[]",
        ] {
            assert!(
                matches!(
                    WsUri::parse(s),
                    Err(UriError::MissingHost | UriError::BadHost)
                ),
                "{s:?}"
            );
        }
        assert_eq!(WsUri::parse("ws://:80/"), Err(UriError::MissingHost));
        assert_eq!(WsUri::parse("ws://::1/"), Err(UriError::BadHost));
        assert_eq!(WsUri::parse("ws://[::1/"), Err(UriError::BadHost));
        assert_eq!(WsUri::parse("ws://[nothex]/"), Err(UriError::BadHost));
        assert_eq!(WsUri::parse("ws://[::1]x/"), Err(UriError::BadPort));
        assert_eq!(WsUri::parse("ws://ho st/"), Err(UriError::BadHost));
        assert_eq!(WsUri::parse("ws://hé/"), Err(UriError::BadHost));
        assert_eq!(WsUri::parse("ws://user@h/"), Err(UriError::UserInfo));
        assert_eq!(WsUri::parse("ws://u:p@h:1/"), Err(UriError::UserInfo));
    }

    #[test]
    fn bad_ports() {
        for s in [
            "ws://h:0/",
            "ws://h:65536/",
            "ws://h:99999999999999999999/",
            "ws://h:+80/",
            "ws://h:-1/",
            "ws://h:8a/",
            "ws://h: 80/",
        ] {
            assert_eq!(WsUri::parse(s), Err(UriError::BadPort), "{s:?}");
        }
    }

    #[test]
    fn control_characters_and_bad_escapes() {
        assert_eq!(
            WsUri::parse("ws://h/a\r\nHost: evil"),
            Err(UriError::InvalidCharacter)
        );
        assert_eq!(WsUri::parse("ws://h/\0"), Err(UriError::InvalidCharacter));
        assert_eq!(
            WsUri::parse("ws://h/a%2"),
            Err(UriError::BadPercentEncoding)
        );
        assert_eq!(
            WsUri::parse("ws://h/a%zz"),
            Err(UriError::BadPercentEncoding)
        );
        assert_eq!(
            WsUri::parse("ws://h/a?%"),
            Err(UriError::BadPercentEncoding)
        );
        assert_eq!(WsUri::parse("ws://h%zz/"), Err(UriError::BadHost));
        assert_eq!(uri("ws://h%41/").host, "h%41");
    }

    #[test]
    fn errors_display_and_from_str() {
        assert!(UriError::Fragment.to_string().contains("§3"));
        let parsed: WsUri = "wss://h/x".parse().unwrap();
        assert!(parsed.secure);
        let err: Box<dyn core::error::Error> = Box::new(UriError::BadPort);
        assert!(!err.to_string().is_empty());
    }
}
