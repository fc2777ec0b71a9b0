"""Soak: many calls and many VM lifecycles, with RSS reported as it goes.

    python tests/stress/soak.py [--calls 1000000] [--vms 10000] [--every 100000]

Runs ``--calls`` run_script calls on one context, then ``--vms`` VM + context
create/free cycles, printing RSS at intervals and the slope of RSS per 100k calls (and
per 1k cycles) over the second half of each phase, where a leak would show. Exits
non-zero when the live VM/context counters do not come back to zero.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time

from v8cffi import live_counts
from v8cffi.platform import platform


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def slope(points: list[tuple[int, float]], per: int) -> float:
    """Least-squares RSS growth (MiB) per ``per`` units over the second half."""
    half = points[len(points) // 2 :]
    if len(half) < 2:
        return 0.0
    n = len(half)
    mx = sum(x for x, _ in half) / n
    my = sum(y for _, y in half) / n
    den = sum((x - mx) ** 2 for x, _ in half) or 1.0
    return sum((x - mx) * (y - my) for x, y in half) / den * per


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--vms", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=100_000, help="report every N calls (VM cycles: N/100)")
    args = parser.parse_args(argv)

    platform.set_up()
    start = time.perf_counter()
    calls: list[tuple[int, float]] = [(0, rss_mib())]
    with platform.create_vm() as vm, vm.create_context() as ctx:
        ctx.run_script("var n = 0; function tick(x) { n++; return {n, x: String(x)} }")
        for i in range(1, args.calls + 1):
            if i % 3 == 0:
                ctx.call("tick", i)
            else:
                ctx.run_script("n++")
            if i % args.every == 0:
                calls.append((i, rss_mib()))
                print(f"calls {i:>9,}: RSS {calls[-1][1]:7.1f} MiB", flush=True)
    cycles: list[tuple[int, float]] = [(0, rss_mib())]
    every_vm = max(1, args.every // 100)
    for i in range(1, args.vms + 1):
        with platform.create_vm() as vm, vm.create_context() as ctx:
            ctx.run_script("var junk = new Array(1000).fill('x')")
        if i % every_vm == 0:
            gc.collect()
            cycles.append((i, rss_mib()))
            print(f"VM cycles {i:>7,}: RSS {cycles[-1][1]:7.1f} MiB", flush=True)
    gc.collect()
    took = time.perf_counter() - start
    live = live_counts()
    print(
        f"soak: {args.calls:,} calls, {args.vms:,} VM cycles in {took:.0f} s; RSS slope "
        f"{slope(calls, 100_000):+.2f} MiB per 100k calls, {slope(cycles, 1000):+.2f} MiB per 1k VM cycles; "
        f"live (VMs, contexts) {live}"
    )
    return 0 if live == (0, 0) else 1


if __name__ == "__main__":
    sys.exit(main())
