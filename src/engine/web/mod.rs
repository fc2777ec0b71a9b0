//! The web APIs a context gets by default, so that bundles written for browsers (and
//! for server rendering) run unmodified: timers, `TextEncoder`/`TextDecoder`,
//! `atob`/`btoa`, `structuredClone`, `performance`, `crypto`, `URL`, events and
//! `AbortController`, `MessageChannel`, web streams, a `console` that prints as
//! Node's, and `fetch` with its classes (a network only by the embedder's permission).
//!
//! Each group is one bit of a [`WebFeatures`] mask (`V8RS_WEB_*` in C); a context gets
//! the groups its creator asks for, [`WebFeatures::ALL`] by default. A context with
//! any of them also has `self` (the global object, as in browsers, workers and Deno). The natives here (in Rust) do what needs
//! the engine or the OS; `prelude.js` builds the classes on them, and `streams.js` (a
//! bundled, spec-following polyfill) is loaded on first use. Nothing here reaches the
//! file system, the network or the process (`fetch` reaches only the host the
//! embedder gave its context); a global that already exists (from a
//! snapshot, say) is left as it is.
//!
//! One group is opt-in, outside [`WebFeatures::ALL`]: [`WebFeatures::DOM`], a
//! server-side DOM (linkedom, bundled in `dom.js`), whose globals load it on first use
//! (`dom_lazy.js`), so that it costs nothing to the contexts that do not touch it.

mod clone;
mod compression;
mod console;
mod encoding;
mod fetch;
pub(crate) mod lazy;
mod subtle;
mod url;

use crate::engine::error::{Code, Error};
use crate::engine::event_loop;
use crate::engine::natives::{self, native};

/// A set of web API groups (a bit mask).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WebFeatures(pub u32);

impl WebFeatures {
    /// No web APIs: a bare V8 context.
    pub const NONE: WebFeatures = WebFeatures(0);
    /// `setTimeout`, `setInterval`, `clearTimeout`, `clearInterval`, `queueMicrotask`.
    pub const TIMERS: WebFeatures = WebFeatures(1 << 0);
    /// `TextEncoder`, `TextDecoder` (every WHATWG encoding; `TextEncoderStream`/
    /// `TextDecoderStream` with [`Self::STREAMS`]).
    pub const ENCODING: WebFeatures = WebFeatures(1 << 1);
    /// `atob`, `btoa`.
    pub const BASE64: WebFeatures = WebFeatures(1 << 2);
    /// `structuredClone` (V8's serializer).
    pub const STRUCTURED_CLONE: WebFeatures = WebFeatures(1 << 3);
    /// `performance.now()`, `performance.timeOrigin`.
    pub const PERFORMANCE: WebFeatures = WebFeatures(1 << 4);
    /// `crypto.getRandomValues`, `crypto.randomUUID` (OS randomness), and
    /// `crypto.subtle` (WebCrypto on RustCrypto, `subtle.js`).
    pub const CRYPTO: WebFeatures = WebFeatures(1 << 5);
    /// `URL`, `URLSearchParams` (the `url` crate's WHATWG parser).
    pub const URL: WebFeatures = WebFeatures(1 << 6);
    /// `Event`, `CustomEvent`, `EventTarget`, `AbortController`, `AbortSignal`,
    /// `DOMException`.
    pub const EVENTS: WebFeatures = WebFeatures(1 << 7);
    /// `MessageChannel`, `MessagePort`, `MessageEvent`.
    pub const MESSAGE_CHANNEL: WebFeatures = WebFeatures(1 << 8);
    /// `ReadableStream`, `WritableStream`, `TransformStream` and their readers,
    /// writers, controllers and queuing strategies.
    pub const STREAMS: WebFeatures = WebFeatures(1 << 9);
    /// `console` as Node's: `util.format`/`util.inspect` text (`log`, `info`,
    /// `debug`, `warn`, `error`, `dir`, `table`, `trace`, `assert`, `count`, `time*`,
    /// `group*`), sent to the VM's console sink (see [`crate::engine::console`]) and to
    /// an attached inspector. Without it, V8's own `console` (silent) stays.
    pub const CONSOLE: WebFeatures = WebFeatures(1 << 10);
    /// `fetch`, `Headers`, `Request`, `Response`, `Blob`, `File`, `FormData`
    /// (`fetch.js`). `fetch` reaches only the network the embedder gives the context
    /// ([`crate::engine::Context::set_fetch`]); without one it rejects.
    pub const FETCH: WebFeatures = WebFeatures(1 << 11);
    /// Every group a context gets by default (all but [`Self::DOM`]).
    pub const ALL: WebFeatures = WebFeatures((1 << 12) - 1);
    /// Opt-in, not in [`Self::ALL`]: a server-side DOM — `window`, `document`,
    /// `DOMParser`, `Node`, `Element`, the `HTML*Element` classes, `Text`, `Comment`,
    /// `DocumentFragment`, `Event`/`CustomEvent`/`EventTarget` (linkedom's, in place of
    /// the events group's), `MutationObserver`, `TreeWalker`, `XMLSerializer`,
    /// `navigator`, `location`, `getComputedStyle`, `requestAnimationFrame` — from
    /// linkedom (`dom.js`), loaded on the first use of any of them. No layout, no
    /// resource loading.
    pub const DOM: WebFeatures = WebFeatures(1 << 12);
    /// Every bit [`install`] knows.
    pub const KNOWN: WebFeatures = WebFeatures(Self::ALL.0 | Self::DOM.0);

