//! The C ABI of `libv8rs.so`, described by the generated `include/v8rs.h`.
//!
//! Only glue lives here: NULL checks, a panic boundary around every export, error
//! out-params and handle casts. The engine itself is in the other modules.
//!
//! # Conventions
//!
//! * Every symbol is `v8rs_<type>_<verb>`; `_new` creates, `_free` destroys, and
//!   `_free(NULL)` is a no-op. The handle comes first, inputs before outputs.
//! * Fallible functions return a [`Code`] (`v8rs_code`) and take a last parameter
//!   `v8rs_error **error_out`: on failure, when `error_out` is not NULL, it receives an
//!   error the caller owns and frees with `v8rs_error_free`. Out-params are written
//!   only on success; `error_out` only on failure.
//! * Strings go in as `(pointer, length)` in UTF-8; NUL bytes inside are allowed.
//! * The one string rule: a string *returned through an out-param* (a script's result)
//!   is owned by the caller and freed with `v8rs_string_free`; a string *returned by an
//!   accessor* (`v8rs_error_message`, …) is borrowed from its object and valid until
//!   that object is freed. Both kinds are followed by a NUL byte not counted in their
//!   length.
//! * No panic crosses this boundary: one becomes `V8RS_CODE_UNKNOWN`.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::{Arc, OnceLock};

use crate::cancel::CancelToken;
use crate::context::Context;
use crate::error::{Code, Error};
use crate::host::{HostFn, Reply};
use crate::text::Text;
use crate::vm::{HeapStats, Vm, VmOptions};
use crate::{platform, JsError};
use std::time::Duration;

/// A VM: one V8 isolate (about 1 MB), with its own heap.
///
/// Thread safety: a `v8rs_vm` may be used from any thread, and from several threads at
/// once: calls on one VM (and on its contexts) are serialised, each running on the
/// caller's thread; calls on different VMs run in parallel.
///
/// Ownership: created by `v8rs_vm_new`, freed by `v8rs_vm_free`. Its contexts keep the
/// underlying isolate alive, but once the VM is freed they fail with
/// `V8RS_CODE_INVALID_STATE`.
pub struct v8rs_vm {
    _private: [u8; 0],
}

/// A context: one JavaScript global scope inside a VM; globals persist between calls.
///
/// Thread safety: like its VM, usable from any thread; calls are serialised with
/// every other call on the same VM. It must not be freed while a call on it runs.
///
/// Ownership: created by `v8rs_context_new`, freed by `v8rs_context_free`.
pub struct v8rs_context {
    _private: [u8; 0],
}

/// An error: a code, a message and, for JavaScript errors, the parts of the exception.
///
/// Thread safety: immutable; may be read from any thread and freed on any thread.
///
/// Ownership: returned through `error_out` parameters, freed by `v8rs_error_free`.
pub struct v8rs_error {
    _private: [u8; 0],
}

/// Ties an opaque C handle to the `Arc` behind it.
trait ArcHandle: Sized {
    type Rust;

    fn into_handle(value: Arc<Self::Rust>) -> *mut Self {
        Arc::into_raw(value) as *mut Self
    }

    /// # Safety
    /// `handle` is NULL or came from [`Self::into_handle`] and was not yet released.
    unsafe fn borrow<'a>(handle: *const Self) -> Result<&'a Self::Rust, Error> {
        // SAFETY: by the caller's contract the pointer is NULL or a live `Arc`.
        unsafe { (handle as *const Self::Rust).as_ref() }
            .ok_or_else(|| Error::invalid_argument("a handle argument is NULL"))
    }

    /// # Safety
    /// As for [`Self::borrow`]; the handle is invalid afterwards.
    unsafe fn release(handle: *mut Self) -> Option<Arc<Self::Rust>> {
        // In a forked child, V8 must not be touched, not even to free: leak instead.
        if handle.is_null() || platform::in_forked_child() {
            return None;
        }
        // SAFETY: by the caller's contract the pointer is a live `Arc`.
        Some(unsafe { Arc::from_raw(handle as *const Self::Rust) })
    }
}

impl ArcHandle for v8rs_vm {
    type Rust = Vm;
}

impl ArcHandle for v8rs_context {
    type Rust = Context;
}

fn error_ref<'a>(error: *const v8rs_error) -> Option<&'a Error> {
    // SAFETY: `error` is NULL or was made by `into_error_handle` and not yet freed.
    unsafe { (error as *const Error).as_ref() }
}

fn into_error_handle(error: Error) -> *mut v8rs_error {
    Box::into_raw(Box::new(error)) as *mut v8rs_error
}

/// Runs `body` behind the panic boundary and reports its error through `error_out`.
fn guarded(error_out: *mut *mut v8rs_error, body: impl FnOnce() -> Result<(), Error>) -> Code {
    let error = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return Code::Ok,
        Ok(Err(error)) => error,
        Err(panic) => Error::new(
            Code::Unknown,
            format!("internal error: {}", panic_message(&panic)),
        ),
    };
    let code = error.code();
    if !error_out.is_null() {
        // SAFETY: the caller passes NULL or a writable `v8rs_error *` slot.
        unsafe { *error_out = into_error_handle(error) };
    }
    code
}

/// Runs an infallible `body` behind the panic boundary, with `fallback` on panic.
fn shielded<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("panic")
}

/// Views `(ptr, len)` as bytes; NULL is allowed only with length 0.
///
/// # Safety
/// `ptr` points to `len` readable bytes, or is NULL.
unsafe fn bytes<'a>(ptr: *const c_char, len: usize, what: &str) -> Result<&'a [u8], Error> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Error::invalid_argument(format!(
                "{what} is NULL with a length of {len}"
            )))
        };
    }
    // SAFETY: by the caller's contract `ptr` has `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(ptr as *const u8, len) })
}

