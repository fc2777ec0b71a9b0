//! JavaScript exceptions as [`Error`]s: the structured parts of what a `TryCatch`
//! caught (or a promise rejected with), and the payload of a host function's exception.
//!
//! When a host function fails, the `Error` it throws into JavaScript is marked (with a
//! private key) with a number that is unique in the process, and the embedder's payload
//! is kept for the length of the outermost call (see `call.rs`). If the exception
//! reaches the caller uncaught, the payload goes with the error; if JavaScript catches
//! it, the payload is dropped when the outermost call ends. A later, unrelated error
//! never finds it: the mark is per exception object, not per thread.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::engine::call::{CallLocals, StopCause};
use crate::engine::error::{Code, Error, Generated, HostPayload, JsError};
use crate::engine::source_map::{map_frames, rewrite_stack, RawFrame, SourceMaps};
use crate::engine::text::Text;
use crate::engine::vm::VmShared;

static NEXT_MARK: AtomicU64 = AtomicU64::new(1);

/// A host function's exception payload, waiting for its exception to reach a caller.
struct HostRecord {
    mark: f64,
    payload: HostPayload,
}

fn host_key<'s>(scope: &mut v8::PinScope<'s, '_>) -> Option<v8::Local<'s, v8::Private>> {
    let name = v8::String::new(scope, "v8rs.hostException")?;
    Some(v8::Private::for_api(scope, Some(name)))
}

/// Marks `exception` (a new Error object) as the exception of a host function that
/// carries `payload`.
pub(crate) fn mark_host_exception(
    scope: &mut v8::PinScope<'_, '_>,
    exception: v8::Local<'_, v8::Object>,
    payload: HostPayload,
) {
    let Some(key) = host_key(scope) else { return };
    // Below 2^53, so exact as a JavaScript number.
    let mark = (NEXT_MARK.fetch_add(1, Ordering::Relaxed) & ((1 << 53) - 1)) as f64;
    let value = v8::Number::new(scope, mark);
    if exception.set_private(scope, key, value.into()) == Some(true) {
        CallLocals::keep(Box::new(HostRecord { mark, payload }));
    }
}

/// The payload of the host exception `exception` is, if it is one of this call's.
fn host_payload(
    scope: &mut v8::PinScope<'_, '_>,
    exception: v8::Local<'_, v8::Value>,
) -> Option<HostPayload> {
    let object = v8::Local::<v8::Object>::try_from(exception).ok()?;
    let key = host_key(scope)?;
    let mark = object.get_private(scope, key)?.number_value(scope)?;
    CallLocals::take::<HostRecord>(|r| r.mark == mark).map(|r| r.payload)
}

fn text_of(scope: &mut v8::PinScope<'_, '_>, value: v8::Local<'_, v8::Value>) -> Option<Text> {
    value
        .is_string()
        .then(|| Text::from(value.to_rust_string_lossy(scope)))
}

/// Turns what the TryCatch `tc` caught into an [`Error`] with the exception's parts.
pub(crate) fn caught(
    tc: &mut v8::PinnedRef<'_, v8::TryCatch<v8::HandleScope>>,
    cause: StopCause<'_>,
) -> Error {
    if tc.has_terminated() || !tc.can_continue() {
        return cause.error();
    }
    let Some(exception) = tc.exception() else {
        return Error::new(Code::Unknown, "the script failed without an exception");
    };
    let message = tc.message();
    describe_exception(tc, exception, message, Some(cause))
}

