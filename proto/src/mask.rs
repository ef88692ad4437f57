//! RFC 6455 §5.3 masking, in place.
//!
//! ```text
//! j                   = i MOD 4
//! transformed-octet-i = original-octet-i XOR masking-key-octet-j
//! ```
//!
//! Masking and unmasking are the same XOR, so one function does both. The
//! `offset` argument lets a payload be processed in pieces as it arrives
//! from the socket, without waiting for the whole frame or copying it.
//!
//! Every byte of every client frame goes through here, so [`apply_mask`]
//! works on aligned 32-byte blocks as two `u128` words each, which LLVM
//! turns into vector XORs (one AVX2 or two SSE2 operations), and on `u32`
//! words for the short head and tail; `apply_mask_scalar` (feature `testing`) is the plain
//! reading of the RFC that it is tested against.

/// Bytes per block of the fast path; also the alignment it aims for.
const BLOCK: usize = 32;
/// Bytes per `u128` word inside a block.
const WORD: usize = 16;

/// XORs `buf[i]` with `key[(offset + i) % 4]` (§5.3), a block at a time.
///
/// `offset` is the position of `buf[0]` within the frame payload, so a
/// payload can be masked or unmasked in pieces: masking `a` at offset `o`
/// and then `b` at offset `o + a.len()` equals masking `a ++ b` at `o`.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    // Unaligned wide loads are cheap on current CPUs, but starting the body
    // on a block boundary keeps each load within one cache line.
    let head_len = buf.as_ptr().align_offset(BLOCK).min(buf.len());
    let Some((head, body)) = buf.split_at_mut_checked(head_len) else {
        // Unreachable (head_len <= len); falling back keeps this panic-free.
        mask_short(buf, rotated(key, offset));
        return;
    };
    mask_short(head, rotated(key, offset));

    // Wrapping is harmless: 2^64 and 2^32 are multiples of 4, so the key
    // phase survives overflow.
    let key = rotated(key, offset.wrapping_add(head_len));
    let key32 = u32::from_ne_bytes(key);
    let key64 = u64::from(key32) | u64::from(key32) << 32;
    let key128 = u128::from(key64) | u128::from(key64) << 64;

    let mut blocks = body.chunks_exact_mut(BLOCK);
    for block in &mut blocks {
        for word in block.chunks_exact_mut(WORD) {
            if let Ok(word) = <&mut [u8; WORD]>::try_from(word) {
                *word = (u128::from_ne_bytes(*word) ^ key128).to_ne_bytes();
            }
        }
    }
    // A block is a multiple of 4 bytes, so the tail starts at the same key
    // phase as the body.
    mask_short(blocks.into_remainder(), key);
}

/// Masks a short run with a key already rotated to its first byte: `u32`
/// words, then at most three single bytes.
fn mask_short(buf: &mut [u8], key: [u8; 4]) {
    let key32 = u32::from_ne_bytes(key);
    let mut words = buf.chunks_exact_mut(4);
    for word in &mut words {
        if let Ok(word) = <&mut [u8; 4]>::try_from(word) {
            *word = (u32::from_ne_bytes(*word) ^ key32).to_ne_bytes();
        }
    }
    for (byte, k) in words.into_remainder().iter_mut().zip(key) {
        *byte ^= k;
    }
}

/// XORs `buf[i]` with `key[(offset + i) % 4]` (§5.3) one byte at a time: the
/// RFC's algorithm written out plainly: the reference that property tests,
/// fuzzing and benchmarks hold [`apply_mask`] against (feature `testing`).
#[cfg(any(test, feature = "testing"))]
pub fn apply_mask_scalar(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        if let Some(k) = key.get(offset.wrapping_add(i) % 4) {
            *byte ^= k;
        }
    }
}

/// The key as seen from payload position `offset`: `rotated(key, o)[j] ==
/// key[(o + j) % 4]`.
fn rotated(key: [u8; 4], offset: usize) -> [u8; 4] {
    // A shift on a register, where `<[u8]>::rotate_left` would be a call.
    let bits = ((offset % 4) as u32).wrapping_mul(8);
    u32::from_le_bytes(key).rotate_right(bits).to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc_5_7_masked_hello() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut buf = *b"Hello";
        apply_mask(&mut buf, key, 0);
        assert_eq!(buf, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        apply_mask(&mut buf, key, 0);
        assert_eq!(&buf, b"Hello");
    }

    #[test]
    fn offset_shifts_the_key() {
        let key = [1, 2, 3, 4];
        let mut buf = [0u8; 6];
        apply_mask(&mut buf, key, 3);
        assert_eq!(buf, [4, 1, 2, 3, 4, 1]);
        let mut buf = [0u8; 6];
        apply_mask_scalar(&mut buf, key, 3);
        assert_eq!(buf, [4, 1, 2, 3, 4, 1]);
    }

    #[test]
    fn offset_near_usize_max_keeps_the_phase() {
        let key = [1, 2, 3, 4];
        let mut fast = [0u8; 64];
        let mut slow = [0u8; 64];
        apply_mask(&mut fast, key, usize::MAX - 2);
        apply_mask_scalar(&mut slow, key, usize::MAX - 2);
        assert_eq!(fast, slow);
        // (usize::MAX - 2) % 4 == 1, and the index wraps to 0 at byte 3.
        assert_eq!(&fast[..5], &[2, 3, 4, 1, 2]);
    }

    #[test]
    fn rotated_matches_definition() {
        let key = [10, 20, 30, 40];
        for offset in 0..8 {
            let r = rotated(key, offset);
            for (j, byte) in r.iter().enumerate() {
                assert_eq!(*byte, key[(offset + j) % 4]);
            }
        }
    }

    #[test]
    fn empty_and_tiny_buffers() {
        for len in 0..40 {
            let mut fast = vec![0x5A; len];
            let mut slow = fast.clone();
            apply_mask(&mut fast, [9, 8, 7, 6], 2);
            apply_mask_scalar(&mut slow, [9, 8, 7, 6], 2);
            assert_eq!(fast, slow, "len {len}");
        }
    }

    proptest! {
        /// `start` moves the slice across alignments so the head, body and
        /// tail paths all get exercised.
        #[test]
        fn fast_equals_scalar(
            data in proptest::collection::vec(any::<u8>(), 0..2000),
            key in any::<[u8; 4]>(),
            offset in 0..10usize,
            start in 0..64usize,
        ) {
            let start = start.min(data.len());
            let mut fast = data.clone();
            let mut slow = data;
            apply_mask(&mut fast[start..], key, offset);
            apply_mask_scalar(&mut slow[start..], key, offset);
            prop_assert_eq!(fast, slow);
        }

        #[test]
        fn masking_in_two_pieces_equals_masking_whole(
            data in proptest::collection::vec(any::<u8>(), 0..2000),
            key in any::<[u8; 4]>(),
            offset in 0..10usize,
            split in any::<proptest::sample::Index>(),
        ) {
            let split = split.index(data.len() + 1);
            let mut whole = data.clone();
            apply_mask(&mut whole, key, offset);
            let mut pieces = data;
            let (a, b) = pieces.split_at_mut(split);
            apply_mask(a, key, offset);
            apply_mask(b, key, offset + split);
            prop_assert_eq!(pieces, whole);
        }

        #[test]
        fn masking_twice_is_identity(
            data in proptest::collection::vec(any::<u8>(), 0..2000),
            key in any::<[u8; 4]>(),
            offset in 0..10usize,
        ) {
            let mut buf = data.clone();
            apply_mask(&mut buf, key, offset);
            apply_mask(&mut buf, key, offset);
            prop_assert_eq!(buf, data);
        }
    }
}
