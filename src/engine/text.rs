//! Byte strings handed across the C ABI: UTF-8 (possibly with NUL bytes inside),
//! always followed by one NUL byte that is not part of their length.

use std::fmt;

/// An immutable byte string with a hidden NUL terminator, so C callers may use it
/// either as `(pointer, length)` or, when it has no inner NUL, as a C string.
#[derive(Clone, PartialEq, Eq)]
pub struct Text(Box<[u8]>);

impl Text {
    /// Copies `bytes` and appends the terminator.
    pub fn new(bytes: &[u8]) -> Self {
        let mut buf = Vec::with_capacity(bytes.len() + 1);
        buf.extend_from_slice(bytes);
        buf.push(0);
        Text(buf.into_boxed_slice())
    }

    /// The bytes, without the terminator.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0[..self.0.len() - 1]
    }

    /// The bytes as text, with invalid UTF-8 (impossible for text from V8) replaced.
    pub fn to_str_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.as_bytes())
    }

    /// Pointer to the first byte; the terminator follows the last one.
    pub(crate) fn as_ptr(&self) -> *const u8 {
        self.0.as_ptr()
    }
}

impl Default for Text {
    fn default() -> Self {
        Text::new(b"")
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text::new(s.as_bytes())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        let mut buf = s.into_bytes();
        buf.push(0);
        Text(buf.into_boxed_slice())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_str_lossy(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_str_lossy(), f)
    }
}
