//! Streams whose read timeout the blocking adapter can set, and the
//! bookkeeping that shares that one socket option between the core's
//! timers and the user.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

/// A stream whose blocking reads can be given a timeout, such as
/// [`std::net::TcpStream`]: what [`super::WebSocket`] needs to wake up for
/// the core's timers (heartbeat pings, §5.5.2; the close handshake timeout,
/// §7.1.1; the idle and handshake timeouts) while it waits for bytes.
///
/// Both methods mean what the same-named methods of
/// [`std::net::TcpStream`] mean: `None` is "block until data arrives", and
/// a read that times out fails with [`io::ErrorKind::WouldBlock`] or
/// [`io::ErrorKind::TimedOut`].
///
/// Implement it for your own stream type (a TLS stream, say) by
/// forwarding to the socket underneath. A stream that cannot time out at
/// all can be wrapped in [`Untimed`], or return
/// [`io::ErrorKind::Unsupported`] from `set_read_timeout`: the adapter then
/// checks timers only between reads.
pub trait ReadTimeout {
    /// The read timeout currently set: `None` when reads block forever.
    /// The adapter reads it at the start of each call as the user's
    /// timeout, and sets it back before the call returns.
    fn read_timeout(&self) -> io::Result<Option<Duration>>;

    /// Let a blocking read wait at most `timeout` (`None`: forever). The
    /// adapter never passes a zero duration.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;
}

impl ReadTimeout for std::net::TcpStream {
    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        std::net::TcpStream::read_timeout(self)
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::net::TcpStream::set_read_timeout(self, timeout)
    }
}

#[cfg(unix)]
impl ReadTimeout for std::os::unix::net::UnixStream {
    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        std::os::unix::net::UnixStream::read_timeout(self)
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }
}

impl<T: ReadTimeout + ?Sized> ReadTimeout for &mut T {
    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        (**self).read_timeout()
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }
}

/// A rustls stream (feature `tls`) times out when its socket does: the
/// timeout is forwarded to the socket under the TLS session.
#[cfg(feature = "tls")]
impl<C, S: Read + Write + ReadTimeout> ReadTimeout for rustls::StreamOwned<C, S> {
    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.sock.read_timeout()
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(timeout)
    }
}

/// A stream that cannot time out its reads (an in-memory pipe, a TLS
/// stream you would rather not forward timeouts for), usable with
/// [`super::WebSocket`] all the same.
///
/// Timers then fire only between reads: a heartbeat ping or a close
/// timeout that falls due while `read` blocks waits for the next bytes
/// (or for the stream's own timeout, if it has one: the resulting
/// [`io::ErrorKind::WouldBlock`] is handed to the caller, after the timers
/// that fell due have run, and the connection stays usable).
#[derive(Debug, Default)]
pub struct Untimed<S>(pub S);

impl<S: Read> Read for Untimed<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<S: Write> Write for Untimed<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<S> ReadTimeout for Untimed<S> {
    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(None)
    }

    fn set_read_timeout(&mut self, _: Option<Duration>) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// The shortest wait the adapter asks for: a deadline that is already due
/// (it passed while events were handled) still gets a real, if brief, wait
/// rather than a busy loop, and platforms refuse a zero timeout.
const MIN_WAIT: Duration = Duration::from_millis(1);

/// How much earlier than asked a timed read may return and still count as
/// "the timeout expired": platforms count socket timeouts in scheduler
/// ticks (Linux: up to 10 ms) and may wake up to one tick early. A read
/// that gives up sooner than that did not wait at all: the stream is in
/// non-blocking mode, or has a timeout set behind the adapter's back.
const TICK_SLACK: Duration = Duration::from_millis(20);

