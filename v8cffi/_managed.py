"""The lifecycle shared by VMs and contexts: one native handle, set up and torn down."""

from __future__ import annotations

import threading
from typing import Any

from .exceptions import V8LifecycleError


class Managed:
    """Owns at most one native handle at a time.

    The handle frees itself when the last Python reference to it goes (``_native``
    wraps every handle with ``ffi.gc``): :meth:`tear_down` closes the native side (later
    calls on it fail at once, on CPython and PyPy alike) and drops this object's
    reference, while a call still running on another thread finishes — the library
    keeps what that call uses alive. The garbage collector frees handles that were never
    torn down, in any order.
    """

    _what = "object"

    @staticmethod
    def _close_native(ptr: Any) -> None:
        """Closes the native handle ``ptr`` (it is freed later, with its last
        reference)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ptr: Any = None

    def _check_not_set_up(self) -> None:
        if self._ptr is not None:
            raise V8LifecycleError(f"the {self._what} is already set up")

    def is_alive(self) -> bool:
        """Whether it is set up and not torn down."""
        return self._ptr is not None

    def tear_down(self) -> None:
        """Frees the native side (for a VM, its contexts raise on use from then on), by
        calling :meth:`__exit__`, as v8-cffi did."""
        return self.__exit__()

    def __exit__(self, *_: object, **__: object) -> None:
        """Frees the native side; also callable without arguments, as in v8-cffi."""
        with self._lock:
            ptr, self._ptr = self._ptr, None
            if ptr is None:
                raise V8LifecycleError(f"the {self._what} is not set up (or already torn down)")
            self._close_native(ptr)
