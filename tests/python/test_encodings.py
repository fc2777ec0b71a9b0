"""``TextDecoder`` knows every encoding of the WHATWG Encoding standard (on
encoding_rs, Firefox's decoders): the standard's text for the same bytes, whole or
streamed byte by byte, with ``fatal`` and ``ignoreBOM``. Node 20 is the reference for
UTF-8 and UTF-16 only: its legacy decoders are ICU's, which depart from the standard
(windows-1252 0x80 is U+0080 there, € in the standard and in browsers)."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from v8cffi.context import Context
from v8cffi.exceptions import V8JSError

#: Every encoding a TextDecoder may use, by its name (``replacement`` is refused).
ENCODINGS = [
    "utf-8", "ibm866", "iso-8859-2", "iso-8859-3", "iso-8859-4", "iso-8859-5", "iso-8859-6",
    "iso-8859-7", "iso-8859-8", "iso-8859-8-i", "iso-8859-10", "iso-8859-13", "iso-8859-14",
    "iso-8859-15", "iso-8859-16", "koi8-r", "koi8-u", "macintosh", "windows-874",
    "windows-1250", "windows-1251", "windows-1252", "windows-1253", "windows-1254",
    "windows-1255", "windows-1256", "windows-1257", "windows-1258", "x-mac-cyrillic", "gbk",
    "gb18030", "big5", "euc-jp", "iso-2022-jp", "shift_jis", "euc-kr", "utf-16be", "utf-16le",
]  # fmt: skip

#: Decodes every sample in every encoding, whole and streamed; the same text in Node.
DECODE_ALL_JS = """
(() => {
  const samples = [
    Array.from({ length: 256 }, (_, i) => i),
    [0x93, 0xfa, 0x96, 0x7b, 0x82, 0xa0, 0x41],
    [0xc6, 0xfc, 0xcb, 0xdc, 0x8e, 0xb1],
    [0x81, 0x30, 0x81, 0x30, 0xa4, 0xa4, 0xc4, 0xe3],
    [0x1b, 0x24, 0x42, 0x46, 0x7c, 0x4b, 0x5c, 0x1b, 0x28, 0x42, 0x21, 0x1b, 0x28, 0x4a, 0x5c],
    [0xff, 0xfe, 0x68, 0x00, 0x3d, 0xd8, 0x00, 0xde, 0x00, 0xd8],
    [0xef, 0xbb, 0xbf, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98],
  ];
  const result = {};
  for (const name of NAMES) {
    try { new TextDecoder(name); } catch { result[name] = null; continue; }  // Node lacks a few
    result[name] = samples.map((sample) => {
      const bytes = new Uint8Array(sample);
      const whole = new TextDecoder(name).decode(bytes);
      const streaming = new TextDecoder(name);
      let streamed = '';
      for (const byte of bytes) streamed += streaming.decode(new Uint8Array([byte]), { stream: true });
      streamed += streaming.decode();
      let fatal;
      try { fatal = new TextDecoder(name, { fatal: true }).decode(bytes); } catch (e) { fatal = e.name; }
      const kept = new TextDecoder(name, { ignoreBOM: true }).decode(bytes);
      return [whole, streamed === whole, fatal, kept];
    });
  }
  return JSON.stringify(result);
})()
"""


def decode_all(run: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(run)
    return result


def script() -> str:
    return f"const NAMES = {json.dumps(ENCODINGS)};\n{DECODE_ALL_JS}"


def test_each_encoding_decodes_whole_and_streamed_alike(ctx: Context) -> None:
    result = decode_all(ctx.run_script(script()))
    for name in ENCODINGS:
        assert result[name] is not None, name
        assert all(streamed for _, streamed, _, _ in result[name]), name


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_utf_8_and_utf_16_decode_as_node_does(ctx: Context) -> None:
    ours = decode_all(ctx.run_script(script()))
    proc = subprocess.run(["node", "-p", script()], capture_output=True, text=True, check=True, timeout=60)
    theirs = decode_all(proc.stdout)
    for name in ["utf-8", "utf-16le", "utf-16be"]:
        assert ours[name] == theirs[name], name


def test_single_byte_encodings_follow_the_standards_indexes(ctx: Context) -> None:
    # From https://encoding.spec.whatwg.org/index-<name>.txt (the pointer is byte - 0x80).
    cases = {
        "windows-1252": {0x80: "\u20ac", 0x81: "\x81", 0x9F: "\u0178", 0xE9: "é"},
        "ibm866": {0x1A: "\x1a", 0x80: "\u0410", 0xFF: "\xa0"},
        "koi8-u": {0xAE: "ў", 0xBE: "Ў", 0xA4: "є"},
        "windows-874": {0xDB: "\ufffd", 0xA1: "ก"},
        "iso-8859-16": {0xA1: "Ą", 0xA4: "€"},
        "windows-1253": {0xAA: "\ufffd", 0xA2: "Ά"},
        "macintosh": {0x80: "Ä", 0xDB: "€"},
    }
    for name, table in cases.items():
        for byte, text in table.items():
            decoded = ctx.eval(f"new TextDecoder('{name}').decode(new Uint8Array([{byte}]))")
            assert decoded == text, (name, byte)


def test_labels_name_their_encoding(ctx: Context) -> None:
    cases = {"latin1": "windows-1252", " SJIS ": "shift_jis", "ascii": "windows-1252", "unicode": "utf-16le",
             "x-user-defined": "x-user-defined", "GB2312": "gbk", "cp1251": "windows-1251"}  # fmt: skip
    for label, name in cases.items():
        assert ctx.eval(f"new TextDecoder({json.dumps(label)}).encoding") == name
    for label in ["replacement", "iso-2022-kr", "nope", ""]:
        with pytest.raises(V8JSError, match="RangeError"):
            ctx.eval(f"new TextDecoder({json.dumps(label)})")


def test_known_texts(ctx: Context) -> None:
    cases = [
        ("windows-1252", [0x63, 0x61, 0x66, 0xE9, 0x20, 0x80], "café €"),
        ("shift_jis", [0x93, 0xFA, 0x96, 0x7B], "日本"),
        ("euc-kr", [0xC7, 0xD1, 0xB1, 0xDB], "한글"),
        ("big5", [0xA4, 0xA4, 0xA4, 0xE5], "中文"),
        ("koi8-r", [0xF0, 0xD2, 0xC9], "При"),
        ("utf-16be", [0xFE, 0xFF, 0x00, 0x68, 0x00, 0x69], "hi"),
        ("x-user-defined", [0x41, 0x80, 0xFF], "A\uf780\uf7ff"),
    ]
    for name, data, text in cases:
        assert ctx.eval(f"new TextDecoder('{name}').decode(new Uint8Array({data}))") == text
    with pytest.raises(V8JSError, match="TypeError: The encoded data was not valid for encoding utf-16le"):
        ctx.eval("new TextDecoder('utf-16le', { fatal: true }).decode(new Uint8Array([0x00, 0xd8]))")


def test_a_stream_cut_inside_a_character_continues_and_streams_of_decoders_are_apart(ctx: Context) -> None:
    assert (
        ctx.eval(
            """
        const a = new TextDecoder('shift_jis'), b = new TextDecoder('shift_jis');
        const parts = [a.decode(new Uint8Array([0x93]), { stream: true }),
                       b.decode(new Uint8Array([0x96]), { stream: true }),
                       a.decode(new Uint8Array([0xfa])), b.decode(new Uint8Array([0x7b]))];
        parts.join('|')
        """
        )
        == "||日|本"
    )


def test_a_text_decoder_stream_decodes_legacy_chunks(ctx: Context) -> None:
    assert (
        ctx.eval(
            """
        (async () => {
          const source = new ReadableStream({ start(c) {
            c.enqueue(new Uint8Array([0x93])); c.enqueue(new Uint8Array([0xfa])); c.close();
          } });
          let text = '';
          for await (const chunk of source.pipeThrough(new TextDecoderStream('shift_jis'))) text += chunk;
          return text;
        })()
        """,
            await_promise=True,
        )
        == "日"
    )


def test_many_abandoned_streams_do_not_stop_new_ones(ctx: Context) -> None:
    assert (
        ctx.eval(
            """
        const cut = new Uint8Array([0x81]);
        for (let i = 0; i < 5000; i++) new TextDecoder('gbk').decode(cut, { stream: true });
        const d = new TextDecoder('gbk');
        d.decode(new Uint8Array([0xc4]), { stream: true }) + d.decode(new Uint8Array([0xe3]))
        """
        )
        == "你"
    )


def test_legacy_decoding_works_in_snapshot_scripts() -> None:
    from v8cffi.platform import platform

    blob = platform.create_snapshot(
        ["var decoded = new TextDecoder('latin1').decode(new Uint8Array([0xe9]));"], isolated=False
    )
    with platform.create_vm(snapshot=blob) as vm, vm.create_context() as ctx:
        assert ctx.eval("decoded") == "é"
