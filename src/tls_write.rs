//! Writing a TLS session: the core's plaintext chunks sealed into records
//! in a buffer owned by the thread, and written with one `write`.
//!
//! Only what the socket refuses is copied into the session (its
//! `pending`, bounded by [`super::PENDING_LIMIT`]). Small chunks (a frame
//! header, small frames queued together) are gathered into one record, so
//! that they cost one seal and one record's overhead; large ones are
//! sealed straight from the core's buffer.

use std::cell::RefCell;
use std::io::{self, Write};
use std::time::Duration;

use mio::net::TcpStream;
use rustls::unbuffered::{ConnectionState, EncryptError, UnbufferedStatus, WriteTraffic};

use super::read::{encode, take_records};
use super::{unwritten, Conn, Session, PENDING_LIMIT};
use crate::proto::Timestamp;
use crate::socket::Finish;
use crate::transmit::MAX_IOV;

/// The most plaintext one TLS record carries (RFC 8446 §5.1).
const RECORD: usize = 16 << 10;

/// Chunks up to this size are gathered with their neighbours into one
/// record; larger ones are sealed where they lie.
const SMALL: usize = 4 << 10;

/// A record's overhead, at most: header, explicit nonce (TLS 1.2), tag
/// and content type (TLS 1.3).
const OVERHEAD: usize = 64;

/// Ciphertext room for one batch: [`PENDING_LIMIT`] of plaintext in
/// records of any size down to one per chunk.
const OUT_ROOM: usize = PENDING_LIMIT + 4 * MAX_IOV * OVERHEAD;

/// The thread's buffers for sealing.
struct Scratch {
    out: Vec<u8>,
    stage: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const {
        RefCell::new(Scratch { out: Vec::new(), stage: Vec::new() })
    };
}

/// What the state machine is asked to do once it lets us write.
enum Job<'a, 'c> {
    /// Seal `chunks` past their first `skip` bytes into the scratch.
    Seal {
        chunks: &'a [&'c [u8]],
        skip: usize,
        scratch: &'a mut Scratch,
    },
    /// Queue our close_notify.
    CloseNotify,
    /// Only seal what was written before the handshake ended.
    Early,
}

/// Where a write turn left things.
enum Step {
    /// Progress: turn again.
    Again,
    /// The job is done: plaintext sealed and ciphertext length in the
    /// scratch (zero for jobs that queue in `pending`).
    Done(usize, usize),
    /// The handshake is not done: nothing can be sealed yet.
    Blocked,
    /// The peer's close_notify came.
    PeerClosed,
    /// Both sides' close_notify went: nothing more can be sent.
    Closed,
}

/// What a write turn may touch besides rustls.
struct Queues<'a> {
    pending: &'a mut Vec<u8>,
    plain_left: &'a mut Vec<u8>,
    early: &'a mut Vec<u8>,
}

fn tls_error(e: impl std::fmt::Display) -> rustls::Error {
    rustls::Error::General(e.to_string())
}

/// Seal all of `data` (a short, rare write: what came before the
/// handshake ended) onto the end of `out`.
pub(super) fn seal_all<Data>(
    traffic: &mut WriteTraffic<'_, Data>,
    data: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), rustls::Error> {
    let at = out.len();
    out.resize(at + data.len() + (data.len() / RECORD + 1) * OVERHEAD, 0);
    match traffic.encrypt(data, out.get_mut(at..).unwrap_or_default()) {
        Ok(n) => {
            out.truncate(at + n);
            Ok(())
        }
        Err(e) => {
            out.truncate(at);
            Err(tls_error(e))
        }
    }
}

