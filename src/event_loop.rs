//! The mio event loop (floor 2): one `Poll`, a slab of connections, an
//! optional listener, a waker, and two timer heaps.
//!
//! It moves bytes and nothing else. Frames are parsed, built and masked by
//! the core ([`crate::proto::Connection`]); the loop turns the core's wishes
//! (`wants_read`, `wants_write`, `poll_timeout`, `is_closed`) into reads,
//! writes and poll timeouts.
//!
//! Sockets are registered once, edge-triggered, for both directions, and
//! never re-registered: the loop remembers per socket whether it may read
//! or write (a readiness edge sets the flag, `WouldBlock` clears it). So a
//! connection costs no `epoll_ctl` after accept, however often its
//! interest changes. Output is written straight after the input that
//! caused it, not on the next WRITABLE edge.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;

use crate::admission::Admission;
use crate::client::{ConnectError, ConnectOptions};
use crate::clock;
use crate::conn_id::ConnId;
use crate::ctx::Ctx;
use crate::diag::{self, AcceptErrors};
use crate::handler::Handler;
use crate::limits::{ConnectionLimits, Limiter};
use crate::loop_core::{LoopCore, PoolTrim, FIRST_CONN};
use crate::origin::OriginPolicy;
use crate::proto::close::CloseCode;
use crate::proto::config::Config;
use crate::proto::connection::{BufferPool, Connection};
use crate::refusals::{Counters, Refusals};
use crate::remote::{Mailbox, Remote};
use crate::socket::{Finish, Socket};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);

/// Spare buffer sets kept per loop: connections park theirs after every
/// turn, so only the few busy at once (and slow readers) hold any.
const POOLED_BUFFERS: usize = 32;
/// Buffers that grew past this (a large message) are freed, not pooled…
const POOLED_CAPACITY: usize = 256 << 10;
/// … except up to this many bytes of them, while large messages keep
/// coming (freed within two seconds of the last: `LoopCore::trim_idle_pool`).
const POOLED_LARGE_BYTES: usize = 64 << 20;

/// Reads one connection may do per readiness event before others get a
/// turn; leftovers are retried on the next loop turn.
const READ_BUDGET: usize = 32;

/// Stops a running loop from another thread: graceful shutdown (every
/// connection gets a 1001 close), then `run` returns.
#[derive(Clone, Debug)]
pub struct ShutdownHandle {
    flag: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl ShutdownHandle {
    /// Ask the loop to shut down; returns at once.
    pub fn shutdown(&self) {
        self.flag.store(true, Ordering::SeqCst);
        // A failed wake only delays shutdown to the next event.
        let _ = self.waker.wake();
    }
}

/// A single-threaded event loop serving accepted and/or outgoing
/// connections with one [`Handler`].
pub struct EventLoop {
    poll: Poll,
    events: Events,
    core: LoopCore,
    listener: Option<TcpListener>,
    shutdown: ShutdownHandle,
    mailbox: Arc<Mailbox>,
    accept_errors: AcceptErrors,
}

impl EventLoop {
    /// A loop with no listener and no connections, using `config` for
    /// every connection it will hold.
    pub fn new(config: Config) -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let mailbox = Arc::new(Mailbox::default());
        let remote = Remote::new(&mailbox, waker.clone());
        let registry = poll.registry().try_clone()?;
        let now = clock::now();
        Ok(EventLoop {
            poll,
            events: Events::with_capacity(1024),
            core: LoopCore {
                config: Arc::new(config),
                registry,
                slots: Slab::new(),
                dirty: Vec::new(),
                again: Vec::new(),
                deadlines: BinaryHeap::new(),
                timers: BinaryHeap::new(),
                timer_seq: 0,
                now,
                shutdown_requested: false,
                shutdown_deadline: None,
                trace: false,
                pool: BufferPool::new(POOLED_BUFFERS, POOLED_CAPACITY)
                    .with_large_budget(POOLED_LARGE_BYTES),
                pool_trim: PoolTrim::new(now),
                #[cfg(feature = "tls")]
                tls_server: None,
                admission: Admission::default(),
                remote,
            },
            listener: None,
            shutdown: ShutdownHandle {
                flag: Arc::new(AtomicBool::new(false)),
                waker,
            },
            mailbox,
            accept_errors: AcceptErrors::default(),
        })
    }

