"""Contexts: JavaScript global scopes that persist between calls."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Union

from . import _native
from ._handle import Handle
from .exceptions import V8LifecycleError

if TYPE_CHECKING:
    from .vm import VM

__all__ = ["Context"]

StrPath = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

_ANONYMOUS = b"<anonymous>"


def _timeout_ms(timeout: float) -> int:
    """Seconds to whole milliseconds, at least 1 (0 would mean no timeout)."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    return max(1, math.ceil(timeout * 1000))


class Context:
    """A global scope in a :class:`~v8cffi.vm.VM`; globals persist between calls, and
    contexts do not see each other's globals. Create it with
    :meth:`VM.create_context() <v8cffi.vm.VM.create_context>`.

    A new context is set up by :meth:`set_up`, by ``with``, or by its first
    :meth:`run_script` / :meth:`load_libs` — whichever comes first. After
    :meth:`tear_down` it raises on use until set up again (with a fresh scope).
    """

    def __init__(self, vm: VM) -> None:
        self._vm = vm
        self._lock = threading.Lock()
        self._handle: Handle | None = None

    def set_up(self) -> Context:
        """Creates the global scope. Returns ``self``."""
        with self._lock:
            if self._handle is not None and not self._handle.closed:
                raise V8LifecycleError("the context is already set up")
            self._create()
        return self

    def _create(self) -> None:
        vm_handle, vm_ptr = self._vm._borrow()
        try:
            out = _native.ffi.new("v8rs_context **")
            _native.call(_native.lib.v8rs_context_new, vm_ptr, out)
        finally:
            vm_handle.give_back()
        self._handle = Handle(out[0], _native.lib.v8rs_context_free)

    def tear_down(self) -> Context:
        """Frees the global scope. Returns ``self``."""
        with self._lock:
            if self._handle is None or not self._handle.close():
                raise V8LifecycleError("the context is not set up (or already torn down)")
        return self

    def is_alive(self) -> bool:
        """Whether the context is set up and not torn down."""
        handle = self._handle
        return handle is not None and not handle.closed

    def _borrow(self) -> tuple[Handle, Any]:
        """The live handle and its pointer, for one call (give the handle back);
        sets the context up on first use."""
        handle = self._handle
        if handle is None:
            with self._lock:
                if self._handle is None:
                    self._create()
                handle = self._handle
        ptr = handle.borrow() if handle is not None else None
        if handle is None or ptr is None:
            raise V8LifecycleError("the context was torn down")
        return handle, ptr

    def run_script(
        self,
        script: str | bytes,
        identifier: str | bytes = "<anonymous>",
        *,
        timeout: float | None = None,
    ) -> str:
        """Compiles and runs ``script`` (``str``, or UTF-8 ``bytes``) under the script
        name ``identifier``, and returns ``String(result)``.

        Raises :class:`~v8cffi.exceptions.V8JSError` when the script throws or does
        not compile (``str(e)`` is the trace text). With ``timeout`` (seconds), a
        script still running after that long is stopped with
        :class:`~v8cffi.exceptions.V8TimeoutError`; the clock starts once the call has
        the VM. The context stays usable.
        """
        source = script if type(script) is bytes else _native.to_utf8(script, "script")
        name = _ANONYMOUS if identifier == "<anonymous>" else _native.to_utf8(identifier, "identifier")
        timeout_ms = 0 if timeout is None else _timeout_ms(timeout)
        lib, scratch = _native.lib, _native.scratch
        out, out_len, error = scratch.string, scratch.length, scratch.error
        handle, ptr = self._borrow()
        try:
            code = lib.v8rs_run_script(
                ptr, source, len(source), name, len(name), timeout_ms, out, out_len, error
            )
        finally:
            handle.give_back()
        if code:
            _native.raise_error(code, error[0])
        result = out[0]
        try:
            return _native.read_bytes(result, out_len[0]).decode("utf-8")
        finally:
            lib.v8rs_string_free(result)

    def load_libs(self, scripts_paths: Iterable[StrPath]) -> None:
        """Reads each file (UTF-8) and runs it, in order, with its path as the script
        name. Raises :class:`~v8cffi.exceptions.V8IOError` (an :class:`OSError`) for
        a file that cannot be read, and :class:`~v8cffi.exceptions.V8JSError` when a
        script throws.
        """
        if isinstance(scripts_paths, (str, bytes, os.PathLike)):
            raise TypeError("scripts_paths must be a list of paths, not a single path")
        paths = [os.fsencode(p) for p in scripts_paths]
        for p in paths:
            if b"\0" in p:
                raise ValueError(f"path contains a NUL byte: {p!r}")
        ffi, lib = _native.ffi, _native.lib
        keep = [ffi.new("char[]", p) for p in paths]
        array = ffi.new("const char *[]", keep) if keep else ffi.NULL
        handle, ptr = self._borrow()
        try:
            _native.call(lib.v8rs_load_libs, ptr, array, len(keep))
        finally:
            handle.give_back()

    def __enter__(self) -> Context:
        if not self.is_alive():
            self.set_up()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.tear_down()
