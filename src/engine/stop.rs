//! Stopping JavaScript from outside: `VM.terminate()`, per-call timeouts, SIGINT,
//! cancel tokens and the heap limit all end a call through V8's `TerminateExecution`,
//! and remember *why*, so the call can report the right error.
//!
//! Each VM has one [`Stops`], which knows the calls in flight on it: the one that holds
//! the VM's lock and may run JavaScript (*running*), and calls that wait for a timer
//! with the lock released (*paused*). A stop request marks its call; it terminates
//! V8's execution only when that call is the running one, and wakes it when it is
//! paused, so a stop never reaches another call. Everything happens under one mutex,
//! so a stop that arrives between calls never leaks into the next one. Timeouts are
//! served by one process-wide watchdog thread.
//!
//! A call paused in the debugger (see `inspector.rs`) does not use up its timeout: the
//! VM counts the time its JavaScript spent paused, and a deadline that comes due is
//! pushed back by the pause time since it was set (while still paused, it looks again
//! later).
//!
//! Lock order: a VM's V8 lock may be held while taking the `Stops` mutex or the
//! watchdog's; never the other way round (the watchdog never takes a V8 lock).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// Why a call was stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StopReason {
    /// `Vm::terminate` from some thread.
    Terminated,
    /// A timeout of the call expired: its own, or that of a call nested in it.
    TimedOut(Duration),
    /// The heap reached its limit.
    OutOfMemory,
    /// A SIGINT arrived for the thread running the call.
    Interrupted,
    /// The call's [`CancelToken`](crate::engine::cancel::CancelToken) was cancelled.
    Cancelled,
}

/// The number of a call in flight on a VM.
pub(crate) type CallId = u64;

/// Which calls a stop request is for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target {
    /// Every call in flight.
    All,
    /// The running call (the one holding the lock), whichever it is.
    Running,
    /// One call.
    Call(CallId),
}

#[derive(Default)]
struct State {
    last: CallId,
    /// The calls in flight and why each was stopped, if it was.
    calls: Vec<(CallId, Option<StopReason>)>,
    running: Option<CallId>,
    /// Bumped when a call ends, so paused calls look again at what they wait for.
    epoch: u64,
    /// How many calls wait in [`Stops::wait`].
    waiting: usize,
    /// Since when the VM's JavaScript is paused in the debugger, if it is.
    debugger_paused_since: Option<Instant>,
    /// How long the VM's JavaScript was paused in the debugger, pauses that ended only.
    debugger_paused_total: Duration,
}

impl State {
    /// The time spent paused in the debugger until `now`, the pause going on included;
    /// and whether one is going on.
    fn debugger_paused(&self, now: Instant) -> (Duration, bool) {
        match self.debugger_paused_since {
            Some(since) => (
                self.debugger_paused_total + now.saturating_duration_since(since),
                true,
            ),
            None => (self.debugger_paused_total, false),
        }
    }

    fn reason(&self, call: CallId) -> Option<StopReason> {
        self.calls
            .iter()
            .find(|(id, _)| *id == call)
            .and_then(|(_, reason)| *reason)
    }
}

/// The stop switch of one VM, shared with the watchdog, cancel tokens, SIGINT and
/// V8's heap callback.
pub(crate) struct Stops {
    handle: v8::IsolateHandle,
    state: Mutex<State>,
    /// Wakes paused calls: on a stop, and when another call ends.
    wake: Condvar,
}

impl Stops {
    pub(crate) fn new(handle: v8::IsolateHandle) -> Self {
        Stops {
            handle,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        }
    }

    /// Registers a call that has just taken the lock; it is the running one.
    pub(crate) fn begin(&self) -> CallId {
        let mut state = self.state.lock();
        state.last += 1;
        let id = state.last;
        state.calls.push((id, None));
        state.running = Some(id);
        id
    }

