"""React server rendering: v8rs against Node (in a subprocess) and mini-racer, with the
same bundle (tests/fixtures/react.js: React 18, react-dom/server.browser) and props.

    python bench/ssr.py [--quick]

Rows: renderToString per second, called from Python once per render (v8rs, mini-racer)
and in a loop inside JavaScript (v8rs, Node: the engine alone, no language hop); and for
renderToReadableStream with a Suspense boundary that resolves after a 30 ms timer, the
time to the first chunk (the shell, what a browser can start painting) and to the whole
page.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUNDLE = ROOT / "tests" / "fixtures" / "react.js"
PROPS: dict[str, Any] = json.loads((ROOT / "tests" / "fixtures" / "expected" / "props.json").read_text())

NODE_SCRIPT = r"""
const { readFileSync } = require('node:fs');
require('node:vm').runInThisContext(readFileSync(process.argv[1], 'utf8'));
const props = JSON.parse(process.argv[2]);
const seconds = Number(process.argv[3]);
(async () => {
  for (let i = 0; i < 50; i++) ReactSSR.renderToString(props);
  let best = 0;
  for (let round = 0; round < 3; round++) {
    let n = 0; const start = performance.now();
    while (performance.now() - start < seconds * 1000 / 3) { ReactSSR.renderToString(props); n++; }
    best = Math.max(best, n / ((performance.now() - start) / 1000));
  }
  const first = [], whole = [];
  for (let i = 0; i < 7; i++) {
    const start = performance.now();
    const reader = (await ReactSSR.renderToStream(props)).getReader();
    let chunk = await reader.read();
    first.push(performance.now() - start);
    while (!chunk.done) chunk = await reader.read();
    whole.push(performance.now() - start);
  }
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  console.log(JSON.stringify({ inner: best, first: median(first), whole: median(whole) }));
})();
"""


def rate(fn: Any, seconds: float) -> float:
    """Calls per second of ``fn``, best of three rounds."""
    for _ in range(50):
        fn()
    best = 0.0
    for _ in range(3):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 3:
            fn()
            n += 1
        best = max(best, n / (time.perf_counter() - start))
    return best


def v8rs(seconds: float) -> dict[str, float]:
    from v8cffi.platform import platform

    platform.set_up()
    with platform.create_vm() as vm, vm.create_context() as ctx:
        ctx.load_libs([BUNDLE])
        ctx.run_script(f"globalThis.props = {json.dumps(PROPS)}")
        result = {"rate": rate(lambda: ctx.call("ReactSSR.renderToString", PROPS), seconds)}
        ctx.run_script(
            "function renderLoop(ms) { let n = 0; const start = performance.now();"
            " while (performance.now() - start < ms) { ReactSSR.renderToString(props); n++ }"
            " return n / ((performance.now() - start) / 1000) }"
        )
        result["inner"] = max(ctx.call("renderLoop", seconds * 1000 / 3) for _ in range(3))
        first, whole = [], []
        for _ in range(7):
            start = time.perf_counter()
            stream = ctx.iter_stream("ReactSSR.renderToStream(props)")
            next(stream)
            first.append((time.perf_counter() - start) * 1000)
            for _chunk in stream:
                pass
            whole.append((time.perf_counter() - start) * 1000)
        result["first"] = statistics.median(first)
        result["whole"] = statistics.median(whole)
        return result


def node(seconds: float) -> dict[str, float] | str:
    if shutil.which("node") is None:
        return "node is not installed"
    args = ["node", "-e", NODE_SCRIPT, str(BUNDLE), json.dumps(PROPS), str(seconds)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        return proc.stderr.strip().splitlines()[-1]
    return dict(json.loads(proc.stdout))


def mini_racer(seconds: float) -> dict[str, float] | str:
    try:
        from py_mini_racer import MiniRacer
    except ImportError:
        return "not installed (pip install mini-racer)"
    ctx = MiniRacer()
    try:
        ctx.eval(BUNDLE.read_text(encoding="utf-8"))
    except Exception as e:  # reported in the table
        return f"cannot load the bundle: {type(e).__name__}: {str(e).splitlines()[0][:80]}"
    return {"rate": rate(lambda: ctx.call("ReactSSR.renderToString", PROPS), seconds)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    options = parser.parse_args(argv)
    seconds = 0.3 if options.quick else 3.0
    results = {"v8rs": v8rs(seconds), "node": node(seconds), "mini-racer": mini_racer(seconds)}
    rows = [
        ("renderToString, one call from Python per render", "rate", "renders/s"),
        ("renderToString, loop inside JavaScript", "inner", "renders/s"),
        ("renderToReadableStream: first chunk", "first", "ms"),
        ("renderToReadableStream: whole page (30 ms timer)", "whole", "ms"),
    ]
    print("| React 18 SSR | " + " | ".join(results) + " |")
    print("|---|" + "---:|" * len(results))
    for title, key, unit in rows:
        cells = []
        for result in results.values():
            value = result.get(key) if isinstance(result, dict) else None
            if value is None:
                cells.append("n/a")
            else:
                cells.append(f"{value:.2f} ms" if unit == "ms" else f"{value:,.0f} {unit}")
        print(f"| {title} | " + " | ".join(cells) + " |")
    for engine, result in results.items():
        if isinstance(result, str):
            print(f"\n{engine}: {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
