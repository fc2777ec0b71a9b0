"""fetch by permission only: Python handlers (sync and async), allow-lists served by
urllib, aborts and timeouts, and Headers/Request/Response/Blob/FormData compared with
Node 20's (undici), and ky — a real library — fetching JSON as in Node."""

# ruff: noqa: E501 (the JavaScript in strings reads best unwrapped)

from __future__ import annotations

import asyncio
import http.server
import json
import shutil
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from v8cffi import FetchRequest, FetchResponse, V8ConversionError, V8TimeoutError
from v8cffi.context import Context
from v8cffi.vm import VM

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node (the reference fetch) is not installed")

USERS = {str(page): [{"id": page * 10 + i, "name": f"user {page}-{i}"} for i in range(3)] for page in (1, 2)}


def settle(ctx: Context, body: str) -> Any:
    """The result of the body of an async function, settled."""
    return ctx.eval(f"(async () => {{ {body} }})()", await_promise=True, timeout=20)


def handler(request: FetchRequest) -> Any:
    """A sync handler: JSON, text, bytes, streams, redirects, errors, statuses."""
    path = request.url.split("://", 1)[1].split("/", 1)[1]
    if path == "json":
        return {"headers": {"content-type": "application/json"}, "body": json.dumps({"ok": [1, "two"]})}
    if path == "text":
        return FetchResponse(
            status=201, headers=[("content-type", "text/plain")], body="héllo", status_text="Created"
        )
    if path == "bytes":
        return (200, {"content-type": "application/octet-stream"}, bytes(range(256)))
    if path == "stream":
        return {"body": iter([b"one,", "two,", b"three"])}
    if path == "redirect":
        return (302, {"location": "/json"}, b"")
    if path == "loop":
        return (307, {"location": "/loop"}, b"")
    if path == "echo":
        return {
            "headers": {"content-type": "application/json"},
            "body": json.dumps(
                {"method": request.method, "headers": request.headers, "body": (request.body or b"").decode()}
            ),
        }
    if path == "raise":
        raise ValueError("the handler failed")
    return (404, {"x-reason": "missing"}, f"no {path}")


# --- no network --------------------------------------------------------------------------


def test_no_permission_rejects(ctx: Context) -> None:
    result = settle(
        ctx,
        "try { await fetch('https://example.com/'); return 'fetched' } "
        "catch (e) { return [e.constructor.name, e.message, String(e.cause)] }",
    )
    assert result[:2] == ["TypeError", "fetch failed"]
    assert "no network permission" in result[2]


def test_set_fetch_none_takes_the_network_away(ctx: Context) -> None:
    ctx.set_fetch(handler)
    assert settle(ctx, "return (await fetch('https://a.test/json')).status") == 200
    ctx.set_fetch(None)
    assert "no network" in settle(ctx, "return fetch('https://a.test/json').catch((e) => String(e.cause))")


# --- a sync handler ------------------------------------------------------------------------


def test_sync_handler(vm: VM) -> None:
    with vm.create_context(fetch=handler) as ctx:
        assert settle(ctx, "return (await fetch('https://api.test/json')).json()") == {"ok": [1, "two"]}
        text = settle(
            ctx,
            "const r = await fetch('https://api.test/text'); "
            "return [r.status, r.statusText, r.ok, r.headers.get('Content-Type'), await r.text(), r.bodyUsed]",
        )
        assert text == [201, "Created", True, "text/plain", "héllo", True]
        data = settle(
            ctx, "return new Uint8Array(await (await fetch('https://api.test/bytes')).arrayBuffer())"
        )
        assert data == bytes(range(256))
        missing = settle(
            ctx, "const r = await fetch('https://api.test/nope'); return [r.status, r.ok, await r.text()]"
        )
        assert missing == [404, False, "no nope"]


def test_request_reaches_the_handler(ctx: Context) -> None:
    ctx.set_fetch(handler)
    echoed = settle(
        ctx,
        "const r = await fetch('https://api.test/echo', {method: 'post', body: JSON.stringify({a: 1}), "
        "headers: {'X-One': '1', 'content-type': 'application/json'}}); return r.json()",
    )
    assert echoed == {
        "method": "POST",
        "headers": [["content-type", "application/json"], ["x-one", "1"]],
        "body": '{"a":1}',
    }
    form = settle(
        ctx,
        "const r = await fetch('https://api.test/echo', {method: 'PUT', body: new URLSearchParams({q: 'a b'})}); "
        "return r.json()",
    )
    assert form["body"] == "q=a+b"
    assert form["headers"] == [["content-type", "application/x-www-form-urlencoded;charset=UTF-8"]]


def test_streaming_chunks(ctx: Context) -> None:
    ctx.set_fetch(handler)
    chunks = settle(
        ctx,
        "const r = await fetch('https://api.test/stream'); const reader = r.body.getReader(); const out = []; "
        "for (;;) { const {value, done} = await reader.read(); if (done) break; out.push(new TextDecoder().decode(value)) } "
        "return [out, r.bodyUsed]",
    )
    assert chunks == [["one,", "two,", "three"], True]
    assert settle(ctx, "return (await fetch('https://api.test/stream')).text()") == "one,two,three"