    /// The call ends (it still holds the lock); returns why it was stopped, if it was.
    /// After this no stop request can reach it; the caller cancels a termination that
    /// may still be pending.
    pub(crate) fn end(&self, call: CallId) -> Option<StopReason> {
        let mut state = self.state.lock();
        let reason = state.reason(call);
        state.calls.retain(|(id, _)| *id != call);
        if state.running == Some(call) {
            state.running = None;
        }
        state.epoch += 1;
        let waiting = state.waiting > 0;
        drop(state);
        if waiting {
            self.wake.notify_all();
        }
        reason
    }

    /// Wakes the paused calls to look again at what they wait for (a host answered a
    /// pending operation: see `pending.rs`). Any thread, no V8 lock needed.
    pub(crate) fn notify(&self) {
        let mut state = self.state.lock();
        state.epoch += 1;
        let waiting = state.waiting > 0;
        drop(state);
        if waiting {
            self.wake.notify_all();
        }
    }

    /// The current epoch: a wait given it ends once a call ends or [`Self::notify`]
    /// is called after this.
    pub(crate) fn epoch(&self) -> u64 {
        self.state.lock().epoch
    }

    /// Why `call` is being stopped, if it is.
    pub(crate) fn reason(&self, call: CallId) -> Option<StopReason> {
        self.state.lock().reason(call)
    }

    /// Stops the calls of `target`. Returns whether a call was stopped.
    pub(crate) fn stop(&self, reason: StopReason, target: Target) -> bool {
        let mut state = self.state.lock();
        let running = state.running;
        let mut stopped = false;
        let mut terminate = false;
        for (id, why) in &mut state.calls {
            let hit = match target {
                Target::All => true,
                Target::Running => running == Some(*id),
                Target::Call(call) => call == *id,
            };
            if hit {
                why.get_or_insert(reason);
                stopped = true;
                terminate |= running == Some(*id);
            }
        }
        if terminate {
            self.handle.terminate_execution();
        }
        drop(state);
        if stopped {
            self.wake.notify_all();
        }
        stopped
    }

    /// `call` is about to release the lock to wait: it is no longer the running one.
    /// Fails, and it must not wait, when it is being stopped.
    pub(crate) fn pause(&self, call: CallId) -> Result<u64, StopReason> {
        let mut state = self.state.lock();
        if let Some(reason) = state.reason(call) {
            return Err(reason);
        }
        if state.running == Some(call) {
            state.running = None;
        }
        Ok(state.epoch)
    }

    /// `call` has taken the lock back: it is the running one again. Fails when it was
    /// stopped meanwhile (it must not run JavaScript then).
    pub(crate) fn resume(&self, call: CallId) -> Result<(), StopReason> {
        let mut state = self.state.lock();
        state.running = Some(call);
        match state.reason(call) {
            Some(reason) => Err(reason),
            None => Ok(()),
        }
    }

    /// The VM's JavaScript is paused in the debugger from now on (`true`), or runs again
    /// (`false`): the timeouts of its calls do not run meanwhile.
    pub(crate) fn debugger_paused(&self, paused: bool) {
        let mut state = self.state.lock();
        let now = Instant::now();
        match (paused, state.debugger_paused_since) {
            (true, None) => state.debugger_paused_since = Some(now),
            (false, Some(since)) => {
                state.debugger_paused_since = None;
                state.debugger_paused_total += now.saturating_duration_since(since);
            }
            _ => {}
        }
    }

    /// Whether the call holding the lock is being stopped (terminate, SIGINT, a cancel
    /// token): the debugger's pause loop then ends, so the stop can take effect.
    pub(crate) fn running_is_stopped(&self) -> bool {
        let state = self.state.lock();
        state
            .running
            .is_some_and(|call| state.reason(call).is_some())
    }

    /// The time spent paused in the debugger until `now`, and whether it is paused.
    fn debugger_pause(&self, now: Instant) -> (Duration, bool) {
        self.state.lock().debugger_paused(now)
    }

