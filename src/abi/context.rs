//! `v8rs_context`: one global scope in a VM, and the calls that run JavaScript in it.

use std::ffi::{c_char, CStr};

use crate::abi::boundary::{guarded, shielded};
use crate::abi::error::v8rs_error;
use crate::abi::handle::{
    arc_into_handle, box_into_handle, clone_arc, free_arc, Castable, OwnershipArc,
};
use crate::abi::strings::{bytes, c_paths, hand_out, non_null, script_name, timeout, ResultBuffer};
use crate::abi::types::{
    call_flags, checked_flags, v8rs_code, V8RS_ACCEPT_JSON, V8RS_ARGS_JSON, V8RS_AWAIT_PROMISE,
    V8RS_CODE_CACHE, V8RS_SOURCE_MAPS, V8RS_WEB_ALL,
};

use crate::abi::vm::v8rs_vm;
use crate::engine::{Context, Error, NodeOptions, WebFeatures};

/// The flags `v8rs_eval` and `v8rs_eval_into` take.
const EVAL_FLAGS: u32 = V8RS_AWAIT_PROMISE | V8RS_ACCEPT_JSON | V8RS_SOURCE_MAPS;
/// The flags `v8rs_call` and `v8rs_call_into` take.
const CALL_FLAGS: u32 = V8RS_AWAIT_PROMISE | V8RS_ACCEPT_JSON | V8RS_ARGS_JSON;

/// A context: one JavaScript global scope inside a VM; globals persist between calls.
///
/// Thread safety: like its VM, usable from any thread; calls are serialised with
/// every other call on the same VM. Freeing it while a call on it runs on another
/// thread is safe: that call finishes first.
///
/// Ownership: created by `v8rs_context_new`, freed by `v8rs_context_free`.
pub struct v8rs_context {
    _private: [u8; 0],
}

impl Castable for v8rs_context {
    type Ownership = OwnershipArc;
    type RustType = Context;
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
) -> v8rs_code {
    // SAFETY: the same contract.
    unsafe { v8rs_context_new_with(vm, V8RS_WEB_ALL, context_out, error_out) }
}

/// Creates a context like `v8rs_context_new`, with the web APIs of `features` (a mask
/// of `V8RS_WEB_*` bits; 0 for a bare V8 context). A context with any of them also has
/// `self`, the global object. `V8RS_WEB_ALL | V8RS_WEB_DOM` adds the opt-in DOM.
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
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: `vm` is NULL or a live handle (the caller's contract).
        let vm = unsafe { clone_arc(vm) }?;
        let context_out = non_null(context_out, "context_out")?;
        let context = Context::with_features(&vm, WebFeatures(features))?;
        // SAFETY: `context_out` is a non-NULL, writable `v8rs_context *` slot.
        unsafe { *context_out = arc_into_handle(context) };
        Ok(())
    })
}

/// Closes a context without freeing its handle: every later call on it fails with
/// `V8RS_CODE_INVALID_STATE` (a call running meanwhile finishes), and what the context
/// holds in V8 — its globals, queued work, exposed functions (their finalizers run) —
/// is released now, or when the calls running on other threads end. The handle must
/// still be freed with `v8rs_context_free`. NULL is a no-op.
///
/// # Safety
/// `context` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn v8rs_context_close(context: *mut v8rs_context) {
    shielded((), || {
        // SAFETY: NULL or a live handle (the caller's contract).
        if let Ok(context) = unsafe { clone_arc(context) } {
            context.close();
        }
    })
}

/// Frees a context (NULL is a no-op), from any thread. A call running on it meanwhile
/// finishes first; its timers, microtasks and host functions go with it, and never
/// run in another context.
///
/// # Safety
/// `context` is NULL or a handle from `v8rs_context_new` that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn v8rs_context_free(context: *mut v8rs_context) {
    shielded((), || {
        // SAFETY: NULL or a live handle from `v8rs_context_new` (the caller's contract).
        if let Some(context) = unsafe { free_arc(context) } {
            context.close();
        }
    })
}

