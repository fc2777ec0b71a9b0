"""The lifecycle shared by VMs and contexts: one native handle, set up and torn down."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, TypeVar

from .exceptions import V8LifecycleError

_M = TypeVar("_M", bound="Managed")


class Managed:
    """Owns at most one native handle at a time.

    The handle frees itself when the last Python reference to it goes (``_native``
    wraps every handle with ``ffi.gc``): :meth:`tear_down` drops this object's
    reference (later calls raise at once), while a call still running on another
    thread keeps the handle alive until it returns — and the library keeps what that
    call uses alive too. The garbage collector frees handles that were never torn
    down, in any order.
    """

    _what = "object"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ptr: Any = None

    def _check_not_set_up(self) -> None:
        if self._ptr is not None:
            raise V8LifecycleError(f"the {self._what} is already set up")

    def is_alive(self) -> bool:
        """Whether it is set up and not torn down."""
        return self._ptr is not None

    def tear_down(self: _M) -> _M:
        """Frees the native side (for a VM, its contexts raise on use from then on).
        Returns ``self``."""
        with self._lock:
            if self._ptr is None:
                raise V8LifecycleError(f"the {self._what} is not set up (or already torn down)")
            self._ptr = None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.tear_down()
