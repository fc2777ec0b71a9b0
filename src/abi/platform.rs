//! The process-wide platform, and process-wide figures.

use std::ffi::c_char;
use std::ptr;
use std::sync::OnceLock;

use crate::abi::boundary::{guarded, shielded};
use crate::abi::error::v8rs_error;
use crate::abi::strings::bytes;
use crate::abi::types::v8rs_code;
use crate::engine::{platform, Context, Error, Text, Vm};

/// The version of the C ABI this library implements: compare it with the header's
/// `V8RS_ABI_VERSION` before any other call (a library built from another version of
/// the header may take other arguments).
#[no_mangle]
pub extern "C" fn v8rs_abi_version() -> u32 {
    shielded(0, || crate::abi::types::V8RS_ABI_VERSION)
}

/// The version of V8 inside, as a static NUL-terminated string (e.g. `"15.2.124.1"`).
#[no_mangle]
pub extern "C" fn v8rs_version() -> *const c_char {
    static VERSION: OnceLock<Text> = OnceLock::new();
    shielded(ptr::null(), || {
        VERSION
            .get_or_init(|| Text::from(platform::v8_version()))
            .as_ptr() as *const c_char
    })
}

/// Initialises V8 for this process, once. `flags` (`flags_len` bytes, may be NULL when
/// 0) are V8 command-line flags such as `"--max-old-space-size=64"`.
///
/// Errors: `V8RS_CODE_INVALID_STATE` on a second call, including after tear-down (V8
/// cannot be initialised twice in one process); `V8RS_CODE_INVALID_ARGUMENT` for flags
/// that are not UTF-8 or contain `--help` (V8 would end the process) or a NUL (then the
/// call may be made again), or that V8 does not know or cannot read (the message names
/// them; V8 may have kept the flags before them, so later calls fail with
/// `V8RS_CODE_INVALID_STATE`: set up in a new process).
///
/// Thread safety: may be called from any thread; threads created before it may use V8.
///
/// # Safety
/// `flags` points to `flags_len` readable bytes (or is NULL with 0); `error_out` is NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_platform_set_up(
    flags: *const c_char,
    flags_len: usize,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: `flags` has `flags_len` readable bytes (the caller's contract).
        let flags = unsafe { bytes(flags, flags_len, "flags") }?;
        let flags = std::str::from_utf8(flags)
            .map_err(|_| Error::invalid_argument("the flags are not valid UTF-8"))?;
        platform::set_up(flags)
    })
}

/// Tears the platform down for good. VMs that are still alive keep V8 loaded until
/// they are freed, but every call on them fails with `V8RS_CODE_INVALID_STATE`.
///
/// Errors: `V8RS_CODE_INVALID_STATE` when the platform is not set up or already torn
/// down.
#[no_mangle]
pub extern "C" fn v8rs_platform_tear_down(error_out: *mut *mut v8rs_error) -> v8rs_code {
    guarded(error_out, platform::tear_down)
}

/// Whether the platform is set up and not torn down.
#[no_mangle]
pub extern "C" fn v8rs_platform_is_alive() -> bool {
    shielded(false, platform::is_alive)
}

/// Makes SIGINT (Ctrl-C) stop the JavaScript that the calling thread runs, from now
/// on: that call fails with `V8RS_CODE_TERMINATED`, then the SIGINT handler installed
/// before runs as usual (for Python, the one raising `KeyboardInterrupt`). Call it on
/// the thread that should be interruptible (the main thread), and again after
/// replacing the SIGINT handler.
///
/// # Safety
/// `error_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_platform_watch_sigint(error_out: *mut *mut v8rs_error) -> v8rs_code {
    guarded(error_out, crate::engine::sigint::watch_current_thread)
}

/// Writes how the code cache has fared in this process (each out-param may be NULL).
///
/// # Safety
/// Each out-param is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_code_cache_stats(
    hits_out: *mut u64,
    misses_out: *mut u64,
    rejected_out: *mut u64,
) {
    shielded((), || {
        let (hits, misses, rejected) = crate::engine::code_cache::stats();
        for (out, value) in [
            (hits_out, hits),
            (misses_out, misses),
            (rejected_out, rejected),
        ] {
            if !out.is_null() {
                // SAFETY: a writable `uint64_t` (the caller's contract).
                unsafe { *out = value };
            }
        }
    })
}

/// Writes how many source maps were parsed in this process, and how many could not be
/// read or parsed (each out-param may be NULL). A map is parsed once per VM and cached
/// (keyed by the script's name and a hash of its source), however many errors use it.
///
/// # Safety
/// Each out-param is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_source_map_stats(parsed_out: *mut u64, failed_out: *mut u64) {
    shielded((), || {
        let (parsed, failed) = crate::engine::source_map::stats();
        for (out, value) in [(parsed_out, parsed), (failed_out, failed)] {
            if !out.is_null() {
                // SAFETY: non-NULL, so writable (the caller's contract).
                unsafe { *out = value };
            }
        }
    })
}

/// Frees a string returned through an out-param (NULL is a no-op).
///
/// # Safety
/// `string` is NULL or a string from an out-param of this library, not freed yet.
#[no_mangle]
pub unsafe extern "C" fn v8rs_string_free(string: *mut c_char) {
    // SAFETY: NULL or a buffer this library `malloc`ed (the caller's contract).
    shielded((), || unsafe { libc::free(string as *mut libc::c_void) })
}

/// Frees what a call left in two out-params and sets them to NULL: the string at
/// `*string` (as `v8rs_string_free`) and the error at `*error` (as `v8rs_error_free`).
/// For a caller whose reading of a call's results was cut short (by a signal handler's
/// exception, say): one call does the cleanup, which nothing then interrupts. NULL
/// pointers (either out-param, or what one holds) are skipped.
///
/// # Safety
/// `string` and `error` are NULL or writable; what they hold is NULL or a string / an
/// error from this library, not freed yet.
#[no_mangle]
pub unsafe extern "C" fn v8rs_free_unread(string: *mut *mut c_char, error: *mut *mut v8rs_error) {
    shielded((), || {
        if !string.is_null() {
            // SAFETY: writable, and holds NULL or a string of this library (the contract).
            unsafe {
                libc::free(*string as *mut libc::c_void);
                *string = ptr::null_mut();
            }
        }
        if !error.is_null() {
            // SAFETY: writable, and holds NULL or a live error (the contract).
            unsafe {
                drop(crate::abi::handle::free_box(*error));
                *error = ptr::null_mut();
            }
        }
    })
}

/// Number of VMs alive in the process (for leak checks).
#[no_mangle]
pub extern "C" fn v8rs_live_vm_count() -> usize {
    shielded(0, Vm::live_count)
}

/// Number of contexts alive in the process (for leak checks).
#[no_mangle]
pub extern "C" fn v8rs_live_context_count() -> usize {
    shielded(0, Context::live_count)
}
