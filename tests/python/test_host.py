"""Python functions called from JavaScript (Context.expose) and console."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from v8cffi import V8ConversionError, V8JSError, V8LifecycleError, V8TimeoutError
from v8cffi.context import Context
from v8cffi.platform import platform


def test_exposed_functions_get_and_return_values(ctx: Context) -> None:
    seen: list[Any] = []

    def record(*args: Any) -> Any:
        seen.append(args)
        return {"count": len(args), "first": args[0] if args else None}

    ctx.expose("record", record)
    assert ctx.eval("record(1, 'two', [3], {four: 4}, null)") == {"count": 5, "first": 1}
    assert seen == [(1, "two", [3], {"four": 4}, None)]
    assert ctx.eval("record()") == {"count": 0, "first": None}
    assert ctx.run_script("typeof record + ' ' + record.name") == "function record"


def test_none_result_is_null_and_the_function_can_be_kept(ctx: Context) -> None:
    ctx.expose("nothing", lambda: None)
    assert ctx.eval("[nothing(), typeof nothing()]") == [None, "object"]
    ctx.run_script("var keep = nothing")
    assert ctx.eval("keep()") is None


def test_python_exceptions_become_js_errors(ctx: Context) -> None:
    def boom(x: int) -> None:
        raise ValueError(f"bad {x}")

    ctx.expose("boom", boom)
    assert ctx.eval("try { boom(1) } catch (e) { [e instanceof Error, e.message] }") == [
        True,
        "ValueError: bad 1",
    ]
    with pytest.raises(ValueError, match="bad 2") as info:
        ctx.eval("function outer() { return boom(2) } outer()")
    assert isinstance(info.value.__cause__, V8JSError)
    assert "at outer" in (info.value.__cause__.stack or "")
    # A caught one is not raised again later.
    assert ctx.eval("try { boom(3) } catch (e) { 'handled' }") == "handled"
    with pytest.raises(V8JSError, match="plain"):
        ctx.eval("throw new Error('plain')")


def test_exceptions_that_cannot_be_described_are_still_errors(ctx: Context) -> None:
    # Building the message raised, and the call answered `undefined`.
    class Text(str):
        def __format__(self, spec: str) -> str:
            raise RuntimeError

    class Odd(Exception):
        def __str__(self) -> str:
            return Text("odd")

    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError

    def odd() -> None:
        raise Odd

    def broken() -> None:
        raise Broken

    ctx.expose("odd", odd)
    ctx.expose("broken", broken)
    assert ctx.eval("try { odd() } catch (e) { e.message }") == "Odd: odd"
    assert ctx.eval("try { broken() } catch (e) { e.message }") == (
        "Broken: <str() of the exception raised RuntimeError>"
    )
    with pytest.raises(Odd):
        ctx.eval("odd()")


@pytest.mark.parametrize("name", ["undefined", "NaN", "Infinity"])
def test_exposing_as_a_read_only_global_is_an_error(ctx: Context, name: str) -> None:
    # It succeeded and did nothing.
    from v8cffi import V8ArgumentError

    with pytest.raises(V8ArgumentError, match=f"the global '{name}' cannot be set"):
        ctx.expose(name, lambda: 1)
    with pytest.raises(V8ArgumentError, match=f"the global '{name}' cannot be set"):
        ctx.run_module("export const a = 1", "m.js", global_name=name)
    assert ctx.eval(f"typeof {name}") != "function"


def test_results_that_cannot_be_converted_are_js_errors(ctx: Context) -> None:
    ctx.expose("weird", lambda: object())
    with pytest.raises(V8ConversionError):
        ctx.eval("weird()")
    assert ctx.eval("try { weird() } catch (e) { e.message.startsWith('V8ConversionError') }") is True


def test_arguments_that_cannot_be_converted_are_js_errors(ctx: Context) -> None:
    ctx.expose("take", lambda x: x)
    assert ctx.eval("try { take(() => 1) } catch (e) { e.message }").startswith("cannot convert a function")


def test_host_functions_may_call_back_into_their_vm(ctx: Context) -> None:
    ctx.run_script("var base = 100")
    ctx.expose("py_eval", lambda code: ctx.eval(code))
    assert ctx.eval("py_eval('base + 1')") == 101

    # JavaScript -> Python -> JavaScript -> ..., 40 levels deep.
    ctx.expose("py_down", lambda n: 0 if n == 0 else 1 + ctx.call("js_down", n - 1))
    ctx.run_script("function js_down(n) { return n === 0 ? 0 : 1 + py_down(n - 1) }")
    assert ctx.call("js_down", 40) == 40

    # Another context of the same VM, from inside.
    with ctx._vm.create_context() as other:
        ctx.expose("py_other", lambda: other.eval("typeof base"))
        assert ctx.eval("py_other()") == "undefined"

    # Errors cross every level; the outer timeout covers the nested calls.
    ctx.expose("py_fail", lambda: ctx.eval("null.x"))
    assert ctx.eval("try { py_fail() } catch (e) { e.message.includes('TypeError') }") is True
    ctx.expose("py_spin", lambda: ctx.eval("while (true) {}"))
    with pytest.raises(V8TimeoutError):
        ctx.eval("py_spin()", timeout=0.1)
    assert ctx.eval("2") == 2


def test_other_vms_are_used_from_other_threads(ctx: Context) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with platform.create_vm() as other_vm, other_vm.create_context() as other:
        other.run_script("function square(x) { return x * x }")
        # On this thread, other VMs are off limits while the host function runs...
        ctx.expose("square_here", lambda x: other.call("square", x))
        with pytest.raises(V8LifecycleError, match="another VM"):
            ctx.eval("square_here(7)")
        # ...but another thread may use another VM for it.
        with ThreadPoolExecutor(1) as pool:
            ctx.expose("square_there", lambda x: pool.submit(other.call, "square", x).result())
            assert ctx.eval("square_there(7)") == 49


def test_callbacks_from_many_threads_on_many_vms() -> None:
    calls = 0
    lock = threading.Lock()

    def count(i: int) -> int:
        nonlocal calls
        with lock:
            calls += 1
        return i * 2

    errors: list[BaseException] = []

    def work() -> None:
        try:
            with platform.create_vm() as vm, vm.create_context() as c:
                c.expose("count", count)
                total = c.eval("var t = 0; for (var i = 0; i < 200; i++) t += count(i); t")
                assert total == 2 * sum(range(200))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert calls == 800


def test_console_logs_through_logging(ctx: Context, caplog: pytest.LogCaptureFixture) -> None:
    ctx.expose_console()
    with caplog.at_level(logging.DEBUG, logger="v8cffi.console"):
        ctx.run_script(
            "console.log('hi', {a: 1}, [1, 2], undefined); console.warn('careful');"
            "console.error('bad'); console.debug(() => 1)"
        )
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "hi { a: 1 } [ 1, 2 ] undefined"),
        ("WARNING", "careful"),
        ("ERROR", "bad"),
        ("DEBUG", "[Function (anonymous)]"),
    ]
    assert ctx.eval("typeof __v8cffi_console") == "undefined"


def test_console_with_a_handler(ctx: Context) -> None:
    lines: list[tuple[str, str]] = []
    ctx.expose_console(lambda level, text: lines.append((level, text)))
    ctx.run_script("console.info('x', 1)")
    assert lines == [("info", "x 1")]


def test_expose_needs_a_name(ctx: Context) -> None:
    with pytest.raises(ValueError):
        ctx.expose("", print)
