//! The DevTools inspector of a VM: V8's own inspector (`v8::inspector`), served over
//! the Chrome DevTools Protocol on a WebSocket, with Node's HTTP endpoints
//! (`/json/list`, `/json`, `/json/version`) so that `chrome://inspect`, VS Code and
//! `node inspect` find it unchanged.
//!
//! Threads: one accepts connections (HTTP and the WebSocket handshake), one per
//! client reads and writes its WebSocket, and one *dispatcher* takes the VM like a
//! call to serve messages that arrive while no call runs. A message that arrives while
//! JavaScript runs is served in it, through `IsolateHandle::request_interrupt`; while
//! JavaScript is paused in the debugger (`run_message_loop_on_pause`), the paused
//! thread serves messages itself until it is resumed, the client leaves, or the
//! inspector stops. The time paused does not count against the call's timeout (see
//! `stop.rs`).
//!
//! V8 objects (the inspector, its session, the contexts it was told of) live in
//! [`V8Side`], used only by the thread holding the VM's lock, and dropped under it:
//! when the inspector stops, or, at the latest, just before the isolate goes. The
//! other threads hold only the [`Core`] (queues and flags) and a `Weak` to the VM, so
//! an inspector never keeps its VM alive.
//!
//! Each context of the VM is an execution context of its own (context group 1).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::ffi::c_void;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::rc::Rc;
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, ReentrantMutex};
use v8::inspector::{
    Channel, ChannelImpl, StringBuffer, StringView, V8Inspector, V8InspectorClient,
    V8InspectorClientImpl, V8InspectorClientTrustLevel, V8InspectorSession,
};

use crate::engine::error::{Code, Error};
use crate::engine::panic::catch;
use crate::engine::realm::Realm;
use crate::engine::stop::Stops;
use crate::engine::text::Text;
use crate::engine::vm::{InspectorHooks, Vm, VmShared, INSIDE};

/// The id of the inspector's own protocol messages (their answers are dropped).
const INTERNAL_ID: i32 = -1;
/// The one context group of a VM.
const GROUP: i32 = 1;
/// How often the threads look at their flags while they wait for input.
const POLL: Duration = Duration::from_millis(10);
/// The longest an HTTP request head may be.
const MAX_HEAD: usize = 16 * 1024;

/// A DevTools inspector serving one VM (see the module documentation).
///
/// `Inspector` is `Send + Sync`. Dropping it stops it.
pub struct Inspector {
    core: Arc<Core>,
    url: Text,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// What the inspector's threads share: queues and flags, no V8 object outside
/// [`V8Side`].
struct Core {
    me: Weak<Core>,
    vm: Weak<Vm>,
    stops: Arc<Stops>,
    handle: v8::IsolateHandle,
    /// The target's id (a UUID), the last part of the WebSocket URL.
    id: String,
    address: SocketAddr,
    state: Mutex<State>,
    wake: Condvar,
    v8: ReentrantMutex<RefCell<Option<V8Side>>>,
}

#[derive(Default)]
struct State {
    /// What the thread holding the VM's lock has to do.
    events: VecDeque<Event>,
    /// Protocol messages for the client.
    outbound: VecDeque<String>,
    /// The connected client's number (each connection has a new one); 0: none.
    client: u64,
    last_client: u64,
    /// The client sent `Runtime.runIfWaitingForDebugger`.
    run_requested: bool,
    /// JavaScript is paused in the debugger.
    paused: bool,
    /// V8 asked the pause loop to end.
    quit_pause: bool,
    /// A break on start is armed (see [`Core::arm_break_on_start`]).
    break_armed: bool,
    /// The next `Debugger.paused` may be that break: say so in its reason.
    rename_pause: bool,
    stopping: bool,
    /// Connections being read or answered now (each on a thread of its own).
    handshakes: usize,
    /// A WebSocket handshake holds the client slot (see [`Reservation`]).
    handshaking: bool,
}

/// Connections read at once; more wait in the listener's queue (a few idle sockets
/// held the debugger out when one was read at a time, 5 s each).
const MAX_HANDSHAKES: usize = 8;

/// A WebSocket handshake's claim on the client slot ([`State::handshaking`]), given
/// back when dropped unless the handshake gave it back itself (a panic in it, too).
struct Reservation<'a> {
    state: &'a Mutex<State>,
    held: bool,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.held {
            self.state.lock().handshaking = false;
        }
    }
}

enum Event {
    Connect(u64),
    Message(u64, String),
    Disconnect(u64),
    Retired(u32),
}

