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

    fn has_custom_host_object(&self, _isolate: &v8::Isolate) -> bool {
        true
    }

    /// The web API objects (JavaScript classes here, platform objects in browsers) are
    /// "host objects": a clone of one would be an empty object, so it is refused.
    fn is_host_object<'s>(
        &self,
        scope: &mut v8::PinScope<'s, '_>,
        object: v8::Local<'s, v8::Object>,
    ) -> Option<bool> {
        let name = object.get_constructor_name();
        let name = name.to_rust_string_lossy(scope);
        if !NOT_CLONEABLE.contains(&name.as_str()) {
            return Some(false);
        }
        let key = v8::String::new(scope, &name)?;
        let global = scope.get_current_context().global(scope);
        let class = global.get(scope, key.into())?;
        let Ok(class) = v8::Local::<v8::Object>::try_from(class) else {
            return Some(false);
        };
        object.instance_of(scope, class)
    }

    fn write_host_object<'s>(
        &self,
        scope: &mut v8::PinScope<'s, '_>,
        object: v8::Local<'s, v8::Object>,
        _value_serializer: &dyn v8::ValueSerializerHelper,
    ) -> Option<bool> {
        let name = object.get_constructor_name();
        let name = name.to_rust_string_lossy(scope);
        self.refuse(
            scope,
            &format!("{name} object could not be cloned (v8rs does not clone web API objects)."),
        );
        None
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

/// The web API classes whose objects `structuredClone` refuses (by constructor name,
/// then `instanceof` the global class of that name).
const NOT_CLONEABLE: &[&str] = &[
    "Blob",
    "File",
    "MessagePort",
    "MessageChannel",
    "ReadableStream",
    "WritableStream",
    "TransformStream",
    "Request",
    "Response",
    "Headers",
    "FormData",
    "AbortController",
    "AbortSignal",
    "EventTarget",
    "Event",
    "URL",
    "URLSearchParams",
    "TextEncoder",
    "TextDecoder",
    "CryptoKey",
];

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
