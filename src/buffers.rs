//! A budget for the memory that a VM's `ArrayBuffer`s hold outside its heap.
//!
//! V8's heap limit does not count array buffer contents, so without a budget one line
//! (`new Uint8Array(2 ** 32)`) takes gigabytes whatever `max_heap_size` says. A VM made
//! with `max_heap_size` gets an allocator that refuses to hold more than that much in
//! array buffers: V8 then collects garbage, retries, and finally throws a `RangeError`
//! ("Array buffer allocation failed") that the script may catch.

use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Bytes held by one VM's array buffers, and how many it may hold.
struct Budget {
    used: AtomicUsize,
    limit: usize,
}

impl Budget {
    /// Reserves `len` bytes; false when that would pass the limit.
    fn reserve(&self, len: usize) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(len).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    fn release(&self, len: usize) {
        self.used.fetch_sub(len, Ordering::Relaxed);
    }
}

/// An array buffer allocator that holds at most `limit` bytes at a time.
pub(crate) fn limited_allocator(limit: usize) -> v8::UniqueRef<v8::Allocator> {
    let budget = Arc::new(Budget {
        used: AtomicUsize::new(0),
        limit,
    });
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

unsafe extern "C" fn allocate(budget: &Budget, len: usize) -> *mut c_void {
    if !budget.reserve(len) {
        return std::ptr::null_mut();
    }
    // SAFETY: plain calloc; V8 frees the block through `free` below.
    let block = unsafe { libc::calloc(len.max(1), 1) };
    if block.is_null() {
        budget.release(len);
    }
    block
}

unsafe extern "C" fn allocate_uninitialized(budget: &Budget, len: usize) -> *mut c_void {
    if !budget.reserve(len) {
        return std::ptr::null_mut();
    }
    // SAFETY: plain malloc; V8 frees the block through `free` below.
    let block = unsafe { libc::malloc(len.max(1)) };
    if block.is_null() {
        budget.release(len);
    }
    block
}

unsafe extern "C" fn free(budget: &Budget, data: *mut c_void, len: usize) {
    if !data.is_null() {
        budget.release(len);
        // SAFETY: `data` came from `allocate` or `allocate_uninitialized`.
        unsafe { libc::free(data) };
    }
}

unsafe extern "C" fn drop(budget: *const Budget) {
    // SAFETY: the pointer from `Arc::into_raw` in `limited_allocator`, dropped once.
    std::mem::drop(unsafe { Arc::from_raw(budget) });
}

#[cfg(test)]
mod tests {
    use super::Budget;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn the_budget_refuses_what_would_pass_the_limit() {
        let budget = Budget {
            used: AtomicUsize::new(0),
            limit: 100,
        };
        assert!(budget.reserve(60));
        assert!(!budget.reserve(41));
        assert!(budget.reserve(40));
        assert!(!budget.reserve(1));
        budget.release(60);
        assert!(budget.reserve(60));
        assert!(!budget.reserve(usize::MAX));
    }
}
