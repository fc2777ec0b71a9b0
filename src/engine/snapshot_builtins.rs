//! The members V8 adds to its built-ins in every context made from a snapshot.
//!
//! V8 makes a snapshot's contexts without the features it enables by flags
//! (`Promise.try`, `Math.sumPrecise`, `Error.stackTraceLimit`, `Uint8Array.fromBase64`…)
//! and adds them to each context made from it — aborting the process when it cannot: the
//! built-in was frozen, or the member is there already (a polyfill, or
//! `Error.stackTraceLimit = 50`). So before a snapshot is made, those members are taken
//! back out (VMs get V8's own functions and objects; primitive values are set again in
//! each context, by `realm::reapply_snapshot_values`), and a snapshot that froze such a
//! built-in, or replaced one V8 finds by its name, is refused.

use std::sync::OnceLock;

use crate::engine::error::{Code, Error};
use crate::engine::script::compile_and_run;

pub(crate) use crate::engine::realm::REAPPLY_DATA;

/// The own members of each of V8's built-ins (`Name` and `Name.prototype`) in the current
/// context, as JSON; reads descriptors only (no getter runs).
const PROBE: &str = r#"(() => {
  const { getOwnPropertyNames, getOwnPropertyDescriptor } = Object;
  const out = {};
  const isObject = (v) => v !== null && (typeof v === 'object' || typeof v === 'function');
  for (const name of getOwnPropertyNames(globalThis)) {
    const found = getOwnPropertyDescriptor(globalThis, name);
    if (!found || !('value' in found) || !isObject(found.value) || found.value === globalThis) continue;
    out[name] = getOwnPropertyNames(found.value);
    const proto = typeof found.value === 'function' ? getOwnPropertyDescriptor(found.value, 'prototype') : undefined;
    if (proto && 'value' in proto && isObject(proto.value)) out[name + '.prototype'] = getOwnPropertyNames(proto.value);
  }
  return JSON.stringify(out);
})()"#;

/// The check (see `snapshot_builtins.js`).
const CHECK: &str = include_str!("snapshot_builtins.js");

fn failed(what: &str) -> Error {
    Error::new(Code::Unknown, format!("a snapshot could not {what}"))
}

/// [`PROBE`] in a bare context of a VM (made once per process: the flags cannot change).
/// Called before the creator takes its lock (a VM cannot be made while it works).
pub(crate) fn in_a_vm() -> Result<&'static str, Error> {
    static MEMBERS: OnceLock<String> = OnceLock::new();
    if let Some(members) = MEMBERS.get() {
        return Ok(members);
    }
    let vm = crate::engine::Vm::new()?;
    let context = crate::engine::Context::with_features(&vm, crate::engine::web::WebFeatures(0))?;
    let members = context.run_script(PROBE.as_bytes(), b"v8rs:snapshot-probe");
    context.close();
    vm.close();
    let members = members?.to_str_lossy().into_owned();
    Ok(MEMBERS.get_or_init(|| members))
}

/// [`PROBE`] in a bare context of the creator `scope` (one it does not keep).
pub(crate) fn in_a_creator(scope: &mut v8::PinScope<'_, '_, ()>) -> Result<String, Error> {
    let bare = v8::Context::new(scope, Default::default());
    let scope = &mut v8::ContextScope::new(scope, bare);
    let members = compile_and_run(scope, PROBE, "v8rs:snapshot-probe", false)?
        .ok_or_else(|| failed("list V8's built-ins"))?;
    Ok(members.to_rust_string_lossy(scope))
}

/// `{ prepare }` of `snapshot_builtins.js`, made in the current context.
fn helpers<'s>(scope: &mut v8::PinScope<'s, '_>) -> Result<v8::Local<'s, v8::Object>, Error> {
    compile_and_run(scope, CHECK, "v8rs:snapshot-builtins.js", false)?
        .and_then(|made| v8::Local::<v8::Object>::try_from(made).ok())
        .ok_or_else(|| failed("check V8's built-ins"))
}

