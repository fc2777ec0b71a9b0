"""Streaming server rendering over ASGI: React's renderToReadableStream, chunk by chunk.

    pip install uvicorn            # any ASGI server
    uvicorn examples.streaming_ssr:app

The shell of the page (with the Suspense fallback) goes out at once; the late part
follows when its data arrives (here after a JavaScript setTimeout). The app is plain
ASGI, so it runs under uvicorn, hypercorn, or inside Starlette/FastAPI as a mounted app.

In a browser React then hydrates the page: the shell ends with the props as a bootstrap
script and loads ``/client.js`` (tests/fixtures/react-client.js, the same components
bundled for the browser), which calls ``hydrateRoot`` on the document.

Each VM serves one call at a time and a call waiting for a JavaScript timer keeps its
VM, so concurrent requests each take a context from a small pool of VMs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from v8cffi.context import Context
from v8cffi.platform import platform

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
BUNDLE = FIXTURES / "react.js"
CLIENT = FIXTURES / "react-client.js"  # hydrates the page in the browser
VMS = 4

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Renderers:
    """``size`` contexts (one per VM) with the bundle loaded, lent one per request."""

    def __init__(self, size: int) -> None:
        if not platform.is_alive():
            platform.set_up()
        self._free: asyncio.Queue[Context] | None = None
        self._contexts = []
        for _ in range(size):
            vm = platform.create_vm().set_up()
            ctx = vm.create_context()
            ctx.load_libs([BUNDLE])
            self._contexts.append(ctx)

    async def borrow(self) -> Context:
        if self._free is None:  # made on first use, inside the server's event loop
            self._free = asyncio.Queue()
            for ctx in self._contexts:
                self._free.put_nowait(ctx)
        return await self._free.get()

    def give_back(self, ctx: Context) -> None:
        assert self._free is not None
        self._free.put_nowait(ctx)


renderers = Renderers(VMS)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Renders the page for ``?title=...`` as a stream of HTML; ``/client.js`` hydrates it."""
    if scope["type"] != "http":
        return
    if scope["path"] == "/client.js":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/javascript; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": CLIENT.read_bytes()})
        return
    pairs = scope.get("query_string", b"").decode().split("&")
    query = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
    props = {
        "title": query.get("title", "Streaming"),
        "items": [{"id": i, "name": f"Item {i}", "price": i * 1.5, "done": i % 2 == 0} for i in range(3)],
        "late": "Delivered after the timer",
        "delayMs": 30,
    }
    # The browser hydrates with the same props ("<" escaped: they sit in a <script>).
    options = {
        "bootstrapScriptContent": "window.__SSR_PROPS__ = " + json.dumps(props).replace("<", "\\u003c"),
        "bootstrapScripts": ["/client.js"],
    }
    ctx = await renderers.borrow()
    try:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/html; charset=utf-8")],
            }
        )
        async for chunk in ctx.aiter_stream(
            f"ReactSSR.renderToStream({json.dumps(props)}, {json.dumps(options)})"
        ):
            body = chunk if isinstance(chunk, bytes) else chunk.encode()
            await send({"type": "http.response.body", "body": body, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        renderers.give_back(ctx)
