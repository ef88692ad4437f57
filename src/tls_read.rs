//! Reading a TLS session: ciphertext from the socket, plaintext out to
//! the core.
//!
//! Each TCP read is one `read` into a buffer of [`READ_ROOM`] bytes owned
//! by the thread (the event loop's, one per loop), large enough for a
//! 64 KiB message and its records in one system call. rustls's unbuffered
//! API processes the records where they lie, so nothing is copied before
//! decryption. What a read leaves unprocessed (a record cut at the end of
//! the data, or records past the room the caller had) moves to the
//! session's stash, which goes back in front of the next read's bytes: it
//! holds memory only for that moment.

use std::cell::RefCell;
use std::io::{self, Read};

use mio::net::TcpStream;
use rustls::unbuffered::{ConnectionState, EncodeError, UnbufferedStatus};

use super::{Conn, Session};

/// Bytes one TCP read may bring: a 64 KiB message in its five records,
/// with room to spare for the start of the next.
pub(super) const READ_ROOM: usize = 80 << 10;

/// The least room a TCP read is offered: a whole record (16 KiB of
/// plaintext and its overhead), so that a cut record always completes.
pub(super) const MIN_ROOM: usize = 18 << 10;

thread_local! {
    /// The read buffer, shared by the sessions a thread drives.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The size of this thread's read buffer (for tests of its bound).
#[cfg(test)]
pub(super) fn scratch_len() -> usize {
    SCRATCH.with(|scratch| scratch.borrow().len())
}

/// What one turn of rustls's state machine left the read to do.
enum Turn {
    /// It made progress: turn again.
    Again,
    /// It needs more ciphertext.
    NeedInput,
    /// The peer's close_notify came: no more plaintext.
    End,
}

/// What a read turn may touch besides rustls.
struct Sink<'a> {
    buf: &'a mut [u8],
    filled: usize,
    plain_left: &'a mut Vec<u8>,
    pending: &'a mut Vec<u8>,
    early: &'a mut Vec<u8>,
}

impl Sink<'_> {
    /// Decrypted bytes to the caller, the rest kept for the next read.
    fn deliver(&mut self, payload: &[u8]) {
        let room = self.buf.get_mut(self.filled..).unwrap_or_default();
        let n = room.len().min(payload.len());
        if let (Some(to), Some(from)) = (room.get_mut(..n), payload.get(..n)) {
            to.copy_from_slice(from);
            self.filled += n;
        }
        self.plain_left
            .extend_from_slice(payload.get(n..).unwrap_or_default());
    }
}

/// Handshake bytes rustls wants sent, appended to `out`.
pub(super) fn encode<Data>(
    encoder: &mut rustls::unbuffered::EncodeTlsData<'_, Data>,
    out: &mut Vec<u8>,
) -> Result<(), rustls::Error> {
    let at = out.len();
    let mut room = 4096;
    loop {
        out.resize(at + room, 0);
        match encoder.encode(out.get_mut(at..).unwrap_or_default()) {
            Ok(n) => {
                out.truncate(at + n);
                return Ok(());
            }
            Err(EncodeError::InsufficientSize(e)) if e.required_size > room => {
                room = e.required_size;
            }
            Err(e) => {
                out.truncate(at);
                return Err(rustls::Error::General(e.to_string()));
            }
        }
    }
}

/// Every decrypted record rustls holds, to `put`; the input each record
/// adds to what rustls is done with, added to `discard`.
pub(super) fn take_records<Data>(
    traffic: &mut rustls::unbuffered::ReadTraffic<'_, '_, Data>,
    discard: &mut usize,
    mut put: impl FnMut(&[u8]),
) -> Result<(), rustls::Error> {
    while let Some(record) = traffic.next_record() {
        let record = record?;
        *discard += record.discard;
        put(record.payload);
    }
    Ok(())
}

/// One turn of the state machine for a read: returns how many bytes of
/// the input rustls is done with, and what to do next.
fn turn<Data>(
    status: UnbufferedStatus<'_, '_, Data>,
    sink: &mut Sink<'_>,
) -> (usize, Result<Turn, rustls::Error>) {
    let mut discard = status.discard;
    let state = match status.state {
        Ok(state) => state,
        Err(e) => return (discard, Err(e)),
    };
    let turn = match state {
        ConnectionState::ReadTraffic(mut traffic) => {
            take_records(&mut traffic, &mut discard, |payload| sink.deliver(payload))
                .map(|()| Turn::Again)
        }
        ConnectionState::EncodeTlsData(mut encoder) => {
            encode(&mut encoder, sink.pending).map(|()| Turn::Again)
        }
        // The records wait in `pending`, which goes out before anything
        // written after them.
        ConnectionState::TransmitTlsData(transmit) => {
            transmit.done();
            Ok(Turn::Again)
        }
        ConnectionState::WriteTraffic(mut traffic) => {
            if sink.early.is_empty() {
                Ok(Turn::NeedInput)
            } else {
                // The handshake just ended: what was written before it
                // goes now.
                let early = std::mem::take(sink.early);
                super::write::seal_all(&mut traffic, &early, sink.pending).map(|()| Turn::Again)
            }
        }
        ConnectionState::BlockedHandshake => Ok(Turn::NeedInput),
        ConnectionState::PeerClosed | ConnectionState::Closed => Ok(Turn::End),
        // Early data is never accepted (rustls's default), and states
        // added later ask for nothing this session can give.
        _ => Ok(Turn::NeedInput),
    };
    (discard, turn)
}

