//! In-memory conversations between `Connection`s (the Sans-I/O core) on
//! a fake clock: draining a core's output, pumping it into the other side,
//! owned copies of events, ready-made open pairs, and client frames built
//! by hand ([`crate::wire`]) rather than by the core under test.

use std::sync::Arc;
use ws6455::Timestamp;

use ws6455::proto::frame::decode_header;
use ws6455::proto::{ClientRequest, Config, Connection, Event, OpCode};
use ws6455::ProtocolError;

/// An owned copy of an event, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // one variant per `Event`, named alike
pub enum Ev {
    Request(String),
    Http(String),
    Connected(Option<String>),
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    CloseReceived(Option<u16>, String),
    Writable,
    Throttled,
    Failed(ProtocolError),
    Closed(u16, bool),
}

/// An owned copy of `ev`; panics on events the core tests do not expect.
pub fn owned(ev: Event<'_>) -> Ev {
    match ev {
        Event::Request(r) => Ev::Request(r.target().to_owned()),
        Event::HttpRequest(r) => Ev::Http(r.target().to_owned()),
        Event::Connected(r) => Ev::Connected(r.protocol().map(str::to_owned)),
        Event::Text(t) => Ev::Text(t.to_owned()),
        Event::Binary(b) => Ev::Binary(b.to_vec()),
        Event::Ping(p) => Ev::Ping(p.to_vec()),
        Event::Pong(p) => Ev::Pong(p.to_vec()),
        Event::CloseReceived { code, reason } => {
            Ev::CloseReceived(code.map(|c| c.0), reason.to_owned())
        }
        Event::Writable => Ev::Writable,
        Event::Throttled => Ev::Throttled,
        Event::Failed(e) => Ev::Failed(e),
        Event::Closed { code, clean } => Ev::Closed(code.0, clean),
        other => panic!("an event these tests do not know: {other:?}"),
    }
}

/// Every event `conn` has ready, owned.
pub fn drain(conn: &mut Connection) -> Vec<Ev> {
    let mut out = Vec::new();
    while let Some(ev) = conn.poll_event() {
        out.push(owned(ev));
    }
    out
}

/// Move everything `from` wants to write into `to`.
pub fn pump(from: &mut Connection, to: &mut Connection) {
    let bytes = take_output(from);
    to.recv(&bytes);
}

/// Everything `conn` wants to write, consumed from it (as if a socket
/// took it all).
pub fn take_output(conn: &mut Connection) -> Vec<u8> {
    let mut all = Vec::new();
    loop {
        let chunk = conn.pending_output().to_vec();
        if chunk.is_empty() {
            return all;
        }
        conn.consume_output(chunk.len());
        all.extend_from_slice(&chunk);
    }
}

/// The fake clock's origin: cores start here and tests advance it with
/// `t0() + Duration`.
pub fn t0() -> Timestamp {
    // One fixed origin per test run; only differences matter.
    Timestamp::ZERO
}

/// The default core config changed by `f`.
pub fn cfg(f: impl FnOnce(&mut Config)) -> Arc<Config> {
    let mut c = Config::default();
    f(&mut c);
    Arc::new(c)
}

/// The §1.2 sample opening handshake for `/chat`, with the §1.3 key.
pub const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// A server core that has accepted [`REQUEST`] (its 101 taken).
pub fn open_server(config: Arc<Config>) -> Connection {
    let mut s = Connection::server(config, t0());
    s.recv(REQUEST);
    assert_eq!(drain(&mut s), vec![Ev::Request("/chat".into())]);
    s.accept(t0(), None, &[]).unwrap();
    let response = take_output(&mut s);
    assert!(response.starts_with(b"HTTP/1.1 101"));
    s
}

/// A client and a server core after a completed handshake.
pub fn pair_with(client_cfg: Arc<Config>, server_cfg: Arc<Config>) -> (Connection, Connection) {
    let mut c = Connection::client(
        client_cfg,
        ClientRequest::new("example.com", "/chat"),
        [7; 32],
        t0(),
    );
    let mut s = Connection::server(server_cfg, t0());
    pump(&mut c, &mut s);
    assert_eq!(drain(&mut s), vec![Ev::Request("/chat".into())]);
    s.accept(t0(), None, &[]).unwrap();
    pump(&mut s, &mut c);
    assert_eq!(drain(&mut c), vec![Ev::Connected(None)]);
    (c, s)
}

/// [`pair_with`] default configs.
pub fn pair() -> (Connection, Connection) {
    pair_with(Arc::new(Config::default()), Arc::new(Config::default()))
}

/// A masked client frame, as a client on the wire would send it.
/// Masked with the §5.7 example key, encoded by [`crate::wire`], not by the
/// core under test.
pub fn client_frame(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    crate::wire::encode(fin, 0, opcode as u8, payload, Some(crate::wire::MASK))
}

/// The close code of the close frame at the end of a server's output.
pub fn close_code_sent(bytes: &[u8]) -> Option<u16> {
    let mut rest = bytes;
    let mut last = None;
    while let Ok(Some((h, hl))) = decode_header(rest) {
        let end = hl + h.payload_len as usize;
        if h.opcode == OpCode::Close {
            let p = &rest[hl..end];
            last = Some(if p.len() >= 2 {
                u16::from_be_bytes([p[0], p[1]])
            } else {
                1005
            });
        }
        rest = &rest[end..];
    }
    last
}

/// Feed raw client bytes to an open server; return its events and the
/// close code it sent, if any.
pub fn server_sees(bytes: &[u8]) -> (Vec<Ev>, Option<u16>) {
    let mut s = open_server(Arc::new(Config::default()));
    s.recv(bytes);
    let evs = drain(&mut s);
    let code = close_code_sent(&take_output(&mut s));
    (evs, code)
}

/// An open server fed `bytes` must fail with `err`: report it, end with
/// 1006 unclean, and send the close code `err` maps to.
pub fn fails_with(bytes: &[u8], err: ProtocolError) {
    let code = err.close_code().0;
    let (evs, sent) = server_sees(bytes);
    assert!(
        evs.contains(&Ev::Failed(err.clone())),
        "{evs:?} lacks {err:?}"
    );
    assert_eq!(evs.last(), Some(&Ev::Closed(1006, false)));
    assert_eq!(sent, Some(code));
}
