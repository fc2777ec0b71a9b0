//! Host functions and module resolvers written in C (or anything that calls C):
//! `v8rs_context_expose`, `v8rs_run_module`, and the `v8rs_reply` they answer through;
//! a context's network for `fetch` (`v8rs_context_set_fetch`) and the later answers to
//! its requests (`v8rs_context_settle`).

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use crate::abi::boundary::{guarded, shielded};
use crate::abi::context::v8rs_context;
use crate::abi::error::v8rs_error;
use crate::abi::handle::{clone_arc, try_mut, Castable, OwnershipRef};
use crate::abi::strings::{bytes, hand_out, non_null, script_name, timeout};
use crate::abi::types::{
    call_flags, v8rs_code, v8rs_finalizer, v8rs_host_fn, v8rs_resolver_fn, V8RS_ACCEPT_JSON,
    V8RS_SOURCE_MAPS,
};
use crate::engine::{Error, HostError};

/// The answer of a host function or a module resolver, filled during the call by
/// `v8rs_reply_value`, `v8rs_reply_error`, `v8rs_reply_error_with_data` or
/// `v8rs_reply_module`.
///
/// Ownership: borrowed; valid only during the call it was handed to.
#[derive(Default)]
pub struct v8rs_reply {
    value: Option<Vec<u8>>,
    error: Option<Vec<u8>>,
    /// The canonical name of a module, for a module resolver's reply.
    name: Option<Vec<u8>>,
    payload: Option<Arc<ForeignData>>,
}

impl Castable for v8rs_reply {
    type Ownership = OwnershipRef;
    type RustType = v8rs_reply;
}

impl v8rs_reply {
    /// The host function's answer.
    fn into_result(self) -> Result<Vec<u8>, HostError> {
        match (self.error, self.value) {
            (Some(message), _) => Err(HostError {
                message: String::from_utf8_lossy(&message).into_owned(),
                payload: self.payload.map(|p| p as _),
            }),
            (None, Some(value)) => Ok(value),
            (None, None) => Ok(b"u".to_vec()),
        }
    }
}

/// The embedder's data and its finalizer, called once when the library drops it (as
/// wasmtime's `ForeignData`).
pub(crate) struct ForeignData {
    data: *mut c_void,
    finalizer: Option<v8rs_finalizer>,
}

// SAFETY: the embedder promises (in the documentation of every function that takes
// data) that the data may be used, and finalized, from any thread.
unsafe impl Send for ForeignData {}
// SAFETY: as above; the struct itself is never mutated.
unsafe impl Sync for ForeignData {}

impl ForeignData {
    /// The embedder's `data`, to be finalized by `finalizer` (if any) when dropped.
    pub(crate) fn new(data: *mut c_void, finalizer: Option<v8rs_finalizer>) -> Self {
        ForeignData { data, finalizer }
    }

    pub(crate) fn data(&self) -> *mut c_void {
        self.data
    }
}

impl Drop for ForeignData {
    fn drop(&mut self) {
        if let Some(finalizer) = self.finalizer {
            // SAFETY: the embedder's finalizer with its own data, exactly once.
            unsafe { finalizer(self.data) };
        }
    }
}

/// Makes the host function `function` callable from JavaScript as the global `name`
/// (`name_len` bytes of UTF-8) in `context`. JavaScript's arguments reach `function` as
/// a wire-format array; it answers through its `v8rs_reply` with `v8rs_reply_value`
/// (a wire-format value; no reply means `undefined`), `v8rs_reply_error` or
/// `v8rs_reply_error_with_data` (thrown in JavaScript as an `Error`). It runs on the
/// thread that called into the context, with the VM held. It may call back into the
/// same VM (nested calls run inside the outer call, under its timeout; a nested call's
/// own `timeout_ms` stops it and the outer call together); calls into
/// another VM on that thread fail with `V8RS_CODE_INVALID_STATE`.
///
/// Ownership: `data` is passed back to `function` on every call. The library keeps it
/// until the context is gone (after the last call that may reach the function), then
/// calls `finalizer(data)` once, if `finalizer` is not NULL. `data` must be usable, and
/// finalizable, from any thread.
///
/// # Safety
/// `context` is NULL or a live handle; `name` points to `name_len` readable bytes;
/// `function` and `finalizer` are NULL or valid function pointers; `error_out` is NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_context_expose(
    context: *mut v8rs_context,
    name: *const c_char,
    name_len: usize,
    function: Option<unsafe extern "C" fn(*mut c_void, *const c_char, usize, *mut v8rs_reply)>,
    data: *mut c_void,
    finalizer: Option<unsafe extern "C" fn(*mut c_void)>,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    // Owned from here on: finalized even when exposing fails.
    let foreign = ForeignData { data, finalizer };
    guarded(error_out, move || {
        // SAFETY: NULL or a live handle (the caller's contract).
        let context = unsafe { clone_arc(context) }?;
        // SAFETY: `name` has `name_len` readable bytes (the caller's contract).
        let name = unsafe { bytes(name, name_len, "name") }?;
        let function: v8rs_host_fn =
            function.ok_or_else(|| Error::invalid_argument("function is NULL"))?;
        let host = move |args: &[u8]| -> Result<Vec<u8>, HostError> {
            let foreign = &foreign; // the closure owns all of it (and finalizes it)
            let mut reply = v8rs_reply::default();
            // SAFETY: the embedder's function with its own data, a buffer valid for the
            // call, and a reply it may fill during the call.
            unsafe {
                function(
                    foreign.data,
                    args.as_ptr() as *const c_char,
                    args.len(),
                    &mut reply,
                )
            };
            reply.into_result()
        };
        context.expose(name, Arc::new(host))
    })
}

