//! A whole `Connection` in the server role with a per-connection rate
//! limit (RFC 6455 §10.4): the first four input bytes choose it (messages
//! per period, an optional byte bucket, close or pause), the rest is
//! `connection_server`'s input. Every oracle of `ws6455_fuzz::conn`
//! applies, plus the limit's own: no more messages than it allows.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ws6455_fuzz::conn::run_rate_limited(data));
