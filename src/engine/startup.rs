//! How VMs start: the natives a snapshot may refer to, the built-in startup snapshot
//! with the web APIs, and the public constructors of [`Vm`].
//!
//! **The built-in snapshot.** Every context with all the web APIs used to compile and
//! run the web prelude (`web/prelude.js`) again. Instead, the first VM of a process
//! starts from a blob that holds, besides V8's bare default context, a context with the
//! web APIs installed (its classes, prelude state and compiled code); each later web
//! context is deserialized from it (`v8::Context::from_snapshot`), which costs about what
//! a bare context does. The blob is made once — at the first VM of a process, about
//! 20 ms — and kept in a cache directory (`$V8RS_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/v8rs`, else `~/.cache/v8rs`; an empty `V8RS_CACHE_DIR` turns the
//! directory off), keyed by the SHA-256 of everything it depends on: the V8 version and
//! flags, this library's version and sources (a fingerprint made by `build.rs`), the
//! prelude and the list of natives. A cached file
//! is checked by its header and checksum (`snapshot_file.rs`) before V8 sees it; one
//! that does not check out is made again. If the blob cannot be made (or with
//! `V8RS_WEB_SNAPSHOT=0`), VMs start from V8's own snapshot and web contexts run the
//! prelude, as before.
//!
//! **Natives in snapshots.** A function of a snapshot refers to its Rust callback by its
//! place in [`external_references`], the same list in the creator and in every VM made
//! from the blob. Each native is made once (the `LazyLock` tables of `web` and
//! `event_loop`), so its address is the same everywhere. Natives find their context's
//! state through the context's id (see `natives.rs`), not through data of their own.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, OnceLock};

use crate::engine::error::{Code, Error};
use crate::engine::realm::keep_exact_json;
use crate::engine::snapshot_file::{self, Snapshot, CREATING};
use crate::engine::vm::{check_not_inside_vm, Blob, SnapshotContexts, Startup, Vm, VmOptions};
use crate::engine::web::{self, WebFeatures};

/// Every native a snapshot may refer to, in a fixed order.
fn natives() -> impl Iterator<Item = (&'static str, v8::FunctionCallback)> {
    let web = web::WEB_NATIVES.iter().copied();
    let timers = crate::engine::event_loop::TIMER_NATIVES.iter().copied();
    let node = crate::engine::node::NODE_NATIVES.iter().copied();
    let guard = crate::engine::wasm::GUARD_NATIVES.iter().copied();
    let forward = std::iter::once(("forward", *crate::engine::wasm::FORWARD));
    web.chain(timers).chain(node).chain(guard).chain(forward)
}

/// The list of [`external_references`].
struct References(Vec<v8::ExternalReference>);

// SAFETY: the list holds function pointers only (`v8::ExternalReference` is a union
// of pointer types, hence not `Send`/`Sync` by itself); it is never changed once made.
unsafe impl Send for References {}
// SAFETY: as above.
unsafe impl Sync for References {}

static REFERENCES: LazyLock<References> = LazyLock::new(|| {
    References(
        natives()
            .map(|(_, function)| v8::ExternalReference { function })
            // The getters of the lazy web globals and natives (accessors, not functions).
            .chain([
                v8::ExternalReference {
                    pointer: web::lazy::getter() as *mut std::ffi::c_void,
                },
                v8::ExternalReference {
                    pointer: web::lazy::native_getter() as *mut std::ffi::c_void,
                },
            ])
            // V8's end mark (without it, each VM would copy the list to add one).
            .chain([v8::ExternalReference {
                pointer: std::ptr::null_mut(),
            }])
            .collect(),
    )
});

/// The natives a snapshot of v8rs refers to, by their place in this list.
pub(crate) fn external_references() -> Cow<'static, [v8::ExternalReference]> {
    Cow::Borrowed(REFERENCES.0.as_slice())
}

/// The index of the web context in the built-in snapshot.
const WEB_CONTEXT: usize = 0;

