//! A realm: what one context owns on the V8 side — its global scope, its own microtask
//! queue, its timers, its host functions, its compiled scripts — in the VM's table of
//! contexts, under an id.
//!
//! JavaScript reaches a realm's Rust state only through that id, looked up on every
//! entry (see `natives.rs`): once the context is gone the lookup fails, and its
//! functions throw instead of touching freed memory. Each realm has its own
//! `v8::MicrotaskQueue` with the explicit policy, so a promise reaction queued by one
//! context (by a call that was stopped, say) only ever runs in a later call of that
//! context, never in another context's call, and is dropped with the context.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use crate::engine::host::{HostFunction, HostTable};
use crate::engine::pending::PendingOps;
use crate::engine::script::{CacheRefreshes, ScriptCache};
use crate::engine::timers::Timers;
use crate::engine::vm::VmShared;

/// The script that makes a context's `exactJson` (see `exact_json.js`).
const EXACT_JSON: &str = include_str!("exact_json.js");

/// Where a context of a snapshot made by v8rs keeps its `exactJson` (the first data
/// added to the context, see [`keep_exact_json`]).
const EXACT_JSON_DATA: usize = 0;

/// Where a context of a snapshot made by v8rs keeps the values of V8's per-context
/// built-in members that its scripts set, to set again (the second data added to it,
/// after `exactJson`: see `snapshot_builtins.rs`).
pub(crate) const REAPPLY_DATA: usize = 1;

/// Sets the values the snapshot of the current context kept (see
/// `snapshot_builtins::finish`: `[path, name, value, …]`) again, now that V8 has added
/// its members; nothing for other contexts.
fn reapply_snapshot_values(scope: &mut v8::PinScope<'_, '_>) {
    let Ok(kept) = scope.get_context_data_from_snapshot_once::<v8::Array>(REAPPLY_DATA) else {
        return;
    };
    let global = scope.get_current_context().global(scope);
    let mut i = 0;
    while i + 2 < kept.length() {
        let (Some(path), Some(name), Some(value)) = (
            kept.get_index(scope, i),
            kept.get_index(scope, i + 1),
            kept.get_index(scope, i + 2),
        ) else {
            break;
        };
        i += 3;
        let path = path.to_rust_string_lossy(scope);
        let mut target = Some(global);
        for step in path.split('.') {
            target = target.and_then(|t| {
                let key = v8::String::new(scope, step)?;
                let found = t.get(scope, key.into())?;
                v8::Local::<v8::Object>::try_from(found).ok()
            });
        }
        if let Some(target) = target {
            v8::tc_scope!(let tc, scope);
            target.set(tc, name, value);
        }
    }
}

/// Compiles and runs `exact_json.js` in the current context: its `exactJson`.
fn make_exact_json<'s>(scope: &mut v8::PinScope<'s, '_>) -> Option<v8::Local<'s, v8::Function>> {
    let make =
        crate::engine::script::compile_and_run(scope, EXACT_JSON, "v8rs:exact_json.js", false)
            .ok()
            .flatten()?;
    let make = v8::Local::<v8::Function>::try_from(make).ok()?;
    let depth = v8::Integer::new_from_unsigned(scope, crate::engine::values::MAX_DEPTH as u32);
    let receiver = v8::undefined(scope).into();
    let made = make.call(scope, receiver, &[depth.into()])?;
    v8::Local::<v8::Function>::try_from(made).ok()
}

/// The `exactJson` that the current context's snapshot kept for it (taken once), if
/// the context comes from a snapshot of v8rs: a new VM then skips compiling
/// `exact_json.js` (about 7 % of a bare VM's start).
fn exact_json_from_snapshot<'s>(
    scope: &mut v8::PinScope<'s, '_>,
) -> Option<v8::Local<'s, v8::Function>> {
    scope
        .get_context_data_from_snapshot_once::<v8::Function>(EXACT_JSON_DATA)
        .ok()
}

