//! Section 4, opcodes (RFC 6455 §5.2): a frame with a reserved opcode,
//! non-control (3-7, 4.1) or control (11-15, 4.2), fails the connection.

use super::super::catalog::Entry;
use super::s3_reserved_bits::{protocol_error, Sent, Write};

const HELLO: &[u8] = b"Hello, world!";

/// Add the section's cases.
pub fn register(list: &mut Vec<Entry>) {
    for (sub, kind, first_opcode) in [(1, "non-control", 3u8), (2, "control", 11u8)] {
        for i in 0..5u8 {
            let opcode = first_opcode + i;
            let reserved = format!("reserved {kind} <b>Opcode = {opcode}</b>");
            let id = format!("4.{sub}.{}", i + 1);
            let entry = match i {
                // A lone frame, empty, then with a payload.
                0 | 1 => {
                    let (payload, description): (&'static [u8], String) = if i == 0 {
                        (b"", format!("Send frame with {reserved}."))
                    } else {
                        (
                            b"reserved opcode payload",
                            format!("Send frame with {reserved} and non-empty payload."),
                        )
                    };
                    protocol_error(
                        &id,
                        &description,
                        "The connection is failed immediately.",
                        vec![Sent(opcode, true, 0, payload)],
                        Write::Whole,
                        None,
                    )
                }
                // An echoed message, the frame (empty, then with a payload,
                // then octet-wise), a ping.
                _ => {
                    let (payload, description): (&'static [u8], String) = if i == 2 {
                        (b"", format!("Send small text message, then send frame with {reserved}, then send Ping."))
                    } else {
                        (HELLO, format!("Send small text message, then send frame with {reserved} and non-empty payload, then send Ping."))
                    };
                    let write = if i == 4 { Write::Octets } else { Write::Whole };
                    protocol_error(
                        &id,
                        &description,
                        "Echo for first message is received, but then connection is failed immediately, since reserved opcode frame is used. A Pong is not received.",
                        vec![Sent(1, true, 0, HELLO), Sent(opcode, true, 0, payload), Sent(9, true, 0, b"")],
                        write,
                        Some(HELLO),
                    )
                }
            };
            list.push(entry);
        }
    }
}
