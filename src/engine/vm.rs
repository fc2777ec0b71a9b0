//! A VM: one V8 isolate, usable from any thread, one thread at a time.
//!
//! Calls run on the caller's thread. The isolate's `v8::Locker` serialises threads
//! that use the same VM (a waiting thread blocks inside the call); a call that waits
//! for a timer releases it meanwhile (see `call.rs`). Different VMs run in parallel.
//!
//! A running call can be stopped from any thread ([`Vm::terminate`]), by its timeout,
//! or by the heap limit; the VM stays usable afterwards (see `stop.rs`).
//!
//! The state V8 reaches from its callbacks is [`VmShared`]: it lives in an isolate
//! slot, so it lives exactly as long as the isolate. Contexts are reached from
//! JavaScript only through the ids of its table of contexts.

use std::any::Any;
use std::collections::HashMap;
use std::ffi::c_void;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::{Mutex, RwLock};

use crate::engine::budget::Budget;
use crate::engine::console::{ConsoleLevel, ConsoleSink};
use crate::engine::error::{Code, Error};
use crate::engine::platform::{self, PlatformRef};
use crate::engine::stop::{StopReason, Stops, Target};

static LIVE_VMS: AtomicUsize = AtomicUsize::new(0);

/// The VM a thread is inside right now (it holds its lock, or waits in a call of it).
#[derive(Clone, Copy)]
pub(crate) struct Inside {
    pub(crate) vm: *const Vm,
    pub(crate) isolate: v8::UnsafeRawIsolatePtr,
    /// The outermost call's number, for nested calls to share (none while a context
    /// is being set up).
    pub(crate) call: Option<crate::engine::stop::CallId>,
}

thread_local! {
    /// The VM this thread is inside right now, if any.
    pub(crate) static INSIDE: std::cell::Cell<Option<Inside>> = const { std::cell::Cell::new(None) };
}

/// Fails when this thread is inside a VM already (a host function was called from
/// it): a thread can be inside one VM at a time.
pub(crate) fn check_not_inside_vm() -> Result<(), Error> {
    if INSIDE.with(std::cell::Cell::get).is_some() {
        Err(Error::invalid_state(
            "this thread is running JavaScript in another VM (a host function was called \
             from it): a thread can be inside one VM at a time; use another thread",
        ))
    } else {
        Ok(())
    }
}

/// How to create a VM. Zero means V8's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VmOptions {
    /// Initial size of the JavaScript heap, in bytes.
    pub initial_heap_size: usize,
    /// Largest size of the JavaScript heap, in bytes. A call that needs more is
    /// stopped with [`Code::OutOfMemory`] instead of V8 aborting the process. The
    /// contents of `ArrayBuffer`s, which live outside the heap, are capped at the same
    /// size (an allocation past it throws a `RangeError`), and so are the WebAssembly
    /// memories of the VM, together, by their maximum sizes.
    pub max_heap_size: usize,
}

/// Heap figures of a VM, in bytes, named as in V8's `HeapStatistics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapStats {
    /// Memory V8 reserved for the heap.
    pub total_heap_size: usize,
    /// Part of it for executable code.
    pub total_heap_size_executable: usize,
    /// Memory committed to the heap.
    pub total_physical_size: usize,
    /// Memory still available to the heap.
    pub total_available_size: usize,
    /// Memory in use by JavaScript objects.
    pub used_heap_size: usize,
    /// The heap's limit.
    pub heap_size_limit: usize,
    /// Memory V8 allocated with `malloc`.
    pub malloced_memory: usize,
    /// Peak of `malloced_memory`.
    pub peak_malloced_memory: usize,
    /// Memory held outside the heap by JavaScript objects (array buffers, …).
    pub external_memory: usize,
    /// Number of contexts alive in the VM.
    pub number_of_native_contexts: usize,
    /// Contexts freed but not yet collected.
    pub number_of_detached_contexts: usize,
}

/// How many frames V8 captures with an error (as `Error.stackTraceLimit`'s default).
pub(crate) const STACK_FRAMES: i32 = 10;

