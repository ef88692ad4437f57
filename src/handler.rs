//! The application's side of the event loop: a [`Handler`] with a
//! callback per thing that can happen, every one defaulted, so an echo
//! server is a single method.

use std::fmt;

pub use crate::conn_id::ConnId;
use crate::ctx::Ctx;
use crate::proto::close::CloseCode;
use crate::proto::connection::FrameTrace;
use crate::proto::error::ProtocolError;
use crate::proto::handshake::{Request, Response};

pub use crate::decision::{Decision, DeflateChoice, AUTH_REALM};

/// A complete data message (§5.6). Borrows the receive buffer: copy what
/// you keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// A text message, valid UTF-8.
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
}

impl Message<'_> {
    /// The payload bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
        }
    }
}

/// A complete HTTP answer to a plain (non-upgrade) request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Extra headers (Content-Length and Connection are added).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// 426 Upgrade Required: this path only speaks WebSocket (§4.2.2).
    pub fn upgrade_required() -> Self {
        HttpResponse {
            status: 426,
            headers: vec![
                ("Upgrade".into(), "websocket".into()),
                ("Sec-WebSocket-Version".into(), "13".into()),
                ("Content-Type".into(), "text/plain; charset=utf-8".into()),
            ],
            body: b"this endpoint speaks WebSocket (RFC 6455)\n".to_vec(),
        }
    }

    /// 200 with a body of the given content type.
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        HttpResponse {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// `status` with `headers` and a plain-text, one-line body (`reason`
    /// and a newline).
    pub fn text(status: u16, mut headers: Vec<(String, String)>, reason: String) -> Self {
        headers.push(("Content-Type".into(), "text/plain; charset=utf-8".into()));
        let mut body = reason.into_bytes();
        body.push(b'\n');
        HttpResponse {
            status,
            headers,
            body,
        }
    }

    /// The body as text, up to its first line: what the log shows of a
    /// refusal.
    pub(crate) fn reason(&self) -> &str {
        let text = std::str::from_utf8(&self.body).unwrap_or("");
        text.lines().next().unwrap_or("")
    }

    /// 404 Not Found.
    pub fn not_found() -> Self {
        HttpResponse {
            status: 404,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: b"not found\n".to_vec(),
        }
    }
}

/// Why a connection is being reported as failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnError {
    /// The peer broke the protocol (the close frame or HTTP error is sent).
    Protocol(ProtocolError),
    /// The socket failed (connect refused, reset …).
    Io(std::io::Error),
    /// The TLS session failed (feature `tls`): the peer sent something
    /// that is not TLS (plain HTTP on a `wss://` port, say), an alert, or
    /// a certificate we do not trust. The alert that says why was sent.
    #[cfg(feature = "tls")]
    Tls(rustls::Error),
}

impl ConnError {
    /// An I/O error, or the TLS error a TLS session wrapped in one.
    pub(crate) fn from_io(e: std::io::Error) -> Self {
        #[cfg(feature = "tls")]
        if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return ConnError::Tls(tls.clone());
        }
        ConnError::Io(e)
    }
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnError::Protocol(e) => write!(f, "protocol error: {e}"),
            ConnError::Io(e) => write!(f, "I/O error: {e}"),
            #[cfg(feature = "tls")]
            ConnError::Tls(e) => write!(f, "TLS error: {e}"),
        }
    }
}

impl std::error::Error for ConnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnError::Protocol(e) => Some(e),
            ConnError::Io(e) => Some(e),
            #[cfg(feature = "tls")]
            ConnError::Tls(e) => Some(e),
        }
    }
}

