//! WebAssembly memories (and resizable buffers) under a VM's `max_heap_size`.
//!
//! The same guard and budget hold resizable `ArrayBuffer`s and growable
//! `SharedArrayBuffer`s, which V8 also maps itself: each reserves what it has committed
//! as it is made, resized, grown or transferred (`wasm_guard.js`).
//!
//! V8 allocates WebAssembly memories with the platform's page allocator, outside both
//! the heap limit and the `ArrayBuffer` allocator, and a memory grows from inside
//! WebAssembly code (`memory.grow`) without any call the embedder sees. What V8 does
//! enforce is each memory's *maximum*. So in a VM with `max_heap_size`, every memory
//! gets a maximum within the VM's WebAssembly budget (`max_heap_size` bytes), and
//! reserves that maximum from the budget while it lives:
//!
//! * `new WebAssembly.Memory(…)` gets `min(its maximum, what is left)` — a memory that
//!   declares none gets what is left;
//! * a module's own memories are capped at the budget when the module is compiled
//!   (`wasm_guard.js` rewrites the limits of its memory section, here), and each
//!   instance reserves their maxima when it is created;
//! * a reservation that does not fit first collects garbage (memories nothing reaches
//!   give theirs back), then throws a `RangeError`.
//!
//! So the memories of a VM can never hold more than `max_heap_size` together, however
//! they grow. A torn-down context's reservations go back to the budget after the next
//! collection (when its memories are gone too).
//!
//! **Snapshots.** A snapshot's scripts run after the guard ([`install_in_snapshot`]),
//! switched off, so the built-ins they keep are its stand-ins; each context a VM with a
//! budget makes from the snapshot switches that guard on ([`install`]), which then also
//! takes in `WebAssembly` and `SharedArrayBuffer` (V8 adds them to each such context,
//! not to the one the scripts ran in).

use std::sync::atomic::Ordering;

use crate::engine::error::{Code, Error};
use crate::engine::natives::{self, native};
use crate::engine::vm::VmShared;

/// The guard's JavaScript (run once per context of a VM with a budget, and in every
/// snapshot's context before its scripts).
const GUARD: &str = include_str!("wasm_guard.js");

/// Bytes in a WebAssembly page.
const PAGE: u64 = 65536;

/// The guard's natives (its `native` object), made once: a snapshot's guard refers to
/// each callback by its place in [`crate::engine::startup`]'s list, so each must be one
/// function.
pub(crate) static GUARD_NATIVES: std::sync::LazyLock<[(&str, v8::FunctionCallback); 6]> =
    std::sync::LazyLock::new(|| {
        [
            ("reserve", native!(reserve)),
            ("release", native!(release)),
            ("available", native!(available)),
            ("collect", native!(collect)),
            ("clamp", native!(clamp)),
            ("wrap", native!(wrap)),
        ]
    });

/// The callback of every function [`wrap`] makes (in snapshots too: see
/// [`GUARD_NATIVES`]).
pub(crate) static FORWARD: std::sync::LazyLock<v8::FunctionCallback> =
    std::sync::LazyLock::new(|| native!(forward));

/// The private key under which a snapshot's global keeps its guard's `activate`.
const ACTIVATE_KEY: &str = "v8rs.wasm.activate";

/// Puts the current context under its VM's budget, when it has one (nothing otherwise,
/// and nothing in a context without `WebAssembly`): the guard a snapshot's context
/// holds is switched on; any other context gets one now, before any script runs.
pub(crate) fn install(scope: &mut v8::PinScope<'_, '_>) -> Result<(), Error> {
    let Some(budget) = VmShared::of(scope).and_then(|s| s.wasm_budget.as_ref()) else {
        return Ok(());
    };
    let budget = budget.limit();
    v8::tc_scope!(let tc, scope);
    let activated = kept_activate(tc)
        .or_else(|| run_guard(tc))
        .and_then(|activate| {
            let budget = v8::Number::new(tc, budget as f64);
            let receiver = v8::undefined(tc).into();
            activate.call(tc, receiver, &[budget.into()])
        });
    if activated.is_none() {
        return Err(guard_failed(
            tc,
            "cannot install the WebAssembly memory limits",
        ));
    }
    Ok(())
}

