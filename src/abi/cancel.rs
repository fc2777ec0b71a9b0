//! `v8rs_cancel_token`: stops exactly the calls made under it.

use crate::abi::boundary::shielded;
use crate::abi::handle::{arc_into_handle, clone_arc, free_arc, Castable, OwnershipArc};
use crate::engine::CancelToken;

/// A cancel token: once cancelled (`v8rs_cancel_token_cancel`, from any thread), the
/// call running under it stops with `V8RS_CODE_TERMINATED`, and so does every later
/// call made under it. A thread's calls run under the token it entered
/// (`v8rs_cancel_token_enter`).
///
/// Thread safety: usable from any thread, also concurrently.
///
/// Ownership: created by `v8rs_cancel_token_new`, freed by `v8rs_cancel_token_free`
/// (a thread that entered it keeps it alive until it enters another or NULL).
pub struct v8rs_cancel_token {
    _private: [u8; 0],
}

impl Castable for v8rs_cancel_token {
    type Ownership = OwnershipArc;
    type RustType = CancelToken;
}

/// Creates a cancel token, not cancelled.
#[no_mangle]
pub extern "C" fn v8rs_cancel_token_new() -> *mut v8rs_cancel_token {
    shielded(std::ptr::null_mut(), || arc_into_handle(CancelToken::new()))
}

/// Makes `token` (NULL: none) the token of the calls this thread makes from now on.
///
/// # Safety
/// `token` is NULL or a live token.
#[no_mangle]
pub unsafe extern "C" fn v8rs_cancel_token_enter(token: *mut v8rs_cancel_token) {
    shielded((), || {
        // SAFETY: NULL or a live handle (the caller's contract).
        CancelToken::enter(unsafe { clone_arc(token) }.ok());
    })
}

/// Cancels `token`: stops the call running under it now, if any, and every later one.
/// Returns whether a running call was stopped; false for NULL.
///
/// # Safety
/// `token` is NULL or a live token.
#[no_mangle]
pub unsafe extern "C" fn v8rs_cancel_token_cancel(token: *mut v8rs_cancel_token) -> bool {
    shielded(false, || {
        // SAFETY: NULL or a live handle (the caller's contract).
        unsafe { clone_arc(token) }.is_ok_and(|t| t.cancel())
    })
}

/// Frees a cancel token; NULL is a no-op.
///
/// # Safety
/// `token` is NULL or a live token, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn v8rs_cancel_token_free(token: *mut v8rs_cancel_token) {
    shielded((), || {
        // SAFETY: NULL or a live handle, released once (the caller's contract).
        drop(unsafe { free_arc(token) });
    })
}