/// Callbacks from an event loop. Every method has a default; each receives
/// a [`Ctx`] to send, broadcast, close, connect and set timers.
///
/// Order per connection: `on_request` (server) → `on_open` → messages,
/// pings, pongs, `on_close` (peer's close frame), `on_error` → `on_closed`,
/// always last and exactly once for every connection that reached
/// `on_request`/`on_connect` (servers) or was created by `connect`. A
/// connection the server's own policies refuse (see
/// [`Server::origins`](crate::Server::origins)) reaches no callback at all.
///
/// # Per-connection state
///
/// The library stores nothing per connection for the handler: a handler
/// keeps what it knows about a connection in its own map keyed by
/// [`ConnId`] (never reused). Insert in `on_request` when accepting (the
/// identity a token proved, say), read it in `on_open` and `on_message`,
/// remove it in `on_closed`, which comes exactly once for every
/// connection that reached `on_request`, so the map never leaks. A request
/// refused in `on_request` still gets its `on_closed`.
///
/// ```
/// use std::collections::HashMap;
/// use ws6455::proto::handshake::Request;
/// use ws6455::{auth, CloseCode, ConnId, Ctx, Decision, Handler, Message};
///
/// struct Authed {
///     tokens: HashMap<String, String>, // token → user name
///     users: HashMap<ConnId, String>,  // connection → user name
/// }
///
/// impl Handler for Authed {
///     fn on_request(&mut self, _: &mut Ctx<'_>, id: ConnId, request: &Request) -> Decision {
///         let Some(token) = auth::bearer(request) else {
///             return Decision::unauthorized("no bearer token");
///         };
///         let Some(name) = self.tokens.get(token) else {
///             return Decision::unauthorized("unknown token");
///         };
///         self.users.insert(id, name.clone());
///         Decision::accept()
///     }
///
///     fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
///         if let (Some(name), Message::Text(text)) = (self.users.get(&id), message) {
///             let _ = ctx.send_text(id, &format!("{name}: {text}"));
///         }
///     }
///
///     fn on_closed(&mut self, _: &mut Ctx<'_>, id: ConnId, _: CloseCode, _: bool) {
///         self.users.remove(&id);
///     }
/// }
/// ```
///
/// `examples/token_auth.rs` is the whole program, with the token also
/// read from the query or `Sec-WebSocket-Protocol` (see [`crate::auth`]).
///
/// # Example: a chat room
///
/// Every text message goes to everyone, encoded once; joins and leaves are
/// announced. The test at the end runs it on a loopback port and talks to
/// it with two blocking clients.
///
/// ```
/// use std::collections::HashSet;
/// use ws6455::blocking::{Incoming, WebSocket};
/// use ws6455::{
///     CloseCode, ConnId, ConnectOptions, Ctx, Handler, Message, PreparedMessage, Response,
///     Server,
/// };
///
/// #[derive(Default)]
/// struct Room {
///     members: HashSet<ConnId>,
/// }
///
/// impl Room {
///     fn say(&self, ctx: &mut Ctx<'_>, text: &str) {
///         // One encoding shared by every member's queue (§5.1: servers
///         // do not mask, so the same bytes serve everyone).
///         let message = PreparedMessage::text(text, 16 << 10);
///         ctx.broadcast(self.members.iter().copied(), &message);
///     }
/// }
///
/// impl Handler for Room {
///     fn on_open(&mut self, ctx: &mut Ctx<'_>, id: ConnId, _: Option<&Response>) {
///         self.members.insert(id);
///         self.say(ctx, &format!("{id} joined"));
///     }
///
///     fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
///         match message {
///             Message::Text(text) => self.say(ctx, &format!("{id}: {text}")),
///             // This room speaks text only (§7.4.1: 1003 for data it
///             // cannot accept).
///             Message::Binary(_) => {
///                 let _ = ctx.close(id, CloseCode::UNSUPPORTED_DATA, "text only");
///             }
///         }
///     }
///
///     fn on_closed(&mut self, ctx: &mut Ctx<'_>, id: ConnId, _: CloseCode, _: bool) {
///         if self.members.remove(&id) {
///             self.say(ctx, &format!("{id} left"));
///         }
///     }
/// }
///
/// let server = Server::new().bind("127.0.0.1:0")?.spawn(Room::default);
/// let url = format!("ws://{}/", server.local_addr());
/// let options = ConnectOptions::default();
///
/// let (mut alice, _) = WebSocket::connect(&url, &options)?;
/// let Incoming::Text(joined) = alice.read()? else { panic!("a greeting") };
/// assert!(joined.ends_with("joined"));
///
/// let (mut bob, _) = WebSocket::connect(&url, &options)?;
/// let _bob_joined = bob.read()?;
/// let _bob_joined_seen_by_alice = alice.read()?;
/// bob.send_text("hello")?;
/// let Incoming::Text(heard) = alice.read()? else { panic!("bob's line") };
/// assert!(heard.ends_with(": hello"), "{heard}");
///
/// server.stop()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Handler {
    /// Server: a WebSocket upgrade request arrived (§4.2.1). Inspect path,
    /// headers, Origin and offered subprotocols; accept or reject. A request
    /// the server's [`OriginPolicy`](crate::OriginPolicy) refused never gets
    /// here (nor to `on_closed`): it was answered 403 already.
    ///
    /// To authenticate, read a token with [`crate::auth`] and refuse with
    /// [`Decision::unauthorized`] (401) or [`Decision::forbidden`] (403):
    /// the library counts those in
    /// [`Refusals::auth_failed`](crate::Refusals::auth_failed) and logs the
    /// reason (at info, at most one line a second).
    fn on_request(&mut self, ctx: &mut Ctx<'_>, id: ConnId, request: &Request) -> Decision {
        let _ = (ctx, id, request);
        Decision::accept()
    }

    /// Server: a plain HTTP request without `Upgrade: websocket`.
    fn on_http(&mut self, ctx: &mut Ctx<'_>, id: ConnId, request: &Request) -> HttpResponse {
        let _ = (ctx, id, request);
        HttpResponse::upgrade_required()
    }

    /// The connection is open. `response` is the server's handshake
    /// response on a client, `None` on a server.
    fn on_open(&mut self, ctx: &mut Ctx<'_>, id: ConnId, response: Option<&Response>) {
        let _ = (ctx, id, response);
    }

    /// A complete message arrived.
    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        let _ = (ctx, id, message);
    }

    /// A ping arrived; the pong is already queued (§5.5.2).
    fn on_ping(&mut self, ctx: &mut Ctx<'_>, id: ConnId, payload: &[u8]) {
        let _ = (ctx, id, payload);
    }

    /// A pong arrived (§5.5.3).
    fn on_pong(&mut self, ctx: &mut Ctx<'_>, id: ConnId, payload: &[u8]) {
        let _ = (ctx, id, payload);
    }

    /// The peer sent a close frame (§7.1.5); our answer is already queued.
    fn on_close(&mut self, ctx: &mut Ctx<'_>, id: ConnId, code: Option<CloseCode>, reason: &str) {
        let _ = (ctx, id, code, reason);
    }

    /// The connection failed: a protocol error (with its close code already
    /// sent) or a socket error.
    fn on_error(&mut self, ctx: &mut Ctx<'_>, id: ConnId, error: &ConnError) {
        let _ = (ctx, id, error);
    }

    /// A send was refused with `BufferFull` and there is room again.
    fn on_writable(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        let _ = (ctx, id);
    }

    /// The connection is gone (§7.1.4/§7.1.5): `code` is the close code
    /// received (1005 none in the frame, 1006 no close frame at all).
    fn on_closed(&mut self, ctx: &mut Ctx<'_>, id: ConnId, code: CloseCode, clean: bool) {
        let _ = (ctx, id, code, clean);
    }

    /// The loop is about to start running: called once at the start of
    /// every `run`, before any connection event. A handler that needs a
    /// [`crate::Remote`] for its own loop (to give a background thread a
    /// way in) takes it here with [`Ctx::remote`].
    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        let _ = ctx;
    }

    /// Another thread called [`crate::Remote::notify`] with `token`; called
    /// once per loop turn per token, however many notices came.
    fn on_notify(&mut self, ctx: &mut Ctx<'_>, token: u64) {
        let _ = (ctx, token);
    }

    /// A timer set with [`Ctx::set_timer`] fired.
    fn on_timer(&mut self, ctx: &mut Ctx<'_>, token: u64) {
        let _ = (ctx, token);
    }

    /// The loop is shutting down gracefully (every connection has been
    /// sent a 1001 close).
    fn on_shutdown(&mut self, ctx: &mut Ctx<'_>) {
        let _ = ctx;
    }

    /// A frame went in or out on a connection with tracing on
    /// ([`crate::EventLoop::trace_frames`],
    /// [`crate::Server::trace_frames`]). Frames come in the order the
    /// core parsed or queued them; a received frame is reported after the
    /// callback for the event it caused. Its `Display` is a one-line
    /// summary such as `← text fin len=5 "Hello"`.
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, id: ConnId, frame: &FrameTrace) {
        let _ = (ctx, id, frame);
    }
}