fn non_null<T>(ptr: *mut T, what: &str) -> Result<*mut T, Error> {
    if ptr.is_null() {
        Err(Error::invalid_argument(format!("{what} is NULL")))
    } else {
        Ok(ptr)
    }
}

/// Copies `bytes` into a `malloc`ed, NUL-terminated buffer for `v8rs_string_free`.
fn into_c_string(bytes: &[u8]) -> Result<*mut c_char, Error> {
    // SAFETY: plain allocation; checked for NULL below.
    let buf = unsafe { libc::malloc(bytes.len() + 1) } as *mut u8;
    if buf.is_null() {
        return Err(Error::new(
            Code::OutOfMemory,
            "cannot allocate the result string",
        ));
    }
    // SAFETY: `buf` has room for the bytes and the terminator.
    unsafe {
        ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len());
        *buf.add(bytes.len()) = 0;
    }
    Ok(buf as *mut c_char)
}

/// Writes a caller-owned copy of `bytes` to `*out` and its length to `*len_out`.
///
/// # Safety
/// `out` is non-NULL and writable; `len_out` is NULL or writable.
unsafe fn hand_out(bytes: &[u8], out: *mut *mut c_char, len_out: *mut usize) -> Result<(), Error> {
    let buffer = into_c_string(bytes)?;
    // SAFETY: by this function's contract.
    unsafe {
        *out = buffer;
        if !len_out.is_null() {
            *len_out = bytes.len();
        }
    }
    Ok(())
}

/// Returns a borrowed `(pointer, length)` view of `text`, or NULL when absent.
fn view(text: Option<&Text>, len_out: *mut usize) -> *const c_char {
    let (ptr, len) = match text {
        Some(t) => (t.as_ptr() as *const c_char, t.as_bytes().len()),
        None => (ptr::null(), 0),
    };
    if !len_out.is_null() {
        // SAFETY: the caller passes NULL or a writable `size_t`.
        unsafe { *len_out = len };
    }
    ptr
}

fn js_part<'a>(
    error: *const v8rs_error,
    part: impl FnOnce(&'a JsError) -> Option<&'a Text>,
) -> Option<&'a Text> {
    error_ref(error).and_then(Error::js_error).and_then(part)
}

