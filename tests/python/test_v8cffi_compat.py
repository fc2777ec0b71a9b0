"""v8-cffi's own unit tests (tests/python/v8cffi_compat, MIT), run against v8rs as its
``runtests.py`` ran them: every test of behaviour passes. Left out are only the tests of
v8-cffi's C++ internals, each named below with its reason."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_python

HERE = Path(__file__).resolve().parent / "v8cffi_compat"

#: The tests of v8-cffi's internals, which v8rs does not have, and why.
INTERNALS = {
    "tests_context.StringTest": "_String wrapped v8-cffi's C strings; v8rs has no such class",
    "tests_platform.PlatformTest.test_allocate_and_free": "mocks v8-cffi's C library (v8cffi_platform_new)",
    "tests_platform.PlatformTest.test_with_exceptions": "mocks v8-cffi's C library (E_V8_* codes)",
    "tests_vm.VMTest.test_allocate_and_free": "mocks v8-cffi's C library (lib.v8cffi_vm_new)",
    "tests_vm.VMTest.test_with_exceptions": "mocks v8-cffi's C library (E_V8_* codes)",
    "tests_platform.PlatformTest.test_bin_blobs": "V8 has had no natives blob since 7.0, nor a snapshot file",
    "tests_vm.VMTest.test_get_c_vm": "returns v8-cffi's C pointer (_c_vm)",
    "tests_context.ContextTest.test_run_script_trace_back": (
        "compares V8 5.x's messages and error positions ('Unexpected token [', one caret), "
        "which V8 15 words and places otherwise"
    ),
}

RUNNER = """
import json, sys, unittest
TESTS, internals = json.loads(ARGUMENTS)
sys.path.insert(0, TESTS)
from v8cffi.platform import platform

def flatten(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from flatten(test)
        else:
            yield test

with platform as _:  # as v8-cffi's runtests.py
    tests = list(flatten(unittest.defaultTestLoader.discover(TESTS, pattern="tests_*.py")))
    kept = [t for t in tests if not any(t.id() == i or t.id().startswith(i + ".") for i in internals)]
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(unittest.TestSuite(kept))
    failed = [t.id() for t, _ in result.failures + result.errors]
    print(json.dumps({"found": len(tests), "kept": len(kept), "run": result.testsRun, "failed": failed}))
"""


def test_v8_cffis_behaviour_tests_pass() -> None:
    arguments = json.dumps([str(HERE), list(INTERNALS)])
    proc = run_python(RUNNER.replace("ARGUMENTS", repr(arguments)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["failed"] == [], proc.stderr[-3000:]
    assert report["found"] == 40  # v8-cffi 0.2.1's tests
    assert report["run"] == report["kept"] == 26  # all but those of INTERNALS


def test_a_mixed_install_with_the_original_is_explained(tmp_path: Path) -> None:
    import shutil

    import v8cffi

    mixed = tmp_path / "site" / "v8cffi"
    shutil.copytree(Path(v8cffi.__file__).parent, mixed)
    (mixed / "v8_build.py").write_text("# v8-cffi's build script\n")
    proc = run_python(f"import sys; sys.path.insert(0, {str(mixed.parent)!r}); import v8cffi")
    assert proc.returncode != 0
    assert "both v8rs and the original v8-cffi are installed" in proc.stderr
    assert "pip uninstall" in proc.stderr


def test_the_submodules_are_where_v8_cffi_had_them() -> None:
    import types

    import v8cffi
    from v8cffi.platform import _Platform, platform

    assert isinstance(v8cffi.platform, types.ModuleType)  # mock.patch('v8cffi.platform.vm.VM')
    assert isinstance(platform, _Platform)
    assert platform.natives_path is None  # accepted, ignored: V8 has no natives blob
