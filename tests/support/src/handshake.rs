//! Opening handshakes by hand (§4): requests a client sends, with the
//! §1.3 sample key, and responses parsed as they arrive.

use std::net::SocketAddr;

/// The RFC's own example key (§1.3).
pub const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// The accept value §1.3 gives for [`SAMPLE_KEY`].
pub const SAMPLE_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A valid opening handshake for `path` on the server at `addr`.
pub fn upgrade_request(addr: SocketAddr, path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {SAMPLE_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// A valid opening handshake for `path`, with `extra` header lines
/// (each ending in CRLF) before the blank line.
pub fn request(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {SAMPLE_KEY}\r\n\
         Sec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// A request built from exactly these header lines (no defaults).
pub fn request_with(request_line: &str, headers: &[&str]) -> String {
    let mut out = format!("{request_line}\r\n");
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out
}

/// The default header lines of [`request`], to build variants from.
pub fn default_headers() -> Vec<String> {
    vec![
        "Host: 127.0.0.1".into(),
        "Upgrade: websocket".into(),
        "Connection: Upgrade".into(),
        format!("Sec-WebSocket-Key: {SAMPLE_KEY}"),
        "Sec-WebSocket-Version: 13".into(),
    ]
}

/// An HTTP response head (and body, once read) from the server.
#[derive(Debug)]
pub struct HttpResponse {
    /// The first line, e.g. `HTTP/1.1 101 Switching Protocols`.
    pub status_line: String,
    /// The status code from the status line.
    pub status: u16,
    /// Header lines as (name, value), in order, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The body (empty until read).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// Parse a response head (with or without its blank line).
    pub fn parse(head: &str) -> HttpResponse {
        let mut lines = head.trim_end_matches("\r\n").split("\r\n");
        let status_line = lines.next().unwrap_or_default().to_owned();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers = lines
            .map(|line| {
                let (name, value) = line.split_once(':').expect("header line has a colon");
                (name.trim().to_owned(), value.trim().to_owned())
            })
            .collect();
        HttpResponse {
            status_line,
            status,
            headers,
            body: Vec::new(),
        }
    }

    /// Every value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A plain HTTP/1.1 `GET path` (no upgrade) to the server at `addr`, read
/// to the end: the status code and the whole response. Waits at most
/// [`crate::MUST`] for it.
///
/// # Panics
/// If the server does not answer with a status line in time.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(crate::MUST)).expect("read timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut response = String::new();
    s.read_to_string(&mut response).expect("read the response");
    let status = response
        .get(9..12)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {response:?}"));
    (status, response)
}
