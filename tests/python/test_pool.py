"""VMPool: ready VMs borrowed from many threads, bounded waits, broken VMs replaced."""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from v8cffi import V8Error, V8TimeoutError, live_counts
from v8cffi.platform import platform
from v8cffi.pool import PoolTimeout, VMPool


def test_libs_scripts_and_calls(tmp_path: Path) -> None:
    lib = tmp_path / "lib.js"
    lib.write_text("function render(d) { return prefix + d.title }")
    with VMPool(2, libs=[lib], scripts=["var prefix = '> '"]) as pool:
        assert pool.call("render", {"title": "hola"}) == "> hola"
        with pool.context() as ctx:
            assert ctx.eval("typeof render") == "function"


def test_from_a_snapshot() -> None:
    blob = platform.create_snapshot(["function twice(x) { return 2 * x }"])
    with VMPool(2, snapshot=blob) as pool:
        assert pool.call("twice", 21) == 42


def test_eight_threads_with_a_timeout_mid_run() -> None:
    results: list[object] = []
    lock = threading.Lock()
    with VMPool(
        2, scripts=["function work(n) { var s = 0; for (var i = 0; i < n; i++) s += i; return s }"]
    ) as pool:

        def worker(i: int) -> None:
            for j in range(10):
                try:
                    if i == 0 and j == 5:
                        value: object = pool.call("() => { for (;;) {} }", timeout=0.05)
                    else:
                        value = pool.call("work", 1000)
                except V8TimeoutError:
                    value = "timeout"
                with lock:
                    results.append(value)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count("timeout") == 1
        assert results.count(sum(range(1000))) == 79
        assert pool.replaced == 0  # a timeout leaves the VM usable


def test_waiting_is_bounded() -> None:
    with VMPool(1) as pool, pool.context():
        start = time.perf_counter()
        with pytest.raises(PoolTimeout) as info:
            with pool.context(timeout=0.1):
                pass
        assert isinstance(info.value, TimeoutError)
        assert time.perf_counter() - start >= 0.1


def test_broken_vms_are_replaced() -> None:
    with VMPool(1, scripts=["var marker = 'original'"]) as pool:
        with pool.context() as ctx:
            ctx._vm.tear_down()  # the borrower breaks it
        assert pool.replaced == 1
        assert pool.call("() => marker") == "original"


def test_close_frees_everything() -> None:
    import gc

    gc.collect()  # earlier tests' exceptions may hold VMs in reference cycles
    before = live_counts()
    pool = VMPool(3)
    pool.close()
    gc.collect()
    assert live_counts() == before


def test_a_snapshot_of_the_libs_serves_every_vm_and_replacement(tmp_path: Path) -> None:
    lib = tmp_path / "lib.js"
    lib.write_text("var loads = (globalThis.loads || 0) + 1; function render(d) { return `<p>${d.t}</p>` }")
    with VMPool(3, libs=[lib], snapshot=True, warmup=["render({t: 1})"]) as pool:
        assert pool.snapshot is not None and pool.snapshot_error is None
        assert pool.wait_ready(30)
        assert [pool.call("render", {"t": "x"}) for _ in range(4)] == ["<p>x</p>"] * 4
        with pool.context() as ctx:
            assert ctx.eval("loads") == 1  # from the snapshot: the lib ran once, there
            ctx._vm.tear_down()
        assert pool.wait_ready(30)
        assert pool.replaced == 1
        assert pool.call("() => loads + typeof render") == "1function"


def test_libs_that_cannot_be_snapshotted_are_loaded_into_each_vm() -> None:
    # An Intl object reachable at the end cannot be in a snapshot (V8 would abort).
    with VMPool(2, scripts=["var fmt = new Intl.NumberFormat('de-DE')"], snapshot=True) as pool:
        assert pool.snapshot is None and pool.snapshot_error is not None
        assert pool.call("(x) => fmt.format(x)", 1234.5) == "1.234,5"


def test_a_vm_that_cannot_be_made_in_the_background_is_an_error_for_its_borrower() -> None:
    made = []

    def failing() -> Any:
        made.append(1)
        raise V8Error("cannot make it")

    with VMPool(1) as pool:
        original = pool._make
        pool._make = failing  # type: ignore[method-assign]
        with pool.context() as ctx:
            ctx._vm.tear_down()
        assert pool.wait_ready(30)
        pool._make = original  # type: ignore[method-assign]
        with pytest.raises(V8Error, match="cannot make it"):
            pool.call("() => 1", wait=5)
        assert pool.wait_ready(30)  # the pool tried again for the next borrower
        assert pool.call("() => 1", wait=5) == 1
        assert made == [1]


