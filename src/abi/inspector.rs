//! `v8rs_inspector`: a DevTools inspector serving one VM.

use std::ffi::c_char;

use crate::abi::boundary::{guarded, shielded};
use crate::abi::error::v8rs_error;
use crate::abi::handle::{arc_into_handle, clone_arc, free_arc, Castable, OwnershipArc};
use crate::abi::strings::{bytes, non_null, timeout, view};
use crate::abi::types::v8rs_code;
use crate::abi::vm::v8rs_vm;
use crate::engine::inspector::Inspector;

/// A DevTools inspector of a VM: the Chrome DevTools Protocol over a WebSocket, with
/// Node's `/json/list` and `/json/version`, so that `chrome://inspect`, VS Code and
/// `node inspect host:port` attach to it. Anyone who can connect can run code in the
/// VM: it listens on 127.0.0.1 unless asked otherwise.
///
/// Thread safety: may be used and freed from any thread. It serves protocol messages
/// on threads of its own, in the VM's running call (an interrupt), and on the thread
/// of a call paused in the debugger; a call's timeout does not run while it is paused.
///
/// Ownership: created by `v8rs_inspector_start`, freed by `v8rs_inspector_free` (which
/// stops it). It does not keep its VM alive: freeing the VM stops it.
pub struct v8rs_inspector {
    _private: [u8; 0],
}

impl Castable for v8rs_inspector {
    type Ownership = OwnershipArc;
    type RustType = Inspector;
}

/// Starts an inspector for `vm` on `host` (`host_len` bytes; NULL with 0: `"127.0.0.1"`) and
/// `port` (0: a free port, which `v8rs_inspector_url` tells), and writes it to
/// `*inspector_out`. A VM has at most one inspector at a time.
///
/// Errors: `V8RS_CODE_INVALID_ARGUMENT` for a host that does not resolve or a NULL
/// out-param; `V8RS_CODE_IO_ERROR` when the address cannot be listened on (in use,
/// not local); `V8RS_CODE_INVALID_STATE` when the VM has an inspector already or was
/// freed.
///
/// # Safety
/// `vm` is NULL or a live handle; `host` points to `host_len` readable bytes or is
/// NULL; `inspector_out` and `error_out` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_inspector_start(
    vm: *mut v8rs_vm,
    host: *const c_char,
    host_len: usize,
    port: u16,
    inspector_out: *mut *mut v8rs_inspector,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: `vm` is NULL or a live handle (the caller's contract).
        let vm = unsafe { clone_arc(vm) }?;
        let inspector_out = non_null(inspector_out, "inspector_out")?;
        let host = if host.is_null() && host_len == 0 {
            "127.0.0.1"
        } else {
            // SAFETY: `host` has `host_len` readable bytes (the caller's contract).
            let host = unsafe { bytes(host, host_len, "host") }?;
            std::str::from_utf8(host)
                .map_err(|_| crate::engine::Error::invalid_argument("host is not UTF-8"))?
        };
        let inspector = Inspector::start(&vm, host, port)?;
        // SAFETY: a non-NULL, writable `v8rs_inspector *` slot.
        unsafe { *inspector_out = arc_into_handle(inspector) };
        Ok(())
    })
}

/// The WebSocket URL clients connect to, `ws://host:port/<uuid>`. Borrowed from the
/// inspector; `*len_out` (when not NULL) receives its length. NULL for a NULL handle.
///
/// # Safety
/// `inspector` is NULL or a live handle; `len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_inspector_url(
    inspector: *const v8rs_inspector,
    len_out: *mut usize,
) -> *const c_char {
    shielded(std::ptr::null(), || {
        // SAFETY: NULL or a live handle (the caller's contract); the text lives in the
        // inspector, which the handle keeps.
        let inspector = unsafe { crate::abi::handle::try_arc_ref(inspector) };
        // SAFETY: `len_out` is NULL or writable (the caller's contract).
        unsafe { view(inspector.map(Inspector::url_text), len_out) }
    })
}

/// The port the inspector listens on (the one picked for port 0); 0 for NULL.
///
/// # Safety
/// `inspector` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn v8rs_inspector_port(inspector: *const v8rs_inspector) -> u16 {
    shielded(0, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        unsafe { crate::abi::handle::try_arc_ref(inspector) }.map_or(0, |i| i.address().port())
    })
}

/// Waits until a client has sent `Runtime.runIfWaitingForDebugger` (DevTools, VS Code
/// and `node inspect` do once attached), at most `timeout_ms` (0: no limit), and writes
/// whether one did to `*connected_out` (when not NULL). With `pause`, the VM's
/// JavaScript then stops before its next statement (Node's `--inspect-brk`).
///
/// Errors: `V8RS_CODE_INVALID_STATE` when the inspector was stopped, or when called
/// from inside a call of a VM (a host function).
///
/// # Safety
/// `inspector` is NULL or a live handle; `connected_out` and `error_out` are NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_inspector_wait_for_client(
    inspector: *mut v8rs_inspector,
    timeout_ms: u64,
    pause: bool,
    connected_out: *mut bool,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        let inspector = unsafe { clone_arc(inspector) }?;
        let connected = inspector.wait_for_client(timeout(timeout_ms), pause)?;
        if !connected_out.is_null() {
            // SAFETY: a writable `bool` (the caller's contract).
            unsafe { *connected_out = connected };
        }
        Ok(())
    })
}

/// Whether a client is connected now (false for NULL).
///
/// # Safety
/// `inspector` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn v8rs_inspector_has_client(inspector: *const v8rs_inspector) -> bool {
    shielded(false, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        unsafe { crate::abi::handle::try_arc_ref(inspector) }.is_some_and(Inspector::has_client)
    })
}

/// Waits until no client is connected, at most `timeout_ms` (0: no limit), and writes
/// whether none is to `*disconnected_out` (when not NULL).
///
/// # Safety
/// `inspector` is NULL or a live handle; `disconnected_out` and `error_out` are NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_inspector_wait_for_disconnect(
    inspector: *mut v8rs_inspector,
    timeout_ms: u64,
    disconnected_out: *mut bool,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        let inspector = unsafe { clone_arc(inspector) }?;
        let disconnected = inspector.wait_for_disconnect(timeout(timeout_ms));
        if !disconnected_out.is_null() {
            // SAFETY: a writable `bool` (the caller's contract).
            unsafe { *disconnected_out = disconnected };
        }
        Ok(())
    })
}

/// Stops the inspector: closes its listener and its client's connection, resumes
/// JavaScript paused in the debugger, and lets V8's inspector go (after the VM's
/// running call, when one runs on another thread). Idempotent; NULL is a no-op. The
/// handle must still be freed.
///
/// # Safety
/// `inspector` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn v8rs_inspector_stop(inspector: *mut v8rs_inspector) {
    shielded((), || {
        // SAFETY: NULL or a live handle (the caller's contract).
        if let Ok(inspector) = unsafe { clone_arc(inspector) } {
            inspector.stop();
        }
    })
}

/// Stops (see `v8rs_inspector_stop`) and frees an inspector; NULL is a no-op.
///
/// # Safety
/// `inspector` is NULL or a handle from `v8rs_inspector_start` not freed yet.
#[no_mangle]
pub unsafe extern "C" fn v8rs_inspector_free(inspector: *mut v8rs_inspector) {
    shielded((), || {
        // SAFETY: NULL or a live handle (the caller's contract).
        if let Some(inspector) = unsafe { free_arc(inspector) } {
            inspector.stop();
        }
    })
}
