// crypto.subtle (WebCrypto) of a v8rs context (docs/web-apis.md), on the subtle*
// natives of src/engine/web/subtle/ (RustCrypto). Runs once per context with the
// `crypto` group, on the first use of `crypto.subtle`, `SubtleCrypto` or `CryptoKey`
// (the prelude hands over its internals); returns them. Keys live in
// private fields of CryptoKey (a secret key's bytes, a private key's PKCS #8, a public
// key's SPKI): user code reaches them only through exportKey of an extractable key.
// The natives work synchronously, so each promise is settled when the method returns.
(function install(native, internals) {
  'use strict';

  const { DOMException, Crypto, kCreate } = internals;
  const kKey = Symbol('v8rs.cryptoKey');

  // --- errors -----------------------------------------------------------------------
  const DOM_NAMES = new Set(['NotSupportedError', 'DataError', 'OperationError', 'InvalidAccessError', 'SyntaxError']);
  const error = (name, message) => new DOMException(message, name);

  // Calls a native; its named failures become DOMExceptions.
  function call(f, ...args) {
    try {
      return f(...args);
    } catch (e) {
      if (e instanceof Error && Object.hasOwn(e, 'name') && DOM_NAMES.has(e.name)) throw error(e.name, e.message);
      throw e;
    }
  }

  // --- WebIDL-ish conversions ---------------------------------------------------------
  const abByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;
  const isArrayBuffer = (value) => {
    try {
      abByteLength.call(value);
      return true;
    } catch {
      return false;
    }
  };

  // A copy of a BufferSource's bytes (a TypeError for anything else).
  function bytes(value, what) {
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice();
    if (isArrayBuffer(value)) return new Uint8Array(value).slice();
    throw new TypeError(`${what} is not of type '(ArrayBuffer or ArrayBufferView)'.`);
  }

  const toBuffer = (array) => array.buffer;

  const USAGES = ['encrypt', 'decrypt', 'sign', 'verify', 'deriveKey', 'deriveBits', 'wrapKey', 'unwrapKey'];
  function usageList(value) {
    if (value === null || typeof value !== 'object' || typeof value[Symbol.iterator] !== 'function') {
      throw new TypeError('The provided value cannot be converted to a sequence.');
    }
    const found = new Set();
    for (const usage of value) {
      const text = String(usage);
      if (!USAGES.includes(text)) {
        throw new TypeError(`The provided value '${text}' is not a valid enum value of type KeyUsage.`);
      }
      found.add(text);
    }
    return USAGES.filter((usage) => found.has(usage));
  }

  function enumValue(value, allowed, type) {
    const text = String(value);
    if (!allowed.includes(text)) throw new TypeError(`The provided value '${text}' is not a valid enum value of type ${type}.`);
    return text;
  }

  // WebIDL's [EnforceRange] integers (every integer member of the algorithms): out of
  // range is a TypeError, not wrapped (-1 iterations were 2**32 - 1).
  function unsigned(value, what, bits = 32) {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new TypeError(`${what} is not a finite number.`);
    const int = Math.trunc(n);
    if (int < 0 || int > 2 ** bits - 1) {
      const type = bits === 8 ? 'octet' : bits === 16 ? 'unsigned short' : 'unsigned long';
      throw new TypeError(`${what} is outside the '${type}' value range.`);
    }
    return int;
  }

  // A plain WebIDL `unsigned long` (deriveBits' length): wrapped modulo 2**32.
  function wrapped(value, what) {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new TypeError(`${what} is not a finite number.`);
    return Math.trunc(n) >>> 0;
  }

  // --- algorithms -------------------------------------------------------------------
  const HASHES = ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'];
  const CURVES = ['P-256', 'P-384'];
  const RSA = ['RSASSA-PKCS1-v1_5', 'RSA-PSS'];
  // The algorithms of each operation.
  const SUPPORTED = {
    digest: HASHES,
    sign: ['HMAC', 'ECDSA', 'Ed25519', ...RSA],
    verify: ['HMAC', 'ECDSA', 'Ed25519', ...RSA],
    generateKey: ['HMAC', 'AES-GCM', 'ECDSA', 'ECDH', 'Ed25519', ...RSA],
    importKey: ['HMAC', 'AES-GCM', 'ECDSA', 'ECDH', 'Ed25519', ...RSA, 'PBKDF2', 'HKDF'],
    encrypt: ['AES-GCM'],
    decrypt: ['AES-GCM'],
    deriveBits: ['PBKDF2', 'HKDF', 'ECDH'],
    'get key length': ['HMAC', 'AES-GCM'],
  };

  function member(algorithm, name, required) {
    const value = algorithm[name];
    if (value === undefined && required) {
      throw new TypeError(`Failed to read the '${name}' property from '${algorithm.name}': Required member is undefined.`);
    }
    return value;
  }

  // The spec's "normalize an algorithm": a canonical name and the members the
  // operation reads, converted.
  function normalize(algorithm, op) {
    if (typeof algorithm === 'string') algorithm = { name: algorithm };
    if (algorithm === null || (typeof algorithm !== 'object' && typeof algorithm !== 'function')) {
      throw new TypeError('Algorithm: Not an object');
    }
    if (algorithm.name === undefined) throw new TypeError("Algorithm: name: Missing or not a string");
    const given = String(algorithm.name);
    const name = SUPPORTED[op].find((known) => known.toUpperCase() === given.toUpperCase());
    if (name === undefined) throw error('NotSupportedError', `Unrecognized algorithm name`);
    const out = { name };
    const hash = (required) => {
      const value = member(algorithm, 'hash', required);
      if (value !== undefined) out.hash = normalize(value, 'digest');
    };
    const buffer = (key, required) => {
      const value = member(algorithm, key, required);
      if (value !== undefined) out[key] = bytes(value, `${name}: ${key}`);
    };
    switch (`${op}:${name}`) {
      case 'sign:ECDSA': case 'verify:ECDSA': hash(true); break;
      case 'sign:RSA-PSS': case 'verify:RSA-PSS':
        out.saltLength = unsigned(member(algorithm, 'saltLength', true), 'saltLength'); break;
      case 'generateKey:HMAC': case 'importKey:HMAC': case 'get key length:HMAC':
        hash(true);
        if (algorithm.length !== undefined) out.length = unsigned(algorithm.length, 'length');
        break;
      case 'generateKey:AES-GCM': case 'get key length:AES-GCM':
        out.length = unsigned(member(algorithm, 'length', true), 'length', 16); break;
      case 'generateKey:ECDSA': case 'generateKey:ECDH': case 'importKey:ECDSA': case 'importKey:ECDH':
        out.namedCurve = String(member(algorithm, 'namedCurve', true)); break;
      case 'generateKey:RSASSA-PKCS1-v1_5': case 'generateKey:RSA-PSS':
        out.modulusLength = unsigned(member(algorithm, 'modulusLength', true), 'modulusLength');
        out.publicExponent = bytes(member(algorithm, 'publicExponent', true), 'publicExponent');
        hash(true);
        break;
      case 'importKey:RSASSA-PKCS1-v1_5': case 'importKey:RSA-PSS': hash(true); break;
      case 'encrypt:AES-GCM': case 'decrypt:AES-GCM':
        buffer('iv', true);
        buffer('additionalData', false);
        if (algorithm.tagLength !== undefined) out.tagLength = unsigned(algorithm.tagLength, 'tagLength', 8);
        break;
      case 'deriveBits:PBKDF2':
        buffer('salt', true);
        out.iterations = unsigned(member(algorithm, 'iterations', true), 'iterations');
        hash(true);
        break;
      case 'deriveBits:HKDF': hash(true); buffer('salt', true); buffer('info', true); break;
      case 'deriveBits:ECDH': {
        const key = member(algorithm, 'public', true);
        if (!isKey(key)) throw new TypeError("Failed to read the 'public' property from 'EcdhKeyDeriveParams': Failed to convert value to 'CryptoKey'.");
        out.public = key;
        break;
      }
    }
    return out;
  }

  // HMAC's default key length: the hash's block size.
  const hmacBlockBits = (hash) => (hash === 'SHA-384' || hash === 'SHA-512' ? 1024 : 512);
  const hashBits = (hash) => ({ 'SHA-1': 160, 'SHA-256': 256, 'SHA-384': 384, 'SHA-512': 512 })[hash];

  // --- CryptoKey ----------------------------------------------------------------------
  let isKey, keyData, makeKey, copyKey;

  class CryptoKey {
    #type;
    #extractable;
    #algorithm;
    #usages;
    #data;
    constructor(token, type, extractable, algorithm, usages, data) {
      if (token !== kKey) throw new TypeError('Illegal constructor');
      this.#type = type;
      this.#extractable = extractable;
      this.#algorithm = algorithm;
      this.#usages = usages;
      this.#data = data;
    }
    get type() { return this.#type; }
    get extractable() { return this.#extractable; }
    get algorithm() { return this.#algorithm; }
    get usages() { return this.#usages; }
    static {
      isKey = (value) => value !== null && typeof value === 'object' && #data in value;
      keyData = (key) => key.#data;
      makeKey = (type, extractable, algorithm, usages, data) =>
        new CryptoKey(kKey, type, extractable, Object.freeze(algorithm), Object.freeze(usages), data);
      // structuredClone's copy (the key material is never changed, so it is shared).
      copyKey = (key) => {
        if (!(#data in key)) return undefined;
        const algorithm = {};
        for (const [name, value] of Object.entries(key.#algorithm)) {
          algorithm[name] = ArrayBuffer.isView(value) ? value.slice()
            : value !== null && typeof value === 'object' ? { ...value } : value;
        }
        return makeKey(key.#type, key.#extractable, algorithm, [...key.#usages], key.#data);
      };
    }
  }
  internals.brandClass(CryptoKey, copyKey);
  Object.defineProperty(CryptoKey.prototype, Symbol.toStringTag, { value: 'CryptoKey', configurable: true });

  // The algorithm object a key shows.
  function keyAlgorithm(normalized, extra = {}) {
    const out = { name: normalized.name, ...extra };
    if (normalized.hash) out.hash = { name: normalized.hash.name };
    return out;
  }

  function requireKey(key, what) {
    if (!isKey(key)) throw new TypeError(`Failed to execute '${what}' on 'SubtleCrypto': parameter is not of type 'CryptoKey'.`);
  }

  // The checks every operation makes of its key.
  function checkKey(key, normalized, usage) {
    if (key.algorithm.name !== normalized.name) {
      throw error('InvalidAccessError', `The requested operation is not valid for the provided key (it is a ${key.algorithm.name} key)`);
    }
    if (!key.usages.includes(usage)) {
      throw error('InvalidAccessError', `The requested operation is not valid for the provided key (its usages do not include '${usage}')`);
    }
  }

  // The usages a key of `name` and `type` may have.
  function allowedUsages(name, type) {
    switch (name) {
      case 'HMAC': return ['sign', 'verify'];
      case 'AES-GCM': return ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'];
      case 'PBKDF2': case 'HKDF': return ['deriveKey', 'deriveBits'];
      case 'ECDH': return type === 'private' ? ['deriveKey', 'deriveBits'] : [];
      default: return type === 'private' ? ['sign'] : ['verify'];
    }
  }

  function checkUsages(usages, allowed) {
    for (const usage of usages) {
      if (!allowed.includes(usage)) throw error('SyntaxError', `Cannot create a key using the specified key usages ('${usage}').`);
    }
  }

  // --- JWK --------------------------------------------------------------------------
  const jwkAlg = {
    HMAC: (a) => `HS${a.hash.name.slice(4)}`,
    'AES-GCM': (a) => `A${a.length}GCM`,
    'RSASSA-PKCS1-v1_5': (a) => `RS${a.hash.name.slice(4)}`,
    'RSA-PSS': (a) => `PS${a.hash.name.slice(4)}`,
    // As Node writes it (jose's "EdDSA" is accepted on import).
    Ed25519: () => 'Ed25519',
  };

  // The spec's checks of a JWK's `use`, `key_ops`, `ext` and `alg` on import.
  function checkJwk(jwk, normalized, extractable, usages, expectedAlg, use) {
    if (jwk.use !== undefined && usages.length > 0 && String(jwk.use) !== use) {
      throw error('DataError', `The JWK "use" member must be "${use}"`);
    }
    if (jwk.key_ops !== undefined) {
      const ops = Array.from(jwk.key_ops, String);
      if (new Set(ops).size !== ops.length) throw error('DataError', 'The JWK "key_ops" member has duplicates');
      for (const usage of usages) {
        if (!ops.includes(usage)) throw error('DataError', `The JWK "key_ops" member does not include '${usage}'`);
      }
    }
    if (jwk.ext === false && extractable) throw error('DataError', 'The JWK "ext" member is false but the key is to be extractable');
    if (jwk.alg !== undefined && expectedAlg !== undefined && !expectedAlg.includes(String(jwk.alg))) {
      throw error('DataError', `The JWK "alg" member ${JSON.stringify(String(jwk.alg))} does not match the algorithm`);
    }
  }

  function jwkCopy(keyData) {
    if (keyData === null || typeof keyData !== 'object' || ArrayBuffer.isView(keyData) || isArrayBuffer(keyData)) {
      throw new TypeError("Failed to execute 'importKey' on 'SubtleCrypto': The provided value is not of type 'JsonWebKey'.");
    }
    if (keyData.kty === undefined) throw new TypeError("Failed to execute 'importKey' on 'SubtleCrypto': kty: Missing or not a string");
    const copy = { __proto__: null };
    for (const name of ['kty', 'crv', 'x', 'y', 'd', 'n', 'e', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'alg', 'use']) {
      if (keyData[name] !== undefined) copy[name] = String(keyData[name]);
    }
    if (keyData.key_ops !== undefined) copy.key_ops = Array.from(keyData.key_ops, String);
    if (keyData.ext !== undefined) copy.ext = Boolean(keyData.ext);
    if (keyData.oth !== undefined) throw error('NotSupportedError', 'Multi-prime RSA keys ("oth") are not supported');
    return copy;
  }

  // --- import -------------------------------------------------------------------------
  const FORMATS = ['raw', 'spki', 'pkcs8', 'jwk'];

  function importSecret(format, keyData, normalized, extractable, usages) {
    const name = normalized.name;
    checkUsages(usages, allowedUsages(name, 'secret'));
    let data;
    if (format === 'raw') {
      data = bytes(keyData, "Failed to execute 'importKey' on 'SubtleCrypto': parameter 2");
    } else if (format === 'jwk' && (name === 'HMAC' || name === 'AES-GCM')) {
      const jwk = jwkCopy(keyData);
      data = call(native.subtleImport, 'secret', '', 'jwk', jwk)[1];
      const expected = name === 'HMAC' ? [jwkAlg.HMAC(normalized)] : [`A${data.length * 8}GCM`];
      checkJwk(jwk, normalized, extractable, usages, expected, name === 'HMAC' ? 'sig' : 'enc');
    } else {
      throw error('NotSupportedError', `The ${format} format is not supported for ${name} keys`);
    }
    let algorithm;
    if (name === 'HMAC') {
      const bits = data.length * 8;
      if (bits === 0) throw error('DataError', 'HMAC key data must not be empty');
      const length = normalized.length ?? bits;
      if (length > bits || length <= bits - 8) throw error('DataError', 'The HMAC length does not match the key data');
      algorithm = keyAlgorithm(normalized, { length });
    } else if (name === 'AES-GCM') {
      if (![16, 24, 32].includes(data.length)) throw error('DataError', 'AES key data must be 128, 192 or 256 bits');
      algorithm = { name, length: data.length * 8 };
    } else {
      if (extractable) throw error('SyntaxError', `${name} keys cannot be extractable`);
      algorithm = { name };
    }
    if (usages.length === 0) throw error('SyntaxError', 'Usages cannot be empty when creating a key.');
    return makeKey('secret', extractable, algorithm, usages, data);
  }

  function importAsymmetric(format, keyData, normalized, extractable, usages) {
    const name = normalized.name;
    const curve = normalized.namedCurve ?? '';
    if ((name === 'ECDSA' || name === 'ECDH') && !CURVES.includes(curve)) {
      throw error('NotSupportedError', `The named curve ${JSON.stringify(curve)} is not supported (P-256 and P-384 are)`);
    }
    let imported;
    if (format === 'jwk') {
      const jwk = jwkCopy(keyData);
      const type = jwk.d !== undefined ? 'private' : 'public';
      let expected;
      if (name === 'ECDSA') expected = [{ 'P-256': 'ES256', 'P-384': 'ES384' }[curve]];
      else if (name === 'Ed25519') expected = ['EdDSA', 'Ed25519'];
      else if (name === 'ECDH') expected = undefined;
      else expected = [jwkAlg[name](normalized)];
      checkUsages(usages, allowedUsages(name, type));
      checkJwk(jwk, normalized, extractable, usages, expected, name === 'ECDH' ? 'enc' : 'sig');
      imported = call(native.subtleImport, name, curve, 'jwk', jwk);
    } else {
      const data = bytes(keyData, "Failed to execute 'importKey' on 'SubtleCrypto': parameter 2");
      const isRsa = RSA.includes(name);
      if (format === 'raw' && isRsa) throw error('NotSupportedError', 'RSA keys cannot be imported in the raw format');
      checkUsages(usages, allowedUsages(name, format === 'pkcs8' ? 'private' : 'public'));
      imported = call(native.subtleImport, name, curve, format, data);
    }
    const [isPrivate, der] = imported;
    const type = isPrivate ? 'private' : 'public';
    if (type === 'private' && usages.length === 0) throw error('SyntaxError', 'Usages cannot be empty when creating a key.');
    let algorithm;
    if (RSA.includes(name)) {
      const [modulusLength, publicExponent] = call(native.subtleRsaInfo, isPrivate, der);
      algorithm = keyAlgorithm(normalized, { modulusLength, publicExponent });
    } else if (name === 'Ed25519') {
      algorithm = { name };
    } else {
      algorithm = { name, namedCurve: curve };
    }
    return makeKey(type, extractable, algorithm, usages, der);
  }

  function importKey(format, keyData, algorithm, extractable, keyUsages) {
    format = enumValue(format, FORMATS, 'KeyFormat');
    const normalized = normalize(algorithm, 'importKey');
    extractable = Boolean(extractable);
    const usages = usageList(keyUsages);
    if (['HMAC', 'AES-GCM', 'PBKDF2', 'HKDF'].includes(normalized.name)) {
      return importSecret(format, keyData, normalized, extractable, usages);
    }
    return importAsymmetric(format, keyData, normalized, extractable, usages);
  }

  // --- export -------------------------------------------------------------------------
  function exportKey(format, key) {
    format = enumValue(format, FORMATS, 'KeyFormat');
    requireKey(key, 'exportKey');
    if (!key.extractable) throw error('InvalidAccessError', 'key is not extractable');
    const algorithm = key.algorithm;
    const name = algorithm.name;
    const data = keyData(key);
    if (key.type === 'secret') {
      if (format === 'raw') return toBuffer(data.slice());
      if (format !== 'jwk') throw error('NotSupportedError', `The ${format} format is not supported for ${name} keys`);
      const jwk = call(native.subtleExport, 'secret', '', 'jwk', false, data);
      return { ...jwk, alg: jwkAlg[name](algorithm), key_ops: [...key.usages], ext: key.extractable };
    }
    const curve = algorithm.namedCurve ?? '';
    const isPrivate = key.type === 'private';
    if (format === 'jwk') {
      const jwk = call(native.subtleExport, name, curve, 'jwk', isPrivate, data);
      if (jwkAlg[name]) jwk.alg = jwkAlg[name](algorithm);
      return { ...jwk, key_ops: [...key.usages], ext: key.extractable };
    }
    if (format === 'raw' && (isPrivate || RSA.includes(name))) {
      throw error('InvalidAccessError', `A ${key.type} ${name} key cannot be exported as raw`);
    }
    if ((format === 'spki' && isPrivate) || (format === 'pkcs8' && !isPrivate)) {
      throw error('InvalidAccessError', `A ${key.type} key cannot be exported as ${format}`);
    }
    return toBuffer(call(native.subtleExport, name, curve, format, isPrivate, data));
  }

  // --- generate -----------------------------------------------------------------------
  function generateKey(algorithm, extractable, keyUsages) {
    const normalized = normalize(algorithm, 'generateKey');
    extractable = Boolean(extractable);
    const usages = usageList(keyUsages);
    const name = normalized.name;
    if (name === 'HMAC' || name === 'AES-GCM') {
      checkUsages(usages, allowedUsages(name, 'secret'));
      let length;
      if (name === 'HMAC') {
        length = normalized.length ?? hmacBlockBits(normalized.hash.name);
        if (length === 0) throw error('OperationError', 'The HMAC key length must not be 0');
      } else {
        length = normalized.length;
        if (![128, 192, 256].includes(length)) throw error('OperationError', 'AES key length must be 128, 192 or 256 bits');
      }
      if (usages.length === 0) throw error('SyntaxError', 'Usages cannot be empty when creating a key.');
      const data = native.randomFill(new Uint8Array(Math.ceil(length / 8)));
      const keyAlg = name === 'HMAC' ? keyAlgorithm(normalized, { length }) : { name, length };
      return makeKey('secret', extractable, keyAlg, usages, data);
    }
    const curve = normalized.namedCurve ?? '';
    if ((name === 'ECDSA' || name === 'ECDH') && !CURVES.includes(curve)) {
      throw error('NotSupportedError', `The named curve ${JSON.stringify(curve)} is not supported (P-256 and P-384 are)`);
    }
    checkUsages(usages, [...allowedUsages(name, 'private'), ...allowedUsages(name, 'public')]);
    const [pkcs8, spki] = call(native.subtleGenerate, name, curve, normalized.modulusLength ?? 0,
      normalized.publicExponent ?? new Uint8Array(0));
    let keyAlg;
    if (RSA.includes(name)) {
      keyAlg = () => keyAlgorithm(normalized, { modulusLength: normalized.modulusLength, publicExponent: normalized.publicExponent.slice() });
    } else if (name === 'Ed25519') {
      keyAlg = () => ({ name });
    } else {
      keyAlg = () => ({ name, namedCurve: curve });
    }
    const privateUsages = usages.filter((u) => allowedUsages(name, 'private').includes(u));
    const publicUsages = usages.filter((u) => allowedUsages(name, 'public').includes(u));
    if (privateUsages.length === 0) throw error('SyntaxError', 'Usages cannot be empty when creating a key.');
    return {
      publicKey: makeKey('public', true, keyAlg(), publicUsages, spki),
      privateKey: makeKey('private', extractable, keyAlg(), privateUsages, pkcs8),
    };
  }

  // --- sign, verify -------------------------------------------------------------------
  function signature(op, algorithm, key, sig, data) {
    const normalized = normalize(algorithm, op);
    requireKey(key, op);
    checkKey(key, normalized, op);
    const name = normalized.name;
    const d = keyData(key);
    if (name === 'HMAC') {
      const hash = key.algorithm.hash.name;
      return op === 'sign' ? toBuffer(call(native.subtleHmac, hash, d, data)) : call(native.subtleHmac, hash, d, data, sig);
    }
    const hash = normalized.hash?.name ?? key.algorithm.hash?.name ?? '';
    const curve = key.algorithm.namedCurve ?? '';
    const salt = normalized.saltLength ?? 0;
    if (name === 'RSA-PSS') {
      const room = Math.ceil((key.algorithm.modulusLength - 1) / 8) - hashBits(hash) / 8 - 2;
      if (salt > room) throw error('OperationError', 'The RSA-PSS salt is too long for the key and hash');
    }
    if (op === 'sign') return toBuffer(call(native.subtleSign, name, curve, hash, salt, d, data));
    return call(native.subtleVerify, name, curve, hash, salt, d, data, sig);
  }

  // --- encrypt, decrypt ---------------------------------------------------------------
  const TAG_LENGTHS = [32, 64, 96, 104, 112, 120, 128];
  function cipher(op, algorithm, key, data) {
    const normalized = normalize(algorithm, op);
    requireKey(key, op);
    checkKey(key, normalized, op);
    const tagLength = normalized.tagLength ?? 128;
    if (!TAG_LENGTHS.includes(tagLength)) throw error('OperationError', `${tagLength} is not a valid AES-GCM tag length`);
    const aad = normalized.additionalData ?? new Uint8Array(0);
    return toBuffer(call(native.subtleAesGcm, op === 'encrypt', keyData(key), normalized.iv, aad, tagLength, data));
  }

  // --- deriveBits, deriveKey ----------------------------------------------------------
  function derive(normalized, key, length, usage) {
    checkKey(key, normalized, usage);
    const name = normalized.name;
    const d = keyData(key);
    if (name === 'ECDH') {
      const peer = normalized.public;
      if (peer.type !== 'public') throw error('InvalidAccessError', 'The ECDH public member is not a public key');
      if (peer.algorithm.name !== 'ECDH' || peer.algorithm.namedCurve !== key.algorithm.namedCurve) {
        throw error('InvalidAccessError', 'The ECDH public key is not an ECDH key on the same curve');
      }
      const secret = call(native.subtleEcdh, key.algorithm.namedCurve, d, keyData(peer));
      if (length === null) return secret;
      if (length > secret.length * 8) throw error('OperationError', 'The length is longer than the ECDH secret');
      const out = secret.slice(0, Math.ceil(length / 8));
      if (length % 8) out[out.length - 1] &= 0xff << (8 - (length % 8));
      return out;
    }
    if (length === null) throw error('OperationError', `${name} needs a length`);
    if (length % 8) throw error('OperationError', 'The length must be a multiple of 8');
    if (name === 'PBKDF2') {
      return call(native.subtlePbkdf2, normalized.hash.name, d, normalized.salt, normalized.iterations, length);
    }
    return call(native.subtleHkdf, normalized.hash.name, d, normalized.salt, normalized.info, length);
  }

  function deriveLength(value) {
    return value === undefined || value === null ? null : wrapped(value, 'length');
  }

  // The length a derived key of `normalized` needs (the spec's "get key length").
  function keyLength(normalized) {
    if (normalized.name === 'AES-GCM') {
      if (![128, 192, 256].includes(normalized.length)) throw error('OperationError', 'AES key length must be 128, 192 or 256 bits');
      return normalized.length;
    }
    const length = normalized.length ?? hmacBlockBits(normalized.hash.name);
    if (length === 0) throw new TypeError('The HMAC length must not be 0');
    return length;
  }

  // --- SubtleCrypto -------------------------------------------------------------------
  const PLAIN = (what, n) => `Failed to execute '${what}' on 'SubtleCrypto': ${n} arguments required`;

  class SubtleCrypto {
    constructor(token) {
      if (token !== kCreate) throw new TypeError('Illegal constructor');
    }
    static #check(self, args, count, what) {
      if (!(self instanceof SubtleCrypto)) throw new TypeError('Illegal invocation');
      if (args.length < count) throw new TypeError(`${PLAIN(what, count)}, but only ${args.length} present.`);
    }
    async digest(algorithm, data) {
      SubtleCrypto.#check(this, arguments, 2, 'digest');
      const normalized = normalize(algorithm, 'digest');
      const input = bytes(data, "Failed to execute 'digest' on 'SubtleCrypto': parameter 2");
      return toBuffer(call(native.subtleDigest, normalized.name, input));
    }
    async generateKey(algorithm, extractable, keyUsages) {
      SubtleCrypto.#check(this, arguments, 3, 'generateKey');
      return generateKey(algorithm, extractable, keyUsages);
    }
    async importKey(format, keyData, algorithm, extractable, keyUsages) {
      SubtleCrypto.#check(this, arguments, 5, 'importKey');
      return importKey(format, keyData, algorithm, extractable, keyUsages);
    }
    async exportKey(format, key) {
      SubtleCrypto.#check(this, arguments, 2, 'exportKey');
      return exportKey(format, key);
    }
    async sign(algorithm, key, data) {
      SubtleCrypto.#check(this, arguments, 3, 'sign');
      const input = bytes(data, "Failed to execute 'sign' on 'SubtleCrypto': parameter 3");
      return signature('sign', algorithm, key, undefined, input);
    }
    async verify(algorithm, key, sig, data) {
      SubtleCrypto.#check(this, arguments, 4, 'verify');
      const s = bytes(sig, "Failed to execute 'verify' on 'SubtleCrypto': parameter 3");
      const input = bytes(data, "Failed to execute 'verify' on 'SubtleCrypto': parameter 4");
      return signature('verify', algorithm, key, s, input);
    }
    async encrypt(algorithm, key, data) {
      SubtleCrypto.#check(this, arguments, 3, 'encrypt');
      return cipher('encrypt', algorithm, key, bytes(data, "Failed to execute 'encrypt' on 'SubtleCrypto': parameter 3"));
    }
    async decrypt(algorithm, key, data) {
      SubtleCrypto.#check(this, arguments, 3, 'decrypt');
      return cipher('decrypt', algorithm, key, bytes(data, "Failed to execute 'decrypt' on 'SubtleCrypto': parameter 3"));
    }
    async deriveBits(algorithm, baseKey, length = null) {
      SubtleCrypto.#check(this, arguments, 2, 'deriveBits');
      const normalized = normalize(algorithm, 'deriveBits');
      requireKey(baseKey, 'deriveBits');
      return toBuffer(derive(normalized, baseKey, deriveLength(length), 'deriveBits'));
    }
    async deriveKey(algorithm, baseKey, derivedKeyType, extractable, keyUsages) {
      SubtleCrypto.#check(this, arguments, 5, 'deriveKey');
      const normalized = normalize(algorithm, 'deriveBits');
      const derivedType = normalize(derivedKeyType, 'importKey');
      const length = keyLength(normalize(derivedKeyType, 'get key length'));
      requireKey(baseKey, 'deriveKey');
      const secret = derive(normalized, baseKey, length, 'deriveKey');
      return importKey('raw', secret, derivedType, extractable, keyUsages);
    }
  }
  Object.defineProperty(SubtleCrypto.prototype, Symbol.toStringTag, { value: 'SubtleCrypto', configurable: true });

  return { subtle: new SubtleCrypto(kCreate), SubtleCrypto, CryptoKey };
});
