//! A connection remembers how long its peer's last fragmented message was,
//! so that the next one is reassembled in one buffer of that size instead
//! of a chain of doublings, each copying what arrived so far (§5.4).

use alloc::vec::Vec;

use super::utf8_tests::open_server;
use super::{BufferPool, Connection};
use crate::encode::push_frame;
use crate::event::Event;
use crate::frame::OpCode;

/// A binary message of `len` bytes in masked fragments of `piece` bytes.
fn fragmented(len: usize, piece: usize) -> Vec<Vec<u8>> {
    let payload = alloc::vec![9u8; len];
    let last = len.div_ceil(piece) - 1;
    payload
        .chunks(piece)
        .enumerate()
        .map(|(i, part)| {
            let opcode = if i == 0 {
                OpCode::Binary
            } else {
                OpCode::Continuation
            };
            let mut frame = Vec::new();
            push_frame(&mut frame, i == last, opcode, part, Some([1, 2, 3, 4]));
            frame
        })
        .collect()
}

/// Feed `frames`, returning the length of each message delivered.
fn feed(conn: &mut Connection, frames: &[Vec<u8>]) -> Vec<usize> {
    let mut lengths = Vec::new();
    for frame in frames {
        conn.recv(frame);
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Binary(data) => lengths.push(data.len()),
                other => panic!("unexpected event {other:?}"),
            }
        }
    }
    lengths
}

/// The reassembly buffer's capacity while a message is in progress.
fn reassembly_capacity(conn: &Connection) -> usize {
    conn.active.as_ref().map_or(0, |a| a.assembler.capacity())
}

#[test]
fn the_next_fragmented_message_gets_the_last_ones_length_at_once() {
    // Spare parts keep no buffer over 1 KiB: every message starts empty.
    let mut pool = BufferPool::new(4, 1024);
    let mut conn = open_server();
    conn.unpark(&mut pool);
    assert_eq!(feed(&mut conn, &fragmented(300_000, 10_000)), [300_000]);
    conn.park(&mut pool);
    assert!(conn.is_parked());

    conn.unpark(&mut pool);
    let second = fragmented(200_000, 10_000);
    let (first, rest) = second.split_first().unwrap();
    assert!(feed(&mut conn, core::slice::from_ref(first)).is_empty());
    assert_eq!(reassembly_capacity(&conn), 300_000);
    // A shorter message fits; the one after it expects its length.
    assert_eq!(feed(&mut conn, rest), [200_000]);
    conn.park(&mut pool);
    conn.unpark(&mut pool);
    let third = fragmented(250_000, 10_000);
    assert!(feed(&mut conn, &third[..1]).is_empty());
    assert_eq!(reassembly_capacity(&conn), 200_000);
    // Longer than expected: it grows past the guess and still arrives whole.
    assert_eq!(feed(&mut conn, &third[1..]), [250_000]);
}

#[test]
fn the_guess_never_exceeds_the_message_size_limit() {
    let mut pool = BufferPool::new(4, 1024);
    let mut conn = open_server();
    conn.unpark(&mut pool);
    assert_eq!(feed(&mut conn, &fragmented(100_000, 10_000)), [100_000]);
    conn.park(&mut pool);
    // The limit drops below the last message's length.
    let mut config = (*conn.config).clone();
    config.max_message_size = 50_000;
    conn.config = alloc::sync::Arc::new(config);
    conn.unpark(&mut pool);
    assert!(feed(&mut conn, &fragmented(20_000, 10_000)[..1]).is_empty());
    assert_eq!(reassembly_capacity(&conn), 50_000);
}
