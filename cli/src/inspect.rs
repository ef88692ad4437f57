//! `ws6455 inspect`: explains frames and opening handshakes byte by byte,
//! for people studying the wire protocol. The explaining is the library's
//! (`ws6455_describe`); this file reads the input and picks the
//! report.
//!
//! Exit status: 0 when everything is valid, 1 when something breaks a
//! rule, 2 when the input cannot be read (not hex, empty).

use std::io::{self, IsTerminal, Read};
use std::process::ExitCode;

use ws6455::Role;
use ws6455_describe::{
    describe_frames, describe_handshake, render_frames, render_handshake, DescribeOptions, HeadKind,
};

/// Options of `ws6455 inspect`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Frame bytes as hex, e.g. `81 05 48 65 6c 6c 6f`, `0x81,0x05`,
    /// `8105 48656c6c6f`. Without them, hex (or with --raw, bytes) is read
    /// from stdin.
    #[arg(value_name = "HEX", conflicts_with_all = ["raw", "handshake"])]
    pub hex: Vec<String>,
    /// Read raw bytes from stdin instead of hex text.
    #[arg(long)]
    pub raw: bool,
    /// Show long payloads in full instead of their first bytes.
    #[arg(long)]
    pub full: bool,
    /// Who sent the frames: `client` (must mask them) or `server` (must
    /// not), to check the masking rule (§5.1). Default: each frame's sender
    /// is inferred from its MASK bit and the rule is not checked.
    #[arg(long, value_enum, value_name = "WHO")]
    pub role: Option<Sender>,
    /// Read an opening handshake (request or response) from stdin. Assumed
    /// anyway when the input starts with "GET " or "HTTP/".
    #[arg(long)]
    pub handshake: bool,
    /// The client's Sec-WebSocket-Key, to check that a response's
    /// Sec-WebSocket-Accept matches it.
    #[arg(long)]
    pub key: Option<String>,
    /// The frames come from a connection that agreed to permessage-deflate
    /// (RFC 7692): RSV1 on a message's first frame means "compressed".
    #[arg(long)]
    pub deflate: bool,
    /// Like --deflate, and inflate each compressed message (keeping the
    /// window from one message to the next, as with context takeover).
    #[arg(long)]
    pub inflate: bool,
}

/// The sender named by `--role`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    /// The frames were sent by a client.
    Client,
    /// The frames were sent by a server.
    Server,
}

const VALID: u8 = 0;
const BROKEN: u8 = 1;
const UNREADABLE: u8 = 2;

/// Read the input, print the report, and exit 0 (valid), 1 (a rule is
/// broken) or 2 (unreadable input).
pub fn run(args: Args) -> ExitCode {
    match inspect(&args) {
        Ok(report) => {
            print!("{}", report.text);
            ExitCode::from(if report.valid { VALID } else { BROKEN })
        }
        Err(e) => {
            eprintln!("ws6455 inspect: {e}");
            ExitCode::from(UNREADABLE)
        }
    }
}

struct Report {
    text: String,
    valid: bool,
}

fn inspect(args: &Args) -> Result<Report, String> {
    let sender = args.role.map(|r| match r {
        Sender::Client => Role::Client,
        Sender::Server => Role::Server,
    });
    if !args.hex.is_empty() {
        let bytes = parse_hex(&args.hex.join(" "))?;
        return frames(&bytes, sender, args);
    }
    if io::stdin().is_terminal() {
        eprintln!("reading from stdin (hex, or a handshake); end with Ctrl-D");
    }
    let mut input = Vec::new();
    io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| format!("cannot read stdin: {e}"))?;
    let start = input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(input.len());
    let body = input.get(start..).unwrap_or_default();
    if args.handshake || body.starts_with(b"GET ") || body.starts_with(b"HTTP/") {
        return handshake(&input, args, sender);
    }
    let bytes = if args.raw {
        input
    } else {
        let text = std::str::from_utf8(&input)
            .map_err(|_| "stdin is not hex text (use --raw for bytes)".to_owned())?;
        parse_hex(text)?
    };
    frames(&bytes, sender, args)
}

