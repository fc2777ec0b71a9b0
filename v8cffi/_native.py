"""The glue: loading ``libv8rs.so``, and every call into it.

This is the only module that talks to the C ABI, and every fallible call goes through
one error path (:func:`raise_error`). It uses cffi in ABI mode (``ffi.dlopen``): no
compiler is needed, and cffi releases the GIL around every call, so JavaScript runs
while other Python threads keep going. The declarations are generated from the C
header into ``_ffi.py`` (see ``_ffi_build.py``).

Python objects handed to the library (exposed functions, the exceptions they raise)
go as cffi handles with a finalizer: the library drops them exactly once, and only
then does this module let go of them.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from . import _constants, exceptions
from ._ffi import ffi as ffi
from .values import dumps, loads

#: Environment variable naming the library to load instead of the bundled one.
LIBRARY_ENV = "V8CFFI_LIBRARY"

_here = os.path.dirname(os.path.abspath(__file__))


def candidate_paths() -> list[str]:
    """Where the library is looked for, in order: ``$V8CFFI_LIBRARY``, the copy
    bundled in this package, and a cargo build next to a source checkout."""
    override = os.environ.get(LIBRARY_ENV)
    if override:
        return [override]
    bundled = sorted(
        os.path.join(_here, name)
        for name in os.listdir(_here)
        if name.startswith("libv8rs") and name.endswith(".so")
    )
    checkout = os.path.join(os.path.dirname(_here), "target", "release", "libv8rs.so")
    return [*bundled, checkout]


#: The path of the library this process loaded (a child process that makes a snapshot
#: loads the same one).
library_path = ""


def _load() -> Any:
    global library_path
    tried = []
    for path in candidate_paths():
        if not os.path.exists(path):
            tried.append(f"{path} (not found)")
            continue
        try:
            loaded = ffi.dlopen(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
            continue
        mismatch = _abi_mismatch(loaded)
        if mismatch is None:
            library_path = os.path.abspath(path)
            return loaded
        tried.append(f"{path} ({mismatch})")
    raise ImportError(
        "cannot load libv8rs.so; tried:\n  "
        + "\n  ".join(tried)
        + f"\nInstall v8cffi with pip, or point ${LIBRARY_ENV} at libv8rs.so."
    )


def _abi_mismatch(loaded: Any) -> str | None:
    """Why ``loaded`` cannot serve this package (a library built from another header
    takes other arguments: calling it would crash), or ``None``."""
    try:
        version = loaded.v8rs_abi_version()
    except (AttributeError, ffi.error):  # cffi: ``ffi.error`` for a symbol not found
        needs = _constants.ABI_VERSION
        return f"a libv8rs older than this v8cffi: no v8rs_abi_version (this v8cffi needs C ABI {needs})"
    if version != _constants.ABI_VERSION:
        return f"C ABI {version}, but this v8cffi needs C ABI {_constants.ABI_VERSION}"
    # A build of this ABI from before a function was added says the same version.
    missing = [name for name in dir(loaded) if name.startswith("v8rs_") and not _resolves(loaded, name)]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        return f"C ABI {version} without {shown}: older than this v8cffi, which needs them all"
    return None


def _resolves(loaded: Any, name: str) -> bool:
    """Whether the library ``loaded`` has the function ``name`` (looked up here, once)."""
    try:
        getattr(loaded, name)
    except (AttributeError, ffi.error):
        return False
    return True


lib: Any = _load()
NULL = ffi.NULL
_unpack = ffi.unpack
_run_into = lib.v8rs_run_script_into

#: Bytes of the per-thread buffer that results are written into when they fit.
RESULT_BUFFER = 1 << 16


class Scratch(threading.local):
    """Out-params reused by every call on one thread (allocating them per call
    costs more than the call itself). The library writes them only during a call. A
    call takes the ones it uses (the attribute is ``None`` meanwhile) and puts them back
    when it has read them, so a call made in between — by a finalizer or a signal
    handler — makes its own."""

    def __init__(self) -> None:
        #: The error out-param of :func:`call`; ``None`` while a call on this thread uses it.
        self.error: Any | None = ffi.new("v8rs_error **")
        #: ``(string, length, error)`` out-params of :func:`_value`; ``None`` while in use.
        self.out: tuple[Any, Any, Any] | None = _value_params()
        #: Everything ``run_script``, ``eval`` and ``call`` need, in one attribute lookup:
        #: a result buffer that small results are written into (no malloc, no free) and
        #: the out-params. ``None`` while a call on this thread uses them (see
        #: :func:`_result_buffers`).
        self.run: tuple[Any, int, Any, Any, Any] | None = _result_buffers()


def _value_params() -> tuple[Any, Any, Any]:
    """The ``(string, length, error)`` out-params of :func:`_value`."""
    return (ffi.new("char **"), ffi.new("size_t *"), ffi.new("v8rs_error **"))


def _result_buffers() -> tuple[Any, int, Any, Any, Any]:
    """A result buffer and out-params: the thread's own, or a spare for a call made while
    those are in use — by a finalizer or a signal handler that runs during a call or
    while its result is read, which would otherwise overwrite that result."""
    error = ffi.new("v8rs_error **")
    return (ffi.new(f"char[{RESULT_BUFFER}]"), RESULT_BUFFER, ffi.new("size_t *"), ffi.new("char **"), error)


scratch = Scratch()

# --- Python objects lent to the library ---------------------------------------------

#: The handles the library holds, by address, until it finalizes them.
_lent: dict[int, Any] = {}
_lent_lock = threading.RLock()  # re-entrant: a collection inside the lock may finalize


def _lend(obj: object) -> Any:
    """A cffi handle of ``obj``, kept alive until the library's finalizer runs."""
    handle = ffi.new_handle(obj)
    with _lent_lock:
        _lent[int(ffi.cast("uintptr_t", handle))] = handle
    return handle


