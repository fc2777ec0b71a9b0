"""crypto.subtle (docs/web-apis.md): known answers, round trips of every algorithm and
format, cross-checks with Node 20's webcrypto, jose JWTs, and the errors the spec names."""

# The long lines are JavaScript and the test vectors' hex, which read best unbroken.
# ruff: noqa: E501

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from v8cffi.context import Context

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node (the reference webcrypto) is not installed")

# Helpers every test's script may use: hex in and out, UTF-8 bytes.
HELPERS = r"""
globalThis.hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
globalThis.unhex = (h) => new Uint8Array(h.match(/../g)?.map((x) => parseInt(x, 16)) ?? []);
globalThis.utf8 = (s) => new TextEncoder().encode(s);
globalThis.S = crypto.subtle;
globalThis.failure = async (promise) => {
  try { await promise; return 'resolved'; } catch (e) { return `${e.constructor.name}:${e.name}`; }
};
"""


def run(ctx: Context, body: str, *args: Any) -> Any:
    """Runs the body of an async function (with `args` as `args`) and returns its result."""
    ctx.eval(HELPERS + "undefined;")
    return ctx.call(f"(...args) => (async () => {{ {body} }})()", *args, await_promise=True)


def node(script: str, data: Any = None) -> Any:
    """Runs `script` (the body of an async function of `data`, with `hex`/`unhex`/`utf8`
    and Node's webcrypto as `S`, and jose as `jose`) in Node; its JSON result."""
    assert NODE is not None
    program = (
        "const vm = require('node:vm'); const fs = require('node:fs');\n"
        f"vm.runInThisContext(fs.readFileSync({json.dumps(str(FIXTURES / 'jose.js'))}, 'utf8'));\n"
        + HELPERS
        + "let input = ''; process.stdin.on('data', (c) => { input += c; });\n"
        + "process.stdin.on('end', async () => { const data = JSON.parse(input);\n"
        + f"const out = await (async () => {{ {script} }})();\n"
        + "process.stdout.write(JSON.stringify(out)); });\n"
    )
    done = subprocess.run(
        [NODE, "-e", program], input=json.dumps(data), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# --- known answers -----------------------------------------------------------------------


def test_crypto_subtle_is_there_and_keeps_random_values(ctx: Context) -> None:
    assert ctx.eval("[String(crypto.subtle), crypto.subtle === crypto.subtle, typeof CryptoKey]") == [
        "[object SubtleCrypto]",
        True,
        "function",
    ]
    assert ctx.eval("crypto.getRandomValues(new Uint8Array(4)).length + crypto.randomUUID().length") == 40
    assert ctx.eval("Object.keys(globalThis)") == []
    assert "TypeError" in ctx.eval("try { new CryptoKey() } catch (e) { String(e) }")


@pytest.mark.parametrize(
    ("hash", "expected"),
    [
        ("SHA-1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("SHA-256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("SHA-384", "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
        ("SHA-512", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
    ],
)  # fmt: skip
def test_digest_known_answers(ctx: Context, hash: str, expected: str) -> None:
    assert run(ctx, "return hex(await S.digest(args[0], utf8('abc')))", hash) == expected
    # Any BufferSource; the name matched without case.
    same = run(ctx, "return hex(await S.digest({name: args[0].toLowerCase()}, utf8('abc').buffer))", hash)
    assert same == expected


# RFC 4231 test cases 1 and 2.
HMAC_VECTORS = [
    ("0b" * 20, b"Hi There".hex(), {
        "SHA-256": "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        "SHA-384": "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
        "SHA-512": "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
    }),
    (b"Jefe".hex(), b"what do ya want for nothing?".hex(), {
        "SHA-256": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        "SHA-384": "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
        "SHA-512": "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
    }),
]  # fmt: skip


@pytest.mark.parametrize(("key", "data", "macs"), HMAC_VECTORS)
def test_hmac_rfc4231(ctx: Context, key: str, data: str, macs: dict[str, str]) -> None:
    for hash, mac in macs.items():
        got = run(
            ctx,
            """const k = await S.importKey('raw', unhex(args[0]), {name: 'HMAC', hash: args[2]}, false, ['sign', 'verify']);
            const mac = await S.sign('HMAC', k, unhex(args[1]));
            return [hex(mac), await S.verify('HMAC', k, mac, unhex(args[1])),
              await S.verify('HMAC', k, unhex(args[3]), utf8('other'))];""",
            key,
            data,
            hash,
            mac,
        )
        assert got == [mac, True, False]


def test_aes_gcm_nist_vector(ctx: Context) -> None:
    # The GCM specification's test case 4 (AES-128, 60 bytes of data, 20 of AAD).
    got = run(
        ctx,
        """const k = await S.importKey('raw', unhex('feffe9928665731c6d6a8f9467308308'), 'AES-GCM', true, ['encrypt', 'decrypt']);
        const p = {name: 'AES-GCM', iv: unhex('cafebabefacedbaddecaf888'), additionalData: unhex('feedfacedeadbeeffeedfacedeadbeefabaddad2')};
        const plain = unhex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39');
        const sealed = await S.encrypt(p, k, plain);
        const short = await S.encrypt({...p, tagLength: 96}, k, plain);
        return [hex(sealed), hex(await S.decrypt(p, k, sealed)) === hex(plain), short.byteLength,
          await failure(S.decrypt({...p, additionalData: utf8('x')}, k, sealed)), k.algorithm];""",
    )
    assert got == [
        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
        "5bc94fbc3221a5db94fae95ae7121a47",
        True,
        60 + 12,
        "DOMException:OperationError",
        {"name": "AES-GCM", "length": 128},
    ]


# RFC 8032 section 7.1, tests 1 and 2: (secret, public, message, signature).
ED25519_VECTORS = [
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
]  # fmt: skip


@pytest.mark.parametrize(("secret", "public", "message", "signature"), ED25519_VECTORS)
def test_ed25519_rfc8032(ctx: Context, secret: str, public: str, message: str, signature: str) -> None:
    got = run(
        ctx,
        """const pkcs8 = unhex('302e020100300506032b657004220420' + args[0]);
        const priv = await S.importKey('pkcs8', pkcs8, 'Ed25519', true, ['sign']);
        const pub = await S.importKey('raw', unhex(args[1]), {name: 'Ed25519'}, true, ['verify']);
        const sig = await S.sign('Ed25519', priv, unhex(args[2]));
        return [hex(sig), await S.verify('Ed25519', pub, sig, unhex(args[2])),
          hex(await S.exportKey('pkcs8', priv)), hex(await S.exportKey('raw', pub))];""",
        secret,
        public,
        message,
    )
    assert got == [signature, True, "302e020100300506032b657004220420" + secret, public]


def test_pbkdf2_and_hkdf_known_answers(ctx: Context) -> None:
    got = run(
        ctx,
        """const pw = await S.importKey('raw', utf8('password'), 'PBKDF2', false, ['deriveBits', 'deriveKey']);
        const pb = await S.deriveBits({name: 'PBKDF2', hash: 'SHA-1', salt: utf8('salt'), iterations: 4096}, pw, 160);
        const ikm = await S.importKey('raw', unhex('0b'.repeat(22)), 'HKDF', false, ['deriveBits']);
        const hk = await S.deriveBits({name: 'HKDF', hash: 'SHA-256', salt: unhex('000102030405060708090a0b0c'),
          info: unhex('f0f1f2f3f4f5f6f7f8f9')}, ikm, 42 * 8);
        const aes = await S.deriveKey({name: 'PBKDF2', hash: 'SHA-256', salt: utf8('s'), iterations: 2}, pw,
          {name: 'AES-GCM', length: 256}, false, ['encrypt']);
        return [hex(pb), hex(hk), aes.algorithm, aes.usages, await failure(S.importKey('raw', utf8('p'), 'PBKDF2', true, ['deriveBits']))];""",
    )
    assert got == [
        "4b007901b765489abead49d926f721d065a429c1",  # RFC 6070
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",  # RFC 5869
        {"name": "AES-GCM", "length": 256},
        ["encrypt"],
        "DOMException:SyntaxError",
    ]


def test_integer_members_are_range_checked_not_wrapped(ctx: Context) -> None:
    # [EnforceRange]: -1 iterations were 2**32 - 1 (hours of work nothing could stop).
    got = run(
        ctx,
        """const pw = await S.importKey('raw', utf8('p'), 'PBKDF2', false, ['deriveBits']);
        const name = async (p) => { try { await p; return 'ok' } catch (e) { return e.name + ': ' + e.message } };
        return [
          await name(S.deriveBits({name: 'PBKDF2', hash: 'SHA-256', salt: utf8('s'), iterations: -1}, pw, 256)),
          await name(S.generateKey({name: 'HMAC', hash: 'SHA-256', length: -8}, true, ['sign'])),
          await name(S.generateKey({name: 'AES-GCM', length: 65536 + 128}, true, ['encrypt'])),
          await name(S.generateKey({name: 'AES-GCM', length: 128}, true, ['encrypt'])),
        ];""",
    )
    assert got == [
        "TypeError: iterations is outside the 'unsigned long' value range.",
        "TypeError: length is outside the 'unsigned long' value range.",
        "TypeError: length is outside the 'unsigned short' value range.",
        "ok",
    ]


@pytest.mark.parametrize(("iterations", "bits"), [(4e9, 256), (16, 256 * 2_000_000), (1023, 256 * 200_000)])
def test_a_long_pbkdf2_derivation_is_stopped_by_the_calls_timeout(
    ctx: Context, iterations: float, bits: int
) -> None:
    # Checked over all blocks: many blocks of few iterations were not stopped.
    # Each case takes seconds unstopped (1 iteration x 2M blocks once finished in 0.28 s).
    import time

    from v8cffi import V8TimeoutError

    start = time.perf_counter()
    with pytest.raises(V8TimeoutError):
        ctx.eval(
            f"""crypto.subtle.importKey('raw', new Uint8Array(4), 'PBKDF2', false, ['deriveBits'])
            .then(k => crypto.subtle.deriveBits({{name: 'PBKDF2', salt: new Uint8Array(1),
              iterations: {iterations}, hash: 'SHA-256'}}, k, {bits}))""",
            await_promise=True,
            timeout=0.3,
        )
    assert time.perf_counter() - start < 3
    assert ctx.eval("1 + 1") == 2


# --- round trips -------------------------------------------------------------------------

SIGNERS = {
    "HMAC": ("{name: 'HMAC', hash: 'SHA-384'}", "'HMAC'", ["raw", "jwk"], ["raw", "jwk"]),
    "ECDSA-P-256": ("{name: 'ECDSA', namedCurve: 'P-256'}", "{name: 'ECDSA', hash: 'SHA-256'}",
                    ["spki", "raw", "jwk"], ["pkcs8", "jwk"]),
    "ECDSA-P-384": ("{name: 'ECDSA', namedCurve: 'P-384'}", "{name: 'ECDSA', hash: 'SHA-512'}",
                    ["spki", "raw", "jwk"], ["pkcs8", "jwk"]),
    "Ed25519": ("{name: 'Ed25519'}", "'Ed25519'", ["spki", "raw", "jwk"], ["pkcs8", "jwk"]),
    "RSASSA-PKCS1-v1_5": ("{name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256'}",
                          "'RSASSA-PKCS1-v1_5'", ["spki", "jwk"], ["pkcs8", "jwk"]),
    "RSA-PSS": ("{name: 'RSA-PSS', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-1'}",
                "{name: 'RSA-PSS', saltLength: 20}", ["spki", "jwk"], ["pkcs8", "jwk"]),
}  # fmt: skip


@pytest.mark.parametrize("name", list(SIGNERS))
def test_sign_verify_and_every_format_round_trips(ctx: Context, name: str) -> None:
    gen, params, public_formats, private_formats = SIGNERS[name]
    got = run(
        ctx,
        f"""const gen = {gen}, params = {params};
        const made = await S.generateKey(gen, true, ['sign', 'verify']);
        const {{publicKey, privateKey}} = made.privateKey ? made : {{publicKey: made, privateKey: made}};
        const data = utf8('round trip');
        const sig = await S.sign(params, privateKey, data);
        const out = {{ok: await S.verify(params, publicKey, sig, data),
          tampered: await S.verify(params, publicKey, sig, utf8('round trop')), formats: {{}}}};
        for (const [key, formats, usage] of [[publicKey, args[0], 'verify'], [privateKey, args[1], 'sign']]) {{
          for (const format of formats) {{
            const exported = await S.exportKey(format, key);
            const again = await S.importKey(format, exported, gen, true, [usage]);
            const noOps = (jwk) => JSON.stringify({{...jwk, key_ops: undefined}});
            const same = format === 'jwk' ? noOps(await S.exportKey('jwk', again)) === noOps(exported)
              : hex(await S.exportKey(format, again)) === hex(exported);
            const check = usage === 'sign' ? await S.verify(params, publicKey, await S.sign(params, again, data), data)
              : await S.verify(params, again, sig, data);
            out.formats[`${{key.type}}:${{format}}`] = same && check && again.type === key.type;
          }}
        }}
        out.usages = [publicKey.usages, privateKey.usages];
        out.algorithm = privateKey.algorithm;
        return out;""",
        public_formats,
        private_formats,
    )
    assert got["ok"] is True and got["tampered"] is False
    assert all(got["formats"].values()) and len(got["formats"]) == len(
        set(public_formats + private_formats)
    ) + (0 if name == "HMAC" else len(set(public_formats) & set(private_formats))), got["formats"]
    if name != "HMAC":
        assert got["usages"] == [["verify"], ["sign"]]
    if name.startswith("RSA"):
        assert got["algorithm"]["publicExponent"] == bytes([1, 0, 1])
        assert got["algorithm"]["modulusLength"] in (1024, 2048)


def test_aes_gcm_and_ecdh_round_trips(ctx: Context) -> None:
    got = run(
        ctx,
        """const out = [];
        for (const length of [128, 192, 256]) {
          const k = await S.generateKey({name: 'AES-GCM', length}, true, ['encrypt', 'decrypt']);
          for (const format of ['raw', 'jwk']) {
            const k2 = await S.importKey(format, await S.exportKey(format, k), 'AES-GCM', false, ['decrypt']);
            for (const iv of [new Uint8Array(12), new Uint8Array(16).fill(7)]) {
              const ct = await S.encrypt({name: 'AES-GCM', iv, additionalData: utf8('ad'), tagLength: 112}, k, utf8('hello'));
              out.push(new TextDecoder().decode(await S.decrypt({name: 'AES-GCM', iv, additionalData: utf8('ad'), tagLength: 112}, k2, ct)));
            }
          }
          out.push((await S.exportKey('jwk', k)).alg);
        }
        const a = await S.generateKey({name: 'ECDH', namedCurve: 'P-384'}, true, ['deriveBits', 'deriveKey']);
        const b = await S.generateKey({name: 'ECDH', namedCurve: 'P-384'}, false, ['deriveBits']);
        const ab = await S.deriveBits({name: 'ECDH', public: b.publicKey}, a.privateKey, 384);
        const ba = await S.deriveBits({name: 'ECDH', public: a.publicKey}, b.privateKey, null);
        const hk = await S.deriveKey({name: 'ECDH', public: b.publicKey}, a.privateKey, {name: 'HMAC', hash: 'SHA-256', length: 256}, true, ['sign']);
        out.push(hex(ab) === hex(ba), hk.algorithm.length, a.publicKey.usages.length);
        return out;""",
    )
    assert got == (
        ["hello"] * 4 + ["A128GCM"] + ["hello"] * 4 + ["A192GCM"] + ["hello"] * 4 + ["A256GCM"]
    ) + [
        True,
        256,
        0,
    ]


# --- errors --------------------------------------------------------------------------------


def test_errors_the_spec_names(ctx: Context) -> None:
    got = run(
        ctx,
        """const hk = await S.importKey('raw', utf8('k'), {name: 'HMAC', hash: 'SHA-256'}, false, ['sign']);
        const ed = await S.generateKey('Ed25519', false, ['sign', 'verify']);
        const aes = await S.generateKey({name: 'AES-GCM', length: 128}, true, ['encrypt']);
        return {
          wrongUsage: await failure(S.verify('HMAC', hk, new Uint8Array(32), utf8('x'))),
          wrongAlgorithm: await failure(S.sign({name: 'ECDSA', hash: 'SHA-256'}, ed.privateKey, utf8('x'))),
          publicSigns: await failure(S.sign('Ed25519', ed.publicKey, utf8('x'))),
          decryptOnly: await failure(S.decrypt({name: 'AES-GCM', iv: new Uint8Array(12)}, aes, new Uint8Array(32))),
          notExtractable: await failure(S.exportKey('jwk', hk)),
          privateAsRaw: await failure(S.exportKey('raw', ed.privateKey)),
          badSpki: await failure(S.importKey('spki', utf8('junk'), {name: 'ECDSA', namedCurve: 'P-256'}, true, ['verify'])),
          badJwk: await failure(S.importKey('jwk', {kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA'}, {name: 'ECDSA', namedCurve: 'P-256'}, true, ['verify'])),
          jwkAlgMismatch: await failure(S.importKey('jwk', {kty: 'oct', k: 'AAAA', alg: 'HS512'}, {name: 'HMAC', hash: 'SHA-256'}, true, ['sign'])),
          badAesLength: await failure(S.importKey('raw', new Uint8Array(5), 'AES-GCM', true, ['encrypt'])),
          unsupported: await failure(S.digest('MD5', utf8('x'))),
          unsupportedCurve: await failure(S.generateKey({name: 'ECDSA', namedCurve: 'P-521'}, true, ['sign'])),
          unsupportedAlgorithm: await failure(S.encrypt({name: 'RSA-OAEP'}, aes, utf8('x'))),
          badUsage: await failure(S.generateKey('Ed25519', true, ['encrypt'])),
          emptyUsages: await failure(S.importKey('raw', utf8('k'), {name: 'HMAC', hash: 'SHA-256'}, true, [])),
          notAKey: await failure(S.sign('HMAC', {}, utf8('x'))),
          notBytes: await failure(S.digest('SHA-256', 'text')),
          missingHash: await failure(S.importKey('raw', utf8('k'), {name: 'HMAC'}, true, ['sign'])),
          missingArgs: await failure(S.digest('SHA-256')),
          notAUsage: await failure(S.generateKey('Ed25519', true, ['fly'])),
          badTag: await failure(S.encrypt({name: 'AES-GCM', iv: new Uint8Array(12), tagLength: 100}, aes, utf8('x'))),
          wrongVerifySize: await S.verify('Ed25519', ed.publicKey, new Uint8Array(3), utf8('x')),
        };""",
    )
    invalid, data, ns, syntax, typ = (
        "DOMException:InvalidAccessError",
        "DOMException:DataError",
        "DOMException:NotSupportedError",
        "DOMException:SyntaxError",
        "TypeError:TypeError",
    )
    assert got == {
        "wrongUsage": invalid,
        "wrongAlgorithm": invalid,
        "publicSigns": invalid,
        "decryptOnly": invalid,
        "notExtractable": invalid,
        "privateAsRaw": invalid,
        "badSpki": data,
        "badJwk": data,
        "jwkAlgMismatch": data,
        "badAesLength": data,
        "unsupported": ns,
        "unsupportedCurve": ns,
        "unsupportedAlgorithm": ns,
        "badUsage": syntax,
        "emptyUsages": syntax,
        "notAKey": typ,
        "notBytes": typ,
        "missingHash": typ,
        "missingArgs": typ,
        "notAUsage": typ,
        "badTag": "DOMException:OperationError",
        "wrongVerifySize": False,
    }


def test_key_material_is_not_reachable(ctx: Context) -> None:
    got = run(
        ctx,
        """const k = await S.generateKey({name: 'HMAC', hash: 'SHA-256'}, false, ['sign']);
        return [Object.getOwnPropertyNames(k), Reflect.ownKeys(Object.getPrototypeOf(k)).map(String).sort(),
          JSON.stringify(k), k.algorithm.length, Object.isFrozen(k.usages)];""",
    )
    assert got == [
        [],
        ["Symbol(Symbol.toStringTag)", "algorithm", "constructor", "extractable", "type", "usages"],
        "{}",
        512,
        True,
    ]


# --- Node's webcrypto ------------------------------------------------------------------------

NODE_ALGORITHMS = {
    "ECDSA-P-256": ("{name: 'ECDSA', namedCurve: 'P-256'}", "{name: 'ECDSA', hash: 'SHA-256'}"),
    "ECDSA-P-384": ("{name: 'ECDSA', namedCurve: 'P-384'}", "{name: 'ECDSA', hash: 'SHA-384'}"),
    "Ed25519": ("{name: 'Ed25519'}", "{name: 'Ed25519'}"),
    "RSASSA-PKCS1-v1_5": ("{name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256'}",
                          "{name: 'RSASSA-PKCS1-v1_5'}"),
    "RSA-PSS": ("{name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-512'}",
                "{name: 'RSA-PSS', saltLength: 64}"),
}  # fmt: skip

# Made in one engine: the keys in every format and a signature.
MAKE = """const gen = %s, params = %s;
const {publicKey, privateKey} = await S.generateKey(gen, true, ['sign', 'verify']);
const out = {sig: hex(await S.sign(params, privateKey, utf8('message')))};
for (const [f, k] of [['spki', publicKey], ['pkcs8', privateKey]]) out[f] = hex(await S.exportKey(f, k));
out.jwk = await S.exportKey('jwk', privateKey);
out.publicJwk = await S.exportKey('jwk', publicKey);
return out;"""

# Checked in the other: imports every format, verifies the signature, signs again, and
# exports the JWK of the PKCS #8 key.
CHECK = """const gen = %s, params = %s, d = data;
const pub = await S.importKey('spki', unhex(d.spki), gen, true, ['verify']);
const pubJwk = await S.importKey('jwk', d.publicJwk, gen, true, ['verify']);
const priv = await S.importKey('pkcs8', unhex(d.pkcs8), gen, true, ['sign']);
const privJwk = await S.importKey('jwk', d.jwk, gen, true, ['sign']);
const data2 = utf8('message');
return {
  verified: [await S.verify(params, pub, unhex(d.sig), data2), await S.verify(params, pubJwk, unhex(d.sig), data2)],
  resigned: await S.verify(params, pub, await S.sign(params, privJwk, data2), data2),
  jwk: await S.exportKey('jwk', priv),
  spki: hex(await S.exportKey('spki', pubJwk)),
};"""


def _without_order(jwk: dict[str, Any]) -> dict[str, Any]:
    return {k: (sorted(v) if isinstance(v, list) else v) for k, v in jwk.items()}


@needs_node
@pytest.mark.parametrize("name", list(NODE_ALGORITHMS))
def test_keys_and_signatures_cross_node(ctx: Context, name: str) -> None:
    gen, params = NODE_ALGORITHMS[name]
    # Node makes, v8rs checks.
    made = node(MAKE % (gen, params))
    checked = run(ctx, "const data = args[0];\n" + CHECK % (gen, params), made)
    assert checked["verified"] == [True, True] and checked["resigned"] is True
    assert _without_order(checked["jwk"]) == _without_order(made["jwk"])
    assert checked["spki"] == made["spki"]
    # v8rs makes, Node checks.
    made = run(ctx, MAKE % (gen, params))
    checked = node(CHECK % (gen, params), made)
    assert checked["verified"] == [True, True] and checked["resigned"] is True
    assert _without_order(checked["jwk"]) == _without_order(made["jwk"])
    assert checked["spki"] == made["spki"]


SYMMETRIC = """const d = data ?? {key: hex(crypto.getRandomValues(new Uint8Array(32))), iv: hex(crypto.getRandomValues(new Uint8Array(12)))};
const aes = await S.importKey('raw', unhex(d.key), 'AES-GCM', true, ['encrypt', 'decrypt']);
const hmac = await S.importKey('raw', unhex(d.key), {name: 'HMAC', hash: 'SHA-512'}, true, ['sign']);
const pb = await S.importKey('raw', unhex(d.key), 'PBKDF2', false, ['deriveBits']);
const hk = await S.importKey('raw', unhex(d.key), 'HKDF', false, ['deriveBits']);
const ecdh = await S.importKey('jwk', d.ecdhPrivate ?? (await S.exportKey('jwk', (await S.generateKey({name: 'ECDH', namedCurve: 'P-256'}, true, ['deriveBits'])).privateKey)),
  {name: 'ECDH', namedCurve: 'P-256'}, true, ['deriveBits']);
const peer = await S.importKey('raw', unhex(d.peer ?? hex(await S.exportKey('raw', (await S.generateKey({name: 'ECDH', namedCurve: 'P-256'}, true, ['deriveBits'])).publicKey))),
  {name: 'ECDH', namedCurve: 'P-256'}, true, []);
return {...d,
  sealed: hex(await S.encrypt({name: 'AES-GCM', iv: unhex(d.iv), additionalData: utf8('aad')}, aes, utf8('plain text'))),
  opened: d.sealed ? new TextDecoder().decode(await S.decrypt({name: 'AES-GCM', iv: unhex(d.iv), additionalData: utf8('aad')}, aes, unhex(d.sealed))) : null,
  mac: hex(await S.sign('HMAC', hmac, utf8('data'))),
  pbkdf2: hex(await S.deriveBits({name: 'PBKDF2', hash: 'SHA-256', salt: utf8('salt'), iterations: 1000}, pb, 256)),
  hkdf: hex(await S.deriveBits({name: 'HKDF', hash: 'SHA-384', salt: utf8('salt'), info: utf8('info')}, hk, 512)),
  ecdhPrivate: await S.exportKey('jwk', ecdh), peer: hex(await S.exportKey('raw', peer)),
  shared: hex(await S.deriveBits({name: 'ECDH', public: peer}, ecdh, 256)),
  hmacJwk: await S.exportKey('jwk', hmac),
};"""


@needs_node
def test_symmetric_and_derivations_match_node(ctx: Context) -> None:
    ours = run(ctx, "const data = null;\n" + SYMMETRIC)
    theirs = node(SYMMETRIC, ours)
    assert theirs["opened"] == "plain text"
    for field in ["sealed", "mac", "pbkdf2", "hkdf", "shared", "hmacJwk"]:
        assert theirs[field] == ours[field], field
    assert _without_order(theirs["ecdhPrivate"]) == _without_order(ours["ecdhPrivate"])


# --- jose ----------------------------------------------------------------------------------

JOSE_SIGN = """const out = {};
for (const alg of ['ES256', 'EdDSA']) {
  const {publicKey, privateKey} = await jose.generateKeyPair(alg, {extractable: true});
  out[alg] = {jwk: await jose.exportJWK(publicKey),
    jwt: await new jose.SignJWT({sub: 'user-1', scope: 'read'}).setProtectedHeader({alg}).setIssuedAt()
      .setIssuer('urn:v8rs').setExpirationTime('2h').sign(privateKey)};
}
return out;"""

JOSE_VERIFY = """const out = {};
for (const [alg, {jwk, jwt}] of Object.entries(data)) {
  const key = await jose.importJWK(jwk, alg);
  const {payload, protectedHeader} = await jose.jwtVerify(jwt, key, {issuer: 'urn:v8rs'});
  const forged = jwt.slice(0, -4) + (jwt.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  let rejected = null;
  try { await jose.jwtVerify(forged, key); } catch (e) { rejected = e.code; }
  out[alg] = [payload.sub, payload.scope, protectedHeader.alg, rejected];
}
return out;"""


def test_jose_signs_and_verifies_jwts(ctx: Context) -> None:
    ctx.load_libs([str(FIXTURES / "jose.js")])
    tokens = run(ctx, JOSE_SIGN)
    assert tokens["EdDSA"]["jwk"]["crv"] == "Ed25519" and tokens["ES256"]["jwk"]["crv"] == "P-256"
    got = run(ctx, "const data = args[0];\n" + JOSE_VERIFY, tokens)
    expected = {
        alg: ["user-1", "read", alg, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"] for alg in ["ES256", "EdDSA"]
    }
    assert got == expected
    if NODE is not None:
        # Node's jose (the same bundle, on Node's webcrypto) verifies ours, and we verify Node's.
        assert node(JOSE_VERIFY, tokens) == expected
        theirs = node(JOSE_SIGN)
        assert run(ctx, "const data = args[0];\n" + JOSE_VERIFY, theirs) == expected
