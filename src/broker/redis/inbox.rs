//! A loop's queue of [`BrokerEvent`]s: filled by the broker's threads,
//! drained by the loop's handler, which is notified when it goes from
//! empty to not empty (so a burst of messages wakes the loop once).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::broker::BrokerEvent;
use crate::remote::Remote;

/// Events a loop has not drained yet; past this, new ones are dropped and
/// counted, so a stuck loop cannot make the process grow.
pub(crate) const MAX_QUEUED: usize = 65_536;

pub(crate) struct Inbox {
    queue: Mutex<VecDeque<BrokerEvent>>,
    remote: Remote,
    token: u64,
    dropped: AtomicU64,
}

impl Inbox {
    pub(crate) fn new(remote: Remote, token: u64) -> Self {
        Inbox {
            queue: Mutex::new(VecDeque::new()),
            remote,
            token,
            dropped: AtomicU64::new(0),
        }
    }

    /// Queue `event`; wake the loop if it had nothing to drain.
    pub(crate) fn push(&self, event: BrokerEvent) {
        let was_empty = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            if queue.len() >= MAX_QUEUED {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            queue.push_back(event);
            queue.len() == 1
        };
        if was_empty {
            // A gone loop has nobody left to tell.
            let _ = self.remote.notify(self.token);
        }
    }

    pub(crate) fn pop(&self) -> Option<BrokerEvent> {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
    }

    /// Events dropped because the loop did not drain its queue.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, EventLoop};

    #[test]
    fn a_full_inbox_drops_and_counts_instead_of_growing() {
        let event_loop = EventLoop::new(Config::default()).unwrap();
        let inbox = Inbox::new(event_loop.remote(), 1);
        for _ in 0..MAX_QUEUED + 5 {
            inbox.push(BrokerEvent::Up);
        }
        assert_eq!(inbox.dropped(), 5);
        let mut drained = 0;
        while inbox.pop().is_some() {
            drained += 1;
        }
        assert_eq!(drained, MAX_QUEUED);
        // Room again once drained.
        inbox.push(BrokerEvent::Down);
        assert_eq!(inbox.pop(), Some(BrokerEvent::Down));
        assert_eq!(inbox.dropped(), 5);
    }
}