/// The function `name` of `object`.
fn method<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    object: v8::Local<'s, v8::Object>,
    name: &str,
) -> Result<v8::Local<'s, v8::Function>, Error> {
    let key = v8::String::new(scope, name).ok_or_else(|| failed("check V8's built-ins"))?;
    object
        .get(scope, key.into())
        .and_then(|f| v8::Local::<v8::Function>::try_from(f).ok())
        .ok_or_else(|| failed("check V8's built-ins"))
}

/// Makes the check in the current context (before the scripts run): it holds the
/// built-ins whose members V8 adds to every context made from a snapshot (those that
/// `vm` lists and `creator` does not).
pub(crate) fn prepare<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    vm: &str,
    creator: &str,
) -> Result<v8::Local<'s, v8::Function>, Error> {
    let made = helpers(scope)?;
    let make = method(scope, made, "prepare")?;
    let parse = |scope: &mut v8::PinScope<'s, '_>, json: &str| {
        let text = v8::String::new(scope, json)?;
        v8::json::parse(scope, text)
    };
    let vm = parse(scope, vm).ok_or_else(|| failed("read V8's built-ins"))?;
    let creator = parse(scope, creator).ok_or_else(|| failed("read V8's built-ins"))?;
    let receiver = v8::undefined(scope).into();
    make.call(scope, receiver, &[vm, creator])
        .and_then(|check| v8::Local::<v8::Function>::try_from(check).ok())
        .ok_or_else(|| failed("check V8's built-ins"))
}

/// Runs the check after the scripts: fails, naming them, when they froze a built-in V8
/// adds members to, defined such a member for good, or replaced a built-in V8 finds by
/// its name. Otherwise returns the data to keep in the snapshot: what to set again in
/// each context (`[path, name, value, …]`), those members taken back out now — or, with
/// `later` (a warm-up runs first, which needs them), the function that takes them out
/// in the final context and returns that ([`strip_later`]).
pub(crate) fn finish<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    check: v8::Local<'s, v8::Function>,
    later: bool,
) -> Result<v8::Local<'s, v8::Value>, Error> {
    let receiver = v8::undefined(scope).into();
    let later = v8::Boolean::new(scope, later).into();
    let outcome = check
        .call(scope, receiver, &[later])
        .and_then(|o| v8::Local::<v8::Object>::try_from(o).ok())
        .ok_or_else(|| failed("check V8's built-ins"))?;
    let field = |scope: &mut v8::PinScope<'s, '_>, name: &str| {
        let key = v8::String::new(scope, name)?;
        outcome.get(scope, key.into())
    };
    let problems = field(scope, "problems")
        .and_then(|p| v8::Local::<v8::Array>::try_from(p).ok())
        .ok_or_else(|| failed("check V8's built-ins"))?;
    if problems.length() > 0 {
        let mut listed = Vec::new();
        for i in 0..problems.length() {
            if let Some(problem) = problems.get_index(scope, i) {
                listed.push(problem.to_rust_string_lossy(scope));
            }
        }
        return Err(Error::invalid_argument(format!(
            "V8 adds members to its built-ins in every context made from a snapshot, and \
             could not here: {} (freeze or replace built-ins after start-up instead)",
            listed.join("; ")
        )));
    }
    field(scope, "data").ok_or_else(|| failed("check V8's built-ins"))
}

/// In the final context of a warm snapshot, before any data is added to it: the function
/// [`finish`] kept (with `later`), which takes out V8's per-context members and returns
/// what to set again.
pub(crate) fn strip_later<'s>(
    scope: &mut v8::PinScope<'s, '_>,
) -> Result<v8::Local<'s, v8::Function>, Error> {
    scope
        .get_context_data_from_snapshot_once::<v8::Function>(REAPPLY_DATA)
        .map_err(|_| failed("find V8's built-ins again"))
}
