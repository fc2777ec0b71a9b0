//! The natives of `crypto.subtle` (`subtle.js` builds `SubtleCrypto` and `CryptoKey`
//! on them). They are stateless, as every native of a snapshot must be: each takes the
//! key's bytes (which JavaScript keeps in a private field of its `CryptoKey`) with its
//! arguments, does the work at once, and returns bytes. A failure the spec names is
//! thrown as an `Error` whose `name` is the `DOMException`'s (`DataError`,
//! `OperationError`…); `subtle.js` turns it into that `DOMException`. Arguments of the
//! wrong type (which `subtle.js` never passes) are `TypeError`s.

mod ops;

use crate::engine::natives::{throw_type_error, uint8_array, view_bytes};
use ops::{Failure, Hash, Jwk, KeyData, Kind, Scheme};

/// The JWK members the natives read and write (others are `subtle.js`'s).
const JWK_MEMBERS: [&str; 13] = [
    "kty", "crv", "x", "y", "d", "n", "e", "p", "q", "dp", "dq", "qi", "k",
];

/// Throws `failure` as an `Error` named after its `DOMException`.
fn throw_failure(scope: &mut v8::PinScope<'_, '_>, failure: Failure) {
    let (Some(message), Some(key), Some(name)) = (
        v8::String::new(scope, &failure.message),
        v8::String::new(scope, "name"),
        v8::String::new(scope, failure.name),
    ) else {
        return;
    };
    let error = v8::Exception::error(scope, message);
    if let Ok(object) = v8::Local::<v8::Object>::try_from(error) {
        if object.set(scope, key.into(), name.into()).is_none() {
            return;
        }
    }
    scope.throw_exception(error);
}

/// Argument `i` as a string.
fn string(
    scope: &mut v8::PinScope<'_, '_>,
    args: &v8::FunctionCallbackArguments<'_>,
    i: i32,
) -> Option<String> {
    let text = args.get(i).to_string(scope)?;
    Some(text.to_rust_string_lossy(scope))
}

/// Argument `i` as bytes (an `ArrayBufferView`); a `TypeError` otherwise.
fn bytes(
    scope: &mut v8::PinScope<'_, '_>,
    args: &v8::FunctionCallbackArguments<'_>,
    i: i32,
) -> Option<Vec<u8>> {
    match v8::Local::<v8::ArrayBufferView>::try_from(args.get(i)) {
        Ok(view) => Some(view_bytes(view)),
        Err(_) => {
            throw_type_error(
                scope,
                &format!("crypto.subtle: argument {i} is not an ArrayBufferView"),
            );
            None
        }
    }
}

/// Argument `i` as a whole number (0 when it is not one).
fn number(
    scope: &mut v8::PinScope<'_, '_>,
    args: &v8::FunctionCallbackArguments<'_>,
    i: i32,
) -> u32 {
    let value = args.get(i).number_value(scope).unwrap_or(0.0);
    if value.is_finite() && value >= 0.0 && value <= f64::from(u32::MAX) {
        value as u32
    } else {
        0
    }
}

/// Sets `rv` to a new `Uint8Array` of `result`'s bytes, or throws its failure.
fn give_bytes(
    scope: &mut v8::PinScope<'_, '_>,
    rv: &mut v8::ReturnValue<v8::Value>,
    result: Result<Vec<u8>, Failure>,
) {
    match result {
        Ok(bytes) => {
            if let Some(array) = uint8_array(scope, bytes) {
                rv.set(array.into());
            }
        }
        Err(failure) => throw_failure(scope, failure),
    }
}

/// The hash named by argument `i`, or throws `NotSupportedError`.
fn hash(
    scope: &mut v8::PinScope<'_, '_>,
    args: &v8::FunctionCallbackArguments<'_>,
    i: i32,
) -> Option<Hash> {
    let name = string(scope, args, i)?;
    match Hash::from_name(&name) {
        Ok(hash) => Some(hash),
        Err(failure) => {
            throw_failure(scope, failure);
            None
        }
    }
}

