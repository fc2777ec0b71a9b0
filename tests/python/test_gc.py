"""Objects released by the garbage collector, in any order, never crash the process."""

from __future__ import annotations

import contextlib
import gc
import os
import random
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import v8cffi
from v8cffi import V8LifecycleError, _native
from v8cffi.platform import platform


def settle() -> tuple[int, int]:
    for _ in range(5):
        gc.collect()
    return v8cffi.live_counts()


def test_objects_dropped_in_random_order() -> None:
    base = settle()
    rng = random.Random(1234)
    objects: list[object] = []
    for _ in range(6):
        vm = platform.create_vm().set_up()
        objects.append(vm)
        for _ in range(3):
            ctx = vm.create_context()
            ctx.run_script("var big = new Array(1000).fill('x')")
            objects.append(ctx)
    del vm, ctx
    assert v8cffi.live_counts() == (base[0] + 6, base[1] + 18)
    rng.shuffle(objects)
    while objects:
        del objects[rng.randrange(len(objects))]
        if rng.random() < 0.3:
            gc.collect()
    assert settle() == base


def test_a_context_outlives_its_dropped_vm_object() -> None:
    base = settle()
    ctx = platform.create_vm().set_up().create_context()
    ctx.run_script("var x = 1")
    gc.collect()
    # The context keeps its VM alive; it still works.
    assert ctx.run_script("x + 1") == "2"
    del ctx
    assert settle() == base


@pytest.mark.parametrize("kind", ["closure", "fetch", "console", "both"])
def test_host_functions_that_refer_to_their_context_leave_nothing_behind(kind: str) -> None:
    # The library holds host functions weakly (the Context object holds them): a
    # closure over the context, or the fetch handler (which settles through the
    # context's handle), made a cycle through native code that kept the VM and the
    # context for good.
    base = settle()

    def make() -> None:
        ctx = platform.create_vm().set_up().create_context()
        if kind in ("closure", "both"):
            ctx.expose("f", lambda: ctx.eval("1"))
            assert ctx.eval("f()") == 1
        if kind in ("fetch", "both"):
            ctx.set_fetch(lambda request: (200, {}, b"ok"))
            assert ctx.eval("fetch('https://x/').then(r => r.text())", await_promise=True) == "ok"
        if kind in ("console", "both"):
            ctx.expose_console(lambda level, text: ctx.eval("0"))
            ctx.run_script("console.log('hi')")

    for _ in range(4):
        make()
    assert settle() == base


def test_a_host_function_called_after_its_context_object_went_is_an_error() -> None:
    vm = platform.create_vm().set_up()
    ctx = vm.create_context()
    ctx.expose("f", lambda: 1)
    ctx._host_functions.clear()  # as when the Context object is collected
    for _ in range(3):
        gc.collect()  # (PyPy clears weak references at a collection)
    with pytest.raises(V8LifecycleError, match="torn down or garbage-collected"):
        ctx.eval("f()")
    assert ctx.eval("try { f() } catch (e) { e.message }") == (
        "V8LifecycleError: the context of this function was torn down or garbage-collected"
    )
    vm.tear_down()