fn js_number(error: *const v8rs_error, part: impl FnOnce(&JsError) -> Option<u32>) -> i64 {
    shielded(-1, || {
        error_ref(error)
            .and_then(Error::js_error)
            .and_then(part)
            .map_or(-1, i64::from)
    })
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
/// that are not UTF-8.
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
) -> Code {
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
pub extern "C" fn v8rs_platform_tear_down(error_out: *mut *mut v8rs_error) -> Code {
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
pub unsafe extern "C" fn v8rs_platform_watch_sigint(error_out: *mut *mut v8rs_error) -> Code {
    guarded(error_out, crate::sigint::watch_current_thread)
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
    options: *const VmOptions,
    vm_out: *mut *mut v8rs_vm,
    error_out: *mut *mut v8rs_error,
) -> Code {
    guarded(error_out, || {
        let vm_out = non_null(vm_out, "vm_out")?;
        // SAFETY: `options` is NULL or readable (the caller's contract).
        let options = unsafe { options.as_ref() }.copied().unwrap_or_default();
        let vm = Vm::with_options(options)?;
        // SAFETY: `vm_out` is a non-NULL, writable `v8rs_vm *` slot.
        unsafe { *vm_out = v8rs_vm::into_handle(vm) };
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
    options: *const VmOptions,
    snapshot: *const c_char,
    snapshot_len: usize,
    vm_out: *mut *mut v8rs_vm,
    error_out: *mut *mut v8rs_error,
) -> Code {
    guarded(error_out, || {
        let vm_out = non_null(vm_out, "vm_out")?;
        // SAFETY: `options` is NULL or readable (the caller's contract).
        let options = unsafe { options.as_ref() }.copied().unwrap_or_default();
        // SAFETY: `snapshot` has `snapshot_len` readable bytes.
        let snapshot = unsafe { bytes(snapshot, snapshot_len, "snapshot") }?;
        let vm = Vm::with_snapshot(options, snapshot)?;
        // SAFETY: `vm_out` is a non-NULL, writable `v8rs_vm *` slot.
        unsafe { *vm_out = v8rs_vm::into_handle(vm) };
        Ok(())
    })
}

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
) -> Code {
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
        let snapshot = crate::snapshot::create(&scripts)?;
        // SAFETY: `snapshot_out` is non-NULL and writable, the length NULL or writable.
        unsafe { hand_out(&snapshot, snapshot_out, snapshot_len_out) }
    })
}

/// Stops the JavaScript running in `vm` right now; that call fails with
/// `V8RS_CODE_TERMINATED` and the VM stays usable. A VM with nothing running is
/// unaffected. `*stopped_out` (when not NULL) tells whether a call was running.
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
) -> Code {
    guarded(error_out, || {
        // SAFETY: `vm` is NULL or a live handle (the caller's contract).
        let stopped = unsafe { v8rs_vm::borrow(vm) }?.terminate();
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
    stats_out: *mut HeapStats,
    error_out: *mut *mut v8rs_error,
) -> Code {
    guarded(error_out, || {
        // SAFETY: `vm` is NULL or a live handle (the caller's contract).
        let vm = unsafe { v8rs_vm::borrow(vm) }?;
        let stats_out = non_null(stats_out, "stats_out")?;
        let stats = vm.heap_stats()?;
        // SAFETY: a non-NULL, writable `v8rs_heap_stats`.
        unsafe { *stats_out = stats };
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
) -> Code {
    // SAFETY: `vm` is NULL or a live handle (the caller's contract).
    guarded(error_out, || {
        unsafe { v8rs_vm::borrow(vm) }?.low_memory_notification()
    })
}

/// Frees a VM (NULL is a no-op). Any thread may free it. Its contexts stay valid
/// handles, to be freed by their owner, but calls on them fail from now on. Must not
/// be called while a call on this VM runs on another thread.
///
/// # Safety
/// `vm` is NULL or a handle from `v8rs_vm_new` that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn v8rs_vm_free(vm: *mut v8rs_vm) {
    shielded((), || {
        // SAFETY: `vm` is NULL or a live handle from `v8rs_vm_new` (the caller's contract).
        if let Some(vm) = unsafe { v8rs_vm::release(vm) } {
            vm.close();
        }
    })
}

/// Creates a context (a fresh global scope) in `vm`, with all the web APIs
/// (`V8RS_WEB_ALL`), and writes it to `*context_out`; free it with
/// `v8rs_context_free`. The context keeps the VM's isolate alive.
///
/// Errors: `V8RS_CODE_INVALID_ARGUMENT` for NULL pointers; `V8RS_CODE_INVALID_STATE`
/// when the VM was freed or the platform torn down.
///
/// # Safety
/// `vm` is NULL or a live VM handle; `context_out` and `error_out` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_context_new(
    vm: *mut v8rs_vm,
    context_out: *mut *mut v8rs_context,
    error_out: *mut *mut v8rs_error,
) -> Code {
    // SAFETY: the same contract.
    unsafe { v8rs_context_new_with(vm, V8RS_WEB_ALL, context_out, error_out) }
}

/// `setTimeout`, `setInterval`, `clearTimeout`, `clearInterval`, `queueMicrotask`.
pub const V8RS_WEB_TIMERS: u32 = 1 << 0;
/// `TextEncoder`, `TextDecoder` (UTF-8).
pub const V8RS_WEB_ENCODING: u32 = 1 << 1;
/// `atob`, `btoa`.
pub const V8RS_WEB_BASE64: u32 = 1 << 2;
/// `structuredClone`.
pub const V8RS_WEB_STRUCTURED_CLONE: u32 = 1 << 3;
/// `performance.now()`, `performance.timeOrigin`.
pub const V8RS_WEB_PERFORMANCE: u32 = 1 << 4;
/// `crypto.getRandomValues`, `crypto.randomUUID`.
pub const V8RS_WEB_CRYPTO: u32 = 1 << 5;
/// `URL`, `URLSearchParams`.
pub const V8RS_WEB_URL: u32 = 1 << 6;
/// `Event`, `EventTarget`, `AbortController`, `AbortSignal`, `DOMException`.
pub const V8RS_WEB_EVENTS: u32 = 1 << 7;
/// `MessageChannel`, `MessagePort`, `MessageEvent`.
pub const V8RS_WEB_MESSAGE_CHANNEL: u32 = 1 << 8;
/// `ReadableStream`, `WritableStream`, `TransformStream` and their companions.
pub const V8RS_WEB_STREAMS: u32 = 1 << 9;
/// Every web API group.
pub const V8RS_WEB_ALL: u32 = (1 << 10) - 1;

const _: () = {
    use crate::web;
    assert!(V8RS_WEB_TIMERS == web::TIMERS);
    assert!(V8RS_WEB_ENCODING == web::ENCODING);
    assert!(V8RS_WEB_BASE64 == web::BASE64);
    assert!(V8RS_WEB_STRUCTURED_CLONE == web::STRUCTURED_CLONE);
    assert!(V8RS_WEB_PERFORMANCE == web::PERFORMANCE);
    assert!(V8RS_WEB_CRYPTO == web::CRYPTO);
    assert!(V8RS_WEB_URL == web::URL);
    assert!(V8RS_WEB_EVENTS == web::EVENTS);
    assert!(V8RS_WEB_MESSAGE_CHANNEL == web::MESSAGE_CHANNEL);
    assert!(V8RS_WEB_STREAMS == web::STREAMS);
    assert!(V8RS_WEB_ALL == web::ALL);
};

/// Creates a context like `v8rs_context_new`, with the web APIs of `features` (a mask
/// of `V8RS_WEB_*` bits; 0 for a bare V8 context).
///
/// Errors: as `v8rs_context_new`; `V8RS_CODE_INVALID_ARGUMENT` for unknown bits.
///
/// # Safety
/// As `v8rs_context_new`.
#[no_mangle]
pub unsafe extern "C" fn v8rs_context_new_with(
    vm: *mut v8rs_vm,
    features: u32,
    context_out: *mut *mut v8rs_context,
    error_out: *mut *mut v8rs_error,
) -> Code {
    guarded(error_out, || {
        // SAFETY: `vm` is NULL or a live handle (the caller's contract).
        let vm = unsafe { v8rs_vm::borrow(vm) }?;
        let context_out = non_null(context_out, "context_out")?;
        // SAFETY: `vm` was borrowed from a live `Arc<Vm>`; cloning it needs a `&Arc`.
        let vm = unsafe { clone_arc(vm) };
        let context = Context::with_features(&vm, features)?;
        // SAFETY: `context_out` is a non-NULL, writable `v8rs_context *` slot.
        unsafe { *context_out = v8rs_context::into_handle(context) };
        Ok(())
    })
}

/// Runs the context's event loop — microtasks and timers, sleeping until the next one
/// is due — until nothing is queued (`docs/event-loop.md`). Timers run only inside this
/// call and inside calls that await a promise (`V8RS_AWAIT_PROMISE`).
///
/// Errors: `V8RS_CODE_JS_ERROR` when a timer callback throws (the other timers stay
/// queued); `V8RS_CODE_TIMEOUT` after `timeout_ms` (0: none); `V8RS_CODE_TERMINATED`.
///
/// # Safety
/// `context` is NULL or a live handle; `error_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_context_run_until_idle(
    context: *mut v8rs_context,
    timeout_ms: u64,
    error_out: *mut *mut v8rs_error,
) -> Code {
    guarded(error_out, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        let context = unsafe { v8rs_context::borrow(context) }?;
        context.run_until_idle(timeout(timeout_ms))
    })
}