def test_redirects(ctx: Context) -> None:
    ctx.set_fetch(handler)
    followed = settle(
        ctx,
        "const r = await fetch('https://api.test/redirect'); return [r.status, r.url, r.redirected, await r.json()]",
    )
    assert followed == [200, "https://api.test/json", True, {"ok": [1, "two"]}]
    manual = settle(
        ctx,
        "const r = await fetch('https://api.test/redirect', {redirect: 'manual'}); "
        "return [r.status, r.headers.get('location'), r.redirected]",
    )
    assert manual == [302, "/json", False]
    error = settle(
        ctx,
        "return fetch('https://api.test/redirect', {redirect: 'error'}).catch((e) => [e.message, e.cause.message])",
    )
    assert error == ["fetch failed", "unexpected redirect"]
    looped = settle(ctx, "return fetch('https://api.test/loop').catch((e) => e.cause.message)")
    assert looped == "redirect count exceeded"


def test_handler_errors_reject_with_the_cause(ctx: Context) -> None:
    ctx.set_fetch(handler)
    error = settle(
        ctx, "return fetch('https://api.test/raise').catch((e) => [e.name, e.message, e.cause.message])"
    )
    assert error == ["TypeError", "fetch failed", "ValueError: the handler failed"]
    ctx.set_fetch(lambda request: (99, {}, b""))
    bad = settle(ctx, "return fetch('https://api.test/').catch((e) => e.cause.message)")
    assert "status 99" in bad


def test_stream_errors_reject_the_read(ctx: Context) -> None:
    def broken() -> Iterator[bytes]:
        yield b"first"
        raise OSError("the disk went away")

    ctx.set_fetch(lambda request: {"body": broken()})
    error = settle(
        ctx, "return (await fetch('https://a.test/')).text().catch((e) => [e.message, e.cause.message])"
    )
    assert error == ["terminated", "OSError: the disk went away"]


# --- an async handler ----------------------------------------------------------------------


async def async_handler(request: FetchRequest) -> Any:
    await asyncio.sleep(0.01)
    if request.url.endswith("/raise"):
        raise KeyError("async failure")

    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"a", b"b", b"c"):
            await asyncio.sleep(0.005)
            yield part

    if request.url.endswith("/stream"):
        return {"body": chunks()}
    return {
        "status": 202,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"url": request.url}),
    }


def test_async_handler_without_a_loop(ctx: Context) -> None:
    ctx.set_fetch(async_handler)
    assert settle(ctx, "const r = await fetch('https://a.test/x'); return [r.status, await r.json()]") == [
        202,
        {"url": "https://a.test/x"},
    ]
    assert settle(ctx, "return (await fetch('https://a.test/stream')).text()") == "abc"
    assert (
        settle(ctx, "return fetch('https://a.test/raise').catch((e) => e.cause.message)")
        == "KeyError: 'async failure'"
    )


def test_async_handler_on_the_awaiting_loop(ctx: Context) -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def handler_on_loop(request: FetchRequest) -> Any:
        loops.append(asyncio.get_running_loop())
        return await async_handler(request)

    ctx.set_fetch(handler_on_loop)

    async def main() -> Any:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.001)
                ticks += 1

        task = asyncio.create_task(ticker())
        result = await ctx.eval_async(
            "Promise.all([1, 2, 3].map(async (i) => (await fetch(`https://a.test/${i}`)).json()))"
        )
        streamed = await ctx.eval_async("fetch('https://a.test/stream').then((r) => r.text())")
        task.cancel()
        return result, streamed, ticks, asyncio.get_running_loop()

    result, streamed, ticks, loop = asyncio.run(main())
    assert result == [{"url": f"https://a.test/{i}"} for i in (1, 2, 3)]
    assert streamed == "abc"
    assert ticks > 0  # the loop went on while JavaScript waited
    assert loops and all(seen is loop for seen in loops)


# --- aborts and timeouts -------------------------------------------------------------------


def slow_handler(state: dict[str, Any]) -> Any:
    async def slow(request: FetchRequest) -> Any:
        state["started"] = True
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            state["cancelled"] = True
            raise
        return b"late"

    return slow


def test_abort_controller_aborts(ctx: Context) -> None:
    state: dict[str, Any] = {}
    ctx.set_fetch(slow_handler(state))
    started = time.monotonic()
    result = settle(
        ctx,
        "const c = new AbortController(); const p = fetch('https://a.test/', {signal: c.signal}); "
        "setTimeout(() => c.abort(), 50); try { await p; return 'done' } catch (e) { return [e.name, e.message] }",
    )
    assert result == ["AbortError", "This operation was aborted"]
    assert time.monotonic() - started < 5
    for _ in range(100):
        if state.get("cancelled"):
            break
        time.sleep(0.01)
    assert state == {"started": True, "cancelled": True}
    timeout = settle(
        ctx, "return fetch('https://a.test/', {signal: AbortSignal.timeout(30)}).catch((e) => e.name)"
    )
    assert timeout == "TimeoutError"
    pre = settle(ctx, "return fetch('https://a.test/', {signal: AbortSignal.abort('why')}).catch((e) => e)")
    assert pre == "why"


