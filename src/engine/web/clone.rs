//! `structuredClone` through V8's own serializer (the format of `postMessage`).
//!
//! The web API classes are JavaScript classes here (platform objects in browsers):
//! `prelude.js` hands over a `Map` from each class's prototype to `null` (its objects
//! cannot be cloned: a clone would be an empty object) or to a function that copies one
//! (`Blob`, `File`, `CryptoKey`, serializable in browsers). An object whose prototype
//! chain holds one of them is a "host object" to V8's serializer; a copy made while
//! writing is handed back by index while reading.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Throws what `prelude.js`'s error factory makes (a `DataCloneError`
/// `DOMException`), or a plain `Error` without one; finds the web API objects.
struct CloneErrors {
    factory: Option<v8::Global<v8::Function>>,
    /// Prototype of a web API class → `null` or its copy function.
    brands: Option<v8::Global<v8::Map>>,
    /// `Object.prototype`, where the chain of a plain object ends at once.
    object_prototype: v8::Global<v8::Value>,
    /// The copies of serializable web API objects, in the order written.
    copies: Rc<RefCell<Vec<v8::Global<v8::Object>>>>,
    /// The prototypes met so far, by identity hash, with what their chain leads to: each
    /// chain is walked once per clone, however deep and however many objects share it.
    chains: RefCell<HashMap<i32, Vec<Walked>>>,
}

/// A prototype and what its chain leads to.
type Walked = (v8::Global<v8::Object>, Chain);

/// What the prototype chain from a prototype leads to: no web API class, or the brand
/// (`null` or a copy function) of the nearest one.
#[derive(Clone)]
enum Chain {
    Plain,
    Brand(v8::Global<v8::Value>),
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

    fn is_host_object<'s>(
        &self,
        scope: &mut v8::PinScope<'s, '_>,
        object: v8::Local<'s, v8::Object>,
    ) -> Option<bool> {
        let found = crate::engine::panic::catch(|| self.brand_of(scope, object).is_some());
        Some(found.unwrap_or(false))
    }

    fn write_host_object<'s>(
        &self,
        scope: &mut v8::PinScope<'s, '_>,
        object: v8::Local<'s, v8::Object>,
        value_serializer: &dyn v8::ValueSerializerHelper,
    ) -> Option<bool> {
        // V8 calls this: behind the panic boundary like every callback.
        let written =
            crate::engine::panic::catch(|| self.write_copy(scope, object, value_serializer));
        match written {
            Ok(Copied::Written) => return Some(true),
            Ok(Copied::Threw) => return None, // the copy's exception is pending
            Ok(Copied::Refused) => {}
            Err(message) => {
                self.refuse(scope, &format!("internal error in v8rs: {message}"));
                return None;
            }
        }
        let name = object.get_constructor_name();
        let name = name.to_rust_string_lossy(scope);
        self.refuse(scope, &format!("{name} object could not be cloned."));
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

    /// Writes the index of a copy of `object` made by its class's copy function.
    fn write_copy<'s>(
        &self,
        scope: &mut v8::PinScope<'s, '_>,
        object: v8::Local<'s, v8::Object>,
        value_serializer: &dyn v8::ValueSerializerHelper,
    ) -> Copied {
        let brand = self.brand_of(scope, object);
        let Some(copy) = brand.and_then(|f| v8::Local::<v8::Function>::try_from(f).ok()) else {
            return Copied::Refused;
        };
        let receiver = v8::undefined(scope).into();
        let Some(made) = copy.call(scope, receiver, &[object.into()]) else {
            return Copied::Threw;
        };
        let Ok(made) = v8::Local::<v8::Object>::try_from(made) else {
            return Copied::Refused;
        };
        let mut copies = self.copies.borrow_mut();
        let Ok(index) = u32::try_from(copies.len()) else {
            return Copied::Refused;
        };
        value_serializer.write_uint32(index);
        copies.push(v8::Global::new(scope, made));
        Copied::Written
    }

    /// The brand (`null` or a copy function) of the nearest web API class on the
    /// prototype chain of `object`; `None` for every other object. A proxy on the chain
    /// ends the search (its trap is not run). Touches no JavaScript.
    fn brand_of<'s>(
        &self,
        scope: &mut v8::PinScope<'s, '_>,
        object: v8::Local<'s, v8::Object>,
    ) -> Option<v8::Local<'s, v8::Value>> {
        let brands = v8::Local::new(scope, self.brands.as_ref()?);
        let plain = v8::Local::new(scope, &self.object_prototype);
        let mut visited = Vec::new();
        let mut current = object;
        let chain = loop {
            let Some(prototype) = current.get_prototype(scope) else {
                break Chain::Plain;
            };
            if prototype == plain || prototype.is_null() || prototype.is_proxy() {
                break Chain::Plain;
            }
            let Ok(prototype) = v8::Local::<v8::Object>::try_from(prototype) else {
                break Chain::Plain;
            };
            if let Some(known) = self.known(scope, prototype) {
                break known;
            }
            visited.push(prototype);
            if brands.has(scope, prototype.into()) == Some(true) {
                break match brands.get(scope, prototype.into()) {
                    Some(brand) => Chain::Brand(v8::Global::new(scope, brand)),
                    None => Chain::Plain,
                };
            }
            current = prototype;
        };
        let mut chains = self.chains.borrow_mut();
        for prototype in visited {
            let entry = (v8::Global::new(scope, prototype), chain.clone());
            chains
                .entry(prototype.get_identity_hash().get())
                .or_default()
                .push(entry);
        }
        match chain {
            Chain::Plain => None,
            Chain::Brand(brand) => Some(v8::Local::new(scope, brand)),
        }
    }

    /// What the chain from `prototype` leads to, when it was walked already.
    fn known(
        &self,
        scope: &mut v8::PinScope<'_, '_>,
        prototype: v8::Local<'_, v8::Object>,
    ) -> Option<Chain> {
        let chains = self.chains.borrow();
        let entries = chains.get(&prototype.get_identity_hash().get())?;
        entries
            .iter()
            .find(|(known, _)| v8::Local::new(scope, known) == prototype)
            .map(|(_, chain)| chain.clone())
    }
}

