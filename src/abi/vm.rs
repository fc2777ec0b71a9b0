//! `v8rs_vm`: one V8 isolate.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use crate::abi::boundary::{guarded, shielded};
use crate::abi::error::v8rs_error;
use crate::abi::handle::{arc_into_handle, clone_arc, free_arc, Castable, OwnershipArc};
use crate::abi::host::ForeignData;
use crate::abi::snapshot::v8rs_snapshot;
use crate::abi::strings::{bytes, non_null};
use crate::abi::types::{v8rs_code, v8rs_heap_stats, v8rs_vm_options};
use crate::engine::Vm;

/// A VM: one V8 isolate (about 1 MB), with its own heap.
///
/// Thread safety: a `v8rs_vm` may be used from any thread, and from several threads at
/// once: calls on one VM (and on its contexts) are serialised, each running on the
/// caller's thread; calls on different VMs run in parallel. A call waiting for a timer
/// lets the VM's other calls run meanwhile.
///
/// Ownership: created by `v8rs_vm_new`, freed by `v8rs_vm_free`. Its contexts keep the
/// underlying isolate alive, but once the VM is freed they fail with
/// `V8RS_CODE_INVALID_STATE`.
pub struct v8rs_vm {
    _private: [u8; 0],
}

impl Castable for v8rs_vm {
    type Ownership = OwnershipArc;
    type RustType = Vm;
}

/// Creates a VM and writes it to `*vm_out`; free it with `v8rs_vm_free`. `options`
/// may be NULL for V8's defaults; with `max_heap_size` set, a call that fills the heap
/// fails with `V8RS_CODE_OUT_OF_MEMORY` instead of V8 aborting the process.
///
/// Errors: `V8RS_CODE_INVALID_STATE` when the platform is not set up or was torn down;
/// `V8RS_CODE_INVALID_ARGUMENT` when `vm_out` is NULL or the heap sizes are impossible.
///
/// # Safety
/// `options` is NULL or readable; `vm_out` is NULL or writable; `error_out` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_vm_new(
    options: *const v8rs_vm_options,
    vm_out: *mut *mut v8rs_vm,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        let vm_out = non_null(vm_out, "vm_out")?;
        // SAFETY: `options` is NULL or readable (the caller's contract).
        let options = unsafe { options.as_ref() }.copied().unwrap_or_default();
        let vm = Vm::with_options(options.into())?;
        // SAFETY: `vm_out` is a non-NULL, writable `v8rs_vm *` slot.
        unsafe { *vm_out = arc_into_handle(vm) };
        Ok(())
    })
}

/// Creates a VM like `v8rs_vm_new` whose contexts start from `snapshot` (`snapshot_len`
/// bytes made by `v8rs_snapshot_create`, in this or another process of the same build
/// and V8 flags).
///
/// Errors: `V8RS_CODE_INVALID_ARGUMENT` for a snapshot that does not check out —
/// garbage, truncated, corrupted, or from another V8 version or V8 flags; otherwise as
/// `v8rs_vm_new`.
///
/// # Safety
/// As `v8rs_vm_new`; `snapshot` points to `snapshot_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn v8rs_vm_new_from_snapshot(
    options: *const v8rs_vm_options,
    snapshot: *const c_char,
    snapshot_len: usize,
    vm_out: *mut *mut v8rs_vm,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        let vm_out = non_null(vm_out, "vm_out")?;
        // SAFETY: `options` is NULL or readable (the caller's contract).
        let options = unsafe { options.as_ref() }.copied().unwrap_or_default();
        // SAFETY: `snapshot` has `snapshot_len` readable bytes.
        let snapshot = unsafe { bytes(snapshot, snapshot_len, "snapshot") }?;
        let vm = Vm::with_snapshot(options.into(), snapshot)?;
        // SAFETY: `vm_out` is a non-NULL, writable `v8rs_vm *` slot.
        unsafe { *vm_out = arc_into_handle(vm) };
        Ok(())
    })
}

/// Creates a VM whose contexts start from the opened `snapshot` (see
/// `v8rs_snapshot_open`) and writes it to `*vm_out`: the snapshot is checked once, when
/// opened, and shared by every VM made from it.
///
/// Errors: `V8RS_CODE_INVALID_ARGUMENT` when `snapshot` is NULL; otherwise as
/// `v8rs_vm_new`.
///
/// # Safety
/// As `v8rs_vm_new`; `snapshot` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn v8rs_vm_new_with_snapshot(
    options: *const v8rs_vm_options,
    snapshot: *const v8rs_snapshot,
    vm_out: *mut *mut v8rs_vm,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        let vm_out = non_null(vm_out, "vm_out")?;
        // SAFETY: `options` is NULL or readable (the caller's contract).
        let options = unsafe { options.as_ref() }.copied().unwrap_or_default();
        // SAFETY: `snapshot` is NULL or a live handle (the caller's contract).
        let snapshot = unsafe { clone_arc(snapshot) }?;
        let vm = Vm::from_snapshot(options.into(), &snapshot)?;
        // SAFETY: `vm_out` is a non-NULL, writable `v8rs_vm *` slot.
        unsafe { *vm_out = arc_into_handle(vm) };
        Ok(())
    })
}

