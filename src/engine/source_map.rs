//! Source maps: errors of bundled or compiled scripts shown at their original file,
//! line, column and function name, as Node's `--enable-source-maps` shows them.
//!
//! A script run with source maps on (the default of `load_libs`; a switch elsewhere)
//! and carrying a `//# sourceMappingURL=` comment — V8 reads it while compiling — is
//! *registered* in its VM by script id. Its map is read and parsed only when an error
//! first needs it, then kept in the VM's cache, keyed by the script's name and a hash
//! of its source, so every context that loads the same bundle shares one parsed map.
//! Both tables are bounded.
//!
//! Where a map may come from (see `docs/debugging.md`):
//! - a `data:` URL (base64 or percent-encoded JSON) inside the script;
//! - a file, resolved against the directory of the script's name taken as a path
//!   (relative names against the current directory when the script ran, as Node does).
//!   The file must lie in that directory or below it, be a regular file and at most
//!   [`MAX_MAP_BYTES`]; any other URL (`http:`, a path outside) is ignored.
//!
//! Original source lines come from the map's `sourcesContent`, else from the original
//! file when it lies under the script's directory or the current directory (a regular
//! file of at most [`MAX_ORIGINAL_BYTES`]). Anything that fails — a map that is not
//! JSON, not UTF-8, too large, missing — leaves the error at its generated positions.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::engine::error::Frame;

/// The largest source map read (a file, or what a `data:` URL decodes to).
pub const MAX_MAP_BYTES: usize = 64 << 20;
/// The largest original source file read to show one of its lines.
pub const MAX_ORIGINAL_BYTES: u64 = 16 << 20;
/// Scripts registered per VM; the oldest go first.
const MAX_SCRIPTS: usize = 4096;
/// Parsed maps kept per VM; the oldest go first.
const MAX_MAPS: usize = 64;
/// URLs longer than this are not kept with the registration (inline maps: V8 keeps them).
pub(crate) const MAX_KEPT_URL: usize = 4096;

static PARSED: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);

/// `(parsed, failed)`: source maps parsed, and maps that could not be read or parsed,
/// in this process (a map is parsed once per VM and cache entry).
pub fn stats() -> (u64, u64) {
    (
        PARSED.load(Ordering::Relaxed),
        FAILED.load(Ordering::Relaxed),
    )
}

/// The cache key of a script's map: its name and a hash of its source.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct MapKey {
    name: Box<str>,
    hash: u64,
}

/// What a registration keeps of a script.
struct ScriptInfo {
    key: MapKey,
    /// The directory of the script's name, as given (maybe relative, maybe empty).
    shown_dir: PathBuf,
    /// The same directory, absolute (what files are read from); `None` when the
    /// current directory was unknown.
    fs_dir: Option<PathBuf>,
    /// The `sourceMappingURL` when it is short (a file); inline maps are read from V8.
    url: Option<Box<str>>,
}

#[derive(Default)]
struct Registry {
    scripts: HashMap<i32, Arc<ScriptInfo>>,
    order: VecDeque<i32>,
    by_name: HashMap<Box<str>, i32>,
    maps: HashMap<MapKey, Option<Arc<LoadedMap>>>,
    map_order: VecDeque<MapKey>,
}

/// The source maps of one VM: its registered scripts and its parsed maps.
#[derive(Default)]
pub(crate) struct SourceMaps(parking_lot::Mutex<Registry>);