/// Makes `context`'s `exactJson` — or takes the one its own snapshot kept — and adds it
/// to the snapshot that `scope`'s creator makes, for [`Realm::create`] to take. Called
/// once for each context a creator keeps, before any other data, and before user
/// scripts run (so it holds the intrinsics as V8 made them).
pub(crate) fn keep_exact_json(
    scope: &mut v8::PinScope<'_, '_, ()>,
    context: v8::Local<'_, v8::Context>,
) -> Result<(), crate::engine::error::Error> {
    let made = {
        let scope = &mut v8::ContextScope::new(scope, context);
        // One made here converts a sample, so that the snapshot keeps its functions'
        // code; one taken from the snapshot has it already (and user scripts may have run
        // since, whose getters the sample would call).
        let made = exact_json_from_snapshot(scope).or_else(|| {
            let made = make_exact_json(scope)?;
            let sample = v8::String::new(scope, r#"{"a": [1, "x", 1.5, null, true, {}]}"#);
            if let Some(sample) = sample.and_then(|text| v8::json::parse(scope, text)) {
                v8::tc_scope!(let tc, scope);
                let receiver = v8::undefined(tc).into();
                let _ = made.call(tc, receiver, &[sample]);
            }
            Some(made)
        });
        made.map(|made| v8::Global::new(scope, made))
    };
    let unmade = || {
        crate::engine::error::Error::new(
            crate::engine::error::Code::Unknown,
            "a snapshot could not make its value helper",
        )
    };
    let made = made.ok_or_else(unmade)?;
    let made = v8::Local::new(scope, made);
    if scope.add_context_data(context, made) != EXACT_JSON_DATA {
        return Err(unmade());
    }
    Ok(())
}

/// The private key of the global's `process.nextTick` queue runner (set by the Node
/// group, `node/mod.rs`).
pub(crate) const TICKS_KEY: &str = "v8rs.node.ticks";

/// What the Node group (`node/`) keeps of a context: off until it is enabled.
#[derive(Default)]
pub(crate) struct NodeState {
    /// Whether the context has the Node globals.
    pub(crate) enabled: AtomicBool,
    /// The canonical folder `require` reads under (`None`: no files).
    pub(crate) root: parking_lot::RwLock<Option<std::path::PathBuf>>,
    /// `process.env` as the embedder gave it.
    pub(crate) env: parking_lot::Mutex<Vec<(String, String)>>,
    /// Whether `process.nextTick` queued callbacks that have not run yet.
    pub(crate) ticks_pending: AtomicBool,
    /// The ES modules the Node resolver loaded, by canonical name: one instance per
    /// file for the context, as Node keeps one per process (`import` and `require`
    /// of a file give the same module). Used under the VM's lock.
    pub(crate) modules: ModuleMap,
}

/// ES modules by canonical name (see [`NodeState::modules`]).
pub(crate) type ModuleMap =
    parking_lot::Mutex<std::collections::HashMap<String, v8::Global<v8::Module>>>;

/// A realm's microtask queue. It is rooted through the isolate's heap, so it may only
/// be dropped under the VM's lock: the realm hands it to the VM's graveyard.
struct Queue(v8::MicrotaskQueueHandle);

// SAFETY: the queue is only used (checkpoints, enqueues, the drop in the graveyard)
// by the thread that holds the VM's lock.
unsafe impl Send for Queue {}
// SAFETY: as above; the handle itself is never mutated.
unsafe impl Sync for Queue {}

/// The V8-side state of one context (see the module documentation).
pub(crate) struct Realm {
    /// The realm's id in its VM's table.
    pub(crate) id: u32,
    /// The context (`None` only while the realm is dropped: see `Drop`).
    context: Option<v8::Global<v8::Context>>,
    /// `exactJson(value)` of `exact_json.js`, made in the context when it was created.
    pub(crate) exact_json: v8::Global<v8::Function>,
    /// Its `temporalText` and `temporalFrom` (see `values::Temporal`).
    temporal: (v8::Global<v8::Function>, v8::Global<v8::Function>),
    queue: Option<Queue>,
    pub(crate) timers: Timers,
    pub(crate) hosts: HostTable,
    pub(crate) scripts: ScriptCache,
    /// Code cache entries made again after the context's next call.
    pub(crate) cache_refreshes: CacheRefreshes,
    /// Bytes of the VM's WebAssembly budget that this realm's memories hold.
    pub(crate) wasm_reserved: AtomicUsize,
    /// The state of `TextDecoder`s in the middle of a stream (`decode(…, {stream:
    /// true})`), by the number each was given in JavaScript.
    pub(crate) decoders: parking_lot::Mutex<crate::engine::decoders::DecoderStates>,
    /// The open `CompressionStream`s and `DecompressionStream`s, by the number each was
    /// given in JavaScript.
    pub(crate) compressions: parking_lot::Mutex<crate::engine::compression::Streams>,
    /// Promises the embedder settles later (see `pending.rs`): in-flight `fetch`es.
    pub(crate) pending: PendingOps,
    /// The embedder's network for `fetch` (none: `fetch` rejects; see `web/fetch.rs`).
    pub(crate) fetch: parking_lot::Mutex<Option<Arc<HostFunction>>>,
    /// The Node group's state (`process.env`, the modules folder, `nextTick`).
    pub(crate) node: NodeState,
    /// Promises rejected with no handler (yet), by identity hash, with their reasons: what
    /// `Context::take_unhandled_rejections` reports (bounded: the oldest are kept).
    pub(crate) rejections: parking_lot::Mutex<Vec<(i32, v8::Global<v8::Value>)>>,
    /// Whether its context was torn down (see [`Self::retire`]).
    retired: AtomicBool,
    shared: Weak<VmShared>,
}

impl Realm {
    /// Creates a fresh V8 context with a microtask queue of its own — the VM's default
    /// one, or with `from`, the context at that index of the VM's startup blob — and
    /// adds its realm to the VM's table. The caller holds the VM's lock.
    pub(crate) fn create(
        scope: &mut v8::PinScope<'_, '_, ()>,
        shared: &Arc<VmShared>,
        from: Option<usize>,
    ) -> Option<Arc<Realm>> {
        let queue = v8::MicrotaskQueue::new(scope, v8::MicrotasksPolicy::Explicit);
        let pointer = &*queue as *const v8::MicrotaskQueue as *mut v8::MicrotaskQueue;
        let options = v8::ContextOptions {
            microtask_queue: Some(pointer),
            ..Default::default()
        };
        let local = match from {
            Some(index) => v8::Context::from_snapshot(scope, index, options)?,
            None => v8::Context::new(scope, options),
        };
        let context = v8::Global::new(scope, local);
        let (exact_json, temporal) = {
            let scope = &mut v8::ContextScope::new(scope, local);
            let made = exact_json_from_snapshot(scope).or_else(|| make_exact_json(scope))?;
            reapply_snapshot_values(scope);
            let helper = |scope: &mut v8::PinScope<'_, '_>, name: &str| {
                let key = v8::String::new(scope, name)?;
                let value = made.get(scope, key.into())?;
                let function = v8::Local::<v8::Function>::try_from(value).ok()?;
                Some(v8::Global::new(scope, function))
            };
            let temporal = (
                helper(scope, "temporalText")?,
                helper(scope, "temporalFrom")?,
            );
            (v8::Global::new(scope, made), temporal)
        };
        let realm = shared.insert_with(|id| {
            Arc::new(Realm {
                id,
                context: Some(context),
                exact_json,
                temporal,
                queue: Some(Queue(queue)),
                timers: Timers::new(),
                hosts: HostTable::default(),
                scripts: ScriptCache::default(),
                cache_refreshes: CacheRefreshes::default(),
                wasm_reserved: AtomicUsize::new(0),
                decoders: parking_lot::Mutex::default(),
                compressions: parking_lot::Mutex::default(),
                pending: PendingOps::default(),
                fetch: parking_lot::Mutex::new(None),
                node: NodeState::default(),
                rejections: parking_lot::Mutex::default(),
                retired: AtomicBool::new(false),
                shared: Arc::downgrade(shared),
            })
        });
        // Rejections no handler catches are kept per realm (the callback is the isolate's).
        scope.set_promise_reject_callback(on_promise_reject);
        // The context's security token is its realm's id (see `Realm::current`).
        let token = v8::Integer::new_from_unsigned(scope, realm.id);
        local.set_security_token(token.into());
        if let Some(inspector) = shared.inspector() {
            inspector.context_created(scope, local, realm.id);
        }
        Some(realm)
    }

    /// The context's Temporal helpers, for converting values in `scope`.
    pub(crate) fn temporal<'s>(
        &self,
        scope: &mut v8::PinScope<'s, '_>,
    ) -> crate::engine::values::Temporal<'s> {
        crate::engine::values::Temporal {
            text: v8::Local::new(scope, &self.temporal.0),
            from: v8::Local::new(scope, &self.temporal.1),
        }
    }

    /// The realm's V8 context.
    pub(crate) fn context(&self) -> &v8::Global<v8::Context> {
        // Some from `create` until `drop`.
        self.context
            .as_ref()
            .expect("a realm has its context until it is dropped")
    }

    /// The realm of the current context, found by the id its context carries as its
    /// security token (contexts with different tokens cannot reach into each other
    /// either), while that realm lives.
    pub(crate) fn current(scope: &mut v8::PinScope<'_, '_>) -> Option<Arc<Realm>> {
        let token = scope.get_current_context().get_security_token(scope);
        let id = v8::Local::<v8::Integer>::try_from(token).ok()?.value();
        Realm::find(scope, u32::try_from(id).ok()?)
    }

    /// The realm with `id` in the VM of `isolate`, while its context lives.
    pub(crate) fn find(isolate: &v8::Isolate, id: u32) -> Option<Arc<Realm>> {
        VmShared::of(isolate)?.get(id)?.downcast::<Realm>().ok()
    }

    /// Takes the realm out of its VM's table: from now on its functions throw, and a
    /// call waiting for its event loop (a timer, a host's answer) wakes and ends.
    pub(crate) fn retire(&self) {
        self.retired.store(true, Ordering::Release);
        if let Some(shared) = self.shared.upgrade() {
            if shared.remove(self.id).is_some() {
                if let Some(inspector) = shared.inspector() {
                    inspector.context_retired(self.id);
                }
            }
            shared.stops.notify();
        }
    }

    /// Forgets `promise` as rejected with no handler: the caller handed its rejection
    /// to the embedder (a call's `await_promise`), who must not hear of it again.
    pub(crate) fn forget_rejection(&self, promise: v8::Local<'_, v8::Promise>) {
        let id = promise.get_identity_hash().get();
        self.rejections.lock().retain(|(kept, _)| *kept != id);
    }

    /// Whether the realm's context was torn down.
    pub(crate) fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Acquire)
    }

    /// Runs the realm's microtasks (promise reactions, `queueMicrotask`) in its
    /// context (the current one). With the Node group, `process.nextTick` callbacks run
    /// first, and again after the microtasks whenever these queued more, as in Node.
    /// The caller holds the VM's lock.
    pub(crate) fn run_microtasks(&self, scope: &mut v8::PinScope<'_, '_>) {
        let Some(queue) = &self.queue else {
            return;
        };
        loop {
            if self.node.ticks_pending.swap(false, Ordering::AcqRel) {
                run_ticks(scope);
                if scope.is_execution_terminating() {
                    return;
                }
            }
            queue.0.perform_checkpoint(scope);
            if !self.node.ticks_pending.load(Ordering::Acquire) {
                break;
            }
        }
    }

    /// Queues `task` as a microtask of this realm.
    pub(crate) fn enqueue_microtask(
        &self,
        isolate: &mut v8::Isolate,
        task: v8::Local<'_, v8::Function>,
    ) {
        if let Some(queue) = &self.queue {
            queue.0.enqueue_microtask(isolate, task);
        }
    }
}