def test_the_calls_timeout_aborts_an_inflight_fetch(ctx: Context) -> None:
    state: dict[str, Any] = {}
    ctx.set_fetch(slow_handler(state))
    ctx.run_script("globalThis.pending = fetch('https://a.test/').catch((e) => [e.name, e.message])")
    started = time.monotonic()
    with pytest.raises(V8TimeoutError):
        ctx.eval("pending", await_promise=True, timeout=0.2)
    assert time.monotonic() - started < 5
    for _ in range(100):
        if state.get("cancelled"):
            break
        time.sleep(0.01)
    assert state["cancelled"] is True
    # The fetch's promise rejects (with an AbortError) in the next call.
    name, message = ctx.eval("pending", await_promise=True, timeout=5)
    assert name == "AbortError"
    assert "stopped" in message


def test_cancelling_eval_async_aborts(ctx: Context) -> None:
    state: dict[str, Any] = {}
    ctx.set_fetch(slow_handler(state))

    async def main() -> None:
        task = asyncio.create_task(ctx.eval_async("fetch('https://a.test/')"))
        while not state.get("started"):
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(100):
            if state.get("cancelled"):
                break
            await asyncio.sleep(0.01)

    asyncio.run(main())
    assert state["cancelled"] is True


@pytest.mark.parametrize("chunks", [[b"", b"a", b"", b"b"], [b"", b""]])
def test_empty_body_chunks_are_read_past(vm: VM, chunks: list[bytes]) -> None:
    # The stream has no queue: an empty chunk enqueued nothing, so nothing read again.
    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    answers: list[Any] = [lambda request: (200, {}, iter(chunks)), lambda request: (200, {}, body())]
    for answer in answers:
        ctx = vm.create_context(fetch=answer)
        assert settle(ctx, "return (await fetch('https://x/')).text()") == b"".join(chunks).decode()


@pytest.mark.parametrize("status", [204, 205, 304])
def test_null_body_statuses_have_no_body_whatever_the_handler_gave(vm: VM, status: int) -> None:
    bodies: list[Any] = [b"body", iter([b"a", b"b"])]
    for body in bodies:

        def answer(request: FetchRequest, body: Any = body) -> Any:
            return (status, {}, body)

        ctx = vm.create_context(fetch=answer)
        got = settle(
            ctx, "const r = await fetch('https://x/'); return [r.status, r.body === null, await r.text()]"
        )
        assert got == [status, True, ""]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((200, {"x": "€"}, b"ok"), "cannot convert the value to a ByteString"),
        ({"status": 200, "status_text": "OK\r\nX: y", "body": b"ok"}, "Invalid statusText"),
    ],
)
def test_answers_no_network_could_give_are_type_errors(vm: VM, answer: Any, message: str) -> None:
    ctx = vm.create_context(fetch=lambda request: answer)
    got = settle(ctx, "try { await fetch('https://x/') } catch (e) { return [e.name, e.message] }")
    assert got[0] == "TypeError" and message in got[1]


def test_a_none_body_chunk_is_an_error_not_the_end(ctx: Context) -> None:
    ctx.set_fetch(lambda request: (200, {}, iter([b"a", None, b"b"])))
    got = settle(
        ctx, "try { return await (await fetch('https://x/')).text() } catch (e) { return String(e.cause) }"
    )
    assert "a body chunk must be bytes or str, not NoneType" in got


def test_run_until_idle_waits_for_fetches(ctx: Context) -> None:
    ctx.set_fetch(async_handler)
    ctx.run_script(
        "globalThis.got = null; fetch('https://a.test/idle').then((r) => r.json()).then((j) => { got = j })"
    )
    ctx.run_until_idle(timeout=10)
    assert ctx.eval("got") == {"url": "https://a.test/idle"}


# --- conversions ---------------------------------------------------------------------------


def test_headers_convert_to_pairs_and_responses_do_not(ctx: Context) -> None:
    pairs = ctx.eval(
        "const h = new Headers([['B', '1'], ['a', '2'], ['b', '3']]); h.append('Set-Cookie', 'x=1'); h"
    )
    assert pairs == [["a", "2"], ["b", "1, 3"], ["set-cookie", "x=1"]]
    with pytest.raises(V8ConversionError, match=r"a Response at result: read it in JavaScript first"):
        ctx.eval("new Response('x')")
    with pytest.raises(V8ConversionError, match=r"a Blob at result\.b"):
        ctx.eval("({b: new Blob(['x'])})")


# --- allow-lists: urllib against a local server ----------------------------------------------


class Server:
    """A local HTTP server in a thread that records every request it sees."""

    def __init__(self, root: Path) -> None:
        seen: list[tuple[str, str, dict[str, str], bytes]] = []
        self.seen = seen

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                seen.append((self.command, self.path, dict(self.headers.items()), body))
                path, _, query = self.path.partition("?")
                if path == "/users":
                    page = dict(p.split("=") for p in query.split("&") if p).get("page", "1")
                    data = json.dumps(USERS.get(page, [])).encode()
                    self.reply(200, data, {"content-type": "application/json"})
                elif path == "/echo":
                    data = json.dumps(
                        {
                            "method": self.command,
                            "type": self.headers.get("content-type"),
                            "body": json.loads(body or b"null"),
                        }
                    ).encode()
                    self.reply(200, data, {"content-type": "application/json"})
                elif path == "/file":
                    self.reply(
                        200, (root / "data.txt").read_bytes(), {"content-type": "text/plain; charset=utf-8"}
                    )
                elif path == "/redirect-out":
                    self.reply(302, b"", {"location": "http://127.0.0.2:9/elsewhere"})
                elif path == "/redirect-in":
                    self.reply(301, b"", {"location": "/file"})
                else:
                    self.reply(404, b'{"error": "not found"}', {"content-type": "application/json"})

            do_GET = do_POST = do_PUT = do_DELETE = serve

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    (tmp_path / "data.txt").write_text("a file from the server\n")
    server = Server(tmp_path)
    yield server
    server.close()