/// The built-in blob, made or read once per process (`None`: it could not be made).
static BUILTIN: OnceLock<Option<&'static [u8]>> = OnceLock::new();

/// The built-in blob (see the module documentation); `V8RS_WEB_SNAPSHOT=0` goes
/// without (web contexts then run the prelude, as a test of that path does).
fn builtin() -> Option<&'static [u8]> {
    *BUILTIN.get_or_init(|| {
        if std::env::var_os("V8RS_WEB_SNAPSHOT").is_some_and(|v| v == "0") {
            return None;
        }
        if check_not_inside_vm().is_ok() {
            load_or_make()
        } else {
            // This thread holds a VM, and a thread may hold one isolate at a time.
            std::thread::scope(|scope| {
                std::thread::Builder::new()
                    .name("v8rs-snapshot".into())
                    .spawn_scoped(scope, load_or_make)
                    .ok()
                    .and_then(|making| making.join().ok().flatten())
            })
        }
    })
}

/// The cache directory of the built-in snapshot, if any (see the module documentation).
fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os("V8RS_CACHE_DIR") {
        Some(dir) if dir.is_empty() => None,
        Some(dir) => Some(PathBuf::from(dir)),
        None => match std::env::var_os("XDG_CACHE_HOME") {
            Some(cache) if !cache.is_empty() => Some(PathBuf::from(cache).join("v8rs")),
            _ => std::env::var_os("HOME")
                .filter(|home| !home.is_empty())
                .map(|home| PathBuf::from(home).join(".cache").join("v8rs")),
        },
    }
}

/// The file name of the built-in snapshot: what it depends on, hashed.
fn cache_name() -> String {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    let mut part = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    part(crate::engine::platform::v8_version().as_bytes());
    part(crate::engine::platform::flags().as_bytes());
    part(env!("CARGO_PKG_VERSION").as_bytes());
    // What the code that fills the blob is (build.rs).
    part(env!("V8RS_SOURCE_HASH").as_bytes());
    for source in web::SNAPSHOT_SOURCES {
        part(source.as_bytes());
    }
    for (name, _) in natives() {
        part(name.as_bytes());
    }
    let digest = hash.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("web-{hex}.snapshot")
}

/// How many built-in blobs (of other versions, flags or builds) the cache directory keeps.
const KEPT_BLOBS: usize = 8;

