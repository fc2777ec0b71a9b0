//! Host functions bound into a context: exposing one as a global, and the native that
//! JavaScript's calls to it go through.

use std::sync::Arc;

use crate::engine::error::Error;
use crate::engine::host::HostFunction;
use crate::engine::natives::{self, native};
use crate::engine::realm::Realm;

/// Makes `function` the global `name` of the current context (the context of `realm`).
/// `Ok(false)`: JavaScript threw (a setter on the global object, say).
pub(crate) fn expose(
    scope: &mut v8::PinScope<'_, '_>,
    realm: &Realm,
    name: &str,
    function: Arc<HostFunction>,
) -> Result<bool, Error> {
    let key = crate::engine::script::new_string(scope, name)?;
    let index = u32::try_from(realm.hosts.add(function))
        .map_err(|_| Error::invalid_argument("too many host functions in one context"))?;
    let Some(js_function) = natives::function(scope, name, native!(call_host), Some(index)) else {
        return Ok(false);
    };
    let global = scope.get_current_context().global(scope);
    if global.set(scope, key.into(), js_function.into()).is_none() {
        return Ok(false);
    }
    check_global_took(scope, global, key, js_function.into(), name)?;
    Ok(true)
}

/// Fails when the global `name` (`key`) of `global` is not `value` after setting it: a
/// read-only global (`undefined`, `NaN`…) or a setter ignored it without an error.
pub(crate) fn check_global_took(
    scope: &mut v8::PinScope<'_, '_>,
    global: v8::Local<'_, v8::Object>,
    key: v8::Local<'_, v8::String>,
    value: v8::Local<'_, v8::Value>,
    name: &str,
) -> Result<(), Error> {
    match global.get(scope, key.into()) {
        Some(now) if now.strict_equals(value) => Ok(()),
        _ => Err(Error::invalid_argument(format!(
            "the global '{name}' cannot be set (it is read-only, or its setter keeps \
             other values)"
        ))),
    }
}

/// The native behind every host function: finds the closure through its context's id
/// and its index, converts the arguments, calls it, and converts the answer back.
fn call_host<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<'s, v8::Value>,
) {
    let Some((realm, index)) = natives::realm(scope, &args) else {
        return;
    };
    let Some(host) = realm.hosts.get(index as usize) else {
        return natives::throw_error(scope, "unknown host function");
    };
    let temporal = realm.temporal(scope);
    drop(realm); // the closure is kept alive by `host`; the context may go meanwhile
    let values: Vec<_> = (0..args.length()).map(|i| args.get(i)).collect();
    let array = v8::Array::new_with_elements(scope, &values);
    let mut packed = Vec::new();
    match crate::engine::values::write(scope, array.into(), &mut packed, false, Some(temporal)) {
        Ok(()) => {}
        Err(Some(error)) => return natives::throw_error(scope, &error.message().to_str_lossy()),
        Err(None) => return, // a getter threw: its exception propagates
    }
    let answer = host(&packed);
    if crate::engine::call::stop_requested_meanwhile(scope) {
        return;
    }
    match answer {
        Ok(value) => match crate::engine::values::read(scope, &value, Some(temporal)) {
            Ok(value) => rv.set(value),
            Err(error) => natives::throw_error(
                scope,
                &format!("the host function returned {}", error.message()),
            ),
        },
        Err(error) => {
            let (message, payload) = error.into_parts();
            let Some(text) = v8::String::new(scope, &message) else {
                return;
            };
            let exception = v8::Exception::error(scope, text);
            if let (Some(payload), Ok(object)) =
                (payload, v8::Local::<v8::Object>::try_from(exception))
            {
                crate::engine::exception::mark_host_exception(scope, object, payload);
            }
            scope.throw_exception(exception);
        }
    }
}
