//! The process-wide V8 platform: set up once, torn down once, never again.
//!
//! Every [`Vm`](crate::engine::Vm) holds a [`PlatformRef`], so V8 itself is disposed only when
//! the platform was torn down *and* the last VM is gone: tearing down while VMs live is
//! allowed (deferred), and those VMs then refuse to run with [`Code::InvalidState`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::engine::error::{Code, Error};

/// Where the process is in the platform's one-way lifecycle.
enum State {
    NotSetUp,
    Alive(Arc<Platform>),
    TornDown,
    /// A set-up was refused for flags V8 did not take: it may have kept some.
    RefusedFlags,
}

static STATE: Mutex<State> = Mutex::new(State::NotSetUp);

/// The V8 flags the platform was set up with (snapshots record them).
static FLAGS: Mutex<String> = Mutex::new(String::new());

/// The V8 platform itself, for pumping its message loop (set once, at set-up).
static V8_PLATFORM: std::sync::OnceLock<v8::SharedRef<v8::Platform>> = std::sync::OnceLock::new();

/// The V8 flags given to [`set_up`].
pub fn flags() -> String {
    FLAGS.lock().clone()
}

/// Set in a child process forked after set-up: V8's threads did not survive the fork,
/// so nothing may touch V8 there (not even to free it).
static FORKED: AtomicBool = AtomicBool::new(false);

extern "C" fn mark_forked() {
    FORKED.store(true, Ordering::Relaxed);
}

/// Whether this process is a child forked from the one that set V8 up.
pub fn in_forked_child() -> bool {
    FORKED.load(Ordering::Relaxed)
}

/// The error for any use of V8 in a forked child.
pub(crate) fn forked_error() -> Error {
    Error::invalid_state(
        "this process was forked from the one that set V8 up, and V8 cannot run in a \
         forked child: set V8 up after forking, or start processes with 'spawn'",
    )
}

/// The initialised V8 platform; dropped (and V8 disposed) after tear-down once no VM
/// holds it any more.
pub struct Platform {
    torn_down: AtomicBool,
}

/// A counted reference to the platform, held by each VM.
pub type PlatformRef = Arc<Platform>;

impl Platform {
    /// Whether [`tear_down`] has been called.
    pub fn is_torn_down(&self) -> bool {
        self.torn_down.load(Ordering::Acquire)
    }

    /// Fails with [`Code::InvalidState`] when the platform was torn down.
    pub fn check_alive(&self) -> Result<(), Error> {
        if self.is_torn_down() {
            Err(Error::invalid_state("the platform was torn down"))
        } else {
            Ok(())
        }
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        // SAFETY: every isolate holds a `PlatformRef`, so none is alive when the last
        // reference goes; STATE is `TornDown`, so no new one can be created either.
        unsafe { v8::V8::dispose() };
        v8::V8::dispose_platform();
    }
}

/// V8 flags set before the caller's (which may undo them).
///
/// `--no-concurrent-recompilation`, `--no-concurrent-sparkplug`: make baseline
/// (Sparkplug) and optimized (Maglev, TurboFan) code on the thread that runs the
/// function, when V8 decides to. A VM's thread takes V8's `Locker` for each call, and a
/// `Locker` taken by a thread that holds no archived state resets the isolate's pending
/// interrupts (`StackGuard::InitThread`). A background compile that finished between two
/// calls asked for its code to be installed with such an interrupt, so its code was
/// lost and the function kept running in the interpreter (at random: half the runs of a
/// hot `render` loop were 2× slower). Compiling on the calling thread loses nothing.
const DEFAULT_FLAGS: &str = "--no-concurrent-recompilation --no-concurrent-sparkplug";

