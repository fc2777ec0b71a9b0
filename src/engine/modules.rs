//! ES modules: a module graph compiled, linked and evaluated in a context, with every
//! `import` resolved through the embedder's resolver.
//!
//! The resolver gets `(specifier, referrer name)` and answers with the imported
//! module's canonical name and source. A name is compiled once per `run_module` call,
//! so a module imported from two places is one module. V8's resolve callback takes no
//! user data, so each link keeps its loader on a per-thread stack for the duration of
//! the instantiation: a resolver that runs another module load (in another context of
//! the same VM, say) pushes its own loader on top and pops it before the outer link
//! goes on. A referrer is found by module identity (`v8::Global<v8::Module>`), with its
//! identity hash only as a first filter.

use std::cell::RefCell;

use crate::engine::error::Error;
use crate::engine::realm::ModuleMap;

/// Resolves `(specifier, referrer)` to `(canonical name, source)`.
pub type Resolver<'r> =
    dyn FnMut(&str, &str) -> Result<(String, String), crate::engine::host::HostError> + 'r;

/// The modules one link has compiled, by name and by identity.
struct Loader {
    resolver: *mut Resolver<'static>,
    /// Whether the imported modules' source maps are honoured.
    source_maps: bool,
    modules: Vec<(String, i32, v8::Global<v8::Module>)>,
    /// Modules shared past this link (the Node resolver's), looked in before compiling
    /// and added to; valid while the link runs.
    shared: Option<*const ModuleMap>,
}

thread_local! {
    /// The loaders of the links in progress on this thread, innermost last.
    static LOADERS: RefCell<Vec<Loader>> = const { RefCell::new(Vec::new()) };
}

/// Compiles `source` as a module named `name`; `None` when it does not compile (the
/// exception waits in the scope's TryCatch). With `source_maps`, its source map is
/// registered.
pub(crate) fn compile<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    source: &str,
    name: &str,
    source_maps: bool,
) -> Result<Option<v8::Local<'s, v8::Module>>, Error> {
    let code = crate::engine::script::new_string(scope, source)?;
    let origin = crate::engine::script::origin(scope, name, true)?;
    let mut compiled = v8::script_compiler::Source::new(code, Some(&origin));
    let module = v8::script_compiler::compile_module(scope, &mut compiled);
    if let (Some(module), true) = (module, source_maps) {
        if let Some(id) = module.script_id() {
            let url = module
                .get_unbound_module_script(scope)
                .get_source_mapping_url(scope);
            crate::engine::script::register_source_map(scope, id, url, name, source);
        }
    }
    Ok(module)
}

/// Pops this thread's innermost loader when dropped (also on unwinding).
struct Pushed;

impl Drop for Pushed {
    fn drop(&mut self) {
        LOADERS.with(|l| l.borrow_mut().pop());
    }
}

/// Links `module` (named `name`) and everything it imports, asking `resolver` for each
/// import; with `shared`, an imported module already in it is used as it is, and one
/// compiled is added to it. `Ok(false)`: a JavaScript exception waits in the scope's
/// TryCatch.
pub(crate) fn link(
    scope: &mut v8::PinScope<'_, '_>,
    module: v8::Local<'_, v8::Module>,
    name: &str,
    resolver: &mut Resolver<'_>,
    source_maps: bool,
    shared: Option<&ModuleMap>,
) -> Result<bool, Error> {
    // SAFETY: only lifetimes change; the pointer is used by `resolve` during
    // `instantiate_module` below, while `resolver` is borrowed by this frame, and the
    // loader holding it is popped before this function returns.
    let resolver: *mut Resolver<'static> = unsafe { std::mem::transmute(resolver) };
    let root = (
        name.to_string(),
        module.get_identity_hash().get(),
        v8::Global::new(scope, module),
    );
    LOADERS.with(|l| {
        l.borrow_mut().push(Loader {
            resolver,
            source_maps,
            modules: vec![root],
            shared: shared.map(|m| m as *const ModuleMap),
        })
    });
    let _pop = Pushed;
    let linked = module.instantiate_module(scope, resolve);
    Ok(linked == Some(true))
}

