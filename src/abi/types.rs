//! The plain C types of the ABI: the result code, the option and figure structs, the
//! flags and the callback signatures.

use std::ffi::{c_char, c_void};

use crate::abi::host::v8rs_reply;
use crate::engine::{CallFlags, Code, Error, HeapStats, VmOptions, WebFeatures};

/// Result code of every fallible operation.
///
/// The numeric values are stable: new codes are only ever appended.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum v8rs_code {
    /// Success.
    Ok = 0,
    /// JavaScript threw (a syntax error at compile time, or an exception at run time).
    JsError = 1,
    /// The heap reached its limit (the call was stopped; the process lives on), or a
    /// string was too large for V8.
    OutOfMemory = 2,
    /// An argument was wrong: a NULL pointer, bytes that are not UTF-8, …
    InvalidArgument = 3,
    /// The call does not fit the lifecycle: set-up twice, used after tear-down or
    /// free, or a parent (platform, VM) already torn down.
    InvalidState = 4,
    /// A file could not be read.
    IoError = 5,
    /// Anything else (an internal failure; a bug if you see it).
    Unknown = 6,
    /// The running JavaScript was stopped by a terminate request from some thread.
    Terminated = 7,
    /// The running JavaScript was stopped because its timeout expired.
    Timeout = 8,
    /// A value has no faithful equivalent on the other side (a function, a Symbol, a
    /// cycle, …); see the wire format in `docs/values.md`.
    Conversion = 9,
}

impl From<Code> for v8rs_code {
    fn from(code: Code) -> v8rs_code {
        match code {
            Code::Ok => v8rs_code::Ok,
            Code::JsError => v8rs_code::JsError,
            Code::OutOfMemory => v8rs_code::OutOfMemory,
            Code::InvalidArgument => v8rs_code::InvalidArgument,
            Code::InvalidState => v8rs_code::InvalidState,
            Code::IoError => v8rs_code::IoError,
            Code::Unknown => v8rs_code::Unknown,
            Code::Terminated => v8rs_code::Terminated,
            Code::Timeout => v8rs_code::Timeout,
            Code::Conversion => v8rs_code::Conversion,
        }
    }
}

/// How to create a VM. Zero means V8's default.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct v8rs_vm_options {
    /// Initial size of the JavaScript heap, in bytes.
    pub initial_heap_size: usize,
    /// Largest size of the JavaScript heap, in bytes. A call that needs more is
    /// stopped with `V8RS_CODE_OUT_OF_MEMORY` instead of V8 aborting the process. The
    /// contents of `ArrayBuffer`s, which live outside the heap, are capped at the same
    /// size (an allocation past it throws a `RangeError`), and so are the VM's
    /// WebAssembly memories, together, by their maximum sizes.
    pub max_heap_size: usize,
}

impl From<v8rs_vm_options> for VmOptions {
    fn from(options: v8rs_vm_options) -> VmOptions {
        VmOptions {
            initial_heap_size: options.initial_heap_size,
            max_heap_size: options.max_heap_size,
        }
    }
}

/// Heap figures of a VM, in bytes, named as in V8's `HeapStatistics`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct v8rs_heap_stats {
    /// Memory V8 reserved for the heap.
    pub total_heap_size: usize,
    /// Part of it for executable code.
    pub total_heap_size_executable: usize,
    /// Memory committed to the heap.
    pub total_physical_size: usize,
    /// Memory still available to the heap.
    pub total_available_size: usize,
    /// Memory in use by JavaScript objects.
    pub used_heap_size: usize,
    /// The heap's limit.
    pub heap_size_limit: usize,
    /// Memory V8 allocated with `malloc`.
    pub malloced_memory: usize,
    /// Peak of `malloced_memory`.
    pub peak_malloced_memory: usize,
    /// Memory held outside the heap by JavaScript objects (array buffers, …).
    pub external_memory: usize,
    /// Number of contexts alive in the VM.
    pub number_of_native_contexts: usize,
    /// Contexts freed but not yet collected.
    pub number_of_detached_contexts: usize,
}

impl From<HeapStats> for v8rs_heap_stats {
    fn from(s: HeapStats) -> v8rs_heap_stats {
        v8rs_heap_stats {
            total_heap_size: s.total_heap_size,
            total_heap_size_executable: s.total_heap_size_executable,
            total_physical_size: s.total_physical_size,
            total_available_size: s.total_available_size,
            used_heap_size: s.used_heap_size,
            heap_size_limit: s.heap_size_limit,
            malloced_memory: s.malloced_memory,
            peak_malloced_memory: s.peak_malloced_memory,
            external_memory: s.external_memory,
            number_of_native_contexts: s.number_of_native_contexts,
            number_of_detached_contexts: s.number_of_detached_contexts,
        }
    }
}

