//! A VM: one V8 isolate, usable from any thread, one thread at a time.
//!
//! Calls run on the caller's thread. The isolate's `v8::Locker` serialises threads
//! that use the same VM (a waiting thread blocks inside the call); on each
//! acquisition the stack limit is set for the thread that now holds it (see
//! `stack.rs`). Different VMs run in parallel.
//!
//! A running call can be stopped from any thread ([`Vm::terminate`]), by its timeout,
//! or by the heap limit; the VM stays usable afterwards (see `interrupts.rs`).

use std::cell::Cell;
use std::ffi::c_void;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::error::{Code, Error};
use crate::interrupts::{Deadline, Interrupts, StopReason};
use crate::platform::{self, PlatformRef};

static LIVE_VMS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The VM this thread is inside right now (holds the lock of) and its isolate.
    static HELD: Cell<Option<(*const Vm, v8::UnsafeRawIsolatePtr)>> = const { Cell::new(None) };
}

/// How to create a VM (C: `v8rs_vm_options`). Zero means V8's default.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VmOptions {
    /// Initial size of the JavaScript heap, in bytes.
    pub initial_heap_size: usize,
    /// Largest size of the JavaScript heap, in bytes. A call that needs more is
    /// stopped with [`Code::OutOfMemory`] instead of V8 aborting the process. The
    /// contents of `ArrayBuffer`s, which live outside the heap, are capped at the same
    /// size (an allocation past it throws a `RangeError`).
    pub max_heap_size: usize,
}

/// Heap figures of a VM, in bytes, named as in V8's `HeapStatistics`
/// (C: `v8rs_heap_stats`).
#[repr(C)]
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

/// One V8 isolate, shared between threads behind its `v8::Locker`.
///
/// `Vm` is `Send + Sync`: any thread may use it, calls are serialised. It is kept
/// alive by every [`Context`](crate::Context) created in it.
pub struct Vm {
    // Field order is drop order: the isolate goes before the state its callbacks use
    // and before the platform it needs.
    isolate: v8::SharedIsolate,
    interrupts: Arc<Interrupts>,
    platform: PlatformRef,
    heap_limit: usize,
    freed: AtomicBool,
    /// Set when the heap stayed full after an out-of-memory stop.
    exhausted: Mutex<Option<Error>>,
}

impl Vm {
    /// Creates a VM with V8's default heap. See [`Vm::with_options`].
    pub fn new() -> Result<Arc<Vm>, Error> {
        Vm::with_options(VmOptions::default())
    }

    /// Creates a VM. Fails with `InvalidState` when the platform is not set up or was
    /// torn down, or when called from inside a running VM; with `InvalidArgument` for
    /// impossible heap sizes.
    pub fn with_options(options: VmOptions) -> Result<Arc<Vm>, Error> {
        Vm::create(options, None)
    }

    /// Creates a VM whose contexts start from `snapshot` (made by
    /// [`crate::snapshot::create`]). A snapshot that does not check out — garbage,
    /// truncated, from another V8 version or V8 flags — is `InvalidArgument`.
    pub fn with_snapshot(options: VmOptions, snapshot: &[u8]) -> Result<Arc<Vm>, Error> {
        let blob = crate::snapshot::open(snapshot)?;
        Vm::create(options, Some(blob))
    }