/// Gives `context` a network for `fetch` (without one, `fetch` rejects with
/// `TypeError: fetch failed`, its cause saying the context has no network permission);
/// a NULL `function` takes it away again. `function(data, args, args_len, reply)` is
/// called, like a host function of `v8rs_context_expose`, with a wire-format array:
///
/// - `["fetch", id, request]` — `request` an object with `method`, `url`, `headers`
///   (an array of `[name, value]` string pairs), `body` (bytes or null) and `redirect`;
/// - `["read", id, stream]` — the next chunk of a body answered as `stream`;
/// - `["cancel", id, stream]` — JavaScript no longer reads `stream`;
/// - `["abort", id]` — operation `id` was aborted (an `AbortSignal`, or a call of the
///   context was stopped: timeout, cancel, terminate); its answer will be ignored.
///
/// It should return at once (its reply is ignored unless it is an error, which fails
/// that `fetch` at once) and answer operation `id` later, from any thread, with
/// `v8rs_context_settle`: for a request an object `{status, statusText, headers, body}`
/// (`body` bytes, a string or null) or `{status, statusText, headers, stream}` (a
/// number the host chooses, read with `"read"`), or `{error: message}`; for a read
/// the chunk's bytes, or null at the end, or `{error: message}`. Redirects (3xx with a
/// `location`) are followed by `fetch`, each hop a new request.
///
/// Ownership: `data` as for `v8rs_context_expose`: `finalizer(data)` runs once, when
/// the function is replaced or the context is gone.
///
/// # Safety
/// `context` is NULL or a live handle; `function` and `finalizer` are NULL or valid
/// function pointers; `error_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_context_set_fetch(
    context: *mut v8rs_context,
    function: Option<unsafe extern "C" fn(*mut c_void, *const c_char, usize, *mut v8rs_reply)>,
    data: *mut c_void,
    finalizer: Option<unsafe extern "C" fn(*mut c_void)>,
    error_out: *mut *mut v8rs_error,
) -> v8rs_code {
    let foreign = ForeignData { data, finalizer };
    guarded(error_out, move || {
        // SAFETY: NULL or a live handle (the caller's contract).
        let context = unsafe { clone_arc(context) }?;
        let Some(function) = function else {
            drop(foreign);
            return context.set_fetch(None);
        };
        let host = move |args: &[u8]| -> Result<Vec<u8>, HostError> {
            let foreign = &foreign; // the closure owns all of it (and finalizes it)
            let mut reply = v8rs_reply::default();
            // SAFETY: the embedder's function with its own data, a buffer valid for the
            // call, and a reply it may fill during the call.
            unsafe {
                function(
                    foreign.data,
                    args.as_ptr() as *const c_char,
                    args.len(),
                    &mut reply,
                )
            };
            reply.into_result()
        };
        context.set_fetch(Some(Arc::new(host)))
    })
}

/// Answers the pending operation `id` of `context` (a request or a read handed to its
/// `v8rs_context_set_fetch` function) with the wire-format `value` (`value_len` bytes,
/// copied). Any thread, at any time: it does not wait for the VM; the promise is
/// settled in the context's next turn (a call awaiting it wakes). Returns 1 when the
/// operation was waiting for its answer, 0 otherwise (an unknown, answered or aborted
/// id, a closed context, NULL): those answers are ignored.
///
/// # Safety
/// `context` is NULL or a live handle; `value` points to `value_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn v8rs_context_settle(
    context: *mut v8rs_context,
    id: u64,
    value: *const c_char,
    value_len: usize,
) -> u32 {
    shielded(0, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        let Ok(context) = (unsafe { clone_arc(context) }) else {
            return 0;
        };
        // SAFETY: `value` has `value_len` readable bytes (the caller's contract).
        let Ok(value) = (unsafe { bytes(value, value_len, "value") }) else {
            return 0;
        };
        u32::from(context.settle(id, value.to_vec()))
    })
}