impl SourceMaps {
    /// Registers the script `script_id`, named `name`, whose `sourceMappingURL` is `url`
    /// (empty: too long to keep here, read from V8 when an error needs it).
    pub(crate) fn register(&self, script_id: i32, name: &str, source: &str, url: &str) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        source.hash(&mut hasher);
        let shown_dir = script_dir(name);
        let fs_dir = std::env::current_dir()
            .ok()
            .map(|cwd| normalize(&cwd.join(&shown_dir)));
        let info = Arc::new(ScriptInfo {
            key: MapKey {
                name: name.into(),
                hash: hasher.finish(),
            },
            shown_dir,
            fs_dir,
            // Empty: not kept (too long), read from V8 when an error needs it.
            url: (!url.is_empty() && url.len() <= MAX_KEPT_URL).then(|| url.into()),
        });
        let mut registry = self.0.lock();
        if registry.scripts.insert(script_id, info).is_none() {
            registry.order.push_back(script_id);
        }
        registry.by_name.insert(name.into(), script_id);
        while registry.order.len() > MAX_SCRIPTS {
            let Some(old) = registry.order.pop_front() else {
                break;
            };
            if let Some(info) = registry.scripts.remove(&old) {
                if registry.by_name.get(&info.key.name) == Some(&old) {
                    registry.by_name.remove(&info.key.name);
                }
            }
        }
    }

    /// Whether the script `script_id` was registered.
    pub(crate) fn is_registered(&self, script_id: i32) -> bool {
        self.0.lock().scripts.contains_key(&script_id)
    }

    /// Whether any script was registered (errors in a VM without maps skip the work).
    pub(crate) fn is_empty(&self) -> bool {
        self.0.lock().scripts.is_empty()
    }

    /// The map of the registered script `script_id`, parsed now if it is not cached;
    /// `url` gives its `sourceMappingURL` when the registration did not keep it.
    pub(crate) fn map_for(
        &self,
        script_id: i32,
        url: impl FnOnce() -> Option<String>,
    ) -> Option<Arc<LoadedMap>> {
        let info = {
            let registry = self.0.lock();
            let info = Arc::clone(registry.scripts.get(&script_id)?);
            if let Some(cached) = registry.maps.get(&info.key) {
                return cached.clone();
            }
            info
        };
        let url = match &info.url {
            Some(url) => url.to_string(),
            None => url()?,
        };
        // Parsed without the registry's lock (the VM's lock is held anyway).
        let loaded = match load(&url, &info.shown_dir, info.fs_dir.as_deref()) {
            Ok(map) => {
                PARSED.fetch_add(1, Ordering::Relaxed);
                Some(Arc::new(map))
            }
            Err(_) => {
                FAILED.fetch_add(1, Ordering::Relaxed);
                None
            }
        };
        let mut registry = self.0.lock();
        if registry
            .maps
            .insert(info.key.clone(), loaded.clone())
            .is_none()
        {
            registry.map_order.push_back(info.key.clone());
        }
        while registry.map_order.len() > MAX_MAPS {
            let Some(old) = registry.map_order.pop_front() else {
                break;
            };
            registry.maps.remove(&old);
        }
        loaded
    }

    /// The map of the script last registered under `name`, when it is parsed already.
    pub(crate) fn cached_for_name(&self, name: &str) -> Option<Arc<LoadedMap>> {
        let registry = self.0.lock();
        let id = registry.by_name.get(name)?;
        let info = registry.scripts.get(id)?;
        registry.maps.get(&info.key).cloned().flatten()
    }
}

