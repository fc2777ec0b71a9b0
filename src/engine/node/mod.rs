//! Node's basics, opt-in per context: `process` (its `env` only what the embedder
//! gives), `Buffer` (the npm `buffer` package, loaded on first use), `global`,
//! `setImmediate`/`clearImmediate`, `process.nextTick` (run before the microtasks, as
//! in Node: see [`crate::engine::realm::Realm::run_microtasks`]), and `require` for
//! CommonJS — and ES modules through `run_module` — from one folder the embedder names.
//!
//! Resolution is Node's (`resolve.rs`, pure logic); every file it looks at or reads is
//! inside that folder once symbolic links are followed (`fs.rs`): a request that leads
//! out (`../`, an absolute path, a symbolic link) is refused. Nothing else of the file
//! system, the network or the process is reachable. The natives find the folder in
//! their context's realm (they carry nothing per context), and `node.js` builds the
//! globals on them.

mod fs;
pub(crate) mod resolve;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::LazyLock;
use std::time::Instant;

use crate::engine::error::{Code, Error};
use crate::engine::natives::{self, native};
use crate::engine::realm::{Realm, TICKS_KEY};
use resolve::{Failure, Resolver, System};

/// What a context's Node group starts with.
#[derive(Clone, Debug, Default)]
pub struct NodeOptions {
    /// The project folder `require` resolves from and may read under (`None`: no
    /// files; built-in modules only).
    pub modules: Option<PathBuf>,
    /// `process.env`, in order.
    pub env: Vec<(String, String)>,
}

/// The script of the Node globals and `require` (run when the group is enabled).
const NODE_SOURCE: &str = include_str!("node.js");
/// The npm packages behind `buffer`, `events` and `path`, bundled by
/// `tests/fixtures/build/node.mjs`.
const BUILTIN_SOURCES: [(&str, &str); 3] = [
    ("buffer", include_str!("buffer.js")),
    ("events", include_str!("events.js")),
    ("path", include_str!("path.js")),
];

/// The version of Node whose API the group follows (`process.version`).
const NODE_VERSION: &str = "v20.19.0";

/// Node 20's built-in module names (`require('module').builtinModules`): those v8rs
/// does not have throw a clear error instead of being looked for on disk.
const NODE_BUILTINS: [&str; 68] = [
    "_http_agent",
    "_http_client",
    "_http_common",
    "_http_incoming",
    "_http_outgoing",
    "_http_server",
    "_stream_duplex",
    "_stream_passthrough",
    "_stream_readable",
    "_stream_transform",
    "_stream_wrap",
    "_stream_writable",
    "_tls_common",
    "_tls_wrap",
    "assert",
    "assert/strict",
    "async_hooks",
    "buffer",
    "child_process",
    "cluster",
    "console",
    "constants",
    "crypto",
    "dgram",
    "diagnostics_channel",
    "dns",
    "dns/promises",
    "domain",
    "events",
    "fs",
    "fs/promises",
    "http",
    "http2",
    "https",
    "inspector",
    "inspector/promises",
    "module",
    "net",
    "os",
    "path",
    "path/posix",
    "path/win32",
    "perf_hooks",
    "process",
    "punycode",
    "querystring",
    "readline",
    "readline/promises",
    "repl",
    "stream",
    "stream/consumers",
    "stream/promises",
    "stream/web",
    "string_decoder",
    "sys",
    "timers",
    "timers/promises",
    "tls",
    "trace_events",
    "tty",
    "url",
    "util",
    "util/types",
    "v8",
    "vm",
    "wasi",
    "worker_threads",
    "zlib",
];

/// The named exports an ES module gets from each built-in module (besides `default`).
const BUILTIN_EXPORTS: [(&str, &str); 9] = [
    ("buffer", "Buffer, SlowBuffer, kMaxLength, INSPECT_MAX_BYTES, constants"),
    ("events", "EventEmitter, once, on, defaultMaxListeners"),
    ("util", "inspect, format, formatWithOptions, promisify, callbackify, inherits, deprecate, types, TextEncoder, TextDecoder"),
    ("path", "join, resolve, dirname, basename, extname, relative, normalize, isAbsolute, sep, delimiter, parse, format, posix"),
    ("process", "env, nextTick, version, versions, platform, arch, argv, cwd, hrtime, exit, emitWarning"),
    ("timers", "setTimeout, clearTimeout, setInterval, clearInterval, setImmediate, clearImmediate"),
    ("url", "URL, URLSearchParams"),
    ("string_decoder", "StringDecoder"),
    ("module", "createRequire, builtinModules, isBuiltin"),
];

