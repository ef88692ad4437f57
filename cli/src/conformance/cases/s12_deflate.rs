//! Sections 12 and 13, permessage-deflate (RFC 7692): a thousand
//! messages, each echoed before the next is sent, of sizes from 16 bytes
//! to 128 KiB, with and without fragmentation. Section 12 uses the
//! default offer on five data sets; section 13 one data set and seven
//! pairs of offer and answer (context takeover off, windows of 9 and 15
//! bits). A peer that does not agree permessage-deflate is UNIMPLEMENTED.

use super::super::case::{
    Case, ClientDeflateOffer, DeflateAccept, DeflateOffer, ExpectedClose, Verdict,
};
use super::super::catalog::Entry;
use super::super::peer::Peer;
use super::conclude;
use super::s12_data::{datasets, Dataset};

/// (payload size, messages, seconds allowed, auto-fragment size).
const SIZES: [(usize, usize, u32, usize); 18] = [
    (16, 1000, 60, 0),
    (64, 1000, 60, 0),
    (256, 1000, 120, 0),
    (1024, 1000, 240, 0),
    (4096, 1000, 480, 0),
    (8192, 1000, 480, 0),
    (16384, 1000, 480, 0),
    (32768, 1000, 480, 0),
    (65536, 1000, 480, 0),
    (131072, 1000, 480, 0),
    (8192, 1000, 480, 256),
    (16384, 1000, 480, 256),
    (32768, 1000, 480, 256),
    (65536, 1000, 480, 256),
    (131072, 1000, 480, 256),
    (131072, 1000, 480, 1024),
    (131072, 1000, 480, 4096),
    (131072, 1000, 480, 32768),
];

/// How the fuzzing server answers a client's offers (client mode); the
/// (no context takeover, window bits) it asks of the client.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// Accept the first offer, asking nothing.
    Plain,
    /// Accept the first offer that allows no context takeover, asking it.
    NoContext,
    /// Accept the first offer that allows window bits, asking this many.
    Window(u8),
    /// Both.
    NoContextWindow(u8),
    /// (true, 9), else (true, 0), else (false, 0).
    Fallback,
}

impl Answer {
    fn accept(self, offers: &[ClientDeflateOffer]) -> Option<DeflateAccept> {
        let first = |want: &dyn Fn(&ClientDeflateOffer) -> bool, nct: bool, bits: u8| {
            offers.iter().find(|o| want(o)).map(|o| DeflateAccept {
                offer: *o,
                request_no_context_takeover: nct,
                request_max_window_bits: bits,
            })
        };
        match self {
            Answer::Plain => first(&|_| true, false, 0),
            Answer::NoContext => first(&|o| o.accept_no_context_takeover, true, 0),
            Answer::Window(b) => first(&|o| o.accept_max_window_bits, false, b),
            Answer::NoContextWindow(b) => first(
                &|o| o.accept_no_context_takeover && o.accept_max_window_bits,
                true,
                b,
            ),
            Answer::Fallback => Answer::NoContextWindow(9)
                .accept(offers)
                .or_else(|| Answer::NoContext.accept(offers))
                .or_else(|| Answer::Plain.accept(offers)),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Answer::Plain => "[(False, 0)]",
            Answer::NoContext => "[(True, 0)]",
            Answer::Window(9) => "[(False, 9)]",
            Answer::Window(_) => "[(False, 15)]",
            Answer::NoContextWindow(9) => "[(True, 9)]",
            Answer::NoContextWindow(_) => "[(True, 15)]",
            Answer::Fallback => "[(True, 9), (True, 0), (False, 0)]",
        }
    }
}

/// Section 13's seven pairs: the client's offers, the server's answer.
fn params() -> [(Vec<DeflateOffer>, Answer); 7] {
    let o = |nct: bool, bits: u8| DeflateOffer {
        request_no_context_takeover: nct,
        request_max_window_bits: bits,
    };
    [
        (vec![o(false, 0)], Answer::Plain),
        (vec![o(true, 0)], Answer::NoContext),
        (vec![o(false, 9)], Answer::Window(9)),
        (vec![o(false, 15)], Answer::Window(15)),
        (vec![o(true, 9)], Answer::NoContextWindow(9)),
        (vec![o(true, 15)], Answer::NoContextWindow(15)),
        (vec![o(true, 9), o(true, 0), o(false, 0)], Answer::Fallback),
    ]
}

/// One case: send a message, wait for its echo, again, `count` times.
struct Echoes {
    set: &'static Dataset,
    /// Character starts of a text set (its messages are `len` characters).
    chars: Option<&'static [usize]>,
    len: usize,
    count: usize,
    wait_secs: u32,
    auto_fragment: usize,
    offers: Vec<DeflateOffer>,
    answer: Answer,
    pointer: usize,
    sent: usize,
    last: Vec<u8>,
}

