"""VMs: one V8 isolate each, usable from any thread."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import _native
from ._handle import Handle
from .context import Context
from .exceptions import V8LifecycleError

if TYPE_CHECKING:
    from .platform import Platform

__all__ = ["VM"]


class VM:
    """A V8 isolate (about 1 MB) with its own heap. Create it with
    :meth:`Platform.create_vm() <v8cffi.platform.Platform.create_vm>`.

    Any thread may use a VM. Calls run on the calling thread with the GIL released:
    different VMs run in parallel, and threads sharing one VM take turns (a waiting
    thread also releases the GIL). A VM may be set up again after :meth:`tear_down`;
    its old contexts stay torn down.
    """

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._lock = threading.Lock()
        self._handle: Handle | None = None

    def set_up(self) -> VM:
        """Creates the isolate. Returns ``self``."""
        with self._lock:
            if self._handle is not None and not self._handle.closed:
                raise V8LifecycleError("the VM is already set up")
            out = _native.ffi.new("v8rs_vm **")
            _native.call(_native.lib.v8rs_vm_new, out)
            self._handle = Handle(out[0], _native.lib.v8rs_vm_free)
        return self

    def tear_down(self) -> VM:
        """Frees the isolate; its contexts raise on use from now on. Returns ``self``."""
        with self._lock:
            if self._handle is None or not self._handle.close():
                raise V8LifecycleError("the VM is not set up (or already torn down)")
        return self

    def is_alive(self) -> bool:
        """Whether the VM is set up and not torn down."""
        handle = self._handle
        return handle is not None and not handle.closed

    def create_context(self) -> Context:
        """A new :class:`~v8cffi.context.Context` (a fresh global scope) in this VM.
        It is set up on first use, by ``set_up()`` or by ``with``."""
        if not self.is_alive():
            raise V8LifecycleError("the VM is not set up (or was torn down): call vm.set_up() first")
        return Context(self)

    def _borrow(self) -> tuple[Handle, Any]:
        """The live handle and its pointer, for one call (give the handle back)."""
        handle = self._handle
        ptr = handle.borrow() if handle is not None else None
        if handle is None or ptr is None:
            raise V8LifecycleError("the VM is not set up (or was torn down)")
        return handle, ptr

    def __enter__(self) -> VM:
        return self.set_up()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.tear_down()
