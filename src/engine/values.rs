//! Values across the boundary: a small tagged binary format (the *wire format*) that
//! JavaScript values are written to and read from, so that callers get real values —
//! numbers, strings, arrays, objects, dates, bytes, maps, sets, big integers — and
//! not just `String(value)`.
//!
//! Every value starts with a one-byte tag; integers are little-endian.
//!
//! | tag | value | payload |
//! | --- | --- | --- |
//! | `u` | undefined | — |
//! | `n` | null | — |
//! | `t` / `f` | true / false | — |
//! | `i` | an integral number, \|x\| ≤ 2^53, not -0 | i64 |
//! | `d` | any other number | f64 |
//! | `N` | BigInt | u8 sign (1: negative), u32 word count, u64 words (least significant first) |
//! | `l` | string of Latin-1 characters | u32 length, one byte each |
//! | `w` | other string | u32 length in UTF-16 code units, two bytes each (lone surrogates kept) |
//! | `a` | Array | u32 length, values (holes are `u`) |
//! | `o` | plain object | u32 count, (string key, value) pairs: own enumerable string keys |
//! | `D` | Date | f64 milliseconds since the epoch |
//! | `B` | ArrayBuffer, typed array, DataView (as a `Uint8Array` when read) | u32 length, bytes |
//! | `M` | Map | u32 count, (key, value) pairs |
//! | `S` | Set | u32 count, values |
//! | `J` | the value of a JSON text (a fast path) | u32 length, UTF-8 JSON |
//! | `T` | a Temporal value | u8 kind, u32 length, its UTF-8 ISO 8601 text (`toString()`) |
//!
//! The kinds of `T`: `I` Instant, `Z` ZonedDateTime, `D` PlainDate, `d` PlainDateTime,
//! `t` PlainTime, `R` Duration, `Y` PlainYearMonth, `M` PlainMonthDay; a ZonedDateTime's
//! text is its exact instant and zone, `2024-01-05T09:00:00Z[Europe/Paris]` (its
//! `toString()` rounds historic offsets to minutes). V8's API has no
//! Temporal types, so a context's [`Temporal`] helpers (from the intrinsics it had when
//! it was made) tell them apart and make them; without helpers they are plain objects.
//!
//! A value that JSON says exactly (`undefined` counting as `null`) is *written* as one
//! `J` — readers parse that with their fastest JSON parser; callers may send `J` too.
//!
//! Values with no faithful form here — functions, symbols, RegExps, Errors, Promises,
//! WeakMaps, cyclic structures, nesting deeper than `MAX_DEPTH` (512) or than the
//! calling thread's stack allows — fail with [`Code::Conversion`] and a message that
//! says where, never silently (and never by overflowing the stack).

use crate::engine::error::{Code, Error};

/// How a call that returns a value (eval, call, run_module) treats its result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallFlags {
    /// Settle a Promise result first (the event loop runs until it settles).
    pub await_promise: bool,
    /// The caller reads `J` (JSON text) values, so a JSON-exact result may be written
    /// as one.
    pub accept_json: bool,
    /// Honour the script's `//# sourceMappingURL=` (its name taken as a path): errors
    /// then show original positions (see `source_map.rs`).
    pub source_maps: bool,
}

/// A context's Temporal helpers, made by `exact_json.js` from the intrinsics it found.
#[derive(Clone, Copy)]
pub(crate) struct Temporal<'s> {
    /// `temporalText(value)`: `[kind, text]` for a Temporal value, else `undefined`.
    pub(crate) text: v8::Local<'s, v8::Function>,
    /// `temporalFrom(kind, text)`: the Temporal value of that kind (it throws for a
    /// text that is not one).
    pub(crate) from: v8::Local<'s, v8::Function>,
}

/// The constructor names of Temporal values (only objects with one are asked about).
const TEMPORAL_NAMES: [&str; 8] = [
    "Instant",
    "ZonedDateTime",
    "PlainDate",
    "PlainDateTime",
    "PlainTime",
    "Duration",
    "PlainYearMonth",
    "PlainMonthDay",
];

/// The kind bytes of `T`.
const TEMPORAL_KINDS: &[u8] = b"IZDdtRYM";

/// How deep arrays, objects, maps and sets may nest.
pub(crate) const MAX_DEPTH: usize = 512;

