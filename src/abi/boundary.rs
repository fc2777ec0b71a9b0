//! The panic boundary of every export, and its error out-param.

use crate::abi::error::v8rs_error;
use crate::abi::handle::box_into_handle;
use crate::abi::types::v8rs_code;
use crate::engine::{Code, Error};

/// Runs `body` behind the panic boundary and reports its error through `error_out`.
pub(crate) fn guarded(
    error_out: *mut *mut v8rs_error,
    body: impl FnOnce() -> Result<(), Error>,
) -> v8rs_code {
    let error = match crate::engine::panic::catch(body) {
        Ok(Ok(())) => return v8rs_code::Ok,
        Ok(Err(error)) => error,
        Err(panic) => Error::new(Code::Unknown, format!("internal error: {panic}")),
    };
    let code = v8rs_code::from(error.code());
    if !error_out.is_null() {
        // SAFETY: the caller passes NULL or a writable `v8rs_error *` slot.
        unsafe { *error_out = box_into_handle(error) };
    }
    code
}

/// Runs an infallible `body` behind the panic boundary, with `fallback` on panic.
pub(crate) fn shielded<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    crate::engine::panic::catch(body).unwrap_or(fallback)
}
