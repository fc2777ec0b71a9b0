//! The engine core: results, errors, isolation and threads.

mod common;

use std::sync::Arc;
use std::thread;

use common::{context, run};
use v8rs::{Code, Context, Vm};

#[test]
fn results_are_string_of_the_value() {
    let ctx = context();
    let cases = [
        ("1 + 1", "2"),
        ("'hola ' + 'mundo'", "hola mundo"),
        ("1 / 3", "0.3333333333333333"),
        ("2 ** 64", "18446744073709552000"),
        ("10n ** 30n", "1000000000000000000000000000000"),
        ("[1, [2, 3], 'x']", "1,2,3,x"),
        ("({})", "[object Object]"),
        ("null", "null"),
        ("undefined", "undefined"),
        ("true", "true"),
        ("NaN", "NaN"),
        ("-0", "0"),
        ("new Date(0).toISOString()", "1970-01-01T00:00:00.000Z"),
        ("(function f(a) { return a })", "function f(a) { return a }"),
        ("new Map([[1, 2]])", "[object Map]"),
        ("/a+b/gi", "/a+b/gi"),
        ("new Error('boom')", "Error: boom"),
        ("({ toString() { return 'custom' } })", "custom"),
        (
            "new Intl.NumberFormat('de-DE').format(1234567.891)",
            "1.234.567,891",
        ),
        ("'ß'.toUpperCase() + 'İ'.toLowerCase().length", "SS2"),
        ("typeof WebAssembly", "object"),
        ("", "undefined"),
    ];
    for (source, expected) in cases {
        assert_eq!(run(&ctx, source).unwrap(), expected, "for {source}");
    }
}

#[test]
fn results_that_cannot_become_strings_are_js_errors() {
    let ctx = context();
    for source in [
        "Symbol('s')",
        "({ toString() { throw new Error('nope') } })",
        "Object.create(null)",
    ] {
        let err = run(&ctx, source).unwrap_err();
        assert_eq!(err.code(), Code::JsError, "for {source}");
    }
    let err = run(&ctx, "({ toString() { throw new RangeError('nope') } })").unwrap_err();
    let js = err.js_error().unwrap();
    assert_eq!(js.name.as_bytes(), b"RangeError");
    assert_eq!(js.message.as_bytes(), b"nope");
    // The context is still usable afterwards.
    assert_eq!(run(&ctx, "40 + 2").unwrap(), "42");
}

#[test]
fn nul_bytes_go_in_and_come_out() {
    let ctx = context();
    let out = ctx.run_script(b"'a\0b' + '\\u0000c'", b"nul.js").unwrap();
    assert_eq!(out.as_bytes(), b"a\0b\0c");
    assert_eq!(run(&ctx, "'a\0b'.length").unwrap(), "3");
}

#[test]
fn non_ascii_sources_results_and_names() {
    let ctx = context();
    assert_eq!(run(&ctx, "var ñ = 'ü€😀'; ñ + ñ.length").unwrap(), "ü€😀4");
    let name = "módulo-λ/ファイル.js";
    let err = ctx
        .run_script("throw new TypeError('falló')".as_bytes(), name.as_bytes())
        .unwrap_err();
    let js = err.js_error().unwrap();
    assert_eq!(js.script_name.as_ref().unwrap().as_bytes(), name.as_bytes());
    assert_eq!(js.message.as_bytes(), "falló".as_bytes());
    assert!(err
        .message()
        .to_str_lossy()
        .starts_with(&format!("{name}:1\n")));
}

#[test]
fn lone_surrogates_in_results_become_replacement_characters() {
    let ctx = context();
    assert_eq!(run(&ctx, "'x\\ud800y'").unwrap(), "x\u{fffd}y");
}