/// Number of timers queued in the context; 0 for NULL.
///
/// # Safety
/// `context` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn v8rs_context_pending_tasks(context: *const v8rs_context) -> usize {
    shielded(0, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        unsafe { v8rs_context::borrow(context) }.map_or(0, |c| c.pending_tasks())
    })
}

/// A cancel token: once cancelled (`v8rs_cancel_token_cancel`, from any thread), the
/// call running under it stops with `V8RS_CODE_TERMINATED`, and so does every later
/// call made under it. A thread's calls run under the token it entered
/// (`v8rs_cancel_token_enter`).
///
/// Ownership: created by `v8rs_cancel_token_new`, freed by `v8rs_cancel_token_free`
/// (a thread that entered it keeps it alive until it enters another or NULL).
pub struct v8rs_cancel_token {
    _private: [u8; 0],
}

impl ArcHandle for v8rs_cancel_token {
    type Rust = CancelToken;
}

/// Creates a cancel token, not cancelled.
#[no_mangle]
pub extern "C" fn v8rs_cancel_token_new() -> *mut v8rs_cancel_token {
    shielded(ptr::null_mut(), || {
        v8rs_cancel_token::into_handle(CancelToken::new())
    })
}

/// Makes `token` (NULL: none) the token of the calls this thread makes from now on.
///
/// # Safety
/// `token` is NULL or a live token.
#[no_mangle]
pub unsafe extern "C" fn v8rs_cancel_token_enter(token: *mut v8rs_cancel_token) {
    shielded((), || {
        // SAFETY: NULL or a live handle (the caller's contract).
        let token = unsafe { v8rs_cancel_token::borrow(token) }
            .ok()
            // SAFETY: borrowed from a live `Arc<CancelToken>`.
            .map(|t| unsafe { clone_arc(t) });
        CancelToken::enter(token);
    })
}

/// Cancels `token`: stops the call running under it now, if any, and every later one.
/// Returns whether a running call was stopped; false for NULL.
///
/// # Safety
/// `token` is NULL or a live token.
#[no_mangle]
pub unsafe extern "C" fn v8rs_cancel_token_cancel(token: *mut v8rs_cancel_token) -> bool {
    shielded(false, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        unsafe { v8rs_cancel_token::borrow(token) }.is_ok_and(|t| t.cancel())
    })
}

/// Frees a cancel token; NULL is a no-op.
///
/// # Safety
/// `token` is NULL or a live token, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn v8rs_cancel_token_free(token: *mut v8rs_cancel_token) {
    shielded((), || {
        // SAFETY: NULL or a live handle, released once (the caller's contract).
        drop(unsafe { v8rs_cancel_token::release(token) });
    })
}

/// # Safety
/// `value` must live inside an `Arc` (it was borrowed through an [`ArcHandle`]).
unsafe fn clone_arc<T>(value: &T) -> Arc<T> {
    let raw = value as *const T;
    // SAFETY: `raw` came from `Arc::into_raw`; bump the count, then rebuild one `Arc`.
    unsafe {
        Arc::increment_strong_count(raw);
        Arc::from_raw(raw)
    }
}

/// Frees a context (NULL is a no-op), from any thread. Must not be called while a
/// call on this context runs on another thread.
///
/// # Safety
/// `context` is NULL or a handle from `v8rs_context_new` that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn v8rs_context_free(context: *mut v8rs_context) {
    shielded((), || {
        // SAFETY: NULL or a live handle from `v8rs_context_new` (the caller's contract).
        if let Some(context) = unsafe { v8rs_context::release(context) } {
            context.close();
        }
    })
}

/// Compiles and runs `script` (`script_len` bytes of UTF-8, NUL bytes allowed) in
/// `context`, under the script name `identifier` (`identifier_len` bytes; NULL means
/// `"<anonymous>"`). A `timeout_ms` other than 0 stops the script after that many
/// milliseconds with `V8RS_CODE_TIMEOUT`. On success writes `String(result)` in UTF-8 to
/// `*result_out` and its length to `*result_len_out` (when not NULL); free it with
/// `v8rs_string_free`.
///
/// Errors: `V8RS_CODE_JS_ERROR` when the script fails to compile or throws (also when
/// `String(result)` throws); `V8RS_CODE_INVALID_ARGUMENT` for NULL pointers or invalid
/// UTF-8; `V8RS_CODE_INVALID_STATE` when the context or its VM was freed or the platform
/// torn down; `V8RS_CODE_OUT_OF_MEMORY` when the heap limit is reached or for strings
/// beyond V8's limit; `V8RS_CODE_TIMEOUT` and `V8RS_CODE_TERMINATED` when stopped. The
/// VM stays usable after all of these.
///
/// Thread safety: blocks while another thread runs in the same VM.
///
/// # Safety
/// `context` is NULL or a live handle; `script` and `identifier` point to their
/// lengths in readable bytes (or are NULL with length 0); out-params are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_run_script(
    context: *mut v8rs_context,
    script: *const c_char,
    script_len: usize,
    identifier: *const c_char,
    identifier_len: usize,
    timeout_ms: u64,
    result_out: *mut *mut c_char,
    result_len_out: *mut usize,
    error_out: *mut *mut v8rs_error,
) -> Code {
    guarded(error_out, || {
        // SAFETY: the caller's contract, as documented on this function.
        let (context, script, identifier) =
            unsafe { script_call(context, script, script_len, identifier, identifier_len) }?;
        let result_out = non_null(result_out, "result_out")?;
        let timeout = timeout(timeout_ms);
        let result = context.run_script_with_timeout(script, identifier, timeout)?;
        // SAFETY: `result_out` is non-NULL and writable, `result_len_out` NULL or writable.
        unsafe { hand_out(result.as_bytes(), result_out, result_len_out) }
    })
}

