//! v8rs: V8 for Python and any language that can call C.
//!
//! The crate has two layers, and imports only point down:
//!
//! * [`engine`] — a safe Rust API over the `v8` crate: one process-wide platform, VMs
//!   (isolates) usable from any thread one at a time, and contexts (global scopes) that
//!   run scripts. No C types and no raw pointers in its public signatures.
//! * [`abi`] — every `extern "C"` export: opaque handles, a panic boundary, error
//!   out-params, described by the generated `include/v8rs.h`.
//!
//! `tests/layers.rs` fails when a module of the engine reaches up (into the ABI, or into
//! an engine module above it).

pub mod abi;
pub mod engine;

pub use engine::{
    CallFlags, CancelToken, Code, ConsoleLevel, ConsoleSink, Context, Error, HeapStats, JsError,
    Text, Vm, VmOptions, WebFeatures,
};
