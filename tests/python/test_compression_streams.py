"""CompressionStream and DecompressionStream: gzip, deflate (zlib) and deflate-raw read
and written as Python's zlib does, in any chunking; bad data is a TypeError; a small
input that inflates to a lot comes out in pieces and stops with the call's timeout."""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from v8cffi import V8JSError, V8TimeoutError
from v8cffi.context import Context

HELPERS = """
globalThis.through = async (format, compress, chunks) => {
  const Stream = compress ? CompressionStream : DecompressionStream;
  const stream = new Stream(format);
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const out = [];
  let biggest = 0;
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      biggest = Math.max(biggest, value.byteLength);
      out.push(value);
    }
  })();
  try {
    for (const chunk of chunks) await writer.write(chunk);
    await writer.close();
    await reading;
  } catch (e) {
    await reading.catch(() => {});
    return { error: `${e.name}: ${e.message}` };
  }
  return { bytes: new Uint8Array(await new Blob(out).arrayBuffer()), pieces: out.length, biggest };
};
undefined;
"""


def _raw_compress(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-15)
    return packer.compress(data) + packer.flush()


def _gzip_compress(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _raw_decompress(data: bytes) -> bytes:
    return zlib.decompress(data, wbits=-15)


PY_COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": _gzip_compress,
    "deflate": zlib.compress,
    "deflate-raw": _raw_compress,
}
PY_DECOMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.decompress,
    "deflate": zlib.decompress,
    "deflate-raw": _raw_decompress,
}
FORMATS = list(PY_COMPRESS)


@pytest.fixture
def zctx(ctx: Context) -> Context:
    ctx.eval(HELPERS)
    return ctx


def through(ctx: Context, fmt: str, compress: bool, chunks: list[bytes], timeout: float = 30) -> Any:
    return ctx.call("through", fmt, compress, chunks, await_promise=True, timeout=timeout)


def text() -> bytes:
    return b"".join(b"line %d of %d, " % (i % 977, i % 13) for i in range(60_000))


@pytest.mark.parametrize("fmt", FORMATS)
def test_what_it_compresses_python_reads(zctx: Context, fmt: str) -> None:
    data = text() + os.urandom(50_000)
    for cut in (len(data), 65_536, 1_000):
        chunks = [data[i : i + cut] for i in range(0, len(data), cut)]
        out = through(zctx, fmt, True, chunks)
        assert PY_DECOMPRESS[fmt](out["bytes"]) == data
        assert len(out["bytes"]) < len(data)
    assert PY_DECOMPRESS[fmt](through(zctx, fmt, True, [])["bytes"]) == b""


@pytest.mark.parametrize("fmt", FORMATS)
def test_what_python_compresses_it_reads_in_any_chunking(zctx: Context, fmt: str) -> None:
    data = text()
    packed = PY_COMPRESS[fmt](data)
    for cut in (len(packed), 4096, 1):
        chunks = [
            packed[i : i + cut] for i in range(0, min(len(packed), 20_000 if cut == 1 else len(packed)), cut)
        ]
        if cut == 1:  # one byte at a time, for the first 20 kB and then the rest at once
            chunks.append(packed[20_000:])
        assert through(zctx, fmt, False, chunks)["bytes"] == data


