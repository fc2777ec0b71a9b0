//! Host functions: functions of the embedder (C, Python, …) that JavaScript calls.
//!
//! A host function is a C function pointer plus an opaque `data` pointer. When
//! JavaScript calls it, its arguments arrive as a wire-format array (see `values.rs`);
//! it answers through a [`Reply`] with a wire-format value or an error message, which
//! becomes a JavaScript exception. It runs on the calling thread with the VM held. It
//! may call back into the same VM (a nested call, run inside the outer one and under
//! its timeout), but not into another VM on that thread (`InvalidState`).

use std::ffi::{c_char, c_void};

use crate::error::{Code, Error};

/// The signature of a host function (C: `v8rs_host_fn`): `args` is a wire-format array
/// of `args_len` bytes, valid during the call; answer through `reply`.
pub type HostFn = unsafe extern "C" fn(
    data: *mut c_void,
    args: *const c_char,
    args_len: usize,
    reply: *mut Reply,
);

/// A host function and its data, owned by the context it was exposed in.
pub(crate) struct HostFunction {
    pub(crate) function: HostFn,
    pub(crate) data: *mut c_void,
}

// SAFETY: the embedder promises (in the C ABI's documentation) that `data` may be used
// from whichever thread calls into the context; we only hand it back to `function`.
unsafe impl Send for HostFunction {}
// SAFETY: as above; the struct itself is never mutated after creation.
unsafe impl Sync for HostFunction {}

/// The answer of a host function (C: `v8rs_reply`), filled by `v8rs_reply_value` or
/// `v8rs_reply_error` during the call.
#[derive(Default)]
pub struct Reply {
    pub(crate) value: Option<Vec<u8>>,
    pub(crate) error: Option<Vec<u8>>,
    /// The canonical name of a module, for a module resolver's reply.
    pub(crate) name: Option<Vec<u8>>,
}

/// The V8 callback behind every host function.
pub(crate) fn trampoline<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Ok(external) = v8::Local::<v8::External>::try_from(args.data()) else {
        return;
    };
    // SAFETY: the data of every host function is an External pointing at a
    // `HostFunction` that its context keeps alive as long as the context lives.
    let host = unsafe { &*(external.value() as *const HostFunction) };
    let values: Vec<_> = (0..args.length()).map(|i| args.get(i)).collect();
    let array = v8::Array::new_with_elements(scope, &values);
    let mut packed = Vec::new();
    match crate::values::write(scope, array.into(), &mut packed, false) {
        Ok(()) => {}
        Err(Some(error)) => return throw(scope, &error.message().to_str_lossy()),
        Err(None) => return, // a getter threw: its exception propagates
    }
    let mut reply = Reply::default();
    // SAFETY: calling the embedder's function with its own data, a buffer valid for
    // the call, and a reply it may fill during the call.
    unsafe {
        (host.function)(
            host.data,
            packed.as_ptr() as *const c_char,
            packed.len(),
            &mut reply,
        )
    };
    if let Some(message) = reply.error {
        return throw(scope, &String::from_utf8_lossy(&message));
    }
    if let Some(value) = reply.value {
        match crate::values::read(scope, &value) {
            Ok(value) => rv.set(value),
            Err(error) => throw(
                scope,
                &format!("the host function returned {}", error.message()),
            ),
        }
    }
}

/// Throws `Error(message)` in `scope`.
fn throw(scope: &mut v8::PinScope<'_, '_>, message: &str) {
    if let Some(text) = v8::String::new(scope, message) {
        let error = v8::Exception::error(scope, text);
        scope.throw_exception(error);
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
