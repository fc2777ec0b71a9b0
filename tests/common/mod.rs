//! Shared set-up for the Rust integration tests.

use std::sync::{Arc, Once};

use v8rs::{Context, Vm};

/// Sets the platform up once for this test process.
pub fn platform() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| v8rs::engine::platform::set_up("").expect("platform set-up"));
}

/// A fresh VM with one context.
#[allow(dead_code)] // not every test binary uses it
pub fn context() -> Arc<Context> {
    platform();
    let vm = Vm::new().expect("vm");
    Context::new(&vm).expect("context")
}

/// Runs `source` as `<anonymous>` and returns the result as a Rust string.
#[allow(dead_code)] // not every test binary uses it
pub fn run(ctx: &Context, source: &str) -> Result<String, v8rs::Error> {
    ctx.run_script(source.as_bytes(), b"<anonymous>")
        .map(|t| String::from_utf8(t.as_bytes().to_vec()).expect("utf-8"))
}
