//! Startup snapshots: run scripts once, save the heap, and start VMs from it
//! ([`crate::engine::Vm::with_snapshot`]; the file format is in `snapshot_file.rs`).
//!
//! What a snapshot holds: the globals the scripts left (functions and closures
//! included; microtasks run first, a promise nothing can settle stays pending). What it
//! cannot hold: host functions (`expose`), which belong to a context of a running VM,
//! and `Intl` objects still reachable (V8 aborts the process).
//!
//! Snapshots are made in a creator of `startup.rs` (which explains why they fit every
//! VM); their default context has every web API, under the scripts' globals.

use std::cell::RefCell;

use crate::engine::error::{Code, Error};
use crate::engine::exception::describe_exception;
use crate::engine::realm::{keep_exact_json, track_rejections, Rejection};
use crate::engine::script::{compile_and_run, utf8};
use crate::engine::snapshot_builtins;
use crate::engine::snapshot_file;
use crate::engine::web::{self, WebFeatures};

pub use crate::engine::snapshot_file::Snapshot;

/// Runs `scripts` — `(name, source)` pairs, in order — in a fresh context with every
/// web API, and returns the snapshot of the heap they leave.
pub fn create(scripts: &[(&[u8], &[u8])]) -> Result<Vec<u8>, Error> {
    create_warm(scripts, &[])
}

/// [`create`], then warms the snapshot up: `warmup` scripts run in a throwaway copy of
/// its context, so that the functions they call are compiled, and the snapshot is made
/// again from a fresh copy — the scripts' globals as they left them, the warm-up's
/// changes gone, its compiled code kept (the copies share their functions' code).
pub fn create_warm(
    scripts: &[(&[u8], &[u8])],
    warmup: &[(&[u8], &[u8])],
) -> Result<Vec<u8>, Error> {
    let in_a_vm = snapshot_builtins::in_a_vm()?;
    let later = !warmup.is_empty();
    let cold = crate::engine::startup::with_creator(None, |scope| {
        let context = v8::Context::new(scope, Default::default());
        let outcome = keep_exact_json(scope, context).and_then(|()| {
            let in_a_creator = snapshot_builtins::in_a_creator(scope)?;
            let data = {
                let scope = &mut v8::ContextScope::new(scope, context);
                web::install(scope, WebFeatures::ALL)?;
                // Before the scripts: what they keep of the built-ins is the guard's.
                crate::engine::wasm::install_in_snapshot(scope)?;
                let check = snapshot_builtins::prepare(scope, in_a_vm, &in_a_creator)?;
                run_scripts(scope, scripts)?;
                check_global_extensible(scope)?;
                let data = snapshot_builtins::finish(scope, check, later)?;
                v8::Global::new(scope, data)
            };
            keep_reapply(scope, context, data)
        });
        scope.set_default_context(context);
        outcome
    })?;
    if warmup.is_empty() {
        return Ok(snapshot_file::wrap(
            &cold.blob,
            WebFeatures::ALL.0,
            cold.heap,
        ));
    }
    let warm = crate::engine::startup::with_creator(Some(cold.blob), |scope| {
        // The context kept: a copy of the cold one, whose data (its `exactJson`, the
        // function that takes out V8's per-context members) it takes. The warm-up runs
        // in another copy, which still has those members.
        let fresh = v8::Context::new(scope, Default::default());
        // Taken before any data is added to `fresh` (V8 then starts a new list for it).
        let strip = {
            let scope = &mut v8::ContextScope::new(scope, fresh);
            snapshot_builtins::strip_later(scope).map(|strip| v8::Global::new(scope, strip))
        };
        let kept = strip.and_then(|strip| {
            keep_exact_json(scope, fresh)?;
            let data = {
                let scope = &mut v8::ContextScope::new(scope, fresh);
                let strip = v8::Local::new(scope, strip);
                let receiver = v8::undefined(scope).into();
                let data = strip.call(scope, receiver, &[]).ok_or_else(|| {
                    Error::new(Code::Unknown, "a snapshot could not check V8's built-ins")
                })?;
                v8::Global::new(scope, data)
            };
            keep_reapply(scope, fresh, data)
        });
        let throwaway = v8::Context::new(scope, Default::default());
        let outcome = {
            let scope = &mut v8::ContextScope::new(scope, throwaway);
            run_scripts(scope, warmup)
        };
        // A creator must have a default context to end, even after a failure.
        scope.set_default_context(fresh);
        kept.and(outcome)
    })?;
    Ok(snapshot_file::wrap(
        &warm.blob,
        WebFeatures::ALL.0,
        warm.heap,
    ))
}

