"""A server-side rendering service: Starlette under uvicorn, React through a pool of VMs.

    pip install starlette uvicorn
    uvicorn --app-dir examples/web app:app --workers 2

``GET /`` renders the React bundle (tests/fixtures/react.js) for the props of
tests/fixtures/expected/props.json — ``?title=...`` replaces the title — with one
JavaScript call per request. ``GET /health`` answers ``ok``.

Each worker process sets V8 up once and keeps a pool of ``V8RS_VMS`` VMs (default 2),
all started from one snapshot of the bundle, warmed up by a render (so a VM is ready in
a few milliseconds, and a replaced one is made in the background); requests borrow a VM
on a thread (the event loop stays free) and return it. uvicorn starts its workers with
"spawn", which V8 needs.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route

from v8cffi.platform import platform
from v8cffi.pool import VMPool

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
BUNDLE = FIXTURES / "react.js"
PROPS: dict[str, Any] = json.loads((FIXTURES / "expected" / "props.json").read_text(encoding="utf-8"))


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    platform.set_up()
    warmup = f"for (let i = 0; i < 20; i++) ReactSSR.renderToString({json.dumps(PROPS)})"
    app.state.pool = VMPool(
        int(os.environ.get("V8RS_VMS", "2")), libs=[BUNDLE], snapshot=True, warmup=[warmup]
    )
    try:
        yield
    finally:
        app.state.pool.close()


async def render(request: Request) -> HTMLResponse:
    props = dict(PROPS)
    if "title" in request.query_params:
        props["title"] = request.query_params["title"]
    pool: VMPool = request.app.state.pool
    html = await run_in_threadpool(pool.call, "ReactSSR.renderToString", props)
    return HTMLResponse(html)


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(routes=[Route("/", render), Route("/health", health)], lifespan=lifespan)