/// The key kind of arguments `i` (algorithm name) and `i + 1` (named curve).
fn kind(
    scope: &mut v8::PinScope<'_, '_>,
    args: &v8::FunctionCallbackArguments<'_>,
    i: i32,
) -> Option<Kind> {
    let algorithm = string(scope, args, i)?;
    let curve = string(scope, args, i + 1)?;
    match Kind::from_names(&algorithm, &curve) {
        Ok(kind) => Some(kind),
        Err(failure) => {
            throw_failure(scope, failure);
            None
        }
    }
}

/// `subtleDigest(hash, data)`: the digest.
pub(super) fn digest<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some(hash) = hash(scope, &args, 0) else {
        return;
    };
    let Some(data) = bytes(scope, &args, 1) else {
        return;
    };
    give_bytes(scope, &mut rv, Ok(hash.digest(&data)));
}

/// `subtleHmac(hash, key, data[, signature])`: the MAC, or with `signature` whether
/// it is the MAC (compared in constant time).
pub(super) fn hmac<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some(hash) = hash(scope, &args, 0) else {
        return;
    };
    let Some(key) = bytes(scope, &args, 1) else {
        return;
    };
    let Some(data) = bytes(scope, &args, 2) else {
        return;
    };
    if args.get(3).is_undefined() {
        give_bytes(scope, &mut rv, Ok(ops::hmac_sign(hash, &key, &data)));
    } else {
        let Some(signature) = bytes(scope, &args, 3) else {
            return;
        };
        rv.set_bool(ops::hmac_verify(hash, &key, &data, &signature));
    }
}

/// `subtleAesGcm(encrypt, key, iv, additionalData, tagLength, data)`: the
/// ciphertext (tag appended) or the plaintext.
pub(super) fn aes_gcm<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let encrypt = args.get(0).is_true();
    let Some(key) = bytes(scope, &args, 1) else {
        return;
    };
    let Some(iv) = bytes(scope, &args, 2) else {
        return;
    };
    let Some(aad) = bytes(scope, &args, 3) else {
        return;
    };
    let tag = number(scope, &args, 4);
    let Some(data) = bytes(scope, &args, 5) else {
        return;
    };
    give_bytes(
        scope,
        &mut rv,
        ops::aes_gcm(encrypt, &key, &iv, &aad, tag, &data),
    );
}

/// `subtlePbkdf2(hash, password, salt, iterations, bits)`: the derived bits.
pub(super) fn pbkdf2<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some(hash) = hash(scope, &args, 0) else {
        return;
    };
    let Some(password) = bytes(scope, &args, 1) else {
        return;
    };
    let Some(salt) = bytes(scope, &args, 2) else {
        return;
    };
    let iterations = number(scope, &args, 3);
    let bits = number(scope, &args, 4);
    let shared = crate::engine::vm::VmShared::of(scope).cloned();
    let stopped = || {
        shared
            .as_ref()
            .is_some_and(|s| s.stops.running_is_stopped())
    };
    let derived = ops::pbkdf2(hash, &password, &salt, iterations, bits, &stopped);
    if crate::engine::call::stop_requested_meanwhile(scope) {
        return; // a timeout, `terminate()`…: the call ends here
    }
    give_bytes(scope, &mut rv, derived);
}

/// `subtleHkdf(hash, ikm, salt, info, bits)`: the derived bits.
pub(super) fn hkdf<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some(hash) = hash(scope, &args, 0) else {
        return;
    };
    let Some(ikm) = bytes(scope, &args, 1) else {
        return;
    };
    let Some(salt) = bytes(scope, &args, 2) else {
        return;
    };
    let Some(info) = bytes(scope, &args, 3) else {
        return;
    };
    let bits = number(scope, &args, 4);
    give_bytes(scope, &mut rv, ops::hkdf(hash, &ikm, &salt, &info, bits));
}