/// An [`Error`] with the parts of the JavaScript `exception`, located by `message`.
///
/// Describing it may run JavaScript (`String(exception)`, getters of `name`, `message`
/// and `stack`, `Error.prepareStackTrace`); when that is stopped (a timeout, a
/// terminate — V8 stops one step at a time, and the next would start afresh), the
/// description ends there and the error is the stop's, from `cause` (without one,
/// [`Code::Terminated`]).
pub(crate) fn describe_exception(
    tc: &mut v8::PinnedRef<'_, v8::TryCatch<v8::HandleScope>>,
    exception: v8::Local<'_, v8::Value>,
    message: Option<v8::Local<'_, v8::Message>>,
    cause: Option<StopCause<'_>>,
) -> Error {
    let stopped = || {
        cause.map_or_else(
            || Error::new(Code::Terminated, "JavaScript was terminated"),
            |cause| cause.error(),
        )
    };
    if tc.is_execution_terminating() {
        return stopped();
    }
    // Reading properties may run user getters that throw: do it under a TryCatch of
    // its own so the caught exception stays as it is.
    v8::tc_scope!(let inner, tc);
    let Some(exception_text) = describe(inner, exception) else {
        return stopped();
    };
    let mut js = JsError {
        exception: exception_text,
        ..JsError::default()
    };
    if let Ok(object) = v8::Local::<v8::Object>::try_from(exception) {
        // `Err(())`: the read was stopped.
        let get = |scope: &mut v8::PinnedRef<'_, v8::TryCatch<v8::HandleScope>>, key: &str| {
            let Some(key) = v8::String::new(scope, key) else {
                return Ok(None);
            };
            let value = object.get(scope, key.into());
            let terminated = scope.has_terminated();
            scope.reset();
            if terminated {
                return Err(());
            }
            Ok(value.and_then(|v| text_of(scope, v)))
        };
        if exception.is_native_error() {
            let (Ok(name), Ok(text)) = (get(inner, "name"), get(inner, "message")) else {
                return stopped();
            };
            js.name = name.unwrap_or_default();
            js.message = text.unwrap_or_default();
        }
        let Ok(stack) = get(inner, "stack") else {
            return stopped();
        };
        js.stack = stack;
    }
    if !exception.is_native_error() {
        js.message = js.exception.clone();
    }
    if let Some(message) = message {
        js.script_name = message
            .get_script_resource_name(inner)
            .and_then(|v| text_of(inner, v));
        // V8 says "unknown" with line 0 and column -1 (an error at the end of input, say).
        let known = |n: usize| u32::try_from(n).ok().filter(|&n| n != u32::MAX);
        js.line = message
            .get_line_number(inner)
            .and_then(known)
            .filter(|&l| l > 0);
        js.start_column = known(message.get_start_column());
        js.end_column = known(message.get_end_column());
        js.source_line = message
            .get_source_line(inner)
            .filter(|_| js.line.is_some())
            .map(|s| Text::from(s.to_rust_string_lossy(inner)));
    }
    let trace = v8::Exception::get_stack_trace(inner, exception)
        .or_else(|| message.and_then(|m| m.get_stack_trace(inner)));
    let vm = VmShared::of(inner).cloned();
    let maps = vm.as_ref().map(|vm| &vm.source_maps);
    let raw = match trace {
        Some(trace) => raw_frames(inner, trace, maps),
        None if exception.is_native_error() => js.stack.as_ref().map_or_else(Vec::new, |stack| {
            crate::engine::source_map::frames_from_stack(
                &String::from_utf8_lossy(stack.as_bytes()),
                &String::from_utf8_lossy(js.exception.as_bytes()),
                crate::engine::vm::STACK_FRAMES as usize,
            )
        }),
        None => Vec::new(),
    };
    js.frames = map_frames(&raw);
    if let Some(maps) = maps {
        apply_source_maps(&mut js, &raw, maps);
    }
    let payload = host_payload(inner, exception);
    inner.reset();
    let error = Error::js(js);
    match payload {
        Some(payload) => error.with_host(payload),
        None => error,
    }
}