/// `v8rs_run_script` for hot loops: the result goes into the caller's `buffer`
/// (`capacity` bytes) when it fits, with no allocation and no free; otherwise into a
/// new string at `*spill_out` that the caller frees with `v8rs_string_free`.
/// `*result_len_out` is the result's length either way, and `*spill_out` is NULL when
/// the result is in `buffer` (which then holds a NUL after it if there is room).
///
/// # Safety
/// As `v8rs_run_script`; `buffer` points to `capacity` writable bytes (or is NULL with
/// 0); `result_len_out` and `spill_out` are writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_run_script_into(
    context: *mut v8rs_context,
    script: *const c_char,
    script_len: usize,
    identifier: *const c_char,
    identifier_len: usize,
    timeout_ms: u64,
    buffer: *mut c_char,
    capacity: usize,
    result_len_out: *mut usize,
    spill_out: *mut *mut c_char,
    error_out: *mut *mut v8rs_error,
) -> Code {
    guarded(error_out, || {
        // SAFETY: the caller's contract, as documented on this function.
        let (context, script, identifier) =
            unsafe { script_call(context, script, script_len, identifier, identifier_len) }?;
        let result_len_out = non_null(result_len_out, "result_len_out")?;
        let spill_out = non_null(spill_out, "spill_out")?;
        if buffer.is_null() && capacity > 0 {
            return Err(Error::invalid_argument("buffer is NULL with a capacity"));
        }
        let timeout = timeout(timeout_ms);
        let result = context.run_script_with_timeout(script, identifier, timeout)?;
        let bytes = result.as_bytes();
        if bytes.len() <= capacity {
            // SAFETY: `buffer` has `capacity` writable bytes; the out-params are writable.
            unsafe {
                ptr::copy_nonoverlapping(bytes.as_ptr(), buffer as *mut u8, bytes.len());
                if bytes.len() < capacity {
                    *buffer.add(bytes.len()) = 0;
                }
                *spill_out = ptr::null_mut();
                *result_len_out = bytes.len();
            }
            Ok(())
        } else {
            // SAFETY: both out-params are non-NULL and writable.
            unsafe { hand_out(bytes, spill_out, result_len_out) }
        }
    })
}

/// Flag for `v8rs_eval` and `v8rs_call`: when the result is a Promise, run microtasks
/// until it settles and return its value (a rejection is a `V8RS_CODE_JS_ERROR`).
pub const V8RS_AWAIT_PROMISE: u32 = 1;

/// Flag for `v8rs_eval`, `v8rs_call` and `v8rs_run_module`: the caller also reads `J`
/// (JSON text) values, so a result that JSON says exactly may come as one — much faster
/// to read with a JSON parser than tag by tag.
pub const V8RS_ACCEPT_JSON: u32 = 2;

const _: () = assert!(V8RS_AWAIT_PROMISE == crate::values::AWAIT_PROMISE);
const _: () = assert!(V8RS_ACCEPT_JSON == crate::values::ACCEPT_JSON);

/// Compiles and runs `script` like `v8rs_run_script`, and returns its result as a
/// value in the wire format (`docs/values.md`) through `*value_out` (`*value_len_out`
/// bytes; free it with `v8rs_string_free`). `flags`: `V8RS_AWAIT_PROMISE`,
/// `V8RS_ACCEPT_JSON`, both (`|`) or 0.
///
/// Errors: as `v8rs_run_script`, plus `V8RS_CODE_CONVERSION` for a result with no
/// wire-format equivalent (a function, a Symbol, a cycle, …).
///
/// # Safety
/// As `v8rs_run_script`.
#[no_mangle]
pub unsafe extern "C" fn v8rs_eval(
    context: *mut v8rs_context,
    script: *const c_char,
    script_len: usize,
    identifier: *const c_char,
    identifier_len: usize,
    timeout_ms: u64,
    flags: u32,
    value_out: *mut *mut c_char,
    value_len_out: *mut usize,
    error_out: *mut *mut v8rs_error,
) -> Code {
    guarded(error_out, || {
        // SAFETY: the caller's contract, as documented on this function.
        let (context, script, identifier) =
            unsafe { script_call(context, script, script_len, identifier, identifier_len) }?;
        let value_out = non_null(value_out, "value_out")?;
        let timeout = timeout(timeout_ms);
        let value = context.eval(script, identifier, timeout, flags)?;
        // SAFETY: `value_out` is non-NULL and writable, `value_len_out` NULL or writable.
        unsafe { hand_out(&value, value_out, value_len_out) }
    })
}

/// Calls the function named by `function` (`function_len` bytes of UTF-8: `"render"`,
/// or a dotted name such as `"lib.render"`, called as a method of `lib`) with `args`, a
/// wire-format array (`args_len` bytes), and returns its result like `v8rs_eval`.
///
/// Errors: as `v8rs_eval`; `V8RS_CODE_INVALID_ARGUMENT` for malformed `args`.
///
/// # Safety
/// `context` is NULL or a live handle; `function` and `args` point to their lengths in
/// readable bytes; out-params are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_call(
    context: *mut v8rs_context,
    function: *const c_char,
    function_len: usize,
    args: *const c_char,
    args_len: usize,
    timeout_ms: u64,
    flags: u32,
    value_out: *mut *mut c_char,
    value_len_out: *mut usize,
    error_out: *mut *mut v8rs_error,
) -> Code {
    guarded(error_out, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        let context = unsafe { v8rs_context::borrow(context) }?;
        let value_out = non_null(value_out, "value_out")?;
        // SAFETY: each pointer has the given number of readable bytes.
        let function = unsafe { bytes(function, function_len, "function") }?;
        // SAFETY: as above.
        let args = unsafe { bytes(args, args_len, "args") }?;
        let timeout = timeout(timeout_ms);
        let value = context.call(function, args, timeout, flags)?;
        // SAFETY: `value_out` is non-NULL and writable, `value_len_out` NULL or writable.
        unsafe { hand_out(&value, value_out, value_len_out) }
    })
}

