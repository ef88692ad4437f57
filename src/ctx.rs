//! [`Ctx`]: what a handler can do from inside a callback — send to this or
//! any other connection, broadcast a message encoded once, close, connect
//! out, set timers, stop the loop.

use std::time::{Duration, Instant};

use crate::client::{ConnectError, ConnectOptions};
use crate::conn_id::ConnId;
use crate::loop_core::LoopCore;
use crate::loop_core::Slot;
use crate::proto::close::CloseCode;
use crate::proto::connection::{Sender, Transmit};
use crate::proto::error::UsageError;
use crate::proto::prepared::PreparedMessage;
use crate::refusals::Refusals;
use crate::remote::Remote;
use crate::transmit;

/// The handle a [`crate::Handler`] callback gets to act on the loop: send
/// to, broadcast to and close any connection of the loop, open client
/// connections, and set timers.
///
/// Sending never blocks: a message is queued and written as the socket
/// takes it. A connection whose queue passes
/// [`Config::max_output_buffer`](crate::Config::max_output_buffer) refuses
/// further sends with [`UsageError::BufferFull`] until
/// [`Handler::on_writable`](crate::Handler::on_writable), so one slow
/// reader cannot make the server grow.
///
/// ```
/// use std::time::Duration;
/// use ws6455::{CloseCode, ConnId, Ctx, Handler, Message, UsageError};
///
/// /// Sends every connection the time every second; hangs up on anyone
/// /// who cannot keep up.
/// struct Clock;
///
/// const TICK: u64 = 1;
///
/// impl Handler for Clock {
///     fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, _: Message<'_>) {
///         let _ = ctx.close(id, CloseCode::POLICY_VIOLATION, "this feed is read-only");
///     }
///
///     fn on_timer(&mut self, ctx: &mut Ctx<'_>, token: u64) {
///         if token != TICK {
///             return;
///         }
///         let now = format!("{:?}", ctx.now());
///         let ids: Vec<ConnId> = ctx.connections().collect();
///         for id in ids {
///             if let Err(UsageError::BufferFull) = ctx.send_text(id, &now) {
///                 let _ = ctx.close(id, CloseCode::POLICY_VIOLATION, "too slow");
///             }
///         }
///         ctx.set_timer(Duration::from_secs(1), TICK);
///     }
/// }
/// # let _ = Clock;
/// ```
pub struct Ctx<'a> {
    /// The connection whose event is being handled, if any: it is out of
    /// the loop's table while its event borrows its receive buffer.
    current: Option<(ConnId, Sender<'a>)>,
    core: &'a mut LoopCore,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(core: &'a mut LoopCore, current: Option<(ConnId, Sender<'a>)>) -> Self {
        Ctx { current, core }
    }

    /// Run `f` with a sender for `id`, wherever that connection is.
    fn with_sender<R>(
        &mut self,
        id: ConnId,
        f: impl FnOnce(&mut Sender<'_>) -> Result<R, UsageError>,
    ) -> Result<R, UsageError> {
        if let Some((current, sender)) = self.current.as_mut() {
            if *current == id {
                return f(sender);
            }
        }
        self.core.with_sender(id, f)
    }

    /// Run `f` with a sender for `id` and a [`Transmit`] writing to its
    /// socket, wherever that connection is.
    fn with_transmit<R>(
        &mut self,
        id: ConnId,
        f: impl FnOnce(&mut Sender<'_>, &mut Transmit<'_>) -> Result<R, UsageError>,
    ) -> Result<R, UsageError> {
        if let Some((current, sender)) = self.current.as_mut() {
            if *current == id {
                let slot = self.core.index(id).and_then(|i| self.core.slots.get_mut(i));
                let Some(Slot {
                    socket,
                    can_write,
                    connecting: false,
                    ..
                }) = slot
                else {
                    return f(sender, &mut |_: &[&[u8]]| 0);
                };
                return f(sender, &mut |chunks: &[&[u8]]| {
                    transmit::write_chunks(socket, can_write, chunks)
                });
            }
        }
        self.core.with_transmit(id, f)
    }

    /// Send a text message to connection `id` (§5.6). A large one goes
    /// straight from `text` to the socket when nothing is queued before it
    /// (only what the socket refuses is copied).
    pub fn send_text(&mut self, id: ConnId, text: &str) -> Result<(), UsageError> {
        if text.len() >= transmit::DIRECT_MIN {
            return self.with_transmit(id, |s, w| s.send_text_vectored(text, w).map(drop));
        }
        self.with_sender(id, |s| s.send_text(text))
    }

    /// Send a binary message to connection `id` (§5.6), large ones as
    /// [`Ctx::send_text`] does.
    pub fn send_binary(&mut self, id: ConnId, data: &[u8]) -> Result<(), UsageError> {
        if data.len() >= transmit::DIRECT_MIN {
            return self.with_transmit(id, |s, w| s.send_binary_vectored(data, w).map(drop));
        }
        self.with_sender(id, |s| s.send_binary(data))
    }

    /// Send a ping to connection `id` (§5.5.2).
    pub fn send_ping(&mut self, id: ConnId, payload: &[u8]) -> Result<(), UsageError> {
        self.with_sender(id, |s| s.send_ping(payload))
    }

    /// Send a pre-encoded message to connection `id`. Its frames are not
    /// copied: the connection's queue refers to the message's shared
    /// buffer and the socket is written straight from it (a large message
    /// at once when nothing is queued before it, anything else with the
    /// connection's next vectored write).
    pub fn send_prepared(
        &mut self,
        id: ConnId,
        message: &PreparedMessage,
    ) -> Result<(), UsageError> {
        if message.as_bytes().len() >= transmit::DIRECT_MIN {
            return self.with_transmit(id, |s, w| s.send_prepared_vectored(message, w).map(drop));
        }
        self.with_sender(id, |s| s.send_prepared(message))
    }

    /// Send one message, encoded once, to every id in `ids` (server frames
    /// are unmasked, §5.1, so the same bytes serve every recipient): each
    /// connection's queue holds a reference to the one shared buffer, not
    /// a copy, so memory stays at one copy however many queue it. Returns how
    /// many connections took it; the others were closed, unknown, or had a
    /// full output buffer (a slow reader never slows the rest down).
    pub fn broadcast<I>(&mut self, ids: I, message: &PreparedMessage) -> usize
    where
        I: IntoIterator<Item = ConnId>,
    {
        ids.into_iter()
            .filter(|&id| self.send_prepared(id, message).is_ok())
            .count()
    }

    /// Start the closing handshake on `id` (§7.1.2).
    pub fn close(&mut self, id: ConnId, code: CloseCode, reason: &str) -> Result<(), UsageError> {
        let now = self.core.now();
        self.with_sender(id, |s| s.close(now, code, reason))
    }

    /// Bytes queued for `id` and not yet written (0 for unknown ids).
    pub fn buffered_amount(&mut self, id: ConnId) -> usize {
        self.with_sender(id, |s| Ok(s.buffered_amount()))
            .unwrap_or(0)
    }

    /// Open a client connection to a `ws://` URL on this loop (§4.1). Its
    /// events arrive at the same handler.
    pub fn connect(&mut self, url: &str, options: &ConnectOptions) -> Result<ConnId, ConnectError> {
        self.core.connect(url, options)
    }

    /// Call [`crate::Handler::on_timer`] with `token` after `delay`.
    pub fn set_timer(&mut self, delay: Duration, token: u64) {
        self.core.set_timer(delay, token);
    }

    /// The peer's address, while the connection exists.
    pub fn peer_addr(&self, id: ConnId) -> Option<std::net::SocketAddr> {
        self.core.peer_addr(id)
    }

    /// The loop's clock, read once per turn.
    pub fn now(&self) -> Instant {
        crate::clock::instant(self.core.now())
    }

    /// How many connections the server's own policies refused so far (all
    /// of its event loops; see [`crate::Server::origins`]). The handler
    /// hears of them only here.
    pub fn refusals(&self) -> Refusals {
        self.core.admission.refusals()
    }

    /// Ids of every open connection, in no particular order.
    pub fn connections(&self) -> impl Iterator<Item = ConnId> + '_ {
        let current = self
            .current
            .iter()
            .filter(|(_, s)| s.is_open())
            .map(|(id, _)| *id);
        current.chain(self.core.open_ids())
    }

    /// A [`Remote`] for this loop: hand it to another thread (a broker's,
    /// a queue's) so it can post work here or
    /// [notify](Remote::notify) the handler. Typically taken in
    /// [`crate::Handler::on_start`].
    pub fn remote(&self) -> Remote {
        self.core.remote.clone()
    }

    /// Shut the loop down gracefully: stop accepting, close every
    /// connection with 1001, return from `run` once they are gone.
    pub fn stop(&mut self) {
        self.core.request_shutdown();
    }
}
