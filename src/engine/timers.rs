//! The timers of a context (`setTimeout`, `setInterval`, the tasks of `MessageChannel`
//! and `AbortSignal.timeout`) in one queue, and its clock. `event_loop.rs` runs them.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

/// A timer's delay in milliseconds as browsers take it: converted to a signed 32-bit
/// int (WebIDL `long`: NaN and the infinities are 0, others wrap modulo 2^32), then a
/// negative one is 0. So `Infinity` and `2**31` run at once, as in browsers (Node runs
/// them after 1 ms), instead of never.
fn delay_of(delay_ms: f64) -> f64 {
    if !delay_ms.is_finite() {
        return 0.0;
    }
    const TWO_32: f64 = 4_294_967_296.0;
    let wrapped = delay_ms.trunc().rem_euclid(TWO_32);
    let signed = if wrapped >= TWO_32 / 2.0 {
        wrapped - TWO_32
    } else {
        wrapped
    };
    signed.max(0.0)
}

/// Timers of one context, and its clock (for `performance`).
pub(crate) struct Timers {
    timers: Mutex<Queued>,
    origin: Instant,
    time_origin_ms: f64,
}

/// When (and a tie-breaker: the order of scheduling) → the timer's id.
type Queue = BTreeMap<(Instant, u64), u32>;

#[derive(Default)]
struct Queued {
    last_id: u32,
    last_seq: u64,
    queue: Queue,
    entries: HashMap<u32, Timer>,
}

struct Timer {
    key: (Instant, u64),
    callback: v8::Global<v8::Function>,
    args: Vec<v8::Global<v8::Value>>,
    interval: Option<Duration>,
}

impl Queued {
    fn key(&mut self, at: Instant) -> (Instant, u64) {
        self.last_seq += 1;
        (at, self.last_seq)
    }
}

impl Timers {
    pub(crate) fn new() -> Timers {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timers {
            timers: Mutex::default(),
            origin: Instant::now(),
            time_origin_ms: since_epoch.as_secs_f64() * 1000.0,
        }
    }

    /// Milliseconds since the context was created (`performance.now()`).
    pub(crate) fn now_ms(&self) -> f64 {
        self.origin.elapsed().as_secs_f64() * 1000.0
    }

    /// When the context was created, in milliseconds since the Unix epoch
    /// (`performance.timeOrigin`).
    pub(crate) fn time_origin_ms(&self) -> f64 {
        self.time_origin_ms
    }

    /// Queues `callback(...args)` after `delay_ms` (taken as browsers do, see
    /// [`delay_of`]), again every `delay_ms` with `repeat`; returns the timer's id
    /// (never 0).
    pub(crate) fn add(
        &self,
        callback: v8::Global<v8::Function>,
        args: Vec<v8::Global<v8::Value>>,
        delay_ms: f64,
        repeat: bool,
    ) -> u32 {
        let delay = Duration::from_secs_f64(delay_of(delay_ms) / 1000.0);
        let mut timers = self.timers.lock();
        let key = timers.key(Instant::now() + delay);
        let id = loop {
            timers.last_id = timers.last_id.wrapping_add(1).max(1) & 0x7fff_ffff;
            if timers.last_id != 0 && !timers.entries.contains_key(&timers.last_id) {
                break timers.last_id;
            }
        };
        timers.queue.insert(key, id);
        let interval = repeat.then_some(delay);
        timers.entries.insert(
            id,
            Timer {
                key,
                callback,
                args,
                interval,
            },
        );
        id
    }

    /// Cancels timer `id`; unknown ids are ignored.
    pub(crate) fn clear(&self, id: u32) {
        let mut timers = self.timers.lock();
        if let Some(timer) = timers.entries.remove(&id) {
            timers.queue.remove(&timer.key);
        }
    }

    /// Number of timers queued.
    pub(crate) fn pending(&self) -> usize {
        self.timers.lock().entries.len()
    }

    /// When the earliest timer is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.timers.lock().queue.keys().next().map(|&(at, _)| at)
    }

    /// Takes the earliest timer if it is due by `now` (an interval goes back in the
    /// queue at once, so that clearing it from its callback works).
    pub(crate) fn take_due<'s>(
        &self,
        scope: &mut v8::PinScope<'s, '_>,
        now: Instant,
    ) -> Option<(v8::Local<'s, v8::Function>, Vec<v8::Local<'s, v8::Value>>)> {
        let mut timers = self.timers.lock();
        let entry = timers.queue.first_entry()?;
        if entry.key().0 > now {
            return None;
        }
        let id = entry.remove();
        let interval = timers.entries.get(&id)?.interval;
        let timer = match interval {
            Some(every) => {
                let key = timers.key(now + every);
                timers.queue.insert(key, id);
                let timer = timers.entries.get_mut(&id)?;
                timer.key = key;
                &*timer
            }
            None => &timers.entries.remove(&id)?,
        };
        let callback = v8::Local::new(scope, &timer.callback);
        let args = timer
            .args
            .iter()
            .map(|a| v8::Local::new(scope, a))
            .collect();
        Some((callback, args))
    }
}

#[cfg(test)]
mod tests {
    use super::delay_of;

    #[test]
    fn delays_are_taken_as_browsers_take_them() {
        let cases = [
            (f64::INFINITY, 0.0),
            (f64::NEG_INFINITY, 0.0),
            (f64::NAN, 0.0),
            (-5.0, 0.0),
            (10.9, 10.0),
            (2_147_483_647.0, 2_147_483_647.0),
            (2_147_483_648.0, 0.0), // -2^31
            (4_294_967_301.0, 5.0),
        ];
        for (given, taken) in cases {
            assert_eq!(delay_of(given), taken, "{given}");
        }
    }
}
