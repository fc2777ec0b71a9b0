//! The event loop of a context, driven on the caller's thread by the calls that wait —
//! [`crate::engine::Context::run_until_idle`] and the calls that await a promise.
//! Nothing runs behind the embedder's back: no thread per context, and timers fire
//! only inside those calls.
//!
//! A call runs in *turns* ([`Session::turn`]): each opens its scopes, does one step —
//! the platform's queued tasks (async WebAssembly compilation…), the context's
//! microtasks, one due timer — and closes them. Between turns, a call with nothing due
//! waits with the VM's lock released (see `call.rs`), so a call awaiting a 10-second
//! timer does not hold off the VM's other threads; platform work still pending in the
//! background (a WebAssembly compile) counts as not idle. A timer callback that throws
//! ends the call that ran it with that exception; the other timers stay queued.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::call::{StopCause, VmCall};
use crate::engine::error::{Code, Error};
use crate::engine::exception::caught;
use crate::engine::natives::{self, native};
use crate::engine::realm::Realm;

/// How often a call waiting for background platform work (with no timer due) looks
/// whether it finished.
const BACKGROUND_POLL: Duration = Duration::from_millis(1);

/// One call into a context: the VM held for it, and the realm it runs in.
pub(crate) struct Session<'a> {
    call: VmCall<'a>,
    realm: Arc<Realm>,
    /// A `load_libs` session: it does not count as the call after a load that makes
    /// the libraries' code caches again (see `script::CacheRefreshes`).
    loading: bool,
}

impl<'a> Session<'a> {
    pub(crate) fn new(call: VmCall<'a>, realm: Arc<Realm>) -> Session<'a> {
        Session {
            call,
            realm,
            loading: false,
        }
    }

    /// Marks the session as one that loads libraries.
    pub(crate) fn loading(&mut self) {
        self.loading = true;
    }

    /// Runs `body` with scopes open in the realm's context, under a `TryCatch`.
    pub(crate) fn turn<R>(
        &mut self,
        body: impl FnOnce(
            &mut v8::PinnedRef<'_, v8::TryCatch<v8::HandleScope>>,
            &Realm,
            StopCause<'a>,
        ) -> R,
    ) -> R {
        let cause = self.call.stop_cause();
        let realm = &*self.realm;
        v8::scope!(let scope, &mut *self.call);
        let context = v8::Local::new(scope, realm.context());
        let scope = &mut v8::ContextScope::new(scope, context);
        v8::tc_scope!(let tc, scope);
        body(tc, realm, cause)
    }

    /// Whether this is the outermost call on the thread.
    pub(crate) fn is_outermost(&self) -> bool {
        self.call.is_outermost()
    }

    /// Runs turns of the event loop until `done` (checked after each microtask
    /// checkpoint) says so, or nothing is left to run (then `Ok(false)`).
    pub(crate) fn drive(
        &mut self,
        mut done: impl FnMut(&mut v8::PinScope<'_, '_>) -> bool,
    ) -> Result<bool, Error> {
        loop {
            // Read before the turn looks at the hosts' answers: one that comes later
            // wakes the wait below (as does tearing the context down).
            let seen = self.call.epoch();
            if self.realm.is_retired() {
                // Its timers and pending operations went with it: nothing can come.
                return Err(Error::invalid_state(
                    "the context was torn down while this call waited for its event loop",
                ));
            }
            match self.turn(|tc, realm, cause| step(tc, realm, cause, &mut done))? {
                Step::Done => return Ok(true),
                Step::Again => {}
                Step::Wait(until) => self.call.wait(until, Some(seen))?,
                Step::Idle => return Ok(false),
            }
        }
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if self.call.is_stopped() {
            abort_pending(&self.realm);
        }
        // The first call after a load has compiled what it uses: cache that code too.
        if self.loading || !self.call.is_outermost() || self.realm.cache_refreshes.is_empty() {
            return;
        }
        let realm = &*self.realm;
        v8::scope!(let scope, &mut *self.call);
        let context = v8::Local::new(scope, realm.context());
        let scope = &mut v8::ContextScope::new(scope, context);
        if !scope.is_execution_terminating() {
            realm.cache_refreshes.refresh(scope); // (after a stopped call: the next one)
        }
    }
}

/// A call of the context was stopped (timeout, cancel, terminate…): its pending host
/// operations (in-flight `fetch`es) are aborted. Each promise is answered with
/// `undefined` (what JavaScript reads as "stopped"), and the host is told with
/// `["abort", id]`, so it may stop the work.
fn abort_pending(realm: &Realm) {
    let ids = realm.pending.outstanding();
    if ids.is_empty() {
        return;
    }
    let host = realm.fetch.lock().clone();
    for id in ids {
        realm.pending.settle(id, b"u".to_vec());
        if let Some(host) = &host {
            let _ = host(&crate::engine::pending::abort_args(id));
        }
    }
}

/// What one turn of the event loop found.
enum Step {
    /// What the call waits for happened.
    Done,
    /// Something ran: look again.
    Again,
    /// Nothing is due before this (`None`: only a host's answer is awaited).
    Wait(Option<Instant>),
    /// Nothing is left that could run.
    Idle,
}

fn step(
    tc: &mut v8::PinnedRef<'_, v8::TryCatch<v8::HandleScope>>,
    realm: &Realm,
    cause: StopCause<'_>,
    done: &mut impl FnMut(&mut v8::PinScope<'_, '_>) -> bool,
) -> Result<Step, Error> {
    let ran_tasks = crate::engine::platform::pump_message_loop(tc);
    let answered = realm.pending.resolve_settled(tc) > 0;
    realm.run_microtasks(tc);
    if tc.is_execution_terminating() || tc.has_terminated() {
        return Err(cause.error());
    }
    if done(tc) {
        return Ok(Step::Done);
    }
    let now = Instant::now();
    if let Some((callback, args)) = realm.timers.take_due(tc, now) {
        let receiver = v8::undefined(tc).into();
        if callback.call(tc, receiver, &args).is_none() {
            return Err(caught(tc, cause));
        }
        return Ok(Step::Again);
    }
    if ran_tasks || answered {
        return Ok(Step::Again);
    }
    let background = tc
        .has_pending_background_tasks()
        .then(|| now + BACKGROUND_POLL);
    Ok(match (realm.timers.next_due(), background) {
        (Some(due), Some(poll)) => Step::Wait(Some(due.min(poll))),
        (Some(due), None) => Step::Wait(Some(due)),
        (None, Some(poll)) => Step::Wait(Some(poll)),
        // A host still owes an answer (an in-flight fetch): wait for it.
        (None, None) if realm.pending.has_outstanding() => Step::Wait(None),
        (None, None) => Step::Idle,
    })
}

/// The error for awaiting a promise that nothing can settle any more.
pub(crate) fn still_pending() -> Error {
    Error::new(
        Code::JsError,
        "the promise is still pending and nothing is left that could settle it (no \
         microtask, timer or platform task is queued)",
    )
}

/// Installs `setTimeout`, `setInterval`, `clearTimeout`, `clearInterval` and
/// `queueMicrotask` on the global object of the current context (where not defined).
pub(crate) fn install_timers(scope: &mut v8::PinScope<'_, '_>) -> Option<()> {
    let global = scope.get_current_context().global(scope);
    for &(name, callback) in TIMER_NATIVES.iter() {
        let function = natives::function(scope, name, callback, None)?;
        natives::define_global(scope, global, name, function.into())?;
    }
    Some(())
}

/// The timer globals and their natives, made once: a snapshot refers to each callback
/// by its place in [`crate::engine::startup`]'s list, so each must be one function.
pub(crate) static TIMER_NATIVES: std::sync::LazyLock<[(&str, v8::FunctionCallback); 5]> =
    std::sync::LazyLock::new(|| {
        [
            ("setTimeout", native!(set_timeout)),
            ("setInterval", native!(set_interval)),
            ("clearTimeout", native!(clear_timer)),
            ("clearInterval", native!(clear_timer)),
            ("queueMicrotask", native!(queue_microtask)),
        ]
    });

fn set_timeout<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    rv: v8::ReturnValue<'s, v8::Value>,
) {
    schedule(scope, args, rv, "setTimeout", false);
}

