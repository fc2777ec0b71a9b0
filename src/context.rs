//! A context: one global scope inside a VM, which persists between calls.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Code, Error, JsError};
use crate::event_loop::{self, EventLoop};
use crate::host::{self, HostFn, HostFunction};
use crate::text::Text;
use crate::vm::{StopCause, Vm};

static LIVE_CONTEXTS: AtomicUsize = AtomicUsize::new(0);

/// Runs `$body` in context `$ctx` with the VM held (stopped after `$timeout`), scopes
/// open, and a TryCatch bound to `$tc`; `$cause` explains terminations.
macro_rules! in_context {
    ($ctx:expr, $timeout:expr, |$tc:ident, $cause:ident| $body:block) => {{
        let ctx: &Context = $ctx;
        ctx.check_usable()?;
        let mut call = ctx.vm.enter($timeout)?;
        let $cause = call.stop_cause();
        v8::scope!(let scope, &mut *call);
        let context = v8::Local::new(scope, &ctx.global);
        let scope = &mut v8::ContextScope::new(scope, context);
        v8::tc_scope!(let $tc, scope);
        $body
    }};
}

/// A JavaScript global scope in a [`Vm`]. Contexts of the same VM do not see each
/// other's globals.
///
/// `Context` is `Send + Sync`; calls on it take its VM, so they are serialised with
/// every other call on that VM. It keeps its VM alive.
pub struct Context {
    // Field order is drop order: the handle goes before the VM it lives in, and the
    // host functions its JavaScript may call go with the VM.
    global: v8::Global<v8::Context>,
    scripts: ScriptCache,
    // Boxed: the context's timer functions hold a pointer to it.
    tasks: Box<EventLoop>,
    vm: Arc<Vm>,
    // Boxed: JavaScript holds pointers to them, which must survive the Vec growing.
    #[allow(clippy::vec_box)]
    hosts: parking_lot::Mutex<Vec<Box<HostFunction>>>,
    freed: AtomicBool,
}

/// Compiled small scripts by (source, name), so that a script run again and again (the
/// "render this" loop) skips making its source string and compiling it. Only touched
/// with the VM held.
#[derive(Default)]
struct ScriptCache(parking_lot::Mutex<HashMap<ScriptKey, v8::Global<v8::UnboundScript>>>);

/// A cached script's (source, name).
type ScriptKey = (Box<str>, Box<str>);

impl ScriptCache {
    /// Scripts longer than this are not kept (V8's own cache still helps them).
    const MAX_SOURCE: usize = 1024;
    /// When full, the cache starts over.
    const MAX_ENTRIES: usize = 256;
}

impl Context {
    /// Creates a fresh global scope in `vm` with all the web APIs of [`crate::web`].
    pub fn new(vm: &Arc<Vm>) -> Result<Arc<Context>, Error> {
        Context::with_features(vm, crate::web::ALL)
    }

