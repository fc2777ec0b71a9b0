//! Ownership V8 cannot outlive, in the engine: each reproducer of the soundness review
//! as a test named after what it protects.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{platform, run};
use v8rs::engine::HostError;
use v8rs::{CallFlags, Code, Context, Vm, VmOptions};

const AWAIT: CallFlags = CallFlags {
    await_promise: true,
    accept_json: false,
    source_maps: false,
};

/// A host function that counts its calls.
fn counter(calls: &Arc<AtomicUsize>) -> Arc<v8rs::engine::HostFunction> {
    let calls = Arc::clone(calls);
    Arc::new(move |_: &[u8]| {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok(b"u".to_vec())
    })
}

#[test]
fn a_stopped_calls_microtasks_stay_in_its_context() {
    platform();
    let vm = Vm::new().unwrap();
    let (a, b) = (Context::new(&vm).unwrap(), Context::new(&vm).unwrap());
    let calls = Arc::new(AtomicUsize::new(0));
    a.expose(b"f", counter(&calls)).unwrap();
    let leave = b"Promise.resolve().then(() => f()); while (true) {}";
    let stopped = a
        .run_script_with_timeout(leave, b"leave.js", Some(Duration::from_millis(100)))
        .unwrap_err();
    assert_eq!(stopped.code(), Code::Timeout);
    assert_eq!(run(&b, "1 + 1").unwrap(), "2");
    b.run_until_idle(None).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 0, "a's work ran in b");
    run(&a, "0").unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1, "a's own next call runs it");
}

