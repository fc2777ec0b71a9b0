//! Errors of the engine core: one [`Code`] per kind of failure, plus the details.
//!
//! A [`Code`] keeps "you called me wrong" ([`Code::InvalidArgument`],
//! [`Code::InvalidState`]) apart from "the JavaScript failed" ([`Code::JsError`]).
//! JavaScript failures carry a [`JsError`] with the structured parts of the exception,
//! and their [`Error::message`] is v8-cffi's trace text built from those parts.
//!
//! An error that a host function raised (and JavaScript did not catch) carries the
//! embedder's [`HostPayload`], so the embedder can raise its own exception again.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::engine::text::Text;

/// Result code of every fallible operation.
///
/// The numeric values are stable: new codes are only ever appended (the C ABI's
/// `v8rs_code` has the same values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// Success.
    Ok = 0,
    /// JavaScript threw (a syntax error at compile time, or an exception at run time).
    JsError = 1,
    /// The heap reached its limit (the call was stopped; the process lives on), or a
    /// string was too large for V8.
    OutOfMemory = 2,
    /// An argument was wrong: a NULL pointer, bytes that are not UTF-8, …
    InvalidArgument = 3,
    /// The call does not fit the lifecycle: set-up twice, used after tear-down or
    /// free, or a parent (platform, VM) already torn down.
    InvalidState = 4,
    /// A file could not be read.
    IoError = 5,
    /// Anything else (an internal failure; a bug if you see it).
    Unknown = 6,
    /// The running JavaScript was stopped by a terminate request from some thread.
    Terminated = 7,
    /// The running JavaScript was stopped because its timeout expired.
    Timeout = 8,
    /// A value has no faithful equivalent on the other side (a function, a Symbol, a
    /// cycle, …); see the wire format in `values.rs`.
    Conversion = 9,
}

/// Source lines longer than this (in characters) are not shown in the trace text.
pub const MAX_SOURCE_LINE_CHARS: usize = 240;

/// The structured parts of a JavaScript exception.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JsError {
    /// The exception's `name` (`"SyntaxError"`, `"TypeError"`, …); empty when the thrown
    /// value is not an object with a string name.
    pub name: Text,
    /// The exception's `message` when it is an Error, else `String(exception)`.
    pub message: Text,
    /// `String(exception)`, as JavaScript would print it.
    pub exception: Text,
    /// The name of the script in which it was thrown.
    pub script_name: Option<Text>,
    /// 1-based line number in that script.
    pub line: Option<u32>,
    /// 0-based column where the failing expression starts on that line.
    pub start_column: Option<u32>,
    /// 0-based column just past its end.
    pub end_column: Option<u32>,
    /// The source line itself.
    pub source_line: Option<Text>,
    /// The exception's `stack` property, when it has one (its frames at their original
    /// positions when source-mapped).
    pub stack: Option<Text>,
    /// The stack frames V8 captured, innermost first (mapped where their script is).
    pub frames: Vec<Frame>,
    /// Where V8 reported the error, when the fields above were source-mapped.
    pub generated: Option<Box<Generated>>,
}

/// The generated (unmapped) location and stack of a source-mapped [`JsError`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Generated {
    /// The name of the script V8 ran.
    pub script_name: Option<Text>,
    /// 1-based line in that script.
    pub line: Option<u32>,
    /// 0-based start column.
    pub start_column: Option<u32>,
    /// 0-based column just past the end.
    pub end_column: Option<u32>,
    /// The generated source line.
    pub source_line: Option<Text>,
    /// The `stack` property as V8 wrote it.
    pub stack: Option<Text>,
}

/// One frame of a JavaScript stack, at its original position when its script is
/// source-mapped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    /// The function's name (the map's name for it when mapped); empty when anonymous.
    pub function_name: String,
    /// The script (or original source) name; empty when unknown.
    pub script_name: String,
    /// 1-based line; 0 when unknown.
    pub line: u32,
    /// 1-based column; 0 when unknown.
    pub column: u32,
    /// Where V8 ran it: the generated frame, when this one was mapped.
    pub generated: Option<Box<Frame>>,
}

impl Frame {
    fn to_json(&self) -> serde_json::Value {
        let known = |n: u32| (n > 0).then_some(n);
        serde_json::json!({
            "function_name": self.function_name,
            "script_name": self.script_name,
            "line": known(self.line),
            "column": known(self.column),
            "generated": self.generated.as_deref().map(Frame::to_json),
        })
    }
}

impl JsError {
    /// The frames as a JSON array of objects `{"function_name", "script_name", "line",
    /// "column", "generated"}` (`line`/`column` 1-based or `null`; `generated` the same
    /// object for the position V8 ran, or `null` when the frame is not mapped).
    pub fn frames_json(&self) -> String {
        serde_json::Value::Array(self.frames.iter().map(Frame::to_json).collect()).to_string()
    }
}

