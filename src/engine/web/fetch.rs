//! The natives of `fetch` (`fetch.js`): they hand requests to the network the embedder
//! gave the context ([`crate::engine::Context::set_fetch`]) as pending host operations
//! (`pending.rs`). A context without one has no network: `fetchSend` answers
//! `undefined` and `fetch` rejects. Nothing here opens a connection.

use crate::engine::natives;

/// `fetchSend(kind, payload)`: hands `["fetch" | "read", id, payload]` to the context's
/// network host; returns `[id, promise]`, the promise resolved with the host's answer
/// — or `undefined` when the context has no network. A host that fails at once throws
/// its error here.
pub(crate) fn send<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some((realm, _)) = natives::realm(scope, &args) else {
        return;
    };
    let Some(host) = realm.fetch.lock().clone() else {
        return; // no network: undefined
    };
    let Some((id, promise)) = realm.pending.begin(scope) else {
        return;
    };
    let id_value = v8::Number::new(scope, id as f64);
    let elements = [args.get(0), id_value.into(), args.get(1)];
    let array = v8::Array::new_with_elements(scope, &elements);
    let mut packed = Vec::new();
    let temporal = realm.temporal(scope);
    match crate::engine::values::write(scope, array.into(), &mut packed, false, Some(temporal)) {
        Ok(()) => {}
        Err(error) => {
            realm.pending.forget(id);
            if let Some(error) = error {
                natives::throw_type_error(scope, &error.message().to_str_lossy());
            }
            return; // or a getter threw: its exception propagates
        }
    }
    drop(realm); // the host may close the context meanwhile
    if let Err(error) = host(&packed) {
        if let Some(realm) = crate::engine::realm::Realm::current(scope) {
            realm.pending.forget(id);
        }
        return natives::throw_error(scope, &error.message);
    }
    let answer = v8::Array::new_with_elements(scope, &[id_value.into(), promise.into()]);
    rv.set(answer.into());
}

/// `fetchAbort(id)`: forgets pending operation `id` (JavaScript settles its own
/// promise) and tells the host with `["abort", id]`.
pub(crate) fn abort<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    _rv: v8::ReturnValue<v8::Value>,
) {
    let Some((realm, _)) = natives::realm(scope, &args) else {
        return;
    };
    let Some(id) = args.get(0).number_value(scope) else {
        return;
    };
    if !(id >= 1.0 && id.fract() == 0.0 && id < 9_007_199_254_740_992.0) {
        return;
    }
    let id = id as u64;
    let known = realm.pending.outstanding().contains(&id);
    realm.pending.forget(id);
    let host = realm.fetch.lock().clone();
    drop(realm);
    if let (true, Some(host)) = (known, host) {
        // The host's answer to an abort does not matter.
        let _ = host(&crate::engine::pending::abort_args(id));
    }
}
