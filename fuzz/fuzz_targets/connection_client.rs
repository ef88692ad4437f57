//! A whole `Connection` in the client role, driven by a script of arbitrary
//! API calls interleaved with arbitrary chunks of peer bytes. The input
//! format and every oracle are described in `ws6455_fuzz::conn`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ws6455_fuzz::conn::run(ws6455_proto::Role::Client, data));