    /// Creates a fresh global scope in `vm` with the web APIs of `features` (a mask of
    /// [`crate::web`] bits; 0 for a bare V8 context).
    pub fn with_features(vm: &Arc<Vm>, features: u32) -> Result<Arc<Context>, Error> {
        let tasks = EventLoop::new();
        // Setting the web APIs up runs JavaScript: a terminate() aimed at another call
        // of this VM must not cut it short.
        let mut call = vm.enter_unstoppable()?;
        v8::scope!(let scope, &mut *call);
        let context = v8::Context::new(scope, Default::default());
        let global = v8::Global::new(scope, context);
        {
            let scope = &mut v8::ContextScope::new(scope, context);
            crate::web::install(scope, &tasks, features)?;
        }
        LIVE_CONTEXTS.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(Context {
            global,
            scripts: ScriptCache::default(),
            tasks,
            vm: Arc::clone(vm),
            hosts: parking_lot::Mutex::new(Vec::new()),
            freed: AtomicBool::new(false),
        }))
    }

    /// The VM this context lives in.
    pub fn vm(&self) -> &Arc<Vm> {
        &self.vm
    }

    /// Marks the context as freed by its owner: later calls fail with `InvalidState`.
    pub fn close(&self) {
        self.freed.store(true, Ordering::Release);
    }

    /// Whether [`Self::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.freed.load(Ordering::Acquire)
    }

    /// Compiles and runs UTF-8 `source` under the script name `name`, and returns
    /// `String(result)` as UTF-8 (NUL bytes kept; lone surrogates become U+FFFD).
    pub fn run_script(&self, source: &[u8], name: &[u8]) -> Result<Text, Error> {
        self.run_script_with_timeout(source, name, None)
    }

    /// [`Self::run_script`], stopped with [`Code::Timeout`] once `timeout` has passed.
    pub fn run_script_with_timeout(
        &self,
        source: &[u8],
        name: &[u8],
        timeout: Option<Duration>,
    ) -> Result<Text, Error> {
        let source = utf8(source, "the script")?;
        let name = utf8(name, "the script name")?;
        self.run_str(source, name, timeout)
    }

    /// Reads each file (UTF-8) and runs it with its path as the script name, in order.
    /// Stops at the first failure; an unreadable file is a [`Code::IoError`] with its
    /// path.
    pub fn load_libs<P: AsRef<[u8]>>(&self, paths: &[P]) -> Result<(), Error> {
        for path in paths {
            let (name, source) = read_lib(path.as_ref())?;
            self.run_str(&source, &name, None)?;
        }
        Ok(())
    }

    /// [`Self::load_libs`] through V8's code cache (see [`crate::code_cache`]): kept in
    /// memory for the process and, with `cache_dir`, in that directory.
    pub fn load_libs_cached<P: AsRef<[u8]>>(
        &self,
        paths: &[P],
        cache_dir: Option<&std::path::Path>,
    ) -> Result<(), Error> {
        for path in paths {
            let (name, source) = read_lib(path.as_ref())?;
            in_context!(self, None, |tc, cause| {
                if run_with_code_cache(tc, &source, &name, cache_dir)?.is_none() {
                    return Err(caught(tc, cause));
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    fn check_usable(&self) -> Result<(), Error> {
        if self.is_closed() {
            return Err(Error::invalid_state("the context was freed (torn down)"));
        }
        self.vm
            .check_usable()
            .map_err(|e| Error::new(e.code(), format!("cannot use the context: {}", e.message())))
    }

    fn run_str(&self, source: &str, name: &str, timeout: Option<Duration>) -> Result<Text, Error> {
        in_context!(self, timeout, |tc, cause| {
            let value =
                run_cached(tc, &self.scripts, source, name)?.ok_or_else(|| caught(tc, cause))?;
            let Some(string) = value.to_string(tc) else {
                return Err(caught(tc, cause));
            };
            Ok(Text::from(string.to_rust_string_lossy(tc)))
        })
    }

    /// Compiles and runs UTF-8 `source` like [`Self::run_script`], and returns the
    /// result in the wire format of [`crate::values`]. `flags`: with
    /// [`crate::values::AWAIT_PROMISE`], a Promise result is settled first (microtasks
    /// run) and its value returned, or its rejection raised as a [`Code::JsError`]; with
    /// [`crate::values::ACCEPT_JSON`], a JSON-exact result may come as JSON text.
    pub fn eval(
        &self,
        source: &[u8],
        name: &[u8],
        timeout: Option<Duration>,
        flags: u32,
    ) -> Result<Vec<u8>, Error> {
        let source = utf8(source, "the script")?;
        let name = utf8(name, "the script name")?;
        in_context!(self, timeout, |tc, cause| {
            let value =
                run_cached(tc, &self.scripts, source, name)?.ok_or_else(|| caught(tc, cause))?;
            finish(tc, value, flags, &self.tasks, cause)
                .map_err(|e| e.unwrap_or_else(|| caught(tc, cause)))
        })
    }

    /// Calls the function that the expression `function` names (`"render"`,
    /// `"lib.render"`: a dotted name is called as a method of its object) with the
    /// arguments `args` — a wire-format array — and returns its result like
    /// [`Self::eval`].
    pub fn call(
        &self,
        function: &[u8],
        args: &[u8],
        timeout: Option<Duration>,
        flags: u32,
    ) -> Result<Vec<u8>, Error> {
        let function = utf8(function, "the function name")?;
        in_context!(self, timeout, |tc, cause| {
            let (receiver, target) =
                resolve_function(tc, &self.scripts, function)?.ok_or_else(|| caught(tc, cause))?;
            let Ok(target) = v8::Local::<v8::Function>::try_from(target) else {
                return Err(Error::new(
                    Code::JsError,
                    format!("TypeError: {function} is not a function"),
                ));
            };
            let args = crate::values::read(tc, args)?;
            let Ok(args) = v8::Local::<v8::Array>::try_from(args) else {
                return Err(Error::invalid_argument("the arguments are not an array"));
            };
            let args: Vec<_> = (0..args.length())
                .map(|i| args.get_index(tc, i).ok_or_else(|| caught(tc, cause)))
                .collect::<Result<_, _>>()?;
            let Some(value) = target.call(tc, receiver, &args) else {
                return Err(caught(tc, cause));
            };
            finish(tc, value, flags, &self.tasks, cause)
                .map_err(|e| e.unwrap_or_else(|| caught(tc, cause)))
        })
    }

    /// Runs UTF-8 `source` as an ES module named `name`; each `import` is resolved by
    /// `resolver` (`(specifier, referrer) → (name, source)`; without one, any import
    /// fails). Top-level `await` is settled. With `global_name`, the module namespace
    /// becomes that global (so its exported functions can be called) and the result is
    /// `undefined`; without, the namespace is the result, in the wire format (`flags`:
    /// [`crate::values::ACCEPT_JSON`] as for [`Self::eval`]).
    pub fn run_module(
        &self,
        source: &[u8],
        name: &[u8],
        resolver: Option<&mut crate::modules::Resolver<'_>>,
        global_name: Option<&[u8]>,
        timeout: Option<Duration>,
        flags: u32,
    ) -> Result<Vec<u8>, Error> {
        let source = utf8(source, "the module source")?;
        let name = utf8(name, "the module name")?;
        let global_name = global_name
            .map(|g| utf8(g, "the global name"))
            .transpose()?;
        let mut no_imports = |specifier: &str, _: &str| -> Result<(String, String), String> {
            Err(format!("no resolver was given to import '{specifier}'"))
        };
        let resolver = match resolver {
            Some(resolver) => resolver,
            None => &mut no_imports,
        };
        in_context!(self, timeout, |tc, cause| {
            let module =
                crate::modules::compile(tc, source, name)?.ok_or_else(|| caught(tc, cause))?;
            if !crate::modules::link(tc, module, name, resolver)? {
                return Err(caught(tc, cause));
            }
            let Some(evaluation) = module.evaluate(tc) else {
                return Err(caught(tc, cause));
            };
            settle(tc, evaluation, &self.tasks, cause)
                .map_err(|e| e.unwrap_or_else(|| caught(tc, cause)))?;
            if module.get_status() == v8::ModuleStatus::Errored {
                let exception = module.get_exception();
                let message = v8::Exception::create_message(tc, exception);
                return Err(describe_exception(tc, exception, Some(message)));
            }
            let namespace = module.get_module_namespace();
            match global_name {
                Some(global_name) => {
                    let key = new_string(tc, global_name)?;
                    let global = tc.get_current_context().global(tc);
                    global
                        .set(tc, key.into(), namespace)
                        .ok_or_else(|| caught(tc, cause))?;
                    Ok(b"u".to_vec())
                }
                None => finish(
                    tc,
                    namespace,
                    flags & crate::values::ACCEPT_JSON,
                    &self.tasks,
                    cause,
                )
                .map_err(|e| e.unwrap_or_else(|| caught(tc, cause))),
            }
        })
    }

    /// Makes `function` callable from JavaScript as the global `name` (see
    /// [`crate::host`]). `data` is handed back to it on every call and must stay valid,
    /// and usable from any thread that calls into this context, while the context lives.
    pub fn expose(
        &self,
        name: &[u8],
        function: HostFn,
        data: *mut std::ffi::c_void,
    ) -> Result<(), Error> {
        let name = utf8(name, "the name")?;
        host::check_name(name)?;
        let host = Box::new(HostFunction { function, data });
        let pointer = &*host as *const HostFunction as *mut std::ffi::c_void;
        in_context!(self, None, |tc, cause| {
            let external = v8::External::new(tc, pointer);
            let key = new_string(tc, name)?;
            let Some(function) = v8::Function::builder(host::trampoline)
                .data(external.into())
                .build(tc)
            else {
                return Err(caught(tc, cause));
            };
            function.set_name(key);
            let global = tc.get_current_context().global(tc);
            if global.set(tc, key.into(), function.into()).is_none() {
                return Err(caught(tc, cause));
            }
            Ok(())
        })?;
        self.hosts.lock().push(host);
        Ok(())
    }

    /// Runs the context's event loop — microtasks and timers, sleeping until the next
    /// timer is due — until nothing is queued. A timer callback that throws ends it
    /// with that error (the other timers stay queued); after `timeout` it fails with
    /// [`Code::Timeout`] (an endless `setInterval` never idles).
    pub fn run_until_idle(&self, timeout: Option<Duration>) -> Result<(), Error> {
        in_context!(self, timeout, |tc, cause| {
            event_loop::drive(tc, &self.tasks, cause, |_| false)
                .map_err(|e| e.unwrap_or_else(|| caught(tc, cause)))?;
            Ok(())
        })
    }

    /// Number of timers queued in the context (`setTimeout`, `setInterval`, tasks).
    pub fn pending_tasks(&self) -> usize {
        self.tasks.pending()
    }

    /// Number of contexts alive in the process.
    pub fn live_count() -> usize {
        LIVE_CONTEXTS.load(Ordering::Relaxed)
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        LIVE_CONTEXTS.fetch_sub(1, Ordering::Relaxed);
    }
}

fn utf8<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str, Error> {
    std::str::from_utf8(bytes).map_err(|e| {
        Error::invalid_argument(format!(
            "{what} is not valid UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })
}

/// The script name and UTF-8 source of the library file at `path`.
fn read_lib(path: &[u8]) -> Result<(String, String), Error> {
    use std::os::unix::ffi::OsStrExt;
    let os_path = std::path::Path::new(std::ffi::OsStr::from_bytes(path));
    let bytes = std::fs::read(os_path).map_err(|e| Error::io(path, &e))?;
    let name = String::from_utf8_lossy(path).into_owned();
    let source = String::from_utf8(bytes).map_err(|e| {
        Error::invalid_argument(format!(
            "{name}: the file is not valid UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
        .with_path(path)
    })?;
    Ok((name, source))
}

fn new_string<'s>(
    scope: &v8::PinScope<'s, '_>,
    s: &str,
) -> Result<v8::Local<'s, v8::String>, Error> {
    v8::String::new_from_utf8(scope, s.as_bytes(), v8::NewStringType::Normal).ok_or_else(|| {
        Error::new(
            Code::OutOfMemory,
            format!("cannot make a V8 string of {} bytes", s.len()),
        )
    })
}

/// Runs `scripts` (`(name, source)`) in order for a snapshot, settling microtasks.
pub(crate) fn run_for_snapshot(
    scope: &mut v8::PinScope<'_, '_>,
    scripts: &[(&[u8], &[u8])],
) -> Result<(), Error> {
    v8::tc_scope!(let tc, scope);
    for (name, source) in scripts {
        let name = utf8(name, "a script name")?;
        let source = utf8(source, "a script")?;
        if compile_and_run(tc, source, name)?.is_none() {
            let exception = tc.exception();
            let message = tc.message();
            return Err(match exception {
                Some(exception) => describe_exception(tc, exception, message),
                None => Error::new(
                    Code::Unknown,
                    "a snapshot script failed without an exception",
                ),
            });
        }
        tc.perform_microtask_checkpoint();
    }
    Ok(())
}

/// Compiles `source` with its cached code when there is some, runs it, and caches its
/// code after a first run; `Ok(None)` when JavaScript threw.
fn run_with_code_cache<'s>(
    tc: &mut v8::PinScope<'s, '_>,
    source: &str,
    name: &str,
    dir: Option<&std::path::Path>,
) -> Result<Option<v8::Local<'s, v8::Value>>, Error> {
    use crate::code_cache;
    use v8::script_compiler::{CachedData, CompileOptions, NoCacheReason, Source};
    let key = code_cache::key(name, source);
    let code = new_string(tc, source)?;
    let origin = script_origin(tc, name, false)?;
    let cached = code_cache::lookup(key, dir);
    let (script, produce) = match &cached {
        Some(data) => {
            let mut src = Source::new_with_cached_data(code, Some(&origin), CachedData::new(data));
            let script = v8::script_compiler::compile(
                tc,
                &mut src,
                CompileOptions::ConsumeCodeCache,
                NoCacheReason::NoReason,
            );
            let rejected = src.get_cached_data().is_some_and(|d| d.rejected());
            if rejected {
                code_cache::rejected();
                code_cache::forget(key, dir);
            } else {
                code_cache::hit();
            }
            (script, rejected)
        }
        None => {
            code_cache::miss();
            (v8::Script::compile(tc, code, Some(&origin)), true)
        }
    };
    let Some(script) = script else {
        return Ok(None);
    };
    let result = script.run(tc);
    if produce && result.is_some() {
        // After the run, the cache also holds the functions the script compiled.
        if let Some(data) = script.get_unbound_script(tc).create_code_cache() {
            code_cache::store(key, data.to_vec(), dir);
        }
    }
    Ok(result)
}

/// [`compile_and_run`], through `cache` for small scripts.
fn run_cached<'s>(
    tc: &mut v8::PinScope<'s, '_>,
    cache: &ScriptCache,
    source: &str,
    name: &str,
) -> Result<Option<v8::Local<'s, v8::Value>>, Error> {
    if source.len() > ScriptCache::MAX_SOURCE {
        return compile_and_run(tc, source, name);
    }
    let known = cache
        .0
        .lock()
        .get(&(source.into(), name.into()))
        .map(|s| v8::Local::new(tc, s));
    let script = match known {
        Some(unbound) => unbound.bind_to_current_context(tc),
        None => {
            let Some(script) = compile(tc, source, name)? else {
                return Ok(None);
            };
            let unbound = v8::Global::new(tc, script.get_unbound_script(tc));
            let mut scripts = cache.0.lock();
            if scripts.len() >= ScriptCache::MAX_ENTRIES {
                scripts.clear();
            }
            scripts.insert((source.into(), name.into()), unbound);
            script
        }
    };
    Ok(script.run(tc))
}

/// Compiles `source` under the script name `name` and runs it; `Ok(None)` when
/// JavaScript threw (the exception waits in the scope's TryCatch).
fn compile_and_run<'s>(
    tc: &mut v8::PinScope<'s, '_>,
    source: &str,
    name: &str,
) -> Result<Option<v8::Local<'s, v8::Value>>, Error> {
    Ok(compile(tc, source, name)?.and_then(|script| script.run(tc)))
}

/// Compiles `source` under the script name `name`; `Ok(None)` when it does not compile.
fn compile<'s>(
    tc: &mut v8::PinScope<'s, '_>,
    source: &str,
    name: &str,
) -> Result<Option<v8::Local<'s, v8::Script>>, Error> {
    if source.len() > v8::String::MAX_LENGTH {
        return Err(Error::new(
            Code::OutOfMemory,
            format!(
                "the script is {} bytes, more than V8's string limit of {} bytes",
                source.len(),
                v8::String::MAX_LENGTH
            ),
        ));
    }
    let code = new_string(tc, source)?;
    let origin = script_origin(tc, name, false)?;
    Ok(v8::Script::compile(tc, code, Some(&origin)))
}

