//! A blocking WebSocket over any `Read + Write` stream, for simple
//! programs and tests — the same core as the event loop, driven by plain
//! blocking calls.
//!
//! # Timers while blocked
//!
//! The core keeps timers: the opening handshake timeout, heartbeat pings
//! and dead-peer detection ([`Config::ping_interval`],
//! [`Config::pong_timeout`]; §5.5.2), the idle timeout, and the closing
//! handshake timeout ([`Config::close_timeout`]; §7.1.1). A blocking read
//! must wake up for them, so every call that reads
//! ([`WebSocket::read`] and the handshake constructors) needs a stream
//! whose read timeout it can set: `S` must implement [`ReadTimeout`],
//! which [`std::net::TcpStream`] and (on unix)
//! [`std::os::unix::net::UnixStream`] do. Before each blocking read the
//! adapter sets the stream's read timeout to the time left until the
//! core's next deadline; when the read times out it tells the core the
//! time, writes what the core queued (a ping, a close frame) and reads
//! on, until a message arrives or the core says the connection is over
//! ([`Error::Closed`]). After [`WebSocket::close`], `read` therefore
//! returns within `close_timeout` even if the peer never answers.
//!
//! A stream that cannot time out (an in-memory pipe, a TLS stream you do
//! not forward the option for) goes in [`Untimed`]: its timers are then
//! checked only between reads, so against a silent peer a heartbeat or
//! close timeout waits for the next bytes.
//!
//! # Your own read timeout
//!
//! A read timeout you set on the stream yourself — before handing it to
//! the adapter, or later through [`WebSocket::get_ref`] — keeps its
//! meaning, per call: when [`WebSocket::read`] (or a handshake) has not
//! produced a result within it, the call returns [`Error::Io`] with kind
//! [`io::ErrorKind::WouldBlock`] or [`io::ErrorKind::TimedOut`]. Unlike a
//! dead socket, that leaves the connection open: call `read` again to go
//! on waiting. The core's timers keep running underneath (a shorter core
//! deadline wakes the read early, the adapter handles it and goes back to
//! waiting within your budget). During a call the stream's timeout is the
//! adapter's; before the call returns it is set back to yours.
//!
//! The same holds for a stream that gives up without waiting as long as
//! asked (one in non-blocking mode): `read` hands its `WouldBlock` to
//! the caller, after running the timers that fell due, instead of
//! spinning.
//!
//! # Example
//!
//! A server and a client over loopback TCP, one thread each:
//!
//! ```
//! use std::net::TcpListener;
//! use ws6455::blocking::{Error, Incoming, WebSocket};
//! use ws6455::proto::handshake::ClientRequest;
//! use ws6455::{CloseCode, Config};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! let server = std::thread::spawn(move || -> Result<(), Error> {
//!     let (stream, _) = listener.accept()?;
//!     let (mut ws, _request) = WebSocket::accept(stream, Config::default())?;
//!     // Echo until the client closes.
//!     loop {
//!         match ws.read() {
//!             Ok(Incoming::Text(text)) => ws.send_text(&text)?,
//!             Ok(_) => {}
//!             Err(Error::Closed { .. }) => return Ok(()),
//!             Err(e) => return Err(e),
//!         }
//!     }
//! });
//!
//! let stream = std::net::TcpStream::connect(addr)?;
//! let request = ClientRequest::new(addr.to_string(), "/");
//! let (mut ws, _response) = WebSocket::client(stream, request, Config::default())?;
//! ws.send_text("hello")?;
//! assert_eq!(ws.read()?, Incoming::Text("hello".into()));
//! ws.close(CloseCode::NORMAL, "done")?;
//! // The server's close comes back, then the connection ends cleanly.
//! assert!(matches!(ws.read()?, Incoming::Close(Some(CloseCode::NORMAL), _)));
//! assert!(matches!(ws.read(), Err(Error::Closed { clean: true, .. })));
//! server.join().expect("server thread")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod read_timeout;

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use crate::client::{fresh_seed, request_for, resolve, ConnectError, ConnectOptions};
use crate::handler::Decision;
use crate::proto::close::CloseCode;
use crate::proto::config::Config;
use crate::proto::connection::Connection;
use crate::proto::error::{ProtocolError, UsageError};
use crate::proto::event::Event;
use crate::proto::handshake::{ClientRequest, Request, Response};

