//! Reading a TLS session: ciphertext from the socket into rustls,
//! plaintext out to the core.
//!
//! rustls takes ciphertext into a buffer it sizes itself: when a record
//! ends exactly where the received data ends (the last record of every
//! message), it shrinks that buffer to 4 KiB and then grows it 4 KiB a
//! read. Fed straight from the socket, a 64 KiB message took eight
//! `recvfrom` calls. Here each TCP read is one `readv` into rustls's buffer
//! and, past it, a scratch buffer of [`SPILL_ROOM`] bytes owned by the
//! thread (the event loop's, one per loop); what lands in the scratch is
//! handed to rustls from memory within the same call. What the caller had
//! no room for moves to the session's stash, which is fed before the
//! socket is read again: it never holds more than one scratch's worth, and
//! its memory goes once it is fed.

use std::cell::RefCell;
use std::io::{self, IoSliceMut, Read};
use std::ops::Range;

use mio::net::TcpStream;

use super::Session;

/// Bytes one TCP read may take beyond the room rustls offers: a 64 KiB
/// message in one `readv`.
pub(super) const SPILL_ROOM: usize = 64 << 10;

thread_local! {
    /// The read's spill area, shared by the sessions a thread drives.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// One TCP read: into rustls's buffer, and the rest into `spill`.
struct TcpReader<'a> {
    tcp: &'a TcpStream,
    spill: &'a mut [u8],
    /// Bytes that went into `spill`.
    spilled: usize,
    /// The read filled less than it was offered: the socket was drained.
    short: bool,
}

impl Read for TcpReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let room = buf.len().saturating_add(self.spill.len());
        let taken = buf.len();
        let n = (&*self.tcp)
            .read_vectored(&mut [IoSliceMut::new(buf), IoSliceMut::new(&mut *self.spill)])?;
        self.short = n < room;
        self.spilled = n.saturating_sub(taken);
        Ok(n.min(taken))
    }
}

/// Where the ciphertext for the next `read_tls` comes from.
enum Source {
    /// What the last TCP read spilled into the scratch: `Range` of it.
    Spill(Range<usize>),
    /// The session's stash.
    Stash,
    /// The socket.
    Tcp,
    /// Nothing more without a new readiness edge.
    None,
}

impl Session {
    /// Plaintext into `buf`, reading and decrypting records as needed: as
    /// much as one TCP read brings (see the module docs), or what the
    /// session already holds. Handshake records are answered on the way
    /// (as far as the socket takes them; the rest goes with the next
    /// write). `Ok(0)` is the end of the stream: the peer's close_notify,
    /// or TCP's end without it.
    pub(crate) fn read(&mut self, tcp: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => {
                if scratch.len() < SPILL_ROOM {
                    scratch.resize(SPILL_ROOM, 0);
                }
                self.read_into(tcp, buf, &mut scratch)
            }
            // Not reached (a session reads nothing while another reads on
            // the same thread), but a read without a spill area is still
            // a correct read.
            Err(_) => self.read_into(tcp, buf, &mut []),
        })
    }

    fn read_into(
        &mut self,
        tcp: &TcpStream,
        buf: &mut [u8],
        scratch: &mut [u8],
    ) -> io::Result<usize> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut filled = 0;
        let mut spill = 0..0;
        let mut eof = false;
        let outcome = loop {
            let Some(rest) = buf.get_mut(filled..).filter(|rest| !rest.is_empty()) else {
                break Ok(filled);
            };
            match self.conn.reader().read(rest) {
                // The peer's close_notify.
                Ok(0) => break Ok(filled),
                Ok(n) => {
                    filled += n;
                    self.plaintext_left = self.plaintext_left.saturating_sub(n);
                    continue;
                }
                // TCP ended without close_notify: for WebSocket, whose
                // close handshake says whether messages were cut, that is
                // an end of stream like plain TCP's.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break Ok(filled),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => break self.fail(filled, e),
            }
            if eof {
                break Ok(filled);
            }
            let source = if !spill.is_empty() {
                Source::Spill(spill.clone())
            } else if !self.stash.is_empty() {
                Source::Stash
            } else if filled == 0 {
                Source::Tcp
            } else {
                Source::None
            };
            let fed = match source {
                Source::Spill(range) => {
                    let mut bytes = scratch.get(range).unwrap_or_default();
                    self.conn.read_tls(&mut bytes).inspect(|&n| {
                        // rustls takes nothing once close_notify came.
                        spill.start = if n == 0 { spill.end } else { spill.start + n };
                    })
                }
                Source::Stash => {
                    let mut bytes = self.stash.as_slice();
                    self.conn.read_tls(&mut bytes).inspect(|&n| {
                        if n == 0 || n >= self.stash.len() {
                            self.stash = Vec::new();
                        } else {
                            self.stash.drain(..n);
                        }
                    })
                }
                Source::Tcp => {
                    let mut reader = TcpReader {
                        tcp,
                        spill: &mut *scratch,
                        spilled: 0,
                        short: false,
                    };
                    let result = loop {
                        match self.conn.read_tls(&mut reader) {
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            other => break other,
                        }
                    };
                    self.tcp_drained = reader.short;
                    spill = 0..reader.spilled;
                    if let Ok(0) = result {
                        eof = true;
                    }
                    result
                }
                Source::None => break Ok(filled),
            };
            if let Err(e) = fed {
                break self.fail(filled, e);
            }
            match self.conn.process_new_packets() {
                Ok(state) => self.plaintext_left = state.plaintext_bytes_to_read(),
                Err(e) => {
                    // rustls queued the alert that tells the peer why.
                    let _ = self.flush(tcp);
                    // Records before the bad one were the peer's own:
                    // their plaintext goes to the caller before the error.
                    filled += self.take_plaintext(buf.get_mut(filled..).unwrap_or_default());
                    break self.fail(filled, io::Error::new(io::ErrorKind::InvalidData, e));
                }
            }
            if self.conn.wants_write() {
                if let Err(e) = self.flush(tcp) {
                    break self.fail(filled, e);
                }
            }
        };
        // The scratch is the next session's: what it still holds waits here.
        if let Some(left) = scratch.get(spill).filter(|left| !left.is_empty()) {
            self.stash.extend_from_slice(left);
        }
        outcome
    }

    /// Decrypted bytes into `rest`, as many as fit; how many.
    fn take_plaintext(&mut self, rest: &mut [u8]) -> usize {
        let mut taken = 0;
        while let Some(room) = rest.get_mut(taken..).filter(|room| !room.is_empty()) {
            match self.conn.reader().read(room) {
                Ok(n) if n > 0 => taken += n,
                _ => break,
            }
        }
        self.plaintext_left = self.plaintext_left.saturating_sub(taken);
        taken
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