/// A timeout in milliseconds as the core takes it: 0 means none.
fn timeout(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}

/// The context, script and script name of a call that runs a script.
///
/// # Safety
/// `context` is NULL or a live handle; `script` and `identifier` point to their lengths
/// in readable bytes (or are NULL with length 0).
unsafe fn script_call<'a>(
    context: *mut v8rs_context,
    script: *const c_char,
    script_len: usize,
    identifier: *const c_char,
    identifier_len: usize,
) -> Result<(&'a Context, &'a [u8], &'a [u8]), Error> {
    // SAFETY: by this function's contract.
    unsafe {
        Ok((
            v8rs_context::borrow(context)?,
            bytes(script, script_len, "script")?,
            script_name(identifier, identifier_len)?,
        ))
    }
}

/// The script name for `(identifier, identifier_len)`: `"<anonymous>"` for NULL.
///
/// # Safety
/// `identifier` points to `identifier_len` readable bytes, or is NULL.
unsafe fn script_name<'a>(
    identifier: *const c_char,
    identifier_len: usize,
) -> Result<&'a [u8], Error> {
    if identifier.is_null() && identifier_len == 0 {
        Ok(b"<anonymous>")
    } else {
        // SAFETY: by this function's contract.
        unsafe { bytes(identifier, identifier_len, "identifier") }
    }
}

/// Makes the host function `function` callable from JavaScript as the global `name`
/// (`name_len` bytes of UTF-8) in `context`. JavaScript's arguments reach `function` as
/// a wire-format array; it answers through its `v8rs_reply` with `v8rs_reply_value`
/// (a wire-format value; no reply means `undefined`) or `v8rs_reply_error` (thrown in
/// JavaScript as an `Error`). It runs on the thread that called into the context, with
/// the VM held. It may call back into the same VM (nested calls run inside the outer
/// call, under its timeout); calls into another VM on that thread fail with
/// `V8RS_CODE_INVALID_STATE`.
///
/// Ownership: `data` is passed back to `function` on every call; it must stay valid,
/// and usable from any thread that calls into `context`, until the context is freed.
///
/// # Safety
/// `context` is NULL or a live handle; `name` points to `name_len` readable bytes;
/// `function` is a valid function pointer; `error_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_context_expose(
    context: *mut v8rs_context,
    name: *const c_char,
    name_len: usize,
    function: Option<unsafe extern "C" fn(*mut std::ffi::c_void, *const c_char, usize, *mut Reply)>,
    data: *mut std::ffi::c_void,
    error_out: *mut *mut v8rs_error,
) -> Code {
    guarded(error_out, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        let context = unsafe { v8rs_context::borrow(context) }?;
        // SAFETY: `name` has `name_len` readable bytes (the caller's contract).
        let name = unsafe { bytes(name, name_len, "name") }?;
        let function: HostFn =
            function.ok_or_else(|| Error::invalid_argument("function is NULL"))?;
        context.expose(name, function, data)
    })
}

/// Runs `source` (`source_len` bytes of UTF-8) as an ES module named `identifier` in
/// `context`. Each `import` calls `resolver(data, specifier, specifier_len, referrer,
/// referrer_len, reply)`, which answers with `v8rs_reply_module` (the imported module's
/// canonical name and source) or `v8rs_reply_error`; a NULL `resolver` makes every
/// import fail. Top-level `await` is settled. With `global_name` (not NULL), the module
/// namespace becomes that global and `*value_out` is `undefined`; otherwise it is the
/// namespace in the wire format (functions in it are `V8RS_CODE_CONVERSION`;
/// `flags` may be `V8RS_ACCEPT_JSON`). Free `*value_out` with `v8rs_string_free`.
///
/// Errors: as `v8rs_eval`; an import that cannot be resolved is a JavaScript `Error`
/// naming the specifier and the importing module.
///
/// # Safety
/// `context` is NULL or a live handle; every pointer with a length points to that
/// many readable bytes (or is NULL with length 0); `resolver` is NULL or a valid
/// function pointer; out-params are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_run_module(
    context: *mut v8rs_context,
    source: *const c_char,
    source_len: usize,
    identifier: *const c_char,
    identifier_len: usize,
    resolver: Option<
        unsafe extern "C" fn(
            *mut std::ffi::c_void,
            *const c_char,
            usize,
            *const c_char,
            usize,
            *mut Reply,
        ),
    >,
    data: *mut std::ffi::c_void,
    global_name: *const c_char,
    global_name_len: usize,
    timeout_ms: u64,
    flags: u32,
    value_out: *mut *mut c_char,
    value_len_out: *mut usize,
    error_out: *mut *mut v8rs_error,
) -> Code {
    guarded(error_out, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        let context = unsafe { v8rs_context::borrow(context) }?;
        let value_out = non_null(value_out, "value_out")?;
        // SAFETY: each pointer has the given number of readable bytes.
        let source = unsafe { bytes(source, source_len, "source") }?;
        // SAFETY: as above.
        let identifier = unsafe { script_name(identifier, identifier_len) }?;
        let global_name = if global_name.is_null() {
            None
        } else {
            // SAFETY: as above.
            Some(unsafe { bytes(global_name, global_name_len, "global_name") }?)
        };
        let mut ask = |specifier: &str, referrer: &str| -> Result<(String, String), String> {
            let resolver = resolver.ok_or("no resolver was given")?;
            let mut reply = Reply::default();
            // SAFETY: the embedder's resolver, with buffers valid for the call.
            unsafe {
                resolver(
                    data,
                    specifier.as_ptr() as *const c_char,
                    specifier.len(),
                    referrer.as_ptr() as *const c_char,
                    referrer.len(),
                    &mut reply,
                )
            };
            if let Some(error) = reply.error {
                return Err(String::from_utf8_lossy(&error).into_owned());
            }
            match (reply.name, reply.value) {
                (Some(name), Some(source)) => Ok((
                    String::from_utf8(name).map_err(|_| "the module name is not UTF-8")?,
                    String::from_utf8(source).map_err(|_| "the module source is not UTF-8")?,
                )),
                _ => Err("the resolver gave no module".into()),
            }
        };
        let timeout = timeout(timeout_ms);
        let value = context.run_module(
            source,
            identifier,
            Some(&mut ask),
            global_name,
            timeout,
            flags,
        )?;
        // SAFETY: `value_out` is non-NULL and writable, `value_len_out` NULL or writable.
        unsafe { hand_out(&value, value_out, value_len_out) }
    })
}