/// The natives `node.js` builds on, made once: a snapshot refers to each callback by
/// its place in [`crate::engine::startup`]'s list, so each must be one function.
pub(crate) static NODE_NATIVES: LazyLock<[(&str, v8::FunctionCallback); 12]> =
    LazyLock::new(|| {
        [
            ("tick", native!(tick)),
            ("immediate", native!(immediate)),
            ("clearTask", native!(clear_task)),
            ("root", native!(root)),
            ("resolve", native!(resolve_native)),
            ("paths", native!(paths)),
            ("read", native!(read)),
            ("compile", native!(compile)),
            ("isModule", native!(is_module)),
            ("requireModule", native!(require_module)),
            ("builtin", native!(builtin)),
            ("hrtime", native!(hrtime)),
        ]
    });

/// The canonical form of a modules folder, checked to be a directory.
pub(crate) fn canonical_root(path: &Path) -> Result<PathBuf, Error> {
    let root = std::fs::canonicalize(path).map_err(|e| {
        Error::invalid_argument(format!("the modules folder {}: {e}", path.display()))
    })?;
    if !root.is_dir() {
        return Err(Error::invalid_argument(format!(
            "the modules folder {} is not a directory",
            path.display()
        )));
    }
    Ok(root)
}

/// Gives the current context (whose realm is `realm`) the Node group; fails with
/// `InvalidState` when it has it already.
pub(crate) fn install(
    scope: &mut v8::PinScope<'_, '_>,
    realm: &Realm,
    options: NodeOptions,
) -> Result<(), Error> {
    let root = options.modules.as_deref().map(canonical_root).transpose()?;
    if realm.node.enabled.swap(true, Ordering::AcqRel) {
        return Err(Error::invalid_state(
            "the context has the Node group already",
        ));
    }
    *realm.node.root.write() = root;
    *realm.node.env.lock() = options.env.clone();
    v8::tc_scope!(let tc, scope);
    let installed = run_install(tc, &options.env);
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
                format!("cannot install the Node group: {detail}"),
            ))
        }
    }
}

/// Sets (or with `None`, removes) the folder `require` reads under.
pub(crate) fn set_root(realm: &Realm, modules: Option<&Path>) -> Result<(), Error> {
    if !realm.node.enabled.load(Ordering::Acquire) {
        return Err(Error::invalid_state(
            "the context has no Node group (create it with node enabled)",
        ));
    }
    let root = modules.map(canonical_root).transpose()?;
    *realm.node.root.write() = root;
    Ok(())
}

fn run_install(scope: &mut v8::PinScope<'_, '_>, env: &[(String, String)]) -> Option<()> {
    let native = v8::Object::new(scope);
    for &(name, callback) in NODE_NATIVES.iter() {
        let function = natives::function(scope, name, callback, None)?;
        let key = v8::String::new(scope, name)?;
        native.set(scope, key.into(), function.into())?;
    }
    let info = v8::Object::new(scope);
    let pairs: Vec<v8::Local<v8::Value>> = env
        .iter()
        .map(|(key, value)| {
            let key = v8::String::new(scope, key)?.into();
            let value = v8::String::new(scope, value)?.into();
            Some(v8::Array::new_with_elements(scope, &[key, value]).into())
        })
        .collect::<Option<_>>()?;
    let env = v8::Array::new_with_elements(scope, &pairs);
    set(scope, info, "env", env.into())?;
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        "x86" => "ia32",
        other => other,
    };
    for (key, value) in [
        ("version", NODE_VERSION),
        ("v8", crate::engine::platform::v8_version()),
        ("v8rs", env!("CARGO_PKG_VERSION")),
        ("platform", std::env::consts::OS),
        ("arch", arch),
    ] {
        let value = v8::String::new(scope, value)?;
        set(scope, info, key, value.into())?;
    }
    let builtins: Vec<v8::Local<v8::Value>> = NODE_BUILTINS
        .iter()
        .map(|name| v8::String::new(scope, name).map(Into::into))
        .collect::<Option<_>>()?;
    let builtins = v8::Array::new_with_elements(scope, &builtins);
    set(scope, info, "builtins", builtins.into())?;
    let make = natives::run_internal(scope, NODE_SOURCE, "v8rs:node/node.js")?;
    let make = v8::Local::<v8::Function>::try_from(make).ok()?;
    let receiver = v8::undefined(scope).into();
    let runner = make.call(scope, receiver, &[native.into(), info.into()])?;
    let global = scope.get_current_context().global(scope);
    let name = v8::String::new(scope, TICKS_KEY)?;
    let key = v8::Private::for_api(scope, Some(name));
    global.set_private(scope, key, runner)?;
    Some(())
}