/// The directory part of a script name taken as a path (`file://` URLs as paths).
fn script_dir(name: &str) -> PathBuf {
    let path = file_url_path(name).unwrap_or_else(|| PathBuf::from(name));
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The path of a `file:` URL.
fn file_url_path(url: &str) -> Option<PathBuf> {
    if !url.get(..5)?.eq_ignore_ascii_case("file:") {
        return None;
    }
    url::Url::parse(url).ok()?.to_file_path().ok()
}

/// Whether `s` starts with a URL scheme (`data:`, `http:`, `webpack:`…).
fn has_scheme(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    scheme.len() > 1
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// `path` with `.` and inner `..` removed, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                let last = out.components().next_back();
                match last {
                    Some(Component::Normal(_)) => {
                        out.pop();
                    }
                    Some(Component::RootDir) => {}
                    _ => out.push(".."),
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Whether the file at `path` lies (symbolic links resolved) under one of `roots`.
fn is_under(path: &Path, roots: &[&Path]) -> bool {
    let Ok(real) = std::fs::canonicalize(path) else {
        return false;
    };
    roots
        .iter()
        .any(|root| std::fs::canonicalize(root).is_ok_and(|root| real.starts_with(root)))
}

/// Reads the regular file at `path`, if it is at most `limit` bytes.
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    // Not blocking: opening a FIFO to read waits for a writer (with the VM's lock held).
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() || meta.len() > limit {
        return Err("not a regular file of acceptable size".into());
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limit {
        return Err("too large".into());
    }
    Ok(bytes)
}

/// The bytes a `data:` URL holds (base64 or percent-encoded), for a JSON media type
/// (or none); `None` for anything else, or more than [`MAX_MAP_BYTES`].
pub(crate) fn decode_data_url(url: &str) -> Option<Vec<u8>> {
    let rest = url.get(..5).filter(|s| s.eq_ignore_ascii_case("data:"))?;
    let rest = &url[rest.len()..];
    let (header, data) = rest.split_once(',')?;
    let mut params = header.split(';').map(str::trim);
    let media = params.next().unwrap_or("").to_ascii_lowercase();
    if !(media.is_empty() || media == "application/json" || media.ends_with("+json")) {
        return None;
    }
    let base64 = header
        .rsplit(';')
        .next()
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("base64"));
    if base64 {
        if data.len() / 4 * 3 > MAX_MAP_BYTES + 3 {
            return None;
        }
        let clean: Vec<u8> = data.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        let clean = percent_encoding::percent_decode(&clean).collect::<Vec<u8>>();
        let end = clean.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
        data_encoding::BASE64_NOPAD.decode(&clean[..end]).ok()
    } else {
        if data.len() > MAX_MAP_BYTES * 3 {
            return None;
        }
        let bytes: Vec<u8> = percent_encoding::percent_decode_str(data).collect();
        (bytes.len() <= MAX_MAP_BYTES).then_some(bytes)
    }
}

/// Reads and parses the map at `url` of a script in `shown_dir` (`fs_dir` on disk).
fn load(url: &str, shown_dir: &Path, fs_dir: Option<&Path>) -> Result<LoadedMap, String> {
    let url = url.trim();
    if let Some(bytes) = decode_data_url(url) {
        return LoadedMap::parse(&bytes, shown_dir, fs_dir, fs_dir);
    }
    if has_scheme(url) && file_url_path(url).is_none() {
        return Err(format!("maps are not read from {url}"));
    }
    let fs_dir = fs_dir.ok_or("the current directory is unknown")?;
    let (shown, on_disk) = match file_url_path(url) {
        Some(path) => (path.clone(), path),
        None => {
            let path = url.split(['?', '#']).next().unwrap_or("");
            let path = percent_encoding::percent_decode_str(path)
                .decode_utf8()
                .map_err(|e| e.to_string())?;
            let rel = Path::new(path.as_ref());
            (
                normalize(&shown_dir.join(rel)),
                normalize(&fs_dir.join(rel)),
            )
        }
    };
    if !is_under(&on_disk, &[fs_dir]) {
        return Err("the map lies outside the script's directory".into());
    }
    let bytes = read_limited(&on_disk, MAX_MAP_BYTES as u64)?;
    let parent = |p: &Path| p.parent().map(Path::to_path_buf).unwrap_or_default();
    LoadedMap::parse(
        &bytes,
        &parent(&shown),
        Some(&parent(&on_disk)),
        Some(fs_dir),
    )
}

/// A parsed source map, with its sources resolved to the names errors show.
pub(crate) struct LoadedMap {
    map: sourcemap::SourceMap,
    /// Each source as errors show it: a path next to the map, or a URL as given.
    shown: Vec<String>,
    /// Each source's file on disk, when it may be read for its lines.
    files: Vec<Option<PathBuf>>,
    /// Each source's text, once read (`sourcesContent` first, else the file).
    texts: Vec<OnceLock<Option<Arc<str>>>>,
}

/// An original position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Original<'a> {
    /// The source as errors show it.
    pub source: &'a str,
    /// 0-based line.
    pub line: u32,
    /// 0-based column.
    pub column: u32,
    /// The name the map gives the token there.
    pub name: Option<&'a str>,
    src_id: u32,
}

impl LoadedMap {
    /// Parses the map `bytes`, found in `shown_dir` (`map_dir` on disk); original
    /// files are read only under `map_dir`'s script directory `script_dir` or the
    /// current directory.
    fn parse(
        bytes: &[u8],
        shown_dir: &Path,
        map_dir: Option<&Path>,
        script_dir: Option<&Path>,
    ) -> Result<LoadedMap, String> {
        if bytes.len() > MAX_MAP_BYTES {
            return Err("the map is too large".into());
        }
        let map = match sourcemap::decode_slice(bytes).map_err(|e| e.to_string())? {
            sourcemap::DecodedMap::Regular(map) => map,
            sourcemap::DecodedMap::Index(index) => index.flatten().map_err(|e| e.to_string())?,
            sourcemap::DecodedMap::Hermes(_) => return Err("Hermes maps are not read".into()),
        };
        let cwd = std::env::current_dir().ok();
        let roots: Vec<&Path> = script_dir.into_iter().chain(cwd.as_deref()).collect();
        let mut shown = Vec::new();
        let mut files = Vec::new();
        for id in 0..map.get_source_count() {
            let source = map.get_source(id).unwrap_or("");
            if let Some(path) = file_url_path(source) {
                shown.push(path.to_string_lossy().into_owned());
                files.push(Some(path));
            } else if has_scheme(source) {
                shown.push(source.to_string());
                files.push(None);
            } else {
                shown.push(
                    normalize(&shown_dir.join(source))
                        .to_string_lossy()
                        .into_owned(),
                );
                files.push(map_dir.map(|dir| normalize(&dir.join(source))));
            }
        }
        let files = files
            .into_iter()
            .map(|file| file.filter(|f| is_under(f, &roots)))
            .collect();
        let texts = (0..shown.len()).map(|_| OnceLock::new()).collect();
        Ok(LoadedMap {
            map,
            shown,
            files,
            texts,
        })
    }

    /// The original position of the generated 0-based `line` and `column`.
    pub(crate) fn lookup(&self, line: u32, column: u32) -> Option<Original<'_>> {
        let token = self.map.lookup_token(line, column)?;
        if !token.has_source() || token.get_dst_line() != line {
            return None;
        }
        // A segment whose deltas went below 0 wrapped round (line or column 2^32 - 1):
        // it maps nowhere.
        if token.get_src_line() > i32::MAX as u32 || token.get_src_col() > i32::MAX as u32 {
            return None;
        }
        let src_id = token.get_src_id();
        Some(Original {
            source: self.shown.get(src_id as usize)?,
            line: token.get_src_line(),
            column: token.get_src_col(),
            name: token.get_name(),
            src_id,
        })
    }

    /// The 0-based `line` of the original source of `at`, when its text is known.
    pub(crate) fn source_line(&self, at: &Original<'_>) -> Option<String> {
        let slot = self.texts.get(at.src_id as usize)?;
        let text = slot.get_or_init(|| {
            if let Some(text) = self.map.get_source_contents(at.src_id) {
                return Some(text.into());
            }
            let file = self.files.get(at.src_id as usize)?.as_ref()?;
            let bytes = read_limited(file, MAX_ORIGINAL_BYTES).ok()?;
            String::from_utf8(bytes).ok().map(Into::into)
        });
        let text = text.as_deref()?;
        split_lines(text).nth(at.line as usize).map(str::to_string)
    }
}

