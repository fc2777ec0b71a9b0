//! Pending host operations: promises of a context that the embedder settles later,
//! from any thread (a `fetch` served by a Python handler on an asyncio loop, say).
//!
//! A native makes an operation with [`PendingOps::begin`] — a `v8::PromiseResolver`
//! kept under a fresh id — and hands the id to the host. The host answers with
//! [`PendingOps::settle`] (any thread, no VM lock: the answer is queued) and wakes the
//! VM's waiting calls; the next turn of the context's event loop
//! ([`PendingOps::resolve_settled`]) resolves the promise with the answer, read from
//! the wire format. An operation still outstanding keeps the loop from idling: a call
//! that awaits it waits (with the VM released) for its answer. Answers always
//! *resolve*: what they mean (a response, an error) is for the JavaScript that made
//! the operation to read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

/// The pending operations of one realm.
#[derive(Default)]
pub(crate) struct PendingOps {
    /// The last id given out (ids start at 1 and are never reused).
    last: AtomicU64,
    /// The promises waiting for an answer, by id.
    waiting: Mutex<HashMap<u64, v8::Global<v8::PromiseResolver>>>,
    /// Answers in the wire format, queued by [`Self::settle`] until the next turn.
    settled: Mutex<Vec<(u64, Vec<u8>)>>,
}

impl PendingOps {
    /// Makes an operation: its id, and the promise its answer resolves.
    pub(crate) fn begin<'s>(
        &self,
        scope: &mut v8::PinScope<'s, '_>,
    ) -> Option<(u64, v8::Local<'s, v8::Promise>)> {
        let resolver = v8::PromiseResolver::new(scope)?;
        let promise = resolver.get_promise(scope);
        let id = self.last.fetch_add(1, Ordering::Relaxed) + 1;
        self.waiting
            .lock()
            .insert(id, v8::Global::new(scope, resolver));
        Some((id, promise))
    }

    /// Queues the answer `value` (wire format) of operation `id`; whether the
    /// operation was waiting for one (an unknown, answered or forgotten id is ignored).
    pub(crate) fn settle(&self, id: u64, value: Vec<u8>) -> bool {
        if !self.waiting.lock().contains_key(&id) {
            return false;
        }
        let mut settled = self.settled.lock();
        if settled.iter().any(|(queued, _)| *queued == id) {
            return false;
        }
        settled.push((id, value));
        true
    }

    /// Forgets operation `id`: its promise stays pending for ever, and a later answer
    /// is ignored (JavaScript aborted it and settled its own promise).
    pub(crate) fn forget(&self, id: u64) {
        // Dropped outside the lock.
        let resolver = self.waiting.lock().remove(&id);
        self.settled.lock().retain(|(queued, _)| *queued != id);
        drop(resolver);
    }

    /// The ids of the operations still waiting for an answer (none queued).
    pub(crate) fn outstanding(&self) -> Vec<u64> {
        let settled = self.settled.lock();
        let mut ids: Vec<u64> = self
            .waiting
            .lock()
            .keys()
            .copied()
            .filter(|id| !settled.iter().any(|(queued, _)| queued == id))
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Whether an operation waits for an answer that has not come yet.
    pub(crate) fn has_outstanding(&self) -> bool {
        let settled = self.settled.lock();
        self.waiting.lock().len() > settled.len()
    }

    /// Resolves the promises whose answers came; how many. An answer that cannot be
    /// read resolves its promise with the error's message as a string.
    pub(crate) fn resolve_settled(&self, scope: &mut v8::PinScope<'_, '_>) -> usize {
        let settled = std::mem::take(&mut *self.settled.lock());
        let count = settled.len();
        for (id, value) in settled {
            let Some(resolver) = self.waiting.lock().remove(&id) else {
                continue;
            };
            let resolver = v8::Local::new(scope, resolver);
            // Host answers carry no Temporal values (they are made by a realm's helpers).
            let value = match crate::engine::values::read(scope, &value, None) {
                Ok(value) => value,
                Err(error) => {
                    let message = format!("the host's answer: {}", error.message().to_str_lossy());
                    match v8::String::new(scope, &message) {
                        Some(text) => text.into(),
                        None => v8::undefined(scope).into(),
                    }
                }
            };
            resolver.resolve(scope, value);
        }
        count
    }
}

/// `["abort", id]` in the wire format: what the host of a realm's pending operations
/// is told when the operation is aborted.
pub(crate) fn abort_args(id: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    out.push(b'a');
    out.extend_from_slice(&2u32.to_le_bytes());
    out.push(b'l');
    out.extend_from_slice(&5u32.to_le_bytes());
    out.extend_from_slice(b"abort");
    out.push(b'i');
    out.extend_from_slice(&(id as i64).to_le_bytes());
    out
}