/// The error for a value nested deeper than the thread's stack allows.
fn too_deep_for_the_stack(at: &str) -> Error {
    Error::new(
        Code::Conversion,
        format!(
            "cannot convert the value at {at}: it nests too deeply for the stack of this \
             thread"
        ),
    )
}
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_992.0; // 2^53

/// Where a value sits in the result, kept on the stack and spelled out only for an
/// error message (so converting a large value allocates no paths).
enum Path<'p, 's> {
    Root,
    Index(&'p Path<'p, 's>, usize),
    Key(&'p Path<'p, 's>, v8::Local<'s, v8::String>),
    Entry(&'p Path<'p, 's>, &'static str, usize),
}

impl Path<'_, '_> {
    /// The path as text, built without recursion (it may be as deep as the value).
    fn render(&self, scope: &mut v8::PinScope<'_, '_>) -> String {
        let mut parts = Vec::new();
        let mut at = self;
        loop {
            let (part, parent) = match at {
                Path::Root => break,
                Path::Index(parent, i) => (format!("[{i}]"), parent),
                Path::Key(parent, key) => (format!(".{}", key.to_rust_string_lossy(scope)), parent),
                Path::Entry(parent, what, i) => (format!(" ({what} {i})"), parent),
            };
            parts.push(part);
            at = parent;
        }
        let mut out = "result".to_string();
        out.extend(parts.into_iter().rev());
        out
    }

    /// A conversion error for `what` here, with a hint of what to do instead.
    fn error_with(
        &self,
        scope: &mut v8::PinScope<'_, '_>,
        what: &str,
        hint: &str,
    ) -> Option<Error> {
        Some(Error::new(
            Code::Conversion,
            format!("cannot convert {what} at {}: {hint}", self.render(scope)),
        ))
    }

    fn error(&self, scope: &mut v8::PinScope<'_, '_>, what: &str) -> Option<Error> {
        Some(Error::new(
            Code::Conversion,
            format!(
                "cannot convert {what} at {}: it has no equivalent outside JavaScript",
                self.render(scope)
            ),
        ))
    }
}

/// Writes `value` in the wire format. Getters and proxy traps run; a JavaScript
/// exception they throw is left in the scope's TryCatch and reported as `None` inside
/// `Err(None)`.
pub(crate) fn write<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    value: v8::Local<'s, v8::Value>,
    out: &mut Vec<u8>,
    accept_json: bool,
    temporal: Option<Temporal<'s>>,
) -> Result<(), Option<Error>> {
    let mut seen = Vec::new();
    // A lone string reads faster in its own form than as a JSON text.
    let mut writer = Writer {
        out,
        seen: &mut seen,
        json: (accept_json && !value.is_string()).then(Vec::new),
        temporal,
        values: 0,
    };
    writer.value(scope, value, &Path::Root, 0)?;
    // A value that JSON says exactly goes as JSON text: callers parse that with their
    // fastest parser (Python's C `json`), many times faster than tag by tag.
    if let Some(json) = writer.json.take() {
        if let Ok(n) = u32::try_from(json.len()) {
            out.clear();
            out.push(b'J');
            out.extend_from_slice(&n.to_le_bytes());
            out.extend_from_slice(&json);
        }
    }
    Ok(())
}

/// Writes `text` — the JSON text of a value, from a context's `exactJson` — as the
/// wire format's JSON form.
pub(crate) fn write_json_text(
    scope: &mut v8::PinScope<'_, '_>,
    text: v8::Local<'_, v8::String>,
    out: &mut Vec<u8>,
) -> Result<(), Option<Error>> {
    let n = text.utf8_length(scope);
    let len = u32::try_from(n).map_err(|_| {
        Some(Error::new(
            Code::Conversion,
            "cannot convert a value longer than 2^32 bytes",
        ))
    })?;
    out.reserve(5 + n);
    out.push(b'J');
    out.extend_from_slice(&len.to_le_bytes());
    let start = out.len();
    out.resize(start + n, 0);
    let written = text.write_utf8_v2(scope, &mut out[start..], v8::WriteFlags::empty(), None);
    out.truncate(start + written);
    Ok(())
}

/// The most memory one conversion of a VM with heap limit `heap_limit` may hold: 4
/// times that limit (a value's converted form is larger than its heap form: a double
/// of 8 bytes is up to 33 bytes of wire format and JSON), and at least 64 MiB.
fn conversion_limit(heap_limit: usize) -> usize {
    heap_limit.saturating_mul(4).max(64 << 20)
}

