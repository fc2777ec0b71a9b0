//! Budgets for the memory a VM holds outside its heap: `ArrayBuffer` contents and
//! WebAssembly memories.
//!
//! V8's heap limit does not count array buffer contents, so without a budget one line
//! (`new Uint8Array(2 ** 32)`) takes gigabytes whatever `max_heap_size` says. A VM made
//! with `max_heap_size` gets an allocator that refuses to hold more than that much in
//! array buffers: V8 then collects garbage, retries, and finally throws a `RangeError`
//! ("Array buffer allocation failed") that the script may catch. WebAssembly memories
//! are not allocated through it; they draw on a budget of their own (see `wasm.rs`).
//!
//! V8 cannot take a refusal while it deserializes a context from a snapshot (it aborts
//! the process on an array buffer it could not allocate), so context creation lets the
//! budget pass its limit ([`Budget::overcommit`]) and then checks it.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

/// Bytes held against one limit, and how many may be held.
pub(crate) struct Budget {
    used: AtomicUsize,
    limit: usize,
    overcommit: AtomicBool,
    /// Where V8 is in its retries of an array buffer the allocator refused
    /// ([`Budget::last_resort`]).
    retry: AtomicU8,
}

/// [`Budget::retry`]: no refusal pending.
const IDLE: u8 = 0;
/// The allocator refused; V8 collects and retries.
const REFUSED: u8 = 1;
/// V8 called its near-heap-limit callback as the last resort; one retry is left.
const LAST_RESORT: u8 = 2;

/// Lets a [`Budget`]'s reservations pass its limit until dropped.
pub(crate) struct Overcommit<'a>(&'a Budget);

impl Drop for Overcommit<'_> {
    fn drop(&mut self) {
        self.0.overcommit.store(false, Ordering::Relaxed);
    }
}

impl Budget {
    /// A budget of `limit` bytes, none used.
    pub(crate) fn new(limit: usize) -> Budget {
        Budget {
            used: AtomicUsize::new(0),
            limit,
            overcommit: AtomicBool::new(false),
            retry: AtomicU8::new(IDLE),
        }
    }

    /// Whether V8 calls its near-heap-limit callback now as the last resort for an array
    /// buffer this budget refused — it does, after two collections, before a last try
    /// (`Heap::AllocateExternalBackingStore`) — rather than for a full heap. True once
    /// per refused allocation.
    pub(crate) fn last_resort(&self) -> bool {
        self.retry
            .compare_exchange(REFUSED, LAST_RESORT, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }

    /// Notes what the allocator answered V8 (see [`Self::last_resort`]).
    fn note(&self, allocated: bool) {
        let now = self.retry.load(Ordering::Relaxed);
        // A refusal after the last resort is the last one: the allocation failed.
        let next = if allocated || now == LAST_RESORT {
            IDLE
        } else {
            REFUSED
        };
        if now != next {
            self.retry.store(next, Ordering::Relaxed);
        }
    }

    /// Reservations pass the limit while the guard lives (what V8 must allocate, it
    /// gets); check [`Self::over_limit`] after.
    pub(crate) fn overcommit(&self) -> Overcommit<'_> {
        self.overcommit.store(true, Ordering::Relaxed);
        Overcommit(self)
    }

    /// The bytes held, when that is more than the limit (after an [`Self::overcommit`]).
    pub(crate) fn over_limit(&self) -> Option<usize> {
        let used = self.used.load(Ordering::Relaxed);
        (used > self.limit).then_some(used)
    }

    /// How many bytes may be held in all.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// How many bytes are not held.
    pub(crate) fn available(&self) -> usize {
        self.limit.saturating_sub(self.used.load(Ordering::Relaxed))
    }

    /// Reserves `len` bytes; false when that would pass the limit.
    pub(crate) fn reserve(&self, len: usize) -> bool {
        let overcommit = self.overcommit.load(Ordering::Relaxed);
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(len)
                    .filter(|&total| overcommit || total <= self.limit)
            })
            .is_ok()
    }

    /// Gives back `len` reserved bytes.
    pub(crate) fn release(&self, len: usize) {
        self.used.fetch_sub(len, Ordering::Relaxed);
    }
}