/// What the DevTools inspector of a VM (see `inspector.rs`, in a higher layer) hears
/// of the VM's life. Each method runs behind the panic boundary of its caller's.
pub(crate) trait InspectorHooks: Send + Sync {
    /// A context was made in the VM (the caller holds the lock; `id` is its realm's).
    fn context_created(
        &self,
        scope: &mut v8::PinScope<'_, '_, ()>,
        context: v8::Local<'_, v8::Context>,
        id: u32,
    );
    /// The context of realm `id` was torn down (any thread, lock or not).
    fn context_retired(&self, id: u32);
    /// V8 asks for the inspector's messages (an interrupt; the caller holds the lock).
    fn interrupt(&self, isolate: &mut v8::Isolate);
    /// A call took the VM's lock, which wipes the interrupts V8 had pending: ask again
    /// for the messages still queued, so that this call serves them when its
    /// JavaScript runs (the caller holds the lock).
    fn call_started(&self);
    /// The VM's owner freed it (any thread, lock or not): stop serving.
    fn vm_closed(&self);
    /// The isolate is about to go: drop every V8 object (the caller holds the lock).
    fn dispose(&self);
}

/// What V8's callbacks of one VM reach: its stop switch, its table of contexts (by
/// id), and the V8 objects waiting to be dropped under its lock. Kept in an isolate
/// slot, so it lives as long as the isolate.
pub(crate) struct VmShared {
    pub(crate) stops: Arc<Stops>,
    /// The heap's limit in bytes.
    pub(crate) heap_limit: usize,
    /// Set when the heap stayed full after an out-of-memory stop.
    pub(crate) exhausted: Mutex<Option<Error>>,
    /// What the WebAssembly memories of the VM may reserve, with `max_heap_size`.
    pub(crate) wasm_budget: Option<Budget>,
    /// The budget of `ArrayBuffer` contents, with a heap limit.
    pub(crate) array_buffer_budget: Option<Arc<Budget>>,
    /// The VM's isolate, for `near_heap_limit` (set once the isolate is made).
    pub(crate) isolate: OnceLock<RawIsolate>,
    /// The old generation's first limit, as V8 tells `near_heap_limit` (0 until it
    /// does): what the limit goes back to after a raise. `heap_limit` is the whole
    /// heap's, young generation included; put back as the old generation's, it left the
    /// heap 10 % above its limit after every out-of-memory stop.
    old_generation_limit: AtomicUsize,
    /// Reserved bytes of torn-down contexts, given back after the next collection.
    pub(crate) wasm_deferred: AtomicUsize,
    /// The contexts the VM's startup blob holds.
    pub(crate) snapshot: SnapshotContexts,
    /// Where `console.*` output goes (nowhere without one).
    console: RwLock<Option<ConsoleSink>>,
    /// The scripts whose source maps errors use, and their parsed maps.
    pub(crate) source_maps: crate::engine::source_map::SourceMaps,
    entries: Mutex<HashMap<u32, Arc<dyn Any + Send + Sync>>>,
    last_id: AtomicU32,
    graveyard: Mutex<Vec<Box<dyn Send>>>,
    /// Whether the graveyard may hold something (read without its lock on every call).
    buried: AtomicBool,
    /// The VM's DevTools inspector, while one is started.
    inspector: Mutex<Option<Arc<dyn InspectorHooks>>>,
    /// Whether `inspector` may hold one (read without its lock on every call).
    inspected: AtomicBool,
}

impl VmShared {
    /// The old generation's limit to put back after V8's near-limit callback raised it.
    fn limit_to_restore(&self) -> usize {
        match self.old_generation_limit.load(Ordering::Relaxed) {
            0 => self.heap_limit,
            limit => limit,
        }
    }

    /// Hands one console call's text to the VM's sink, if it has one (outside the
    /// lock, so the sink may replace itself).
    pub(crate) fn write_console(&self, level: ConsoleLevel, text: &str) {
        let sink = self.console.read().clone();
        if let Some(sink) = sink {
            sink(level, text);
        }
    }

    /// Adds the entry that `make` makes with its id (never 0) to the VM's table.
    pub(crate) fn insert_with<T: Any + Send + Sync>(
        &self,
        make: impl FnOnce(u32) -> Arc<T>,
    ) -> Arc<T> {
        let mut entries = self.entries.lock();
        loop {
            let id = self.last_id.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
            if id != 0 && !entries.contains_key(&id) {
                let entry = make(id);
                entries.insert(id, Arc::clone(&entry) as Arc<dyn Any + Send + Sync>);
                return entry;
            }
        }
    }

