//! The cases, a file per section, each written from the case catalog
//! (`shared/autobahn-cases.md`) and the behaviour of wstest 25.10.1.
//! Every file has `register`, which adds its section's cases.

use super::case::{Case, Observed, Verdict};
use super::catalog::Entry;
use super::peer::Peer;

mod s10_autofragmentation;
mod s12_data;
mod s12_deflate;
mod s1_framing;
mod s2_pings;
mod s3_reserved_bits;
mod s4_opcodes;
mod s5_fragmentation;
mod s6_utf8;
mod s6_utf8_vectors;
mod s7_close;
mod s9_limits;

/// Add every case of every section to `list`.
pub fn register(list: &mut Vec<Entry>) {
    s1_framing::register(list);
    s2_pings::register(list);
    s3_reserved_bits::register(list);
    s4_opcodes::register(list);
    s5_fragmentation::register(list);
    s6_utf8::register(list);
    s7_close::register(list);
    s9_limits::register(list);
    s10_autofragmentation::register(list);
    s12_deflate::register(list);
}

/// A case that does everything in `on_open` and is judged by wstest's
/// default rules (the events it expects, the close it expects).
pub struct OnOpen<F>(pub F);

impl<F: Fn(&mut Peer) + Send> Case for OnOpen<F> {
    fn on_open(&mut self, p: &mut Peer) {
        (self.0)(p)
    }
}

/// The catalog entry of an [`OnOpen`] case.
pub fn on_open(
    id: impl Into<String>,
    description: impl Into<String>,
    expectation: impl Into<String>,
    f: impl Fn(&mut Peer) + Send + Sync + Clone + 'static,
) -> Entry {
    Entry::new(id, description, expectation, move || {
        Box::new(OnOpen(f.clone()))
    })
}

/// An expected message.
pub fn message(payload: impl Into<Vec<u8>>, binary: bool) -> Observed {
    Observed::Message(payload.into(), binary)
}

/// An expected pong.
pub fn pong(payload: impl Into<Vec<u8>>) -> Observed {
    Observed::Pong(payload.into())
}

/// End a case judged as the echoes come back (9.x, 12.x, 13.x): the
/// verdict and why, the wire log on again, and our close.
pub fn conclude(p: &mut Peer, verdict: Verdict, result: impl Into<String>) {
    p.outcome.behavior = verdict;
    p.outcome.result = result.into();
    p.enable_wirelog(true);
    p.send_close(Some(1000), None);
}
