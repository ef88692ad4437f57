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
//! Buffers of 8 MiB and more (giant messages) come from jemalloc's
//! oversize arena, which [`keep_giant_buffers_longer`] gives a longer
//! decay: see there for why.
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

/// How long the oversize arena keeps freed pages before purging them.
#[cfg(target_os = "linux")]
const GIANT_DECAY_MS: isize = 5_000;

/// The smallest allocation jemalloc serves from its oversize arena
/// (`oversize_threshold`, 8 MiB by default).
#[cfg(target_os = "linux")]
const OVERSIZE: usize = 8 << 20;

/// Give jemalloc's oversize arena (allocations of 8 MiB and more) a decay of
/// five seconds instead of the one second every other arena keeps.
///
/// Why: an echo of 16 MiB messages frees a 16 MiB buffer and allocates
/// another for every message on every connection. At one second of decay
/// the background thread purged much of each freed buffer before it was
/// reused, and the next one faulted its pages back in. Measured on 100
/// connections echoing 16 MiB, steady state: 1,669 minor faults per echoed
/// message at one second, 361 at five, and 1.22× the echoes per server
/// CPU-second (medians of 3 alternating runs, load 1.3–1.9). A global
/// five-second decay does the same but keeps everything freed after a
/// burst for five seconds: RSS per idle connection after a message each
/// way doubled (276 → 553 B, `bench --idle --warm --hold 2`). Giant
/// buffers still go back within five seconds, inside the ten that
/// `benches/churn.sh` waits.
///
/// One giant allocation tells which arena serves them (`arenas.lookup`),
/// and that arena's decay is set. Call it once, at the start of `main`.
/// Returns jemalloc's error number if a control call fails (the decay then
/// stays at one second; nothing else changes).
#[cfg(target_os = "linux")]
pub fn keep_giant_buffers_longer() -> Result<(), i32> {
    // Never written, so none of its pages becomes resident.
    let giant: Vec<u8> = Vec::with_capacity(OVERSIZE);
    let arena = arena_of(std::hint::black_box(&giant).as_ptr());
    drop(giant);
    write_isize(&arena_control(arena?, "dirty_decay_ms"), GIANT_DECAY_MS)
}

/// The index of the arena that allocated `ptr` (`arenas.lookup`).
#[cfg(target_os = "linux")]
fn arena_of(ptr: *const u8) -> Result<u32, i32> {
    let mut index: u32 = 0;
    let mut len = std::mem::size_of::<u32>();
    let mut ptr = ptr.cast::<std::ffi::c_void>();
    // SAFETY: the name is NUL-terminated; `index`/`len` are valid for writes
    // and `len` is the size of `index` (jemalloc's `unsigned`); the new
    // value is a pointer, passed by address with its size, as
    // `arenas.lookup` documents; jemalloc only reads the pointer's value.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            c"arenas.lookup".as_ptr(),
            (&raw mut index).cast(),
            &raw mut len,
            (&raw mut ptr).cast(),
            std::mem::size_of::<*const std::ffi::c_void>(),
        )
    };
    if rc == 0 {
        Ok(index)
    } else {
        Err(rc)
    }
}

/// The name of control `leaf` of arena `index`, NUL-terminated.
#[cfg(target_os = "linux")]
fn arena_control(index: u32, leaf: &str) -> std::ffi::CString {
    // No interior NUL in a number or in our own leaf names.
    std::ffi::CString::new(format!("arena.{index}.{leaf}")).unwrap_or_default()
}

/// Elsewhere the system allocator stays, with nothing to tune.
#[cfg(not(target_os = "linux"))]
pub fn keep_giant_buffers_longer() -> Result<(), i32> {
    Ok(())
}

/// Write an `ssize_t` jemalloc control.
#[cfg(target_os = "linux")]
fn write_isize(name: &std::ffi::CStr, mut value: isize) -> Result<(), i32> {
    // SAFETY: `name` is NUL-terminated; `value` is valid for reads for
    // `size_of::<isize>()` bytes, the type jemalloc documents for the decay
    // controls (ssize_t); no old value is asked for.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            (&raw mut value).cast(),
            std::mem::size_of::<isize>(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(rc)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Read an `ssize_t` jemalloc control.
    fn read_isize(name: &std::ffi::CStr) -> Result<isize, i32> {
        let mut value: isize = 0;
        let mut len = std::mem::size_of::<isize>();
        // SAFETY: `name` is NUL-terminated; `value` and `len` are valid for
        // writes and `len` is the size of `value`, the type jemalloc documents
        // for the decay controls (ssize_t); no new value is passed.
        let rc = unsafe {
            tikv_jemalloc_sys::mallctl(
                name.as_ptr(),
                (&raw mut value).cast(),
                &raw mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        if rc == 0 {
            Ok(value)
        } else {
            Err(rc)
        }
    }

    /// The dirty-page decay of the arena that allocated `ptr`.
    fn decay_of(ptr: *const u8) -> isize {
        let arena = arena_of(ptr).unwrap();
        read_isize(&arena_control(arena, "dirty_decay_ms")).unwrap()
    }

    #[test]
    fn giant_buffers_keep_freed_pages_longer_than_the_others() {
        assert_eq!(
            read_isize(c"arenas.dirty_decay_ms"),
            Ok(1_000),
            "cli/src/alloc.rs's malloc_conf was not applied"
        );
        keep_giant_buffers_longer().unwrap();
        let giant: Vec<u8> = Vec::with_capacity(OVERSIZE);
        let large: Vec<u8> = Vec::with_capacity(OVERSIZE / 2);
        let small: Vec<u8> = Vec::with_capacity(64);
        assert_eq!(decay_of(giant.as_ptr()), GIANT_DECAY_MS);
        assert_eq!(decay_of(large.as_ptr()), 1_000);
        assert_eq!(decay_of(small.as_ptr()), 1_000);
    }
}
