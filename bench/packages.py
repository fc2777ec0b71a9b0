"""Real npm packages in v8rs, PyMiniRacer and jsrun, in the same run on the same machine.

    python bench/packages.py [--quick] [--only NAME] [--json out.json] [--docs docs/benchmarks.md]

Each workload loads an unmodified package (a browser bundle from tests/fixtures/, or a
package's own UMD/CommonJS file from an npm install under target/) and times one call of
it. For every engine the table says whether it can run the package at all (and, when not,
why: "no DOM", "no crypto.subtle", "no fetch"…) and its operations per second (median of
several timed runs). Peers are measured when installed and skipped, with a note, when not.
``--quick`` runs offline and briefly: packages not already under target/ are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform as host
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from engines import Engine, Jsrun, MiniRacer, V8rs
from run import ENGINES, available_engines, babel_path, versions

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
PROJECT = FIXTURES / "node_project"
PROPS: dict[str, Any] = json.loads((FIXTURES / "expected" / "props.json").read_text(encoding="utf-8"))


def node_modules(fetch: bool) -> Path | None:
    """tests/fixtures/node_project (marked, highlight.js, katex) installed with ``npm ci``
    into target/node_project, as tests/python/test_node.py does (``None`` without npm or
    network, or when not there and not to ``fetch``)."""
    folder = ROOT / "target" / "node_project"
    lock = (PROJECT / "package-lock.json").read_bytes()
    stamp = folder / ".lock"
    if stamp.exists() and stamp.read_bytes() == lock:
        return folder / "node_modules"
    npm = shutil.which("npm")
    if not fetch or npm is None:
        return None
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name in ["package.json", "package-lock.json"]:
        shutil.copy(PROJECT / name, folder / name)
    installed = subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "npm_config_loglevel": "error"},
    )
    if installed.returncode != 0:
        return None
    stamp.write_bytes(lock)
    return folder / "node_modules"


def commonjs(path: Path, name: str) -> str:
    """A CommonJS file with no ``require`` of its own, as a script that sets ``name``."""
    return (
        f"globalThis.{name} = (function () {{ var module = {{exports: {{}}}}, exports = module.exports;\n"
        f"{path.read_text(encoding='utf-8')}\nreturn module.exports; }})();"
    )


MARKDOWN = (
    "# Release notes\n\nSome *emphasis*, `code`, a [link](https://example.com) & <b>html</b>.\n\n"
    + "".join(f"- item {i} with **bold** and _italic_ text\n" for i in range(20))
    + "\n```js\nconst x = 1;\n```\n\n| a | b |\n| - | - |\n| 1 | 2 |\n"
)
CODE = "function fib(n) {\n  // the classic\n  return n < 2 ? n : fib(n - 1) + fib(n - 2);\n}\n" * 5
HTML = (
    "<article><h1>Title</h1><p>Some <b>bold</b>, <i>italic</i> and <a href='https://example.com/'>"
    "a link</a>.</p><img src=x onerror=alert(1)><script>alert(2)</script><ul>"
    + "".join(f"<li>item {i} <em>emphasised</em></li>" for i in range(10))
    + "</ul><pre><code>const x = 1;</code></pre></article>"
)
PAGE = (
    "<!doctype html><html><head><title>On linked lists | The Blog</title>"
    '<meta name="author" content="Ada Lovelace"></head><body><nav><a href="/">Home</a></nav><article>'
    "<h1>On linked lists</h1>"
    + "<p>A linked list is a linear collection of data elements whose order is not given by their "
    "physical placement in memory. Instead, each element points to the next.</p>"
    * 8
    + "</article><footer>&copy; 2024</footer></body></html>"
)
SHIFT_JIS = list(("日本語のテキストをシフトJISで。カタカナとひらがな、漢字。" * 8).encode("shift_jis"))
USERS = json.dumps([{"id": i, "name": f"user {i}"} for i in range(20)])
ZONED = (
    "(() => { const start = Temporal.ZonedDateTime.from('2024-03-09T12:00[America/New_York]');"
    " const later = start.add({days: 1, hours: 3}).withTimeZone('Europe/Paris');"
    " return later.toString() + ' ' + start.until(later, {largestUnit: 'hours'}).toString(); })()"
)

NO_DOM = ("typeof document === 'object' && typeof DOMParser === 'function'", "no DOM")
NO_SUBTLE = ("typeof crypto === 'object' && typeof crypto.subtle === 'object'", "no crypto.subtle")
NO_FETCH = ("typeof fetch === 'function'", "no fetch")
NO_DECODER = ("typeof TextDecoder === 'function'", "no TextDecoder")


@dataclass
class Workload:
    """One package and one call of it, timed.

    ``files`` (paths, or a function of the node_modules folder giving the script text) are
    run in order, then ``setup``; ``op`` is the timed expression, whose result must
    contain ``expect``. ``probes``: (expression, reason) pairs that must be true first —
    for what a missing API would not make throw (DOMPurify without a DOM returns its
    input). ``is_async``: ``op`` and ``setup`` give promises. ``v8rs``: its context's
    options."""

    name: str
    title: str
    op: str
    expect: str
    files: list[Path | Callable[[Path], str]] = field(default_factory=list)
    setup: str = ""
    probes: list[tuple[str, str]] = field(default_factory=list)
    is_async: bool = False
    v8rs: dict[str, Any] = field(default_factory=dict)
    needs: str = ""  # "node_modules" or "babel": fetched with npm into target/


def ky_handler(request: Any) -> Any:
    return {"headers": {"content-type": "application/json"}, "body": USERS}


def workloads() -> list[Workload]:
    frameworks = [
        Workload(
            name,
            f"{name} SSR: {render}(props)",
            f"{render}(props)",
            (FIXTURES / "expected" / f"{name}.html").read_text(encoding="utf-8"),
            files=[FIXTURES / f"{name}.js"],
            # vue's app awaits a setTimeout of props.delayMs: 0 here, the engine is what is timed
            setup=f"globalThis.props = {json.dumps({**PROPS, 'delayMs': 0})}",
            is_async=name == "vue",  # its renderToString gives a promise
        )
        for name, render in [
            ("react", "ReactSSR.renderToString"),
            ("preact", "PreactSSR.renderToString"),
            ("vue", "VueSSR.renderToString"),
            ("svelte", "SvelteSSR.render"),
        ]
    ]
    return [
        Workload(
            "marked",
            "marked 15: parse ~1 KB of Markdown",
            f"marked.parse({json.dumps(MARKDOWN)})",
            "<h1>Release notes</h1>",
            files=[lambda nm: (nm / "marked" / "lib" / "marked.umd.js").read_text(encoding="utf-8")],
            needs="node_modules",
        ),
        Workload(
            "highlight.js",
            "highlight.js 11: highlight 20 lines of JavaScript",
            f"hljs.highlight({json.dumps(CODE)}, {{language: 'javascript'}}).value",
            '<span class="hljs-keyword">function</span>',
            files=[
                lambda nm: commonjs(nm / "highlight.js" / "lib" / "core.js", "hljs"),
                lambda nm: commonjs(nm / "highlight.js" / "lib" / "languages" / "javascript.js", "hljsJs"),
            ],
            setup="hljs.registerLanguage('javascript', hljsJs)",
            needs="node_modules",
        ),
        Workload(
            "katex",
            "KaTeX 0.19: render a formula to HTML",
            "katex.renderToString('c = \\\\pm\\\\sqrt{a^2 + b^2} + \\\\frac{1}{2}\\\\int_0^1 x\\\\,dx')",
            '<span class="katex">',
            files=[lambda nm: (nm / "katex" / "dist" / "katex.min.js").read_text(encoding="utf-8")],
            needs="node_modules",
        ),
        Workload(
            "babel",
            "@babel/standalone 7.28: transform a JSX component",
            "Babel.transform('const App = () => <ul>{[1, 2].map((i) => <li key={i}>{i}</li>)}</ul>;',"
            " {presets: ['react', 'env']}).code",
            "React.createElement",
            files=[lambda _: ""],  # filled in by run() once babel.min.js is there
            needs="babel",
        ),
        *frameworks,
        Workload(
            "dompurify",
            "DOMPurify 3.5: sanitize ~1 KB of HTML (dom=True)",
            f"DOMPurify.sanitize({json.dumps(HTML)})",
            "<h1>Title</h1>",
            files=[FIXTURES / "dompurify.js"],
            probes=[NO_DOM],
            v8rs={"dom": True},
        ),
        Workload(
            "turndown",
            "turndown 7.2: HTML to Markdown (dom=True)",
            f"new TurndownService({{headingStyle: 'atx'}}).turndown({json.dumps(HTML)})",
            "# Title",
            files=[FIXTURES / "turndown.js"],
            probes=[NO_DOM],
            v8rs={"dom": True},
        ),
        Workload(
            "readability",
            "@mozilla/readability 0.6: extract an article (dom=True)",
            f"new readability.Readability(new DOMParser().parseFromString({json.dumps(PAGE)},"
            " 'text/html')).parse().title",
            "On linked lists",
            files=[FIXTURES / "readability.js"],
            probes=[NO_DOM],
            v8rs={"dom": True},
        ),
        Workload(
            "jose",
            "jose 6.2: sign + verify an ES256 JWT (crypto.subtle)",
            "(async () => { const jwt = await new jose.SignJWT({sub: 'user-1'})"
            ".setProtectedHeader({alg: 'ES256'}).setIssuedAt().sign(keys.privateKey);"
            " return (await jose.jwtVerify(jwt, keys.publicKey)).payload.sub; })()",
            "user-1",
            files=[FIXTURES / "jose.js"],
            setup="(async () => { globalThis.keys = await jose.generateKeyPair('ES256'); })()",
            probes=[NO_SUBTLE],
            is_async=True,
        ),
        Workload(
            "ky",
            "ky 1.9: GET JSON through fetch (a Python handler)",
            "(async () => (await ky.get('https://api.example.com/users').json()).length)()",
            "20",
            files=[FIXTURES / "ky.js"],
            probes=[NO_FETCH],
            is_async=True,
            v8rs={"fetch": ky_handler},
        ),
        Workload(
            "temporal",
            "Temporal: zoned arithmetic across a DST change",
            ZONED,
            "2024-03-10T20:00:00+01:00[Europe/Paris] PT26H",
        ),
        Workload(
            "shift_jis",
            "TextDecoder('shift_jis'): decode 700 bytes",
            "new TextDecoder('shift_jis').decode(sjis)",
            "日本語のテキスト",
            setup=f"globalThis.sjis = new Uint8Array({SHIFT_JIS})",
            probes=[
                NO_DECODER,
                (
                    "(() => { try { new TextDecoder('shift_jis'); return true }"
                    " catch (e) { return false } })()",
                    "no shift_jis",
                ),
            ],
        ),
    ]


# --- engines ----------------------------------------------------------------------------


class Runner:
    """An engine with a context for one workload: ``run`` for scripts, ``settle`` for
    expressions that give a promise."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.name = engine.name

    def run(self, code: str) -> Any:
        return self.engine.run(code)

    def settle(self, code: str) -> Any:
        engine = self.engine
        if isinstance(engine, V8rs):
            return engine.ctx.eval(code, await_promise=True, timeout=30)
        if isinstance(engine, MiniRacer):
            return engine.ctx.eval(code).get()
        if isinstance(engine, Jsrun):
            rt = engine.rt

            async def settled() -> Any:
                return await rt.eval_async(code)

            return asyncio.run(settled())
        raise NotImplementedError(engine.name)

    def close(self) -> None:
        self.engine.close()


