//! `Utf8Validator` (§8.1) fed arbitrary bytes cut at arbitrary points,
//! against `std::str::from_utf8` on the whole, differentially.
//!
//! Oracles:
//! * valid UTF-8 (per std) is accepted piece by piece and `finish` is `Ok`;
//! * input that std rejects with a definite error fails **at the piece
//!   holding the first byte that makes a prefix invalid** (fail-fast, what
//!   Autobahn 6.4.x checks), every earlier piece is accepted, and every
//!   later piece fails too (the validator stays poisoned);
//! * input that std rejects only because it ends inside a code point is
//!   accepted piece by piece, is not complete, and fails at `finish`;
//! * `validate` (the one-piece fast path) agrees with std;
//! * after `finish` the validator is fresh again.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ws6455_proto::utf8::{validate, Utf8Validator};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// Piece lengths; whatever is left after them is the last piece.
    cuts: Vec<u8>,
    bytes: &'a [u8],
}

/// The index of the first byte at which a prefix of `bytes` is definitely
/// not the start of any UTF-8 string, or `None` if every prefix could still
/// be completed.
fn first_bad_byte(bytes: &[u8]) -> Option<usize> {
    let e = std::str::from_utf8(bytes).err()?;
    e.error_len()?;
    // The verdict falls within the four bytes of the broken code point.
    let from = e.valid_up_to();
    (from..bytes.len().min(from + 4))
        .find(|&k| std::str::from_utf8(&bytes[..=k]).is_err_and(|e| e.error_len().is_some()))
}

fuzz_target!(|input: Input<'_>| {
    let bytes = input.bytes;
    let std_result = std::str::from_utf8(bytes);
    assert_eq!(validate(bytes).is_ok(), std_result.is_ok());
    let bad = first_bad_byte(bytes);
    if std_result.as_ref().is_err_and(|e| e.error_len().is_some()) {
        assert!(bad.is_some(), "std error without a first bad byte");
    }

    let mut pieces = Vec::new();
    let mut rest = bytes;
    for cut in input.cuts {
        let (piece, tail) = rest.split_at(usize::from(cut).min(rest.len()));
        pieces.push(piece);
        rest = tail;
    }
    pieces.push(rest);

    let mut v = Utf8Validator::new();
    let mut start = 0;
    let mut failed = false;
    for piece in &pieces {
        let end = start + piece.len();
        let result = v.feed(piece);
        let should_fail = bad.is_some_and(|b| b < end);
        assert_eq!(
            result.is_err(),
            should_fail,
            "piece {start}..{end} of {bytes:02x?}: first bad byte {bad:?}"
        );
        if failed {
            assert!(result.is_err(), "validator recovered after an error");
        }
        failed |= result.is_err();
        start = end;
    }
    match std_result {
        Ok(_) => {
            assert!(v.is_complete());
            assert_eq!(v.finish(), Ok(()));
        }
        Err(_) => {
            assert!(!v.is_complete());
            assert!(v.finish().is_err());
        }
    }
    // finish resets: the next message starts clean.
    assert_eq!(v, Utf8Validator::new());
    assert_eq!(v.feed(b"ok"), Ok(()));
});
