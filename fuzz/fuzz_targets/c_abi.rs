//! Random call sequences over the C ABI, from two threads at once.
//!
//! The input is read as a little program: each step picks a thread (the first byte's
//! low bit), an operation and a few argument bytes; byte strings (scripts, wire-format
//! arguments, paths) are taken from the rest of the input. The two threads share four
//! VM slots and eight context slots, two contexts per VM; a slot is used under a read
//! lock and freed under a write lock (a free during a call is safe in the ABI, but the
//! handle must not be used after it). Every call gets a timeout and every VM a small
//! heap limit, so random scripts end; some steps leave work queued (a promise reaction,
//! a timer) in a call that times out, then tear contexts and VMs down in random order.
//! Every call must come back within [`HANG`]: a call that does not is a hang, and the
//! run fails.
#![no_main]

use std::ffi::c_char;
use std::ptr;
use std::sync::{Once, RwLock};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use v8rs::abi::*;
use v8rs::abi::{v8rs_code as Code, v8rs_vm_options as VmOptions};

const VMS: usize = 4;
const CONTEXTS: usize = 2 * VMS;
/// How long any one call may take (its timeout is 20 ms): a call that takes longer has
/// hung. Not much less: some of V8's own builtins run for seconds without looking at
/// termination requests (`new Array(1e9).fill(0)` takes about 13 s, see
/// docs/limits.md).
const HANG: Duration = Duration::from_secs(25);

struct Handles {
    vms: [RwLock<usize>; VMS],
    contexts: [RwLock<usize>; CONTEXTS],
}

static HANDLES: Handles = Handles {
    vms: [const { RwLock::new(0) }; VMS],
    contexts: [const { RwLock::new(0) }; CONTEXTS],
};

/// Reads operations and byte strings off the input.
struct Input<'a> {
    bytes: &'a [u8],
}

impl<'a> Input<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(first)
    }

    /// A byte string of up to 255 bytes (its length comes first).
    fn string(&mut self) -> &'a [u8] {
        let n = self.byte().unwrap_or(0) as usize;
        let n = n.min(self.bytes.len());
        let (s, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        s
    }
}

/// Checks the error convention of one call (an error exactly when the code says so),
/// frees the error and resets the slot for the next call.
fn check(code: Code, slot: &mut *mut v8rs_error) {
    let error = std::mem::replace(slot, ptr::null_mut());
    // SAFETY: `error` is NULL or an error the call handed out.
    unsafe {
        if code == Code::Ok {
            assert!(error.is_null(), "an error came with V8RS_CODE_OK");
        } else {
            assert!(!error.is_null(), "no error came with code {code:?}");
            assert_eq!(v8rs_error_code(error), code);
            let mut len = 0;
            assert!(!v8rs_error_message(error, &mut len).is_null());
        }
        v8rs_error_free(error);
    }
}