def make_engine(engine_type: type[Engine], workload: Workload) -> Engine:
    engine = engine_type()
    if isinstance(engine, V8rs) and workload.v8rs:
        engine.ctx.tear_down()
        engine.ctx = engine.vm.create_context(**workload.v8rs).set_up()
        engine.run_script = engine.ctx.run_script
    return engine


def reason_of(error: BaseException) -> str:
    """A short reason why a workload failed: "no X" for ``X is not defined``."""
    text = str(error).strip()
    missing = re.search(r"(\w+) is not defined", text)
    if missing:
        return f"no {missing.group(1)}"
    lines = text.splitlines()
    return f"{type(error).__name__}: {lines[-1][:80] if lines else ''}"


def median_rate(fn: Callable[[], object], seconds: float, runs: int) -> float:
    """Operations per second of ``fn``: the median of ``runs`` timed runs of about
    ``seconds`` each (after a calibration)."""
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        took = time.perf_counter() - start
        if took > seconds / 4:
            break
        n *= 4
    n = max(1, int(n * seconds / took))
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def measure(engine_type: type[Engine], workload: Workload, sources: list[tuple[str, str]], seconds: float,
            runs: int) -> float | str:  # fmt: skip
    """ops/s of ``workload`` in ``engine_type``, or the reason it cannot run it."""
    runner = Runner(make_engine(engine_type, workload))
    try:
        for probe, reason in workload.probes:
            if runner.run(f"String(!!({probe}))") != "true":  # v8rs's run_script gives strings
                return reason
        try:
            for name, source in sources:
                if isinstance(runner.engine, V8rs):
                    runner.engine.ctx.run_script(source, name)
                else:  # no result to convert (jsrun cannot convert a circular object)
                    runner.run(source + "\n;undefined")
            if workload.is_async:
                runner.settle(f"(async () => {{ await ({workload.setup or 'undefined'}); }})()")
            elif workload.setup:
                runner.run(workload.setup + "\n;undefined")
            call = runner.settle if workload.is_async else runner.run

            def once() -> Any:
                return call(workload.op)

            got = once()
        except Exception as error:
            return reason_of(error)
        if workload.expect not in str(got):
            return "output differs from Node's"
        return median_rate(once, seconds, runs)
    finally:
        runner.close()


