//! Compiling and running scripts: origins, V8 strings from Rust ones, a per-context
//! cache of small compiled scripts, V8's code cache for libraries, and the lookup of
//! the function a call names.

use std::collections::HashMap;

use crate::engine::code_cache;
use crate::engine::error::{Code, Error};

/// `bytes` as UTF-8, or an `InvalidArgument` error naming `what`.
pub(crate) fn utf8<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str, Error> {
    std::str::from_utf8(bytes).map_err(|e| {
        Error::invalid_argument(format!(
            "{what} is not valid UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })
}

/// The script name and UTF-8 source of the library file at `path`.
pub(crate) fn read_lib(path: &[u8]) -> Result<(String, String), Error> {
    use std::os::unix::ffi::OsStrExt;
    let os_path = std::path::Path::new(std::ffi::OsStr::from_bytes(path));
    let bytes = std::fs::read(os_path).map_err(|e| Error::io(path, &e))?;
    let name = String::from_utf8_lossy(path).into_owned();
    let source = String::from_utf8(bytes).map_err(|e| {
        Error::invalid_argument(format!(
            "{name}: the file is not valid UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
        .with_path(path)
    })?;
    Ok((name, source))
}

/// A V8 string of `s`, or `OutOfMemory` when it is longer than V8 allows.
pub(crate) fn new_string<'s>(
    scope: &v8::PinScope<'s, '_>,
    s: &str,
) -> Result<v8::Local<'s, v8::String>, Error> {
    if s.len() > v8::String::MAX_LENGTH {
        return Err(Error::new(
            Code::OutOfMemory,
            format!(
                "a string of {} bytes is more than V8's string limit of {} bytes",
                s.len(),
                v8::String::MAX_LENGTH
            ),
        ));
    }
    v8::String::new_from_utf8(scope, s.as_bytes(), v8::NewStringType::Normal).ok_or_else(|| {
        Error::new(
            Code::OutOfMemory,
            format!("cannot make a V8 string of {} bytes", s.len()),
        )
    })
}

/// The origin of a script (or, with `is_module`, a module) named `name`.
pub(crate) fn origin<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    name: &str,
    is_module: bool,
) -> Result<v8::ScriptOrigin<'s>, Error> {
    let resource_name = new_string(scope, name)?;
    Ok(v8::ScriptOrigin::new(
        scope,
        resource_name.into(),
        0,
        0,
        false,
        0,
        None,
        false,
        false,
        is_module,
        None,
    ))
}

/// Compiles `source` under the script name `name`; `Ok(None)` when it does not compile
/// (the exception waits in the scope's TryCatch).
pub(crate) fn compile<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    source: &str,
    name: &str,
) -> Result<Option<v8::Local<'s, v8::Script>>, Error> {
    let code = new_string(scope, source)?;
    let origin = origin(scope, name, false)?;
    Ok(v8::Script::compile(scope, code, Some(&origin)))
}

/// Compiles `source` under the script name `name` and runs it; `Ok(None)` when
/// JavaScript threw (the exception waits in the scope's TryCatch). With
/// `source_maps`, the script's source map is registered first.
pub(crate) fn compile_and_run<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    source: &str,
    name: &str,
    source_maps: bool,
) -> Result<Option<v8::Local<'s, v8::Value>>, Error> {
    let Some(script) = compile(scope, source, name)? else {
        return Ok(None);
    };
    if source_maps {
        let unbound = script.get_unbound_script(scope);
        let url = unbound.get_source_mapping_url(scope);
        register_source_map(scope, unbound.script_id(), url, name, source);
    }
    Ok(script.run(scope))
}

/// Registers the script `script_id` (named `name`, from `source`) with its VM's source
/// maps when V8 found a `sourceMappingURL` in it (`url`).
pub(crate) fn register_source_map(
    scope: &mut v8::PinScope<'_, '_>,
    script_id: i32,
    url: v8::Local<'_, v8::Value>,
    name: &str,
    source: &str,
) {
    let Ok(url) = v8::Local::<v8::String>::try_from(url) else {
        return;
    };
    if url.length() == 0 {
        return;
    }
    // A long URL (an inline map) is read from V8 when an error needs it.
    let kept = if url.length() <= crate::engine::source_map::MAX_KEPT_URL {
        url.to_rust_string_lossy(scope)
    } else {
        String::new()
    };
    let Some(vm) = crate::engine::vm::VmShared::of(scope) else {
        return;
    };
    vm.source_maps.register(script_id, name, source, &kept);
    // From now on errors keep their frames as V8 sees them, with the script of each
    // (by id: the map of a frame is the map of its very script). It costs every
    // `new Error`, so only a VM with mapped scripts pays; others read the stack text.
    scope.set_capture_stack_trace_for_uncaught_exceptions(true, crate::engine::vm::STACK_FRAMES);
}