    /// Whether every group of `other` is in `self`.
    pub fn contains(self, other: WebFeatures) -> bool {
        self.0 & other.0 == other.0
    }
}

/// The classes and functions built on the natives (run once per context).
pub(crate) const PRELUDE: &str = include_str!("prelude.js");
/// The `console` group, built on the same natives.
const CONSOLE_SOURCE: &str = include_str!("console.js");
/// `crypto.subtle` (`SubtleCrypto`, `CryptoKey`), built on the `subtle*` natives.
const SUBTLE_SOURCE: &str = include_str!("subtle.js");
/// `fetch`, `Headers`, `Request`, `Response`, `Blob`, `File`, `FormData`, built on the
/// `fetch*` natives.
const FETCH_SOURCE: &str = include_str!("fetch.js");
/// The scripts whose work a context from the built-in snapshot holds.
pub(crate) const SNAPSHOT_SOURCES: [&str; 4] =
    [PRELUDE, CONSOLE_SOURCE, SUBTLE_SOURCE, FETCH_SOURCE];
/// web-streams-polyfill, bundled by `tests/fixtures/build/build.mjs`.
const STREAMS_SOURCE: &str = include_str!("streams.js");
/// The DOM group's globals, each loading [`DOM_SOURCE`] on first use (run per context).
const DOM_LAZY_SOURCE: &str = include_str!("dom_lazy.js");
/// linkedom and its dependencies, bundled by `tests/fixtures/build/dom.mjs`: a script
/// whose completion value is `domGlobals(global)`. Not in the built-in snapshot.
const DOM_SOURCE: &str = include_str!("dom.js");

/// Installs the groups of `features` (unknown bits are an error) on the global object
/// of the current context. (Nothing here needs the context's realm yet: a snapshot
/// creator installs them in a context that has none.)
pub(crate) fn install(
    scope: &mut v8::PinScope<'_, '_>,
    features: WebFeatures,
) -> Result<(), Error> {
    if features.0 & !WebFeatures::KNOWN.0 != 0 {
        return Err(Error::invalid_argument(format!(
            "unknown web feature bits {:#x} (known: {:#x})",
            features.0 & !WebFeatures::KNOWN.0,
            WebFeatures::KNOWN.0
        )));
    }
    v8::tc_scope!(let tc, scope);
    let installed = (|| {
        if features != WebFeatures::NONE {
            let global = tc.get_current_context().global(tc);
            natives::define_global(tc, global, "self", global.into())?;
        }
        if features.contains(WebFeatures::TIMERS) {
            event_loop::install_timers(tc)?;
        }
        if features.0 & WebFeatures::ALL.0 & !WebFeatures::TIMERS.0 != 0 {
            run_prelude(tc, features)?;
        }
        if features.contains(WebFeatures::DOM) {
            install_dom(tc)?;
        }
        Some(())
    })();
    match installed {
        Some(()) => Ok(()),
        None => {
            let detail = match tc.exception() {
                _ if tc.has_terminated() => "it was terminated".into(),
                Some(exception) => exception.to_rust_string_lossy(tc),
                None => "no exception".into(),
            };
            Err(Error::new(
                Code::Unknown,
                format!("cannot install the web APIs: {detail}"),
            ))
        }
    }
}

