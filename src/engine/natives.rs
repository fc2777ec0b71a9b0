//! Native functions: Rust functions that JavaScript calls (timers, the web APIs' natives,
//! host functions).
//!
//! Every native is made with [`native!`], which puts its body behind the panic
//! boundary (a panic becomes a JavaScript `Error`, never an abort). A native that needs
//! its context's state finds the realm with [`realm`], by the *id* its context carries
//! as its security token — never a pointer — and throws when the context is gone.
//! V8 calls a function in the context it was made in, so the id is the native's own
//! context's; natives carry no per-context data, so they can be kept in a snapshot.

use std::sync::Arc;

use crate::engine::realm::Realm;

/// The `v8::FunctionCallback` of the native function `$f` (a
/// `fn(&mut PinScope, FunctionCallbackArguments, ReturnValue)`), behind the panic
/// boundary.
macro_rules! native {
    ($f:path) => {{
        fn shim<'s, 'i>(
            scope: &mut v8::PinScope<'s, 'i>,
            args: v8::FunctionCallbackArguments<'s>,
            rv: v8::ReturnValue<'s, v8::Value>,
        ) {
            $crate::engine::natives::boundary(scope, args, rv, $f)
        }
        <_ as v8::MapFnTo<v8::FunctionCallback>>::map_fn_to(shim)
    }};
}
pub(crate) use native;

/// Runs the native `body`; a panic in it becomes a JavaScript `Error`.
pub(crate) fn boundary<'s, 'i>(
    scope: &mut v8::PinScope<'s, 'i>,
    args: v8::FunctionCallbackArguments<'s>,
    rv: v8::ReturnValue<'s, v8::Value>,
    body: fn(
        &mut v8::PinScope<'s, 'i>,
        v8::FunctionCallbackArguments<'s>,
        v8::ReturnValue<'s, v8::Value>,
    ),
) {
    let outcome = crate::engine::panic::catch(|| body(&mut *scope, args, rv));
    if let Err(message) = outcome {
        throw_error(scope, &format!("internal error in v8rs: {message}"));
    }
}

/// A native function named `name`; with `index`, its data is that number (a host
/// function's index, say), read back by [`realm`].
pub(crate) fn function<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    name: &str,
    callback: v8::FunctionCallback,
    index: Option<u32>,
) -> Option<v8::Local<'s, v8::Function>> {
    let mut builder = v8::Function::builder_raw(callback);
    if let Some(index) = index {
        builder = builder.data(v8::Integer::new_from_unsigned(scope, index).into());
    }
    let function = builder.build(scope)?;
    function.set_name(v8::String::new(scope, name)?);
    Some(function)
}

/// The realm of the native being called, and its own number (0 without one); throws
/// (and gives `None`) when the context it belongs to was torn down.
pub(crate) fn realm(
    scope: &mut v8::PinScope<'_, '_>,
    args: &v8::FunctionCallbackArguments<'_>,
) -> Option<(Arc<Realm>, u32)> {
    let found = Realm::current(scope);
    let Some(realm) = found else {
        let message = if crate::engine::vm::VmShared::of(scope).is_none() {
            // A snapshot creator's isolate: its contexts have no realm to queue work in.
            "this function cannot run while a snapshot is made (timers, queueMicrotask, \
             MessageChannel, fetch and host functions need a VM): call it after start-up"
        } else {
            "this function belongs to a context that was torn down, and cannot run"
        };
        throw_error(scope, message);
        return None;
    };
    let data = args.data();
    let index = match v8::Local::<v8::Integer>::try_from(data) {
        Ok(index) => u32::try_from(index.value()).unwrap_or(0),
        Err(_) => 0,
    };
    Some((realm, index))
}

/// Throws `Error(message)` in `scope`.
pub(crate) fn throw_error(scope: &mut v8::PinScope<'_, '_>, message: &str) {
    if let Some(text) = v8::String::new(scope, message) {
        let error = v8::Exception::error(scope, text);
        scope.throw_exception(error);
    }
}

/// Throws a `TypeError` with `message` in the current context.
pub(crate) fn throw_type_error(scope: &mut v8::PinScope<'_, '_>, message: &str) {
    if let Some(message) = v8::String::new(scope, message) {
        let error = v8::Exception::type_error(scope, message);
        scope.throw_exception(error);
    }
}

/// Throws a `RangeError` with `message` in the current context.
pub(crate) fn throw_range_error(scope: &mut v8::PinScope<'_, '_>, message: &str) {
    if let Some(message) = v8::String::new(scope, message) {
        let error = v8::Exception::range_error(scope, message);
        scope.throw_exception(error);
    }
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

/// A new `Uint8Array` of `bytes`, held against the VM's array buffer budget
/// ([`crate::engine::vm::backing_store`]): past it, `None` with the `RangeError` V8
/// throws for a script's buffer pending.
pub(crate) fn uint8_array<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    bytes: Vec<u8>,
) -> Option<v8::Local<'s, v8::Uint8Array>> {
    let length = bytes.len();
    let Some(store) = crate::engine::vm::backing_store(scope, bytes) else {
        throw_range_error(scope, "Array buffer allocation failed");
        return None;
    };
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

/// Compiles and runs one of the library's own scripts in the current context; its
/// completion value.
pub(crate) fn run_internal<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    source: &str,
    name: &str,
) -> Option<v8::Local<'s, v8::Value>> {
    let code = v8::String::new(scope, source)?;
    let origin = crate::engine::script::origin(scope, name, false).ok()?;
    v8::Script::compile(scope, code, Some(&origin))?.run(scope)
}
