//! Node's module resolution, as pure logic over a [`Files`] view of one folder: bare
//! names through `node_modules` folders up to the root, `package.json` `main` and
//! `exports` (conditions, subpaths, `*` patterns), `index.js`, the `.js`/`.json`
//! extensions, directories. Paths are absolute and lexically normalised; nothing here
//! touches the disk (see `fs.rs` for the confined view the natives use).

use std::path::{Component, Path, PathBuf};

/// What a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Nothing (or something that may not be read).
    Missing,
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// Something whose real path (symbolic links followed) leaves the root.
    Outside,
}

/// The files resolution may look at.
pub(crate) trait Files {
    /// What `path` is.
    fn kind(&self, path: &Path) -> Kind;
    /// The text of the file `path`, if it is one and can be read.
    fn read(&self, path: &Path) -> Option<String>;
}

/// Why a request did not resolve.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Nothing matched; the folders and files looked at.
    NotFound {
        /// The `node_modules` folders searched (bare names) or the base path tried.
        searched: Vec<PathBuf>,
    },
    /// A package's `main` names a file that is not there.
    BadMain {
        /// The missing file.
        main: PathBuf,
        /// The package's `package.json`.
        package_json: PathBuf,
    },
    /// A package's `exports` does not export the subpath.
    NotExported {
        /// `.` or `./sub`.
        subpath: String,
        /// The package's `package.json`.
        package_json: PathBuf,
    },
    /// `exports` names a file that is not there.
    ExportMissing {
        /// The missing file.
        path: PathBuf,
    },
    /// The request (or an `exports` target) leaves the root folder.
    Outside {
        /// Where it pointed.
        path: PathBuf,
    },
    /// An `exports` pattern matched a subpath with a `.`, `..` or `node_modules`
    /// segment (Node's `ERR_INVALID_MODULE_SPECIFIER`).
    InvalidSubpath {
        /// The subpath asked for.
        subpath: String,
        /// The pattern it matched.
        pattern: String,
        /// The package's `package.json`.
        package_json: PathBuf,
    },
    /// An `exports` target with a `.`, `..` or `node_modules` segment after its `./`,
    /// or one that leaves its package (Node's `ERR_INVALID_PACKAGE_TARGET`).
    InvalidTarget {
        /// The target.
        target: String,
        /// The package's `package.json`.
        package_json: PathBuf,
    },
    /// A `package.json` is not valid JSON.
    BadPackageJson {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
}

/// A JSON value with its object keys in document order (`exports` conditions are
/// tried in that order).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, keys in document order.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses JSON text.
    pub(crate) fn parse(text: &str) -> Result<Json, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// The member `key` of an object.
    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string it is.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Json {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

/// Builds a [`Json`] keeping the order of object members.
struct JsonVisitor;

impl<'de> serde::de::Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Json::Number(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members: Vec<(String, Json)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            // A repeated key: the last one wins, as in JSON.parse (at the first's place).
            match members.iter_mut().find(|(k, _)| *k == key) {
                Some(member) => member.1 = value,
                None => members.push((key, value)),
            }
        }
        Ok(Json::Object(members))
    }
}

/// `path` with `.` and `..` folded away (lexically; `..` at the top stays at `/`).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// Which module system asks: the conditions of `exports` differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum System {
    /// `require()`: `require`, `node`, `default`.
    Require,
    /// `import`: `import`, `node`, `default`.
    Import,
}

impl System {
    fn conditions(self) -> &'static [&'static str] {
        match self {
            System::Require => &["require", "node", "node-addons", "default"],
            System::Import => &["import", "node", "node-addons", "default"],
        }
    }
}

/// What an `exports` target resolves to (see `Resolver::target`).
enum Target {
    /// A file.
    Found(PathBuf),
    /// `null`: not exported, the search stops.
    Null,
    /// No condition applied: the search goes on.
    Unmatched,
}

/// A resolver for modules under `root` (an absolute, normalised path).
pub(crate) struct Resolver<'f, F: Files> {
    /// The folder nothing may leave.
    pub(crate) root: &'f Path,
    /// The files.
    pub(crate) files: &'f F,
}