    /// The entry with `id`, if it is still in the table.
    pub(crate) fn get(&self, id: u32) -> Option<Arc<dyn Any + Send + Sync>> {
        self.entries.lock().get(&id).cloned()
    }

    /// Takes the entry with `id` out of the table.
    pub(crate) fn remove(&self, id: u32) -> Option<Arc<dyn Any + Send + Sync>> {
        self.entries.lock().remove(&id)
    }

    /// Keeps `thing` (a V8 object that may only be dropped under the VM's lock) until
    /// the next time the VM is locked.
    pub(crate) fn bury(&self, thing: Box<dyn Send>) {
        self.graveyard.lock().push(thing);
        self.buried.store(true, Ordering::Release);
    }

    /// Holds the WebAssembly reservation (`bytes`) of a torn-down context until its
    /// memories can be gone (see [`DeferredWasm`]).
    pub(crate) fn defer_wasm_release(self: &Arc<Self>, bytes: usize) {
        self.bury(Box::new(DeferredWasm::new(self, bytes)));
    }

    /// The deferred reservations that may go back after the next collection.
    pub(crate) fn take_deferred_wasm(&self) -> usize {
        self.wasm_deferred.swap(0, Ordering::AcqRel)
    }

    /// Drops what [`Self::bury`] kept; the caller holds the VM's lock.
    pub(crate) fn drain_graveyard(&self) {
        if self.buried.swap(false, Ordering::AcqRel) {
            let buried = std::mem::take(&mut *self.graveyard.lock());
            drop(buried);
        }
    }

    /// Tells the VM's inspector, if any, that a call took the lock (see
    /// [`InspectorHooks::call_started`]); one atomic load when there is none.
    pub(crate) fn call_started(&self) {
        if self.inspected.load(Ordering::Acquire) {
            if let Some(hooks) = self.inspector() {
                hooks.call_started();
            }
        }
    }

    /// The VM's inspector, while one is started.
    pub(crate) fn inspector(&self) -> Option<Arc<dyn InspectorHooks>> {
        self.inspector.lock().clone()
    }

    /// Installs `hooks` as the VM's inspector; fails with `InvalidState` when it has one.
    pub(crate) fn set_inspector(&self, hooks: Arc<dyn InspectorHooks>) -> Result<(), Error> {
        let mut slot = self.inspector.lock();
        if slot.is_some() {
            return Err(Error::invalid_state(
                "the VM has an inspector already: stop it before starting another",
            ));
        }
        *slot = Some(hooks);
        self.inspected.store(true, Ordering::Release);
        Ok(())
    }

    /// Removes the inspector `hooks` (if it is still the VM's).
    pub(crate) fn clear_inspector(&self, hooks: &Arc<dyn InspectorHooks>) {
        let mut slot = self.inspector.lock();
        if slot.as_ref().is_some_and(|h| Arc::ptr_eq(h, hooks)) {
            *slot = None;
            self.inspected.store(false, Ordering::Release);
        }
    }

    /// The entries of the VM's table (realms, by their ids), for the inspector to find
    /// the contexts that exist when it starts.
    pub(crate) fn entries(&self) -> Vec<(u32, Arc<dyn Any + Send + Sync>)> {
        let entries = self.entries.lock();
        entries.iter().map(|(id, e)| (*id, Arc::clone(e))).collect()
    }

    /// The VM of the isolate that `isolate` is (every VM's isolate has one).
    pub(crate) fn of(isolate: &v8::Isolate) -> Option<&Arc<VmShared>> {
        isolate.get_slot::<Arc<VmShared>>()
    }
}

/// The reservation of a torn-down context, waiting in its VM's graveyard for the
/// context's handle to be reset, then for a collection (in `wasm.rs`'s `collect`).
///
/// The graveyard is emptied under the VM's lock; a handle dropped while another thread
/// held the lock is reset at the next locking. So the reservation stays buried for two
/// emptyings: the second one comes after a new locking, when the handle is reset.
struct DeferredWasm {
    shared: Weak<VmShared>,
    bytes: usize,
    emptyings_left: u8,
}

