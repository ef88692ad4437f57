//! Shared bits of the peer rig: the listen address from the command line
//! and the RFC 6455 §4.2.2 accept key, for the servers that answer the
//! upgrade by hand; [`tls`]: the TLS settings and the wss:// client steps
//! of the TLS peer and clients.

use base64::Engine;
use sha1::{Digest, Sha1};

/// `--listen ADDR`, or the first argument, or 127.0.0.1:9001.
pub fn listen_addr() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().position(|a| a == "--listen") {
        Some(i) => args.get(i + 1).cloned().expect("--listen needs an address"),
        None => args
            .first()
            .cloned()
            .unwrap_or_else(|| "127.0.0.1:9001".into()),
    }
}

/// The value after `--name` on the command line, if any.
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let i = args.iter().position(|a| a == name)?;
    Some(
        args.get(i + 1)
            .cloned()
            .unwrap_or_else(|| panic!("{name} needs a value")),
    )
}

/// The value after `--name`, or exit with a usage message.
pub fn required_arg(name: &str, usage: &str) -> String {
    arg(name).unwrap_or_else(|| {
        eprintln!("missing {name}\nusage: {usage}");
        std::process::exit(2)
    })
}

/// base64(sha1(key + GUID)) (§4.2.2).
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// The end of the HTTP head in `buf` (index after "\r\n\r\n"), if complete.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// The 101 response for a request head, or None if it has no
/// Sec-WebSocket-Key. Nothing else is checked: these are benchmark peers.
pub fn response_101(head: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(head).ok()?;
    let key = text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("sec-websocket-key")
            .then(|| value.trim())
    })?;
    Some(
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(key.as_bytes())
        )
        .into_bytes(),
    )
}

pub mod tls;

#[cfg(test)]
mod tests {
    #[test]
    fn rfc_accept_key() {
        assert_eq!(
            super::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