/// The V8 objects of an inspector. Used only by the thread that holds the VM's lock.
struct V8Side {
    // Field order is drop order: the session before the inspector (V8 deletes the
    // sessions of an inspector it deletes).
    session: RefCell<Option<Rc<Session>>>,
    contexts: RefCell<HashMap<u32, v8::Global<v8::Context>>>,
    /// The context reported as the default one (the first).
    default: Cell<Option<u32>>,
    inspector: V8Inspector,
    isolate: v8::UnsafeRawIsolatePtr,
}

// SAFETY: a `V8Side` is only touched by the thread holding its VM's `v8::Locker` (every
// access is in a callback V8 makes under the lock, or after taking the VM like a call),
// and it is dropped under that lock; the VM's lock makes the uses one thread at a time.
unsafe impl Send for V8Side {}

struct Session {
    client: u64,
    session: V8InspectorSession,
}

impl Inspector {
    /// Starts an inspector for `vm` listening on `host:port` (port 0: a free port; the
    /// URL says which). Fails with `InvalidArgument` for a host that does not resolve,
    /// `IoError` when the address cannot be listened on, `InvalidState` when the VM
    /// has an inspector already or was freed.
    pub fn start(vm: &Arc<Vm>, host: &str, port: u16) -> Result<Arc<Inspector>, Error> {
        vm.check_usable()?;
        let address = (host, port)
            .to_socket_addrs()
            .map_err(|e| {
                Error::invalid_argument(format!("cannot resolve the inspector host {host:?}: {e}"))
            })?
            .next()
            .ok_or_else(|| {
                Error::invalid_argument(format!("the inspector host {host:?} has no address"))
            })?;
        let listener = TcpListener::bind(address)
            .map_err(|e| Error::io(address.to_string().as_bytes(), &e))?;
        let address = listener
            .local_addr()
            .map_err(|e| Error::io(address.to_string().as_bytes(), &e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::io(address.to_string().as_bytes(), &e))?;
        let core = Arc::new_cyclic(|me| Core {
            me: Weak::clone(me),
            vm: Arc::downgrade(vm),
            stops: Arc::clone(&vm.shared.stops),
            handle: vm.isolate().thread_safe_handle(),
            id: uuid(),
            address,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            v8: ReentrantMutex::new(RefCell::new(None)),
        });
        core.attach(vm)?;
        let url = Text::from(core.ws_url(None));
        let mut threads = Vec::new();
        let spawn = |name: &str, body: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    let _ = catch(body);
                })
        };
        let started = (|| -> std::io::Result<()> {
            let accepting = Arc::clone(&core);
            threads.push(spawn(
                "v8rs-inspector",
                Box::new(move || accepting.accept_loop(&listener)),
            )?);
            let dispatching = Arc::clone(&core);
            threads.push(spawn(
                "v8rs-inspector-dispatch",
                Box::new(move || dispatching.dispatch_loop()),
            )?);
            Ok(())
        })();
        let inspector = Inspector {
            core,
            url,
            threads: Mutex::new(threads),
        };
        if let Err(e) = started {
            inspector.stop();
            return Err(Error::new(
                Code::Unknown,
                format!("cannot start the inspector's threads: {e}"),
            ));
        }
        Ok(Arc::new(inspector))
    }

    /// The WebSocket URL clients connect to: `ws://host:port/<uuid>`.
    pub fn url(&self) -> &str {
        std::str::from_utf8(self.url.as_bytes()).unwrap_or_default()
    }

    /// [`Self::url`] as a [`Text`] (NUL-terminated, for the C ABI).
    pub fn url_text(&self) -> &Text {
        &self.url
    }

    /// The address the inspector listens on (with the port picked for port 0).
    pub fn address(&self) -> SocketAddr {
        self.core.address
    }

    /// Waits until a client has sent `Runtime.runIfWaitingForDebugger` (what DevTools,
    /// VS Code and `node inspect` do once they are set up), at most `timeout` (`None`:
    /// no limit). Returns whether one did. With `pause`, the VM's JavaScript then
    /// stops before the first statement of the next script it runs (`run_script`,
    /// `eval`, `load_libs`, a module; not a bare function call), as `--inspect-brk`
    /// does. Must not be called from
    /// inside a call of the VM (a host function): `InvalidState`.
    pub fn wait_for_client(&self, timeout: Option<Duration>, pause: bool) -> Result<bool, Error> {
        if INSIDE.with(std::cell::Cell::get).is_some() {
            return Err(Error::invalid_state(
                "cannot wait for a debugger client from inside a call of a VM",
            ));
        }
        let until = timeout.and_then(|t| Instant::now().checked_add(t));
        {
            let mut state = self.core.state.lock();
            loop {
                if state.stopping {
                    return Err(Error::invalid_state("the inspector was stopped"));
                }
                if state.run_requested {
                    break;
                }
                match until {
                    Some(at) => {
                        if self.core.wake.wait_until(&mut state, at).timed_out()
                            && !state.run_requested
                        {
                            return Ok(false);
                        }
                    }
                    None => self.core.wake.wait(&mut state),
                }
            }
        }
        if pause {
            let vm = self
                .core
                .vm
                .upgrade()
                .ok_or_else(|| Error::invalid_state("the VM was freed (torn down)"))?;
            let mut call = vm.enter_unstoppable()?;
            self.core.pump(&mut call);
            self.core.arm_break_on_start(&mut call);
        }
        Ok(true)
    }

    /// Whether a client is connected now.
    pub fn has_client(&self) -> bool {
        self.core.state.lock().client != 0
    }

    /// Waits until no client is connected (Node's "Waiting for the debugger to
    /// disconnect..."), at most `timeout`; returns whether none is.
    pub fn wait_for_disconnect(&self, timeout: Option<Duration>) -> bool {
        let until = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut state = self.core.state.lock();
        while state.client != 0 && !state.stopping {
            match until {
                Some(at) => {
                    if self.core.wake.wait_until(&mut state, at).timed_out() {
                        break;
                    }
                }
                None => self.core.wake.wait(&mut state),
            }
        }
        state.client == 0 || state.stopping
    }

    /// Stops the inspector: closes the listener and the client's connection, resumes
    /// JavaScript paused in the debugger, and drops V8's inspector (after the VM's
    /// running call, if one runs on another thread). Idempotent.
    pub fn stop(&self) {
        self.core.shut_down();
        let threads = std::mem::take(&mut *self.threads.lock());
        // The dispatcher may wait for the VM's lock: a thread inside a call must not
        // wait for it (it finds `stopping` when it gets the lock, and ends).
        let inside = INSIDE.with(std::cell::Cell::get).is_some();
        for thread in threads {
            let dispatcher = thread.thread().name() == Some("v8rs-inspector-dispatch");
            if !(inside && dispatcher) {
                let _ = thread.join();
            }
        }
        self.core.detach();
    }
}

