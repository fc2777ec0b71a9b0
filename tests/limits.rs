//! Stopping JavaScript: timeouts, termination from another thread, heap limits.

mod common;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::run;
use v8rs::{Code, Context, Vm, VmOptions};

const MIB: usize = 1 << 20;

fn vm_with_heap(max: usize) -> (Arc<Vm>, Arc<Context>) {
    common::platform();
    let vm = Vm::with_options(VmOptions {
        initial_heap_size: 0,
        max_heap_size: max,
    })
    .unwrap();
    let ctx = Context::new(&vm).unwrap();
    (vm, ctx)
}

fn run_for(ctx: &Context, src: &str, timeout: Duration) -> Result<String, v8rs::Error> {
    ctx.run_script_with_timeout(src.as_bytes(), b"limits.js", Some(timeout))
        .map(|t| t.to_str_lossy().into_owned())
}

#[test]
fn an_endless_loop_times_out_and_the_context_lives_on() {
    let ctx = common::context();
    run(&ctx, "var kept = 'yes'").unwrap();
    let start = Instant::now();
    let err = run_for(&ctx, "while (true) {}", Duration::from_millis(100)).unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.code(), Code::Timeout, "{err}");
    assert!(
        took >= Duration::from_millis(100),
        "stopped early: {took:?}"
    );
    assert!(took < Duration::from_secs(2), "stopped late: {took:?}");
    assert_eq!(run(&ctx, "1 + 1").unwrap(), "2");
    assert_eq!(run(&ctx, "kept").unwrap(), "yes");
    // A generous timeout does not disturb a quick script, nor does an expired one later.
    assert_eq!(
        run_for(&ctx, "6 * 7", Duration::from_secs(5)).unwrap(),
        "42"
    );
}

#[test]
fn terminate_from_another_thread() {
    common::platform();
    let vm = Vm::new().unwrap();
    let ctx = Context::new(&vm).unwrap();
    assert!(!vm.terminate(), "nothing is running yet");
    assert_eq!(run(&ctx, "'not affected'").unwrap(), "not affected");
    let runner = {
        let ctx = Arc::clone(&ctx);
        thread::spawn(move || run(&ctx, "for (;;) {}"))
    };
    let mut stopped = false;
    for _ in 0..200 {
        thread::sleep(Duration::from_millis(10));
        if vm.terminate() {
            stopped = true;
            break;
        }
    }
    assert!(stopped);
    let err = runner.join().unwrap().unwrap_err();
    assert_eq!(err.code(), Code::Terminated);
    assert_eq!(run(&ctx, "'usable'").unwrap(), "usable");
}

#[test]
fn js_cannot_catch_a_timeout() {
    let ctx = common::context();
    let src = "try { while (true) {} } catch (e) { 'caught' } finally { 'finally' }";
    let err = run_for(&ctx, src, Duration::from_millis(50)).unwrap_err();
    assert_eq!(err.code(), Code::Timeout);
}

#[test]
fn a_timeout_while_another_thread_waits_for_the_vm() {
    let ctx = common::context();
    let looping = {
        let ctx = Arc::clone(&ctx);
        thread::spawn(move || run_for(&ctx, "while (true) {}", Duration::from_millis(200)))
    };
    thread::sleep(Duration::from_millis(50));
    // This call waits for the VM, then runs once the loop is stopped.
    let waiting = {
        let ctx = Arc::clone(&ctx);
        thread::spawn(move || run_for(&ctx, "'second'", Duration::from_millis(100)))
    };
    assert_eq!(looping.join().unwrap().unwrap_err().code(), Code::Timeout);
    assert_eq!(waiting.join().unwrap().unwrap(), "second");
}

#[test]
fn memory_bombs_stop_with_out_of_memory_and_the_vm_recovers() {
    let (vm, ctx) = vm_with_heap(64 * MIB);
    let bombs = [
        "(function () { var a = []; while (true) a.push({ n: a.length, s: 'x' + a.length }); })()",
        "(function () { var m = new Map(); for (var i = 0; ; i++) m.set(i, [i, i, i]); })()",
        "(function () { var s = []; while (true) s.push(new Array(10000).fill(1.5)); })()",
    ];
    // The process must survive this 100 times in a row, and the VM stay usable.
    for round in 0..100 {
        let bomb = bombs[round % bombs.len()];
        let err = run(&ctx, bomb).unwrap_err();
        assert_eq!(err.code(), Code::OutOfMemory, "round {round}: {err}");
        assert_eq!(run(&ctx, "1 + 1").unwrap(), "2", "round {round}");
    }
    // Put back where it was (the old generation's limit, not the whole heap's as that).
    let stats = vm.heap_stats().unwrap();
    assert_eq!(stats.heap_size_limit, 64 * MIB, "limit restored: {stats:?}");
}