struct Writer<'a, 's> {
    out: &'a mut Vec<u8>,
    seen: &'a mut Vec<v8::Local<'s, v8::Object>>,
    /// The same value as JSON text, while everything so far had an exact JSON form
    /// (`undefined` and holes read back as `null`, like in the tagged form).
    json: Option<Vec<u8>>,
    /// The context's Temporal helpers, if it has them.
    temporal: Option<Temporal<'s>>,
    /// The values written so far (each holds a V8 handle until the conversion ends).
    values: usize,
}

/// How often a conversion looks whether its call was stopped and how large it grew:
/// every this many values. Nothing else interrupts it, as no JavaScript runs while it
/// reads an array's holes (`new Array(3e7)` took 5.6 s and 1.3 GB past a timeout).
const CHECK_EVERY: usize = 4096;

impl<'s> Writer<'_, 's> {
    /// Fails the conversion when its call was stopped (the termination is then in the
    /// scope's `TryCatch`: `Err(None)`), or when what it holds — the wire format, the
    /// JSON text and a handle per value — passes [`conversion_limit`] for the VM's heap
    /// limit.
    fn check(&mut self, scope: &mut v8::PinScope<'s, '_>) -> Result<(), Option<Error>> {
        if crate::engine::call::stop_requested_meanwhile(scope) {
            return Err(None);
        }
        let heap_limit =
            crate::engine::vm::VmShared::of(scope).map_or(0, |shared| shared.heap_limit);
        let held = self.out.len() + self.json.as_ref().map_or(0, Vec::len) + 8 * self.values;
        let limit = conversion_limit(heap_limit);
        if held > limit {
            return Err(Some(Error::new(
                Code::OutOfMemory,
                format!(
                    "cannot convert the value: its conversion passed {} MiB (4 times the VM's \
                     heap limit of {} MiB); an array's holes count as undefined each",
                    limit >> 20,
                    heap_limit >> 20
                ),
            )));
        }
        Ok(())
    }

    /// Appends to the JSON text, if there still is one.
    fn j(&mut self, bytes: &[u8]) {
        if let Some(json) = &mut self.json {
            json.extend_from_slice(bytes);
        }
    }

    /// Appends `units` (UTF-16, or Latin-1 widened) as a JSON string: UTF-8, with only
    /// quotes, backslashes, control characters and lone surrogates escaped.
    fn j_string(&mut self, units: impl Iterator<Item = u16>) {
        use std::io::Write;
        let Some(json) = &mut self.json else { return };
        json.push(b'"');
        for c in char::decode_utf16(units) {
            match c {
                Ok('"') => json.extend_from_slice(b"\\\""),
                Ok('\\') => json.extend_from_slice(b"\\\\"),
                Ok(c) if c < ' ' => {
                    let _ = write!(json, "\\u{:04x}", c as u32);
                }
                Ok(c) => {
                    let mut buffer = [0; 4];
                    json.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
                }
                Err(lone) => {
                    let _ = write!(json, "\\u{:04x}", lone.unpaired_surrogate());
                }
            }
        }
        json.push(b'"');
    }

    fn len(
        &mut self,
        scope: &mut v8::PinScope<'s, '_>,
        n: usize,
        path: &Path<'_, 's>,
    ) -> Result<(), Option<Error>> {
        let n = u32::try_from(n).map_err(|_| path.error(scope, "a value longer than 2^32"))?;
        self.out.extend_from_slice(&n.to_le_bytes());
        Ok(())
    }

    fn string(&mut self, scope: &mut v8::PinScope<'s, '_>, s: v8::Local<'s, v8::String>) {
        let n = s.length();
        if s.is_onebyte() {
            self.out.reserve(5 + n);
            self.out.push(b'l');
            self.out.extend_from_slice(&(n as u32).to_le_bytes());
            let start = self.out.len();
            self.out.resize(start + n, 0);
            s.write_one_byte_v2(scope, 0, &mut self.out[start..], v8::WriteFlags::empty());
            if self.json.is_some() {
                let latin1 = self.out[start..].to_vec();
                self.j_string(latin1.into_iter().map(u16::from));
            }
        } else {
            self.out.reserve(5 + 2 * n);
            self.out.push(b'w');
            self.out.extend_from_slice(&(n as u32).to_le_bytes());
            let mut units = vec![0u16; n];
            s.write_v2(scope, 0, &mut units, v8::WriteFlags::empty());
            for unit in &units {
                self.out.extend_from_slice(&unit.to_le_bytes());
            }
            self.j_string(units.into_iter());
        }
    }

    fn value(
        &mut self,
        scope: &mut v8::PinScope<'s, '_>,
        value: v8::Local<'s, v8::Value>,
        path: &Path<'_, 's>,
        depth: usize,
    ) -> Result<(), Option<Error>> {
        self.values += 1;
        if self.values.is_multiple_of(CHECK_EVERY) {
            self.check(scope)?;
        }
        if value.is_undefined() {
            self.out.push(b'u');
            self.j(b"null");
        } else if value.is_null() {
            self.out.push(b'n');
            self.j(b"null");
        } else if value.is_boolean() {
            let yes = value.is_true();
            self.out.push(if yes { b't' } else { b'f' });
            self.j(if yes { b"true" } else { b"false" });
        } else if value.is_number() {
            let x = value.number_value(scope).unwrap_or(f64::NAN);
            if x.fract() == 0.0
                && x.abs() <= MAX_SAFE_INTEGER
                && !(x == 0.0 && x.is_sign_negative())
            {
                self.out.push(b'i');
                self.out.extend_from_slice(&(x as i64).to_le_bytes());
                self.j((x as i64).to_string().as_bytes());
            } else {
                self.out.push(b'd');
                self.out.extend_from_slice(&x.to_le_bytes());
                if x.is_finite() {
                    // `{:?}` always has a '.' or an exponent: JSON readers make it a float.
                    self.j(format!("{x:?}").as_bytes());
                } else {
                    self.json = None;
                }
            }
        } else if let Ok(big) = v8::Local::<v8::BigInt>::try_from(value) {
            self.json = None;
            let mut words = vec![0u64; big.word_count()];
            let (negative, words) = big.to_words_array(&mut words);
            self.out.push(b'N');
            self.out.push(negative as u8);
            self.len(scope, words.len(), path)?;
            for w in words.iter() {
                self.out.extend_from_slice(&w.to_le_bytes());
            }
        } else if let Ok(s) = v8::Local::<v8::String>::try_from(value) {
            self.string(scope, s);
        } else if value.is_symbol() {
            return Err(path.error(scope, "a Symbol"));
        } else if value.is_function() {
            return Err(path.error(scope, "a function"));
        } else if let Ok(date) = v8::Local::<v8::Date>::try_from(value) {
            self.json = None;
            self.out.push(b'D');
            self.out.extend_from_slice(&date.value_of().to_le_bytes());
        } else if let Ok(view) = v8::Local::<v8::ArrayBufferView>::try_from(value) {
            let mut bytes = vec![0u8; view.byte_length()];
            view.copy_contents(&mut bytes);
            self.bytes(scope, &bytes, path)?;
        } else if let Ok(buffer) = v8::Local::<v8::ArrayBuffer>::try_from(value) {
            let length = buffer.byte_length();
            let store = buffer.get_backing_store();
            let bytes: Vec<u8> = match store.data() {
                // SAFETY: the backing store holds `length` bytes and lives while `store` does.
                Some(data) => {
                    unsafe { std::slice::from_raw_parts(data.as_ptr() as *const u8, length) }
                        .to_vec()
                }
                None => Vec::new(),
            };
            self.bytes(scope, &bytes, path)?;
        } else if value.is_reg_exp() {
            return Err(path.error(scope, "a RegExp"));
        } else if value.is_native_error() {
            return Err(path.error(scope, "an Error"));
        } else if value.is_promise() {
            return Err(path.error(scope, "a Promise (await it instead)"));
        } else if value.is_weak_map() || value.is_weak_set() || value.is_shared_array_buffer() {
            return Err(path.error(scope, "a WeakMap, WeakSet or SharedArrayBuffer"));
        } else if let Ok(object) = v8::Local::<v8::Object>::try_from(value) {
            if self.temporal_value(scope, object, path)? {
                return Ok(());
            }
            match fetch_class(scope, object) {
                Some(FetchClass::Headers) => {
                    let pairs = headers_pairs(scope, object).ok_or(None)?;
                    self.container(scope, pairs.into(), path, depth)?;
                }
                Some(FetchClass::WithBody(name)) => {
                    return Err(path.error_with(
                        scope,
                        name,
                        "read it in JavaScript first (await response.json(), .text(), \
                         .bytes() or .arrayBuffer()) and return what you read",
                    ));
                }
                None => self.container(scope, object, path, depth)?,
            }
        } else {
            return Err(path.error(scope, "this kind of value"));
        }
        Ok(())
    }

    /// Writes `object` as `T` when it is a Temporal value; whether it was one.
    fn temporal_value(
        &mut self,
        scope: &mut v8::PinScope<'s, '_>,
        object: v8::Local<'s, v8::Object>,
        path: &Path<'_, 's>,
    ) -> Result<bool, Option<Error>> {
        let Some(temporal) = self.temporal else {
            return Ok(false);
        };
        let name = object.get_constructor_name();
        if !(7..=14).contains(&name.length())
            || !TEMPORAL_NAMES.contains(&name.to_rust_string_lossy(scope).as_str())
        {
            return Ok(false);
        }
        let receiver = v8::undefined(scope).into();
        let described = temporal
            .text
            .call(scope, receiver, &[object.into()])
            .ok_or(None)?;
        let Ok(described) = v8::Local::<v8::Array>::try_from(described) else {
            return Ok(false); // a look-alike: an object like any other
        };
        let kind = described.get_index(scope, 0).ok_or(None)?;
        let text = described.get_index(scope, 1).ok_or(None)?;
        let kind = kind.to_rust_string_lossy(scope);
        let text = text.to_rust_string_lossy(scope);
        let &[kind] = kind.as_bytes() else {
            return Ok(false);
        };
        self.json = None;
        self.out.push(b'T');
        self.out.push(kind);
        self.len(scope, text.len(), path)?;
        self.out.extend_from_slice(text.as_bytes());
        Ok(true)
    }

    fn bytes(
        &mut self,
        scope: &mut v8::PinScope<'s, '_>,
        bytes: &[u8],
        path: &Path<'_, 's>,
    ) -> Result<(), Option<Error>> {
        self.json = None;
        self.out.push(b'B');
        self.len(scope, bytes.len(), path)?;
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    fn container(
        &mut self,
        scope: &mut v8::PinScope<'s, '_>,
        object: v8::Local<'s, v8::Object>,
        path: &Path<'_, 's>,
        depth: usize,
    ) -> Result<(), Option<Error>> {
        if depth >= MAX_DEPTH {
            return Err(Some(Error::new(
                Code::Conversion,
                format!(
                    "cannot convert the value at {}: it nests deeper than {MAX_DEPTH} levels",
                    path.render(scope)
                ),
            )));
        }
        if !crate::engine::stack::has_room() {
            return Err(Some(too_deep_for_the_stack(&path.render(scope))));
        }
        if self.seen.iter().any(|o| o.strict_equals(object.into())) {
            return Err(Some(Error::new(
                Code::Conversion,
                format!(
                    "cannot convert the value at {}: it contains itself (a cycle)",
                    path.render(scope)
                ),
            )));
        }
        self.seen.push(object);
        let result = self.container_items(scope, object, path, depth);
        self.seen.pop();
        result
    }

    fn container_items(
        &mut self,
        scope: &mut v8::PinScope<'s, '_>,
        object: v8::Local<'s, v8::Object>,
        path: &Path<'_, 's>,
        depth: usize,
    ) -> Result<(), Option<Error>> {
        if let Ok(array) = v8::Local::<v8::Array>::try_from(object) {
            let n = array.length() as usize;
            self.out.push(b'a');
            self.len(scope, n, path)?;
            self.j(b"[");
            for i in 0..n {
                if i > 0 {
                    self.j(b",");
                }
                let item = array.get_index(scope, i as u32).ok_or(None)?;
                self.value(scope, item, &Path::Index(path, i), depth + 1)?;
            }
            self.j(b"]");
        } else if let Ok(map) = v8::Local::<v8::Map>::try_from(object) {
            let pairs = map.as_array(scope);
            let n = pairs.length() as usize / 2;
            self.json = None;
            self.out.push(b'M');
            self.len(scope, n, path)?;
            for i in 0..n {
                let key = pairs.get_index(scope, (2 * i) as u32).ok_or(None)?;
                let value = pairs.get_index(scope, (2 * i + 1) as u32).ok_or(None)?;
                self.value(scope, key, &Path::Entry(path, "key", i), depth + 1)?;
                self.value(scope, value, &Path::Entry(path, "value", i), depth + 1)?;
            }
        } else if let Ok(set) = v8::Local::<v8::Set>::try_from(object) {
            let items = set.as_array(scope);
            let n = items.length() as usize;
            self.json = None;
            self.out.push(b'S');
            self.len(scope, n, path)?;
            for i in 0..n {
                let item = items.get_index(scope, i as u32).ok_or(None)?;
                self.value(scope, item, &Path::Entry(path, "item", i), depth + 1)?;
            }
        } else {
            let args = v8::GetPropertyNamesArgsBuilder::new()
                .mode(v8::KeyCollectionMode::OwnOnly)
                .key_conversion(v8::KeyConversionMode::ConvertToString)
                .build();
            let keys = object.get_own_property_names(scope, args).ok_or(None)?;
            let n = keys.length() as usize;
            self.out.push(b'o');
            self.len(scope, n, path)?;
            self.j(b"{");
            for i in 0..n {
                if i > 0 {
                    self.j(b",");
                }
                let key = keys.get_index(scope, i as u32).ok_or(None)?;
                let key_string = key.to_string(scope).ok_or(None)?;
                self.string(scope, key_string);
                self.j(b":");
                let value = object.get(scope, key).ok_or(None)?;
                self.value(scope, value, &Path::Key(path, key_string), depth + 1)?;
            }
            self.j(b"}");
        }
        Ok(())
    }
}