/// Installs the guard, switched off, in the context of a snapshot being made, before its
/// scripts run: whatever of the built-ins they keep is then the guard's stand-ins, which
/// a VM with a budget switches on ([`install`]); elsewhere they do what the built-ins do.
pub(crate) fn install_in_snapshot(scope: &mut v8::PinScope<'_, '_>) -> Result<(), Error> {
    v8::tc_scope!(let tc, scope);
    let kept = run_guard(tc).and_then(|activate| {
        let key = activate_key(tc)?;
        let global = tc.get_current_context().global(tc);
        global.set_private(tc, key, activate.into())
    });
    if kept != Some(true) {
        return Err(guard_failed(
            tc,
            "a snapshot could not install its memory limits",
        ));
    }
    Ok(())
}

/// The error for a guard that could not be installed: `what`, and why.
fn guard_failed(tc: &mut v8::PinnedRef<'_, v8::TryCatch<v8::HandleScope>>, what: &str) -> Error {
    let detail = match tc.exception() {
        Some(exception) => exception.to_rust_string_lossy(tc),
        None => "it was stopped".into(),
    };
    Error::new(Code::Unknown, format!("{what}: {detail}"))
}

fn activate_key<'s>(scope: &mut v8::PinScope<'s, '_>) -> Option<v8::Local<'s, v8::Private>> {
    let name = v8::String::new(scope, ACTIVATE_KEY)?;
    Some(v8::Private::for_api(scope, Some(name)))
}

/// The `activate` of the guard the current context's snapshot holds, taken off its
/// global (`None` for a context without one).
fn kept_activate<'s>(scope: &mut v8::PinScope<'s, '_>) -> Option<v8::Local<'s, v8::Function>> {
    let key = activate_key(scope)?;
    let global = scope.get_current_context().global(scope);
    let kept = global.get_private(scope, key)?;
    let activate = v8::Local::<v8::Function>::try_from(kept).ok()?;
    global.delete_private(scope, key)?;
    Some(activate)
}

/// Runs the guard's script in the current context: its `activate(budgetBytes)`.
fn run_guard<'s>(scope: &mut v8::PinScope<'s, '_>) -> Option<v8::Local<'s, v8::Function>> {
    let object = v8::Object::new(scope);
    for &(name, callback) in GUARD_NATIVES.iter() {
        let function = natives::function(scope, name, callback, None)?;
        let key = v8::String::new(scope, name)?;
        object.set(scope, key.into(), function.into())?;
    }
    let install = natives::run_internal(scope, GUARD, "v8rs:wasm_guard.js")?;
    let install = v8::Local::<v8::Function>::try_from(install).ok()?;
    let receiver = v8::undefined(scope).into();
    let activate = install.call(scope, receiver, &[object.into()])?;
    v8::Local::<v8::Function>::try_from(activate).ok()
}

/// A non-negative whole number of bytes from `value`.
fn bytes_arg(scope: &mut v8::PinScope<'_, '_>, value: v8::Local<'_, v8::Value>) -> usize {
    value
        .number_value(scope)
        .filter(|n| *n > 0.0)
        .map_or(0, |n| n.min(usize::MAX as f64) as usize)
}

/// `reserve(bytes)`: whether the budget had room (then the context holds them).
fn reserve<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<'s, v8::Value>,
) {
    let Some((realm, _)) = natives::realm(scope, &args) else {
        return;
    };
    let bytes = bytes_arg(scope, args.get(0));
    let Some(budget) = VmShared::of(scope).and_then(|s| s.wasm_budget.as_ref()) else {
        return rv.set_bool(true);
    };
    let fits = budget.reserve(bytes);
    if fits {
        realm.wasm_reserved.fetch_add(bytes, Ordering::Relaxed);
    }
    rv.set_bool(fits);
}

/// `release(bytes)`: gives back what a memory no longer alive held.
fn release<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    _rv: v8::ReturnValue<'s, v8::Value>,
) {
    let Some((realm, _)) = natives::realm(scope, &args) else {
        return;
    };
    let wanted = bytes_arg(scope, args.get(0));
    let Some(budget) = VmShared::of(scope).and_then(|s| s.wasm_budget.as_ref()) else {
        return;
    };
    let held = realm
        .wasm_reserved
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
            Some(held - wanted.min(held))
        })
        .unwrap_or(0);
    budget.release(wanted.min(held));
}