impl Drop for Inspector {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Core {
    /// Creates V8's inspector for the VM, tells it of the existing contexts, and
    /// becomes the VM's inspector (all under the VM's lock, so no context is missed).
    fn attach(self: &Arc<Core>, vm: &Arc<Vm>) -> Result<(), Error> {
        let mut call = vm.enter_unstoppable()?;
        let hooks: Arc<dyn InspectorHooks> = Arc::clone(self) as Arc<dyn InspectorHooks>;
        vm.shared.set_inspector(Arc::clone(&hooks))?;
        // SAFETY: the pointer is used only by V8's callbacks of this inspector, which
        // run on the thread holding the VM's lock, while the isolate lives (the
        // inspector is dropped before the isolate: see `dispose`).
        let isolate = unsafe { call.as_raw_isolate_ptr() };
        let client = V8InspectorClient::new(Box::new(Client {
            core: Arc::downgrade(self),
        }));
        let inspector = V8Inspector::create(&mut call, client);
        let side = V8Side {
            session: RefCell::new(None),
            contexts: RefCell::new(HashMap::new()),
            default: Cell::new(None),
            inspector,
            isolate,
        };
        let guard = self.v8.lock();
        *guard.borrow_mut() = Some(side);
        let mut realms: Vec<(u32, Arc<Realm>)> = vm
            .shared
            .entries()
            .into_iter()
            .filter_map(|(id, entry)| Some((id, entry.downcast::<Realm>().ok()?)))
            .collect();
        realms.sort_by_key(|(id, _)| *id);
        v8::scope!(let scope, &mut *call);
        for (id, realm) in realms {
            let context = v8::Local::new(scope, realm.context());
            self.context_created(scope, context, id);
        }
        Ok(())
    }