/// The receiver and value of the function expression `expr`: for a dotted name
/// (`a.b.c`) the receiver is `a.b`, otherwise `undefined`.
#[allow(clippy::type_complexity)]
fn resolve_function<'s>(
    tc: &mut v8::PinScope<'s, '_>,
    cache: &ScriptCache,
    expr: &str,
) -> Result<Option<(v8::Local<'s, v8::Value>, v8::Local<'s, v8::Value>)>, Error> {
    let is_name = |part: &str| {
        let mut chars = part.chars();
        chars
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
            && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
    };
    if let Some((object, member)) = expr.rsplit_once('.') {
        if is_name(member) && object.split('.').all(is_name) {
            let Some(receiver) = run_cached(tc, cache, object, "<call>")? else {
                return Ok(None);
            };
            let key = new_string(tc, member)?;
            let target = receiver
                .to_object(tc)
                .and_then(|object| object.get(tc, key.into()));
            return Ok(target.map(|target| (receiver, target)));
        }
    }
    let target = run_cached(tc, cache, expr, "<call>")?;
    Ok(target.map(|target| (v8::undefined(tc).into(), target)))
}

/// Settles `value` if asked and it is a Promise, then writes it in the wire format.
/// `Err(None)`: JavaScript threw (the exception waits in the scope's TryCatch).
fn finish<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    value: v8::Local<'s, v8::Value>,
    flags: u32,
    tasks: &EventLoop,
    cause: StopCause<'_>,
) -> Result<Vec<u8>, Option<Error>> {
    let value = if flags & crate::values::AWAIT_PROMISE != 0 {
        settle(scope, value, tasks, cause)?
    } else {
        value
    };
    let mut out = Vec::new();
    crate::values::write(
        scope,
        value,
        &mut out,
        flags & crate::values::ACCEPT_JSON != 0,
    )?;
    Ok(out)
}