/// What [`CloneErrors::write_copy`] did.
enum Copied {
    /// The copy's index is written.
    Written,
    /// The copy function threw (its exception is pending).
    Threw,
    /// No copy: the object cannot be cloned.
    Refused,
}

/// Hands back the copies [`CloneErrors::write_host_object`] made, by index.
struct Copies(Vec<v8::Global<v8::Object>>);

impl v8::ValueDeserializerImpl for Copies {
    fn read_host_object<'s>(
        &self,
        scope: &mut v8::PinScope<'s, '_>,
        value_deserializer: &dyn v8::ValueDeserializerHelper,
    ) -> Option<v8::Local<'s, v8::Object>> {
        let mut index = 0;
        if !value_deserializer.read_uint32(&mut index) {
            return None;
        }
        let copy = self.0.get(usize::try_from(index).ok()?)?;
        Some(v8::Local::new(scope, copy))
    }
}

/// `clone(value, makeError, brands)`: a deep copy of `value`, or the error
/// `makeError(message)` makes for what cannot be cloned (functions, symbols, web API
/// objects that are not serializable…); `brands` as the module's docs say.
pub(super) fn structured_clone<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    use v8::{ValueDeserializerHelper, ValueSerializerHelper};
    let factory = v8::Local::<v8::Function>::try_from(args.get(1))
        .ok()
        .map(|f| v8::Global::new(scope, f));
    let brands = v8::Local::<v8::Map>::try_from(args.get(2))
        .ok()
        .map(|m| v8::Global::new(scope, m));
    let Some(object_prototype) = v8::Object::new(scope).get_prototype(scope) else {
        return;
    };
    let object_prototype = v8::Global::new(scope, object_prototype);
    let context = scope.get_current_context();
    let copies = Rc::new(RefCell::new(Vec::new()));
    let errors = CloneErrors {
        factory,
        brands,
        object_prototype,
        copies: Rc::clone(&copies),
        chains: RefCell::new(HashMap::new()),
    };
    let data = {
        let serializer = v8::ValueSerializer::new(scope, Box::new(errors));
        serializer.write_header();
        if serializer.write_value(context, args.get(0)) != Some(true) {
            return; // thrown
        }
        serializer.release()
    };
    let copies = Copies(copies.take());
    let deserializer = v8::ValueDeserializer::new(scope, Box::new(copies), &data);
    if deserializer.read_header(context) != Some(true) {
        return;
    }
    let Some(value) = deserializer.read_value(context) else {
        return;
    };
    let capped = crate::engine::vm::VmShared::of(scope).is_some_and(|s| s.wasm_budget.is_some());
    // V8's tag for a resizable buffer is `~`: data without that byte holds none.
    if capped && data.contains(&b'~') {
        let copies = resizable_in(scope, value);
        if !copies.is_empty() {
            // Their memory goes now, not at some later collection.
            for copy in copies {
                copy.detach(None);
            }
            return errors_for_resizable(scope, args.get(1));
        }
    }
    rv.set(value);
}