/// Runs the context's event loop — microtasks, timers and the platform's tasks (async
/// WebAssembly compilation…), waiting until the next one is due — until nothing is
/// queued (`docs/event-loop.md`). While it waits, other threads may use the VM. Timers
/// run only inside this call and inside calls that await a promise
/// (`V8RS_AWAIT_PROMISE`).
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
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        let context = unsafe { clone_arc(context) }?;
        context.run_until_idle(timeout(timeout_ms))
    })
}

/// Takes the oldest promise of `context` rejected with no handler and not taken yet (as
/// Node reports them once a script's work is done — a handler added later takes it
/// back): writes its reason as an error (`V8RS_CODE_JS_ERROR`, with name, message and
/// stack; free it with `v8rs_error_free`) to `*rejection_out`, or NULL when there is
/// none. Waits for the VM like a call, only when there is one. Describing the reason
/// runs its getters: a `timeout_ms` other than 0 stops them after that many
/// milliseconds (`V8RS_CODE_TIMEOUT`; the rejection is taken all the same).
///
/// # Safety
/// `context` is NULL or a live handle; `rejection_out` and `error_out` are NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_context_take_unhandled_rejection(
    context: *const v8rs_context,
    timeout_ms: u64,
    rejection_out: *mut *mut v8rs_error,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        let context = unsafe { clone_arc(context) }?;
        let rejection_out = non_null(rejection_out, "rejection_out")?;
        let rejection = context.take_unhandled_rejection(timeout(timeout_ms))?;
        let handle = rejection.map_or(std::ptr::null_mut(), box_into_handle);
        // SAFETY: a non-NULL, writable pointer (the caller's contract).
        unsafe { *rejection_out = handle };
        Ok(())
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
        unsafe { clone_arc(context) }.map_or(0, |c| c.pending_tasks())
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
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: the caller's contract, as documented on this function.
        let (context, script, identifier) =
            unsafe { script_call(context, script, script_len, identifier, identifier_len) }?;
        let result_out = non_null(result_out, "result_out")?;
        let result = context.run_script_with_timeout(script, identifier, timeout(timeout_ms))?;
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
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: the caller's contract, as documented on this function.
        let (context, script, identifier) =
            unsafe { script_call(context, script, script_len, identifier, identifier_len) }?;
        let into = ResultBuffer {
            buffer,
            capacity,
            len_out: result_len_out,
            spill_out,
        };
        into.check("result_len_out")?;
        let result = context.run_script_with_timeout(script, identifier, timeout(timeout_ms))?;
        // SAFETY: the caller's contract for `buffer` and the out-params.
        unsafe { into.deliver(result.as_bytes()) }
    })
}

/// `v8rs_run_script_into` with `flags`: `V8RS_SOURCE_MAPS` honours the script's
/// `//# sourceMappingURL=` (see `V8RS_SOURCE_MAPS`), 0 runs it as
/// `v8rs_run_script_into` does.
///
/// # Safety
/// As `v8rs_run_script_into`.
#[no_mangle]
pub unsafe extern "C" fn v8rs_run_script_into_with(
    context: *mut v8rs_context,
    script: *const c_char,
    script_len: usize,
    identifier: *const c_char,
    identifier_len: usize,
    timeout_ms: u64,
    flags: u32,
    buffer: *mut c_char,
    capacity: usize,
    result_len_out: *mut usize,
    spill_out: *mut *mut c_char,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: the caller's contract, as documented on this function.
        let (context, script, identifier) =
            unsafe { script_call(context, script, script_len, identifier, identifier_len) }?;
        let into = ResultBuffer {
            buffer,
            capacity,
            len_out: result_len_out,
            spill_out,
        };
        into.check("result_len_out")?;
        let source_maps = call_flags(flags, V8RS_SOURCE_MAPS)?.source_maps;
        let result =
            context.run_script_with(script, identifier, timeout(timeout_ms), source_maps)?;
        // SAFETY: the caller's contract for `buffer` and the out-params.
        unsafe { into.deliver(result.as_bytes()) }
    })
}

