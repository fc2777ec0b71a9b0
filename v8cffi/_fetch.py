"""The network of a context's ``fetch``, by permission only (``docs/security.md``).

A context has no network until :meth:`Context.set_fetch <v8cffi.context.Context.set_fetch>`
gives it one: a Python *handler* that answers each request, or an *allow-list* of
origins served by the standard library's HTTP client (``urllib``), or both (the handler
then sees only requests to allowed origins). The library hands each request to
:class:`Network` as a pending host operation and awaits the answer without holding the
VM: a sync handler answers at once; an async one runs on the asyncio loop of the
awaiting ``eval_async``/``call_async`` (or on a loop thread of this module), the
allow-list's client on worker threads. Every answer goes back through
``v8rs_context_settle``, from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Union

from . import _native
from .values import dumps

__all__ = ["FetchRequest", "FetchResponse", "Network", "origin_of"]

#: The body of a response: all of it, or chunks (an iterable or async iterable of
#: ``bytes``/``str``) streamed to JavaScript as it reads them.
Body = Union[bytes, bytearray, memoryview, str, None, Iterable[Any], AsyncIterator[Any]]


@dataclass(frozen=True)
class FetchRequest:
    """One request of JavaScript's ``fetch``, as a handler receives it."""

    method: str
    url: str
    #: ``(name, value)`` pairs, names in lower case (sorted, values combined as
    #: ``Headers`` iterates them; ``set-cookie`` kept apart).
    headers: list[tuple[str, str]]
    body: bytes | None
    #: ``"follow"``, ``"error"`` or ``"manual"`` (``fetch`` follows redirects itself:
    #: answer a 3xx with a ``location`` and it asks again).
    redirect: str = "follow"

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of :attr:`url` (the default port left out)."""
        return origin_of(self.url)

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), or ``None``."""
        lower = name.lower()
        for key, value in self.headers:
            if key == lower:
                return value
        return None


@dataclass
class FetchResponse:
    """What a handler may return (a ``dict`` with the same keys, a ``(status, headers,
    body)`` tuple, or just a body — status 200 — do as well)."""

    status: int = 200
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = field(default_factory=dict)
    body: Body = b""
    status_text: str = ""


#: A handler: a function (or coroutine function) of a :class:`FetchRequest`.
Handler = Callable[[FetchRequest], Any]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """The origin of ``url``: ``scheme://host[:port]``, lower case, the default port
    left out. Raises ``ValueError`` for URLs without a host."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if not scheme or not host:
        raise ValueError(f"not an absolute URL with a host: {url!r}")
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


# --- where async handlers and blocking clients run -------------------------------------

_local = threading.local()


def set_current_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    """Records the asyncio loop that awaits the calls this thread makes (``_async``
    does, for its executor threads): async handlers run there."""
    _local.loop = loop


def _current_loop() -> asyncio.AbstractEventLoop | None:
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    return loop if loop is not None and loop.is_running() and not loop.is_closed() else None


_background_lock = threading.Lock()
_background: asyncio.AbstractEventLoop | None = None
_workers: ThreadPoolExecutor | None = None


def _background_loop() -> asyncio.AbstractEventLoop:
    """A loop on a daemon thread, for async handlers of calls no asyncio loop awaits."""
    global _background
    with _background_lock:
        if _background is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="v8cffi-fetch-loop", daemon=True)
            thread.start()
            _background = loop
        return _background


def _pool() -> ThreadPoolExecutor:
    """Worker threads for the allow-list's blocking HTTP client."""
    global _workers
    with _background_lock:
        if _workers is None:
            _workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="v8cffi-fetch")
        return _workers


# --- answers -------------------------------------------------------------------------


def _chunk(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"a body chunk must be bytes or str, not {type(value).__name__}")


def _pairs(headers: Any) -> list[list[str]]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [[str(name), str(value)] for name, value in items]


#: What ``next`` gives at the end of a body's chunks (a chunk of ``None`` is an error).
_END = object()