fn set(
    scope: &mut v8::PinScope<'_, '_>,
    object: v8::Local<'_, v8::Object>,
    key: &str,
    value: v8::Local<'_, v8::Value>,
) -> Option<()> {
    let key = v8::String::new(scope, key)?;
    object.set(scope, key.into(), value)?;
    Some(())
}

/// The realm's modules folder; throws `MODULE_NOT_FOUND`-like errors when there is
/// none.
fn root_of(scope: &mut v8::PinScope<'_, '_>, realm: &Realm) -> Option<PathBuf> {
    let root = realm.node.root.read().clone();
    if root.is_none() {
        natives::throw_error(
            scope,
            "this context has no modules folder: give it one (node={\"modules\": path} in \
             Python, v8rs_context_set_node_modules in C)",
        );
    }
    root
}

/// A string argument.
fn string_arg(
    scope: &mut v8::PinScope<'_, '_>,
    args: &v8::FunctionCallbackArguments<'_>,
    index: i32,
) -> Option<String> {
    let value = args.get(index);
    if !value.is_string() {
        natives::throw_type_error(scope, "expected a string");
        return None;
    }
    Some(value.to_rust_string_lossy(scope))
}

/// `tick()`: `process.nextTick` queued a callback.
fn tick<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    _rv: v8::ReturnValue<v8::Value>,
) {
    if let Some((realm, _)) = natives::realm(scope, &args) {
        realm.node.ticks_pending.store(true, Ordering::Release);
    }
}

/// `immediate(callback, ...args)`: queues a task after what is due now; its id.
fn immediate<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some((realm, _)) = natives::realm(scope, &args) else {
        return;
    };
    let Ok(callback) = v8::Local::<v8::Function>::try_from(args.get(0)) else {
        return natives::throw_type_error(scope, "setImmediate: the callback is not a function");
    };
    let extra = (1..args.length())
        .map(|i| v8::Global::new(scope, args.get(i)))
        .collect();
    let callback = v8::Global::new(scope, callback);
    rv.set_uint32(realm.timers.add(callback, extra, 0.0, false));
}

/// `clearTask(id)`: cancels a task of `immediate`.
fn clear_task<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    _rv: v8::ReturnValue<v8::Value>,
) {
    let Some((realm, _)) = natives::realm(scope, &args) else {
        return;
    };
    if let Some(id) = args.get(0).uint32_value(scope) {
        realm.timers.clear(id);
    }
}

/// `root()`: the modules folder, or `undefined`.
fn root<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some((realm, _)) = natives::realm(scope, &args) else {
        return;
    };
    let root = realm.node.root.read().clone();
    if let Some(text) = root.and_then(|r| v8::String::new(scope, &r.to_string_lossy())) {
        rv.set(text.into());
    }
}

/// Resolves `request` from the folder `from` under `root`: the real path of the file.
pub(crate) fn resolve_path(
    root: &Path,
    request: &str,
    from: &Path,
    system: System,
) -> Result<PathBuf, Failure> {
    let files = fs::Confined { root };
    let resolver = Resolver {
        root,
        files: &files,
    };
    let found = resolver.resolve(request, from, system)?;
    files
        .real(&found)
        .map_err(|_| Failure::Outside { path: found })
}

