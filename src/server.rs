//! Binding a server: one event loop per thread, all accepting on the same
//! port (SO_REUSEPORT, so the kernel spreads connections without an
//! acceptor thread handing sockets around).

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::thread::JoinHandle;

use mio::net::TcpListener;
use socket2::{Domain, Protocol, Socket, Type};

use crate::event_loop::{EventLoop, ShutdownHandle};
use crate::handler::Handler;
use crate::limits::{ConnectionLimits, Limiter};
use crate::origin::OriginPolicy;
use crate::proto::config::Config;
use crate::refusals::{Counters, Refusals};

/// Builds a WebSocket server: `Server::new().config(c).threads(n).bind(addr)`.
///
/// Binding is separate from serving, so the address (and the port the OS
/// picked for port 0) is known before the first connection. Serve on the
/// calling thread with [`BoundServer::run`], or in the background with
/// [`BoundServer::spawn`]:
///
/// ```
/// use std::time::Duration;
/// use ws6455::blocking::{Incoming, WebSocket};
/// use ws6455::{Config, ConnId, ConnectOptions, Ctx, Handler, Message, Server};
///
/// struct Echo;
///
/// impl Handler for Echo {
///     fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
///         let _ = match message {
///             Message::Text(text) => ctx.send_text(id, text),
///             Message::Binary(data) => ctx.send_binary(id, data),
///         };
///     }
/// }
///
/// // Limits for every connection: messages up to 1 MiB, and a peer that is
/// // silent for 30 s is pinged (§5.5.2).
/// let mut config = Config::default();
/// config.max_message_size = 1 << 20;
/// config.ping_interval = Some(Duration::from_secs(30));
///
/// let server = Server::new()
///     .config(config)
///     .threads(2) // two event loops sharing the port (SO_REUSEPORT)
///     .bind("127.0.0.1:0")?
///     .spawn(|| Echo);
///
/// let url = format!("ws://{}/", server.local_addr());
/// let (mut ws, _) = WebSocket::connect(&url, &ConnectOptions::default())?;
/// ws.send_text("ping?")?;
/// assert_eq!(ws.read()?, Incoming::Text("ping?".into()));
///
/// server.stop()?; // closes every connection with 1001, then returns
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Server {
    config: Config,
    threads: usize,
    trace: bool,
    origins: OriginPolicy,
    limits: ConnectionLimits,
    #[cfg(feature = "tls")]
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
}

impl Server {
    /// A server with default limits, on one thread.
    pub fn new() -> Self {
        Server {
            threads: 1,
            ..Server::default()
        }
    }

    /// Serve `wss://`: every connection speaks TLS with `config` (feature
    /// `tls`; build one from PEM files with
    /// [`crate::tls::server_config_from_pem`]).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: std::sync::Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Which web pages may open a WebSocket (RFC 6455 §10.2): an upgrade
    /// request whose `Origin` `policy` refuses is answered 403 before
    /// [`crate::Handler::on_request`], which never hears of it (nor
    /// `on_closed`); it is counted in [`ServerHandle::refusals`] and
    /// logged. The default, [`OriginPolicy::any`], refuses none.
    ///
    /// ```
    /// use ws6455::{OriginPolicy, Server};
    ///
    /// // Pages this server serves itself, and the company's sites.
    /// let policy = OriginPolicy::same_host().allow("https://*.example.com")?;
    /// let server = Server::new().origins(policy);
    /// # let _ = server;
    /// # Ok::<(), ws6455::origin::OriginPatternError>(())
    /// ```
    pub fn origins(mut self, policy: OriginPolicy) -> Self {
        self.origins = policy;
        self
    }

    /// How many connections the server holds: in all, per client address
    /// (IPv4 address or IPv6 /64), and handshakes in progress per client
    /// address (RFC 6455 §10.4; see [`ConnectionLimits`]), counted across
    /// every thread. Over a limit an upgrade request is answered 503 with
    /// `Retry-After` before [`crate::Handler::on_request`] (which never
    /// hears of it), and a socket beyond the handshake limits is closed at
    /// accept; both count in [`Refusals::over_limit`]. The default is no
    /// limit.
    pub fn limits(mut self, limits: ConnectionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Limits and timeouts for every connection.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Run `n` event loops, one per thread, sharing the listening port.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }

    /// Record every frame of every connection and hand each record to
    /// [`crate::Handler::on_frame`] (see [`EventLoop::trace_frames`]).
    pub fn trace_frames(mut self, on: bool) -> Self {
        self.trace = on;
        self
    }

