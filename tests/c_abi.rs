//! The C ABI, called as C would: NULLs, misuse, ownership and error accessors.

use std::ffi::{c_char, CStr};
use std::ptr;

use v8rs::abi::v8rs_code as Code;
use v8rs::abi::*;

fn platform() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: valid flag bytes; NULL error_out is allowed.
        let code = unsafe { v8rs_platform_set_up(c"--harmony".as_ptr(), 9, ptr::null_mut()) };
        assert_eq!(code, Code::Ok);
    });
}

fn text(ptr: *const c_char, len: usize) -> Vec<u8> {
    assert!(!ptr.is_null());
    // SAFETY: the library returned `len` bytes plus a NUL.
    let bytes = unsafe { std::slice::from_raw_parts(ptr as *const u8, len + 1) };
    assert_eq!(bytes[len], 0, "strings are NUL-terminated");
    bytes[..len].to_vec()
}

fn new_context() -> (*mut v8rs_vm, *mut v8rs_context) {
    platform();
    let mut vm = ptr::null_mut();
    let mut ctx = ptr::null_mut();
    // SAFETY: valid out-params.
    unsafe {
        assert_eq!(v8rs_vm_new(ptr::null(), &mut vm, ptr::null_mut()), Code::Ok);
        assert_eq!(v8rs_context_new(vm, &mut ctx, ptr::null_mut()), Code::Ok);
    }
    (vm, ctx)
}

/// Runs `src` and returns the code, the result bytes and the error (if any).
fn run(ctx: *mut v8rs_context, src: &[u8], name: &[u8]) -> (Code, Vec<u8>, *mut v8rs_error) {
    let mut out: *mut c_char = ptr::null_mut();
    let mut len = usize::MAX;
    let mut err = ptr::null_mut();
    // SAFETY: valid buffers and out-params.
    let code = unsafe {
        v8rs_run_script(
            ctx,
            src.as_ptr().cast(),
            src.len(),
            name.as_ptr().cast(),
            name.len(),
            0,
            &mut out,
            &mut len,
            &mut err,
        )
    };
    if code == Code::Ok {
        assert!(err.is_null(), "error_out is written only on failure");
        let bytes = text(out, len);
        // SAFETY: we own the result.
        unsafe { v8rs_string_free(out) };
        (code, bytes, err)
    } else {
        assert!(out.is_null(), "out-params are written only on success");
        assert_eq!(len, usize::MAX);
        (code, Vec::new(), err)
    }
}

#[test]
fn a_script_runs_and_its_result_is_owned_by_the_caller() {
    let (vm, ctx) = new_context();
    let (code, out, _) = run(ctx, b"'a\0' + (6 * 7)", b"x.js");
    assert_eq!((code, out.as_slice()), (Code::Ok, b"a\x0042".as_slice()));
    // SAFETY: handles we own, freed once.
    unsafe {
        v8rs_context_free(ctx);
        v8rs_vm_free(vm);
    }
}

#[test]
fn js_errors_expose_their_parts() {
    let (vm, ctx) = new_context();
    let (code, _, err) = run(ctx, b"1;\n  nope();", b"lib/app.js");
    assert_eq!(code, Code::JsError);
    // SAFETY: `err` is a live error.
    assert_eq!(unsafe { v8rs_error_code(err) }, Code::JsError);
    let part = |f: unsafe extern "C" fn(*const v8rs_error, *mut usize) -> *const c_char| {
        let mut len = 0;
        // SAFETY: `err` is a live error and `len` is writable.
        let p = unsafe { f(err, &mut len) };
        (!p.is_null()).then(|| String::from_utf8(text(p, len)).unwrap())
    };
    assert_eq!(part(v8rs_error_js_name).unwrap(), "ReferenceError");
    assert_eq!(part(v8rs_error_js_message).unwrap(), "nope is not defined");
    assert_eq!(part(v8rs_error_script_name).unwrap(), "lib/app.js");
    assert_eq!(part(v8rs_error_source_line).unwrap(), "  nope();");
    assert!(part(v8rs_error_stack)
        .unwrap()
        .contains("at lib/app.js:2:3"));
    assert!(part(v8rs_error_path).is_none());
    // SAFETY: `err` is a live error.
    let position = unsafe {
        (
            v8rs_error_line(err),
            v8rs_error_start_column(err),
            v8rs_error_end_column(err),
        )
    };
    assert_eq!(position, (2, 2, 3));
    assert!(part(v8rs_error_message).unwrap().starts_with(
        "lib/app.js:2\n      nope();\n      ^\nReferenceError: nope is not defined\n"
    ));
    // SAFETY: handles we own, freed once; a NULL length pointer is allowed.
    unsafe {
        assert!(!v8rs_error_message(err, ptr::null_mut()).is_null());
        v8rs_error_free(err);
        v8rs_context_free(ctx);
        v8rs_vm_free(vm);
    }
}