/// Throws the `DataCloneError` for a clone that holds a resizable `ArrayBuffer` in a
/// VM with `max_heap_size`: V8 maps its copy outside the budget, where it could grow
/// unseen (`wasm_guard.js` counts what the ones scripts make hold).
fn errors_for_resizable(scope: &mut v8::PinScope<'_, '_>, factory: v8::Local<'_, v8::Value>) {
    let text = "a resizable ArrayBuffer cannot be cloned in a VM with max_heap_size (its copy \
                would be memory outside the VM's limits)";
    let Some(message) = v8::String::new(scope, text) else {
        return;
    };
    let error = v8::Local::<v8::Function>::try_from(factory)
        .ok()
        .and_then(|factory| {
            let receiver = v8::undefined(scope).into();
            factory.call(scope, receiver, &[message.into()])
        })
        .unwrap_or_else(|| v8::Exception::error(scope, message));
    scope.throw_exception(error);
}

/// The resizable `ArrayBuffer`s the clone `value` holds anywhere: in properties
/// (non-enumerable ones too, as an error's `cause`), array items, `Map` and `Set`
/// entries, or under a view. A clone's objects are V8's fresh copies, whose properties
/// are data properties, so reading them runs no script.
fn resizable_in<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    value: v8::Local<'s, v8::Value>,
) -> Vec<v8::Local<'s, v8::ArrayBuffer>> {
    let mut found = Vec::new();
    let own = || {
        v8::GetPropertyNamesArgsBuilder::new()
            .mode(v8::KeyCollectionMode::OwnOnly)
            .property_filter(v8::PropertyFilter::ALL_PROPERTIES)
            .key_conversion(v8::KeyConversionMode::KeepNumbers)
            .build()
    };
    let mut seen: HashMap<i32, Vec<v8::Local<'s, v8::Object>>> = HashMap::new();
    let mut waiting = vec![value];
    while let Some(value) = waiting.pop() {
        let Ok(object) = v8::Local::<v8::Object>::try_from(value) else {
            continue;
        };
        let same = seen.entry(object.get_identity_hash().get()).or_default();
        if same.iter().any(|known| known.strict_equals(object.into())) {
            continue;
        }
        same.push(object);
        if let Ok(buffer) = v8::Local::<v8::ArrayBuffer>::try_from(value) {
            if buffer.get_backing_store().is_resizable_by_user_javascript() {
                found.push(buffer);
            }
            continue;
        }
        if let Ok(view) = v8::Local::<v8::ArrayBufferView>::try_from(value) {
            if let Some(buffer) = view.buffer(scope) {
                waiting.push(buffer.into());
            }
            continue;
        }
        let entries = if let Ok(map) = v8::Local::<v8::Map>::try_from(value) {
            Some(map.as_array(scope))
        } else if let Ok(set) = v8::Local::<v8::Set>::try_from(value) {
            Some(set.as_array(scope))
        } else {
            None
        };
        if let Some(entries) = entries {
            for i in 0..entries.length() {
                if let Some(entry) = entries.get_index(scope, i) {
                    waiting.push(entry);
                }
            }
        }
        let Some(keys) = object.get_own_property_names(scope, own()) else {
            continue;
        };
        for i in 0..keys.length() {
            let item = keys
                .get_index(scope, i)
                .and_then(|key| object.get(scope, key));
            if let Some(item) = item {
                waiting.push(item);
            }
        }
    }
    found
}
