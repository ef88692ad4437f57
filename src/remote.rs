//! Posting work into a running event loop from another thread.
//!
//! Handler callbacks run on the loop's thread, and a [`Ctx`] never leaves
//! it. Programs that also wait on something else — a terminal, a queue, a
//! timer of their own — need a way in: a [`Remote`] carries closures to the
//! loop, which runs each one with a `Ctx` on its next turn. The closures
//! go through a mutex-guarded list and the loop's mio `Waker` wakes it;
//! nothing here knows about frames, so the loop stays a byte mover.
//!
//! A closure cannot reach the loop's [`crate::Handler`], which owns the
//! application's state. [`Remote::notify`] can: it asks the loop to call
//! [`crate::Handler::on_notify`] with a token, once per turn however many
//! times it was asked, which is how a thread that fills a queue (a pub/sub
//! broker's, say) tells the handler to drain it.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use mio::Waker;

use crate::ctx::Ctx;

/// Work for the loop: runs once, on the loop's thread.
type Task = Box<dyn FnOnce(&mut Ctx<'_>) + Send>;

/// The loop's end of the channel.
#[derive(Default)]
pub(crate) struct Mailbox {
    /// Set after a push, so an idle turn costs one atomic swap, no lock.
    pending: AtomicBool,
    tasks: Mutex<Vec<Task>>,
    /// Tokens for `Handler::on_notify`, each at most once.
    notices: Mutex<Vec<u64>>,
}

impl Mailbox {
    /// Everything posted since the last call, oldest first.
    pub(crate) fn take(&self) -> Taken {
        if !self.pending.swap(false, Ordering::Acquire) {
            return Taken::default();
        }
        // A panicking task runs outside the lock, so poisoning can only
        // come from a panic inside `Vec::push`; the list is still sound.
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        // Notices are taken with the tasks: `pending` covers both.
        let notices =
            std::mem::take(&mut *self.notices.lock().unwrap_or_else(PoisonError::into_inner));
        Taken { tasks, notices }
    }
}

/// What [`Mailbox::take`] found: closures to run, then tokens to notify.
#[derive(Default)]
pub(crate) struct Taken {
    pub(crate) tasks: Vec<Task>,
    pub(crate) notices: Vec<u64>,
}

/// A handle that posts closures into an [`crate::EventLoop`] from any
/// thread; get one with [`crate::EventLoop::remote`]. Cloning is cheap.
///
/// ```no_run
/// # use ws6455::{ConnectOptions, EventLoop, Handler};
/// # struct Quiet;
/// # impl Handler for Quiet {}
/// let mut event_loop = EventLoop::new(Default::default())?;
/// let id = event_loop.connect("ws://127.0.0.1:9001/", &ConnectOptions::default())?;
/// let remote = event_loop.remote();
/// std::thread::spawn(move || {
///     for line in std::io::stdin().lines().map_while(Result::ok) {
///         let _ = remote.send(move |ctx| {
///             let _ = ctx.send_text(id, &line);
///         });
///     }
/// });
/// event_loop.run(&mut Quiet)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Remote {
    mailbox: Weak<Mailbox>,
    waker: Arc<Waker>,
}

/// [`Remote::send`] failed: the event loop no longer exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoopGone;

impl fmt::Display for LoopGone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the event loop is gone")
    }
}

impl std::error::Error for LoopGone {}

impl Remote {
    pub(crate) fn new(mailbox: &Arc<Mailbox>, waker: Arc<Waker>) -> Self {
        Remote {
            mailbox: Arc::downgrade(mailbox),
            waker,
        }
    }

    /// Run `task` on the loop's thread, with a [`Ctx`], on its next turn;
    /// tasks run in the order they were sent. Returns at once. A task sent
    /// to a loop that is not running waits until it runs again, and is
    /// dropped with the loop; sending to a dropped loop is [`LoopGone`].
    pub fn send<F>(&self, task: F) -> Result<(), LoopGone>
    where
        F: FnOnce(&mut Ctx<'_>) + Send + 'static,
    {
        let mailbox = self.mailbox.upgrade().ok_or(LoopGone)?;
        mailbox
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::new(task));
        mailbox.pending.store(true, Ordering::Release);
        // A failed wake only delays the task to the loop's next event.
        let _ = self.waker.wake();
        Ok(())
    }

    /// Ask the loop to call [`crate::Handler::on_notify`] with `token` on
    /// its next turn. Returns at once: a lock, a push onto a short list
    /// (one small allocation for the first notice of a turn) and a wake.
    /// Notices of one token coalesce: however
    /// many arrive before the loop's turn, the handler hears it once — so
    /// a producer that pushes into a queue and then notifies wakes the
    /// loop once per turn, not once per item. Notices come after the
    /// turn's [`Remote::send`] tasks, in the order first asked.
    pub fn notify(&self, token: u64) -> Result<(), LoopGone> {
        let mailbox = self.mailbox.upgrade().ok_or(LoopGone)?;
        {
            let mut notices = mailbox
                .notices
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if notices.contains(&token) {
                return Ok(());
            }
            notices.push(token);
        }
        mailbox.pending.store(true, Ordering::Release);
        let _ = self.waker.wake();
        Ok(())
    }
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote")
            .field("loop_alive", &(self.mailbox.strong_count() > 0))
            .finish()
    }
}
