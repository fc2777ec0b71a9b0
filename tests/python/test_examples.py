"""The examples under examples/ run as documented."""

from __future__ import annotations

import asyncio
import importlib.util
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.skipif(not (EXAMPLES / "streaming_ssr.py").exists(), reason="needs the source tree's examples/")
def test_streaming_ssr_app_streams_the_shell_then_the_rest() -> None:
    spec = importlib.util.spec_from_file_location("streaming_ssr", EXAMPLES / "streaming_ssr.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["streaming_ssr"] = module
    spec.loader.exec_module(module)

    async def request(title: str) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/", "query_string": f"title={title}".encode()}
        await module.app(scope, receive, send)
        return sent

    async def main() -> list[list[dict[str, Any]]]:
        return list(await asyncio.gather(*(request(f"page{i}") for i in range(6))))

    try:
        for i, sent in enumerate(asyncio.run(main())):
            assert sent[0]["status"] == 200
            bodies = [m["body"] for m in sent[1:]]
            assert len(bodies) >= 3 and bodies[-1] == b""
            assert b"Loading" in bodies[0] and f"page{i}".encode() in bodies[0]
            assert b"Delivered after the timer" in b"".join(bodies[1:])
    finally:
        for ctx in module.renderers._contexts:
            ctx._vm.tear_down()
        sys.modules.pop("streaming_ssr", None)


@pytest.mark.skipif(not (EXAMPLES / "multiprocessing_render.py").exists(), reason="needs examples/")
@pytest.mark.skipif(
    platform.python_implementation() == "PyPy" and sys.version_info < (3, 10),
    reason="PyPy 3.9's ProcessPoolExecutor fails to start workers (no _adjust_process_count)",
)
def test_multiprocessing_example_renders_on_spawned_workers() -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "multiprocessing_render.py"), "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"PAGE {i}!" for i in range(20)]
