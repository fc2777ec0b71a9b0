"""Smoke test: bench/run.py --quick runs and prints every row (numbers are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[2] / "bench" / "run.py"
ROWS = [
    "run_script('hello')",
    "1 + 1",
    "10 KB script",
    "render(~1 KB dict)",
    "render(40-key dict)",
    "40-key dict there and back",
    "new VM + context with every web API",
    "new VM + bare context",
    "new context with every web API in a live VM",
    "new bare context in a live VM",
    "React page from nothing (VM + context + render): load the bundle",
    "React page from nothing (VM + context + render): from a warm snapshot",
    "CPU-bound JS, 2 threads x 2 VMs",
    "RSS per VM + context",
    "RSS per extra context",
    "import + set-up + first result",
    "VM + context ready with a ~1 MB bundle: run it",
    "VM + context ready with a ~1 MB bundle: from a snapshot",
    "load_libs of the ~1 MB bundle: compiled",
    "load_libs of the ~1 MB bundle: code cache",
    "VMPool(1), 4 threads calling render",
    "VMPool(2), 4 threads calling render",
]


@pytest.mark.skipif(not RUN.exists(), reason="needs the source tree's bench/")
def test_quick_benchmark_prints_every_row(tmp_path: Path) -> None:
    out_json = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--json", str(out_json)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    for row in ROWS:
        assert f"| {row}" in proc.stdout, row
    assert "Targets:" in proc.stdout
    assert out_json.stat().st_size > 0


SSR = RUN.with_name("ssr.py")


@pytest.mark.skipif(not SSR.exists(), reason="needs the source tree's bench/")
def test_quick_ssr_benchmark_prints_every_row() -> None:
    proc = subprocess.run([sys.executable, str(SSR), "--quick"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    for row in ["one call from Python per render", "loop inside JavaScript", "first chunk", "whole page"]:
        assert row in proc.stdout, row
    assert "renders/s" in proc.stdout.splitlines()[2]  # v8rs always has a number


PACKAGES = RUN.with_name("packages.py")


@pytest.mark.skipif(not PACKAGES.exists(), reason="needs the source tree's bench/")
def test_quick_packages_benchmark_runs_the_v8rs_side() -> None:
    proc = subprocess.run(
        [sys.executable, str(PACKAGES), "--quick"], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    titles = {line.split(" | ")[0][2:]: line.split(" | ")[1] for line in rows[1:]}
    # The fixtures under tests/fixtures are always there (npm installs may not be, offline).
    for title in [
        "react SSR",
        "vue SSR",
        "DOMPurify",
        "turndown",
        "readability",
        "jose",
        "ky",
        "Temporal",
        "shift_jis",
    ]:
        found = [ours for name, ours in titles.items() if title in name]
        assert found and not found[0].startswith("no:"), (title, titles)
    assert "Targets:" in proc.stdout
