//! The event loop of a context and the web APIs, through the Rust core.

mod common;

use std::time::{Duration, Instant};

use common::{context, platform, run};
use v8rs::engine::cancel::CancelToken;
use v8rs::{Code, Context, Vm, WebFeatures};

#[test]
fn timers_run_in_due_order_only_inside_waiting_calls() {
    let ctx = context();
    run(
        &ctx,
        "var log = []; setTimeout(() => log.push(3), 30); setTimeout(() => log.push(1), 0);
         setTimeout((a, b) => log.push(a + b), 10, 1, 1); queueMicrotask(() => log.push(0));",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(40));
    assert_eq!(run(&ctx, "log.join()").unwrap(), "0", "timers waited");
    assert_eq!(ctx.pending_tasks(), 3);
    ctx.run_until_idle(None).unwrap();
    assert_eq!(run(&ctx, "log.join()").unwrap(), "0,1,2,3");
    assert_eq!(ctx.pending_tasks(), 0);
}

#[test]
fn intervals_repeat_until_cleared_from_their_callback() {
    let ctx = context();
    run(
        &ctx,
        "var n = 0; var iv = setInterval(() => { if (++n === 5) clearInterval(iv) }, 1);",
    )
    .unwrap();
    ctx.run_until_idle(None).unwrap();
    assert_eq!(run(&ctx, "n").unwrap(), "5");
}

#[test]
fn a_throwing_timer_ends_the_loop_with_its_error_and_keeps_the_rest() {
    let ctx = context();
    run(
        &ctx,
        "var done = false; setTimeout(() => { throw new RangeError('late') }, 0);
         setTimeout(() => { done = true }, 5);",
    )
    .unwrap();
    let error = ctx.run_until_idle(None).unwrap_err();
    assert_eq!(error.code(), Code::JsError);
    assert_eq!(error.js_error().unwrap().name.to_str_lossy(), "RangeError");
    assert_eq!(ctx.pending_tasks(), 1);
    ctx.run_until_idle(None).unwrap();
    assert_eq!(run(&ctx, "done").unwrap(), "true");
}

#[test]
fn an_endless_interval_times_out_and_the_context_stays_usable() {
    let ctx = context();
    run(&ctx, "setInterval(() => {}, 2)").unwrap();
    let error = ctx
        .run_until_idle(Some(Duration::from_millis(30)))
        .unwrap_err();
    assert_eq!(error.code(), Code::Timeout);
    assert_eq!(run(&ctx, "1 + 1").unwrap(), "2");
}

#[test]
fn terminate_wakes_a_call_sleeping_until_its_timer() {
    let ctx = context();
    run(&ctx, "setTimeout(() => {}, 60000)").unwrap();
    let vm = ctx.vm().clone();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        while !vm.terminate() {
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let started = Instant::now();
    let error = ctx.run_until_idle(None).unwrap_err();
    stopper.join().unwrap();
    assert_eq!(error.code(), Code::Terminated);
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_cancelled_token_stops_its_call_and_later_ones_only() {
    let ctx = context();
    let token = CancelToken::new();
    CancelToken::enter(Some(token.clone()));
    run(&ctx, "setTimeout(() => {}, 60000)").unwrap();
    let canceller = {
        let token = token.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            token.cancel();
        })
    };
    assert_eq!(
        ctx.run_until_idle(None).unwrap_err().code(),
        Code::Terminated
    );
    canceller.join().unwrap();
    assert!(token.is_cancelled());
    assert_eq!(run(&ctx, "1").unwrap_err().code(), Code::Terminated);
    CancelToken::enter(None);
    assert_eq!(run(&ctx, "1").unwrap(), "1");
}

#[test]
fn web_features_install_only_what_is_asked_and_nothing_enumerable() {
    platform();
    let vm = Vm::new().unwrap();
    let bare = Context::with_features(&vm, WebFeatures::NONE).unwrap();
    assert_eq!(
        run(&bare, "typeof setTimeout + typeof URL").unwrap(),
        "undefinedundefined"
    );
    let some = Context::with_features(&vm, WebFeatures(WebFeatures::URL.0 | WebFeatures::TIMERS.0))
        .unwrap();
    assert_eq!(
        run(
            &some,
            "[typeof setTimeout, typeof URL, typeof TextEncoder].join()"
        )
        .unwrap(),
        "function,function,undefined"
    );
    let all = Context::new(&vm).unwrap();
    assert_eq!(run(&all, "Object.keys(globalThis).length").unwrap(), "0");
    let error = Context::with_features(&vm, WebFeatures(1 << 20))
        .err()
        .unwrap();
    assert_eq!(error.code(), Code::InvalidArgument);
}

#[test]
fn await_drives_timers_and_reports_what_can_never_settle() {
    let ctx = context();
    let value = ctx
        .eval(
            b"new Promise(r => setTimeout(() => r(7), 5))",
            b"wait.js",
            None,
            v8rs::CallFlags {
                await_promise: true,
                accept_json: false,
                source_maps: false,
            },
        )
        .unwrap();
    assert_eq!(value[..2], [b'i', 7]);
    let error = ctx
        .eval(
            b"new Promise(() => {})",
            b"never.js",
            None,
            v8rs::CallFlags {
                await_promise: true,
                accept_json: false,
                source_maps: false,
            },
        )
        .unwrap_err();
    assert_eq!(error.code(), Code::JsError);
    assert!(error.message().to_str_lossy().contains("nothing is left"));
}
