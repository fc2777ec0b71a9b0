"""The exceptions of v8cffi.

Every exception is a :class:`V8Error`. Each class also derives from the matching
built-in where one fits, so ``except MemoryError:`` or ``except OSError:`` just work:

* :class:`V8JSError` — JavaScript threw; :class:`V8JSSyntaxError` when it is a
  ``SyntaxError``. ``str(e)`` is the trace text; the parts are attributes.
* :class:`V8TerminatedError` — the running JavaScript was stopped by
  :meth:`VM.terminate() <v8cffi.vm.VM.terminate>`; :class:`V8TimeoutError` (also
  :class:`TimeoutError`) when its timeout expired. Both are :class:`V8JSError`.
* :class:`V8MemoryError` (also :class:`MemoryError`) — the VM's heap limit was
  reached (the call was stopped; the process lives on).
* :class:`V8LifecycleError` (also :class:`AssertionError`) — set-up twice, used after
  tear-down, run before set-up… Raised by real checks, so also under ``python -O``.
* :class:`V8ArgumentError` (also :class:`ValueError`) — bad input, such as bytes that
  are not UTF-8.
* :class:`V8IOError` (also :class:`OSError`) — a file could not be read; its
  ``filename`` says which.
* :class:`V8ConversionError` (also :class:`TypeError`) — a value has no faithful
  equivalent on the other side (a function, a Symbol, a cycle, …).
* :class:`V8UnknownError` — anything else.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import _constants as c

__all__ = [
    "Frame",
    "GeneratedLocation",
    "V8ArgumentError",
    "V8Error",
    "V8IOError",
    "V8JSError",
    "V8JSSyntaxError",
    "V8LifecycleError",
    "V8MemoryError",
    "V8TerminatedError",
    "V8TimeoutError",
    "V8UnknownError",
    "get_exception",
]


class V8Error(Exception):
    """Base class of every v8cffi error."""


@dataclass(frozen=True)
class Frame:
    """One frame of a JavaScript stack (innermost first in :attr:`V8JSError.frames`).

    ``line`` and ``column`` are 1-based, as in the stack text (``None`` when V8 does
    not know); ``function_name`` and ``script_name`` are ``""`` when unknown. When the
    frame's script is source-mapped, the frame is at its original position and
    ``generated`` is the frame where V8 ran it (in the bundle); otherwise
    ``generated`` is ``None``.
    """

    function_name: str
    script_name: str
    line: int | None
    column: int | None
    generated: Frame | None = None


@dataclass(frozen=True)
class GeneratedLocation:
    """Where V8 reported a JavaScript error, in the script it ran (the bundle): the
    same fields as :class:`V8JSError`'s location, before any source map."""

    script_name: str | None = None
    line: int | None = None
    start_column: int | None = None
    end_column: int | None = None
    source_line: str | None = None
    stack: str | None = None


class V8JSError(V8Error):
    """JavaScript threw while compiling or running a script.

    ``str(e)`` is the trace text of v8-cffi::

        <script name>:<line>
            <source line>
            <spaces>^^^^
        <the JS stack, or String(exception) when there is no stack>

    and the parts are attributes: ``name`` (``"TypeError"``, …, or ``""`` when the
    thrown value is not an Error), ``js_message``, ``script_name``, ``line``
    (1-based), ``start_column`` / ``end_column`` (0-based), ``source_line`` and
    ``stack`` — ``None`` where V8 does not know.

    ``frames`` is the stack as a list of :class:`Frame` (innermost first). When the
    script is source-mapped (see ``docs/debugging.md``), the location, source line,
    ``stack`` text and frames are at the original file, line, column and function
    name, ``source_mapped`` is true, and ``generated`` (a :class:`GeneratedLocation`)
    keeps what V8 reported in the bundle; otherwise ``generated`` holds the same
    location as the error itself.
    """

    def __init__(
        self,
        trace: str,
        *,
        name: str = "",
        js_message: str = "",
        script_name: str | None = None,
        line: int | None = None,
        start_column: int | None = None,
        end_column: int | None = None,
        source_line: str | None = None,
        stack: str | None = None,
        frames: list[Frame] | None = None,
        generated: GeneratedLocation | None = None,
        source_mapped: bool = False,
    ) -> None:
        super().__init__(trace)
        self.name = name
        self.js_message = js_message
        self.script_name = script_name
        self.line = line
        self.start_column = start_column
        self.end_column = end_column
        self.source_line = source_line
        self.stack = stack
        self.frames: list[Frame] = frames if frames is not None else []
        self.source_mapped = source_mapped
        self.generated = (
            generated
            if generated is not None
            else GeneratedLocation(script_name, line, start_column, end_column, source_line, stack)
        )


class V8JSSyntaxError(V8JSError):
    """JavaScript threw a ``SyntaxError`` (most often: the script does not compile)."""


class V8TerminatedError(V8JSError):
    """The running JavaScript was stopped by :meth:`VM.terminate()
    <v8cffi.vm.VM.terminate>`. The VM stays usable."""


class V8TimeoutError(V8TerminatedError, TimeoutError):
    """The running JavaScript was stopped because its ``timeout`` expired. The VM
    stays usable."""


class V8MemoryError(V8Error, MemoryError):
    """The VM's heap reached its limit and the call was stopped (the process lives
    on), or a string was too large for V8."""


class V8LifecycleError(V8Error, AssertionError):
    """The call does not fit the lifecycle (set-up twice, use after tear-down, …)."""


class V8ArgumentError(V8Error, ValueError):
    """An argument was not acceptable, such as bytes that are not UTF-8."""


class V8IOError(V8Error, OSError):
    """A file could not be read; ``filename`` is its path."""


class V8ConversionError(V8Error, TypeError):
    """A value has no faithful equivalent on the other side (a function, a Symbol, a
    cycle, nesting too deep, a dict key that is not a str, …)."""


class V8UnknownError(V8Error):
    """An internal failure (a bug if you see it: please report it)."""


_BY_CODE: dict[int, type[V8Error] | None] = {
    c.CODE_OK: None,
    c.CODE_JS_ERROR: V8JSError,
    c.CODE_OUT_OF_MEMORY: V8MemoryError,
    c.CODE_INVALID_ARGUMENT: V8ArgumentError,
    c.CODE_INVALID_STATE: V8LifecycleError,
    c.CODE_IO_ERROR: V8IOError,
    c.CODE_UNKNOWN: V8UnknownError,
    c.CODE_TERMINATED: V8TerminatedError,
    c.CODE_TIMEOUT: V8TimeoutError,
    c.CODE_CONVERSION: V8ConversionError,
}


def get_exception(code: int) -> type[V8Error] | None:
    """The exception class for a ``v8rs_code`` (``None`` for success; unknown codes
    map to :class:`V8UnknownError`)."""
    return _BY_CODE.get(code, V8UnknownError)