/// `available()`: the bytes left in the budget.
fn available<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    _args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<'s, v8::Value>,
) {
    let left = VmShared::of(scope)
        .and_then(|s| s.wasm_budget.as_ref())
        .map_or(0, |b| b.available());
    rv.set_double(left as f64);
}

/// `collect()`: a full garbage collection, so memories nothing reaches can be pruned;
/// the reservations of contexts torn down before it go back.
fn collect<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    _args: v8::FunctionCallbackArguments<'s>,
    _rv: v8::ReturnValue<'s, v8::Value>,
) {
    let shared = VmShared::of(scope).cloned();
    // Taken before the collection: what it then frees includes their memories.
    let deferred = shared.as_ref().map_or(0, |s| s.take_deferred_wasm());
    // The guard's `deref`s (and the script's) keep their targets until the job ends:
    // let this collection take what nothing else reaches, or a job that makes and drops
    // many buffers would meet the limit with all of them still counted.
    scope.clear_kept_objects();
    scope.low_memory_notification();
    if deferred > 0 {
        // A torn-down context's objects take a second collection to go (measured:
        // its memories are still mapped after one).
        scope.low_memory_notification();
    }
    if let Some(budget) = shared.as_ref().and_then(|s| s.wasm_budget.as_ref()) {
        budget.release(deferred);
    }
}

/// The private key of the current context's list of what [`wrap`]ped functions call.
const STAND_INS_KEY: &str = "v8rs.wasm.standIns";

/// The current context's list of what [`wrap`]ped functions call (made when `make`).
///
/// A wrapped function finds its `impl` here by its number, not in data of its own: V8
/// keeps a native function's data with its template, outside the context, so a snapshot
/// would give that data (and the guard's state it closes over) a second copy, apart from
/// the context's own.
fn stand_ins<'s>(scope: &mut v8::PinScope<'s, '_>, make: bool) -> Option<v8::Local<'s, v8::Array>> {
    let name = v8::String::new(scope, STAND_INS_KEY)?;
    let key = v8::Private::for_api(scope, Some(name));
    let global = scope.get_current_context().global(scope);
    let found = global.get_private(scope, key)?;
    if let Ok(list) = v8::Local::<v8::Array>::try_from(found) {
        return Some(list);
    }
    if !make {
        return None;
    }
    let list = v8::Array::new(scope, 0);
    let null = v8::null(scope).into();
    list.set_prototype(scope, null)?;
    global.set_private(scope, key, list.into())?;
    Some(list)
}

/// `wrap(impl, name, length, constructs)`: a native function named `name` that calls
/// `impl` with its receiver as `this` and `new.target` before its arguments, and gives
/// back what `impl` returns (so a stand-in reads as native code, as what it stands for
/// does). With `constructs`, it is a constructor (its `prototype` is set by the guard).
fn wrap<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<'s, v8::Value>,
) {
    let Ok(implementation) = v8::Local::<v8::Function>::try_from(args.get(0)) else {
        return natives::throw_type_error(scope, "wrap: not a function");
    };
    let Some(name) = args.get(1).to_string(scope) else {
        return;
    };
    let length = args.get(2).int32_value(scope).unwrap_or(0);
    let behavior = if args.get(3).boolean_value(scope) {
        v8::ConstructorBehavior::Allow
    } else {
        v8::ConstructorBehavior::Throw
    };
    let Some(list) = stand_ins(scope, true) else {
        return;
    };
    let index = list.length();
    let at = v8::Integer::new_from_unsigned(scope, index);
    // (The list has no prototype: no setter a script defined runs.)
    if list.set_index(scope, index, implementation.into()) != Some(true) {
        return;
    }
    let built = v8::Function::builder_raw(*FORWARD)
        .data(at.into())
        .length(length)
        .constructor_behavior(behavior)
        .build(scope);
    if let Some(function) = built {
        function.set_name(name);
        rv.set(function.into());
    }
}

/// The body of a [`wrap`]ped function: its `impl` (found by the number that is its
/// data) called with `new.target` and then the arguments.
fn forward<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<'s, v8::Value>,
) {
    let Some(index) = args.data().uint32_value(scope) else {
        return;
    };
    let Some(implementation) = stand_ins(scope, false)
        .and_then(|list| list.get_index(scope, index))
        .and_then(|found| v8::Local::<v8::Function>::try_from(found).ok())
    else {
        return natives::throw_error(scope, "this function's context was torn down");
    };
    let mut argv = Vec::with_capacity(args.length() as usize + 1);
    argv.push(args.new_target());
    for i in 0..args.length() {
        argv.push(args.get(i));
    }
    if let Some(value) = implementation.call(scope, args.this().into(), &argv) {
        rv.set(value);
    }
}