/// A host function: `args` is a wire-format array of `args_len` bytes, valid during
/// the call; it answers through `reply` (`v8rs_reply_value`, `v8rs_reply_error`,
/// `v8rs_reply_error_with_data`). It gets the `data` it was exposed with.
pub type v8rs_host_fn = unsafe extern "C" fn(
    data: *mut c_void,
    args: *const c_char,
    args_len: usize,
    reply: *mut v8rs_reply,
);

/// A module resolver: `specifier` imported from the module named `referrer`; it
/// answers through `reply` (`v8rs_reply_module` or `v8rs_reply_error`).
pub type v8rs_resolver_fn = unsafe extern "C" fn(
    data: *mut c_void,
    specifier: *const c_char,
    specifier_len: usize,
    referrer: *const c_char,
    referrer_len: usize,
    reply: *mut v8rs_reply,
);

/// `console.debug` (Node writes it to stdout).
pub const V8RS_CONSOLE_DEBUG: u32 = 0;
/// `console.log`, and what prints like it: `dir`, `table`, `count`, `time*`, `group`.
pub const V8RS_CONSOLE_LOG: u32 = 1;
/// `console.info` (stdout).
pub const V8RS_CONSOLE_INFO: u32 = 2;
/// `console.warn`, and the console's own warnings (stderr).
pub const V8RS_CONSOLE_WARN: u32 = 3;
/// `console.error`, `console.trace`, a failed `console.assert` (stderr).
pub const V8RS_CONSOLE_ERROR: u32 = 4;

const _: () = {
    use crate::engine::console::ConsoleLevel;
    assert!(V8RS_CONSOLE_DEBUG == ConsoleLevel::Debug as u32);
    assert!(V8RS_CONSOLE_LOG == ConsoleLevel::Log as u32);
    assert!(V8RS_CONSOLE_INFO == ConsoleLevel::Info as u32);
    assert!(V8RS_CONSOLE_WARN == ConsoleLevel::Warn as u32);
    assert!(V8RS_CONSOLE_ERROR == ConsoleLevel::Error as u32);
};

/// Called exactly once, on some thread, when the library drops the `data` it was given
/// with this finalizer; it must not call into the library.
pub type v8rs_finalizer = unsafe extern "C" fn(data: *mut c_void);

/// Flag for `v8rs_eval`, `v8rs_call`: when the result is a Promise, run the event loop
/// until it settles and return its value (a rejection is a `V8RS_CODE_JS_ERROR`).
pub const V8RS_AWAIT_PROMISE: u32 = 1;

/// Flag for `v8rs_eval`, `v8rs_call` and `v8rs_run_module`: the caller also reads `J`
/// (JSON text) values, so a result that JSON says exactly may come as one — much faster
/// to read with a JSON parser than tag by tag.
pub const V8RS_ACCEPT_JSON: u32 = 2;

/// Flag for `v8rs_eval`, `v8rs_run_module`, `v8rs_run_script_into_with` and
/// `v8rs_load_libs_with`: honour the script's `//# sourceMappingURL=` comment (a
/// `data:` URL, or a map file resolved against the script's name taken as a path,
/// relative to the current directory when relative), so that errors in its code show
/// original positions (`docs/debugging.md`). Errors of every call are mapped where
/// their frames are in such scripts.
pub const V8RS_SOURCE_MAPS: u32 = 4;

/// Flag for `v8rs_call` and `v8rs_call_into`: `args` is the JSON text (UTF-8) of the
/// array of arguments, as `JSON.parse` reads it, instead of a wire-format array — the
/// fast way for arguments that JSON carries exactly.
pub const V8RS_ARGS_JSON: u32 = 16;

/// Flag for `v8rs_load_libs_with`: go through V8's code cache, as
/// `v8rs_load_libs_cached`.
pub const V8RS_CODE_CACHE: u32 = 8;

/// How deep arrays, objects, maps and sets may nest in a wire-format value.
pub const V8RS_MAX_DEPTH: u32 = 512;

/// The version of this C ABI, which `v8rs_abi_version()` returns. It grows with every
/// change that breaks a program built against an older header (a signature, a struct's
/// layout, a flag's or code's meaning); functions and flags only added keep it. Check
/// at start-up that `v8rs_abi_version() == V8RS_ABI_VERSION`.
pub const V8RS_ABI_VERSION: u32 = 2;

