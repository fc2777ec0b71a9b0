//! Host functions: functions of the embedder (C, Python, …) that JavaScript calls.
//!
//! A host function is a closure. When JavaScript calls it, its arguments arrive as a
//! wire-format array (see `values.rs`); it answers with a wire-format value, or with a
//! [`HostError`], which becomes a JavaScript `Error`. It runs on the calling thread
//! with the VM held. It may call back into the same VM (a nested call, run inside the
//! outer one and under its timeout), but not into another VM on that thread
//! (`InvalidState`).
//!
//! The closure belongs to its context: it is dropped with the context (after the last
//! call that may reach it), which is where an embedder's finalizer runs. JavaScript
//! reaches it only through the context's id and the function's index, checked on
//! every call, so a function of a torn-down context throws instead of running.

use std::any::Any;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::engine::error::{Code, Error, HostPayload};

/// What a host function answers with when it fails.
pub struct HostError {
    /// The message of the JavaScript `Error` it becomes.
    pub message: String,
    /// What the embedder wants back if the error reaches the caller uncaught (its own
    /// exception object, say): see [`Error::host_payload`].
    pub payload: Option<Arc<dyn Any + Send + Sync>>,
}

impl HostError {
    /// An error with `message` and no payload.
    pub fn new(message: impl Into<String>) -> HostError {
        HostError {
            message: message.into(),
            payload: None,
        }
    }

    pub(crate) fn into_parts(self) -> (String, Option<HostPayload>) {
        (self.message, self.payload.map(HostPayload))
    }
}

impl From<String> for HostError {
    fn from(message: String) -> HostError {
        HostError::new(message)
    }
}

impl From<&str> for HostError {
    fn from(message: &str) -> HostError {
        HostError::new(message)
    }
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A host function: the wire-format array of JavaScript's arguments in, a wire-format
/// value (or a [`HostError`]) out.
pub type HostFunction = dyn Fn(&[u8]) -> Result<Vec<u8>, HostError> + Send + Sync;

/// The host functions of one context, by index.
#[derive(Default)]
pub(crate) struct HostTable(Mutex<Vec<Arc<HostFunction>>>);

impl HostTable {
    /// Adds `function`; returns its index.
    pub(crate) fn add(&self, function: Arc<HostFunction>) -> usize {
        let mut functions = self.0.lock();
        functions.push(function);
        functions.len() - 1
    }

    /// The function at `index`.
    pub(crate) fn get(&self, index: usize) -> Option<Arc<HostFunction>> {
        self.0.lock().get(index).cloned()
    }
}

/// Checks a name for a global.
pub(crate) fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        Err(Error::new(
            Code::InvalidArgument,
            "a host function needs a name",
        ))
    } else {
        Ok(())
    }
}