/// The lines of `text`, split at `\r\n`, `\n` and `\r`.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.find(['\n', '\r']) {
            Some(i) => {
                let skip = if current[i..].starts_with("\r\n") {
                    2
                } else {
                    1
                };
                rest = Some(&current[i + skip..]);
                Some(&current[..i])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// One frame of a stack, before mapping, with the map of its script when it has one.
pub(crate) struct RawFrame {
    /// The function's name (empty: anonymous).
    pub function_name: String,
    /// The script's name (empty: unknown).
    pub script_name: String,
    /// 1-based line (0: unknown).
    pub line: u32,
    /// 1-based column (0: unknown).
    pub column: u32,
    /// The map of the frame's script.
    pub map: Option<Arc<LoadedMap>>,
}

/// The name the map gives the function of frame `i`: the name of the token at its
/// caller's call site (Node's fallback when it has no enclosing position).
fn mapped_name<'a>(
    map: &'a LoadedMap,
    script_name: &str,
    caller: Option<(&str, u32, u32)>,
) -> Option<&'a str> {
    let (caller_script, line, column) = caller?;
    if caller_script != script_name || line == 0 || column == 0 {
        return None;
    }
    map.lookup(line - 1, column - 1)?.name
}

/// The frames of `raw`, mapped where their script has a map.
pub(crate) fn map_frames(raw: &[RawFrame]) -> Vec<Frame> {
    raw.iter()
        .enumerate()
        .map(|(i, frame)| {
            let generated = Frame {
                function_name: frame.function_name.clone(),
                script_name: frame.script_name.clone(),
                line: frame.line,
                column: frame.column,
                generated: None,
            };
            let mapped = frame.map.as_ref().and_then(|map| {
                let original =
                    map.lookup(frame.line.checked_sub(1)?, frame.column.checked_sub(1)?)?;
                let caller = raw
                    .get(i + 1)
                    .map(|c| (c.script_name.as_str(), c.line, c.column));
                let name = mapped_name(map, &frame.script_name, caller)
                    .map_or_else(|| frame.function_name.clone(), str::to_string);
                Some(Frame {
                    function_name: name,
                    script_name: original.source.to_string(),
                    line: original.line + 1,
                    column: original.column + 1,
                    generated: Some(Box::new(generated.clone())),
                })
            });
            mapped.unwrap_or(generated)
        })
        .collect()
}