/// The classes of `fetch` (`web/fetch.js`) that convert specially.
enum FetchClass {
    /// `Headers`: a list of `[name, value]` pairs, as its iteration gives them.
    Headers,
    /// A class whose body must be read first (a conversion error names it).
    WithBody(&'static str),
}

/// Which of the `fetch` classes `object` is an instance of, by its constructor's name
/// (an object whose prototype chain says `Response`…), if any.
fn fetch_class(
    scope: &mut v8::PinScope<'_, '_>,
    object: v8::Local<'_, v8::Object>,
) -> Option<FetchClass> {
    let name = object.get_constructor_name().to_rust_string_lossy(scope);
    match name.as_str() {
        "Headers" => Some(FetchClass::Headers),
        "Response" => Some(FetchClass::WithBody("a Response")),
        "Request" => Some(FetchClass::WithBody("a Request")),
        "Blob" => Some(FetchClass::WithBody("a Blob")),
        "File" => Some(FetchClass::WithBody("a File")),
        "FormData" => Some(FetchClass::WithBody("a FormData")),
        "ReadableStream" => Some(FetchClass::WithBody("a ReadableStream")),
        _ => None,
    }
}

/// The `[name, value]` pairs of a `Headers` (its `entries()`, iterated); `None`: it
/// threw (the exception is in the scope's TryCatch), or it is no iterable.
fn headers_pairs<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    headers: v8::Local<'s, v8::Object>,
) -> Option<v8::Local<'s, v8::Array>> {
    let key = v8::String::new(scope, "entries")?;
    let entries = v8::Local::<v8::Function>::try_from(headers.get(scope, key.into())?).ok()?;
    let iterator = entries.call(scope, headers.into(), &[])?;
    let iterator = v8::Local::<v8::Object>::try_from(iterator).ok()?;
    let next_key = v8::String::new(scope, "next")?;
    let next = v8::Local::<v8::Function>::try_from(iterator.get(scope, next_key.into())?).ok()?;
    let done_key = v8::String::new(scope, "done")?;
    let value_key = v8::String::new(scope, "value")?;
    let pairs = v8::Array::new(scope, 0);
    for index in 0..u32::MAX {
        let step = next.call(scope, iterator.into(), &[])?;
        let step = v8::Local::<v8::Object>::try_from(step).ok()?;
        if step.get(scope, done_key.into())?.boolean_value(scope) {
            break;
        }
        let value = step.get(scope, value_key.into())?;
        pairs.set_index(scope, index, value)?;
    }
    Some(pairs)
}