impl DeferredWasm {
    fn new(shared: &Arc<VmShared>, bytes: usize) -> DeferredWasm {
        DeferredWasm {
            shared: Arc::downgrade(shared),
            bytes,
            emptyings_left: 1,
        }
    }
}

impl Drop for DeferredWasm {
    fn drop(&mut self) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        if self.emptyings_left > 0 {
            shared.bury(Box::new(DeferredWasm {
                shared: Weak::clone(&self.shared),
                bytes: self.bytes,
                emptyings_left: self.emptyings_left - 1,
            }));
        } else {
            shared.wasm_deferred.fetch_add(self.bytes, Ordering::AcqRel);
        }
    }
}

/// One V8 isolate, shared between threads behind its `v8::Locker`.
///
/// `Vm` is `Send + Sync`: any thread may use it, calls are serialised. It is kept
/// alive by every [`Context`](crate::engine::Context) created in it.
pub struct Vm {
    // Disposed first, by hand (see `Drop`), then the state its callbacks used and the
    // platform it needs.
    isolate: ManuallyDrop<v8::SharedIsolate>,
    pub(crate) shared: Arc<VmShared>,
    _platform: PlatformRef,
    /// The user snapshot the isolate was made from: V8 reads it while the isolate lives.
    _snapshot: Option<Arc<crate::engine::snapshot_file::Snapshot>>,
    freed: AtomicBool,
}

/// What a VM starts from: V8's own startup snapshot, or a blob of v8rs (the built-in
/// one with the web APIs, or a user's), with the natives it refers to.
#[derive(Default)]
pub(crate) struct Startup {
    /// The V8 startup blob; `None`: V8's own.
    pub(crate) blob: Option<Blob>,
    /// The natives the blob's functions refer to, by their place in this list.
    pub(crate) external_references: Option<std::borrow::Cow<'static, [v8::ExternalReference]>>,
    /// What the blob's contexts hold (see [`SnapshotContexts`]).
    pub(crate) contexts: SnapshotContexts,
}

/// A V8 startup blob: one made once for the process, or a user's snapshot.
pub(crate) enum Blob {
    Static(&'static [u8]),
    Shared(Arc<crate::engine::snapshot_file::Snapshot>),
}

/// Fails, before V8 sees the snapshot, when `max_heap_size` leaves too little room for a
/// snapshot that filled `heap` bytes and one context from it: V8 aborts the process (or
/// crashes) when its heap limit is reached while it deserializes. The startup part may
/// hold as much as the whole (measured: up to all of it, and large strings need more),
/// and each context up to the whole again: twice the heap, plus 8 MiB.
fn check_room_for_snapshot(max_heap_size: usize, heap: usize) -> Result<(), Error> {
    const MIB: usize = 1 << 20;
    let needed = heap.saturating_mul(2).saturating_add(8 * MIB);
    if max_heap_size >= needed {
        return Ok(());
    }
    Err(Error::new(
        Code::OutOfMemory,
        format!(
            "this snapshot filled {:.1} MiB of heap when it was made: a VM from it needs a \
             max_heap_size of at least {} MiB (it is {:.1} MiB)",
            heap as f64 / MIB as f64,
            needed.div_ceil(MIB),
            max_heap_size as f64 / MIB as f64
        ),
    ))
}

/// Which contexts a VM's startup blob holds besides V8's own.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SnapshotContexts {
    /// The web feature mask (`WebFeatures`) already installed in the default context.
    pub(crate) default_web: u32,
    /// The index of a context with every web API (for `Context::from_snapshot`).
    pub(crate) web_index: Option<usize>,
    /// The most heap a new default context may fill: what a user's snapshot filled in
    /// all (see `Snapshot::heap`; how it splits between the startup part and a context
    /// depends on the objects); 0 when not known. V8 aborts the process when a heap
    /// limit is reached while it deserializes, so VMs and contexts that would not have
    /// room are refused first.
    pub(crate) default_heap: usize,
    /// Which startup snapshot this is, for the code cache's keys (V8 rejects code cached
    /// under another one): 0 V8's own, 1 the built-in one, a user snapshot's checksum.
    pub(crate) startup_id: u64,
}