    /// Gives V8's objects up and stops being the VM's inspector, under the VM's lock
    /// (the VM's `dispose` does it when the VM is gone or closed first).
    fn detach(self: &Arc<Core>) {
        let Some(vm) = self.vm.upgrade() else {
            return;
        };
        let Ok(call) = vm.enter_unstoppable() else {
            return; // closed: the isolate's disposal drops them
        };
        let guard = self.v8.lock();
        let taken = match guard.try_borrow_mut() {
            Ok(mut side) => side.take(),
            Err(_) => return, // in use further up this thread's stack: the disposal drops it
        };
        drop(taken);
        drop(guard);
        let hooks: Arc<dyn InspectorHooks> = Arc::clone(self) as Arc<dyn InspectorHooks>;
        vm.shared.clear_inspector(&hooks);
        drop(call);
    }

    fn shut_down(&self) {
        let mut state = self.state.lock();
        state.stopping = true;
        state.client = 0;
        drop(state);
        self.wake.notify_all();
    }

    /// The WebSocket URL, with `host` (a request's `Host` header) if given.
    fn ws_url(&self, host: Option<&str>) -> String {
        let host = host.map_or_else(|| self.address.to_string(), str::to_string);
        format!("ws://{host}/{}", self.id)
    }

    /// Queues `event` for the thread holding the VM's lock, and asks V8 for it.
    fn deliver(&self, event: Event) {
        self.state.lock().events.push_back(event);
        self.wake.notify_all();
        self.handle
            .request_interrupt(on_interrupt, std::ptr::null_mut());
    }

    /// A protocol message from V8 for client `client`.
    fn send(&self, client: u64, message: String) {
        let mut state = self.state.lock();
        if state.client != client || client == 0 {
            return;
        }
        let mut message = message;
        if state.rename_pause && message.starts_with(r#"{"method":"Debugger.paused""#) {
            state.rename_pause = false;
            // The instrumentation breakpoint is reported as Node reports its own break
            // on start.
            if let Ok(mut value) = serde_json::from_str::<serde_json::Value>(&message) {
                if value["params"]["reason"] == "instrumentation" {
                    if let Some(params) = value["params"].as_object_mut() {
                        params.insert("reason".into(), "Break on start".into());
                        params.remove("data");
                    }
                    message = value.to_string();
                }
            }
        }
        state.outbound.push_back(message);
    }

    /// Serves the queued events; the caller holds the VM's lock.
    fn pump(&self, isolate: &mut v8::Isolate) {
        let guard = self.v8.lock();
        let Ok(side) = guard.try_borrow() else {
            return;
        };
        let Some(side) = side.as_ref() else {
            return;
        };
        loop {
            let event = self.state.lock().events.pop_front();
            let Some(event) = event else {
                break;
            };
            match event {
                Event::Connect(client) => {
                    let channel = Channel::new(Box::new(Outbox {
                        core: Weak::clone(&self.me),
                        client,
                    }));
                    let session = side.inspector.connect(
                        GROUP,
                        channel,
                        StringView::empty(),
                        V8InspectorClientTrustLevel::FullyTrusted,
                    );
                    let old = side
                        .session
                        .replace(Some(Rc::new(Session { client, session })));
                    drop(old);
                }
                Event::Message(client, text) => {
                    let session = side.session.borrow().clone();
                    if let Some(session) = session.filter(|s| s.client == client) {
                        v8::scope!(let _scope, &mut *isolate);
                        session
                            .session
                            .dispatch_protocol_message(StringView::from(text.as_bytes()));
                    }
                }
                Event::Disconnect(client) => {
                    let session = side.session.borrow().clone();
                    if let Some(session) = session.filter(|s| s.client == client) {
                        if self.state.lock().paused {
                            v8::scope!(let _scope, &mut *isolate);
                            session.session.dispatch_protocol_message(StringView::from(
                                &br#"{"id":-1,"method":"Debugger.resume"}"#[..],
                            ));
                        }
                        drop(session);
                        // Dropped now, or when a dispatch further up the stack ends.
                        let old = side.session.take();
                        drop(old);
                    }
                }
                Event::Retired(id) => {
                    let global = side.contexts.borrow_mut().remove(&id);
                    if let Some(global) = global {
                        v8::scope!(let scope, &mut *isolate);
                        let context = v8::Local::new(scope, global);
                        side.inspector.context_destroyed(context);
                    }
                }
            }
        }
    }

    /// Makes the VM's JavaScript pause before the first statement of the next script
    /// it runs (`run_script`, `eval`, `load_libs`, a module), with an instrumentation
    /// breakpoint taken back at the first pause. (V8's "pause on next statement" waits
    /// for a function call, which a script's top level is not, and cannot be taken
    /// back while paused.) The caller holds the VM's lock.
    fn arm_break_on_start(&self, isolate: &mut v8::Isolate) {
        self.internal(
            isolate,
            br#"{"id":-1,"method":"Debugger.setInstrumentationBreakpoint","params":{"instrumentation":"beforeScriptExecution"}}"#,
        );
        let mut state = self.state.lock();
        state.break_armed = true;
        state.rename_pause = true;
    }

