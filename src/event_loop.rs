//! The event loop of a context: its timers (`setTimeout`, `setInterval`, the tasks of
//! `MessageChannel` and `AbortSignal.timeout`) in one queue, driven on the caller's
//! thread by the calls that wait — [`crate::Context::run_until_idle`] and the calls
//! that await a promise. Nothing runs behind the embedder's back: no thread per
//! context, and timers fire only inside those calls.
//!
//! A call that waits for a timer sleeps with its VM held; a stop (terminate, timeout,
//! SIGINT, cancel) wakes it. A timer callback that throws ends the call that ran it
//! with that exception; the other timers stay queued.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::error::Error;
use crate::vm::StopCause;

/// The longest delay a timer takes, in milliseconds (as browsers: a signed 32-bit int).
const MAX_DELAY_MS: f64 = 2_147_483_647.0;

/// Timers of one context, and its clock (for `performance`).
pub(crate) struct EventLoop {
    timers: Mutex<Timers>,
    origin: Instant,
    time_origin_ms: f64,
}

/// When (and a tie-breaker: the order of scheduling) → the timer's id.
type Queue = BTreeMap<(Instant, u64), u32>;

#[derive(Default)]
struct Timers {
    last_id: u32,
    last_seq: u64,
    queue: Queue,
    entries: HashMap<u32, Timer>,
}

struct Timer {
    key: (Instant, u64),
    callback: v8::Global<v8::Function>,
    args: Vec<v8::Global<v8::Value>>,
    interval: Option<Duration>,
}

impl Timers {
    fn key(&mut self, at: Instant) -> (Instant, u64) {
        self.last_seq += 1;
        (at, self.last_seq)
    }
}

impl EventLoop {
    pub(crate) fn new() -> Box<EventLoop> {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Box::new(EventLoop {
            timers: Mutex::default(),
            origin: Instant::now(),
            time_origin_ms: since_epoch.as_secs_f64() * 1000.0,
        })
    }

    /// Milliseconds since the context was created (`performance.now()`).
    pub(crate) fn now_ms(&self) -> f64 {
        self.origin.elapsed().as_secs_f64() * 1000.0
    }

    /// When the context was created, in milliseconds since the Unix epoch
    /// (`performance.timeOrigin`).
    pub(crate) fn time_origin_ms(&self) -> f64 {
        self.time_origin_ms
    }

    /// Queues `callback(...args)` after `delay_ms` (clamped to 0..=2^31-1), again every
    /// `delay_ms` with `repeat`; returns the timer's id (never 0).
    pub(crate) fn add(
        &self,
        callback: v8::Global<v8::Function>,
        args: Vec<v8::Global<v8::Value>>,
        delay_ms: f64,
        repeat: bool,
    ) -> u32 {
        let delay_ms = if delay_ms > 0.0 {
            delay_ms.min(MAX_DELAY_MS)
        } else {
            0.0 // also NaN
        };
        let delay = Duration::from_secs_f64(delay_ms / 1000.0);
        let mut timers = self.timers.lock();
        let key = timers.key(Instant::now() + delay);
        let id = loop {
            timers.last_id = timers.last_id.wrapping_add(1).max(1) & 0x7fff_ffff;
            if timers.last_id != 0 && !timers.entries.contains_key(&timers.last_id) {
                break timers.last_id;
            }
        };
        timers.queue.insert(key, id);
        let interval = repeat.then_some(delay);
        timers.entries.insert(
            id,
            Timer {
                key,
                callback,
                args,
                interval,
            },
        );
        id
    }

    /// Cancels timer `id`; unknown ids are ignored.
    pub(crate) fn clear(&self, id: u32) {
        let mut timers = self.timers.lock();
        if let Some(timer) = timers.entries.remove(&id) {
            timers.queue.remove(&timer.key);
        }
    }

    /// Number of timers queued.
    pub(crate) fn pending(&self) -> usize {
        self.timers.lock().entries.len()
    }

    /// When the earliest timer is due.
    fn next_due(&self) -> Option<Instant> {
        self.timers.lock().queue.keys().next().map(|&(at, _)| at)
    }

    /// Takes the earliest timer if it is due by `now` (an interval goes back in the
    /// queue at once, so that clearing it from its callback works).
    fn take_due<'s>(
        &self,
        scope: &mut v8::PinScope<'s, '_>,
        now: Instant,
    ) -> Option<(v8::Local<'s, v8::Function>, Vec<v8::Local<'s, v8::Value>>)> {
        let mut timers = self.timers.lock();
        let entry = timers.queue.first_entry()?;
        if entry.key().0 > now {
            return None;
        }
        let id = entry.remove();
        let interval = timers.entries.get(&id)?.interval;
        let timer = match interval {
            Some(every) => {
                let key = timers.key(now + every);
                timers.queue.insert(key, id);
                let timer = timers.entries.get_mut(&id)?;
                timer.key = key;
                &*timer
            }
            None => &timers.entries.remove(&id)?,
        };
        let callback = v8::Local::new(scope, &timer.callback);
        let args = timer
            .args
            .iter()
            .map(|a| v8::Local::new(scope, a))
            .collect();
        Some((callback, args))
    }
}

