"""VMs: one V8 isolate each, usable from any thread."""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import _console, _native, _snapshot, context
from ._managed import Managed
from .exceptions import V8LifecycleError
from .inspector import Inspector
from .node import node_options
from .web import feature_mask

if TYPE_CHECKING:
    from .platform import Platform

__all__ = ["VM"]

#: The numbers of the VMs' console handlers (see ``_native.console_handlers``).
_console_keys = itertools.count(1)


def _size(value: int | None, name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative number of bytes, not {value!r}")
    return value


class VM(Managed):
    """A V8 isolate (about 1 MB) with its own heap. Create it with
    :meth:`Platform.create_vm() <v8cffi.platform.Platform.create_vm>`.

    Any thread may use a VM. Calls run on the calling thread with the GIL released:
    different VMs run in parallel, and threads sharing one VM take turns (a waiting
    thread also releases the GIL). A VM may be set up again after :meth:`tear_down`;
    its old contexts stay torn down.
    """

    _what = "VM"

    @staticmethod
    def _close_native(ptr: Any) -> None:
        _native.vm_close(ptr)

    def __init__(
        self,
        platform: Platform,
        *,
        max_heap_size: int | None = None,
        initial_heap_size: int | None = None,
        snapshot: bytes | _snapshot.Snapshot | None = None,
    ) -> None:
        super().__init__()
        self._platform = platform
        if snapshot is not None:
            _snapshot.check_kind(snapshot)
        self._snapshot = snapshot
        self._initial_heap_size = _size(initial_heap_size, "initial_heap_size")
        self._max_heap_size = _size(max_heap_size, "max_heap_size")
        self._console: Callable[[str, str], None] = _console.log
        self._console_key = next(_console_keys)
        _native.console_handlers[self._console_key] = weakref.WeakMethod(self._console_handler)
        weakref.finalize(self, _native.console_handlers.pop, self._console_key, None)

    def set_up(self) -> VM:
        """Creates the isolate, by calling :meth:`__enter__` (as v8-cffi did); returns
        what it returns (``self``)."""
        return self.__enter__()

    def __enter__(self) -> VM:
        """Creates the isolate. Returns ``self``."""
        with self._lock:
            self._check_not_set_up()
            if not self._platform.is_alive():
                raise V8LifecycleError("the platform is not set up (or was torn down)")
            snapshot = None
            if self._snapshot is not None:
                snapshot = _snapshot.opened(self._snapshot)
            elif self._platform.snapshot_path is not None:
                snapshot = _snapshot.opened_file(self._platform.snapshot_path)
            handle = _snapshot.handle(snapshot) if snapshot is not None else None
            self._ptr = _native.vm_new(self._initial_heap_size, self._max_heap_size, handle)
            _native.vm_set_console(self._ptr, self._console_key)
        return self

    def set_console(self, handler: Callable[[str, str], None] | None) -> None:
        """Sends the ``console.*`` output of this VM's contexts to ``handler(level,
        text)`` (``level``: ``"debug"``, ``"log"``, ``"info"``, ``"warn"`` or
        ``"error"``; ``text``: what Node would print, without the final newline);
        ``None`` restores the default, the ``"v8cffi.console"`` logger (``log`` and
        ``info`` at INFO, ``debug`` at DEBUG, ``warn`` at WARNING, ``error`` at ERROR).
        It runs on the thread making the call, holding the GIL; it must not call into
        this VM. Kept across :meth:`tear_down` and ``set_up`` again."""
        if handler is not None and not callable(handler):
            raise TypeError(f"the console handler must be callable, not {handler!r}")
        self._console = handler if handler is not None else _console.log

    def _console_handler(self) -> Callable[[str, str], None]:
        """The console handler (for ``_native``'s callback, through a weak reference)."""
        return self._console

    def create_context(
        self,
        *,
        web: bool | Iterable[str] = True,
        dom: bool = False,
        node: bool | Mapping[str, Any] = False,
        fetch: Callable[[Any], Any] | None = None,
        allow: Iterable[str] | None = None,
    ) -> context.Context:
        """A new :class:`~v8cffi.context.Context` (a fresh global scope) in this VM.
        It is set up on first use, by ``set_up()`` or by ``with``; the VM must be set up
        by then.

        ``web``: the web APIs it gets (:mod:`v8cffi.web`) — ``True`` for all (timers,
        ``TextEncoder``, ``URL``, streams…), ``False`` for a bare V8 context, or a
        collection of names from :data:`~v8cffi.web.WEB_FEATURES`.

        ``dom``: ``True`` adds a server-side DOM (``window``, ``document``,
        ``DOMParser``, elements, events… from linkedom, loaded on first use; no layout,
        no resource loading: ``docs/web-apis.md``).

        ``node``: Node's basics (:mod:`v8cffi.node`) — ``True`` for ``process``,
        ``Buffer``, ``global``, ``setImmediate`` and the built-in modules of
        ``require``; or ``{"modules": folder, "env": {...}}`` to ``require`` packages
        from that project folder (reads never leave it) and give ``process.env``.

        ``fetch`` and ``allow``: the context's network for JavaScript's ``fetch``, as
        :meth:`Context.set_fetch <v8cffi.context.Context.set_fetch>` gives it; without
        them it has none."""
        options = node_options(node)
        if web is True and not dom and options is None and fetch is None and allow is None:
            return context.Context(self)
        return context.Context(self, feature_mask(web, dom=dom), options, fetch=fetch, allow=allow)

    def start_inspector(
        self,
        host: str = "127.0.0.1",
        port: int = 9229,
        *,
        wait: bool = False,
        break_on_start: bool = False,
    ) -> Inspector:
        """Starts a DevTools :class:`~v8cffi.inspector.Inspector` for this VM on
        ``host:port`` (port 0: a free one; :attr:`Inspector.url
        <v8cffi.inspector.Inspector.url>` says which). With ``wait``, returns once a
        debugger client is attached and ready; ``break_on_start`` (which implies
        ``wait``) also pauses before the next statement the VM runs, like Node's
        ``--inspect-brk``.

        Anyone who can reach the port can run any code in this VM and in the Python
        functions it exposes: keep the default ``127.0.0.1`` unless the network is
        yours. Raises :class:`~v8cffi.exceptions.V8LifecycleError` when the VM has an
        inspector already, :class:`~v8cffi.exceptions.V8ArgumentError` for a host that
        does not resolve, :class:`~v8cffi.exceptions.V8IOError` (an ``OSError``) when
        the address cannot be listened on, and ``ValueError`` for a bad port."""
        if not isinstance(host, str) or not host:
            raise ValueError(f"host must be a non-empty string, not {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be a number from 0 to 65535, not {port!r}")
        ptr = _native.inspector_start(self._live_ptr(), _native.to_utf8(host, "host"), port)
        inspector = Inspector(self, ptr, host)
        if wait or break_on_start:
            try:
                inspector.wait_for_client(break_on_start=break_on_start)
            except BaseException:
                inspector.stop()
                raise
        return inspector

    def terminate(self) -> bool:
        """Stops the JavaScript running in this VM right now, from any thread: that
        call raises :class:`~v8cffi.exceptions.V8TerminatedError`, and the VM stays
        usable. Returns whether a call was running (a VM with nothing running is
        unaffected). It does not wait for the VM."""
        return _native.vm_terminate(self._live_ptr())

    def heap_stats(self) -> dict[str, int]:
        """The VM's heap figures in bytes: ``total_heap_size``, ``used_heap_size``,
        ``heap_size_limit``, ``total_physical_size``, ``total_available_size``,
        ``total_heap_size_executable``, ``malloced_memory``, ``peak_malloced_memory``,
        ``external_memory``, and the counts ``number_of_native_contexts`` and
        ``number_of_detached_contexts``. Waits for the VM like any call."""
        return _native.vm_heap_stats(self._live_ptr())

    def low_memory_notification(self) -> None:
        """Asks V8 to free all the memory it can (a full, compacting collection)."""
        _native.vm_low_memory_notification(self._live_ptr())

    def _live_ptr(self) -> Any:
        """The native VM, for one call (the local reference keeps it alive)."""
        ptr = self._ptr
        if ptr is None:
            raise V8LifecycleError("the VM is not set up (or was torn down)")
        return ptr
