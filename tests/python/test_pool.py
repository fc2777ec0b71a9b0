"""VMPool: ready VMs borrowed from many threads, bounded waits, broken VMs replaced."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from v8cffi import V8TimeoutError, live_counts
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