#[test]
fn null_arguments_are_invalid_arguments() {
    let (vm, ctx) = new_context();
    let mut out = ptr::null_mut();
    let mut err = ptr::null_mut();
    // SAFETY: every pointer is either valid or deliberately NULL.
    unsafe {
        let code = v8rs_run_script(
            ptr::null_mut(),
            c"1".as_ptr(),
            1,
            ptr::null(),
            0,
            0,
            &mut out,
            ptr::null_mut(),
            &mut err,
        );
        assert_eq!(code, Code::InvalidArgument);
        assert_eq!(v8rs_error_code(err), Code::InvalidArgument);
        v8rs_error_free(err);
        let code = v8rs_run_script(
            ctx,
            ptr::null(),
            5,
            ptr::null(),
            0,
            0,
            &mut out,
            ptr::null_mut(),
            ptr::null_mut(),
        );
        assert_eq!(code, Code::InvalidArgument);
        let code = v8rs_run_script(
            ctx,
            c"1".as_ptr(),
            1,
            ptr::null(),
            0,
            0,
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
        );
        assert_eq!(code, Code::InvalidArgument);
        // NULL with length 0 is an empty script; a NULL identifier is "<anonymous>".
        let code = v8rs_run_script(
            ctx,
            ptr::null(),
            0,
            ptr::null(),
            0,
            0,
            &mut out,
            ptr::null_mut(),
            ptr::null_mut(),
        );
        assert_eq!(code, Code::Ok);
        assert_eq!(CStr::from_ptr(out).to_bytes(), b"undefined");
        v8rs_string_free(out);
        assert_eq!(
            v8rs_vm_new(ptr::null(), ptr::null_mut(), ptr::null_mut()),
            Code::InvalidArgument
        );
        let mut c2 = ptr::null_mut();
        assert_eq!(
            v8rs_context_new(ptr::null_mut(), &mut c2, ptr::null_mut()),
            Code::InvalidArgument
        );
        assert_eq!(
            v8rs_context_new(vm, ptr::null_mut(), ptr::null_mut()),
            Code::InvalidArgument
        );
        assert_eq!(
            v8rs_load_libs(ctx, ptr::null(), 1, ptr::null_mut()),
            Code::InvalidArgument
        );
        let paths = [ptr::null::<c_char>()];
        assert_eq!(
            v8rs_load_libs(ctx, paths.as_ptr(), 1, ptr::null_mut()),
            Code::InvalidArgument
        );
        assert_eq!(
            v8rs_load_libs(ctx, ptr::null(), 0, ptr::null_mut()),
            Code::Ok
        );
        assert_eq!(
            v8rs_platform_set_up(ptr::null(), 3, ptr::null_mut()),
            Code::InvalidArgument
        );
        // Frees and accessors take NULL.
        v8rs_vm_free(ptr::null_mut());
        v8rs_context_free(ptr::null_mut());
        v8rs_error_free(ptr::null_mut());
        v8rs_string_free(ptr::null_mut());
        let mut len = 7;
        assert!(v8rs_error_message(ptr::null(), &mut len).is_null());
        assert_eq!(len, 0);
        assert_eq!(v8rs_error_code(ptr::null()), Code::InvalidArgument);
        assert_eq!(v8rs_error_line(ptr::null()), -1);
        v8rs_context_free(ctx);
        v8rs_vm_free(vm);
    }
}

#[test]
fn misuse_of_the_lifecycle_is_invalid_state() {
    let (vm, ctx) = new_context();
    let mut err = ptr::null_mut();
    // SAFETY: valid pointers; the handles are freed once each.
    unsafe {
        assert_eq!(
            v8rs_platform_set_up(ptr::null(), 0, &mut err),
            Code::InvalidState
        );
        v8rs_error_free(err);
        // Freeing the VM first: the context stays a valid handle but refuses to run.
        v8rs_vm_free(vm);
        let (code, _, err) = run(ctx, b"1", b"a.js");
        assert_eq!(code, Code::InvalidState);
        let mut len = 0;
        let message = text(v8rs_error_message(err, &mut len), len);
        assert!(String::from_utf8(message).unwrap().contains("VM was freed"));
        assert!(v8rs_error_js_name(err, ptr::null_mut()).is_null());
        v8rs_error_free(err);
        v8rs_context_free(ctx);
    }
}