/// Runs `source` (`source_len` bytes of UTF-8) as an ES module named `identifier` in
/// `context`. Each `import` calls `resolver(data, specifier, specifier_len, referrer,
/// referrer_len, reply)`, which answers with `v8rs_reply_module` (the imported module's
/// canonical name and source) or `v8rs_reply_error`; a NULL `resolver` makes every
/// import fail — except in a context with a modules folder (`v8rs_context_enable_node`),
/// where imports resolve as in Node (`import`/`node`/`default` conditions). Top-level `await` is settled. With `global_name` (not NULL), the module
/// namespace becomes that global and `*value_out` is `undefined`; otherwise it is the
/// namespace in the wire format (functions in it are `V8RS_CODE_CONVERSION`;
/// `flags` may be `V8RS_ACCEPT_JSON`, and `V8RS_SOURCE_MAPS` to honour the source maps
/// of the module and of the modules it imports). Free `*value_out` with
/// `v8rs_string_free`.
/// The resolver may load modules itself (into another context of the VM, say).
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
            *mut c_void,
            *const c_char,
            usize,
            *const c_char,
            usize,
            *mut v8rs_reply,
        ),
    >,
    data: *mut c_void,
    global_name: *const c_char,
    global_name_len: usize,
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
        let source = unsafe { bytes(source, source_len, "source") }?;
        // SAFETY: as above.
        let identifier = unsafe { script_name(identifier, identifier_len) }?;
        let global_name = if global_name.is_null() {
            None
        } else {
            // SAFETY: as above.
            Some(unsafe { bytes(global_name, global_name_len, "global_name") }?)
        };
        let mut ask = |specifier: &str, referrer: &str| -> Result<(String, String), HostError> {
            let resolver: v8rs_resolver_fn = resolver.ok_or("no resolver was given")?;
            let mut reply = v8rs_reply::default();
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
                return Err(HostError {
                    message: String::from_utf8_lossy(&error).into_owned(),
                    payload: reply.payload.map(|p| p as _),
                });
            }
            match (reply.name, reply.value) {
                (Some(name), Some(source)) => Ok((
                    String::from_utf8(name).map_err(|_| "the module name is not UTF-8")?,
                    String::from_utf8(source).map_err(|_| "the module source is not UTF-8")?,
                )),
                _ => Err("the resolver gave no module".into()),
            }
        };
        // Without a resolver, a context with a modules folder resolves as Node does.
        let ask: Option<&mut crate::engine::modules::Resolver<'_>> = match resolver {
            Some(_) => Some(&mut ask),
            None => None,
        };
        let value = context.run_module(
            source,
            identifier,
            ask,
            global_name,
            timeout(timeout_ms),
            call_flags(flags, V8RS_ACCEPT_JSON | V8RS_SOURCE_MAPS)?,
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
    reply: *mut v8rs_reply,
    name: *const c_char,
    name_len: usize,
    source: *const c_char,
    source_len: usize,
) {
    shielded((), || {
        // SAFETY: by this function's contract.
        let (reply, name, source) = unsafe {
            (
                try_mut(reply),
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
    reply: *mut v8rs_reply,
    value: *const c_char,
    value_len: usize,
) {
    shielded((), || {
        // SAFETY: by this function's contract.
        let (reply, value) = unsafe { (try_mut(reply), bytes(value, value_len, "value")) };
        if let Some(reply) = reply {
            match value {
                Ok(value) => reply.value = Some(value.to_vec()),
                // A reply that cannot be read is an error in JavaScript, not `undefined`.
                Err(e) => {
                    reply.error = Some(format!("v8rs_reply_value: {}", e.message()).into_bytes())
                }
            }
        }
    })
}

/// Answers a host function's call (or a resolver's) with an error: JavaScript gets
/// `Error(message)` (`message_len` bytes of UTF-8, copied).
///
/// # Safety
/// As `v8rs_reply_value`.
#[no_mangle]
pub unsafe extern "C" fn v8rs_reply_error(
    reply: *mut v8rs_reply,
    message: *const c_char,
    message_len: usize,
) {
    // SAFETY: the same contract.
    unsafe { v8rs_reply_error_with_data(reply, message, message_len, std::ptr::null_mut(), None) }
}

/// Answers a host function's call with an error, like `v8rs_reply_error`, that carries
/// the embedder's `data` (its own exception object, say). If JavaScript does not catch
/// the error, the call that ran the script fails with a `v8rs_error` whose
/// `v8rs_error_host_data` is `data`; the library calls `finalizer(data)` once (when not
/// NULL) when it drops it: with that error, or when the outermost call ends if
/// JavaScript caught the error. Every reply but the last is finalized at once.
///
/// # Safety
/// As `v8rs_reply_value`; `finalizer` is NULL or a valid function pointer; `data` must
/// be finalizable from any thread.
#[no_mangle]
pub unsafe extern "C" fn v8rs_reply_error_with_data(
    reply: *mut v8rs_reply,
    message: *const c_char,
    message_len: usize,
    data: *mut c_void,
    finalizer: Option<unsafe extern "C" fn(*mut c_void)>,
) {
    let foreign = ForeignData { data, finalizer };
    shielded((), move || {
        // SAFETY: by this function's contract.
        let (reply, message) = unsafe { (try_mut(reply), bytes(message, message_len, "message")) };
        if let Some(reply) = reply {
            reply.error = Some(match message {
                Ok(message) => message.to_vec(),
                Err(e) => format!("v8rs_reply_error: {}", e.message()).into_bytes(),
            });
            reply.payload =
                (!foreign.data.is_null() || foreign.finalizer.is_some()).then(|| Arc::new(foreign));
        }
    })
}
