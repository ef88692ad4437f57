//! Shared pieces of the ws6455 fuzz targets: the fixed handshake values the
//! seeds are built from, a counting allocator for memory oracles, the check
//! that an HTTP answer is well-formed, the whole-connection driver used by
//! `connection_server` and `connection_client`, and the vectored-send
//! driver used by `vectored_send`.
//!
//! This crate is test code: it panics (that is how libFuzzer learns of a
//! failed oracle), indexes freely and unwraps.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

mod canned;
pub mod conn;
pub mod deflate_session;
mod payload;
pub mod script;
pub mod vectored;
pub mod wire;

/// The §1.3 example `Sec-WebSocket-Key`; its accept value is
/// `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`.
pub const RFC_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The subprotocols our client offers and the canned request carries
/// (the §1.2 example's `chat, superchat`).
pub const OFFERED_PROTOCOLS: &[&str] = &["chat", "superchat"];

/// The §1.2 example request, with the §1.3 key.
pub const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

/// The §1.2 example response to [`RFC_REQUEST`].
pub const RFC_RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Protocol: chat\r\n\r\n";

/// The seed of the client connection's CSPRNG in `connection_client`, so its
/// key (and so the right 101) is the same on every run and in the seeds.
pub const CLIENT_SEED: [u8; 32] = [7; 32];

/// The §5.7 masking key.
pub const RFC_MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Heap bytes currently allocated through the global allocator, to measure
/// what a connection holds.
static LIVE: AtomicIsize = AtomicIsize::new(0);

/// The system allocator, counting live bytes.
pub struct Counting;

// SAFETY: forwards every call to `System` unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap bytes live right now.
pub fn live_bytes() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// Asserts that `out` is one complete, well-formed HTTP/1.1 response to an
/// independent parser (httparse), with status `status`, a `Content-Length`
/// that matches the body, and nothing after the body.
pub fn check_error_response(out: &[u8], status: u16) {
    let mut slots = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut slots);
    let head_len = match response.parse(out) {
        Ok(httparse::Status::Complete(n)) => n,
        other => panic!(
            "error response is not a complete HTTP head: {other:?}\n{}",
            String::from_utf8_lossy(out)
        ),
    };
    assert_eq!(response.version, Some(1));
    assert_eq!(response.code, Some(status));
    assert!(response.reason.is_some_and(|r| !r.is_empty()));
    let length = content_length(response.headers).expect("error response has Content-Length");
    assert_eq!(
        out.len() - head_len,
        length,
        "body length differs from Content-Length"
    );
}

/// The value of the single `Content-Length` header, if there is one.
pub fn content_length(headers: &[httparse::Header<'_>]) -> Option<usize> {
    let mut lengths = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("content-length"));
    let first = lengths.next()?;
    assert!(lengths.next().is_none(), "two Content-Length headers");
    let text = std::str::from_utf8(first.value).expect("ASCII Content-Length");
    Some(text.trim().parse().expect("numeric Content-Length"))
}
