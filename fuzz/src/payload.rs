//! Message payloads for the connection drivers: generated text and binary
//! of any length up to 65535, cut from patterns built once per process.

use std::sync::OnceLock;

/// The patterns [`payload`] cuts from: 65535 characters of mixed-width
/// UTF-8 and 65535 binary bytes, built on first use and kept for the life
/// of the process, since building them per call dominated the run time.
pub(crate) fn patterns() -> (&'static str, &'static [u8]) {
    static TEXT: OnceLock<String> = OnceLock::new();
    static BINARY: OnceLock<Vec<u8>> = OnceLock::new();
    const MAX: usize = u16::MAX as usize;
    let text = TEXT.get_or_init(|| "aé€😀".chars().cycle().take(MAX).collect());
    let binary = BINARY.get_or_init(|| (0..MAX).map(|i| (i * 7 + 3) as u8).collect());
    (text, binary)
}

/// A payload of `len` bytes (up to 65535): valid UTF-8 of mixed widths for
/// text, padded with `z` where the next character would not fit. Cut from
/// [`patterns`].
pub(crate) fn payload(len: usize, text: bool) -> Vec<u8> {
    let (pattern, binary) = patterns();
    let len = len.min(binary.len());
    if !text {
        return binary[..len].to_vec();
    }
    let mut end = len.min(pattern.len());
    while !pattern.is_char_boundary(end) {
        end -= 1;
    }
    let mut bytes = pattern.as_bytes()[..end].to_vec();
    bytes.resize(len, b'z');
    bytes
}
