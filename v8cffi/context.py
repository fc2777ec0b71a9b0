"""Contexts: JavaScript global scopes that persist between calls."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any, Union

from . import _async, _console, _constants, _fetch, _native, _streams
from ._managed import Managed
from .exceptions import V8ArgumentError, V8IOError, V8JSError, V8LifecycleError
from .node import JSValue, NodeOptions, folder
from .node import StrPath as _NodePath
from .values import dumps_tagged, exact_json

if TYPE_CHECKING:
    from .vm import VM

__all__ = ["Context"]

StrPath = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

_ANONYMOUS = b"<anonymous>"
_run_script = _native.run_script
_eval = _native.eval
_call = _native.call_function
#: Function names already encoded for ``call`` (a hot loop calls the same few).
_NAMES: dict[str, bytes] = {}
_AWAIT = _constants.AWAIT_PROMISE
_MAPS = _constants.SOURCE_MAPS
_JSON = _constants.ACCEPT_JSON  # results JSON says exactly come as JSON text (C json.loads)
_ARGS_JSON = _constants.ARGS_JSON  # the arguments are a JSON text


def _timeout_ms(timeout: float) -> int:
    """Seconds to whole milliseconds, at least 1 (0 would mean no timeout) and at most
    2**62 (a few hundred million years)."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
        raise ValueError(f"timeout must be a positive finite number of seconds, not {timeout!r}")
    return min(max(1, math.ceil(timeout * 1000)), 1 << 62)


