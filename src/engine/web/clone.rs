//! `structuredClone` through V8's own serializer (the format of `postMessage`).

/// Throws what `prelude.js`'s error factory makes (a `DataCloneError`
/// `DOMException`), or a plain `Error` without one.
struct CloneErrors {
    factory: Option<v8::Global<v8::Function>>,
}

impl v8::ValueSerializerImpl for CloneErrors {
    fn throw_data_clone_error<'s>(
        &self,
        scope: &mut v8::PinScope<'s, '_>,
        message: v8::Local<'s, v8::String>,
    ) {
        // V8 calls this: behind the panic boundary like every callback.
        let made = crate::engine::panic::catch(|| {
            self.factory.as_ref().and_then(|factory| {
                let factory = v8::Local::new(scope, factory);
                let receiver = v8::undefined(scope).into();
                factory.call(scope, receiver, &[message.into()])
            })
        });
        let error = made
            .ok()
            .flatten()
            .unwrap_or_else(|| v8::Exception::error(scope, message));
        scope.throw_exception(error);
    }

    fn get_shared_array_buffer_id<'s>(
        &self,
        scope: &mut v8::PinScope<'s, '_>,
        _buffer: v8::Local<'s, v8::SharedArrayBuffer>,
    ) -> Option<u32> {
        self.refuse(scope, "#<SharedArrayBuffer> could not be cloned.");
        None
    }

    fn get_wasm_module_transfer_id(
        &self,
        scope: &mut v8::PinScope<'_, '_>,
        _module: v8::Local<v8::WasmModuleObject>,
    ) -> Option<u32> {
        self.refuse(scope, "#<WebAssembly.Module> could not be cloned.");
        None
    }
}

impl CloneErrors {
    /// Throws a `DataCloneError` with `text` (V8, or the crate, threw a plain `Error`
    /// for these, one naming the crate's internals).
    fn refuse(&self, scope: &mut v8::PinScope<'_, '_>, text: &str) {
        use v8::ValueSerializerImpl as _;
        if let Some(message) = v8::String::new(scope, text) {
            self.throw_data_clone_error(scope, message);
        }
    }
}

struct NoHostObjects;

impl v8::ValueDeserializerImpl for NoHostObjects {}

/// `clone(value, makeError)`: a deep copy of `value`, or the error `makeError(message)`
/// makes for what cannot be cloned (functions, symbols, …).
pub(super) fn structured_clone<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    use v8::{ValueDeserializerHelper, ValueSerializerHelper};
    let factory = v8::Local::<v8::Function>::try_from(args.get(1))
        .ok()
        .map(|f| v8::Global::new(scope, f));
    let context = scope.get_current_context();
    let data = {
        let serializer = v8::ValueSerializer::new(scope, Box::new(CloneErrors { factory }));
        serializer.write_header();
        if serializer.write_value(context, args.get(0)) != Some(true) {
            return; // thrown
        }
        serializer.release()
    };
    let deserializer = v8::ValueDeserializer::new(scope, Box::new(NoHostObjects), &data);
    if deserializer.read_header(context) != Some(true) {
        return;
    }
    if let Some(value) = deserializer.read_value(context) {
        rv.set(value);
    }
}