/// The `code`, Node's message and the folders searched, for a failed resolution.
fn failure_text(
    request: &str,
    failure: &Failure,
    root: &Path,
) -> (&'static str, String, Vec<String>) {
    let shown = |p: &Path| p.to_string_lossy().into_owned();
    match failure {
        Failure::NotFound { searched } => (
            "MODULE_NOT_FOUND",
            format!("Cannot find module '{request}'"),
            searched.iter().map(|p| shown(p)).collect(),
        ),
        Failure::BadMain { main, package_json } => (
            "MODULE_NOT_FOUND",
            format!(
                "Cannot find module '{}'. Please verify that the package.json has a valid \
                 \"main\" entry (in {})",
                shown(main),
                shown(package_json)
            ),
            Vec::new(),
        ),
        Failure::NotExported {
            subpath,
            package_json,
        } if subpath == "." => (
            "ERR_PACKAGE_PATH_NOT_EXPORTED",
            format!("No \"exports\" main defined in {}", shown(package_json)),
            Vec::new(),
        ),
        Failure::NotExported {
            subpath,
            package_json,
        } => (
            "ERR_PACKAGE_PATH_NOT_EXPORTED",
            format!(
                "Package subpath '{subpath}' is not defined by \"exports\" in {}",
                shown(package_json)
            ),
            Vec::new(),
        ),
        Failure::ExportMissing { path } => (
            "MODULE_NOT_FOUND",
            format!("Cannot find module '{}'", shown(path)),
            Vec::new(),
        ),
        Failure::Outside { path } => (
            "ERR_V8RS_OUTSIDE_ROOT",
            format!(
                "Cannot load '{request}': {} is outside the modules folder {} (v8rs reads \
                 only under it; symbolic links are followed, then checked)",
                shown(path),
                shown(root)
            ),
            Vec::new(),
        ),
        Failure::InvalidSubpath {
            subpath,
            pattern,
            package_json,
        } => (
            "ERR_INVALID_MODULE_SPECIFIER",
            format!(
                "Invalid module \"{request}\" request is not a valid match in pattern \
                 \"{pattern}\" for the \"exports\" resolution of {} (subpath '{subpath}')",
                shown(package_json)
            ),
            Vec::new(),
        ),
        Failure::InvalidTarget {
            target,
            package_json,
        } => (
            "ERR_INVALID_PACKAGE_TARGET",
            format!(
                "Invalid \"exports\" target \"{target}\" defined in the package config {} \
                 (a target stays inside its package, with no '.', '..' or node_modules \
                 segment after its './')",
                shown(package_json)
            ),
            Vec::new(),
        ),
        Failure::BadPackageJson { path, message } => (
            "ERR_INVALID_PACKAGE_CONFIG",
            format!("Invalid package config {}: {message}", shown(path)),
            Vec::new(),
        ),
    }
}

/// `resolve(request, fromDir, esm)`: the file's real path, or `[code, message,
/// searched]`.
fn resolve_native<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some((realm, _)) = natives::realm(scope, &args) else {
        return;
    };
    let (Some(request), Some(from)) = (string_arg(scope, &args, 0), string_arg(scope, &args, 1))
    else {
        return;
    };
    let system = if args.get(2).is_true() {
        System::Import
    } else {
        System::Require
    };
    let Some(root) = root_of(scope, &realm) else {
        return;
    };
    let from = if from.is_empty() {
        root.clone()
    } else {
        // A folder given through a link to the modules folder (`require.resolve`'s
        // `paths`) is the folder it leads to: the root is kept as its real path.
        let given = PathBuf::from(from);
        match std::fs::canonicalize(&given) {
            Ok(real) if !given.starts_with(&root) && real.starts_with(&root) => real,
            _ => given,
        }
    };
    match resolve_path(&root, &request, &from, system) {
        Ok(path) => {
            if let Some(text) = v8::String::new(scope, &path.to_string_lossy()) {
                rv.set(text.into());
            }
        }
        Err(failure) => {
            let (code, message, searched) = failure_text(&request, &failure, &root);
            let strings: Option<Vec<v8::Local<v8::Value>>> = searched
                .iter()
                .map(|s| v8::String::new(scope, s).map(Into::into))
                .collect();
            let (Some(code), Some(message), Some(strings)) = (
                v8::String::new(scope, code),
                v8::String::new(scope, &message),
                strings,
            ) else {
                return;
            };
            let searched = v8::Array::new_with_elements(scope, &strings);
            let parts = [code.into(), message.into(), searched.into()];
            rv.set(v8::Array::new_with_elements(scope, &parts).into());
        }
    }
}

