"""One platform, one VM and one global context for the whole process.

>>> from v8cffi import shortcuts
>>> shortcuts.set_up()                                       # doctest: +SKIP
>>> shortcuts.get_context().run_script('"hola " + "mundo"')  # doctest: +SKIP
'hola mundo'

:func:`set_up` registers :func:`tear_down` to run at exit (context, then VM, then
platform), and :func:`get_context` works from any thread.
"""

from __future__ import annotations

import atexit
import threading

from .context import Context
from .exceptions import V8LifecycleError
from .platform import platform
from .vm import VM

__all__ = ["get_context", "set_up", "tear_down"]

_lock = threading.Lock()
_vm: VM | None = None
_context: Context | None = None
_used = False


def set_up(flags: str = "") -> None:
    """Sets up the platform (with optional V8 ``flags``), a VM and the global
    context. Raises :class:`~v8cffi.exceptions.V8LifecycleError` when called twice."""
    global _vm, _context, _used
    with _lock:
        if _used:
            raise V8LifecycleError("shortcuts.set_up() was already called in this process")
        platform.set_up(flags)
        _used = True
        _vm = platform.create_vm().set_up()
        _context = _vm.create_context().set_up()
    atexit.register(_tear_down_at_exit)


def get_context() -> Context:
    """The global context, from any thread."""
    context = _context
    if context is None:
        raise V8LifecycleError(
            "there is no global context: call v8cffi.shortcuts.set_up() first"
            if not _used
            else "the global context was torn down"
        )
    return context


def tear_down() -> None:
    """Tears down the global context, its VM and the platform (it runs by itself at
    exit; call it only to release V8 earlier). V8 cannot be set up again afterwards."""
    global _vm, _context
    with _lock:
        if _context is None or _vm is None:
            raise V8LifecycleError("shortcuts are not set up")
        context, vm, _context, _vm = _context, _vm, None, None
        context.tear_down()
        vm.tear_down()
        platform.tear_down()


def _tear_down_at_exit() -> None:
    if _context is not None:
        tear_down()