def test_allow_list(ctx: Context, server: Server) -> None:
    ctx.set_fetch(allow=[server.origin])
    text = settle(ctx, f"const r = await fetch('{server.origin}/file'); return [r.status, await r.text()]")
    assert text == [200, "a file from the server\n"]
    assert [(m, p) for m, p, _, _ in server.seen] == [("GET", "/file")]
    echoed = settle(
        ctx,
        f"return (await fetch('{server.origin}/echo', {{method: 'POST', body: JSON.stringify([1, 2])}})).json()",
    )
    assert echoed == {"method": "POST", "type": "text/plain;charset=UTF-8", "body": [1, 2]}
    moved = settle(
        ctx,
        f"const r = await fetch('{server.origin}/redirect-in'); return [r.url, r.redirected, await r.text()]",
    )
    assert moved == [f"{server.origin}/file", True, "a file from the server\n"]
    missing = settle(ctx, f"const r = await fetch('{server.origin}/none'); return [r.status, await r.json()]")
    assert missing == [404, {"error": "not found"}]
    server.seen.clear()
    # Another origin — another port of the same host, too — is refused before any
    # connection: the server sees nothing, and nothing listens on the other port.
    other_port = server.origin.rsplit(":", 1)[0] + ":9"
    for url in [f"{other_port}/file", "http://localhost/file", "https://example.com/"]:
        refused = settle(ctx, f"return fetch('{url}').catch((e) => [e.message, e.cause.message])")
        assert refused[0] == "fetch failed"
        assert "is not an origin this context may fetch from" in refused[1]
    # A redirect to another origin is refused at that hop.
    out = settle(ctx, f"return fetch('{server.origin}/redirect-out').catch((e) => e.cause.message)")
    assert "http://127.0.0.2:9 is not an origin" in out
    assert [(m, p) for m, p, _, _ in server.seen] == [("GET", "/redirect-out")]


def test_allow_list_with_a_handler(vm: VM, server: Server) -> None:
    with vm.create_context(fetch=handler, allow=["https://api.test"]) as ctx:
        assert settle(ctx, "return (await fetch('https://api.test/json')).json()") == {"ok": [1, "two"]}
        refused = settle(ctx, f"return fetch('{server.origin}/file').catch((e) => e.cause.message)")
        assert "is not an origin" in refused
    assert server.seen == []


