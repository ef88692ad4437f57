//! RFC 6455 §8.1 UTF-8 validation, incremental and fail-fast.
//!
//! §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds
//! that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint
//! MUST _Fail the WebSocket Connection_." A text message may arrive in many
//! frames, and each frame in many reads, cut anywhere — including inside a
//! code point. [`Utf8Validator`] checks each piece as it arrives and rejects
//! as soon as the bytes seen so far cannot begin any valid UTF-8 string
//! (Autobahn 6.4.x waits to see that), not only when the message ends.
//!
//! The heavy lifting is simdutf8's, whose `compat` errors carry the same
//! information as `core::str::Utf8Error`: `error_len() == None` means "the
//! input ended inside a code point that could still be completed", which is
//! exactly the case to carry over to the next piece. So the validator holds
//! at most the three leading bytes of one unfinished code point.

use simdutf8::compat;

use crate::error::ProtocolError;

/// The most leading bytes of a code point that can be left unfinished (a
/// code point is at most four bytes).
const MAX_PENDING: usize = 3;

/// A `pending_len` no real state has: the validator has seen invalid input
/// and keeps saying so until [`Utf8Validator::reset`].
const POISONED: u8 = u8::MAX;

/// Incremental UTF-8 validator for a message that arrives in pieces (§8.1,
/// §5.6). Holds no more than the unfinished tail of the last piece; feed it
/// every piece in order, then call [`Utf8Validator::finish`] at the end of
/// the message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Utf8Validator {
    /// Leading bytes of a code point cut off at the end of the last piece;
    /// bytes past `pending_len` are always zero so equal states compare equal.
    pending: [u8; MAX_PENDING],
    /// How many bytes of `pending` are in use, or [`POISONED`] after an
    /// error, so that a caller who keeps feeding cannot get a later `Ok`.
    pending_len: u8,
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub const fn new() -> Self {
        Utf8Validator {
            pending: [0; MAX_PENDING],
            pending_len: 0,
        }
    }

    /// Validates the next piece of the message (§8.1).
    ///
    /// Returns [`ProtocolError::InvalidUtf8`] as soon as the bytes seen so
    /// far cannot be the prefix of valid UTF-8: `ce ba e1 bd b9 ce bc ce b5
    /// ed a0 80` fails at `ed a0` (a surrogate), `f4 90` fails at once (above
    /// U+10FFFF), and so do `c0`, `c1` and `f5`–`ff` alone. A code point cut
    /// between pieces is not an error until proven invalid.
    ///
    /// Once it has failed, the validator keeps failing until
    /// [`Utf8Validator::reset`] or [`Utf8Validator::finish`].
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), ProtocolError> {
        let result = self.feed_inner(bytes);
        if result.is_err() {
            *self = Utf8Validator {
                pending: [0; MAX_PENDING],
                pending_len: POISONED,
            };
        }
        result
    }

    /// True when no code point is left unfinished, so the message may end
    /// here. False after an error.
    pub const fn is_complete(&self) -> bool {
        self.pending_len == 0
    }

    /// Ends the message: [`ProtocolError::InvalidUtf8`] if a code point is
    /// unfinished (or an earlier piece failed). Resets the validator either
    /// way, ready for the next message.
    pub fn finish(&mut self) -> Result<(), ProtocolError> {
        let complete = self.is_complete();
        self.reset();
        if complete {
            Ok(())
        } else {
            Err(ProtocolError::InvalidUtf8)
        }
    }

    /// Forgets any unfinished code point or earlier error, as at the start of
    /// a new message.
    pub fn reset(&mut self) {
        *self = Utf8Validator::new();
    }

    fn feed_inner(&mut self, bytes: &[u8]) -> Result<(), ProtocolError> {
        let rest = match self.pending_len {
            0 => bytes,
            POISONED => return Err(ProtocolError::InvalidUtf8),
            _ => match self.complete_pending(bytes)? {
                Some(rest) => rest,
                None => return Ok(()),
            },
        };
        match compat::from_utf8(rest) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                self.stash(rest.get(e.valid_up_to()..).unwrap_or_default())
            }
            Err(_) => Err(ProtocolError::InvalidUtf8),
        }
    }

    /// Finishes the pending code point with the first bytes of `bytes`.
    /// Returns what is left of `bytes` after it, or `None` if `bytes` ran
    /// out before the code point was complete (it is then pending again).
    fn complete_pending<'b>(&mut self, bytes: &'b [u8]) -> Result<Option<&'b [u8]>, ProtocolError> {
        let held = usize::from(self.pending_len);
        let mut window = [0u8; 4];
        let mut filled: usize = 0;
        // Four bytes always decide the first code point, whichever way.
        let candidates = self.pending.iter().take(held).chain(bytes);
        for (slot, byte) in window.iter_mut().zip(candidates) {
            *slot = *byte;
            filled = filled.saturating_add(1);
        }
        let window = window.get(..filled).unwrap_or_default();
        let consumed = match compat::from_utf8(window) {
            Ok(_) => filled,
            // The pending code point is the first in the window, so any
            // valid prefix includes all of it; bytes after it are checked
            // again, with their own continuation, by the caller.
            Err(e) if e.valid_up_to() > 0 => e.valid_up_to(),
            Err(e) if e.error_len().is_none() => {
                self.stash(window)?;
                return Ok(None);
            }
            Err(_) => return Err(ProtocolError::InvalidUtf8),
        };
        self.pending_len = 0;
        self.pending = [0; MAX_PENDING];
        Ok(Some(
            bytes
                .get(consumed.saturating_sub(held)..)
                .unwrap_or_default(),
        ))
    }

    /// Keeps the unfinished code point `tail` for the next piece.
    fn stash(&mut self, tail: &[u8]) -> Result<(), ProtocolError> {
        // simdutf8 only reports an unfinished tail of 1–3 bytes; anything
        // else would be a bug there, and refusing is the safe answer.
        let len = u8::try_from(tail.len())
            .ok()
            .filter(|&n| usize::from(n) <= MAX_PENDING)
            .ok_or(ProtocolError::InvalidUtf8)?;
        self.pending = [0; MAX_PENDING];
        for (slot, byte) in self.pending.iter_mut().zip(tail) {
            *slot = *byte;
        }
        self.pending_len = len;
        Ok(())
    }
}

