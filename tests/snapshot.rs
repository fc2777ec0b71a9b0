//! Startup snapshots: round trip, and blobs that must be refused. One test function:
//! snapshots can only be made while no VM is alive in the process.

mod common;

use v8rs::{Code, Context, Vm, VmOptions};

const LIB: &str = "var counter = (() => { let n = 40; return () => ++n })();\n\
                   function greet(who) { return 'hola ' + who }\n\
                   function fmt(x) { return new Intl.NumberFormat('de-DE').format(x) }\n\
                   var ready = false; Promise.resolve().then(() => { ready = true });";

#[test]
fn snapshots() {
    common::platform();
    // Made first, while no VM is alive.
    let blob = v8rs::engine::snapshot::create(&[(b"lib.js", LIB.as_bytes())]).unwrap();
    let err = v8rs::engine::snapshot::create(&[(b"ok.js", b"var a = 1"), (b"bad.js", b"\nnope()")])
        .unwrap_err();
    assert_eq!(err.code(), Code::JsError);
    let js = err.js_error().unwrap();
    assert_eq!(
        (js.script_name.as_ref().unwrap().as_bytes(), js.line),
        (&b"bad.js"[..], Some(2))
    );

    // Round trip: every context of the VM starts from the snapshot's globals.
    let vm = Vm::with_snapshot(VmOptions::default(), &blob).unwrap();
    for _ in 0..2 {
        let ctx = Context::new(&vm).unwrap();
        assert_eq!(common::run(&ctx, "greet('mundo')").unwrap(), "hola mundo");
        assert_eq!(common::run(&ctx, "counter() + counter()").unwrap(), "83");
        assert_eq!(common::run(&ctx, "fmt(1234.5)").unwrap(), "1.234,5");
        assert_eq!(common::run(&ctx, "ready").unwrap(), "true");
    }

    // With VMs alive (one from a snapshot, one plain), another snapshot can be made,
    // and VMs from every kind live side by side: all share V8's built-in read-only
    // heap (a snapshot made from nothing once broke the others' globals).
    let plain = Vm::new().unwrap();
    let other = v8rs::engine::snapshot::create(&[(b"x.js", b"var other = 'yes'")]).unwrap();
    let vm2 = Vm::with_snapshot(VmOptions::default(), &other).unwrap();
    let ctx2 = Context::new(&vm2).unwrap();
    assert_eq!(
        common::run(&ctx2, "other + typeof greet").unwrap(),
        "yesundefined"
    );
    let ctx = Context::new(&vm).unwrap();
    assert_eq!(
        common::run(&ctx, "typeof other + greet('x')").unwrap(),
        "undefinedhola x"
    );
    let ctx3 = Context::new(&plain).unwrap();
    assert_eq!(
        common::run(&ctx3, "typeof other + typeof greet").unwrap(),
        "undefinedundefined"
    );

    // Bad blobs are invalid arguments, never a crash.
    let mut corrupt = blob.clone();
    let last = corrupt.len() - 100;
    corrupt[last] ^= 0xff;
    let mut foreign = blob.clone();
    foreign[18] = b'9'; // inside the version
    for (what, bad) in [
        ("garbage", b"definitely not a snapshot".to_vec()),
        ("empty", Vec::new()),
        ("truncated", blob[..blob.len() / 2].to_vec()),
        ("header only", blob[..30].to_vec()),
        ("corrupt", corrupt),
        ("foreign", foreign),
    ] {
        let err = Vm::with_snapshot(VmOptions::default(), &bad).err().unwrap();
        assert_eq!(err.code(), Code::InvalidArgument, "{what}: {err}");
    }
}

#[test]
fn snapshots_hold_the_web_apis_and_warm_ups_leave_only_their_code() {
    common::platform();
    // The scripts may use the web APIs while the snapshot is made.
    // `page` calls 300 helpers that only the warm-up compiles (each some bytecode).
    let helpers: String = (0..300)
        .map(|i| {
            format!(
                "function h{i}(x) {{ let s = 0; for (let j = 0; j < x; j++) {{ s += (j * {i}) % 7; \
                 if (s > 1e9) throw new Error('h{i}') }} return s }}\n"
            )
        })
        .collect();
    let calls: String = (0..300).map(|i| format!("h{i}(n) + ")).collect();
    let app = format!(
        "var encoded = new TextEncoder().encode('héllo').length;\n\
         var url = new URL('https://example.com/a?b=1').searchParams.get('b');\n\
         function render(items) {{ return items.map((i) => `<li>${{i}}</li>`).join('') }}\n\
         var renders = 0;\n{helpers}\
         function page(n) {{ renders++; {calls}0; return render(Array.from({{ length: n }}, (_, i) => i)) }}"
    );
    let warmup = "for (let i = 0; i < 50; i++) page(10); globalThis.fromWarmup = true;";
    let scripts: [(&[u8], &[u8]); 1] = [(b"app.js", app.as_bytes())];
    // Made the same way, with a warm-up that compiles nothing: the same GCs run, so
    // the sizes differ by the code the real warm-up compiled (the heap's own size
    // moves by some kilobytes from run to run; 300 functions' bytecode is far more).
    let idle = v8rs::engine::snapshot::create_warm(&scripts, &[(b"idle.js", b"void 0")]).unwrap();
    let warm = v8rs::engine::snapshot::create_warm(&scripts, &[(b"warmup.js", warmup.as_bytes())])
        .unwrap();
    assert!(
        warm.len() > idle.len() + 30_000,
        "{} <= {} + 30000",
        warm.len(),
        idle.len()
    );
    let snapshot = std::sync::Arc::new(v8rs::engine::snapshot::Snapshot::open(&warm).unwrap());
    for _ in 0..3 {
        let vm = Vm::from_snapshot(VmOptions::default(), &snapshot).unwrap();
        let ctx = Context::new(&vm).unwrap();
        assert_eq!(
            common::run(&ctx, "[encoded, url, renders, typeof fromWarmup].join()").unwrap(),
            "6,1,0,undefined"
        );
        assert_eq!(
            common::run(&ctx, "page(2)").unwrap(),
            "<li>0</li><li>1</li>"
        );
        // The web APIs work in contexts of the snapshot's VMs, with their own state.
        assert_eq!(
            common::run(
                &ctx,
                "typeof structuredClone + typeof setTimeout + (performance.timeOrigin > 0)"
            )
            .unwrap(),
            "functionfunctiontrue"
        );
    }
    let err = v8rs::engine::snapshot::create_warm(&scripts, &[(b"bad.js", b"nope()")]).unwrap_err();
    assert_eq!(err.code(), Code::JsError);
}
