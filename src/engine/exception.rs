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
use crate::engine::error::{Code, Error, HostPayload, JsError};
use crate::engine::text::Text;

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
    describe_exception(tc, exception, message)
}

/// An [`Error`] with the parts of the JavaScript `exception`, located by `message`.
pub(crate) fn describe_exception(
    tc: &mut v8::PinnedRef<'_, v8::TryCatch<v8::HandleScope>>,
    exception: v8::Local<'_, v8::Value>,
    message: Option<v8::Local<'_, v8::Message>>,
) -> Error {
    // Reading properties may run user getters that throw: do it under a TryCatch of
    // its own so the caught exception stays as it is.
    v8::tc_scope!(let inner, tc);
    let mut js = JsError {
        exception: describe(inner, exception),
        ..JsError::default()
    };
    if let Ok(object) = v8::Local::<v8::Object>::try_from(exception) {
        let get = |scope: &mut v8::PinnedRef<'_, v8::TryCatch<v8::HandleScope>>, key: &str| {
            let key = v8::String::new(scope, key)?;
            let value = object.get(scope, key.into());
            scope.reset();
            value.and_then(|v| text_of(scope, v))
        };
        if exception.is_native_error() {
            js.name = get(inner, "name").unwrap_or_default();
            js.message = get(inner, "message").unwrap_or_default();
        }
        js.stack = get(inner, "stack");
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
    let payload = host_payload(inner, exception);
    inner.reset();
    let error = Error::js(js);
    match payload {
        Some(payload) => error.with_host(payload),
        None => error,
    }
}

/// The error for a promise rejected with `reason`.
pub(crate) fn rejection(
    scope: &mut v8::PinScope<'_, '_>,
    reason: v8::Local<'_, v8::Value>,
) -> Error {
    let message = v8::Exception::create_message(scope, reason);
    v8::tc_scope!(let tc, scope);
    describe_exception(tc, reason, Some(message))
}

/// `String(value)`, or V8's side-effect-free description when that throws.
fn describe(
    scope: &mut v8::PinnedRef<'_, v8::TryCatch<v8::HandleScope>>,
    value: v8::Local<'_, v8::Value>,
) -> Text {
    let text = match value.to_string(scope) {
        Some(s) => s.to_rust_string_lossy(scope),
        None => {
            scope.reset();
            value
                .to_detail_string(scope)
                .map(|s| s.to_rust_string_lossy(scope))
                .unwrap_or_default()
        }
    };
    scope.reset();
    Text::from(text)
}
