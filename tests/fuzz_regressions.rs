//! Bugs the fuzz targets (`fuzz/`) found in the core, each replayed as the
//! smallest conversation that shows it. The fuzz input that found a bug is
//! described beside its test; the test is the durable record.

use std::sync::Arc;
use ws6455::Timestamp;
use ws6455_test_support::core::{client_frame, take_output, REQUEST};

use ws6455::proto::{Config, Connection, Event, OpCode};
use ws6455::{ProtocolError, UsageError};

/// Event names, enough to compare sequences.
fn drain(conn: &mut Connection) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(ev) = conn.poll_event() {
        out.push(match ev {
            Event::Request(_) => "Request".to_owned(),
            Event::Writable => "Writable".to_owned(),
            Event::Failed(e) => format!("Failed({e:?})"),
            Event::Closed { code, clean } => format!("Closed({}, {clean})", code.0),
            other => format!("{other:?}"),
        });
        assert!(out.len() < 1000, "endless events");
    }
    out
}

fn open_server(config: Config) -> Connection {
    let mut s = Connection::server(Arc::new(config), Timestamp::ZERO);
    s.recv(REQUEST);
    assert_eq!(drain(&mut s), ["Request"]);
    s.accept(Timestamp::ZERO, None, &[]).unwrap();
    take_output(&mut s);
    s
}

/// Found by `connection_server` ("event Writable after Closed"): a send
/// refused with `BufferFull` arms a `Writable` notice; if the connection
/// then ends (here the peer's EOF) and the driver writes the queued bytes
/// out, `consume_output` (proto/src/connection/mod.rs) raised `Writable`
/// after `Closed` had been reported — but `Closed` is documented as the
/// last event, and nothing can be written on an ended connection anyway.
#[test]
fn no_writable_after_closed() {
    let config = {
        let mut config = Config::default();
        config.max_output_buffer = 16;
        config
    };
    let mut s = open_server(config);
    s.send_binary(&[0; 100]).unwrap();
    assert_eq!(s.send_binary(b"x"), Err(UsageError::BufferFull));
    s.recv_eof(Timestamp::ZERO);
    assert_eq!(drain(&mut s), ["Closed(1006, false)"]);
    take_output(&mut s);
    assert_eq!(drain(&mut s), Vec::<String>::new(), "an event after Closed");
    assert!(s.is_closed());
}

/// The same notice while the connection is still open is wanted: it is
/// what `BufferFull` promises.
#[test]
fn writable_follows_buffer_full_while_open() {
    let config = {
        let mut config = Config::default();
        config.max_output_buffer = 16;
        config
    };
    let mut s = open_server(config);
    s.send_binary(&[0; 100]).unwrap();
    assert_eq!(s.send_binary(b"x"), Err(UsageError::BufferFull));
    take_output(&mut s);
    assert_eq!(drain(&mut s), ["Writable"]);
    s.send_binary(b"x").unwrap();
}

/// Feeds `bytes` one byte at a time and whole, and returns both event
/// sequences.
fn split_and_whole(bytes: &[u8]) -> (Vec<String>, Vec<String>) {
    let mut split = open_server(Config::default());
    let mut split_events = Vec::new();
    for b in bytes {
        split.recv(std::slice::from_ref(b));
        split_events.extend(drain(&mut split));
    }
    let mut whole = open_server(Config::default());
    whole.recv(bytes);
    (split_events, drain(&mut whole))
}

/// Sanity check for the helper: a valid stream gives the same events cut
/// anywhere.
#[test]
fn valid_frames_are_split_invariant() {
    let bytes = [
        client_frame(true, OpCode::Text, b"Hello"),
        client_frame(true, OpCode::Ping, b"p"),
    ]
    .concat();
    let (split, whole) = split_and_whole(&bytes);
    assert_eq!(split, whole);
    assert_eq!(whole.len(), 2);
}

