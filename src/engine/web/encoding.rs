//! `TextEncoder` (UTF-8) and `TextDecoder` (every encoding of the WHATWG Encoding
//! standard): lone surrogates and invalid bytes become U+FFFD, or an error when
//! decoding is fatal. UTF-8 has a path of its own; the other encodings are
//! `encoding_rs`'s (Firefox's) decoders, whose state between the chunks of a stream the
//! context's realm keeps, by a number the JavaScript decoder holds.

use crate::engine::natives::{
    throw_range_error, throw_type_error, uint8_array, view_bytes, write_into_view,
};

/// `utf8Encode(string)`: a new `Uint8Array` of its UTF-8 bytes.
pub(super) fn encode<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some(text) = args.get(0).to_string(scope) else {
        return;
    };
    let bytes = text.to_rust_string_lossy(scope).into_bytes();
    if let Some(array) = uint8_array(scope, bytes) {
        rv.set(array.into());
    }
}

/// `utf8EncodeInto(string, uint8Array)`: writes as many whole characters as fit;
/// returns `[read (UTF-16 units), written (bytes)]`.
pub(super) fn encode_into<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some(text) = args.get(0).to_string(scope) else {
        return;
    };
    let Ok(view) = v8::Local::<v8::Uint8Array>::try_from(args.get(1)) else {
        return throw_type_error(scope, "encodeInto: the destination is not a Uint8Array");
    };
    let text = text.to_rust_string_lossy(scope);
    let capacity = view.byte_length();
    let (mut read, mut written) = (0usize, 0usize);
    for c in text.chars() {
        if written + c.len_utf8() > capacity {
            break;
        }
        written += c.len_utf8();
        read += c.len_utf16();
    }
    if write_into_view(scope, view.into(), &text.as_bytes()[..written]).is_none() {
        return;
    }
    let read = v8::Number::new(scope, read as f64).into();
    let written = v8::Number::new(scope, written as f64).into();
    rv.set(v8::Array::new_with_elements(scope, &[read, written]).into());
}

/// `utf8Decode(uint8Array, fatal, stream)`: `[text, pending]`, where with `stream` the
/// last `pending` bytes start a character that the next chunk may complete.
pub(super) fn decode<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Ok(view) = v8::Local::<v8::ArrayBufferView>::try_from(args.get(0)) else {
        return throw_type_error(scope, "decode: not an ArrayBufferView");
    };
    let fatal = args.get(1).is_true();
    let stream = args.get(2).is_true();
    let bytes = view_bytes(view);
    let pending = if stream { incomplete_tail(&bytes) } else { 0 };
    let head = &bytes[..bytes.len() - pending];
    let text = if fatal {
        match std::str::from_utf8(head) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => {
                return throw_type_error(scope, "The encoded data was not valid for encoding utf-8")
            }
        }
    } else {
        String::from_utf8_lossy(head)
    };
    let Some(text) = v8::String::new_from_utf8(scope, text.as_bytes(), v8::NewStringType::Normal)
    else {
        return throw_type_error(scope, "decode: the text is longer than V8's string limit");
    };
    let pending = v8::Number::new(scope, pending as f64).into();
    rv.set(v8::Array::new_with_elements(scope, &[text.into(), pending]).into());
}

/// `encodingName(label)`: the name (lowercase, as `TextDecoder.encoding` says it) of
/// the encoding `label` names, or `undefined` for an unknown label or `replacement`,
/// which `TextDecoder` refuses.
pub(super) fn encoding_name<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let label = args.get(0).to_rust_string_lossy(scope);
    match encoding_rs::Encoding::for_label_no_replacement(label.as_bytes()) {
        Some(encoding) => {
            let name = encoding.name().to_ascii_lowercase();
            if let Some(name) = v8::String::new(scope, &name) {
                rv.set(name.into());
            }
        }
        None => rv.set_undefined(),
    }
}

/// `decodeAs(name, uint8Array, fatal, ignoreBOM, stream, id)`: the text of the bytes in
/// the encoding `name` (from `encodingName`). With `stream`, the decoder's state (a
/// character cut at the end, an ISO-2022-JP mode) is kept under `id` for the next call;
/// a call without `stream` finishes the stream and forgets it. Fatal decoding throws a
/// `TypeError` at the first malformed sequence, and forgets the stream too.
pub(super) fn decode_as<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let name = args.get(0).to_rust_string_lossy(scope);
    let Some(encoding) = encoding_rs::Encoding::for_label_no_replacement(name.as_bytes()) else {
        return throw_range_error(scope, &format!("unknown encoding '{name}'"));
    };
    let Ok(view) = v8::Local::<v8::ArrayBufferView>::try_from(args.get(1)) else {
        return throw_type_error(scope, "decode: not an ArrayBufferView");
    };
    let fatal = args.get(2).is_true();
    let ignore_bom = args.get(3).is_true();
    let stream = args.get(4).is_true();
    let id = args.get(5).uint32_value(scope).unwrap_or(0);
    // Only a stream needs the realm (the snapshot creator's contexts have none).
    let realm = if stream || id != 0 {
        crate::engine::realm::Realm::current(scope)
    } else {
        None
    };
    if stream && realm.is_none() {
        return throw_type_error(
            scope,
            "decode: streaming a legacy encoding needs a context of a VM (not a snapshot script)",
        );
    }
    let kept = realm
        .as_ref()
        .and_then(|realm| realm.decoders.lock().take(id));
    let mut decoder = kept.unwrap_or_else(|| {
        if ignore_bom {
            encoding.new_decoder_without_bom_handling()
        } else {
            encoding.new_decoder_with_bom_removal()
        }
    });
    let bytes = view_bytes(view);
    let Some(units) = decode_units(&mut decoder, &bytes, fatal, !stream) else {
        return throw_type_error(
            scope,
            &format!(
                "The encoded data was not valid for encoding {}",
                encoding.name().to_ascii_lowercase()
            ),
        );
    };
    if let (true, Some(realm)) = (stream, &realm) {
        realm.decoders.lock().keep(id, decoder);
    }
    let Some(text) = v8::String::new_from_two_byte(scope, &units, v8::NewStringType::Normal) else {
        return throw_type_error(scope, "decode: the text is longer than V8's string limit");
    };
    rv.set(text.into());
}