/// `paths(fromDir)`: the `node_modules` folders searched from there.
fn paths<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some((realm, _)) = natives::realm(scope, &args) else {
        return;
    };
    let Some(from) = string_arg(scope, &args, 0) else {
        return;
    };
    let Some(root) = root_of(scope, &realm) else {
        return;
    };
    let files = fs::Confined { root: &root };
    let resolver = Resolver {
        root: &root,
        files: &files,
    };
    let dirs: Option<Vec<v8::Local<v8::Value>>> = resolver
        .node_modules_paths(Path::new(&from))
        .iter()
        .map(|p| v8::String::new(scope, &p.to_string_lossy()).map(Into::into))
        .collect();
    if let Some(dirs) = dirs {
        rv.set(v8::Array::new_with_elements(scope, &dirs).into());
    }
}

/// The text of `path` if it is a file inside `root` (symbolic links followed).
pub(crate) fn read_confined(root: &Path, path: &Path) -> Result<String, String> {
    let files = fs::Confined { root };
    files
        .read_file(path)
        .map(fs::text_of)
        .map_err(|why| match why {
            fs::Unread::Outside => format!(
                "{} is outside the modules folder {}",
                path.display(),
                root.display()
            ),
            fs::Unread::Missing => format!("{} does not exist (as a file)", path.display()),
            fs::Unread::Io(e) => format!("cannot read {}: {e}", path.display()),
        })
}

/// `read(path)`: the text of a file under the modules folder.
fn read<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some((realm, _)) = natives::realm(scope, &args) else {
        return;
    };
    let Some(path) = string_arg(scope, &args, 0) else {
        return;
    };
    let Some(root) = root_of(scope, &realm) else {
        return;
    };
    match read_confined(&root, Path::new(&path)) {
        Ok(text) => match v8::String::new(scope, &text) {
            Some(text) => rv.set(text.into()),
            None => natives::throw_range_error(scope, "the file is too large for a string"),
        },
        Err(message) => natives::throw_error(scope, &message),
    }
}

/// `compile(source, filename)`: the CommonJS wrapper function of `source`, compiled
/// under the name `filename` (a `#!` line is blanked, keeping the line numbers).
fn compile<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let (Some(source), Some(filename)) = (string_arg(scope, &args, 0), string_arg(scope, &args, 1))
    else {
        return;
    };
    let body = match source.strip_prefix("#!") {
        Some(rest) => format!("//{rest}"),
        None => source,
    };
    // The file's text is the body of a function with Node's five parameters, compiled
    // as such (as Node does): text that closes a wrapper early is a syntax error, and
    // columns on the first line are the file's own.
    let Some(code) = v8::String::new(scope, &body) else {
        return natives::throw_range_error(scope, "the module is too large for a string");
    };
    let Ok(origin) = crate::engine::script::origin(scope, &filename, false) else {
        return natives::throw_error(scope, "the module name is too long");
    };
    let mut parameters = Vec::with_capacity(5);
    for name in ["exports", "require", "module", "__filename", "__dirname"] {
        let Some(name) = v8::String::new(scope, name) else {
            return;
        };
        parameters.push(name);
    }
    let mut source = v8::script_compiler::Source::new(code, Some(&origin));
    // A syntax error (or a stop) is left to propagate.
    if let Some(function) = v8::script_compiler::compile_function(
        scope,
        &mut source,
        &parameters,
        &[],
        v8::script_compiler::CompileOptions::NoCompileOptions,
        v8::script_compiler::NoCacheReason::NoReason,
    ) {
        rv.set(function.into());
    }
}

/// `isModule(path)`: whether a `.js` file is an ES module (`"type": "module"` in the
/// nearest `package.json`).
fn is_module<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some((realm, _)) = natives::realm(scope, &args) else {
        return;
    };
    let Some(path) = string_arg(scope, &args, 0) else {
        return;
    };
    let Some(root) = root_of(scope, &realm) else {
        return;
    };
    rv.set_bool(is_esm(&root, Path::new(&path)));
}

/// Whether the file `path` (under `root`) is an ES module.
fn is_esm(root: &Path, path: &Path) -> bool {
    let extension = path.extension().and_then(|e| e.to_str());
    match extension {
        Some("mjs") => true,
        Some("js") => {
            let files = fs::Confined { root };
            Resolver {
                root,
                files: &files,
            }
            .is_module_type(path)
        }
        _ => false,
    }
}

