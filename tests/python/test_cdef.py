"""The cffi declarations in v8cffi._native match the generated include/v8rs.h."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cffi import FFI

from v8cffi import _native

HEADER = Path(__file__).resolve().parents[2] / "include" / "v8rs.h"


def declarations(source: str) -> dict[str, str]:
    ffi = FFI()
    ffi.cdef(source)
    parsed = ffi._parser._declarations  # type: ignore[attr-defined]  # (kind name) -> (type, quals)
    return {name: str(decl[0].get_c_name()) for name, decl in parsed.items()}


def header_as_cdef() -> str:
    text = HEADER.read_text()
    text = re.sub(r"^\s*#.*$", "", text, flags=re.M)  # preprocessor lines
    text = text.replace('extern "C" {', "").replace('}  // extern "C"', "")
    return text


@pytest.mark.skipif(not HEADER.exists(), reason="needs the source tree's include/v8rs.h")
def test_cdef_matches_the_header() -> None:
    ours = declarations(_native.CDEF)
    theirs = declarations(header_as_cdef())
    assert ours == theirs
    assert any(name.startswith("function v8rs_run_script") for name in ours)