/// Compiled small scripts of one context by name and source, so that a script run again
/// and again (the "render this" loop) skips making its source string and compiling it.
///
/// A script that may declare top-level `let`, `const`, `class` or `using` is kept
/// *unbound* and bound again for each run: V8 does not allow a bound script to run
/// twice once its first run declared a top-level lexical binding (a `CHECK` failure,
/// which ends the process). Any other script is kept bound, which saves the binding.
#[derive(Default)]
pub(crate) struct ScriptCache(parking_lot::Mutex<Scripts>);

/// Cached scripts by name, then by source (looked up without copying either).
type Scripts = HashMap<Box<str>, HashMap<Box<str>, Cached>>;

/// A cached script (see [`ScriptCache`]).
enum Cached {
    Bound(v8::Global<v8::Script>),
    Unbound(v8::Global<v8::UnboundScript>),
}

/// Whether `source` may declare a top-level lexical binding: it has one of the words
/// anywhere (a false positive only costs the binding per run).
fn may_declare_lexically(source: &str) -> bool {
    ["let", "const", "class", "using"]
        .iter()
        .any(|word| source.contains(word))
}

impl ScriptCache {
    /// Scripts longer than this are not kept (V8's own cache still helps them).
    const MAX_SOURCE: usize = 1024;
    /// When full, the cache starts over.
    const MAX_ENTRIES: usize = 256;

    /// [`compile_and_run`], through the cache for small scripts.
    pub(crate) fn run<'s>(
        &self,
        scope: &mut v8::PinScope<'s, '_>,
        source: &str,
        name: &str,
        source_maps: bool,
    ) -> Result<Option<v8::Local<'s, v8::Value>>, Error> {
        if source_maps || source.len() > Self::MAX_SOURCE {
            return compile_and_run(scope, source, name, source_maps);
        }
        let known = {
            let scripts = self.0.lock();
            match scripts
                .get(name)
                .and_then(|by_source| by_source.get(source))
            {
                Some(Cached::Bound(script)) => Some(v8::Local::new(scope, script)),
                Some(Cached::Unbound(unbound)) => {
                    let unbound = v8::Local::new(scope, unbound);
                    drop(scripts);
                    Some(unbound.bind_to_current_context(scope))
                }
                None => None,
            }
        };
        let script = match known {
            Some(script) => script,
            None => {
                let Some(script) = compile(scope, source, name)? else {
                    return Ok(None);
                };
                let cached = if may_declare_lexically(source) {
                    Cached::Unbound(v8::Global::new(scope, script.get_unbound_script(scope)))
                } else {
                    Cached::Bound(v8::Global::new(scope, script))
                };
                let mut scripts = self.0.lock();
                if scripts.values().map(HashMap::len).sum::<usize>() >= Self::MAX_ENTRIES {
                    scripts.clear();
                }
                scripts
                    .entry(name.into())
                    .or_default()
                    .insert(source.into(), cached);
                script
            }
        };
        Ok(script.run(scope))
    }

    /// The receiver and value of the function expression `expr`: for a dotted name
    /// (`a.b.c`) the receiver is `a.b`, otherwise `undefined`. `Ok(None)`: it threw.
    #[allow(clippy::type_complexity)]
    pub(crate) fn function<'s>(
        &self,
        scope: &mut v8::PinScope<'s, '_>,
        expr: &str,
    ) -> Result<Option<(v8::Local<'s, v8::Value>, v8::Local<'s, v8::Value>)>, Error> {
        let method = member_chain(expr);
        if let Some((object, member)) = method {
            let Some(receiver) = self.run(scope, object, "<call>", false)? else {
                return Ok(None);
            };
            let key = new_string(scope, &member)?;
            let target = receiver
                .to_object(scope)
                .and_then(|object| object.get(scope, key.into()));
            return Ok(target.map(|target| (receiver, target)));
        }
        let target = self.run(scope, expr, "<call>", false)?;
        Ok(target.map(|target| (v8::undefined(scope).into(), target)))
    }
}

