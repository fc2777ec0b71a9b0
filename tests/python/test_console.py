"""``console.*`` prints as Node's: its text (Node's util.format / util.inspect) goes to
the VM's handler — the ``v8cffi.console`` logger unless set — and per context to
``expose_console``'s handler."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from v8cffi import WEB_FEATURES
from v8cffi.context import Context
from v8cffi.platform import platform
from v8cffi.vm import VM

CASES = Path(__file__).parent.parent / "fixtures" / "console"


def capture(vm: VM) -> dict[str, list[str]]:
    """Sets ``vm``'s console to collect lines per stream, as Node writes them."""
    out: dict[str, list[str]] = {"stdout": [], "stderr": []}
    vm.set_console(lambda level, text: out["stderr" if level in ("warn", "error") else "stdout"].append(text))
    return out


def lines(out: list[str]) -> str:
    return "".join(text + "\n" for text in out)


def test_every_case_prints_as_node_20_does(vm: VM, ctx: Context) -> None:
    out = capture(vm)
    ctx.run_script((CASES / "cases.js").read_text(), "cases.js")
    ctx.run_until_idle()
    assert lines(out["stdout"]) == (CASES / "expected.stdout").read_text()
    assert lines(out["stderr"]) == (CASES / "expected.stderr").read_text()


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_expected_output_is_node_20s() -> None:
    version = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout
    if not version.startswith("v20."):
        pytest.skip(f"the fixture was written by Node 20; this is Node {version.strip()}")
    proc = subprocess.run(["node", "cases.js"], cwd=CASES, capture_output=True, text=True, check=True)
    assert proc.stdout == (CASES / "expected.stdout").read_text()
    assert proc.stderr == (CASES / "expected.stderr").read_text()


def test_promises_proxies_and_collections_show_what_v8_knows(vm: VM, ctx: Context) -> None:
    out = capture(vm)
    ctx.run_script(
        """
        const p = Promise.reject(new RangeError('r')); p.catch(() => {});
        console.log(Promise.resolve([1]), p instanceof Promise, new Promise(() => {}));
        console.log(new Proxy([1, 2], {}), Array.isArray(new Proxy([], {})));
        const key = {};
        console.dir(new WeakMap([[key, 'v']]), { showHidden: true });
        console.log(new Map([[1, 'a']]).values());
        """
    )
    assert out["stdout"][0] == "Promise { [ 1 ] } true Promise { <pending> }"
    assert out["stdout"][1] == "[ 1, 2 ] true"
    assert out["stdout"][2] == "WeakMap { {} => 'v' }"
    assert out["stdout"][3] == "[Map Iterator] { 'a' }"


def test_trace_time_and_count_write_like_node(vm: VM, ctx: Context) -> None:
    out = capture(vm)
    ctx.run_script(
        "function where() { console.trace('here %d', 1); }\nwhere();\n"
        "console.time('t'); console.timeLog('t', 'extra', {a: 1});"
        "console.timeEnd('t'); console.timeEnd('t');"
        "console.time('t'); console.time('t'); console.countReset('none');",
        "trace.js",
    )
    trace = out["stderr"][0].split("\n")
    assert trace[0] == "Trace: here 1"
    assert trace[1] == "    at where (trace.js:1:28)"
    assert re.fullmatch(r"t: \d+(\.\d+)?ms extra \{ a: 1 \}", out["stdout"][0])
    assert re.fullmatch(r"t: \d+(\.\d+)?ms", out["stdout"][1])
    assert out["stderr"][1:] == [
        "Warning: No such label 't' for console.timeEnd()",
        "Warning: Label 't' already exists for console.time()",
        "Warning: Count for 'none' does not exist",
    ]


def test_by_default_console_goes_to_the_logger(ctx: Context, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="v8cffi.console"):
        ctx.run_script(
            "console.log('hi', {a: 1}, [1, 2], undefined); console.warn('careful');"
            "console.error('bad'); console.debug(() => 1); console.info('%s!', 'fmt')"
        )
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "hi { a: 1 } [ 1, 2 ] undefined"),
        ("WARNING", "careful"),
        ("ERROR", "bad"),
        ("DEBUG", "[Function (anonymous)]"),
        ("INFO", "fmt!"),
    ]
    assert all(r.name == "v8cffi.console" for r in caplog.records)


def test_set_console_switches_and_none_restores_the_logger(
    vm: VM, ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    out = capture(vm)
    ctx.run_script("console.log(1)")
    vm.set_console(None)
    with caplog.at_level(logging.INFO, logger="v8cffi.console"):
        ctx.run_script("console.log(2)")
    assert out["stdout"] == ["1"]
    assert [r.getMessage() for r in caplog.records] == ["2"]
    with pytest.raises(TypeError):
        vm.set_console("print")  # type: ignore[arg-type]


def test_a_failing_handler_is_logged_and_the_script_goes_on(
    vm: VM, ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(level: str, text: str) -> None:
        raise RuntimeError("handler broke")

    vm.set_console(broken)
    with caplog.at_level(logging.ERROR, logger="v8cffi"):
        assert ctx.eval("console.log('x'); 42") == 42
    assert "the console handler failed" in caplog.text
    assert "handler broke" in caplog.text


def test_the_handler_survives_a_tear_down_and_set_up(vm: VM) -> None:
    out = capture(vm)
    vm.tear_down()
    vm.set_up()
    with vm.create_context() as ctx:
        ctx.run_script("console.log('again')")
    assert out["stdout"] == ["again"]


def test_expose_console_redirects_one_context(vm: VM) -> None:
    out = capture(vm)
    mine: list[tuple[str, str]] = []
    with vm.create_context() as a, vm.create_context() as b:
        a.expose_console(lambda level, text: mine.append((level, text)))
        a.run_script("console.warn('to a', {x: [1]})")
        b.run_script("console.warn('to the vm')")
    assert mine == [("warn", "to a { x: [ 1 ] }")]
    assert out["stderr"] == ["to the vm"]


def test_a_bare_context_is_silent_and_expose_console_still_works(vm: VM) -> None:
    out = capture(vm)
    with vm.create_context(web=False) as bare, vm.create_context(web=WEB_FEATURES - {"console"}) as without:
        bare.run_script("console.log('nothing')")
        without.run_script("console.log('nothing either')")
        mine: list[tuple[str, str]] = []
        bare.expose_console(lambda level, text: mine.append((level, text)))
        bare.run_script("console.log('json', {a: 1})")
        assert bare.eval("typeof __v8cffi_console") == "undefined"
    assert out == {"stdout": [], "stderr": []}
    assert mine == [("log", 'json {"a":1}')]


def test_vms_in_threads_each_reach_their_own_handler() -> None:
    results: dict[int, list[str]] = {}

    def work(i: int) -> None:
        with platform.create_vm() as vm, vm.create_context() as ctx:
            got: list[str] = []
            vm.set_console(lambda level, text: got.append(text))
            ctx.run_script(f"for (let n = 0; n < 200; n++) console.log({i}, n, {{ n }})")
            results[i] = got

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        assert results[i] == [f"{i} {n} {{ n: {n} }}" for n in range(200)]


def test_console_is_a_web_group() -> None:
    assert "console" in WEB_FEATURES
