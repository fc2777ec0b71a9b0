"""Ownership of one native handle, shared by the VM and Context objects."""

from __future__ import annotations

import threading
from typing import Any, Callable

from ._native import ffi


class Handle:
    """Owns a native handle and frees it exactly once.

    Calls :meth:`borrow` the handle for their duration; :meth:`close` marks it closed
    at once (new borrows fail) but frees it only after the last borrow ends, so a
    tear-down racing a call on another thread is never a use-after-free. If the
    owner is garbage-collected without closing, ``ffi.gc`` frees the handle.
    """

    __slots__ = ("_borrows", "_closed", "_lock", "_ptr")

    def __init__(self, ptr: Any, free: Callable[[Any], None]) -> None:
        self._ptr = ffi.gc(ptr, free)
        self._lock = threading.Lock()
        self._borrows = 0
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def borrow(self) -> Any:
        """The pointer, for one call; pair with :meth:`give_back`. Returns ``None``
        when the handle is closed."""
        lock = self._lock
        lock.acquire()
        try:
            if self._closed:
                return None
            self._borrows += 1
            return self._ptr
        finally:
            lock.release()

    def give_back(self) -> None:
        """Ends a borrow; frees the handle if it was closed meanwhile."""
        lock = self._lock
        lock.acquire()
        try:
            self._borrows -= 1
            if self._closed and self._borrows == 0:
                ffi.release(self._ptr)
        finally:
            lock.release()

    def close(self) -> bool:
        """Closes the handle (idempotent); returns whether this call closed it."""
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            if self._borrows == 0:
                ffi.release(self._ptr)
            return True
