//! The cryptography of `crypto.subtle`, in plain Rust over RustCrypto (nothing here
//! touches V8): digests, HMAC, AES-GCM, ECDSA and ECDH on P-256/P-384, Ed25519,
//! RSASSA-PKCS1-v1_5 and RSA-PSS, PBKDF2 and HKDF, and the key formats (raw, SPKI,
//! PKCS #8, JWK).
//!
//! Keys travel as bytes: a secret key (HMAC, AES, PBKDF2, HKDF) as its raw bytes, an
//! asymmetric private key as PKCS #8 DER, a public key as SPKI DER. The JavaScript side
//! keeps those bytes in a private field of its `CryptoKey`; every operation here takes
//! them again, so nothing is kept between calls.

use std::collections::BTreeMap;

use base64::Engine as _;
use pkcs8::EncodePublicKey as _;
use pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _};
use rand_core::OsRng;
use rsa::traits::{PrivateKeyParts as _, PublicKeyParts as _};
use sha2::Digest as _;

/// Why an operation failed: the `DOMException` name the spec gives it and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// `NotSupportedError`, `DataError`, `OperationError`, `InvalidAccessError`.
    pub name: &'static str,
    /// What went wrong, for people.
    pub message: String,
}

impl Failure {
    /// A `DataError`: the key data (or other input data) is malformed.
    pub fn data(message: impl Into<String>) -> Failure {
        Failure {
            name: "DataError",
            message: message.into(),
        }
    }
    /// An `OperationError`: the operation failed (a tag did not check, say).
    pub fn operation(message: impl Into<String>) -> Failure {
        Failure {
            name: "OperationError",
            message: message.into(),
        }
    }
    /// A `NotSupportedError`: an algorithm, curve or parameter v8rs does not have.
    pub fn not_supported(message: impl Into<String>) -> Failure {
        Failure {
            name: "NotSupportedError",
            message: message.into(),
        }
    }
}

/// What an operation gives: a value, or the failure the promise rejects with.
pub(crate) type Outcome<T> = Result<T, Failure>;

/// A hash function of WebCrypto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    /// SHA-1 (for HMAC and old signatures; not collision resistant).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Hash {
    /// The hash named `name` (the spec's names, matched without case).
    pub fn from_name(name: &str) -> Outcome<Hash> {
        match name.to_ascii_uppercase().as_str() {
            "SHA-1" => Ok(Hash::Sha1),
            "SHA-256" => Ok(Hash::Sha256),
            "SHA-384" => Ok(Hash::Sha384),
            "SHA-512" => Ok(Hash::Sha512),
            _ => Err(Failure::not_supported(format!(
                "Unrecognized hash name: {name}"
            ))),
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Hash::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Hash::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Hash::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

/// HMAC of `data` under `key`.
pub(crate) fn hmac_sign(hash: Hash, key: &[u8], data: &[u8]) -> Vec<u8> {
    fn mac<M: hmac::Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }
    match hash {
        Hash::Sha1 => mac::<hmac::Hmac<sha1::Sha1>>(key, data),
        Hash::Sha256 => mac::<hmac::Hmac<sha2::Sha256>>(key, data),
        Hash::Sha384 => mac::<hmac::Hmac<sha2::Sha384>>(key, data),
        Hash::Sha512 => mac::<hmac::Hmac<sha2::Sha512>>(key, data),
    }
}

/// Whether `signature` is the HMAC of `data` under `key` (compared in constant time).
pub(crate) fn hmac_verify(hash: Hash, key: &[u8], data: &[u8], signature: &[u8]) -> bool {
    fn check<M: hmac::Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8], sig: &[u8]) -> bool {
        let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(key) else {
            return false;
        };
        mac.update(data);
        mac.verify_slice(sig).is_ok()
    }
    match hash {
        Hash::Sha1 => check::<hmac::Hmac<sha1::Sha1>>(key, data, signature),
        Hash::Sha256 => check::<hmac::Hmac<sha2::Sha256>>(key, data, signature),
        Hash::Sha384 => check::<hmac::Hmac<sha2::Sha384>>(key, data, signature),
        Hash::Sha512 => check::<hmac::Hmac<sha2::Sha512>>(key, data, signature),
    }
}

/// AES-GCM encryption (`encrypt`) or decryption of `data`: the ciphertext has the tag
/// (`tag_bits`: 96 to 128) at its end. IVs of 12 or 16 bytes.
pub(crate) fn aes_gcm(
    encrypt: bool,
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    tag_bits: u32,
    data: &[u8],
) -> Outcome<Vec<u8>> {
    use aes_gcm::aead::consts::{U12, U13, U14, U15, U16};

    fn run<C, N, T>(
        encrypt: bool,
        key: &[u8],
        iv: &[u8],
        aad: &[u8],
        data: &[u8],
    ) -> Outcome<Vec<u8>>
    where
        C: aes::cipher::BlockCipher
            + aes::cipher::BlockSizeUser<BlockSize = U16>
            + aes::cipher::BlockEncrypt
            + aes::cipher::KeyInit,
        N: aes_gcm::aead::generic_array::ArrayLength<u8>,
        T: aes_gcm::TagSize,
    {
        use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
        let cipher = aes_gcm::AesGcm::<C, N, T>::new_from_slice(key)
            .map_err(|_| Failure::data("AES key data must be 128, 192 or 256 bits"))?;
        let nonce = aes_gcm::aead::generic_array::GenericArray::from_slice(iv);
        let payload = Payload { msg: data, aad };
        if encrypt {
            cipher
                .encrypt(nonce, payload)
                .map_err(|_| Failure::operation("The data is too long for AES-GCM"))
        } else {
            cipher.decrypt(nonce, payload).map_err(|_| {
                Failure::operation("The operation failed for an operation-specific reason")
            })
        }
    }
    macro_rules! by_tag {
        ($c:ty, $n:ty) => {
            match tag_bits {
                96 => run::<$c, $n, U12>(encrypt, key, iv, aad, data),
                104 => run::<$c, $n, U13>(encrypt, key, iv, aad, data),
                112 => run::<$c, $n, U14>(encrypt, key, iv, aad, data),
                120 => run::<$c, $n, U15>(encrypt, key, iv, aad, data),
                128 => run::<$c, $n, U16>(encrypt, key, iv, aad, data),
                32 | 64 => Err(Failure::not_supported(format!(
                    "AES-GCM tags of {tag_bits} bits are not supported by v8rs (96 to 128 are)"
                ))),
                _ => Err(Failure::operation(format!(
                    "{tag_bits} is not a valid AES-GCM tag length"
                ))),
            }
        };
    }
    macro_rules! by_iv {
        ($c:ty) => {
            match iv.len() {
                12 => by_tag!($c, U12),
                16 => by_tag!($c, U16),
                0 => Err(Failure::operation("The AES-GCM iv is empty")),
                n => Err(Failure::not_supported(format!(
                    "AES-GCM ivs of {n} bytes are not supported by v8rs (12 or 16 are)"
                ))),
            }
        };
    }
    if !encrypt && data.len() < (tag_bits / 8) as usize {
        return Err(Failure::operation(
            "The ciphertext is shorter than the AES-GCM tag",
        ));
    }
    match key.len() {
        16 => by_iv!(aes::Aes128),
        24 => by_iv!(aes::Aes192),
        32 => by_iv!(aes::Aes256),
        _ => Err(Failure::data("AES key data must be 128, 192 or 256 bits")),
    }
}