/// Removes all but the [`KEPT_BLOBS`] most recently used built-in blobs (each read sets
/// its file's time) from the directory of `made` (just written): every build with other
/// sources writes one of its own. A blob removed
/// while another process reads it is still read whole (the file stays open), and one
/// still needed is made again.
fn prune(made: &std::path::Path) {
    let Some(Ok(entries)) = made.parent().map(std::fs::read_dir) else {
        return;
    };
    let mut blobs: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with("web-") && name.ends_with(".snapshot")
        })
        .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
        .collect();
    blobs.sort_by_key(|blob| std::cmp::Reverse(blob.0));
    for (_, path) in blobs.into_iter().skip(KEPT_BLOBS) {
        if path != made {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn load_or_make() -> Option<&'static [u8]> {
    let path = cache_dir().map(|dir| dir.join(cache_name()));
    if let Some(path) = &path {
        if let Ok(file) = std::fs::read(path) {
            match snapshot_file::open(&file) {
                Ok(opened) => {
                    // Used now: the newest are kept (see `prune`).
                    if let Ok(file) = std::fs::File::options().append(true).open(path) {
                        let _ = file.set_modified(std::time::SystemTime::now());
                    }
                    return Some(Box::leak(opened.blob));
                }
                Err(_) => {
                    let _ = std::fs::remove_file(path); // made again below
                }
            }
        }
    }
    let blob = make_builtin().ok()?;
    if let Some(path) = &path {
        snapshot_file::write_atomically(path, &snapshot_file::wrap(&blob, 0, 0));
        prune(path);
    }
    Some(Vec::leak(blob))
}

/// Makes the built-in blob: V8's bare default context, and the web context at
/// [`WEB_CONTEXT`].
fn make_builtin() -> Result<Vec<u8>, Error> {
    let made = with_creator(None, |scope| {
        let bare = v8::Context::new(scope, Default::default());
        let kept = keep_exact_json(scope, bare);
        scope.set_default_context(bare);
        kept?;
        let context = v8::Context::new(scope, Default::default());
        keep_exact_json(scope, context)?;
        {
            let scope = &mut v8::ContextScope::new(scope, context);
            web::install(scope, WebFeatures::ALL)?;
        }
        let index = scope.add_context(context);
        if index != WEB_CONTEXT {
            return Err(Error::new(
                Code::Unknown,
                "the web context has another index",
            ));
        }
        Ok(())
    })?;
    Ok(made.blob)
}

/// A blob a snapshot creator made, and the heap its isolate filled then.
pub(crate) struct Made {
    /// V8's startup blob.
    pub(crate) blob: Vec<u8>,
    /// The bytes of heap in use, after a full collection, just before the blob was made.
    pub(crate) heap: usize,
}

/// Runs `build` in a snapshot creator — from `existing` (a V8 blob of v8rs, which the
/// creator owns while it works), or from nothing — and returns the blob it makes.
/// `build` must set the default context whatever happens (V8 aborts otherwise).
///
/// Before the blob is made, the creator collects its garbage and runs the tasks that
/// queues (a `FinalizationRegistry` whose target died must have run its cleanup: V8
/// aborts on one that has not), and measures the heap left.
///
/// All the isolates of a process share one read-only heap: the one of the first
/// isolate. A creator that starts from nothing builds a read-only heap of its own, so
/// its blob could not live beside VMs made otherwise (V8 reads the wrong objects, or
/// crashes). So the creator is made while an isolate with V8's own snapshot lives (a
/// *keeper*, made here if no VM lives): it then shares V8's read-only heap, and every
/// blob made by v8rs — in this process or another — fits every VM.
pub(crate) fn with_creator(
    existing: Option<Vec<u8>>,
    build: impl FnOnce(&mut v8::PinScope<'_, '_, ()>) -> Result<(), Error>,
) -> Result<Made, Error> {
    let _platform = crate::engine::platform::acquire()?;
    check_not_inside_vm()?;
    // One creator at a time, and no VM created meanwhile.
    let _no_new_vms = CREATING.write();
    let _keeper = (Vm::live_count() == 0).then(|| v8::Isolate::new(v8::CreateParams::default()));
    let mut creator = match existing {
        Some(blob) => v8::Isolate::snapshot_creator_from_existing_snapshot(
            blob.into(),
            Some(external_references()),
            None,
        ),
        None => v8::Isolate::snapshot_creator(Some(external_references()), None),
    };
    creator.set_microtasks_policy(v8::MicrotasksPolicy::Explicit);
    // Ctrl-C stops the scripts as it stops a call (`sigint.rs`).
    let stops = Arc::new(crate::engine::stop::Stops::new(
        creator.thread_safe_handle(),
    ));
    let call = stops.begin();
    crate::engine::sigint::call_started(&stops, call);
    let outcome = {
        v8::scope!(let scope, &mut creator);
        build(scope)
    };
    // Also after a failure: the blob is made then too.
    let settled = settle(&mut creator);
    crate::engine::sigint::call_ended();
    let outcome = match stops.end(call) {
        Some(_) => Err(Error::new(
            Code::Terminated,
            "the snapshot's scripts were interrupted (Ctrl-C)",
        )),
        None => outcome,
    };
    creator.cancel_terminate_execution();
    if let Err(unsettled) = settled {
        // V8 would abort the process making this blob: the creator is left unused
        // instead (leaked, with its heap — a rare failure), after it exits, so that the
        // keeper is the current isolate again.
        // SAFETY: the creator was entered on this thread when it was made, and nothing
        // entered since is still entered (the scopes above are closed); it is never
        // touched again.
        unsafe { creator.exit() };
        std::mem::forget(creator);
        return Err(outcome.err().unwrap_or(unsettled));
    }
    let heap = creator.get_heap_statistics().used_heap_size();
    // The creator must make its blob before it goes, even after a failure. (It consumes
    // the creator, which goes before the keeper: isolates entered on this thread go in
    // reverse order.)
    let blob = creator.create_blob(v8::FunctionCodeHandling::Keep);
    outcome?;
    let blob = blob.ok_or_else(|| Error::new(Code::Unknown, "V8 could not make the snapshot"))?;
    Ok(Made {
        blob: blob.to_vec(),
        heap,
    })
}

/// Collects the creator's garbage and runs the tasks that queues (the cleanups of
/// `FinalizationRegistry`s whose targets died), until a collection queues none: V8
/// aborts the process on a registry with a cleanup still due when it makes the blob
/// (whose own collection then finds nothing new, as no JavaScript ran since ours).
/// Fails when the cleanups go on making such work.
fn settle(creator: &mut v8::OwnedIsolate) -> Result<(), Error> {
    creator.clear_kept_objects();
    for _ in 0..SETTLE_ROUNDS {
        creator.low_memory_notification();
        if !crate::engine::platform::pump_message_loop(creator) {
            return Ok(());
        }
        creator.perform_microtask_checkpoint(); // what the cleanups queued
    }
    Err(Error::invalid_argument(format!(
        "the snapshot's FinalizationRegistry cleanups still had work after {SETTLE_ROUNDS} \
         collections (a cleanup that registers objects that die?): V8 cannot make a \
         snapshot with a cleanup due"
    )))
}

/// How many collections [`settle`] makes at most.
const SETTLE_ROUNDS: usize = 16;

impl Vm {
    /// Creates a VM with V8's default heap. See [`Vm::with_options`].
    pub fn new() -> Result<Arc<Vm>, Error> {
        Vm::with_options(VmOptions::default())
    }

    /// Creates a VM (from the built-in snapshot, when there is one: see `startup.rs`).
    /// Fails with `InvalidState` when the platform is not set up or was torn down, or
    /// when called from inside a running VM; with `InvalidArgument` for impossible heap
    /// sizes.
    pub fn with_options(options: VmOptions) -> Result<Arc<Vm>, Error> {
        crate::engine::platform::acquire()?;
        let startup = match builtin() {
            Some(blob) => Startup {
                blob: Some(Blob::Static(blob)),
                external_references: Some(external_references()),
                contexts: SnapshotContexts {
                    default_web: 0,
                    web_index: Some(WEB_CONTEXT),
                    default_heap: 0,
                    startup_id: 1,
                },
            },
            None => Startup::default(),
        };
        Vm::create(options, startup)
    }

    /// Creates a VM whose contexts start from the snapshot file `snapshot` (made by
    /// [`crate::engine::snapshot::create`]). A snapshot that does not check out —
    /// garbage, truncated, from another V8 version or V8 flags — is `InvalidArgument`.
    /// (To start many VMs from one snapshot, open it once: [`Vm::from_snapshot`].)
    pub fn with_snapshot(options: VmOptions, snapshot: &[u8]) -> Result<Arc<Vm>, Error> {
        Vm::from_snapshot(options, &Arc::new(Snapshot::open(snapshot)?))
    }

    /// Creates a VM whose contexts start from `snapshot`, which it keeps alive.
    pub fn from_snapshot(options: VmOptions, snapshot: &Arc<Snapshot>) -> Result<Arc<Vm>, Error> {
        let startup = Startup {
            contexts: SnapshotContexts {
                default_web: snapshot.web,
                web_index: None,
                default_heap: snapshot.heap,
                startup_id: snapshot.id,
            },
            blob: Some(Blob::Shared(Arc::clone(snapshot))),
            external_references: Some(external_references()),
        };
        Vm::create(options, startup)
    }
}

/// Whether the built-in snapshot is in use (made or read), for tests and diagnostics.
pub fn builtin_snapshot_size() -> Option<usize> {
    crate::engine::platform::acquire().ok()?;
    builtin().map(<[u8]>::len)
}
