"""v8cffi/_ffi.py and v8cffi/_constants.py are what _ffi_build.py makes of
include/v8rs.h: nothing of the header is copied by hand."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADER = ROOT / "include" / "v8rs.h"


def source_tree_builder() -> object:
    spec = importlib.util.spec_from_file_location("_ffi_build", ROOT / "v8cffi" / "_ffi_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not HEADER.exists(), reason="needs the source tree's include/v8rs.h")
def test_generated_modules_are_fresh(tmp_path: Path) -> None:
    builder = source_tree_builder()
    builder.generate(str(tmp_path), str(HEADER))  # type: ignore[attr-defined]
    for name in ("_ffi.py", "_constants.py"):
        committed = (ROOT / "v8cffi" / name).read_text()
        assert (tmp_path / name).read_text() == committed, (
            f"v8cffi/{name} is stale: run `python v8cffi/_ffi_build.py` and commit it"
        )


@pytest.mark.skipif(not HEADER.exists(), reason="needs the source tree's include/v8rs.h")
def test_every_function_and_constant_of_the_header_reaches_python() -> None:
    from v8cffi import _constants, _native

    text = HEADER.read_text()
    builder = source_tree_builder()
    for name, value in builder.constants(text).items():  # type: ignore[attr-defined]
        assert getattr(_constants, name) == value
        assert getattr(_native.lib, f"V8RS_{name}") == value
    functions = {
        line.split("(")[0].split()[-1].lstrip("*")
        for line in text.splitlines()
        if "v8rs_" in line and "(" in line and not line.startswith(("//", " ", "typedef"))
    }
    assert "v8rs_run_script" in functions
    for function in functions:
        assert callable(getattr(_native.lib, function)), function