impl<F: Files> Resolver<'_, F> {
    /// Whether `path` is a file (`Err` when it leads out of the root).
    fn is(&self, path: &Path, kind: Kind) -> Result<bool, Failure> {
        match self.files.kind(path) {
            Kind::Outside => Err(Failure::Outside {
                path: path.to_path_buf(),
            }),
            found => Ok(found == kind),
        }
    }

    /// Resolves `request` made from a module in the folder `from` to a file's path.
    /// (Built-in module names are the caller's business.)
    pub(crate) fn resolve(
        &self,
        request: &str,
        from: &Path,
        system: System,
    ) -> Result<PathBuf, Failure> {
        let relative = request == "."
            || request == ".."
            || request.starts_with("./")
            || request.starts_with("../")
            || request.starts_with('/');
        if relative {
            let base = normalize(&from.join(request));
            self.check_inside(&base)?;
            // A directory only, as Node has it: `dir/`, and `.`, `..` or a path ending
            // in `/.` or `/..` (`..` as a file was `<dir>.js`, outside the modules).
            let slash = request.ends_with('/')
                || request == "."
                || request == ".."
                || request.ends_with("/.")
                || request.ends_with("/..");
            let found = if slash {
                self.load_directory(&base)?
            } else {
                match self.load_file(&base)? {
                    Some(file) => Some(file),
                    None => self.load_directory(&base)?,
                }
            };
            return found.ok_or(Failure::NotFound {
                searched: vec![base],
            });
        }
        let (name, subpath) = split_package(request);
        let mut searched = Vec::new();
        for dir in self.node_modules_paths(from) {
            let package = dir.join(name);
            searched.push(dir.clone());
            if !self.is(&dir, Kind::Dir)? {
                continue;
            }
            // A package is a folder (its `exports` apply) or, as in Node, a lone file
            // (`node_modules/name.js`).
            let package_json = package.join("package.json");
            let manifest = if self.is(&package, Kind::Dir)? {
                self.manifest(&package_json)?
            } else {
                None
            };
            if let Some(manifest) = manifest {
                if let Some(exports) = manifest.get("exports") {
                    if !matches!(exports, Json::Null) {
                        let subpath = match subpath {
                            "" => ".".to_string(),
                            rest => format!(".{rest}"),
                        };
                        return self.package_exports(
                            &package,
                            &package_json,
                            exports,
                            &subpath,
                            system,
                        );
                    }
                }
            }
            let target = normalize(&dir.join(request));
            self.check_inside(&target)?;
            if let Some(file) = self.load_file(&target)? {
                return Ok(file);
            }
            if let Some(file) = self.load_directory(&target)? {
                return Ok(file);
            }
        }
        Err(Failure::NotFound { searched })
    }

    /// The `node_modules` folders Node searches from `from`, innermost first, up to the
    /// root (none above it; none at all from a folder outside it, whose folders cannot
    /// be read).
    pub(crate) fn node_modules_paths(&self, from: &Path) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        let mut dir = normalize(from);
        if !dir.starts_with(self.root) {
            return dirs;
        }
        loop {
            if dir.file_name().is_some_and(|n| n != "node_modules") || dir == self.root {
                dirs.push(dir.join("node_modules"));
            }
            if dir == self.root || !dir.pop() {
                break;
            }
        }
        dirs
    }

    fn check_inside(&self, path: &Path) -> Result<(), Failure> {
        if path.starts_with(self.root) {
            Ok(())
        } else {
            Err(Failure::Outside {
                path: path.to_path_buf(),
            })
        }
    }

    fn manifest(&self, path: &Path) -> Result<Option<Json>, Failure> {
        let Some(text) = self.files.read(path) else {
            return Ok(None);
        };
        Json::parse(&text)
            .map(Some)
            .map_err(|message| Failure::BadPackageJson {
                path: path.to_path_buf(),
                message,
            })
    }

    /// `path`, or `path` with `.js` or `.json`, if it is a file.
    fn load_file(&self, path: &Path) -> Result<Option<PathBuf>, Failure> {
        if self.is(path, Kind::File)? {
            return Ok(Some(path.to_path_buf()));
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return Ok(None);
        };
        for ext in [".js", ".json", ".node"] {
            let candidate = path.with_file_name(format!("{name}{ext}"));
            if self.is(&candidate, Kind::File)? {
                return Ok(Some(candidate));
            }
        }
        Ok(None)
    }

    /// `index.js` / `index.json` in `dir`.
    fn load_index(&self, dir: &Path) -> Result<Option<PathBuf>, Failure> {
        for name in ["index.js", "index.json", "index.node"] {
            let candidate = dir.join(name);
            if self.is(&candidate, Kind::File)? {
                return Ok(Some(candidate));
            }
        }
        Ok(None)
    }

    /// `dir` as a package or folder: its `package.json` `main`, else its index.
    fn load_directory(&self, dir: &Path) -> Result<Option<PathBuf>, Failure> {
        if !self.is(dir, Kind::Dir)? {
            return Ok(None);
        }
        let package_json = dir.join("package.json");
        if let Some(manifest) = self.manifest(&package_json)? {
            if let Some(main) = manifest.get("main").and_then(Json::as_str) {
                if !main.is_empty() {
                    let main = normalize(&dir.join(main));
                    self.check_inside(&main)?;
                    if let Some(file) = self.load_file(&main)? {
                        return Ok(Some(file));
                    }
                    if let Some(file) = self.load_index(&main)? {
                        return Ok(Some(file));
                    }
                    // Node 20 falls back to the folder's index (with a warning), else
                    // names the bad `main`.
                    return match self.load_index(dir)? {
                        Some(file) => Ok(Some(file)),
                        None => Err(Failure::BadMain { main, package_json }),
                    };
                }
            }
        }
        self.load_index(dir)
    }

    fn package_exports(
        &self,
        package: &Path,
        package_json: &Path,
        exports: &Json,
        subpath: &str,
        system: System,
    ) -> Result<PathBuf, Failure> {
        let not_exported = || Failure::NotExported {
            subpath: subpath.to_string(),
            package_json: package_json.to_path_buf(),
        };
        let is_map = match exports {
            Json::Object(members) => members.first().is_some_and(|(k, _)| k.starts_with('.')),
            _ => false,
        };
        let target = if !is_map {
            if subpath != "." {
                return Err(not_exported());
            }
            self.target(package, exports, "", system)
        } else if let Some(target) = exports.get(subpath).filter(|_| !subpath.contains('*')) {
            self.target(package, target, "", system)
        } else {
            // The longest pattern (`./sub/*`, `./sub/*.js`) that matches.
            let Json::Object(members) = exports else {
                return Err(not_exported());
            };
            let mut best: Option<(&str, &Json, String)> = None;
            for (key, target) in members {
                let Some((prefix, suffix)) = key.split_once('*') else {
                    continue;
                };
                // Node's rule: the `*` matches at least one character.
                if subpath.len() >= key.len()
                    && subpath.starts_with(prefix)
                    && subpath.ends_with(suffix)
                    && best.as_ref().is_none_or(|(k, _, _)| pattern_longer(key, k))
                {
                    let matched = subpath[prefix.len()..subpath.len() - suffix.len()].to_string();
                    best = Some((key, target, matched));
                }
            }
            match best {
                Some((key, _, matched)) if has_invalid_segment(&matched) => {
                    return Err(Failure::InvalidSubpath {
                        subpath: subpath.to_string(),
                        pattern: key.to_string(),
                        package_json: package_json.to_path_buf(),
                    });
                }
                Some((_, target, matched)) => self.target(package, target, &matched, system),
                None => return Err(not_exported()),
            }
        };
        let target = target.map_err(|failure| match failure {
            Failure::InvalidTarget { target, .. } => Failure::InvalidTarget {
                target,
                package_json: package_json.to_path_buf(),
            },
            other => other,
        });
        let Target::Found(path) = target? else {
            return Err(not_exported());
        };
        if self.is(&path, Kind::File)? {
            Ok(path)
        } else {
            Err(Failure::ExportMissing { path })
        }
    }

    /// An `exports` target: a `./` string (with `*` replaced by `matched`), the first
    /// that resolves of an array, or the first condition of an object that applies —
    /// as Node's `resolvePackageTarget`, whose `null` (not exported: the search stops)
    /// and `undefined` (no condition applied: the search goes on) are kept apart.
    fn target(
        &self,
        package: &Path,
        target: &Json,
        matched: &str,
        system: System,
    ) -> Result<Target, Failure> {
        // (the package.json is filled in by `package_exports`)
        let invalid = |target: String| Failure::InvalidTarget {
            target,
            package_json: PathBuf::new(),
        };
        match target {
            Json::String(target) => {
                // Node: an `exports` target must be relative to the package.
                if !target.starts_with("./") {
                    return Err(invalid(target.clone()));
                }
                let path = normalize(&package.join(target.replace('*', matched)));
                if has_invalid_segment(&target[2..]) || !path.starts_with(package) {
                    return Err(invalid(target.clone()));
                }
                Ok(Target::Found(path))
            }
            Json::Array(targets) => {
                if targets.is_empty() {
                    return Ok(Target::Null);
                }
                // The first that resolves; an invalid one is passed over (and is the
                // error when none resolves), a `null` one clears that error, as in Node.
                let mut last: Result<Target, Failure> = Ok(Target::Unmatched);
                for target in targets {
                    match self.target(package, target, matched, system) {
                        Ok(Target::Found(path)) => return Ok(Target::Found(path)),
                        Ok(Target::Null) => last = Ok(Target::Null),
                        Ok(Target::Unmatched) => {}
                        Err(failure @ Failure::InvalidTarget { .. }) => last = Err(failure),
                        Err(failure) => return Err(failure),
                    }
                }
                last
            }
            Json::Object(conditions) => {
                for (condition, target) in conditions {
                    if system.conditions().contains(&condition.as_str()) {
                        match self.target(package, target, matched, system)? {
                            Target::Unmatched => {}
                            decided => return Ok(decided),
                        }
                    }
                }
                Ok(Target::Unmatched)
            }
            Json::Null => Ok(Target::Null),
            // A number or a boolean: not a target (Node: ERR_INVALID_PACKAGE_TARGET).
            Json::Bool(b) => Err(invalid(b.to_string())),
            Json::Number(n) => Err(invalid(n.to_string())),
        }
    }

    /// The `type` of the nearest `package.json` above `file` (within the root):
    /// whether a `.js` file there is an ES module.
    pub(crate) fn is_module_type(&self, file: &Path) -> bool {
        let mut dir = file.to_path_buf();
        while dir.pop() && dir.starts_with(self.root) {
            if let Ok(Some(manifest)) = self.manifest(&dir.join("package.json")) {
                return manifest.get("type").and_then(Json::as_str) == Some("module");
            }
        }
        false
    }
}

