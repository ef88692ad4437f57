//! The vectored send path (`send_*_vectored`, the `write` callback) against
//! the plain queueing path on an identically opened connection, byte for
//! byte, under every way a transport can cut what it is offered; and what
//! it wrote read back by a peer. The input format and every oracle are
//! described in `ws6455_fuzz::vectored`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ws6455_fuzz::vectored::run(data));
