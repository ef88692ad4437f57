//! The server's own policies, applied by the event loop to an accepted
//! socket and to an upgrade request before the handler sees it: the
//! [`OriginPolicy`] (RFC 6455 §10.2) and the [`ConnectionLimits`] (§10.4).
//! A refused request is answered, counted in [`Refusals`] and logged here;
//! the handler never hears of it. The handler's own
//! refusals (401/403 from `on_request`: authentication) are counted and
//! logged here too, in the same way, and so is every time a connection
//! goes over its rate limit.
//!
//! The loop looks at the [`Request`] the core has already parsed: nothing
//! here reads a socket or a frame.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use log::{debug, info};

use crate::conn_id::ConnId;
use crate::diag::Coalesce;
use crate::limits::{Held, Limiter};
use crate::origin::OriginPolicy;
use crate::proto::handshake::Request;
use crate::proto::Timestamp;
use crate::refusals::{Counters, Refusals};

/// At most one info line per this interval about refused origins; the
/// others go to debug, so each refusal is at most one line at any level
/// and a flood of them is one line a second at the default level.
const INFO_INTERVAL: Duration = Duration::from_secs(1);

/// 403's plain-text body: what was refused, without echoing the request.
const FORBIDDEN: &str = "origin not allowed (RFC 6455 §10.2)";

/// One loop's share of the server's admission policies.
#[derive(Debug)]
pub(crate) struct Admission {
    origins: Arc<OriginPolicy>,
    counters: Arc<Counters>,
    /// Per loop: each loop rate-limits its own lines.
    lines: Coalesce,
    /// The same for the handler's 401 and 403 answers.
    auth_lines: Coalesce,
    /// The server's connection counts; `None` without limits (no lock,
    /// no count).
    limiter: Option<Arc<Limiter>>,
    /// The same for connections over a limit.
    limit_lines: Coalesce,
    /// The same for connections going over their rate limit.
    rate_lines: Coalesce,
}

/// How a refused request is answered: status and one-line body.
pub(crate) struct Refusal {
    pub(crate) status: u16,
    pub(crate) reason: &'static str,
}

impl Refusal {
    /// The response's headers: a 503 says when to try again (RFC 9110
    /// §10.2.3), so a well-behaved client backs off instead of hammering.
    pub(crate) fn headers(&self) -> &'static [(&'static str, &'static str)] {
        const PLAIN: (&str, &str) = ("Content-Type", "text/plain; charset=utf-8");
        if self.status == 503 {
            &[PLAIN, ("Retry-After", "1")]
        } else {
            &[PLAIN]
        }
    }
}

impl Default for Admission {
    fn default() -> Self {
        Admission {
            origins: Arc::new(OriginPolicy::any()),
            counters: Arc::default(),
            lines: Coalesce::default(),
            auth_lines: Coalesce::default(),
            limiter: None,
            limit_lines: Coalesce::default(),
            rate_lines: Coalesce::default(),
        }
    }
}

impl Admission {
    pub(crate) fn set_origins(&mut self, policy: OriginPolicy) {
        self.origins = Arc::new(policy);
    }

    /// Count connections against `limiter` (a whole server's); none when
    /// it has no limits.
    pub(crate) fn set_limits(&mut self, limiter: Arc<Limiter>) {
        self.limiter = (!limiter.limits().is_none()).then_some(limiter);
    }

    /// A socket from `peer` was accepted: what it holds of the limits, or
    /// `None` when it is over one (counted and logged; the caller closes
    /// it without reading).
    pub(crate) fn accept(&mut self, peer: SocketAddr, now: Timestamp) -> Option<Held> {
        let Some(limiter) = self.limiter.as_ref() else {
            return Some(Held::Nothing);
        };
        match limiter.begin_handshake(peer.ip()) {
            Ok(held) => Some(held),
            Err(over) => {
                self.counters.count_over_limit();
                let what = format!("{peer} closed at accept: {}", over.reason());
                self.limit_line(&what, now);
                None
            }
        }
    }

    /// A connection holding `held` is gone: give its count back.
    pub(crate) fn release(&self, held: Held) {
        if let Some(limiter) = self.limiter.as_ref() {
            limiter.release(held);
        }
    }

