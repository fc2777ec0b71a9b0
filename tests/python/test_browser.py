"""The streaming SSR example in a real browser: Debian's headless Chromium, driven over the
DevTools protocol, loads the page examples/streaming_ssr.py streams under uvicorn; the
server-rendered HTML is there, React hydrates it, and the console shows no error."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_inspector import Cdp

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# What React 18 reports when hydration fails: its development messages, and the codes of the
# production build's minified errors (418 UI mismatch, 419 server error, 421/422 a Suspense
# boundary, 423 the root switched to client rendering, 425 text mismatch).
HYDRATION_ERROR = re.compile(
    r"hydrat|did not match|Minified React error #(418|419|421|422|423|425)", re.IGNORECASE
)

pytestmark = [
    pytest.mark.skipif(
        not (EXAMPLES / "streaming_ssr.py").exists(), reason="needs the source tree's examples/"
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("uvicorn") is None or importlib.util.find_spec("starlette") is None,
        reason="the example serves with starlette and uvicorn (pip install starlette uvicorn)",
    ),
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="needs Chromium (Debian: apt-get install chromium; tests/run_all.sh installs it when it can)",
    ),
]


def wait_for(what: str, probe: Any, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The example under uvicorn on a free loopback port (a socket handed over with --fd)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(EXAMPLES), "streaming_ssr:app"]
    command += ["--fd", str(sock.fileno()), "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(command, env=env, pass_fds=[sock.fileno()])
    sock.close()
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, f"the example's server exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(f"{url}/client.js", timeout=5) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    try:
        wait_for("the example's server", up, timeout=30)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cdp]:
    """A tab of headless Chromium, with the Runtime, Log and Page domains on."""
    assert CHROMIUM is not None
    profile = tmp_path_factory.mktemp("chromium")
    command = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0"]
    command += [f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check", "about:blank"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    active = profile / "DevToolsActivePort"
    cdp = None
    try:

        def listening() -> bool:
            if proc.poll() is not None:
                stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                pytest.skip(f"Chromium does not start here ({proc.returncode}): {stderr[-500:]}")
            return active.exists() and len(active.read_text().splitlines()) >= 2

        wait_for("Chromium's DevTools port", listening, timeout=20)
        port = int(active.read_text().splitlines()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as response:
            targets = json.load(response)
        cdp = Cdp(next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page"))
        for domain in ("Runtime", "Log", "Page"):
            assert "error" not in cdp.call(f"{domain}.enable")
        yield cdp
    finally:
        if cdp is not None:
            cdp.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def evaluate(cdp: Cdp, expression: str) -> Any:
    reply = cdp.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
    assert "exceptionDetails" not in reply["result"], reply
    return reply["result"]["result"].get("value")


def load(cdp: Cdp, url: str) -> None:
    """Navigates and waits for the load event and for the streamed late content."""
    cdp.seen.clear()
    reply = cdp.call("Page.navigate", {"url": url})
    assert "errorText" not in reply["result"], reply
    cdp.event("Page.loadEventFired")
    wait_for("the late content", lambda: evaluate(cdp, "document.getElementById('late') !== null"))


def messages(cdp: Cdp) -> list[tuple[str, str]]:
    """(level, text) of every console call, uncaught exception and log entry seen."""
    found = []
    for event in cdp.seen:
        params = event.get("params", {})
        if event.get("method") == "Runtime.consoleAPICalled":
            text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params["args"])
            found.append((params["type"], text))
        elif event.get("method") == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            found.append(
                ("exception", f"{details['text']} {details.get('exception', {}).get('description', '')}")
            )
        elif event.get("method") == "Log.entryAdded":
            found.append((params["entry"]["level"], params["entry"]["text"]))
    return found


def test_the_page_renders_and_hydrates_without_errors(server: str, page: Cdp) -> None:
    load(page, f"{server}/?title=Browser")
    wait_for("hydration", lambda: evaluate(page, "document.documentElement.dataset.hydrated") == "true")
    # The HTML the server rendered, with the late content moved into the Suspense boundary.
    assert evaluate(page, "document.querySelector('h1').textContent") == "Browser"
    assert evaluate(page, "document.title") == "Browser"
    assert evaluate(page, "document.querySelectorAll('li').length") == 3
    assert evaluate(page, "document.getElementById('late').textContent") == "Delivered after the timer"
    assert "Loading" not in evaluate(page, "document.body.textContent")
    # React owns the server's nodes now (its fiber is on them).
    assert evaluate(page, "Object.keys(document.querySelector('h1')).some(k => k.startsWith('__reactFiber'))")
    time.sleep(0.2)  # anything React reports after the commit
    found = messages(page)
    assert not [m for m in found if HYDRATION_ERROR.search(m[1])], found
    assert not [m for m in found if m[0] in ("error", "exception", "assert")], found


def test_a_hydration_mismatch_would_be_seen(server: str, page: Cdp) -> None:
    """The check above can fail: hydrating with another title than the server's is reported."""
    script = page.call(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": "Object.defineProperty(window, '__SSR_PROPS__', "
            "{set(p) { this._p = {...p, title: 'Not the server'}; }, get() { return this._p; }})"
        },
    )["result"]["identifier"]
    try:
        load(page, f"{server}/?title=Browser")
        wait_for(  # evaluating reads the events that came meanwhile
            "React's report",
            lambda: evaluate(page, "1") and [m for m in messages(page) if HYDRATION_ERROR.search(m[1])],
        )
    finally:
        page.call("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script})