    /// Takes back what [`Self::arm_break_on_start`] armed, at the first pause.
    fn disarm_break_on_start(&self, isolate: &mut v8::Isolate) {
        let armed = {
            let mut state = self.state.lock();
            state.rename_pause = false;
            std::mem::take(&mut state.break_armed)
        };
        if armed {
            self.internal(
                isolate,
                br#"{"id":-1,"method":"Debugger.removeBreakpoint","params":{"breakpointId":"instrumentation:beforeScriptExecution"}}"#,
            );
        }
    }

    /// Dispatches a message of the inspector's own (id -1: its answer is dropped) to the
    /// session; the caller holds the VM's lock.
    fn internal(&self, isolate: &mut v8::Isolate, message: &[u8]) {
        let guard = self.v8.lock();
        let Ok(side) = guard.try_borrow() else {
            return;
        };
        let session = side.as_ref().and_then(|s| s.session.borrow().clone());
        if let Some(session) = session {
            v8::scope!(let _scope, &mut *isolate);
            session
                .session
                .dispatch_protocol_message(StringView::from(message));
        }
    }

    /// Serves messages while JavaScript is paused in the debugger, on its thread.
    fn pause_loop(&self) {
        let isolate = {
            let guard = self.v8.lock();
            let side = guard.borrow();
            match side.as_ref() {
                Some(side) => side.isolate,
                None => return,
            }
        };
        let mut isolate_ptr = isolate;
        // SAFETY: V8 calls `run_message_loop_on_pause` on the thread that holds the
        // VM's lock, with the isolate entered; the pointer is that isolate's.
        let isolate = unsafe { v8::Isolate::ref_from_raw_isolate_ptr_mut(&mut isolate_ptr) };
        self.disarm_break_on_start(isolate);
        {
            let mut state = self.state.lock();
            state.paused = true;
            state.quit_pause = false;
        }
        self.stops.debugger_paused(true);
        loop {
            self.pump(isolate);
            let mut state = self.state.lock();
            if state.quit_pause
                || state.stopping
                || state.client == 0
                || self.stops.running_is_stopped()
            {
                break;
            }
            if state.events.is_empty() {
                self.wake.wait_for(&mut state, Duration::from_millis(250));
            }
        }
        self.stops.debugger_paused(false);
        let mut state = self.state.lock();
        state.paused = false;
        state.quit_pause = false;
    }

    /// Serves messages that arrive while no call runs: takes the VM like a call.
    fn dispatch_loop(&self) {
        loop {
            {
                let mut state = self.state.lock();
                while state.events.is_empty() && !state.stopping {
                    self.wake.wait(&mut state);
                }
                if state.stopping {
                    return;
                }
            }
            let Some(vm) = self.vm.upgrade() else {
                return;
            };
            let served = match vm.enter(None) {
                Ok(mut call) => {
                    let stopping = self.state.lock().stopping;
                    if !stopping {
                        self.pump(&mut call);
                        // Some answers are tasks V8 posts to the platform (a heap
                        // snapshot is taken outside the dispatch): run them now.
                        v8::scope!(let scope, &mut *call);
                        crate::engine::platform::pump_message_loop(scope);
                        self.pump(scope);
                    }
                    !stopping
                }
                Err(_) => false, // the VM was freed: it cannot serve any more
            };
            drop(vm);
            if !served {
                return;
            }
        }
    }