/// The ES module resolver of a context whose modules folder is `root`: bare and
/// relative specifiers by Node's rules (`import`/`node`/`default` conditions); a
/// CommonJS file, a JSON file or a built-in module comes as a module whose default
/// export is what `require` gives.
pub(crate) fn esm_resolver(
    root: PathBuf,
) -> impl FnMut(&str, &str) -> Result<(String, String), crate::engine::host::HostError> {
    move |specifier: &str, referrer: &str| {
        let name = specifier.strip_prefix("node:").unwrap_or(specifier);
        if NODE_BUILTINS.contains(&name) {
            let exports = BUILTIN_EXPORTS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, e)| *e);
            let mut source = format!(
                "const m = globalThis[Symbol.for('v8rs.node.require')]({});\nexport default m;\n",
                json_string(name)
            );
            if let Some(exports) = exports {
                source.push_str(&format!("export const {{ {exports} }} = m;\n"));
            }
            return Ok((format!("node:{name}"), source));
        }
        let referrer = Path::new(referrer);
        let from = match referrer.parent() {
            Some(dir) if referrer.is_absolute() && referrer.starts_with(&root) => dir.to_path_buf(),
            _ => root.clone(),
        };
        let specifier = esm_file_specifier(specifier)?;
        let specifier = specifier.as_ref();
        let path = resolve_path(&root, specifier, &from, System::Import).map_err(|failure| {
            let (code, message, searched) = failure_text(specifier, &failure, &root);
            let mut text = format!("{message} ({code})");
            if !searched.is_empty() {
                text.push_str(&format!("; looked in: {}", searched.join(", ")));
            }
            text
        })?;
        let shown = path.to_string_lossy().into_owned();
        if is_esm(&root, &path) {
            return Ok((shown, read_confined(&root, &path)?));
        }
        let source = format!(
            "export default globalThis[Symbol.for('v8rs.node.require')]({});\n",
            json_string(&shown)
        );
        Ok((shown, source))
    }
}

/// An ES module specifier naming a file as the path to look for: `import` takes URLs,
/// so a `file:` URL is its path, and a relative or absolute one (`./a%20b.mjs?v=1`) is
/// percent-decoded, its `?query` and `#fragment` dropped (one module per file here;
/// Node makes one per URL). An encoded `/` or `\` or a NUL is refused, as Node does.
/// Bare specifiers (packages) are left as they are.
fn esm_file_specifier(specifier: &str) -> Result<std::borrow::Cow<'_, str>, String> {
    use std::borrow::Cow;
    let is_file_url = specifier
        .get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("file:"));
    if is_file_url {
        let url =
            url::Url::parse(specifier).map_err(|e| format!("Invalid URL {specifier}: {e}"))?;
        if url
            .host_str()
            .is_some_and(|host| !host.is_empty() && host != "localhost")
        {
            return Err(format!(
                "File URL host must be \"localhost\" or empty on linux: {specifier} \
                 (ERR_INVALID_FILE_URL_HOST)"
            ));
        }
        refuse_encoded_separators(specifier, url.path())?;
        let path = url
            .to_file_path()
            .map_err(|()| format!("File URL path must be absolute: {specifier}"))?;
        return Ok(Cow::Owned(path.to_string_lossy().into_owned()));
    }
    let relative = specifier.starts_with("./")
        || specifier.starts_with("../")
        || specifier.starts_with('/')
        || specifier == "."
        || specifier == "..";
    if !relative {
        return Ok(Cow::Borrowed(specifier));
    }
    let end = specifier.find(['?', '#']).unwrap_or(specifier.len());
    let path = &specifier[..end];
    refuse_encoded_separators(specifier, path)?;
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| format!("Invalid module specifier {specifier}: not UTF-8 once decoded"))?;
    Ok(Cow::Owned(decoded.into_owned()))
}

/// Node's refusal of a URL path with an encoded `/`, `\` or NUL.
fn refuse_encoded_separators(specifier: &str, path: &str) -> Result<(), String> {
    let lower = path.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") || lower.contains("%00") {
        return Err(format!(
            "Invalid module specifier {specifier}: must not include encoded \"/\", \"\\\" or NUL \
             characters (ERR_INVALID_MODULE_SPECIFIER)"
        ));
    }
    Ok(())
}

