"""The DevTools inspector, driven at the protocol level by a tiny CDP client, and by
Node's own ``node inspect``."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import v8cffi
from v8cffi import VM, Context, V8ArgumentError, V8IOError, V8LifecycleError

ROOT = Path(__file__).resolve().parents[2]


class Cdp:
    """A WebSocket client (RFC 6455, text frames) speaking the DevTools protocol."""

    def __init__(self, url: str) -> None:
        rest = url.removeprefix("ws://")
        address, _, path = rest.partition("/")
        host, _, port = address.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=20)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /{path} HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            assert chunk, "connection closed during the handshake"
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head
        self.next_id = 0
        self.seen: list[dict[str, Any]] = []

    def _recv_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def send_raw(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 1 << 16:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def read(self) -> dict[str, Any]:
        while True:
            b1, b2 = self._recv_exact(2)
            n = b2 & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", self._recv_exact(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", self._recv_exact(8))
            payload = self._recv_exact(n)
            opcode = b1 & 0x0F
            if opcode == 0x8:
                raise ConnectionError("closed by the server")
            if opcode == 0x1:
                message: dict[str, Any] = json.loads(payload)
                return message

    def send(self, method: str, params: dict[str, Any] | None = None) -> int:
        self.next_id += 1
        self.send_raw(json.dumps({"id": self.next_id, "method": method, "params": params or {}}))
        return self.next_id

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        sent = self.send(method, params)
        while True:
            message = self.read()
            if message.get("id") == sent:
                return message
            self.seen.append(message)

    def event(self, method: str) -> dict[str, Any]:
        for i, message in enumerate(self.seen):
            if message.get("method") == method:
                return self.seen.pop(i)
        while True:
            message = self.read()
            if message.get("method") == method:
                return message
            self.seen.append(message)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def inspected(vm: VM, ctx: Context) -> Iterator[tuple[Context, v8cffi.Inspector]]:
    with vm.start_inspector(port=0) as inspector:
        yield ctx, inspector


def get_json(inspector: v8cffi.Inspector, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{inspector.port}{path}", timeout=10) as r:
        assert r.headers["Content-Type"].startswith("application/json")
        return json.load(r)


def test_json_endpoints_have_nodes_shape(inspected: tuple[Context, v8cffi.Inspector]) -> None:
    _, inspector = inspected
    assert inspector.url.startswith(f"ws://127.0.0.1:{inspector.port}/")
    for path in ("/json/list", "/json"):
        (target,) = get_json(inspector, path)
        assert target["webSocketDebuggerUrl"] == inspector.url
        assert target["type"] == "node"
        assert target["id"] == inspector.url.rsplit("/", 1)[1]
        assert target["devtoolsFrontendUrl"].startswith("devtools://devtools/bundled/")
        assert {"title", "url", "description", "faviconUrl"} <= set(target)
    version = get_json(inspector, "/json/version")
    assert version["Protocol-Version"] == "1.1"
    assert "Browser" in version


def test_idle_connections_do_not_keep_clients_out(inspected: tuple[Context, v8cffi.Inspector]) -> None:
    # Connections were read one at a time, each waited for up to 5 s: three idle
    # sockets kept a debugger out for 15 s.
    _, inspector = inspected
    idle = [socket.create_connection(("127.0.0.1", inspector.port)) for _ in range(3)]
    try:
        start = time.perf_counter()
        (target,) = get_json(inspector, "/json/list")
        cdp = Cdp(inspector.url)
        assert cdp.call("Runtime.evaluate", {"expression": "6 * 7"})["result"]["result"]["value"] == 42
        cdp.close()
        assert time.perf_counter() - start < 4
        assert target["webSocketDebuggerUrl"] == inspector.url
    finally:
        for sock in idle:
            sock.close()


def test_of_clients_upgrading_at_once_one_gets_the_debugger(
    inspected: tuple[Context, v8cffi.Inspector],
) -> None:
    # Served concurrently, two handshakes both passed the check and both got 101.
    _, inspector = inspected
    path = inspector.url.split(str(inspector.port), 1)[1]
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{inspector.port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    socks = [socket.create_connection(("127.0.0.1", inspector.port)) for _ in range(6)]
    statuses: list[str] = []

    def upgrade(sock: socket.socket) -> None:
        sock.settimeout(10)
        sock.sendall(request)
        statuses.append(sock.recv(64).split(b" ")[1].decode())

    threads = [threading.Thread(target=upgrade, args=(sock,)) for sock in socks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    for sock in socks:
        sock.close()
    assert sorted(statuses) == ["101"] + ["409"] * 5


def test_breakpoint_by_url_scopes_timeout_and_many_calls(inspected: tuple[Context, v8cffi.Inspector]) -> None:
    ctx, inspector = inspected
    ctx.run_script(
        textwrap.dedent(
            """\
            function render(props) {
              const title = props.title.toUpperCase();
              const count = props.items.length;
              return title + ':' + count;
            }
            """
        ),
        identifier="bundle.js",
    )
    cdp = Cdp(inspector.url)
    cdp.call("Runtime.enable")
    cdp.call("Debugger.enable")
    r = cdp.call("Debugger.setBreakpointByUrl", {"url": "bundle.js", "lineNumber": 3})
    assert r["result"]["locations"], r

    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = ctx.call("render", {"title": "hola", "items": [1, 2, 3]}, timeout=1.0)
        except BaseException as e:  # reported below
            result["error"] = e

    t = threading.Thread(target=run)
    t.start()
    paused = cdp.event("Debugger.paused")["params"]
    frame = paused["callFrames"][0]
    assert frame["functionName"] == "render"
    assert frame["location"]["lineNumber"] == 3
    local = next(s for s in frame["scopeChain"] if s["type"] == "local")
    props = cdp.call(
        "Runtime.getProperties", {"objectId": local["object"]["objectId"], "ownProperties": True}
    )
    values = {p["name"]: p.get("value", {}).get("value") for p in props["result"]["result"]}
    assert values["title"] == "HOLA"
    assert values["count"] == 3
    watch = cdp.call(
        "Debugger.evaluateOnCallFrame", {"callFrameId": frame["callFrameId"], "expression": "title + count"}
    )
    assert watch["result"]["result"]["value"] == "HOLA3"
    time.sleep(1.5)  # past the call's timeout of 1 s, paused: it must not fire
    cdp.call("Debugger.resume")
    t.join(10)
    assert result == {"value": "HOLA:3"}

    # Garbage gets an error answer, not a crash; the inspector lives on.
    cdp.send_raw("{this is not json")
    cdp.send_raw('{"id": "x", "method": 7}')
    r = cdp.call("Runtime.evaluate", {"expression": "1 + 1"})
    assert r["result"]["result"]["value"] == 2

    cdp.call("Debugger.removeBreakpoint", {"breakpointId": "1:3:0:bundle.js"})
    cdp.call("Debugger.setBreakpointsActive", {"active": False})
    for i in range(200):
        assert ctx.call("render", {"title": "x", "items": [0] * i}) == f"X:{i}"
    r = cdp.call("Runtime.evaluate", {"expression": "typeof render"})
    assert r["result"]["result"]["value"] == "function"
    cdp.close()


def test_console_and_contexts_reach_the_client(vm: VM, inspected: tuple[Context, v8cffi.Inspector]) -> None:
    ctx, inspector = inspected
    cdp = Cdp(inspector.url)
    cdp.call("Runtime.enable")
    first = cdp.event("Runtime.executionContextCreated")["params"]["context"]
    other = vm.create_context()
    other.set_up()
    second = cdp.event("Runtime.executionContextCreated")["params"]["context"]
    assert first["id"] != second["id"]
    other.run_script("console.log('from the other', 42)")
    logged = cdp.event("Runtime.consoleAPICalled")["params"]
    assert logged["type"] == "log"
    assert [a.get("value") for a in logged["args"]] == ["from the other", 42]
    assert logged["executionContextId"] == second["id"]
    other.tear_down()
    destroyed = cdp.event("Runtime.executionContextDestroyed")["params"]
    assert destroyed["executionContextId"] == second["id"]
    r = cdp.call("Profiler.enable")
    assert "error" not in r
    cdp.call("Profiler.start")
    ctx.run_script("let s = 0; for (let i = 0; i < 1e5; i++) s += i; s")
    profile = cdp.call("Profiler.stop")["result"]["profile"]
    assert profile["nodes"]
    sent = cdp.send("HeapProfiler.takeHeapSnapshot", {"reportProgress": False})
    chunks = []
    while True:
        message = cdp.read()
        if message.get("id") == sent:
            break
        if message.get("method") == "HeapProfiler.addHeapSnapshotChunk":
            chunks.append(message["params"]["chunk"])
    snapshot = json.loads("".join(chunks))
    assert snapshot["snapshot"]["node_count"] > 0
    cdp.close()


def test_a_message_that_arrives_between_calls_is_served_by_the_next_one(
    inspected: tuple[Context, v8cffi.Inspector],
) -> None:
    # A message that arrives while a call's host function sleeps (no JavaScript left to
    # run in that call) is served before the next, busy call ends. (The lock each call
    # takes wipes V8's pending interrupts; the unit test in inspector.rs forces that case.)
    ctx, inspector = inspected
    cdp = Cdp(inspector.url)
    assert "error" not in cdp.call("Runtime.enable")
    ctx.expose("hostSleep", lambda: time.sleep(0.5))
    ctx.run_script("function sleepThenReturn() { hostSleep() }")
    outcome = []

    def run() -> None:
        ctx.call("sleepThenReturn")
        busy = "var until = Date.now() + 8000; while (!globalThis.served && Date.now() < until) {}"
        outcome.append(ctx.eval(busy + "; globalThis.served"))

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.2)  # inside hostSleep
    reply = cdp.call("Runtime.evaluate", {"expression": "globalThis.served = 42"})
    t.join()
    assert reply["result"]["result"]["value"] == 42
    assert outcome == [42], "served only once the busy call ended"
    cdp.close()


def test_client_leaving_mid_pause_lets_the_call_finish(inspected: tuple[Context, v8cffi.Inspector]) -> None:
    ctx, inspector = inspected
    cdp = Cdp(inspector.url)
    cdp.call("Debugger.enable")
    result: dict[str, Any] = {}
    t = threading.Thread(target=lambda: result.update(v=ctx.eval("debugger; 'done'", timeout=1.0)))
    t.start()
    cdp.event("Debugger.paused")
    time.sleep(1.2)
    cdp.close()
    t.join(10)
    assert result == {"v": "done"}
    # Pausing a busy loop from the client: messages reach running JavaScript.
    cdp = Cdp(inspector.url)
    cdp.call("Debugger.enable")
    t = threading.Thread(
        target=lambda: result.update(loop=ctx.eval("let n = 0; while (n < 3e9) n++; n", timeout=60))
    )
    t.start()
    time.sleep(0.3)
    cdp.send("Debugger.pause")
    paused = cdp.event("Debugger.paused")["params"]
    assert paused["callFrames"]
    cdp.call("Runtime.evaluate", {"expression": "n = 3e9"})
    cdp.call("Debugger.resume")
    t.join(30)
    assert result["loop"] == 3e9
    cdp.close()


def test_errors_second_inspector_bad_host_port(vm: VM, inspected: tuple[Context, v8cffi.Inspector]) -> None:
    _, inspector = inspected
    with pytest.raises(V8LifecycleError):
        vm.start_inspector(port=0)
    with pytest.raises(ValueError):
        vm.start_inspector(port=70000)
    with pytest.raises(ValueError):
        vm.start_inspector(host="")
    for bad in (-1.0, float("nan")):  # NaN waited for good
        with pytest.raises(ValueError):
            inspector.wait_for_client(timeout=bad)
        with pytest.raises(ValueError):
            inspector.wait_for_disconnect(timeout=bad)
    inspector.stop()
    with pytest.raises(V8ArgumentError):
        vm.start_inspector(host="no such host.invalid", port=0)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    with pytest.raises(V8IOError):
        vm.start_inspector(port=busy.getsockname()[1])
    busy.close()
    with pytest.raises(V8LifecycleError):
        inspector.wait_for_client(0.1)
    assert not inspector.is_alive()
    with vm.start_inspector(port=0) as again:
        assert not again.wait_for_client(0.2)
        assert not again.has_client


def test_stop_with_a_client_and_free_the_vm_while_serving(vm: VM, ctx: Context) -> None:
    inspector = vm.start_inspector(port=0)
    cdp = Cdp(inspector.url)
    cdp.call("Debugger.enable")
    t = threading.Thread(target=lambda: ctx.eval("debugger; 1"))
    t.start()
    cdp.event("Debugger.paused")
    inspector.stop()  # resumes the call, closes the connection
    t.join(10)
    assert not t.is_alive()
    with pytest.raises(ConnectionError):
        for _ in range(100):
            cdp.read()
    inspector.stop()
    doomed = vm._platform.create_vm().set_up()
    doomed_ctx = doomed.create_context().set_up()
    inspector = doomed.start_inspector(port=0)
    cdp = Cdp(inspector.url)
    cdp.call("Debugger.enable")
    assert cdp.call("Runtime.evaluate", {"expression": "1"})["result"]["result"]["value"] == 1
    assert inspector.is_alive()
    doomed.tear_down()  # the inspector stops with the VM, no hang
    assert not inspector.is_alive()
    doomed.set_up()  # a new isolate: not the one it served
    assert not inspector.is_alive() and "stopped" in repr(inspector)
    doomed.tear_down()
    del doomed_ctx
    inspector.stop()
    cdp.close()


NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed: `node inspect` cannot be run")
def test_node_inspect_drives_inspect_brk(tmp_path: Path) -> None:
    script = tmp_path / "script.js"
    script.write_text('console.log("hello from the script");\nvar x = 40 + 2;\ndebugger;\nx + 1;\n')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ)
    cli = subprocess.Popen(
        [sys.executable, "-m", "v8cffi", f"--inspect-brk=127.0.0.1:{port}", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert cli.stderr is not None
        line = cli.stderr.readline()
        assert line.startswith(f"Debugger listening on ws://127.0.0.1:{port}/"), line
        node = subprocess.Popen(
            [str(NODE), "inspect", f"127.0.0.1:{port}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert node.stdin is not None and node.stdout is not None
        out = ""

        def expect(text: str, timeout: float = 30) -> None:
            nonlocal out
            end = time.monotonic() + timeout
            while text not in out:
                assert time.monotonic() < end, f"{text!r} not in {out!r}"
                assert node.stdout is not None
                ch = node.stdout.read(1)
                assert ch, f"node ended; {text!r} not in {out!r}"
                out += ch

        expect("Break on start in")
        expect("> 1 console.log")
        expect("debug>")
        node.stdin.write("cont\n")
        node.stdin.flush()
        expect("hello from the script")  # console.log, shown by the client
        expect("break in")
        expect("> 3 debugger;")
        node.stdin.write("exec x\n")
        node.stdin.flush()
        expect("42")
        node.stdin.write("cont\n")
        node.stdin.flush()
        # Like Node, the script's end waits for the debugger to leave.
        waiting = cli.stderr.readline()
        while waiting and not waiting.startswith("Waiting"):
            waiting = cli.stderr.readline()
        assert waiting.startswith("Waiting for the debugger to disconnect..."), waiting
        node.stdin.write(".exit\n")
        node.stdin.flush()
        node.wait(timeout=30)
        stdout, stderr = cli.communicate(timeout=30)
    finally:
        for p in (cli, locals().get("node")):
            if isinstance(p, subprocess.Popen) and p.poll() is None:
                p.kill()
    assert cli.returncode == 0, stderr
    assert stdout == "hello from the script\n"  # the CLI prints the console as Node does
