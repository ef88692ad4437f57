//! Writing a message's chunks straight to its socket: the driver side of
//! the core's vectored sends ([`crate::proto::connection::Transmit`]).
//!
//! A large message whose connection has nothing queued goes out with one
//! `writev` of header and payload slices from the caller's buffer; the core
//! queues (copies) only what the socket refused. Small messages are still
//! queued: copying them costs less than a system call each, and the queue
//! lets one write carry every message of a turn.

use std::io::{self, IoSlice, Write};

use mio::net::TcpStream;

/// Messages at least this long are offered to the socket before queueing:
/// here a copy starts to cost about what a system call does.
pub(crate) const DIRECT_MIN: usize = 16 << 10;

/// Chunks handed to one `writev` (the core offers at most
/// `2 * FRAMES_PER_WRITE`).
const MAX_IOV: usize = 64;

/// Write `chunks` to `stream` with one `writev`, returning the bytes the
/// socket took. A short count, `WouldBlock` or an error clear `can_write`
/// (the error itself comes back on the next flush, which reports it).
pub(crate) fn write_chunks(stream: &TcpStream, can_write: &mut bool, chunks: &[&[u8]]) -> usize {
    if !*can_write {
        return 0;
    }
    let mut iov = [IoSlice::new(&[]); MAX_IOV];
    let mut total = 0usize;
    let mut n = 0;
    for (slot, chunk) in iov.iter_mut().zip(chunks) {
        *slot = IoSlice::new(chunk);
        total = total.saturating_add(chunk.len());
        n += 1;
    }
    let iov = iov.get(..n).unwrap_or_default();
    loop {
        match (&*stream).write_vectored(iov) {
            Ok(written) => {
                if written < total {
                    *can_write = false;
                }
                return written;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => {
                *can_write = false;
                return 0;
            }
        }
    }
}