/// One `    at …` line of a stack text, split into its parts.
struct StackLine<'a> {
    indent: &'a str,
    /// The function part (`async f`, `new C`, `Object.m [as n]`), if any.
    name: Option<&'a str>,
    file: &'a str,
    line: u32,
    column: u32,
}

/// The parts of a stack line `    at name (file:line:col)` or `    at file:line:col`.
fn parse_stack_line(text: &str) -> Option<StackLine<'_>> {
    let trimmed = text.trim_start();
    let indent = &text[..text.len() - trimmed.len()];
    let rest = trimmed.strip_prefix("at ")?;
    let (name, location) = match rest.strip_suffix(')') {
        Some(inner) => {
            let open = inner.rfind(" (")?;
            let name = &inner[..open];
            // `eval at f (file:1:2), <anonymous>:1:1`: the position in eval'd code.
            if name.contains('(') {
                return None;
            }
            (Some(name), &inner[open + 2..])
        }
        None => (None, rest),
    };
    let (before, column) = location.rsplit_once(':')?;
    let (file, line) = before.rsplit_once(':')?;
    Some(StackLine {
        indent,
        name,
        file,
        line: line.parse().ok()?,
        column: column.parse().ok()?,
    })
}

/// The frames of a stack text (`    at f (file:1:2)` lines), at most `limit`: the
/// frames of an error made while V8 captured no structured stack (it captures one only
/// in a VM with source-mapped scripts, since it costs every `new Error`).
///
/// Only V8's own stack text is read: the `    at` lines right after `header` (the
/// error's `String()`), up to the first line that is not one — so a message or a
/// `stack` that the script wrote cannot pass for frames.
pub(crate) fn frames_from_stack(stack: &str, header: &str, limit: usize) -> Vec<RawFrame> {
    let Some(lines) = stack
        .strip_prefix(header)
        .and_then(|rest| rest.strip_prefix('\n'))
    else {
        return Vec::new();
    };
    lines
        .split('\n')
        .map_while(parse_stack_line)
        .take(limit)
        .map(|line| {
            let name = line.name.unwrap_or("");
            let name = name.strip_prefix("async ").unwrap_or(name);
            let name = name.strip_prefix("new ").unwrap_or(name);
            let name = name.split(" [as ").next().unwrap_or(name);
            RawFrame {
                function_name: if name == "<anonymous>" {
                    String::new()
                } else {
                    name.to_string()
                },
                script_name: line.file.to_string(),
                line: line.line,
                column: line.column,
                map: None,
            }
        })
        .collect()
}

