"""The engines compared by the benchmarks, behind one small interface.

Each adapter runs JavaScript the way its library is meant to be used: v8rs through
``Context.run_script`` (string results) and ``Context.call``, PyMiniRacer through
``MiniRacer.eval`` / ``call``, jsrun through ``Runtime.eval`` and a ``JsFunction``.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

RENDER_JS = """
function render(data) {
  var rows = data.items.map(function (item) {
    var state = item.done ? 'done' : 'todo';
    return '<li class="' + state + '">' + item.title + ' (' + item.id + ')</li>';
  });
  var user = '<p>' + data.user.name + ' <' + data.user.email + '></p>';
  return '<h1>' + data.title + '</h1>' + user + '<ul>' + rows.join('') + '</ul>';
}
"""


#: A flat dict of 40 keys (strings and numbers), the argument of the call rows.
FLAT_JS = """
function renderFlat(d) {
  var s = '<dl>';
  for (var k in d) s += '<dt>' + k + '</dt><dd>' + d[k] + '</dd>';
  return s + '</dl>';
}
function same(x) { return x }
"""


def flat_data() -> dict[str, Any]:
    """A dict of 40 keys, numbers and short strings."""
    return {f"key{i}": (i if i % 3 else f"value {i}") for i in range(40)}


def record_data() -> dict[str, Any]:
    """A 40-key record as APIs return them: numbers, floats, short strings and nulls."""
    kinds: list[Any] = [lambda i: i, lambda i: i + 0.25, lambda i: f"value {i}", lambda i: None]
    return {f"key{i}": kinds[i % 4](i) for i in range(40)}


def render_data() -> dict[str, Any]:
    """About 1 KB of JSON: a page title, a user and 12 items."""
    return {
        "title": "Tasks for today",
        "user": {"name": "Ana María", "email": "ana@example.org"},
        "items": [
            {"id": i, "title": f"Task number {i}: write it down", "done": i % 3 == 0} for i in range(12)
        ],
    }


class Engine:
    """One JavaScript context of some library."""

    name = ""

    def call(self, function: str, arg: Any) -> Any:
        """``function(arg)`` with ``arg`` converted to JavaScript and the result back."""
        raise NotImplementedError

    def run(self, code: str) -> Any:
        """Runs ``code`` and returns its result."""
        raise NotImplementedError

    def render(self, data: dict[str, Any]) -> str:
        """Calls the global ``render(data)`` defined by ``RENDER_JS``."""
        raise NotImplementedError

    def close(self) -> None:
        """Releases the context."""


class V8rs(Engine):
    name = "v8rs"
    _platform_lock = threading.Lock()

    def __init__(self) -> None:
        from v8cffi.platform import platform

        with V8rs._platform_lock:
            if not platform.is_alive():
                platform.set_up()
        self.vm = platform.create_vm().set_up()
        self.ctx = self.vm.create_context().set_up()
        self.run_script = self.ctx.run_script

    def run(self, code: str) -> Any:
        return self.run_script(code)

    def render(self, data: dict[str, Any]) -> str:
        return str(self.ctx.call("render", data))

    def call(self, function: str, arg: Any) -> Any:
        return self.ctx.call(function, arg)

    def close(self) -> None:
        self.ctx.tear_down()
        self.vm.tear_down()


class MiniRacer(Engine):
    name = "mini-racer"

    def __init__(self) -> None:
        from py_mini_racer import MiniRacer as _MiniRacer

        self.ctx = _MiniRacer()

    def run(self, code: str) -> Any:
        return self.ctx.eval(code)

    def render(self, data: dict[str, Any]) -> str:
        return str(self.ctx.call("render", data))

    def call(self, function: str, arg: Any) -> Any:
        return self.ctx.call(function, arg)

    def close(self) -> None:
        close = getattr(self.ctx, "close", None)
        if close is not None:
            close()


class Jsrun(Engine):
    name = "jsrun"

    def __init__(self) -> None:
        import jsrun

        self.rt = jsrun.Runtime()
        self._render: Callable[[dict[str, Any]], Any] | None = None
        self._functions: dict[str, Callable[[Any], Any]] = {}

    def run(self, code: str) -> Any:
        return self.rt.eval(code)

    def render(self, data: dict[str, Any]) -> str:
        if self._render is None:
            self._render = self.rt.eval("render")
        return str(self._render(data))

    def call(self, function: str, arg: Any) -> Any:
        found = self._functions.get(function)
        if found is None:
            found = self._functions[function] = self.rt.eval(function)
        return found(arg)

    def close(self) -> None:
        close = getattr(self.rt, "close", None)
        if close is not None:
            close()


#: Import name of each peer, to tell whether it is installed.
PEER_MODULES = {MiniRacer: "py_mini_racer", Jsrun: "jsrun"}