/// PBKDF2-HMAC of `password` and `salt`: `bits` bits. `stopped` is asked every
/// [`STOP_CHECK_ROUNDS`] HMACs, over all blocks (billions of them take hours): once it
/// says yes, the derivation ends with an error.
pub(crate) fn pbkdf2(
    hash: Hash,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    bits: u32,
    stopped: &dyn Fn() -> bool,
) -> Outcome<Vec<u8>> {
    if iterations == 0 {
        return Err(Failure::operation("PBKDF2 needs at least one iteration"));
    }
    let mut out = vec![0u8; whole_bytes(bits)?];
    let (p, s, n, o) = (password, salt, iterations, &mut out[..]);
    let done = match hash {
        Hash::Sha1 => pbkdf2_with::<hmac::Hmac<sha1::Sha1>>(p, s, n, o, stopped),
        Hash::Sha256 => pbkdf2_with::<hmac::Hmac<sha2::Sha256>>(p, s, n, o, stopped),
        Hash::Sha384 => pbkdf2_with::<hmac::Hmac<sha2::Sha384>>(p, s, n, o, stopped),
        Hash::Sha512 => pbkdf2_with::<hmac::Hmac<sha2::Sha512>>(p, s, n, o, stopped),
    };
    if !done {
        return Err(Failure::operation("PBKDF2 was stopped"));
    }
    Ok(out)
}

/// How many HMACs PBKDF2 computes between two looks at whether the call was stopped
/// (about a millisecond's worth).
const STOP_CHECK_ROUNDS: u32 = 1024;

/// PBKDF2 (RFC 8018) with the PRF `M`, into `out`; `false` when `stopped` said so.
fn pbkdf2_with<M: hmac::Mac + hmac::digest::KeyInit + Clone>(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    out: &mut [u8],
    stopped: &dyn Fn() -> bool,
) -> bool {
    // HMAC takes keys of any length.
    let Ok(prf) = <M as hmac::digest::KeyInit>::new_from_slice(password) else {
        return false;
    };
    let size = <M as hmac::digest::OutputSizeUser>::output_size();
    // HMACs over all blocks: many blocks of few iterations take long too.
    let mut rounds = 0u32;
    let mut tick = || {
        rounds = rounds.wrapping_add(1);
        rounds.is_multiple_of(STOP_CHECK_ROUNDS) && stopped()
    };
    for (index, block) in out.chunks_mut(size).enumerate() {
        if tick() {
            return false;
        }
        let mut mac = prf.clone();
        mac.update(salt);
        mac.update(&(index as u32 + 1).to_be_bytes());
        let mut u = mac.finalize().into_bytes();
        let mut t = u.clone();
        for _ in 1..iterations {
            if tick() {
                return false;
            }
            let mut mac = prf.clone();
            mac.update(&u);
            u = mac.finalize().into_bytes();
            for (t, u) in t.iter_mut().zip(u.iter()) {
                *t ^= u;
            }
        }
        block.copy_from_slice(&t[..block.len()]);
    }
    true
}

/// HKDF (extract then expand) of `ikm` with `salt` and `info`: `bits` bits.
pub(crate) fn hkdf(
    hash: Hash,
    ikm: &[u8],
    salt: &[u8],
    info: &[u8],
    bits: u32,
) -> Outcome<Vec<u8>> {
    let mut out = vec![0u8; whole_bytes(bits)?];
    let expanded = match hash {
        Hash::Sha1 => hkdf::Hkdf::<sha1::Sha1>::new(Some(salt), ikm).expand(info, &mut out),
        Hash::Sha256 => hkdf::Hkdf::<sha2::Sha256>::new(Some(salt), ikm).expand(info, &mut out),
        Hash::Sha384 => hkdf::Hkdf::<sha2::Sha384>::new(Some(salt), ikm).expand(info, &mut out),
        Hash::Sha512 => hkdf::Hkdf::<sha2::Sha512>::new(Some(salt), ikm).expand(info, &mut out),
    };
    expanded.map_err(|_| Failure::operation("HKDF cannot derive that many bits with this hash"))?;
    Ok(out)
}

/// `bits` as bytes, when it is a whole number of bytes.
fn whole_bytes(bits: u32) -> Outcome<usize> {
    if !bits.is_multiple_of(8) {
        return Err(Failure::operation(
            "The length must be a multiple of 8 bits",
        ));
    }
    Ok((bits / 8) as usize)
}

