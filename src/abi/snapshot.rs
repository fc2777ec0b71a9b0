//! Startup snapshots.

use std::ffi::c_char;

use std::sync::Arc;

use crate::abi::boundary::{guarded, shielded};
use crate::abi::error::v8rs_error;
use crate::abi::handle::{arc_into_handle, free_arc, Castable, OwnershipArc};
use crate::abi::strings::{bytes, hand_out, non_null};
use crate::abi::types::v8rs_code;
use crate::engine::snapshot::Snapshot;
use crate::engine::Error;

/// Runs the `n` scripts (`sources[i]`, `source_lens[i]` bytes, named `names[i]`,
/// `name_lens[i]` bytes) in order in a fresh context with every web API, and writes a
/// snapshot of the heap they leave to `*snapshot_out` (`*snapshot_len_out` bytes; free
/// it with `v8rs_string_free`). Open it with `v8rs_snapshot_open` to start VMs from it.
///
/// A snapshot keeps globals, functions and closures. It cannot keep host functions, nor
/// `Intl` objects (formatters, collators…) that are still reachable when the scripts end —
/// V8 aborts the process on those: create them lazily, after start-up, or make the
/// snapshot in a separate process, as `v8cffi` does by default.
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
        let scripts = Scripts {
            names,
            name_lens,
            sources,
            source_lens,
            n,
        };
        // SAFETY: the caller's contract, passed on.
        unsafe { create(scripts, 0, snapshot_out, snapshot_len_out) }
    })
}

/// `v8rs_snapshot_create`, where the last `warmup` of the `n` scripts only warm the
/// snapshot up: they run in a throwaway copy of the context, so that the functions they
/// call are compiled, and the snapshot keeps that code but none of their changes (VMs
/// from it run those functions at once, without compiling them first).
///
/// Errors: as `v8rs_snapshot_create`; `V8RS_CODE_INVALID_ARGUMENT` when `warmup > n`.
///
/// # Safety
/// As `v8rs_snapshot_create`.
#[no_mangle]
pub unsafe extern "C" fn v8rs_snapshot_create_warm(
    names: *const *const c_char,
    name_lens: *const usize,
    sources: *const *const c_char,
    source_lens: *const usize,
    n: usize,
    warmup: usize,
    snapshot_out: *mut *mut c_char,
    snapshot_len_out: *mut usize,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        let scripts = Scripts {
            names,
            name_lens,
            sources,
            source_lens,
            n,
        };
        // SAFETY: the caller's contract, passed on.
        unsafe { create(scripts, warmup, snapshot_out, snapshot_len_out) }
    })
}

/// The script arrays of `v8rs_snapshot_create`.
struct Scripts {
    names: *const *const c_char,
    name_lens: *const usize,
    sources: *const *const c_char,
    source_lens: *const usize,
    n: usize,
}

/// Makes the snapshot of `scripts`, the last `warmup` of them warming it up.
///
/// # Safety
/// As `v8rs_snapshot_create`.
unsafe fn create(
    scripts: Scripts,
    warmup: usize,
    snapshot_out: *mut *mut c_char,
    snapshot_len_out: *mut usize,
) -> Result<(), Error> {
    let Scripts {
        names,
        name_lens,
        sources,
        source_lens,
        n,
    } = scripts;
    if warmup > n {
        return Err(Error::invalid_argument(format!(
            "{warmup} warm-up scripts of {n} scripts"
        )));
    }
    let snapshot_out = non_null(snapshot_out, "snapshot_out")?;
    if n > 0
        && (names.is_null() || name_lens.is_null() || sources.is_null() || source_lens.is_null())
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
    let (scripts, warm) = scripts.split_at(n - warmup);
    let snapshot = crate::engine::snapshot::create_warm(scripts, warm)?;
    // SAFETY: `snapshot_out` is non-NULL and writable, the length NULL or writable.
    unsafe { hand_out(&snapshot, snapshot_out, snapshot_len_out) }
}

/// A snapshot file opened once (its header checked), to start any number of VMs from
/// with `v8rs_vm_new_with_snapshot`.
///
/// Thread safety: immutable; usable from any thread, by several at once.
///
/// Ownership: created by `v8rs_snapshot_open`, freed by `v8rs_snapshot_free`; VMs made
/// from it keep what they need, so it may be freed while they live.
pub struct v8rs_snapshot {
    _private: [u8; 0],
}

impl Castable for v8rs_snapshot {
    type Ownership = OwnershipArc;
    type RustType = Snapshot;
}

/// Checks the snapshot file `snapshot` (`snapshot_len` bytes, copied) and writes a
/// handle to it to `*snapshot_out`.
///
/// Errors: `V8RS_CODE_INVALID_ARGUMENT` for NULL arguments, and for a snapshot that does
/// not check out — garbage, truncated, corrupted, made by an older v8rs, or by another
/// V8 version or V8 flags.
///
/// # Safety
/// `snapshot` points to `snapshot_len` readable bytes; out-params are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_snapshot_open(
    snapshot: *const c_char,
    snapshot_len: usize,
    snapshot_out: *mut *mut v8rs_snapshot,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        let snapshot_out = non_null(snapshot_out, "snapshot_out")?;
        // SAFETY: `snapshot` has `snapshot_len` readable bytes.
        let bytes = unsafe { bytes(snapshot, snapshot_len, "snapshot") }?;
        let opened = Arc::new(Snapshot::open(bytes)?);
        // SAFETY: `snapshot_out` is a non-NULL, writable slot.
        unsafe { *snapshot_out = arc_into_handle(opened) };
        Ok(())
    })
}

/// Frees a snapshot handle. NULL is a no-op.
///
/// # Safety
/// `snapshot` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn v8rs_snapshot_free(snapshot: *mut v8rs_snapshot) {
    shielded((), || {
        // SAFETY: NULL or a live handle (the caller's contract).
        drop(unsafe { free_arc(snapshot) });
    })
}
