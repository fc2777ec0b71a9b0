//! The web APIs a context gets by default, so that bundles written for browsers (and
//! for server rendering) run unmodified: timers, `TextEncoder`/`TextDecoder`,
//! `atob`/`btoa`, `structuredClone`, `performance`, `crypto`, `URL`, events and
//! `AbortController`, `MessageChannel`, and web streams.
//!
//! Each group is one bit of a feature mask (`V8RS_WEB_*`); a context gets the groups
//! its creator asks for, [`ALL`] by default. The natives here (in Rust) do what needs
//! the engine or the OS; `prelude.js` builds the classes on them, and `streams.js` (a
//! bundled, spec-following polyfill) is loaded on first use. Nothing here reaches the
//! file system, the network or the process; a global that already exists (from a
//! snapshot, say) is left as it is.

mod clone;
mod encoding;
mod url;

use v8::MapFnTo;

use crate::error::{Code, Error};
use crate::event_loop::{self, EventLoop};

/// `setTimeout`, `setInterval`, `clearTimeout`, `clearInterval`, `queueMicrotask`.
pub const TIMERS: u32 = 1 << 0;
/// `TextEncoder`, `TextDecoder` (UTF-8; `TextEncoderStream`/`TextDecoderStream` with
/// [`STREAMS`]).
pub const ENCODING: u32 = 1 << 1;
/// `atob`, `btoa`.
pub const BASE64: u32 = 1 << 2;
/// `structuredClone` (V8's serializer).
pub const STRUCTURED_CLONE: u32 = 1 << 3;
/// `performance.now()`, `performance.timeOrigin`.
pub const PERFORMANCE: u32 = 1 << 4;
/// `crypto.getRandomValues`, `crypto.randomUUID` (OS randomness).
pub const CRYPTO: u32 = 1 << 5;
/// `URL`, `URLSearchParams` (the `url` crate's WHATWG parser).
pub const URL: u32 = 1 << 6;
/// `Event`, `EventTarget`, `AbortController`, `AbortSignal`, `DOMException`.
pub const EVENTS: u32 = 1 << 7;
/// `MessageChannel`, `MessagePort`, `MessageEvent`.
pub const MESSAGE_CHANNEL: u32 = 1 << 8;
/// `ReadableStream`, `WritableStream`, `TransformStream` and their readers, writers,
/// controllers and queuing strategies.
pub const STREAMS: u32 = 1 << 9;
/// Every group.
pub const ALL: u32 = (1 << 10) - 1;

/// The classes and functions built on the natives (run once per context).
const PRELUDE: &str = include_str!("prelude.js");
/// web-streams-polyfill, bundled by `tests/fixtures/build/build.mjs`.
const STREAMS_SOURCE: &str = include_str!("streams.js");

/// Installs the groups of `features` (unknown bits are an error) on the global object
/// of the current context. `event_loop` must live as long as the context.
pub(crate) fn install(
    scope: &mut v8::PinScope<'_, '_>,
    event_loop: &EventLoop,
    features: u32,
) -> Result<(), Error> {
    if features & !ALL != 0 {
        return Err(Error::invalid_argument(format!(
            "unknown web feature bits {:#x} (known: {ALL:#x})",
            features & !ALL
        )));
    }
    v8::tc_scope!(let tc, scope);
    let installed = (|| {
        if features & TIMERS != 0 {
            event_loop::install_timers(tc, event_loop)?;
        }
        if features & !TIMERS != 0 {
            run_prelude(tc, event_loop, features)?;
        }
        Some(())
    })();
    match installed {
        Some(()) => Ok(()),
        None => {
            let detail = match tc.exception() {
                _ if tc.has_terminated() => "it was terminated".into(),
                Some(exception) => exception.to_rust_string_lossy(tc),
                None => "no exception".into(),
            };
            Err(Error::new(
                Code::Unknown,
                format!("cannot install the web APIs: {detail}"),
            ))
        }
    }
}

fn run_prelude(
    scope: &mut v8::PinScope<'_, '_>,
    event_loop: &EventLoop,
    features: u32,
) -> Option<()> {
    let natives: [(&str, v8::FunctionCallback); 12] = [
        ("utf8Encode", encoding::encode.map_fn_to()),
        ("utf8EncodeInto", encoding::encode_into.map_fn_to()),
        ("utf8Decode", encoding::decode.map_fn_to()),
        ("clone", clone::structured_clone.map_fn_to()),
        ("now", now.map_fn_to()),
        ("randomFill", random_fill.map_fn_to()),
        ("urlParse", url::parse.map_fn_to()),
        ("urlSet", url::set.map_fn_to()),
        ("formParse", url::form_parse.map_fn_to()),
        ("formSerialize", url::form_serialize.map_fn_to()),
        ("schedule", schedule.map_fn_to()),
        ("loadStreams", load_streams.map_fn_to()),
    ];
    let native = v8::Object::new(scope);
    for (name, callback) in natives {
        let function = native_function(scope, name, callback, event_loop)?;
        let key = v8::String::new(scope, name)?;
        native.set(scope, key.into(), function.into())?;
    }
    let key = v8::String::new(scope, "timeOrigin")?;
    let origin = v8::Number::new(scope, event_loop.time_origin_ms());
    native.set(scope, key.into(), origin.into())?;
    let install = run_source(scope, PRELUDE, "v8rs:web/prelude.js")?;
    let install = v8::Local::<v8::Function>::try_from(install).ok()?;
    let features = v8::Integer::new_from_unsigned(scope, features);
    let receiver = v8::undefined(scope).into();
    install.call(scope, receiver, &[native.into(), features.into()])?;
    Some(())
}