impl Vm {
    /// Creates a VM from `startup` with `options` (the public constructors are in
    /// `startup.rs`, which knows the natives and the built-in snapshot).
    pub(crate) fn create(options: VmOptions, startup: Startup) -> Result<Arc<Vm>, Error> {
        let platform = platform::acquire()?;
        let _not_while_snapshotting = crate::engine::snapshot_file::CREATING.read();
        check_not_inside_vm()?;
        let mut params = v8::CreateParams::default();
        let limited = options.max_heap_size > 0;
        let array_buffer_budget = limited.then(|| Arc::new(Budget::new(options.max_heap_size)));
        if let Some(budget) = &array_buffer_budget {
            if options.initial_heap_size > options.max_heap_size {
                return Err(Error::invalid_argument(
                    "the initial heap size is larger than the maximum heap size",
                ));
            }
            params = params
                .heap_limits(options.initial_heap_size, options.max_heap_size)
                .array_buffer_allocator(crate::engine::budget::limited_allocator(Arc::clone(
                    budget,
                )));
        } else if options.initial_heap_size > 0 {
            // V8 requires a maximum with an initial size: keep its default one, unless
            // the initial size is larger.
            let max = default_heap_limit().max(options.initial_heap_size);
            params = params.heap_limits(options.initial_heap_size, max);
        }
        if let (true, Some(Blob::Shared(snapshot))) = (limited, &startup.blob) {
            check_room_for_snapshot(options.max_heap_size, snapshot.heap)?;
        }
        let mut keep = None;
        if let Some(blob) = startup.blob {
            let bytes: &'static [u8] = match blob {
                Blob::Static(bytes) => bytes,
                Blob::Shared(snapshot) => {
                    // SAFETY: V8 reads the blob while the isolate lives (contexts are
                    // deserialized from it later); the `Vm` keeps `snapshot` (and so
                    // the bytes, which never move) until after the isolate is disposed
                    // in its `Drop`.
                    let bytes = unsafe { &*(&*snapshot.blob as *const [u8]) };
                    keep = Some(snapshot);
                    bytes
                }
            };
            params = params.snapshot_blob(bytes.into());
        }
        if let Some(references) = startup.external_references {
            params = params.external_references(references);
        }
        let owned = v8::Isolate::new(params);
        // SAFETY: the isolate was created on this thread just now, nothing is entered
        // on top of it, and the state attached to it later (its slot, the heap
        // callback's data) is `Send + Sync`, so it may migrate between threads under
        // its Locker.
        let isolate = unsafe { owned.try_into_shared() }
            .map_err(|e| Error::new(Code::Unknown, format!("cannot share isolate: {e:?}")))?;
        let stops = Arc::new(Stops::new(isolate.thread_safe_handle()));
        let shared = {
            let mut locker = isolate.lock();
            // Microtasks run only when v8rs runs them, per context (see realm.rs).
            locker.set_microtasks_policy(v8::MicrotasksPolicy::Explicit);
            let shared = Arc::new(VmShared {
                stops,
                heap_limit: locker.get_heap_statistics().heap_size_limit(),
                exhausted: Mutex::new(None),
                wasm_budget: limited.then(|| Budget::new(options.max_heap_size)),
                array_buffer_budget,
                isolate: OnceLock::new(),
                old_generation_limit: AtomicUsize::new(0),
                wasm_deferred: AtomicUsize::new(0),
                snapshot: startup.contexts,
                console: RwLock::new(None),
                source_maps: Default::default(),
                entries: Mutex::new(HashMap::new()),
                last_id: AtomicU32::new(0),
                graveyard: Mutex::new(Vec::new()),
                buried: AtomicBool::new(false),
                inspector: Mutex::new(None),
                inspected: AtomicBool::new(false),
            });
            locker.set_slot(Arc::clone(&shared));
            // SAFETY: the pointer is kept for `near_heap_limit`, which V8 calls only while
            // the isolate lives.
            let raw = unsafe { locker.as_raw_isolate_ptr() };
            let _ = shared.isolate.set(RawIsolate(raw));
            locker.add_near_heap_limit_callback(near_heap_limit, heap_callback_data(&shared));
            locker.set_host_import_module_dynamically_callback(refuse_dynamic_import);
            locker.set_host_initialize_import_meta_object_callback(initialize_import_meta);
            shared
        };
        LIVE_VMS.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(Vm {
            isolate: ManuallyDrop::new(isolate),
            shared,
            _platform: platform,
            _snapshot: keep,
            freed: AtomicBool::new(false),
        }))
    }

    /// Sends the VM's `console.*` output (from contexts with the web group `console`)
    /// to `sink` from now on; `None` drops it. Any thread, any time: a call running
    /// meanwhile switches at its next console call.
    pub fn set_console(&self, sink: Option<ConsoleSink>) {
        *self.shared.console.write() = sink;
    }

    pub(crate) fn isolate(&self) -> &v8::SharedIsolate {
        &self.isolate
    }

    /// Marks the VM as freed by its owner: every later call on it, or on a context
    /// created in it, fails with `InvalidState`. The isolate itself is disposed when
    /// the last [`Arc`] to it goes.
    pub fn close(&self) {
        self.freed.store(true, Ordering::Release);
        if let Some(inspector) = self.shared.inspector() {
            inspector.vm_closed();
        }
    }

    /// Whether [`Self::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.freed.load(Ordering::Acquire)
    }

    /// Fails when this VM, or the platform, can no longer run: `InvalidState` after
    /// free or tear-down, `OutOfMemory` when its heap stayed full after a stop.
    pub fn check_usable(&self) -> Result<(), Error> {
        if platform::in_forked_child() {
            return Err(platform::forked_error());
        }
        if self.is_closed() {
            return Err(Error::invalid_state("the VM was freed (torn down)"));
        }
        if let Some(error) = &*self.shared.exhausted.lock() {
            return Err(error.clone());
        }
        self._platform.check_alive()
    }

    /// Stops the JavaScript running in this VM right now, from any thread — the call
    /// holding the VM and the calls waiting for their timers; each fails with
    /// [`Code::Terminated`]. Returns whether a call was stopped. A VM with nothing
    /// running is unaffected.
    pub fn terminate(&self) -> bool {
        if platform::in_forked_child() {
            return false; // no call runs here: the one seen is the parent's
        }
        self.shared.stops.stop(StopReason::Terminated, Target::All)
    }

    /// Number of VMs alive in the process (created and not yet disposed).
    pub fn live_count() -> usize {
        LIVE_VMS.load(Ordering::Relaxed)
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        // SAFETY: taken once, here; the field is not used afterwards.
        let isolate = unsafe { ManuallyDrop::take(&mut self.isolate) };
        let shared = &self.shared;
        if check_not_inside_vm().is_ok() {
            dispose(isolate, shared);
        } else {
            // This thread holds another isolate, and a thread may lock one at a time:
            // dispose of this one on a thread of its own (nothing else uses it).
            std::thread::scope(|scope| {
                let disposing = std::thread::Builder::new()
                    .name("v8rs-vm-dispose".into())
                    .spawn_scoped(scope, || dispose(isolate, shared));
                if let Ok(disposing) = disposing {
                    let _ = disposing.join();
                }
            });
        }
        // Counted only now that the isolate is gone (the snapshot guard relies on it).
        LIVE_VMS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Drops what must go under the lock (contexts' queues), then the isolate.
fn dispose(isolate: v8::SharedIsolate, shared: &VmShared) {
    {
        let _locker = isolate.lock();
        let inspector = shared.inspector.lock().take();
        shared.inspected.store(false, Ordering::Release);
        if let Some(inspector) = inspector {
            inspector.dispose();
        }
        let entries = std::mem::take(&mut *shared.entries.lock());
        drop(entries);
        shared.drain_graveyard();
        drop(std::mem::take(&mut *shared.graveyard.lock()));
    }
    drop(isolate);
}

/// `import()`: rejects, saying what to use instead (V8's own rejection said only "Not
/// supported"). Modules load through `run_module`'s static imports, or `require` in a
/// context with the Node group.
fn refuse_dynamic_import<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    _options: v8::Local<'s, v8::Data>,
    _resource: v8::Local<'s, v8::Value>,
    specifier: v8::Local<'s, v8::String>,
    _attributes: v8::Local<'s, v8::FixedArray>,
) -> Option<v8::Local<'s, v8::Promise>> {
    let resolver = v8::PromiseResolver::new(scope)?;
    let outcome = crate::engine::panic::catch(|| {
        let specifier = specifier.to_rust_string_lossy(scope);
        format!(
            "import('{specifier}') is not supported: import modules statically in \
             run_module (its resolver answers them), or require() them in a context \
             with the Node group"
        )
    });
    let message = outcome.unwrap_or_else(|why| why);
    let text = v8::String::new(scope, &message)?;
    let error = v8::Exception::type_error(scope, text);
    resolver.reject(scope, error)?;
    Some(resolver.get_promise(scope))
}