/// Runs microtasks and due timers, in order, sleeping until the next timer when
/// nothing is due, until `done` says so (checked after each microtask checkpoint) or
/// nothing is left. Returns whether `done` was reached. `Err(None)`: a timer callback
/// threw (its exception waits in the caller's TryCatch); `Err(Some)`: the call was
/// stopped.
pub(crate) fn drive(
    scope: &mut v8::PinScope<'_, '_>,
    event_loop: &EventLoop,
    cause: StopCause<'_>,
    mut done: impl FnMut(&mut v8::PinScope<'_, '_>) -> bool,
) -> Result<bool, Option<Error>> {
    loop {
        scope.perform_microtask_checkpoint();
        if scope.is_execution_terminating() {
            return Err(Some(cause.error()));
        }
        if done(scope) {
            return Ok(true);
        }
        let Some(due) = event_loop.next_due() else {
            return Ok(false);
        };
        if due > Instant::now() && cause.sleep_until(due) {
            return Err(Some(cause.error()));
        }
        v8::scope!(let inner, scope);
        let Some((callback, args)) = event_loop.take_due(inner, Instant::now()) else {
            continue; // cleared meanwhile, or another timer came first
        };
        let receiver = v8::undefined(inner).into();
        if callback.call(inner, receiver, &args).is_none() {
            return Err(None);
        }
    }
}

/// Installs `setTimeout`, `setInterval`, `clearTimeout`, `clearInterval` and
/// `queueMicrotask` on the global object of the current context (where not defined).
pub(crate) fn install_timers(
    scope: &mut v8::PinScope<'_, '_>,
    event_loop: &EventLoop,
) -> Option<()> {
    let functions: [(&str, v8::FunctionCallback); 5] = [
        ("setTimeout", set_timeout.map_fn_to()),
        ("setInterval", set_interval.map_fn_to()),
        ("clearTimeout", clear_timer.map_fn_to()),
        ("clearInterval", clear_timer.map_fn_to()),
        ("queueMicrotask", queue_microtask.map_fn_to()),
    ];
    let global = scope.get_current_context().global(scope);
    for (name, callback) in functions {
        let function = crate::web::native_function(scope, name, callback, event_loop)?;
        crate::web::define_global(scope, global, name, function.into())?;
    }
    Some(())
}

use v8::MapFnTo;

/// The event loop of the native function being called (its data).
pub(crate) fn of_call<'a>(args: &v8::FunctionCallbackArguments<'_>) -> Option<&'a EventLoop> {
    let external = v8::Local::<v8::External>::try_from(args.data()).ok()?;
    // SAFETY: the data of every event-loop function is an External pointing at the
    // boxed `EventLoop` of its context, which lives as long as the context.
    Some(unsafe { &*(external.value() as *const EventLoop) })
}

fn set_timeout<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    rv: v8::ReturnValue<v8::Value>,
) {
    schedule(scope, args, rv, "setTimeout", false);
}

fn set_interval<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    rv: v8::ReturnValue<v8::Value>,
) {
    schedule(scope, args, rv, "setInterval", true);
}

fn schedule<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
    name: &str,
    repeat: bool,
) {
    let Some(event_loop) = of_call(&args) else {
        return;
    };
    let Ok(callback) = v8::Local::<v8::Function>::try_from(args.get(0)) else {
        return crate::web::throw_type_error(
            scope,
            &format!("{name}: the callback is not a function (v8rs does not evaluate strings)"),
        );
    };
    let delay = if args.length() > 1 {
        match args.get(1).number_value(scope) {
            Some(delay) => delay,
            None => return, // valueOf threw
        }
    } else {
        0.0
    };
    let extra = (2..args.length())
        .map(|i| v8::Global::new(scope, args.get(i)))
        .collect();
    let callback = v8::Global::new(scope, callback);
    let id = event_loop.add(callback, extra, delay, repeat);
    rv.set_uint32(id);
}

fn clear_timer<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    _rv: v8::ReturnValue<v8::Value>,
) {
    let Some(event_loop) = of_call(&args) else {
        return;
    };
    let id = args.get(0);
    if id.is_number() {
        if let Some(id) = id.uint32_value(scope) {
            event_loop.clear(id);
        }
    }
}

fn queue_microtask<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    _rv: v8::ReturnValue<v8::Value>,
) {
    let Ok(callback) = v8::Local::<v8::Function>::try_from(args.get(0)) else {
        return crate::web::throw_type_error(
            scope,
            "queueMicrotask: the callback is not a function",
        );
    };
    scope.enqueue_microtask(callback);
}