/// The natives the prelude builds on, made once: a snapshot refers to each callback by
/// its place in [`crate::engine::startup`]'s list, so each must be one function.
pub(crate) static WEB_NATIVES: std::sync::LazyLock<[(&str, v8::FunctionCallback); 45]> =
    std::sync::LazyLock::new(|| {
        [
            ("utf8Encode", native!(encoding::encode)),
            ("utf8EncodeInto", native!(encoding::encode_into)),
            ("utf8Decode", native!(encoding::decode)),
            ("encodingName", native!(encoding::encoding_name)),
            ("decodeAs", native!(encoding::decode_as)),
            ("decoderForget", native!(encoding::decoder_forget)),
            ("compressionOpen", native!(compression::open)),
            ("compressionWrite", native!(compression::write)),
            ("compressionFinish", native!(compression::finish)),
            ("compressionClose", native!(compression::close)),
            ("clone", native!(clone::structured_clone)),
            ("now", native!(event_loop::now)),
            ("timeOrigin", native!(event_loop::time_origin)),
            ("randomFill", native!(random_fill)),
            ("urlParse", native!(url::parse)),
            ("urlSet", native!(url::set)),
            ("formParse", native!(url::form_parse)),
            ("formSerialize", native!(url::form_serialize)),
            ("schedule", native!(event_loop::schedule_task)),
            ("loadStreams", native!(load_streams)),
            ("consoleWrite", native!(console::write)),
            ("loadInspect", native!(console::load_inspect)),
            ("promiseDetails", native!(console::promise_details)),
            ("proxyDetails", native!(console::proxy_details)),
            ("previewEntries", native!(console::preview_entries)),
            ("collectionKind", native!(console::collection_kind)),
            ("subtleDigest", native!(subtle::digest)),
            ("subtleHmac", native!(subtle::hmac)),
            ("subtleAesGcm", native!(subtle::aes_gcm)),
            ("subtlePbkdf2", native!(subtle::pbkdf2)),
            ("subtleHkdf", native!(subtle::hkdf)),
            ("subtleEcdh", native!(subtle::ecdh)),
            ("subtleGenerate", native!(subtle::generate)),
            ("subtleImport", native!(subtle::import)),
            ("subtleExport", native!(subtle::export)),
            ("subtleRsaInfo", native!(subtle::rsa_info)),
            ("subtleSign", native!(subtle::sign)),
            ("subtleVerify", native!(subtle::verify)),
            ("loadDom", native!(load_dom)),
            ("fetchSend", native!(fetch::send)),
            ("fetchAbort", native!(fetch::abort)),
            ("loadSubtle", native!(load_subtle)),
            ("loadFetch", native!(load_fetch)),
            ("loadConsole", native!(load_console)),
            ("lazyGlobals", native!(lazy::lazy_globals)),
        ]
    });

/// Runs the prelude (the classes of every group but timers and the DOM) with the
/// natives of [`WEB_NATIVES`]; it defines the subtle, fetch and console groups to load
/// on first use.
fn run_prelude(scope: &mut v8::PinScope<'_, '_>, features: WebFeatures) -> Option<()> {
    let native = v8::Object::new(scope);
    lazy::define_natives(scope, native, &*WEB_NATIVES)?;
    let install = natives::run_internal(scope, PRELUDE, "v8rs:web/prelude.js")?;
    let install = v8::Local::<v8::Function>::try_from(install).ok()?;
    let features_mask = features.0;
    let features = v8::Integer::new_from_unsigned(scope, features_mask);
    let receiver = v8::undefined(scope).into();
    // The prelude defines the crypto.subtle, fetch and console groups as properties
    // that run their scripts on first use (`loadSubtle`, `loadFetch`, `loadConsole`).
    let brand_class = install.call(scope, receiver, &[native.into(), features.into()])?;
    // Kept on the global (in snapshots too) for the DOM group, which may come later.
    let global = scope.get_current_context().global(scope);
    let key = brand_class_key(scope)?;
    global.set_private(scope, key, brand_class)?;
    Some(())
}

