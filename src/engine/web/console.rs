//! The natives of the `console` group: the sink its text goes to, and what Node's
//! `util.inspect` (vendored in `inspect.js`) needs from the engine and cannot learn in
//! plain JavaScript — a promise's state, a proxy's parts, a collection's entries.

use crate::engine::console::ConsoleLevel;
use crate::engine::natives;
use crate::engine::vm::VmShared;

/// node-inspect-extracted, vendored by `tests/fixtures/build/inspect.mjs`: a function
/// of the internals below that returns `{ inspect, format, formatWithOptions, … }`.
const INSPECT_SOURCE: &str = include_str!("inspect.js");

/// `consoleWrite(level, text)`: hands a finished console line to the VM's sink.
pub(super) fn write<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    _rv: v8::ReturnValue<v8::Value>,
) {
    let level = args
        .get(0)
        .uint32_value(scope)
        .and_then(ConsoleLevel::from_number)
        .unwrap_or(ConsoleLevel::Log);
    let text = args.get(1).to_rust_string_lossy(scope);
    if let Some(shared) = VmShared::of(scope) {
        let shared = std::sync::Arc::clone(shared);
        shared.write_console(level, &text);
        crate::engine::call::stop_requested_meanwhile(scope);
    }
}

/// `loadInspect()`: compiles and runs the vendored `util.inspect`; returns the function
/// that makes it from the internals.
pub(super) fn load_inspect<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    _args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    if let Some(make) = natives::run_internal(scope, INSPECT_SOURCE, "v8rs:web/inspect.js") {
        rv.set(make);
    }
}

/// `promiseDetails(promise)`: `[state, result]`, the state 0 (pending), 1 (fulfilled)
/// or 2 (rejected); `[0, undefined]` for anything else.
pub(super) fn promise_details<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let (state, result) = match v8::Local::<v8::Promise>::try_from(args.get(0)) {
        Ok(promise) => match promise.state() {
            v8::PromiseState::Pending => (0, v8::undefined(scope).into()),
            v8::PromiseState::Fulfilled => (1, promise.result(scope)),
            v8::PromiseState::Rejected => (2, promise.result(scope)),
        },
        Err(_) => (0, v8::undefined(scope).into()),
    };
    let state = v8::Integer::new(scope, state).into();
    rv.set(v8::Array::new_with_elements(scope, &[state, result]).into());
}

/// `proxyDetails(value)`: `[target, handler]` of a proxy (both `null` once revoked),
/// `undefined` for anything else.
pub(super) fn proxy_details<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    if let Ok(proxy) = v8::Local::<v8::Proxy>::try_from(args.get(0)) {
        let parts = [proxy.get_target(scope), proxy.get_handler(scope)];
        rv.set(v8::Array::new_with_elements(scope, &parts).into());
    } else {
        rv.set_undefined();
    }
}

/// `previewEntries(object, isIterator)`: the entries V8 can see of a Map or Set
/// iterator, a WeakMap or WeakSet (flat: key, value, key, value… for maps); with
/// `isIterator`, `[entries, isKeyValue]` as Node's binding answers.
pub(super) fn preview_entries<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let (entries, key_value) = match v8::Local::<v8::Object>::try_from(args.get(0)) {
        Ok(object) => object.preview_entries(scope),
        Err(_) => (None, false),
    };
    let entries: v8::Local<v8::Value> = match entries {
        Some(entries) => entries.into(),
        None => v8::Array::new(scope, 0).into(),
    };
    if args.get(1).boolean_value(scope) {
        let key_value = v8::Boolean::new(scope, key_value).into();
        rv.set(v8::Array::new_with_elements(scope, &[entries, key_value]).into());
    } else {
        rv.set(entries);
    }
}

/// `collectionKind(value)`: 1 for a Map, 2 a Set, 3 a Map iterator, 4 a Set iterator,
/// 0 for anything else (as V8 sees it, whatever the prototype says).
pub(super) fn collection_kind<'s>(
    _scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let value = args.get(0);
    let kind = if value.is_map() {
        1
    } else if value.is_set() {
        2
    } else if value.is_map_iterator() {
        3
    } else if value.is_set_iterator() {
        4
    } else {
        0
    };
    rv.set_int32(kind);
}