/// The stack text `stack` with every `at` line of a mapped script at its original
/// position and name, as Node's `--enable-source-maps` writes it; `maps` gives the
/// map of a script by name. `None` when no line changed.
pub(crate) fn rewrite_stack(
    stack: &str,
    maps: &dyn Fn(&str) -> Option<Arc<LoadedMap>>,
) -> Option<String> {
    let lines: Vec<&str> = stack.split('\n').collect();
    let parsed: Vec<Option<StackLine<'_>>> = lines.iter().map(|l| parse_stack_line(l)).collect();
    let mut changed = false;
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let rewritten = parsed[i].as_ref().and_then(|frame| {
            let map = maps(frame.file)?;
            let original = map.lookup(frame.line.checked_sub(1)?, frame.column.checked_sub(1)?)?;
            let caller = parsed
                .get(i + 1)
                .and_then(Option::as_ref)
                .map(|c| (c.file, c.line, c.column));
            let name = mapped_name(&map, frame.file, caller)
                .or(frame.name)
                .unwrap_or("<anonymous>");
            Some(format!(
                "{}at {} ({}:{}:{})",
                frame.indent,
                name,
                original.source,
                original.line + 1,
                original.column + 1
            ))
        });
        match rewritten {
            Some(text) => {
                changed = true;
                out.push(text);
            }
            None => out.push(line.to_string()),
        }
    }
    changed.then(|| out.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `function m(e){throw new Error(e)}` on line 1 of the bundle, from `a.ts`
    /// `function fail(message) {` / `  throw new Error(message);` / and a caller
    /// `m("x")` at column 40 from `b.ts` line 3 column 2 naming `fail`.
    const MAP: &str = r#"{"version":3,"sources":["src/a.ts","src/b.ts"],
        "sourcesContent":["function fail(message) {\n  throw new Error(message);\n}\n", null],
        "names":["fail"],
        "mappings":"AAAA,SAASA,OACP,6BCCAA"}"#;

    fn map() -> Arc<LoadedMap> {
        Arc::new(LoadedMap::parse(MAP.as_bytes(), Path::new("dist"), None, None).unwrap())
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads the current directory")]
    fn segments_below_line_or_column_0_map_nowhere() {
        // `SAFA`: column 9, source line -2 (wraps).
        let json = br#"{"version":3,"sources":["a.ts"],"names":[],"mappings":"AAAA,SAFA"}"#;
        let map = LoadedMap::parse(json, Path::new(""), None, None).unwrap();
        assert!(map.lookup(0, 12).is_none());
        assert!(map.lookup(0, 3).is_some());
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads the current directory")]
    fn lookup_gives_the_original_position_name_and_line() {
        let map = map();
        let at = map.lookup(0, 9).unwrap();
        assert_eq!(
            (at.source, at.line, at.column, at.name),
            ("dist/src/a.ts", 0, 9, Some("fail"))
        );
        let at = map.lookup(0, 16).unwrap();
        assert_eq!((at.source, at.line, at.column), ("dist/src/a.ts", 1, 2));
        assert_eq!(map.source_line(&at).unwrap(), "  throw new Error(message);");
        let at = map.lookup(0, 45).unwrap();
        assert_eq!(
            (at.source, at.line, at.column, at.name),
            ("dist/src/b.ts", 2, 2, Some("fail"))
        );
        assert_eq!(map.source_line(&at), None, "no content, no file");
        assert!(map.lookup(5, 0).is_none(), "a line the map does not cover");
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads the current directory")]
    fn stack_lines_are_rewritten_with_the_callers_name() {
        let stack = "Error: x\n    at m (dist/app.js:1:17)\n    at dist/app.js:1:46\n    \
                     at Array.map (<anonymous>)\n    at other.js:3:4";
        let maps = |name: &str| (name == "dist/app.js").then(map);
        let out = rewrite_stack(stack, &maps).unwrap();
        assert_eq!(
            out,
            "Error: x\n    at fail (dist/src/a.ts:2:3)\n    at <anonymous> (dist/src/b.ts:3:3)\n    \
             at Array.map (<anonymous>)\n    at other.js:3:4"
        );
        assert_eq!(rewrite_stack(stack, &|_| None), None);
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads the current directory")]
    fn odd_stack_lines_stay_as_they_are() {
        let maps = |_: &str| Some(map());
        for line in [
            "    at eval (eval at f (dist/app.js:1:1), <anonymous>:1:1)",
            "    at f (dist/app.js:x:1)",
            "    at f (dist/app.js)",
            "not a frame dist/app.js:1:1",
            "    at dist/app.js:9:1",
            "    at f (dist/app.js:0:0)",
            "",
        ] {
            assert_eq!(rewrite_stack(line, &maps), None, "{line}");
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads the current directory")]
    fn frames_map_with_their_generated_position() {
        let raw = vec![
            RawFrame {
                function_name: "m".into(),
                script_name: "dist/app.js".into(),
                line: 1,
                column: 17,
                map: Some(map()),
            },
            RawFrame {
                function_name: String::new(),
                script_name: "dist/app.js".into(),
                line: 1,
                column: 46,
                map: Some(map()),
            },
            RawFrame {
                function_name: "top".into(),
                script_name: "plain.js".into(),
                line: 2,
                column: 3,
                map: None,
            },
        ];
        let frames = map_frames(&raw);
        assert_eq!(frames[0].function_name, "fail");
        assert_eq!(
            (
                frames[0].script_name.as_str(),
                frames[0].line,
                frames[0].column
            ),
            ("dist/src/a.ts", 2, 3)
        );
        let generated = frames[0].generated.as_deref().unwrap();
        assert_eq!(
            (
                generated.function_name.as_str(),
                generated.line,
                generated.column
            ),
            ("m", 1, 17)
        );
        assert_eq!(frames[1].function_name, "");
        assert_eq!(frames[1].script_name, "dist/src/b.ts");
        assert_eq!(frames[2].script_name, "plain.js");
        assert!(frames[2].generated.is_none());
    }

    #[test]
    fn data_urls_decode_base64_and_percent_encoding() {
        let json = br#"{"version":3}"#;
        let b64 = data_encoding::BASE64.encode(json);
        for url in [
            format!("data:application/json;base64,{b64}"),
            format!("data:application/json;charset=utf-8;base64,{b64}"),
            format!("DATA:;base64,{}", b64.trim_end_matches('=')),
            format!("data:application/json;base64,{}\n{}", &b64[..4], &b64[4..]),
            "data:application/json,%7B%22version%22:3%7D".to_string(),
        ] {
            assert_eq!(decode_data_url(&url).as_deref(), Some(&json[..]), "{url}");
        }
        for url in [
            "data:text/html;base64,e30=",
            "data:application/json;base64,!!!",
            "data:application/json;base64",
            "http://example.com/x.map",
            "",
        ] {
            assert_eq!(decode_data_url(url), None, "{url}");
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads the current directory")]
    fn malformed_maps_are_errors_not_panics() {
        for bad in [
            &b"not json"[..],
            b"{\"version\":3,\"sources\":[\"a\"],\"mappings\":\"!!!!\"}",
            b"\xff\xfe{}",
            b"[]",
            b"{\"version\":3,\"sources\":[],\"mappings\":\"AAAA\"}",
        ] {
            if let Ok(map) = LoadedMap::parse(bad, Path::new(""), None, None) {
                assert!(map.lookup(0, 0).is_none());
            }
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "writes files")]
    fn file_maps_must_lie_in_the_scripts_directory() {
        let dir = std::env::temp_dir().join(format!("v8rs-sm-{}", std::process::id()));
        let inner = dir.join("dist");
        std::fs::create_dir_all(&inner).unwrap();
        std::fs::write(inner.join("app.js.map"), MAP).unwrap();
        std::fs::write(dir.join("outside.map"), MAP).unwrap();
        assert!(load("app.js.map", Path::new("dist"), Some(&inner)).is_ok());
        assert!(load("../outside.map", Path::new("dist"), Some(&inner)).is_err());
        let absolute = dir.join("outside.map");
        assert!(load(absolute.to_str().unwrap(), Path::new("dist"), Some(&inner)).is_err());
        assert!(load(
            "http://example.com/app.js.map",
            Path::new("dist"),
            Some(&inner)
        )
        .is_err());
        assert!(load("missing.map", Path::new("dist"), Some(&inner)).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn paths_normalize_lexically() {
        assert_eq!(
            normalize(Path::new("dist/../src/./a.ts")),
            PathBuf::from("src/a.ts")
        );
        assert_eq!(normalize(Path::new("../a.ts")), PathBuf::from("../a.ts"));
        assert_eq!(normalize(Path::new("/../a.ts")), PathBuf::from("/a.ts"));
        assert_eq!(script_dir("<anonymous>"), PathBuf::new());
        assert_eq!(script_dir("file:///x/y/app.js"), PathBuf::from("/x/y"));
        assert!(has_scheme("webpack://app/a.ts") && !has_scheme("c.ts") && !has_scheme("a:b"));
        let lines: Vec<_> = split_lines("a\r\nb\rc\nd").collect();
        assert_eq!(lines, ["a", "b", "c", "d"]);
    }
}