/// The frames of `trace`, each with the map of its script when `maps` registered it.
fn raw_frames(
    scope: &mut v8::PinScope<'_, '_>,
    trace: v8::Local<'_, v8::StackTrace>,
    maps: Option<&SourceMaps>,
) -> Vec<RawFrame> {
    let maps = maps.filter(|maps| !maps.is_empty());
    let text = |scope: &mut v8::PinScope<'_, '_>, s: Option<v8::Local<'_, v8::String>>| {
        s.map(|s| s.to_rust_string_lossy(scope)).unwrap_or_default()
    };
    let mut out = Vec::new();
    for i in 0..trace.get_frame_count() {
        let Some(frame) = trace.get_frame(scope, i) else {
            continue;
        };
        out.push({
            let id = i32::try_from(frame.get_script_id()).unwrap_or(0);
            let map = maps
                .filter(|maps| frame.get_script_id() != 0 && maps.is_registered(id))
                .and_then(|maps| {
                    maps.map_for(id, || {
                        let url = frame.get_script_source_mapping_url(scope)?;
                        Some(url.to_rust_string_lossy(scope))
                    })
                });
            let function_name = frame.get_function_name(scope);
            let script_name = frame.get_script_name(scope);
            RawFrame {
                function_name: text(scope, function_name),
                script_name: text(scope, script_name),
                line: u32::try_from(frame.get_line_number()).unwrap_or(0),
                column: u32::try_from(frame.get_column()).unwrap_or(0),
                map,
            }
        });
    }
    out
}

/// Moves the location and the stack text of `js` to their original positions where
/// its frames' scripts are source-mapped, keeping the generated ones in
/// `js.generated`. The location is mapped only when one of the frames is in its
/// script (a script that did not compile has no frames, and stays as V8 said).
fn apply_source_maps(js: &mut JsError, raw: &[RawFrame], maps: &SourceMaps) {
    let before = Generated {
        script_name: js.script_name.clone(),
        line: js.line,
        start_column: js.start_column,
        end_column: js.end_column,
        source_line: js.source_line.clone(),
        stack: js.stack.clone(),
    };
    let mut changed = false;
    let frame_map = |name: &str| {
        raw.iter()
            .find(|f| f.script_name == name && f.map.is_some())
            .and_then(|f| f.map.clone())
    };
    if let (Some(name), Some(line), Some(start)) = (&js.script_name, js.line, js.start_column) {
        if let Some(map) = frame_map(&name.to_str_lossy()) {
            if let Some(original) = map.lookup(line - 1, start) {
                let width = js.end_column.unwrap_or(start).saturating_sub(start).max(1);
                js.source_line = map.source_line(&original).map(Text::from);
                js.script_name = Some(Text::from(original.source));
                js.line = Some(original.line + 1);
                js.start_column = Some(original.column);
                js.end_column = Some(original.column.saturating_add(width));
                changed = true;
            }
        }
    }
    if let Some(stack) = &js.stack {
        let by_name = |name: &str| frame_map(name).or_else(|| maps.cached_for_name(name));
        if let Some(mapped) = rewrite_stack(&stack.to_str_lossy(), &by_name) {
            js.stack = Some(Text::from(mapped));
            changed = true;
        }
    }
    if changed {
        js.generated = Some(Box::new(before));
    }
}

/// The error for a promise rejected with `reason` (described as
/// [`describe_exception`] does, stopped by `cause`).
pub(crate) fn rejection(
    scope: &mut v8::PinScope<'_, '_>,
    reason: v8::Local<'_, v8::Value>,
    cause: Option<StopCause<'_>>,
) -> Error {
    let message = v8::Exception::create_message(scope, reason);
    v8::tc_scope!(let tc, scope);
    describe_exception(tc, reason, Some(message), cause)
}

/// `String(value)`, or V8's side-effect-free description when that throws; `None` when
/// it was stopped.
fn describe(
    scope: &mut v8::PinnedRef<'_, v8::TryCatch<v8::HandleScope>>,
    value: v8::Local<'_, v8::Value>,
) -> Option<Text> {
    let text = match value.to_string(scope) {
        Some(s) => s.to_rust_string_lossy(scope),
        None if scope.has_terminated() => {
            scope.reset();
            return None;
        }
        None => {
            scope.reset();
            value
                .to_detail_string(scope)
                .map(|s| s.to_rust_string_lossy(scope))
                .unwrap_or_default()
        }
    };
    scope.reset();
    Some(Text::from(text))
}