    /// Waits (outside JavaScript) until `until` (forever with `None`), until `call`
    /// is stopped, or — with `epoch` from [`Self::pause`] — until another call has
    /// ended since. Returns why `call` was stopped, if it was.
    pub(crate) fn wait(
        &self,
        call: CallId,
        until: Option<Instant>,
        epoch: Option<u64>,
    ) -> Option<StopReason> {
        let mut state = self.state.lock();
        state.waiting += 1;
        let reason = loop {
            if let Some(reason) = state.reason(call) {
                break Some(reason);
            }
            if epoch.is_some_and(|seen| seen != state.epoch) {
                break None;
            }
            match until {
                Some(at) => {
                    if self.wake.wait_until(&mut state, at).timed_out() {
                        break state.reason(call);
                    }
                }
                None => self.wake.wait(&mut state),
            }
        };
        state.waiting -= 1;
        reason
    }
}

/// A registered deadline: which VM and which of its calls to stop, and the VM's
/// debugger pause time when it was set (or last pushed back).
struct Due {
    stops: Weak<Stops>,
    call: CallId,
    paused_base: Duration,
    timeout: Duration,
}

/// Deadlines by when they come due (and a unique key as tie-breaker), and when each
/// key comes due (a deadline pushed back moves).
#[derive(Default)]
struct Deadlines {
    by_time: BTreeMap<(Instant, u64), Due>,
    at: HashMap<u64, Instant>,
}

impl Deadlines {
    fn insert(&mut self, at: Instant, key: u64, due: Due) {
        self.by_time.insert((at, key), due);
        self.at.insert(key, at);
    }
}

/// How long a deadline that comes due while its VM is paused in the debugger waits
/// before looking again.
const RECHECK_WHILE_PAUSED: Duration = Duration::from_millis(100);

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
            deadlines: Mutex::new(Deadlines::default()),
            wake: Condvar::new(),
        }
    })
}

impl Watchdog {
    fn serve(&self) {
        let mut deadlines = self.deadlines.lock();
        loop {
            let now = Instant::now();
            while let Some(entry) = deadlines.by_time.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                let ((at, key), due) = entry.remove_entry();
                deadlines.at.remove(&key);
                let Some(stops) = due.stops.upgrade() else {
                    continue;
                };
                // The Stops mutex may be taken under the watchdog's (never the reverse).
                let (paused, paused_now) = stops.debugger_pause(now);
                let extra = paused.saturating_sub(due.paused_base);
                if extra.is_zero() && !paused_now {
                    stops.stop(StopReason::TimedOut(due.timeout), Target::Call(due.call));
                    continue;
                }
                // Paused in the debugger since it was set: push it back by that time.
                let mut later = at.checked_add(extra).unwrap_or(now + RECHECK_WHILE_PAUSED);
                if paused_now {
                    later = later.max(now + RECHECK_WHILE_PAUSED);
                }
                let due = Due {
                    paused_base: paused,
                    ..due
                };
                deadlines.insert(later, key, due);
            }
            match deadlines.by_time.keys().next() {
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
    key: u64,
}

impl Deadline {
    /// Stops call `call` of `stops` once `timeout` has passed (`None`: a timeout so long
    /// that no clock reaches it).
    pub(crate) fn start(stops: &Arc<Stops>, call: CallId, timeout: Duration) -> Option<Deadline> {
        let now = Instant::now();
        let at = now.checked_add(timeout)?;
        let watchdog = watchdog();
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        let due = Due {
            stops: Arc::downgrade(stops),
            call,
            paused_base: stops.debugger_pause(now).0,
            timeout,
        };
        let mut deadlines = watchdog.deadlines.lock();
        let earliest = deadlines
            .by_time
            .keys()
            .next()
            .is_none_or(|first| (at, key) < *first);
        deadlines.insert(at, key, due);
        drop(deadlines);
        if earliest {
            watchdog.wake.notify_one();
        }
        Some(Deadline { key })
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let Some(watchdog) = WATCHDOG.get() {
            let mut deadlines = watchdog.deadlines.lock();
            if let Some(at) = deadlines.at.remove(&self.key) {
                deadlines.by_time.remove(&(at, self.key));
            }
        }
    }
}