    fn create(options: VmOptions, snapshot: Option<Vec<u8>>) -> Result<Arc<Vm>, Error> {
        let platform = platform::acquire()?;
        let _not_while_snapshotting = crate::snapshot::CREATING.read();
        check_not_inside_vm()?;
        let mut params = v8::CreateParams::default();
        if options.max_heap_size > 0 {
            if options.initial_heap_size > options.max_heap_size {
                return Err(Error::invalid_argument(
                    "the initial heap size is larger than the maximum heap size",
                ));
            }
            params = params
                .heap_limits(options.initial_heap_size, options.max_heap_size)
                .array_buffer_allocator(crate::buffers::limited_allocator(options.max_heap_size));
        } else if options.initial_heap_size > 0 {
            params = params.heap_limits(options.initial_heap_size, 0);
        }
        if let Some(blob) = snapshot {
            params = params.snapshot_blob(blob.into());
        }
        let owned = v8::Isolate::new(params);
        // SAFETY: the isolate was created on this thread just now, nothing is entered
        // on top of it, and the only state attached later (the heap callback's data)
        // is `Send + Sync`, so it may migrate between threads under its Locker.
        let isolate = unsafe { owned.try_into_shared() }
            .map_err(|e| Error::new(Code::Unknown, format!("cannot share isolate: {e:?}")))?;
        let interrupts = Arc::new(Interrupts::new(isolate.thread_safe_handle()));
        let heap_limit = {
            let mut locker = isolate.lock();
            locker.add_near_heap_limit_callback(near_heap_limit, heap_callback_data(&interrupts));
            locker.get_heap_statistics().heap_size_limit()
        };
        LIVE_VMS.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(Vm {
            isolate,
            interrupts,
            platform,
            heap_limit,
            freed: AtomicBool::new(false),
            exhausted: Mutex::new(None),
        }))
    }

    /// Marks the VM as freed by its owner: every later call on it, or on a context
    /// created in it, fails with `InvalidState`. The isolate itself is disposed when
    /// the last [`Arc`] to it goes.
    pub fn close(&self) {
        self.freed.store(true, Ordering::Release);
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
        if let Some(error) = &*self.exhausted.lock() {
            return Err(error.clone());
        }
        self.platform.check_alive()
    }

    /// Stops the JavaScript running in this VM right now, from any thread; that call
    /// fails with [`Code::Terminated`]. Returns whether a call was running. A VM with
    /// nothing running is unaffected.
    pub fn terminate(&self) -> bool {
        self.interrupts.stop(StopReason::Terminated, None)
    }

    /// The heap figures of this VM (waits for the VM like any call).
    pub fn heap_stats(&self) -> Result<HeapStats, Error> {
        let mut call = self.enter(None)?;
        let s = call.get_heap_statistics();
        Ok(HeapStats {
            total_heap_size: s.total_heap_size(),
            total_heap_size_executable: s.total_heap_size_executable(),
            total_physical_size: s.total_physical_size(),
            total_available_size: s.total_available_size(),
            used_heap_size: s.used_heap_size(),
            heap_size_limit: s.heap_size_limit(),
            malloced_memory: s.malloced_memory(),
            peak_malloced_memory: s.peak_malloced_memory(),
            external_memory: s.external_memory(),
            number_of_native_contexts: s.number_of_native_contexts(),
            number_of_detached_contexts: s.number_of_detached_contexts(),
        })
    }

    /// Asks V8 to free all the memory it can (a full, compacting collection).
    pub fn low_memory_notification(&self) -> Result<(), Error> {
        self.enter(None)?.low_memory_notification();
        Ok(())
    }

    /// Takes the VM for one call on the current thread, blocking while another thread
    /// has it; the call is stopped after `timeout`, if given.
    ///
    /// A call made while this thread is already inside this VM (from a host function
    /// that JavaScript called) is *nested*: it runs inside the outer call, under its
    /// lock, timeout and stop state.
    pub(crate) fn enter(&self, timeout: Option<Duration>) -> Result<VmCall<'_>, Error> {
        self.take(timeout, true)
    }

    /// Takes the VM like [`Self::enter`], for the library's own work that must not be cut
    /// short (setting a new context up): `terminate()`, SIGINT and cancel tokens leave it
    /// alone, as they find no call running.
    pub(crate) fn enter_unstoppable(&self) -> Result<VmCall<'_>, Error> {
        self.take(None, false)
    }

    fn take(&self, timeout: Option<Duration>, stoppable: bool) -> Result<VmCall<'_>, Error> {
        self.check_usable()?;
        if let Some((vm, isolate)) = HELD.with(Cell::get) {
            if std::ptr::eq(vm, self) {
                return Ok(VmCall {
                    hold: Hold::Nested(isolate),
                    vm: self,
                    timeout,
                    stoppable,
                    _deadline: None,
                    _cancel: None,
                });
            }
        }
        check_not_inside_vm()?;
        let mut locker = self.isolate.lock();
        // SAFETY: the pointer is only used by nested calls on this thread while this
        // lock is held (see `VmCall`'s drop).
        let isolate = unsafe { locker.as_raw_isolate_ptr() };
        HELD.with(|c| c.set(Some((self as *const Vm, isolate))));
        crate::stack::set_limit_for_current_thread(&mut locker);
        let (deadline, cancel) = if stoppable {
            let call = self.interrupts.begin();
            crate::sigint::call_started(&self.interrupts, call);
            let deadline = timeout.map(|t| Deadline::start(&self.interrupts, call, t));
            (
                deadline,
                Some(crate::cancel::Attached::to_call(&self.interrupts, call)),
            )
        } else {
            (None, None)
        };
        Ok(VmCall {
            hold: Hold::Locked(locker),
            vm: self,
            timeout,
            stoppable,
            _deadline: deadline,
            _cancel: cancel,
        })
    }

    /// Number of VMs alive in the process (created and not yet disposed).
    pub fn live_count() -> usize {
        LIVE_VMS.load(Ordering::Relaxed)
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        LIVE_VMS.fetch_sub(1, Ordering::Relaxed);
    }
}

pub(crate) fn check_not_inside_vm() -> Result<(), Error> {
    if HELD.with(Cell::get).is_some() {
        Err(Error::invalid_state(
            "this thread is running JavaScript in another VM (a host function was called \
             from it): a thread can be inside one VM at a time; use another thread",
        ))
    } else {
        Ok(())
    }
}

fn heap_callback_data(interrupts: &Arc<Interrupts>) -> *mut c_void {
    Arc::as_ptr(interrupts) as *mut c_void
}

/// V8 calls this when the heap nears its limit: stop the running call, and give the
/// heap room to unwind instead of aborting the process.
unsafe extern "C" fn near_heap_limit(data: *mut c_void, current: usize, _initial: usize) -> usize {
    // SAFETY: `data` is the VM's `Interrupts`, which outlives its isolate.
    let interrupts = unsafe { &*(data as *const Interrupts) };
    interrupts.stop(StopReason::OutOfMemory, None);
    current.saturating_mul(2)
}