/// `setTimeout`, `setInterval`, `clearTimeout`, `clearInterval`, `queueMicrotask`.
pub const V8RS_WEB_TIMERS: u32 = 1;
/// `TextEncoder`, `TextDecoder` (UTF-8).
pub const V8RS_WEB_ENCODING: u32 = 2;
/// `atob`, `btoa`.
pub const V8RS_WEB_BASE64: u32 = 4;
/// `structuredClone`.
pub const V8RS_WEB_STRUCTURED_CLONE: u32 = 8;
/// `performance.now()`, `performance.timeOrigin`.
pub const V8RS_WEB_PERFORMANCE: u32 = 16;
/// `crypto.getRandomValues`, `crypto.randomUUID`.
pub const V8RS_WEB_CRYPTO: u32 = 32;
/// `URL`, `URLSearchParams`.
pub const V8RS_WEB_URL: u32 = 64;
/// `Event`, `EventTarget`, `AbortController`, `AbortSignal`, `DOMException`.
pub const V8RS_WEB_EVENTS: u32 = 128;
/// `MessageChannel`, `MessagePort`, `MessageEvent`.
pub const V8RS_WEB_MESSAGE_CHANNEL: u32 = 256;
/// `ReadableStream`, `WritableStream`, `TransformStream` and their companions.
pub const V8RS_WEB_STREAMS: u32 = 512;
/// `console` as Node's, its text sent to the sink of `v8rs_vm_set_console`.
pub const V8RS_WEB_CONSOLE: u32 = 1024;
/// `fetch`, `Headers`, `Request`, `Response`, `Blob`, `File`, `FormData` (`fetch`
/// reaches only the host given by `v8rs_context_set_fetch`).
pub const V8RS_WEB_FETCH: u32 = 2048;
/// Every web API group a context gets by default (all but `V8RS_WEB_DOM`).
pub const V8RS_WEB_ALL: u32 = 4095;
/// Opt-in (not in `V8RS_WEB_ALL`): a server-side DOM — `window`, `document`,
/// `DOMParser`, elements, events, `navigator`, `location`… from linkedom, loaded on the
/// first use of any of them. No layout, no resource loading.
pub const V8RS_WEB_DOM: u32 = 4096;

const _: () = {
    assert!(V8RS_WEB_TIMERS == WebFeatures::TIMERS.0);
    assert!(V8RS_WEB_ENCODING == WebFeatures::ENCODING.0);
    assert!(V8RS_WEB_BASE64 == WebFeatures::BASE64.0);
    assert!(V8RS_WEB_STRUCTURED_CLONE == WebFeatures::STRUCTURED_CLONE.0);
    assert!(V8RS_WEB_PERFORMANCE == WebFeatures::PERFORMANCE.0);
    assert!(V8RS_WEB_CRYPTO == WebFeatures::CRYPTO.0);
    assert!(V8RS_WEB_URL == WebFeatures::URL.0);
    assert!(V8RS_WEB_EVENTS == WebFeatures::EVENTS.0);
    assert!(V8RS_WEB_MESSAGE_CHANNEL == WebFeatures::MESSAGE_CHANNEL.0);
    assert!(V8RS_WEB_STREAMS == WebFeatures::STREAMS.0);
    assert!(V8RS_WEB_CONSOLE == WebFeatures::CONSOLE.0);
    assert!(V8RS_WEB_FETCH == WebFeatures::FETCH.0);
    assert!(V8RS_WEB_ALL == WebFeatures::ALL.0);
    assert!(V8RS_WEB_DOM == WebFeatures::DOM.0);
    assert!(V8RS_MAX_DEPTH as usize == crate::engine::values::MAX_DEPTH);
};

/// `flags` when it holds only bits of `allowed` (those the function takes); otherwise an
/// `InvalidArgument` error naming the others, so that a flag of a newer header, or a
/// flag given to the wrong function, is not silently ignored.
pub(crate) fn checked_flags(flags: u32, allowed: u32) -> Result<u32, Error> {
    match flags & !allowed {
        0 => Ok(flags),
        unknown => Err(Error::invalid_argument(format!(
            "flags: bits {unknown:#x} are not flags of this function (it takes {allowed:#x})"
        ))),
    }
}

/// The engine's flags for the `V8RS_AWAIT_PROMISE` / `V8RS_ACCEPT_JSON` /
/// `V8RS_SOURCE_MAPS` bits of `flags`, refused when it holds bits outside `allowed`.
pub(crate) fn call_flags(flags: u32, allowed: u32) -> Result<CallFlags, Error> {
    let flags = checked_flags(flags, allowed)?;
    Ok(CallFlags {
        await_promise: flags & V8RS_AWAIT_PROMISE != 0,
        accept_json: flags & V8RS_ACCEPT_JSON != 0,
        source_maps: flags & V8RS_SOURCE_MAPS != 0,
    })
}