#[test]
fn single_huge_allocations_are_js_errors() {
    let (_vm, ctx) = vm_with_heap(64 * MIB);
    for src in [
        "var s = 'x'; while (true) s += s;",
        "new Uint8Array(2 ** 40)",
        "new Array(2 ** 32)",
    ] {
        let err = run(&ctx, src).unwrap_err();
        assert!(
            matches!(err.code(), Code::JsError | Code::OutOfMemory),
            "{src}: {err}"
        );
        assert_eq!(run(&ctx, "'alive'").unwrap(), "alive");
    }
}

#[test]
fn a_refused_array_buffer_is_a_range_error_the_script_may_catch() {
    let (_vm, ctx) = vm_with_heap(64 * MIB);
    let caught = run(
        &ctx,
        "let caught = 0;
         for (let i = 0; i < 20; i++) {
           try { new ArrayBuffer(2 ** 31) } catch (e) { if (String(e).startsWith('RangeError')) caught++ }
         }
         caught",
    )
    .unwrap();
    assert_eq!(caught, "20");
}

#[test]
fn buffers_the_web_apis_make_are_held_against_the_limit() {
    let (_vm, ctx) = vm_with_heap(64 * MIB);
    let encode = |keep: bool| {
        format!(
            "(() => {{
               const text = 'x'.repeat(2 ** 20), kept = []; let total = 0;
               for (let i = 0; i < 100; i++) {{
                 const bytes = new TextEncoder().encode(text);
                 total += bytes.length;
                 if ({keep}) kept.push(bytes);
               }}
               return total;
             }})()"
        )
    };
    let err = run(&ctx, &encode(true)).unwrap_err();
    assert_eq!(err.code(), Code::JsError, "{err}");
    assert!(
        err.to_string()
            .contains("RangeError: Array buffer allocation failed"),
        "{err}"
    );
    // Dropped as they come, they make room again (a collection gives their bytes back).
    assert_eq!(run(&ctx, &encode(false)).unwrap(), (100 * MIB).to_string());
}

#[test]
fn memory_held_by_globals_after_a_stop() {
    let (vm, ctx) = vm_with_heap(32 * MIB);
    let err = run(
        &ctx,
        "var hoard = []; while (true) hoard.push([hoard.length])",
    )
    .unwrap_err();
    assert_eq!(err.code(), Code::OutOfMemory);
    // What the globals hold stays; whatever the VM can still do, it fails cleanly.
    match run(&ctx, "hoard.length > 1000") {
        Ok(answer) => assert_eq!(answer, "true"),
        Err(err) => assert_eq!(err.code(), Code::OutOfMemory, "{err}"),
    }
    if vm.check_usable().is_ok() {
        let err = run(&ctx, "while (true) hoard.push([hoard.length])").unwrap_err();
        assert_eq!(err.code(), Code::OutOfMemory);
        if vm.check_usable().is_ok() {
            // Dropping the hoard gives the memory back.
            run(&ctx, "hoard = null").unwrap();
            vm.low_memory_notification().unwrap();
            assert!(vm.heap_stats().unwrap().used_heap_size < 8 * MIB);
        }
    } else {
        let err = run(&ctx, "1").unwrap_err();
        assert!(
            err.message().to_str_lossy().contains("create a new VM"),
            "{err}"
        );
    }
    // Other VMs are unaffected.
    assert_eq!(run(&common::context(), "'fresh'").unwrap(), "fresh");
}

#[test]
fn heap_stats_and_low_memory_notification() {
    let (vm, ctx) = vm_with_heap(64 * MIB);
    run(
        &ctx,
        "var junk = []; for (var i = 0; i < 1e5; i++) junk.push({i}); junk = null",
    )
    .unwrap();
    let before = vm.heap_stats().unwrap();
    assert!(before.used_heap_size > 0 && before.used_heap_size <= before.total_heap_size);
    assert!(before.heap_size_limit >= 64 * MIB && before.heap_size_limit <= 80 * MIB);
    assert_eq!(before.number_of_native_contexts, 1);
    vm.low_memory_notification().unwrap();
    let after = vm.heap_stats().unwrap();
    assert!(
        after.used_heap_size < before.used_heap_size,
        "{before:?} -> {after:?}"
    );
}

#[test]
fn impossible_heap_sizes_are_invalid_arguments() {
    common::platform();
    let err = Vm::with_options(VmOptions {
        initial_heap_size: 64 * MIB,
        max_heap_size: 32 * MIB,
    })
    .err()
    .unwrap();
    assert_eq!(err.code(), Code::InvalidArgument);
}