/// Initialises V8 for this process, with optional V8 command-line `flags`
/// (for example `"--max-old-space-size=64 --stack-size=500"`). Fails with
/// [`Code::InvalidArgument`] naming what V8 does not recognise or cannot read; V8 may
/// have kept the flags before it, so every later `set_up` in the process then fails with
/// [`Code::InvalidState`]. `--help` and NUL bytes are refused before V8 sees anything.
///
/// Fails with [`Code::InvalidState`] when called a second time, even after
/// [`tear_down`]: V8 cannot be initialised twice in one process.
pub fn set_up(flags: &str) -> Result<(), Error> {
    if in_forked_child() {
        return Err(forked_error());
    }
    let mut state = STATE.lock();
    match *state {
        State::Alive(_) => return Err(Error::invalid_state("the platform is already set up")),
        State::TornDown => {
            return Err(Error::invalid_state(
                "the platform was torn down, and V8 cannot be set up twice in one process",
            ))
        }
        State::RefusedFlags => {
            return Err(Error::invalid_state(
                "an earlier set-up was refused for its V8 flags, and V8 may have kept some \
                 of them: set up in a new process",
            ))
        }
        State::NotSetUp => {}
    }
    if flags.contains('\0') {
        return Err(Error::invalid_argument("V8 flags cannot contain NUL"));
    }
    if flags
        .split_whitespace()
        .any(|f| matches!(f, "--help" | "-help"))
    {
        return Err(Error::invalid_argument(
            "--help would make V8 print its flags and end the process: see `node --v8-options`",
        ));
    }
    v8::V8::set_flags_from_string(DEFAULT_FLAGS);
    if !flags.trim().is_empty() {
        // As a command line, V8 hands back what it did not recognise (as a string, it
        // only prints "Error: unrecognized flag" to stderr and goes on).
        let args = std::iter::once(String::new()).chain(flags.split_whitespace().map(String::from));
        let unknown = v8::V8::set_flags_from_command_line(args.collect());
        if unknown.len() > 1 {
            // V8 set the flags before the first it could not take (it cannot take them
            // back), and one with a bad value too (`--stack-size=abc` sets 0): this
            // process cannot be set up with known flags any more.
            *state = State::RefusedFlags;
            return Err(Error::invalid_argument(format!(
                "V8 does not know (or cannot read) {}: see `node --v8-options` for V8's \
                 flags (V8 may have kept the others: set up in a new process)",
                unknown[1..].join(" ")
            )));
        }
        crate::engine::stack::note_flags(flags);
    }
    *FLAGS.lock() = flags.trim().to_string();
    // The unprotected platform lets threads created before set-up (any Python thread)
    // run JavaScript; the protected one requires them to descend from this thread.
    let v8_platform = v8::new_unprotected_default_platform(0, false).make_shared();
    let _ = V8_PLATFORM.set(v8_platform.clone());
    v8::V8::initialize_platform(v8_platform);
    v8::V8::initialize();
    // SAFETY: registers a handler that only stores to an atomic.
    unsafe { libc::pthread_atfork(None, None, Some(mark_forked)) };
    *state = State::Alive(Arc::new(Platform {
        torn_down: AtomicBool::new(false),
    }));
    Ok(())
}

/// Tears the platform down for good. VMs still alive keep V8 loaded until they are
/// freed, but refuse to run from now on.
pub fn tear_down() -> Result<(), Error> {
    let mut state = STATE.lock();
    match std::mem::replace(&mut *state, State::TornDown) {
        State::Alive(platform) => {
            platform.torn_down.store(true, Ordering::Release);
            drop(state);
            if in_forked_child() {
                std::mem::forget(platform); // disposing V8 here would hang
            } else {
                drop(platform);
            }
            Ok(())
        }
        State::NotSetUp => {
            *state = State::NotSetUp;
            Err(Error::invalid_state("the platform is not set up"))
        }
        State::RefusedFlags => {
            *state = State::RefusedFlags;
            Err(Error::invalid_state("the platform is not set up"))
        }
        State::TornDown => Err(Error::invalid_state("the platform is already torn down")),
    }
}

/// Whether the platform is set up and not torn down (never in a forked child).
pub fn is_alive() -> bool {
    !in_forked_child() && matches!(*STATE.lock(), State::Alive(_))
}

/// A reference to the live platform, for a new VM.
pub(crate) fn acquire() -> Result<PlatformRef, Error> {
    if in_forked_child() {
        return Err(forked_error());
    }
    match &*STATE.lock() {
        State::Alive(platform) => Ok(Arc::clone(platform)),
        State::NotSetUp | State::RefusedFlags => Err(Error::new(
            Code::InvalidState,
            "the platform is not set up: set it up before creating VMs",
        )),
        State::TornDown => Err(Error::invalid_state("the platform was torn down")),
    }
}

/// Runs the foreground tasks the platform has queued for `isolate` (the completion of
/// an async WebAssembly compilation, say); the caller holds the isolate's lock. Returns
/// whether any task ran.
pub(crate) fn pump_message_loop(isolate: &v8::Isolate) -> bool {
    let Some(v8_platform) = V8_PLATFORM.get() else {
        return false;
    };
    let mut ran = false;
    while v8::Platform::pump_message_loop(v8_platform, isolate, false) {
        ran = true;
    }
    ran
}

/// The version of the V8 engine inside, e.g. `"15.2.124.1"`.
pub fn v8_version() -> &'static str {
    v8::V8::get_version()
}
