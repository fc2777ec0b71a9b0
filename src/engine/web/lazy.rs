//! Globals made on first use. A context's creation pays for every function its global
//! object reaches (each is deserialized from the snapshot, or made by the prelude), so
//! the larger groups — `fetch`, `crypto.subtle`, `console`, `URL`, `MessageChannel`,
//! the streams — are V8 *lazy data properties*: one native getter (no JavaScript
//! function per name). The first read of a name calls its group's loader (which builds
//! the whole group once and returns its exports) and V8 replaces the property with the
//! value; a write replaces it without loading.
//!
//! V8 shares a property's accessor data between the contexts of a snapshot, so the
//! data is only the loader's number: the loaders themselves are in a table on the
//! global object of the context that owns the property, under a private key.

use std::cell::RefCell;

use crate::engine::natives;

thread_local! {
    /// The loaders running on this thread, by global object (its identity hash) and
    /// number: a read of a group's globals while its loader runs (user code that the
    /// loader called) throws instead of starting it again.
    static LOADING: RefCell<Vec<(i32, u32)>> = const { RefCell::new(Vec::new()) };
}

/// Marks a loader as running until dropped (also when a termination unwinds the
/// JavaScript, which skips its `finally` blocks).
struct Loading((i32, u32));

impl Loading {
    fn start(key: (i32, u32)) -> Option<Loading> {
        LOADING.with(|loading| {
            let mut loading = loading.borrow_mut();
            (!loading.contains(&key)).then(|| {
                loading.push(key);
                Loading(key)
            })
        })
    }
}

impl Drop for Loading {
    fn drop(&mut self) {
        LOADING.with(|loading| loading.borrow_mut().retain(|key| *key != self.0));
    }
}

/// The private key of the loader table on a global object.
const LOADERS: &str = "v8rs.lazyLoaders";

/// `lazyGlobals(object, names, loader)`: defines each of `names` on `object` (not
/// enumerable, as built-ins are) as `loader()[name]`, made on first read.
pub(crate) fn lazy_globals<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    _rv: v8::ReturnValue<v8::Value>,
) {
    let (Ok(object), Ok(names), Ok(loader)) = (
        v8::Local::<v8::Object>::try_from(args.get(0)),
        v8::Local::<v8::Array>::try_from(args.get(1)),
        v8::Local::<v8::Function>::try_from(args.get(2)),
    ) else {
        return natives::throw_type_error(scope, "lazyGlobals(object, names, loader)");
    };
    let Some(index) = add_loader(scope, loader) else {
        return;
    };
    let data = v8::Integer::new_from_unsigned(scope, index);
    for i in 0..names.length() {
        let Some(name) = names.get_index(scope, i) else {
            return;
        };
        let Ok(name) = v8::Local::<v8::Name>::try_from(name) else {
            return natives::throw_type_error(scope, "lazyGlobals: a name is not a string");
        };
        let defined = define_lazy(scope, object, name, get, data.into(), true);
        if defined != Some(true) {
            return natives::throw_type_error(scope, "lazyGlobals: cannot define a property");
        }
    }
}

/// Defines `name` on `object` as a lazy data property read by `getter` with `data`
/// (not enumerable when `hidden`); whether it could be.
fn define_lazy(
    scope: &mut v8::PinScope<'_, '_>,
    object: v8::Local<v8::Object>,
    name: v8::Local<v8::Name>,
    getter: impl v8::MapFnTo<v8::AccessorNameGetterCallback>,
    data: v8::Local<v8::Value>,
    hidden: bool,
) -> Option<bool> {
    let attributes = if hidden {
        v8::PropertyAttribute::DONT_ENUM
    } else {
        v8::PropertyAttribute::NONE
    };
    object.set_lazy_data_property_with_data(
        scope,
        name,
        getter,
        data,
        attributes,
        v8::SideEffectType::HasSideEffect,
        v8::SideEffectType::HasSideEffect,
    )
}

/// Runs an accessor's `body` behind the panic boundary (a panic becomes a JavaScript
/// error), in the context that made the object holding the property.
fn in_holder_context<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: &v8::PropertyCallbackArguments<'s>,
    body: impl FnOnce(&mut v8::PinScope<'s, '_>, v8::Local<'s, v8::Context>),
) {
    let outcome = crate::engine::panic::catch(|| {
        let Some(context) = args.holder().get_creation_context(scope) else {
            return natives::throw_type_error(scope, "a web API outside its context");
        };
        let scope = &mut v8::ContextScope::new(scope, context);
        body(scope, context);
    });
    if let Err(message) = outcome {
        natives::throw_error(scope, &format!("internal error in v8rs: {message}"));
    }
}