/// The name of `module` among the innermost loader's modules.
fn name_of(scope: &mut v8::PinScope<'_, '_>, module: v8::Local<'_, v8::Module>) -> Option<String> {
    let hash = module.get_identity_hash().get();
    LOADERS.with(|l| {
        let loaders = l.borrow();
        let loader = loaders.last()?;
        loader
            .modules
            .iter()
            .filter(|(_, h, _)| *h == hash)
            .find(|(_, _, known)| v8::Local::new(scope, known) == module)
            .map(|(name, _, _)| name.clone())
    })
}

fn resolve<'s>(
    context: v8::Local<'s, v8::Context>,
    specifier: v8::Local<'s, v8::String>,
    _attributes: v8::Local<'s, v8::FixedArray>,
    referrer: v8::Local<'s, v8::Module>,
) -> Option<v8::Local<'s, v8::Module>> {
    // SAFETY: V8 calls this during `instantiate_module`, inside our scopes.
    v8::callback_scope!(unsafe scope, context);
    let outcome = crate::engine::panic::catch(|| resolve_in(scope, specifier, referrer));
    let (message, payload) = match outcome {
        Ok(Ok(module)) => return Some(module),
        Ok(Err(Some(failure))) => failure.into_parts(),
        Err(message) => (message, None),
        Ok(Err(None)) => return None, // the exception is pending already
    };
    let text = v8::String::new(scope, &message)?;
    let error = v8::Exception::error(scope, text);
    // The resolver's own exception (a Python `KeyboardInterrupt`…) is raised again if
    // nothing catches this one, as a host function's is.
    if let (Some(payload), Ok(object)) = (payload, v8::Local::<v8::Object>::try_from(error)) {
        crate::engine::exception::mark_host_exception(scope, object, payload);
    }
    scope.throw_exception(error);
    None
}

/// The module `specifier` names from `referrer`; `Err(Some(failure))` to throw,
/// `Err(None)` when an exception is pending.
fn resolve_in<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    specifier: v8::Local<'s, v8::String>,
    referrer: v8::Local<'s, v8::Module>,
) -> Result<v8::Local<'s, v8::Module>, Option<crate::engine::host::HostError>> {
    let specifier = specifier.to_rust_string_lossy(scope);
    let referrer_name = name_of(scope, referrer).unwrap_or_default();
    let (resolver, source_maps, shared) = LOADERS
        .with(|l| {
            l.borrow()
                .last()
                .map(|loader| (loader.resolver, loader.source_maps, loader.shared))
        })
        .ok_or_else(|| Some("no module is being loaded".into()))?;
    // SAFETY: set by `link` for the duration of the instantiation on this thread; a
    // nested link pushes a loader of its own and pops it before returning here.
    let answer = unsafe { (*resolver)(&specifier, &referrer_name) };
    let (name, source) = answer.map_err(|why| {
        Some(crate::engine::host::HostError {
            message: format!(
                "cannot import '{specifier}' from '{referrer_name}': {}",
                why.message
            ),
            payload: why.payload,
        })
    })?;
    let known = LOADERS.with(|l| {
        let loaders = l.borrow();
        let loader = loaders.last()?;
        loader
            .modules
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, _, module)| module.clone())
    });
    if let Some(module) = known {
        return Ok(v8::Local::new(scope, module));
    }
    // SAFETY: set by `link` from a reference that outlives the instantiation.
    let shared = shared.map(|m| unsafe { &*m });
    if let Some(module) = shared.and_then(|m| m.lock().get(&name).cloned()) {
        return Ok(v8::Local::new(scope, module));
    }
    let module = match compile(scope, &source, &name, source_maps) {
        Ok(Some(module)) => module,
        Ok(None) => return Err(None),
        Err(error) => return Err(Some(error.message().to_string().into())),
    };
    if let Some(shared) = shared {
        shared
            .lock()
            .insert(name.clone(), v8::Global::new(scope, module));
    }
    let entry = (
        name,
        module.get_identity_hash().get(),
        v8::Global::new(scope, module),
    );
    LOADERS.with(|l| {
        if let Some(loader) = l.borrow_mut().last_mut() {
            loader.modules.push(entry);
        }
    });
    Ok(module)
}