/// `import.meta` of the module that first reads it: `url` — a `file://` URL for a
/// module named by an absolute path, as Node's modules are, else its name — and, for a
/// path, `filename` and `dirname`, as Node has them (so `createRequire(import.meta.url)`
/// works). The name is the one the module was compiled under (not a `//# sourceURL`).
unsafe extern "C" fn initialize_import_meta(
    context: v8::Local<v8::Context>,
    module: v8::Local<v8::Module>,
    meta: v8::Local<v8::Object>,
) {
    // SAFETY: V8 calls this while the module runs, inside the caller's scopes.
    v8::callback_scope!(unsafe scope, context);
    let _ = crate::engine::panic::catch(|| {
        let Some(name) = module_name(scope, module) else {
            return;
        };
        let path = std::path::Path::new(&name);
        let mut fields = vec![("url", name.clone())];
        if path.is_absolute() {
            if let Ok(url) = url::Url::from_file_path(path) {
                fields[0].1 = url.to_string();
            }
            fields.push(("filename", name.clone()));
            if let Some(dir) = path.parent() {
                fields.push(("dirname", dir.to_string_lossy().into_owned()));
            }
        }
        for (key, value) in fields {
            let (Some(key), Some(value)) =
                (v8::String::new(scope, key), v8::String::new(scope, &value))
            else {
                return;
            };
            meta.create_data_property(scope, key.into(), value.into());
        }
    });
}