def test_gzip_headers_with_a_name_a_comment_and_extra_fields_are_read(zctx: Context, tmp_path: Any) -> None:
    body = zlib.compressobj(wbits=-15)
    deflated = body.compress(b"abc") + body.flush()
    header = bytearray(
        [0x1F, 0x8B, 8, 2 | 4 | 8 | 16, 1, 2, 3, 4, 0, 255, 3, 0, ord("x"), ord("y"), ord("z")]
    )
    header += b"name.txt\0a comment\0"
    header += (zlib.crc32(bytes(header)) & 0xFFFF).to_bytes(2, "little")
    member = bytes(header) + deflated + zlib.crc32(b"abc").to_bytes(4, "little") + (3).to_bytes(4, "little")
    assert gzip.decompress(member) == b"abc"  # what Python reads, and so do we
    assert (
        through(zctx, "gzip", False, [member[i : i + 3] for i in range(0, len(member), 3)])["bytes"] == b"abc"
    )
    with gzip.open(tmp_path / "named.gz", "wb") as f:  # Python writes the file's name
        f.write(b"from a file")
    assert through(zctx, "gzip", False, [(tmp_path / "named.gz").read_bytes()])["bytes"] == b"from a file"


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_data_is_a_type_error(zctx: Context, fmt: str) -> None:
    packed = PY_COMPRESS[fmt](b"hello hello hello hello")
    cases = {
        "junk": [packed + b"\x01\x02"],
        "twice": [packed, packed],
        "cut": [packed[:-3]],
        "empty": [],
        "garbage": [b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"],
    }
    for name, chunks in cases.items():
        error = through(zctx, fmt, False, chunks).get("error", "")
        assert error.startswith("TypeError: "), (name, error)
    assert "Junk" in through(zctx, fmt, False, [packed + b"\x00"])["error"]
    assert "ends early" in through(zctx, fmt, False, [packed[:-1]])["error"]


def test_a_wrong_gzip_checksum_or_length_is_an_error(zctx: Context) -> None:
    packed = bytearray(gzip.compress(b"hello", mtime=0))
    packed[-8] ^= 1
    assert "data check" in through(zctx, "gzip", False, [bytes(packed)])["error"]
    packed[-8] ^= 1
    packed[-1] ^= 1
    assert "length check" in through(zctx, "gzip", False, [bytes(packed)])["error"]


def test_a_chunk_is_read_by_its_buffer_not_its_properties(zctx: Context) -> None:
    # A view whose byteLength lies (or that has no prototype) is read as any other view;
    # a view of a SharedArrayBuffer is not a BufferSource.
    out = zctx.eval(
        """(async () => {
          class Liar extends Uint8Array { get byteLength() { return 1e12; } }
          const bare = new TextEncoder().encode('lo');
          Object.setPrototypeOf(bare, null);
          const packed = (await through('gzip', true, [new Liar([104, 101, 108]), bare])).bytes;
          const shared = (await through('gzip', true, [new Uint8Array(new SharedArrayBuffer(4))])).error;
          return [packed, shared];
        })()""",
        await_promise=True,
        timeout=10,
    )
    assert gzip.decompress(out[0]) == b"hello"
    assert out[1].startswith("TypeError: Failed to execute 'write'")


def test_formats_and_chunks_are_checked(zctx: Context) -> None:
    for bad in ("'gzip '", "'GZIP'", "'br'", "undefined", ""):
        with pytest.raises(V8JSError, match="TypeError"):
            zctx.eval(f"new CompressionStream({bad})")
    with pytest.raises(V8JSError, match="not a valid enum value"):
        zctx.eval("new DecompressionStream('zip')")
    for chunk in ("'text'", "42", "null", "new SharedArrayBuffer(4)", "[1, 2]"):
        error = zctx.eval(
            f"""(async () => {{
              const s = new CompressionStream('gzip');
              const w = s.writable.getWriter();
              s.readable.getReader().read().catch(() => {{}});
              try {{ await w.write({chunk}); return 'none'; }} catch (e) {{ return e.name; }}
            }})()""",
            await_promise=True,
        )
        assert error == "TypeError", chunk
    # Any BufferSource: an ArrayBuffer, a DataView, a view of part of a buffer.
    parts = zctx.eval(
        """(async () => {
          const bytes = new TextEncoder().encode('..hello..');
          const chunks = [bytes.buffer.slice(2, 4), new DataView(bytes.buffer, 4, 2), bytes.subarray(6, 7)];
          return (await through('deflate', true, chunks)).bytes;
        })()""",
        await_promise=True,
    )
    assert zlib.decompress(parts) == b"hello"
    assert zctx.eval(
        "[String(new CompressionStream('gzip')), CompressionStream.name, DecompressionStream.length]"
    ) == [
        "[object CompressionStream]",
        "CompressionStream",
        1,
    ]


def test_streams_pipe_through_them(zctx: Context) -> None:
    zctx.eval("globalThis.data = 'pipe me '.repeat(10000)")
    packed = zctx.eval(
        """(async () => new Uint8Array(await new Response(
             new Blob([data]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer()))()""",
        await_promise=True,
    )
    assert gzip.decompress(packed) == b"pipe me " * 10000
    back = zctx.call(
        "(bytes) => new Response(new Blob([bytes]).stream()"
        ".pipeThrough(new DecompressionStream('gzip'))).text()",
        packed,
        await_promise=True,
    )
    assert back == "pipe me " * 10000


def test_a_bomb_comes_out_in_pieces_and_a_timeout_stops_it(zctx: Context) -> None:
    bomb = gzip.compress(bytes(256 << 20), mtime=0)  # 256 MiB of zeros in ~250 kB
    counted = zctx.call(
        """async (bomb) => {
          const reader = new Blob([bomb]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
          let total = 0, biggest = 0;
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return [total, biggest];
            total += value.byteLength;
            biggest = Math.max(biggest, value.byteLength);
          }
        }""",
        bomb,
        await_promise=True,
        timeout=60,
    )
    assert counted[0] == 256 << 20
    assert counted[1] <= 2 << 20  # pieces, never the whole at once
    huge = gzip.compress(bytes(1 << 30), mtime=0)[:600_000]  # 1 GiB's first part
    with pytest.raises(V8TimeoutError):
        through(zctx, "gzip", False, [huge], timeout=0.3)
    assert zctx.eval("1 + 1") == 2


def test_open_streams_are_bounded_and_cancel_closes_one(zctx: Context) -> None:
    result = zctx.eval(
        """(async () => {
          // Streams made and never used hold nothing: no limit in a loop.
          for (let i = 0; i < 3000; i++) new CompressionStream('gzip');
          const open = [];
          // A stream's state opens at its first chunk.
          const start = async () => {
            const s = new DecompressionStream('deflate');
            const reader = s.readable.getReader();
            const writer = s.writable.getWriter();
            reader.read().catch(() => {});
            await writer.write(new Uint8Array([120]));
            return { reader, writer };
          };
          try {
            for (let i = 0; i < 2000; i++) open.push(await start());
            return 'unbounded';
          } catch (e) {
            const at = open.length;
            await open[0].reader.cancel();
            open.push(await start());
            for (const s of open) await s.writer.abort().catch(() => {});
            // Ended streams close their state: many more, one after the other.
            for (let i = 0; i < 1500; i++) await through('deflate', true, [new Uint8Array([i & 255])]);
            return [e.name, at];
          }
        })()""",
        await_promise=True,
        timeout=60,
    )
    assert result == ["RangeError", 1024]


def test_a_bad_chunk_after_good_ones_closes_the_stream(zctx: Context) -> None:
    # A transform that throws errors the stream without `cancel`: its state is closed
    # anyway, so more streams than the limit can each meet a bad chunk.
    kinds = zctx.eval(
        """(async () => {
          const kinds = new Set();
          for (let i = 0; i < 1100; i++) {
            const s = new CompressionStream('gzip');
            const reader = s.readable.getReader();
            (async () => { while (!(await reader.read()).done); })().catch(() => {});
            const w = s.writable.getWriter();
            await w.write(new Uint8Array([1]));
            const bad = i % 2 ? 'bad' : new Uint8Array(new SharedArrayBuffer(1));
            await w.write(bad).catch((e) => kinds.add(e.name));
          }
          const detached = new ArrayBuffer(1);
          detached.transfer();
          kinds.add((await through('gzip', true, [detached])).error);
          return [...kinds];
        })()""",
        await_promise=True,
        timeout=60,
    )
    assert kinds[0] == "TypeError"
    assert kinds[1].startswith("TypeError: Failed to execute 'write'")


def test_a_snapshot_script_cannot_open_one() -> None:
    from v8cffi.platform import platform

    with pytest.raises(V8JSError, match="need a context of a VM"):
        platform.create_snapshot(
            [("open.js", "new CompressionStream('gzip').writable.getWriter().close(); 0")]
        )
    # A snapshot whose scripts only define the classes' users is fine, and they work.
    made = platform.create_snapshot(
        [
            (
                "lib.js",
                "globalThis.pack = (s) => new Blob([s]).stream().pipeThrough(new CompressionStream('gzip'))",
            )
        ]
    )
    with platform.create_vm(snapshot=made) as vm, vm.create_context() as ctx:
        packed = ctx.eval(
            "(async () => new Uint8Array(await new Response(pack('snap')).arrayBuffer()))()",
            await_promise=True,
        )
        assert gzip.decompress(packed) == b"snap"
