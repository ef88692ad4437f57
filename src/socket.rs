//! A connection's byte pipe below the core: a TCP socket, or (with the
//! `tls` feature) a TCP socket with a rustls session in front of it.
//!
//! Everything above this file sees plaintext: the core's input and output
//! are the WebSocket bytes whether or not they travel encrypted, so TLS
//! (RFC 8446) stays out of the protocol core and out of the loop's logic.
//! The loop keeps its edge-triggered discipline: readiness flags describe
//! the TCP socket, and `WouldBlock` from here means the TCP socket would
//! block.

use std::io::{self, Read};

use mio::net::TcpStream;

use crate::proto::Timestamp;
use crate::transmit;

/// One connection's socket, with its TLS session when it has one.
pub(crate) struct Socket {
    pub(crate) tcp: TcpStream,
    /// Boxed: a plain connection pays one pointer for TLS being possible.
    #[cfg(feature = "tls")]
    tls: Option<Box<crate::tls::Session>>,
}

/// What finishing a connection's output found (see [`Socket::finish`]).
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub(crate) enum Finish {
    /// Every byte is out: our side of TCP may be shut.
    Done,
    /// Encrypted bytes still wait for the socket, until this deadline.
    Wait(Timestamp),
    /// The deadline passed or the socket failed: drop the connection.
    GiveUp,
}

impl Socket {
    /// A plain TCP connection (`ws://`).
    pub(crate) fn plain(tcp: TcpStream) -> Self {
        Socket {
            tcp,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// A TLS connection (`wss://`) over `tcp`.
    #[cfg(feature = "tls")]
    pub(crate) fn tls(tcp: TcpStream, session: crate::tls::Session) -> Self {
        Socket {
            tcp,
            tls: Some(Box::new(session)),
        }
    }

    /// Whether the read that just returned `n` of `room` bytes left the
    /// TCP socket drained, so that (on Linux, edge-triggered) the read
    /// that would only say `WouldBlock` can be skipped: for TCP, a short
    /// read; for TLS, a short TCP read under the session with no decrypted
    /// plaintext left over (a TLS read stops at a record's end, so its
    /// plaintext count alone proves nothing).
    pub(crate) fn read_drained(&self, n: usize, room: usize) -> bool {
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls.as_ref() {
            return tls.drained();
        }
        n < room
    }

    /// Read plaintext into `buf`: `Ok(0)` is the end of the stream,
    /// `WouldBlock` means the TCP socket has nothing more for now.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls.as_mut() {
            return tls.read(&self.tcp, buf);
        }
        (&self.tcp).read(buf)
    }

    /// One write of up to [`transmit::MAX_IOV`] plaintext chunks, returning
    /// how many bytes were taken (`WouldBlock` when none could be). Over
    /// TLS, "taken" means encrypted: what the socket refused waits in the
    /// session (at most [`crate::tls::PENDING_LIMIT`] bytes) and goes first
    /// on the next write.
    pub(crate) fn write_chunks(&mut self, chunks: &[&[u8]]) -> io::Result<usize> {
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls.as_mut() {
            return tls.write_chunks(&self.tcp, chunks);
        }
        transmit::writev(&self.tcp, chunks)
    }

    /// Whether encrypted bytes wait for the socket.
    pub(crate) fn has_pending(&self) -> bool {
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls.as_ref() {
            return tls.has_pending();
        }
        false
    }

    /// Write waiting encrypted bytes: `Ok(true)` once none wait.
    pub(crate) fn flush_pending(&mut self) -> io::Result<bool> {
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls.as_mut() {
            return tls.flush(&self.tcp);
        }
        Ok(true)
    }

    /// The core is done: end TLS with `close_notify` (RFC 8446 §6.1) and
    /// write what waits, giving the peer `grace` from the first call to
    /// take it.
    pub(crate) fn finish(&mut self, now: Timestamp, grace: std::time::Duration) -> Finish {
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls.as_mut() {
            return tls.finish(&self.tcp, now, grace);
        }
        let _ = (now, grace);
        Finish::Done
    }
}