use read_timeout::Waits;
pub use read_timeout::{ReadTimeout, Untimed};

/// Something received, owned (what [`WebSocket::read`] returns). More
/// kinds may be added, so a `match` needs a wildcard arm.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Incoming {
    /// A text message (§5.6).
    Text(String),
    /// A binary message (§5.6).
    Binary(Vec<u8>),
    /// A ping (§5.5.2, already answered).
    Ping(Vec<u8>),
    /// A pong (§5.5.3).
    Pong(Vec<u8>),
    /// The peer's close frame (§5.5.1, already answered): code and reason.
    Close(Option<CloseCode>, String),
}

/// Why a blocking call failed. More kinds may be added, so a `match` needs
/// a wildcard arm.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The socket failed, and the connection with it — except for kinds
    /// [`io::ErrorKind::WouldBlock`] and [`io::ErrorKind::TimedOut`]: your
    /// own read timeout expired (see the [module docs](self)) and the
    /// connection is still usable.
    Io(io::Error),
    /// The peer broke the protocol; the connection failed (§7.1.7).
    Protocol(ProtocolError),
    /// The call is not allowed now.
    Usage(UsageError),
    /// Connecting failed before the handshake.
    Connect(ConnectError),
    /// The server answered a plain HTTP request or rejected the upgrade.
    NotUpgraded,
    /// The connection is closed: the close code (§7.1.5) and whether the
    /// closing handshake completed.
    Closed {
        /// 1005 if the peer's close had no code, 1006 if none arrived.
        code: CloseCode,
        /// True when close frames went both ways.
        clean: bool,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Protocol(e) => write!(f, "protocol error: {e}"),
            Error::Usage(e) => write!(f, "{e}"),
            Error::Connect(e) => write!(f, "{e}"),
            Error::NotUpgraded => f.write_str("the request was not a WebSocket upgrade"),
            Error::Closed { code, clean } => {
                write!(
                    f,
                    "connection closed ({code}, {})",
                    if *clean { "clean" } else { "unclean" }
                )
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Protocol(e) => Some(e),
            Error::Usage(e) => Some(e),
            Error::Connect(e) => Some(e),
            Error::NotUpgraded | Error::Closed { .. } => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<UsageError> for Error {
    fn from(e: UsageError) -> Self {
        Error::Usage(e)
    }
}

/// A WebSocket connection (RFC 6455) over a blocking stream: a handshake
/// constructor, then [`WebSocket::read`] for what arrives and `send_*` /
/// [`WebSocket::close`] for what goes out. Reading honours the core's
/// timers and your own read timeout as the [module docs](self) describe.
///
/// ```no_run
/// use ws6455::blocking::{Incoming, WebSocket};
/// use ws6455::ConnectOptions;
///
/// let (mut ws, _response) =
///     WebSocket::connect("ws://127.0.0.1:9001/", &ConnectOptions::default())?;
/// ws.send_text("hello")?;
/// if let Incoming::Text(reply) = ws.read()? {
///     println!("{reply}");
/// }
/// # Ok::<(), ws6455::blocking::Error>(())
/// ```
pub struct WebSocket<S> {
    stream: S,
    conn: Connection,
    closed: Option<(CloseCode, bool)>,
    failure: Option<ProtocolError>,
    waits: Waits,
}

impl WebSocket<TcpStream> {
    /// Connect to a `ws://` URL and complete the opening handshake (§4.1),
    /// with the default [`Config`]. A `wss://` URL needs
    /// `WebSocket::connect_tls` (feature `tls`).
    pub fn connect(url: &str, options: &ConnectOptions) -> Result<(Self, Response), Error> {
        let (uri, addr) = resolve(url).map_err(Error::Connect)?;
        if uri.secure {
            return Err(Error::Connect(ConnectError::TlsUnsupported));
        }
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        WebSocket::client(stream, request_for(&uri, options), Config::default())
    }
}

/// A client's TLS stream over TCP (feature `tls`): what
/// [`WebSocket::connect_tls`] speaks through.
#[cfg(feature = "tls")]
pub type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

#[cfg(feature = "tls")]
impl WebSocket<TlsStream> {
    /// Connect to a `wss://` URL: TCP, then TLS with `options.tls` (or
    /// Mozilla's roots, [`crate::tls::default_client_config`]) checking the
    /// certificate against the URL's host, then the opening handshake
    /// (§4.1) inside it, all with the default [`Config`].
    pub fn connect_tls(url: &str, options: &ConnectOptions) -> Result<(Self, Response), Error> {
        let (uri, addr) = resolve(url).map_err(Error::Connect)?;
        if !uri.secure {
            return Err(Error::Connect(ConnectError::Tls(format!(
                "{url} is not a wss:// URL"
            ))));
        }
        let config = match options.tls.clone() {
            Some(config) => config,
            None => crate::tls::default_client_config()
                .map_err(|e| Error::Connect(ConnectError::Tls(e.to_string())))?,
        };
        let name = rustls::pki_types::ServerName::try_from(uri.host.clone())
            .map_err(|e| Error::Connect(ConnectError::Tls(e.to_string())))?;
        let session = rustls::ClientConnection::new(config, name)
            .map_err(|e| Error::Connect(ConnectError::Tls(e.to_string())))?;
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        let stream = rustls::StreamOwned::new(session, stream);
        WebSocket::client(stream, request_for(&uri, options), Config::default())
    }
}

impl<S: Read + Write + ReadTimeout> WebSocket<S> {
    /// Run the client handshake (§4.1) over a connected stream, within
    /// [`Config::handshake_timeout`].
    pub fn client(
        stream: S,
        request: ClientRequest,
        config: Config,
    ) -> Result<(Self, Response), Error> {
        let conn = Connection::client(Arc::new(config), request, fresh_seed(), crate::clock::now());
        let mut ws = WebSocket::new(stream, conn);
        let response = ws.timed(|ws, started| loop {
            ws.tick();
            ws.flush()?;
            if let Some(event) = ws.conn.poll_event() {
                match event {
                    Event::Connected(response) => return Ok(response),
                    Event::Failed(e) => return Err(Error::Protocol(e)),
                    Event::Closed { code, clean } => return Err(Error::Closed { code, clean }),
                    _ => continue,
                }
            }
            ws.fill(started)?;
        })?;
        Ok((ws, response))
    }

    /// Run the server handshake (§4.2), accepting any valid upgrade,
    /// within [`Config::handshake_timeout`].
    pub fn accept(stream: S, config: Config) -> Result<(Self, Request), Error> {
        WebSocket::accept_with(stream, config, |_| Decision::accept())
    }

    /// Run the server handshake (§4.2), letting `decide` accept (with a
    /// subprotocol, and compression chosen for this connection:
    /// [`Decision::with_deflate`]) or reject the request.
    pub fn accept_with(
        stream: S,
        config: Config,
        decide: impl FnOnce(&Request) -> Decision,
    ) -> Result<(Self, Request), Error> {
        let conn = Connection::server(Arc::new(config), crate::clock::now());
        let mut ws = WebSocket::new(stream, conn);
        let request = ws.timed(|ws, started| loop {
            ws.tick();
            match ws.conn.poll_event() {
                Some(Event::Request(request)) => return Ok(request),
                Some(Event::HttpRequest(_)) => {
                    let _ =
                        ws.conn
                            .reject(crate::clock::now(), 426, "this endpoint speaks WebSocket");
                    ws.flush()?;
                    return Err(Error::NotUpgraded);
                }
                Some(Event::Failed(e)) => {
                    ws.flush()?;
                    return Err(Error::Protocol(e));
                }
                Some(Event::Closed { code, clean }) => return Err(Error::Closed { code, clean }),
                Some(_) => continue,
                None => ws.fill(started)?,
            }
        })?;
        let decision = decide(&request);
        // The open timers (heartbeat, idle) count from the 101, not from
        // the request: `decide` may have taken a while.
        ws.tick();
        match decision {
            Decision::Accept { protocol, deflate } => {
                deflate.apply(&mut ws.conn);
                ws.conn
                    .accept(crate::clock::now(), protocol.as_deref(), &[])?
            }
            Decision::Reject { status, reason } => {
                ws.conn.reject(crate::clock::now(), status, &reason)?;
                ws.flush()?;
                return Err(Error::NotUpgraded);
            }
            Decision::Refuse(response) => {
                let headers: Vec<(&str, &str)> = response
                    .headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                ws.conn.respond(
                    crate::clock::now(),
                    response.status,
                    &headers,
                    &response.body,
                )?;
                ws.flush()?;
                return Err(Error::NotUpgraded);
            }
        }
        ws.flush()?;
        Ok((ws, request))
    }

    /// Block until something arrives, running the core's timers meanwhile
    /// (heartbeats, idle and close timeouts). After the connection closes
    /// — the closing handshake completed (§7.1.4), the close timeout
    /// passed, a heartbeat found the peer dead, the socket failed — every
    /// call returns [`Error::Closed`]. With a read timeout of your own on
    /// the stream, an [`Error::Io`] of kind `WouldBlock` or `TimedOut`
    /// says it expired; the connection stays usable.
    pub fn read(&mut self) -> Result<Incoming, Error> {
        self.timed(|ws, started| ws.read_until(started))
    }

    fn read_until(&mut self, started: Instant) -> Result<Incoming, Error> {
        loop {
            self.tick();
            if let Some(event) = self.conn.poll_event() {
                let incoming = match event {
                    Event::Text(t) => Incoming::Text(t.to_owned()),
                    Event::Binary(b) => Incoming::Binary(b.to_vec()),
                    Event::Ping(p) => Incoming::Ping(p.to_vec()),
                    Event::Pong(p) => Incoming::Pong(p.to_vec()),
                    Event::CloseReceived { code, reason } => {
                        Incoming::Close(code, reason.to_owned())
                    }
                    Event::Failed(e) => {
                        self.failure = Some(e);
                        continue;
                    }
                    Event::Closed { code, clean } => {
                        self.closed = Some((code, clean));
                        continue;
                    }
                    // `Event::Throttled` (a rate-limit pause: `fill` waits
                    // it out) and events to come have nothing to return.
                    _ => continue,
                };
                self.flush()?;
                return Ok(incoming);
            }
            self.flush()?;
            if let Some(e) = self.failure.take() {
                return Err(Error::Protocol(e));
            }
            if self.conn.is_closed() || (self.closed.is_some() && !self.conn.wants_read()) {
                let (code, clean) = self.closed.unwrap_or((CloseCode::ABNORMAL, false));
                return Err(Error::Closed { code, clean });
            }
            self.fill(started)?;
        }
    }

    /// Run one reading call: the stream's read timeout is the user's
    /// budget for it, and is the user's again when the call returns.
    fn timed<T>(
        &mut self,
        call: impl FnOnce(&mut Self, Instant) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let started = Instant::now();
        self.waits.begin(&self.stream)?;
        let result = call(self, started);
        self.waits.end(&mut self.stream);
        result
    }

    /// Read once from the stream into the core, waiting no longer than the
    /// core's next deadline or the user's budget for this call (counted
    /// from `started`). A timeout for a core deadline is not an error: the
    /// caller's loop runs the timer next.
    fn fill(&mut self, started: Instant) -> Result<(), Error> {
        let deadline = self.conn.poll_timeout().map(crate::clock::instant);
        if !self.conn.wants_read() {
            if let Some(deadline) = deadline {
                // The core paused reading (a rate limit in pause mode,
                // RFC 6455 §10.4) until `deadline`: reading anyway would
                // grow the receive buffer, and looping would spin.
                return self.waits.sleep_until(deadline, started).map_err(Error::Io);
            }
        }
        let wait = match self.waits.prepare(&mut self.stream, deadline, started) {
            Ok(Some(wait)) => wait,
            Ok(None) => return Err(Error::Io(io::ErrorKind::WouldBlock.into())),
            Err(e) => {
                self.conn.abort();
                return Err(Error::Io(e));
            }
        };
        let buf = self.conn.recv_buf();
        match self.stream.read(buf) {
            Ok(0) => self.conn.recv_eof(crate::clock::now()),
            Ok(n) => self.conn.commit_recv(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if wait.timer_due() {
                    return Ok(());
                }
                // The user's timeout (or a stream that would not block):
                // run what fell due meanwhile, so a ping or a close still
                // goes out, then let the caller decide whether to go on.
                self.tick();
                self.flush()?;
                if self.conn.wants_read() {
                    return Err(Error::Io(e));
                }
                // The connection ended meanwhile; the caller's loop says how.
            }
            Err(e) => {
                self.conn.abort();
                return Err(Error::Io(e));
            }
        }
        Ok(())
    }
}

impl<S> WebSocket<S> {
    fn new(stream: S, conn: Connection) -> Self {
        WebSocket {
            stream,
            conn,
            closed: None,
            failure: None,
            waits: Waits::default(),
        }
    }

    /// Tell the core the time, firing whatever timer is due.
    fn tick(&mut self) {
        self.conn.handle_timeout(crate::clock::now());
    }

    /// The underlying stream, e.g. to set socket options. Reading from or
    /// writing to it directly corrupts the connection. A read timeout set
    /// through it is the per-call budget the [module docs](self) describe.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The underlying stream, mutably; the same caveats as
    /// [`WebSocket::get_ref`].
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The core, for inspection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl<S: Read + Write> WebSocket<S> {
    /// Send a text message (§5.6) and write it out.
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send(|conn| conn.send_text(text))
    }

    /// Send a binary message (§5.6) and write it out.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send(|conn| conn.send_binary(data))
    }

    /// Send a ping (§5.5.2) and write it out; its pong arrives through
    /// [`WebSocket::read`] as [`Incoming::Pong`].
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send(|conn| conn.send_ping(payload))
    }

    /// Send a frame exactly as given (conformance testing).
    #[cfg(feature = "testing")]
    pub fn send_raw_frame(
        &mut self,
        fin: bool,
        rsv: u8,
        opcode: u8,
        payload: &[u8],
    ) -> Result<(), Error> {
        self.send(|conn| conn.send_raw_frame(fin, rsv, opcode, payload))
    }

    /// Start the closing handshake (§7.1.2); keep calling
    /// [`WebSocket::read`] until it returns [`Error::Closed`] to complete
    /// it. A peer that never answers is given up on after
    /// [`Config::close_timeout`] (`read` then reports code 1006, unclean).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let now = crate::clock::now();
        self.send(|conn| conn.close(now, code, reason))
    }

    fn send(
        &mut self,
        mut op: impl FnMut(&mut Connection) -> Result<(), UsageError>,
    ) -> Result<(), Error> {
        // Let what is due fire first (heartbeat, idle or close timeout), so
        // the command meets the connection as it is now.
        self.tick();
        match op(&mut self.conn) {
            Err(UsageError::BufferFull) => {
                self.flush()?;
                op(&mut self.conn)?;
            }
            other => other?,
        }
        self.flush()
    }

    /// Write everything queued, blocking until the stream took it all.
    pub fn flush(&mut self) -> Result<(), Error> {
        loop {
            let out = self.conn.pending_output();
            if out.is_empty() {
                return Ok(self.stream.flush()?);
            }
            match self.stream.write(out) {
                Ok(0) => return Err(Error::Io(io::ErrorKind::WriteZero.into())),
                Ok(n) => self.conn.consume_output(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.conn.abort();
                    return Err(Error::Io(e));
                }
            }
        }
    }
}
