"""The V8 platform: one per process, set up once, torn down once.

>>> from v8cffi.platform import platform
>>> with platform as p:                                   # doctest: +SKIP
...     with p.create_vm() as vm:
...         with vm.create_context() as ctx:
...             ctx.run_script('1 + 1')
'2'
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from types import TracebackType

from . import _native
from .exceptions import V8LifecycleError
from .vm import VM

__all__ = ["Platform", "platform"]


class Platform:
    """The process-wide V8 platform. Use the :data:`platform` singleton.

    V8 can be initialised once per process: after :meth:`tear_down`, :meth:`set_up`
    raises :class:`~v8cffi.exceptions.V8LifecycleError`. Tearing down while VMs are
    still alive is allowed; those VMs then raise on use, and V8 is released when the
    last of them is gone.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flags = ""

    def set_up(self, flags: str = "") -> Platform:
        """Initialises V8, optionally with V8 command-line ``flags`` (for example
        ``"--stack-size=500"``). Returns ``self``.

        Called on the main thread, it also makes Ctrl-C work during JavaScript (see
        :meth:`watch_sigint`).
        """
        encoded = _native.to_utf8(flags, "flags")
        with self._lock:
            _native.platform_set_up(encoded)
            self._flags = flags
        if threading.current_thread() is threading.main_thread():
            self.watch_sigint()
        return self

    def watch_sigint(self) -> None:
        """Makes Ctrl-C (SIGINT) stop the JavaScript that the calling thread runs, so
        that ``KeyboardInterrupt`` arrives within moments instead of when the script
        ends. :meth:`set_up` does this for the main thread; call it again after
        ``signal.signal(signal.SIGINT, ...)``, which replaces the native handler that
        this relies on."""
        _native.watch_sigint()

    def tear_down(self) -> Platform:
        """Releases V8 for good (it cannot be set up again). Returns ``self``."""
        with self._lock:
            _native.platform_tear_down()
        return self

    def is_alive(self) -> bool:
        """Whether the platform is set up and not torn down."""
        return _native.platform_is_alive()

    def create_snapshot(
        self, scripts: Sequence[str | bytes | tuple[str, str | bytes]], *, isolated: bool = True
    ) -> bytes:
        """Runs ``scripts`` (sources, or ``(name, source)`` pairs) in order in a fresh
        context and returns a snapshot of the heap they leave: VMs made with
        ``create_vm(snapshot=...)`` start every context with those globals, without
        running the scripts again. Save it to a file to reuse it in other processes of
        the same build and V8 flags.

        A snapshot keeps globals, functions and closures. ``Intl`` objects still
        reachable when the scripts end cannot be snapshotted (V8 would abort), and V8
        cannot make a snapshot while VMs are alive in the process, so by default the
        snapshot is made in a child process. ``isolated=False`` makes it here, faster,
        but only while no VM is alive (else :class:`~v8cffi.exceptions.V8LifecycleError`).
        A script that throws raises its :class:`~v8cffi.exceptions.V8JSError`.
        """
        from . import _snapshot

        pairs = _snapshot.normalize(scripts)
        if not self.is_alive():
            raise V8LifecycleError("the platform is not set up: call platform.set_up() first")
        if isolated:
            return _snapshot.create_in_child(pairs, self._flags)
        return _snapshot.create_here(pairs)

    def create_vm(
        self,
        *,
        max_heap_size: int | None = None,
        initial_heap_size: int | None = None,
        snapshot: bytes | None = None,
    ) -> VM:
        """A new :class:`~v8cffi.vm.VM` (set it up with ``set_up()`` or ``with``).

        ``max_heap_size`` (bytes) caps the VM's JavaScript heap: a call that needs
        more raises :class:`~v8cffi.exceptions.V8MemoryError` instead of V8 aborting
        the process, and ``ArrayBuffer`` contents (outside the heap) are capped at the
        same size (past it, a JavaScript ``RangeError``). ``initial_heap_size``
        presizes the heap. Both default to V8's own. ``snapshot`` (from
        :meth:`create_snapshot`) starts every context of the VM from it; one that does
        not check out raises
        :class:`~v8cffi.exceptions.V8ArgumentError` at ``set_up()``.
        """
        if not self.is_alive():
            raise V8LifecycleError(
                "the platform is not set up (or was torn down): call platform.set_up() first"
            )
        return VM(self, max_heap_size=max_heap_size, initial_heap_size=initial_heap_size, snapshot=snapshot)

    def __enter__(self) -> Platform:
        return self.set_up()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.tear_down()


#: The process-wide platform.
platform = Platform()
