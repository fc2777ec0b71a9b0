"""Real npm packages, unmodified (bundled from tests/fixtures/build's lock file by
npm_packages.mjs): sql.js and hash-wasm (asynchronous WebAssembly), jszip (``self``,
bytes out and in), iconv-lite (a heavy ``Buffer`` user, in a ``node=True`` context) and
``TextDecoder('shift_jis')``. Each result must be byte-identical to Node 20 running the
same bundle on the same input; without Node, to the results recorded from Node in
tests/fixtures/expected/npm_packages.json (``python tests/python/test_npm_packages.py``
records them again)."""

# ruff: noqa: E501 (the JavaScript in strings reads best unwrapped)

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from v8cffi.context import Context
from v8cffi.vm import VM

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EXPECTED = FIXTURES / "expected" / "npm_packages.json"
NODE = shutil.which("node")

TEXT = "こんにちは、世界。カタカナ ｶﾀｶﾅ 漢字 ①② ￥100 ～ 髙"  # noqa: RUF001 (the full-width tilde is the point)


def python_zip() -> bytes:
    """A zip made by Python's zipfile, for jszip to read."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("from-python.txt", (2024, 5, 6, 7, 8, 10)), "made by zipfile\n" * 20)
        z.writestr(zipfile.ZipInfo("dir/bytes.bin", (2024, 5, 6, 7, 8, 10)), bytes(range(256)) * 4)
    return out.getvalue()


SQL_JS = r"""async (wasm) => {
  const SQL = await initSqlJs({ wasmBinary: wasm });
  const db = new SQL.Database();
  db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, data BLOB)');
  const insert = db.prepare('INSERT INTO t (name, score, data) VALUES (?, ?, ?)');
  for (const [name, score] of [['ada', 1.5], ['bob', -2], ['čeněk', 1e100], ['dora', null]]) {
    insert.run([name, score, new Uint8Array([name.length, 0, 255])]);
  }
  insert.free();
  const rows = db.exec('SELECT id, name, score, hex(data), length(name) FROM t ORDER BY score DESC')[0];
  const aggregate = db.exec("SELECT count(*), sum(score), group_concat(name, '|'), sqlite_version() FROM t")[0].values;
  const select = db.prepare('SELECT name, data FROM t WHERE id = $id');
  const row = select.getAsObject({ $id: 3 });
  select.free();
  let error = null;
  try { db.run('INSERT INTO t (name) VALUES (NULL)'); } catch (e) { error = e.message; }
  const bytes = db.export();
  db.close();
  const again = new SQL.Database(bytes);
  const back = again.exec('SELECT name FROM t ORDER BY id')[0].values;
  again.close();
  return { rows, aggregate, row, error, back, db: bytes };
}"""

HASH_WASM = r"""async () => {
  const h = hashwasm;
  const text = 'The quick brown fox jumps over the lazy dog';
  const bytes = new Uint8Array(1000).map((_, i) => (i * 7) & 255);
  const incremental = await h.createSHA256();
  incremental.init();
  incremental.update('a');
  incremental.update(bytes);
  return {
    sha256: await h.sha256(text),
    sha256Bytes: await h.sha256(bytes),
    sha512: await h.sha512(text),
    sha3: await h.sha3(text, 256),
    blake3: await h.blake3(text),
    md5: await h.md5(text),
    crc32: await h.crc32(text),
    xxhash32: await h.xxhash32(text, 0x1234),
    xxhash64: await h.xxhash64(text),
    xxhash3: await h.xxhash3(bytes),
    xxhash128: await h.xxhash128(text),
    incremental: incremental.digest(),
    argon2id: await h.argon2id({ password: 'password', salt: 'somesalt12345678', parallelism: 1, iterations: 2, memorySize: 512, hashLength: 32, outputType: 'encoded' }),
    argon2idBytes: await h.argon2id({ password: bytes, salt: bytes.subarray(0, 16), parallelism: 2, iterations: 1, memorySize: 256, hashLength: 24, outputType: 'binary' }),
    bcrypt: await h.bcrypt({ password: 'secret', salt: new Uint8Array(16).fill(7), costFactor: 4, outputType: 'encoded' }),
    pbkdf2: await h.pbkdf2({ password: 'pw', salt: 'salt', iterations: 100, hashLength: 32, hashFunction: h.createSHA256(), outputType: 'hex' }),
  };
}"""

JSZIP = r"""async (input) => {
  const date = new Date(Date.UTC(2024, 0, 2, 3, 4, 6));
  const zip = new JSZip();
  zip.file('hello.txt', 'Hello, world\n'.repeat(50), { date });
  // Folders jszip makes itself are stamped with the time now: these are made first, dated.
  zip.file('data/', null, { dir: true, date });
  zip.file('data/bytes.bin', new Uint8Array(4096).map((_, i) => (i * 31) & 255), { date });
  zip.file('empty/', null, { dir: true, date });
  zip.file('unicode/', null, { dir: true, date });
  zip.file('unicode/žluťoučký.txt', 'příliš žluťoučký kůň', { date, comment: 'a comment' });
  const made = await zip.generateAsync({ type: 'uint8array', compression: 'DEFLATE', compressionOptions: { level: 6 }, comment: 'made by jszip' });
  const back = await JSZip.loadAsync(made);
  const theirs = await JSZip.loadAsync(input);
  const bin = await theirs.file('dir/bytes.bin').async('uint8array');
  return {
    zip: made,
    names: Object.keys(back.files),
    hello: (await back.file('hello.txt').async('string')).length,
    unicode: await back.file('unicode/žluťoučký.txt').async('string'),
    date: back.file('hello.txt').date.toISOString(),
    theirNames: Object.keys(theirs.files),
    theirText: await theirs.file('from-python.txt').async('string'),
    theirBytes: [bin.length, bin.reduce((a, b) => a + b, 0)],
    theirDate: theirs.file('from-python.txt').date.toISOString(),
  };
}"""

ICONV = r"""async (input) => {
  const text = input.text;
  const sjis = iconv.encode(text, 'shift_jis');
  return {
    sjis,
    isBuffer: Buffer.isBuffer(sjis),
    base64: sjis.toString('base64'),
    back: iconv.decode(sjis, 'shift_jis'),
    cp932: iconv.encode(text, 'cp932'),
    eucjp: iconv.encode(text, 'euc-jp'),
    gbk: iconv.encode('汉字和中文', 'gbk'),
    big5: iconv.decode(iconv.encode('繁體中文', 'big5'), 'big5'),
    win1251: iconv.encode('Привет, мир', 'win1251').toString('hex'),
    latin1: iconv.decode(Buffer.from([0x63, 0x61, 0x66, 0xe9]), 'latin1'),
    utf16: iconv.encode('hé€', 'utf-16'),
    utf16be: iconv.decode(Buffer.from('feff006800e9', 'hex'), 'utf-16'),
    concat: Buffer.concat([iconv.encode('ab', 'shift_jis'), iconv.encode('あ', 'shift_jis')]).toString('hex'),
    fromPython: iconv.decode(Buffer.from(input.sjis, 'hex'), 'shift_jis'),
    exists: [iconv.encodingExists('cp932'), iconv.encodingExists('nope')],
  };
}"""

TEXT_DECODER = r"""async (input) => {
  const bytes = input;
  // Node's ICU gives two U+FFFD for 82 ff where WHATWG's decoder (encoding_rs) gives one:
  // only the decoding of valid bytes and the fatal error are compared (see below).
  const invalid = new Uint8Array([0x82, 0xa0, 0x82, 0xff, 0x41, 0x81]);
  const fatal = (() => { try { new TextDecoder('shift_jis', { fatal: true }).decode(invalid); return 'decoded'; } catch (e) { return e.constructor.name; } })();
  const streaming = new TextDecoder('sjis');
  const pieces = [];
  for (let i = 0; i < bytes.length; i += 3) pieces.push(streaming.decode(bytes.subarray(i, i + 3), { stream: true }));
  pieces.push(streaming.decode());
  return {
    text: new TextDecoder('shift_jis').decode(bytes),
    encoding: [new TextDecoder('shift_jis').encoding, new TextDecoder('ms_kanji').encoding, new TextDecoder('windows-31j').encoding],
    replaced: new TextDecoder('shift_jis').decode(invalid.subarray(0, 2)) + new TextDecoder('shift_jis').decode(invalid.subarray(4)),
    fatal,
    streamed: pieces.join(''),
  };
}"""

# name: (bundle, the scenario, node= for the context, its input)
CASES: dict[str, tuple[str | None, str, bool, Any]] = {
    "sql.js": ("sql-wasm.js", SQL_JS, False, "wasm"),
    "hash-wasm": ("hash-wasm.js", HASH_WASM, False, None),
    "jszip": ("jszip.js", JSZIP, False, "zip"),
    "iconv-lite": ("iconv-lite.js", ICONV, True, {"text": TEXT, "sjis": TEXT[:18].encode("shift_jis").hex()}),
    "TextDecoder": (None, TEXT_DECODER, False, "shift_jis"),
}


def the_input(name: str) -> Any:
    """The input of a case: bytes where the case names them."""
    given = CASES[name][3]
    if given == "wasm":
        return (FIXTURES / "sql-wasm.wasm").read_bytes()
    if given == "zip":
        return python_zip()
    if given == "shift_jis":
        return TEXT.encode("cp932")
    return given


def plain(value: Any) -> Any:
    """JSON of a result: bytes as {"hex": ...}, the way the Node side writes them."""
    if isinstance(value, bytes):
        return {"hex": value.hex()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def ours(vm: VM, name: str) -> Any:
    bundle, scenario, node, _ = CASES[name]
    with vm.create_context(node=node) as ctx:
        if bundle is not None:
            ctx.load_libs([str(FIXTURES / bundle)])
        return plain(ctx.call(scenario, the_input(name), await_promise=True, timeout=60))


NODE_PROGRAM = r"""
const vm = require('node:vm'); const fs = require('node:fs');
const [bundle, scenario, inputPath] = process.argv.slice(1);
if (bundle) vm.runInThisContext(fs.readFileSync(bundle, 'utf8'), { filename: bundle });
const raw = JSON.parse(fs.readFileSync(inputPath, 'utf8'));
const input = raw && typeof raw === 'object' && 'hex' in raw ? new Uint8Array(Buffer.from(raw.hex, 'hex')) : raw;
const plain = (v) => ArrayBuffer.isView(v) ? { hex: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') }
  : Array.isArray(v) ? v.map(plain)
  : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : v;
vm.runInThisContext(`(${scenario})`)(input).then((out) => process.stdout.write(JSON.stringify(plain(out))));
"""


def node(name: str) -> Any:
    """The same bundle and scenario in Node 20, on the same input; its JSON result."""
    assert NODE is not None
    bundle, scenario, _, _ = CASES[name]
    with tempfile.TemporaryDirectory() as tmp:
        input_path = Path(tmp) / "input.json"
        input_path.write_text(json.dumps(plain(the_input(name))), encoding="utf-8")
        done = subprocess.run(
            [NODE, "-e", NODE_PROGRAM, str(FIXTURES / bundle) if bundle else "", scenario, str(input_path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    return plain(json.loads(done.stdout))


def expected(name: str) -> Any:
    return json.loads(EXPECTED.read_text(encoding="utf-8"))[name]


@pytest.mark.parametrize("name", list(CASES))
def test_matches_node(vm: VM, name: str) -> None:
    result = ours(vm, name)
    assert result == expected(name)
    if NODE is not None:
        assert node(name) == result


def test_sql_js_database_opens_in_python(vm: VM, tmp_path: Path) -> None:
    result = ours(vm, "sql.js")
    path = tmp_path / "db.sqlite"
    path.write_bytes(bytes.fromhex(result["db"]["hex"]))
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name, score, data FROM t ORDER BY id").fetchall() == [
            ("ada", 1.5, b"\x03\x00\xff"),
            ("bob", -2.0, b"\x03\x00\xff"),
            ("čeněk", 1e100, b"\x05\x00\xff"),
            ("dora", None, b"\x04\x00\xff"),
        ]
    db.close()
    assert result["error"] == "NOT NULL constraint failed: t.name"


def test_hash_wasm_agrees_with_hashlib(vm: VM) -> None:
    result = ours(vm, "hash-wasm")
    text = b"The quick brown fox jumps over the lazy dog"
    assert result["sha256"] == hashlib.sha256(text).hexdigest()
    assert result["sha512"] == hashlib.sha512(text).hexdigest()
    assert result["sha3"] == hashlib.sha3_256(text).hexdigest()
    assert result["md5"] == hashlib.md5(text).hexdigest()
    assert result["pbkdf2"] == hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 100).hex()
    assert result["argon2id"].startswith("$argon2id$v=19$m=512,t=2,p=1$")


def test_jszip_zip_reads_in_python(vm: VM) -> None:
    result = ours(vm, "jszip")
    with zipfile.ZipFile(io.BytesIO(bytes.fromhex(result["zip"]["hex"]))) as z:
        assert z.testzip() is None
        assert z.namelist() == [
            "hello.txt",
            "data/",
            "data/bytes.bin",
            "empty/",
            "unicode/",
            "unicode/žluťoučký.txt",
        ]
        assert z.read("hello.txt") == b"Hello, world\n" * 50
        assert z.read("unicode/žluťoučký.txt").decode() == "příliš žluťoučký kůň"
        assert z.getinfo("hello.txt").compress_type == zipfile.ZIP_DEFLATED
        assert z.getinfo("hello.txt").date_time == (2024, 1, 2, 3, 4, 6)
        assert z.comment == b"made by jszip"


def test_iconv_lite_and_text_decoder_agree_with_python(vm: VM) -> None:
    result = ours(vm, "iconv-lite")
    assert result["isBuffer"] is True
    assert result["back"] == TEXT
    # 髙 has two codes in cp932 (IBM's, which iconv-lite writes, and NEC's, Python's).
    assert bytes.fromhex(result["cp932"]["hex"]).decode("cp932") == TEXT
    assert result["fromPython"] == TEXT[:18]
    decoded = ours(vm, "TextDecoder")
    assert decoded["text"] == decoded["streamed"] == TEXT
    assert decoded["encoding"] == ["shift_jis"] * 3
    assert decoded["fatal"] == "TypeError"


def test_shift_jis_replacement_follows_whatwg(ctx: Context) -> None:
    # WHATWG Shift_JIS: a lead byte then a byte that is no trail and not ASCII is one error,
    # the second byte consumed (encoding_rs); Node 20's ICU writes U+FFFD twice.
    assert (
        ctx.eval("new TextDecoder('shift_jis').decode(new Uint8Array([0x82, 0xa0, 0x82, 0xff, 0x41, 0x81]))")
        == "あ\ufffdA\ufffd"
    )


def record() -> None:
    """Writes tests/fixtures/expected/npm_packages.json from Node's results."""
    EXPECTED.write_text(
        json.dumps({name: node(name) for name in CASES}, indent=1, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    if NODE is None:
        sys.exit("node is not installed")
    record()
