"""The bad-input corpus: every case ends in its documented outcome, and the VM lives on.

Each file in tests/corpus/ starts with ``// expect: <outcome>`` — ``ok`` or the name of
the exception. Cases that are too big to commit (100 MB sources and results, non-UTF-8
bytes, odd paths) are generated here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import v8cffi
from v8cffi import V8ArgumentError, V8IOError, V8JSError, V8MemoryError
from v8cffi.context import Context
from v8cffi.platform import platform

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
CASES = sorted(CORPUS.glob("*.js")) if CORPUS.exists() else []


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Context]:
    with platform.create_vm(max_heap_size=64 * 2**20) as vm, vm.create_context() as ctx:
        yield ctx


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_case(sandbox: Context, case: Path) -> None:
    source = case.read_text()
    expected = source.splitlines()[0].removeprefix("// expect:").strip()
    try:
        sandbox.run_script(source, str(case.name), timeout=2)
        outcome = "ok"
    except v8cffi.V8Error as e:
        outcome = type(e).__name__
        if expected != "ok" and not isinstance(e, getattr(v8cffi, expected)):
            pytest.fail(f"{case.name}: expected {expected}, got {outcome}: {e}")
        outcome = expected if isinstance(e, getattr(v8cffi, expected, ())) else outcome
    assert outcome == expected
    assert sandbox.run_script("'still alive'") == "still alive"


def test_corpus_is_there() -> None:
    if CORPUS.exists():
        assert len(CASES) >= 15


def test_100_mb_source_and_result(sandbox: Context, ctx: Context) -> None:
    big = "x" * (100 * 2**20)
    assert ctx.run_script(f"'{big}'.length") == str(len(big))
    assert len(ctx.run_script(f"'x'.repeat({100 * 2**20})")) == 100 * 2**20
    assert len(ctx.eval(f"'y'.repeat({100 * 2**20})")) == 100 * 2**20
    assert ctx.run_script("1") == "1"


def test_invalid_utf8_and_surrogates(ctx: Context) -> None:
    for bad in [b"\xff", b"'\xc3'", b"\xed\xa0\x80"]:  # the last: a surrogate in UTF-8 form
        with pytest.raises(V8ArgumentError):
            ctx.run_script(bad)
    with pytest.raises(V8ArgumentError):
        ctx.run_script("'\udc00'")
    with pytest.raises(V8ArgumentError):
        ctx.run_script("1", identifier=b"\x80")


def test_identifiers_with_newlines_and_oddities(ctx: Context) -> None:
    with pytest.raises(V8JSError) as info:
        ctx.run_script("throw new Error('x')", identifier="line1\nline2 \t ☃")
    assert info.value.script_name == "line1\nline2 \t ☃"
    assert ctx.run_script("1", identifier="") == "1"


def test_odd_paths(ctx: Context, tmp_path: Path) -> None:
    with pytest.raises(V8IOError):
        ctx.load_libs([tmp_path / "does-not-exist.js"])
    with pytest.raises(V8IOError):
        ctx.load_libs([tmp_path])
    odd = tmp_path / os.fsdecode(b"non-utf8-\xfe.js")
    with pytest.raises(V8IOError) as info:
        ctx.load_libs([odd])
    assert info.value.errno == 2
    with pytest.raises(ValueError):
        ctx.load_libs(["nul\0byte.js"])


def test_memory_bomb_in_a_loop_keeps_the_process(sandbox: Context) -> None:
    for _ in range(5):
        with pytest.raises(V8MemoryError):
            sandbox.run_script("(function () { var a = []; while (true) a.push([a.length]) })()")
        assert sandbox.run_script("1 + 1") == "2"
