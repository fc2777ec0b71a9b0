//! Ctrl-C for embedders whose main thread runs JavaScript (Python's `KeyboardInterrupt`).
//!
//! A thread asks to be *watched*; from then on a SIGINT stops the JavaScript that the
//! watched thread is running (that call fails with `Code::Terminated`), and then the
//! SIGINT handler that was installed before ours runs as usual — for Python, the one
//! that raises `KeyboardInterrupt` once the call returns.
//!
//! The signal handler chains to the one before it, then writes a byte to a pipe
//! (async-signal-safe); a small thread reads the pipe and stops the watched call.

use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::engine::error::{Code, Error};
use crate::engine::stop::{CallId, StopReason, Stops, Target};

/// Write end of the pipe the handler signals through (-1 before installation).
static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);
/// The SIGINT action that was installed before ours, to chain to.
static PREVIOUS: AtomicPtr<libc::sigaction> = AtomicPtr::new(std::ptr::null_mut());
/// The call the watched thread is running now, if any.
static WATCHED_CALL: Mutex<Option<(Weak<Stops>, CallId)>> = Mutex::new(None);
static INSTALL: Mutex<()> = Mutex::new(());

thread_local! {
    static WATCHED: Cell<bool> = const { Cell::new(false) };
}

/// Makes SIGINT stop the JavaScript that the calling thread runs, from now on, and
/// chains to the SIGINT handler installed before. Call it again after replacing the
/// SIGINT handler; it installs ours on top of the new one.
pub fn watch_current_thread() -> Result<(), Error> {
    let _guard = INSTALL.lock();
    if PIPE_WRITE.load(Ordering::Acquire) < 0 {
        let (read, write) = make_pipe()?;
        std::thread::Builder::new()
            .name("v8rs-sigint".into())
            .spawn(move || serve(read))
            .map_err(|e| {
                Error::new(
                    Code::Unknown,
                    format!("cannot start the SIGINT thread: {e}"),
                )
            })?;
        PIPE_WRITE.store(write, Ordering::Release);
    }
    install_handler()?;
    WATCHED.with(|w| w.set(true));
    Ok(())
}

/// Notes that the watched thread (if this is it) started call `call`.
pub(crate) fn call_started(stops: &Arc<Stops>, call: CallId) {
    if WATCHED.with(Cell::get) {
        *WATCHED_CALL.lock() = Some((Arc::downgrade(stops), call));
    }
}

/// Notes that the watched thread (if this is it) finished its call.
pub(crate) fn call_ended() {
    if WATCHED.with(Cell::get) {
        *WATCHED_CALL.lock() = None;
    }
}

fn make_pipe() -> Result<(c_int, c_int), Error> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(Error::new(
            Code::Unknown,
            format!(
                "cannot create the SIGINT pipe: {}",
                std::io::Error::last_os_error()
            ),
        ));
    }
    // The reader blocks; only the handler's end must never block.
    // SAFETY: `fds[0]` is a descriptor we own.
    unsafe { libc::fcntl(fds[0], libc::F_SETFL, 0) };
    Ok((fds[0], fds[1]))
}

fn install_handler() -> Result<(), Error> {
    // SAFETY: sigaction queries and sets process-wide signal state with valid,
    // zero-initialised structs; the previous action is leaked so the handler may read
    // it at any time.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGINT, std::ptr::null(), &mut current);
        if current.sa_sigaction == on_sigint as *const () as usize {
            return Ok(()); // already ours, on top
        }
        let mut ours: libc::sigaction = std::mem::zeroed();
        ours.sa_sigaction = on_sigint as *const () as usize;
        ours.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART | libc::SA_ONSTACK;
        libc::sigemptyset(&mut ours.sa_mask);
        PREVIOUS.store(Box::into_raw(Box::new(current)), Ordering::Release);
        if libc::sigaction(libc::SIGINT, &ours, std::ptr::null_mut()) != 0 {
            return Err(Error::new(
                Code::Unknown,
                format!(
                    "cannot install the SIGINT handler: {}",
                    std::io::Error::last_os_error()
                ),
            ));
        }
    }
    Ok(())
}

/// The handler chains first, then wakes the stopping thread: the embedder's handler has
/// noted the signal (Python: `KeyboardInterrupt` pending) before the call can return.
extern "C" fn on_sigint(sig: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    // SAFETY: only async-signal-safe work: errno save/restore, calling the previous
    // handler exactly as the kernel would have, and write(2) to our pipe.
    unsafe {
        let errno = *libc::__errno_location();
        let previous = PREVIOUS.load(Ordering::Acquire);
        if !previous.is_null() {
            let previous = &*previous;
            match previous.sa_sigaction {
                libc::SIG_IGN => {}
                libc::SIG_DFL => {
                    // The default action ends the process: restore it and re-raise
                    // (delivered once this handler returns).
                    libc::signal(sig, libc::SIG_DFL);
                    libc::raise(sig);
                }
                handler if previous.sa_flags & libc::SA_SIGINFO != 0 => {
                    let handler: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
                        std::mem::transmute(handler);
                    handler(sig, info, context);
                }
                handler => {
                    let handler: extern "C" fn(c_int) = std::mem::transmute(handler);
                    handler(sig);
                }
            }
        }
        let fd = PIPE_WRITE.load(Ordering::Relaxed);
        if fd >= 0 {
            let byte = 1u8;
            libc::write(fd, &byte as *const u8 as *const c_void, 1);
        }
        *libc::__errno_location() = errno;
    }
}

fn serve(read: c_int) {
    let mut buf = [0u8; 64];
    loop {
        // SAFETY: reading into a local buffer from a descriptor this thread owns.
        let n = unsafe { libc::read(read, buf.as_mut_ptr() as *mut c_void, buf.len()) };
        if n <= 0 {
            if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        let watched = WATCHED_CALL.lock().clone();
        if let Some((stops, call)) = watched {
            if let Some(stops) = stops.upgrade() {
                stops.stop(StopReason::Interrupted, Target::Call(call));
            }
        }
    }
}
