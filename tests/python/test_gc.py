"""Objects released by the garbage collector, in any order, never crash the process."""

from __future__ import annotations

import gc
import random
import threading

import v8cffi
from v8cffi import V8LifecycleError
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