@ffi.callback("void(void *)")
def _finalize(data: Any) -> None:
    """The library dropped a handle it was lent."""
    with _lent_lock:
        handle = _lent.pop(int(ffi.cast("uintptr_t", data)), None)
    # Dropped outside the lock: freeing the object can free others the library holds
    # (a closure over another context), whose finalizers come back here.
    del handle


def lent_count() -> int:
    """How many Python objects the library holds (for leak checks)."""
    return len(_lent)


# --- the one error path ---------------------------------------------------------------


def call(fn: Callable[..., int], *args: Any, owned: tuple[Any, Callable[[Any], None]] | None = None) -> None:
    """Calls the fallible C function ``fn(*args, error_out)`` and raises the
    matching :class:`~v8cffi.exceptions.V8Error` when it fails. ``owned``: an out-param
    among ``args`` (a fresh one, NULL until the call fills it) and the function that frees
    what it points to, which is freed when an exception cuts in before the caller gets it."""
    s = scratch
    slot = s.error or ffi.new("v8rs_error **")
    s.error = None  # taken, as by :func:`eval`: a call made before ``slot`` is read gets its own
    try:
        code = fn(*args, slot)
        if code:
            raise_error(code, _taken(slot))
    except BaseException:
        # A failure, or an exception (a signal handler's) raised as the call returned,
        # before its results were read: they are freed, not leaked — by C calls and
        # inline code only (a Python call would be one more place for a second signal
        # to cut in; each reader takes what it reads with `_taken`, so what is left here
        # was never read).
        lib.v8rs_free_unread(NULL, slot)
        if owned is not None:
            made = owned[0][0]
            if made != NULL:
                owned[0][0] = NULL
                owned[1](made)
        raise
    finally:
        s.error = slot


def _made(free: Callable[[Any], None], kind: str, fn: Callable[..., int], *args: Any) -> Any:
    """The handle that ``fn(*args, out, error_out)`` makes at ``out`` (a ``kind``), owned
    by the returned cdata (``free`` frees it when that goes). An exception that cuts in
    (a signal handler's) leaves it owned or freed, never both or neither: ``out`` is
    emptied before ``ffi.gc`` takes it, and after that call the handle is owned."""
    out = ffi.new(kind)
    try:
        call(fn, *args, out)
        made = out[0]
        out[0] = NULL
        return ffi.gc(made, free)
    except BaseException:
        made = out[0]  # not owned yet (inline, as in `call`)
        if made != NULL:
            out[0] = NULL
            free(made)
        raise


def _taken(holder: Any) -> Any:
    """``holder[0]``, leaving NULL there: what a call left in an out-param is read (and
    freed) once, and what the cleanup of an interrupted call finds there was never read."""
    value = holder[0]
    holder[0] = NULL
    return value


