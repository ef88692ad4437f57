//! What the event loop tells the `log` facade: what a caller cannot see
//! through its [`crate::Handler`] — failed accepts, why a connection was
//! dropped (the core only reports "1006, unclean"), and, through
//! [`Coalesce`], storms of either kept to a line a second.
//!
//! Silent until the application installs a logger. Nothing here logs per
//! message; the per-read timer check below costs one atomic load when
//! debug logging is off.

use std::io;
use std::time::Duration;

use log::{debug, warn, LevelFilter};

use crate::conn_id::ConnId;
use crate::proto::connection::Connection;
use crate::proto::error::ProtocolError;
use crate::proto::Timestamp;

/// At most one accept warning per this interval: running out of file
/// descriptors fails every accept until some close, and a log line for
/// each would bury everything else (and cost more descriptors' worth of
/// time than the failure itself).
const ACCEPT_WARN_INTERVAL: Duration = Duration::from_secs(1);

/// Lets one log line through per interval and counts the ones it holds
/// back, so a storm (failing accepts, a flood of refused origins) is one
/// line a second saying how many more there were.
#[derive(Debug, Default)]
pub(crate) struct Coalesce {
    last: Option<Timestamp>,
    suppressed: u64,
}

impl Coalesce {
    /// Something worth a line happened at `now`: `Some(n)` if the line may
    /// go out (`n` lines were held back since the last one), `None` if it
    /// is held back and counted.
    pub(crate) fn admit(&mut self, now: Timestamp, interval: Duration) -> Option<u64> {
        let recent = self
            .last
            .is_some_and(|t| now.saturating_duration_since(t) < interval);
        if recent {
            self.suppressed = self.suppressed.saturating_add(1);
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// Coalesces accept failures into one warning per interval.
#[derive(Debug, Default)]
pub(crate) struct AcceptErrors {
    lines: Coalesce,
}

impl AcceptErrors {
    /// An accept (or the registration of an accepted socket) failed with
    /// `error` at `now`.
    pub(crate) fn report(&mut self, now: Timestamp, what: &str, error: &io::Error) {
        match self.lines.admit(now, ACCEPT_WARN_INTERVAL) {
            None => {}
            Some(0) => warn!("{what}: {error}"),
            Some(more) => warn!("{what}: {error} ({more} more since the last report)"),
        }
    }
}

/// Run the core's timers and log the ones that ended or began ending the
/// connection. `handshaking`: the loop has not yet seen the handshake's
/// outcome, so an expired deadline can only be the handshake timeout.
pub(crate) fn handle_timeout(conn: &mut Connection, now: Timestamp, handshaking: bool, id: ConnId) {
    if log::max_level() < LevelFilter::Debug {
        conn.handle_timeout(now);
        return;
    }
    let was_open = conn.is_open();
    let close_was_sent = conn.close_sent();
    let handshake_due = handshaking && conn.poll_timeout().is_some_and(|due| due <= now);
    conn.handle_timeout(now);
    if handshake_due {
        debug!("{id} dropped: handshake timeout");
    } else if was_open && !conn.is_open() {
        if close_was_sent {
            debug!("{id} dropped: close timeout (no close frame back)");
        } else {
            debug!("{id} dropped: ping timeout (no pong back)");
        }
    } else if was_open && !close_was_sent && conn.close_sent() {
        debug!("{id} closing: idle timeout (1001)");
    }
}

/// The peer broke the protocol; the core has queued the close frame (or
/// the HTTP error during the handshake).
pub(crate) fn protocol_error(id: ConnId, error: &ProtocolError) {
    match error {
        ProtocolError::Handshake(e) => {
            debug!(
                "{id} dropped: bad handshake: {e} (HTTP {})",
                e.http_status()
            );
        }
        e => debug!(
            "{id} dropped: protocol error: {e} (close {})",
            e.close_code()
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use log::{Log, Metadata, Record};

    use super::*;

    static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

    struct Capture;

    impl Log for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }

        fn log(&self, record: &Record<'_>) {
            let message = record.args().to_string();
            // Other unit tests run loops in this process too.
            if record.level() == log::Level::Warn && message.starts_with("accept failed") {
                WARNINGS
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(message);
            }
        }

        fn flush(&self) {}
    }

    #[test]
    fn a_storm_of_accept_errors_is_one_warning_a_second() {
        let _ = log::set_logger(&Capture);
        log::set_max_level(LevelFilter::Trace);
        let emfile = || io::Error::from_raw_os_error(24);
        let mut errors = AcceptErrors::default();
        let at = |ms| Timestamp::from_duration(Duration::from_millis(ms));
        for ms in 0..1000 {
            errors.report(at(ms), "accept failed", &emfile());
        }
        errors.report(at(1000), "accept failed", &emfile());
        errors.report(at(1001), "accept failed", &emfile());
        errors.report(at(5000), "accept failed", &emfile());
        let warnings = WARNINGS.lock().unwrap_or_else(|e| e.into_inner()).clone();
        assert_eq!(warnings.len(), 3, "{warnings:#?}");
        assert!(!warnings[0].contains("more since"), "{}", warnings[0]);
        assert!(
            warnings[1].ends_with("(999 more since the last report)"),
            "{}",
            warnings[1]
        );
        assert!(
            warnings[2].ends_with("(1 more since the last report)"),
            "{}",
            warnings[2]
        );
    }
}