/// One operation of the program, with its arguments read off the input.
enum Op<'a> {
    NewVm,
    FreeVm,
    NewContext(u32),
    FreeContext,
    Run(&'a [u8]),
    Eval(&'a [u8], u32),
    Call(&'a [u8], &'a [u8]),
    RunUntilIdle,
    LoadAndTerminate(&'a [u8]),
    /// A call that times out with work queued behind it: `then` (a promise reaction
    /// running the script), a timer, or both.
    Leave(&'a [u8], u8),
}

/// The next step: (thread 0 or 1, context slot, operation).
fn next<'a>(input: &mut Input<'a>) -> Option<(u8, usize, Op<'a>)> {
    let code = input.byte()?;
    let slot = (input.byte().unwrap_or(0) as usize) % CONTEXTS;
    let op = match (code >> 1) % 11 {
        0 => Op::NewVm,
        1 => Op::FreeVm,
        2 => Op::NewContext(input.byte().unwrap_or(0xff) as u32 * 5), // some bits unknown
        3 => Op::FreeContext,
        4 | 5 => Op::Run(input.string()),
        6 => Op::Eval(input.string(), input.byte().unwrap_or(0) as u32 & 3),
        7 => Op::Call(input.string(), input.string()),
        8 => Op::RunUntilIdle,
        9 => Op::Leave(input.string(), input.byte().unwrap_or(0)),
        _ => Op::LoadAndTerminate(input.string()),
    };
    Some((code & 1, slot, op))
}

/// Runs `call`, failing the run when it does not come back within [`HANG`].
fn timed<T>(what: &str, call: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let result = call();
    let took = start.elapsed();
    assert!(took < HANG, "{what} took {took:?}: a hang");
    result
}

/// Runs `script` in the context at `context` (a live handle or 0).
///
/// # Safety
/// `context` is 0 or a live context handle.
unsafe fn run(context: usize, script: &[u8], error: &mut *mut v8rs_error) {
    let (mut out, mut len) = (ptr::null_mut(), 0);
    let name = b"fuzz.js";
    let code = timed("v8rs_run_script", || unsafe {
        v8rs_run_script(
            context as *mut _,
            script.as_ptr() as *const c_char,
            script.len(),
            name.as_ptr() as *const c_char,
            name.len(),
            20,
            &mut out,
            &mut len,
            error,
        )
    });
    check(code, error);
    // SAFETY: NULL or the result the call handed out.
    unsafe { v8rs_string_free(out) };
}

/// Runs one operation on the handles of context slot `slot` (and its VM).
fn execute(slot: usize, op: Op<'_>) {
    let vm_slot = slot / 2;
    let mut error = ptr::null_mut();
    let (mut out, mut len) = (ptr::null_mut(), 0);
    // SAFETY: every handle passed below is NULL or live: taken under its slot's lock,
    // freed only under the write lock, and nulled when freed; the byte strings point to
    // their lengths.
    unsafe {
        match op {
            Op::NewVm => {
                let mut vm = HANDLES.vms[vm_slot].write().unwrap();
                if *vm == 0 {
                    let options = VmOptions {
                        initial_heap_size: 0,
                        max_heap_size: 32 << 20,
                    };
                    let mut created = ptr::null_mut();
                    let code = v8rs_vm_new(&options, &mut created, &mut error);
                    check(code, &mut error);
                    *vm = created as usize;
                }
            }
            Op::FreeVm => {
                let mut vm = HANDLES.vms[vm_slot].write().unwrap();
                v8rs_vm_free(*vm as *mut v8rs_vm);
                *vm = 0;
            }
            Op::NewContext(features) => {
                let vm = HANDLES.vms[vm_slot].read().unwrap();
                let mut context = HANDLES.contexts[slot].write().unwrap();
                if *context == 0 {
                    let mut created = ptr::null_mut();
                    let code = timed("v8rs_context_new_with", || {
                        v8rs_context_new_with(*vm as *mut _, features, &mut created, &mut error)
                    });
                    check(code, &mut error);
                    *context = created as usize;
                }
            }
            Op::FreeContext => {
                let mut context = HANDLES.contexts[slot].write().unwrap();
                v8rs_context_free(*context as *mut v8rs_context);
                *context = 0;
            }
            Op::Run(script) => {
                let context = HANDLES.contexts[slot].read().unwrap();
                run(*context, script, &mut error);
            }
            Op::Leave(script, how) => {
                // Work queued in a call that is stopped: it must stay in its context.
                let body = String::from_utf8_lossy(script);
                let queued = match how % 3 {
                    0 => format!("Promise.resolve().then(() => {{ {body}\n }});"),
                    1 => format!("setTimeout(() => {{ {body}\n }}, {});", how / 3),
                    _ => format!(
                        "Promise.resolve().then(() => setTimeout(() => {{ {body}\n }}, 0));"
                    ),
                };
                let source = format!("{queued} while (true) {{}}");
                let context = HANDLES.contexts[slot].read().unwrap();
                run(*context, source.as_bytes(), &mut error);
            }
            Op::Eval(script, flags) => {
                let context = HANDLES.contexts[slot].read().unwrap();
                let code = timed("v8rs_eval", || {
                    v8rs_eval(
                        *context as *mut _,
                        script.as_ptr() as *const c_char,
                        script.len(),
                        ptr::null(),
                        0,
                        20,
                        flags,
                        &mut out,
                        &mut len,
                        &mut error,
                    )
                });
                check(code, &mut error);
            }
            Op::Call(function, args) => {
                // Random bytes as wire-format arguments.
                let context = HANDLES.contexts[slot].read().unwrap();
                let code = timed("v8rs_call", || {
                    v8rs_call(
                        *context as *mut _,
                        function.as_ptr() as *const c_char,
                        function.len(),
                        args.as_ptr() as *const c_char,
                        args.len(),
                        20,
                        V8RS_ACCEPT_JSON,
                        &mut out,
                        &mut len,
                        &mut error,
                    )
                });
                check(code, &mut error);
            }
            Op::RunUntilIdle => {
                let context = HANDLES.contexts[slot].read().unwrap();
                let code = timed("v8rs_context_run_until_idle", || {
                    v8rs_context_run_until_idle(*context as *mut _, 20, &mut error)
                });
                check(code, &mut error);
            }
            Op::LoadAndTerminate(path) => {
                // A path from the input (missing files, directories, non-UTF-8).
                let mut path = path.to_vec();
                path.retain(|&b| b != 0);
                path.push(0);
                let paths = [path.as_ptr() as *const c_char];
                {
                    let context = HANDLES.contexts[slot].read().unwrap();
                    let code = timed("v8rs_load_libs", || {
                        v8rs_load_libs(*context as *mut _, paths.as_ptr(), 1, &mut error)
                    });
                    check(code, &mut error);
                }
                let vm = HANDLES.vms[vm_slot].read().unwrap();
                let mut stopped = false;
                let code = v8rs_vm_terminate(*vm as *mut _, &mut stopped, &mut error);
                check(code, &mut error);
            }
        }
        v8rs_string_free(out);
    }
}

/// Runs the steps of `program` that belong to `thread`.
fn run_thread(program: &[u8], thread: u8) {
    let mut input = Input { bytes: program };
    while let Some((owner, slot, op)) = next(&mut input) {
        if owner == thread {
            execute(slot, op);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    static SET_UP: Once = Once::new();
    SET_UP.call_once(|| {
        let code = unsafe { v8rs_platform_set_up(ptr::null(), 0, ptr::null_mut()) };
        assert_eq!(code, Code::Ok);
    });
    std::thread::scope(|scope| {
        scope.spawn(|| run_thread(data, 1));
        run_thread(data, 0);
    });
    // Free everything, VMs and contexts interleaved, so that each input starts from
    // nothing and leaks show.
    for slot in 0..VMS {
        let mut first = HANDLES.contexts[2 * slot].write().unwrap();
        unsafe { v8rs_context_free(*first as *mut v8rs_context) };
        *first = 0;
        let mut vm = HANDLES.vms[slot].write().unwrap();
        unsafe { v8rs_vm_free(*vm as *mut v8rs_vm) };
        *vm = 0;
        let mut second = HANDLES.contexts[2 * slot + 1].write().unwrap();
        unsafe { v8rs_context_free(*second as *mut v8rs_context) };
        *second = 0;
    }
    assert_eq!(v8rs_live_context_count(), 0);
    assert_eq!(v8rs_live_vm_count(), 0);
});