impl Session {
    /// Plaintext into `buf`: what the session holds, then what one TCP
    /// read brings (see the module docs). Handshake records are answered
    /// on the way (as far as the socket takes them; the rest goes with the
    /// next write). `Ok(0)` is the end of the stream: the peer's
    /// close_notify, or TCP's end without it.
    pub(crate) fn read(&mut self, tcp: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let filled = self.take_plain_left(buf);
        self.more = !self.plain_left.is_empty();
        if self.more || self.ended || buf.is_empty() {
            return Ok(filled);
        }
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => {
                if scratch.len() < READ_ROOM {
                    scratch.resize(READ_ROOM, 0);
                }
                self.read_records(tcp, buf, filled, &mut scratch)
            }
            // Not reached (a session reads nothing while another reads on
            // the same thread), but a buffer of its own still reads right.
            Err(_) => self.read_records(tcp, buf, filled, &mut vec![0; READ_ROOM]),
        })
    }

    /// Decrypted bytes kept from an earlier read into `buf`; how many.
    fn take_plain_left(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.plain_left.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), self.plain_left.get(..n)) {
            to.copy_from_slice(from);
        }
        if n == self.plain_left.len() {
            self.plain_left = Vec::new();
        } else {
            self.plain_left.drain(..n);
        }
        n
    }

    fn read_records(
        &mut self,
        tcp: &TcpStream,
        buf: &mut [u8],
        filled: usize,
        scratch: &mut Vec<u8>,
    ) -> io::Result<usize> {
        // The stash goes in front of what the socket brings next.
        // (The stash never outgrows the scratch it came from, so this only
        // resizes a scratch that is not the thread's.)
        let mut len = self.stash.len();
        if scratch.len() < len {
            scratch.resize(len, 0);
        }
        if let Some(to) = scratch.get_mut(..len) {
            to.copy_from_slice(&self.stash);
        }
        self.stash = Vec::new();
        let mut start = 0;
        let mut read_tcp = false;
        let mut sink = Sink {
            buf,
            filled,
            plain_left: &mut self.plain_left,
            pending: &mut self.pending,
            early: &mut self.early,
        };
        let outcome = loop {
            if sink.filled == sink.buf.len() {
                self.more = true;
                break Ok(sink.filled);
            }
            let input = scratch.get_mut(start..len).unwrap_or_default();
            let (discard, next) = process!(&mut self.conn, input, |status| turn(status, &mut sink));
            start = (start + discard).min(len);
            match next {
                Ok(Turn::Again) => {}
                Ok(Turn::End) => {
                    self.ended = true;
                    break Ok(sink.filled);
                }
                Ok(Turn::NeedInput) => {
                    if sink.filled > 0 || (read_tcp && self.tcp_drained) {
                        break done(sink.filled);
                    }
                    // Room for the read: what is left moves to the front.
                    scratch.copy_within(start..len, 0);
                    len -= start;
                    start = 0;
                    if scratch.len() < len + MIN_ROOM {
                        scratch.resize(len + MIN_ROOM, 0);
                    }
                    let room = scratch.get_mut(len..).unwrap_or_default();
                    let offered = room.len();
                    match (&*tcp).read(room) {
                        Ok(0) => {
                            // TCP ended without close_notify: for WebSocket,
                            // whose close handshake says whether messages
                            // were cut, an end of stream like plain TCP's.
                            self.ended = true;
                            break Ok(sink.filled);
                        }
                        Ok(n) => {
                            self.tcp_drained = n < offered;
                            len += n;
                            read_tcp = true;
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => break Err(e),
                    }
                }
                Err(e) => {
                    // rustls queued the alert that tells the peer why:
                    // encode it, and send it with what waits below.
                    let input = scratch.get_mut(start..len).unwrap_or_default();
                    process!(&mut self.conn, input, |status| {
                        if let Ok(ConnectionState::EncodeTlsData(mut encoder)) = status.state {
                            let _ = encode(&mut encoder, sink.pending);
                        }
                    });
                    // Records before the bad one were the peer's own: their
                    // plaintext goes to the caller before the error.
                    let filled = sink.filled;
                    break self.fail(filled, io::Error::new(io::ErrorKind::InvalidData, e));
                }
            }
        };
        if let Some(left) = scratch.get(start..len).filter(|left| !left.is_empty()) {
            self.stash.extend_from_slice(left);
        }
        if !self.pending.is_empty() {
            // A write failure shows on the next write.
            let _ = self.flush(tcp);
        }
        outcome
    }

    /// An error after `filled` bytes of plaintext: those go to the caller
    /// first, the error with the next read.
    fn fail(&mut self, filled: usize, e: io::Error) -> io::Result<usize> {
        if filled == 0 {
            return Err(e);
        }
        self.failed = Some(e);
        Ok(filled)
    }
}

/// A read that found no more ciphertext: what it decrypted, or
/// `WouldBlock` when that is nothing.
fn done(filled: usize) -> io::Result<usize> {
    if filled == 0 {
        Err(io::ErrorKind::WouldBlock.into())
    } else {
        Ok(filled)
    }
}