fn set_interval<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    rv: v8::ReturnValue<'s, v8::Value>,
) {
    schedule(scope, args, rv, "setInterval", true);
}

fn schedule<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<'s, v8::Value>,
    name: &str,
    repeat: bool,
) {
    let Some((realm, _)) = natives::realm(scope, &args) else {
        return;
    };
    let Ok(callback) = v8::Local::<v8::Function>::try_from(args.get(0)) else {
        return natives::throw_type_error(
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
    let id = realm.timers.add(callback, extra, delay, repeat);
    rv.set_uint32(id);
}

fn clear_timer<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    _rv: v8::ReturnValue<'s, v8::Value>,
) {
    let Some((realm, _)) = natives::realm(scope, &args) else {
        return;
    };
    let id = args.get(0);
    if id.is_number() {
        if let Some(id) = id.uint32_value(scope) {
            realm.timers.clear(id);
        }
    }
}

fn queue_microtask<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    _rv: v8::ReturnValue<'s, v8::Value>,
) {
    let Some((realm, _)) = natives::realm(scope, &args) else {
        return;
    };
    let Ok(callback) = v8::Local::<v8::Function>::try_from(args.get(0)) else {
        return natives::throw_type_error(scope, "queueMicrotask: the callback is not a function");
    };
    realm.enqueue_microtask(scope, callback);
}

/// `now()`: milliseconds since the context was created (`performance.now()`).
pub(crate) fn now<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<'s, v8::Value>,
) {
    // 0 where there is no realm: a snapshot being made (`new Event()` in a library).
    let _ = args;
    rv.set_double(Realm::current(scope).map_or(0.0, |realm| realm.timers.now_ms()));
}

/// `timeOrigin()`: when the context was made, in milliseconds since the Unix epoch.
pub(crate) fn time_origin<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<'s, v8::Value>,
) {
    let _ = args;
    let origin = Realm::current(scope).map_or(0.0, |realm| realm.timers.time_origin_ms());
    rv.set_double(origin);
}

/// `schedule(callback, delayMs)`: queues a task on the context's event loop; returns
/// its timer id (for `clearTimeout`).
pub(crate) fn schedule_task<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<'s, v8::Value>,
) {
    let Some((realm, _)) = natives::realm(scope, &args) else {
        return;
    };
    let Ok(callback) = v8::Local::<v8::Function>::try_from(args.get(0)) else {
        return natives::throw_type_error(scope, "schedule: the callback is not a function");
    };
    let delay = args.get(1).number_value(scope).unwrap_or(0.0);
    let callback = v8::Global::new(scope, callback);
    rv.set_uint32(realm.timers.add(callback, Vec::new(), delay, false));
}
