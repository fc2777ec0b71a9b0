"""DevTools inspectors: debug a VM's JavaScript with Chrome, VS Code or ``node inspect``.

Start one with :meth:`VM.start_inspector() <v8cffi.vm.VM.start_inspector>`. Anyone who can
connect to an inspector can run any code in its VM (and, through exposed functions, in
Python): it listens on ``127.0.0.1`` unless told otherwise. See ``docs/debugging.md``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from . import _native
from .exceptions import V8LifecycleError

__all__ = ["Inspector"]

#: How long one native wait lasts, so that Ctrl-C is seen between waits (seconds).
_SLICE = 0.2


def _waits(timeout: float | None) -> Any:
    """Yields the milliseconds of each native wait slice until ``timeout`` is up."""
    if timeout is not None and not timeout >= 0:  # NaN too (it waited for good)
        raise ValueError(f"timeout must be None or a non-negative number, not {timeout!r}")
    end = None if timeout is None else time.monotonic() + timeout
    while True:
        step = _SLICE if end is None else min(_SLICE, end - time.monotonic())
        if step <= 0:
            return
        yield max(1, int(step * 1000))


class Inspector:
    """A DevTools inspector serving one VM: the Chrome DevTools Protocol over a
    WebSocket (:attr:`url`), with Node's ``/json/list`` and ``/json/version``, so that
    ``chrome://inspect``, VS Code (``{"type": "node", "request": "attach"}``) and
    ``node inspect host:port`` attach to it unchanged.

    Calls go on as usual while it runs; breakpoints pause them (a call's timeout does
    not run while it is paused in the debugger). Stopping it, or closing its VM, resumes
    paused JavaScript. Use it as a context manager, or call :meth:`stop`.
    """

    def __init__(self, vm: object, ptr: Any, host: str) -> None:
        self._vm = vm
        #: The VM's native handle when this started: a VM set up again is a new isolate.
        self._vm_handle = getattr(vm, "_ptr", None)
        self._ptr: Any = ptr
        self._lock = threading.Lock()
        self.host: str = host
        """The host it listens on."""
        self.url: str = _native.inspector_url(ptr)
        """The WebSocket URL clients connect to, ``ws://host:port/<uuid>``."""
        self.port: int = _native.inspector_port(ptr)
        """The port it listens on (the one picked when started with port 0)."""

    def __repr__(self) -> str:
        state = "running" if self.is_alive() else "stopped"
        return f"<Inspector {self.url} {state}>"

    def _live(self) -> Any:
        ptr = self._ptr
        if ptr is None:
            raise V8LifecycleError("the inspector was stopped")
        return ptr

    def wait_for_client(self, timeout: float | None = None, *, break_on_start: bool = False) -> bool:
        """Waits until a debugger client is ready — it sent
        ``Runtime.runIfWaitingForDebugger``, as DevTools, VS Code and ``node inspect``
        do once attached — at most ``timeout`` seconds (``None``: no limit). Returns
        whether one is. With ``break_on_start``, the VM's JavaScript then pauses before
        its next statement (Node's ``--inspect-brk``). Must not be called from a Python
        function that JavaScript called."""
        ptr = self._live()
        for ms in _waits(timeout):
            if _native.inspector_wait_for_client(ptr, ms, break_on_start):
                return True
        return False

    @property
    def has_client(self) -> bool:
        """Whether a debugger client is connected now."""
        ptr = self._ptr
        return ptr is not None and _native.inspector_has_client(ptr)

    def wait_for_disconnect(self, timeout: float | None = None) -> bool:
        """Waits until no debugger client is connected, at most ``timeout`` seconds
        (``None``: no limit); returns whether none is."""
        ptr = self._live()
        for ms in _waits(timeout):
            if _native.inspector_wait_for_disconnect(ptr, ms):
                return True
        return not _native.inspector_has_client(ptr)

    def stop(self) -> None:
        """Stops serving: closes the listener and the client's connection and resumes
        JavaScript paused in the debugger (it waits for a call running on another
        thread). Idempotent."""
        with self._lock:
            ptr, self._ptr = self._ptr, None
        if ptr is not None:
            _native.inspector_stop(ptr)

    def is_alive(self) -> bool:
        """Whether it is still serving: not stopped, and its VM not torn down (nor set up
        again since: a new isolate, which this does not serve)."""
        handle = self._vm_handle
        return self._ptr is not None and (handle is None or getattr(self._vm, "_ptr", None) is handle)

    def __enter__(self) -> Inspector:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