/// `clamp(source, maxPages)`: `[a copy of the module bytes with every memory's maximum
/// at most maxPages, the sum of those maxima in bytes]`; `[source, 0]` when `source` is
/// not bytes (an `ArrayBuffer`, `SharedArrayBuffer` or view — checked here, where
/// scripts cannot fake it), so V8 throws its own `TypeError`. Throws a `RangeError` for a
/// memory whose initial size is larger, or whose limits it cannot read.
fn clamp<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<'s, v8::Value>,
) {
    let source = args.get(0);
    let max_pages = args.get(1).number_value(scope).unwrap_or(0.0).max(0.0) as u64;
    let bytes = if let Ok(view) = v8::Local::<v8::ArrayBufferView>::try_from(source) {
        natives::view_bytes(view)
    } else if let Ok(buffer) = v8::Local::<v8::ArrayBuffer>::try_from(source) {
        store_bytes(&buffer.get_backing_store(), buffer.byte_length())
    } else if let Ok(buffer) = v8::Local::<v8::SharedArrayBuffer>::try_from(source) {
        store_bytes(&buffer.get_backing_store(), buffer.byte_length())
    } else {
        let zero = v8::Number::new(scope, 0.0);
        return rv.set(v8::Array::new_with_elements(scope, &[source, zero.into()]).into());
    };
    match clamp_memories(&bytes, max_pages) {
        Ok((clamped, pages)) => {
            let Some(array) = natives::uint8_array(scope, clamped) else {
                return;
            };
            let reserved = v8::Number::new(scope, (pages * PAGE) as f64);
            rv.set(v8::Array::new_with_elements(scope, &[array.into(), reserved.into()]).into());
        }
        Err(why) => natives::throw_range_error(scope, &format!("WebAssembly.Module: {why}")),
    }
}

/// A copy of the first `length` bytes of `store` (none when it is detached).
fn store_bytes(store: &v8::SharedRef<v8::BackingStore>, length: usize) -> Vec<u8> {
    let length = length.min(store.byte_length());
    if length == 0 {
        return Vec::new();
    }
    store[..length].iter().map(std::cell::Cell::get).collect()
}

/// Reads an unsigned LEB128 number of at most `bits` bits at `*at`.
fn leb(bytes: &[u8], at: &mut usize, bits: u32) -> Option<u64> {
    let mut value: u64 = 0;
    let mut shift = 0;
    loop {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return (bits >= 64 || value >> bits == 0).then_some(value);
        }
        shift += 7;
        if shift >= bits + 7 {
            return None;
        }
    }
}

fn push_leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// `module` with each memory it defines capped at `max_pages`, and the sum of their
/// maxima (in pages). Bytes that are not a module come back as they are (V8 rejects
/// them); a memory section this cannot read, or a memory larger than `max_pages` to
/// begin with, is an error.
pub(crate) fn clamp_memories(module: &[u8], max_pages: u64) -> Result<(Vec<u8>, u64), String> {
    const HEADER: usize = 8;
    if module.len() < HEADER || &module[..4] != b"\0asm" {
        return Ok((module.to_vec(), 0));
    }
    let mut out = module[..HEADER].to_vec();
    let mut at = HEADER;
    let mut reserved: u64 = 0;
    while at < module.len() {
        let id = module[at];
        let mut cursor = at + 1;
        let Some(size) = leb(module, &mut cursor, 32) else {
            return Ok((module.to_vec(), reserved)); // malformed: V8 rejects it
        };
        let end = cursor.saturating_add(size as usize);
        if end > module.len() {
            return Ok((module.to_vec(), reserved));
        }
        if id == 5 {
            let (section, pages) = clamp_section(&module[cursor..end], max_pages)?;
            reserved = reserved.saturating_add(pages);
            out.push(5);
            push_leb(&mut out, section.len() as u64);
            out.extend_from_slice(&section);
        } else {
            out.extend_from_slice(&module[at..end]);
        }
        at = end;
    }
    Ok((out, reserved))
}