/// Validates a whole message at once (§8.1): the fast path for a text
/// message or close reason that arrived in one piece.
pub fn validate(bytes: &[u8]) -> Result<&str, ProtocolError> {
    simdutf8::basic::from_utf8(bytes).map_err(|_| ProtocolError::InvalidUtf8)
}

/// A text message's bytes as `&str`, without a second pass over them: the
/// frame reader validated every byte of every text message as it arrived
/// (whole frames with [`validate`], pieces, fragments and inflated bytes
/// with a [`Utf8Validator`] that was finished), and failed the connection
/// otherwise, so no `Text` event is ever built from anything else. The
/// second pass cost 6 % of the server's CPU echoing 1 MiB text messages.
#[allow(unsafe_code)]
pub(crate) fn already_validated(bytes: &[u8]) -> &str {
    // Debug builds (tests, and the fuzz targets, which build with debug
    // assertions) check the claim on every message.
    debug_assert!(
        core::str::from_utf8(bytes).is_ok(),
        "a text message reached its event without UTF-8 validation"
    );
    // SAFETY: every caller passes the bytes of a text message that the
    // frame reader validated (see above); `text_events_are_valid_utf8`
    // in `connection/tests` drives arbitrary bytes through every path.
    unsafe { core::str::from_utf8_unchecked(bytes) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Index of the first byte at which a prefix of `bytes` is definitely
    /// invalid according to std, or `None` if every prefix could still be
    /// completed.
    fn first_bad_byte(bytes: &[u8]) -> Option<usize> {
        let e = core::str::from_utf8(bytes).err()?;
        e.error_len()?;
        (e.valid_up_to()..bytes.len())
            .find(|&k| core::str::from_utf8(&bytes[..=k]).is_err_and(|e| e.error_len().is_some()))
    }

    /// Feeds `pieces` in order; returns the index of the piece that failed,
    /// or `None` with the result of `finish`.
    fn feed_pieces(pieces: &[&[u8]]) -> (Option<usize>, Result<(), ProtocolError>) {
        let mut v = Utf8Validator::new();
        for (i, piece) in pieces.iter().enumerate() {
            if v.feed(piece).is_err() {
                assert!(!v.is_complete());
                assert_eq!(v.feed(b"a"), Err(ProtocolError::InvalidUtf8));
                return (Some(i), v.finish());
            }
        }
        (None, v.finish())
    }

    /// Feeds byte by byte and checks both the verdict and the failing byte
    /// against std; returns whether the input was accepted.
    fn check_byte_by_byte(bytes: &[u8]) -> bool {
        let pieces: Vec<&[u8]> = bytes.chunks(1).collect();
        let (failed_at, finished) = feed_pieces(&pieces);
        assert_eq!(failed_at, first_bad_byte(bytes), "{bytes:02x?}");
        let whole_ok = core::str::from_utf8(bytes).is_ok();
        assert_eq!(finished.is_ok() && failed_at.is_none(), whole_ok);
        assert_eq!(validate(bytes).is_ok(), whole_ok);
        let mut one = Utf8Validator::new();
        assert_eq!(one.feed(bytes).is_ok() && one.finish().is_ok(), whole_ok);
        whole_ok
    }

    /// Autobahn section 6 payloads that must be accepted.
    const VALID: &[&str] = &[
        "",
        "48656c6c6f2dc2b540c39fc3b6c3a4c3bcc3a0c3a12d5554462d382121",
        "cebae1bdb9cf83cebcceb5",
        "68656c6c6f24776f726c64",
        "68656c6c6fc2a2776f726c64",
        "68656c6c6fe282ac776f726c64",
        "68656c6c6ff0a4ada2776f726c64",
        "ceba",
        "cebae1bdb9",
        "cebae1bdb9cf83",
        "cebae1bdb9cf83cebc",
        "00",
        "c280",
        "e0a080",
        "f0908080",
        "7f",
        "dfbf",
        "efbfbf",
        "f48fbfbf",
        "ed9fbf",
        "ee8080",
        "efbfbd",
        "efbfbe",
        "f09fbfbe",
        "f09fbfbf",
        "f0afbfbe",
        "f0bfbfbe",
    ];

    /// Autobahn section 6 payloads that must be rejected.
    const INVALID: &[&str] = &[
        "cebae1bdb9cf83cebcceb5eda080656469746564",
        "cebae1bdb9cf83cebcceb5f4908080656469746564",
        "ce",
        "cebae1",
        "cebae1bd",
        "cebae1bdb9cf",
        "cebae1bdb9cf83ce",
        "cebae1bdb9cf83cebcce",
        "f888808080",
        "fc8480808080",
        "f7bfbfbf",
        "fbbfbfbfbf",
        "fdbfbfbfbfbf",
        "f4908080",
        "80",
        "bf",
        "80bf80bf80bf",
        "c020c120c220c320c420c520c620c720c820c920ca20cb20cc20cd20ce20cf20",
        "e020e120e220e320e420e520e620e720e820e920ea20eb20ec20ed20ee20",
        "f020f120f220f320f420f520f620",
        "f820f920fa20",
        "fc20",
        "c0",
        "e080",
        "f08080",
        "f8808080",
        "fc80808080",
        "df",
        "efbf",
        "f7bfbf",
        "c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf",
        "fe",
        "ff",
        "fefeffff",
        "c0af",
        "e080af",
        "f08080af",
        "f8808080af",
        "fc80808080af",
        "c1bf",
        "e09fbf",
        "f08fbfbf",
        "f887bfbfbf",
        "fc83bfbfbfbf",
        "c080",
        "e08080",
        "f0808080",
        "f880808080",
        "fc8080808080",
        "eda080",
        "edadbf",
        "edae80",
        "edafbf",
        "edb080",
        "edbe80",
        "edbfbf",
        "eda080edb080",
        "eda080edbfbf",
        "edadbfedb080",
        "edadbfedbfbf",
        "edae80edb080",
        "edae80edbfbf",
        "edafbfedb080",
        "edafbfedbfbf",
    ];

    #[test]
    fn autobahn_valid_vectors() {
        for v in VALID {
            assert!(check_byte_by_byte(&hex(v)), "{v}");
        }
    }

    #[test]
    fn autobahn_invalid_vectors() {
        for v in INVALID {
            assert!(!check_byte_by_byte(&hex(v)), "{v}");
        }
        // 6.12.8: every continuation byte on its own.
        let continuations: Vec<u8> = (0x80..=0xbe).collect();
        assert!(!check_byte_by_byte(&continuations));
    }

    #[test]
    fn fails_fast_at_the_documented_bytes() {
        // (payload, index of the byte that proves it invalid)
        let cases = [
            ("cebae1bdb9cf83cebcceb5eda080", 12),
            ("cebae1bdb9cebcceb5eda080", 10),
            ("f490", 1),
            ("c0", 0),
            ("c1", 0),
            ("f5", 0),
            ("ff", 0),
            ("e080", 1),
            ("f08080", 1),
            ("eda0", 1),
        ];
        for (payload, at) in cases {
            let bytes = hex(payload);
            let pieces: Vec<&[u8]> = bytes.chunks(1).collect();
            assert_eq!(feed_pieces(&pieces).0, Some(at), "{payload}");
        }
    }

    #[test]
    fn autobahn_6_4_fail_fast_in_three_parts() {
        let parts_6_4_1 = [
            hex("cebae1bdb9cf83cebcceb5"),
            hex("f4908080"),
            hex("656469746564"),
        ];
        let parts_6_4_2 = [
            hex("cebae1bdb9cf83cebcceb5f4"),
            hex("90"),
            hex("8080656469746564"),
        ];
        for parts in [parts_6_4_1, parts_6_4_2] {
            let pieces: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            assert_eq!(feed_pieces(&pieces).0, Some(1));
        }
    }

    #[test]
    fn code_point_cut_between_pieces_is_fine() {
        // U+1F600 split 1+3, 2+2, 3+1 and 1+1+1+1.
        let smile = "😀".as_bytes();
        for cut in 1..4 {
            let mut v = Utf8Validator::new();
            v.feed(&smile[..cut]).unwrap();
            assert!(!v.is_complete());
            v.feed(&smile[cut..]).unwrap();
            assert!(v.is_complete());
            v.finish().unwrap();
        }
        let mut v = Utf8Validator::new();
        for b in smile {
            v.feed(core::slice::from_ref(b)).unwrap();
        }
        v.feed(b"").unwrap();
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn finish_resets() {
        let mut v = Utf8Validator::new();
        v.feed(&[0xe2, 0x82]).unwrap();
        assert_eq!(v.finish(), Err(ProtocolError::InvalidUtf8));
        assert_eq!(v, Utf8Validator::new());
        v.feed(&[0xff]).unwrap_err();
        assert_eq!(v.finish(), Err(ProtocolError::InvalidUtf8));
        assert_eq!(v, Utf8Validator::default());
        v.feed("ok".as_bytes()).unwrap();
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn reset_forgets_pending_and_errors() {
        let mut v = Utf8Validator::new();
        v.feed(&[0xf0, 0x9f]).unwrap();
        v.reset();
        assert!(v.is_complete());
        v.feed(&[0x80]).unwrap_err();
        v.reset();
        v.feed(b"fine").unwrap();
        assert!(v.is_complete());
    }

    #[test]
    fn validate_returns_the_str() {
        assert_eq!(validate("κόσμε".as_bytes()), Ok("κόσμε"));
        assert_eq!(
            validate(&[0xed, 0xa0, 0x80]),
            Err(ProtocolError::InvalidUtf8)
        );
    }

    /// Bytes that are mostly UTF-8, with some damage: the interesting cases
    /// are near valid, not uniformly random.
    fn near_utf8() -> impl Strategy<Value = Vec<u8>> {
        let corrupted = (
            ".{0,40}",
            proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 0..3),
            any::<proptest::sample::Index>(),
            any::<bool>(),
        )
            .prop_map(|(s, edits, cut, truncate)| {
                let mut bytes = s.into_bytes();
                for (at, byte) in edits {
                    if !bytes.is_empty() {
                        let i = at.index(bytes.len());
                        bytes[i] = byte;
                    }
                }
                if truncate {
                    bytes.truncate(cut.index(bytes.len() + 1));
                }
                bytes
            });
        prop_oneof![
            ".{0,40}".prop_map(String::into_bytes),
            corrupted,
            proptest::collection::vec(any::<u8>(), 0..40),
            proptest::collection::vec(0x80..=0xffu8, 0..12),
        ]
    }

    /// Splits `bytes` at the given cut points (empty pieces allowed).
    fn split_at_points(bytes: &[u8], cuts: &[proptest::sample::Index]) -> Vec<Vec<u8>> {
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut pieces = vec![];
        let mut start = 0;
        for p in points.into_iter().chain([bytes.len()]) {
            pieces.push(bytes[start..p].to_vec());
            start = p;
        }
        pieces
    }

    proptest! {
        #[test]
        fn pieces_agree_with_std(
            bytes in near_utf8(),
            cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..8),
        ) {
            let pieces = split_at_points(&bytes, &cuts);
            let slices: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
            let (failed_at, finished) = feed_pieces(&slices);
            let whole_ok = core::str::from_utf8(&bytes).is_ok();
            prop_assert_eq!(failed_at.is_none() && finished.is_ok(), whole_ok);

            // The failing piece is the non-empty one holding the first byte
            // that makes a prefix definitely invalid.
            let expected_piece = first_bad_byte(&bytes).map(|bad| {
                let mut end = 0;
                pieces.iter().position(|p| {
                    end += p.len();
                    bad < end
                }).unwrap()
            });
            prop_assert_eq!(failed_at, expected_piece);
            prop_assert_eq!(validate(&bytes).is_ok(), whole_ok);
        }

        #[test]
        fn byte_by_byte_agrees_with_std(bytes in near_utf8()) {
            check_byte_by_byte(&bytes);
        }

        #[test]
        fn is_complete_tracks_code_point_boundaries(
            s in ".{0,20}",
            cut in any::<proptest::sample::Index>(),
        ) {
            let cut = cut.index(s.len() + 1);
            let mut v = Utf8Validator::new();
            v.feed(&s.as_bytes()[..cut]).unwrap();
            prop_assert_eq!(v.is_complete(), s.is_char_boundary(cut));
        }
    }
}