/// `decoderForget(id)`: drops the kept state of decoder `id` (a decoder collected in
/// the middle of a stream).
pub(super) fn decoder_forget<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    _rv: v8::ReturnValue<v8::Value>,
) {
    let id = args.get(0).uint32_value(scope).unwrap_or(0);
    if let Some(realm) = crate::engine::realm::Realm::current(scope) {
        realm.decoders.lock().take(id);
    }
}

/// UTF-16 code units of `bytes` decoded by `decoder` (`last`: the end of the input);
/// `None` at a malformed sequence when `fatal`.
fn decode_units(
    decoder: &mut encoding_rs::Decoder,
    bytes: &[u8],
    fatal: bool,
    last: bool,
) -> Option<Vec<u16>> {
    let capacity = decoder
        .max_utf16_buffer_length(bytes.len())
        .unwrap_or(bytes.len() * 2 + 16);
    let mut units = vec![0u16; capacity];
    let written = if fatal {
        let (result, _read, written) =
            decoder.decode_to_utf16_without_replacement(bytes, &mut units, last);
        match result {
            encoding_rs::DecoderResult::InputEmpty => written,
            // The buffer holds the worst case, so only malformed input stops it.
            encoding_rs::DecoderResult::OutputFull | encoding_rs::DecoderResult::Malformed(..) => {
                return None
            }
        }
    } else {
        let (_result, _read, written, _replaced) = decoder.decode_to_utf16(bytes, &mut units, last);
        written
    };
    units.truncate(written);
    Some(units)
}

/// How many bytes at the end of `bytes` are the valid start of a character that is
/// not complete yet (0 to 3).
fn incomplete_tail(bytes: &[u8]) -> usize {
    for len in 1..=3.min(bytes.len()) {
        let tail = &bytes[bytes.len() - len..];
        if tail[0] & 0xC0 != 0x80 {
            // The last lead byte: a valid but cut sequence fails with no error length.
            return match std::str::from_utf8(tail) {
                Err(e) if e.valid_up_to() == 0 && e.error_len().is_none() => len,
                _ => 0,
            };
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::{decode_units, incomplete_tail};

    fn decode(label: &str, chunks: &[&[u8]], fatal: bool) -> Option<String> {
        let encoding = encoding_rs::Encoding::for_label_no_replacement(label.as_bytes()).unwrap();
        let mut decoder = encoding.new_decoder_with_bom_removal();
        let mut units = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            units.extend(decode_units(
                &mut decoder,
                chunk,
                fatal,
                i == chunks.len() - 1,
            )?);
        }
        Some(String::from_utf16(&units).unwrap())
    }

    #[test]
    fn legacy_encodings_decode_across_chunks() {
        assert_eq!(
            decode("windows-1252", &[b"caf\xe9 \x80"], false).unwrap(),
            "café €"
        );
        assert_eq!(
            decode("latin1", &[b"\x93q\x94"], false).unwrap(),
            "\u{201c}q\u{201d}"
        );
        // Shift_JIS "日本" cut inside a character.
        assert_eq!(
            decode("shift_jis", &[b"\x93\xfa\x96", b"\x7b"], false).unwrap(),
            "日本"
        );
        assert_eq!(
            decode("utf-16le", &[b"\xff\xfeh\x00", b"i\x00"], false).unwrap(),
            "hi"
        );
        assert_eq!(
            decode("utf-16be", &[b"\x00h\x00"], false).unwrap(),
            "h\u{fffd}"
        );
        assert_eq!(decode("utf-16be", &[b"\x00h\x00"], true), None);
        assert_eq!(
            decode("iso-2022-jp", &[b"\x1b$B", b"F|K\\\x1b(B!"], false).unwrap(),
            "日本!"
        );
    }

    #[test]
    fn finds_cut_characters_only() {
        assert_eq!(incomplete_tail(b""), 0);
        assert_eq!(incomplete_tail(b"abc"), 0);
        assert_eq!(incomplete_tail("é".as_bytes()), 0);
        assert_eq!(incomplete_tail(&"é".as_bytes()[..1]), 1);
        assert_eq!(incomplete_tail(&"€".as_bytes()[..2]), 2);
        assert_eq!(incomplete_tail(&"😀".as_bytes()[..3]), 3);
        assert_eq!(incomplete_tail(b"a\xF0\x9F"), 2);
        // Not a valid start: decoded (as U+FFFD) now, not held back.
        assert_eq!(incomplete_tail(b"\xED\xA0"), 0);
        assert_eq!(incomplete_tail(b"\xFF"), 0);
        assert_eq!(incomplete_tail(b"\x80\x80\x80"), 0);
    }
}