def test_objects_dropped_on_other_threads() -> None:
    base = settle()
    vm = platform.create_vm().set_up()
    contexts = [vm.create_context().set_up() for _ in range(4)]
    del vm

    def drop(i: int) -> None:
        contexts[i] = None  # type: ignore[call-overload]
        gc.collect()

    threads = [threading.Thread(target=drop, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert settle() == base


def test_tear_down_while_another_thread_runs() -> None:
    vm = platform.create_vm().set_up()
    ctx = vm.create_context().set_up()
    started = threading.Event()
    outcome: list[str] = []

    def run() -> None:
        started.set()
        try:
            outcome.append(ctx.run_script("var s = 0; for (var i = 0; i < 3e7; i++) s += i; 'finished'"))
        except V8LifecycleError:
            outcome.append("torn down before the call began")  # the race went the other way

    t = threading.Thread(target=run)
    t.start()
    started.wait()
    ctx.tear_down()  # the running call keeps the handle until it returns
    vm.tear_down()
    t.join()
    assert outcome in (["finished"], ["torn down before the call began"])
    assert not ctx.is_alive()


def _echo_context() -> tuple[v8cffi.VM, v8cffi.Context]:
    vm = platform.create_vm().set_up()
    ctx = vm.create_context().set_up()
    ctx.run_script("function echo(s) { return s }")
    return vm, ctx


_TEXT = "abcdefgh" * 4 + "0"


@contextlib.contextmanager
def _finalizers_calling(action: Callable[[], object], limit: int) -> Iterator[list[int]]:
    """Inside: collections (at almost any allocation) run finalizers that each call
    ``action``, until ``limit`` finalizers were made. Yields the list of those made."""
    made: list[int] = []

    class CallsWhenCollected:
        def __init__(self) -> None:
            self.me = self  # a cycle: freed by a collection, at any allocation
            made.append(1)

        def __del__(self) -> None:
            if len(made) < limit:
                action()
                CallsWhenCollected()

    old = gc.get_threshold()
    CallsWhenCollected()
    gc.set_threshold(1, 1, 1)
    try:
        yield made
    finally:
        gc.set_threshold(*old)
        made.extend([1] * limit)  # the last finalizer makes no more


@contextlib.contextmanager
def _alarms_calling(action: Callable[[], object]) -> Iterator[Callable[[], None]]:
    """Inside: a SIGALRM handler calls ``action`` every 0.2 ms, once the loop moved on
    since its last call (a handler slower than the timer would nest or starve the loop).
    Yields the function the loop calls at each step; checks that the handler ran."""
    progress = [0, -1]  # the loop's steps; the step when the handler last called
    calls = 0

    def on_alarm(signum: int, frame: object) -> None:
        nonlocal calls
        if progress[0] == progress[1]:
            return
        progress[1] = progress[0]
        calls += 1
        action()

    def step() -> None:
        progress[0] += 1

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
    try:
        yield step
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, previous)
    assert calls > 0, "the handler ran"


@pytest.mark.skipif(not hasattr(gc, "set_threshold"), reason="CPython's collector (PyPy has no thresholds)")
def test_a_finalizer_calling_while_a_result_is_read_does_not_overwrite_it() -> None:
    # A finalizer run by a collection may call into the library between a call and the
    # reading of its result: it gets result buffers of its own.
    vm, ctx = _echo_context()
    with _finalizers_calling(lambda: ctx.call("echo", "Z" * 50), 3000) as made:
        for _ in range(500):
            assert ctx.eval(f"'{_TEXT}'") == _TEXT
            assert ctx.call("echo", _TEXT) == _TEXT
            assert ctx.eval(f"({{a: '{_TEXT}'}})") == {"a": _TEXT}
            assert ctx.run_script(f"'{_TEXT}'") == _TEXT
    assert len(made) > 100, "the finalizers ran"
    vm.tear_down()


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs signal.setitimer")
def test_a_signal_handler_calling_while_a_result_is_read_does_not_overwrite_it() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers run on the main thread")
    vm, ctx = _echo_context()
    with _alarms_calling(lambda: ctx.call("echo", "Y" * 40)) as step:
        for _ in range(20_000):
            assert ctx.call("echo", _TEXT) == _TEXT
            step()
    vm.tear_down()


def _module_and_error_calls(ctx: v8cffi.Context, throwing: Path, tag: str) -> None:
    """A module's namespace (``_value``) and a failing error-only call (``call``: the
    cached ``load_libs`` is one C call)."""
    assert ctx.run_module(f"export const t = '{tag}' + '{_TEXT}'") == {"t": tag + _TEXT}
    with pytest.raises(v8cffi.V8JSError, match=f"thrown {tag}"):
        ctx.load_libs([throwing], cache=True, cache_dir=throwing.parent)


def _throwing_files(folder: Path) -> dict[str, Path]:
    """A script per tag that throws ``thrown <tag>``."""
    files = {}
    for tag in ("A", "B"):
        files[tag] = folder / f"throws_{tag}.js"
        files[tag].write_text(f"throw new Error('thrown {tag}')")
    return files


@pytest.mark.skipif(not hasattr(gc, "set_threshold"), reason="CPython's collector (PyPy has no thresholds)")
def test_a_finalizer_making_module_and_error_only_calls_does_not_corrupt_them(tmp_path: Path) -> None:
    # run_module and the calls that report only an error share out-params per thread too:
    # a call made while they are in use gets its own.
    vm, ctx = _echo_context()
    throws = _throwing_files(tmp_path)
    with _finalizers_calling(lambda: _module_and_error_calls(ctx, throws["B"], "B"), 2000) as made:
        for _ in range(300):
            _module_and_error_calls(ctx, throws["A"], "A")
    assert len(made) > 100, "the finalizers ran"
    vm.tear_down()


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs signal.setitimer")
def test_a_signal_handler_making_module_and_error_only_calls_does_not_corrupt_them(tmp_path: Path) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers run on the main thread")
    vm, ctx = _echo_context()
    throws = _throwing_files(tmp_path)
    with _alarms_calling(lambda: _module_and_error_calls(ctx, throws["B"], "B")) as step:
        for _ in range(3000):
            _module_and_error_calls(ctx, throws["A"], "A")
            step()
    vm.tear_down()


class _Cut(Exception):
    """What a signal handler raises just as a C call returns, before its result is read."""


def _cut_short(fn: Callable[..., int]) -> Callable[..., int]:
    def cut(*args: object) -> int:
        fn(*args)
        raise _Cut

    return cut


class _LibCuttingShort:
    """The library, one of its functions cut short by :class:`_Cut`."""

    def __init__(self, lib: object, name: str) -> None:
        self._lib, self._name = lib, name

    def __getattr__(self, attr: str) -> object:
        fn = getattr(self._lib, attr)
        return _cut_short(fn) if attr == self._name else fn


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


#: A global that makes a snapshot over 4 MiB (snapshots are compressed: not 'x' * 4M).
_INCOMPRESSIBLE = (
    "var big = new Uint8Array(1 << 22);"
    "for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536))"
)

_CUT_CALLS: dict[str, tuple[str, Callable[[v8cffi.Context], object]]] = {
    # what is cut short (a `_native` global, or `lib.` one of the library's functions): a call
    "eval": ("_eval_into", lambda ctx: ctx.eval("big")),
    "call": ("_call_into", lambda ctx: ctx.call("get")),
    "run_script": ("_run_into", lambda ctx: ctx.run_script("big")),
    "run_module": ("lib.v8rs_run_module", lambda ctx: ctx.run_module("export default big")),
    "a failed eval": ("_eval_into", lambda ctx: ctx.eval("fail()")),
    "an error-only call": ("lib.v8rs_context_run_until_idle", lambda ctx: ctx.run_until_idle()),
    "create_snapshot": (
        "lib.v8rs_snapshot_create_warm",
        lambda ctx: platform.create_snapshot(scripts=[_INCOMPRESSIBLE], isolated=False),
    ),
}


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads Linux's /proc")
@pytest.mark.parametrize("what", list(_CUT_CALLS))
def test_what_a_call_cut_short_as_it_returned_left_unread_is_freed(
    monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    # A signal handler's exception (KeyboardInterrupt) raised as a C call returns skips
    # the code that reads its result or error: they are freed all the same. Each here is
    # 4 MiB or more (a spilled result; an error's message and stack), so 40 leaked would
    # be 160 MiB or more.
    target, action = _CUT_CALLS[what]
    vm, ctx = _echo_context()
    ctx.run_script("var big = 'x'.repeat(1 << 22); function get() { return big }")
    ctx.run_script("function fail() { throw new Error(big) }")
    if target.startswith("lib."):
        monkeypatch.setattr(_native, "lib", _LibCuttingShort(_native.lib, target[4:]))
    else:
        monkeypatch.setattr(_native, target, _cut_short(getattr(_native, target)))
    before = _rss_mib()
    for _ in range(40):
        if what == "an error-only call":
            ctx.run_script("setTimeout(fail, 0)")
        with pytest.raises(_Cut):
            action(ctx)
        vm.low_memory_notification()
    growth = _rss_mib() - before
    monkeypatch.undo()
    assert growth < 64, f"{growth:.0f} MiB more after 40 calls cut short"
    # The thread's out-params are whole again: the next calls read their own results.
    assert ctx.eval("big.length") == 1 << 22
    assert ctx.run_script("'ok'") == "ok"
    with pytest.raises(v8cffi.V8JSError):
        ctx.eval("fail()")
    vm.tear_down()


@pytest.mark.parametrize("name", ["v8rs_vm_new", "v8rs_context_new_with"])
def test_a_handle_made_by_a_call_cut_short_as_it_returned_is_freed(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    base = settle()
    vm = platform.create_vm().set_up()
    monkeypatch.setattr(_native, "lib", _LibCuttingShort(_native.lib, name))
    for _ in range(5):
        with pytest.raises(_Cut):
            if name == "v8rs_vm_new":
                platform.create_vm().set_up()
            else:
                vm.create_context().set_up()
    monkeypatch.undo()
    assert vm.create_context().set_up().eval("1 + 1") == 2
    vm.tear_down()
    del vm
    assert settle() == base