/// Stops the JavaScript running in `vm` right now — the call holding the VM and the
/// calls waiting for their timers; each fails with `V8RS_CODE_TERMINATED` and the VM
/// stays usable. A VM with nothing running is unaffected. `*stopped_out` (when not
/// NULL) tells whether a call was stopped.
///
/// Thread safety: meant to be called from another thread than the one running the
/// VM; it does not wait for the VM.
///
/// # Safety
/// `vm` is NULL or a live handle; `stopped_out` and `error_out` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_vm_terminate(
    vm: *mut v8rs_vm,
    stopped_out: *mut bool,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: `vm` is NULL or a live handle (the caller's contract).
        let stopped = unsafe { clone_arc(vm) }?.terminate();
        if !stopped_out.is_null() {
            // SAFETY: a writable `bool` (the caller's contract).
            unsafe { *stopped_out = stopped };
        }
        Ok(())
    })
}

/// Writes the heap figures of `vm` to `*stats_out` (waits for the VM like any call).
///
/// # Safety
/// `vm` is NULL or a live handle; `stats_out` and `error_out` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_vm_heap_stats(
    vm: *mut v8rs_vm,
    stats_out: *mut v8rs_heap_stats,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: `vm` is NULL or a live handle (the caller's contract).
        let vm = unsafe { clone_arc(vm) }?;
        let stats_out = non_null(stats_out, "stats_out")?;
        let stats = vm.heap_stats()?;
        // SAFETY: a non-NULL, writable `v8rs_heap_stats`.
        unsafe { *stats_out = stats.into() };
        Ok(())
    })
}

/// Sends the `console.*` output of `vm` (from its contexts with `V8RS_WEB_CONSOLE`,
/// which `V8RS_WEB_ALL` includes) to `callback(data, level, text, text_len)` (a
/// `v8rs_console_fn`): each
/// call's text formatted as Node's `util.format` does. NULL `callback` drops the output
/// (the default). `finalizer(data)` (when not NULL) is called once, after the last use
/// of `data`: once this callback is replaced or its VM is gone — right away when
/// `callback` is NULL or this fails.
///
/// Thread safety: any thread, any time; a call running meanwhile switches at its next
/// console call. `callback` runs on the thread running the JavaScript and must not call
/// into the same VM; `data` must be usable, and finalized, from any thread.
///
/// # Safety
/// `vm` is NULL or a live handle; `callback` and `finalizer` are NULL or valid function
/// pointers; `error_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_vm_set_console(
    vm: *mut v8rs_vm,
    callback: Option<unsafe extern "C" fn(*mut c_void, u32, *const c_char, usize)>,
    data: *mut c_void,
    finalizer: Option<unsafe extern "C" fn(*mut c_void)>,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    let foreign = ForeignData::new(data, finalizer);
    guarded(error_out, move || {
        // SAFETY: `vm` is NULL or a live handle (the caller's contract).
        let vm = unsafe { clone_arc(vm) }?;
        let sink = callback.map(|callback| {
            let sink: crate::engine::ConsoleSink = Arc::new(move |level, text: &str| {
                // SAFETY: the embedder's callback with its own data, and text that
                // lives through the call (the caller's contract).
                unsafe {
                    callback(
                        foreign.data(),
                        level as u32,
                        text.as_ptr().cast(),
                        text.len(),
                    )
                }
            });
            sink
        });
        vm.set_console(sink);
        Ok(())
    })
}

/// Asks V8 to free all the memory it can in `vm` (a full, compacting collection).
///
/// # Safety
/// `vm` is NULL or a live handle; `error_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_vm_low_memory_notification(
    vm: *mut v8rs_vm,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: `vm` is NULL or a live handle (the caller's contract).
        unsafe { clone_arc(vm) }?.low_memory_notification()
    })
}

/// Closes a VM without freeing its handle: every later call on it, or on its contexts,
/// fails with `V8RS_CODE_INVALID_STATE` (a call running meanwhile finishes). The handle
/// must still be freed with `v8rs_vm_free`. For embedders whose frees come late (a
/// garbage collector). NULL is a no-op.
///
/// # Safety
/// `vm` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn v8rs_vm_close(vm: *mut v8rs_vm) {
    shielded((), || {
        // SAFETY: NULL or a live handle (the caller's contract).
        if let Ok(vm) = unsafe { clone_arc(vm) } {
            vm.close();
        }
    })
}

/// Frees a VM (NULL is a no-op), from any thread. Its contexts stay valid handles, to
/// be freed by their owner, but calls on them fail from now on. A call running on it
/// meanwhile (on another thread) finishes first: it holds a reference of its own.
///
/// # Safety
/// `vm` is NULL or a handle from `v8rs_vm_new` that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn v8rs_vm_free(vm: *mut v8rs_vm) {
    shielded((), || {
        // SAFETY: `vm` is NULL or a live handle from `v8rs_vm_new` (the caller's contract).
        if let Some(vm) = unsafe { free_arc(vm) } {
            vm.close();
        }
    })
}
