//! A frame header read without judging it (§5.2): every field decoded,
//! reserved opcodes, RSV bits and oversized control frames included. The
//! frame trace records what was on the wire with it, and the byte explainer
//! (the `ws6455-describe` package) shows and explains each field.

use crate::frame::LengthForm;

/// A frame header's fields exactly as on the wire (§5.2), judged by
/// nothing: reserved opcodes, RSV bits and oversized control frames are
/// read like any other, so they can be shown and explained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawHeader {
    /// FIN, bit 7 of byte 0.
    pub fin: bool,
    /// RSV1–RSV3, bits 6–4 of byte 0, as three bits (0b100 = RSV1).
    pub rsv: u8,
    /// The opcode, bits 3–0 of byte 0, including reserved values.
    pub opcode: u8,
    /// The 7-bit length field of byte 1 (126 and 127 announce a 16- or
    /// 64-bit length).
    pub len7: u8,
    /// Which length encoding the header used.
    pub length_form: LengthForm,
    /// The payload length the header announces.
    pub payload_len: u64,
    /// The masking key, present when the MASK bit (bit 7 of byte 1) is set.
    pub mask: Option<[u8; 4]>,
    /// Bytes of header: 2, plus 2 or 8 of extended length, plus 4 of key.
    pub header_len: usize,
}

/// Reads the header fields at the start of `bytes` whatever they say.
/// `Err(n)`: the header is incomplete and needs `n` more bytes.
pub fn read_raw_header(bytes: &[u8]) -> Result<RawHeader, usize> {
    let (byte0, byte1) = match bytes {
        [] => return Err(2),
        [_] => return Err(1),
        [b0, b1, ..] => (*b0, *b1),
    };
    let len7 = byte1 & 0x7f;
    let (length_form, extended): (LengthForm, usize) = match len7 {
        126 => (LengthForm::Sixteen, 2),
        127 => (LengthForm::SixtyFour, 8),
        _ => (LengthForm::Seven, 0),
    };
    let masked = byte1 & 0x80 != 0;
    let header_len = extended.saturating_add(if masked { 6 } else { 2 });
    if bytes.len() < header_len {
        return Err(header_len.saturating_sub(bytes.len()));
    }
    let ext = bytes.get(2..extended.saturating_add(2)).unwrap_or_default();
    let payload_len = if extended == 0 {
        u64::from(len7)
    } else {
        ext.iter().fold(0u64, |n, &b| n << 8 | u64::from(b))
    };
    let mask = match bytes.get(extended.saturating_add(2)..header_len) {
        Some(&[a, b, c, d]) => Some([a, b, c, d]),
        _ => None,
    };
    Ok(RawHeader {
        fin: byte0 & 0x80 != 0,
        rsv: (byte0 >> 4) & 0b111,
        opcode: byte0 & 0x0f,
        len7,
        length_form,
        payload_len,
        mask,
        header_len,
    })
}
