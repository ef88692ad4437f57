//! A blocking WebSocket over any `Read + Write` stream, for simple
//! programs and tests — the same core as the event loop, driven by plain
//! blocking calls.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use crate::client::{fresh_seed, request_for, resolve, ConnectError, ConnectOptions};
use crate::handler::Decision;
use crate::proto::close::CloseCode;
use crate::proto::config::Config;
use crate::proto::connection::Connection;
use crate::proto::error::{ProtocolError, UsageError};
use crate::proto::event::Event;
use crate::proto::handshake::{ClientRequest, Request, Response};

/// Something received, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping (already answered).
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// The peer's close frame (already answered): code and reason.
    Close(Option<CloseCode>, String),
}

/// Why a blocking call failed.
#[derive(Debug)]
pub enum Error {
    /// The socket failed.
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

impl std::error::Error for Error {}

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

/// A WebSocket connection over a blocking stream.
pub struct WebSocket<S> {
    stream: S,
    conn: Connection,
    closed: Option<(CloseCode, bool)>,
    failure: Option<ProtocolError>,
}

impl WebSocket<TcpStream> {
    /// Connect to a `ws://` URL and complete the opening handshake.
    pub fn connect(url: &str, options: &ConnectOptions) -> Result<(Self, Response), Error> {
        let (uri, addr) = resolve(url).map_err(Error::Connect)?;
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        WebSocket::client(stream, request_for(&uri, options), Config::default())
    }
}

impl<S: Read + Write> WebSocket<S> {
    /// Run the client handshake (§4.1) over an connected stream.
    pub fn client(
        stream: S,
        request: ClientRequest,
        config: Config,
    ) -> Result<(Self, Response), Error> {
        let conn = Connection::client(Arc::new(config), request, fresh_seed(), crate::clock::now());
        let mut ws = WebSocket {
            stream,
            conn,
            closed: None,
            failure: None,
        };
        loop {
            ws.flush()?;
            if let Some(event) = ws.conn.poll_event() {
                match event {
                    Event::Connected(response) => return Ok((ws, response)),
                    Event::Failed(e) => return Err(Error::Protocol(e)),
                    Event::Closed { code, clean } => return Err(Error::Closed { code, clean }),
                    _ => continue,
                }
            }
            ws.fill()?;
        }
    }

    /// Run the server handshake (§4.2), accepting any valid upgrade.
    pub fn accept(stream: S, config: Config) -> Result<(Self, Request), Error> {
        WebSocket::accept_with(stream, config, |_| Decision::accept())
    }

    /// Run the server handshake, letting `decide` accept (with a
    /// subprotocol) or reject the request.
    pub fn accept_with(
        stream: S,
        config: Config,
        decide: impl FnOnce(&Request) -> Decision,
    ) -> Result<(Self, Request), Error> {
        let conn = Connection::server(Arc::new(config), crate::clock::now());
        let mut ws = WebSocket {
            stream,
            conn,
            closed: None,
            failure: None,
        };
        let request = loop {
            match ws.conn.poll_event() {
                Some(Event::Request(request)) => break request,
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
                None => ws.fill()?,
            }
        };
        match decide(&request) {
            Decision::Accept { protocol } => {
                ws.conn
                    .accept(crate::clock::now(), protocol.as_deref(), &[])?
            }
            Decision::Reject { status, reason } => {
                ws.conn.reject(crate::clock::now(), status, &reason)?;
                ws.flush()?;
                return Err(Error::NotUpgraded);
            }
        }
        ws.flush()?;
        Ok((ws, request))
    }

    /// Read once from the stream into the core.
    fn fill(&mut self) -> Result<(), Error> {
        let buf = self.conn.recv_buf();
        match self.stream.read(buf) {
            Ok(0) => self.conn.recv_eof(crate::clock::now()),
            Ok(n) => self.conn.commit_recv(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                self.conn.abort();
                return Err(Error::Io(e));
            }
        }
        self.conn.handle_timeout(crate::clock::now());
        Ok(())
    }

    /// Block until something arrives. After the connection closes every
    /// call returns [`Error::Closed`].
    pub fn read(&mut self) -> Result<Incoming, Error> {
        loop {
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
            self.fill()?;
        }
    }

    /// Send a text message and write it out.
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send(|conn| conn.send_text(text))
    }

    /// Send a binary message and write it out.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send(|conn| conn.send_binary(data))
    }

    /// Send a ping.
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

    /// Start the closing handshake; keep calling [`WebSocket::read`] until
    /// it returns [`Error::Closed`] to complete it.
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
        self.conn.handle_timeout(crate::clock::now());
        match op(&mut self.conn) {
            Err(UsageError::BufferFull) => {
                self.flush()?;
                op(&mut self.conn)?;
            }
            other => other?,
        }
        self.flush()
    }

    /// Write everything queued.
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

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The core, for inspection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}