/// The current thread's hold on a VM for one call — the `v8::Locker` (with the isolate
/// entered), or for a nested call the isolate of the outer one — and the call's stop
/// state. Dereferences to the isolate.
pub(crate) struct VmCall<'a> {
    hold: Hold<'a>,
    vm: &'a Vm,
    timeout: Option<Duration>,
    /// Whether stop requests reach it (see [`Vm::enter_unstoppable`]).
    stoppable: bool,
    _deadline: Option<Deadline>,
    _cancel: Option<crate::cancel::Attached>,
}

enum Hold<'a> {
    /// The outermost call: it took the lock.
    Locked(v8::Locker<'a>),
    /// A call made from a host function inside the outermost one, on the same thread.
    Nested(v8::UnsafeRawIsolatePtr),
}

impl<'a> VmCall<'a> {
    /// What explains a termination of this call, usable while scopes borrow the call.
    pub(crate) fn stop_cause(&self) -> StopCause<'a> {
        StopCause {
            vm: self.vm,
            timeout: self.timeout,
        }
    }

    /// After an out-of-memory stop: put the heap limit back, collect, and mark the VM
    /// exhausted if the memory is still in use (held by globals).
    fn recover_from_out_of_memory(&mut self) {
        let data = heap_callback_data(&self.vm.interrupts);
        let vm = self.vm;
        let isolate: &mut v8::Isolate = self;
        // Collect first, so that the limit can go back to where it was.
        isolate.low_memory_notification();
        isolate.remove_near_heap_limit_callback(near_heap_limit, vm.heap_limit);
        isolate.add_near_heap_limit_callback(near_heap_limit, data);
        let stats = isolate.get_heap_statistics();
        if stats.used_heap_size() > vm.heap_limit / 10 * 9 {
            *vm.exhausted.lock() = Some(Error::new(
                Code::OutOfMemory,
                format!(
                    "the VM ran out of memory and its globals still hold {} MiB of its {} MiB \
                     heap: it cannot run any more; create a new VM",
                    stats.used_heap_size() >> 20,
                    vm.heap_limit >> 20
                ),
            ));
        }
    }
}

/// Explains why V8 reported a call as terminated.
#[derive(Clone, Copy)]
pub(crate) struct StopCause<'a> {
    vm: &'a Vm,
    timeout: Option<Duration>,
}

impl StopCause<'_> {
    /// Sleeps until `at` (a timer's due time) unless the call is stopped first;
    /// returns whether it was stopped.
    pub(crate) fn sleep_until(&self, at: std::time::Instant) -> bool {
        self.vm.interrupts.sleep_until(at)
    }

    /// The error for a call that V8 reports as terminated.
    pub(crate) fn error(&self) -> Error {
        match self.vm.interrupts.reason() {
            Some(StopReason::TimedOut) => Error::new(
                Code::Timeout,
                format!(
                    "JavaScript ran longer than its timeout of {:?} and was stopped",
                    self.timeout.unwrap_or_default()
                ),
            ),
            Some(StopReason::OutOfMemory) => Error::new(
                Code::OutOfMemory,
                format!(
                    "JavaScript ran out of memory (the VM's heap limit is {} MiB) and was stopped",
                    self.vm.heap_limit >> 20
                ),
            ),
            Some(StopReason::Interrupted) => Error::new(
                Code::Terminated,
                "JavaScript was interrupted (SIGINT) and was stopped",
            ),
            Some(StopReason::Cancelled) => {
                Error::new(Code::Terminated, "the call was cancelled and was stopped")
            }
            Some(StopReason::Terminated) | None => {
                Error::new(Code::Terminated, "JavaScript was terminated")
            }
        }
    }
}

impl Drop for VmCall<'_> {
    fn drop(&mut self) {
        if let Hold::Nested(_) = self.hold {
            return; // the outer call owns the lock and the stop state
        }
        if self.stoppable {
            crate::sigint::call_ended();
            if let Some(reason) = self.vm.interrupts.end() {
                self.cancel_terminate_execution();
                if reason == StopReason::OutOfMemory {
                    self.recover_from_out_of_memory();
                }
            }
        }
        HELD.with(|c| c.set(None));
    }
}

impl Deref for VmCall<'_> {
    type Target = v8::Isolate;
    fn deref(&self) -> &v8::Isolate {
        match &self.hold {
            Hold::Locked(locker) => locker,
            // SAFETY: the outer call on this thread holds the lock while this one lives.
            Hold::Nested(isolate) => unsafe { v8::Isolate::ref_from_raw_isolate_ptr(isolate) },
        }
    }
}

impl DerefMut for VmCall<'_> {
    fn deref_mut(&mut self) -> &mut v8::Isolate {
        match &mut self.hold {
            Hold::Locked(locker) => locker,
            // SAFETY: as in `deref`.
            Hold::Nested(isolate) => unsafe { v8::Isolate::ref_from_raw_isolate_ptr_mut(isolate) },
        }
    }
}