impl JsError {
    /// The trace text of v8-cffi:
    ///
    /// ```text
    /// <script name>:<line>
    ///     <source line>
    ///     <spaces>^^^^
    /// <the stack, or String(exception) when there is no stack>
    /// ```
    pub fn trace(&self) -> String {
        let mut out = String::new();
        if let (Some(name), Some(line)) = (&self.script_name, self.line) {
            out.push_str(&format!("{}:{}\n", name, line));
            match &self.source_line {
                Some(src) if src.to_str_lossy().chars().count() > MAX_SOURCE_LINE_CHARS => {
                    out.push_str("    ~Line too long to display.\n");
                }
                Some(src) => {
                    // The caret stays within the line, whatever columns V8 reported.
                    let width = src.to_str_lossy().chars().count();
                    let start = (self.start_column.unwrap_or(0) as usize).min(width);
                    let end = (self.end_column.unwrap_or(0) as usize).clamp(start, width);
                    out.push_str("    ");
                    out.push_str(&src.to_str_lossy());
                    out.push_str("\n    ");
                    out.push_str(&" ".repeat(start));
                    out.push_str(&"^".repeat(end - start));
                    out.push('\n');
                }
                None => {}
            }
        }
        match &self.stack {
            Some(stack) if !stack.as_bytes().is_empty() => out.push_str(&stack.to_str_lossy()),
            _ => out.push_str(&self.exception.to_str_lossy()),
        }
        out
    }
}

/// What an embedder attached to the exception of a host function (see
/// [`crate::engine::host`]): handed back with the error when JavaScript did not catch
/// that exception, dropped (so its owner can finalize it) otherwise.
#[derive(Clone)]
pub struct HostPayload(pub Arc<dyn Any + Send + Sync>);

impl fmt::Debug for HostPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HostPayload(..)")
    }
}

impl PartialEq for HostPayload {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for HostPayload {}

/// An error of the engine core: a [`Code`], a human-readable message and, for
/// JavaScript errors, the [`JsError`] parts; for I/O errors, the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    code: Code,
    message: Text,
    js: Option<Box<JsError>>,
    path: Option<Text>,
    os_errno: Option<i32>,
    host: Option<HostPayload>,
    /// The JavaScript error's frames as JSON ([`JsError::frames_json`]).
    frames_json: Option<Text>,
}