/// Reads one value in the wire format (all of `bytes`) into a JavaScript value.
pub(crate) fn read<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    bytes: &[u8],
    temporal: Option<Temporal<'s>>,
) -> Result<v8::Local<'s, v8::Value>, Error> {
    let mut reader = Reader {
        bytes,
        at: 0,
        temporal,
    };
    let value = reader.value(scope, 0)?;
    if reader.at != bytes.len() {
        return Err(reader.bad("trailing bytes after the value"));
    }
    Ok(value)
}

/// The value of the UTF-8 JSON text `text` (a call's arguments given as JSON).
pub(crate) fn read_json<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    text: &[u8],
) -> Result<v8::Local<'s, v8::Value>, Error> {
    parse_json(scope, text).map_err(|e| {
        e.unwrap_or_else(|| Error::invalid_argument("malformed value: invalid JSON text"))
    })
}

/// `JSON.parse` of the UTF-8 `text`: `Err(None)` when it is not JSON.
fn parse_json<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    text: &[u8],
) -> Result<v8::Local<'s, v8::Value>, Option<Error>> {
    // Most JSON texts are ASCII (orjson escapes nothing, but keys and values usually
    // are): then V8 need not decode them.
    let text = if text.is_ascii() {
        v8::String::new_from_one_byte(scope, text, v8::NewStringType::Normal)
    } else if std::str::from_utf8(text).is_ok() {
        v8::String::new_from_utf8(scope, text, v8::NewStringType::Normal)
    } else {
        return Err(None); // not UTF-8, so not JSON
    };
    let text = text.ok_or_else(|| {
        Some(Error::new(
            Code::OutOfMemory,
            "a JSON text is larger than V8 allows",
        ))
    })?;
    v8::json::parse(scope, text).ok_or(None)
}

