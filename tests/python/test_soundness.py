"""Ownership V8 cannot outlive: each reproducer of the soundness review, as a test named
after what it protects. The ones that crashed the process run in a child process, so a
regression fails the test instead of ending the suite."""

from __future__ import annotations

import gc
import resource
import threading
import time

import pytest
from conftest import run_python

from v8cffi import V8ConversionError, V8Error, V8JSError, V8TimeoutError
from v8cffi.context import Context
from v8cffi.platform import platform
from v8cffi.vm import VM

LEAVE_WORK = "Promise.resolve().then(() => f()); while (true) {}"


def test_a_stopped_calls_microtask_never_runs_in_another_context(vm: VM) -> None:
    a, b = vm.create_context().set_up(), vm.create_context().set_up()
    calls: list[str] = []
    a.expose("f", lambda: calls.append("a.f"))
    with pytest.raises(V8TimeoutError):
        a.eval(LEAVE_WORK, timeout=0.1)
    assert b.eval("1 + 1") == 2
    b.run_until_idle()
    assert calls == []  # not in b's calls
    a.run_script("0")
    assert calls == ["a.f"]  # the context's own next call runs what it left


def test_tearing_down_a_context_with_queued_work_cannot_crash_its_vm() -> None:
    proc = run_python(
        """
        import gc
        from v8cffi import V8TimeoutError
        from v8cffi.platform import platform
        platform.set_up()
        vm = platform.create_vm().set_up()
        a, b = vm.create_context().set_up(), vm.create_context().set_up()
        a.expose("f", lambda: 1)
        try:
            a.eval("Promise.resolve().then(() => f()); while (true) {}", timeout=0.2)
        except V8TimeoutError:
            print("stopped")
        a.tear_down()
        gc.collect()
        print(b.eval("1+1"))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["stopped", "2"]


def test_a_timer_queued_by_a_torn_down_context_does_not_spin_another() -> None:
    proc = run_python(
        """
        import gc, time
        from v8cffi import V8TimeoutError
        from v8cffi.platform import platform
        platform.set_up()
        vm = platform.create_vm().set_up()
        a, b = vm.create_context().set_up(), vm.create_context().set_up()
        try:
            spin = "setTimeout(() => { while (true) {} }, 0)"
            a.run_script(f"Promise.resolve().then(() => {spin}); while (true) {{}}", timeout=0.2)
        except V8TimeoutError:
            print("stopped")
        a.tear_down()
        gc.collect()
        start = time.monotonic()
        print(b.run_script("1+1"))
        b.run_until_idle(timeout=5)
        print(time.monotonic() - start < 2)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["stopped", "2", "True"]


def test_initial_heap_size_without_a_maximum() -> None:
    for initial in (1, 8 << 20, 64 << 20):
        with platform.create_vm(initial_heap_size=initial) as vm, vm.create_context() as ctx:
            assert ctx.eval("[1, 2].length") == 2
            assert vm.heap_stats()["heap_size_limit"] >= initial
    proc = run_python(
        """
        from v8cffi.platform import platform
        platform.set_up()
        vm = platform.create_vm(initial_heap_size=1 << 40).set_up()  # larger than the default maximum
        print(vm.create_context().eval("6 * 7"))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["42"]


def _nested(kind: str, depth: int = 510) -> str:
    return f"(() => {{ let v = 1; for (let i = 0; i < {depth}; i++) v = {kind}; return v }})()"


@pytest.mark.parametrize("kind", ["new Set([v])", "new Map([[1, v]])", "[v]", "({a: v})"])
def test_deep_values_on_a_small_thread_are_an_error_not_a_crash(vm: VM, kind: str) -> None:
    outcome: list[object] = []

    def convert() -> None:
        ctx = vm.create_context().set_up()
        try:
            value = ctx.eval(_nested(kind))
            outcome.append(type(value).__name__)
        except V8ConversionError as e:
            outcome.append(str(e))
        ctx.expose("echo", lambda x: x)
        try:  # deep arguments into a host function, and back
            outcome.append(ctx.eval(f"typeof echo({_nested(kind, 400)})"))
        except V8Error as e:
            outcome.append(type(e).__name__)

    previous = threading.stack_size(160 * 1024)
    try:
        thread = threading.Thread(target=convert)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(previous)
    assert len(outcome) == 2, outcome
    assert outcome[0] in ("list", "dict", "set") or "nests" in str(outcome[0]), outcome


def test_deep_values_convert_on_a_normal_thread(ctx: Context) -> None:
    value = ctx.eval(_nested("[v]"))
    for _ in range(510):
        value = value[0]
    assert value == 1
    assert ctx.call("(x) => x.length", [[[[1]]]]) == 1


def test_a_resolver_may_load_modules_in_another_context_of_the_vm(vm: VM) -> None:
    main, other = vm.create_context().set_up(), vm.create_context().set_up()
    loaded: list[object] = []

    def resolver(specifier: str, referrer: str) -> str:
        if specifier == "./inner.js":
            loaded.append(other.run_module("export const x = 1", "other.js"))
            return "export const inner = 5"
        raise KeyError(specifier)

    result = main.run_module(
        "import { inner } from './inner.js'; export const v = inner * 2", "main.js", resolver=resolver
    )
    assert result == {"v": 10}
    assert loaded == [{"x": 1}]


EMPTY_WASM = "new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])"


def test_async_webassembly_settles(ctx: Context) -> None:
    assert ctx.eval(
        f"WebAssembly.compile({EMPTY_WASM}).then((m) => m instanceof WebAssembly.Module)", await_promise=True
    )
    assert (
        ctx.eval(
            f"WebAssembly.instantiate({EMPTY_WASM}).then((r) => Object.keys(r).join())", await_promise=True
        )
        == "module,instance"
    )
    ctx.run_script(f"var done = false; WebAssembly.instantiate({EMPTY_WASM}).then(() => {{ done = true }})")
    ctx.run_until_idle(timeout=5)
    assert ctx.eval("done") is True


def test_a_caught_host_exception_is_not_raised_by_a_later_error(ctx: Context) -> None:
    def boom() -> None:
        raise KeyError("k")

    ctx.expose("boom", boom)
    assert ctx.eval("try { boom() } catch (e) { e.message }") == "KeyError: 'k'"
    with pytest.raises(V8JSError) as later:
        ctx.eval("throw new Error(\"KeyError: 'k'\")")
    assert type(later.value) is V8JSError
    with pytest.raises(KeyError) as uncaught:
        ctx.eval("boom()")
    assert isinstance(uncaught.value.__cause__, V8JSError)


def test_a_call_waiting_for_a_timer_does_not_block_the_vm(vm: VM) -> None:
    waiting, other = vm.create_context().set_up(), vm.create_context().set_up()
    result: list[object] = []

    def wait() -> None:
        result.append(
            waiting.eval("new Promise((r) => setTimeout(() => r('late'), 600))", await_promise=True)
        )

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.1)
    start = time.monotonic()
    assert other.eval("6 * 7") == 42
    assert waiting.eval("'same context, meanwhile'") == "same context, meanwhile"
    assert time.monotonic() - start < 0.3
    thread.join()
    assert result == ["late"]


def test_terminate_reaches_a_call_waiting_for_a_timer(vm: VM) -> None:
    ctx = vm.create_context().set_up()
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            ctx.eval("new Promise((r) => setTimeout(r, 10000))", await_promise=True)
        except V8Error as e:
            errors.append(e)

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.1)
    start = time.monotonic()
    assert vm.terminate()
    thread.join()
    assert time.monotonic() - start < 1
    assert [type(e).__name__ for e in errors] == ["V8TerminatedError"]
    assert ctx.eval("1") == 1


def test_self_is_the_global_object(vm: VM) -> None:
    with vm.create_context() as ctx:
        assert ctx.eval("self === globalThis") is True
    with vm.create_context(web=False) as bare:  # a bare V8 context stays bare
        assert bare.eval("typeof self") == "undefined"


def test_webassembly_memory_is_bounded_by_max_heap_size() -> None:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with platform.create_vm(max_heap_size=64 << 20) as vm, vm.create_context() as ctx:
        with pytest.raises(V8JSError, match="RangeError"):
            ctx.eval("new WebAssembly.Memory({initial: 16384})")  # 1 GB
        assert ctx.eval("new WebAssembly.Memory({initial: 10}).buffer.byteLength") == 10 * 65536
        assert (
            ctx.eval(
                "(() => { const m = new WebAssembly.Memory({initial: 1}); "
                "try { m.grow(2000); return 'grew' } catch (e) { return e.name } })()"
            )
            == "RangeError"
        )
        big_module = "new Uint8Array([0,97,115,109,1,0,0,0, 5,5,1,0,0x80,0x80,0x01])"  # (memory 16384)
        with pytest.raises(V8JSError, match="more than the VM's max_heap_size"):
            ctx.eval(f"new WebAssembly.Module({big_module})")
        assert "RangeError" in ctx.eval(
            f"WebAssembly.instantiate({big_module}).then(() => 'ok', (e) => e.name)", await_promise=True
        )
        # A module's own memory, exported, can grow only within the budget.
        grows = "new Uint8Array([0,97,115,109,1,0,0,0, 5,3,1,0,1, 7,5,1,1,109,2,0])"
        assert ctx.eval(
            f"(async () => {{ const {{instance}} = await WebAssembly.instantiate({grows}); "
            "const m = instance.exports.m; "
            "try { m.grow(2000) } catch (e) { return [e.name, m.grow(10)] } })()",
            await_promise=True,
        ) == ["RangeError", 1]
        for _ in range(20):  # memories nothing reaches give their reservation back
            assert ctx.eval("new WebAssembly.Memory({initial: 512, maximum: 1024}).buffer.byteLength") > 0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 512 << 10  # KiB


def _rss_mib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() >> 20


def test_torn_down_contexts_give_their_webassembly_memory_back_before_others_take_it() -> None:
    # Each context fills 62.5 MiB of a 64 MiB budget and is torn down holding it: the
    # next one gets its reservation only once those pages are gone.
    vm = platform.create_vm(max_heap_size=64 << 20).set_up()
    fill = "globalThis.m = new WebAssembly.Memory({initial: 1000}); new Uint8Array(m.buffer).fill(1); 0"
    start = _rss_mib()
    peak = 0
    for _ in range(6):
        ctx = vm.create_context().set_up()
        ctx.expose("rss", _rss_mib)
        ctx.run_script(fill)
        peak = max(peak, ctx.eval("rss()") - start)
        ctx.tear_down()
        del ctx
    vm.tear_down()
    assert peak < 100, f"{peak} MiB resident for a 64 MiB budget"


def test_a_context_freed_from_inside_another_contexts_finalizer_does_not_deadlock() -> None:
    # Freeing `outer` frees its exposed closure, which holds the last reference to
    # `inner`, whose exposed function the library then finalizes too.
    proc = run_python(
        """
        import gc
        from v8cffi.platform import platform
        platform.set_up()
        vm = platform.create_vm().set_up()

        def make():
            inner = vm.create_context().set_up()
            inner.expose("g", lambda: 1)
            return lambda: inner

        outer = vm.create_context().set_up()
        outer.expose("f", make())
        outer.tear_down()
        del outer
        gc.collect()
        print("done")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"


def test_a_host_exception_whose_str_fails_is_still_an_error(ctx: Context) -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text")

    def fail() -> None:
        raise Unprintable()

    ctx.expose("fail", fail)
    assert ctx.eval("try { fail(); 'returned' } catch (e) { e.message }") == (
        "Unprintable: <str() of the exception raised RuntimeError>"
    )
    with pytest.raises(Unprintable):
        ctx.eval("fail()")


def test_host_exceptions_caught_in_a_loop_do_not_pile_up(ctx: Context) -> None:
    from v8cffi import _native

    def boom() -> None:
        raise KeyError("k")

    ctx.expose("boom", boom)
    ctx.expose("held", _native.lent_count)
    gc.collect()  # earlier tests' objects go now, not during the count
    before = _native.lent_count()
    most = ctx.eval(
        "let most = 0; "
        "for (let i = 0; i < 5000; i++) { try { boom() } catch {} most = Math.max(most, held()) } most"
    )
    assert most - before <= 1024 + 1
    assert _native.lent_count() == before
    with pytest.raises(KeyError):  # the newest still goes with its exception
        ctx.eval(
            "let last; for (let i = 0; i < 2000; i++) { try { boom() } catch (e) { last = e } } throw last"
        )
