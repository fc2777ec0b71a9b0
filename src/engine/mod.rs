//! The engine: a safe Rust API over the `v8` crate.
//!
//! Modules are declared here from the bottom layer up, and each may use only the
//! modules declared before it (`tests/layers.rs` checks this). Nothing here knows about
//! the C ABI: no `repr(C)`, no exports, no raw pointers in public signatures.
//!
//! What V8 holds must outlive it: every native function and host function is reached
//! from JavaScript through the *id* of its context (looked up, and checked, on entry),
//! never through a pointer into memory that a context owns; the only pointers given to
//! V8 point at state that lives as long as the isolate. Each context has its own
//! microtask queue, so work left by one context never runs in another. Every callback
//! V8 makes into Rust is behind the same panic boundary as the C ABI.

pub mod text;
pub mod error;
pub(crate) mod source_map;
pub(crate) mod panic;
pub(crate) mod stack;
pub mod platform;
pub(crate) mod snapshot_file;
pub mod code_cache;
pub(crate) mod stop;
pub mod cancel;
pub mod sigint;
pub(crate) mod budget;
pub mod console;
pub mod vm;
pub(crate) mod call;
pub(crate) mod timers;
pub(crate) mod script;
pub(crate) mod exception;
pub mod values;
pub mod host;
pub(crate) mod decoders;
pub(crate) mod compression;
pub(crate) mod pending;
pub(crate) mod realm;
pub(crate) mod natives;
pub(crate) mod bindings;
pub(crate) mod event_loop;
pub mod modules;
pub(crate) mod wasm;
pub mod web;
pub mod node;
pub mod startup;
pub mod context;
pub(crate) mod snapshot_builtins;
pub mod snapshot;
pub mod inspector;

pub use cancel::CancelToken;
pub use console::{ConsoleLevel, ConsoleSink};
pub use context::Context;
pub use error::{Code, Error, Frame, Generated, JsError};
pub use host::{HostError, HostFunction};
pub use inspector::Inspector;
pub use node::NodeOptions;
pub use text::Text;
pub use values::CallFlags;
pub use vm::{HeapStats, Vm, VmOptions};
pub use web::WebFeatures;