/// The value of a settled Promise (or `value` itself when it is no Promise): the event
/// loop (microtasks and timers) runs until it settles; a rejection becomes a
/// JavaScript error.
fn settle<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    value: v8::Local<'s, v8::Value>,
    tasks: &EventLoop,
    cause: StopCause<'_>,
) -> Result<v8::Local<'s, v8::Value>, Option<Error>> {
    let Ok(promise) = v8::Local::<v8::Promise>::try_from(value) else {
        return Ok(value);
    };
    event_loop::drive(scope, tasks, cause, |_| {
        promise.state() != v8::PromiseState::Pending
    })?;
    match promise.state() {
        v8::PromiseState::Fulfilled => Ok(promise.result(scope)),
        v8::PromiseState::Rejected => {
            let reason = promise.result(scope);
            let message = v8::Exception::create_message(scope, reason);
            v8::tc_scope!(let tc, scope);
            Err(Some(describe_exception(tc, reason, Some(message))))
        }
        v8::PromiseState::Pending => Err(Some(Error::new(
            Code::JsError,
            "the promise is still pending and nothing is left that could settle it (no \
             microtask or timer is queued)",
        ))),
    }
}

/// The origin of a script (or, with `is_module`, a module) named `name`.
pub(crate) fn script_origin<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    name: &str,
    is_module: bool,
) -> Result<v8::ScriptOrigin<'s>, Error> {
    let resource_name = new_string(scope, name)?;
    Ok(v8::ScriptOrigin::new(
        scope,
        resource_name.into(),
        0,
        0,
        false,
        0,
        None,
        false,
        false,
        is_module,
        None,
    ))
}