def test_a_vm_that_keeps_failing_is_retried_less_and_less_and_not_kept(tmp_path: Path) -> None:
    # Each call retried every failed VM (114 makings in 40 calls), and the errors'
    # tracebacks kept the half-made VMs and their heaps alive.
    lib = tmp_path / "lib.js"
    lib.write_text("function f() { return 1 }")
    for _ in range(5):  # what earlier tests left for the collector (PyPy) goes first
        gc.collect()
    base = live_counts()
    makings = []

    class Counting(VMPool):
        def _make(self) -> Any:
            makings.append(1)
            made = super()._make()
            lib.write_text("var junk = new Array(1e5).fill(1.5); throw new Error('broken lib')")
            return made

    with Counting(4, libs=[lib]) as pool:
        assert pool.wait_ready(30)
        for _ in range(5):
            gc.collect()
        assert live_counts() == (base[0] + 1, base[1] + 1)  # the failed ones are gone
        for _ in range(40):
            assert pool.call("f") == 1
            time.sleep(0.02)
        assert pool.wait_ready(30)
        assert len(makings) < 1 + 3 + 3 * 6, f"{len(makings)} makings"
    for _ in range(5):
        gc.collect()
    assert live_counts() == base


BUSY = "function busy(ms) { const end = Date.now() + ms; while (Date.now() < end); return ms }"


def test_calls_share_a_vm_and_wait_only_for_a_lent_one() -> None:
    with VMPool(1, scripts=[BUSY]) as pool:
        slow = threading.Thread(target=pool.call, args=("busy", 300))
        slow.start()
        time.sleep(0.05)
        # The VM is busy, not lent: this call queues inside the library, however short
        # its wait for a VM.
        assert pool.call("busy", 1, wait=0.01) == 1
        slow.join()
        with pool.context():
            with pytest.raises(PoolTimeout):
                pool.call("busy", 1, wait=0.05)


def test_a_call_goes_to_the_vm_with_the_fewest_calls() -> None:
    with VMPool(2, scripts=[BUSY]) as pool:
        assert pool.wait_ready(30)
        slow = threading.Thread(target=pool.call, args=("busy", 500))
        slow.start()
        time.sleep(0.05)
        start = time.perf_counter()
        assert pool.call("busy", 1) == 1  # on the other VM: it does not wait for the slow one
        assert slow.is_alive()
        assert time.perf_counter() - start < 0.4
        slow.join()


def test_a_lent_context_waits_for_the_calls_in_flight_and_is_alone() -> None:
    with VMPool(1, scripts=[BUSY, "var log = []"]) as pool:
        slow = threading.Thread(target=pool.call, args=("(ms) => { log.push('call'); return busy(ms) }", 200))
        slow.start()
        time.sleep(0.05)
        with pool.context(timeout=5) as ctx:
            assert not slow.is_alive()  # its call ended before the context was lent
            ctx.run_script("log.push('lent')")
            late = threading.Thread(target=pool.call, args=("() => log.push('late')",))
            late.start()
            time.sleep(0.1)
            assert ctx.eval("log") == ["call", "lent"]  # the late call waits for the block
        late.join()
        assert pool.call("() => log") == ["call", "lent", "late"]
        with pytest.raises(PoolTimeout):
            with pool.context(), pool.context(timeout=0.05):
                pass


def test_a_vm_that_could_not_be_made_is_made_again_while_the_others_serve() -> None:
    with VMPool(2) as pool:
        assert pool.wait_ready(30)
        original, fails = pool._make, [1]

        def flaky() -> Any:
            if fails:
                fails.pop()
                raise V8Error("transient failure")
            return original()

        pool._make = flaky  # type: ignore[method-assign]
        with pool.context() as ctx:
            ctx._vm.tear_down()  # its replacement fails once
        assert pool.wait_ready(30)
        assert pool.call("() => 1") == 1  # the other VM serves, and the pool tries again
        assert pool.wait_ready(30)
        with pool.context(timeout=5), pool.context(timeout=5):
            pass  # both VMs are there


def test_a_lent_context_comes_from_whichever_vm_is_idle_first() -> None:
    with VMPool(2, scripts=[BUSY]) as pool:
        assert pool.wait_ready(30)
        long = threading.Thread(target=pool.call, args=("busy", 2000))
        long.start()
        time.sleep(0.05)
        short = threading.Thread(target=pool.call, args=("busy", 200))
        short.start()
        time.sleep(0.05)
        start = time.perf_counter()
        with pool.context(timeout=1.5):
            assert time.perf_counter() - start < 1.5
        assert long.is_alive()
        long.join()
        short.join()


@pytest.mark.parametrize(
    "kwargs",
    [{"libs": "lib.js"}, {"scripts": "var x = 1"}, {"warmup": "render()", "snapshot": True}],
    ids=["libs", "scripts", "warmup"],
)
def test_a_single_string_for_a_list_is_a_type_error(kwargs: dict[str, Any]) -> None:
    # It used to be split into one script (or path) per character.
    with pytest.raises(TypeError, match="must be a list"):
        VMPool(1, **kwargs)


def test_a_warmup_without_a_snapshot_to_warm_is_refused() -> None:
    with pytest.raises(ValueError, match="snapshot=True"):
        VMPool(1, scripts=["function f() {}"], warmup=["f()"])


def test_libs_and_scripts_load_on_top_of_a_snapshot_given(tmp_path: Path) -> None:
    lib = tmp_path / "on_top.js"
    lib.write_text("function render(d) { return prefix + twice(d) }")
    blob = platform.create_snapshot(["function twice(x) { return 2 * x }"])
    with VMPool(1, snapshot=blob, libs=[lib], scripts=["var prefix = '= '"]) as pool:
        assert pool.call("render", 21) == "= 42"