    /// Accepts connections until the inspector stops.
    fn accept_loop(self: &Arc<Core>, listener: &TcpListener) {
        loop {
            if self.state.lock().stopping {
                return;
            }
            if self.state.lock().handshakes >= MAX_HANDSHAKES {
                std::thread::sleep(POLL * 2);
                continue;
            }
            match listener.accept() {
                Ok((stream, _)) => {
                    self.state.lock().handshakes += 1;
                    let core = Arc::clone(self);
                    // A connection that never gets the thread is dropped (closed).
                    let _ = std::thread::Builder::new()
                        .name("v8rs-inspector-http".into())
                        .spawn(move || {
                            let _ = catch(|| core.serve_connection(stream));
                            core.state.lock().handshakes -= 1;
                        })
                        .map_err(|_| self.state.lock().handshakes -= 1);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(POLL * 2),
                Err(_) => std::thread::sleep(POLL * 2),
            }
        }
    }

    /// Answers one HTTP request, or takes a WebSocket client on.
    fn serve_connection(self: &Arc<Core>, mut stream: TcpStream) {
        if stream.set_nonblocking(false).is_err()
            || stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .is_err()
            || stream
                .set_write_timeout(Some(Duration::from_secs(5)))
                .is_err()
        {
            return;
        }
        let Some(head) = peek_head(&stream) else {
            return;
        };
        let request = Request::parse(&head);
        if request.websocket {
            if request.path != format!("/{}", self.id) {
                respond(
                    &mut stream,
                    head.len(),
                    "404 Not Found",
                    "text/plain",
                    "no such target\n",
                );
                return;
            }
            let taken = {
                // Reserved before the handshake: of two at once, one gets 409.
                let mut state = self.state.lock();
                let taken = state.client != 0 || state.handshaking;
                state.handshaking |= !taken;
                taken
            };
            if taken {
                respond(
                    &mut stream,
                    head.len(),
                    "409 Conflict",
                    "text/plain",
                    "a debugger client is connected already\n",
                );
                return;
            }
            let mut reservation = Reservation {
                state: &self.state,
                held: true,
            };
            let accepted = tungstenite::accept(stream);
            let (ws, client) = {
                let mut state = self.state.lock();
                state.handshaking = false;
                reservation.held = false;
                if state.stopping || state.client != 0 {
                    return;
                }
                let Ok(ws) = accepted else {
                    return;
                };
                state.last_client += 1;
                state.client = state.last_client;
                state.outbound.clear();
                (ws, state.client)
            };
            self.deliver(Event::Connect(client));
            let core = Arc::clone(self);
            let spawned = std::thread::Builder::new()
                .name("v8rs-inspector-client".into())
                .spawn(move || {
                    let _ = catch(|| core.serve_client(ws, client));
                    core.disconnect(client);
                });
            if spawned.is_err() {
                self.disconnect(client);
            }
            return;
        }
        let (status, body) = match request.path.as_str() {
            "/json" | "/json/list" => ("200 OK", self.list(request.host.as_deref())),
            "/json/version" => ("200 OK", version()),
            _ => ("404 Not Found", String::from("{}")),
        };
        respond(
            &mut stream,
            head.len(),
            status,
            "application/json; charset=UTF-8",
            &body,
        );
    }

    /// The client left (or its connection failed).
    fn disconnect(&self, client: u64) {
        {
            let mut state = self.state.lock();
            if state.client == client {
                state.client = 0;
                state.run_requested = false;
                state.outbound.clear();
            }
        }
        self.deliver(Event::Disconnect(client));
    }

    /// Moves messages between the client's WebSocket and the queues.
    fn serve_client(&self, mut ws: tungstenite::WebSocket<TcpStream>, client: u64) {
        if ws.get_mut().set_read_timeout(Some(POLL)).is_err() {
            return;
        }
        loop {
            match ws.read() {
                Ok(tungstenite::Message::Text(text)) => {
                    self.deliver(Event::Message(client, text.as_str().to_string()));
                }
                Ok(tungstenite::Message::Binary(bytes)) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    self.deliver(Event::Message(client, text));
                }
                Ok(tungstenite::Message::Close(_)) => return,
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return,
            }
            let outbound = {
                let mut state = self.state.lock();
                if state.stopping || state.client != client {
                    drop(state);
                    let _ = ws.close(None);
                    let _ = ws.flush();
                    return;
                }
                std::mem::take(&mut state.outbound)
            };
            for message in outbound {
                if ws.write(tungstenite::Message::text(message)).is_err() {
                    return;
                }
            }
            match ws.flush() {
                Ok(()) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return,
            }
        }
    }