def read_bytes(ptr: Any, length: int) -> bytes:
    """Copies ``length`` bytes from a ``char *`` (NUL bytes included)."""
    data: bytes = _unpack(ptr, length)  # type: ignore[assignment]  # char * -> bytes
    return data


def c_string(ptr: Any) -> str:
    """Decodes a NUL-terminated UTF-8 ``char *``."""
    data = ffi.string(ptr)
    return data.decode("utf-8") if isinstance(data, bytes) else data


def _text(getter: Callable[..., Any], error: Any, length: Any) -> str | None:
    ptr = getter(error, length)
    if ptr == NULL:
        return None
    return read_bytes(ptr, length[0]).decode("utf-8", "replace")


def _number(value: int) -> int | None:
    return None if value < 0 else int(value)


def _look_for_signals() -> None:
    """Makes PyPy check for signals at its next bytecode. When another thread noticed a
    SIGINT first, PyPy leaves it for the main thread to report after a thread switch,
    which returning from a call that released the GIL need not count as: the
    ``KeyboardInterrupt`` of a Ctrl-C that stopped the call came much later (at exit).
    Setting the switch interval (to what it is) rearms PyPy's ticker; CPython checks at
    its next call anyway."""
    sys.setswitchinterval(sys.getswitchinterval())


_STOPPED = _constants.CODE_TERMINATED
_PYPY = sys.implementation.name == "pypy"


def raise_error(code: int, error: Any) -> NoReturn:
    """Raises the exception for ``code``, built from (and freeing) ``error``. When the
    error is the uncaught exception of an exposed Python function, that exception is
    raised again (from the :class:`~v8cffi.exceptions.V8JSError`)."""
    if code == _STOPPED and _PYPY:
        _look_for_signals()
    try:
        # Not bound to a name here: the exception's traceback holds this frame.
        raise _exception(code, error)
    finally:
        if error != NULL:
            lib.v8rs_error_free(error)


def _exception(code: int, error: Any) -> BaseException:
    """The exception for ``code``, built from ``error``."""
    cls = exceptions.get_exception(code) or exceptions.V8UnknownError
    if error == NULL:
        return cls(f"v8rs call failed with code {code}")
    length = ffi.new("size_t *")
    message = _text(lib.v8rs_error_message, error, length) or ""
    if issubclass(cls, exceptions.V8JSError):
        name = _text(lib.v8rs_error_js_name, error, length) or ""
        if name == "SyntaxError" and cls is exceptions.V8JSError:
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
            frames=_frames(_text(lib.v8rs_error_frames_json, error, length)),
            generated=_generated(error, length),
            source_mapped=bool(lib.v8rs_error_is_source_mapped(error)),
        )
        host = lib.v8rs_error_host_data(error)
        if host == NULL:
            return js_error
        # An exposed function's exception that JavaScript did not catch: raised again,
        # as `raise original from js_error` would.
        original: BaseException = ffi.from_handle(host)
        original.__cause__ = js_error
        original.__suppress_context__ = True
        return original
    if cls is exceptions.V8IOError:
        errno = int(lib.v8rs_error_os_errno(error))
        path = _text(lib.v8rs_error_path, error, length)
        return cls(errno, os.strerror(errno) if errno else message, path)
    return cls(message)


def _frame(data: dict[str, Any]) -> exceptions.Frame:
    generated = data.get("generated")
    return exceptions.Frame(
        function_name=str(data.get("function_name", "")),
        script_name=str(data.get("script_name", "")),
        line=data.get("line"),
        column=data.get("column"),
        generated=_frame(generated) if isinstance(generated, dict) else None,
    )


def _frames(text: str | None) -> list[exceptions.Frame]:
    """The frames of ``v8rs_error_frames_json``."""
    if not text:
        return []
    try:
        return [_frame(f) for f in json.loads(text) if isinstance(f, dict)]
    except ValueError:
        return []


def _generated(error: Any, length: Any) -> exceptions.GeneratedLocation | None:
    """The generated location of a source-mapped error (``None`` otherwise: the
    exception then copies its own location)."""
    if not lib.v8rs_error_is_source_mapped(error):
        return None
    return exceptions.GeneratedLocation(
        script_name=_text(lib.v8rs_error_generated_script_name, error, length),
        line=_number(lib.v8rs_error_generated_line(error)),
        start_column=_number(lib.v8rs_error_generated_start_column(error)),
        end_column=_number(lib.v8rs_error_generated_end_column(error)),
        source_line=_text(lib.v8rs_error_generated_source_line, error, length),
        stack=_text(lib.v8rs_error_generated_stack, error, length),
    )


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