/// The kinds of asymmetric keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An elliptic-curve key on P-256 (ECDSA, ECDH).
    P256,
    /// An elliptic-curve key on P-384 (ECDSA, ECDH).
    P384,
    /// An Ed25519 key.
    Ed25519,
    /// An RSA key (RSASSA-PKCS1-v1_5, RSA-PSS).
    Rsa,
}

impl Kind {
    /// The kind for an algorithm (`ECDSA`, `ECDH`, `Ed25519`, `RSASSA-PKCS1-v1_5`,
    /// `RSA-PSS`) and, for EC, its named curve.
    pub fn from_names(algorithm: &str, curve: &str) -> Outcome<Kind> {
        match algorithm {
            "ECDSA" | "ECDH" => match curve {
                "P-256" => Ok(Kind::P256),
                "P-384" => Ok(Kind::P384),
                _ => Err(Failure::not_supported(format!(
                    "The named curve {curve:?} is not supported (P-256 and P-384 are)"
                ))),
            },
            "Ed25519" => Ok(Kind::Ed25519),
            "RSASSA-PKCS1-v1_5" | "RSA-PSS" => Ok(Kind::Rsa),
            _ => Err(Failure::not_supported(format!(
                "Unrecognized algorithm name: {algorithm}"
            ))),
        }
    }

    /// The JWK `crv` of an EC or OKP kind.
    fn curve(self) -> &'static str {
        match self {
            Kind::P256 => "P-256",
            Kind::P384 => "P-384",
            Kind::Ed25519 => "Ed25519",
            Kind::Rsa => "",
        }
    }
}

/// A key in v8rs's form: PKCS #8 DER (private) or SPKI DER (public).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyData {
    /// Whether it is a private key.
    pub private: bool,
    /// The DER bytes.
    pub der: Vec<u8>,
}

/// The fields of a JWK, as their JSON strings (binary ones base64url, no padding).
pub(crate) type Jwk = BTreeMap<String, String>;

/// Base64url without padding (JWK's encoding).
fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The bytes of JWK member `name` (base64url, padding tolerated); a `DataError` when
/// it is absent or not base64url.
fn jwk_bytes(jwk: &Jwk, name: &str) -> Outcome<Vec<u8>> {
    let text = jwk
        .get(name)
        .ok_or_else(|| Failure::data(format!("The JWK member {name:?} is missing")))?;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| Failure::data(format!("The JWK member {name:?} is not base64url")))
}

/// Checks JWK member `name` is `expected`.
fn jwk_expect(jwk: &Jwk, name: &str, expected: &str) -> Outcome<()> {
    match jwk.get(name) {
        Some(value) if value == expected => Ok(()),
        Some(value) => Err(Failure::data(format!(
            "The JWK {name:?} is {value:?}, not {expected:?}"
        ))),
        None => Err(Failure::data(format!("The JWK member {name:?} is missing"))),
    }
}

/// A secret key from the JWK `{kty: "oct", k}`.
pub(crate) fn secret_from_jwk(jwk: &Jwk) -> Outcome<Vec<u8>> {
    jwk_expect(jwk, "kty", "oct")?;
    jwk_bytes(jwk, "k")
}

/// The JWK `{kty: "oct", k}` of a secret key.
pub(crate) fn secret_to_jwk(key: &[u8]) -> Jwk {
    Jwk::from([("kty".into(), "oct".into()), ("k".into(), b64(key))])
}

/// A DataError for key bytes the parser refused.
fn bad(format: &str) -> impl Fn(String) -> Failure + '_ {
    move |detail| Failure::data(format!("Invalid {format} key data: {detail}"))
}

/// The SPKI DER of a private key (PKCS #8 DER) of `kind`.
pub(crate) fn public_of(kind: Kind, pkcs8: &[u8]) -> Outcome<Vec<u8>> {
    let e = |e: String| Failure::operation(format!("Invalid private key: {e}"));
    let der = match kind {
        Kind::P256 => p256::SecretKey::from_pkcs8_der(pkcs8)
            .map_err(|x| e(x.to_string()))?
            .public_key()
            .to_public_key_der(),
        Kind::P384 => p384::SecretKey::from_pkcs8_der(pkcs8)
            .map_err(|x| e(x.to_string()))?
            .public_key()
            .to_public_key_der(),
        Kind::Ed25519 => ed25519_dalek::SigningKey::from_pkcs8_der(pkcs8)
            .map_err(|x| e(x.to_string()))?
            .verifying_key()
            .to_public_key_der(),
        Kind::Rsa => rsa::RsaPrivateKey::from_pkcs8_der(pkcs8)
            .map_err(|x| e(x.to_string()))?
            .to_public_key()
            .to_public_key_der(),
    };
    der.map(|d| d.into_vec())
        .map_err(|x| Failure::operation(x.to_string()))
}