/// Compiles and runs `script` like `v8rs_run_script`, and returns its result as a
/// value in the wire format (`docs/values.md`) through `*value_out` (`*value_len_out`
/// bytes; free it with `v8rs_string_free`). `flags`: `V8RS_AWAIT_PROMISE`,
/// `V8RS_ACCEPT_JSON`, `V8RS_SOURCE_MAPS`, any of them (`|`) or 0.
///
/// Errors: as `v8rs_run_script`, plus `V8RS_CODE_CONVERSION` for a result with no
/// wire-format equivalent (a function, a Symbol, a cycle, …). In every function that
/// takes `flags`, a bit it does not take is `V8RS_CODE_INVALID_ARGUMENT`.
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
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: the caller's contract, as documented on this function.
        let (context, script, identifier) =
            unsafe { script_call(context, script, script_len, identifier, identifier_len) }?;
        let value_out = non_null(value_out, "value_out")?;
        let value = eval_script(&context, script, identifier, timeout_ms, flags)?;
        // SAFETY: `value_out` is non-NULL and writable, `value_len_out` NULL or writable.
        unsafe { hand_out(&value, value_out, value_len_out) }
    })
}

/// Calls the function named by `function` (`function_len` bytes of UTF-8: `"render"`,
/// or a dotted name such as `"lib.render"`, called as a method of `lib`) with `args`, a
/// wire-format array (`args_len` bytes) — or, with the flag `V8RS_ARGS_JSON`, the JSON
/// text of the array — and returns its result like `v8rs_eval`. `flags`:
/// `V8RS_AWAIT_PROMISE`, `V8RS_ACCEPT_JSON`, `V8RS_ARGS_JSON`, any of them (`|`) or 0.
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
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        let context = unsafe { clone_arc(context) }?;
        let value_out = non_null(value_out, "value_out")?;
        // SAFETY: each pointer has the given number of readable bytes.
        let function = unsafe { bytes(function, function_len, "function") }?;
        // SAFETY: as above.
        let args = unsafe { bytes(args, args_len, "args") }?;
        let value = call_function(&context, function, args, timeout_ms, flags)?;
        // SAFETY: `value_out` is non-NULL and writable, `value_len_out` NULL or writable.
        unsafe { hand_out(&value, value_out, value_len_out) }
    })
}

/// `v8rs_eval` for hot loops: the value goes into the caller's `buffer` when it fits,
/// or into `*spill_out` otherwise, as for `v8rs_run_script_into`.
///
/// # Safety
/// As `v8rs_eval` and `v8rs_run_script_into`.
#[no_mangle]
pub unsafe extern "C" fn v8rs_eval_into(
    context: *mut v8rs_context,
    script: *const c_char,
    script_len: usize,
    identifier: *const c_char,
    identifier_len: usize,
    timeout_ms: u64,
    flags: u32,
    buffer: *mut c_char,
    capacity: usize,
    value_len_out: *mut usize,
    spill_out: *mut *mut c_char,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: the caller's contract, as documented on this function.
        let (context, script, identifier) =
            unsafe { script_call(context, script, script_len, identifier, identifier_len) }?;
        let into = ResultBuffer {
            buffer,
            capacity,
            len_out: value_len_out,
            spill_out,
        };
        into.check("value_len_out")?;
        let value = eval_script(&context, script, identifier, timeout_ms, flags)?;
        // SAFETY: the caller's contract for `buffer` and the out-params.
        unsafe { into.deliver(&value) }
    })
}

/// `v8rs_call` for hot loops: the value goes into the caller's `buffer` when it fits,
/// or into `*spill_out` otherwise, as for `v8rs_run_script_into`.
///
/// # Safety
/// As `v8rs_call` and `v8rs_run_script_into`.
#[no_mangle]
pub unsafe extern "C" fn v8rs_call_into(
    context: *mut v8rs_context,
    function: *const c_char,
    function_len: usize,
    args: *const c_char,
    args_len: usize,
    timeout_ms: u64,
    flags: u32,
    buffer: *mut c_char,
    capacity: usize,
    value_len_out: *mut usize,
    spill_out: *mut *mut c_char,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        let context = unsafe { clone_arc(context) }?;
        let into = ResultBuffer {
            buffer,
            capacity,
            len_out: value_len_out,
            spill_out,
        };
        into.check("value_len_out")?;
        // SAFETY: each pointer has the given number of readable bytes.
        let function = unsafe { bytes(function, function_len, "function") }?;
        // SAFETY: as above.
        let args = unsafe { bytes(args, args_len, "args") }?;
        let value = call_function(&context, function, args, timeout_ms, flags)?;
        // SAFETY: the caller's contract for `buffer` and the out-params.
        unsafe { into.deliver(&value) }
    })
}