/// The error a frame fails with must not depend on how its header was
/// cut: the fail-fast checks on a partial header (RSV on byte 0, MASK on
/// byte 1) must come in the same order as on a complete one.
#[test]
fn header_errors_do_not_depend_on_the_split() {
    let cases: &[&[u8]] = &[
        // A ping with RSV1 set and a 126 length marker: RSV (byte 0) comes
        // before the control length (byte 1).
        &[0xc9, 0xfe, 0x00, 0x80, 1, 2, 3, 4],
        // An unmasked binary frame with a 64-bit length whose top bit is
        // set: MASK (byte 1) comes before the length (byte 2).
        &[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1],
        // A reserved opcode without RSV bits, unmasked: the opcode (byte
        // 0) comes before the MASK bit (byte 1).
        &[0x03, 0x00],
    ];
    for bytes in cases {
        let (split, whole) = split_and_whole(bytes);
        assert_eq!(split, whole, "{bytes:02x?}");
        assert!(
            whole.first().is_some_and(|e| e.starts_with("Failed(")),
            "{whole:?}"
        );
    }
    // The verdicts follow byte order.
    let expected = [
        ProtocolError::ReservedBitsSet(4),
        ProtocolError::UnmaskedClientFrame,
        ProtocolError::ReservedOpcode(3),
    ];
    for (bytes, error) in cases.iter().zip(expected) {
        let (_, whole) = split_and_whole(bytes);
        assert_eq!(whole[0], format!("Failed({error:?})"), "{bytes:02x?}");
    }
}

mod heap {
    //! Heap bytes live on the current thread, so tests running in parallel
    //! do not see each other's allocations.
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
    }

    fn add(n: isize) {
        // `try_with`: during thread teardown the counter may be gone.
        let _ = LIVE.try_with(|live| live.set(live.get() + n));
    }

    /// Heap bytes this thread has allocated and not freed.
    pub fn live() -> isize {
        LIVE.with(Cell::get)
    }

    struct Counting;

    // SAFETY: forwards every call to `System` unchanged; only counts.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            add(layout.size() as isize);
            System.alloc(layout)
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            add(-(layout.size() as isize));
            System.dealloc(ptr, layout)
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            add(new_size as isize - layout.size() as isize);
            System.realloc(ptr, layout, new_size)
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;
}

/// A driver that writes out all but a few bytes each time and keeps sending
/// whenever the core has room (a slow reader that never quite catches up)
/// must not make the connection hold more than a bounded amount of memory:
/// `buffered_amount` stays under the limit, and so should the heap.
///
/// It once did not: `Output::consume` (proto/src/connection/output.rs)
/// freed the written prefix only when the whole queue had been written, so
/// with this driver the queue grew by every message sent (about 2 MB here)
/// while `buffered_amount()` stayed at 10; `connection_server`'s heap oracle
/// found it too. The written prefix is now dropped once it passes half the
/// queue.
#[test]
fn output_memory_is_bounded_when_never_fully_drained() {
    let config = {
        let mut config = Config::default();
        config.max_output_buffer = 4096;
        config
    };
    let mut s = open_server(config);
    let message = vec![0x42u8; 1000];
    let before = heap::live();
    for _ in 0..2000 {
        s.send_binary(&message).unwrap();
        let pending = s.pending_output().len();
        s.consume_output(pending.saturating_sub(10));
        assert!(s.buffered_amount() <= 4096);
    }
    let held = heap::live() - before;
    assert!(
        held < 64 * 1024,
        "connection holds {held} heap bytes with {} buffered",
        s.buffered_amount()
    );
}

/// A message sent in 1-byte fragments must not make the output queue hold
/// much more than the bytes it has to write (`Vec` doubling allows twice).
///
/// It once held ten times as much: `push_message_rsv`
/// (proto/src/encode.rs) reserved the 14-byte worst-case header per frame,
/// 15 bytes per payload byte where an unmasked 1-byte frame takes 3, so a
/// 37,471-byte text message (112,413 bytes on the wire) reserved 562,065;
/// sent again while 1,558 bytes of the first were still queued, the queue
/// doubled that to 1,124,130 with 113,971 buffered. `connection_server`
/// found it (the input is fuzz/corpus/connection_server/heap-bound-fragment-1:
/// a server with `fragment_size` 1 sending generated text of those sizes
/// to a reader that writes out a few kilobytes at a time). A message now
/// reserves exactly its wire size.
#[test]
fn one_byte_fragments_do_not_inflate_the_output_queue() {
    let config = {
        let mut config = Config::default();
        config.fragment_size = 1;
        config
    };
    let mut s = open_server(config);
    let text = "a".repeat(37_471);
    let before = heap::live();
    s.send_text(&text).unwrap();
    assert_eq!(s.buffered_amount(), 3 * text.len());
    // The slow reader leaves the end of the first message queued.
    let mut left = s.buffered_amount();
    while left > 1558 {
        let n = s.pending_output().len().min(left - 1558);
        s.consume_output(n);
        left = s.buffered_amount();
    }
    s.send_text(&text).unwrap();
    let buffered = s.buffered_amount();
    assert_eq!(buffered, 1558 + 3 * text.len());
    let held = heap::live() - before;
    assert!(
        held <= (2 * buffered + 16 * 1024) as isize,
        "connection holds {held} heap bytes with {buffered} buffered"
    );
}