    fn limit_line(&mut self, what: &str, now: Timestamp) {
        match self.limit_lines.admit(now, INFO_INTERVAL) {
            Some(0) => info!("{what}"),
            Some(more) => info!("{what} ({more} more over a limit since the last report)"),
            None => debug!("{what}"),
        }
    }

    /// Count into `counters` (a whole server's) instead of this loop's own.
    pub(crate) fn share_counters(&mut self, counters: Arc<Counters>) {
        self.counters = counters;
    }

    pub(crate) fn refusals(&self) -> Refusals {
        self.counters.snapshot()
    }

    /// Check an upgrade request of connection `id` (`secure`: it came over
    /// TLS; `held`: what it holds of the limits, an open connection's count
    /// once it passes) before the handler sees it: `Some` is the answer
    /// that refuses it, already counted and logged. The Origin comes
    /// first: a page that may not connect hears 403 whatever the load.
    pub(crate) fn screen(
        &mut self,
        id: ConnId,
        request: &Request,
        secure: bool,
        held: &mut Held,
        now: Timestamp,
    ) -> Option<Refusal> {
        let refused = match self.origins.check(request, secure) {
            Ok(()) => return self.screen_limits(id, held, now),
            Err(refused) => refused,
        };
        self.counters.count_origin();
        match self.lines.admit(now, INFO_INTERVAL) {
            Some(0) => info!("{id} refused 403: {refused}"),
            Some(more) => {
                info!("{id} refused 403: {refused} ({more} more refused since the last report)")
            }
            None => debug!("{id} refused 403: {refused}"),
        }
        Some(Refusal {
            status: 403,
            reason: FORBIDDEN,
        })
    }

    fn screen_limits(&mut self, id: ConnId, held: &mut Held, now: Timestamp) -> Option<Refusal> {
        let limiter = self.limiter.as_ref()?;
        let over = limiter.open(held).err()?;
        self.counters.count_over_limit();
        self.limit_line(&format!("{id} refused 503: {}", over.reason()), now);
        Some(Refusal {
            status: 503,
            reason: over.reason(),
        })
    }

    /// The handler's `on_request` refused connection `id` with `status`:
    /// a 401 or 403 is an authentication failure, counted in
    /// [`Refusals::auth_failed`] and logged at info (one line a second at
    /// most, the rest at debug, as for origins). Other statuses (404, 503
    /// …) are the handler's business and only go to debug.
    pub(crate) fn handler_refused(
        &mut self,
        id: ConnId,
        status: u16,
        reason: &str,
        now: Timestamp,
    ) {
        // The reason is the handler's own text; one line of it at most.
        let reason = reason.lines().next().unwrap_or("");
        if !matches!(status, 401 | 403) {
            debug!("{id} refused {status} by the handler: {reason}");
            return;
        }
        self.counters.count_auth_failed();
        match self.auth_lines.admit(now, INFO_INTERVAL) {
            Some(0) => info!("{id} refused {status} by the handler: {reason}"),
            Some(more) => info!(
                "{id} refused {status} by the handler: {reason} ({more} more refused since the last report)"
            ),
            None => debug!("{id} refused {status} by the handler: {reason}"),
        }
    }

    /// Connection `id` went over its rate limit (RFC 6455 §10.4): closed
    /// with 1008 (`closed`) or its reading paused. Counted in
    /// [`Refusals::rate_limited`] and logged at info one line a second at
    /// most (the rest at debug): a flooder in pause mode goes over with
    /// every message past its rate.
    pub(crate) fn rate_limited(&mut self, id: ConnId, closed: bool, now: Timestamp) {
        self.counters.count_rate_limited();
        let what = if closed {
            "closed 1008: message rate limit exceeded"
        } else {
            "paused: message rate limit exceeded"
        };
        match self.rate_lines.admit(now, INFO_INTERVAL) {
            Some(0) => info!("{id} {what}"),
            Some(more) => info!("{id} {what} ({more} more over the limit since the last report)"),
            None => debug!("{id} {what}"),
        }
    }
}
