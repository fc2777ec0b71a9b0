"""Shared fixtures: one platform for the test process, fresh VMs and contexts, a
leak check at the end, and a helper to run Python code in a fresh process."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import v8cffi
from v8cffi import _native
from v8cffi.context import Context
from v8cffi.platform import platform
from v8cffi.vm import VM


def pytest_report_header() -> list[str]:
    return [
        f"v8cffi: {os.path.dirname(v8cffi.__file__)}",
        f"libv8rs: {_native.candidate_paths()[0]} (V8 {v8cffi.V8_VERSION})",
    ]


@pytest.fixture(scope="session", autouse=True)
def v8_platform() -> Iterator[None]:
    """Sets the platform up once; at the end, checks that nothing native leaked."""
    platform.set_up()
    yield
    for _ in range(10):
        gc.collect()
        if v8cffi.live_counts() == (0, 0):
            break
    assert v8cffi.live_counts() == (0, 0), "VMs or contexts leaked"


@pytest.fixture
def vm() -> Iterator[VM]:
    with platform.create_vm() as vm:
        yield vm


@pytest.fixture
def ctx(vm: VM) -> Iterator[Context]:
    with vm.create_context() as ctx:
        yield ctx


def run_python(
    code: str, *, cwd: Path | None = None, flags: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Runs ``code`` in a fresh interpreter (the platform is one per process)."""
    return subprocess.run(
        [sys.executable, *flags, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