/// The private key of the prelude's `brandClass` on the global object.
fn brand_class_key<'s>(scope: &mut v8::PinScope<'s, '_>) -> Option<v8::Local<'s, v8::Private>> {
    let name = v8::String::new(scope, "v8rs.web.brandClass")?;
    Some(v8::Private::for_api(scope, Some(name)))
}

/// `randomFill(view)`: fills an `ArrayBufferView` with bytes from the OS; returns it.
fn random_fill<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Ok(view) = v8::Local::<v8::ArrayBufferView>::try_from(args.get(0)) else {
        return natives::throw_type_error(scope, "randomFill: not an ArrayBufferView");
    };
    let mut bytes = vec![0u8; view.byte_length()];
    if let Err(e) = os_random(&mut bytes) {
        return natives::throw_type_error(scope, &format!("the OS gave no random bytes: {e}"));
    }
    if natives::write_into_view(scope, view, &bytes).is_some() {
        rv.set(view.into());
    }
}

/// Fills `bytes` from the kernel's CSPRNG (`getrandom(2)`).
fn os_random(bytes: &mut [u8]) -> std::io::Result<()> {
    let mut filled = 0;
    while filled < bytes.len() {
        let rest = &mut bytes[filled..];
        // SAFETY: `rest` is a valid, writable buffer of `rest.len()` bytes.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                return Err(error);
            }
        } else {
            filled += n as usize;
        }
    }
    Ok(())
}

/// `loadSubtle()`: runs `subtle.js`; returns its `install(native, internals)`.
fn load_subtle<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    _args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    if let Some(install) = natives::run_internal(scope, SUBTLE_SOURCE, "v8rs:web/subtle.js") {
        rv.set(install);
    }
}

/// `loadFetch()`: runs `fetch.js`; returns its `install(native, internals)`.
fn load_fetch<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    _args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    if let Some(install) = natives::run_internal(scope, FETCH_SOURCE, "v8rs:web/fetch.js") {
        rv.set(install);
    }
}

/// `loadConsole()`: runs `console.js`; returns its `install(native, v8Console)`.
fn load_console<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    _args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    if let Some(install) = natives::run_internal(scope, CONSOLE_SOURCE, "v8rs:web/console.js") {
        rv.set(install);
    }
}

/// `loadStreams()`: runs the bundled streams polyfill; returns its exports.
fn load_streams<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    _args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    if let Some(exports) = natives::run_internal(scope, STREAMS_SOURCE, "v8rs:web/streams.js") {
        rv.set(exports);
    }
}

/// Defines the DOM group's globals (`dom_lazy.js`): `window` at once, the others as
/// getters that load linkedom ([`load_dom`]) on first use.
fn install_dom(scope: &mut v8::PinScope<'_, '_>) -> Option<()> {
    let load = WEB_NATIVES
        .iter()
        .find(|(name, _)| *name == "loadDom")
        .map(|&(_, callback)| callback)?;
    let load = natives::function(scope, "loadDom", load, None)?;
    let install = natives::run_internal(scope, DOM_LAZY_SOURCE, "v8rs:web/dom_lazy.js")?;
    let install = v8::Local::<v8::Function>::try_from(install).ok()?;
    let global = scope.get_current_context().global(scope);
    let key = brand_class_key(scope)?;
    let brand_class = global.get_private(scope, key)?;
    let receiver = v8::undefined(scope).into();
    install.call(scope, receiver, &[load.into(), brand_class])?;
    Some(())
}

/// `loadDom()`: runs the bundled linkedom (`dom.js`); returns its `domGlobals`.
fn load_dom<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    _args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    if let Some(make) = natives::run_internal(scope, DOM_SOURCE, "v8rs:web/dom.js") {
        rv.set(make);
    }
}