/// Compiles and runs one of the embedded scripts; its completion value.
fn run_source<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    source: &str,
    name: &str,
) -> Option<v8::Local<'s, v8::Value>> {
    let code = v8::String::new(scope, source)?;
    let origin = crate::context::script_origin(scope, name, false).ok()?;
    v8::Script::compile(scope, code, Some(&origin))?.run(scope)
}

/// A native function named `name` whose data is the context's event loop.
pub(crate) fn native_function<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    name: &str,
    callback: v8::FunctionCallback,
    event_loop: &EventLoop,
) -> Option<v8::Local<'s, v8::Function>> {
    let pointer = event_loop as *const EventLoop as *mut std::ffi::c_void;
    let external = v8::External::new(scope, pointer);
    let function = v8::Function::builder_raw(callback)
        .data(external.into())
        .build(scope)?;
    function.set_name(v8::String::new(scope, name)?);
    Some(function)
}

/// Defines `global[name] = value` like the built-ins (writable, configurable, not
/// enumerable), unless `name` is already there.
pub(crate) fn define_global(
    scope: &mut v8::PinScope<'_, '_>,
    global: v8::Local<'_, v8::Object>,
    name: &str,
    value: v8::Local<'_, v8::Value>,
) -> Option<()> {
    let key = v8::String::new(scope, name)?;
    if global.has(scope, key.into())? {
        return Some(());
    }
    global.define_own_property(scope, key.into(), value, v8::PropertyAttribute::DONT_ENUM)?;
    Some(())
}

/// Throws a `TypeError` with `message` in the current context.
pub(crate) fn throw_type_error(scope: &mut v8::PinScope<'_, '_>, message: &str) {
    if let Some(message) = v8::String::new(scope, message) {
        let error = v8::Exception::type_error(scope, message);
        scope.throw_exception(error);
    }
}

/// A new `Uint8Array` that owns `bytes`.
pub(crate) fn uint8_array<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    bytes: Vec<u8>,
) -> Option<v8::Local<'s, v8::Uint8Array>> {
    let length = bytes.len();
    let store = v8::ArrayBuffer::new_backing_store_from_vec(bytes).make_shared();
    let buffer = v8::ArrayBuffer::with_backing_store(scope, &store);
    v8::Uint8Array::new(scope, buffer, 0, length)
}

/// The bytes an `ArrayBufferView` shows (a copy).
pub(crate) fn view_bytes(view: v8::Local<'_, v8::ArrayBufferView>) -> Vec<u8> {
    let mut bytes = vec![0; view.byte_length()];
    view.copy_contents(&mut bytes);
    bytes
}

/// Copies `bytes` to the start of what `view` shows (at most its length).
pub(crate) fn write_into_view(
    scope: &mut v8::PinScope<'_, '_>,
    view: v8::Local<'_, v8::ArrayBufferView>,
    bytes: &[u8],
) -> Option<()> {
    let buffer = view.buffer(scope)?;
    let store = buffer.get_backing_store();
    let start = view.byte_offset();
    let n = bytes.len().min(view.byte_length());
    for (cell, &byte) in store.get(start..start + n)?.iter().zip(bytes) {
        cell.set(byte);
    }
    Some(())
}

/// `performance.now()`: milliseconds since the context was created.
fn now<'s>(
    _scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    if let Some(event_loop) = event_loop::of_call(&args) {
        rv.set_double(event_loop.now_ms());
    }
}

/// `schedule(callback, delayMs)`: queues a task on the context's event loop; returns
/// its timer id (for `clearTimeout`).
fn schedule<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some(event_loop) = event_loop::of_call(&args) else {
        return;
    };
    let Ok(callback) = v8::Local::<v8::Function>::try_from(args.get(0)) else {
        return throw_type_error(scope, "schedule: the callback is not a function");
    };
    let delay = args.get(1).number_value(scope).unwrap_or(0.0);
    let callback = v8::Global::new(scope, callback);
    rv.set_uint32(event_loop.add(callback, Vec::new(), delay, false));
}

/// `randomFill(view)`: fills an `ArrayBufferView` with bytes from the OS; returns it.
fn random_fill<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Ok(view) = v8::Local::<v8::ArrayBufferView>::try_from(args.get(0)) else {
        return throw_type_error(scope, "randomFill: not an ArrayBufferView");
    };
    let mut bytes = vec![0u8; view.byte_length()];
    if let Err(e) = os_random(&mut bytes) {
        return throw_type_error(scope, &format!("the OS gave no random bytes: {e}"));
    }
    if write_into_view(scope, view, &bytes).is_some() {
        rv.set(view.into());
    }
}

/// Fills `bytes` from the kernel's CSPRNG (`getrandom(2)`).
fn os_random(bytes: &mut [u8]) -> std::io::Result<()> {
    let mut filled = 0;
    while filled < bytes.len() {
        let rest = &mut bytes[filled..];
        // SAFETY: `rest` is a valid, writable buffer of `rest.len()` bytes.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                return Err(error);
            }
        } else {
            filled += n as usize;
        }
    }
    Ok(())
}

/// `loadStreams()`: runs the bundled streams polyfill; returns its exports.
fn load_streams<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    _args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    if let Some(exports) = run_source(scope, STREAMS_SOURCE, "v8rs:web/streams.js") {
        rv.set(exports);
    }
}
