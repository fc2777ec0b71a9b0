"""A pool of ready VMs: borrow a context from any thread, return it, repeat.

>>> from v8cffi.pool import VMPool                         # doctest: +SKIP
>>> pool = VMPool(4, libs=["bundle.js"], snapshot=True)     # doctest: +SKIP
>>> pool.call("render", {"title": "hola"})                  # doctest: +SKIP
>>> with pool.context() as ctx:                             # doctest: +SKIP
...     ctx.eval("render.length")

Every VM of the pool has one context, prepared once: from a startup ``snapshot``, or by
running ``libs`` (file paths) and ``scripts`` (sources). With ``snapshot=True`` the pool
makes a snapshot of ``libs`` and ``scripts`` (warmed up by ``warmup`` scripts) once, and
every VM starts from it — much faster than loading the bundles into each (if they cannot
be snapshotted, the pool loads them into each VM instead; :attr:`VMPool.snapshot_error`
says why).

The first VM is made before the constructor returns; the others, and every replacement,
are made in the background, so borrowers wait (up to a ``timeout``) only while all VMs
are in use or not yet made. A VM that breaks — its heap still full after an
out-of-memory stop, or torn down by the borrower — is replaced with a fresh one.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Union

from ._snapshot import Snapshot
from .context import Context, StrPath
from .exceptions import V8Error, V8LifecycleError, V8MemoryError
from .platform import platform
from .vm import VM

__all__ = ["PoolTimeout", "VMPool"]


class PoolTimeout(V8Error, TimeoutError):
    """No VM of the pool became free within the timeout."""


#: What the queue of free VMs holds: a ready VM, or the error that making one raised.
_Slot = Union[tuple[VM, Context], BaseException]


class VMPool:
    """``size`` VMs, each with a context ready to use (see the module's docs)."""

    def __init__(
        self,
        size: int,
        *,
        snapshot: bytes | Snapshot | bool | None = None,
        libs: Sequence[StrPath] = (),
        scripts: Sequence[str] = (),
        warmup: Sequence[str] = (),
        max_heap_size: int | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one VM")
        if not platform.is_alive():
            raise V8LifecycleError("the platform is not set up: call platform.set_up() first")
        self._libs = list(libs)
        self._scripts = list(scripts)
        self._max_heap_size = max_heap_size
        #: Why ``snapshot=True`` could not make a snapshot (the VMs load the scripts), or ``None``.
        self.snapshot_error: V8Error | None = None
        self._snapshot: Snapshot | None = None
        if snapshot is True:
            self._snapshot = self._make_snapshot(list(warmup))
        elif snapshot is not None and snapshot is not False:
            self._snapshot = snapshot if isinstance(snapshot, Snapshot) else Snapshot(snapshot)
        self._free: queue.LifoQueue[_Slot] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._makers: list[threading.Thread] = []
        self.replaced = 0  #: how many broken VMs were replaced so far
        self._free.put(self._make())  # the first one here: its errors are the caller's
        self._size = size
        for _ in range(size - 1):
            self._make_in_background()

    @property
    def snapshot(self) -> Snapshot | None:
        """The snapshot the pool's VMs start from, if any."""
        return self._snapshot

    def _make_snapshot(self, warmup: list[str]) -> Snapshot | None:
        scripts: list[tuple[str, str | bytes]] = []
        for path in self._libs:
            with open(path, encoding="utf-8") as f:
                scripts.append((os.fsdecode(path), f.read()))
        scripts.extend((f"<pool script {i}>", source) for i, source in enumerate(self._scripts))
        try:
            return Snapshot(platform.create_snapshot(scripts, warmup=warmup))
        except V8Error as e:
            self.snapshot_error = e
            return None

    def _make(self) -> tuple[VM, Context]:
        vm = platform.create_vm(snapshot=self._snapshot, max_heap_size=self._max_heap_size).set_up()
        ctx = vm.create_context().set_up()
        if self._snapshot is None:
            if self._libs:
                ctx.load_libs(self._libs)
            for source in self._scripts:
                ctx.run_script(source, "<pool script>")
        return vm, ctx

    def _make_in_background(self) -> None:
        """Makes a VM on a thread of its own and adds it to the free ones (or, if that
        fails, the error, which the borrower that takes it raises)."""

        def make() -> None:
            try:
                slot: _Slot = self._make()
            except BaseException as e:  # given to a borrower, not lost on this thread
                slot = e
            if self._closed and not isinstance(slot, BaseException):
                slot[1].tear_down()
                slot[0].tear_down()
                return
            self._free.put(slot)

        maker = threading.Thread(target=make, name="v8cffi-pool-maker", daemon=True)
        with self._lock:
            self._makers = [t for t in self._makers if t.is_alive()]
            self._makers.append(maker)
        maker.start()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Waits until the VMs being made in the background are ready; returns whether
        they all are (``False`` after ``timeout`` seconds)."""
        with self._lock:
            makers = list(self._makers)
        for maker in makers:
            maker.join(timeout)
        return not any(maker.is_alive() for maker in makers)

    @contextmanager
    def context(self, timeout: float | None = None) -> Iterator[Context]:
        """Borrows a ready context for the ``with`` block, waiting at most ``timeout``
        seconds for a free VM (:class:`PoolTimeout` after that)."""
        if self._closed:
            raise V8LifecycleError("the pool is closed")
        try:
            slot = self._free.get(timeout=timeout)
        except queue.Empty:
            raise PoolTimeout(f"no VM of the pool became free within {timeout} s") from None
        if isinstance(slot, BaseException):
            self._make_in_background()  # try again for the next borrower
            raise slot
        vm, ctx = slot
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
            with self._lock:
                self.replaced += 1
            self._make_in_background()  # the borrower does not wait for it
            return
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
        """Tears down the free VMs now, borrowed ones when they come back, and those
        being made when they are ready."""
        self._closed = True
        self.wait_ready()
        while True:
            try:
                slot = self._free.get_nowait()
            except queue.Empty:
                return
            if not isinstance(slot, BaseException):
                slot[1].tear_down()
                slot[0].tear_down()

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