#[test]
fn a_context_torn_down_with_work_queued_cannot_reach_its_vm() {
    platform();
    let vm = Vm::new().unwrap();
    let b = Context::new(&vm).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    for leave in [
        "Promise.resolve().then(() => f()); while (true) {}",
        "Promise.resolve().then(() => setTimeout(() => { f(); while (true) {} }, 0)); while (true) {}",
        "setTimeout(() => f(), 0); queueMicrotask(() => f()); while (true) {}",
    ] {
        let a = Context::new(&vm).unwrap();
        a.expose(b"f", counter(&calls)).unwrap();
        let error = a
            .run_script_with_timeout(leave.as_bytes(), b"leave.js", Some(Duration::from_millis(50)))
            .unwrap_err();
        assert_eq!(error.code(), Code::Timeout);
        drop(a);
        let start = Instant::now();
        assert_eq!(run(&b, "1 + 1").unwrap(), "2");
        b.run_until_idle(Some(Duration::from_secs(5))).unwrap();
        assert!(start.elapsed() < Duration::from_secs(2));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn platform_tasks_of_a_torn_down_context_never_reach_its_host_functions() {
    // A FinalizationRegistry's cleanup is a platform task of the isolate: pumped by
    // another context's event loop, it may run the dead context's JavaScript, whose
    // host functions then find their context gone and throw instead of running.
    platform();
    let vm = Vm::new().unwrap();
    let b = Context::new(&vm).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let a = Context::new(&vm).unwrap();
    a.expose(b"f", counter(&calls)).unwrap();
    run(
        &a,
        "globalThis.registry = new FinalizationRegistry(() => f());\n\
         (() => { for (let i = 0; i < 100; i++) registry.register({}, i) })();",
    )
    .unwrap();
    drop(a);
    vm.low_memory_notification().unwrap();
    b.run_until_idle(Some(Duration::from_secs(5))).unwrap();
    vm.low_memory_notification().unwrap();
    b.run_until_idle(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(run(&b, "1 + 1").unwrap(), "2");
}

#[test]
fn an_initial_heap_size_needs_no_maximum() {
    platform();
    for initial in [1, 8 << 20, 1 << 40] {
        let vm = Vm::with_options(VmOptions {
            initial_heap_size: initial,
            max_heap_size: 0,
        })
        .unwrap();
        assert_eq!(run(&Context::new(&vm).unwrap(), "6 * 7").unwrap(), "42");
    }
}

#[test]
fn deep_values_on_a_small_thread_are_an_error_not_a_crash() {
    platform();
    let vm = Vm::new().unwrap();
    let outcome = thread::Builder::new()
        .stack_size(160 * 1024)
        .spawn(move || {
            let ctx = Context::new(&vm).unwrap();
            let mut codes = Vec::new();
            for kind in ["new Set([v])", "new Map([[1, v]])", "[v]", "({a: v})"] {
                let src = format!(
                    "(() => {{ let v = 1; for (let i = 0; i < 510; i++) v = {kind}; return v }})()"
                );
                codes.push(
                    ctx.eval(src.as_bytes(), b"deep.js", None, CallFlags::default())
                        .err()
                        .map(|e| e.code()),
                );
            }
            // And a deep wire-format value read into JavaScript.
            let mut deep = Vec::new();
            for _ in 0..511 {
                deep.extend_from_slice(b"a\x01\0\0\0");
            }
            deep.push(b'n');
            let args = [b"a\x01\0\0\0".as_slice(), &deep].concat();
            let read = ctx.call(b"(x) => 1", &args, None, CallFlags::default());
            (codes, read.err().map(|e| e.code()))
        })
        .unwrap()
        .join()
        .unwrap();
    for code in outcome.0 {
        assert!(matches!(code, None | Some(Code::Conversion)), "{code:?}");
    }
    assert!(matches!(
        outcome.1,
        None | Some(Code::InvalidArgument | Code::Conversion)
    ));
}

#[test]
fn a_resolver_may_load_modules_in_another_context() {
    platform();
    let vm = Vm::new().unwrap();
    let (main, other) = (Context::new(&vm).unwrap(), Context::new(&vm).unwrap());
    let mut resolver =
        |specifier: &str, _: &str| -> Result<(String, String), v8rs::engine::host::HostError> {
            assert_eq!(specifier, "./inner.js");
            let inner = other
                .run_module(
                    b"export const x = 1",
                    b"other.js",
                    None,
                    None,
                    None,
                    CallFlags::default(),
                )
                .map_err(|e| e.to_string())?;
            assert!(!inner.is_empty());
            Ok(("inner.js".into(), "export const inner = 5".into()))
        };
    main.run_module(
        b"import { inner } from './inner.js'; globalThis.v = inner * 2",
        b"main.js",
        Some(&mut resolver),
        None,
        None,
        CallFlags::default(),
    )
    .unwrap();
    assert_eq!(run(&main, "v").unwrap(), "10");
}

#[test]
fn async_webassembly_settles() {
    let ctx = common::context();
    let empty = "new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])";
    let src = format!("WebAssembly.instantiate({empty}).then((r) => Object.keys(r).join())");
    let out = ctx.eval(src.as_bytes(), b"wasm.js", None, AWAIT).unwrap();
    assert_eq!(out, b"l\x0f\0\0\0module,instance");
}

#[test]
fn a_host_exception_payload_goes_with_its_exception_only() {
    let ctx = common::context();
    let payload: Arc<dyn std::any::Any + Send + Sync> = Arc::new("the KeyError");
    let shared = Arc::clone(&payload);
    ctx.expose(
        b"boom",
        Arc::new(move |_: &[u8]| {
            Err(HostError {
                message: "KeyError: 'k'".into(),
                payload: Some(Arc::clone(&shared)),
            })
        }),
    )
    .unwrap();
    assert_eq!(
        run(&ctx, "try { boom() } catch (e) { e.message }").unwrap(),
        "KeyError: 'k'"
    );
    assert_eq!(
        Arc::strong_count(&payload),
        2,
        "a caught one is dropped with its call"
    );
    let later = run(&ctx, "throw new Error(\"KeyError: 'k'\")").unwrap_err();
    assert!(later.host_payload().is_none());
    let uncaught = run(&ctx, "boom()").unwrap_err();
    let carried = uncaught.host_payload().expect("the payload");
    assert!(Arc::ptr_eq(&carried.0, &payload));
    let rethrown = run(&ctx, "try { boom() } catch (e) { throw e }").unwrap_err();
    assert!(
        rethrown.host_payload().is_some(),
        "rethrown by JavaScript: still its exception"
    );
}

#[test]
fn a_call_waiting_for_a_timer_releases_the_vm() {
    platform();
    let vm = Vm::new().unwrap();
    let waiting = Context::new(&vm).unwrap();
    let other = Context::new(&vm).unwrap();
    let waiter = {
        let waiting = Arc::clone(&waiting);
        thread::spawn(move || {
            let src = b"new Promise((r) => setTimeout(() => r(7), 500))";
            waiting.eval(src, b"wait.js", None, AWAIT)
        })
    };
    thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    assert_eq!(run(&other, "6 * 7").unwrap(), "42");
    assert_eq!(run(&waiting, "'meanwhile'").unwrap(), "meanwhile");
    assert!(start.elapsed() < Duration::from_millis(300));
    let out = waiter.join().unwrap().unwrap();
    assert_eq!(out, [b"i".as_slice(), &7i64.to_le_bytes()].concat());
}

#[test]
fn a_timeout_of_a_waiting_call_stops_only_that_call() {
    platform();
    let vm = Vm::new().unwrap();
    let waiting = Context::new(&vm).unwrap();
    let other = Context::new(&vm).unwrap();
    let waiter = {
        let waiting = Arc::clone(&waiting);
        thread::spawn(move || {
            let src = b"new Promise((r) => setTimeout(r, 10000))";
            waiting.eval(src, b"wait.js", Some(Duration::from_millis(200)), AWAIT)
        })
    };
    // Meanwhile another thread keeps running JavaScript in the VM.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(400) {
        assert_eq!(run(&other, "1 + 1").unwrap(), "2");
    }
    let error = waiter.join().unwrap().unwrap_err();
    assert_eq!(error.code(), Code::Timeout);
}

#[test]
fn a_panicking_host_function_is_a_javascript_error() {
    let ctx = common::context();
    ctx.expose(
        b"explode",
        Arc::new(|_: &[u8]| -> Result<Vec<u8>, HostError> { panic!("on purpose") }),
    )
    .unwrap();
    let caught = run(&ctx, "try { explode() } catch (e) { e.message }").unwrap();
    assert!(
        caught.contains("internal error in v8rs: on purpose"),
        "{caught}"
    );
    assert_eq!(run(&ctx, "1 + 1").unwrap(), "2");
}

#[test]
fn self_is_the_global_object() {
    let ctx = common::context();
    assert_eq!(run(&ctx, "self === globalThis").unwrap(), "true");
}

#[test]
fn webassembly_memories_stay_within_max_heap_size() {
    platform();
    let vm = Vm::with_options(VmOptions {
        initial_heap_size: 0,
        max_heap_size: 64 << 20,
    })
    .unwrap();
    let ctx = Context::new(&vm).unwrap();
    let gigabyte = run(&ctx, "new WebAssembly.Memory({initial: 16384})").unwrap_err();
    assert!(gigabyte.to_string().contains("RangeError"), "{gigabyte}");
    assert_eq!(
        run(&ctx, "new WebAssembly.Memory({initial: 1}).grow(0)").unwrap(),
        "1"
    );
    let grow = "(() => { const m = new WebAssembly.Memory({initial: 1}); \
                try { m.grow(2000); return 'grew' } catch (e) { return e.name } })()";
    assert_eq!(run(&ctx, grow).unwrap(), "RangeError");
    // A bare context of the same VM is bounded too.
    let bare = Context::with_features(&vm, v8rs::WebFeatures::NONE).unwrap();
    assert!(run(&bare, "new WebAssembly.Memory({initial: 4096})").is_err());
}

#[test]
fn scripts_that_tamper_with_the_guard_stay_within_max_heap_size() {
    attacks_stay_within_the_budget(include_str!("fixtures/wasm_attacks.js"), 300 * 65536);
}

#[test]
fn resizable_buffers_stay_within_max_heap_size_whatever_scripts_try() {
    attacks_stay_within_the_budget(include_str!("fixtures/resizable_attacks.js"), 16 << 20);
}

/// The same attacks, defined by a snapshot's script: what that script keeps of the
/// built-ins (before any VM's guard) gets no further than what a VM's scripts keep.
#[test]
fn resizable_buffers_stay_within_max_heap_size_with_built_ins_a_snapshot_kept() {
    platform();
    let fixture = include_str!("fixtures/resizable_attacks.js").as_bytes();
    let snapshot = v8rs::engine::snapshot::create(&[(b"attacks.js", fixture)]).unwrap();
    let snapshot = Arc::new(v8rs::engine::snapshot::Snapshot::open(&snapshot).unwrap());
    attacks_stay_within_the_budget_from(
        include_str!("fixtures/resizable_attacks.js"),
        16 << 20,
        Some(&snapshot),
    );
}

/// Runs each of `fixture`'s `attacks` in a context of its own 64 MiB VM: what it holds at
/// the end is within the VM's budget, and at least `least` bytes (it got something).
fn attacks_stay_within_the_budget(fixture: &str, least: u64) {
    attacks_stay_within_the_budget_from(fixture, least, None);
}

/// [`attacks_stay_within_the_budget`], in VMs made from `snapshot` (whose script defined
/// the attacks) when there is one.
fn attacks_stay_within_the_budget_from(
    fixture: &str,
    least: u64,
    snapshot: Option<&Arc<v8rs::engine::snapshot::Snapshot>>,
) {
    platform();
    const BUDGET: u64 = 64 << 20;
    let names = {
        let ctx = common::context();
        run(&ctx, fixture).unwrap();
        run(&ctx, "Object.keys(attacks).join()").unwrap()
    };
    for name in names.split(',') {
        let options = VmOptions {
            initial_heap_size: 0,
            max_heap_size: BUDGET as usize,
        };
        let vm = match snapshot {
            Some(snapshot) => Vm::from_snapshot(options, snapshot).unwrap(),
            None => Vm::with_options(options).unwrap(),
        };
        let ctx = Context::new(&vm).unwrap();
        if snapshot.is_none() {
            run(&ctx, fixture).unwrap();
        }
        let start = format!(
            "Promise.resolve().then(() => attacks.{name}()).then(\
             (v) => {{ globalThis.result = String(v) }}, \
             (e) => {{ globalThis.result = 'failed: ' + e }})"
        );
        run(&ctx, &start).unwrap();
        ctx.run_until_idle(None).unwrap();
        let held = run(&ctx, "result").unwrap();
        let held: u64 = held.parse().unwrap_or_else(|_| panic!("{name}: {held}"));
        assert!(held <= BUDGET, "{name}: {held} bytes of {BUDGET}");
        assert!(held >= least, "{name}: got only {held} bytes");
    }
}

#[test]
fn a_cached_script_with_top_level_declarations_runs_again() {
    let ctx = common::context();
    for source in ["const q = 1; q", "let r = 2; r", "class K {}; 3"] {
        assert!(!run(&ctx, source).unwrap().is_empty());
        for _ in 0..3 {
            let again = run(&ctx, source).unwrap_err();
            assert!(again.to_string().contains("SyntaxError"), "{again}");
        }
    }
    assert_eq!(run(&ctx, "q + r").unwrap(), "3");
    // Scripts without such declarations run again and again from the cache.
    for n in 1..=5 {
        let counted = run(&ctx, "globalThis.n = (globalThis.n || 0) + 1").unwrap();
        assert_eq!(counted, n.to_string());
    }
}

#[test]
fn a_token_shared_by_two_threads_stops_the_call_still_running() {
    use v8rs::engine::cancel::CancelToken;
    platform();
    let token = CancelToken::new();
    let spinning = Arc::new(std::sync::Barrier::new(2));
    let long = {
        let (token, spinning) = (token.clone(), spinning.clone());
        thread::spawn(move || {
            CancelToken::enter(Some(token));
            let ctx = Context::new(&Vm::new().unwrap()).unwrap();
            ctx.expose(
                b"started",
                Arc::new(move |_: &[u8]| {
                    spinning.wait();
                    Ok(b"u".to_vec())
                }),
            )
            .unwrap();
            let started = Instant::now();
            let stopped = ctx
                .run_script_with_timeout(
                    b"started(); while (true) {}",
                    b"spin.js",
                    Some(Duration::from_secs(20)),
                )
                .unwrap_err();
            (stopped.code(), started.elapsed())
        })
    };
    spinning.wait();
    // Another thread's short call under the same token, while the first one spins.
    CancelToken::enter(Some(token.clone()));
    assert_eq!(run(&common::context(), "1").unwrap(), "1");
    CancelToken::enter(None);
    assert!(token.cancel(), "the spinning call was found");
    let (code, took) = long.join().unwrap();
    assert_eq!(code, Code::Terminated);
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn a_torn_down_contexts_webassembly_reservation_comes_back_after_a_collection() {
    platform();
    let vm = Vm::with_options(VmOptions {
        initial_heap_size: 0,
        max_heap_size: 64 << 20,
    })
    .unwrap();
    // Each context takes three quarters of the budget and is dropped holding it.
    for round in 0..8 {
        let ctx = Context::new(&vm).unwrap();
        let out = run(
            &ctx,
            "globalThis.m = new WebAssembly.Memory({initial: 768}); \
             new Uint8Array(m.buffer).fill(1); m.buffer.byteLength",
        );
        assert_eq!(out.unwrap(), (768 * 65536).to_string(), "round {round}");
    }
}
