//! `apply_mask` (§5.3, the fast path) against `apply_mask_scalar` (the
//! RFC's algorithm written out), differentially.
//!
//! Oracles, at arbitrary key, offset (including near `usize::MAX`, where the
//! phase must survive wrapping), length and alignment:
//! * the fast path equals the scalar reference;
//! * masking in two pieces (the second at `offset + split`) equals masking
//!   the whole, as when a payload arrives in several reads;
//! * masking twice is the identity.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ws6455_proto::mask::{apply_mask, apply_mask_scalar};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    key: [u8; 4],
    offset: usize,
    /// Where the buffer starts inside an allocation, to vary alignment.
    start: u8,
    split: u16,
    data: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let Input {
        key,
        offset,
        start,
        split,
        data,
    } = input;
    // Own the bytes at a chosen distance from an allocation's start, so the
    // fast path's head, body and tail all see every alignment.
    let start = usize::from(start % 64);
    let mut backing = vec![0u8; start + data.len()];
    backing[start..].copy_from_slice(data);

    let mut expected = data.to_vec();
    apply_mask_scalar(&mut expected, key, offset);
    // The reference itself against §5.3 read literally (j = i MOD 4, with
    // the payload position counted from offset).
    for (i, (&out, &orig)) in expected.iter().zip(data).enumerate() {
        let j = (offset % 4 + i % 4) % 4;
        assert_eq!(out, orig ^ key[j]);
    }

    let mut fast = backing.clone();
    apply_mask(&mut fast[start..], key, offset);
    assert_eq!(
        &fast[start..],
        &expected[..],
        "fast path differs from scalar"
    );

    let split = usize::from(split) % (data.len() + 1);
    let mut pieces = backing.clone();
    let (a, b) = pieces[start..].split_at_mut(split);
    apply_mask(a, key, offset);
    apply_mask(b, key, offset.wrapping_add(split));
    assert_eq!(&pieces[start..], &expected[..], "split masking differs");

    let mut scalar_pieces = data.to_vec();
    let (a, b) = scalar_pieces.split_at_mut(split);
    apply_mask_scalar(a, key, offset);
    apply_mask_scalar(b, key, offset.wrapping_add(split));
    assert_eq!(scalar_pieces, expected, "split scalar masking differs");

    apply_mask(&mut fast[start..], key, offset);
    assert_eq!(&fast[start..], data, "masking twice is not the identity");
});