/// Imports key bytes of `format` (`raw`, `spki`, `pkcs8`) as v8rs's form, checking them.
pub(crate) fn import(kind: Kind, format: &str, data: &[u8]) -> Outcome<KeyData> {
    let public = |der: Result<spki::Document, spki::Error>| -> Outcome<KeyData> {
        Ok(KeyData {
            private: false,
            der: der.map_err(|e| Failure::data(e.to_string()))?.into_vec(),
        })
    };
    let private = |der: Result<pkcs8::SecretDocument, pkcs8::Error>| -> Outcome<KeyData> {
        Ok(KeyData {
            private: true,
            der: der
                .map_err(|e| Failure::data(e.to_string()))?
                .as_bytes()
                .to_vec(),
        })
    };
    match (kind, format) {
        (Kind::P256, "spki") => public(
            p256::PublicKey::from_public_key_der(data)
                .map_err(|e| bad("spki")(e.to_string()))?
                .to_public_key_der(),
        ),
        (Kind::P384, "spki") => public(
            p384::PublicKey::from_public_key_der(data)
                .map_err(|e| bad("spki")(e.to_string()))?
                .to_public_key_der(),
        ),
        (Kind::P256, "raw") => public(
            p256::PublicKey::from_sec1_bytes(data)
                .map_err(|e| bad("raw")(e.to_string()))?
                .to_public_key_der(),
        ),
        (Kind::P384, "raw") => public(
            p384::PublicKey::from_sec1_bytes(data)
                .map_err(|e| bad("raw")(e.to_string()))?
                .to_public_key_der(),
        ),
        (Kind::P256, "pkcs8") => private(
            p256::SecretKey::from_pkcs8_der(data)
                .map_err(|e| bad("pkcs8")(e.to_string()))?
                .to_pkcs8_der(),
        ),
        (Kind::P384, "pkcs8") => private(
            p384::SecretKey::from_pkcs8_der(data)
                .map_err(|e| bad("pkcs8")(e.to_string()))?
                .to_pkcs8_der(),
        ),
        (Kind::Ed25519, "raw") => {
            let bytes: [u8; 32] = data
                .try_into()
                .map_err(|_| Failure::data("An Ed25519 raw public key is 32 bytes"))?;
            public(
                ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                    .map_err(|e| bad("raw")(e.to_string()))?
                    .to_public_key_der(),
            )
        }
        (Kind::Ed25519, "spki") => public(
            ed25519_dalek::VerifyingKey::from_public_key_der(data)
                .map_err(|e| bad("spki")(e.to_string()))?
                .to_public_key_der(),
        ),
        (Kind::Ed25519, "pkcs8") => {
            let key = ed25519_dalek::SigningKey::from_pkcs8_der(data)
                .map_err(|e| bad("pkcs8")(e.to_string()))?;
            private(ed25519_pkcs8(&key))
        }
        (Kind::Rsa, "spki") => public(
            rsa::RsaPublicKey::from_public_key_der(data)
                .map_err(|e| bad("spki")(e.to_string()))?
                .to_public_key_der(),
        ),
        (Kind::Rsa, "pkcs8") => private(
            rsa::RsaPrivateKey::from_pkcs8_der(data)
                .map_err(|e| bad("pkcs8")(e.to_string()))?
                .to_pkcs8_der(),
        ),
        _ => Err(Failure::not_supported(format!(
            "The {format:?} format is not supported for this key"
        ))),
    }
}

/// Ed25519's PKCS #8 as browsers and Node write it: version 1, the seed only.
fn ed25519_pkcs8(key: &ed25519_dalek::SigningKey) -> Result<pkcs8::SecretDocument, pkcs8::Error> {
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    ed25519_dalek::pkcs8::KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    }
    .to_pkcs8_der()
}

/// Exports a key in v8rs's form as `format` (`raw`, `spki`, `pkcs8`).
pub(crate) fn export(kind: Kind, format: &str, key: &KeyData) -> Outcome<Vec<u8>> {
    match (format, key.private) {
        ("spki", false) | ("pkcs8", true) => Ok(key.der.clone()),
        ("raw", false) => match kind {
            Kind::P256 => Ok(p256::PublicKey::from_public_key_der(&key.der)
                .map_err(|e| Failure::operation(e.to_string()))?
                .to_sec1_bytes()
                .to_vec()),
            Kind::P384 => Ok(p384::PublicKey::from_public_key_der(&key.der)
                .map_err(|e| Failure::operation(e.to_string()))?
                .to_sec1_bytes()
                .to_vec()),
            Kind::Ed25519 => Ok(ed25519_dalek::VerifyingKey::from_public_key_der(&key.der)
                .map_err(|e| Failure::operation(e.to_string()))?
                .to_bytes()
                .to_vec()),
            Kind::Rsa => Err(Failure::not_supported("RSA keys have no raw format")),
        },
        _ => Err(Failure {
            name: "InvalidAccessError",
            message: format!(
                "A {} key cannot be exported as {format:?}",
                if key.private { "private" } else { "public" }
            ),
        }),
    }
}

