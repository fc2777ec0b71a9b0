//! `URL` and `URLSearchParams` on the `url` crate: the WHATWG URL parser, its setters
//! (`url::quirks`) and `application/x-www-form-urlencoded`.

use ::url::{form_urlencoded, quirks, Url};

use crate::engine::natives::throw_type_error;

/// The parts of a URL as `prelude.js` reads them, in this order.
fn components<'s>(scope: &mut v8::PinScope<'s, '_>, url: &Url) -> Option<v8::Local<'s, v8::Value>> {
    let parts = [
        quirks::href(url),
        &quirks::origin(url),
        quirks::protocol(url),
        quirks::username(url),
        quirks::password(url),
        quirks::host(url),
        quirks::hostname(url),
        quirks::port(url),
        quirks::pathname(url),
        quirks::search(url),
        quirks::hash(url),
    ];
    let values = parts
        .iter()
        .map(|p| v8::String::new(scope, p).map(Into::into))
        .collect::<Option<Vec<_>>>()?;
    Some(v8::Array::new_with_elements(scope, &values).into())
}

fn string_arg(
    scope: &mut v8::PinScope<'_, '_>,
    args: &v8::FunctionCallbackArguments<'_>,
    i: i32,
) -> Option<String> {
    let value = args.get(i).to_string(scope)?;
    Some(value.to_rust_string_lossy(scope))
}

/// `urlParse(input, base?)`: the parts of the parsed URL, or `null` when it does not
/// parse.
pub(super) fn parse<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some(input) = string_arg(scope, &args, 0) else {
        return;
    };
    let parsed = if args.get(1).is_undefined() {
        Url::parse(&input)
    } else {
        let Some(base) = string_arg(scope, &args, 1) else {
            return;
        };
        Url::parse(&base).and_then(|base| base.join(&input))
    };
    match parsed.ok().and_then(|url| components(scope, &url)) {
        Some(parts) => rv.set(parts),
        None => rv.set_null(),
    }
}

/// `urlSet(href, part, value)`: the parts of `href` after setting `part` as the URL
/// setters do (an invalid value leaves the URL as it was).
pub(super) fn set<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let (Some(href), Some(part), Some(value)) = (
        string_arg(scope, &args, 0),
        string_arg(scope, &args, 1),
        string_arg(scope, &args, 2),
    ) else {
        return;
    };
    let Ok(mut url) = Url::parse(&href) else {
        return throw_type_error(scope, &format!("Invalid URL: {href}"));
    };
    let url = &mut url;
    // Each setter ignores a value it cannot take, as the standard says.
    let _ = match part.as_str() {
        "protocol" => set_protocol(url, &value),
        "username" => quirks::set_username(url, &value),
        "password" => quirks::set_password(url, &value),
        "host" => quirks::set_host(url, &value),
        "hostname" => quirks::set_hostname(url, &value),
        "port" => quirks::set_port(url, &value),
        "pathname" => {
            quirks::set_pathname(url, &value);
            Ok(())
        }
        "search" => {
            quirks::set_search(url, &value);
            Ok(())
        }
        "hash" => {
            quirks::set_hash(url, &value);
            Ok(())
        }
        _ => return throw_type_error(scope, &format!("urlSet: unknown part '{part}'")),
    };
    if let Some(parts) = components(scope, url) {
        rv.set(parts);
    }
}

/// The `protocol` setter. The `url` crate refuses a change to `file` for any URL with a
/// host; the standard only for one with credentials or a port (`http://a/b` becomes
/// `file://a/b`, as in Node and browsers). Such a change is made by parsing the URL
/// again as `file:`, and kept only when that leaves its host and path as they were
/// (parsing would turn `localhost` into no host and `C|` into `C:`).
fn set_protocol(url: &mut Url, value: &str) -> Result<(), ()> {
    let value: String = value
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let scheme = value.split(':').next().unwrap_or_default();
    let to_file = scheme.eq_ignore_ascii_case("file");
    let special = |s: &str| matches!(s, "http" | "https" | "ws" | "wss" | "ftp");
    if !to_file || !special(url.scheme()) || !url.username().is_empty() {
        return quirks::set_protocol(url, &value);
    }
    if url.password().is_some() || url.port().is_some() || !url.has_host() {
        return Err(());
    }
    let rest = &url[::url::Position::BeforeUsername..];
    let moved = Url::parse(&format!("file://{rest}")).map_err(|_| ())?;
    let same = moved.host_str() == url.host_str()
        && moved.path() == url.path()
        && moved.query() == url.query()
        && moved.fragment() == url.fragment();
    if !same {
        return Err(());
    }
    *url = moved;
    Ok(())
}

/// `formParse(query)`: the name/value pairs of a form-urlencoded string, flat.
pub(super) fn form_parse<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some(query) = string_arg(scope, &args, 0) else {
        return;
    };
    let mut flat = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        for text in [name, value] {
            let Some(text) = v8::String::new(scope, &text) else {
                return;
            };
            flat.push(text.into());
        }
    }
    rv.set(v8::Array::new_with_elements(scope, &flat).into());
}

/// `formSerialize(flatPairs)`: the form-urlencoded string of name/value pairs.
pub(super) fn form_serialize<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Ok(flat) = v8::Local::<v8::Array>::try_from(args.get(0)) else {
        return throw_type_error(scope, "formSerialize: not an array");
    };
    let mut texts = Vec::with_capacity(flat.length() as usize);
    for i in 0..flat.length() {
        let Some(text) = flat.get_index(scope, i).and_then(|v| v.to_string(scope)) else {
            return;
        };
        texts.push(text.to_rust_string_lossy(scope));
    }
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for pair in texts.chunks_exact(2) {
        serializer.append_pair(&pair[0], &pair[1]);
    }
    if let Some(text) = v8::String::new(scope, &serializer.finish()) {
        rv.set(text.into());
    }
}