def test_bad_arguments(ctx: Context) -> None:
    with pytest.raises(TypeError):
        ctx.set_fetch("not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ctx.set_fetch(allow="https://a.test")
    with pytest.raises(ValueError):
        ctx.set_fetch(allow=["not a url"])


# --- the classes, compared with Node 20 -------------------------------------------------------

CLASSES_JS = r"""
const out = {};
const h = new Headers({'Content-Type': 'text/html', 'X-B': ' spaced '});
h.append('x-b', 'two'); h.append('Set-Cookie', 'a=1'); h.append('set-cookie', 'b=2');
out.headers = [...h];
out.headersGet = [h.get('x-b'), h.get('missing'), h.has('CONTENT-TYPE'), h.getSetCookie()];
h.set('x-b', 'one'); h.delete('content-type');
out.headersAfter = [...h.keys()];
out.headersErrors = [];
for (const f of [() => h.append('bad name', 'x'), () => h.set('x', 'a\nb'), () => new Headers([['a']])]) {
  try { f(); out.headersErrors.push('none'); } catch (e) { out.headersErrors.push(e.constructor.name); }
}
out.headersTag = Object.prototype.toString.call(h);

const r = new Response('{"a":1}', {status: 201, statusText: 'Made', headers: {'X-Y': 'z'}});
out.response = [r.status, r.statusText, r.ok, r.type, r.url, r.redirected, r.bodyUsed, [...r.headers]];
const c = r.clone();
out.responseBodies = [await r.json(), r.bodyUsed, await c.text(), c.bodyUsed];
try { await r.text(); out.reread = 'none' } catch (e) { out.reread = e.constructor.name }
const j = Response.json({b: [1, 2]}, {status: 202});
out.json = [j.status, j.headers.get('content-type'), await j.text()];
const e = Response.error();
out.error = [e.type, e.status, e.ok, e.statusText];
const rd = Response.redirect('https://example.com/a?b#c', 307);
out.redirect = [rd.status, rd.headers.get('location')];
out.responseErrors = [];
for (const f of [() => new Response('x', {status: 204}), () => new Response(null, {status: 700}), () => Response.redirect('https://e.com/', 200)]) {
  try { f(); out.responseErrors.push('none'); } catch (e) { out.responseErrors.push(e.constructor.name); }
}
const empty = new Response();
out.empty = [empty.body === null, await empty.text(), empty.bodyUsed];
out.bodyTypes = [];
for (const body of ['s', new URLSearchParams('a=1&b=2'), new Blob(['x'], {type: 'Image/PNG'}), new Uint8Array([1, 2]), new ArrayBuffer(3)]) {
  const res = new Response(body);
  out.bodyTypes.push([res.headers.get('content-type'), (await res.arrayBuffer()).byteLength]);
}

const req = new Request('https://example.com/a/../b?q=1#frag', {method: 'post', body: 'data', headers: {'X-A': '1'}});
out.request = [req.method, req.url, req.redirect, req.mode, req.credentials, req.cache, req.referrer,
  req.headers.get('content-type'), req.bodyUsed, req.signal instanceof AbortSignal, req.duplex];
const req2 = new Request(req, {method: 'PUT', headers: {'X-B': '2'}});
out.request2 = [req2.method, req2.url, [...req2.headers], await req2.text(), req.bodyUsed];
const req3 = new Request('https://example.com/', {method: 'patch'});
out.request3 = [req3.method, new Request('https://example.com/', {method: 'delete'}).method];
out.requestErrors = [];
for (const f of [() => new Request('/relative'), () => new Request('https://e.com/', {method: 'GET', body: 'x'}),
  () => new Request('https://e.com/', {method: 'CONNECT'}), () => new Request('https://e.com/', {redirect: 'nope'}),
  () => new Request('https://u:p@e.com/')]) {
  try { f(); out.requestErrors.push('none'); } catch (e) { out.requestErrors.push(e.constructor.name); }
}
const cl = new Request('https://e.com/', {method: 'POST', body: 'twice'}).clone();
out.requestClone = [await cl.text(), cl.method];

const blob = new Blob(['héllo ', new Uint8Array([119, 111]), new Blob(['rld'])], {type: 'Text/Plain'});
out.blob = [blob.size, blob.type, await blob.text(), await blob.slice(1, 4).text(), blob.slice(-3).size,
  blob.slice(2, 1).size, Object.prototype.toString.call(blob), [...new Uint8Array(await blob.slice(0, 2).arrayBuffer())]];
const file = new File(['abc'], 'a.txt', {type: 'text/plain', lastModified: 42});
out.file = [file.name, file.size, file.type, file.lastModified, file instanceof Blob, Object.prototype.toString.call(file)];
const streamed = [];
const reader = blob.stream().getReader();
for (;;) { const {value, done} = await reader.read(); if (done) break; streamed.push(...value); }
out.blobStream = streamed.length;

const fd = new FormData();
fd.append('a', '1'); fd.append('a', '2'); fd.append('f', new Blob(['blob body'], {type: 'text/plain'}));
fd.append('g', file); fd.append('h', file, 'renamed.txt'); fd.set('s', 'x'); fd.set('a', '3');
out.form = [...fd].map(([k, v]) => [k, typeof v === 'string' ? v : [v.constructor.name, v.name, v.type, v.size]]);
out.formGet = [fd.get('a'), fd.getAll('a'), fd.has('f'), fd.get('zzz')];
fd.delete('s');
const fr = new Response(fd);
out.formType = fr.headers.get('content-type').startsWith('multipart/form-data; boundary=');
const parsed = await fr.formData();
out.formRoundTrip = await Promise.all([...parsed].map(async ([k, v]) => [k, typeof v === 'string' ? v : [v.name, v.type, await v.text()]]));
const urlForm = await new Response(new URLSearchParams('x=1&y=a+b&x=2')).formData();
out.urlForm = [...urlForm];
try { await new Response('x').formData(); out.formError = 'none' } catch (e) { out.formError = e.constructor.name }

const stream = new ReadableStream({start(c) { c.enqueue(new TextEncoder().encode('str')); c.enqueue(new TextEncoder().encode('eam')); c.close(); }});
const sr = new Response(stream);
out.streamBody = [sr.body === stream, await sr.text(), sr.bodyUsed];
const tee = new Response('tee me');
const tee2 = tee.clone();
out.tee = [await tee.text(), await tee2.text()];
const rb = new Response('read body');
const rbReader = rb.body.getReader();
await rbReader.read();
out.readBody = [rb.bodyUsed];
try { await rb.text(); out.readBodyError = 'none' } catch (e) { out.readBodyError = e.constructor.name }
return out;
"""


def node(script: str) -> Any:
    """The JSON result of the body of an async function, run in Node."""
    assert NODE is not None
    program = f"(async () => {{ {script} }})().then((out) => process.stdout.write(JSON.stringify(out)));"
    done = subprocess.run([NODE, "-e", program], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


EXPECTED_CLASSES = {
    "blob": [12, "text/plain", "héllo world", "él", 3, 0, "[object Blob]", [104, 195]],
    "headers": [
        ["content-type", "text/html"],
        ["set-cookie", "a=1"],
        ["set-cookie", "b=2"],
        ["x-b", "spaced, two"],
    ],
    "request": [
        "POST",
        "https://example.com/b?q=1#frag",
        "follow",
        "cors",
        "same-origin",
        "default",
        "about:client",
        "text/plain;charset=UTF-8",
        False,
        True,
        "half",
    ],
}


def test_classes(ctx: Context) -> None:
    out = settle(ctx, "return JSON.parse(JSON.stringify(await (async () => {" + CLASSES_JS + "})()))")
    for key, expected in EXPECTED_CLASSES.items():
        assert out[key] == expected, key


@needs_node
def test_classes_as_node(ctx: Context) -> None:
    ours = settle(ctx, "return JSON.stringify(await (async () => {" + CLASSES_JS + "})())")
    assert json.loads(ours) == node(CLASSES_JS)


# --- data: and blob: URLs, served by fetch itself -------------------------------------------

DATA_URLS = [
    "data:,hi",
    "data:,hi#frag",
    "data:text/html;base64,PGI+aGk8L2I+",
    "data:;base64,aGk=",
    "data:  text/plain ; charset = x ;base64 , aGk",
    "data:text/plain;base64;x,aGk=",
    "data:application/wasm;base64,AGFzbQEAAAA=",
    "data:,%E2%82%AC%zz",
    "data:text/plain;base64,a",
    "data:,",
    "data:",
    "data:foo/bar;baz=1;base64 ,aGk=",
    'data:TEXT/PLAIN;CHARSET="utf-8";base64,aGk=',
    'data:text/plain;a="q\\"u;o";b=(x),x',
    "data:text/plain;base64,aG k=",
    "data:text/plain;%62ase64,aGk=",
    "data:/x,y",
]

SCHEMES_JS = (
    "const URLS = "
    + json.dumps(DATA_URLS)
    + r""";
const out = {};
for (const u of URLS) {
  try {
    const r = await fetch(u);
    out[u] = [r.status, r.statusText, [...r.headers], r.url, r.type, r.redirected, Array.from(new Uint8Array(await r.arrayBuffer()))];
  } catch (e) {
    out[u] = [e.name, e.message];
  }
}
out.post = await (await fetch('data:,hi', {method: 'POST', body: 'x'})).text();
out.head = await (await fetch('data:,hi', {method: 'HEAD'})).text();
const blob = new Blob(['hello world'], {type: 'Text/Plain'});
const url = URL.createObjectURL(blob);
const got = await fetch(url);
out.blob = [got.status, got.statusText, [...got.headers], got.url === url, await got.text()];
out.blobFragment = [await (await fetch(url + '#x')).text(), (await fetch(url + '#x')).url === url];
out.blobRequest = await (await fetch(new Request(url))).text();
const file = URL.createObjectURL(new File(['abc'], 'a.txt', {type: 'text/x'}));
out.file = [...(await fetch(file)).headers];
out.distinct = URL.createObjectURL(blob) !== url;
URL.revokeObjectURL(url);
for (const [what, go] of [['revoked', () => fetch(url)], ['blobPost', () => fetch(file, {method: 'POST', body: 'x'})]]) {
  try { await go(); out[what] = 'none'; } catch (e) { out[what] = e.name; }
}
out.revokeOthers = [URL.revokeObjectURL('nope'), URL.revokeObjectURL(42)];
for (const bad of [undefined, 'x', {}, new ArrayBuffer(1)]) {
  try { URL.createObjectURL(bad); out.create = 'none'; } catch (e) { (out.createErrors ??= []).push(e.name); }
}
return out;
"""
)


def test_data_and_blob_urls(ctx: Context) -> None:
    out = settle(ctx, "return JSON.parse(JSON.stringify(await (async () => {" + SCHEMES_JS + "})()))")
    plain = ["content-type", "text/plain;charset=US-ASCII"]
    assert out["data:,hi"] == [200, "OK", [plain], "data:,hi", "basic", False, [104, 105]]
    assert out["data:,hi#frag"][3] == "data:,hi"  # a response's URL has no fragment
    assert out["data:application/wasm;base64,AGFzbQEAAAA="][2] == [["content-type", "application/wasm"]]
    assert out["data:application/wasm;base64,AGFzbQEAAAA="][6] == [0, 97, 115, 109, 1, 0, 0, 0]
    assert out["data:,%E2%82%AC%zz"][6] == [226, 130, 172, 37, 122, 122]
    assert out['data:text/plain;a="q\\"u;o";b=(x),x'][2] == [
        ["content-type", 'text/plain;a="q\\"u;o";b="(x)"']
    ]
    assert out["data:/x,y"][2] == [plain]
    for bad in ("data:text/plain;base64,a", "data:"):
        assert out[bad] == ["TypeError", "fetch failed"]
    assert (out["post"], out["head"]) == ("hi", "")
    assert out["blob"] == [
        200,
        "OK",
        [["content-length", "11"], ["content-type", "text/plain"]],
        True,
        "hello world",
    ]
    assert out["blobFragment"] == ["hello world", True]
    assert out["blobRequest"] == "hello world"
    assert out["file"] == [["content-length", "3"], ["content-type", "text/x"]]
    assert out["distinct"] is True
    assert (out["revoked"], out["blobPost"]) == ("TypeError", "TypeError")
    assert out["revokeOthers"] == [None, None]
    assert out["createErrors"] == ["TypeError"] * 4


def test_only_the_exact_blob_url_is_revoked(ctx: Context) -> None:
    # The File API (and its web platform test): a fragment makes another URL. (Node 20
    # strips it.)
    out = settle(
        ctx,
        """const url = URL.createObjectURL(new Blob(['kept']));
        URL.revokeObjectURL(url + '#x');
        const kept = await (await fetch(url)).text();
        URL.revokeObjectURL(url);
        return [kept, await fetch(url).then(() => 'none', (e) => e.name)];""",
    )
    assert out == ["kept", "TypeError"]


def test_a_request_keeps_the_blob_its_url_named(ctx: Context) -> None:
    # The URL parser resolves a blob: URL's entry when the Request is made (WPT
    # fetch/api/basic/scheme-blob.sub.any.js): revoking it after `new Request(url)`, or
    # after calling fetch, does not fail the fetch; a clone keeps the entry too.
    out = settle(
        ctx,
        """const url = URL.createObjectURL(new Blob(['made before']));
        const request = new Request(url + '#frag');
        const copy = new Request(request), clone = request.clone();
        const fetching = fetch(url);
        URL.revokeObjectURL(url);
        const texts = [];
        for (const r of [request, copy, clone]) texts.push(await (await fetch(r)).text());
        texts.push(await (await fetching).text());
        const late = await fetch(new Request(url)).then(() => 'fetched', (e) => e.cause.message);
        return [texts, late];""",
    )
    assert out[0] == ["made before"] * 4
    assert out[1].startswith("no Blob under blob:")


def test_blob_streams_come_in_pieces_and_byob_reads_settle(ctx: Context) -> None:
    # Pieces of at most 64 KiB (as Node's), read one by one; a BYOB read settles at the
    # end, also of an empty body and with a `min` the bytes left cannot meet (as Node 20).
    out = settle(
        ctx,
        """const sizes = async (n) => {
          const out = [];
          for await (const piece of new Blob([new Uint8Array(n).fill(7)]).stream()) out.push(piece.length);
          return out;
        };
        const byob = async (stream, view, options) => {
          const { value, done } = await stream.getReader({ mode: 'byob' }).read(view, options);
          return [value.length, done];
        };
        const copy = await new Response(new Blob([new Uint8Array(200000).fill(9)])).arrayBuffer();
        return [
          await sizes(0), await sizes(65536), await sizes(65537), await sizes(200000),
          new Uint8Array(copy).every((b) => b === 9) && copy.byteLength,
          await byob(new Blob([]).stream(), new Uint8Array(4)),
          await byob(new Response('').body, new Uint8Array(4)),
          await byob(new Blob(['0123456789']).stream(), new Uint8Array(100), { min: 100 }),
          await byob(new Blob(['0123456789']).stream(), new Uint8Array(4)),
        ];""",
    )
    assert out == [
        [],
        [65536],
        [65536, 1],
        [65536, 65536, 65536, 3392],
        200000,
        [0, True],
        [0, True],
        [10, True],
        [4, False],
    ]


def test_a_blob_subclass_type_getter_does_not_change_its_type(ctx: Context) -> None:
    # What a Blob carries is the type it was made with (its `type` getter only shows
    # it): a response of it, its blob: URL's answer and a form's part say that one.
    out = settle(
        ctx,
        """class Lying extends Blob { get type() { return 'text/html'; } }
        const blob = new Lying(['<b>x</b>'], { type: 'text/plain' });
        const form = new FormData();
        form.append('f', blob);
        return [
          blob.type,
          new Response(blob).headers.get('content-type'),
          (await fetch(URL.createObjectURL(blob))).headers.get('content-type'),
          form.get('f').type,
          (await new Response(form).text()).includes('Content-Type: text/plain'),
        ];""",
    )
    assert out == ["text/html", "text/plain", "text/plain", "text/plain", True]


@needs_node
def test_data_and_blob_urls_as_node(ctx: Context) -> None:
    ours = settle(ctx, "return JSON.stringify(await (async () => {" + SCHEMES_JS + "})())")
    assert json.loads(ours) == node(SCHEMES_JS)


def test_data_and_blob_urls_never_reach_the_handler(vm: VM) -> None:
    seen: list[str] = []

    def record(request: FetchRequest) -> Any:
        seen.append(request.url)
        return "from the handler"

    ctx = vm.create_context(fetch=record)
    assert settle(ctx, "return (await fetch('data:,local')).text()") == "local"
    assert settle(ctx, "return (await fetch(URL.createObjectURL(new Blob(['b'])))).text()") == "b"
    assert settle(ctx, "return (await fetch('https://example.com/x#f')).url") == "https://example.com/x"
    assert seen == ["https://example.com/x#f"]


def test_a_blob_url_belongs_to_its_context(vm: VM) -> None:
    one, two = vm.create_context(), vm.create_context()
    url = one.eval("URL.createObjectURL(new Blob(['mine']))")
    assert url.startswith("blob:null/") and len(url) == len("blob:null/") + 36
    assert settle(one, f"return (await fetch({url!r})).text()") == "mine"
    message = settle(two, f"try {{ await fetch({url!r}); }} catch (e) {{ return e.cause.message; }}")
    assert "no Blob under" in message
    assert two.eval(f"new URL({url!r}).origin") == "null"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-4", [206, "bytes 0-4/11", "5", "hello"]),  # the end is inclusive (Node 20 gives "hell")
        ("bytes=6-", [206, "bytes 6-10/11", "5", "world"]),
        ("bytes = 6 - 100", [206, "bytes 6-10/11", "5", "world"]),
        ("bytes=-5", [206, "bytes 6-10/11", "5", "world"]),
        ("bytes=-50", [206, "bytes 0-10/11", "11", "hello world"]),
        ("bytes=20-30", "starts past"),
        ("bytes=0-1,3-4", "invalid range"),
        ("bytes=4-2", "invalid range"),
        ("bytes=-0", "empty"),
        ("items=0-1", "invalid range"),
    ],
)
def test_blob_url_ranges(ctx: Context, header: str, expected: Any) -> None:
    out = settle(
        ctx,
        f"""const url = URL.createObjectURL(new Blob(['hello world']));
        try {{
          const r = await fetch(url, {{headers: {{range: {header!r}}}}});
          return [r.status, r.headers.get('content-range'), r.headers.get('content-length'), await r.text()];
        }} catch (e) {{ return e.cause.message; }}""",
    )
    if isinstance(expected, str):
        assert expected in out
    else:
        assert out == expected