# --- the platform ---------------------------------------------------------------------


def version() -> str:
    """The version of V8 inside."""
    return c_string(lib.v8rs_version())


def platform_set_up(flags: bytes) -> None:
    """Initialises V8 with ``flags``."""
    call(lib.v8rs_platform_set_up, flags, len(flags))


def platform_tear_down() -> None:
    """Releases V8 for good."""
    call(lib.v8rs_platform_tear_down)


def platform_is_alive() -> bool:
    """Whether the platform is set up and not torn down."""
    return bool(lib.v8rs_platform_is_alive())


def watch_sigint() -> None:
    """Makes SIGINT stop the JavaScript the calling thread runs."""
    call(lib.v8rs_platform_watch_sigint)


def source_map_stats() -> dict[str, int]:
    """``parsed`` and ``failed`` source maps in this process."""
    out = [ffi.new("uint64_t *") for _ in range(2)]
    lib.v8rs_source_map_stats(*out)
    return {"parsed": int(out[0][0]), "failed": int(out[1][0])}


def code_cache_stats() -> dict[str, int]:
    """``hits``, ``misses`` and ``rejected`` of the code cache in this process."""
    out = [ffi.new("uint64_t *") for _ in range(3)]
    lib.v8rs_code_cache_stats(*out)
    return {"hits": int(out[0][0]), "misses": int(out[1][0]), "rejected": int(out[2][0])}


def live_counts() -> tuple[int, int]:
    """``(VMs, contexts)`` alive in the library."""
    return int(lib.v8rs_live_vm_count()), int(lib.v8rs_live_context_count())


def snapshot_create(pairs: Sequence[tuple[bytes, bytes]], warmup: int = 0) -> bytes:
    """A snapshot of the heap that the ``(name, source)`` scripts leave; the last
    ``warmup`` of them only warm it up (their code is kept, their changes are not)."""
    names = [ffi.new("char[]", n) for n, _ in pairs]
    sources = [ffi.new("char[]", s) for _, s in pairs]
    out, out_len = ffi.new("char **"), ffi.new("size_t *")
    call(
        lib.v8rs_snapshot_create_warm,
        ffi.new("const char *[]", names) if pairs else NULL,
        ffi.new("size_t[]", [len(n) for n, _ in pairs]) if pairs else NULL,
        ffi.new("const char *[]", sources) if pairs else NULL,
        ffi.new("size_t[]", [len(s) for _, s in pairs]) if pairs else NULL,
        len(pairs),
        warmup,
        out,
        out_len,
        owned=(out, lib.v8rs_string_free),
    )
    try:
        return read_bytes(out[0], out_len[0])
    finally:
        lib.v8rs_string_free(out[0])


def snapshot_open(data: bytes) -> Any:
    """A handle of the snapshot file ``data``, checked (freed when the object goes)."""
    return _made(lib.v8rs_snapshot_free, "v8rs_snapshot **", lib.v8rs_snapshot_open, data, len(data))


# --- VMs ------------------------------------------------------------------------------

#: The fields of ``v8rs_heap_stats``, in order.
HEAP_STATS = [field for field, _ in ffi.typeof("v8rs_heap_stats").fields]


def vm_new(initial_heap_size: int, max_heap_size: int, snapshot: Any | None) -> Any:
    """A new VM handle (freed when the returned object goes), from the opened snapshot
    handle ``snapshot`` (:func:`snapshot_open`) when given."""
    options = ffi.new(
        "v8rs_vm_options *", {"initial_heap_size": initial_heap_size, "max_heap_size": max_heap_size}
    )
    if snapshot is None:
        return _made(lib.v8rs_vm_free, "v8rs_vm **", lib.v8rs_vm_new, options)
    return _made(lib.v8rs_vm_free, "v8rs_vm **", lib.v8rs_vm_new_with_snapshot, options, snapshot)


#: The names of the ``V8RS_CONSOLE_*`` levels, by number.
CONSOLE_LEVELS = ("debug", "log", "info", "warn", "error")