/// The memory section `section` with capped maxima, and the sum of those maxima.
fn clamp_section(section: &[u8], max_pages: u64) -> Result<(Vec<u8>, u64), String> {
    let unreadable = || "its memory section cannot be read".to_string();
    let mut at = 0;
    let count = leb(section, &mut at, 32).ok_or_else(unreadable)?;
    let mut out = Vec::with_capacity(section.len() + 8);
    push_leb(&mut out, count);
    let mut reserved: u64 = 0;
    for _ in 0..count {
        let flags = *section.get(at).ok_or_else(unreadable)?;
        at += 1;
        // Bit 0: has a maximum; bit 1: shared; bit 2: 64-bit. Anything else (custom
        // page sizes) is refused rather than passed through unchecked.
        if flags & !0x07 != 0 {
            return Err(format!(
                "memory limits with flags {flags:#04x} are not supported in a VM with \
                 max_heap_size"
            ));
        }
        let bits = if flags & 0x04 != 0 { 64 } else { 32 };
        let initial = leb(section, &mut at, bits).ok_or_else(unreadable)?;
        let declared = if flags & 0x01 != 0 {
            Some(leb(section, &mut at, bits).ok_or_else(unreadable)?)
        } else {
            None
        };
        if initial > max_pages {
            return Err(format!(
                "a memory of {initial} pages ({} bytes) is more than the VM's max_heap_size \
                 allows ({max_pages} pages)",
                initial.saturating_mul(PAGE)
            ));
        }
        let maximum = declared
            .map_or(max_pages, |m| m.min(max_pages))
            .max(initial);
        reserved = reserved.saturating_add(maximum);
        out.push(flags | 0x01);
        push_leb(&mut out, initial);
        push_leb(&mut out, maximum);
    }
    if at != section.len() {
        return Err(unreadable());
    }
    Ok((out, reserved))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module with one memory section holding `memories`.
    fn module(memories: &[u8]) -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.push(5);
        push_leb(&mut m, memories.len() as u64);
        m.extend_from_slice(memories);
        m
    }

    #[test]
    fn leb_numbers_round_trip_and_overlong_ones_fail() {
        for n in [0u64, 1, 127, 128, 16384, u32::MAX as u64] {
            let mut out = Vec::new();
            push_leb(&mut out, n);
            let mut at = 0;
            assert_eq!(leb(&out, &mut at, 32), Some(n));
            assert_eq!(at, out.len());
        }
        let mut at = 0;
        assert_eq!(
            leb(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01], &mut at, 32),
            None
        );
        let mut at = 0;
        assert_eq!(leb(&[0xff, 0xff, 0xff, 0xff, 0x7f], &mut at, 32), None); // > 2^32
        let mut at = 0;
        assert_eq!(leb(&[0x80], &mut at, 32), None); // cut short
    }

    #[test]
    fn memories_get_a_maximum_within_the_budget() {
        // (memory 1) with no maximum → (memory 1 16)
        let (out, pages) = clamp_memories(&module(&[1, 0x00, 1]), 16).unwrap();
        assert_eq!(out, module(&[1, 0x01, 1, 16]));
        assert_eq!(pages, 16);
        // (memory 2 4) stays, (memory 1 65536) is capped
        let mut memories = vec![2, 0x01, 2, 4, 0x01, 1];
        push_leb(&mut memories, 65536);
        let (out, pages) = clamp_memories(&module(&memories), 16).unwrap();
        assert_eq!(out, module(&[2, 0x01, 2, 4, 0x01, 1, 16]));
        assert_eq!(pages, 20);
    }

    #[test]
    fn memories_larger_than_the_budget_and_unknown_flags_are_refused() {
        let mut memories = vec![1, 0x00];
        push_leb(&mut memories, 16384);
        assert!(clamp_memories(&module(&memories), 1024)
            .unwrap_err()
            .contains("16384 pages"));
        assert!(clamp_memories(&module(&[1, 0x08, 1, 16]), 1024).is_err());
        assert!(clamp_memories(&module(&[1, 0x00]), 1024).is_err()); // cut short
    }

    #[test]
    fn other_sections_and_non_modules_pass_unchanged() {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend_from_slice(&[1, 4, 1, 0x60, 0, 0]); // a type section
        assert_eq!(clamp_memories(&m, 16).unwrap(), (m.clone(), 0));
        assert_eq!(clamp_memories(b"text", 16).unwrap(), (b"text".to_vec(), 0));
    }
}