class Context(Managed):
    """A global scope in a :class:`~v8cffi.vm.VM`; globals persist between calls, and
    contexts do not see each other's globals. Create it with
    :meth:`VM.create_context() <v8cffi.vm.VM.create_context>`.

    A new context is set up by :meth:`set_up`, by ``with``, or by its first
    :meth:`run_script` / :meth:`load_libs` — whichever comes first (``with`` on a
    context that set itself up takes it as it is). After :meth:`tear_down` it raises on
    use until set up again (with a fresh scope).
    """

    _what = "context"

    @staticmethod
    def _close_native(ptr: Any) -> None:
        _native.context_close(ptr)

    def __init__(
        self,
        vm: VM,
        features: int = _constants.WEB_ALL,
        node: NodeOptions | None = None,
        *,
        fetch: _fetch.Handler | None = None,
        allow: Iterable[str] | None = None,
    ) -> None:
        super().__init__()
        self._vm = vm
        self._features = features
        self._node = node
        self._required: dict[str, str] = {}
        #: Rejections taken (described) by an ``unhandled_rejections`` call that was stopped.
        self._rejections_taken: list[V8JSError] = []
        #: The network given at creation (``set_fetch``), set again on each set-up.
        self._network: tuple[_fetch.Handler | None, frozenset[str] | None] | None = None
        if fetch is not None or allow is not None:
            self._network = self._check_network(fetch, allow)
        self._used = False
        self._set_up_on_first_use = False
        self._streams_ready = False  # whether this global scope has the stream helper
        #: The host functions of this global scope (the library holds them weakly).
        self._host_functions: list[_native.Held] = []
        self._network_function: _native.Held | None = None

    def __exit__(self, *_: object, **__: object) -> None:
        """Frees the global scope, and the host functions the library held of it (the
        fetch handler holds the native handle)."""
        super().__exit__()
        self._host_functions = []
        self._network_function = None

    def set_up(self) -> Context:
        """Creates the global scope, by calling :meth:`__enter__` (as v8-cffi did);
        returns what it returns (``self``)."""
        return self.__enter__()

    def __enter__(self) -> Context:
        """Creates the global scope (its VM must be set up). Returns ``self``. A context
        that set itself up on first use is taken as it is (``with`` then tears it down
        at the end)."""
        with self._lock:
            if self._ptr is not None and self._set_up_on_first_use:
                self._set_up_on_first_use = False
                return self
            self._check_not_set_up()
            self._create()
        return self

    @property
    def vm(self) -> VM:
        """The VM this context lives in."""
        return self._vm

    def _create(self) -> None:
        ptr = _native.context_new(self._vm._live_ptr(), self._features)
        if self._node is not None:
            _native.context_enable_node(ptr, self._node.modules, self._node.env)
        self._ptr = ptr
        self._required = {}
        self._rejections_taken = []
        self._used = True
        self._streams_ready = False  # a fresh global scope
        self._host_functions = []
        self._network_function = None
        if self._network is not None:
            self._install_network(self._ptr, *self._network)

    @staticmethod
    def _check_network(
        handler: _fetch.Handler | None, allow: Iterable[str] | None
    ) -> tuple[_fetch.Handler | None, frozenset[str] | None]:
        if handler is not None and not callable(handler):
            raise TypeError(f"the fetch handler must be callable, not {handler!r}")
        if isinstance(allow, (str, bytes)):
            raise TypeError("allow must be a collection of origins, not a single string")
        origins = None if allow is None else frozenset(_fetch.origin_of(str(o)) for o in allow)
        return handler, origins

    def _install_network(
        self, ptr: Any, handler: _fetch.Handler | None, allow: frozenset[str] | None
    ) -> None:
        if handler is None and allow is None:
            self._network_function = _native.set_fetch(ptr, None)
        else:
            self._network_function = _native.set_fetch(ptr, _fetch.Network(ptr, handler, allow))

    def set_fetch(
        self,
        handler: _fetch.Handler | None = None,
        *,
        allow: Iterable[str] | None = None,
    ) -> None:
        """Gives this context a network for JavaScript's ``fetch`` — which it has not
        otherwise: without one, ``fetch`` rejects with ``TypeError: fetch failed``.

        ``handler(request)`` gets each request as a
        :class:`~v8cffi.FetchRequest` (``method``, ``url``, ``headers``, ``body``) and
        returns the response: a :class:`~v8cffi.FetchResponse`, a ``dict`` with
        ``status``, ``headers`` and ``body``, a ``(status, headers, body)`` tuple, or a
        body alone (status 200). A body is ``bytes``, ``str``, ``None``, or an iterable
        or async iterable of chunks, streamed as JavaScript reads them. It may be a
        coroutine function: it then runs on the asyncio loop that awaits the call
        (:meth:`eval_async`, :meth:`call_async`), or on a loop thread of v8cffi for
        calls no loop awaits. A sync handler runs on the calling thread with the VM
        waiting: keep it quick. An exception rejects that ``fetch`` with
        ``TypeError: fetch failed`` whose ``cause`` is ``Error("<Type>: <message>")``.

        ``allow``: origins (``"https://api.example.com"``, ``"http://127.0.0.1:8000"``)
        that requests may go to; any other is refused before anything is sent. Alone,
        it serves the allowed origins over HTTP with ``urllib`` (on worker threads);
        with a handler, the handler sees only requests to those origins. Redirects are
        followed by ``fetch`` itself, each hop checked again.

        Neither (the default): no network again. Aborting (``AbortController``) or
        stopping a call of the context (``timeout=``, cancelling ``eval_async``) aborts
        in-flight requests; an async handler's task is then cancelled. Kept across
        :meth:`tear_down` and set-up again.
        """
        self._network = (
            self._check_network(handler, allow) if handler is not None or allow is not None else None
        )
        network = self._network or (None, None)
        self._install_network(self._live_ptr(), *network)

    def _live_ptr(self) -> Any:
        """The native context, for one call; sets the context up on first use."""
        ptr = self._ptr
        if ptr is None:
            with self._lock:
                if self._used:
                    raise V8LifecycleError("the context was torn down")
                self._create()
                self._set_up_on_first_use = True
                ptr = self._ptr
        return ptr

    def run_script(
        self,
        script: str | bytes,
        identifier: str | bytes = "<anonymous>",
        *,
        timeout: float | None = None,
        source_maps: bool = False,
    ) -> str:
        """Compiles and runs ``script`` (``str``, or UTF-8 ``bytes``) under the script
        name ``identifier``, and returns ``String(result)``.

        Raises :class:`~v8cffi.exceptions.V8JSError` when the script throws or does
        not compile (``str(e)`` is the trace text). With ``timeout`` (seconds), a
        script still running after that long is stopped with
        :class:`~v8cffi.exceptions.V8TimeoutError`; the clock starts once the call has
        the VM. The context stays usable.

        With ``source_maps=True``, the script's ``//# sourceMappingURL=`` is honoured —
        a ``data:`` URL, or a map file resolved against ``identifier`` taken as a path
        (relative to the current directory when relative) — so errors in its code,
        from this call or any later one, show original files, lines and names (see
        ``docs/debugging.md``).
        """
        if type(script) is str:
            try:
                source = script.encode()
            except UnicodeEncodeError:
                source = _native.to_utf8(script, "script")  # raises the clear error
        else:
            source = _native.to_utf8(script, "script")
        name = _ANONYMOUS if identifier == "<anonymous>" else _native.to_utf8(identifier, "identifier")
        timeout_ms = 0 if timeout is None else _timeout_ms(timeout)
        if source_maps:
            return _run_script(self._ptr or self._live_ptr(), source, name, timeout_ms, _MAPS)
        return _run_script(self._ptr or self._live_ptr(), source, name, timeout_ms)

    def eval(
        self,
        script: str | bytes,
        identifier: str | bytes = "<anonymous>",
        *,
        timeout: float | None = None,
        await_promise: bool = False,
        source_maps: bool = False,
    ) -> Any:
        """Like :meth:`run_script`, but returns the result as a Python value (see
        :mod:`v8cffi.values`): numbers, strings, lists, dicts, datetimes, bytes, sets,
        big ints… With ``await_promise``, a Promise result is settled first and its
        value returned (a rejection raises :class:`~v8cffi.exceptions.V8JSError`).
        ``source_maps`` as for :meth:`run_script`.

        Raises :class:`~v8cffi.exceptions.V8ConversionError` for results with no
        Python equivalent (functions, Symbols, cycles, …).
        """
        source = script if type(script) is bytes else _native.to_utf8(script, "script")
        name = _ANONYMOUS if identifier == "<anonymous>" else _native.to_utf8(identifier, "identifier")
        timeout_ms = 0 if timeout is None else _timeout_ms(timeout)
        flags = _AWAIT | _JSON if await_promise else _JSON
        if source_maps:
            flags |= _MAPS
        return _eval(self._ptr or self._live_ptr(), source, name, timeout_ms, flags)

    def call(
        self,
        function: str,
        *args: Any,
        timeout: float | None = None,
        await_promise: bool = False,
    ) -> Any:
        """Calls the JavaScript function named by ``function`` (``"render"``, or a
        dotted name such as ``"lib.render"``, called as a method of ``lib``) with
        ``args`` converted to JavaScript (see :mod:`v8cffi.values`), and returns its
        result as a Python value, like :meth:`eval`. Errors thrown in scripts loaded
        with source maps (:meth:`load_libs` by default) show original positions.

        >>> ctx.call("Math.max", 1, 5, 3)  # doctest: +SKIP
        5
        """
        name = _NAMES.get(function) if type(function) is str else None
        if name is None:
            name = _native.to_utf8(function, "function")
            if type(function) is str:
                if len(_NAMES) >= 1024:
                    _NAMES.clear()
                _NAMES[function] = name
        timeout_ms = 0 if timeout is None else _timeout_ms(timeout)
        flags = _AWAIT | _JSON if await_promise else _JSON
        text = exact_json(args)
        if text is not None:  # the usual case: V8's JSON.parse reads the arguments
            return _call(self._ptr or self._live_ptr(), name, text, timeout_ms, flags | _ARGS_JSON)
        return _call(self._ptr or self._live_ptr(), name, dumps_tagged(args), timeout_ms, flags)

    def run_until_idle(self, *, timeout: float | None = None) -> None:
        """Runs the context's event loop — microtasks and timers (``setTimeout``,
        ``setInterval``, ``MessageChannel`` messages…), sleeping until the next one is
        due — until nothing is queued. Timers run only inside this call and inside the
        calls that await a promise; never behind your back.

        A timer callback that throws raises :class:`~v8cffi.exceptions.V8JSError` (the
        other timers stay queued). With ``timeout`` (seconds), a loop that does not
        idle by then (an endless ``setInterval``) raises
        :class:`~v8cffi.exceptions.V8TimeoutError`.
        """
        timeout_ms = 0 if timeout is None else _timeout_ms(timeout)
        _native.run_until_idle(self._live_ptr(), timeout_ms)

    def unhandled_rejections(self, *, timeout: float | None = None) -> list[V8JSError]:
        """The promises of this context rejected with no handler since the last call
        (oldest first), as the :class:`~v8cffi.exceptions.V8JSError` of each reason — what
        Node reports once a script's work is done. A handler added later takes its
        rejection back; each is reported once. Cheap when there are none.

        Describing a reason runs its getters (``name``, ``message``, ``stack``): with
        ``timeout`` (seconds, for all of them), getters still running by then raise
        :class:`~v8cffi.exceptions.V8TimeoutError` (as :meth:`VM.terminate
        <v8cffi.vm.VM.terminate>` raises ``V8TerminatedError``). The rejection whose
        description was stopped is dropped; those described before it come first from
        the next call."""
        deadline = None if timeout is None else time.monotonic() + _timeout_ms(timeout) / 1000
        found, self._rejections_taken = self._rejections_taken, []
        ptr = self._ptr
        try:
            while ptr is not None:
                left = 0 if deadline is None else _timeout_ms(max(deadline - time.monotonic(), 0.001))
                rejection = _native.take_unhandled_rejection(ptr, left)
                if rejection is None:
                    break
                assert isinstance(rejection, V8JSError)
                found.append(rejection)
        except BaseException:
            self._rejections_taken = found + self._rejections_taken
            raise
        return found

    @property
    def pending_tasks(self) -> int:
        """Number of timers queued (0 when the context is not set up)."""
        ptr = self._ptr
        return 0 if ptr is None else _native.pending_tasks(ptr)

    async def eval_async(
        self,
        script: str | bytes,
        identifier: str | bytes = "<anonymous>",
        *,
        timeout: float | None = None,
    ) -> Any:
        """:meth:`eval` with ``await_promise=True`` for asyncio: JavaScript and its
        timers run on an executor thread with the GIL released, so other tasks go on
        meanwhile. Cancelling the awaiting task stops this JavaScript call (and only
        it); the cancellation propagates once the call has ended."""
        return await _async.run(self.eval, script, identifier, timeout=timeout, await_promise=True)

    async def call_async(self, function: str, *args: Any, timeout: float | None = None) -> Any:
        """:meth:`call` with ``await_promise=True`` for asyncio, like
        :meth:`eval_async`."""
        return await _async.run(self.call, function, *args, timeout=timeout, await_promise=True)

    def iter_stream(
        self, expression: str, *, timeout: float | None = None
    ) -> Generator[str | bytes, None, None]:
        """Yields the chunks (``str``, or ``bytes`` for byte chunks) of the
        ``ReadableStream`` that the JavaScript ``expression`` gives (or of the stream a
        promise from it resolves to), as each becomes available: the event loop runs
        only until the next chunk. Closing the generator early cancels the stream.
        ``timeout`` (seconds) applies to each chunk."""
        source = self._stream_source(expression)
        stream_id = self.eval(source, "<stream>", timeout=timeout, await_promise=True)
        done = False
        try:
            while True:
                chunk = self.call("__v8cffi_streams.read", stream_id, timeout=timeout, await_promise=True)
                if chunk is None:
                    done = True
                    return
                yield chunk
        finally:
            if not done and self.is_alive():
                self.call("__v8cffi_streams.cancel", stream_id, timeout=timeout, await_promise=True)

    async def aiter_stream(
        self, expression: str, *, timeout: float | None = None
    ) -> AsyncGenerator[str | bytes, None]:
        """:meth:`iter_stream` for asyncio: each chunk is awaited like
        :meth:`call_async`."""
        source = self._stream_source(expression)
        stream_id = await _async.run(self.eval, source, "<stream>", timeout=timeout, await_promise=True)
        done = False
        try:
            while True:
                chunk = await self.call_async("__v8cffi_streams.read", stream_id, timeout=timeout)
                if chunk is None:
                    done = True
                    return
                yield chunk
        finally:
            if not done and self.is_alive():
                await self.call_async("__v8cffi_streams.cancel", stream_id, timeout=timeout)

    def _stream_source(self, expression: str) -> str:
        """The script that opens the stream of ``expression``; sets the helper up
        first (once per global scope)."""
        if not self._streams_ready:
            self.run_script(_streams.SETUP_JS, "<v8cffi streams>")
            self._streams_ready = True
        return _streams.open_expression(expression)

    def run_module(
        self,
        source: str | bytes,
        identifier: str | bytes = "<module>",
        *,
        resolver: Callable[[str, str], str | bytes | tuple[str, str | bytes]] | None = None,
        global_name: str | None = None,
        timeout: float | None = None,
        source_maps: bool = False,
    ) -> Any:
        """Runs ``source`` as an ES module named ``identifier``.

        Each ``import`` calls ``resolver(specifier, referrer)``, which returns the
        imported module's source, or ``(name, source)`` where ``name`` is its canonical
        name (a name is loaded once per call; errors and stacks show it). Without a
        resolver any ``import`` fails. An import the resolver cannot answer (it raises)
        is a JavaScript ``Error`` naming the specifier and the importing module.
        Top-level ``await`` is settled.

        With ``global_name``, the module's namespace becomes that global, so its
        exports can be called (``ctx.call(f"{global_name}.render", data)``) and the
        result is ``None``; without, the namespace is returned as a ``dict``, which
        raises :class:`~v8cffi.exceptions.V8ConversionError` when it exports functions.

        With ``source_maps=True``, the source maps of the module and of every module it
        imports are honoured (names taken as paths, as for :meth:`run_script`).
        """
        code = _native.to_utf8(source, "source")
        name = _native.to_utf8(identifier, "identifier")
        global_b = _native.to_utf8(global_name, "global_name") if global_name is not None else None
        timeout_ms = 0 if timeout is None else _timeout_ms(timeout)
        flags = _JSON | _MAPS if source_maps else _JSON
        return _native.run_module(self._live_ptr(), code, name, resolver, global_b, timeout_ms, flags)

    def require(self, name: str) -> JSValue:
        """``require(name)`` in this context (created with ``node=``): a built-in
        module (``buffer``, ``events``, ``util``, ``path``…) or a package or file of the
        context's modules folder, resolved and cached as Node does. Returns a
        :class:`~v8cffi.node.JSValue`, so ``ctx.require("marked").parse("# hi")`` calls
        into JavaScript; a module that is not found raises
        :class:`~v8cffi.exceptions.V8JSError` (``Cannot find module…``, with the
        folders looked in)."""
        if not isinstance(name, str):
            raise TypeError(f"the module name must be a string, not {name!r}")
        key = self._required.get(name)
        if key is None:
            key = f"m{len(self._required)}"
            self._required[name] = key
        # Required again each time: JavaScript's cache answers, and what it no longer
        # holds (``delete require.cache[…]``, another modules folder) is loaded afresh.
        self.run_script(
            "Object.defineProperty(globalThis, '__v8cffi_required', "
            "{value: globalThis.__v8cffi_required ?? {}, configurable: true});"
            f"__v8cffi_required.{key} = require({json.dumps(name)}); undefined",
            "<require>",
        )
        return JSValue(self, f"__v8cffi_required.{key}")

    def set_node_modules(self, path: _NodePath | None) -> None:
        """Sets the folder ``require`` resolves from and may read under (``None``:
        built-in modules only), in a context created with ``node=``; modules required
        already stay cached. Raises :class:`~v8cffi.exceptions.V8ArgumentError` for a
        path that is not a folder."""
        if self._node is None:
            raise V8LifecycleError("the context has no Node group: create it with node=True")
        modules = folder(path)
        _native.context_set_node_modules(self._live_ptr(), modules)
        self._node = NodeOptions(modules, self._node.env)

    def expose(self, name: str, function: Callable[..., Any]) -> None:
        """Makes ``function`` callable from JavaScript as the global ``name``.

        JavaScript's arguments arrive converted to Python (see :mod:`v8cffi.values`)
        and the return value goes back converted to JavaScript. An exception becomes a
        JavaScript ``Error("<Type>: <message>")``; if JavaScript does not catch it, that
        very exception is raised again from the call that ran the script (and only
        from that call: a later error with the same message is just a
        :class:`~v8cffi.exceptions.V8JSError`). The
        function runs on the calling thread, holding the GIL, while the VM waits for
        it. It may call back into this VM (any of its contexts): such nested calls run
        inside the outer one, under its timeout. Other VMs are off limits on that
        thread (``V8LifecycleError``); hand such work to another thread.
        """
        encoded = _native.to_utf8(name, "name")
        ptr = self._live_ptr()  # first: setting the context up starts a new list
        self._host_functions.append(_native.expose(ptr, encoded, function))

    def expose_console(self, handler: Callable[[str, str], None] | None = None) -> None:
        """Sends this context's console output to ``handler(level, text)`` (``level``:
        ``"debug"``, ``"log"``, ``"info"``, ``"warn"`` or ``"error"``) instead of its
        VM's handler (:meth:`VM.set_console <v8cffi.vm.VM.set_console>`); without
        ``handler``, to the ``"v8cffi.console"`` logger. The text is Node's (the web group
        ``console``); a context without that group gets ``console.log``/``info``/
        ``warn``/``error``/``debug`` showing values as JSON where they have a JSON
        form."""
        self.expose("__v8cffi_console", handler or _console.log)
        self.run_script(_console.REDIRECT_JS, "<v8cffi console>")

    def load_libs(
        self,
        scripts_paths: Iterable[StrPath],
        *,
        cache: bool = False,
        cache_dir: StrPath | None = None,
        source_maps: bool = True,
    ) -> None:
        """Reads each file (UTF-8) and runs it, in order, with its path as the script
        name. Raises :class:`~v8cffi.exceptions.V8IOError` (an :class:`OSError`) for
        a file that cannot be read, and :class:`~v8cffi.exceptions.V8JSError` when a
        script throws.

        With ``cache=True`` (or a ``cache_dir``), V8's code cache is used: each file's
        compiled code is kept after its first run — in memory for this process, and in
        ``cache_dir`` when given — and reused when the same file is loaded again in any
        context (same path, contents, V8 version and flags). See
        :func:`v8cffi.code_cache_stats`.

        Source maps are on (``source_maps=False`` turns them off): a file whose last
        line is ``//# sourceMappingURL=`` — a ``data:`` URL, or a map file next to it —
        has its errors shown at the original files, lines and function names, with the
        generated position kept in ``V8JSError.generated`` (see ``docs/debugging.md``).
        """
        if isinstance(scripts_paths, (str, bytes, os.PathLike)):
            raise TypeError("scripts_paths must be a list of paths, not a single path")
        given = list(scripts_paths)
        paths = [os.fsencode(p) for p in given]
        for p in paths:
            if b"\0" in p:
                raise ValueError(f"path contains a NUL byte: {p!r}")
        ptr = self._live_ptr()  # sets the context up, or raises once torn down
        if cache or cache_dir is not None:
            directory = os.fsencode(cache_dir) if cache_dir is not None else None
            _native.load_libs(ptr, paths, True, directory, source_maps)
            return
        # v8-cffi's contract: each file goes through run_script(source, identifier=path).
        # A run_script replaced on the instance or in a subclass is called just so.
        overridden = "run_script" in self.__dict__ or type(self).run_script is not Context.run_script
        for path, raw in zip(given, paths):
            # Named as the library names files: the path, invalid UTF-8 replaced.
            name = raw.decode("utf-8", "replace")
            try:
                with open(raw, "rb") as f:
                    source = f.read()
            except OSError as e:
                raise V8IOError(e.errno, e.strerror, os.fsdecode(raw)) from None
            try:
                # As v8-cffi did: run_script(source, identifier=path).
                identifier = path if path == name else name
                if overridden:
                    self.run_script(source, identifier=identifier)
                else:
                    self.run_script(source, identifier=identifier, source_maps=source_maps)
            except V8ArgumentError as e:
                raise V8ArgumentError(f"{name}: {e}") from None