#: What finds each VM's console handler (a weak reference to the VM's method returning
#: it), by the number its callback data is. Not lent to the library (no finalizer): a VM freed
#: while Python shuts down must not call back into Python; the VM object forgets its
#: entry when it is collected.
console_handlers: dict[int, Callable[[], Callable[[], Callable[[str, str], None]] | None]] = {}


@ffi.callback("void(void *, uint32_t, const char *, size_t)")
def _console(data: Any, level: int, text: Any, text_len: int) -> None:
    """Gives one console call's text to the Python handler numbered ``data``."""
    try:
        find = console_handlers.get(int(ffi.cast("uintptr_t", data)))
        getter = find() if find is not None else None
        if getter is None:  # the VM object is gone
            return
        handler = getter()
        name = CONSOLE_LEVELS[level] if level < len(CONSOLE_LEVELS) else "log"
        handler(name, read_bytes(text, text_len).decode("utf-8", "surrogateescape"))
    except BaseException:  # a callback must not raise into the library
        logging.getLogger("v8cffi").exception("the console handler failed")


def vm_set_console(vm: Any, key: int) -> None:
    """Sends the console output of ``vm`` to ``console_handlers[key]`` (a number,
    never 0)."""
    call(lib.v8rs_vm_set_console, vm, _console, ffi.cast("void *", key), NULL)


def vm_close(vm: Any) -> None:
    """Makes every later call on ``vm`` (and its contexts) fail; it is freed later."""
    lib.v8rs_vm_close(vm)


def vm_terminate(vm: Any) -> bool:
    """Stops the JavaScript running in ``vm``; whether a call was stopped."""
    stopped = ffi.new("bool *")
    call(lib.v8rs_vm_terminate, vm, stopped)
    return bool(stopped[0])


def vm_heap_stats(vm: Any) -> dict[str, int]:
    """The heap figures of ``vm``."""
    stats = ffi.new("v8rs_heap_stats *")
    call(lib.v8rs_vm_heap_stats, vm, stats)
    return {name: int(getattr(stats, name)) for name in HEAP_STATS}


def vm_low_memory_notification(vm: Any) -> None:
    """A full, compacting collection in ``vm``."""
    call(lib.v8rs_vm_low_memory_notification, vm)


# --- inspectors -----------------------------------------------------------------------


def inspector_start(vm: Any, host: bytes, port: int) -> Any:
    """A new inspector handle for ``vm`` listening on ``host:port`` (stopped and freed
    when the returned object goes)."""
    return _made(
        lib.v8rs_inspector_free, "v8rs_inspector **", lib.v8rs_inspector_start, vm, host, len(host), port
    )


def inspector_url(inspector: Any) -> str:
    """The inspector's WebSocket URL."""
    length = ffi.new("size_t *")
    ptr = lib.v8rs_inspector_url(inspector, length)
    return read_bytes(ptr, length[0]).decode()


def inspector_port(inspector: Any) -> int:
    """The port the inspector listens on."""
    return int(lib.v8rs_inspector_port(inspector))


def inspector_wait_for_client(inspector: Any, timeout_ms: int, pause: bool) -> bool:
    """Waits up to ``timeout_ms`` (0: no limit) for a client to be ready; whether one is."""
    connected = ffi.new("bool *")
    call(lib.v8rs_inspector_wait_for_client, inspector, timeout_ms, pause, connected)
    return bool(connected[0])


def inspector_has_client(inspector: Any) -> bool:
    """Whether a client is connected."""
    return bool(lib.v8rs_inspector_has_client(inspector))


def inspector_wait_for_disconnect(inspector: Any, timeout_ms: int) -> bool:
    """Waits up to ``timeout_ms`` (0: no limit) until no client is connected."""
    disconnected = ffi.new("bool *")
    call(lib.v8rs_inspector_wait_for_disconnect, inspector, timeout_ms, disconnected)
    return bool(disconnected[0])


def inspector_stop(inspector: Any) -> None:
    """Stops the inspector (its handle is freed later)."""
    lib.v8rs_inspector_stop(inspector)


# --- contexts -------------------------------------------------------------------------


def context_new(vm: Any, features: int) -> Any:
    """A new context handle in ``vm`` (freed when the returned object goes)."""
    return _made(lib.v8rs_context_free, "v8rs_context **", lib.v8rs_context_new_with, vm, features)