# --- the run ----------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    title: str
    values: dict[str, float | str] = field(default_factory=dict)


def run(quick: bool, only: str | None) -> tuple[list[Row], list[str]]:
    engines, missing = available_engines()
    seconds, runs = (0.02, 3) if quick else (0.15, 5)
    modules = node_modules(fetch=not quick)  # --quick runs offline: only what is there
    babel = babel_path(fetch=not quick)
    rows: list[Row] = []
    for workload in workloads():
        if only is not None and only != workload.name:
            continue
        sources: list[tuple[str, str]] = []
        if workload.needs == "node_modules":
            if modules is None:
                missing.append(f"{workload.name} (npm ci into target/node_project: npm, network, or --quick)")
                continue
            sources = [
                (f"{workload.name}-{i}.js", f(modules) if callable(f) else f.read_text(encoding="utf-8"))
                for i, f in enumerate(workload.files)
            ]
        elif workload.needs == "babel":
            if babel is None:
                missing.append("babel (@babel/standalone not fetched: npm, network, or --quick)")
                continue
            sources = [(babel.name, babel.read_text(encoding="utf-8"))]
        else:
            sources = [(p.name, p.read_text(encoding="utf-8")) for p in workload.files if isinstance(p, Path)]
        row = Row(workload.name, workload.title)
        for engine_type in engines:
            row.values[engine_type.name] = measure(engine_type, workload, sources, seconds, runs)
        rows.append(row)
    return rows, missing