/// Imports a JWK (its `kty` and `crv` checked against `kind`).
pub(crate) fn import_jwk(kind: Kind, jwk: &Jwk) -> Outcome<KeyData> {
    let private = jwk.contains_key("d");
    match kind {
        Kind::P256 | Kind::P384 => {
            jwk_expect(jwk, "kty", "EC")?;
            jwk_expect(jwk, "crv", kind.curve())?;
            let (x, y) = (jwk_bytes(jwk, "x")?, jwk_bytes(jwk, "y")?);
            let mut point = vec![4u8];
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            let size = if kind == Kind::P256 { 32 } else { 48 };
            if x.len() != size || y.len() != size {
                return Err(Failure::data(
                    "The JWK x or y has the wrong length for its curve",
                ));
            }
            let public = import(kind, "raw", &point)?;
            if !private {
                return Ok(public);
            }
            let d = jwk_bytes(jwk, "d")?;
            if d.len() != size {
                return Err(Failure::data(
                    "The JWK d has the wrong length for its curve",
                ));
            }
            let der = match kind {
                Kind::P256 => p256::SecretKey::from_slice(&d)
                    .map_err(|_| Failure::data("Invalid JWK d"))?
                    .to_pkcs8_der(),
                _ => p384::SecretKey::from_slice(&d)
                    .map_err(|_| Failure::data("Invalid JWK d"))?
                    .to_pkcs8_der(),
            }
            .map_err(|e| Failure::data(e.to_string()))?;
            let key = KeyData {
                private: true,
                der: der.as_bytes().to_vec(),
            };
            if public_of(kind, &key.der)? != public.der {
                return Err(Failure::data("The JWK d does not match its x and y"));
            }
            Ok(key)
        }
        Kind::Ed25519 => {
            jwk_expect(jwk, "kty", "OKP")?;
            jwk_expect(jwk, "crv", "Ed25519")?;
            let public = import(kind, "raw", &jwk_bytes(jwk, "x")?)?;
            if !private {
                return Ok(public);
            }
            let d: [u8; 32] = jwk_bytes(jwk, "d")?
                .try_into()
                .map_err(|_| Failure::data("An Ed25519 JWK d is 32 bytes"))?;
            let key = ed25519_dalek::SigningKey::from_bytes(&d);
            let der = ed25519_pkcs8(&key).map_err(|e| Failure::data(e.to_string()))?;
            let key = KeyData {
                private: true,
                der: der.as_bytes().to_vec(),
            };
            if public_of(kind, &key.der)? != public.der {
                return Err(Failure::data("The JWK d does not match its x"));
            }
            Ok(key)
        }
        Kind::Rsa => {
            jwk_expect(jwk, "kty", "RSA")?;
            let int = |name: &str| jwk_bytes(jwk, name).map(|b| rsa::BigUint::from_bytes_be(&b));
            let (n, e) = (int("n")?, int("e")?);
            let der = if private {
                let primes = if jwk.contains_key("p") {
                    vec![int("p")?, int("q")?]
                } else {
                    Vec::new()
                };
                let key = rsa::RsaPrivateKey::from_components(n, e, int("d")?, primes)
                    .map_err(|e| Failure::data(format!("Invalid RSA JWK: {e}")))?;
                // The CRT members, when given, must be the key's.
                for (name, value) in [("dp", key.dp()), ("dq", key.dq())] {
                    if jwk.contains_key(name) && Some(&int(name)?) != value {
                        return Err(Failure::data(format!(
                            "The RSA JWK {name:?} does not match"
                        )));
                    }
                }
                if jwk.contains_key("qi") && Some(int("qi")?) != key.crt_coefficient() {
                    return Err(Failure::data("The RSA JWK \"qi\" does not match"));
                }
                let der = key
                    .to_pkcs8_der()
                    .map_err(|e| Failure::data(e.to_string()))?;
                der.as_bytes().to_vec()
            } else {
                rsa::RsaPublicKey::new(n, e)
                    .map_err(|e| Failure::data(format!("Invalid RSA JWK: {e}")))?
                    .to_public_key_der()
                    .map_err(|e| Failure::data(e.to_string()))?
                    .into_vec()
            };
            Ok(KeyData { private, der })
        }
    }
}

/// Exports a key in v8rs's form as a JWK (without `alg`, `ext`, `key_ops`, which the
/// JavaScript side adds).
pub(crate) fn export_jwk(kind: Kind, key: &KeyData) -> Outcome<Jwk> {
    let op = |e: String| Failure::operation(e);
    let mut jwk = Jwk::new();
    let mut put = |name: &str, value: String| {
        jwk.insert(name.into(), value);
    };
    let public_der = if key.private {
        public_of(kind, &key.der)?
    } else {
        key.der.clone()
    };
    match kind {
        Kind::P256 | Kind::P384 => {
            put("kty", "EC".into());
            put("crv", kind.curve().into());
            let point = export(
                kind,
                "raw",
                &KeyData {
                    private: false,
                    der: public_der,
                },
            )?;
            let size = (point.len() - 1) / 2;
            put("x", b64(&point[1..1 + size]));
            put("y", b64(&point[1 + size..]));
            if key.private {
                let d = match kind {
                    Kind::P256 => p256::SecretKey::from_pkcs8_der(&key.der)
                        .map_err(|e| op(e.to_string()))?
                        .to_bytes()
                        .to_vec(),
                    _ => p384::SecretKey::from_pkcs8_der(&key.der)
                        .map_err(|e| op(e.to_string()))?
                        .to_bytes()
                        .to_vec(),
                };
                put("d", b64(&d));
            }
        }
        Kind::Ed25519 => {
            put("kty", "OKP".into());
            put("crv", "Ed25519".into());
            let x = export(
                kind,
                "raw",
                &KeyData {
                    private: false,
                    der: public_der,
                },
            )?;
            put("x", b64(&x));
            if key.private {
                let seed = ed25519_dalek::SigningKey::from_pkcs8_der(&key.der)
                    .map_err(|e| op(e.to_string()))?
                    .to_bytes();
                put("d", b64(&seed));
            }
        }
        Kind::Rsa => {
            put("kty", "RSA".into());
            let public = rsa::RsaPublicKey::from_public_key_der(&public_der)
                .map_err(|e| op(e.to_string()))?;
            put("n", b64(&public.n().to_bytes_be()));
            put("e", b64(&public.e().to_bytes_be()));
            if key.private {
                let mut private =
                    rsa::RsaPrivateKey::from_pkcs8_der(&key.der).map_err(|e| op(e.to_string()))?;
                private.precompute().map_err(|e| op(e.to_string()))?;
                let primes = private.primes();
                if primes.len() != 2 {
                    return Err(Failure::not_supported(
                        "Multi-prime RSA keys cannot be exported as JWK",
                    ));
                }
                put("d", b64(&private.d().to_bytes_be()));
                put("p", b64(&primes[0].to_bytes_be()));
                put("q", b64(&primes[1].to_bytes_be()));
                let missing = || op("The RSA key has no CRT values".into());
                put("dp", b64(&private.dp().ok_or_else(missing)?.to_bytes_be()));
                put("dq", b64(&private.dq().ok_or_else(missing)?.to_bytes_be()));
                let qi = private.crt_coefficient().ok_or_else(missing)?;
                put("qi", b64(&qi.to_bytes_be()));
            }
        }
    }
    Ok(jwk)
}

