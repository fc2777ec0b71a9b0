//! Where a VM's `console.*` output goes: the embedder's [`ConsoleSink`], one per VM.
//!
//! The web group `console` (see `web/console.js`) formats each call as Node does
//! (`util.format`, with Node's `util.inspect` for objects) and hands the finished text
//! here with its [`ConsoleLevel`]; a VM without a sink drops it. An attached DevTools
//! inspector gets every call too, from V8's own console.

use std::sync::Arc;

/// The severity of a console call, which decides its stream: Node writes
/// [`Debug`](Self::Debug), [`Log`](Self::Log) and [`Info`](Self::Info) to stdout,
/// [`Warn`](Self::Warn) and [`Error`](Self::Error) to stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConsoleLevel {
    /// `console.debug`.
    Debug = 0,
    /// `console.log`, and what prints like it (`dir`, `table`, `count`, `time*`, `group`).
    Log = 1,
    /// `console.info`.
    Info = 2,
    /// `console.warn`, and the warnings of `countReset`/`timeEnd` on unknown labels.
    Warn = 3,
    /// `console.error`, `console.trace`, failed `console.assert`s.
    Error = 4,
}

impl ConsoleLevel {
    /// The level numbered `n` (the C ABI's `V8RS_CONSOLE_*`), if there is one.
    pub fn from_number(n: u32) -> Option<ConsoleLevel> {
        Some(match n {
            0 => ConsoleLevel::Debug,
            1 => ConsoleLevel::Log,
            2 => ConsoleLevel::Info,
            3 => ConsoleLevel::Warn,
            4 => ConsoleLevel::Error,
            _ => return None,
        })
    }

    /// Whether Node would write it to stderr.
    pub fn is_stderr(self) -> bool {
        matches!(self, ConsoleLevel::Warn | ConsoleLevel::Error)
    }
}

/// Receives the formatted text of each console call (without a final newline; a
/// `console.group` indent included). Called on the thread running the call, while it
/// holds the VM: it must not call into the same VM.
pub type ConsoleSink = Arc<dyn Fn(ConsoleLevel, &str) + Send + Sync>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_round_trip_and_pick_their_stream() {
        for n in 0..5 {
            let level = ConsoleLevel::from_number(n).unwrap();
            assert_eq!(level as u32, n);
        }
        assert_eq!(ConsoleLevel::from_number(5), None);
        assert!(ConsoleLevel::Error.is_stderr() && ConsoleLevel::Warn.is_stderr());
        assert!(!ConsoleLevel::Log.is_stderr() && !ConsoleLevel::Debug.is_stderr());
    }
}
