//! `v8rs_error`: what went wrong, with the parts of a JavaScript exception.

use std::ffi::{c_char, c_void};
use std::ptr;

use crate::abi::boundary::shielded;
use crate::abi::handle::{free_box, try_ref, Castable, OwnershipBox};
use crate::abi::host::ForeignData;
use crate::abi::strings::view;
use crate::abi::types::v8rs_code;
use crate::engine::{Error, Generated, JsError, Text};

/// An error: a code, a message and, for JavaScript errors, the parts of the exception.
///
/// Thread safety: immutable; may be read from any thread and freed on any thread.
///
/// Ownership: returned through `error_out` parameters, freed by `v8rs_error_free`.
pub struct v8rs_error {
    _private: [u8; 0],
}

impl Castable for v8rs_error {
    type Ownership = OwnershipBox;
    type RustType = Error;
}

fn error_ref<'a>(error: *const v8rs_error) -> Option<&'a Error> {
    // SAFETY: `error` is NULL or an error from this library, not freed yet (the
    // contract of every accessor).
    unsafe { try_ref(error) }
}

fn js_part<'a>(
    error: *const v8rs_error,
    part: impl FnOnce(&'a JsError) -> Option<&'a Text>,
) -> Option<&'a Text> {
    error_ref(error).and_then(Error::js_error).and_then(part)
}

/// A borrowed view of a part of an error, behind the panic boundary.
///
/// # Safety
/// `len_out` is NULL or writable.
unsafe fn text_view(
    text: impl FnOnce() -> Option<&'static Text>,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: the text lives in the error, which the caller keeps until it frees it;
    // `len_out` is NULL or writable (this function's contract).
    shielded(ptr::null(), || unsafe { view(text(), len_out) })
}

fn js_number(error: *const v8rs_error, part: impl FnOnce(&JsError) -> Option<u32>) -> i64 {
    shielded(-1, || {
        error_ref(error)
            .and_then(Error::js_error)
            .and_then(part)
            .map_or(-1, i64::from)
    })
}

/// Frees an error (NULL is a no-op). A host exception's payload
/// (`v8rs_error_host_data`) is finalized now.
///
/// # Safety
/// `error` is NULL or an error from this library, not freed yet.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_free(error: *mut v8rs_error) {
    // SAFETY: NULL or a live error from an `error_out` parameter (the caller's contract).
    shielded((), || drop(unsafe { free_box(error) }))
}

/// The error's code (`V8RS_CODE_INVALID_ARGUMENT` for a NULL error).
///
/// # Safety
/// `error` is NULL or a live error from this library.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_code(error: *const v8rs_error) -> v8rs_code {
    shielded(v8rs_code::Unknown, || {
        error_ref(error).map_or(v8rs_code::InvalidArgument, |e| e.code().into())
    })
}

/// The full message; for JavaScript errors the trace text:
/// `"<script>:<line>\n    <source line>\n    <spaces>^^^\n<stack or String(exception)>"`.
/// Borrowed; `*len_out` (when not NULL) receives its length.
///
/// # Safety
/// `error` is NULL or a live error from this library; `len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_message(
    error: *const v8rs_error,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: `len_out` is NULL or writable (this function's contract).
    unsafe { text_view(|| error_ref(error).map(Error::message), len_out) }
}

/// The exception's `name` (`"SyntaxError"`, …; empty when the thrown value is not an
/// Error), or NULL for errors that are not JavaScript errors. Borrowed.
///
/// # Safety
/// `error` is NULL or a live error from this library; `len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_js_name(
    error: *const v8rs_error,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: `len_out` is NULL or writable (this function's contract).
    unsafe { text_view(|| js_part(error, |js| Some(&js.name)), len_out) }
}

