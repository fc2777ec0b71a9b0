//! Hot functions get optimized code even though every call takes the VM's lock anew
//! (see `DEFAULT_FLAGS` in `platform.rs`). A process of its own: V8's natives syntax
//! (`%GetOptimizationStatus`) is a platform flag.

use std::time::Duration;

use v8rs::{CallFlags, Context, Vm};

/// Bits of `%GetOptimizationStatus` (V8's `OptimizationStatus`).
const MAGLEVVED: i64 = 1 << 4;
const TURBOFANNED: i64 = 1 << 5;
const OPTIMIZING_CONCURRENTLY: i64 = 1 << 9;

fn status(ctx: &Context) -> i64 {
    let text = ctx
        .run_script(b"%GetOptimizationStatus(hot)", b"status.js")
        .expect("status");
    std::str::from_utf8(text.as_bytes())
        .expect("utf-8")
        .parse()
        .expect("a number")
}

#[test]
fn a_function_made_hot_by_many_calls_runs_optimized_code() {
    v8rs::engine::platform::set_up("--allow-natives-syntax").expect("platform");
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