    /// Serve connections accepted from `listener` (already bound and
    /// listening; see [`crate::Server`] for binding).
    pub fn listen(&mut self, mut listener: TcpListener) -> io::Result<SocketAddr> {
        self.poll
            .registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let addr = listener.local_addr()?;
        log::debug!("listening on {addr}");
        self.listener = Some(listener);
        Ok(addr)
    }

    /// Speak TLS on every connection accepted from now on (`wss://`,
    /// feature `tls`): the TLS handshake runs first, within the opening
    /// handshake's timeout, and the WebSocket bytes travel inside it.
    #[cfg(feature = "tls")]
    pub fn tls(&mut self, config: Arc<rustls::ServerConfig>) {
        self.core.tls_server = Some(config);
    }

    /// Refuse upgrade requests whose `Origin` `policy` does not allow, with
    /// 403 and before [`Handler::on_request`] (RFC 6455 §10.2; see
    /// [`OriginPolicy`]). The default, [`OriginPolicy::any`], refuses none.
    pub fn origins(&mut self, policy: OriginPolicy) {
        self.core.admission.set_origins(policy);
    }

    /// Limit how many connections this loop holds (in all, per client
    /// address, handshakes in progress per client address; see
    /// [`ConnectionLimits`]). Over a limit, an upgrade request is answered
    /// 503 before [`Handler::on_request`], and a socket beyond the
    /// handshake limits is closed at accept; both are counted in
    /// [`Refusals::over_limit`]. The default is no limit. With
    /// [`crate::Server::limits`], the counts are the whole server's.
    pub fn limits(&mut self, limits: ConnectionLimits) {
        self.share_limits(Arc::new(Limiter::new(limits)));
    }

    /// Count connections against `limiter`, shared by every loop of a
    /// server.
    pub(crate) fn share_limits(&mut self, limiter: Arc<Limiter>) {
        self.core.admission.set_limits(limiter);
    }

    /// How many connections this loop's policies refused (with
    /// [`crate::Server`], every loop of the server).
    pub fn refusals(&self) -> Refusals {
        self.core.admission.refusals()
    }

    /// Count refusals into `counters`, shared by every loop of a server.
    pub(crate) fn share_refusals(&mut self, counters: Arc<Counters>) {
        self.core.admission.share_counters(counters);
    }

    /// Open a client connection to a `ws://` URL (or, with the `tls`
    /// feature, a `wss://` one) before running the loop.
    pub fn connect(&mut self, url: &str, options: &ConnectOptions) -> Result<ConnId, ConnectError> {
        self.core.now = clock::now();
        self.core.connect(url, options)
    }

    /// A handle that shuts this loop down from any thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// A handle that posts closures into this loop from any thread (see
    /// [`Remote`]).
    pub fn remote(&self) -> Remote {
        self.core.remote.clone()
    }

    /// Record every frame of the connections accepted or opened from now
    /// on and hand each record to [`Handler::on_frame`] (the core keeps
    /// the records, see `Connection::set_trace`; off by default).
    pub fn trace_frames(&mut self, on: bool) {
        self.core.trace = on;
    }

    /// Number of connections in the table (any state).
    pub fn connection_count(&self) -> usize {
        self.core.slots.len()
    }

    /// Run until shut down (all connections gone), or — for a loop without
    /// a listener — until no connection and no timer is left.
    pub fn run<H: Handler>(&mut self, handler: &mut H) -> io::Result<()> {
        log::debug!(
            "event loop started ({} connection(s){})",
            self.core.slots.len(),
            if self.listener.is_some() {
                ", accepting"
            } else {
                ""
            }
        );
        handler.on_start(&mut Ctx::new(&mut self.core, None));
        let result = self.run_until_done(handler);
        match &result {
            Ok(()) => log::debug!("event loop stopped"),
            Err(e) => log::error!("event loop failed: {e}"),
        }
        result
    }