TARGETS: list[tuple[str, Callable[[list[Row]], bool | None]]] = [
    ("v8rs runs every package", lambda rows: all(isinstance(r.values["v8rs"], float) for r in rows)),
    (
        "v8rs >= each peer's ops/s where both run",
        lambda rows: _at_least_peers(rows),
    ),
]


def _at_least_peers(rows: list[Row]) -> bool | None:
    pairs = [
        (ours, theirs)
        for r in rows
        for peer, theirs in r.values.items()
        if peer != "v8rs" and isinstance(theirs, float) and isinstance(ours := r.values["v8rs"], float)
    ]
    return None if not pairs else all(ours >= theirs for ours, theirs in pairs)


def cell(value: float | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return f"no: {value}"
    return f"{value:,.0f}"


def table(rows: list[Row]) -> str:
    peers = [e.name for e in ENGINES[1:]]
    head = "| package: workload | v8rs | " + " | ".join(f"{p} | v8rs vs {p}" for p in peers) + " |"
    lines = [head, "|" + " --- |" * (2 + 2 * len(peers))]
    for row in rows:
        ours = row.values.get("v8rs")
        cells = [row.title, cell(ours)]
        for peer in peers:
            theirs = row.values.get(peer)
            ratio = "—"
            if isinstance(ours, float) and isinstance(theirs, float):
                ratio = f"{ours / theirs:.2f}x"
            elif isinstance(ours, float) and isinstance(theirs, str):
                ratio = "only v8rs"
            cells += [cell(theirs), ratio]
        lines.append("| " + " | ".join(cells) + " |")
    counts = ", ".join(
        f"{name} {sum(isinstance(r.values.get(name), float) for r in rows)}/{len(rows)}"
        for name in ["v8rs", *peers]
        if any(name in r.values for r in rows)
    )
    return "\n".join(lines) + f"\n\nWorkloads each engine runs: {counts}."


def summary(rows: list[Row]) -> str:
    lines = []
    for label, check in TARGETS:
        verdict = check(rows)
        lines.append(
            f"- {label}: {'n/a (peer missing)' if verdict is None else 'PASS' if verdict else 'MISS'}"
        )
    return "\n".join(lines)


SECTION = "## Real npm packages"


def write_docs(path: Path, text: str) -> None:
    """Puts ``text`` (which starts with SECTION) into the markdown file at ``path``, in place
    of the section there or before "## The workloads"."""
    doc = path.read_text(encoding="utf-8")
    start = doc.find(SECTION)
    if start >= 0:
        end = doc.find("\n## ", start + len(SECTION))
        doc = doc[:start] + text + (doc[end + 1 :] if end >= 0 else "")
    else:
        at = doc.find("## The workloads")
        at = at if at >= 0 else len(doc)
        doc = doc[:at] + text + doc[at:]
    path.write_text(doc, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short runs, offline, for smoke tests")
    parser.add_argument(
        "--only", metavar="NAME", help="one workload: " + ", ".join(w.name for w in workloads())
    )
    parser.add_argument("--json", metavar="PATH", help="write the numbers as JSON")
    parser.add_argument("--docs", metavar="PATH", help="write the table into this markdown file's section")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    started = time.perf_counter()
    rows, missing = run(args.quick, args.only)
    load_after = os.getloadavg()
    found = versions()
    machine = f"{host.machine()}, {os.cpu_count()} cores, {host.platform()}"
    load = (
        f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after"
        f" ({time.perf_counter() - started:.0f} s)"
    )
    print(f"Machine: {machine}; {load}")
    print("Versions: " + ", ".join(f"{k} {v}" for k, v in found.items()))
    if missing:
        print("Skipped (not installed): " + ", ".join(missing))
    print()
    print(table(rows))
    print()
    print("Targets:")
    print(summary(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"versions": found, "rows": [r.__dict__ for r in rows]}, f, indent=2)
    if args.docs:
        text = (
            f"{SECTION} (`python bench/packages.py`)\n\n"
            "Unmodified npm packages, each loaded the same way in every engine (a browser bundle from\n"
            "`tests/fixtures/`, or the package's own UMD/CommonJS file from `npm ci` of\n"
            "`tests/fixtures/node_project`; `@babel/standalone` fetched as for the `babel` row), then one\n"
            "call timed: operations per second, the median of 5 runs, every engine in the same run.\n"
            '"no: …" is why an engine cannot run that package (probed first where the package would\n'
            "otherwise fail silently — DOMPurify without a DOM returns its input). v8rs's context gets\n"
            "what the package needs: `dom=True`, a `fetch` handler in Python.\n\n"
            f"Machine: {machine}; {load}.\n"
            f"Versions: {', '.join(f'{k} {v}' for k, v in found.items())}.\n\n"
            f"{table(rows)}\n\nTargets:\n\n{summary(rows)}\n\n"
        )
        write_docs(Path(args.docs), text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