def test_a_missing_or_undecodable_lib_for_a_snapshot_is_a_v8_error(tmp_path: Path) -> None:
    from v8cffi import V8ArgumentError, V8IOError

    with pytest.raises(V8IOError):
        VMPool(1, libs=[tmp_path / "missing.js"], snapshot=True)
    latin1 = tmp_path / "latin1.js"
    latin1.write_bytes(b"var caf\xe9 = 1;")
    with pytest.raises(V8ArgumentError, match="not UTF-8"):
        VMPool(1, libs=[latin1], snapshot=True)


def test_a_vm_left_out_of_memory_inside_a_lent_block_is_replaced() -> None:
    # The block catches the V8MemoryError: the VM must not go to the next caller.
    from v8cffi import V8MemoryError

    grow = "var keep = []; function grow() { for (;;) keep.push(new Array(1e5).fill(1.5)) }"
    with VMPool(1, max_heap_size=64 << 20, scripts=[grow]) as pool:
        with pool.context() as ctx:
            with pytest.raises(V8MemoryError):
                ctx.call("grow")
        assert pool.call("() => 1", wait=30) == 1
        assert pool.replaced == 1


def test_wait_ready_waits_its_timeout_once_for_all_makers() -> None:
    slow = "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500)"
    with VMPool(4, scripts=[slow]) as pool:
        start = time.monotonic()
        assert not pool.wait_ready(0.3)
        assert time.monotonic() - start < 0.8  # not 0.3 s per VM being made
        assert pool.wait_ready(30)


def test_wait_ready_waits_for_replacements_started_while_it_waits() -> None:
    slow = "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000)"
    with VMPool(2, scripts=[slow]) as pool:
        waited: list[bool] = []
        waiter = threading.Thread(target=lambda: waited.append(pool.wait_ready(60)))
        waiter.start()  # while the second VM is being made
        time.sleep(0.2)
        with pool.context() as ctx:
            ctx.tear_down()  # broken: a replacement starts as the block ends
        waiter.join()
        assert waited == [True]
        # Both VMs are ready: each can be lent at once.
        with pool.context(timeout=0) as first, pool.context(timeout=0) as second:
            assert first is not second
        assert pool.replaced == 1


_HOLD_AND_WORK = (
    "var keep = [];"
    "function hold(n) { while (keep.length < n) keep.push(new Array(1e5).fill(1.5)); return keep.length }"
    "function work() { const t = []; for (let i = 0; i < 40; i++) t.push(new Array(1e5).fill(2.5));"
    "  return t.length }"
)


def test_a_vm_whose_globals_leave_too_little_room_is_replaced_after_running_out() -> None:
    # 40 MiB held of 64: not "exhausted", yet every `work` (32 MiB) runs out of memory there.
    from v8cffi import V8MemoryError

    with VMPool(1, max_heap_size=64 << 20, scripts=[_HOLD_AND_WORK]) as pool:
        assert pool.call("hold", 50) == 50
        with pytest.raises(V8MemoryError):
            pool.call("work")
        assert pool.call("work", wait=30) == 40  # on the replacement
        assert pool.replaced == 1


def test_a_value_too_large_to_convert_does_not_cost_the_vm() -> None:
    # V8MemoryError for a conversion past its bound: the heap is as it was, the VM stays.
    from v8cffi import V8MemoryError

    script = "var state = 0; function holes() { return new Array(1e8) } function inc() { return ++state }"
    with VMPool(1, max_heap_size=64 << 20, scripts=[script]) as pool:
        assert [pool.call("inc"), pool.call("inc")] == [1, 2]
        with pytest.raises(V8MemoryError):
            pool.call("holes")
        with pool.context() as ctx, pytest.raises(V8MemoryError):
            ctx.call("holes")
        assert (pool.call("inc"), pool.replaced) == (3, 0)


def test_a_vm_ready_with_most_of_its_heap_in_use_is_not_given_up() -> None:
    # Its libs alone use more than half of the heap: that is its baseline, not a loss.
    big = "var keep = Array.from({ length: 560000 }, (_, i) => ({ i, s: 'x' + i }))"
    with VMPool(1, max_heap_size=64 << 20, scripts=[big]) as pool:
        for _ in range(3):
            with pool.context() as ctx:
                assert ctx.eval("keep.length") == 560000
        assert pool.replaced == 0


def test_a_loan_that_leaves_most_of_the_heap_held_gives_the_vm_up() -> None:
    with VMPool(1, max_heap_size=64 << 20, scripts=[_HOLD_AND_WORK]) as pool:
        with pool.context() as ctx:
            assert ctx.call("hold", 10) == 10  # 8 MiB: the VM stays
        assert pool.replaced == 0
        with pool.context() as ctx:
            assert ctx.call("hold", 50) == 50
        assert pool.call("() => keep.length", wait=30) == 0
        assert pool.replaced == 1