impl Error {
    /// An error with `code` and a plain `message`.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error {
            code,
            message: Text::from(message.into()),
            js: None,
            path: None,
            os_errno: None,
            host: None,
            frames_json: None,
        }
    }

    /// This error with `prefix` before its message (the JavaScript parts unchanged).
    pub(crate) fn with_message_prefix(mut self, prefix: &str) -> Self {
        self.message = Text::from(format!("{prefix}{}", self.message.to_str_lossy()));
        self
    }

    /// A [`Code::InvalidArgument`] error.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Error::new(Code::InvalidArgument, message)
    }

    /// A [`Code::InvalidState`] error.
    pub fn invalid_state(message: impl Into<String>) -> Self {
        Error::new(Code::InvalidState, message)
    }

    /// A [`Code::JsError`] error whose message is the trace text of `js`.
    pub fn js(js: JsError) -> Self {
        Error {
            code: Code::JsError,
            message: Text::from(js.trace()),
            frames_json: Some(Text::from(js.frames_json())),
            js: Some(Box::new(js)),
            path: None,
            os_errno: None,
            host: None,
        }
    }

    /// A [`Code::IoError`] error for `path`.
    pub fn io(path: &[u8], err: &std::io::Error) -> Self {
        let shown = String::from_utf8_lossy(path);
        Error {
            code: Code::IoError,
            message: Text::from(format!("{shown}: {err}")),
            js: None,
            path: Some(Text::new(path)),
            os_errno: err.raw_os_error(),
            host: None,
            frames_json: None,
        }
    }

    /// Attaches what a host function's exception carried.
    pub(crate) fn with_host(mut self, payload: HostPayload) -> Self {
        self.host = Some(payload);
        self
    }

    /// What the uncaught exception of a host function carried, when this error is one.
    pub fn host_payload(&self) -> Option<&HostPayload> {
        self.host.as_ref()
    }

    /// Attaches the path the error is about.
    pub fn with_path(mut self, path: &[u8]) -> Self {
        self.path = Some(Text::new(path));
        self
    }

    /// What kind of failure this is.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The full message (for JavaScript errors, the trace text).
    pub fn message(&self) -> &Text {
        &self.message
    }

    /// The parts of the JavaScript exception, for [`Code::JsError`].
    pub fn js_error(&self) -> Option<&JsError> {
        self.js.as_deref()
    }

    /// The JavaScript error's frames as a JSON array ([`JsError::frames_json`]).
    pub fn frames_json(&self) -> Option<&Text> {
        self.frames_json.as_ref()
    }

    /// The file the error is about, for errors of [`Self::load_libs`]-style calls.
    ///
    /// [`Self::load_libs`]: crate::engine::Context::load_libs
    pub fn path(&self) -> Option<&Text> {
        self.path.as_ref()
    }

    /// The operating system's error number (`errno`) behind a [`Code::IoError`].
    pub fn os_errno(&self) -> Option<i32> {
        self.os_errno
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.message, f)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> JsError {
        JsError {
            name: "ReferenceError".into(),
            message: "foo is not defined".into(),
            exception: "ReferenceError: foo is not defined".into(),
            script_name: Some("app.js".into()),
            line: Some(3),
            start_column: Some(4),
            end_column: Some(7),
            source_line: Some("x = foo + 1".into()),
            stack: Some("ReferenceError: foo is not defined\n    at app.js:3:5".into()),
            ..JsError::default()
        }
    }

    #[test]
    fn trace_has_location_source_caret_and_stack() {
        assert_eq!(
            sample().trace(),
            "app.js:3\n    x = foo + 1\n        ^^^\n\
             ReferenceError: foo is not defined\n    at app.js:3:5"
        );
    }

    #[test]
    fn the_caret_stays_within_the_source_line() {
        let caret_line = |start: u32, end: u32| {
            let js = JsError {
                start_column: Some(start),
                end_column: Some(end),
                ..sample()
            };
            js.trace().lines().nth(2).unwrap().to_string()
        };
        let width = "x = foo + 1".len();
        assert_eq!(caret_line(u32::MAX - 1, u32::MAX), " ".repeat(4 + width));
        assert_eq!(caret_line(8, 3), " ".repeat(4 + 8));
        assert_eq!(
            caret_line(8, 100),
            format!("{}{}", " ".repeat(4 + 8), "^".repeat(width - 8))
        );
    }

    #[test]
    fn trace_falls_back_to_the_exception_without_stack() {
        let js = JsError {
            stack: None,
            ..sample()
        };
        assert!(js
            .trace()
            .ends_with("^^^\nReferenceError: foo is not defined"));
    }

    #[test]
    fn trace_hides_long_lines() {
        let js = JsError {
            source_line: Some(Text::from("a".repeat(MAX_SOURCE_LINE_CHARS + 1))),
            ..sample()
        };
        assert!(js
            .trace()
            .starts_with("app.js:3\n    ~Line too long to display.\nReferenceError"));
        let just_fits = JsError {
            source_line: Some(Text::from("é".repeat(MAX_SOURCE_LINE_CHARS))),
            ..sample()
        };
        assert!(!just_fits.trace().contains("too long"));
    }

    #[test]
    fn trace_without_location_is_the_exception_alone() {
        let js = JsError {
            script_name: None,
            line: None,
            stack: None,
            ..sample()
        };
        assert_eq!(js.trace(), "ReferenceError: foo is not defined");
    }

    #[test]
    fn frames_come_as_json() {
        let js = JsError {
            frames: vec![Frame {
                function_name: "fail".into(),
                script_name: "src/a.ts".into(),
                line: 2,
                column: 3,
                generated: Some(Box::new(Frame {
                    function_name: "m".into(),
                    script_name: "app.js".into(),
                    line: 1,
                    column: 0,
                    generated: None,
                })),
            }],
            ..sample()
        };
        let frames: serde_json::Value = serde_json::from_str(&js.frames_json()).unwrap();
        assert_eq!(frames[0]["function_name"], "fail");
        assert_eq!(frames[0]["line"], 2);
        assert_eq!(frames[0]["generated"]["script_name"], "app.js");
        assert!(frames[0]["generated"]["column"].is_null());
        assert!(frames[0]["generated"]["generated"].is_null());
        assert_eq!(
            Error::js(js).frames_json().unwrap().to_str_lossy(),
            frames.to_string()
        );
        assert_eq!(sample().frames_json(), "[]");
    }

    #[test]
    fn io_errors_carry_their_path() {
        let err = Error::io(
            b"/no/such",
            &std::io::Error::from(std::io::ErrorKind::NotFound),
        );
        assert_eq!(err.code(), Code::IoError);
        assert_eq!(err.path().unwrap().as_bytes(), b"/no/such");
        assert!(err.message().to_str_lossy().starts_with("/no/such: "));
        let err = Error::io(b"/x", &std::io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!(err.os_errno(), Some(libc::ENOENT));
    }
}