/// A member chain — an ASCII name, then `.name` or `["name"]` (a JSON string: any name)
/// steps: `lib.render`, `lib["to-html"]`, `a.b["c d"].e` — as `(object, last member)`,
/// so that the last is called as a method of the object; `None` for any other
/// expression (called as it is).
fn member_chain(expr: &str) -> Option<(&str, String)> {
    let name_end = |text: &str| {
        let mut chars = text.char_indices();
        let (_, first) = chars.next()?;
        if !(first.is_ascii_alphabetic() || first == '_' || first == '$') {
            return None;
        }
        let end = chars
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '$'))
            .map_or(text.len(), |(i, _)| i);
        Some(end)
    };
    let mut at = name_end(expr)?;
    let mut last = None;
    while at < expr.len() {
        let rest = &expr[at..];
        if let Some(after) = rest.strip_prefix('.') {
            let end = name_end(after)?;
            last = Some((at, after[..end].to_string()));
            at += 1 + end;
        } else if let Some(after) = rest.strip_prefix("[\"") {
            // The JSON string up to its closing quote, then `]`.
            let mut escaped = false;
            let close = after.char_indices().find(|&(_, c)| {
                let closes = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                closes
            })?;
            let literal = &rest[1..2 + close.0 + 1];
            if !after[close.0 + 1..].starts_with(']') {
                return None;
            }
            let member = serde_json::from_str::<String>(literal).ok()?;
            last = Some((at, member));
            at += 1 + literal.len() + 1;
        } else {
            return None;
        }
    }
    let (start, member) = last?;
    Some((&expr[..start], member))
}

/// Scripts of a context whose code cache is made again once the context has been
/// called (a library's top level compiles little; the first call — a render, a
/// transform — compiles what it uses, and then the cache holds that too).
#[derive(Default)]
pub(crate) struct CacheRefreshes(parking_lot::Mutex<Vec<Refresh>>);

/// A code cache entry to make again.
struct Refresh {
    key: code_cache::Key,
    script: v8::Global<v8::UnboundScript>,
    dir: Option<std::path::PathBuf>,
}

impl CacheRefreshes {
    /// Whether any entry waits for its refresh (read on every call: one uncontended lock).
    pub(crate) fn is_empty(&self) -> bool {
        self.0.lock().is_empty()
    }

    fn add(
        &self,
        key: code_cache::Key,
        script: v8::Global<v8::UnboundScript>,
        dir: Option<&std::path::Path>,
    ) {
        self.0.lock().push(Refresh {
            key,
            script,
            dir: dir.map(std::path::Path::to_path_buf),
        });
    }

    /// Makes the waiting entries again, with the code compiled so far (no JavaScript runs).
    pub(crate) fn refresh(&self, scope: &mut v8::PinScope<'_, '_>) {
        let waiting = std::mem::take(&mut *self.0.lock());
        for Refresh { key, script, dir } in waiting {
            let script = v8::Local::new(scope, script);
            if let Some(data) = script.create_code_cache() {
                code_cache::store(key, data.to_vec(), dir.as_deref());
            }
        }
    }
}

/// Compiles `source` with its cached code when there is some, runs it, and caches its
/// code after a first run — and again, with `refreshes`, after the context's next call
/// (see [`CacheRefreshes`]); `Ok(None)` when JavaScript threw. With `source_maps`, the
/// script's source map is registered first.
pub(crate) fn run_with_code_cache<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    source: &str,
    name: &str,
    dir: Option<&std::path::Path>,
    refreshes: &CacheRefreshes,
    source_maps: bool,
) -> Result<Option<v8::Local<'s, v8::Value>>, Error> {
    use v8::script_compiler::{CachedData, CompileOptions, NoCacheReason, Source};
    let startup = crate::engine::vm::VmShared::of(scope).map_or(0, |vm| vm.snapshot.startup_id);
    let key = code_cache::key(name, source, startup);
    let code = new_string(scope, source)?;
    let origin = origin(scope, name, false)?;
    let cached = code_cache::lookup(key, dir);
    let (script, produce) = match &cached {
        code_cache::Found::Code(data) => {
            let mut src = Source::new_with_cached_data(code, Some(&origin), CachedData::new(data));
            let script = v8::script_compiler::compile(
                scope,
                &mut src,
                CompileOptions::ConsumeCodeCache,
                NoCacheReason::NoReason,
            );
            let rejected = src.get_cached_data().is_some_and(|d| d.rejected());
            if rejected {
                code_cache::rejected();
                code_cache::forget(key, dir);
            } else {
                code_cache::hit();
            }
            (script, rejected)
        }
        code_cache::Found::Damaged => {
            code_cache::rejected();
            (v8::Script::compile(scope, code, Some(&origin)), true)
        }
        code_cache::Found::Nothing => {
            code_cache::miss();
            (v8::Script::compile(scope, code, Some(&origin)), true)
        }
    };
    let Some(script) = script else {
        return Ok(None);
    };
    if source_maps {
        let unbound = script.get_unbound_script(scope);
        let url = unbound.get_source_mapping_url(scope);
        register_source_map(scope, unbound.script_id(), url, name, source);
    }
    let result = script.run(scope);
    if produce && result.is_some() {
        // After the run, the cache also holds the functions the script compiled.
        let unbound = script.get_unbound_script(scope);
        if let Some(data) = unbound.create_code_cache() {
            code_cache::store(key, data.to_vec(), dir);
        }
        refreshes.add(key, v8::Global::new(scope, unbound), dir);
    }
    Ok(result)
}
