"""The cffi declarations match include/v8rs.h, and v8cffi/_ffi.py matches them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cffi import FFI

from v8cffi import _ffi_build

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
    ours = declarations(_ffi_build.CDEF)
    theirs = declarations(header_as_cdef())
    assert ours == theirs
    assert any(name.startswith("function v8rs_run_script") for name in ours)


def test_generated_module_is_fresh(tmp_path: Path) -> None:
    committed = Path(_ffi_build.__file__).with_name("_ffi.py")
    fresh = tmp_path / "_ffi.py"
    _ffi_build.generate(str(fresh))
    assert fresh.read_text() == committed.read_text(), (
        "v8cffi/_ffi.py is stale: run `python v8cffi/_ffi_build.py` and commit it"
    )
