//! Writing a message's chunks straight to its socket: the driver side of
//! the core's vectored sends ([`crate::proto::connection::Transmit`]).
//!
//! A large message whose connection has nothing queued goes out with one
//! `writev` of header and payload slices from the caller's buffer; the core
//! queues (copies) only what the socket refused. Small messages are still
//! queued: copying them costs less than a system call each, and the queue
//! lets one write carry every message of a turn. The queue itself is
//! flushed the same way ([`writev`] over the core's
//! `pending_chunks`): owned frames and broadcasts' shared frames, each
//! written from where it is. When the queue is one contiguous chunk (an
//! echo, a turn's small messages) it goes with a plain `send`, cheaper in
//! the kernel than a one-element `writev`.

use std::io::{self, IoSlice, Write};

use mio::net::TcpStream;

use crate::socket::Socket;

/// Messages at least this long are offered to the socket before queueing:
/// here a copy starts to cost about what a system call does.
pub(crate) const DIRECT_MIN: usize = 16 << 10;

/// Chunks handed to one `writev` (the core offers at most
/// `2 * FRAMES_PER_WRITE` for a message, and a flush asks for this many).
pub(crate) const MAX_IOV: usize = 64;

/// One write of up to [`MAX_IOV`] chunks (the rest are not written):
/// a `writev`, or a plain `send` for a single chunk. Returns the bytes the
/// socket took; `Interrupted` is retried.
pub(crate) fn writev(stream: &TcpStream, chunks: &[&[u8]]) -> io::Result<usize> {
    // One chunk (an echo, a turn's queued frames) goes with a plain
    // `send`: the kernel's `writev` path costs more per call (the vector
    // is copied in and checked, the file position looked up) and small
    // messages pay that on every write.
    if let [chunk] = chunks {
        return retry_interrupted(|| (&*stream).write(chunk));
    }
    let mut iov = [IoSlice::new(&[]); MAX_IOV];
    let mut n = 0;
    for (slot, chunk) in iov.iter_mut().zip(chunks) {
        *slot = IoSlice::new(chunk);
        n += 1;
    }
    let iov = iov.get(..n).unwrap_or_default();
    retry_interrupted(|| (&*stream).write_vectored(iov))
}

/// Run `write` again for as long as a signal interrupts it.
fn retry_interrupted(mut write: impl FnMut() -> io::Result<usize>) -> io::Result<usize> {
    loop {
        match write() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

/// Write `chunks` to `socket` with one `writev`, returning the bytes the
/// socket took. A short count, `WouldBlock`, encrypted bytes left waiting
/// or an error clear `can_write` (the error itself comes back on the next
/// flush, which reports it).
pub(crate) fn write_chunks(socket: &mut Socket, can_write: &mut bool, chunks: &[&[u8]]) -> usize {
    if !*can_write {
        return 0;
    }
    let total = chunks
        .iter()
        .take(MAX_IOV)
        .fold(0usize, |sum, chunk| sum.saturating_add(chunk.len()));
    match socket.write_chunks(chunks) {
        Ok(written) => {
            if written < total || socket.has_pending() {
                *can_write = false;
            }
            written
        }
        Err(_) => {
            *can_write = false;
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::time::Duration;

    use super::*;

    fn pair() -> (TcpStream, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        (TcpStream::from_std(server), client)
    }

    /// One chunk (the `send` path), several (the `writev` path) and empty
    /// chunks among them all arrive in order and whole.
    #[test]
    fn one_chunk_and_many_arrive_alike() {
        let (server, mut client) = pair();
        assert_eq!(writev(&server, &[b"hello"]).unwrap(), 5);
        assert_eq!(writev(&server, &[b" ", b"", b"world", b"!"]).unwrap(), 7);
        assert_eq!(writev(&server, &[]).unwrap(), 0);
        let mut got = [0u8; 12];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello world!");
    }
}