fn frames(bytes: &[u8], sender: Option<Role>, args: &Args) -> Result<Report, String> {
    if bytes.is_empty() {
        return Err("no bytes to inspect".into());
    }
    let options = DescribeOptions {
        sender,
        deflate: args.deflate,
        inflate: args.inflate,
    };
    let report = describe_frames(bytes, options);
    Ok(Report {
        text: render_frames(&report, args.full),
        valid: report.is_valid(),
    })
}

/// A handshake head, then any frames after it: in raw input, the bytes
/// that followed the head on the wire (sent by the same side); in text
/// input, hex.
fn handshake(input: &[u8], args: &Args, sender: Option<Role>) -> Result<Report, String> {
    let report = describe_handshake(input, args.key.as_deref());
    let mut text = render_handshake(&report);
    let mut valid = report.is_valid();
    let rest = input.get(report.head_len..).unwrap_or_default();
    if rest.iter().all(u8::is_ascii_whitespace) {
        return Ok(Report { text, valid });
    }
    let bytes = if args.raw {
        rest.to_vec()
    } else {
        let hex = std::str::from_utf8(rest).map_err(|_| "the text after the head is not hex")?;
        parse_hex(hex)?
    };
    let sender = sender.or(Some(match report.kind {
        HeadKind::Request => Role::Client,
        HeadKind::Response => Role::Server,
    }));
    let frames = frames(&bytes, sender, args)?;
    text.push('\n');
    text.push_str(&frames.text);
    valid &= frames.valid;
    Ok(Report { text, valid })
}

/// Hex text to bytes. Tokens are separated by whitespace (newlines too) or
/// commas; each may start with `0x` and holds one hex digit (one byte) or
/// an even number of them (one byte per pair), so `81 05`, `0x81,0x05`,
/// `8105` and the RFC's `0x0100` all read naturally.
fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let tokens = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty());
    for token in tokens {
        let digits = token
            .strip_prefix("0x")
            .or_else(|| token.strip_prefix("0X"))
            .unwrap_or(token);
        if let Some(bad) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(format!("not hex: {bad:?} in {token:?}"));
        }
        let value = |pair: &str| u8::from_str_radix(pair, 16).map_err(|e| e.to_string());
        match digits.len() {
            0 => return Err(format!("no digits in {token:?}")),
            1 => out.push(value(digits)?),
            n if n % 2 == 1 => {
                return Err(format!(
                    "odd number of hex digits in {token:?}: write one byte as 2 digits"
                ))
            }
            _ => {
                // ASCII hex digits only (checked above), so every pair is
                // on a character boundary.
                for i in (0..digits.len()).step_by(2) {
                    out.push(value(digits.get(i..i + 2).unwrap_or_default())?);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::parse_hex;

    #[test]
    fn hex_in_every_spelling() {
        let hello = vec![0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        for text in [
            "81 05 48 65 6c 6c 6f",
            "0x81 0x05 0x48 0x65 0x6c 0x6c 0x6f",
            "0x81,0x05,0x48,0x65,0x6c,0x6c,0x6f",
            "81, 05,\n48 65\t6c 6c 6F\n",
            "8105 48656c6c6f",
            "0X8105 0x48656C6C6F",
        ] {
            assert_eq!(parse_hex(text).unwrap(), hello, "{text:?}");
        }
        assert_eq!(parse_hex("82 7E 0x0100").unwrap(), [0x82, 0x7e, 1, 0]);
        assert_eq!(parse_hex("1 a").unwrap(), [1, 10]);
        assert_eq!(parse_hex("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn bad_hex_is_named() {
        assert!(parse_hex("81 zz").unwrap_err().contains("'z'"));
        assert!(parse_hex("810").unwrap_err().contains("odd number"));
        assert!(parse_hex("0x").unwrap_err().contains("no digits"));
    }
}
