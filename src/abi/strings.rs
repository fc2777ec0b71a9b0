//! Bytes in and out: `(pointer, length)` views, caller-owned result strings, borrowed
//! accessor strings.

use std::ffi::{c_char, CStr};
use std::ptr;
use std::time::Duration;

use crate::engine::{Code, Error, Text};

/// Views `(ptr, len)` as bytes; NULL is allowed only with length 0, and a length past
/// `isize::MAX` (no object is that large: most likely `(size_t)-1` for "NUL-terminated",
/// which the C ABI does not take) is refused.
///
/// # Safety
/// `ptr` points to `len` readable bytes, or is NULL.
pub(crate) unsafe fn bytes<'a>(
    ptr: *const c_char,
    len: usize,
    what: &str,
) -> Result<&'a [u8], Error> {
    if isize::try_from(len).is_err() {
        return Err(Error::invalid_argument(format!(
            "{what} has a length of {len}, larger than any object (lengths are byte counts: \
             (size_t)-1 does not mean NUL-terminated)"
        )));
    }
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Error::invalid_argument(format!(
                "{what} is NULL with a length of {len}"
            )))
        };
    }
    // SAFETY: by the caller's contract `ptr` has `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(ptr as *const u8, len) })
}

/// `ptr`, or an `InvalidArgument` error naming `what` when it is NULL.
pub(crate) fn non_null<T>(ptr: *mut T, what: &str) -> Result<*mut T, Error> {
    if ptr.is_null() {
        Err(Error::invalid_argument(format!("{what} is NULL")))
    } else {
        Ok(ptr)
    }
}

/// Copies `bytes` into a `malloc`ed, NUL-terminated buffer for `v8rs_string_free`.
fn into_c_string(bytes: &[u8]) -> Result<*mut c_char, Error> {
    // SAFETY: plain allocation; checked for NULL below.
    let buf = unsafe { libc::malloc(bytes.len() + 1) } as *mut u8;
    if buf.is_null() {
        return Err(Error::new(
            Code::OutOfMemory,
            "cannot allocate the result string",
        ));
    }
    // SAFETY: `buf` has room for the bytes and the terminator.
    unsafe {
        ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len());
        *buf.add(bytes.len()) = 0;
    }
    Ok(buf as *mut c_char)
}

/// Writes a caller-owned copy of `bytes` to `*out` and its length to `*len_out`.
///
/// # Safety
/// `out` is non-NULL and writable; `len_out` is NULL or writable.
pub(crate) unsafe fn hand_out(
    bytes: &[u8],
    out: *mut *mut c_char,
    len_out: *mut usize,
) -> Result<(), Error> {
    let buffer = into_c_string(bytes)?;
    // SAFETY: by this function's contract.
    unsafe {
        *out = buffer;
        if !len_out.is_null() {
            *len_out = bytes.len();
        }
    }
    Ok(())
}

/// A caller's buffer for results (see `v8rs_run_script_into`): `capacity` bytes at
/// `buffer`, the result's length at `len_out`, a spilled copy at `spill_out`.
pub(crate) struct ResultBuffer {
    pub(crate) buffer: *mut c_char,
    pub(crate) capacity: usize,
    pub(crate) len_out: *mut usize,
    pub(crate) spill_out: *mut *mut c_char,
}

impl ResultBuffer {
    /// Checks the out-params before the call runs (`len_name`: what the export calls
    /// `len_out`, for the error).
    pub(crate) fn check(&self, len_name: &str) -> Result<(), Error> {
        non_null(self.len_out, len_name)?;
        non_null(self.spill_out, "spill_out")?;
        if self.buffer.is_null() && self.capacity > 0 {
            return Err(Error::invalid_argument("buffer is NULL with a capacity"));
        }
        Ok(())
    }

    /// Writes `bytes` into the buffer when they fit (NUL after them when there is
    /// room; `*spill_out` NULL), or else hands out a copy at `*spill_out`.
    ///
    /// # Safety
    /// As the `_into` exports: `buffer` has `capacity` writable bytes, the out-params
    /// are writable (checked non-NULL by [`Self::check`]).
    pub(crate) unsafe fn deliver(&self, bytes: &[u8]) -> Result<(), Error> {
        if bytes.len() <= self.capacity {
            // SAFETY: by this function's contract.
            unsafe {
                ptr::copy_nonoverlapping(bytes.as_ptr(), self.buffer as *mut u8, bytes.len());
                if bytes.len() < self.capacity {
                    *self.buffer.add(bytes.len()) = 0;
                }
                *self.spill_out = ptr::null_mut();
                *self.len_out = bytes.len();
            }
            Ok(())
        } else {
            // SAFETY: both out-params are non-NULL and writable.
            unsafe { hand_out(bytes, self.spill_out, self.len_out) }
        }
    }
}

/// Returns a borrowed `(pointer, length)` view of `text`, or NULL when absent.
///
/// # Safety
/// `len_out` is NULL or writable.
pub(crate) unsafe fn view(text: Option<&Text>, len_out: *mut usize) -> *const c_char {
    let (ptr, len) = match text {
        Some(t) => (t.as_ptr() as *const c_char, t.as_bytes().len()),
        None => (ptr::null(), 0),
    };
    if !len_out.is_null() {
        // SAFETY: by this function's contract.
        unsafe { *len_out = len };
    }
    ptr
}

/// The `n` NUL-terminated paths at `paths`, as byte strings.
///
/// # Safety
/// `paths` is NULL (with `n` = 0) or points to `n` pointers, each NULL or a
/// NUL-terminated string.
pub(crate) unsafe fn c_paths<'a>(
    paths: *const *const c_char,
    n: usize,
) -> Result<Vec<&'a [u8]>, Error> {
    if paths.is_null() && n > 0 {
        return Err(Error::invalid_argument("paths is NULL"));
    }
    (0..n)
        .map(|i| {
            // SAFETY: `paths` has `n` readable entries (the caller's contract).
            let path = unsafe { *paths.add(i) };
            if path.is_null() {
                return Err(Error::invalid_argument(format!("paths[{i}] is NULL")));
            }
            // SAFETY: each non-NULL entry is a NUL-terminated string.
            Ok(unsafe { CStr::from_ptr(path) }.to_bytes())
        })
        .collect()
}

/// The script name for `(identifier, identifier_len)`: `"<anonymous>"` for NULL.
///
/// # Safety
/// `identifier` points to `identifier_len` readable bytes, or is NULL.
pub(crate) unsafe fn script_name<'a>(
    identifier: *const c_char,
    identifier_len: usize,
) -> Result<&'a [u8], Error> {
    if identifier.is_null() && identifier_len == 0 {
        Ok(b"<anonymous>")
    } else {
        // SAFETY: by this function's contract.
        unsafe { bytes(identifier, identifier_len, "identifier") }
    }
}

/// A timeout in milliseconds as the engine takes it: 0 means none.
pub(crate) fn timeout(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}
