//! ES modules: a module graph compiled, linked and evaluated in a context, with every
//! `import` resolved through the embedder's resolver.
//!
//! The resolver gets `(specifier, referrer name)` and answers with the imported
//! module's canonical name and source. A name is compiled once per `run_module` call,
//! so a module imported from two places is one module. V8's resolve callback takes no
//! user data, so the graph being loaded lives in a thread-local for the duration of the
//! instantiation (which runs on this thread only).

use std::cell::RefCell;
use std::collections::HashMap;

use crate::error::{Code, Error};

/// Resolves `(specifier, referrer)` to `(canonical name, source)`.
pub type Resolver<'r> = dyn FnMut(&str, &str) -> Result<(String, String), String> + 'r;

/// The graph being loaded on this thread.
struct Loading {
    resolver: *mut Resolver<'static>,
    by_name: HashMap<String, v8::Global<v8::Module>>,
    names: HashMap<i32, String>,
}

thread_local! {
    static LOADING: RefCell<Option<Loading>> = const { RefCell::new(None) };
}

/// Compiles `source` as a module named `name`; `None` when it does not compile (the
/// exception waits in the scope's TryCatch).
pub(crate) fn compile<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    source: &str,
    name: &str,
) -> Result<Option<v8::Local<'s, v8::Module>>, Error> {
    let code = v8::String::new_from_utf8(scope, source.as_bytes(), v8::NewStringType::Normal)
        .ok_or_else(|| {
            Error::new(
                Code::OutOfMemory,
                "the module source is larger than V8 allows",
            )
        })?;
    let origin = crate::context::script_origin(scope, name, true)?;
    let mut source = v8::script_compiler::Source::new(code, Some(&origin));
    Ok(v8::script_compiler::compile_module(scope, &mut source))
}

/// Links `module` (named `name`) and everything it imports, asking `resolver` for each
/// import. `Ok(false)`: a JavaScript exception waits in the scope's TryCatch.
pub(crate) fn link(
    scope: &mut v8::PinScope<'_, '_>,
    module: v8::Local<'_, v8::Module>,
    name: &str,
    resolver: &mut Resolver<'_>,
) -> Result<bool, Error> {
    // SAFETY: the pointer is only used by `resolve` during `instantiate_module` below,
    // while `resolver` is borrowed by this frame; it is cleared before returning.
    let resolver: *mut Resolver<'static> = unsafe { std::mem::transmute(resolver) };
    let mut names = HashMap::new();
    names.insert(module.get_identity_hash().get(), name.to_string());
    LOADING.with(|l| {
        *l.borrow_mut() = Some(Loading {
            resolver,
            by_name: HashMap::new(),
            names,
        })
    });
    let linked = module.instantiate_module(scope, resolve);
    LOADING.with(|l| l.borrow_mut().take());
    Ok(linked == Some(true))
}

fn resolve<'s>(
    context: v8::Local<'s, v8::Context>,
    specifier: v8::Local<'s, v8::String>,
    _attributes: v8::Local<'s, v8::FixedArray>,
    referrer: v8::Local<'s, v8::Module>,
) -> Option<v8::Local<'s, v8::Module>> {
    // SAFETY: V8 calls this during `instantiate_module`, inside our scopes.
    v8::callback_scope!(unsafe scope, context);
    let specifier = specifier.to_rust_string_lossy(scope);
    let referrer_hash = referrer.get_identity_hash().get();
    let (resolver, referrer_name) = LOADING.with(|l| {
        let loading = l.borrow();
        let loading = loading.as_ref()?;
        Some((
            loading.resolver,
            loading
                .names
                .get(&referrer_hash)
                .cloned()
                .unwrap_or_default(),
        ))
    })?;
    // SAFETY: set by `link` for the duration of the instantiation on this thread.
    let answer = unsafe { (*resolver)(&specifier, &referrer_name) };
    let (name, source) = match answer {
        Ok(found) => found,
        Err(why) => {
            let message = format!("cannot import '{specifier}' from '{referrer_name}': {why}");
            let text = v8::String::new(scope, &message)?;
            let error = v8::Exception::error(scope, text);
            scope.throw_exception(error);
            return None;
        }
    };
    let known = LOADING.with(|l| l.borrow().as_ref()?.by_name.get(&name).cloned());
    if let Some(module) = known {
        return Some(v8::Local::new(scope, module));
    }
    let module = compile(scope, &source, &name).ok().flatten()?;
    LOADING.with(|l| {
        if let Some(loading) = l.borrow_mut().as_mut() {
            loading
                .names
                .insert(module.get_identity_hash().get(), name.clone());
            loading.by_name.insert(name, v8::Global::new(scope, module));
        }
    });
    Some(module)
}