class Network:
    """The host function of one context's ``fetch`` (``v8rs_context_set_fetch``):
    JavaScript calls it with ``("fetch", id, request)``, ``("read", id, stream)``,
    ``("cancel", id, stream)`` and ``("abort", id)``; it answers each operation with
    ``v8rs_context_settle``."""

    def __init__(
        self,
        context: Any,
        handler: Handler | None,
        allow: Iterable[str] | None,
        timeout: float = 30.0,
    ) -> None:
        self._context = context  # the native handle (keeps the library's context)
        self._handler = handler
        self._allow = None if allow is None else frozenset(origin_of(o) for o in allow)
        self._timeout = timeout
        self._lock = threading.Lock()
        #: Streamed bodies, by the number JavaScript reads them with.
        self._streams: dict[int, Iterator[Any] | AsyncIterator[Any]] = {}
        self._next_stream = 0
        #: What each operation still running elsewhere can be cancelled through.
        self._running: dict[int, Future[Any] | asyncio.Future[Any]] = {}

    # The host function.
    def __call__(self, op: str, id_: int, payload: Any = None) -> None:
        if op == "fetch":
            self._fetch(id_, payload)
        elif op == "read":
            self._read(id_, payload)
        elif op == "cancel":
            self._cancel(payload)
            self._settle(id_, None)
        elif op == "abort":
            with self._lock:
                running = self._running.pop(id_, None)
            if running is not None:
                running.cancel()

    def _settle(self, id_: int, answer: Any) -> None:
        try:
            packed = dumps(answer)
        except BaseException as exc:
            why = _native.describe(exc)
            packed = dumps({"error": f"the fetch handler's answer cannot be converted: {why}"})
        _native.context_settle(self._context, id_, packed)

    def _fail(self, id_: int, exc: BaseException) -> None:
        self._settle(id_, {"error": _native.describe(exc)})

    # -- requests --
    def _fetch(self, id_: int, payload: Mapping[str, Any]) -> None:
        body = payload.get("body")
        request = FetchRequest(
            method=str(payload["method"]),
            url=str(payload["url"]),
            headers=[(str(k), str(v)) for k, v in payload.get("headers") or []],
            body=bytes(body) if body is not None else None,
            redirect=str(payload.get("redirect", "follow")),
        )
        if self._allow is not None:
            try:
                origin = request.origin
            except ValueError as exc:
                return self._fail(id_, exc)
            if origin not in self._allow:
                # Refused here: nothing is sent, no connection is opened.
                return self._fail(
                    id_,
                    PermissionError(
                        f"{origin} is not an origin this context may fetch from (its allow-list)"
                    ),
                )
        if self._handler is None:
            self._run_elsewhere(id_, _pool().submit(self._urllib, request))
            return None
        try:
            result = self._handler(request)
        except BaseException as exc:
            return self._fail(id_, exc)
        if inspect.isawaitable(result):
            self._await(id_, result, self._response)
        else:
            self._answer(id_, result)
        return None

    def _answer(self, id_: int, result: Any) -> None:
        try:
            answer = self._response(result)
        except BaseException as exc:
            return self._fail(id_, exc)
        self._settle(id_, answer)
        return None

    def _response(self, result: Any) -> dict[str, Any]:
        """The answer for JavaScript from what a handler returned."""
        if isinstance(result, FetchResponse):
            status, headers, body, text = result.status, result.headers, result.body, result.status_text
        elif isinstance(result, Mapping):
            status = result.get("status", 200)
            headers = result.get("headers", {})
            body = result.get("body", b"")
            text = result.get("status_text", result.get("statusText", ""))
        elif isinstance(result, tuple):
            status, headers, body = result
            text = ""
        else:
            status, headers, body, text = 200, {}, result, ""
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            raise ValueError(f"the fetch handler answered status {status!r} (200 to 599)")
        answer: dict[str, Any] = {"status": status, "statusText": str(text), "headers": _pairs(headers)}
        if body is None or isinstance(body, (bytes, bytearray, memoryview, str)):
            answer["body"] = _chunk(body) if body is not None else None
        elif hasattr(body, "__aiter__"):
            answer["stream"] = self._add_stream(body.__aiter__())
        elif hasattr(body, "__iter__"):
            answer["stream"] = self._add_stream(iter(body))
        else:
            raise TypeError(
                f"a response body must be bytes, str, an iterable or None, not {type(body).__name__}"
            )
        return answer

    # -- streamed bodies --
    def _add_stream(self, chunks: Iterator[Any] | AsyncIterator[Any]) -> int:
        with self._lock:
            self._next_stream += 1
            self._streams[self._next_stream] = chunks
            return self._next_stream

    def _read(self, id_: int, stream: int) -> None:
        with self._lock:
            chunks = self._streams.get(stream)
        if chunks is None:
            return self._settle(id_, {"error": "the body was cancelled"})
        if isinstance(chunks, Iterator):
            try:
                chunk = next(chunks, _END)
                answer = None if chunk is _END else _chunk(chunk)  # a None chunk: an error
            except BaseException as exc:
                self._cancel(stream)
                return self._fail(id_, exc)
            if answer is None:
                self._cancel(stream)
            return self._settle(id_, answer)
        iterator = chunks

        async def next_chunk() -> bytes | None:
            try:
                return _chunk(await iterator.__anext__())
            except StopAsyncIteration:
                self._cancel(stream)
                return None
            except BaseException:
                self._cancel(stream)  # as the sync path: the body fails, the iterator closes
                raise

        self._await(id_, next_chunk(), lambda chunk: chunk)
        return None

    def _cancel(self, stream: Any) -> None:
        with self._lock:
            chunks = self._streams.pop(stream, None) if isinstance(stream, int) else None
        close = getattr(chunks, "close", None) or getattr(chunks, "aclose", None)
        if close is not None:
            with contextlib.suppress(BaseException):
                closed = close()
                if inspect.isawaitable(closed):
                    asyncio.run_coroutine_threadsafe(_awaited(closed), _background_loop())

    # -- work elsewhere --
    def _await(self, id_: int, awaitable: Awaitable[Any], convert: Callable[[Any], Any]) -> None:
        loop = _current_loop() or _background_loop()
        future = asyncio.run_coroutine_threadsafe(_awaited(awaitable), loop)
        self._run_elsewhere(id_, future, convert)

    def _run_elsewhere(
        self, id_: int, future: Future[Any], convert: Callable[[Any], Any] | None = None
    ) -> None:
        with self._lock:
            self._running[id_] = future

        def done(finished: Future[Any]) -> None:
            with self._lock:
                self._running.pop(id_, None)
            if finished.cancelled():
                return  # aborted: JavaScript answered itself
            exc = finished.exception()
            if exc is not None:
                return self._fail(id_, exc)
            try:
                answer = finished.result() if convert is None else convert(finished.result())
            except BaseException as error:
                return self._fail(id_, error)
            self._settle(id_, answer)
            return None

        future.add_done_callback(done)

    # -- the allow-list's client --
    def _urllib(self, request: FetchRequest) -> dict[str, Any]:
        """One request with ``urllib`` (redirects are not followed here: ``fetch``
        follows them, so each hop's origin is checked against the allow-list)."""
        http = urllib.request.Request(request.url, data=request.body, method=request.method)
        for name, value in request.headers:
            http.add_header(name, value)
        opener = urllib.request.build_opener(_NoRedirects)
        try:
            response = opener.open(http, timeout=self._timeout)
        except urllib.error.HTTPError as error:  # 4xx, 5xx and unfollowed 3xx
            response = error
        with response:
            body = response.read()
            status = response.status if response.status is not None else 500
            reason = response.reason or ""
            headers = list(response.headers.items())
        return {"status": status, "statusText": reason, "headers": _pairs(headers), "body": body}


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Hands 3xx responses back (as ``HTTPError``) instead of following them."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
