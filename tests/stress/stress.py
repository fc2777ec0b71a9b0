"""Concurrency stress: threads x VMs x mixed calls, with no error, deadlock or crash.

    python tests/stress/stress.py [--seconds 60] [--threads 8] [--vms 2]

Each thread loops over random operations on shared VMs and contexts: run_script, eval,
call, a timeout, VM.terminate() of a neighbour, timers (awaited, and run_until_idle),
creating and tearing down contexts, and now and then replacing a whole VM. Every outcome
must be a result or one of the documented exceptions; anything else, or a thread that
stops making progress, fails the run. Prints one line of counts and exits non-zero on failure.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import threading
import time
from collections import Counter

from v8cffi import (
    V8JSError,
    V8LifecycleError,
    V8TerminatedError,
    V8TimeoutError,
    live_counts,
)
from v8cffi.platform import platform

SETUP = "function add(a, b) { return a + b } var hits = 0"


class Slot:
    """A VM and a context that threads share; replaced now and then."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.vm = platform.create_vm().set_up()
        self.ctx = self.vm.create_context().set_up()
        self.ctx.run_script(SETUP)

    def replace(self) -> None:
        with self.lock:
            old_vm, old_ctx = self.vm, self.ctx
            self.vm = platform.create_vm().set_up()
            self.ctx = self.vm.create_context().set_up()
            self.ctx.run_script(SETUP)
        # Tear down while other threads may still be using them: they must get
        # clean lifecycle errors, never a crash.
        old_ctx.tear_down()
        old_vm.tear_down()


def worker(
    slots: list[Slot], deadline: float, seed: int, counts: Counter[str], progress: list[float], i: int
) -> None:
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        slot = rng.choice(slots)
        ctx, vm = slot.ctx, slot.vm
        op = rng.random()
        try:
            if op < 0.30:
                assert ctx.run_script("++hits; 'ok'") == "ok"
            elif op < 0.50:
                assert ctx.eval("[1, {a: 'x'}, 2n ** 70n]") == [1, {"a": "x"}, 2**70]
            elif op < 0.65:
                assert ctx.call("add", 2, 3) == 5
            elif op < 0.72:
                ctx.run_script("while (true) {}", timeout=0.01)
            elif op < 0.80:
                rng.choice(slots).vm.terminate()
                ctx.run_script("for (var i = 0; i < 1e5; i++) {}")
            elif op < 0.84:
                assert ctx.eval("new Promise(r => setTimeout(r, 1, 7))", await_promise=True) == 7
            elif op < 0.88:
                ctx.run_script("setTimeout(() => ++hits, 0)")
                ctx.run_until_idle(timeout=0.5)
            elif op < 0.95:
                with vm.create_context() as fresh:
                    assert fresh.eval("typeof hits") == "undefined"
            elif op < 0.99:
                ctx.run_script("throw new Error('expected')")
            else:
                slot.replace()
                counts["replace"] += 1
            counts["ok"] += 1
        except V8TimeoutError:
            counts["timeout"] += 1
        except V8TerminatedError:
            counts["terminated"] += 1
        except V8LifecycleError:
            counts["torn down meanwhile"] += 1
        except V8JSError:
            counts["js error"] += 1
        progress[i] = time.monotonic()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--vms", type=int, default=2)
    args = parser.parse_args(argv)

    platform.set_up()
    slots = [Slot() for _ in range(args.vms)]
    counts: Counter[str] = Counter()
    deadline = time.monotonic() + args.seconds
    progress = [time.monotonic()] * args.threads
    threads = [
        threading.Thread(target=worker, args=(slots, deadline, seed, counts, progress, seed), daemon=True)
        for seed in range(args.threads)
    ]
    for t in threads:
        t.start()
    stalled = False
    while any(t.is_alive() for t in threads):
        time.sleep(0.5)
        if time.monotonic() - min(progress) > 30:
            stalled = True
            break
    for slot in slots:
        slot.ctx.tear_down()
        slot.vm.tear_down()
    del slots
    for _ in range(5):  # PyPy frees native handles only when it collects
        gc.collect()
    total = sum(counts.values())
    print(
        f"stress: {args.threads} threads x {args.vms} VMs for {args.seconds:g} s: {total} operations, "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        + f"; live (VMs, contexts) at the end: {live_counts()}"
    )
    if stalled:
        print("stress: FAILED - a thread made no progress for 30 s (deadlock?)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
