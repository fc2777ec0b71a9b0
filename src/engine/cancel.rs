//! Cancelling calls from another thread: a [`CancelToken`] made current on a thread
//! (`CancelToken::enter`) is attached to every outermost call that thread makes; once
//! cancelled, the call running under it stops with [`Code::Terminated`](crate::engine::Code),
//! and so does every later call made under it, before running any JavaScript.
//!
//! This is what lets an asyncio task that awaits a call on an executor thread stop
//! exactly that call when the task is cancelled, and no other call of the same VM.
//!
//! Lock order: a token's lock may be taken with a VM held, and then a `Stops` lock;
//! never the other way round.

use std::cell::RefCell;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::engine::stop::{CallId, StopReason, Stops, Target};

thread_local! {
    /// The token attached to this thread's calls.
    static CURRENT: RefCell<Option<Arc<CancelToken>>> = const { RefCell::new(None) };
}

/// A switch that stops the calls made under it (see the module documentation).
#[derive(Default)]
pub struct CancelToken {
    state: Mutex<TokenState>,
}

#[derive(Default)]
struct TokenState {
    cancelled: bool,
    /// The calls running under the token now (one per thread that entered it): each
    /// one's VM's stop switch and call number.
    running: Vec<(Weak<Stops>, CallId)>,
}

impl CancelToken {
    /// A new token, not cancelled.
    pub fn new() -> Arc<CancelToken> {
        Arc::default()
    }

    /// Attaches `token` (or, with `None`, no token) to the calls this thread makes
    /// from now on.
    pub fn enter(token: Option<Arc<CancelToken>>) {
        CURRENT.with(|current| *current.borrow_mut() = token);
    }

    /// Cancels the token: stops the calls running under it, if any, and every later one.
    /// Returns whether a running call was stopped.
    pub fn cancel(&self) -> bool {
        let mut state = self.state.lock();
        state.cancelled = true;
        let mut stopped = false;
        for (stops, call) in &state.running {
            if let Some(stops) = stops.upgrade() {
                stopped |= stops.stop(StopReason::Cancelled, Target::Call(*call));
            }
        }
        stopped
    }

    /// Whether [`Self::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.state.lock().cancelled
    }
}

/// Whether the current thread's token is cancelled (a call nested in another one, which
/// runs under the outer call's stop state, checks this before it runs).
pub(crate) fn current_is_cancelled() -> bool {
    CURRENT.with(|current| current.borrow().as_ref().is_some_and(|t| t.is_cancelled()))
}

/// The current thread's token, attached to the call that just began (number `call` of
/// `stops`); a cancelled token stops it at once. Detached when dropped.
pub(crate) struct Attached(Option<(Arc<CancelToken>, Weak<Stops>, CallId)>);

impl Attached {
    pub(crate) fn to_call(stops: &Arc<Stops>, call: CallId) -> Attached {
        let token = CURRENT.with(|current| current.borrow().clone());
        if let Some(token) = &token {
            let mut state = token.state.lock();
            state.running.push((Arc::downgrade(stops), call));
            if state.cancelled {
                stops.stop(StopReason::Cancelled, Target::Call(call));
            }
        }
        Attached(token.map(|token| (token, Arc::downgrade(stops), call)))
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        if let Some((token, stops, call)) = &self.0 {
            let mut state = token.state.lock();
            state
                .running
                .retain(|(s, c)| !(c == call && Weak::ptr_eq(s, stops)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_cancelled_with_no_call_running_stays_cancelled() {
        let token = CancelToken::new();
        assert!(!token.is_cancelled());
        assert!(!token.cancel(), "no call was running");
        assert!(token.is_cancelled());
        assert!(!token.cancel());
    }

    #[test]
    fn entering_a_token_is_per_thread() {
        let token = CancelToken::new();
        CancelToken::enter(Some(token.clone()));
        let elsewhere = std::thread::spawn(|| CURRENT.with(|c| c.borrow().is_none()));
        assert!(elsewhere.join().unwrap());
        assert!(CURRENT.with(|c| c.borrow().is_some()));
        CancelToken::enter(None);
        assert_eq!(Arc::strong_count(&token), 1);
    }
}