/// `subtleEcdh(curve, pkcs8, spki)`: the shared secret.
pub(super) fn ecdh<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some(curve) = string(scope, &args, 0) else {
        return;
    };
    let kind = match Kind::from_names("ECDH", &curve) {
        Ok(kind) => kind,
        Err(failure) => return throw_failure(scope, failure),
    };
    let Some(private) = bytes(scope, &args, 1) else {
        return;
    };
    let Some(public) = bytes(scope, &args, 2) else {
        return;
    };
    give_bytes(scope, &mut rv, ops::ecdh(kind, &private, &public));
}

/// `subtleGenerate(algorithm, curve, modulusLength, publicExponent)`: a new key
/// pair, `[pkcs8, spki]`.
pub(super) fn generate<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some(kind) = kind(scope, &args, 0) else {
        return;
    };
    let bits = number(scope, &args, 2) as usize;
    let exponent = if kind == Kind::Rsa {
        let Some(exponent) = bytes(scope, &args, 3) else {
            return;
        };
        exponent
    } else {
        Vec::new()
    };
    match ops::generate(kind, bits, &exponent) {
        Ok((pkcs8, spki)) => {
            let (Some(pkcs8), Some(spki)) = (uint8_array(scope, pkcs8), uint8_array(scope, spki))
            else {
                return;
            };
            rv.set(v8::Array::new_with_elements(scope, &[pkcs8.into(), spki.into()]).into());
        }
        Err(failure) => throw_failure(scope, failure),
    }
}

/// `subtleImport(algorithm, curve, format, data)`: the key (`data` a JWK object for
/// `jwk`) checked and in v8rs's form: `[isPrivate, der]`; for the algorithm
/// `secret`, the JWK's `k` as `[false, bytes]`.
pub(super) fn import<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some(algorithm) = string(scope, &args, 0) else {
        return;
    };
    let Some(format) = string(scope, &args, 2) else {
        return;
    };
    let result = if format == "jwk" {
        let Some(jwk) = read_jwk(scope, args.get(3)) else {
            return;
        };
        if algorithm == "secret" {
            ops::secret_from_jwk(&jwk).map(|der| KeyData {
                private: false,
                der,
            })
        } else {
            let Some(kind) = kind(scope, &args, 0) else {
                return;
            };
            ops::import_jwk(kind, &jwk)
        }
    } else {
        let Some(kind) = kind(scope, &args, 0) else {
            return;
        };
        let Some(data) = bytes(scope, &args, 3) else {
            return;
        };
        ops::import(kind, &format, &data)
    };
    match result {
        Ok(key) => {
            let private = v8::Boolean::new(scope, key.private).into();
            let Some(der) = uint8_array(scope, key.der) else {
                return;
            };
            rv.set(v8::Array::new_with_elements(scope, &[private, der.into()]).into());
        }
        Err(failure) => throw_failure(scope, failure),
    }
}

/// `subtleExport(algorithm, curve, format, isPrivate, der)`: the key as `format`
/// (bytes, or for `jwk` an object of its key members); the algorithm `secret` with
/// `jwk` gives `{kty: "oct", k}`.
pub(super) fn export<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some(algorithm) = string(scope, &args, 0) else {
        return;
    };
    let Some(format) = string(scope, &args, 2) else {
        return;
    };
    let key = KeyData {
        private: args.get(3).is_true(),
        der: match bytes(scope, &args, 4) {
            Some(der) => der,
            None => return,
        },
    };
    if format == "jwk" {
        let jwk = if algorithm == "secret" {
            Ok(ops::secret_to_jwk(&key.der))
        } else {
            let Some(kind) = kind(scope, &args, 0) else {
                return;
            };
            ops::export_jwk(kind, &key)
        };
        match jwk {
            Ok(jwk) => {
                if let Some(object) = write_jwk(scope, &jwk) {
                    rv.set(object.into());
                }
            }
            Err(failure) => throw_failure(scope, failure),
        }
    } else {
        let Some(kind) = kind(scope, &args, 0) else {
            return;
        };
        give_bytes(scope, &mut rv, ops::export(kind, &format, &key));
    }
}

