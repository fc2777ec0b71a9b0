//! Keeps V8's stack limit right for whichever thread holds a VM.
//!
//! V8 assumes every thread has `--stack-size` (984 KiB by default) of stack below the
//! point where it first takes the isolate. A thread with less (a Python thread after
//! `threading.stack_size(256 * 1024)`, say) would overflow its real stack before V8
//! noticed, and crash. So on every lock we set the limit from the thread's actual stack
//! bounds: V8's own budget below the current position, but never closer than a safety
//! margin to the real end of the stack. Deep recursion then raises a `RangeError` on
//! any thread.

use std::cell::Cell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};

/// V8's default `--stack-size` on 64-bit targets, in KiB.
const DEFAULT_STACK_SIZE_KIB: usize = 984;

/// Room left below V8's limit for the native frames that run after a limit check
/// (runtime functions, our own frames, the error capture).
const SAFETY_MARGIN: usize = 64 * 1024;

static STACK_SIZE_KIB: AtomicUsize = AtomicUsize::new(DEFAULT_STACK_SIZE_KIB);

thread_local! {
    /// The lowest usable address of this thread's stack, once looked up.
    static STACK_LOW: Cell<Option<usize>> = const { Cell::new(None) };
}

extern "C" {
    // `void v8::Isolate::SetStackLimit(uintptr_t)`, in the V8 library the `v8` crate
    // links; the crate itself does not bind it.
    #[link_name = "_ZN2v87Isolate13SetStackLimitEm"]
    fn v8_isolate_set_stack_limit(isolate: *mut c_void, limit: usize);
}

/// Remembers a `--stack-size=N` (or `--stack_size`) among V8 `flags`.
pub(crate) fn note_flags(flags: &str) {
    let mut words = flags.split_whitespace();
    while let Some(word) = words.next() {
        let word = word.replace('_', "-");
        let value = match word.strip_prefix("--stack-size") {
            Some(rest) if rest.starts_with('=') => rest[1..].to_string(),
            Some("") => words.next().unwrap_or_default().to_string(),
            _ => continue,
        };
        if let Ok(kib) = value.parse::<usize>() {
            STACK_SIZE_KIB.store(kib, Ordering::Relaxed);
        }
    }
}

/// Bytes of stack left below the caller's frame on this thread, when known.
pub(crate) fn remaining() -> Option<usize> {
    let marker = 0u8;
    let here = std::ptr::addr_of!(marker) as usize;
    stack_low().map(|low| here.saturating_sub(low))
}

/// Room that recursive Rust code (the wire-format reader and writer) keeps free below
/// it: past this, it fails with an error instead of overflowing the stack.
pub(crate) const RECURSION_RESERVE: usize = SAFETY_MARGIN;

/// Whether the current thread still has more than [`RECURSION_RESERVE`] of stack.
pub(crate) fn has_room() -> bool {
    remaining().is_none_or(|left| left > RECURSION_RESERVE)
}

/// Sets `isolate`'s stack limit for the current thread (which holds its lock).
pub(crate) fn set_limit_for_current_thread(isolate: &mut v8::Isolate) {
    let marker = 0u8;
    let here = std::ptr::addr_of!(marker) as usize;
    let budget = STACK_SIZE_KIB.load(Ordering::Relaxed) * 1024;
    let mut limit = here.saturating_sub(budget);
    if let Some(low) = stack_low() {
        limit = limit.max(low + SAFETY_MARGIN);
    }
    // SAFETY: `v8::Isolate` is a transparent wrapper around the C++ isolate pointer;
    // the caller holds the isolate's lock on this thread, as SetStackLimit requires.
    unsafe {
        let raw = *(isolate as *mut v8::Isolate as *const *mut c_void);
        v8_isolate_set_stack_limit(raw, limit);
    }
}

fn stack_low() -> Option<usize> {
    STACK_LOW.with(|cell| {
        if cell.get().is_none() {
            cell.set(query_stack_low());
        }
        cell.get()
    })
}

/// Asks the C library where this thread's stack ends (its lowest address, above the
/// guard page).
fn query_stack_low() -> Option<usize> {
    // SAFETY: plain pthread queries on the current thread into local out-params; the
    // attribute object is destroyed after use.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr: *mut c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let mut guard: libc::size_t = 0;
        let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0;
        libc::pthread_attr_getguardsize(&attr, &mut guard);
        libc::pthread_attr_destroy(&mut attr);
        (ok && !addr.is_null()).then(|| addr as usize + guard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "asks glibc for the thread's stack")]
    fn a_small_thread_knows_its_room() {
        let left = std::thread::Builder::new()
            .stack_size(160 * 1024)
            .spawn(|| (remaining(), has_room()))
            .unwrap()
            .join()
            .unwrap();
        let (remaining, room) = left;
        assert!(remaining.unwrap() < 160 * 1024);
        assert!(room);
    }

    #[test]
    #[cfg_attr(miri, ignore = "asks glibc for the thread's stack")]
    fn the_stack_of_this_thread_is_found() {
        let low = query_stack_low().expect("stack bounds");
        let marker = 0u8;
        let here = std::ptr::addr_of!(marker) as usize;
        assert!(low < here && here - low < 1 << 30);
    }
}
