//! The I/O under one case: a socket on its own small mio poll, moving
//! bytes between it and the [`Peer`], firing timers, and handing events
//! to the case. Every wait is bounded, so a peer that never answers,
//! answers garbage or floods costs a case at most [`Limits::case`].

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use super::case::Case;
use super::peer::{Drop, Event, Peer, State};

/// Bounds on one case.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The longest a case may take from connect to judgement.
    pub case: Duration,
    /// The longest the opening handshake may take (wstest: 5 s).
    pub handshake: Duration,
}

/// The biggest message or handshake the runner buffers (the largest case
/// message is 16 MiB); a peer sending more fails the connection (1009).
pub const MAX_MESSAGE: usize = 64 << 20;

const SOCKET: Token = Token(0);

/// How long the close sent at the case's limit may take to complete.
const LIMIT_GRACE: Duration = Duration::from_secs(2);

/// The least time between two queued pieces (chopped or `sync` writes).
/// wstest writes one per reactor turn: about 35 µs a piece (its own reports:
/// 1 MiB in 64-byte chops takes 550 ms). Going much faster changes what a
/// peer sees: a message echoed before the bad frame behind it arrives, or
/// not (3.4, 4.1.5, 4.2.5 on Python `websockets`).
const PACE: Duration = Duration::from_micros(PACE_MICROS);
const PACE_MICROS: u64 = 35;

/// A connected socket with its poll.
pub struct Conn {
    stream: TcpStream,
    poll: Poll,
    events: Events,
    /// When the case must end whatever happens.
    pub deadline: Instant,
}

impl Conn {
    /// Wrap a connected (blocking or not) std socket.
    pub fn new(stream: std::net::TcpStream, limit: Duration) -> io::Result<Conn> {
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        let mut stream = TcpStream::from_std(stream);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut stream, SOCKET, Interest::READABLE | Interest::WRITABLE)?;
        Ok(Conn {
            stream,
            poll,
            events: Events::with_capacity(4),
            deadline: Instant::now() + limit,
        })
    }

    /// Wait for readiness until `until` (at the latest the case deadline).
    fn wait(&mut self, until: Option<Instant>) -> io::Result<()> {
        let until = until.map_or(self.deadline, |u| u.min(self.deadline));
        let timeout = until.saturating_duration_since(Instant::now());
        match self.poll.poll(&mut self.events, Some(timeout)) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            other => other,
        }
    }

    /// Write all of `bytes` before `until` (handshakes).
    pub fn write_all(&mut self, mut bytes: &[u8], until: Instant) -> io::Result<()> {
        while !bytes.is_empty() {
            match self.stream.write(bytes) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= until.min(self.deadline) {
                        return Err(io::ErrorKind::TimedOut.into());
                    }
                    self.wait(Some(until))?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Read a handshake head: bytes until `parse` finds it whole, before
    /// `until`. Returns what it parsed and the bytes after the head.
    pub fn read_head<T>(
        &mut self,
        until: Instant,
        parse: impl Fn(&[u8]) -> Result<Option<(T, usize)>, String>,
    ) -> Result<(T, Vec<u8>), String> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some((head, used)) = parse(&buf)? {
                return Ok((head, buf.split_off(used)));
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err("connection closed during the opening handshake".into()),
                Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= until.min(self.deadline) {
                        return Err("peer did not finish (in time) the opening handshake".into());
                    }
                    self.wait(Some(until)).map_err(|e| e.to_string())?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// Close now (a refused handshake).
    pub fn close(self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

fn dispatch(case: &mut dyn Case, p: &mut Peer, ev: Event) {
    match ev {
        Event::Message(payload, binary) => case.on_message(p, payload, binary),
        Event::Pong(payload) => case.on_pong(p, payload),
        Event::Continue(tag) => case.on_timer(p, tag),
    }
}

fn drain_events(case: &mut dyn Case, p: &mut Peer) {
    while let Some(ev) = p.poll_event() {
        dispatch(case, p, ev);
    }
}

/// Run an open connection to its end and judge the case: `early` are
/// frames that came with the handshake.
pub fn run_open(mut conn: Conn, p: &mut Peer, case: &mut dyn Case, early: &[u8]) {
    p.opened();
    case.on_open(p);
    if !early.is_empty() {
        p.receive(early);
    }
    let mut chunk = vec![0u8; 64 * 1024];
    let mut last_piece: Option<Instant> = None;
    let mut closing_at_limit = false;
    loop {
        drain_events(case, p);
        if let Some(how) = p.drop_request() {
            if how == Drop::Flush {
                let pending = p.next_write().to_vec();
                let until = Instant::now() + Duration::from_secs(1);
                let _ = conn.write_all(&pending, until);
            }
            let _ = conn.stream.shutdown(Shutdown::Both);
            break;
        }
        // One turn: the queue's next piece joins the transport (as
        // wstest's `_send`, once per turn of its reactor), then the
        // transport is written, then we wait for the socket or a timer.
        p.begin_turn();
        let mut write_blocked = false;
        if p.pump_due() {
            if let Some(last) = last_piece {
                // A sleep this short overshoots by the kernel's timer
                // slack (50 µs); wait by spinning instead.
                let next = last + PACE;
                while Instant::now() < next {
                    std::hint::spin_loop();
                }
            }
            p.pump_turn();
        }
        // Pieces are paced from when each goes out, the first one of a
        // sequence (written where it was queued) included.
        if p.pumping() && p.transport_pending() {
            last_piece = Some(Instant::now());
        }
        loop {
            let buf = p.next_write();
            if buf.is_empty() {
                break;
            }
            match conn.stream.write(buf) {
                Ok(n) => {
                    p.wrote(n);
                    if !p.transport_pending() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Blocked, or the peer is gone (what it sent may still be
                // read): wait for the socket.
                Err(_) => {
                    write_blocked = true;
                    break;
                }
            }
        }
        let now = Instant::now();
        if now >= conn.deadline {
            // Past the case's limit: close as the case's own `closeAfter`
            // would (so a peer that is merely slow is judged as wstest
            // judges it), and drop TCP if even that goes unanswered.
            if p.state == State::Open && !closing_at_limit {
                closing_at_limit = true;
                p.send_close(None, None);
                conn.deadline = now + LIMIT_GRACE;
            } else {
                p.drop_connection(Drop::Abort);
            }
            continue;
        }
        let soon = (p.has_queued() && !write_blocked).then_some(now);
        let until = match (soon, p.next_deadline()) {
            (Some(a), _) => Some(a),
            (None, b) => b,
        };
        if conn.wait(until).is_err() {
            p.lost();
            break;
        }
        // Read what is there, taking frames as they complete so a flood
        // never piles up.
        let mut eof = false;
        loop {
            match conn.stream.read(&mut chunk) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    p.receive(chunk.get(..n).unwrap_or_default());
                    drain_events(case, p);
                    if p.state == State::Closed || p.buffered() > MAX_MESSAGE {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    eof = true;
                    break;
                }
            }
        }
        if p.buffered() > MAX_MESSAGE {
            p.fail_connection(1009, "message too big for the runner");
        }
        if eof {
            drain_events(case, p);
            p.lost();
            break;
        }
        p.fire_due(Instant::now());
    }
    case.on_connection_lost(p);
}
