//! The C ABI of `libv8rs.so`, described by the generated `include/v8rs.h`.
//!
//! Only glue lives here: NULL checks, the panic boundary around every export, error
//! out-params and handle casts. The engine itself is in [`crate::engine`].
//!
//! # Conventions
//!
//! * Every symbol is `v8rs_<type>_<verb>`; `_new` creates, `_free` destroys, and
//!   `_free(NULL)` is a no-op. The handle comes first, inputs before outputs.
//! * Fallible functions return a [`v8rs_code`] and take a last parameter
//!   `v8rs_error **error_out`: on failure, when `error_out` is not NULL, it receives an
//!   error the caller owns and frees with `v8rs_error_free`. Out-params are written
//!   only on success; `error_out` only on failure.
//! * Strings go in as `(pointer, length)` in UTF-8; NUL bytes inside are allowed.
//! * The one string rule: a string *returned through an out-param* (a script's result)
//!   is owned by the caller and freed with `v8rs_string_free`; a string *returned by an
//!   accessor* (`v8rs_error_message`, …) is borrowed from its object and valid until
//!   that object is freed. Both kinds are followed by a NUL byte not counted in their
//!   length.
//! * Every handle type is tied to its Rust type and ownership by one trait
//!   (`handle.rs`). A call on a VM or context holds its own reference for as long as
//!   it runs, so freeing the handle from another thread meanwhile is safe: the call
//!   finishes, and later calls fail with `V8RS_CODE_INVALID_STATE`.
//! * Host data (a host function's `data`, a host exception's payload) comes with an
//!   optional finalizer, called exactly once when the library drops it.
//! * No panic crosses this boundary: one becomes `V8RS_CODE_UNKNOWN`.

#![allow(non_camel_case_types)]

mod boundary;
mod handle;
mod strings;

pub mod cancel;
pub mod context;
pub mod error;
pub mod host;
pub mod inspector;
pub mod platform;
pub mod snapshot;
pub mod types;
pub mod vm;

pub use cancel::*;
pub use context::*;
pub use error::*;
pub use host::*;
pub use inspector::*;
pub use platform::*;
pub use snapshot::*;
pub use types::*;
pub use vm::*;
