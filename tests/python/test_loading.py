"""Loading the library: a ``libv8rs.so`` built from another C header is refused with a
clear ImportError before any call (its functions may take other arguments)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from v8cffi import _constants, _native

ROOT = Path(__file__).resolve().parents[2]


def test_the_loaded_library_speaks_this_packages_abi() -> None:
    assert _native.lib.v8rs_abi_version() == _constants.ABI_VERSION


def _fake_library(tmp_path: Path, body: str) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("needs a C compiler to build a stand-in library")
    source = tmp_path / "fake.c"
    source.write_text(body)
    out = tmp_path / "libv8rs.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(out), str(source)], check=True)
    return out


def _import_with(library: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, V8CFFI_LIBRARY=str(library), PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", "import v8cffi"], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (f"unsigned v8rs_abi_version(void) {{ return {_constants.ABI_VERSION + 1}; }}\n", "C ABI"),
        ("int v8rs_something_else(void) { return 0; }\n", "older than this v8cffi"),
        (
            f"unsigned v8rs_abi_version(void) {{ return {_constants.ABI_VERSION}; }}\n",
            f"C ABI {_constants.ABI_VERSION} without v8rs_",
        ),
    ],
    ids=["another ABI version", "no ABI version", "this version, functions missing"],
)
def test_a_library_of_another_abi_is_refused_at_import(tmp_path: Path, body: str, expected: str) -> None:
    proc = _import_with(_fake_library(tmp_path, body))
    assert proc.returncode != 0
    assert "ImportError: cannot load libv8rs.so" in proc.stderr, proc.stderr
    assert expected in proc.stderr, proc.stderr
    assert f"needs C ABI {_constants.ABI_VERSION}" in proc.stderr or "needs them all" in proc.stderr
    assert "Segmentation" not in proc.stderr