/// Whether `path` (an `exports` target after its `./`, or what a pattern's `*` matched)
/// has a `.`, `..` or `node_modules` segment, percent-encoded or not, in any case —
/// what Node refuses there, so that no pattern reaches files its package did not export.
fn has_invalid_segment(path: &str) -> bool {
    path.split(['/', '\\']).any(|segment| {
        let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
        let segment = decoded.to_ascii_lowercase();
        segment == "." || segment == ".." || segment == "node_modules"
    })
}

/// Whether the `exports` pattern `a` sorts before `b` in Node's PATTERN_KEY_COMPARE
/// (the longer prefix before the `*`, then the longer key).
fn pattern_longer(a: &str, b: &str) -> bool {
    let prefix = |k: &str| k.find('*').unwrap_or(k.len());
    let (pa, pb) = (prefix(a), prefix(b));
    pa > pb || (pa == pb && a.len() > b.len())
}

/// `@scope/name/sub` → (`@scope/name`, `/sub`); `name/sub` → (`name`, `/sub`).
pub(crate) fn split_package(request: &str) -> (&str, &str) {
    let mut slashes = request.match_indices('/');
    let end = if request.starts_with('@') {
        slashes.nth(1)
    } else {
        slashes.next()
    };
    match end {
        Some((at, _)) => request.split_at(at),
        None => (request, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Files in memory: path → text (folders are implied).
    struct Memory(BTreeMap<PathBuf, String>);

    impl Files for Memory {
        fn kind(&self, path: &Path) -> Kind {
            if self.0.contains_key(path) {
                Kind::File
            } else if self.0.keys().any(|k| k.starts_with(path)) {
                Kind::Dir
            } else {
                Kind::Missing
            }
        }
        fn read(&self, path: &Path) -> Option<String> {
            self.0.get(path).cloned()
        }
    }

    fn tree() -> Memory {
        let files = [
            ("/p/index.js", ""),
            ("/p/lib/a.js", ""),
            ("/p/lib.js", ""),
            ("/p/lib/index.js", ""),
            ("/p/lib/data.json", "{}"),
            ("/p/lib/dir/index.js", ""),
            ("/p/node_modules/plain/index.js", ""),
            (
                "/p/node_modules/main/package.json",
                r#"{"main": "lib/entry"}"#,
            ),
            ("/p/node_modules/main/lib/entry.js", ""),
            (
                "/p/node_modules/badmain/package.json",
                r#"{"main": "nope.js"}"#,
            ),
            (
                "/p/node_modules/cond/package.json",
                r#"{"exports": {".": {"import": "./esm.mjs", "require": "./cjs.js", "default": "./x.js"},
                    "./sub": "./lib/sub.js", "./features/*": "./src/*.js",
                    "./features/private/*": null, "./package.json": "./package.json"}}"#,
            ),
            ("/p/node_modules/cond/esm.mjs", ""),
            ("/p/node_modules/cond/cjs.js", ""),
            ("/p/node_modules/cond/lib/sub.js", ""),
            ("/p/node_modules/cond/src/one.js", ""),
            ("/p/node_modules/cond/src/private/two.js", ""),
            (
                "/p/node_modules/sugar/package.json",
                r#"{"exports": "./main.js"}"#,
            ),
            ("/p/node_modules/sugar/main.js", ""),
            ("/p/node_modules/@s/pkg/index.js", ""),
            ("/p/node_modules/@s/pkg/node_modules/inner/index.js", ""),
            (
                "/p/node_modules/order/package.json",
                r#"{"exports": {"default": "./d.js", "require": "./r.js"}}"#,
            ),
            ("/p/node_modules/order/d.js", ""),
            ("/p/node_modules/order/r.js", ""),
            (
                "/p/node_modules/bad/package.json",
                r#"{"exports": {"./up": "./../order/d.js", "./deep": "./lib/../d.js",
                    "./mods/*": "./node_modules/*.js"}}"#,
            ),
            ("/p/node_modules/bad/d.js", ""),
            ("/p/node_modules/lone.js", ""),
            ("/p/node_modules/@s/lone.json", ""),
            ("/p/node_modules/bad/node_modules/x.js", ""),
        ];
        Memory(
            files
                .iter()
                .map(|(p, t)| (PathBuf::from(p), t.to_string()))
                .collect(),
        )
    }

    fn resolve(
        files: &Memory,
        request: &str,
        from: &str,
        system: System,
    ) -> Result<PathBuf, Failure> {
        let resolver = Resolver {
            root: Path::new("/p"),
            files,
        };
        resolver.resolve(request, Path::new(from), system)
    }

    fn ok(request: &str, from: &str) -> String {
        let files = tree();
        let found = resolve(&files, request, from, System::Require);
        found.unwrap().to_string_lossy().into_owned()
    }

    #[test]
    fn relative_files_extensions_and_directories() {
        assert_eq!(ok("./lib/a", "/p"), "/p/lib/a.js");
        assert_eq!(ok("./lib/a.js", "/p"), "/p/lib/a.js");
        assert_eq!(ok("./data", "/p/lib"), "/p/lib/data.json");
        assert_eq!(ok("./dir", "/p/lib"), "/p/lib/dir/index.js");
        assert_eq!(ok("../..", "/p/lib/dir"), "/p/index.js");
        assert_eq!(ok("..", "/p/lib"), "/p/index.js");
        assert_eq!(ok("/p/lib/a", "/p/lib/dir"), "/p/lib/a.js");
        // `.`, `..` and paths ending so are directories only, as in Node.
        assert_eq!(ok("./lib", "/p"), "/p/lib.js");
        assert_eq!(ok("./lib/dir/..", "/p"), "/p/lib/index.js");
        assert_eq!(ok("..", "/p/lib/dir"), "/p/lib/index.js");
        assert_eq!(ok(".", "/p/lib"), "/p/lib/index.js");
        assert_eq!(ok("./lib/.", "/p"), "/p/lib/index.js");
    }

    #[test]
    fn packages_main_index_and_scopes() {
        assert_eq!(ok("plain", "/p/lib"), "/p/node_modules/plain/index.js");
        assert_eq!(ok("main", "/p"), "/p/node_modules/main/lib/entry.js");
        assert_eq!(ok("@s/pkg", "/p"), "/p/node_modules/@s/pkg/index.js");
        let inner = ok("inner", "/p/node_modules/@s/pkg");
        assert_eq!(inner, "/p/node_modules/@s/pkg/node_modules/inner/index.js");
        let files = tree();
        // A package that is a lone file, as Node finds it.
        assert_eq!(
            resolve(&files, "lone", "/p/lib", System::Require),
            Ok(PathBuf::from("/p/node_modules/lone.js"))
        );
        assert_eq!(
            resolve(&files, "@s/lone", "/p", System::Require),
            Ok(PathBuf::from("/p/node_modules/@s/lone.json"))
        );
        let bad = resolve(&files, "badmain", "/p", System::Require);
        assert!(matches!(bad, Err(Failure::BadMain { .. })), "{bad:?}");
    }

    #[test]
    fn exports_conditions_subpaths_and_patterns() {
        let files = tree();
        let get = |request: &str, system| resolve(&files, request, "/p", system);
        let path = |p: &str| Ok(PathBuf::from(p));
        assert_eq!(
            get("cond", System::Require),
            path("/p/node_modules/cond/cjs.js")
        );
        assert_eq!(
            get("cond", System::Import),
            path("/p/node_modules/cond/esm.mjs")
        );
        assert_eq!(
            get("cond/sub", System::Require),
            path("/p/node_modules/cond/lib/sub.js")
        );
        assert_eq!(
            get("cond/features/one", System::Require),
            path("/p/node_modules/cond/src/one.js")
        );
        assert!(matches!(
            get("cond/features/private/two", System::Require),
            Err(Failure::NotExported { .. })
        ));
        assert!(matches!(
            get("cond/lib/sub.js", System::Require),
            Err(Failure::NotExported { .. })
        ));
        assert!(matches!(
            get("cond/features/none", System::Require),
            Err(Failure::ExportMissing { .. })
        ));
        assert_eq!(
            get("sugar", System::Require),
            path("/p/node_modules/sugar/main.js")
        );
        // No pattern match walks out of what is exported, nor matches nothing.
        for request in [
            "cond/features/../lib/sub",
            "cond/features/./one",
            "cond/features/x/%2e%2e/private/two",
            "cond/features/Node_Modules/x",
        ] {
            let got = get(request, System::Require);
            assert!(
                matches!(got, Err(Failure::InvalidSubpath { .. })),
                "{request}: {got:?}"
            );
        }
        assert!(matches!(
            get("cond/features/", System::Require),
            Err(Failure::NotExported { .. })
        ));
        // Nor does a target, even inside its package.
        for request in ["bad/up", "bad/deep", "bad/mods/x"] {
            let got = get(request, System::Require);
            assert!(
                matches!(&got, Err(Failure::InvalidTarget { package_json, .. })
                    if package_json.ends_with("bad/package.json")),
                "{request}: {got:?}"
            );
        }
        // Conditions go in the object's order: "default" first wins.
        assert_eq!(
            get("order", System::Require),
            path("/p/node_modules/order/d.js")
        );
    }

    #[test]
    fn not_found_lists_the_folders_and_escapes_are_refused() {
        let files = tree();
        let missing = resolve(&files, "nope", "/p/lib/dir", System::Require);
        let searched = [
            "/p/lib/dir/node_modules",
            "/p/lib/node_modules",
            "/p/node_modules",
        ];
        let searched = searched.iter().map(PathBuf::from).collect();
        assert_eq!(missing, Err(Failure::NotFound { searched }));
        let escape = resolve(&files, "../../etc/passwd", "/p/lib", System::Require);
        assert!(matches!(escape, Err(Failure::Outside { .. })), "{escape:?}");
        let escape = resolve(&files, "/etc/passwd", "/p", System::Require);
        assert!(matches!(escape, Err(Failure::Outside { .. })), "{escape:?}");
        let escape = resolve(&files, "plain/../../../x", "/p", System::Require);
        assert!(matches!(escape, Err(Failure::Outside { .. })), "{escape:?}");
    }

    #[test]
    fn package_names_split() {
        assert_eq!(split_package("a"), ("a", ""));
        assert_eq!(split_package("a/b/c"), ("a", "/b/c"));
        assert_eq!(split_package("@s/a/b"), ("@s/a", "/b"));
        assert_eq!(split_package("@s/a"), ("@s/a", ""));
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    }
}