#[test]
fn load_libs_reports_the_failing_path() {
    let (vm, ctx) = new_context();
    let paths = [c"/nonexistent/v8rs/lib.js".as_ptr()];
    let mut err = ptr::null_mut();
    // SAFETY: valid pointers; handles freed once.
    unsafe {
        assert_eq!(
            v8rs_load_libs(ctx, paths.as_ptr(), 1, &mut err),
            Code::IoError
        );
        let mut len = 0;
        assert_eq!(
            text(v8rs_error_path(err, &mut len), len),
            b"/nonexistent/v8rs/lib.js"
        );
        v8rs_error_free(err);
        v8rs_context_free(ctx);
        v8rs_vm_free(vm);
    }
}

#[test]
fn live_counters_follow_handles() {
    // Other tests run in parallel, so count relative to handles made here.
    let (vm, ctx) = new_context();
    assert!(v8rs_live_vm_count() >= 1 && v8rs_live_context_count() >= 1);
    // SAFETY: handles freed once; the version is a static C string.
    unsafe {
        v8rs_context_free(ctx);
        v8rs_vm_free(vm);
        assert!(CStr::from_ptr(v8rs_version())
            .to_str()
            .unwrap()
            .starts_with("15.2."));
    }
}

#[test]
fn freeing_handles_while_a_call_runs_on_another_thread_is_safe() {
    // Each call holds a reference of its own: the call finishes, later calls fail.
    static STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    unsafe extern "C" fn started(
        _: *mut std::ffi::c_void,
        _: *const c_char,
        _: usize,
        _: *mut v8rs_reply,
    ) {
        STARTED.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    let (vm, ctx) = new_context();
    // SAFETY: a live context, a valid name and function.
    let code = unsafe {
        v8rs_context_expose(
            ctx,
            c"started".as_ptr(),
            7,
            Some(started),
            ptr::null_mut(),
            None,
            ptr::null_mut(),
        )
    };
    assert_eq!(code, Code::Ok);
    let (vm_addr, ctx_addr) = (vm as usize, ctx as usize);
    let running = std::thread::spawn(move || {
        let src = b"started(); let s = 0; for (let i = 0; i < 3e7; i++) s += i % 7; s > 0";
        let (code, out, err) = run(ctx_addr as *mut v8rs_context, src, b"long.js");
        // SAFETY: NULL or the call's error.
        unsafe { v8rs_error_free(err) };
        (code, out)
    });
    while !STARTED.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::yield_now();
    }
    // SAFETY: the handles are live and not used by this thread afterwards (the other
    // thread's call, running now, holds references of its own).
    unsafe {
        v8rs_context_free(ctx_addr as *mut v8rs_context);
        v8rs_vm_free(vm_addr as *mut v8rs_vm);
    }
    let (code, out) = running.join().unwrap();
    assert_eq!((code, out.as_slice()), (Code::Ok, b"true".as_slice()));
    let _ = vm;
}

#[test]
fn the_node_group_and_require_from_c() {
    let (vm, ctx) = new_context();
    let tree = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/node_tree");
    let env = b"NODE_ENV=production\0EMPTY=\0";
    let mut err = ptr::null_mut();
    // SAFETY: valid pointers and lengths; the handles are freed once each.
    unsafe {
        let (code, out, _) = run(ctx, b"typeof process", b"a.js");
        assert_eq!((code, out.as_slice()), (Code::Ok, b"undefined".as_slice()));
        let code = v8rs_context_enable_node(
            ctx,
            tree.as_ptr().cast(),
            tree.len(),
            env.as_ptr().cast(),
            env.len(),
            &mut err,
        );
        assert_eq!(code, Code::Ok);
        let script = b"[process.env.NODE_ENV, process.env.EMPTY, require('cond'), \
            require('./lib/data').answer, Buffer.from('hi').toString('hex')].join()";
        let (code, out, _) = run(ctx, script, b"a.js");
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            (code, out.as_str()),
            (Code::Ok, "production,,cond:require,42,6869")
        );
        // Twice is a misuse; a folder that is not one is an invalid argument.
        let code = v8rs_context_enable_node(ctx, ptr::null(), 0, ptr::null(), 0, &mut err);
        assert_eq!(code, Code::InvalidState);
        v8rs_error_free(err);
        let missing = b"/nonexistent/folder";
        let code = v8rs_context_set_node_modules(ctx, missing.as_ptr().cast(), 19, &mut err);
        assert_eq!(code, Code::InvalidArgument);
        v8rs_error_free(err);
        let code = v8rs_context_set_node_modules(ctx, ptr::null(), 0, &mut err);
        assert_eq!(code, Code::Ok);
        let (code, _, err) = run(ctx, b"require('cond')", b"a.js");
        assert_eq!(code, Code::JsError);
        v8rs_error_free(err);
        v8rs_context_free(ctx);
        v8rs_vm_free(vm);
    }
}
