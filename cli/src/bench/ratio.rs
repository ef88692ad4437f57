//! `bench --ratio CORPUS`: how well a server compresses (RFC 7692), on
//! messages of one's own choosing. One connection offers
//! permessage-deflate, sends each message of the corpus (a JSON Lines
//! file: one JSON string per line) and waits for its echo; the bytes read
//! from the socket for the echoes, frame headers included, over the
//! payload bytes echoed is the server's wire ratio with the windows it
//! agreed to. The echoes are checked against what was sent.
//!
//! One message in flight at a time, so the socket's bytes between a send
//! and its echo are the echo's frames only (a server's heartbeat ping
//! would add 2 bytes; none comes within a run this short).

use std::cell::Cell;
use std::io::{self, BufRead, Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::time::Duration;

use ws6455::blocking::ReadTimeout;
use ws6455::proto::deflate::DeflateConfig;
use ws6455::proto::{ClientRequest, Config};
use ws6455::{CloseCode, Incoming, WebSocket};

use super::{json_str, Args};

/// A stream that counts the bytes read from it.
struct Counted {
    inner: TcpStream,
    read: Rc<Cell<u64>>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

impl ReadTimeout for Counted {
    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.read_timeout()
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(timeout)
    }
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The messages of a JSON Lines corpus (blank lines skipped).
fn corpus(path: &std::path::Path) -> io::Result<Vec<String>> {
    let file = io::BufReader::new(std::fs::File::open(path)?);
    let mut out = Vec::new();
    for (i, line) in file.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let message: String = serde_json::from_str(&line)
            .map_err(|e| io::Error::other(format!("{}:{}: {e}", path.display(), i + 1)))?;
        out.push(message);
    }
    Ok(out)
}

pub fn run(args: &Args, path: &std::path::Path) -> io::Result<()> {
    let uri = super::plain_uri(&args.url, "--ratio counts plain socket bytes")?;
    let messages = corpus(path)?;
    let stream = TcpStream::connect((uri.host.as_str(), uri.port))?;
    stream.set_nodelay(true)?;
    let read = Rc::new(Cell::new(0));
    let counted = Counted {
        inner: stream,
        read: Rc::clone(&read),
    };
    let mut config = Config::default();
    config.deflate = Some(DeflateConfig::default());
    config.max_message_size = 64 << 20;
    let request = ClientRequest::new(uri.host_header(), uri.resource.clone());
    let (mut ws, _) = WebSocket::client(counted, request, config).map_err(io::Error::other)?;
    let params = ws
        .connection()
        .deflate_params()
        .ok_or_else(|| io::Error::other("the server did not agree to permessage-deflate"))?;
    let (mut payload, mut wire) = (0u64, 0u64);
    for message in &messages {
        ws.send_text(message).map_err(io::Error::other)?;
        let before = read.get();
        match ws.read().map_err(io::Error::other)? {
            Incoming::Text(echo) if echo == *message => {}
            other => return Err(io::Error::other(format!("not the echo: {other:?}"))),
        }
        wire += read.get() - before;
        payload += message.len() as u64;
    }
    ws.close(CloseCode::NORMAL, "").map_err(io::Error::other)?;
    let ratio = wire as f64 / payload.max(1) as f64;
    if args.json {
        println!(
            "{{\"mode\":\"ratio\",\"url\":{},\"corpus\":{},\"messages\":{},\"payload_bytes\":{payload},\"wire_bytes\":{wire},\"ratio\":{ratio:.5},\"server_max_window_bits\":{},\"client_max_window_bits\":{}}}",
            json_str(&args.url),
            json_str(&path.display().to_string()),
            messages.len(),
            params.server_max_window_bits,
            params.client_max_window_bits,
        );
    } else {
        println!(
            "{} messages, {payload} payload bytes echoed in {wire} wire bytes: {:.1} % (server window 2^{})",
            messages.len(),
            ratio * 100.0,
            params.server_max_window_bits
        );
    }
    Ok(())
}
