//! The last 2^bits bytes of a compressed stream's plaintext: all that
//! context takeover (RFC 7692 §7.1.1) asks an endpoint to keep between
//! messages. A compressor or decompressor primed with it (zlib's
//! `deflateSetDictionary` / `inflateSetDictionary`) continues the stream
//! exactly where one that was kept alive would, so a quiet connection can
//! hand its codecs back and keep only this.

use alloc::vec::Vec;

/// A ring of at most `capacity` bytes: the newest bytes pushed.
#[derive(Debug)]
pub(crate) struct History {
    bytes: Vec<u8>,
    /// Where the oldest byte is once the ring is full (the next write).
    start: usize,
    capacity: usize,
}

impl History {
    /// An empty history of at most `capacity` bytes (allocated with the
    /// first byte pushed).
    pub(crate) fn new(capacity: usize) -> Self {
        History {
            bytes: Vec::new(),
            start: 0,
            capacity,
        }
    }

    /// Bytes held.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Append `data`, forgetting what falls out of the window.
    pub(crate) fn push(&mut self, data: &[u8]) {
        let data = data
            .get(data.len().saturating_sub(self.capacity)..)
            .unwrap_or(data);
        // Fill up to the capacity first, in order.
        let room = self.capacity.saturating_sub(self.bytes.len());
        let (fill, mut rest) = data.split_at(room.min(data.len()));
        if self.bytes.capacity() == 0 && !fill.is_empty() {
            self.bytes.reserve_exact(self.capacity);
        }
        self.bytes.extend_from_slice(fill);
        // Then overwrite the oldest bytes, wrapping round.
        while !rest.is_empty() {
            let Some(slot) = self.bytes.get_mut(self.start..) else {
                break;
            };
            let n = slot.len().min(rest.len());
            if let (Some(to), Some(from)) = (slot.get_mut(..n), rest.get(..n)) {
                to.copy_from_slice(from);
            }
            rest = rest.get(n..).unwrap_or_default();
            self.start = self.start.saturating_add(n);
            if self.start >= self.bytes.len() {
                self.start = 0;
            }
        }
    }

    /// The bytes held, oldest first, in one slice (the ring is turned in
    /// place to make it one).
    pub(crate) fn contiguous(&mut self) -> &[u8] {
        if self.start != 0 {
            self.bytes.rotate_left(self.start);
            self.start = 0;
        }
        &self.bytes
    }

    /// Forget everything (the stream starts again), freeing the memory.
    pub(crate) fn clear(&mut self) {
        self.bytes = Vec::new();
        self.start = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::History;
    use alloc::vec::Vec;

    /// The newest `capacity` bytes of everything pushed, as a plain copy.
    fn model(pushes: &[Vec<u8>], capacity: usize) -> Vec<u8> {
        let all: Vec<u8> = pushes.concat();
        all[all.len().saturating_sub(capacity)..].to_vec()
    }

    #[test]
    fn keeps_the_newest_bytes_in_order() {
        let mut h = History::new(8);
        h.push(b"abc");
        assert_eq!(h.contiguous(), b"abc");
        h.push(b"defgh");
        assert_eq!(h.contiguous(), b"abcdefgh");
        h.push(b"ij");
        assert_eq!(h.contiguous(), b"cdefghij");
        h.push(b"0123456789");
        assert_eq!(h.contiguous(), b"23456789");
        h.clear();
        assert_eq!(h.len(), 0);
    }

    proptest::proptest! {
        #[test]
        fn equals_the_tail_of_everything_pushed(
            capacity in 1usize..600,
            pushes in proptest::collection::vec(
                proptest::collection::vec(proptest::num::u8::ANY, 0..900),
                0..12,
            ),
            look_every in 1usize..4,
        ) {
            let mut h = History::new(capacity);
            for (i, p) in pushes.iter().enumerate() {
                h.push(p);
                if i % look_every == 0 {
                    let want = model(&pushes[..=i], capacity);
                    proptest::prop_assert_eq!(h.contiguous(), &want[..]);
                }
            }
            proptest::prop_assert_eq!(h.contiguous(), &model(&pushes, capacity)[..]);
            proptest::prop_assert!(h.bytes.capacity() <= capacity);
        }
    }
}
