//! A global allocator that counts the live heap bytes allocated and freed
//! on marked threads (an event loop's), for tests that check what the
//! library holds rather than what the allocator keeps.
//!
//! A test binary installs it with
//! `#[global_allocator] static GLOBAL: ThreadLive = ThreadLive;` and marks
//! the loop's thread from its handler factory with [`count_this_thread`],
//! so that the clients' own buffers do not blur the figure.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

/// The counting allocator (the system allocator underneath).
pub struct ThreadLive;

static LIVE: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Set on the threads whose allocations count.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

/// Count the allocations of the calling thread from now on.
pub fn count_this_thread() {
    COUNTED.with(|c| c.set(true));
}

fn counted() -> bool {
    COUNTED.try_with(Cell::get).unwrap_or(false)
}

fn add(bytes: usize) {
    if counted() {
        LIVE.fetch_add(
            isize::try_from(bytes).unwrap_or(isize::MAX),
            Ordering::Relaxed,
        );
    }
}

fn sub(bytes: usize) {
    if counted() {
        LIVE.fetch_sub(
            isize::try_from(bytes).unwrap_or(isize::MAX),
            Ordering::Relaxed,
        );
    }
}

/// Live heap bytes of the counted threads (allocated there and not yet
/// freed there).
pub fn live() -> isize {
    LIVE.load(Ordering::SeqCst)
}

/// The live heap once it stops moving (two readings 100 ms apart agree),
/// or the last reading after `within`.
pub fn settled(within: Duration) -> isize {
    let mut now = live();
    crate::eventually(within, || {
        let before = live();
        std::thread::sleep(Duration::from_millis(100));
        now = live();
        now == before
    });
    now
}

// SAFETY: every call forwards to the system allocator with the caller's
// arguments unchanged; counting touches only an atomic and a thread-local
// flag (read with `try_with`, so it is safe during thread teardown).
unsafe impl GlobalAlloc for ThreadLive {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            add(layout.size());
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        sub(layout.size());
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            add(layout.size());
        }
        ptr
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            sub(layout.size());
            add(new_size);
        }
        new
    }
}
