//! The one panic boundary: every C export (`abi`) and every callback V8 makes into
//! Rust (native functions, host functions, module resolution, the heap-limit callback,
//! the array buffer allocator, serializer delegates) runs its body through [`catch`],
//! so a panic becomes an error value instead of unwinding into C++ (which aborts).

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `body`; a panic in it becomes `Err` with the panic's message.
///
/// The state `body` touched may be half-updated after a panic; callers only report the
/// failure (an error code, a JavaScript exception, a fallback value).
pub(crate) fn catch<R>(body: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(body)).map_err(|panic| message(&*panic).to_string())
}

/// The message a panic was raised with.
fn message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("panic")
}

#[cfg(test)]
mod tests {
    use super::catch;

    #[test]
    fn panics_become_their_message() {
        assert_eq!(catch(|| 7), Ok(7));
        assert_eq!(
            catch(|| -> () { panic!("boom {}", 1) }),
            Err("boom 1".to_string())
        );
        assert_eq!(
            catch(|| -> () { std::panic::panic_any(3u8) }),
            Err("panic".to_string())
        );
    }
}
