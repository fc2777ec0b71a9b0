"""One platform, one VM and one global context for the whole process.

>>> from v8cffi import shortcuts
>>> shortcuts.set_up()                                       # doctest: +SKIP
>>> shortcuts.get_context().run_script('"hola " + "mundo"')  # doctest: +SKIP
'hola mundo'

:func:`set_up` registers :func:`_tear_down` to run at exit (context, then VM, then
platform), and :func:`get_context` works from any thread. As in v8-cffi, the state is
the module's ``_context`` (``None`` until set up), which keeps its VM as ``_vm``.
"""

from __future__ import annotations

import atexit
import threading

from .context import Context
from .exceptions import V8LifecycleError
from .platform import platform

__all__ = ["get_context", "set_up", "tear_down"]

_lock = threading.Lock()
_context: Context | None = None


def set_up(flags: str = "") -> None:
    """Sets up the platform (with optional V8 ``flags``), a VM and the global
    context. Raises :class:`~v8cffi.exceptions.V8LifecycleError` when called twice."""
    global _context
    with _lock:
        if _context is not None:
            raise V8LifecycleError("shortcuts.set_up() must only be called once in an application's lifetime")
        platform.set_up(flags)
        vm = platform.create_vm()
        vm.set_up()
        context = vm.create_context()
        context.set_up()
        _context = context
    atexit.register(_tear_down)


def get_context() -> Context:
    """The global context, from any thread."""
    context = _context
    if context is None:
        raise V8LifecycleError("there is no global context: did you call v8cffi.shortcuts.set_up()?")
    return context


def tear_down() -> None:
    """Tears down the global context, its VM and the platform (it runs by itself at
    exit; call it only to release V8 earlier). V8 cannot be set up again afterwards."""
    global _context
    with _lock:
        context, _context = _context, None
        if context is None:
            raise V8LifecycleError("shortcuts are not set up")
        context.tear_down()
        context.vm.tear_down()
        platform.tear_down()


def _tear_down() -> None:
    """The exit handler: :func:`tear_down`, unless that ran already."""
    if _context is not None:
        tear_down()