/// Calls the runner of the `process.nextTick` queue the Node group put on the current
/// context's global (it reports a callback's exception itself).
fn run_ticks(scope: &mut v8::PinScope<'_, '_>) {
    v8::tc_scope!(let tc, scope);
    let global = tc.get_current_context().global(tc);
    let Some(name) = v8::String::new(tc, TICKS_KEY) else {
        return;
    };
    let key = v8::Private::for_api(tc, Some(name));
    let runner = global.get_private(tc, key);
    if let Some(runner) = runner.and_then(|r| v8::Local::<v8::Function>::try_from(r).ok()) {
        let receiver = v8::undefined(tc).into();
        let _ = runner.call(tc, receiver, &[]);
    }
}

/// How many unhandled rejections a realm keeps until they are taken.
const MAX_REJECTIONS: usize = 64;

/// V8's promise-reject callback: a promise rejected with no handler is kept in its
/// realm, and forgotten when a handler is added later (as Node tracks them). Only
/// bookkeeping here: the reason is described when the embedder asks.
extern "C" fn on_promise_reject(message: v8::PromiseRejectMessage) {
    track_rejections(&message, |scope, event| {
        let Some(realm) = Realm::current(scope) else {
            return;
        };
        let mut rejections = realm.rejections.lock();
        match event {
            Rejection::Unhandled(id, reason) if rejections.len() < MAX_REJECTIONS => {
                rejections.push((id, reason));
            }
            Rejection::Unhandled(..) => {}
            Rejection::Handled(id) => rejections.retain(|(kept, _)| *kept != id),
        }
    });
}