/// Seal the chunks' bytes past `skip` into `scratch.out`, at most
/// [`PENDING_LIMIT`] of plaintext: returns the plaintext sealed (always a
/// prefix of those bytes) and the ciphertext's length.
fn seal_batch<Data>(
    traffic: &mut WriteTraffic<'_, Data>,
    chunks: &[&[u8]],
    skip: usize,
    scratch: &mut Scratch,
) -> Result<(usize, usize), rustls::Error> {
    let mut pieces: [&[u8]; MAX_IOV] = [&[]; MAX_IOV];
    let n = unwritten(chunks, skip, &mut pieces);
    let Scratch { out, stage } = scratch;
    let (mut sealed, mut used, mut staged) = (0, 0, 0);
    // Seal `data` after what is in `out`; false once `out` is full.
    let mut seal = |data: &[u8], used: &mut usize| -> Result<bool, rustls::Error> {
        match traffic.encrypt(data, out.get_mut(*used..).unwrap_or_default()) {
            Ok(n) => {
                *used += n;
                Ok(true)
            }
            Err(EncryptError::InsufficientSize(_)) => Ok(false),
            Err(e) => Err(tls_error(e)),
        }
    };
    'pieces: for piece in pieces.iter().take(n) {
        let mut rest: &[u8] = piece;
        while !rest.is_empty() {
            if sealed + staged >= PENDING_LIMIT {
                break 'pieces;
            }
            if rest.len() <= SMALL && staged + rest.len() <= stage.len() {
                if let Some(to) = stage.get_mut(staged..staged + rest.len()) {
                    to.copy_from_slice(rest);
                }
                staged += rest.len();
                break;
            }
            if staged > 0 {
                if !seal(stage.get(..staged).unwrap_or_default(), &mut used)? {
                    return Ok((sealed, used));
                }
                sealed += staged;
                staged = 0;
                continue;
            }
            let take = rest.len().min(RECORD).min(PENDING_LIMIT - sealed);
            let (now, later) = rest.split_at(take);
            if !seal(now, &mut used)? {
                return Ok((sealed, used));
            }
            sealed += take;
            rest = later;
        }
    }
    if staged > 0 && seal(stage.get(..staged).unwrap_or_default(), &mut used)? {
        sealed += staged;
    }
    Ok((sealed, used))
}

/// One turn of the state machine for a write: how many bytes of the
/// stash rustls is done with, and where things stand.
fn turn<Data>(
    status: UnbufferedStatus<'_, '_, Data>,
    job: &mut Job<'_, '_>,
    queues: &mut Queues<'_>,
) -> (usize, Result<Step, rustls::Error>) {
    let mut discard = status.discard;
    let state = match status.state {
        Ok(state) => state,
        Err(e) => return (discard, Err(e)),
    };
    let step = match state {
        // Records left in the stash decrypt before rustls lets us write:
        // their plaintext waits for the next read.
        ConnectionState::ReadTraffic(mut traffic) => {
            take_records(&mut traffic, &mut discard, |payload| {
                queues.plain_left.extend_from_slice(payload)
            })
            .map(|()| Step::Again)
        }
        ConnectionState::EncodeTlsData(mut encoder) => {
            encode(&mut encoder, queues.pending).map(|()| Step::Again)
        }
        ConnectionState::TransmitTlsData(transmit) => {
            transmit.done();
            Ok(Step::Again)
        }
        ConnectionState::WriteTraffic(mut traffic) => (|| {
            if !queues.early.is_empty() {
                let early = std::mem::take(queues.early);
                seal_all(&mut traffic, &early, queues.pending)?;
            }
            match job {
                Job::Seal {
                    chunks,
                    skip,
                    scratch,
                } => {
                    let (sealed, used) = seal_batch(&mut traffic, chunks, *skip, scratch)?;
                    Ok(Step::Done(sealed, used))
                }
                Job::CloseNotify => {
                    let at = queues.pending.len();
                    queues.pending.resize(at + OVERHEAD, 0);
                    let wrote = traffic
                        .queue_close_notify(queues.pending.get_mut(at..).unwrap_or_default())
                        .map_err(tls_error)?;
                    queues.pending.truncate(at + wrote);
                    Ok(Step::Done(0, 0))
                }
                Job::Early => Ok(Step::Done(0, 0)),
            }
        })(),
        ConnectionState::BlockedHandshake => Ok(Step::Blocked),
        ConnectionState::PeerClosed => Ok(Step::PeerClosed),
        ConnectionState::Closed => Ok(Step::Closed),
        _ => Ok(Step::Blocked),
    };
    (discard, step)
}