    /// The body of `/json/list`, as Node writes it.
    fn list(&self, host: Option<&str>) -> String {
        let ws = self.ws_url(host);
        let ws_bare = ws.trim_start_matches("ws://");
        let title = format!("v8rs[{}]", std::process::id());
        serde_json::json!([{
            "description": "v8rs instance",
            "devtoolsFrontendUrl": format!(
                "devtools://devtools/bundled/js_app.html?experiments=true&v8only=true&ws={ws_bare}"
            ),
            "devtoolsFrontendUrlCompat": format!(
                "devtools://devtools/bundled/inspector.html?experiments=true&v8only=true&ws={ws_bare}"
            ),
            "faviconUrl": "https://nodejs.org/static/images/favicons/favicon.ico",
            "id": self.id,
            "title": title,
            "type": "node",
            "url": "",
            "webSocketDebuggerUrl": ws,
        }])
        .to_string()
    }
}

impl InspectorHooks for Core {
    fn context_created(
        &self,
        scope: &mut v8::PinScope<'_, '_, ()>,
        context: v8::Local<'_, v8::Context>,
        id: u32,
    ) {
        let guard = self.v8.lock();
        let Ok(side) = guard.try_borrow() else {
            return;
        };
        let Some(side) = side.as_ref() else {
            return;
        };
        let is_default = side.default.get().is_none();
        if is_default {
            side.default.set(Some(id));
        }
        let name = format!("v8rs context {id}");
        let aux = format!(r#"{{"isDefault":{is_default},"type":"default","frameId":""}}"#);
        side.inspector.context_created(
            context,
            GROUP,
            StringView::from(name.as_bytes()),
            StringView::from(aux.as_bytes()),
        );
        let global = v8::Global::new(scope, context);
        side.contexts.borrow_mut().insert(id, global);
    }

    fn context_retired(&self, id: u32) {
        self.deliver(Event::Retired(id));
    }

    fn interrupt(&self, isolate: &mut v8::Isolate) {
        self.pump(isolate);
    }

    fn call_started(&self) {
        if !self.state.lock().events.is_empty() {
            self.handle
                .request_interrupt(on_interrupt, std::ptr::null_mut());
        }
    }

    fn vm_closed(&self) {
        self.shut_down();
    }

    fn dispose(&self) {
        self.shut_down();
        let guard = self.v8.lock();
        let taken = guard.try_borrow_mut().ok().and_then(|mut side| side.take());
        drop(taken);
        drop(guard);
    }
}

/// V8 calls this in the JavaScript running when messages arrived (see `deliver`).
unsafe extern "C" fn on_interrupt(mut isolate: v8::UnsafeRawIsolatePtr, _data: *mut c_void) {
    let _ = catch(|| {
        // SAFETY: V8 runs interrupts on the thread that holds the isolate's lock, with
        // the isolate entered, in its JavaScript.
        let isolate = unsafe { v8::Isolate::ref_from_raw_isolate_ptr_mut(&mut isolate) };
        let hooks = VmShared::of(isolate).and_then(|shared| shared.inspector());
        if let Some(hooks) = hooks {
            hooks.interrupt(isolate);
        }
    });
}

/// What V8's inspector asks of its embedder.
struct Client {
    core: Weak<Core>,
}

impl Client {
    fn with_core(&self, body: impl FnOnce(&Arc<Core>)) {
        if let Some(core) = self.core.upgrade() {
            let _ = catch(|| body(&core));
        }
    }
}

impl V8InspectorClientImpl for Client {
    fn run_message_loop_on_pause(&self, _context_group_id: i32) {
        self.with_core(|core| core.pause_loop());
    }

    fn quit_message_loop_on_pause(&self) {
        self.with_core(|core| {
            core.state.lock().quit_pause = true;
            core.wake.notify_all();
        });
    }

    fn run_if_waiting_for_debugger(&self, _context_group_id: i32) {
        self.with_core(|core| {
            core.state.lock().run_requested = true;
            core.wake.notify_all();
        });
    }

    fn ensure_default_context_in_group(
        &self,
        _context_group_id: i32,
    ) -> Option<v8::Local<'_, v8::Context>> {
        let core = self.core.upgrade()?;
        catch(|| {
            let guard = core.v8.lock();
            let side = guard.try_borrow().ok()?;
            let side = side.as_ref()?;
            let contexts = side.contexts.borrow();
            let global = side
                .default
                .get()
                .and_then(|id| contexts.get(&id))
                .or_else(|| contexts.iter().min_by_key(|(id, _)| **id).map(|(_, g)| g))?
                .clone();
            let mut ptr = side.isolate;
            // SAFETY: V8 calls this on the thread that holds the VM's lock, with the
            // isolate entered; the pointer is that isolate's.
            let isolate = unsafe { v8::Isolate::ref_from_raw_isolate_ptr_mut(&mut ptr) };
            // SAFETY: V8 calls this inside its own handle scope, which the local lives
            // in (as deno_core does).
            v8::callback_scope!(unsafe scope, isolate);
            let local = v8::Local::new(scope, global);
            // SAFETY: as above: the handle belongs to V8's scope around this callback.
            Some(unsafe { local.extend_lifetime_unchecked() })
        })
        .ok()
        .flatten()
    }
}

/// Where V8's inspector writes its protocol messages for one client.
struct Outbox {
    core: Weak<Core>,
    client: u64,
}

impl Outbox {
    fn post(&self, message: v8::UniquePtr<StringBuffer>) {
        let _ = catch(|| {
            if let (Some(core), Some(message)) = (self.core.upgrade(), message.as_ref()) {
                core.send(self.client, message.string().to_string());
            }
        });
    }
}

impl ChannelImpl for Outbox {
    fn send_response(&self, call_id: i32, message: v8::UniquePtr<StringBuffer>) {
        if call_id != INTERNAL_ID {
            self.post(message);
        }
    }