    fn run_until_done<H: Handler>(&mut self, handler: &mut H) -> io::Result<()> {
        loop {
            let timeout = if self.core.again.is_empty() {
                self.core
                    .earliest()
                    .map(|t| t.saturating_duration_since(clock::now()))
            } else {
                Some(Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut self.events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            self.core.now = clock::now();
            self.handle_events(handler);
            self.run_remote_tasks(handler);
            self.retry_leftovers(handler);
            self.fire_deadlines(handler);
            self.fire_timers(handler);
            flush_dirty(&mut self.core, handler);
            self.core.trim_idle_pool();
            if self.shutdown.flag.swap(false, Ordering::SeqCst) {
                self.core.shutdown_requested = true;
            }
            if self.core.shutdown_requested && self.core.shutdown_deadline.is_none() {
                self.begin_shutdown(handler);
            }
            if let Some(deadline) = self.core.shutdown_deadline {
                // Connections only waiting for the peer's FIN are done.
                if self.core.slots.iter().all(|(_, slot)| slot.draining) {
                    return Ok(());
                }
                if self.core.now >= deadline {
                    self.abort_all(handler);
                    return Ok(());
                }
            }
            if self.listener.is_none() && self.core.slots.is_empty() && self.core.timers.is_empty()
            {
                return Ok(());
            }
        }
    }

    fn handle_events<H: Handler>(&mut self, handler: &mut H) {
        let EventLoop {
            events,
            core,
            listener,
            accept_errors,
            ..
        } = self;
        for event in events.iter() {
            match event.token() {
                LISTENER => {
                    if let Some(listener) = listener.as_ref() {
                        accept_all(core, listener, accept_errors);
                    }
                }
                WAKER => {}
                Token(t) => {
                    let idx = t.saturating_sub(FIRST_CONN);
                    let Some(slot) = core.slots.get_mut(idx) else {
                        continue;
                    };
                    if event.is_readable() || event.is_read_closed() || event.is_error() {
                        slot.can_read = true;
                    }
                    if event.is_writable() || event.is_write_closed() || event.is_error() {
                        slot.can_write = true;
                    }
                    let hup = event.is_read_closed() || event.is_error();
                    drive(core, handler, idx, hup);
                }
            }
        }
    }

    /// Closures posted through a [`Remote`]; what they send is flushed at
    /// the end of the turn like any other send through the table.
    /// Then the handler hears each token of [`Remote::notify`] once.
    fn run_remote_tasks<H: Handler>(&mut self, handler: &mut H) {
        let taken = self.mailbox.take();
        for task in taken.tasks {
            let mut ctx = Ctx::new(&mut self.core, None);
            task(&mut ctx);
        }
        for token in taken.notices {
            handler.on_notify(&mut Ctx::new(&mut self.core, None), token);
        }
    }

    fn retry_leftovers<H: Handler>(&mut self, handler: &mut H) {
        let mut again = std::mem::take(&mut self.core.again);
        for idx in again.drain(..) {
            drive(&mut self.core, handler, idx, true);
        }
        // Keep the allocation for next time.
        if self.core.again.is_empty() {
            self.core.again = again;
        }
    }

    fn fire_deadlines<H: Handler>(&mut self, handler: &mut H) {
        let now = self.core.now;
        while let Some(Reverse((due, idx, gen))) = self.core.deadlines.peek().copied() {
            if due > now {
                break;
            }
            self.core.deadlines.pop();
            let Some(slot) = self.core.slots.get_mut(idx) else {
                continue;
            };
            if slot.gen != gen || slot.deadline != Some(due) {
                continue; // superseded by an earlier deadline
            }
            slot.deadline = None;
            if slot.draining {
                // The peer never sent its FIN: give up on it.
                log::debug!(
                    "{} no FIN from the peer after closing",
                    ConnId::new(idx, gen)
                );
                remove_slot(&mut self.core, idx);
                continue;
            }
            if let Some(conn) = slot.conn.as_mut() {
                diag::handle_timeout(conn, now, slot.handshaking, ConnId::new(idx, gen));
            }
            drive(&mut self.core, handler, idx, false);
        }
    }

    fn fire_timers<H: Handler>(&mut self, handler: &mut H) {
        let now = self.core.now;
        while let Some(Reverse((due, _, token))) = self.core.timers.peek().copied() {
            if due > now {
                break;
            }
            self.core.timers.pop();
            let mut ctx = Ctx::new(&mut self.core, None);
            handler.on_timer(&mut ctx, token);
        }
    }

    /// Stop accepting, send 1001 to every open connection, drop those
    /// still in their handshake, and give the rest `close_timeout`.
    fn begin_shutdown<H: Handler>(&mut self, handler: &mut H) {
        log::debug!(
            "shutting down: closing {} connection(s) with 1001",
            self.core.slots.len()
        );
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        {
            let mut ctx = Ctx::new(&mut self.core, None);
            handler.on_shutdown(&mut ctx);
        }
        let indices: Vec<usize> = self.core.slots.iter().map(|(i, _)| i).collect();
        for idx in indices {
            let id = self.core.id(idx);
            if let Some(conn) = self.core.slots.get_mut(idx).and_then(|s| s.conn.as_mut()) {
                if conn.is_open() {
                    let now = self.core.now;
                    let _ = conn.close(now, CloseCode::GOING_AWAY, "server shutting down");
                } else {
                    if let Some(id) = id {
                        log::debug!("{id} dropped: shutdown during the handshake");
                    }
                    conn.abort();
                }
            }
            drive(&mut self.core, handler, idx, false);
        }
        let grace = self.core.config.close_timeout;
        self.core.shutdown_deadline =
            Some(self.core.now.checked_add(grace).unwrap_or(self.core.now));
    }

    fn abort_all<H: Handler>(&mut self, handler: &mut H) {
        let indices: Vec<usize> = self.core.slots.iter().map(|(i, _)| i).collect();
        log::debug!(
            "shutdown: close timeout passed, dropping {} connection(s)",
            indices.len()
        );
        for idx in indices {
            if let Some(conn) = self.core.slots.get_mut(idx).and_then(|s| s.conn.as_mut()) {
                conn.abort();
            }
            drive(&mut self.core, handler, idx, false);
        }
    }
}

fn accept_all(core: &mut LoopCore, listener: &TcpListener, errors: &mut AcceptErrors) {
    loop {
        match listener.accept() {
            Ok((stream, addr)) => {
                // Over a limit: dropping the stream closes it unread.
                let Some(held) = core.admission.accept(addr, core.now) else {
                    continue;
                };
                // Small messages must not wait for Nagle's algorithm.
                let _ = stream.set_nodelay(true);
                let socket = match accepted_socket(core, stream) {
                    Ok(socket) => socket,
                    Err(e) => {
                        core.admission.release(held);
                        errors.report(core.now, "cannot start a TLS session", &e);
                        continue;
                    }
                };
                let conn = Connection::server(core.config.clone(), core.now);
                match core.insert(socket, conn, false, held) {
                    Ok(idx) => {
                        if let Some(id) = core.id(idx) {
                            log::trace!("{id} accepted from {addr}");
                        }
                    }
                    Err(e) => {
                        core.admission.release(held);
                        errors.report(core.now, "cannot register an accepted socket", &e);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // Out of file descriptors and the like: stop for this edge; the
            // next connection attempt raises a new one (and at most one
            // warning a second).
            Err(e) => {
                errors.report(core.now, "accept failed", &e);
                return;
            }
        }
    }
}

/// The socket for an accepted connection: TLS when the loop serves
/// `wss://`.
fn accepted_socket(core: &LoopCore, tcp: TcpStream) -> io::Result<Socket> {
    #[cfg(feature = "tls")]
    if let Some(config) = core.tls_server.as_ref() {
        let session = crate::tls::server_session(config.clone()).map_err(io::Error::other)?;
        return Ok(Socket::tls(tcp, session));
    }
    let _ = core;
    Ok(Socket::plain(tcp))
}

fn flush_dirty<H: Handler>(core: &mut LoopCore, handler: &mut H) {
    while let Some(idx) = core.dirty.pop() {
        if let Some(slot) = core.slots.get_mut(idx) {
            slot.dirty = false;
        }
        drive(core, handler, idx, false);
    }
}

/// Everything one connection needs after a readiness edge, a deadline or
/// output queued from elsewhere: read, dispatch, write, until nothing moves.
pub(crate) fn drive<H: Handler>(core: &mut LoopCore, handler: &mut H, idx: usize, hup: bool) {
    // Callbacks below may close this connection; its close timer must
    // count from this turn, not from the last time it heard anything.
    if core.slots.get(idx).is_some_and(|s| s.draining) {
        drain(core, idx);
        return;
    }
    let now = core.now;
    if let Some(slot) = core.slots.get_mut(idx) {
        let id = ConnId::new(idx, slot.gen);
        if let Some(conn) = slot.conn.as_mut() {
            diag::handle_timeout(conn, now, slot.handshaking, id);
            conn.unpark(&mut core.pool);
        }
    }
    if crate::conn_io::finish_connect(core, handler, idx) {
        let mut reads = 0;
        loop {
            let read = crate::conn_io::read_some(
                core,
                handler,
                idx,
                hup,
                READ_BUDGET - reads.min(READ_BUDGET),
            );
            reads += read.reads;
            crate::conn_io::dispatch(core, handler, idx);
            let wrote = crate::conn_io::flush(core, handler, idx);
            crate::conn_io::dispatch(core, handler, idx);
            // Go round again for input left to read, and for output the last
            // dispatch queued on a writable socket: input held back while
            // output was over its bound resumes once the flush drains it, and
            // `on_writable` may send more; no new WRITABLE edge would come for
            // either while the socket has room.
            let again = core.slots.get(idx).is_some_and(|s| {
                s.conn.as_ref().is_some_and(|c| {
                    (s.can_read && c.wants_read())
                        || (s.can_write
                            && !s.connecting
                            && (c.wants_write() || s.socket.has_pending()))
                })
            });
            if !again || !(wrote || read.reads > 0) {
                break;
            }
            if reads >= READ_BUDGET {
                core.again.push(idx);
                break;
            }
        }
    }
    reap_or_schedule(core, idx);
}

/// Drop a finished connection (after draining the peer's last bytes), or
/// keep its deadline in the heap.
fn reap_or_schedule(core: &mut LoopCore, idx: usize) {
    let Some(slot) = core.slots.get_mut(idx) else {
        return;
    };
    let Some(conn) = slot.conn.as_mut() else {
        return;
    };
    conn.park(&mut core.pool);
    if !conn.is_closed() {
        core.schedule(idx);
        return;
    }
    if conn.peer_closed() {
        remove_slot(core, idx);
        return;
    }
    // End TLS after the last frame; its records may wait for the socket.
    match slot.socket.finish(core.now, core.config.close_timeout) {
        Finish::Done => {}
        Finish::Wait(until) => {
            if slot.deadline.is_none_or(|d| until < d) {
                slot.deadline = Some(until);
                core.deadlines.push(Reverse((until, idx, slot.gen)));
            }
            return;
        }
        Finish::GiveUp => {
            remove_slot(core, idx);
            return;
        }
    }
    // Send our FIN after the last frame, then wait for the peer's.
    if slot.socket.tcp.shutdown(std::net::Shutdown::Write).is_err() {
        remove_slot(core, idx);
        return;
    }
    slot.draining = true;
    let grace = core.config.close_timeout;
    let due = core.now.checked_add(grace).unwrap_or(core.now);
    slot.deadline = Some(due);
    core.deadlines.push(Reverse((due, idx, slot.gen)));
    drain(core, idx);
}

/// Read and drop whatever the peer still sends; drop the socket at its FIN
/// (or on an error).
fn drain(core: &mut LoopCore, idx: usize) {
    let mut scratch = [0u8; 4096];
    let Some(slot) = core.slots.get_mut(idx) else {
        return;
    };
    loop {
        // Raw TCP even under TLS: these bytes are dropped unread.
        match (&slot.socket.tcp).read(&mut scratch) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    remove_slot(core, idx);
}

fn remove_slot(core: &mut LoopCore, idx: usize) {
    if core.slots.contains(idx) {
        let mut slot = core.slots.remove(idx);
        let _ = core.registry.deregister(&mut slot.socket.tcp);
        core.admission.release(slot.held);
        if let Some(mut conn) = slot.conn {
            conn.park(&mut core.pool);
        }
    }
}
