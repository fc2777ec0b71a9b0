//! v8rs: V8 for Python and any language that can call C.
//!
//! The crate has two layers:
//!
//! * the **engine core** — [`platform`], [`vm`], [`context`] and [`error`] — a safe
//!   Rust API over the `v8` crate: one process-wide platform, VMs (isolates) usable from
//!   any thread one at a time, and contexts (global scopes) that run scripts;
//! * the **C ABI** — [`ffi`] — thin `extern "C"` glue over the core (NULL checks, a
//!   panic boundary, error out-params), described by the generated `include/v8rs.h`.

mod buffers;
pub mod cancel;
pub mod code_cache;
pub mod context;
pub mod error;
mod event_loop;
pub mod ffi;
pub mod host;
mod interrupts;
pub mod modules;
pub mod platform;
pub mod sigint;
pub mod snapshot;
mod stack;
pub mod text;
pub mod values;
pub mod vm;
pub mod web;

pub use context::Context;
pub use error::{Code, Error, JsError};
pub use vm::{HeapStats, Vm, VmOptions};
