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

from . import _native, vm
from ._snapshot import Snapshot
from .exceptions import V8LifecycleError

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
        self._next_flags = ""
        self._alive = False
        self._dead = False
        #: Accepted for v8-cffi's sake and ignored: V8 has had no natives blob since
        #: version 7 (its JavaScript builtins are compiled into the library).
        self.natives_path: str | None = None
        #: A v8rs snapshot file (made by :meth:`create_snapshot`) that every VM of
        #: :meth:`create_vm` starts from unless given its own ``snapshot``; ``None`` (the
        #: default) for V8's own start-up state. v8-cffi's ``snapshot_blob.bin`` has no
        #: equivalent: that one was V8's built-in snapshot, now inside the library.
        self.snapshot_path: str | None = None

    @property
    def _is_dead(self) -> bool:
        """Whether it was torn down (for good), as v8-cffi's attribute said."""
        return self._dead

    def set_up(self, flags: str = "") -> Platform:
        """Initialises V8, optionally with V8 command-line ``flags`` (for example
        ``"--stack-size=500"``), by calling :meth:`__enter__` (as v8-cffi did); returns
        what it returns (``self``).

        Called on the main thread, it also makes Ctrl-C work during JavaScript (see
        :meth:`watch_sigint`).
        """
        self._next_flags = flags
        return self.__enter__()

    def __enter__(self) -> Platform:
        """Initialises V8 (with the flags given to :meth:`set_up`, if any). Returns
        ``self``."""
        flags, self._next_flags = self._next_flags, ""
        encoded = _native.to_utf8(flags, "flags")
        with self._lock:
            _native.platform_set_up(encoded)
            self._flags = flags
            self._alive = True
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

    def tear_down(self) -> None:
        """Releases V8 for good (it cannot be set up again), by calling
        :meth:`__exit__` (as v8-cffi did)."""
        return self.__exit__()

    def __exit__(self, *_: object, **__: object) -> None:
        """Releases V8 for good; also callable without arguments, as in v8-cffi."""
        with self._lock:
            _native.platform_tear_down()
            self._alive = False
            self._dead = True

    def is_alive(self) -> bool:
        """Whether this platform is set up and not torn down."""
        return self._alive and _native.platform_is_alive()

    def create_snapshot(
        self,
        scripts: Sequence[str | bytes | tuple[str, str | bytes]],
        *,
        warmup: Sequence[str | bytes | tuple[str, str | bytes]] = (),
        isolated: bool = True,
    ) -> bytes:
        """Runs ``scripts`` (sources, or ``(name, source)`` pairs) in order in a fresh
        context with every web API and returns a snapshot of the heap they leave: VMs
        made with ``create_vm(snapshot=...)`` start every context with those globals,
        without running the scripts again. Save it to a file to reuse it in other
        processes of the same build and V8 flags.

        ``warmup`` scripts run after them in a throwaway copy of the context, only to
        compile what they call (a render, say): the snapshot keeps that compiled code,
        and none of their changes, so VMs from it run those functions at once.

        A snapshot keeps globals, functions and closures. ``Intl`` objects still
        reachable when the scripts end cannot be snapshotted (V8 would abort the
        process), so by default the snapshot is made in a child process.
        ``isolated=False`` makes it here, faster, when you know the scripts are clean
        (also while VMs are alive). A script that throws raises its
        :class:`~v8cffi.exceptions.V8JSError`.
        """
        from . import _snapshot

        pairs = _snapshot.normalize(scripts) + _snapshot.normalize(warmup, "warmup")
        if not self.is_alive():
            raise V8LifecycleError("the platform is not set up: call platform.set_up() first")
        if isolated:
            return _snapshot.create_in_child(pairs, self._flags, len(warmup))
        return _snapshot.create_here(pairs, len(warmup))

    def create_vm(
        self,
        *,
        max_heap_size: int | None = None,
        initial_heap_size: int | None = None,
        snapshot: bytes | Snapshot | None = None,
    ) -> vm.VM:
        """A new :class:`~v8cffi.vm.VM` (set it up with ``set_up()`` or ``with``, once the
        platform is set up).

        ``max_heap_size`` (bytes) caps the VM's JavaScript heap: a call that needs
        more raises :class:`~v8cffi.exceptions.V8MemoryError` instead of V8 aborting
        the process, and ``ArrayBuffer`` contents (outside the heap) are capped at the
        same size (past it, a JavaScript ``RangeError``). ``initial_heap_size``
        presizes the heap. Both default to V8's own. ``snapshot`` (from
        :meth:`create_snapshot`, as bytes or a :class:`~v8cffi.Snapshot`) starts every
        context of the VM from it (default: the file at :attr:`snapshot_path`, if set);
        one that does not check out raises :class:`~v8cffi.exceptions.V8ArgumentError`
        at ``set_up()``.
        """
        if max_heap_size is None and initial_heap_size is None and snapshot is None:
            return vm.VM(self)  # as v8-cffi called it
        return vm.VM(
            self, max_heap_size=max_heap_size, initial_heap_size=initial_heap_size, snapshot=snapshot
        )


#: v8-cffi's name of the class (``from v8cffi.platform import _Platform``).
_Platform = Platform

#: The process-wide platform.
platform = Platform()