    /// Bind the listening socket(s) now, so the address (and a port chosen
    /// by the OS for port 0) is known before serving.
    pub fn bind(self, addr: impl ToSocketAddrs) -> io::Result<BoundServer> {
        let addr = addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind"))?;
        let threads = self.threads.max(1);
        let first = listener(addr, threads > 1)?;
        let local = first.local_addr()?;
        let shared = Shared {
            refusals: Arc::new(Counters::default()),
            limiter: Arc::new(Limiter::new(self.limits)),
        };
        let mut loops = Vec::with_capacity(threads);
        loops.push(self.event_loop(first, &shared)?);
        for _ in 1..threads {
            loops.push(self.event_loop(listener(local, true)?, &shared)?);
        }
        let refusals = shared.refusals;
        let handle = ServerHandle {
            loops: loops.iter().map(EventLoop::shutdown_handle).collect(),
            refusals,
        };
        Ok(BoundServer {
            loops,
            local,
            handle,
        })
    }
}

/// What the loops of one server count together.
struct Shared {
    refusals: Arc<Counters>,
    limiter: Arc<Limiter>,
}

impl Server {
    /// One event loop serving `listener` with this builder's settings,
    /// counting refusals and connections into the server's `shared` counts.
    fn event_loop(&self, listener: TcpListener, shared: &Shared) -> io::Result<EventLoop> {
        let mut event_loop = EventLoop::new(self.config.clone())?;
        event_loop.trace_frames(self.trace);
        event_loop.origins(self.origins.clone());
        event_loop.share_refusals(shared.refusals.clone());
        event_loop.share_limits(shared.limiter.clone());
        #[cfg(feature = "tls")]
        if let Some(config) = self.tls.as_ref() {
            event_loop.tls(config.clone());
        }
        event_loop.listen(listener)?;
        Ok(event_loop)
    }
}

fn listener(addr: SocketAddr, reuse_port: bool) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    // A deep backlog: bursts of thousands of connects must not be refused.
    socket.listen(4096)?;
    Ok(TcpListener::from_std(socket.into()))
}

/// Shuts every event loop of a server down gracefully, and reads what the
/// server's policies refused.
#[derive(Clone, Debug)]
pub struct ServerHandle {
    loops: Vec<ShutdownHandle>,
    refusals: Arc<Counters>,
}

impl ServerHandle {
    /// Stop accepting, close every connection with 1001, and let `run`
    /// return once they are gone (or after the close timeout).
    pub fn shutdown(&self) {
        for handle in &self.loops {
            handle.shutdown();
        }
    }

    /// How many connections the server's policies refused so far, over
    /// every event loop (see [`Server::origins`]).
    pub fn refusals(&self) -> Refusals {
        self.refusals.snapshot()
    }
}

/// A server with its sockets bound, ready to run.
pub struct BoundServer {
    loops: Vec<EventLoop>,
    local: SocketAddr,
    handle: ServerHandle,
}

impl BoundServer {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// A handle to shut the server down from another thread.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Serve on this thread (and `threads - 1` more), each loop with its own
    /// handler from `factory`, until shut down.
    pub fn run<F, H>(self, factory: F) -> io::Result<()>
    where
        F: Fn() -> H + Sync,
        H: Handler,
    {
        let factory = &factory;
        std::thread::scope(|scope| {
            let mut loops = self.loops.into_iter();
            let Some(mut first) = loops.next() else {
                return Ok(());
            };
            let others: Vec<_> = loops
                .map(|mut event_loop| {
                    scope.spawn(move || {
                        let mut handler = factory();
                        event_loop.run(&mut handler)
                    })
                })
                .collect();
            let mut handler = factory();
            let mut result = first.run(&mut handler);
            for other in others {
                let joined = other
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other("an event loop thread panicked")));
                result = result.and(joined);
            }
            result
        })
    }

    /// Serve on background threads; returns at once.
    pub fn spawn<F, H>(self, factory: F) -> RunningServer
    where
        F: Fn() -> H + Send + Sync + 'static,
        H: Handler,
    {
        let local = self.local;
        let handle = self.handle.clone();
        let thread = std::thread::spawn(move || self.run(factory));
        RunningServer {
            local,
            handle,
            thread: Some(thread),
        }
    }
}

/// A server running on background threads. Dropping it shuts it down and
/// waits for it.
pub struct RunningServer {
    local: SocketAddr,
    handle: ServerHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl RunningServer {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// A handle to shut the server down.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Shut down gracefully and wait for every loop to finish.
    pub fn stop(mut self) -> io::Result<()> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> io::Result<()> {
        self.handle.shutdown();
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the server thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}