def context_enable_node(context: Any, modules: bytes | None, env: bytes) -> None:
    """Gives ``context`` the Node group: ``require`` from the folder ``modules`` (or
    none), ``process.env`` from ``env`` (``KEY=VALUE\\0`` entries)."""
    folder = modules if modules is not None else NULL
    call(lib.v8rs_context_enable_node, context, folder, len(modules or b""), env, len(env))


def context_set_node_modules(context: Any, modules: bytes | None) -> None:
    """Sets the folder ``require`` reads under (``None``: built-in modules only)."""
    folder = modules if modules is not None else NULL
    call(lib.v8rs_context_set_node_modules, context, folder, len(modules or b""))


def context_close(context: Any) -> None:
    """Makes every later call on ``context`` fail; it is freed later."""
    lib.v8rs_context_close(context)


def run_script(context: Any, source: bytes, name: bytes, timeout_ms: int, flags: int = 0) -> str:
    """``String(result)`` of running ``source`` in ``context`` (``flags``:
    ``SOURCE_MAPS`` or 0)."""
    s = scratch
    out = s.run or _result_buffers()
    s.run = None
    try:
        buffer, capacity, out_len, spill, error = out
        n, m = len(source), len(name)
        if flags:
            code = lib.v8rs_run_script_into_with(context, source, n, name, m, timeout_ms, flags, *out)
        else:
            code = _run_into(context, source, n, name, m, timeout_ms, buffer, capacity, out_len, spill, error)
        if code:
            raise_error(code, _taken(error))
        if spill[0] == NULL:
            data: bytes = _unpack(buffer, out_len[0])  # type: ignore[assignment]  # char[] -> bytes
            return data.decode("utf-8")
        spilled = _taken(spill)
        try:
            data = _unpack(spilled, out_len[0])  # type: ignore[assignment]
            return data.decode("utf-8")
        finally:
            lib.v8rs_string_free(spilled)
    except BaseException:
        lib.v8rs_free_unread(out[3], out[4])  # see `call`
        raise
    finally:
        s.run = out


def _value(fn: Any, *args: Any) -> Any:
    """Calls ``fn(*args, value_out, value_len_out, error_out)`` and decodes the
    wire-format value it returns."""
    s = scratch
    taken = s.out or _value_params()
    s.out = None  # taken, as by :func:`eval`: a call made before the result is read gets its own
    try:
        out, out_len, error = taken
        code = fn(*args, out, out_len, error)
        if code:
            raise_error(code, _taken(error))
        result = _taken(out)
        try:
            return loads(_unpack(result, out_len[0]))  # type: ignore[arg-type]  # char * -> bytes
        finally:
            lib.v8rs_string_free(result)
    except BaseException:
        lib.v8rs_free_unread(taken[0], taken[2])  # see `call`
        raise
    finally:
        s.out = taken


_eval_into = lib.v8rs_eval_into
_call_into = lib.v8rs_call_into


def eval(context: Any, source: bytes, name: bytes, timeout_ms: int, flags: int) -> Any:
    """The value of running ``source`` in ``context``."""
    s = scratch
    out = s.run or _result_buffers()
    s.run = None  # taken: a call made before this one's result is read gets its own
    try:
        buf, cap, out_len, spill, error = out
        n, m = len(source), len(name)
        code = _eval_into(context, source, n, name, m, timeout_ms, flags, buf, cap, out_len, spill, error)
        if code:
            raise_error(code, _taken(error))
        return _delivered(buf, out_len[0], spill)
    except BaseException:
        lib.v8rs_free_unread(out[3], out[4])  # see `call`
        raise
    finally:
        s.run = out


def call_function(context: Any, function: bytes, args: bytes, timeout_ms: int, flags: int) -> Any:
    """The value of calling ``function`` with ``args``: a wire-format array, or with
    ``ARGS_JSON`` in ``flags`` the JSON text of one."""
    # :func:`eval`'s twin, written out: one function taking the C function as an argument
    # (or a ``functools.partial``) costs 2 % more instructions per call.
    s = scratch
    out = s.run or _result_buffers()
    s.run = None  # taken: a call made before this one's result is read gets its own
    try:
        buf, cap, out_len, spill, error = out
        n, m = len(function), len(args)
        code = _call_into(context, function, n, args, m, timeout_ms, flags, buf, cap, out_len, spill, error)
        if code:
            raise_error(code, _taken(error))
        return _delivered(buf, out_len[0], spill)
    except BaseException:
        lib.v8rs_free_unread(out[3], out[4])  # see `call`
        raise
    finally:
        s.run = out