/// `context.eval` with the flags of `v8rs_eval`.
fn eval_script(
    context: &Context,
    script: &[u8],
    identifier: &[u8],
    timeout_ms: u64,
    flags: u32,
) -> Result<Vec<u8>, Error> {
    context.eval(
        script,
        identifier,
        timeout(timeout_ms),
        call_flags(flags, EVAL_FLAGS)?,
    )
}

/// `context.call` or, with `V8RS_ARGS_JSON`, `context.call_json`.
fn call_function(
    context: &Context,
    function: &[u8],
    args: &[u8],
    timeout_ms: u64,
    flags: u32,
) -> Result<Vec<u8>, Error> {
    let engine_flags = call_flags(flags, CALL_FLAGS)?;
    if flags & V8RS_ARGS_JSON != 0 {
        context.call_json(function, args, timeout(timeout_ms), engine_flags)
    } else {
        context.call(function, args, timeout(timeout_ms), engine_flags)
    }
}

/// The context (a reference of the call's own), script and script name of a call.
type ScriptCall<'a> = (std::sync::Arc<Context>, &'a [u8], &'a [u8]);

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
) -> Result<ScriptCall<'a>, Error> {
    // SAFETY: by this function's contract.
    unsafe {
        Ok((
            clone_arc(context)?,
            bytes(script, script_len, "script")?,
            script_name(identifier, identifier_len)?,
        ))
    }
}

/// Reads the `n` files named by `paths` (NUL-terminated, any bytes) and runs each in
/// `context`, in order, with its path as the script name. Stops at the first failure.
/// Source maps are on: a file's `//# sourceMappingURL=` is honoured (a map file
/// resolved next to it), so errors in it show original positions; `v8rs_load_libs_with`
/// without `V8RS_SOURCE_MAPS` turns that off.
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
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        let context = unsafe { clone_arc(context) }?;
        // SAFETY: `paths` has `n` entries, each a NUL-terminated string (the contract).
        let paths = unsafe { c_paths(paths, n) }?;
        context.load_libs(&paths)
    })
}

/// `v8rs_load_libs` through V8's code cache: each script's compiled code is kept after
/// its first run — in memory for this process (at most 64 MiB, least recently used
/// first out) and, when `cache_dir` (a NUL-terminated path) is not NULL, in that
/// directory — and reused the next time the same script (same name, source, V8 version
/// and flags) is loaded. A rejected entry falls back to a normal compile and is
/// replaced. Source maps are on, as for `v8rs_load_libs`.
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
) -> v8rs_code {
    guarded(error_out, || {
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: NULL or a live handle (the caller's contract).
        let context = unsafe { clone_arc(context) }?;
        // SAFETY: as for `v8rs_load_libs`.
        let paths = unsafe { c_paths(paths, n) }?;
        let dir = (!cache_dir.is_null()).then(|| {
            // SAFETY: a NUL-terminated string (the caller's contract).
            let dir = unsafe { CStr::from_ptr(cache_dir) };
            std::path::Path::new(std::ffi::OsStr::from_bytes(dir.to_bytes()))
        });
        context.load_libs_cached(&paths, dir)
    })
}

/// `v8rs_load_libs` with `flags`: `V8RS_SOURCE_MAPS` honours each file's
/// `//# sourceMappingURL=` (a map file resolved next to the file), `V8RS_CODE_CACHE`
/// goes through V8's code cache as `v8rs_load_libs_cached` does (with `cache_dir`, a
/// NUL-terminated path or NULL; ignored without the flag). `v8rs_load_libs` is this
/// with `V8RS_SOURCE_MAPS`.
///
/// # Safety
/// As `v8rs_load_libs_cached`.
#[no_mangle]
pub unsafe extern "C" fn v8rs_load_libs_with(
    context: *mut v8rs_context,
    paths: *const *const c_char,
    n: usize,
    flags: u32,
    cache_dir: *const c_char,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: NULL or a live handle (the caller's contract).
        let context = unsafe { clone_arc(context) }?;
        // SAFETY: as for `v8rs_load_libs`.
        let paths = unsafe { c_paths(paths, n) }?;
        let dir = (!cache_dir.is_null()).then(|| {
            // SAFETY: a NUL-terminated string (the caller's contract).
            let dir = unsafe { CStr::from_ptr(cache_dir) };
            std::path::Path::new(std::ffi::OsStr::from_bytes(dir.to_bytes()))
        });
        let flags = checked_flags(flags, V8RS_SOURCE_MAPS | V8RS_CODE_CACHE)?;
        let source_maps = flags & V8RS_SOURCE_MAPS != 0;
        let code_cache = flags & V8RS_CODE_CACHE != 0;
        context.load_libs_with(&paths, code_cache, dir, source_maps)
    })
}

