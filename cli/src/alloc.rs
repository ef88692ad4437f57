//! The binary's memory allocator: jemalloc on Linux, tuned so that memory
//! freed after a burst of connections goes back to the operating system.
//!
//! Measured with six rounds of 2,000 compressed connections (`bench --idle
//! --warm --deflate`) against `serve`: under glibc's malloc the server's
//! RSS stayed at 700 MB after the connections were gone, with under 1 MB
//! of it in use (`malloc_stats`). glibc serves the ~300 KB compressor
//! blocks from fresh mappings only until the first is freed, then raises
//! its mmap threshold and carves them out of the heap, which one small
//! live allocation near the top keeps from shrinking. jemalloc with a
//! background purging thread returns to within a few MB of its baseline.
//! See `benches/churn.sh` and BENCHMARKS.md for the figures.
//!
//! The library does not choose an allocator: an embedder picks one for
//! its program (this file is how), see the crate docs' "Memory" section.

#[cfg(target_os = "linux")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main` (jemalloc's `malloc_conf`, under
/// the `_rjem_` prefix tikv-jemallocator builds it with):
/// - `background_thread:true`: a thread purges freed pages while the event
///   loop sleeps; without it jemalloc purges only when the program
///   allocates, and an idle server keeps its burst.
/// - `dirty_decay_ms:1000`: freed pages go back within about a second.
/// - `muzzy_decay_ms:0`: straight to `MADV_DONTNEED`, skipping the lazy
///   `MADV_FREE` stage whose pages still count in RSS until the kernel is
///   short of memory.
#[cfg(target_os = "linux")]
#[export_name = "_rjem_malloc_conf"]
#[allow(non_upper_case_globals)]
pub static malloc_conf: &u8 = &b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0"[0];
