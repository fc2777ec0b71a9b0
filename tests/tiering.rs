//! Hot functions get optimized code even though every call takes the VM's lock anew
//! (see `DEFAULT_FLAGS` in `platform.rs`). A process of its own: V8's natives syntax
//! (`%GetOptimizationStatus`) is a platform flag.

use std::sync::Once;
use std::time::Duration;

use v8rs::{CallFlags, Context, Vm};

/// Bits of `%GetOptimizationStatus` (V8's `OptimizationStatus`).
const MAGLEVVED: i64 = 1 << 4;
const BASELINE: i64 = 1 << 14;
const TURBOFANNED: i64 = 1 << 5;
const OPTIMIZING_CONCURRENTLY: i64 = 1 << 9;

fn platform() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        v8rs::engine::platform::set_up("--allow-natives-syntax").expect("platform");
    });
}

fn status_of(ctx: &Context, function: &str) -> i64 {
    let script = format!("%GetOptimizationStatus({function})");
    let text = ctx
        .run_script(script.as_bytes(), b"status.js")
        .expect("status");
    std::str::from_utf8(text.as_bytes())
        .expect("utf-8")
        .parse()
        .expect("a number")
}

fn status(ctx: &Context) -> i64 {
    status_of(ctx, "hot")
}

#[test]
fn a_function_made_hot_by_many_calls_runs_optimized_code() {
    platform();
    let vm = Vm::new().expect("vm");
    let ctx = Context::new(&vm).expect("context");
    let hot = b"function hot(d) { let s = ''; for (const k in d) s += k + d[k]; return s }";
    ctx.run_script(hot, b"hot.js").expect("script");
    let args = br#"[{"a": 1, "b": "two", "c": 3}]"#;
    for _ in 0..200 {
        for _ in 0..100 {
            ctx.call_json(b"hot", args, None, CallFlags::default())
                .expect("call");
        }
        // Between calls, with the lock released: where a background compile used to
        // finish, and its code be lost with the interrupt that asked to install it.
        std::thread::sleep(Duration::from_millis(1));
        let now = status(&ctx);
        if now & (MAGLEVVED | TURBOFANNED) != 0 {
            return;
        }
        assert_eq!(
            now & OPTIMIZING_CONCURRENTLY,
            0,
            "hot is compiled in the background (status {now:#x})"
        );
    }
    panic!("hot still runs unoptimized after 20000 calls");
}

#[test]
fn warm_functions_called_across_calls_get_baseline_code() {
    platform();
    let vm = Vm::new().expect("vm");
    let ctx = Context::new(&vm).expect("context");
    let functions: String = (0..40)
        .map(|i| format!("function f{i}(d) {{ let s = 0; for (let j = 0; j < 30; j++) s += j * {i} + d.a; return s }}\n"))
        .collect();
    ctx.run_script(functions.as_bytes(), b"warm.js")
        .expect("script");
    for round in 0..20 {
        for i in 0..40 {
            let name = format!("f{i}");
            let args = format!("[{{\"a\": {round}}}]");
            ctx.call_json(name.as_bytes(), args.as_bytes(), None, CallFlags::default())
                .expect("call");
        }
        std::thread::sleep(Duration::from_millis(2)); // the lock released, as above
    }
    let compiled = (0..40)
        .filter(|i| status_of(&ctx, &format!("f{i}")) & (BASELINE | MAGLEVVED | TURBOFANNED) != 0)
        .count();
    // With background (concurrent) Sparkplug, up to 40 of them were left without code
    // (28 of 40 had it in most runs here, 0 and 13 in the review's).
    assert!(
        compiled >= 36,
        "{compiled} of 40 warm functions have compiled code"
    );
}
