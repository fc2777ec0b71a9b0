"""Short variants of the stress and soak runs (the long ones: docs/robustness.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

STRESS = Path(__file__).resolve().parents[1] / "stress"


def run(script: str, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(STRESS / script), *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.skipif(not STRESS.exists(), reason="needs the source tree's tests/stress")
def test_short_concurrency_stress() -> None:
    out = run("stress.py", "--seconds", "5", "--threads", "8", "--vms", "2")
    assert "live (VMs, contexts) at the end: (0, 0)" in out


@pytest.mark.skipif(not STRESS.exists(), reason="needs the source tree's tests/stress")
def test_short_soak() -> None:
    out = run("soak.py", "--calls", "50000", "--vms", "300", "--every", "10000")
    assert "live (VMs, contexts) (0, 0)" in out
