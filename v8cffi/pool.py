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

:meth:`VMPool.call` goes to the VM with the fewest calls in flight and does not wait
for it to be idle: calls on one VM take turns inside the library, with the GIL released,
so one thread's conversions overlap another's JavaScript. :meth:`VMPool.context` lends a
VM for a ``with`` block alone (it waits, up to a ``timeout``, for the calls in flight
there to end). The first VM is made before the constructor returns; the others, and
every replacement, are made in the background, so callers wait only while every VM is
lent or not yet made. A VM that breaks is replaced with a fresh one: one whose globals
took more than half of the heap it had free when it was ready (found when a call runs
out of memory, and when a loan ends), one torn down by the borrower.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ._snapshot import Snapshot
from .context import Context, StrPath
from .exceptions import V8ArgumentError, V8Error, V8IOError, V8LifecycleError, V8MemoryError
from .platform import platform
from .vm import VM

__all__ = ["PoolTimeout", "VMPool"]


class PoolTimeout(V8Error, TimeoutError):
    """No VM of the pool became free within the timeout."""


class _Slot:
    """One VM of the pool and what is being done with it."""

    __slots__ = ("baseline", "broken", "calls", "ctx", "lent", "reserved", "vm")

    def __init__(self, vm: VM, ctx: Context, baseline: int) -> None:
        self.vm = vm
        self.ctx = ctx
        self.baseline = baseline  #: the heap in use once ready (libs and scripts loaded)
        self.calls = 0  #: calls in flight
        self.lent = False  #: lent by ``context()`` (no new calls go to it)
        self.reserved = False  #: to be lent once its calls end (no new calls go to it)
        self.broken = False  #: to be replaced once its calls end


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
        for what, given in (("libs", libs), ("scripts", scripts), ("warmup", warmup)):
            if isinstance(given, (str, bytes, bytearray, os.PathLike)):
                raise TypeError(f"{what} must be a list, not a single {type(given).__name__}")
        if warmup and snapshot is not True:
            raise ValueError("warmup warms a snapshot the pool makes: it needs snapshot=True")
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
        #: Whether each new context loads ``libs`` and ``scripts`` (not when the pool's
        #: own snapshot holds them; on top of a snapshot given, they do).
        self._load = snapshot is not True or self._snapshot is None
        #: Guards everything below; notified whenever a VM may have become usable.
        self._changed = threading.Condition(threading.Lock())
        self._slots: list[_Slot] = []  # the ready VMs
        #: The errors of VMs that could not be made, each with when it may be made again
        #: while other VMs serve (see ``_retry_failures``).
        self._failures: list[tuple[BaseException, float]] = []
        self._failed_in_a_row = 0  # makings that failed since the last that worked
        self._closed = False
        self._makers: list[threading.Thread] = []
        self._makers_lock = threading.Lock()  # not ``_changed``: makers start under it
        self.replaced = 0  #: how many broken VMs were replaced so far
        first = self._make()  # the first one here: its errors are the caller's
        self._slots.append(_Slot(*first))
        for _ in range(size - 1):
            self._make_in_background()

    @property
    def snapshot(self) -> Snapshot | None:
        """The snapshot the pool's VMs start from, if any."""
        return self._snapshot

    def _make_snapshot(self, warmup: list[str]) -> Snapshot | None:
        scripts: list[tuple[str, str | bytes]] = []
        for path in self._libs:
            name = os.fsdecode(path)
            try:
                with open(path, "rb") as f:
                    source = f.read()
            except OSError as e:  # as load_libs says
                raise V8IOError(e.errno, e.strerror, name) from None
            try:
                scripts.append((name, source.decode("utf-8")))
            except UnicodeDecodeError as e:
                raise V8ArgumentError(f"{name}: the library is not UTF-8: {e}") from None
        scripts.extend((f"<pool script {i}>", source) for i, source in enumerate(self._scripts))
        try:
            return Snapshot(platform.create_snapshot(scripts, warmup=warmup))
        except V8Error as e:
            self.snapshot_error = e
            return None

    def _make(self) -> tuple[VM, Context, int]:
        """A VM and its context, ready, and the heap they use then."""
        vm = platform.create_vm(snapshot=self._snapshot, max_heap_size=self._max_heap_size)
        try:
            vm.set_up()
            ctx = vm.create_context().set_up()
            if self._load:
                if self._libs:
                    ctx.load_libs(self._libs)
                for source in self._scripts:
                    ctx.run_script(source, "<pool script>")
            baseline = vm.heap_stats()["used_heap_size"]
        except BaseException:
            vm.tear_down()  # with its context: the error's traceback must not keep them
            raise
        return vm, ctx, baseline

    def _make_in_background(self) -> None:
        """Makes a VM on a thread of its own and adds it to the ready ones (or, if that
        fails, keeps the error, which the next caller that finds no VM raises)."""

        def make() -> None:
            try:
                vm, ctx, baseline = self._make()
            except BaseException as e:  # given to a caller, not lost on this thread
                traceback.clear_frames(e.__traceback__)  # whose locals held the VM and context
                with self._changed:
                    self._failed_in_a_row += 1
                    # Made again at once the first time; then after 0.1 s, 0.2 s, … 30 s.
                    wait = (
                        0.0
                        if self._failed_in_a_row == 1
                        else min(0.05 * 2 ** (self._failed_in_a_row - 1), 30.0)
                    )
                    self._failures.append((e, time.monotonic() + wait))
                    self._changed.notify_all()
                return
            slot = _Slot(vm, ctx, baseline)
            with self._changed:
                self._failed_in_a_row = 0
                if not self._closed:
                    self._slots.append(slot)
                    self._changed.notify_all()
                    return
            ctx.tear_down()
            vm.tear_down()

        maker = threading.Thread(target=make, name="v8cffi-pool-maker", daemon=True)
        with self._makers_lock:  # started under it: wait_ready sees it alive or not at all
            self._makers = [t for t in self._makers if t.is_alive()]
            self._makers.append(maker)
            maker.start()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Waits until the VMs being made in the background are ready — replacements
        started meanwhile too; returns whether they all are (``False`` after ``timeout``
        seconds)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._makers_lock:
                makers = [maker for maker in self._makers if maker.is_alive()]
            if not makers:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            for maker in makers:
                maker.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def _usable(self) -> list[_Slot]:
        """The slots new calls may go to (neither lent nor broken). Under ``_changed``."""
        return [slot for slot in self._slots if not (slot.lent or slot.reserved or slot.broken)]

    def _retry_failures(self, serving: bool) -> BaseException | None:
        """Starts making again the VMs that could not be made — while other VMs are
        ``serving``, only those whose wait is over (a failure that repeats is retried
        less and less often, not at every call) — and returns the first error, if any.
        Under ``_changed`` (the makers take only ``_makers_lock``)."""
        if not self._failures:
            return None
        first = self._failures[0][0]
        now = time.monotonic()
        due = [f for f in self._failures if not serving or f[1] <= now]
        self._failures = [f for f in self._failures if serving and f[1] > now]
        for _ in due:
            self._make_in_background()
        return first

    def _wait(self, deadline: float | None, timeout: float | None) -> None:
        """Waits for a change, or raises once the pool is closed or the time is up."""
        if self._closed:
            raise V8LifecycleError("the pool is closed")
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise PoolTimeout(f"no VM of the pool became free within {timeout} s")
        self._changed.wait(left)

    def _take_for_call(self, timeout: float | None) -> _Slot:
        """The slot with the fewest calls in flight, with one more. Under ``_changed``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._closed:
                raise V8LifecycleError("the pool is closed")
            usable = self._usable()
            failure = self._retry_failures(serving=bool(usable))  # other VMs serve meanwhile
            if usable:
                best = min(usable, key=lambda slot: slot.calls)
                best.calls += 1
                return best
            if failure is not None:
                raise failure  # no VM at all: the caller learns why
            self._wait(deadline, timeout)

    def _take_to_lend(self, timeout: float | None) -> _Slot:
        """An idle slot, lent. While none is idle, the least busy one is reserved (no new
        call goes to it) until it, or another, is. Under ``_changed``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        reserved: _Slot | None = None
        try:
            while True:
                if self._closed:
                    raise V8LifecycleError("the pool is closed")
                if reserved is not None and reserved.broken:
                    reserved.reserved = False  # its last call settles it
                    reserved = None
                if reserved is not None and reserved.calls == 0:
                    chosen, reserved = reserved, None
                    chosen.reserved = False
                    chosen.lent = True
                    return chosen
                usable = self._usable()
                failure = self._retry_failures(serving=bool(usable))
                idle = [slot for slot in usable if slot.calls == 0]
                if idle:
                    idle[0].lent = True
                    return idle[0]
                if reserved is None:
                    if usable:
                        reserved = min(usable, key=lambda slot: slot.calls)
                        reserved.reserved = True
                    elif failure is not None:
                        raise failure
                self._wait(deadline, timeout)
        finally:
            if reserved is not None:  # given up (an error), or another one was idle first
                reserved.reserved = False
                self._changed.notify_all()

    @contextmanager
    def context(self, timeout: float | None = None) -> Iterator[Context]:
        """Lends a ready context for the ``with`` block alone, waiting at most
        ``timeout`` seconds for a VM with no call in flight (:class:`PoolTimeout` after
        that)."""
        with self._changed:
            slot = self._take_to_lend(timeout)
        try:
            yield slot.ctx
        finally:
            # A VM whose globals took most of its heap goes (the block may have caught
            # the V8MemoryError that said so).
            alive = slot.vm.is_alive() and slot.ctx.is_alive()
            usable = alive and _still_usable(slot)
            with self._changed:
                slot.lent = False
                slot.broken = slot.broken or not usable
                self._changed.notify_all()
            self._settle(slot)

    def call(self, function: str, *args: Any, timeout: float | None = None, wait: float | None = None) -> Any:
        """``ctx.call(function, *args, timeout=timeout)`` on the VM with the fewest
        calls in flight, waiting at most ``wait`` seconds while every VM is lent or not
        yet made."""
        changed = self._changed
        with changed:
            slot = self._take_for_call(wait)
        try:
            return slot.ctx.call(function, *args, timeout=timeout)
        except V8MemoryError:
            # Replaced if its globals hold most of the room it had (not for a value too
            # large to convert, which leaves the heap as it was).
            if not _still_usable(slot):
                slot.broken = True
            raise
        finally:
            with changed:
                slot.calls -= 1
                last = slot.calls == 0
                if last:
                    changed.notify_all()
            if last and (slot.broken or self._closed):
                self._settle(slot)

    def _settle(self, slot: _Slot) -> None:
        """Tears down a broken slot (replacing it) or, once the pool is closed, any
        slot, when nothing uses it any more."""
        with self._changed:
            if slot.calls or slot.lent or not (slot.broken or self._closed):
                return
            if slot not in self._slots:
                return  # settled already
            self._slots.remove(slot)
            replace = slot.broken and not self._closed
            if replace:
                self.replaced += 1
        for item in (slot.ctx, slot.vm):
            if item.is_alive():
                item.tear_down()
        if replace:
            self._make_in_background()  # the caller does not wait for it

    def close(self) -> None:
        """Tears down the idle VMs now, those in use when their calls end, and those
        being made when they are ready."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self.wait_ready()
        with self._changed:
            self._failures.clear()  # no caller will get them
        with self._changed:
            slots = list(self._slots)
        for slot in slots:
            self._settle(slot)

    def __enter__(self) -> VMPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _still_usable(slot: _Slot) -> bool:
    """Whether the slot's VM can run, its globals holding at most half of the room the
    VM had when it was ready (its baseline) once garbage is collected — the collection
    only when the heap looks fuller than that."""

    def room_left(stats: dict[str, int]) -> bool:
        grown = stats["used_heap_size"] - slot.baseline
        return grown * 2 <= stats["heap_size_limit"] - slot.baseline

    try:
        slot.ctx.run_script("0")
        stats = slot.vm.heap_stats()
        if room_left(stats):
            return True
        slot.vm.low_memory_notification()
        return room_left(slot.vm.heap_stats())
    except V8Error:
        return False