fn text_of(scope: &mut v8::PinScope<'_, '_>, value: v8::Local<'_, v8::Value>) -> Option<Text> {
    value
        .is_string()
        .then(|| Text::from(value.to_rust_string_lossy(scope)))
}

/// Turns what the TryCatch `tc` caught into an [`Error`] with the exception's parts.
fn caught(
    tc: &mut v8::PinnedRef<'_, v8::TryCatch<v8::HandleScope>>,
    cause: StopCause<'_>,
) -> Error {
    if tc.has_terminated() || !tc.can_continue() {
        return cause.error();
    }
    let Some(exception) = tc.exception() else {
        return Error::new(Code::Unknown, "the script failed without an exception");
    };
    let message = tc.message();
    describe_exception(tc, exception, message)
}

/// An [`Error`] with the parts of the JavaScript `exception`, located by `message`.
fn describe_exception(
    tc: &mut v8::PinnedRef<'_, v8::TryCatch<v8::HandleScope>>,
    exception: v8::Local<'_, v8::Value>,
    message: Option<v8::Local<'_, v8::Message>>,
) -> Error {
    // Reading properties may run user getters that throw: do it under a TryCatch of
    // its own so the caught exception stays as it is.
    v8::tc_scope!(let inner, tc);
    let mut js = JsError {
        exception: describe(inner, exception),
        ..JsError::default()
    };
    if let Ok(object) = v8::Local::<v8::Object>::try_from(exception) {
        let get = |scope: &mut v8::PinnedRef<'_, v8::TryCatch<v8::HandleScope>>, key: &str| {
            let key = v8::String::new(scope, key)?;
            let value = object.get(scope, key.into());
            scope.reset();
            value.and_then(|v| text_of(scope, v))
        };
        if exception.is_native_error() {
            js.name = get(inner, "name").unwrap_or_default();
            js.message = get(inner, "message").unwrap_or_default();
        }
        js.stack = get(inner, "stack");
    }
    if !exception.is_native_error() {
        js.message = js.exception.clone();
    }
    if let Some(message) = message {
        js.script_name = message
            .get_script_resource_name(inner)
            .and_then(|v| text_of(inner, v));
        // V8 says "unknown" with line 0 and column -1 (an error at the end of input, say).
        let known = |n: usize| u32::try_from(n).ok().filter(|&n| n != u32::MAX);
        js.line = message
            .get_line_number(inner)
            .and_then(known)
            .filter(|&l| l > 0);
        js.start_column = known(message.get_start_column());
        js.end_column = known(message.get_end_column());
        js.source_line = message
            .get_source_line(inner)
            .filter(|_| js.line.is_some())
            .map(|s| Text::from(s.to_rust_string_lossy(inner)));
    }
    Error::js(js)
}

/// `String(value)`, or V8's side-effect-free description when that throws.
fn describe(
    scope: &mut v8::PinnedRef<'_, v8::TryCatch<v8::HandleScope>>,
    value: v8::Local<'_, v8::Value>,
) -> Text {
    let text = match value.to_string(scope) {
        Some(s) => s.to_rust_string_lossy(scope),
        None => {
            scope.reset();
            value
                .to_detail_string(scope)
                .map(|s| s.to_rust_string_lossy(scope))
                .unwrap_or_default()
        }
    };
    scope.reset();
    Text::from(text)
}
