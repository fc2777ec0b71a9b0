//! The natives of `CompressionStream` and `DecompressionStream` (prelude.js): each
//! stream's state is in its context's realm (`compression.rs`), reached by the number
//! `compressionOpen` gave the JavaScript stream; a stream that ends, errors, is
//! cancelled or is collected is closed.

use crate::engine::compression::{Format, Stream};
use crate::engine::natives::{throw_range_error, throw_type_error, uint8_array};
use crate::engine::realm::Realm;

/// `compressionOpen(compress, format)`: a new stream's id. A format the standard does
/// not name is a `TypeError`; past `MAX_OPEN` open streams, a `RangeError`.
pub(super) fn open<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let compress = args.get(0).is_true();
    let name = args.get(1).to_rust_string_lossy(scope);
    let Some(format) = Format::named(&name) else {
        return throw_type_error(
            scope,
            &format!("'{name}' is not a compression format (deflate, deflate-raw, gzip)"),
        );
    };
    let Some(realm) = Realm::current(scope) else {
        return throw_type_error(
            scope,
            "compression streams need a context of a VM (not a snapshot script)",
        );
    };
    let Some(id) = realm
        .compressions
        .lock()
        .open(Stream::new(compress, format))
    else {
        return throw_range_error(
            scope,
            &format!(
                "this context has {} compression streams open: close (or cancel) some first",
                crate::engine::compression::MAX_OPEN
            ),
        );
    };
    rv.set_uint32(id);
}

/// `compressionWrite(id, view, offset)`: `[output, used, more]` — the output of the
/// bytes of `view` from `offset` on, as far as one piece goes; `used`: how many it took;
/// `more`: call again from `offset + used` (false only once all of the input is taken,
/// so the caller never measures the view itself). Bad input is a `TypeError` and
/// closes it.
pub(super) fn write<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let id = args.get(0).uint32_value(scope).unwrap_or(0);
    let Ok(view) = v8::Local::<v8::ArrayBufferView>::try_from(args.get(1)) else {
        return throw_type_error(scope, "The chunk is not a BufferSource");
    };
    // A whole number past 4 GiB too (a float to usize saturates; NaN is 0).
    let offset = args.get(2).number_value(scope).unwrap_or(0.0) as usize;
    let Some(realm) = Realm::current(scope) else {
        return throw_type_error(scope, "the stream is closed");
    };
    let mut out = Vec::new();
    let step = {
        // The view's bytes where they are (copied only when V8 keeps them in its heap);
        // nothing runs JavaScript while they are borrowed.
        let mut storage = [0u8; v8::TYPED_ARRAY_MAX_SIZE_IN_HEAP];
        let bytes = view.get_contents(&mut storage);
        let mut streams = realm.compressions.lock();
        let Some(stream) = streams.get(id) else {
            drop(streams);
            return throw_type_error(scope, "the stream is closed");
        };
        let step = stream.write(bytes.get(offset..).unwrap_or_default(), &mut out);
        if step.is_err() {
            streams.close(id);
        }
        step
    };
    match step {
        Ok(step) => reply(
            scope,
            &mut rv,
            out,
            &[step.used as f64, f64::from(u8::from(step.more))],
        ),
        Err(message) => throw_type_error(scope, &message),
    }
}

/// `compressionFinish(id)`: `[output, done]` — the rest of the output (a piece at a
/// time: call again until `done`, which closes the stream). A decompressor whose data
/// ended early is a `TypeError` (and closed).
pub(super) fn finish<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let id = args.get(0).uint32_value(scope).unwrap_or(0);
    let Some(realm) = Realm::current(scope) else {
        return throw_type_error(scope, "the stream is closed");
    };
    let mut out = Vec::new();
    let done = {
        let mut streams = realm.compressions.lock();
        let Some(stream) = streams.get(id) else {
            drop(streams);
            return throw_type_error(scope, "the stream is closed");
        };
        let done = stream.finish(&mut out);
        if !matches!(done, Ok(false)) {
            streams.close(id);
        }
        done
    };
    match done {
        Ok(done) => reply(scope, &mut rv, out, &[f64::from(u8::from(done))]),
        Err(message) => throw_type_error(scope, &message),
    }
}

/// `compressionClose(id)`: forgets stream `id` (cancelled, aborted or collected).
pub(super) fn close<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    _rv: v8::ReturnValue<v8::Value>,
) {
    let id = args.get(0).uint32_value(scope).unwrap_or(0);
    if let Some(realm) = Realm::current(scope) {
        realm.compressions.lock().close(id);
    }
}

/// Sets `[Uint8Array(out), ...numbers]` as the result.
fn reply<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    rv: &mut v8::ReturnValue<v8::Value>,
    out: Vec<u8>,
    numbers: &[f64],
) {
    let Some(bytes) = uint8_array(scope, out) else {
        return; // its RangeError is thrown
    };
    let mut items: Vec<v8::Local<v8::Value>> = vec![bytes.into()];
    items.extend(
        numbers
            .iter()
            .map(|&n| -> v8::Local<v8::Value> { v8::Number::new(scope, n).into() }),
    );
    rv.set(v8::Array::new_with_elements(scope, &items).into());
}