/// `text` as a JavaScript string literal.
fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// `requireModule(path)`: loads the ES module `path` (and what it imports) now, and
/// returns its namespace (`require(esm)`, as Node 20.19). A module with top-level
/// `await` that does not settle at once is `ERR_REQUIRE_ASYNC_MODULE`.
fn require_module<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some((realm, _)) = natives::realm(scope, &args) else {
        return;
    };
    let Some(path) = string_arg(scope, &args, 0) else {
        return;
    };
    let Some(root) = root_of(scope, &realm) else {
        return;
    };
    // One instance per file for the context: imported already, it is that module.
    let known = realm.node.modules.lock().get(&path).cloned();
    let module = match known {
        Some(module) => {
            let module = v8::Local::new(scope, module);
            if matches!(
                module.get_status(),
                v8::ModuleStatus::Instantiating | v8::ModuleStatus::Evaluating
            ) {
                return throw_coded(
                    scope,
                    "ERR_REQUIRE_CYCLE_MODULE",
                    &format!("Cannot require() ES Module {path} in a cycle"),
                );
            }
            module
        }
        None => {
            let source = match read_confined(&root, Path::new(&path)) {
                Ok(source) => source,
                Err(message) => return natives::throw_error(scope, &message),
            };
            let module = match crate::engine::modules::compile(scope, &source, &path, false) {
                Ok(Some(module)) => module,
                Ok(None) => return, // the SyntaxError propagates
                Err(e) => return natives::throw_error(scope, &e.message().to_string()),
            };
            realm
                .node
                .modules
                .lock()
                .insert(path.clone(), v8::Global::new(scope, module));
            module
        }
    };
    let mut resolver = esm_resolver(root);
    let shared = Some(&realm.node.modules);
    match crate::engine::modules::link(scope, module, &path, &mut resolver, false, shared) {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => return natives::throw_error(scope, &e.message().to_string()),
    }
    let Some(evaluation) = module.evaluate(scope) else {
        return;
    };
    if let Ok(promise) = v8::Local::<v8::Promise>::try_from(evaluation) {
        match promise.state() {
            v8::PromiseState::Fulfilled => {}
            v8::PromiseState::Rejected => {
                let reason = promise.result(scope);
                scope.throw_exception(reason);
                return;
            }
            v8::PromiseState::Pending => {
                return throw_coded(
                    scope,
                    "ERR_REQUIRE_ASYNC_MODULE",
                    &format!(
                        "require() cannot load {path}: it uses top-level await \
                         (ERR_REQUIRE_ASYNC_MODULE); import it with run_module"
                    ),
                );
            }
        }
    }
    rv.set(module.get_module_namespace());
}

/// Throws an `Error` with `message` and Node's `code`.
fn throw_coded(scope: &mut v8::PinScope<'_, '_>, code: &str, message: &str) {
    let (Some(message), Some(key), Some(code)) = (
        v8::String::new(scope, message),
        v8::String::new(scope, "code"),
        v8::String::new(scope, code),
    ) else {
        return;
    };
    let error = v8::Exception::error(scope, message);
    if let Ok(object) = v8::Local::<v8::Object>::try_from(error) {
        object.set(scope, key.into(), code.into());
    }
    scope.throw_exception(error);
}

/// `builtin(name)`: runs the bundled package behind a built-in module; its exports.
fn builtin<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some(name) = string_arg(scope, &args, 0) else {
        return;
    };
    let Some((_, source)) = BUILTIN_SOURCES.iter().find(|(n, _)| *n == name) else {
        return natives::throw_error(scope, &format!("no bundled module '{name}'"));
    };
    let script = format!("v8rs:node/{name}.js");
    if let Some(exports) = natives::run_internal(scope, source, &script) {
        rv.set(exports);
    }
}

/// When the process's `hrtime` counts from.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

/// `hrtime()`: nanoseconds of a monotonic clock, as a BigInt.
fn hrtime<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    _args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    // Offset by a day so that a fresh process does not start at 0 (as in Node).
    let nanos = EPOCH.elapsed().as_nanos() as u64 + 86_400_000_000_000;
    rv.set(v8::BigInt::new_from_u64(scope, nanos).into());
}
