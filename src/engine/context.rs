//! A context: one global scope inside a VM, which persists between calls.
//!
//! Each call is a [`Session`]: the VM held for it, and turns that each open their
//! scopes in the context's realm (see `event_loop.rs`). An outermost call runs the
//! context's microtasks after its script, as V8's automatic policy did — but only the
//! context's own: every context has a microtask queue of its own.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::engine::error::{Code, Error};
use crate::engine::event_loop::{self, Session};
use crate::engine::exception::{caught, describe_exception, rejection};
use crate::engine::host::HostFunction;
use crate::engine::node::NodeOptions;
use crate::engine::realm::Realm;
use crate::engine::script::{new_string, read_lib, run_with_code_cache, utf8};
use crate::engine::text::Text;
use crate::engine::values::CallFlags;
use crate::engine::vm::Vm;
use crate::engine::web::WebFeatures;

/// How the arguments of a call are given.
#[derive(Clone, Copy)]
enum Args<'a> {
    /// A wire-format array (`values.rs`).
    Wire(&'a [u8]),
    /// The JSON text of an array.
    Json(&'a [u8]),
}

static LIVE_CONTEXTS: AtomicUsize = AtomicUsize::new(0);

/// A JavaScript global scope in a [`Vm`]. Contexts of the same VM do not see each
/// other's globals, and never run each other's microtasks or timers.
///
/// `Context` is `Send + Sync`; calls on it take its VM, so they are serialised with
/// every other call on that VM. It keeps its VM alive.
pub struct Context {
    // Field order is drop order: the realm goes before the VM it lives in.
    /// The context's V8 state; `None` once closed (a call in flight keeps its own
    /// reference until it ends).
    realm: parking_lot::RwLock<Option<Arc<Realm>>>,
    vm: Arc<Vm>,
    freed: AtomicBool,
}

/// What the first turn of a call that returns a value left.
enum First {
    /// The result, in the wire format.
    Done(Vec<u8>),
    /// A promise to settle first.
    Pending(v8::Global<v8::Promise>),
}

/// Takes a realm out of its VM's table unless disarmed (a context that failed to set
/// up must not stay reachable).
struct RetireOnError<'a>(Option<&'a Realm>);

impl Drop for RetireOnError<'_> {
    fn drop(&mut self) {
        if let Some(realm) = self.0 {
            realm.retire();
        }
    }
}

impl Context {
    /// Creates a fresh global scope in `vm` with all the web APIs of [`crate::engine::web`].
    pub fn new(vm: &Arc<Vm>) -> Result<Arc<Context>, Error> {
        Context::with_features(vm, WebFeatures::ALL)
    }