    fn send_notification(&self, message: v8::UniquePtr<StringBuffer>) {
        self.post(message);
    }

    fn flush_protocol_notifications(&self) {}
}

/// A random (version 4) UUID, for the target's id.
fn uuid() -> String {
    let mut bytes = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        // Unguessable enough without /dev/urandom: the clock and the process.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mixed = nanos ^ (u128::from(std::process::id()) << 64);
        bytes = mixed.to_le_bytes();
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The body of `/json/version`.
fn version() -> String {
    serde_json::json!({
        "Browser": format!("v8rs/{}", env!("CARGO_PKG_VERSION")),
        "Protocol-Version": "1.1",
        "V8-Version": v8::V8::get_version(),
    })
    .to_string()
}

/// The head of the HTTP request waiting on `stream` (read without taking it, so the
/// WebSocket handshake can read it again), or `None` when it does not come in time.
fn peek_head(stream: &TcpStream) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; MAX_HEAD];
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let n = stream.peek(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        if let Some(end) = buf[..n].windows(4).position(|w| w == b"\r\n\r\n") {
            buf.truncate(end + 4);
            return Some(buf);
        }
        if n == MAX_HEAD || Instant::now() > until {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// What matters of an HTTP request.
struct Request {
    path: String,
    host: Option<String>,
    websocket: bool,
}

impl Request {
    fn parse(head: &[u8]) -> Request {
        let text = String::from_utf8_lossy(head);
        let mut lines = text.split("\r\n");
        let path = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .unwrap_or("/")
            .split('?')
            .next()
            .unwrap_or("/")
            .trim_end_matches('/')
            .to_string();
        let mut host = None;
        let mut websocket = false;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("host") {
                // Only a plain host[:port] goes back into the URLs we answer.
                let plain = value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
                if plain && !value.is_empty() {
                    host = Some(value.to_string());
                }
            } else if name.eq_ignore_ascii_case("upgrade") {
                websocket = value.eq_ignore_ascii_case("websocket");
            }
        }
        Request {
            path,
            host,
            websocket,
        }
    }
}

/// Reads the request head (`head_len` bytes) and answers it.
fn respond(stream: &mut TcpStream, head_len: usize, status: &str, kind: &str, body: &str) {
    let mut head = vec![0u8; head_len];
    let _ = stream.read_exact(&mut head);
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Context;

    #[test]
    #[cfg_attr(miri, ignore = "runs V8")]
    fn a_message_whose_interrupt_was_wiped_is_served_by_the_next_calls_javascript() {
        let _ = crate::engine::platform::set_up(""); // this binary's only test of V8
        let vm = Vm::new().expect("vm");
        let ctx = Context::new(&vm).expect("context");
        let inspector = Inspector::start(&vm, "127.0.0.1", 0).expect("inspector");
        let core = &inspector.core;
        {
            // What a call finds when a message arrived just before it took the lock: the
            // message queued, the interrupt that asked for it wiped by that lock.
            let mut state = core.state.lock();
            state.last_client += 1;
            state.client = state.last_client;
            let client = state.client;
            state.events.push_back(Event::Connect(client));
            let evaluate = r#"{"id":1,"method":"Runtime.evaluate","params":{"expression":"globalThis.served = 1"}}"#;
            state
                .events
                .push_back(Event::Message(client, evaluate.into()));
        }
        let served = ctx
            .run_script(
                b"var until = Date.now() + 5000; \
                  while (!globalThis.served && Date.now() < until) {} \
                  String(globalThis.served === 1)",
                b"busy.js",
            )
            .expect("run");
        assert_eq!(served.as_bytes(), b"true", "served only after the call");
        let outbound = core.state.lock().outbound.clone();
        assert!(
            outbound.iter().any(|m| m.starts_with(r#"{"id":1,"#)),
            "{outbound:?}"
        );
        inspector.stop();
    }
}