/// The name `module` was compiled under, from the frame of its code on the stack (the
/// code reading `import.meta` is the module's own, so its frame is the top one).
fn module_name(scope: &v8::PinScope<'_, '_>, module: v8::Local<v8::Module>) -> Option<String> {
    let id = usize::try_from(module.script_id()?).ok()?;
    let trace = v8::StackTrace::current_stack_trace(scope, 8)?;
    (0..trace.get_frame_count())
        .filter_map(|index| trace.get_frame(scope, index))
        .find(|frame| frame.get_script_id() == id)
        .map(|frame| {
            frame
                .get_script_name(scope)
                .map_or_else(String::new, |name| name.to_rust_string_lossy(scope))
        })
}

/// V8's heap limit for a VM created without limits (asked of a throwaway isolate once).
fn default_heap_limit() -> usize {
    static LIMIT: OnceLock<usize> = OnceLock::new();
    *LIMIT.get_or_init(|| {
        let mut isolate = v8::Isolate::new(v8::CreateParams::default());
        isolate.get_heap_statistics().heap_size_limit()
    })
}

fn heap_callback_data(shared: &Arc<VmShared>) -> *mut c_void {
    Arc::as_ptr(shared) as *mut c_void
}

/// V8 calls this when the heap nears its limit: stop the running call, and give the
/// heap room to unwind instead of aborting the process. V8 also calls it as the last
/// resort for an array buffer the VM's budget refused (and then ignores the answer):
/// when the heap is not full, that is no reason to stop, so the call goes on and the
/// script gets V8's `RangeError`, which it may catch; the limit stays.
unsafe extern "C" fn near_heap_limit(data: *mut c_void, current: usize, initial: usize) -> usize {
    let body = || {
        // SAFETY: `data` is the VM's `VmShared`, kept alive by the isolate's slot as
        // long as the isolate lives.
        let shared = unsafe { &*(data as *const VmShared) };
        shared
            .old_generation_limit
            .store(initial, Ordering::Relaxed);
        let refused = shared.array_buffer_budget.as_ref();
        if refused.is_some_and(|budget| budget.last_resort()) && !heap_is_full(shared, current) {
            return current;
        }
        shared.stops.stop(StopReason::OutOfMemory, Target::Running);
        current.saturating_mul(2)
    };
    crate::engine::panic::catch(body).unwrap_or(current.saturating_mul(2))
}

