//! A VM: one V8 isolate, usable from any thread, one thread at a time.
//!
//! Calls run on the caller's thread. The isolate's `v8::Locker` serialises threads
//! that use the same VM (a waiting thread blocks inside the call) and, on each
//! acquisition, the stack limit is set for the thread that now holds it (see
//! `stack.rs`). Different VMs run in parallel.

use std::cell::Cell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::error::Error;
use crate::platform::{self, PlatformRef};

static LIVE_VMS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread is inside a VM right now (holds some VM's lock).
    static IN_VM: Cell<bool> = const { Cell::new(false) };
}

/// One V8 isolate, shared between threads behind its `v8::Locker`.
///
/// `Vm` is `Send + Sync`: any thread may use it, calls are serialised. It is kept
/// alive by every [`Context`](crate::Context) created in it.
pub struct Vm {
    // Field order is drop order: the isolate goes before the platform it needs.
    isolate: v8::SharedIsolate,
    platform: PlatformRef,
    freed: AtomicBool,
}

impl Vm {
    /// Creates a VM. Fails with `InvalidState` when the platform is not set up or was
    /// torn down, or when called from inside a running VM.
    pub fn new() -> Result<Arc<Vm>, Error> {
        let platform = platform::acquire()?;
        check_not_inside_vm()?;
        let owned = v8::Isolate::new(v8::CreateParams::default());
        // SAFETY: the isolate was created on this thread just now, nothing is entered
        // on top of it, and no embedder state is attached to it (all later state is
        // `Send`), so it may migrate between threads under its Locker.
        let isolate = unsafe { owned.try_into_shared() }.map_err(|e| {
            Error::new(crate::Code::Unknown, format!("cannot share isolate: {e:?}"))
        })?;
        LIVE_VMS.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(Vm {
            isolate,
            platform,
            freed: AtomicBool::new(false),
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

    /// Fails with `InvalidState` when this VM, or the platform, can no longer run.
    pub fn check_usable(&self) -> Result<(), Error> {
        if self.is_closed() {
            return Err(Error::invalid_state("the VM was freed (torn down)"));
        }
        self.platform.check_alive()
    }

    /// Takes the VM for the current thread, blocking while another thread has it.
    pub(crate) fn lock(&self) -> Result<VmLock<'_>, Error> {
        self.check_usable()?;
        check_not_inside_vm()?;
        IN_VM.with(|c| c.set(true));
        let mut lock = VmLock {
            locker: self.isolate.lock(),
        };
        crate::stack::set_limit_for_current_thread(&mut lock);
        Ok(lock)
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

fn check_not_inside_vm() -> Result<(), Error> {
    if IN_VM.with(Cell::get) {
        Err(Error::invalid_state(
            "this thread is already running JavaScript in a VM; nested calls are not supported here",
        ))
    } else {
        Ok(())
    }
}

/// The current thread's hold on a VM: the `v8::Locker`, with the isolate entered.
pub(crate) struct VmLock<'a> {
    locker: v8::Locker<'a>,
}

impl Drop for VmLock<'_> {
    fn drop(&mut self) {
        IN_VM.with(|c| c.set(false));
    }
}

impl Deref for VmLock<'_> {
    type Target = v8::Isolate;
    fn deref(&self) -> &v8::Isolate {
        &self.locker
    }
}

impl DerefMut for VmLock<'_> {
    fn deref_mut(&mut self) -> &mut v8::Isolate {
        &mut self.locker
    }
}