/// One socket option shared by two owners: the user's read timeout (a
/// budget for each call) and the core's next deadline. Between calls the
/// stream holds the user's value; during a call the adapter shortens it
/// to wake for timers, and puts the user's value back before returning.
#[derive(Debug, Default)]
pub(super) struct Waits {
    /// The user's read timeout, as found on the stream when the call began.
    user: Option<Duration>,
    /// What the adapter set during this call, if it set anything.
    set: Option<Option<Duration>>,
    /// True once the stream said it cannot time out.
    untimed: bool,
}

/// What a blocking read was allowed to do, to judge how it ended.
pub(super) struct Wait {
    /// The timeout given to the stream, if the stream takes one.
    limit: Option<Duration>,
    /// True when the user's budget, not a core deadline, set `limit`.
    user_bound: bool,
    /// When the read started.
    at: Instant,
}

impl Waits {
    /// A call begins: whatever timeout the stream holds now is the user's.
    pub(super) fn begin<S: ReadTimeout>(&mut self, stream: &S) -> io::Result<()> {
        // After a failed restore the stream still holds the adapter's
        // value, not the user's: keep the user's from before.
        if self.untimed || self.set.is_some() {
            return Ok(());
        }
        match stream.read_timeout() {
            Ok(user) => self.user = user,
            Err(e) if e.kind() == io::ErrorKind::Unsupported => self.untimed = true,
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// A call ends: give the stream the user's timeout back. A failure
    /// here is not worth losing the call's result over; the next call
    /// retries.
    pub(super) fn end<S: ReadTimeout>(&mut self, stream: &mut S) {
        if let Some(set) = self.set {
            if set != self.user && stream.set_read_timeout(self.user).is_err() {
                return;
            }
        }
        self.set = None;
    }

    /// Set the stream's read timeout for the next read: the time left until
    /// `deadline` (the core's next timer) or until the user's budget for
    /// this call (counted from `started`) ends, whichever is sooner.
    /// `Ok(None)` when the user's budget is already spent.
    pub(super) fn prepare<S: ReadTimeout>(
        &mut self,
        stream: &mut S,
        deadline: Option<Instant>,
        started: Instant,
    ) -> io::Result<Option<Wait>> {
        let now = Instant::now();
        // A budget too long to add to an instant never runs out.
        let user_left = match self.user.and_then(|user| started.checked_add(user)) {
            Some(end) => match end.checked_duration_since(now) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return Ok(None),
            },
            None => None,
        };
        let core_left = deadline.map(|d| d.saturating_duration_since(now).max(MIN_WAIT));
        let (limit, user_bound) = match (core_left, user_left) {
            (Some(c), Some(u)) if u <= c => (Some(u), true),
            (Some(c), _) => (Some(c), false),
            (None, u) => (u, u.is_some()),
        };
        let limit = if self.untimed {
            None
        } else {
            self.apply(stream, limit)?
        };
        Ok(Some(Wait {
            limit,
            user_bound,
            at: Instant::now(),
        }))
    }

    /// Wait, without reading, until `deadline` (the core paused its
    /// input until then) or until the user's budget for this call
    /// (counted from `started`) ends, whichever is sooner; a spent budget
    /// is a `WouldBlock` error, as for a read that timed out.
    pub(super) fn sleep_until(&self, deadline: Instant, started: Instant) -> io::Result<()> {
        let now = Instant::now();
        let user_end = self.user.and_then(|user| started.checked_add(user));
        if user_end.is_some_and(|end| end <= now) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let until = match user_end {
            Some(end) if end < deadline => end,
            _ => deadline,
        };
        // At least MIN_WAIT, as for reads: a deadline already due still
        // costs a real wait rather than a spin.
        std::thread::sleep(until.saturating_duration_since(now).max(MIN_WAIT));
        if user_end.is_some_and(|end| end < deadline) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(())
    }

    /// Give the stream `limit`, unless it already has it. Returns the limit
    /// in force (`None` when the stream turned out not to take one).
    fn apply<S: ReadTimeout>(
        &mut self,
        stream: &mut S,
        limit: Option<Duration>,
    ) -> io::Result<Option<Duration>> {
        if self.set.unwrap_or(self.user) == limit {
            return Ok(limit);
        }
        match stream.set_read_timeout(limit) {
            Ok(()) => {
                self.set = Some(limit);
                Ok(limit)
            }
            Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                self.untimed = true;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

impl Wait {
    /// A read under this wait failed with `WouldBlock` or `TimedOut`. True
    /// when that is the adapter's own timeout expiring for a core timer
    /// (keep going); false when the caller should hear about it: the
    /// user's budget ran out, or the stream gave up without waiting as
    /// long as asked (it cannot or will not block).
    pub(super) fn timer_due(&self) -> bool {
        match self.limit {
            Some(limit) if !self.user_bound => self.at.elapsed() + TICK_SLACK >= limit,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream that only remembers its read timeout.
    #[derive(Default)]
    struct Fake {
        timeout: Option<Duration>,
        sets: usize,
    }

    impl ReadTimeout for Fake {
        fn read_timeout(&self) -> io::Result<Option<Duration>> {
            Ok(self.timeout)
        }

        fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
            self.timeout = timeout;
            self.sets += 1;
            Ok(())
        }
    }

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn the_sooner_of_deadline_and_user_budget_and_the_users_value_comes_back() {
        let mut stream = Fake {
            timeout: Some(10 * SEC),
            sets: 0,
        };
        let mut waits = Waits::default();
        let now = Instant::now();
        waits.begin(&stream).unwrap();
        let wait = waits.prepare(&mut stream, Some(now + SEC), now).unwrap();
        let set = stream.timeout.unwrap();
        assert!(set <= SEC && set >= SEC / 2, "{set:?}");
        assert!(!wait.unwrap().user_bound);
        waits.end(&mut stream);
        assert_eq!(stream.timeout, Some(10 * SEC));
    }

    #[test]
    fn without_a_deadline_the_users_budget_bounds_the_call() {
        let mut stream = Fake {
            timeout: Some(SEC),
            sets: 0,
        };
        let mut waits = Waits::default();
        let now = Instant::now();
        waits.begin(&stream).unwrap();
        let wait = waits.prepare(&mut stream, None, now).unwrap().unwrap();
        assert!(wait.user_bound);
        assert!(stream.timeout.unwrap() <= SEC);
        waits.end(&mut stream);
        assert_eq!(stream.timeout, Some(SEC));
    }

    #[test]
    fn without_any_timeout_the_stream_is_not_touched() {
        let mut stream = Fake::default();
        let mut waits = Waits::default();
        let now = Instant::now();
        waits.begin(&stream).unwrap();
        let wait = waits.prepare(&mut stream, None, now).unwrap().unwrap();
        assert!(!wait.timer_due());
        waits.end(&mut stream);
        assert_eq!((stream.timeout, stream.sets), (None, 0));
    }

    #[test]
    fn a_spent_budget_and_a_past_deadline() {
        let mut stream = Fake::default();
        let mut waits = Waits::default();
        let long_ago = Instant::now();
        waits.begin(&stream).unwrap();
        // A deadline already due still gets a real, short wait.
        let wait = waits
            .prepare(&mut stream, Some(long_ago), long_ago)
            .unwrap();
        assert!(wait.is_some());
        assert_eq!(stream.timeout, Some(MIN_WAIT));
        waits.end(&mut stream);
        assert_eq!(stream.timeout, None);

        stream.timeout = Some(Duration::from_millis(1));
        waits.begin(&stream).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(waits
            .prepare(&mut stream, None, long_ago)
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_stream_that_cannot_time_out_is_left_alone() {
        let mut stream = Untimed(io::empty());
        let mut waits = Waits::default();
        let now = Instant::now();
        waits.begin(&stream).unwrap();
        let wait = waits.prepare(&mut stream, Some(now + SEC), now).unwrap();
        assert_eq!(wait.map(|w| w.limit), Some(None));
        assert!(waits.untimed);
    }
}