def _delivered(buffer: Any, length: int, spill: Any) -> Any:
    """The wire-format value an ``_into`` call left in ``buffer`` (or, when it did not
    fit, at ``spill[0]``, which is taken and freed here)."""
    if spill[0] == NULL:
        if buffer[0] == b"l":
            # The usual result, a Latin-1 string, decoded from one copy: the library
            # wrote the whole value, so its text is the ``length - 5`` bytes after the
            # tag and length. (The buffer is the caller's alone until it is read.)
            text: bytes = _unpack(buffer + 5, length - 5)  # type: ignore[assignment]
            return text.decode("latin-1")
        return loads(_unpack(buffer, length))  # type: ignore[arg-type]  # char[] -> bytes
    spilled = _taken(spill)
    try:
        return loads(_unpack(spilled, length))  # type: ignore[arg-type]
    finally:
        lib.v8rs_string_free(spilled)


def run_until_idle(context: Any, timeout_ms: int) -> None:
    """Runs the event loop of ``context`` until nothing is queued."""
    call(lib.v8rs_context_run_until_idle, context, timeout_ms)


def pending_tasks(context: Any) -> int:
    """Timers queued in ``context``."""
    return int(lib.v8rs_context_pending_tasks(context))


def take_unhandled_rejection(context: Any, timeout_ms: int) -> BaseException | None:
    """The exception of the oldest promise of ``context`` rejected with no handler (not
    raised), or ``None``."""
    out = ffi.new("v8rs_error **")
    owned = (out, lib.v8rs_error_free)
    call(lib.v8rs_context_take_unhandled_rejection, context, timeout_ms, out, owned=owned)
    if out[0] == NULL:
        return None
    try:
        return _exception(_constants.CODE_JS_ERROR, out[0])
    finally:
        lib.v8rs_error_free(out[0])


def load_libs(
    context: Any, paths: Sequence[bytes], cache: bool, cache_dir: bytes | None, source_maps: bool = True
) -> None:
    """Runs the files at ``paths`` in ``context``, through the code cache with
    ``cache``, honouring their source maps with ``source_maps``."""
    keep = [ffi.new("char[]", p) for p in paths]
    array = ffi.new("const char *[]", keep) if keep else NULL
    flags = (_constants.CODE_CACHE if cache else 0) | (_constants.SOURCE_MAPS if source_maps else 0)
    directory = ffi.new("char[]", cache_dir) if cache and cache_dir is not None else NULL
    call(lib.v8rs_load_libs_with, context, array, len(keep), flags, directory)


def run_module(
    context: Any,
    source: bytes,
    name: bytes,
    resolver: Callable[[str, str], Any] | None,
    global_name: bytes | None,
    timeout_ms: int,
    flags: int,
) -> Any:
    """The namespace (or, with ``global_name``, ``None``) of the module ``source``."""
    handle = ffi.new_handle(resolver) if resolver is not None else NULL
    callback = _resolve_module if resolver is not None else NULL
    global_b = global_name if global_name is not None else NULL
    global_len = len(global_name) if global_name is not None else 0
    args = (source, len(source), name, len(name), callback, handle, global_b, global_len, timeout_ms, flags)
    return _value(lib.v8rs_run_module, context, *args)


class Held:
    """A host function of a context, held by its :class:`~v8cffi.context.Context` object
    while the library holds only a weak reference to this: a function that refers to
    its context (a closure over it, the fetch handler, which settles through its
    handle) then makes a cycle Python's collector sees, not one through native code
    that kept the VM and the context alive for good."""

    __slots__ = ("__weakref__", "function")

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function


def expose(context: Any, name: bytes, function: Callable[..., Any]) -> Held:
    """Makes ``function`` the global ``name`` of ``context``. The caller keeps what this
    returns as long as the context is used: the library's reference to it is weak."""
    held = Held(function)
    lent = _lend(weakref.ref(held))
    call(lib.v8rs_context_expose, context, name, len(name), _trampoline, lent, _finalize)
    return held


