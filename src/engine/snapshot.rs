//! Startup snapshots: run scripts once, save the heap, and start VMs from it
//! ([`crate::engine::Vm::with_snapshot`]; the file format is in `snapshot_file.rs`).
//!
//! What a snapshot holds: the globals the scripts left (functions and closures
//! included; microtasks run first, a promise nothing can settle stays pending). What it
//! cannot hold: host functions (`expose`), which belong to a context of a running VM,
//! and `Intl` objects still reachable (V8 aborts the process).
//!
//! All the isolates of a process share one read-only heap (V8's "shared RO heap"): the
//! one of the first isolate. A snapshot creator that starts from nothing builds a
//! read-only heap of its own and moves objects of the scripts into it, so its blob
//! cannot live beside VMs made otherwise — V8 reads the wrong objects (globals go
//! missing) or crashes. So the creator is made while an isolate with V8's built-in
//! snapshot lives (a *keeper*, made here if no VM lives): it then shares the built-in
//! read-only heap, and every snapshot made by v8rs — in this process or another — is
//! compatible with every VM.

use crate::engine::error::{Code, Error};
use crate::engine::exception::describe_exception;
use crate::engine::script::{compile_and_run, utf8};
use crate::engine::snapshot_file::{self, CREATING};
use crate::engine::vm::{check_not_inside_vm, Vm};

/// Runs `scripts` — `(name, source)` pairs, in order — in a fresh context and returns
/// the snapshot of the heap they leave.
pub fn create(scripts: &[(&[u8], &[u8])]) -> Result<Vec<u8>, Error> {
    let _platform = crate::engine::platform::acquire()?;
    check_not_inside_vm()?;
    // One creator at a time, and no VM created meanwhile.
    let _no_new_vms = CREATING.write();
    // Shares the built-in read-only heap with the creator (see the module docs).
    let _keeper = (Vm::live_count() == 0).then(|| v8::Isolate::new(v8::CreateParams::default()));
    let mut creator = v8::Isolate::snapshot_creator(None, None);
    creator.set_microtasks_policy(v8::MicrotasksPolicy::Explicit);
    let outcome = {
        v8::scope!(let scope, &mut creator);
        let context = v8::Context::new(scope, Default::default());
        let scope = &mut v8::ContextScope::new(scope, context);
        let outcome = run_scripts(scope, scripts);
        scope.set_default_context(context);
        outcome
    };
    // The creator must make its blob before it goes, even after a failure.
    // (It consumes the creator, which goes before the keeper: isolates entered on this
    // thread go in reverse order.)
    let blob = creator.create_blob(v8::FunctionCodeHandling::Keep);
    outcome?;
    let blob = blob.ok_or_else(|| Error::new(Code::Unknown, "V8 could not make the snapshot"))?;
    Ok(snapshot_file::wrap(&blob))
}

/// Runs `scripts` (`(name, source)`) in order, settling microtasks after each.
fn run_scripts(scope: &mut v8::PinScope<'_, '_>, scripts: &[(&[u8], &[u8])]) -> Result<(), Error> {
    v8::tc_scope!(let tc, scope);
    for (name, source) in scripts {
        let name = utf8(name, "a script name")?;
        let source = utf8(source, "a script")?;
        if compile_and_run(tc, source, name)?.is_none() {
            let exception = tc.exception();
            let message = tc.message();
            return Err(match exception {
                Some(exception) => describe_exception(tc, exception, message),
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