impl Echoes {
    /// The next `len` bytes (or characters) of the set, wrapping round.
    fn next_message(&mut self) -> Vec<u8> {
        let bytes = &self.set.bytes;
        if self.len == 0 {
            return Vec::new();
        }
        let units = self.chars.map_or(bytes.len(), <[usize]>::len);
        let offset = |i: usize| match self.chars {
            Some(starts) => starts.get(i).copied().unwrap_or(bytes.len()),
            None => i,
        };
        let from = self.pointer;
        let to = (from + self.len) % units.max(1);
        let (a, b) = (offset(from), offset(to));
        self.pointer = to;
        if to > from {
            bytes.get(a..b).unwrap_or_default().to_vec()
        } else {
            let mut m = bytes.get(a..).unwrap_or_default().to_vec();
            m.extend_from_slice(bytes.get(..b).unwrap_or_default());
            m
        }
    }

    fn send_one(&mut self, p: &mut Peer) {
        self.last = self.next_message();
        p.send_message(&self.last, self.set.binary);
        self.sent += 1;
    }
}

impl Case for Echoes {
    fn on_open(&mut self, p: &mut Peer) {
        p.outcome.report_time = true;
        p.expect_close(ExpectedClose::normal_by_me());
        p.enable_wirelog(false);
        p.auto_fragment_size = self.auto_fragment;
        if p.deflate.is_none() {
            p.outcome.behavior = Verdict::Unimplemented;
            p.send_close(Some(1000), None);
            return;
        }
        p.outcome.behavior = Verdict::Failed;
        p.outcome.result = format!("Case did not finish within {} seconds.", self.wait_secs);
        p.close_after(f64::from(self.wait_secs));
        self.send_one(p);
    }

    fn on_message(&mut self, p: &mut Peer, payload: Vec<u8>, binary: bool) {
        let length = match self.chars {
            Some(_) => std::str::from_utf8(&payload).map_or(payload.len(), |s| s.chars().count()),
            None => payload.len(),
        };
        let problem = if binary != self.set.binary {
            Some(format!(
                "Echo'ed message type differs from what I sent (got binary {binary}, expected binary {}).",
                self.set.binary
            ))
        } else if length != self.len {
            Some(format!(
                "Echo'ed message length differs from what I sent (got length {length}, expected length {}).",
                self.len
            ))
        } else if payload != self.last {
            Some("Echo'ed message contents differs from what I sent.".to_string())
        } else {
            None
        };
        if let Some(why) = problem {
            conclude(p, Verdict::Failed, why);
        } else if self.sent < self.count {
            self.send_one(p);
        } else {
            conclude(p, Verdict::Ok, "Ok, received all echo'ed messages in time.");
        }
    }

    fn deflate_offers(&self) -> Vec<DeflateOffer> {
        self.offers.clone()
    }

    fn deflate_accept(&self, offers: &[ClientDeflateOffer]) -> Option<DeflateAccept> {
        self.answer.accept(offers)
    }
}

/// Character starts of each text set, computed once.
fn char_starts(set: usize) -> Option<&'static [usize]> {
    use std::sync::OnceLock;
    static STARTS: OnceLock<Vec<Option<Vec<usize>>>> = OnceLock::new();
    let all = STARTS.get_or_init(|| {
        datasets()
            .iter()
            .map(|d| {
                (!d.binary).then(|| {
                    std::str::from_utf8(&d.bytes)
                        .map(|s| s.char_indices().map(|(i, _)| i).collect())
                        .unwrap_or_default()
                })
            })
            .collect()
    });
    all.get(set).and_then(|s| s.as_deref())
}

fn push_family(
    list: &mut Vec<Entry>,
    section: &str,
    set: usize,
    offers: Vec<DeflateOffer>,
    answer: Answer,
    default_offer: bool,
) {
    for (i, (len, count, wait_secs, auto_fragment)) in SIZES.into_iter().enumerate() {
        let offer_text = if default_offer {
            "Use default permessage-deflate offer.".to_string()
        } else {
            format!("Use permessage-deflate client offers (requestNoContextTakeover, requestMaxWindowBits): {}", answer.describe())
        };
        let description = format!(
            "Send {count} compressed messages each of payload size {len}, auto-fragment to {auto_fragment} octets. {offer_text}"
        );
        let expectation = format!(
            "Receive echo'ed messages (with payload as sent). Timeout case after {wait_secs} secs."
        );
        let offers = offers.clone();
        list.push(Entry::new(
            format!("{section}.{}", i + 1),
            description,
            expectation,
            move || {
                Box::new(Echoes {
                    set: datasets().get(set).unwrap_or(&datasets()[0]),
                    chars: char_starts(set),
                    len,
                    count,
                    wait_secs,
                    auto_fragment,
                    offers: offers.clone(),
                    answer,
                    pointer: 0,
                    sent: 0,
                    last: Vec::new(),
                })
            },
        ));
    }
}

/// Add the cases of sections 12 and 13.
pub fn register(list: &mut Vec<Entry>) {
    let default = vec![DeflateOffer::default()];
    for set in 0..5 {
        push_family(
            list,
            &format!("12.{}", set + 1),
            set,
            default.clone(),
            Answer::Plain,
            true,
        );
    }
    for (j, (offers, answer)) in params().into_iter().enumerate() {
        push_family(list, &format!("13.{}", j + 1), 0, offers, answer, false);
    }
}