/// The exception's `message` (or `String(exception)` for non-Error values), or NULL
/// for errors that are not JavaScript errors. Borrowed.
///
/// # Safety
/// `error` is NULL or a live error from this library; `len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_js_message(
    error: *const v8rs_error,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: `len_out` is NULL or writable (this function's contract).
    unsafe { text_view(|| js_part(error, |js| Some(&js.message)), len_out) }
}

/// The name of the script where the exception was thrown, or NULL. Borrowed.
///
/// # Safety
/// `error` is NULL or a live error from this library; `len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_script_name(
    error: *const v8rs_error,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: `len_out` is NULL or writable (this function's contract).
    unsafe { text_view(|| js_part(error, |js| js.script_name.as_ref()), len_out) }
}

/// The source line where the exception was thrown, or NULL. Borrowed.
///
/// # Safety
/// `error` is NULL or a live error from this library; `len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_source_line(
    error: *const v8rs_error,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: `len_out` is NULL or writable (this function's contract).
    unsafe { text_view(|| js_part(error, |js| js.source_line.as_ref()), len_out) }
}

/// The exception's `stack` property, or NULL when it has none. Borrowed.
///
/// # Safety
/// `error` is NULL or a live error from this library; `len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_stack(
    error: *const v8rs_error,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: `len_out` is NULL or writable (this function's contract).
    unsafe { text_view(|| js_part(error, |js| js.stack.as_ref()), len_out) }
}

/// The file an I/O (or file encoding) error is about, or NULL. Borrowed.
///
/// # Safety
/// `error` is NULL or a live error from this library; `len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_path(
    error: *const v8rs_error,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: `len_out` is NULL or writable (this function's contract).
    unsafe { text_view(|| error_ref(error).and_then(Error::path), len_out) }
}

/// The 1-based line of the exception, or -1 when unknown.
///
/// # Safety
/// `error` is NULL or a live error from this library.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_line(error: *const v8rs_error) -> i64 {
    js_number(error, |js| js.line)
}

/// The 0-based column where the failing expression starts, or -1 when unknown.
///
/// # Safety
/// `error` is NULL or a live error from this library.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_start_column(error: *const v8rs_error) -> i64 {
    js_number(error, |js| js.start_column)
}

/// The 0-based column just past the failing expression, or -1 when unknown.
///
/// # Safety
/// `error` is NULL or a live error from this library.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_end_column(error: *const v8rs_error) -> i64 {
    js_number(error, |js| js.end_column)
}

/// A part of the generated location of a JavaScript error: of `js.generated` when the
/// error was source-mapped, else the error's own (V8's positions either way).
fn generated_part<'a>(
    error: *const v8rs_error,
    mapped: impl FnOnce(&'a Generated) -> Option<&'a Text>,
    plain: impl FnOnce(&'a JsError) -> Option<&'a Text>,
) -> Option<&'a Text> {
    let js = error_ref(error).and_then(Error::js_error)?;
    match js.generated.as_deref() {
        Some(generated) => mapped(generated),
        None => plain(js),
    }
}

/// Whether the error's location, source line and stack were moved to original
/// positions by a source map (`docs/debugging.md`); false for other errors. The
/// positions V8 reported stay available through the `v8rs_error_generated_*`
/// accessors.
///
/// # Safety
/// `error` is NULL or a live error from this library.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_is_source_mapped(error: *const v8rs_error) -> bool {
    shielded(false, || {
        error_ref(error)
            .and_then(Error::js_error)
            .is_some_and(|js| js.generated.is_some())
    })
}

/// The name of the script V8 ran where the exception was thrown (the bundle, not the
/// original source), or NULL. The same as `v8rs_error_script_name` when the error is
/// not source-mapped. Borrowed.
///
/// # Safety
/// `error` is NULL or a live error from this library; `len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_generated_script_name(
    error: *const v8rs_error,
    len_out: *mut usize,
) -> *const c_char {
    let part = || {
        generated_part(
            error,
            |g| g.script_name.as_ref(),
            |js| js.script_name.as_ref(),
        )
    };
    // SAFETY: `len_out` is NULL or writable (this function's contract).
    unsafe { text_view(part, len_out) }
}