def test_a_big_data_url_and_webassembly_from_one(ctx: Context) -> None:
    # A bundler's inlined wasm: WebAssembly.instantiateStreaming is not there, so bytes.
    wasm = "AGFzbQEAAAABBwFgAn9/AX8DAgEABwcBA2FkZAAACgkBBwAgACABagsACgRuYW1lAgMBAAA="
    add = settle(
        ctx,
        f"""const bytes = await (await fetch('data:application/wasm;base64,{wasm}')).arrayBuffer();
        const {{ instance }} = await WebAssembly.instantiate(bytes);
        return instance.exports.add(2, 3);""",
    )
    assert add == 5
    size = settle(
        ctx,
        """const big = 'data:application/octet-stream;base64,' + btoa('x'.repeat(3 << 20));
        return (await (await fetch(big)).arrayBuffer()).byteLength;""",
    )
    assert size == 3 << 20


# --- ky, a real library, as in Node --------------------------------------------------------------

KY_JS = r"""
const api = ky.create({prefixUrl: BASE, retry: 0, headers: {'x-client': 'v8rs-test'}});
const out = {};
out.page1 = await api.get('users').json();
out.page2 = await api.get('users', {searchParams: {page: 2}}).json();
out.echo = await api.post('echo', {json: {hello: 'world', n: [1, 2]}}).json();
out.file = await api.get('file').text();
try {
  await api.get('missing').json();
  out.missing = 'none';
} catch (e) {
  out.missing = [e.name, e.response.status, await e.response.json()];
}
const seen = [];
const hooked = api.extend({hooks: {beforeRequest: [(request) => { seen.push(request.method + ' ' + new URL(request.url).pathname); }]}});
out.hooked = (await hooked.get('users', {searchParams: {page: 1}}).json()).length;
out.seen = seen;
return out;
"""