    /// Creates a fresh global scope in `vm` with the web APIs of `features`
    /// ([`WebFeatures::NONE`] for a bare V8 context).
    ///
    /// A context with every default web API is deserialized from the VM's startup
    /// snapshot when it has one (see `startup.rs`); a VM made from a user's snapshot
    /// gives contexts what its default context holds — every default web API — whatever
    /// `features` says. The opt-in [`WebFeatures::DOM`] is installed on top in either
    /// case (it is in no snapshot).
    pub fn with_features(vm: &Arc<Vm>, features: WebFeatures) -> Result<Arc<Context>, Error> {
        let snapshot = vm.shared.snapshot;
        let (from, baked) = match snapshot.web_index {
            Some(index) if features.contains(WebFeatures::ALL) => (Some(index), WebFeatures::ALL.0),
            _ => (None, snapshot.default_web),
        };
        // Setting the web APIs up runs JavaScript: a terminate() aimed at another call
        // of this VM must not cut it short.
        let mut call = vm.enter_unstoppable()?;
        let realm = {
            v8::scope!(let scope, &mut *call);
            if from.is_none() {
                check_room_for_default_context(scope, snapshot.default_heap, vm.shared.heap_limit)?;
            }
            // A snapshot's array buffers are deserialized whatever the budget says (V8
            // aborts on a refusal there); a context that takes the budget past its
            // limit is refused after.
            let budget = vm.shared.array_buffer_budget.as_deref();
            let passing = budget.map(|b| b.overcommit());
            let realm = Realm::create(scope, &vm.shared, from);
            drop(passing);
            let realm =
                realm.ok_or_else(|| Error::new(Code::Unknown, "V8 could not make the context"))?;
            let guard = RetireOnError(Some(&realm));
            let over = |scope: &mut v8::PinScope<'_, '_, ()>| {
                let budget = budget?;
                budget.over_limit()?;
                scope.low_memory_notification(); // the buffers of contexts torn down go
                Some((budget.over_limit()?, budget.limit()))
            };
            if let Some((used, limit)) = over(scope) {
                std::mem::forget(guard);
                realm.retire();
                drop(realm);
                scope.low_memory_notification(); // and this one's
                return Err(Error::new(
                    Code::OutOfMemory,
                    format!(
                        "the VM has no room for the array buffers of another context from its \
                         snapshot: they would take {:.1} MiB past its max_heap_size of {} MiB; \
                         raise max_heap_size, or close contexts",
                        (used - limit) as f64 / f64::from(1 << 20),
                        limit >> 20
                    ),
                ));
            }
            let context = v8::Local::new(scope, realm.context());
            let scope = &mut v8::ContextScope::new(scope, context);
            crate::engine::web::install(scope, WebFeatures(features.0 & !baked))?;
            crate::engine::wasm::install(scope)?;
            std::mem::forget(guard);
            realm
        };
        // No stop could end this work: V8 may have raised the heap limit meanwhile.
        crate::engine::vm::restore_heap_limit(&mut call, &vm.shared);
        drop(call);
        LIVE_CONTEXTS.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(Context {
            realm: parking_lot::RwLock::new(Some(realm)),
            vm: Arc::clone(vm),
            freed: AtomicBool::new(false),
        }))
    }

    /// The VM this context lives in.
    pub fn vm(&self) -> &Arc<Vm> {
        &self.vm
    }

    /// Marks the context as freed by its owner: later calls fail with `InvalidState`.
    /// Its V8 state (globals, queued work, host functions, WebAssembly reservations)
    /// goes now, or when the calls in flight on other threads end — not when the last
    /// handle does (a garbage-collected host, such as PyPy, may keep that a while).
    pub fn close(&self) {
        self.freed.store(true, Ordering::Release);
        let realm = self.realm.write().take();
        if let Some(realm) = realm {
            realm.retire();
        }
    }

    /// Whether [`Self::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.freed.load(Ordering::Acquire)
    }

    fn check_usable(&self) -> Result<(), Error> {
        if self.is_closed() {
            return Err(Error::invalid_state("the context was freed (torn down)"));
        }
        self.vm
            .check_usable()
            .map_err(|e| Error::new(e.code(), format!("cannot use the context: {}", e.message())))
    }

    /// The VM held for one call in this context, stopped after `timeout`.
    fn session(&self, timeout: Option<Duration>) -> Result<Session<'_>, Error> {
        self.check_usable()?;
        let call = self.vm.enter(timeout)?;
        let realm = self
            .realm
            .read()
            .clone()
            .ok_or_else(|| Error::invalid_state("the context was freed (torn down)"))?;
        Ok(Session::new(call, realm))
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
        self.run_script_with(source, name, timeout, false)
    }

    /// [`Self::run_script_with_timeout`]; with `source_maps`, the script's
    /// `//# sourceMappingURL=` is honoured (its name taken as a path, relative to the
    /// current directory when relative), so errors in it show original positions.
    pub fn run_script_with(
        &self,
        source: &[u8],
        name: &[u8],
        timeout: Option<Duration>,
        source_maps: bool,
    ) -> Result<Text, Error> {
        let source = utf8(source, "the script")?;
        let name = utf8(name, "the script name")?;
        let mut session = self.session(timeout)?;
        let outermost = session.is_outermost();
        session.turn(|tc, realm, cause| {
            let value = realm
                .scripts
                .run(tc, source, name, source_maps)?
                .ok_or_else(|| caught(tc, cause))?;
            if outermost {
                realm.run_microtasks(tc);
                if tc.is_execution_terminating() {
                    return Err(cause.error());
                }
            }
            let Some(string) = value.to_string(tc) else {
                return Err(caught(tc, cause));
            };
            Ok(Text::from(string.to_rust_string_lossy(tc)))
        })
    }

    /// Reads each file (UTF-8) and runs it with its path as the script name, in order.
    /// Stops at the first failure; an unreadable file is a [`Code::IoError`] with its
    /// path. Source maps are on (see [`Self::load_libs_with`]).
    pub fn load_libs<P: AsRef<[u8]>>(&self, paths: &[P]) -> Result<(), Error> {
        self.load_libs_with(paths, false, None, true)
    }

    /// [`Self::load_libs`] through V8's code cache (see [`crate::engine::code_cache`]):
    /// kept in memory for the process and, with `cache_dir`, in that directory.
    pub fn load_libs_cached<P: AsRef<[u8]>>(
        &self,
        paths: &[P],
        cache_dir: Option<&std::path::Path>,
    ) -> Result<(), Error> {
        self.load_libs_with(paths, true, cache_dir, true)
    }

    /// [`Self::load_libs`], through the code cache with `code_cache` (and `cache_dir`,
    /// as [`Self::load_libs_cached`]); with `source_maps`, each file's
    /// `//# sourceMappingURL=` is honoured (a map file resolved next to the file).
    pub fn load_libs_with<P: AsRef<[u8]>>(
        &self,
        paths: &[P],
        code_cache: bool,
        cache_dir: Option<&std::path::Path>,
        source_maps: bool,
    ) -> Result<(), Error> {
        if code_cache && cache_dir.is_some_and(|d| d.as_os_str().is_empty()) {
            return Err(Error::invalid_argument(
                "the cache directory is an empty path (give a directory, or none to cache in memory only)",
            ));
        }
        for path in paths {
            let (name, source) = read_lib(path.as_ref())?;
            self.run_lib(|tc, realm| {
                let ran = if code_cache {
                    let refreshes = &realm.cache_refreshes;
                    run_with_code_cache(tc, &source, &name, cache_dir, refreshes, source_maps)?
                } else {
                    crate::engine::script::compile_and_run(tc, &source, &name, source_maps)?
                };
                Ok(ran.is_some())
            })?;
        }
        Ok(())
    }

    /// Runs one library with `run` (`Ok(false)`: it threw), then the microtasks.
    fn run_lib(
        &self,
        run: impl FnOnce(
            &mut v8::PinnedRef<'_, v8::TryCatch<v8::HandleScope>>,
            &Realm,
        ) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        let mut session = self.session(None)?;
        session.loading();
        let outermost = session.is_outermost();
        session.turn(|tc, realm, cause| {
            if !run(tc, realm)? {
                return Err(caught(tc, cause));
            }
            if outermost {
                realm.run_microtasks(tc);
                if tc.is_execution_terminating() {
                    return Err(cause.error());
                }
            }
            Ok(())
        })
    }

    /// Compiles and runs UTF-8 `source` like [`Self::run_script`], and returns the
    /// result in the wire format of [`crate::engine::values`]. With
    /// `flags.await_promise`, a Promise result is settled first (the event loop runs)
    /// and its value returned, or its rejection raised as a [`Code::JsError`]; with
    /// `flags.accept_json`, a JSON-exact result may come as JSON text.
    pub fn eval(
        &self,
        source: &[u8],
        name: &[u8],
        timeout: Option<Duration>,
        flags: CallFlags,
    ) -> Result<Vec<u8>, Error> {
        let source = utf8(source, "the script")?;
        let name = utf8(name, "the script name")?;
        let mut session = self.session(timeout)?;
        let outermost = session.is_outermost();
        let first = session.turn(|tc, realm, cause| {
            let value = realm
                .scripts
                .run(tc, source, name, flags.source_maps)?
                .ok_or_else(|| caught(tc, cause))?;
            first_result(tc, realm, cause, value, flags, outermost)
                .map_err(|e| e.unwrap_or_else(|| caught(tc, cause)))
        })?;
        settle_and_write(&mut session, first, flags)
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
        flags: CallFlags,
    ) -> Result<Vec<u8>, Error> {
        self.call_with(function, Args::Wire(args), timeout, flags)
    }

    /// [`Self::call`] with `args` given as the JSON text (UTF-8) of the array of
    /// arguments, as `JSON.parse` reads it: the fast way for arguments that JSON
    /// carries exactly.
    pub fn call_json(
        &self,
        function: &[u8],
        args: &[u8],
        timeout: Option<Duration>,
        flags: CallFlags,
    ) -> Result<Vec<u8>, Error> {
        self.call_with(function, Args::Json(args), timeout, flags)
    }

    fn call_with(
        &self,
        function: &[u8],
        args: Args<'_>,
        timeout: Option<Duration>,
        flags: CallFlags,
    ) -> Result<Vec<u8>, Error> {
        let function = utf8(function, "the function name")?;
        let mut session = self.session(timeout)?;
        let outermost = session.is_outermost();
        let first = session.turn(|tc, realm, cause| {
            let (receiver, target) = realm
                .scripts
                .function(tc, function)?
                .ok_or_else(|| caught(tc, cause))?;
            let Ok(target) = v8::Local::<v8::Function>::try_from(target) else {
                return Err(Error::new(
                    Code::JsError,
                    format!("TypeError: {function} is not a function"),
                ));
            };
            let args = match args {
                Args::Wire(bytes) => {
                    let temporal = realm.temporal(tc);
                    crate::engine::values::read(tc, bytes, Some(temporal))?
                }
                Args::Json(text) => crate::engine::values::read_json(tc, text)?,
            };
            let Ok(args) = v8::Local::<v8::Array>::try_from(args) else {
                return Err(Error::invalid_argument("the arguments are not an array"));
            };
            let args: Vec<_> = (0..args.length())
                .map(|i| args.get_index(tc, i).ok_or_else(|| caught(tc, cause)))
                .collect::<Result<_, _>>()?;
            let Some(value) = target.call(tc, receiver, &args) else {
                return Err(caught(tc, cause));
            };
            first_result(tc, realm, cause, value, flags, outermost)
                .map_err(|e| e.unwrap_or_else(|| caught(tc, cause)))
        })?;
        settle_and_write(&mut session, first, flags)
    }

    /// Runs UTF-8 `source` as an ES module named `name`; each `import` is resolved by
    /// `resolver` (`(specifier, referrer) → (name, source)`; without one, any import
    /// fails). Top-level `await` is settled. With `global_name`, the module namespace
    /// becomes that global (so its exported functions can be called) and the result is
    /// `undefined`; without, the namespace is the result, in the wire format
    /// (`flags.accept_json` as for [`Self::eval`]). With `flags.source_maps`, the
    /// source maps of the module and of every module it imports are honoured.
    pub fn run_module(
        &self,
        source: &[u8],
        name: &[u8],
        resolver: Option<&mut crate::engine::modules::Resolver<'_>>,
        global_name: Option<&[u8]>,
        timeout: Option<Duration>,
        flags: CallFlags,
    ) -> Result<Vec<u8>, Error> {
        let source = utf8(source, "the module source")?;
        let name = utf8(name, "the module name")?;
        let global_name = global_name
            .map(|g| utf8(g, "the global name"))
            .transpose()?;
        let mut no_imports = |specifier: &str,
                              _: &str|
         -> Result<(String, String), crate::engine::host::HostError> {
            Err(format!("no resolver was given to import '{specifier}'").into())
        };
        // Without a resolver, a context with a modules folder resolves as Node does.
        let node_root = match &resolver {
            Some(_) => None,
            None => self
                .realm
                .read()
                .as_ref()
                .and_then(|r| r.node.root.read().clone()),
        };
        let shared_modules = node_root.is_some();
        let mut node_imports = node_root.map(crate::engine::node::esm_resolver);
        let resolver: &mut crate::engine::modules::Resolver<'_> =
            match (resolver, &mut node_imports) {
                (Some(resolver), _) => resolver,
                (None, Some(node)) => node,
                (None, None) => &mut no_imports,
            };
        let mut session = self.session(timeout)?;
        let (module, evaluation) = session.turn(|tc, realm, cause| {
            let module = crate::engine::modules::compile(tc, source, name, flags.source_maps)?
                .ok_or_else(|| caught(tc, cause))?;
            // The Node resolver's imports are the context's (one instance per file).
            let shared = shared_modules.then_some(&realm.node.modules);
            if !crate::engine::modules::link(tc, module, name, resolver, flags.source_maps, shared)?
            {
                return Err(caught(tc, cause));
            }
            let Some(evaluation) = module.evaluate(tc) else {
                return Err(caught(tc, cause));
            };
            let evaluation = v8::Local::<v8::Promise>::try_from(evaluation)
                .map_err(|_| Error::new(Code::Unknown, "a module evaluated to no promise"))?;
            Ok((v8::Global::new(tc, module), v8::Global::new(tc, evaluation)))
        })?;
        session.drive(|scope| {
            v8::Local::new(scope, &evaluation).state() != v8::PromiseState::Pending
        })?;
        session.turn(|tc, realm, cause| {
            let module = v8::Local::new(tc, &module);
            let evaluation = v8::Local::new(tc, &evaluation);
            match evaluation.state() {
                v8::PromiseState::Pending => return Err(event_loop::still_pending()),
                v8::PromiseState::Rejected => {
                    realm.forget_rejection(evaluation);
                    let reason = evaluation.result(tc);
                    return Err(rejection(tc, reason, Some(cause)));
                }
                v8::PromiseState::Fulfilled => {}
            }
            if module.get_status() == v8::ModuleStatus::Errored {
                let exception = module.get_exception();
                let message = v8::Exception::create_message(tc, exception);
                return Err(describe_exception(
                    tc,
                    exception,
                    Some(message),
                    Some(cause),
                ));
            }
            let namespace = module.get_module_namespace();
            match global_name {
                Some(global_name) => {
                    let key = new_string(tc, global_name)?;
                    let global = tc.get_current_context().global(tc);
                    global
                        .set(tc, key.into(), namespace)
                        .ok_or_else(|| caught(tc, cause))?;
                    crate::engine::bindings::check_global_took(
                        tc,
                        global,
                        key,
                        namespace,
                        global_name,
                    )?;
                    Ok(b"u".to_vec())
                }
                None => write(tc, realm, namespace, flags.accept_json)
                    .map_err(|e| e.unwrap_or_else(|| caught(tc, cause))),
            }
        })
    }

    /// Gives the context Node's basics and `require` (see [`crate::engine::node`]):
    /// `process` (its `env` is `options.env`), `Buffer`, `global`, `setImmediate`,
    /// and `require` from the folder `options.modules`. Fails with `InvalidState` when
    /// the context has them already, `InvalidArgument` when the folder is not one.
    pub fn enable_node(&self, options: NodeOptions) -> Result<(), Error> {
        let mut session = self.session(None)?;
        session.turn(|tc, realm, _| crate::engine::node::install(tc, realm, options))
    }

    /// Sets the folder `require` (and `run_module` without a resolver) resolves from
    /// and may read under; `None` leaves only the built-in modules. The context must
    /// have the Node group ([`Self::enable_node`]). Modules required already stay
    /// in `require.cache`.
    pub fn set_node_modules(&self, modules: Option<&std::path::Path>) -> Result<(), Error> {
        self.check_usable()?;
        let realm = self
            .realm
            .read()
            .clone()
            .ok_or_else(|| Error::invalid_state("the context was freed (torn down)"))?;
        crate::engine::node::set_root(&realm, modules)
    }

    /// Makes `function` callable from JavaScript as the global `name` (see
    /// [`crate::engine::host`]). It is dropped with the context.
    pub fn expose(&self, name: &[u8], function: Arc<HostFunction>) -> Result<(), Error> {
        let name = utf8(name, "the name")?;
        crate::engine::host::check_name(name)?;
        let mut session = self.session(None)?;
        session.turn(|tc, realm, cause| {
            if !crate::engine::bindings::expose(tc, realm, name, function)? {
                return Err(caught(tc, cause));
            }
            Ok(())
        })
    }

    /// Gives the context a network: `fetch` hands each request to `host` (`None`: no
    /// network again; `fetch` rejects). `host` gets the wire-format array
    /// `["fetch", id, request]` — `request` an object with `method`, `url`, `headers`
    /// (an array of `[name, value]` pairs), `body` (bytes or null), `redirect` — and
    /// answers later, from any thread, with [`Self::settle`]`(id, response)`; it gets
    /// `["read", id, stream]` for the next chunk of a streamed body it answered with,
    /// and `["abort", id]` when JavaScript aborts the operation or a call of the
    /// context is stopped (see `web/fetch.js` for the answers). It runs on the
    /// thread of the call, with the VM held: it must not block for long.
    pub fn set_fetch(&self, host: Option<Arc<HostFunction>>) -> Result<(), Error> {
        self.check_usable()?;
        let realm = self
            .realm
            .read()
            .clone()
            .ok_or_else(|| Error::invalid_state("the context was freed (torn down)"))?;
        let old = std::mem::replace(&mut *realm.fetch.lock(), host);
        drop(old); // outside the lock: an embedder's finalizer may run
        Ok(())
    }

    /// Answers the pending host operation `id` (a `fetch` request, a chunk of a body)
    /// with the wire-format `value`, from any thread, without waiting for the VM: the
    /// promise is resolved in the context's next turn, and a call waiting for it wakes.
    /// Returns whether the operation was waiting (an unknown, answered or aborted id,
    /// or a closed context, is ignored).
    pub fn settle(&self, id: u64, value: Vec<u8>) -> bool {
        let Some(realm) = self.realm.read().clone() else {
            return false;
        };
        let settled = realm.pending.settle(id, value);
        if settled {
            self.vm.shared.stops.notify();
        }
        settled
    }

    /// Runs the context's event loop — microtasks, timers and the platform's tasks,
    /// waiting (with the VM released) until the next timer is due — until nothing is
    /// queued. A timer callback that throws ends it with that error (the other timers
    /// stay queued); after `timeout` it fails with [`Code::Timeout`] (an endless
    /// `setInterval` never idles).
    pub fn run_until_idle(&self, timeout: Option<Duration>) -> Result<(), Error> {
        let mut session = self.session(timeout)?;
        session.drive(|_| false)?;
        Ok(())
    }

    /// The oldest promise of this context rejected with no handler that was not taken
    /// yet (as Node reports them once a script's work is done), its reason described as
    /// the error of a rejected call would be; `None` when there is none (then the VM is
    /// not entered). A handler added later takes a rejection back before it is taken.
    pub fn take_unhandled_rejection(
        &self,
        timeout: Option<Duration>,
    ) -> Result<Option<Error>, Error> {
        let none = self
            .realm
            .read()
            .as_ref()
            .is_none_or(|realm| realm.rejections.lock().is_empty());
        if none {
            return Ok(None);
        }
        let mut session = self.session(timeout)?;
        session.turn(|tc, realm, cause| {
            let mut rejections = realm.rejections.lock();
            if rejections.is_empty() {
                return Ok(None);
            }
            let (_, reason) = rejections.remove(0);
            drop(rejections);
            let reason = v8::Local::new(tc, reason);
            let error = rejection(tc, reason, Some(cause));
            // Describing it runs its getters: stopped there, the stop is this call's error.
            match error.code() {
                Code::JsError => Ok(Some(error)),
                _ => Err(error),
            }
        })
    }

    /// Number of timers queued in the context (`setTimeout`, `setInterval`, tasks).
    pub fn pending_tasks(&self) -> usize {
        self.realm.read().as_ref().map_or(0, |r| r.timers.pending())
    }

    /// Number of contexts alive in the process.
    pub fn live_count() -> usize {
        LIVE_CONTEXTS.load(Ordering::Relaxed)
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // From now on its functions throw; its V8 state goes with the last reference.
        if let Some(realm) = self.realm.get_mut().take() {
            realm.retire();
        }
        LIVE_CONTEXTS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The first turn's outcome for `value`: the context's microtasks run (outermost
/// calls), then the result is written, or — with `await_promise` and a promise still
/// pending — kept to settle. `Err(None)`: JavaScript threw (a getter, say).
fn first_result<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    realm: &Realm,
    cause: crate::engine::call::StopCause<'_>,
    value: v8::Local<'s, v8::Value>,
    flags: CallFlags,
    outermost: bool,
) -> Result<First, Option<Error>> {
    if outermost {
        realm.run_microtasks(scope);
        if scope.is_execution_terminating() {
            return Err(Some(cause.error()));
        }
    }
    if flags.await_promise {
        if let Ok(promise) = v8::Local::<v8::Promise>::try_from(value) {
            return match promise.state() {
                v8::PromiseState::Pending => Ok(First::Pending(v8::Global::new(scope, promise))),
                v8::PromiseState::Fulfilled => {
                    let result = promise.result(scope);
                    write(scope, realm, result, flags.accept_json).map(First::Done)
                }
                v8::PromiseState::Rejected => {
                    realm.forget_rejection(promise);
                    let reason = promise.result(scope);
                    Err(Some(rejection(scope, reason, Some(cause))))
                }
            };
        }
    }
    write(scope, realm, value, flags.accept_json).map(First::Done)
}

/// The result of a call: written already, or the value of a promise settled by the
/// event loop.
fn settle_and_write(
    session: &mut Session<'_>,
    first: First,
    flags: CallFlags,
) -> Result<Vec<u8>, Error> {
    let promise = match first {
        First::Done(bytes) => return Ok(bytes),
        First::Pending(promise) => promise,
    };
    session.drive(|scope| v8::Local::new(scope, &promise).state() != v8::PromiseState::Pending)?;
    session.turn(|tc, realm, cause| {
        let promise = v8::Local::new(tc, &promise);
        match promise.state() {
            v8::PromiseState::Fulfilled => {
                let result = promise.result(tc);
                write(tc, realm, result, flags.accept_json)
                    .map_err(|e| e.unwrap_or_else(|| caught(tc, cause)))
            }
            v8::PromiseState::Rejected => {
                realm.forget_rejection(promise);
                let reason = promise.result(tc);
                Err(rejection(tc, reason, Some(cause)))
            }
            v8::PromiseState::Pending => Err(event_loop::still_pending()),
        }
    })
}

/// `value` in the wire format. `Err(None)`: a getter threw (the exception waits in the
/// scope's TryCatch).
///
/// With `accept_json`, an object that JSON says exactly (the usual result: plain
/// objects and arrays of strings, numbers, booleans) is written by the context's
/// `exactJson` — checked and stringified in JavaScript, many times faster than a walk
/// through V8's API — and anything else tag by tag.
fn write<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    realm: &Realm,
    value: v8::Local<'s, v8::Value>,
    accept_json: bool,
) -> Result<Vec<u8>, Option<Error>> {
    let mut out = Vec::new();
    if accept_json && value.is_object() {
        let exact_json = v8::Local::new(scope, &realm.exact_json);
        let receiver = v8::undefined(scope).into();
        let text = exact_json.call(scope, receiver, &[value]).ok_or(None)?;
        if let Ok(text) = v8::Local::<v8::String>::try_from(text) {
            crate::engine::values::write_json_text(scope, text, &mut out)?;
            return Ok(out);
        }
    }
    let temporal = realm.temporal(scope);
    crate::engine::values::write(scope, value, &mut out, accept_json, Some(temporal))?;
    Ok(out)
}

/// Fails when the VM's heap, of `limit` bytes (the VM's own: V8's may have been raised
/// for a while), has no room for another copy of its snapshot's default context (about
/// `heap` bytes; 0: not known) even after a full collection: V8 aborts the process when
/// its heap limit is reached while it deserializes one.
fn check_room_for_default_context(
    scope: &mut v8::PinScope<'_, '_, ()>,
    heap: usize,
    limit: usize,
) -> Result<(), Error> {
    if heap == 0 {
        return Ok(());
    }
    let room = |scope: &mut v8::PinScope<'_, '_, ()>| {
        let stats = scope.get_heap_statistics();
        stats.used_heap_size().saturating_add(heap) <= limit
    };
    if room(scope) {
        return Ok(());
    }
    scope.low_memory_notification();
    if room(scope) {
        return Ok(());
    }
    Err(Error::new(
        Code::OutOfMemory,
        format!(
            "the VM's heap has no room for another context from its snapshot (one may fill \
             {:.1} MiB): raise max_heap_size, or close contexts",
            heap as f64 / f64::from(1 << 20)
        ),
    ))
}
