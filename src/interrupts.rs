//! Stopping JavaScript from outside: `VM.terminate()`, per-call timeouts and the heap
//! limit all end the running call through V8's `TerminateExecution`, and remember
//! *why*, so the call can report the right error.
//!
//! Each VM has one [`Interrupts`]. A call marks itself running ([`Interrupts::begin`])
//! and finished ([`Interrupts::end`]); a stop request only terminates a running call,
//! under the same mutex, so a stop that arrives between calls never leaks into the
//! next one. Timeouts are served by one process-wide watchdog thread.
//!
//! Lock order: a VM's V8 lock may be held while taking an `Interrupts` state lock or the
//! watchdog lock; never the other way round (the watchdog never takes a V8 lock).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// Why a call was stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StopReason {
    /// `Vm::terminate` from some thread.
    Terminated,
    /// The call's timeout expired.
    TimedOut,
    /// The heap reached its limit.
    OutOfMemory,
    /// A SIGINT arrived for the thread running the call.
    Interrupted,
    /// The call's [`CancelToken`](crate::cancel::CancelToken) was cancelled.
    Cancelled,
}

#[derive(Default)]
struct CallState {
    running: bool,
    call: u64,
    reason: Option<StopReason>,
}

/// The stop switch of one VM, shared with the watchdog and V8's heap callback.
pub(crate) struct Interrupts {
    handle: v8::IsolateHandle,
    state: Mutex<CallState>,
    /// Wakes a call that sleeps until its next timer when it is stopped.
    wake: Condvar,
}

impl Interrupts {
    pub(crate) fn new(handle: v8::IsolateHandle) -> Self {
        Interrupts {
            handle,
            state: Mutex::new(CallState::default()),
            wake: Condvar::new(),
        }
    }

    /// Marks a call as running; returns its number.
    pub(crate) fn begin(&self) -> u64 {
        let mut state = self.state.lock();
        state.running = true;
        state.call += 1;
        state.reason = None;
        state.call
    }

    /// Marks the call as finished; returns why it was stopped, if it was. After this
    /// no stop request can reach it; the caller cancels a termination still pending.
    pub(crate) fn end(&self) -> Option<StopReason> {
        let mut state = self.state.lock();
        state.running = false;
        state.reason.take()
    }

    /// Why the running call is being stopped, if it is.
    pub(crate) fn reason(&self) -> Option<StopReason> {
        self.state.lock().reason
    }

    /// Stops the running call (only call number `call`, when given). Returns whether
    /// a call was stopped.
    pub(crate) fn stop(&self, reason: StopReason, call: Option<u64>) -> bool {
        let mut state = self.state.lock();
        if !state.running || call.is_some_and(|c| c != state.call) {
            return false;
        }
        state.reason.get_or_insert(reason);
        self.handle.terminate_execution();
        self.wake.notify_all();
        true
    }

    /// Sleeps (outside JavaScript, the VM still held) until `at`, or until the running
    /// call is stopped; returns whether it was stopped.
    pub(crate) fn sleep_until(&self, at: Instant) -> bool {
        let mut state = self.state.lock();
        while state.reason.is_none() {
            if self.wake.wait_until(&mut state, at).timed_out() {
                break;
            }
        }
        state.reason.is_some()
    }
}

/// When (and a unique tie-breaker) → which VM and which of its calls to stop.
type Deadlines = BTreeMap<(Instant, u64), (Weak<Interrupts>, u64)>;

/// Deadlines of running calls, served by one thread.
struct Watchdog {
    deadlines: Mutex<Deadlines>,
    wake: Condvar,
}

static WATCHDOG: OnceLock<Watchdog> = OnceLock::new();
static NEXT_KEY: AtomicU64 = AtomicU64::new(0);

fn watchdog() -> &'static Watchdog {
    WATCHDOG.get_or_init(|| {
        std::thread::Builder::new()
            .name("v8rs-watchdog".into())
            .spawn(|| watchdog().serve())
            .expect("cannot start the v8rs watchdog thread");
        Watchdog {
            deadlines: Mutex::new(BTreeMap::new()),
            wake: Condvar::new(),
        }
    })
}

impl Watchdog {
    fn serve(&self) {
        let mut deadlines = self.deadlines.lock();
        loop {
            let now = Instant::now();
            while let Some(entry) = deadlines.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                let (interrupts, call) = entry.remove();
                if let Some(interrupts) = interrupts.upgrade() {
                    interrupts.stop(StopReason::TimedOut, Some(call));
                }
            }
            match deadlines.keys().next() {
                Some(&(at, _)) => {
                    self.wake.wait_until(&mut deadlines, at);
                }
                None => self.wake.wait(&mut deadlines),
            }
        }
    }
}

/// A registered deadline; dropping it cancels the deadline.
pub(crate) struct Deadline {
    key: (Instant, u64),
}

impl Deadline {
    /// Stops call `call` of `interrupts` once `timeout` has passed.
    pub(crate) fn start(interrupts: &Arc<Interrupts>, call: u64, timeout: Duration) -> Deadline {
        let watchdog = watchdog();
        let at = Instant::now() + timeout;
        let key = (at, NEXT_KEY.fetch_add(1, Ordering::Relaxed));
        let mut deadlines = watchdog.deadlines.lock();
        let earliest = deadlines.keys().next().is_none_or(|first| key < *first);
        deadlines.insert(key, (Arc::downgrade(interrupts), call));
        drop(deadlines);
        if earliest {
            watchdog.wake.notify_one();
        }
        Deadline { key }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let Some(watchdog) = WATCHDOG.get() {
            watchdog.deadlines.lock().remove(&self.key);
        }
    }
}