def ky_source() -> str:
    return (FIXTURES / "ky.js").read_text()


def node_ky(base: str) -> Any:
    assert NODE is not None
    program = (
        f"const BASE = {json.dumps(base)};\n"
        + ky_source()
        + f"\n(async () => {{ {KY_JS} }})().then((out) => process.stdout.write(JSON.stringify(out)));"
    )
    done = subprocess.run([NODE, "-e", program], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def run_ky(ctx: Context, base: str) -> Any:
    ctx.run_script(f"globalThis.BASE = {json.dumps(base)};")
    ctx.run_script(ky_source(), "ky.js")
    return settle(ctx, "return JSON.parse(JSON.stringify(await (async () => {" + KY_JS + "})()))")


def serve_like(server: Server) -> Any:
    """A Python handler that answers what the local server would."""
    root = server

    def answer(request: FetchRequest) -> Any:
        path = request.url.split("://", 1)[1].split("/", 1)[1]
        path, _, query = path.partition("?")
        root.seen.append((request.method, "/" + path, dict(request.headers), request.body or b""))
        if path == "users":
            page = dict(p.split("=") for p in query.split("&") if p).get("page", "1")
            return {"headers": {"content-type": "application/json"}, "body": json.dumps(USERS.get(page, []))}
        if path == "echo":
            body = {
                "method": request.method,
                "type": request.header("content-type"),
                "body": json.loads(request.body or b"null"),
            }
            return {"headers": {"content-type": "application/json"}, "body": json.dumps(body)}
        if path == "file":
            return {
                "headers": {"content-type": "text/plain; charset=utf-8"},
                "body": "a file from the server\n",
            }
        return (404, {"content-type": "application/json"}, '{"error": "not found"}')

    return answer


EXPECTED_KY = {
    "page1": USERS["1"],
    "page2": USERS["2"],
    "echo": {"method": "POST", "type": "application/json", "body": {"hello": "world", "n": [1, 2]}},
    "file": "a file from the server\n",
    "missing": ["HTTPError", 404, {"error": "not found"}],
    "hooked": 3,
    "seen": ["GET /users"],
}


def test_ky_through_a_python_handler(ctx: Context, server: Server) -> None:
    ctx.set_fetch(serve_like(server))
    assert run_ky(ctx, "https://api.example.com/") == EXPECTED_KY
    assert all(headers.get("x-client") == "v8rs-test" for _, _, headers, _ in server.seen)


def test_ky_through_an_allow_list(ctx: Context, server: Server) -> None:
    ctx.set_fetch(allow=[server.origin])
    assert run_ky(ctx, server.origin + "/") == EXPECTED_KY


@needs_node
def test_ky_as_node(ctx: Context, server: Server) -> None:
    expected = node_ky(server.origin + "/")
    assert expected == EXPECTED_KY
    ctx.set_fetch(serve_like(server))
    assert run_ky(ctx, "https://api.example.com/") == expected