/// An array buffer allocator that holds at most what `budget` allows at a time.
pub(crate) fn limited_allocator(budget: Arc<Budget>) -> v8::UniqueRef<v8::Allocator> {
    // SAFETY: the handle is an `Arc<Budget>` turned into a raw pointer, which the
    // vtable's functions read as `&Budget` and `drop` gives back exactly once.
    unsafe { v8::new_rust_allocator(Arc::into_raw(budget), &VTABLE) }
}

static VTABLE: v8::RustAllocatorVtable<Budget> = v8::RustAllocatorVtable {
    allocate,
    allocate_uninitialized,
    free,
    drop,
};

// The vtable's functions are called by V8: each body is behind the panic boundary,
// and a panic there is an allocation failure (NULL), which V8 reports as a RangeError.

unsafe extern "C" fn allocate(budget: &Budget, len: usize) -> *mut c_void {
    // SAFETY: plain calloc; V8 frees the block through `free` below.
    let body = || reserve_and(budget, len, || unsafe { libc::calloc(len.max(1), 1) });
    crate::engine::panic::catch(body).unwrap_or(std::ptr::null_mut())
}

unsafe extern "C" fn allocate_uninitialized(budget: &Budget, len: usize) -> *mut c_void {
    // SAFETY: plain malloc; V8 frees the block through `free` below.
    let body = || reserve_and(budget, len, || unsafe { libc::malloc(len.max(1)) });
    crate::engine::panic::catch(body).unwrap_or(std::ptr::null_mut())
}

/// Reserves `len` bytes of `budget` and allocates them with `alloc`; NULL (and
/// nothing reserved) when either fails.
fn reserve_and(budget: &Budget, len: usize, alloc: impl FnOnce() -> *mut c_void) -> *mut c_void {
    if !budget.reserve(len) {
        budget.note(false);
        return std::ptr::null_mut();
    }
    let block = alloc();
    if block.is_null() {
        budget.release(len);
    }
    budget.note(!block.is_null());
    block
}

unsafe extern "C" fn free(budget: &Budget, data: *mut c_void, len: usize) {
    let _ = crate::engine::panic::catch(|| {
        if !data.is_null() {
            budget.release(len);
            // SAFETY: `data` came from `allocate` or `allocate_uninitialized`.
            unsafe { libc::free(data) };
        }
    });
}

unsafe extern "C" fn drop(budget: *const Budget) {
    // SAFETY: the pointer from `Arc::into_raw` in `limited_allocator`, dropped once.
    let _ = crate::engine::panic::catch(|| std::mem::drop(unsafe { Arc::from_raw(budget) }));
}

#[cfg(test)]
mod tests {
    use super::Budget;

    #[test]
    fn the_budget_refuses_what_would_pass_the_limit() {
        let budget = Budget::new(100);
        assert!(budget.reserve(60));
        assert!(!budget.reserve(41));
        assert!(budget.reserve(40));
        assert!(!budget.reserve(1));
        budget.release(60);
        assert_eq!(budget.available(), 60);
        assert!(budget.reserve(60));
        assert!(!budget.reserve(usize::MAX));
        assert_eq!(budget.limit(), 100);
    }

    #[test]
    fn the_last_resort_is_told_once_per_refused_allocation() {
        let budget = Budget::new(100);
        // Nothing refused: the callback is for a full heap.
        assert!(!budget.last_resort());
        // V8's retries of one allocation: refused, refused, refused, the last resort,
        // refused again (the allocation fails).
        for _ in 0..3 {
            budget.note(false);
        }
        assert!(budget.last_resort());
        assert!(!budget.last_resort());
        budget.note(false);
        // A later callback is for the heap.
        assert!(!budget.last_resort());
        // One that the collections made room for.
        budget.note(false);
        budget.note(true);
        assert!(!budget.last_resort());
    }

    #[test]
    fn an_overcommit_passes_the_limit_while_it_lasts() {
        let budget = Budget::new(100);
        assert!(budget.reserve(90));
        {
            let _passing = budget.overcommit();
            assert!(budget.reserve(50));
            assert!(!budget.reserve(usize::MAX)); // no overflow, even so
        }
        assert_eq!(budget.over_limit(), Some(140));
        assert!(!budget.reserve(1));
        budget.release(50);
        assert_eq!(budget.over_limit(), None);
    }
}
