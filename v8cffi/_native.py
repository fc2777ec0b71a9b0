"""The cffi glue: declarations, loading ``libv8rs.so``, and the one call wrapper.

This is the only module that talks to the C ABI. It uses cffi in ABI mode
(``ffi.dlopen``): no compiler is needed, and cffi releases the GIL around every call,
so JavaScript runs while other Python threads keep going. The declarations are parsed
ahead of time into ``_ffi.py`` (cffi's out-of-line ABI mode, see ``_ffi_build.py``),
which keeps pycparser and the parsing out of ``import v8cffi``.
"""

from __future__ import annotations

import glob
import os
import threading
from typing import Any, Callable, NoReturn

from . import exceptions
from ._ffi import ffi as ffi

#: Environment variable naming the library to load instead of the bundled one.
LIBRARY_ENV = "V8CFFI_LIBRARY"

_here = os.path.dirname(os.path.abspath(__file__))


def candidate_paths() -> list[str]:
    """Where the library is looked for, in order: ``$V8CFFI_LIBRARY``, the copy
    bundled in this package, and a cargo build next to a source checkout."""
    override = os.environ.get(LIBRARY_ENV)
    if override:
        return [override]
    bundled = sorted(glob.glob(os.path.join(_here, "libv8rs*.so")))
    checkout = os.path.join(os.path.dirname(_here), "target", "release", "libv8rs.so")
    return [*bundled, checkout]


def _load() -> Any:
    tried = []
    for path in candidate_paths():
        if not os.path.exists(path):
            tried.append(f"{path} (not found)")
            continue
        try:
            return ffi.dlopen(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
    raise ImportError(
        "cannot load libv8rs.so; tried:\n  "
        + "\n  ".join(tried)
        + f"\nInstall v8cffi with pip, or point ${LIBRARY_ENV} at libv8rs.so."
    )


lib: Any = _load()


#: Bytes of the per-thread buffer that small results are written into.
RESULT_BUFFER = 4096


class Scratch(threading.local):
    """Out-params reused by every call on one thread (allocating them per call
    costs more than the call itself). The library writes them only during a call,
    and a thread makes one call at a time."""

    def __init__(self) -> None:
        self.error = ffi.new("v8rs_error **")
        self.string = ffi.new("char **")
        self.length = ffi.new("size_t *")
        #: ``(string, length, error)`` in one attribute lookup, for the hot path.
        self.out = (self.string, self.length, self.error)
        #: A result buffer that small results are written into (no malloc, no free).
        self.buffer = ffi.new(f"char[{RESULT_BUFFER}]")
        #: Everything ``run_script`` needs, in one attribute lookup.
        self.run = (self.buffer, RESULT_BUFFER, self.length, self.string, self.error)


scratch = Scratch()


class HostErrors(threading.local):
    """The Python exception a host function raised on this thread, to raise again if
    JavaScript does not catch the error it became."""

    def __init__(self) -> None:
        self.last: tuple[str, BaseException] | None = None


host_errors = HostErrors()


def call(fn: Callable[..., int], *args: Any) -> None:
    """Calls the fallible C function ``fn(*args, error_out)`` and raises the
    matching :class:`~v8cffi.exceptions.V8Error` when it fails."""
    slot = scratch.error
    code = fn(*args, slot)
    if code:
        raise_error(code, slot[0])


def read_bytes(ptr: Any, length: int) -> bytes:
    """Copies ``length`` bytes from a ``char *`` (NUL bytes included).

    ``ffi.unpack`` of a ``char *`` gives ``bytes``."""
    data: bytes = ffi.unpack(ptr, length)  # type: ignore[assignment]
    return data


def c_string(ptr: Any) -> str:
    """Decodes a NUL-terminated UTF-8 ``char *``."""
    data = ffi.string(ptr)
    return data.decode("utf-8") if isinstance(data, bytes) else data


def _text(getter: Callable[..., Any], error: Any, length: Any) -> str | None:
    ptr = getter(error, length)
    if ptr == ffi.NULL:
        return None
    return read_bytes(ptr, length[0]).decode("utf-8", "replace")


def _number(value: int) -> int | None:
    return None if value < 0 else int(value)


def raise_error(code: int, error: Any) -> NoReturn:
    """Raises the exception for ``code``, built from (and freeing) ``error``."""
    try:
        cls = exceptions.get_exception(code) or exceptions.V8UnknownError
        if error == ffi.NULL:
            raise cls(f"v8rs call failed with code {code}")
        length = ffi.new("size_t *")
        message = _text(lib.v8rs_error_message, error, length) or ""
        if cls is exceptions.V8JSError:
            name = _text(lib.v8rs_error_js_name, error, length) or ""
            if name == "SyntaxError":
                cls = exceptions.V8JSSyntaxError
            js_error = cls(
                message,
                name=name,
                js_message=_text(lib.v8rs_error_js_message, error, length) or "",
                script_name=_text(lib.v8rs_error_script_name, error, length),
                line=_number(lib.v8rs_error_line(error)),
                start_column=_number(lib.v8rs_error_start_column(error)),
                end_column=_number(lib.v8rs_error_end_column(error)),
                source_line=_text(lib.v8rs_error_source_line, error, length),
                stack=_text(lib.v8rs_error_stack, error, length),
            )
            pending, host_errors.last = host_errors.last, None
            if pending is not None and pending[0] == js_error.js_message:
                raise pending[1] from js_error  # a host function's exception, uncaught
            raise js_error
        if cls is exceptions.V8IOError:
            errno = int(lib.v8rs_error_os_errno(error))
            path = _text(lib.v8rs_error_path, error, length)
            raise cls(errno, os.strerror(errno) if errno else message, path)
        raise cls(message)
    finally:
        if error != ffi.NULL:
            lib.v8rs_error_free(error)


def to_utf8(value: str | bytes, what: str) -> bytes:
    """``value`` as UTF-8 bytes; a ``str`` that cannot be encoded (lone surrogates)
    raises :class:`~v8cffi.exceptions.V8ArgumentError`."""
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise exceptions.V8ArgumentError(f"{what} cannot be encoded as UTF-8: {e}") from None
