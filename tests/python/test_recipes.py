"""The web service and Dask recipes run end to end (short variants)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
needs = pytest.mark.skipif(not EXAMPLES.exists(), reason="needs the source tree's examples/")


def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout)


@needs
@pytest.mark.skipif(importlib.util.find_spec("uvicorn") is None, reason="pip install starlette uvicorn")
def test_web_service_load_test_has_no_errors_with_1_2_and_4_workers() -> None:
    proc = run(str(EXAMPLES / "web" / "loadtest.py"), "--quick", "--workers", "1", "2", "4")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [row.split("|")[1].strip() for row in rows] == ["1", "2", "4"]
    assert all(row.split("|")[6].strip() == "0" for row in rows)  # errors


@needs
@pytest.mark.skipif(importlib.util.find_spec("distributed") is None, reason='pip install "dask[distributed]"')
def test_dask_recipe_survives_a_killed_worker() -> None:
    proc = run(str(EXAMPLES / "dask_render.py"), "--pages", "60", "--workers", "2", "--kill")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "killed worker process" in proc.stdout
    assert "rendered 60 of 60 pages" in proc.stdout and "wrong: 0" in proc.stdout