/// The loader table of the current context's global object (made on first use).
fn loaders<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    global: v8::Local<'s, v8::Object>,
) -> Option<v8::Local<'s, v8::Array>> {
    let key = v8::String::new(scope, LOADERS)?;
    let key = v8::Private::for_api(scope, Some(key));
    let table = global.get_private(scope, key)?;
    if let Ok(table) = v8::Local::<v8::Array>::try_from(table) {
        return Some(table);
    }
    let table = v8::Array::new(scope, 0);
    global.set_private(scope, key, table.into())?;
    Some(table)
}

/// Adds `loader` to the current context's table; its number.
fn add_loader(scope: &mut v8::PinScope<'_, '_>, loader: v8::Local<v8::Function>) -> Option<u32> {
    let global = scope.get_current_context().global(scope);
    let table = loaders(scope, global)?;
    let index = table.length();
    table.set_index(scope, index, loader.into())?;
    Some(index)
}

/// The getter of every lazy global (one function, so that snapshots can refer to it).
pub(crate) fn getter() -> v8::AccessorNameGetterCallback {
    <_ as v8::MapFnTo<v8::AccessorNameGetterCallback>>::map_fn_to(get)
}

/// The getter of the prelude's natives (see [`define_natives`]).
pub(crate) fn native_getter() -> v8::AccessorNameGetterCallback {
    <_ as v8::MapFnTo<v8::AccessorNameGetterCallback>>::map_fn_to(get_native)
}

/// Defines each of `natives` on `object` as a lazy data property: most are reached
/// only from methods, so a context made from the snapshot makes the function of a
/// native the first time its group uses it.
pub(crate) fn define_natives(
    scope: &mut v8::PinScope<'_, '_>,
    object: v8::Local<v8::Object>,
    natives: &[(&str, v8::FunctionCallback)],
) -> Option<()> {
    for (index, &(name, _)) in natives.iter().enumerate() {
        let key = v8::String::new(scope, name)?;
        let data = v8::Integer::new_from_unsigned(scope, index as u32);
        let defined = define_lazy(scope, object, key.into(), get_native, data.into(), false)?;
        defined.then_some(())?;
    }
    Some(())
}

/// Makes the native numbered by the property's data, in the context of its holder.
fn get_native<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    _key: v8::Local<'s, v8::Name>,
    args: v8::PropertyCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Ok(index) = v8::Local::<v8::Integer>::try_from(args.data()) else {
        return;
    };
    in_holder_context(scope, &args, |scope, _| {
        let Some(&(name, callback)) = super::WEB_NATIVES.get(index.value() as usize) else {
            return natives::throw_type_error(scope, "no such native");
        };
        if let Some(function) = natives::function(scope, name, callback, None) {
            rv.set(function.into());
        }
    });
}

/// Reads `key` of what the property's loader returns — the loader of the context that
/// made the object holding the property; a loader that throws leaves the property as
/// it is, so the next read tries again.
fn get<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    key: v8::Local<'s, v8::Name>,
    args: v8::PropertyCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Ok(index) = v8::Local::<v8::Integer>::try_from(args.data()) else {
        return;
    };
    in_holder_context(scope, &args, |scope, context| {
        let global = context.global(scope);
        let loader = loaders(scope, global)
            .and_then(|table| table.get_index(scope, index.value() as u32))
            .and_then(|loader| v8::Local::<v8::Function>::try_from(loader).ok());
        let Some(loader) = loader else {
            return natives::throw_type_error(scope, "a lazy global without its loader");
        };
        let running = (global.get_identity_hash().get(), index.value() as u32);
        let Some(_loading) = Loading::start(running) else {
            return natives::throw_type_error(
                scope,
                "a web API was used while its group was being set up",
            );
        };
        let receiver = v8::undefined(scope).into();
        let Some(exports) = loader.call(scope, receiver, &[]) else {
            return;
        };
        let Ok(exports) = v8::Local::<v8::Object>::try_from(exports) else {
            return natives::throw_type_error(scope, "a lazy global's loader gave no object");
        };
        let Some(value) = exports.get(scope, key.into()) else {
            return;
        };
        // V8 turns the property into a data property once this returns, and aborts if
        // it is no longer this accessor by then: user code the loader called (a
        // replaced built-in) may have written or deleted it. So it is made this
        // accessor again (that write is lost); where it cannot be, this throws instead,
        // and V8 leaves the property alone.
        match define_lazy(scope, args.holder(), key, get, args.data(), true) {
            Some(true) => rv.set(value),
            // An exception is pending already.
            None => {}
            Some(false) => natives::throw_type_error(
                scope,
                "a web API global changed while its group was set up",
            ),
        }
    });
}
