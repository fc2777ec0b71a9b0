"""Benchmarks of v8rs against its peers, in the same run on the same machine.

    python bench/run.py [--quick] [--only NAME] [--json out.json] [--plot docs/benchmarks.png]

Peers are measured when installed (``pip install mini-racer jsrun``) and skipped, with
a note, when not. The table reports each number and the ratio of v8rs to the peer, with
"better" always above 1 (more operations per second, or less time or memory).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform as host
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from engines import (
    FLAT_JS,
    PEER_MODULES,
    RENDER_JS,
    Engine,
    Jsrun,
    MiniRacer,
    V8rs,
    flat_data,
    record_data,
    render_data,
)

ENGINES: list[type[Engine]] = [V8rs, MiniRacer, Jsrun]
FIB = "function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) }"


@dataclass
class Row:
    """One workload's numbers: ``values[engine]`` in ``unit``."""

    name: str
    title: str
    unit: str
    higher_is_better: bool
    values: dict[str, float] = field(default_factory=dict)

    def ratio(self, peer: str) -> float | None:
        """How many times better v8rs is than ``peer`` (above 1: v8rs is better)."""
        ours, theirs = self.values.get("v8rs"), self.values.get(peer)
        if not ours or not theirs:
            return None
        return ours / theirs if self.higher_is_better else theirs / ours


