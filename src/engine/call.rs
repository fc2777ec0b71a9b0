//! Taking a VM for one call: its `v8::Locker` (or, for a call made from a host function
//! inside a call of the same VM, the outer call's hold), its stop state, its deadline
//! and cancel token.
//!
//! An outermost call may release the lock while it waits for a timer
//! ([`VmCall::wait`], through `v8::Unlocker`): other threads then use the VM, and the
//! call takes the lock back to run its timers. No V8 scope is open while it waits. A
//! nested call waits with the lock held (the outer call's scopes are open).
//!
//! [`CallLocals`] are values kept for the length of the outermost call on a thread
//! (the exceptions host functions raised, say), dropped when it ends.

use std::any::Any;
use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::error::{Code, Error};
use crate::engine::stop::{CallId, Deadline, StopReason};
use crate::engine::vm::{check_not_inside_vm, HeapStats, Inside, Vm, VmShared, INSIDE};

thread_local! {
    static LOCALS: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// Values kept for the length of this thread's outermost call.
pub(crate) struct CallLocals;

impl CallLocals {
    /// How many values a call keeps at most: past that, the oldest goes (a script that
    /// catches host exceptions in a loop must not pile them up outside the heap limit).
    pub(crate) const MAX_KEPT: usize = 1024;

    /// Keeps `value` until the outermost call on this thread ends (or, once
    /// [`Self::MAX_KEPT`] newer values are kept, until then).
    pub(crate) fn keep(value: Box<dyn Any>) {
        let oldest = LOCALS.with(|l| {
            let mut locals = l.borrow_mut();
            locals.push(value);
            (locals.len() > Self::MAX_KEPT).then(|| locals.remove(0))
        });
        drop(oldest); // outside the borrow: dropping may run an embedder's finalizer
    }

    /// Takes out the first kept value of type `T` that `pick` accepts.
    pub(crate) fn take<T: 'static>(pick: impl Fn(&T) -> bool) -> Option<Box<T>> {
        LOCALS.with(|l| {
            let mut locals = l.borrow_mut();
            let at = locals
                .iter()
                .position(|v| v.downcast_ref::<T>().is_some_and(&pick))?;
            locals.remove(at).downcast().ok()
        })
    }

    fn clear() {
        let kept = LOCALS.with(|l| {
            let mut locals = l.borrow_mut();
            (!locals.is_empty()).then(|| std::mem::take(&mut *locals))
        });
        drop(kept);
    }
}

impl Vm {
    /// Takes the VM for one call on the current thread, blocking while another thread
    /// has it; the call is stopped after `timeout`, if given.
    ///
    /// A call made while this thread is already inside this VM (from a host function
    /// that JavaScript called) is *nested*: it runs inside the outer call, under its
    /// lock, timeout and stop state — and its own `timeout`, whose end stops the whole
    /// call (the outer one too: they share their stop state).
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
        if let Some(inside) = INSIDE.with(std::cell::Cell::get) {
            if std::ptr::eq(inside.vm, self) {
                if stoppable && crate::engine::cancel::current_is_cancelled() {
                    return Err(Error::new(
                        Code::Terminated,
                        "the call was cancelled and was stopped",
                    ));
                }
                let deadline = match (stoppable, inside.call, timeout) {
                    (true, Some(call), Some(t)) => Deadline::start(&self.shared.stops, call, t),
                    _ => None,
                };
                return Ok(VmCall {
                    hold: Hold::Nested(inside.isolate),
                    shared: &self.shared,
                    call: inside.call,
                    timeout,
                    _deadline: deadline,
                    _cancel: None,
                });
            }
        }
        check_not_inside_vm()?;
        let mut locker = self.isolate().lock();
        // SAFETY: the pointer is only used by nested calls on this thread while this
        // lock is held (see `VmCall`'s drop).
        let isolate = unsafe { locker.as_raw_isolate_ptr() };
        crate::engine::stack::set_limit_for_current_thread(&mut locker);
        self.shared.drain_graveyard();
        self.shared.call_started();
        let stops = &self.shared.stops;
        let (call, deadline, cancel) = if stoppable {
            let call = stops.begin();
            // Until the `VmCall` exists to end it, a panic ends the call here.
            let begun = EndOnUnwind(stops, call);
            crate::engine::sigint::call_started(stops, call);
            let deadline = timeout.and_then(|t| Deadline::start(stops, call, t));
            let cancel = crate::engine::cancel::Attached::to_call(stops, call);
            std::mem::forget(begun);
            (Some(call), deadline, Some(cancel))
        } else {
            (None, None, None)
        };
        INSIDE.with(|c| {
            c.set(Some(Inside {
                vm: self as *const Vm,
                isolate,
                call,
            }))
        });
        Ok(VmCall {
            hold: Hold::Locked(locker),
            shared: &self.shared,
            call,
            timeout,
            _deadline: deadline,
            _cancel: cancel,
        })
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
}