#[test]
fn invalid_utf8_is_an_invalid_argument() {
    let ctx = context();
    let err = ctx.run_script(b"'\xff'", b"a.js").unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = ctx.run_script(b"1", b"\xc3").unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[test]
fn syntax_error_trace_structure() {
    let ctx = context();
    let err = ctx
        .run_script(b"var a = 1;\nvar b = ;", b"bad.js")
        .unwrap_err();
    assert_eq!(err.code(), Code::JsError);
    let js = err.js_error().unwrap();
    assert_eq!(js.name.as_bytes(), b"SyntaxError");
    assert_eq!(js.message.as_bytes(), b"Unexpected token ';'");
    assert_eq!(js.script_name.as_ref().unwrap().as_bytes(), b"bad.js");
    assert_eq!(js.line, Some(2));
    assert_eq!((js.start_column, js.end_column), (Some(8), Some(9)));
    assert_eq!(js.source_line.as_ref().unwrap().as_bytes(), b"var b = ;");
    assert_eq!(
        err.message().to_str_lossy(),
        "bad.js:2\n    var b = ;\n            ^\nSyntaxError: Unexpected token ';'"
    );
}

#[test]
fn runtime_error_trace_structure() {
    let ctx = context();
    let src = "function render(x) {\n  return x.name.first;\n}\nrender({});";
    let err = ctx.run_script(src.as_bytes(), b"render.js").unwrap_err();
    let js = err.js_error().unwrap();
    assert_eq!(js.name.as_bytes(), b"TypeError");
    assert_eq!(js.line, Some(2));
    assert_eq!(
        js.source_line.as_ref().unwrap().as_bytes(),
        b"  return x.name.first;"
    );
    let stack = js.stack.as_ref().unwrap().to_str_lossy().into_owned();
    assert!(stack.starts_with("TypeError: Cannot read properties of undefined"));
    assert!(stack.contains("at render (render.js:2:"), "{stack}");
    assert!(stack.contains("at render.js:4:1"), "{stack}");
    let caret_line = format!(
        "    {}{}",
        " ".repeat(js.start_column.unwrap() as usize),
        "^".repeat((js.end_column.unwrap() - js.start_column.unwrap()) as usize)
    );
    assert_eq!(
        err.message().to_str_lossy(),
        format!("render.js:2\n      return x.name.first;\n{caret_line}\n{stack}")
    );
}

#[test]
fn thrown_values_that_are_not_errors() {
    let ctx = context();
    let err = run(&ctx, "throw 42").unwrap_err();
    let js = err.js_error().unwrap();
    assert_eq!(js.name.as_bytes(), b"");
    assert_eq!(js.message.as_bytes(), b"42");
    assert!(js.stack.is_none());
    assert_eq!(
        err.message().to_str_lossy(),
        "<anonymous>:1\n    throw 42\n    ^\n42"
    );

    // A thrown object whose getters and toString throw still gives a clean error.
    let err = run(
        &ctx,
        "throw { get stack() { throw 1 }, toString() { throw 2 } }",
    )
    .unwrap_err();
    assert_eq!(err.code(), Code::JsError);
    assert!(err.js_error().unwrap().stack.is_none());
    assert_eq!(run(&ctx, "'still fine'").unwrap(), "still fine");
}

#[test]
fn long_source_lines_are_not_displayed() {
    let ctx = context();
    let src = format!("var s = '{}'; nope()", "x".repeat(300));
    let err = run(&ctx, &src).unwrap_err();
    assert!(err.message().to_str_lossy().starts_with(
        "<anonymous>:1\n    ~Line too long to display.\nReferenceError: nope is not defined"
    ));
}

#[test]
fn deep_recursion_is_a_range_error() {
    let ctx = context();
    let err = run(&ctx, "function f() { return f() + 1 } f()").unwrap_err();
    let js = err.js_error().unwrap();
    assert_eq!(js.name.as_bytes(), b"RangeError");
    assert_eq!(js.message.as_bytes(), b"Maximum call stack size exceeded");
    assert_eq!(run(&ctx, "1").unwrap(), "1");
}

#[test]
fn globals_persist_and_contexts_are_isolated() {
    common::platform();
    let vm = Vm::new().unwrap();
    let a = Context::new(&vm).unwrap();
    let b = Context::new(&vm).unwrap();
    run(&a, "var shared = 'a'; globalThis.other = 1").unwrap();
    assert_eq!(run(&a, "shared + other").unwrap(), "a1");
    assert_eq!(
        run(&b, "typeof shared + typeof other").unwrap(),
        "undefinedundefined"
    );
    run(&b, "var shared = 'b'").unwrap();
    assert_eq!(run(&a, "shared").unwrap(), "a");
}

#[test]
fn load_libs_runs_files_in_order_under_their_paths() {
    let ctx = context();
    let dir = tempdir("load_libs");
    let first = dir.join("first.js");
    let second = dir.join("second.js");
    std::fs::write(
        &first,
        "var lib = { render: function (s) { return s.toUpperCase() } };",
    )
    .unwrap();
    std::fs::write(
        &second,
        "var greeting = lib.render('hola');\nnot_defined();",
    )
    .unwrap();
    let paths = [first.to_str().unwrap(), second.to_str().unwrap()];
    let err = ctx.load_libs(&paths).unwrap_err();
    let js = err.js_error().unwrap();
    assert_eq!(
        js.script_name.as_ref().unwrap().as_bytes(),
        paths[1].as_bytes()
    );
    assert_eq!(js.line, Some(2));
    assert_eq!(run(&ctx, "greeting").unwrap(), "HOLA");

    let missing = dir.join("missing.js");
    let err = ctx.load_libs(&[missing.to_str().unwrap()]).unwrap_err();
    assert_eq!(err.code(), Code::IoError);
    assert_eq!(
        err.path().unwrap().as_bytes(),
        missing.to_str().unwrap().as_bytes()
    );

    let err = ctx.load_libs(&[dir.to_str().unwrap()]).unwrap_err();
    assert_eq!(err.code(), Code::IoError);

    let latin1 = dir.join("latin1.js");
    std::fs::write(&latin1, b"var s = '\xe9';").unwrap();
    let err = ctx.load_libs(&[latin1.to_str().unwrap()]).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.path().unwrap().as_bytes(),
        latin1.to_str().unwrap().as_bytes()
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn two_vms_run_on_two_threads_at_once() {
    common::platform();
    let handles: Vec<_> = (0..2)
        .map(|i| {
            thread::spawn(move || {
                let vm = Vm::new().unwrap();
                let ctx = Context::new(&vm).unwrap();
                let src =
                    format!("var s = {i}; for (var k = 0; k < 3e6; k++) s = (s + k) % 1000003; s");
                run(&ctx, &src).unwrap()
            })
        })
        .collect();
    let results: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let expected = |i: u64| {
        (0..3_000_000u64)
            .fold(i, |s, k| (s + k) % 1_000_003)
            .to_string()
    };
    assert_eq!(results, vec![expected(0), expected(1)]);
}

#[test]
fn one_vm_from_eight_threads_is_serialised() {
    let ctx = context();
    run(&ctx, "var n = 0; var inside = 0; var overlaps = 0").unwrap();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let ctx = Arc::clone(&ctx);
            thread::spawn(move || {
                for _ in 0..50 {
                    // A read-modify-write spread over a busy loop: only serialised calls
                    // keep every increment.
                    run(
                        &ctx,
                        "if (inside++) overlaps++; var t = n; for (var i = 0; i < 1e4; i++) {} n = t + 1; inside--; n",
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(run(&ctx, "n + '/' + overlaps").unwrap(), "400/0");
}

#[test]
fn vms_and_contexts_can_be_dropped_on_other_threads_in_any_order() {
    common::platform();
    let vm = Vm::new().unwrap();
    let contexts: Vec<_> = (0..4).map(|_| Context::new(&vm).unwrap()).collect();
    drop(vm);
    let handles: Vec<_> = contexts
        .into_iter()
        .map(|ctx| thread::spawn(move || drop(ctx)))
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn closed_vm_or_context_refuse_to_run() {
    common::platform();
    let vm = Vm::new().unwrap();
    let ctx = Context::new(&vm).unwrap();
    let other = Context::new(&vm).unwrap();
    other.close();
    assert_eq!(run(&other, "1").unwrap_err().code(), Code::InvalidState);
    assert_eq!(run(&ctx, "1").unwrap(), "1");
    vm.close();
    let err = run(&ctx, "1").unwrap_err();
    assert_eq!(err.code(), Code::InvalidState);
    assert!(err.message().to_str_lossy().contains("VM was freed"));
    assert_eq!(Context::new(&vm).err().unwrap().code(), Code::InvalidState);
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("v8rs-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn deep_recursion_on_small_stack_threads_is_a_range_error() {
    common::platform();
    let vm = Vm::new().unwrap();
    let ctx = Context::new(&vm).unwrap();
    for stack in [128 * 1024, 256 * 1024, 512 * 1024, 4 << 20] {
        let ctx = Arc::clone(&ctx);
        let name = thread::Builder::new()
            .stack_size(stack)
            .spawn(move || {
                let err = run(&ctx, "function f(n) { return f(n + 1) + 1 } f(0)").unwrap_err();
                let depth = run(
                    &ctx,
                    "var d = 0; function g() { d++; g() } try { g() } catch (e) {} d",
                )
                .unwrap();
                (
                    err.js_error().unwrap().name.to_str_lossy().into_owned(),
                    depth.parse::<u64>().unwrap(),
                )
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(name.0, "RangeError", "stack of {stack} bytes");
        assert!(
            name.1 > 100,
            "stack of {stack} bytes allowed only {} frames",
            name.1
        );
    }
}

#[test]
fn repeated_scripts_keep_their_names_and_fresh_effects() {
    let ctx = context();
    run(&ctx, "var n = 0").unwrap();
    for expected in 1..=3 {
        // The same small script again and again (served from the context's cache).
        assert_eq!(run(&ctx, "++n").unwrap(), expected.to_string());
    }
    for _ in 0..2 {
        let err = ctx
            .run_script(
                b"\n(function fail() { throw new Error('x') })()",
                b"again.js",
            )
            .unwrap_err();
        let js = err.js_error().unwrap();
        assert_eq!(js.script_name.as_ref().unwrap().as_bytes(), b"again.js");
        assert_eq!(js.line, Some(2));
    }
    // More distinct scripts than the cache holds still all run correctly.
    for i in 0..600 {
        assert_eq!(run(&ctx, &format!("{i} + 1")).unwrap(), (i + 1).to_string());
    }
}

#[test]
fn console_text_reaches_the_vm_sink_with_its_level() {
    use std::sync::Mutex;
    use v8rs::{ConsoleLevel, WebFeatures};
    common::platform();
    let vm = Vm::new().expect("vm");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink_lines = Arc::clone(&lines);
    vm.set_console(Some(Arc::new(move |level, text: &str| {
        sink_lines.lock().unwrap().push((level, text.to_owned()));
    })));
    let ctx = Context::new(&vm).expect("context");
    run(
        &ctx,
        "console.log('a', {b: [1]}); console.error('%d%%', 5); console.group('g'); console.info('in'); 0",
    )
    .unwrap();
    let bare = Context::with_features(&vm, WebFeatures::NONE).expect("bare");
    run(&bare, "console.log('V8 console: silent')").unwrap();
    assert_eq!(
        *lines.lock().unwrap(),
        [
            (ConsoleLevel::Log, "a { b: [ 1 ] }".to_owned()),
            (ConsoleLevel::Error, "5%".to_owned()),
            (ConsoleLevel::Log, "g".to_owned()),
            (ConsoleLevel::Info, "  in".to_owned()),
        ]
    );
    vm.set_console(None);
    run(&ctx, "console.log('dropped')").unwrap();
    assert_eq!(lines.lock().unwrap().len(), 4);
}