/// Answers a module resolver: the imported module's canonical `name` (modules with the
/// same name are one module) and its `source`, both UTF-8 and copied.
///
/// # Safety
/// `reply` is the reply handed to the running resolver (or NULL: ignored); each
/// pointer points to its length in readable bytes.
#[no_mangle]
pub unsafe extern "C" fn v8rs_reply_module(
    reply: *mut Reply,
    name: *const c_char,
    name_len: usize,
    source: *const c_char,
    source_len: usize,
) {
    shielded((), || {
        // SAFETY: by this function's contract.
        let (reply, name, source) = unsafe {
            (
                reply.as_mut(),
                bytes(name, name_len, "name"),
                bytes(source, source_len, "source"),
            )
        };
        if let (Some(reply), Ok(name), Ok(source)) = (reply, name, source) {
            reply.name = Some(name.to_vec());
            reply.value = Some(source.to_vec());
        }
    })
}

/// Answers a host function's call with a wire-format value (`value_len` bytes, copied).
///
/// # Safety
/// `reply` is the reply handed to the running host function (or NULL: ignored);
/// `value` points to `value_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn v8rs_reply_value(
    reply: *mut Reply,
    value: *const c_char,
    value_len: usize,
) {
    // SAFETY: by this function's contract.
    unsafe { answer(reply, value, value_len, |reply| &mut reply.value) }
}

/// Answers a host function's call with an error: JavaScript gets `Error(message)`
/// (`message_len` bytes of UTF-8, copied).
///
/// # Safety
/// As `v8rs_reply_value`.
#[no_mangle]
pub unsafe extern "C" fn v8rs_reply_error(
    reply: *mut Reply,
    message: *const c_char,
    message_len: usize,
) {
    // SAFETY: by this function's contract.
    unsafe { answer(reply, message, message_len, |reply| &mut reply.error) }
}

/// Stores a copy of `(ptr, len)` in the part of `reply` that `slot` picks.
///
/// # Safety
/// `reply` is NULL or a live reply; `ptr` points to `len` readable bytes.
unsafe fn answer(
    reply: *mut Reply,
    ptr: *const c_char,
    len: usize,
    slot: fn(&mut Reply) -> &mut Option<Vec<u8>>,
) {
    shielded((), || {
        // SAFETY: by this function's contract.
        let (reply, data) = unsafe { (reply.as_mut(), bytes(ptr, len, "reply")) };
        if let (Some(reply), Ok(data)) = (reply, data) {
            *slot(reply) = Some(data.to_vec());
        }
    })
}

/// Reads the `n` files named by `paths` (NUL-terminated, any bytes) and runs each in
/// `context`, in order, with its path as the script name. Stops at the first failure.
///
/// Errors: `V8RS_CODE_IO_ERROR` for a file that cannot be read (`v8rs_error_path` tells
/// which); `V8RS_CODE_INVALID_ARGUMENT` for a file that is not UTF-8 or a NULL pointer;
/// otherwise as `v8rs_run_script`.
///
/// # Safety
/// `context` is NULL or a live handle; `paths` is NULL or points to `n` pointers,
/// each NULL or a NUL-terminated string; `error_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_load_libs(
    context: *mut v8rs_context,
    paths: *const *const c_char,
    n: usize,
    error_out: *mut *mut v8rs_error,
) -> Code {
    guarded(error_out, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        let context = unsafe { v8rs_context::borrow(context) }?;
        // SAFETY: `paths` has `n` entries, each a NUL-terminated string (the contract).
        let paths = unsafe { c_paths(paths, n) }?;
        context.load_libs(&paths)
    })
}