/// Whether half of `limit` (the old generation's, as V8 gives it to `near_heap_limit`)
/// is in use: a heap that may really be full. True when the isolate is not known.
fn heap_is_full(shared: &VmShared, limit: usize) -> bool {
    shared.isolate.get().is_none_or(|raw| {
        // SAFETY: V8 calls `near_heap_limit` on the thread that holds the isolate's
        // lock, while the isolate lives; reading its statistics changes nothing.
        let mut isolate = unsafe { v8::Isolate::from_raw_isolate_ptr(raw.0) };
        isolate.get_heap_statistics().used_heap_size() >= limit / 2
    })
}

/// A VM's isolate as a raw pointer, for the callbacks that V8 gives only `VmShared`.
pub(crate) struct RawIsolate(v8::UnsafeRawIsolatePtr);

// SAFETY: the pointer is only used by V8's callbacks, on the thread that holds the
// isolate's lock.
unsafe impl Send for RawIsolate {}
// SAFETY: as above; the pointer itself never changes.
unsafe impl Sync for RawIsolate {}

/// A backing store holding `bytes` for a buffer the library makes (a compression
/// stream's output, `TextEncoder.encode`'s, …): in a VM with a budget it is allocated
/// through the VM's allocator, so it is held against the budget as a script's own
/// buffers are, after a garbage collection if the budget has no room; `None` when it
/// still has none. A VM without a budget takes `bytes` as they are.
pub(crate) fn backing_store(
    isolate: &mut v8::Isolate,
    bytes: Vec<u8>,
) -> Option<v8::SharedRef<v8::BackingStore>> {
    let budget = VmShared::of(isolate).and_then(|shared| shared.array_buffer_budget.clone());
    let Some(budget) = budget else {
        return Some(v8::ArrayBuffer::new_backing_store_from_vec(bytes).make_shared());
    };
    if budget.available() < bytes.len() {
        // What V8 does for a script's buffer: collect, so that unreachable buffers
        // give their bytes back, and try again.
        isolate.low_memory_notification();
        if budget.available() < bytes.len() {
            return None;
        }
    }
    // The allocator reserves on the budget, which has room: only the thread holding the
    // VM's lock reserves (releases, from any thread, only make more room), so V8's
    // allocation does not fail (which would end the process).
    let store = v8::ArrayBuffer::new_backing_store(isolate, bytes.len()).make_shared();
    for (cell, byte) in store.iter().zip(bytes) {
        cell.set(byte);
    }
    Some(store)
}

/// Puts the heap limit back where the VM's options set it when V8's near-limit callback
/// raised it during work that no stop could end (making a context): the raise lasted
/// for good, and the heap grew past the limit context by context.
pub(crate) fn restore_heap_limit(isolate: &mut v8::Isolate, shared: &Arc<VmShared>) {
    if isolate.get_heap_statistics().heap_size_limit() > shared.heap_limit {
        isolate.remove_near_heap_limit_callback(near_heap_limit, shared.limit_to_restore());
        isolate.add_near_heap_limit_callback(near_heap_limit, heap_callback_data(shared));
    }
}

/// After an out-of-memory stop: put the heap limit back, collect, and mark the VM
/// exhausted if the memory is still in use (held by globals). The caller holds the lock.
pub(crate) fn recover_from_out_of_memory(isolate: &mut v8::Isolate, shared: &Arc<VmShared>) {
    // Collect first, so that the limit can go back to where it was.
    isolate.low_memory_notification();
    isolate.remove_near_heap_limit_callback(near_heap_limit, shared.limit_to_restore());
    isolate.add_near_heap_limit_callback(near_heap_limit, heap_callback_data(shared));
    let stats = isolate.get_heap_statistics();
    if stats.used_heap_size() > shared.heap_limit / 10 * 9 {
        *shared.exhausted.lock() = Some(Error::new(
            Code::OutOfMemory,
            format!(
                "the VM ran out of memory and its globals still hold {} MiB of its {} MiB \
                 heap: it cannot run any more; create a new VM",
                stats.used_heap_size() >> 20,
                shared.heap_limit >> 20
            ),
        ));
    }
}