/// Adds the values to set again in each context (see `snapshot_builtins.rs`) to the
/// snapshot of `context`, after its `exactJson`.
fn keep_reapply(
    scope: &mut v8::PinScope<'_, '_, ()>,
    context: v8::Local<'_, v8::Context>,
    values: v8::Global<v8::Value>,
) -> Result<(), Error> {
    let values = v8::Local::new(scope, values);
    if scope.add_context_data(context, values) != snapshot_builtins::REAPPLY_DATA {
        return Err(Error::new(
            Code::Unknown,
            "a snapshot kept its data out of order",
        ));
    }
    Ok(())
}

/// Fails when the scripts froze, sealed or stopped extensions of the global object: V8
/// adds its flag-enabled globals (`Temporal`…) to every context made from a snapshot, and
/// aborts the process when it cannot.
fn check_global_extensible(scope: &mut v8::PinScope<'_, '_>) -> Result<(), Error> {
    let global = scope.get_current_context().global(scope);
    let probe = v8::Symbol::new(scope, None);
    let undefined = v8::undefined(scope);
    match global.create_data_property(scope, probe.into(), undefined.into()) {
        Some(true) => {
            global.delete(scope, probe.into());
            Ok(())
        }
        _ => Err(Error::invalid_argument(
            "a snapshot's global object must stay extensible (the scripts froze, sealed or \
             stopped extensions of globalThis): V8 adds globals to every context made from it",
        )),
    }
}

thread_local! {
    /// The promises that the scripts `run_scripts` runs on this thread rejected with no
    /// handler (by identity hash), with their reasons.
    static UNHANDLED: RefCell<Vec<(i32, v8::Global<v8::Value>)>> = const { RefCell::new(Vec::new()) };
}

/// A promise-reject callback that keeps nothing.
extern "C" fn ignore_rejection(_message: v8::PromiseRejectMessage) {}

/// The creator's promise-reject callback: keeps the rejections no handler took (a
/// failing async set-up), forgets those a handler was added to later.
extern "C" fn on_promise_reject(message: v8::PromiseRejectMessage) {
    track_rejections(&message, |_, event| {
        UNHANDLED.with(|u| {
            let mut unhandled = u.borrow_mut();
            match event {
                Rejection::Unhandled(id, reason) => unhandled.push((id, reason)),
                Rejection::Handled(id) => unhandled.retain(|(kept, _)| *kept != id),
            }
        })
    });
}

/// Runs `scripts` (`(name, source)`) in order, settling microtasks after each. A
/// promise they rejected that no handler took by the end fails them like a throw (a
/// failing async set-up would otherwise leave a broken snapshot without a word).
fn run_scripts(scope: &mut v8::PinScope<'_, '_>, scripts: &[(&[u8], &[u8])]) -> Result<(), Error> {
    UNHANDLED.with(|u| u.borrow_mut().clear());
    scope.set_promise_reject_callback(on_promise_reject);
    let outcome = run_each(scope, scripts);
    // Later rejections (a FinalizationRegistry cleanup's, before the blob is made) are
    // not kept: a handle left would stop the blob (V8 aborts on one).
    scope.set_promise_reject_callback(ignore_rejection);
    let unhandled = UNHANDLED.with(|u| std::mem::take(&mut *u.borrow_mut()));
    outcome?;
    let Some((_, reason)) = unhandled.into_iter().next() else {
        return Ok(());
    };
    v8::tc_scope!(let tc, scope);
    let reason = v8::Local::new(tc, reason);
    let error = describe_exception(tc, reason, None, None);
    Err(error.with_message_prefix("a promise was rejected with no handler: "))
}

fn run_each(scope: &mut v8::PinScope<'_, '_>, scripts: &[(&[u8], &[u8])]) -> Result<(), Error> {
    v8::tc_scope!(let tc, scope);
    for (name, source) in scripts {
        let name = utf8(name, "a script name")?;
        let source = utf8(source, "a script")?;
        if compile_and_run(tc, source, name, false)?.is_none() {
            let exception = tc.exception();
            let message = tc.message();
            return Err(match exception {
                Some(exception) => describe_exception(tc, exception, message, None),
                None => Error::new(
                    Code::Unknown,
                    "a snapshot script failed without an exception",
                ),
            });
        }
        tc.perform_microtask_checkpoint();
    }
    Ok(())
}
