"""A pool of ready VMs: borrow a context from any thread, return it, repeat.

>>> from v8cffi.pool import VMPool                         # doctest: +SKIP
>>> pool = VMPool(4, libs=["bundle.js"])                    # doctest: +SKIP
>>> pool.call("render", {"title": "hola"})                  # doctest: +SKIP
>>> with pool.context() as ctx:                             # doctest: +SKIP
...     ctx.eval("render.length")

Every VM of the pool has one context, prepared once: from a startup ``snapshot``, or by
running ``libs`` (file paths) and ``scripts`` (sources). Borrowing waits (up to a
``timeout``) while all VMs are in use. A VM that breaks — its heap still full after an
out-of-memory stop, or torn down by the borrower — is replaced with a fresh one when it
comes back.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .context import Context, StrPath
from .exceptions import V8Error, V8LifecycleError, V8MemoryError
from .platform import platform
from .vm import VM

__all__ = ["PoolTimeout", "VMPool"]


class PoolTimeout(V8Error, TimeoutError):
    """No VM of the pool became free within the timeout."""


class VMPool:
    """``size`` VMs, each with a context ready to use (see the module's docs)."""

    def __init__(
        self,
        size: int,
        *,
        snapshot: bytes | None = None,
        libs: Sequence[StrPath] = (),
        scripts: Sequence[str] = (),
        max_heap_size: int | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one VM")
        if not platform.is_alive():
            raise V8LifecycleError("the platform is not set up: call platform.set_up() first")
        self._snapshot = snapshot
        self._libs = list(libs)
        self._scripts = list(scripts)
        self._max_heap_size = max_heap_size
        self._free: queue.LifoQueue[tuple[VM, Context]] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._closed = False
        self.replaced = 0  #: how many broken VMs were replaced so far
        for _ in range(size):
            self._free.put(self._make())
        self._size = size

    def _make(self) -> tuple[VM, Context]:
        vm = platform.create_vm(snapshot=self._snapshot, max_heap_size=self._max_heap_size).set_up()
        ctx = vm.create_context().set_up()
        if self._libs:
            ctx.load_libs(self._libs)
        for source in self._scripts:
            ctx.run_script(source, "<pool script>")
        return vm, ctx

    @contextmanager
    def context(self, timeout: float | None = None) -> Iterator[Context]:
        """Borrows a ready context for the ``with`` block, waiting at most ``timeout``
        seconds for a free VM (:class:`PoolTimeout` after that)."""
        if self._closed:
            raise V8LifecycleError("the pool is closed")
        try:
            vm, ctx = self._free.get(timeout=timeout)
        except queue.Empty:
            raise PoolTimeout(f"no VM of the pool became free within {timeout} s") from None
        broken = False
        try:
            yield ctx
        except V8MemoryError:
            broken = not _still_usable(ctx)
            raise
        finally:
            if not (vm.is_alive() and ctx.is_alive()):
                broken = True
            self._give_back(vm, ctx, broken)

    def _give_back(self, vm: VM, ctx: Context, broken: bool) -> None:
        if broken:
            for item in (ctx, vm):
                if item.is_alive():
                    item.tear_down()
            if self._closed:
                return
            vm, ctx = self._make()
            with self._lock:
                self.replaced += 1
        if self._closed:
            ctx.tear_down()
            vm.tear_down()
        else:
            self._free.put((vm, ctx))

    def call(self, function: str, *args: Any, timeout: float | None = None, wait: float | None = None) -> Any:
        """``ctx.call(function, *args, timeout=timeout)`` on a borrowed context,
        waiting at most ``wait`` seconds for one."""
        with self.context(wait) as ctx:
            return ctx.call(function, *args, timeout=timeout)

    def close(self) -> None:
        """Tears down the free VMs now, and borrowed ones when they come back."""
        self._closed = True
        while True:
            try:
                vm, ctx = self._free.get_nowait()
            except queue.Empty:
                return
            ctx.tear_down()
            vm.tear_down()

    def __enter__(self) -> VMPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _still_usable(ctx: Context) -> bool:
    try:
        ctx.run_script("0")
    except V8Error:
        return False
    return True