/// The modulus length (bits) and public exponent (big-endian bytes) of an RSA key.
pub(crate) fn rsa_info(key: &KeyData) -> Outcome<(usize, Vec<u8>)> {
    let public = if key.private {
        rsa::RsaPrivateKey::from_pkcs8_der(&key.der)
            .map_err(|e| Failure::data(e.to_string()))?
            .to_public_key()
    } else {
        rsa::RsaPublicKey::from_public_key_der(&key.der)
            .map_err(|e| Failure::data(e.to_string()))?
    };
    Ok((public.n().bits(), public.e().to_bytes_be()))
}

/// A new key pair of `kind` (for RSA, of `modulus_bits` with `exponent`): (PKCS #8,
/// SPKI).
pub(crate) fn generate(
    kind: Kind,
    modulus_bits: usize,
    exponent: &[u8],
) -> Outcome<(Vec<u8>, Vec<u8>)> {
    let op = |e: String| Failure::operation(e);
    let pkcs8 = match kind {
        Kind::P256 => p256::SecretKey::random(&mut OsRng).to_pkcs8_der(),
        Kind::P384 => p384::SecretKey::random(&mut OsRng).to_pkcs8_der(),
        Kind::Ed25519 => ed25519_pkcs8(&ed25519_dalek::SigningKey::generate(&mut OsRng)),
        Kind::Rsa => {
            if !(1024..=16384).contains(&modulus_bits) || !modulus_bits.is_multiple_of(8) {
                return Err(Failure::operation(format!(
                    "RSA keys of {modulus_bits} bits are not supported (1024 to 16384, whole bytes)"
                )));
            }
            let e = rsa::BigUint::from_bytes_be(exponent);
            if e != rsa::BigUint::from(3u32) && e != rsa::BigUint::from(65537u32) {
                return Err(Failure::operation(
                    "The RSA public exponent must be 3 or 65537",
                ));
            }
            rsa::RsaPrivateKey::new_with_exp(&mut OsRng, modulus_bits, &e)
                .map_err(|e| op(e.to_string()))?
                .to_pkcs8_der()
        }
    }
    .map_err(|e| op(e.to_string()))?;
    let pkcs8 = pkcs8.as_bytes().to_vec();
    let spki = public_of(kind, &pkcs8)?;
    Ok((pkcs8, spki))
}

/// How a signature is made: the algorithm and its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// ECDSA with this hash (signatures are r‖s, as WebCrypto has them).
    Ecdsa(Hash),
    /// Ed25519 (pure).
    Ed25519,
    /// RSASSA-PKCS1-v1_5 with this hash.
    Pkcs1(Hash),
    /// RSA-PSS with this hash and salt length (bytes).
    Pss(Hash, usize),
}

/// RSASSA-PKCS1-v1_5 padding for `hash`.
fn pkcs1_scheme(hash: Hash) -> rsa::Pkcs1v15Sign {
    match hash {
        Hash::Sha1 => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
        Hash::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
        Hash::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
        Hash::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
    }
}

/// RSA-PSS (MGF1 with the same hash) for `hash` and a salt of `salt` bytes.
fn pss_scheme(hash: Hash, salt: usize) -> rsa::Pss {
    match hash {
        Hash::Sha1 => rsa::Pss::new_with_salt::<sha1::Sha1>(salt),
        Hash::Sha256 => rsa::Pss::new_with_salt::<sha2::Sha256>(salt),
        Hash::Sha384 => rsa::Pss::new_with_salt::<sha2::Sha384>(salt),
        Hash::Sha512 => rsa::Pss::new_with_salt::<sha2::Sha512>(salt),
    }
}

/// Signs `data` with a private key (PKCS #8 DER) of `kind`.
pub(crate) fn sign(kind: Kind, scheme: Scheme, pkcs8: &[u8], data: &[u8]) -> Outcome<Vec<u8>> {
    use ed25519_dalek::Signer as _;
    use p256::ecdsa::signature::hazmat::PrehashSigner as _;
    let op = |e: String| Failure::operation(e);
    match (kind, scheme) {
        (Kind::P256, Scheme::Ecdsa(hash)) => {
            let key =
                p256::ecdsa::SigningKey::from_pkcs8_der(pkcs8).map_err(|e| op(e.to_string()))?;
            let signature: p256::ecdsa::Signature = key
                .sign_prehash(&hash.digest(data))
                .map_err(|e| op(e.to_string()))?;
            Ok(signature.to_bytes().to_vec())
        }
        (Kind::P384, Scheme::Ecdsa(hash)) => {
            let key =
                p384::ecdsa::SigningKey::from_pkcs8_der(pkcs8).map_err(|e| op(e.to_string()))?;
            let signature: p384::ecdsa::Signature = key
                .sign_prehash(&hash.digest(data))
                .map_err(|e| op(e.to_string()))?;
            Ok(signature.to_bytes().to_vec())
        }
        (Kind::Ed25519, Scheme::Ed25519) => {
            let key =
                ed25519_dalek::SigningKey::from_pkcs8_der(pkcs8).map_err(|e| op(e.to_string()))?;
            Ok(key.sign(data).to_bytes().to_vec())
        }
        (Kind::Rsa, Scheme::Pkcs1(hash)) => {
            let key = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8).map_err(|e| op(e.to_string()))?;
            key.sign_with_rng(&mut OsRng, pkcs1_scheme(hash), &hash.digest(data))
                .map_err(|e| op(e.to_string()))
        }
        (Kind::Rsa, Scheme::Pss(hash, salt)) => {
            let key = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8).map_err(|e| op(e.to_string()))?;
            key.sign_with_rng(&mut OsRng, pss_scheme(hash, salt), &hash.digest(data))
                .map_err(|e| op(e.to_string()))
        }
        _ => Err(Failure {
            name: "InvalidAccessError",
            message: "The key is not a key of this algorithm".into(),
        }),
    }
}