/// The current thread's hold on a VM for one call — the `v8::Locker` (with the isolate
/// entered), or for a nested call the isolate of the outer one — and the call's stop
/// state. Dereferences to the isolate.
pub(crate) struct VmCall<'a> {
    hold: Hold<'a>,
    shared: &'a Arc<VmShared>,
    /// The call's number in the VM's stop switch (none for unstoppable work).
    call: Option<CallId>,
    timeout: Option<Duration>,
    _deadline: Option<Deadline>,
    _cancel: Option<crate::engine::cancel::Attached>,
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
            shared: self.shared,
            call: self.call,
            timeout: self.timeout,
        }
    }

    /// The epoch of the VM's stop switch (see [`Self::wait`]).
    pub(crate) fn epoch(&self) -> u64 {
        self.shared.stops.epoch()
    }

    /// Whether this call is being stopped (timeout, terminate, cancel, SIGINT, heap).
    pub(crate) fn is_stopped(&self) -> bool {
        self.call
            .is_some_and(|call| self.shared.stops.reason(call).is_some())
    }

    /// Whether this is the outermost call on the thread (not one made from a host
    /// function inside another call of the VM).
    pub(crate) fn is_outermost(&self) -> bool {
        matches!(self.hold, Hold::Locked(_))
    }

    /// Waits until `until` (with `None`: until something changes), or until the call
    /// is stopped (then `Err` with its error). An outermost call releases the VM's lock
    /// meanwhile and also wakes when another call of the VM ends (it may have settled
    /// what this one waits for); a nested call keeps the lock. With `seen` (the VM's
    /// [`Stops::epoch`](crate::engine::stop::Stops::epoch) when the caller last looked),
    /// it also wakes — or does not wait — once a host answered a pending operation
    /// since.
    pub(crate) fn wait(&mut self, until: Option<Instant>, seen: Option<u64>) -> Result<(), Error> {
        let cause = self.stop_cause();
        let Some(call) = self.call else {
            return Ok(()); // unstoppable work never waits
        };
        let stops = &self.shared.stops;
        match &mut self.hold {
            Hold::Nested(_) => match stops.wait(call, until, seen) {
                Some(_) => Err(cause.error()),
                None => Ok(()),
            },
            Hold::Locked(locker) => {
                let paused = stops.pause(call).map_err(|_| cause.error())?;
                let epoch = seen.unwrap_or(paused);
                locker.unlock(|| stops.wait(call, until, Some(epoch)));
                crate::engine::stack::set_limit_for_current_thread(locker);
                stops.resume(call).map_err(|_| cause.error())
            }
        }
    }
}

/// Makes a stop asked for while a native ran embedder code or long work of its own (a
/// host function, a console sink, converting a large value: a timeout, `terminate`, a
/// cancel token, Ctrl-C) take effect now, and says whether there was one. V8 sees such
/// a request at its next interrupt check, which a loop of native calls reaches only
/// after hundreds of them (its interrupt budget): a loop of 10 ms host calls overran a
/// 50 ms timeout by 4.7 s. A tiny script's entry checks at once: V8 terminates there,
/// and the termination unwinds the call when the native returns.
pub(crate) fn stop_requested_meanwhile(scope: &mut v8::PinScope<'_, '_>) -> bool {
    let Some(shared) = crate::engine::vm::VmShared::of(scope) else {
        return false;
    };
    if !shared.stops.running_is_stopped() {
        return false;
    }
    scope.terminate_execution();
    if let Some(script) =
        v8::String::new(scope, "0").and_then(|source| v8::Script::compile(scope, source, None))
    {
        let _ = script.run(scope); // `None`: terminating
    }
    true
}

/// Explains why V8 reported a call as terminated.
#[derive(Clone, Copy)]
pub(crate) struct StopCause<'a> {
    shared: &'a Arc<VmShared>,
    call: Option<CallId>,
    timeout: Option<Duration>,
}

impl StopCause<'_> {
    /// The error for a call that V8 reports as terminated.
    pub(crate) fn error(&self) -> Error {
        let reason = self.call.and_then(|call| self.shared.stops.reason(call));
        match reason {
            Some(StopReason::TimedOut(after)) if self.timeout == Some(after) => Error::new(
                Code::Timeout,
                format!("JavaScript ran longer than its timeout of {after:?} and was stopped"),
            ),
            Some(StopReason::TimedOut(after)) => Error::new(
                Code::Timeout,
                format!(
                    "JavaScript ran longer than the timeout of {after:?} of a call this one \
                     is nested with (the call it was made from, or one made from a host \
                     function inside it), and was stopped with it"
                ),
            ),
            Some(StopReason::OutOfMemory) => Error::new(
                Code::OutOfMemory,
                format!(
                    "JavaScript ran out of memory (the VM's heap limit is {} MiB) and was stopped",
                    self.shared.heap_limit >> 20
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

/// Ends call `.1` of `.0` when dropped: what a panic while a call is being set up does.
struct EndOnUnwind<'a>(&'a crate::engine::stop::Stops, CallId);

impl Drop for EndOnUnwind<'_> {
    fn drop(&mut self) {
        crate::engine::sigint::call_ended();
        self.0.end(self.1);
    }
}

impl Drop for VmCall<'_> {
    fn drop(&mut self) {
        if let Hold::Nested(_) = self.hold {
            return; // the outer call owns the lock and the stop state
        }
        if let Some(call) = self.call {
            crate::engine::sigint::call_ended();
            if let Some(reason) = self.shared.stops.end(call) {
                self.cancel_terminate_execution();
                if reason == StopReason::OutOfMemory {
                    let shared = self.shared;
                    crate::engine::vm::recover_from_out_of_memory(self, shared);
                }
            }
        }
        CallLocals::clear();
        self.shared.drain_graveyard();
        INSIDE.with(|c| c.set(None));
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