/// The generated source line (of the script V8 ran), or NULL. Borrowed.
///
/// # Safety
/// `error` is NULL or a live error from this library; `len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_generated_source_line(
    error: *const v8rs_error,
    len_out: *mut usize,
) -> *const c_char {
    let part = || {
        generated_part(
            error,
            |g| g.source_line.as_ref(),
            |js| js.source_line.as_ref(),
        )
    };
    // SAFETY: `len_out` is NULL or writable (this function's contract).
    unsafe { text_view(part, len_out) }
}

/// The `stack` property as V8 wrote it (frames at generated positions), or NULL.
/// Borrowed.
///
/// # Safety
/// `error` is NULL or a live error from this library; `len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_generated_stack(
    error: *const v8rs_error,
    len_out: *mut usize,
) -> *const c_char {
    let part = || generated_part(error, |g| g.stack.as_ref(), |js| js.stack.as_ref());
    // SAFETY: `len_out` is NULL or writable (this function's contract).
    unsafe { text_view(part, len_out) }
}

/// The 1-based generated line, or -1 when unknown.
///
/// # Safety
/// `error` is NULL or a live error from this library.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_generated_line(error: *const v8rs_error) -> i64 {
    js_number(error, |js| {
        js.generated.as_deref().map_or(js.line, |g| g.line)
    })
}

/// The 0-based generated start column, or -1 when unknown.
///
/// # Safety
/// `error` is NULL or a live error from this library.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_generated_start_column(error: *const v8rs_error) -> i64 {
    js_number(error, |js| {
        js.generated
            .as_deref()
            .map_or(js.start_column, |g| g.start_column)
    })
}

/// The 0-based generated end column, or -1 when unknown.
///
/// # Safety
/// `error` is NULL or a live error from this library.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_generated_end_column(error: *const v8rs_error) -> i64 {
    js_number(error, |js| {
        js.generated
            .as_deref()
            .map_or(js.end_column, |g| g.end_column)
    })
}

/// The stack frames of a JavaScript error as a JSON array (innermost first), or NULL
/// for other errors. Each frame is `{"function_name": str, "script_name": str, "line":
/// int|null, "column": int|null, "generated": frame|null}` — `line` and `column`
/// 1-based, as in the stack text; `function_name` and `script_name` empty when unknown;
/// `generated` is where V8 ran the frame when the frame was source-mapped, `null`
/// otherwise. At most 10 frames (V8's capture limit). Borrowed.
///
/// # Safety
/// `error` is NULL or a live error from this library; `len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_frames_json(
    error: *const v8rs_error,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: `len_out` is NULL or writable (this function's contract).
    unsafe { text_view(|| error_ref(error).and_then(Error::frames_json), len_out) }
}

/// The operating system's `errno` behind a `V8RS_CODE_IO_ERROR`, or 0.
///
/// # Safety
/// `error` is NULL or a live error from this library.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_os_errno(error: *const v8rs_error) -> i32 {
    shielded(0, || {
        error_ref(error).and_then(Error::os_errno).unwrap_or(0)
    })
}

/// When this error is the uncaught exception of a host function that answered with
/// `v8rs_reply_error_with_data`: that `data` (still owned by the error: its finalizer
/// runs when the error is freed). NULL otherwise — also for a later error that merely
/// has the same message.
///
/// # Safety
/// `error` is NULL or a live error from this library.
#[no_mangle]
pub unsafe extern "C" fn v8rs_error_host_data(error: *const v8rs_error) -> *mut c_void {
    shielded(ptr::null_mut(), || {
        error_ref(error)
            .and_then(Error::host_payload)
            .and_then(|payload| payload.0.downcast_ref::<ForeignData>())
            .map_or(ptr::null_mut(), ForeignData::data)
    })
}
