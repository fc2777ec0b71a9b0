//! UTF-8 for `TextEncoder` and `TextDecoder` (WHATWG Encoding: lone surrogates and
//! invalid bytes become U+FFFD, or an error when decoding is fatal).

use crate::engine::natives::{throw_type_error, uint8_array, view_bytes, write_into_view};

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
    use super::incomplete_tail;

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