/// The modules folder of a `v8rs_context_enable_node` call: NULL (none) or UTF-8 bytes.
///
/// # Safety
/// `modules` is NULL or points to `len` readable bytes.
unsafe fn modules_folder(
    modules: *const c_char,
    len: usize,
) -> Result<Option<std::path::PathBuf>, Error> {
    if modules.is_null() {
        return Ok(None);
    }
    // SAFETY: `modules` points to `len` bytes (the caller's contract).
    let bytes = unsafe { bytes(modules, len, "modules") }?;
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Error::invalid_argument("the modules folder is not UTF-8"))?;
    Ok(Some(std::path::PathBuf::from(text)))
}

/// Gives the context Node's basics (`docs/node.md`): `process` (`env`, `nextTick`,
/// `version`, `platform`, `hrtime`…), `Buffer`, `global`, `setImmediate`/
/// `clearImmediate`, and `require` of CommonJS from the project folder `modules` (the
/// one holding `node_modules`; NULL for built-in modules only) — which `v8rs_run_module`
/// without a resolver also uses, for ES modules. Every file `require` reads is inside
/// that folder once symbolic links are followed. `env` holds `env_len` bytes of
/// `KEY=VALUE` entries, each ended by a NUL byte (NULL or 0 bytes: an empty
/// `process.env`).
///
/// Errors: `V8RS_CODE_INVALID_ARGUMENT` for a folder that is not one, an entry without
/// `=` or bytes that are not UTF-8; `V8RS_CODE_INVALID_STATE` when the context has the
/// Node group already, or was freed.
///
/// # Safety
/// `context` is NULL or a live handle; `modules` is NULL or points to `modules_len`
/// bytes; `env` is NULL or points to `env_len` bytes; `error_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_context_enable_node(
    context: *mut v8rs_context,
    modules: *const c_char,
    modules_len: usize,
    env: *const c_char,
    env_len: usize,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        let context = unsafe { clone_arc(context) }?;
        // SAFETY: `modules` points to `modules_len` bytes (the caller's contract).
        let modules = unsafe { modules_folder(modules, modules_len) }?;
        let env = if env.is_null() || env_len == 0 {
            &[][..]
        } else {
            // SAFETY: `env` points to `env_len` bytes (the caller's contract).
            unsafe { bytes(env, env_len, "env") }?
        };
        let env = std::str::from_utf8(env)
            .map_err(|_| Error::invalid_argument("env is not UTF-8"))?
            .split_terminator('\0')
            .map(|entry| {
                entry
                    .split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .ok_or_else(|| {
                        Error::invalid_argument(format!("env entry '{entry}' has no '='"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        context.enable_node(NodeOptions { modules, env })
    })
}

/// Sets the folder `require` (and `v8rs_run_module` without a resolver) resolves from
/// and reads under, in a context with the Node group; NULL: built-in modules only.
///
/// Errors: `V8RS_CODE_INVALID_ARGUMENT` for a folder that is not one;
/// `V8RS_CODE_INVALID_STATE` for a context without the Node group, or freed.
///
/// # Safety
/// `context` is NULL or a live handle; `modules` is NULL or points to `modules_len`
/// bytes; `error_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_context_set_node_modules(
    context: *mut v8rs_context,
    modules: *const c_char,
    modules_len: usize,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    guarded(error_out, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        let context = unsafe { clone_arc(context) }?;
        // SAFETY: `modules` points to `modules_len` bytes (the caller's contract).
        let modules = unsafe { modules_folder(modules, modules_len) }?;
        context.set_node_modules(modules.as_deref())
    })
}
