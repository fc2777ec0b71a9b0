//! Startup snapshots.

use std::ffi::c_char;

use crate::abi::boundary::guarded;
use crate::abi::error::v8rs_error;
use crate::abi::strings::{bytes, hand_out, non_null};
use crate::abi::types::v8rs_code;
use crate::engine::Error;

/// Runs the `n` scripts (`sources[i]`, `source_lens[i]` bytes, named `names[i]`,
/// `name_lens[i]` bytes) in order in a fresh context, and writes a snapshot of the heap
/// they leave to `*snapshot_out` (`*snapshot_len_out` bytes; free it with
/// `v8rs_string_free`). Start VMs from it with `v8rs_vm_new_from_snapshot`.
///
/// A snapshot keeps globals, functions and closures. It cannot keep host functions, nor
/// `Intl` objects (formatters, collators…) that are still reachable when the scripts end —
/// V8 aborts the process on those: create them lazily, after start-up. Nor can it be
/// made while VMs are alive in the process (`V8RS_CODE_INVALID_STATE`; V8 would crash):
/// make snapshots first, or in a separate process — as `v8cffi` does by default.
///
/// Errors: `V8RS_CODE_JS_ERROR` when a script throws; `V8RS_CODE_INVALID_ARGUMENT` for
/// NULL arrays or text that is not UTF-8; `V8RS_CODE_INVALID_STATE` when the platform is
/// not set up.
///
/// # Safety
/// Each array has `n` entries, each entry pointing to its length in readable bytes;
/// out-params are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_snapshot_create(
    names: *const *const c_char,
    name_lens: *const usize,
    sources: *const *const c_char,
    source_lens: *const usize,
    n: usize,
    snapshot_out: *mut *mut c_char,
    snapshot_len_out: *mut usize,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        let snapshot_out = non_null(snapshot_out, "snapshot_out")?;
        if n > 0
            && (names.is_null()
                || name_lens.is_null()
                || sources.is_null()
                || source_lens.is_null())
        {
            return Err(Error::invalid_argument("a script array is NULL"));
        }
        let scripts = (0..n)
            .map(|i| {
                // SAFETY: each array has `n` entries (the caller's contract).
                let (name, name_len, source, source_len) = unsafe {
                    (
                        *names.add(i),
                        *name_lens.add(i),
                        *sources.add(i),
                        *source_lens.add(i),
                    )
                };
                // SAFETY: each entry has its length in readable bytes.
                Ok(unsafe {
                    (
                        bytes(name, name_len, "a name")?,
                        bytes(source, source_len, "a source")?,
                    )
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let snapshot = crate::engine::snapshot::create(&scripts)?;
        // SAFETY: `snapshot_out` is non-NULL and writable, the length NULL or writable.
        unsafe { hand_out(&snapshot, snapshot_out, snapshot_len_out) }
    })
}
