//! The platform's one-way lifecycle, in a process of its own (V8 is disposed here).

use std::ptr;

use v8rs::abi::v8rs_code as Code;
use v8rs::abi::*;

#[test]
fn platform_lifecycle_from_set_up_to_disposal() {
    let mut vm = ptr::null_mut();
    let mut ctx = ptr::null_mut();
    let mut out = ptr::null_mut();
    // SAFETY: valid pointers throughout; each handle is freed once.
    unsafe {
        assert!(!v8rs_platform_is_alive());
        assert_eq!(
            v8rs_vm_new(ptr::null(), &mut vm, ptr::null_mut()),
            Code::InvalidState
        );
        assert_eq!(v8rs_platform_tear_down(ptr::null_mut()), Code::InvalidState);
        assert_eq!(
            v8rs_platform_set_up(ptr::null(), 0, ptr::null_mut()),
            Code::Ok
        );
        assert!(v8rs_platform_is_alive());
        assert_eq!(v8rs_vm_new(ptr::null(), &mut vm, ptr::null_mut()), Code::Ok);
        assert_eq!(v8rs_context_new(vm, &mut ctx, ptr::null_mut()), Code::Ok);
        let run = |ctx, out: &mut *mut _| {
            v8rs_run_script(
                ctx,
                c"'ok'".as_ptr(),
                4,
                ptr::null(),
                0,
                0,
                out,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        assert_eq!(run(ctx, &mut out), Code::Ok);
        v8rs_string_free(out);
        out = ptr::null_mut();

        // Tear-down with a VM alive is deferred: the VM stays allocated but refuses.
        assert_eq!(v8rs_platform_tear_down(ptr::null_mut()), Code::Ok);
        assert!(!v8rs_platform_is_alive());
        assert_eq!(run(ctx, &mut out), Code::InvalidState);
        assert!(out.is_null());
        let mut other = ptr::null_mut();
        assert_eq!(
            v8rs_vm_new(ptr::null(), &mut other, ptr::null_mut()),
            Code::InvalidState
        );
        assert_eq!(
            v8rs_context_new(vm, &mut other.cast(), ptr::null_mut()),
            Code::InvalidState
        );
        assert_eq!(
            v8rs_platform_set_up(ptr::null(), 0, ptr::null_mut()),
            Code::InvalidState
        );
        assert_eq!(v8rs_platform_tear_down(ptr::null_mut()), Code::InvalidState);

        // Freeing in the "wrong" order disposes the isolate, then V8, without a crash.
        v8rs_vm_free(vm);
        assert_eq!(v8rs_live_vm_count(), 1);
        v8rs_context_free(ctx);
        assert_eq!(v8rs_live_vm_count(), 0);
        assert_eq!(v8rs_live_context_count(), 0);
    }
}