/// Whether `signature` is a valid signature of `data` under a public key (SPKI DER).
/// A malformed signature is not valid (`false`), not an error.
pub(crate) fn verify(
    kind: Kind,
    scheme: Scheme,
    spki: &[u8],
    data: &[u8],
    signature: &[u8],
) -> Outcome<bool> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
    let op = |e: String| Failure::operation(e);
    Ok(match (kind, scheme) {
        (Kind::P256, Scheme::Ecdsa(hash)) => {
            let key = p256::ecdsa::VerifyingKey::from_public_key_der(spki)
                .map_err(|e| op(e.to_string()))?;
            match p256::ecdsa::Signature::from_slice(signature) {
                Ok(signature) => key.verify_prehash(&hash.digest(data), &signature).is_ok(),
                Err(_) => false,
            }
        }
        (Kind::P384, Scheme::Ecdsa(hash)) => {
            let key = p384::ecdsa::VerifyingKey::from_public_key_der(spki)
                .map_err(|e| op(e.to_string()))?;
            match p384::ecdsa::Signature::from_slice(signature) {
                Ok(signature) => key.verify_prehash(&hash.digest(data), &signature).is_ok(),
                Err(_) => false,
            }
        }
        (Kind::Ed25519, Scheme::Ed25519) => {
            let key = ed25519_dalek::VerifyingKey::from_public_key_der(spki)
                .map_err(|e| op(e.to_string()))?;
            match ed25519_dalek::Signature::from_slice(signature) {
                Ok(signature) => key.verify_strict(data, &signature).is_ok(),
                Err(_) => false,
            }
        }
        (Kind::Rsa, Scheme::Pkcs1(hash)) => {
            let key =
                rsa::RsaPublicKey::from_public_key_der(spki).map_err(|e| op(e.to_string()))?;
            key.verify(pkcs1_scheme(hash), &hash.digest(data), signature)
                .is_ok()
        }
        (Kind::Rsa, Scheme::Pss(hash, salt)) => {
            let key =
                rsa::RsaPublicKey::from_public_key_der(spki).map_err(|e| op(e.to_string()))?;
            key.verify(pss_scheme(hash, salt), &hash.digest(data), signature)
                .is_ok()
        }
        _ => {
            return Err(Failure {
                name: "InvalidAccessError",
                message: "The key is not a key of this algorithm".into(),
            })
        }
    })
}