/// Write `bytes` until all went or the socket would block: how many went.
fn write_some(tcp: &TcpStream, bytes: &[u8]) -> io::Result<usize> {
    let mut at = 0;
    while let Some(rest) = bytes.get(at..).filter(|rest| !rest.is_empty()) {
        match (&*tcp).write(rest) {
            Ok(0) => break,
            Ok(n) => at += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(at)
}

impl Session {
    /// Seal up to [`MAX_IOV`] chunks and write them, a batch of at most
    /// [`PENDING_LIMIT`] at a time, until all are taken or the socket
    /// would block; see [`crate::socket::Socket::write_chunks`]. As with
    /// `writev` on TCP, a short count means the socket is full (so a
    /// WRITABLE edge will come). Before the handshake ends, the chunks
    /// are kept (up to [`PENDING_LIMIT`]) and sealed when it does.
    pub(crate) fn write_chunks(&mut self, tcp: &TcpStream, chunks: &[&[u8]]) -> io::Result<usize> {
        let chunks = chunks.get(..MAX_IOV).unwrap_or(chunks);
        let total: usize = chunks.iter().map(|c| c.len()).sum();
        if !self.flush(tcp)? {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let taken = SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => self.seal_and_write(tcp, chunks, total, &mut scratch),
            // Not reached (one write at a time on a thread), but buffers
            // of its own still write right.
            Err(_) => {
                let mut own = Scratch {
                    out: Vec::new(),
                    stage: Vec::new(),
                };
                self.seal_and_write(tcp, chunks, total, &mut own)
            }
        })?;
        if taken == 0 && total > 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(taken)
    }

    fn seal_and_write(
        &mut self,
        tcp: &TcpStream,
        chunks: &[&[u8]],
        total: usize,
        scratch: &mut Scratch,
    ) -> io::Result<usize> {
        if scratch.out.len() < OUT_ROOM {
            scratch.out.resize(OUT_ROOM, 0);
            scratch.stage.resize(RECORD, 0);
        }
        let mut taken = 0;
        while taken < total {
            let job = Job::Seal {
                chunks,
                skip: taken,
                scratch: &mut *scratch,
            };
            let Some((sealed, used)) = self.run(job)? else {
                // Before the handshake's end: keep the bytes for it.
                taken += self.hold_early(chunks, taken);
                self.flush(tcp)?;
                break;
            };
            taken += sealed;
            let out = scratch.out.get(..used).unwrap_or_default();
            // Handshake records rustls asked for on the way go first.
            let wrote = if self.flush(tcp)? {
                write_some(tcp, out)?
            } else {
                0
            };
            if wrote < out.len() {
                self.pending
                    .extend_from_slice(out.get(wrote..).unwrap_or_default());
                break;
            }
            if sealed == 0 {
                break;
            }
        }
        Ok(taken)
    }

    /// Keep the chunks' bytes past `skip` for the handshake's end, as many
    /// as the limit allows; how many.
    fn hold_early(&mut self, chunks: &[&[u8]], skip: usize) -> usize {
        let mut pieces: [&[u8]; MAX_IOV] = [&[]; MAX_IOV];
        let n = unwritten(chunks, skip, &mut pieces);
        let mut kept = 0;
        for piece in pieces.iter().take(n) {
            let room = PENDING_LIMIT.saturating_sub(self.early.len());
            let part = piece.get(..room.min(piece.len())).unwrap_or_default();
            self.early.extend_from_slice(part);
            kept += part.len();
        }
        kept
    }

    /// Turn the state machine until `job` is done (`Some`: plaintext
    /// sealed and ciphertext length) or the handshake stops it (`None`).
    fn run(&mut self, mut job: Job<'_, '_>) -> io::Result<Option<(usize, usize)>> {
        // Each turn either finishes or consumes something rustls holds;
        // the bound only guards against a state this code does not know.
        for _ in 0..64 {
            let mut queues = Queues {
                pending: &mut self.pending,
                plain_left: &mut self.plain_left,
                early: &mut self.early,
            };
            let (discard, step) = process!(&mut self.conn, &mut self.stash[..], |status| turn(
                status,
                &mut job,
                &mut queues
            ));
            if discard >= self.stash.len() {
                self.stash = Vec::new();
            } else {
                self.stash.drain(..discard);
            }
            match step.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))? {
                Step::Again => {}
                Step::Done(sealed, used) => return Ok(Some((sealed, used))),
                Step::Blocked => return Ok(None),
                Step::PeerClosed => self.ended = true,
                Step::Closed => return Err(io::ErrorKind::BrokenPipe.into()),
            }
        }
        Ok(None)
    }

    /// Write waiting records until none wait (`Ok(true)`) or the socket
    /// would block (`Ok(false)`); plaintext written before the handshake
    /// ended is sealed once it has.
    pub(crate) fn flush(&mut self, tcp: &TcpStream) -> io::Result<bool> {
        if !self.early.is_empty() && self.pending.is_empty() {
            self.run(Job::Early)?;
        }
        let wrote = write_some(tcp, &self.pending)?;
        if wrote >= self.pending.len() {
            self.pending = Vec::new();
            return Ok(true);
        }
        self.pending.drain(..wrote);
        Ok(false)
    }

    /// See [`crate::socket::Socket::finish`].
    pub(crate) fn finish(&mut self, tcp: &TcpStream, now: Timestamp, grace: Duration) -> Finish {
        let until = *self
            .closing_until
            .get_or_insert_with(|| now.checked_add(grace).unwrap_or(now));
        if !self.close_queued {
            self.close_queued = true;
            // Before the handshake's end there is no close_notify to send.
            let _ = self.run(Job::CloseNotify);
        }
        match self.flush(tcp) {
            Ok(true) => Finish::Done,
            Ok(false) if now < until => Finish::Wait(until),
            Ok(false) | Err(_) => Finish::GiveUp,
        }
    }
}
