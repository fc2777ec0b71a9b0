"""Rendering on every core with multiprocessing: one platform and one VM per process.

    python examples/multiprocessing_render.py [processes]

V8 cannot cross fork(), so the pool uses the "spawn" start method ("forkserver" works
too): each worker process imports v8cffi afresh, sets V8 up once in its initializer and
keeps its context for every task it runs.
"""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from v8cffi.context import Context

BUNDLE = Path(__file__).resolve().parent / "foo_bundled.js"
_context: Context | None = None


def set_up_worker(bundle: str) -> None:
    """Runs once in each worker process: V8, a VM and a context with the bundle."""
    global _context
    from v8cffi.platform import platform

    platform.set_up()
    vm = platform.create_vm().set_up()
    _context = vm.create_context()
    _context.load_libs([bundle])


def render(text: str) -> str:
    """One task: runs in whichever worker process is free."""
    assert _context is not None, "set_up_worker did not run"
    return str(_context.call("foo.shout", text))


def main(processes: int) -> list[str]:
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        processes, mp_context=spawn, initializer=set_up_worker, initargs=(str(BUNDLE),)
    ) as pool:
        return list(pool.map(render, [f"page {i}" for i in range(20)]))


if __name__ == "__main__":
    for line in main(int(sys.argv[1]) if len(sys.argv) > 1 else 2):
        print(line)