struct Reader<'b, 's> {
    bytes: &'b [u8],
    at: usize,
    /// The context's Temporal helpers, if it has them.
    temporal: Option<Temporal<'s>>,
}

impl<'s> Reader<'_, 's> {
    fn bad(&self, why: &str) -> Error {
        Error::invalid_argument(format!("malformed value at byte {}: {why}", self.at))
    }

    fn take(&mut self, n: usize) -> Result<&[u8], Error> {
        if self.bytes.len() - self.at < n {
            return Err(self.bad("it ends early"));
        }
        let slice = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(slice)
    }

    fn u32(&mut self) -> Result<usize, Error> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()) as usize)
    }

    fn f64(&mut self) -> Result<f64, Error> {
        Ok(f64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }

    fn string(
        &mut self,
        scope: &mut v8::PinScope<'s, '_>,
        tag: u8,
    ) -> Result<v8::Local<'s, v8::String>, Error> {
        let n = self.u32()?;
        let made = match tag {
            b'l' => v8::String::new_from_one_byte(scope, self.take(n)?, v8::NewStringType::Normal),
            _ => {
                let raw = self.take(
                    n.checked_mul(2)
                        .ok_or_else(|| self.bad("length overflows"))?,
                )?;
                let units: Vec<u16> = raw
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                v8::String::new_from_two_byte(scope, &units, v8::NewStringType::Normal)
            }
        };
        made.ok_or_else(|| Error::new(Code::OutOfMemory, "a string is larger than V8 allows"))
    }

    /// A `T` value (after its tag), made by the context's `temporalFrom`.
    fn temporal(
        &mut self,
        scope: &mut v8::PinScope<'s, '_>,
    ) -> Result<v8::Local<'s, v8::Value>, Error> {
        let kind = self.take(1)?[0];
        if !TEMPORAL_KINDS.contains(&kind) {
            return Err(self.bad("an unknown kind of Temporal value"));
        }
        let n = self.u32()?;
        let text = String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| self.bad("a Temporal text that is not UTF-8"))?;
        let Some(temporal) = self.temporal else {
            return Err(Error::new(
                Code::Conversion,
                "Temporal values can only be made in a context",
            ));
        };
        let kind = v8::String::new_from_one_byte(scope, &[kind], v8::NewStringType::Normal);
        let text_value = v8::String::new(scope, &text);
        let (Some(kind), Some(text_value)) = (kind, text_value) else {
            return Err(Error::new(
                Code::OutOfMemory,
                "a string is larger than V8 allows",
            ));
        };
        // A text that is not one throws (the caller's TryCatch holds it; this error wins).
        let receiver = v8::undefined(scope).into();
        match temporal
            .from
            .call(scope, receiver, &[kind.into(), text_value.into()])
        {
            Some(value) => Ok(value),
            None => {
                let shown: String = text.chars().take(80).collect();
                let more = if shown.len() < text.len() { "…" } else { "" };
                Err(Error::invalid_argument(format!(
                    "malformed value: {shown:?}{more} is not a Temporal value of its kind"
                )))
            }
        }
    }

    fn value(
        &mut self,
        scope: &mut v8::PinScope<'s, '_>,
        depth: usize,
    ) -> Result<v8::Local<'s, v8::Value>, Error> {
        if depth > MAX_DEPTH {
            return Err(self.bad("it nests too deeply"));
        }
        if !crate::engine::stack::has_room() {
            return Err(too_deep_for_the_stack(&format!("byte {}", self.at)));
        }
        let tag = self.take(1)?[0];
        Ok(match tag {
            b'u' => v8::undefined(scope).into(),
            b'n' => v8::null(scope).into(),
            b't' => v8::Boolean::new(scope, true).into(),
            b'f' => v8::Boolean::new(scope, false).into(),
            b'i' => {
                let n = i64::from_le_bytes(self.take(8)?.try_into().unwrap());
                v8::Number::new(scope, n as f64).into()
            }
            b'd' => {
                let x = self.f64()?;
                v8::Number::new(scope, x).into()
            }
            b'N' => {
                let negative = self.take(1)?[0] != 0;
                let n = self.u32()?;
                let raw = self.take(
                    n.checked_mul(8)
                        .ok_or_else(|| self.bad("length overflows"))?,
                )?;
                let words: Vec<u64> = raw
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
                    .collect();
                v8::BigInt::new_from_words(scope, negative, &words)
                    .ok_or_else(|| {
                        Error::new(Code::OutOfMemory, "a BigInt is larger than V8 allows")
                    })?
                    .into()
            }
            b'l' | b'w' => self.string(scope, tag)?.into(),
            b'a' => {
                let n = self.u32()?;
                let mut items = Vec::with_capacity(n.min(1 << 16));
                for _ in 0..n {
                    items.push(self.value(scope, depth + 1)?);
                }
                v8::Array::new_with_elements(scope, &items).into()
            }
            b'o' => {
                let n = self.u32()?;
                let object = v8::Object::new(scope);
                for _ in 0..n {
                    let key_tag = self.take(1)?[0];
                    if key_tag != b'l' && key_tag != b'w' {
                        return Err(self.bad("an object key is not a string"));
                    }
                    let key = self.string(scope, key_tag)?;
                    let value = self.value(scope, depth + 1)?;
                    object.create_data_property(scope, key.into(), value);
                }
                object.into()
            }
            b'D' => {
                let ms = self.f64()?;
                v8::Date::new(scope, ms)
                    .ok_or_else(|| self.bad("an invalid date"))?
                    .into()
            }
            b'T' => self.temporal(scope)?,
            b'B' => {
                let n = self.u32()?;
                let data = self.take(n)?.to_vec();
                let store = crate::engine::vm::backing_store(scope, data).ok_or_else(|| {
                    Error::new(
                        crate::engine::error::Code::OutOfMemory,
                        format!(
                            "{n} bytes for a Uint8Array: more than the VM's max_heap_size \
                             leaves for array buffers"
                        ),
                    )
                })?;
                let buffer = v8::ArrayBuffer::with_backing_store(scope, &store);
                v8::Uint8Array::new(scope, buffer, 0, n)
                    .ok_or_else(|| self.bad("bytes too long for a Uint8Array"))?
                    .into()
            }
            b'M' => {
                let n = self.u32()?;
                let map = v8::Map::new(scope);
                for _ in 0..n {
                    let key = self.value(scope, depth + 1)?;
                    let value = self.value(scope, depth + 1)?;
                    map.set(scope, key, value);
                }
                map.into()
            }
            b'J' => {
                let n = self.u32()?;
                let text = self.take(n)?;
                parse_json(scope, text)
                    .map_err(|e| e.unwrap_or_else(|| self.bad("invalid JSON text")))?
            }
            b'S' => {
                let n = self.u32()?;
                let set = v8::Set::new(scope);
                for _ in 0..n {
                    let item = self.value(scope, depth + 1)?;
                    set.add(scope, item);
                }
                set.into()
            }
            other => return Err(self.bad(&format!("unknown tag {other:#04x}"))),
        })
    }
}