/// `v8rs_load_libs` through V8's code cache: each script's compiled code is kept after
/// its first run — in memory for this process and, when `cache_dir` (a NUL-terminated
/// path) is not NULL, in that directory — and reused the next time the same script
/// (same name, source, V8 version and flags) is loaded. A rejected entry falls back to
/// a normal compile and is replaced.
///
/// # Safety
/// As `v8rs_load_libs`; `cache_dir` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn v8rs_load_libs_cached(
    context: *mut v8rs_context,
    paths: *const *const c_char,
    n: usize,
    cache_dir: *const c_char,
    error_out: *mut *mut v8rs_error,
) -> Code {
    guarded(error_out, || {
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: NULL or a live handle (the caller's contract).
        let context = unsafe { v8rs_context::borrow(context) }?;
        // SAFETY: as for `v8rs_load_libs`.
        let paths = unsafe { c_paths(paths, n) }?;
        // SAFETY: NULL or a NUL-terminated string (the caller's contract).
        let dir = (!cache_dir.is_null()).then(|| {
            std::path::Path::new(std::ffi::OsStr::from_bytes(
                unsafe { CStr::from_ptr(cache_dir) }.to_bytes(),
            ))
        });
        context.load_libs_cached(&paths, dir)
    })
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
        let (hits, misses, rejected) = crate::code_cache::stats();
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

/// The `n` NUL-terminated paths at `paths`, as byte strings.
///
/// # Safety
/// `paths` is NULL (with `n` = 0) or points to `n` pointers, each a NUL-terminated string.
unsafe fn c_paths<'a>(paths: *const *const c_char, n: usize) -> Result<Vec<&'a [u8]>, Error> {
    if paths.is_null() && n > 0 {
        return Err(Error::invalid_argument("paths is NULL"));
    }
    (0..n)
        .map(|i| {
            // SAFETY: `paths` has `n` readable entries (the caller's contract).
            let path = unsafe { *paths.add(i) };
            if path.is_null() {
                return Err(Error::invalid_argument(format!("paths[{i}] is NULL")));
            }
            // SAFETY: each non-NULL entry is a NUL-terminated string.
            Ok(unsafe { CStr::from_ptr(path) }.to_bytes())
        })
        .collect()
}

/// Frees a string returned through an out-param (NULL is a no-op).
///
/// # Safety
/// `string` is NULL or a string from an out-param of this library, not freed yet.
#[no_mangle]
pub unsafe extern "C" fn v8rs_string_free(string: *mut c_char) {
    // SAFETY: NULL or a buffer from `into_c_string` (the caller's contract).
    shielded((), || unsafe { libc::free(string as *mut libc::c_void) })
}

/// Frees an error (NULL is a no-op).
///
/// # Safety
/// `error` is NULL or an error from this library, not freed yet.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_free(error: *mut v8rs_error) {
    shielded((), || {
        if !error.is_null() {
            // SAFETY: a live error from an `error_out` parameter (the caller's contract).
            drop(unsafe { Box::from_raw(error as *mut Error) });
        }
    })
}

/// The error's code (`V8RS_CODE_INVALID_ARGUMENT` for a NULL error).
///
/// # Safety
/// `error` is NULL or a live error from this library.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_code(error: *const v8rs_error) -> Code {
    shielded(Code::Unknown, || {
        error_ref(error).map_or(Code::InvalidArgument, Error::code)
    })
}

/// The full message; for JavaScript errors the trace text:
/// `"<script>:<line>\n    <source line>\n    <spaces>^^^\n<stack or String(exception)>"`.
/// Borrowed; `*len_out` (when not NULL) receives its length.
///
/// # Safety
/// `error` is NULL or a live error from this library; `len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_message(
    error: *const v8rs_error,
    len_out: *mut usize,
) -> *const c_char {
    shielded(ptr::null(), || {
        view(error_ref(error).map(Error::message), len_out)
    })
}

/// The exception's `name` (`"SyntaxError"`, …; empty when the thrown value is not an
/// Error), or NULL for errors that are not JavaScript errors. Borrowed.
///
/// # Safety
/// `error` is NULL or a live error from this library; `len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_js_name(
    error: *const v8rs_error,
    len_out: *mut usize,
) -> *const c_char {
    shielded(ptr::null(), || {
        view(js_part(error, |js| Some(&js.name)), len_out)
    })
}

/// The exception's `message` (or `String(exception)` for non-Error values), or NULL
/// for errors that are not JavaScript errors. Borrowed.
///
/// # Safety
/// `error` is NULL or a live error from this library; `len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_js_message(
    error: *const v8rs_error,
    len_out: *mut usize,
) -> *const c_char {
    shielded(ptr::null(), || {
        view(js_part(error, |js| Some(&js.message)), len_out)
    })
}

/// The name of the script where the exception was thrown, or NULL. Borrowed.
///
/// # Safety
/// `error` is NULL or a live error from this library; `len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_script_name(
    error: *const v8rs_error,
    len_out: *mut usize,
) -> *const c_char {
    shielded(ptr::null(), || {
        view(js_part(error, |js| js.script_name.as_ref()), len_out)
    })
}

/// The source line where the exception was thrown, or NULL. Borrowed.
///
/// # Safety
/// `error` is NULL or a live error from this library; `len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_source_line(
    error: *const v8rs_error,
    len_out: *mut usize,
) -> *const c_char {
    shielded(ptr::null(), || {
        view(js_part(error, |js| js.source_line.as_ref()), len_out)
    })
}

/// The exception's `stack` property, or NULL when it has none. Borrowed.
///
/// # Safety
/// `error` is NULL or a live error from this library; `len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_stack(
    error: *const v8rs_error,
    len_out: *mut usize,
) -> *const c_char {
    shielded(ptr::null(), || {
        view(js_part(error, |js| js.stack.as_ref()), len_out)
    })
}

/// The file an I/O (or file encoding) error is about, or NULL. Borrowed.
///
/// # Safety
/// `error` is NULL or a live error from this library; `len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_path(
    error: *const v8rs_error,
    len_out: *mut usize,
) -> *const c_char {
    shielded(ptr::null(), || {
        view(error_ref(error).and_then(Error::path), len_out)
    })
}

/// The 1-based line of the exception, or -1 when unknown.
///
/// # Safety
/// `error` is NULL or a live error from this library.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_line(error: *const v8rs_error) -> i64 {
    js_number(error, |js| js.line)
}

/// The 0-based column where the failing expression starts, or -1 when unknown.
///
/// # Safety
/// `error` is NULL or a live error from this library.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_start_column(error: *const v8rs_error) -> i64 {
    js_number(error, |js| js.start_column)
}

/// The 0-based column just past the failing expression, or -1 when unknown.
///
/// # Safety
/// `error` is NULL or a live error from this library.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_end_column(error: *const v8rs_error) -> i64 {
    js_number(error, |js| js.end_column)
}

/// The operating system's `errno` behind a `V8RS_CODE_IO_ERROR`, or 0.
///
/// # Safety
/// `error` is NULL or a live error from this library.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_os_errno(error: *const v8rs_error) -> i32 {
    shielded(0, || {
        error_ref(error).and_then(Error::os_errno).unwrap_or(0)
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