def available_engines() -> tuple[list[type[Engine]], list[str]]:
    present: list[type[Engine]] = [V8rs]
    missing: list[str] = []
    for engine, module in PEER_MODULES.items():
        if importlib.util.find_spec(module) is None:
            missing.append(f"{engine.name} (pip install {engine.name})")
        else:
            present.append(engine)
    return present, missing


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Operations per second of ``fn``, best of three runs of about ``seconds``."""
    fn()
    n = 1
    while True:  # calibrate
        start = time.perf_counter()
        for _ in range(n):
            fn()
        took = time.perf_counter() - start
        if took > seconds / 10:
            break
        n *= 4
    n = max(1, int(n * (seconds / 3) / took))
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = max(best, n / (time.perf_counter() - start))
    return best


# --- workloads in this process ---------------------------------------------------------


def bench_hello(engine: Engine, seconds: float) -> float:
    engine.run("var hello = 'hi'")
    return rate(lambda: engine.run("hello"), seconds)


def bench_add(engine: Engine, seconds: float) -> float:
    return rate(lambda: engine.run("1 + 1"), seconds)


def bench_compile(engine: Engine, seconds: float) -> float:
    body = "".join(f"function f{i}(a, b) {{ return a * {i} + b - {i}; }}\n" for i in range(300))
    counter = iter(range(10**9))

    def once() -> object:
        # A fresh source each time, so no compilation cache can help.
        return engine.run(f"// run {next(counter)}\n{body}f299(2, 3)")

    assert len(body) > 10_000
    return rate(once, seconds)


def bench_render(engine: Engine, seconds: float) -> float:
    engine.run(RENDER_JS)
    data = render_data()
    assert "Task number 11" in engine.render(data)
    return rate(lambda: engine.render(data), seconds)


def parallel_timer(make: Callable[[], Engine], n: int) -> Callable[[int, int], float]:
    """A function ``timed(jobs, threads)``: seconds for ``threads`` threads, each with
    an engine of its own (some peers' runtimes cannot move between threads), to run
    ``jobs`` fib(n) each."""

    construct = threading.Lock()
    # mini-racer 0.14 crashes (SIGSEGV) when its V8 is first set up on a thread other
    # than the main one: make (and drop) one engine here first.
    make().close()

    def timed(jobs: int, threads: int) -> float:
        ready = threading.Barrier(threads + 1)
        done: list[float] = []

        def worker() -> None:
            # Made one at a time: mini-racer 0.14 crashes (SIGSEGV) when two threads
            # create MiniRacer instances at once. Creation is not timed.
            with construct:
                engine = make()
            engine.run(FIB)
            engine.run(f"fib({n - 6})")
            ready.wait()
            for _ in range(jobs):
                engine.run(f"fib({n})")
            done.append(time.perf_counter())
            engine.close()

        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for t in pool:
            t.start()
        ready.wait()
        start = time.perf_counter()
        for t in pool:
            t.join()
        return max(done) - start

    return timed


def bundle_source() -> str:
    """About 1 MB of JavaScript: many small functions and a data table, like a bundle."""
    parts = [
        f"function helper{i}(value) {{ return value * {i} + 'helper number {i}'.length; }}"
        for i in range(12000)
    ]
    parts.append(
        "var table = " + repr([{"id": i, "label": f"row {i}"} for i in range(4000)]).replace("'", '"') + ";"
    )
    parts.append("function render(n) { return helper11999(n) + table[n % 4000].label; }")
    return "\n".join(parts)


def snapshot_speedup(quick: bool) -> tuple[float, float]:
    """ms to get a VM + context ready with the ~1 MB bundle: by running it, and from a
    snapshot of it (best of several)."""
    from v8cffi.platform import platform

    V8rs().close()  # sets the platform up if needed
    source = bundle_source()
    assert len(source) > 900_000
    blob = platform.create_snapshot([("bundle.js", source)])
    runs = 3 if quick else 10

    def ready(snapshot: bytes | None) -> float:
        start = time.perf_counter()
        vm = platform.create_vm(snapshot=snapshot).set_up()
        ctx = vm.create_context()
        if snapshot is None:
            ctx.run_script(source, "bundle.js")
        assert ctx.eval("render(5)") == f"{5 * 11999 + len('helper number 11999')}row 5"
        took = time.perf_counter() - start
        ctx.tear_down()
        vm.tear_down()
        return took * 1000

    return min(ready(None) for _ in range(runs)), min(ready(blob) for _ in range(runs))


def code_cache_speedup(quick: bool) -> tuple[float, float]:
    """ms to load_libs the ~1 MB bundle in a fresh context: compiled cold, and with the
    code cache warm (best of several)."""
    import tempfile

    from v8cffi.platform import platform

    V8rs().close()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bundle.js")
        with open(path, "w") as f:
            f.write(bundle_source())

        def load(cache: bool) -> float:
            # A fresh VM each time: V8's own per-isolate cache must not help.
            vm = platform.create_vm().set_up()
            ctx = vm.create_context()
            start = time.perf_counter()
            ctx.load_libs([path], cache=cache)
            took = time.perf_counter() - start
            ctx.tear_down()
            vm.tear_down()
            return took * 1000

        load(True)  # fills the cache
        runs = 3 if quick else 10
        cold = min(load(False) for _ in range(runs))
        warm = min(load(True) for _ in range(runs))
    return cold, warm


def pool_throughput(size: int, quick: bool) -> float:
    """render calls per second through a VMPool of ``size`` VMs, from 4 threads."""
    from v8cffi.pool import VMPool

    V8rs().close()
    data = render_data()
    calls = 300 if quick else 3000
    with VMPool(size, scripts=[RENDER_JS]) as pool:
        pool.call("render", data)

        def work() -> None:
            for _ in range(calls // 4):
                pool.call("render", data)

        threads = [threading.Thread(target=work) for _ in range(4)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return calls / (time.perf_counter() - start)


def bench_flat_render(engine: Engine, seconds: float) -> float:
    engine.run(FLAT_JS)
    data = flat_data()
    assert "<dt>key39</dt>" in engine.call("renderFlat", data)
    return rate(lambda: engine.call("renderFlat", data), seconds)


def bench_flat_both_ways(engine: Engine, seconds: float) -> float:
    engine.run(FLAT_JS)
    data = flat_data()
    assert engine.call("same", data) == data
    return rate(lambda: engine.call("same", data), seconds)


def bench_record_both_ways(engine: Engine, seconds: float) -> float:
    engine.run(FLAT_JS)
    data = record_data()
    assert engine.call("same", data) == data
    return rate(lambda: engine.call("same", data), seconds)


def median_ms(fn: Callable[[], object], runs: int) -> float:
    """Median ms of ``fn()`` over ``runs`` calls (after one to warm up)."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def start_costs(quick: bool) -> dict[str, float]:
    """Median ms of a VM + context + first result, and of a context in a live VM, with
    every web API and bare."""
    from v8cffi.platform import platform

    V8rs().close()
    runs = 11 if quick else 41

    def vm_and_context(web: bool) -> None:
        vm = platform.create_vm().set_up()
        ctx = vm.create_context(web=web).set_up()
        assert ctx.eval("1 + 1") == 2
        ctx.tear_down()
        vm.tear_down()

    live = platform.create_vm().set_up()

    def context(web: bool) -> None:
        ctx = live.create_context(web=web).set_up()
        assert ctx.eval("1 + 1") == 2
        ctx.tear_down()

    costs: dict[str, float] = {}
    for _ in range(2):  # alternate, so a noisy moment hits both kinds alike
        for web in (True, False):
            kind = "web" if web else "bare"
            for key, fn in ((f"vm-{kind}", vm_and_context), (f"context-{kind}", context)):
                took = median_ms(lambda: fn(web), runs)  # noqa: B023 - called at once
                costs[key] = min(costs.get(key, float("inf")), took)
    live.tear_down()
    return costs


def react_page(quick: bool) -> tuple[float, float]:
    """Median ms from nothing to the React page rendered: a VM + context that loads
    tests/fixtures/react.js, and one from a snapshot of it warmed up by renders."""
    from v8cffi import Snapshot
    from v8cffi.platform import platform

    V8rs().close()
    fixtures = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
    source = (fixtures / "react.js").read_text()
    props = json.loads((fixtures / "expected" / "props.json").read_text())
    expected = (fixtures / "expected" / "react.html").read_text()
    warmup = f"for (let i = 0; i < 20; i++) ReactSSR.renderToString({json.dumps(props)})"
    snapshot = Snapshot(platform.create_snapshot([("react.js", source)], warmup=[warmup]))

    def page(from_snapshot: bool) -> None:
        vm = platform.create_vm(snapshot=snapshot if from_snapshot else None).set_up()
        ctx = vm.create_context().set_up()
        if not from_snapshot:
            ctx.run_script(source, "react.js")
        assert ctx.call("ReactSSR.renderToString", props) == expected
        ctx.tear_down()
        vm.tear_down()

    runs = 7 if quick else 31
    return median_ms(lambda: page(False), runs), median_ms(lambda: page(True), runs)


def babel_path(fetch: bool) -> Path | None:
    """@babel/standalone's babel.min.js, fetched once with npm into target/ (``None``
    without npm or network, or when not there and not to ``fetch``)."""
    import shutil

    root = Path(__file__).resolve().parents[1] / "target" / "bench-fixtures"
    path = root / "package" / "babel.min.js"
    if path.exists():
        return path
    if not fetch or shutil.which("npm") is None:
        return None
    root.mkdir(parents=True, exist_ok=True)
    packed = subprocess.run(
        ["npm", "pack", "--silent", "@babel/standalone@7.28.5"], cwd=root, capture_output=True, text=True
    )
    if packed.returncode != 0:
        return None
    import tarfile

    with tarfile.open(root / packed.stdout.strip().splitlines()[-1]) as tar:
        tar.extractall(root, filter="data")
    return path if path.exists() else None


def babel_speedup(quick: bool) -> tuple[float, float] | None:
    """Median ms of load_libs(babel.min.js) + a first JSX transform in a fresh VM:
    compiled, and from the code cache (made after the first transform)."""
    import tempfile

    from v8cffi.platform import platform

    babel = babel_path(fetch=not quick)  # --quick runs offline: only a copy already there
    if babel is None:
        return None
    V8rs().close()
    code = "const App = () => <ul>{[1, 2].map((i) => <li key={i}>{i}</li>)}</ul>; export default App;"
    transform = "(c) => Babel.transform(c, {presets: ['react', 'env']}).code"
    with tempfile.TemporaryDirectory() as cache:

        def load(cached: bool) -> None:
            vm = platform.create_vm().set_up()
            ctx = vm.create_context().set_up()
            if cached:
                ctx.load_libs([babel], cache_dir=cache)
            else:
                ctx.load_libs([babel])
            assert "React.createElement" in ctx.call(transform, code)
            ctx.tear_down()
            vm.tear_down()

        load(True)  # makes the entry, and again after the transform
        runs = 3 if quick else 9
        return median_ms(lambda: load(False), runs), median_ms(lambda: load(True), runs)


PARALLEL_CHILD = """
import sys
sys.path.insert(0, {bench!r})
import run
print(run.parallel_here({engine!r}, {n}, {rounds}))
"""


def parallel_here(engine: str, n: int, rounds: int) -> float:
    """The 2-thread speed-up of ``engine`` (run in a process of its own)."""
    make = next(e for e in ENGINES if e.name == engine)
    timed = parallel_timer(make, n)
    serial = parallel = float("inf")
    for _ in range(rounds):
        serial = min(serial, timed(2, 1))
        parallel = min(parallel, timed(1, 2))
    return serial / parallel


# --- workloads in fresh processes ------------------------------------------------------

MEMORY_SCRIPTS = {
    "v8rs-vm": """
from v8cffi.platform import platform
platform.set_up()
warm = platform.create_vm().set_up(); warm.create_context().run_script('1')
before = rss()
keep = []
for _ in range(N):
    vm = platform.create_vm().set_up(); ctx = vm.create_context(); ctx.run_script('1')
    keep.append((vm, ctx))
""",
    "v8rs-context": """
from v8cffi.platform import platform
platform.set_up()
vm = platform.create_vm().set_up(); vm.create_context().run_script('1')
before = rss()
keep = []
for _ in range(N):
    ctx = vm.create_context(); ctx.run_script('1'); keep.append(ctx)
""",
    "mini-racer": """
from py_mini_racer import MiniRacer
MiniRacer().eval('1')
before = rss()
keep = []
for _ in range(N):
    m = MiniRacer(); m.eval('1'); keep.append(m)
""",
    "jsrun": """
import jsrun
jsrun.Runtime().eval('1')
before = rss()
keep = []
for _ in range(N):
    r = jsrun.Runtime(); r.eval('1'); keep.append(r)
""",
}

RSS = """
import os, time
def rss():
    time.sleep(0.05)
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
N = {n}
"""

STARTUP_SCRIPTS = {
    "v8rs": "from v8cffi import shortcuts\nshortcuts.set_up()\n"
    "r = shortcuts.get_context().run_script('1 + 1')",
    "mini-racer": "from py_mini_racer import MiniRacer\nr = MiniRacer().eval('1 + 1')",
    "jsrun": "import jsrun\nr = jsrun.Runtime().eval('1 + 1')",
}


def in_fresh_process(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr else "failed")
    return float(out.stdout.strip().splitlines()[-1])


def memory_per_instance(key: str, n: int) -> float:
    """RSS growth per instance, in MiB, with ``n`` alive."""
    code = RSS.format(n=n) + MEMORY_SCRIPTS[key] + "\nprint((rss() - before) / N / 2**20)"
    return in_fresh_process(code)


def startup_ms(key: str, runs: int) -> float:
    """Median ms from before the import to the first result, in fresh processes."""
    code = "import time\nt0 = time.perf_counter()\n" + STARTUP_SCRIPTS[key]
    code += "\nprint((time.perf_counter() - t0) * 1000)"
    return statistics.median(in_fresh_process(code) for _ in range(runs))


# --- the run ----------------------------------------------------------------------------


def run(quick: bool, only: str | None) -> tuple[list[Row], list[str]]:
    engines, missing = available_engines()
    seconds = 0.3 if quick else 2.0
    rows: list[Row] = []

    def wanted(name: str) -> bool:
        return only is None or only == name

    per_engine: list[tuple[str, str, str, bool, Callable[[Engine, float], float]]] = [
        ("hello", "run_script('hello') (the v8-cffi benchmark)", "ops/s", True, bench_hello),
        ("add", "1 + 1", "ops/s", True, bench_add),
        ("compile", "10 KB script, compiled and run once", "ops/s", True, bench_compile),
        ("render", "render(~1 KB dict) -> str", "ops/s", True, bench_render),
        ("flat-render", "render(40-key dict) -> str", "ops/s", True, bench_flat_render),
        ("flat-both", "40-key dict there and back", "ops/s", True, bench_flat_both_ways),
        ("record-both", "40-key record with nulls there and back", "ops/s", True, bench_record_both_ways),
    ]
    for name, title, unit, higher, fn in per_engine:
        if not wanted(name):
            continue
        row = Row(name, title, unit, higher)
        for engine_type in engines:
            engine = engine_type()
            try:
                row.values[engine.name] = fn(engine, seconds)
            finally:
                engine.close()
        rows.append(row)

    if wanted("parallel"):
        # Speed-up: two fib(n) one after the other on one thread, over one fib(n) on
        # each of two threads with an engine each (2.0 is perfect on two cores). Each
        # engine in a process of its own: an idle jsrun Runtime keeps a core busy, which
        # would slow the others down. The best of several rounds counts.
        row = Row("parallel", "CPU-bound JS, 2 threads x 2 VMs: speed-up", "x", True)
        bench = str(Path(__file__).resolve().parent)
        for engine_type in engines:
            code = PARALLEL_CHILD.format(
                bench=bench, engine=engine_type.name, n=31 if quick else 36, rounds=2 if quick else 5
            )
            row.values[engine_type.name] = in_fresh_process(code)
        rows.append(row)

    if wanted("start"):
        costs = start_costs(quick)
        for key, title in (
            ("vm-web", "new VM + context with every web API + first result"),
            ("vm-bare", "new VM + bare context + first result"),
            ("context-web", "new context with every web API in a live VM"),
            ("context-bare", "new bare context in a live VM"),
        ):
            rows.append(Row(key, title, "ms", False, {"v8rs": costs[key]}))

    if wanted("react"):
        loaded, warm = react_page(quick)
        page = "React page from nothing (VM + context + render)"
        rows.append(Row("react-load", f"{page}: load the bundle", "ms", False, {"v8rs": loaded}))
        rows.append(Row("react-snapshot", f"{page}: from a warm snapshot", "ms", False, {"v8rs": warm}))

    if wanted("babel"):
        babel = babel_speedup(quick)
        if babel is None:
            missing.append("babel (@babel/standalone not fetched: npm, network, or --quick)")
        else:
            first = "Babel load + first transform"
            rows.append(Row("babel-cold", f"{first}: compiled", "ms", False, {"v8rs": babel[0]}))
            rows.append(Row("babel-cached", f"{first}: code cache", "ms", False, {"v8rs": babel[1]}))

    if wanted("memory"):
        n = 10 if quick else 100
        vm_row = Row("memory", f"RSS per VM + context ({n} alive)", "MiB", False)
        ctx_row = Row("memory-context", f"RSS per extra context in one VM ({n} alive)", "MiB", False)
        vm_row.values["v8rs"] = memory_per_instance("v8rs-vm", n)
        ctx_row.values["v8rs"] = memory_per_instance("v8rs-context", n)
        for engine_type in engines[1:]:
            vm_row.values[engine_type.name] = memory_per_instance(engine_type.name, n)
        rows += [vm_row, ctx_row]

    if wanted("snapshot"):
        loaded, restored = snapshot_speedup(quick)
        bundle = "VM + context ready with a ~1 MB bundle"
        rows.append(Row("bundle-load", f"{bundle}: run it", "ms", False, {"v8rs": loaded}))
        rows.append(Row("bundle-snapshot", f"{bundle}: from a snapshot", "ms", False, {"v8rs": restored}))
        cold, warm = code_cache_speedup(quick)
        loading = "load_libs of the ~1 MB bundle"
        rows.append(Row("load-cold", f"{loading}: compiled", "ms", False, {"v8rs": cold}))
        rows.append(Row("load-cached", f"{loading}: code cache", "ms", False, {"v8rs": warm}))

    if wanted("pool"):
        for size in (1, 2):
            rows.append(
                Row(
                    f"pool-{size}",
                    f"VMPool({size}), 4 threads calling render",
                    "ops/s",
                    True,
                    {"v8rs": pool_throughput(size, quick)},
                )
            )

    if wanted("startup"):
        row = Row("startup", "import + set-up + first result (fresh process)", "ms", False)
        for engine_type in engines:
            row.values[engine_type.name] = startup_ms(engine_type.name, 3 if quick else 7)
        rows.append(row)
    return rows, missing


def _v8rs(rows: dict[str, Row], name: str) -> float:
    return rows[name].values["v8rs"]


TARGETS: list[tuple[str, str, Callable[[dict[str, Row]], bool | None]]] = [
    (
        "VM + web context <= 1.3x a bare one",
        "vm-web",
        lambda r: _v8rs(r, "vm-web") <= 1.3 * _v8rs(r, "vm-bare"),
    ),
    (
        "web context in a live VM <= 1.3x a bare one",
        "context-web",
        lambda r: _v8rs(r, "context-web") <= 1.3 * _v8rs(r, "context-bare"),
    ),
    (
        "React page from a warm snapshot >= 10x faster than loading",
        "react-snapshot",
        lambda r: _v8rs(r, "react-load") >= 10 * _v8rs(r, "react-snapshot"),
    ),
    (
        "Babel from the code cache >= 3x faster",
        "babel-cached",
        lambda r: _v8rs(r, "babel-cold") >= 3 * _v8rs(r, "babel-cached"),
    ),
    ("render(40-key dict) >= 100k/s", "flat-render", lambda r: _v8rs(r, "flat-render") >= 100_000),
    (
        "render(40-key dict) >= 10x jsrun",
        "flat-render",
        lambda r: _ratio_at_least(r["flat-render"], "jsrun", 10),
    ),
    ("40-key dict both ways >= 50k/s", "flat-both", lambda r: _v8rs(r, "flat-both") >= 50_000),
    (
        "VMPool(2) >= 1.6x VMPool(1) from 4 threads",
        "pool-2",
        lambda r: _v8rs(r, "pool-2") >= 1.6 * _v8rs(r, "pool-1"),
    ),
    ("hello >= 300k ops/s", "hello", lambda r: r["hello"].values["v8rs"] >= 300_000),
    ("hello >= 10x mini-racer", "hello", lambda r: _ratio_at_least(r["hello"], "mini-racer", 10)),
    ("render >= 5x mini-racer", "render", lambda r: _ratio_at_least(r["render"], "mini-racer", 5)),
    ("2 threads >= 1.8x", "parallel", lambda r: r["parallel"].values["v8rs"] >= 1.8),
    ("<= 2 MiB per VM + context", "memory", lambda r: r["memory"].values["v8rs"] <= 2.0),
    ("per VM below mini-racer", "memory", lambda r: _ratio_at_least(r["memory"], "mini-racer", 1)),
    ("start-up <= 50 ms", "startup", lambda r: r["startup"].values["v8rs"] <= 50),
    (
        "code cache >= 3x faster than compiling",
        "load-cached",
        lambda r: r["load-cold"].values["v8rs"] >= 3 * r["load-cached"].values["v8rs"],
    ),
    (
        "snapshot >= 10x faster than running the bundle",
        "bundle-snapshot",
        lambda r: r["bundle-load"].values["v8rs"] >= 10 * r["bundle-snapshot"].values["v8rs"],
    ),
]


def _ratio_at_least(row: Row, peer: str, at_least: float) -> bool | None:
    ratio = row.ratio(peer)
    return None if ratio is None else ratio >= at_least


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ops/s":
        return f"{value:,.0f}"
    return f"{value:.2f}"


def table(rows: list[Row]) -> str:
    peers = [e.name for e in ENGINES[1:]]
    head = "| workload | unit | v8rs | " + " | ".join(f"{p} | v8rs vs {p}" for p in peers) + " |"
    lines = [head, "|" + " --- |" * (3 + 2 * len(peers))]
    for row in rows:
        cells = [row.title, row.unit, fmt(row.values.get("v8rs"), row.unit)]
        for peer in peers:
            ratio = row.ratio(peer)
            cells += [fmt(row.values.get(peer), row.unit), "—" if ratio is None else f"{ratio:.2f}x"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(rows: list[Row]) -> str:
    by_name = {r.name: r for r in rows}
    lines = []
    for label, needs, check in TARGETS:
        if needs not in by_name:
            continue
        verdict = check(by_name)
        lines.append(
            f"- {label}: {'n/a (peer missing)' if verdict is None else 'PASS' if verdict else 'MISS'}"
        )
    return "\n".join(lines)


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    import v8cffi

    found = {"python": host.python_version(), "v8rs": f"{v8cffi.__version__} (V8 {v8cffi.V8_VERSION})"}
    for dist in ("mini-racer", "jsrun"):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return found


def plot(rows: list[Row], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    peers = [e.name for e in ENGINES[1:]]
    rows = [r for r in rows if any(r.ratio(p) for p in peers)]
    names = [r.name for r in rows]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / len(peers)
    for i, peer in enumerate(peers):
        ratios = [r.ratio(peer) or 0 for r in rows]
        ax.bar([x + i * width for x in range(len(rows))], ratios, width, label=f"v8rs vs {peer}")
    ax.axhline(1, color="black", linewidth=0.8)
    ax.set_xticks([x + width * (len(peers) - 1) / 2 for x in range(len(rows))], names, rotation=20)
    ax.set_ylabel("times better (above 1: v8rs better)")
    ax.set_yscale("log")
    ax.set_title("v8rs against its peers, same machine, same run")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short runs (seconds), for smoke tests")
    parser.add_argument(
        "--only",
        metavar="NAME",
        help="one workload: hello, add, compile, render, flat-render, flat-both, record-both, parallel, "
        "start, react, babel, memory, snapshot, pool, startup",
    )
    parser.add_argument("--json", metavar="PATH", help="write the numbers as JSON")
    parser.add_argument("--plot", metavar="PATH", help="write a bar chart of the ratios (needs matplotlib)")
    args = parser.parse_args(argv)

    rows, missing = run(args.quick, args.only)
    print(f"Machine: {host.machine()}, {os.cpu_count()} cores, {host.platform()}")
    print("Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()))
    if missing:
        print("Skipped (not installed): " + ", ".join(missing))
    print()
    print(table(rows))
    print()
    print("Targets:")
    print(summary(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"versions": versions(), "rows": [r.__dict__ for r in rows]}, f, indent=2)
    if args.plot:
        plot(rows, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