/// What a promise-reject callback keeps track of, by the promise's identity hash.
pub(crate) enum Rejection {
    /// A promise was rejected with no handler, for this reason.
    Unhandled(i32, v8::Global<v8::Value>),
    /// A handler was added to a promise rejected before.
    Handled(i32),
}

/// Reads the event of a promise-reject callback's `message` and hands it to `track`
/// (other events are ignored), behind the panic boundary.
pub(crate) fn track_rejections(
    message: &v8::PromiseRejectMessage,
    track: impl FnOnce(&mut v8::PinScope<'_, '_>, Rejection),
) {
    let _ = crate::engine::panic::catch(|| {
        // SAFETY: V8 calls a promise-reject callback on the isolate's thread, inside a
        // context, with a message that lives through the call.
        v8::callback_scope!(unsafe scope, message);
        let id = message.get_promise().get_identity_hash().get();
        let event = match message.get_event() {
            v8::PromiseRejectEvent::PromiseRejectWithNoHandler => {
                let reason = message
                    .get_value()
                    .unwrap_or_else(|| v8::undefined(scope).into());
                Rejection::Unhandled(id, v8::Global::new(scope, reason))
            }
            v8::PromiseRejectEvent::PromiseHandlerAddedAfterReject => Rejection::Handled(id),
            _ => return,
        };
        track(scope, event);
    });
}

impl Drop for Realm {
    fn drop(&mut self) {
        let Some(queue) = self.queue.take() else {
            return;
        };
        // The context first: its handle is reset (or queued to be, at the next lock)
        // before the reservation below can go back.
        drop(self.context.take());
        match self.shared.upgrade() {
            Some(shared) => {
                let reserved = self.wasm_reserved.load(Ordering::Relaxed);
                if reserved > 0 {
                    // Its memories die with the next collection, not now: the bytes go
                    // back after one (see `wasm.rs`).
                    shared.defer_wasm_release(reserved);
                }
                shared.bury(Box::new(queue));
            }
            // The VM dropped its table and graveyard already: the isolate may be gone,
            // and the queue with it.
            None => std::mem::forget(queue),
        }
    }
}