/// ECDH: the shared secret (the x coordinate) of a private key (PKCS #8) and a public
/// key (SPKI) on the curve of `kind`.
pub(crate) fn ecdh(kind: Kind, pkcs8: &[u8], spki: &[u8]) -> Outcome<Vec<u8>> {
    let op = |e: String| Failure::operation(e);
    match kind {
        Kind::P256 => {
            let secret = p256::SecretKey::from_pkcs8_der(pkcs8).map_err(|e| op(e.to_string()))?;
            let public = p256::PublicKey::from_public_key_der(spki).map_err(|_| Failure {
                name: "InvalidAccessError",
                message: "The public key is not on the private key's curve".into(),
            })?;
            let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), public.as_affine());
            Ok(shared.raw_secret_bytes().to_vec())
        }
        Kind::P384 => {
            let secret = p384::SecretKey::from_pkcs8_der(pkcs8).map_err(|e| op(e.to_string()))?;
            let public = p384::PublicKey::from_public_key_der(spki).map_err(|_| Failure {
                name: "InvalidAccessError",
                message: "The public key is not on the private key's curve".into(),
            })?;
            let shared = p384::ecdh::diffie_hellman(secret.to_nonzero_scalar(), public.as_affine());
            Ok(shared.raw_secret_bytes().to_vec())
        }
        _ => Err(Failure::not_supported("ECDH needs a P-256 or P-384 key")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `bytes` in lower-case hex.
    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The bytes of hex `text`.
    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn digests_of_abc() {
        assert_eq!(
            hex(&Hash::Sha1.digest(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(&Hash::Sha256.digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Hash::from_name("sha-384"), Ok(Hash::Sha384));
        assert_eq!(
            Hash::from_name("MD5").unwrap_err().name,
            "NotSupportedError"
        );
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "pure-Rust cryptography (no unsafe here): hours under Miri"
    )]
    fn aes_gcm_nist_test_case_4() {
        // The GCM specification's test case 4 (AES-128, 60 bytes, 20 bytes of AAD).
        let key = unhex("feffe9928665731c6d6a8f9467308308");
        let iv = unhex("cafebabefacedbaddecaf888");
        let plain = unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
        let aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let sealed = aes_gcm(true, &key, &iv, &aad, 128, &plain).unwrap();
        assert_eq!(
            hex(&sealed),
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091\
             5bc94fbc3221a5db94fae95ae7121a47"
        );
        assert_eq!(
            aes_gcm(false, &key, &iv, &aad, 128, &sealed).unwrap(),
            plain
        );
        let mut bad = sealed.clone();
        bad[0] ^= 1;
        assert_eq!(
            aes_gcm(false, &key, &iv, &aad, 128, &bad).unwrap_err().name,
            "OperationError"
        );
        assert_eq!(
            aes_gcm(true, &key, &iv, &aad, 64, &plain).unwrap_err().name,
            "NotSupportedError"
        );
        assert_eq!(
            aes_gcm(true, &key[..5], &iv, &aad, 128, &plain)
                .unwrap_err()
                .name,
            "DataError"
        );
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "pure-Rust cryptography (no unsafe here): hours under Miri"
    )]
    fn ed25519_rfc8032_test_1() {
        let seed = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        let jwk = Jwk::from([
            ("kty".into(), "OKP".into()),
            ("crv".into(), "Ed25519".into()),
            ("x".into(), x.into()),
            ("d".into(), seed.into()),
        ]);
        let key = import_jwk(Kind::Ed25519, &jwk).unwrap();
        assert!(key.private);
        let signature = sign(Kind::Ed25519, Scheme::Ed25519, &key.der, b"").unwrap();
        assert_eq!(
            hex(&signature),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        let public = public_of(Kind::Ed25519, &key.der).unwrap();
        assert!(verify(Kind::Ed25519, Scheme::Ed25519, &public, b"", &signature).unwrap());
        assert!(!verify(Kind::Ed25519, Scheme::Ed25519, &public, b"x", &signature).unwrap());
        assert_eq!(export_jwk(Kind::Ed25519, &key).unwrap(), jwk);
        // Version 1 PKCS #8, as browsers and Node write it: 48 bytes.
        assert_eq!(key.der.len(), 48);
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "pure-Rust cryptography (no unsafe here): hours under Miri"
    )]
    fn jwk_round_trips_and_mismatches() {
        for kind in [Kind::P256, Kind::P384, Kind::Ed25519] {
            let (pkcs8, spki) = generate(kind, 0, &[]).unwrap();
            let private = KeyData {
                private: true,
                der: pkcs8,
            };
            let jwk = export_jwk(kind, &private).unwrap();
            assert_eq!(import_jwk(kind, &jwk).unwrap(), private);
            let mut public_jwk = jwk.clone();
            public_jwk.remove("d");
            assert_eq!(import_jwk(kind, &public_jwk).unwrap().der, spki);
            // A d of another key: DataError.
            let (other, _) = generate(kind, 0, &[]).unwrap();
            let other = export_jwk(
                kind,
                &KeyData {
                    private: true,
                    der: other,
                },
            )
            .unwrap();
            let mut mixed = jwk.clone();
            mixed.insert("d".into(), other["d"].clone());
            assert_eq!(import_jwk(kind, &mixed).unwrap_err().name, "DataError");
            // Not base64url, or the wrong kty: DataError.
            let mut broken = jwk.clone();
            broken.insert("x".into(), "not base64!".into());
            assert_eq!(import_jwk(kind, &broken).unwrap_err().name, "DataError");
            let mut wrong = jwk.clone();
            wrong.insert("kty".into(), "RSA".into());
            assert_eq!(import_jwk(kind, &wrong).unwrap_err().name, "DataError");
        }
        assert_eq!(
            secret_from_jwk(&secret_to_jwk(b"\xff\x00key")).unwrap(),
            b"\xff\x00key"
        );
        assert_eq!(secret_to_jwk(b"\xfb\xff")["k"], "-_8");
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "pure-Rust cryptography (no unsafe here): hours under Miri"
    )]
    fn rsa_jwk_and_signatures() {
        let (pkcs8, spki) = generate(Kind::Rsa, 1024, &[1, 0, 1]).unwrap();
        let private = KeyData {
            private: true,
            der: pkcs8,
        };
        let jwk = export_jwk(Kind::Rsa, &private).unwrap();
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(import_jwk(Kind::Rsa, &jwk).unwrap(), private);
        let mut wrong = jwk.clone();
        wrong.insert("dp".into(), "AQAB".into());
        assert_eq!(import_jwk(Kind::Rsa, &wrong).unwrap_err().name, "DataError");
        for scheme in [Scheme::Pkcs1(Hash::Sha256), Scheme::Pss(Hash::Sha384, 20)] {
            let signature = sign(Kind::Rsa, scheme, &private.der, b"data").unwrap();
            assert!(verify(Kind::Rsa, scheme, &spki, b"data", &signature).unwrap());
            assert!(!verify(Kind::Rsa, scheme, &spki, b"date", &signature).unwrap());
        }
        assert_eq!(rsa_info(&private).unwrap(), (1024, vec![1, 0, 1]));
        assert_eq!(
            generate(Kind::Rsa, 1024, &[5]).unwrap_err().name,
            "OperationError"
        );
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "pure-Rust cryptography (no unsafe here): hours under Miri"
    )]
    fn derivations_known_answers() {
        // RFC 6070 test 2 (PBKDF2-HMAC-SHA1, 2 iterations).
        assert_eq!(
            hex(&pbkdf2(Hash::Sha1, b"password", b"salt", 2, 160, &|| false).unwrap()),
            "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"
        );
        // RFC 5869 test case 1 (HKDF-SHA256).
        let okm = hkdf(
            Hash::Sha256,
            &unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
            &unhex("000102030405060708090a0b0c"),
            &unhex("f0f1f2f3f4f5f6f7f8f9"),
            42 * 8,
        )
        .unwrap();
        assert_eq!(
            hex(&okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
        assert_eq!(
            pbkdf2(Hash::Sha1, b"p", b"s", 0, 8, &|| false)
                .unwrap_err()
                .name,
            "OperationError"
        );
        assert_eq!(
            hkdf(Hash::Sha1, b"k", b"", b"", 7).unwrap_err().name,
            "OperationError"
        );
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "pure-Rust cryptography (no unsafe here): hours under Miri"
    )]
    fn formats_a_key_cannot_have() {
        let (pkcs8, spki) = generate(Kind::P256, 0, &[]).unwrap();
        let private = KeyData {
            private: true,
            der: pkcs8.clone(),
        };
        assert_eq!(
            export(Kind::P256, "raw", &private).unwrap_err().name,
            "InvalidAccessError"
        );
        assert_eq!(
            export(Kind::P256, "spki", &private).unwrap_err().name,
            "InvalidAccessError"
        );
        let public = import(Kind::P256, "spki", &spki).unwrap();
        assert_eq!(export(Kind::P256, "raw", &public).unwrap().len(), 65);
        // A P-256 key is not a P-384 one.
        assert_eq!(
            import(Kind::P384, "pkcs8", &pkcs8).unwrap_err().name,
            "DataError"
        );
        assert_eq!(
            import(Kind::P256, "pkcs8", b"junk").unwrap_err().name,
            "DataError"
        );
        assert_eq!(
            import(Kind::Rsa, "raw", b"junk").unwrap_err().name,
            "NotSupportedError"
        );
    }
}