/// `subtleRsaInfo(isPrivate, der)`: `[modulusLength, publicExponent]` of an RSA key.
pub(super) fn rsa_info<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let private = args.get(0).is_true();
    let Some(der) = bytes(scope, &args, 1) else {
        return;
    };
    match ops::rsa_info(&KeyData { private, der }) {
        Ok((bits, exponent)) => {
            let bits = v8::Number::new(scope, bits as f64).into();
            let Some(exponent) = uint8_array(scope, exponent) else {
                return;
            };
            rv.set(v8::Array::new_with_elements(scope, &[bits, exponent.into()]).into());
        }
        Err(failure) => throw_failure(scope, failure),
    }
}

/// The signature scheme of arguments `i` (algorithm), `i + 2` (hash) and `i + 3`
/// (RSA-PSS salt length).
fn scheme(
    scope: &mut v8::PinScope<'_, '_>,
    args: &v8::FunctionCallbackArguments<'_>,
    i: i32,
) -> Option<Scheme> {
    let algorithm = string(scope, args, i)?;
    Some(match algorithm.as_str() {
        "Ed25519" => Scheme::Ed25519,
        "ECDSA" => Scheme::Ecdsa(hash(scope, args, i + 2)?),
        "RSASSA-PKCS1-v1_5" => Scheme::Pkcs1(hash(scope, args, i + 2)?),
        "RSA-PSS" => {
            let hash = hash(scope, args, i + 2)?;
            Scheme::Pss(hash, number(scope, args, i + 3) as usize)
        }
        _ => {
            throw_failure(
                scope,
                Failure::not_supported(format!("{algorithm} does not sign")),
            );
            return None;
        }
    })
}

/// `subtleSign(algorithm, curve, hash, saltLength, pkcs8, data)`: the signature.
pub(super) fn sign<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some(kind) = kind(scope, &args, 0) else {
        return;
    };
    let Some(scheme) = scheme(scope, &args, 0) else {
        return;
    };
    let Some(key) = bytes(scope, &args, 4) else {
        return;
    };
    let Some(data) = bytes(scope, &args, 5) else {
        return;
    };
    give_bytes(scope, &mut rv, ops::sign(kind, scheme, &key, &data));
}

/// `subtleVerify(algorithm, curve, hash, saltLength, spki, data, signature)`: whether
/// the signature is valid.
pub(super) fn verify<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<v8::Value>,
) {
    let Some(kind) = kind(scope, &args, 0) else {
        return;
    };
    let Some(scheme) = scheme(scope, &args, 0) else {
        return;
    };
    let Some(key) = bytes(scope, &args, 4) else {
        return;
    };
    let Some(data) = bytes(scope, &args, 5) else {
        return;
    };
    let Some(signature) = bytes(scope, &args, 6) else {
        return;
    };
    match ops::verify(kind, scheme, &key, &data, &signature) {
        Ok(valid) => rv.set_bool(valid),
        Err(failure) => throw_failure(scope, failure),
    }
}

/// The string members of a JWK object that the natives read.
fn read_jwk(scope: &mut v8::PinScope<'_, '_>, value: v8::Local<'_, v8::Value>) -> Option<Jwk> {
    let Ok(object) = v8::Local::<v8::Object>::try_from(value) else {
        throw_type_error(scope, "crypto.subtle: the JWK is not an object");
        return None;
    };
    let mut jwk = Jwk::new();
    for name in JWK_MEMBERS {
        let key = v8::String::new(scope, name)?;
        let member = object.get(scope, key.into())?;
        if member.is_string() {
            jwk.insert(name.into(), member.to_rust_string_lossy(scope));
        }
    }
    Some(jwk)
}

/// A new object of `jwk`'s members.
fn write_jwk<'s>(scope: &mut v8::PinScope<'s, '_>, jwk: &Jwk) -> Option<v8::Local<'s, v8::Object>> {
    let object = v8::Object::new(scope);
    for (name, value) in jwk {
        let key = v8::String::new(scope, name)?;
        let value = v8::String::new(scope, value)?;
        object.set(scope, key.into(), value.into())?;
    }
    Some(object)
}