def set_fetch(context: Any, function: Callable[..., Any] | None) -> Held | None:
    """Gives ``context`` the network ``function`` (``None``: none), replacing the one
    before; kept like :func:`expose`'s."""
    if function is None:
        call(lib.v8rs_context_set_fetch, context, NULL, NULL, NULL)
        return None
    held = Held(function)
    call(lib.v8rs_context_set_fetch, context, _trampoline, _lend(weakref.ref(held)), _finalize)
    return held


def context_settle(context: Any, op: int, packed: bytes) -> bool:
    """Answers pending operation ``op`` of ``context`` (any thread); whether it was
    waiting for that answer."""
    return bool(lib.v8rs_context_settle(context, op, packed, len(packed)))


def _reply_error(reply: Any, exc: BaseException, *, again: bool = True) -> None:
    """Answers with ``exc`` as a JavaScript ``Error``; with ``again``, lending ``exc``
    with it so that it is raised again if JavaScript does not catch the error."""
    try:
        message = describe(exc).encode("utf-8", "replace")
    except BaseException:  # a str subclass from __str__ that cannot even be encoded
        message = b"<an exception that could not be described>"
    if again:
        lib.v8rs_reply_error_with_data(reply, message, len(message), _lend(exc), _finalize)
    else:
        lib.v8rs_reply_error(reply, message, len(message))


def describe(exc: BaseException) -> str:
    """``"<Type>: <str(exc)>"``, or a note where that fails (a callback must answer
    either way: an exception here became ``undefined``)."""
    try:
        name = str(type(exc).__name__)
    except BaseException:  # a metaclass whose __name__ raises
        name = "<an exception type>"
    try:
        text = str.__str__(str(exc))  # a str subclass's own methods (__format__…) may raise
    except BaseException as inner:  # anything __str__ raises
        try:
            text = f"<str() of the exception raised {type(inner).__name__}>"
        except BaseException:
            text = "<str() of the exception raised>"
    return f"{name}: {text}"


@ffi.callback("v8rs_host_fn")
def _trampoline(data: Any, args: Any, args_len: int, reply: Any) -> None:
    """Calls the Python function behind ``data`` with the converted arguments and
    answers with its converted result, or with its exception as a JavaScript Error."""
    try:
        held = ffi.from_handle(data)()
        if held is None:  # the Context object went, or was torn down: so does its native side
            raise exceptions.V8LifecycleError(
                "the context of this function was torn down or garbage-collected"
            )
        result = held.function(*loads(read_bytes(args, args_len)))
        packed = dumps(result)
    except BaseException as exc:
        _reply_error(reply, exc)
        return
    lib.v8rs_reply_value(reply, packed, len(packed))


@ffi.callback("v8rs_resolver_fn")
def _resolve_module(
    data: Any, specifier: Any, specifier_len: int, referrer: Any, referrer_len: int, reply: Any
) -> None:
    """Asks the Python resolver behind ``data`` for a module: it returns the source, or
    ``(name, source)`` with a canonical name."""
    try:
        resolver = ffi.from_handle(data)
        spec = read_bytes(specifier, specifier_len).decode("utf-8", "surrogateescape")
        ref = read_bytes(referrer, referrer_len).decode("utf-8", "surrogateescape")
        answer = resolver(spec, ref)
        name, source = (spec, answer) if isinstance(answer, (str, bytes)) else answer
        name_b = to_utf8(name, "module name")
        source_b = to_utf8(source, "module source")
    except BaseException as exc:
        # An Exception is the import's V8JSError; Ctrl-C or SystemExit is raised again.
        _reply_error(reply, exc, again=not isinstance(exc, Exception))
        return
    lib.v8rs_reply_module(reply, name_b, len(name_b), source_b, len(source_b))


# --- cancel tokens --------------------------------------------------------------------


def cancel_token_new() -> Any:
    """A new cancel token (freed when the returned object goes)."""
    return ffi.gc(lib.v8rs_cancel_token_new(), lib.v8rs_cancel_token_free)


def cancel_token_enter(token: Any) -> None:
    """Makes ``token`` (``None``: none) the token of this thread's calls."""
    lib.v8rs_cancel_token_enter(NULL if token is None else token)


def cancel_token_cancel(token: Any) -> bool:
    """Cancels ``token``; whether a running call was stopped."""
    return bool(lib.v8rs_cancel_token_cancel(token))
