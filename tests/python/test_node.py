"""The Node group (``node=``): ``process``, ``Buffer``, ``global``, ``setImmediate``,
``nextTick`` ordering, and ``require`` — each compared with Node 20 running the same
code where Node is installed — plus the confinement of ``require`` to its folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from v8cffi.context import Context
from v8cffi.exceptions import V8ArgumentError, V8JSError, V8LifecycleError
from v8cffi.vm import VM

ROOT = Path(__file__).resolve().parents[2]
TREE = ROOT / "tests" / "fixtures" / "node_tree"
PROJECT = ROOT / "tests" / "fixtures" / "node_project"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed (the reference for behaviour)")


def node_json(expression: str, cwd: Path = TREE, prelude: str = "") -> Any:
    """``expression`` evaluated by Node 20 in ``cwd`` (awaited), as JSON."""
    assert NODE is not None
    script = f"{prelude}\nPromise.resolve({expression}).then((v) => process.stdout.write(JSON.stringify(v)));"
    out = subprocess.run(
        [NODE, "-e", script], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(out.stdout)


def ours_json(ctx: Context, expression: str, prelude: str = "") -> Any:
    """The same in a v8rs context."""
    text = ctx.eval(
        f"{prelude}\nPromise.resolve({expression}).then((v) => JSON.stringify(v))", await_promise=True
    )
    return json.loads(text)


@pytest.fixture
def tree_ctx(vm: VM) -> Iterator[Context]:
    with vm.create_context(node={"modules": TREE}) as ctx:
        yield ctx


# ---- process, global, timers


def test_without_the_group_there_is_no_node(ctx: Context) -> None:
    assert (
        ctx.eval("[typeof process, typeof Buffer, typeof require, typeof setImmediate, typeof global]")
        == ["undefined"] * 5
    )


def test_process_basics(vm: VM) -> None:
    with vm.create_context(node=True) as ctx:
        assert ctx.eval("JSON.stringify(process.env)") == "{}"
        assert ctx.eval("global === globalThis && globalThis.global === global") is True
        got = ctx.eval(
            "[process.platform, process.arch, typeof process.version, process.versions.node, "
            "process.cwd(), process.argv.length, typeof process.hrtime.bigint(), process.hrtime().length]"
        )
        assert got[0] == "linux" and got[1] in {"x64", "arm64"}
        assert got[2] == "string" and got[3].startswith("20.")
        assert got[4:] == ["/", 1, "bigint", 2]
        assert (
            ctx.eval("const t = process.hrtime(); const d = process.hrtime(t); d[0] >= 0 && d[1] >= 0")
            is True
        )
        assert ctx.eval("Object.keys(globalThis).filter((k) => k !== '__v8cffi_required')") == []
        with pytest.raises(V8JSError, match=r"process\.exit\(3\) was called"):
            ctx.eval("process.exit(3)")
        assert ctx.eval("try { process.exit() } catch (e) { [e.code, e.exitCode] }") == [
            "ERR_V8RS_PROCESS_EXIT",
            3,
        ]
    env = {"NODE_ENV": "production", "EMPTY": ""}
    with vm.create_context(node={"env": env}) as ctx:
        assert ctx.eval("[process.env.NODE_ENV, process.env.EMPTY, process.env.HOME]") == [
            "production",
            "",
            None,
        ]
    with pytest.raises(ValueError, match="unknown node options"):
        vm.create_context(node={"modulez": "."})
    with pytest.raises(ValueError, match="names without"):
        vm.create_context(node={"env": {"A=B": "c"}})


def test_emit_warning_goes_to_the_console(vm: VM) -> None:
    lines: list[tuple[str, str]] = []
    vm.set_console(lambda level, text: lines.append((level, text)))
    with vm.create_context(node=True) as ctx:
        ctx.eval("process.emitWarning('careful', 'DeprecationWarning', 'DEP0001'); 1")
        ctx.run_until_idle()
        seen = ctx.eval(
            "new Promise((r) => { process.once('warning', (w) => r([w.name, w.message])); process.emitWarning('x'); })",  # noqa: E501
            await_promise=True,
        )
    assert lines == [("warn", "(node:1) [DEP0001] DeprecationWarning: careful")]
    assert seen == ["Warning", "x"]


ORDER = """
const log = [];
setImmediate(() => {
  log.push('immediate1');
  process.nextTick(() => log.push('tick-in-immediate'));
  Promise.resolve().then(() => log.push('promise-in-immediate'));
});
const cleared = setImmediate(() => log.push('cleared'));
clearImmediate(cleared);
setImmediate((a, b) => log.push('immediate2:' + a + b), 'x', 'y');
Promise.resolve().then(() => {
  log.push('promise1');
  process.nextTick(() => log.push('tick-from-promise'));
});
process.nextTick(() => { log.push('tick1'); Promise.resolve().then(() => log.push('promise-from-tick')); });
process.nextTick((v) => log.push('tick2:' + v), 7);
queueMicrotask(() => log.push('microtask'));
log.push('sync');
"""


def test_next_tick_and_immediates_order_as_node(vm: VM) -> None:
    expected = [
        "sync", "tick1", "tick2:7", "promise1", "microtask", "promise-from-tick", "tick-from-promise",
        "immediate1", "tick-in-immediate", "promise-in-immediate", "immediate2:xy",
    ]  # fmt: skip
    waited = "new Promise((r) => setTimeout(() => r(log), 30))"
    with vm.create_context(node=True) as ctx:
        assert ours_json(ctx, waited, ORDER) == expected
        with pytest.raises(V8JSError, match='"callback" argument must be of type function'):
            ctx.eval("process.nextTick(1)")
    if NODE is not None:
        assert node_json(waited, prelude=ORDER) == expected


# ---- Buffer

BUFFER_CASES = [
    "Buffer.from('héllo').toString('base64')",
    "Buffer.from('aMOpbGxv', 'base64').toString()",
    "Buffer.from('héllo').toString('hex')",
    "Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]).readUInt32LE(1)",
    "Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]).readUInt32BE(0)",
    "Buffer.from([255, 254]).readInt16LE(0)",
    "Buffer.concat([Buffer.from('ab'), Buffer.from('cd')]).toString()",
    "Buffer.from('hello').slice(1, 3).toString()",
    "Buffer.from('hello').subarray(-3).toString('latin1')",
    "Buffer.from('abc').equals(Buffer.from('abc'))",
    "Buffer.compare(Buffer.from('a'), Buffer.from('b'))",
    "Buffer.from('hi').toJSON()",
    "JSON.stringify(Buffer.from('hi'))",
    "Buffer.byteLength('héllo')",
    "Buffer.alloc(4, 'ab').toString()",
    "(() => { const b = Buffer.alloc(8); b.writeDoubleLE(1.5); return [...b]; })()",
    "(() => { const b = Buffer.alloc(6); b.writeUIntBE(0x123456789a, 0, 5); return b.toString('hex'); })()",
    "Buffer.from('€').toString('binary').length",
    "Buffer.from('ff00', 'hex').readUInt16BE()",
    "Buffer.isBuffer(Buffer.alloc(1)) && !Buffer.isBuffer(new Uint8Array(1))",
    "Buffer.from('hello world').indexOf('world')",
    "Buffer.from('a,b').toString('utf16le').length",
    "require('buffer').Buffer === Buffer",
    "require('util').inspect(Buffer.from('hi'))",
]


@pytest.mark.parametrize("expression", BUFFER_CASES)
def test_buffer_matches_node(vm: VM, expression: str) -> None:
    with vm.create_context(node=True) as ctx:
        ours = ours_json(ctx, expression)
    if NODE is None:
        pytest.skip("node is not installed")
    assert ours == node_json(expression)


# ---- require: resolution over a hand-made tree, compared with Node

TREE_CASES = [
    "require('./index').name",
    "[require('./lib/cycle_a'), require('./lib/cycle_b')]",
    "require('./lib/data')",
    "require('./lib/data.json').list",
    "require('./lib/dir')",
    "require('cond')",
    "require('cond/sub')",
    "require('cond/features/feat')",
    "require('cond/package.json').name",
    "require('nomain')",
    "require('@scope/pkg')",
    "require('main-dir')",
    "require('esm-only').x + ':' + require('esm-only').default",
    "require('./lib/cycle_a') === require('./lib/cycle_a.js')",
    "(() => { try { require('cond/lib/sub.js') } catch (e) { return e.code } })()",
    "(() => { try { require('badmain') } catch (e) { return [e.code, e.message.split('. ')[0].split('/').pop()] } })()",  # noqa: E501
    "(() => { try { require('nope') } catch (e) { return [e.code, e.message.split('\\n')[0]] } })()",
    "Object.keys(require.cache).some((k) => k.endsWith('cycle_b.js'))",
    "typeof require('events').EventEmitter",
    "require('path').join('/a/b', '../c', 'd.js')",
    "require('path').relative('/a/b/c', '/a/d')",
    "require('node:path').extname('x/y.tar.gz')",
    "require('util').format('%s:%d:%j', 'a', 42, {b: 1})",
    "require('util').inspect({a: [1, {b: new Map([[1, 2]])}]}, {depth: 0})",
    "require('util').types.isPromise(Promise.resolve())",
    "typeof require('util').promisify((cb) => cb(null, 1))",
    "require('process') === process",
    "require.resolve('cond').split('/').slice(-2).join('/')",
]


@pytest.mark.parametrize("expression", TREE_CASES)
def test_resolution_matches_node(tree_ctx: Context, expression: str) -> None:
    ours = ours_json(tree_ctx, expression)
    if NODE is None:
        pytest.skip("node is not installed")
    assert ours == node_json(expression)


def test_not_found_names_the_require_stack_and_where_it_looked(tree_ctx: Context) -> None:
    error = tree_ctx.eval("try { require('./lib/outer') } catch (e) { [e.code, e.message, e.requireStack] }")
    code, message, stack = error
    assert code == "MODULE_NOT_FOUND"
    lines = message.split("\n")
    assert lines[:4] == [
        "Cannot find module 'missing-pkg'",
        "Require stack:",
        f"- {TREE}/lib/needs_missing.js",
        f"- {TREE}/lib/outer.js",
    ]
    assert lines[4] == f"Looked in: {TREE}/lib/node_modules, {TREE}/node_modules"
    assert stack == [f"{TREE}/lib/needs_missing.js", f"{TREE}/lib/outer.js"]
    # A failed module is not cached; Node's message for an unexported subpath.
    assert tree_ctx.eval("Object.keys(require.cache).some((k) => k.endsWith('outer.js'))") is False
    message = tree_ctx.eval("try { require('cond/lib/sub.js') } catch (e) { e.message }")
    assert (
        message
        == f"Package subpath './lib/sub.js' is not defined by \"exports\" in {TREE}/node_modules/cond/package.json"  # noqa: E501
    )
    with pytest.raises(V8JSError, match="The Node built-in module 'fs' is not available in v8rs"):
        tree_ctx.eval("require('fs')")
    with pytest.raises(V8JSError, match="'crypto' is not available"):
        tree_ctx.eval("require('node:crypto')")


def test_module_scope_and_cache(tree_ctx: Context) -> None:
    got = tree_ctx.eval("require('./lib/dir')")
    assert got == {"dir": "lib/dir", "file": "index.js"}
    assert tree_ctx.eval(
        "const a1 = require('cond'); delete require.cache[require.resolve('cond')]; a1 === require('cond')"
    )
    assert tree_ctx.eval("require('./index') === require('./index.js')") is True


def test_python_require(tree_ctx: Context) -> None:
    assert tree_ctx.require("cond").value() == "cond:require"
    assert tree_ctx.require("path").join("/a", "b") == "/a/b"
    assert tree_ctx.require("./lib/data.json").value() == {"answer": 42, "list": [1, 2]}
    with pytest.raises(V8JSError, match="Cannot find module 'nope'"):
        tree_ctx.require("nope")


def test_reads_stay_in_the_folder(vm: VM, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(TREE, project, symlinks=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "index.js").write_text("module.exports = 'secret';")
    (outside / "secret.js").write_text("module.exports = 'secret';")
    (project / "node_modules" / "evil").symlink_to(outside, target_is_directory=True)
    (project / "lib" / "link.js").symlink_to(outside / "secret.js")
    (project / "node_modules" / "inner").symlink_to(
        project / "node_modules" / "cond", target_is_directory=True
    )
    with vm.create_context(node={"modules": project}) as ctx:
        for request in [
            "'../outside/secret'",
            "'../../etc/passwd'",
            f"'{outside}/secret.js'",
            "'evil'",
            "'./lib/link'",
        ]:
            code = ctx.eval(f"try {{ require({request}); 'loaded' }} catch (e) {{ e.code }}")
            assert code == "ERR_V8RS_OUTSIDE_ROOT", request
        message = ctx.eval("try { require('evil') } catch (e) { e.message }")
        assert "is outside the modules folder" in message
        # A symbolic link inside the folder is followed.
        assert ctx.eval("require('inner')") == "cond:require"
        ctx.set_node_modules(outside)
        assert ctx.eval("require('./secret')") == "secret"
        ctx.set_node_modules(None)
        with pytest.raises(V8JSError, match="no modules folder"):
            ctx.eval("require('./secret.js')")
        assert ctx.eval("typeof require('events')") == "function"
        with pytest.raises(V8ArgumentError):
            ctx.set_node_modules(tmp_path / "missing")
    with vm.create_context() as plain, pytest.raises(V8LifecycleError):
        plain.set_node_modules(project)


def test_es_modules_through_run_module(tree_ctx: Context) -> None:
    source = (TREE / "app.mjs").read_text()
    got = tree_ctx.run_module(source, str(TREE / "app.mjs"))
    expected = {"got": ["cond:import", 1, "nomain:index", "function"]}
    assert got == expected
    # A module named outside the folder resolves from the folder itself.
    assert tree_ctx.run_module("import s from 'cond/sub'; export const v = s;", "main.mjs") == {
        "v": "cond/sub"
    }
    with pytest.raises(V8JSError, match="Cannot find module 'nope'"):
        tree_ctx.run_module("import 'nope';", "main.mjs")
    if NODE is not None:
        out = subprocess.run(
            [NODE, "--input-type=module", "-e", "import { got } from './app.mjs'; console.log(JSON.stringify({got}))"],  # noqa: E501
            cwd=TREE, capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        assert json.loads(out.stdout) == expected


# ---- real packages from npm, no bundler


@pytest.fixture(scope="module")
def project() -> Path:
    """``tests/fixtures/node_project`` installed (``npm ci --ignore-scripts``) into a
    folder under ``target/``, kept between runs while the lock file is the same."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    lock = (PROJECT / "package-lock.json").read_bytes()
    folder = ROOT / "target" / "node_project"
    stamp = folder / ".lock"
    if not stamp.exists() or stamp.read_bytes() != lock:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name in ["package.json", "package-lock.json"]:
            shutil.copy(PROJECT / name, folder / name)
        installed = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=folder, capture_output=True, text=True, timeout=300, env={**os.environ, "npm_config_loglevel": "error"},  # noqa: E501
        )  # fmt: skip
        if installed.returncode != 0:
            pytest.skip(f"npm ci failed (offline?): {installed.stderr[-300:]}")
        stamp.write_bytes(lock)
    return folder


MARKDOWN = "# Title\n\nSome *emphasis*, `code`, a [link](https://example.com) & <b>html</b>.\n\n- one\n- two\n\n```js\nconst x = 1;\n```\n"  # noqa: E501
PACKAGE_CASES = [
    f"require('marked').parse({json.dumps(MARKDOWN)})",
    "require('marked').marked.parseInline('**bold** _it_')",
    "require('highlight.js').highlight('function f(a) { return a + 1; } // hi', {language: 'javascript'}).value",  # noqa: E501
    "require('highlight.js').highlightAuto('SELECT * FROM t WHERE a = 1;').language",
    "require('highlight.js/lib/core').getLanguage === require('highlight.js').getLanguage",
    "require('katex').renderToString('c = \\\\pm\\\\sqrt{a^2 + b^2}')",
    "require('katex').renderToString('\\\\frac{1}{2}', {displayMode: true, output: 'mathml'})",
    "(() => { try { require('katex').renderToString('\\\\frac{') } catch (e) { return e.name + ': ' + e.message } })()",  # noqa: E501
]


@pytest.mark.parametrize("expression", PACKAGE_CASES)
def test_npm_packages_byte_identical_to_node(vm: VM, project: Path, expression: str) -> None:
    with vm.create_context(node={"modules": project}) as ctx:
        ours = ours_json(ctx, expression)
    if NODE is None:
        pytest.skip("node is not installed")
    assert ours == node_json(expression, cwd=project)


def test_marked_from_python(vm: VM, project: Path) -> None:
    with vm.create_context(node={"modules": project}) as ctx:
        html = ctx.require("marked").parse("# hi")
        assert html == "<h1>hi</h1>\n"
        assert ctx.require("katex").renderToString("x").startswith('<span class="katex">')


def _package(root: Path, name: str, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / "node_modules" / name / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_exports_patterns_cannot_be_walked_out_of(vm: VM, tmp_path: Path) -> None:
    # `enc/public/../private/secret.js` used to load the unexported file.
    (tmp_path / "package.json").write_text("{}")
    _package(
        tmp_path,
        "enc",
        {
            "package.json": '{"exports": {"./public/*": "./public/*", "./up": "./../other/index.js"}}',
            "public/a.js": "module.exports = 'pub'",
            "private/secret.js": "module.exports = 'SECRET'",
        },
    )
    _package(tmp_path, "other", {"index.js": "module.exports = 'other'"})
    with vm.create_context(node={"modules": tmp_path}) as ctx:
        assert ctx.eval("require('enc/public/a.js')") == "pub"
        codes = {
            request: ctx.eval(f"try {{ require({request!r}); 'loaded' }} catch (e) {{ e.code }}")
            for request in [
                "enc/public/../private/secret.js",
                "enc/public/./a.js",
                "enc/public/%2e%2e/private/secret.js",
                "enc/up",
                "enc/public/",
            ]
        }
    assert codes == {
        "enc/public/../private/secret.js": "ERR_INVALID_MODULE_SPECIFIER",
        "enc/public/./a.js": "ERR_INVALID_MODULE_SPECIFIER",
        "enc/public/%2e%2e/private/secret.js": "ERR_INVALID_MODULE_SPECIFIER",
        "enc/up": "ERR_INVALID_PACKAGE_TARGET",
        "enc/public/": "ERR_PACKAGE_PATH_NOT_EXPORTED",
    }
    if NODE is not None:
        for request, code in codes.items():
            got = node_json(
                f"(() => {{ try {{ require({request!r}); return 'loaded' }} "
                "catch (e) { return e.code } })()",
                cwd=tmp_path,
            )
            assert got == code, request


def test_a_package_that_is_a_lone_file_and_files_that_are_not_utf8(vm: VM, tmp_path: Path) -> None:
    (tmp_path / "node_modules" / "@sc").mkdir(parents=True)
    (tmp_path / "node_modules" / "filepkg.js").write_text("module.exports = 'filepkg'")
    (tmp_path / "node_modules" / "@sc" / "file.js").write_text("module.exports = 'scoped'")
    (tmp_path / "latin1.js").write_bytes(b"// caf\xe9\nmodule.exports = 'latin1';\n")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "package.json").write_bytes(b'{"main": "main.js", "d": "\xe9"}')
    (tmp_path / "m" / "main.js").write_text("module.exports = 'main'")
    (tmp_path / "m" / "index.js").write_text("module.exports = 'index'")
    expression = "[require('filepkg'), require('@sc/file'), require('./latin1'), require('./m')]"
    with vm.create_context(node={"modules": tmp_path}) as ctx:
        assert ctx.eval(expression) == ["filepkg", "scoped", "latin1", "main"]
    if NODE is not None:
        assert node_json(expression, cwd=tmp_path) == ["filepkg", "scoped", "latin1", "main"]


def test_python_require_follows_javascripts_cache(vm: VM, tmp_path: Path) -> None:
    (tmp_path / "x.js").write_text("module.exports = { n: (globalThis.loads = (globalThis.loads || 0) + 1) }")
    with vm.create_context(node={"modules": tmp_path}) as ctx:
        assert ctx.require("./x").n.value() == 1
        assert ctx.require("./x").n.value() == 1  # cached
        ctx.eval("delete require.cache[require.resolve('./x')]")
        assert ctx.require("./x").n.value() == 2


def test_import_meta_and_create_require_of_it(vm: VM, tmp_path: Path) -> None:
    folder = tmp_path / "my dir"
    folder.mkdir()
    (folder / "y.js").write_text("module.exports = 'y'")
    (folder / "meta.mjs").write_text(
        'import { createRequire } from "node:module";\n'
        "const require = createRequire(import.meta.url);\n"
        "export const m = [import.meta.url, import.meta.filename, import.meta.dirname, require('./y.js')];\n"
    )
    expected = [(folder / "meta.mjs").as_uri(), str(folder / "meta.mjs"), str(folder), "y"]
    with vm.create_context(node={"modules": tmp_path}) as ctx:
        path = str(folder / "meta.mjs")
        assert ctx.run_module((folder / "meta.mjs").read_text(), path)["m"] == expected
        assert ctx.eval("require('./my dir/meta.mjs').m") == expected
        bad = "try { require('module').createRequire('rel.js') } catch (e) { e.code }"
        assert ctx.eval(bad) == "ERR_INVALID_ARG_VALUE"
    with vm.create_context() as ctx:  # a module named otherwise: its name
        assert ctx.run_module("export const u = import.meta.url", "app") == {"u": "app"}
        # The name it was compiled under: not a sourceURL, nor the caller's name.
        named = "export const u = import.meta.url\n//# sourceURL=other.js"
        assert ctx.run_module(named, str(folder / "named.mjs")) == {"u": (folder / "named.mjs").as_uri()}
        assert ctx.run_module("export const u = import.meta.url", "") == {"u": ""}
        lib = {"lib": "export function url() { return import.meta.url }"}
        app = "import { url } from 'lib'; export const u = url()"
        assert ctx.run_module(app, "app", resolver=lambda s, r: (s, lib[s])) == {"u": "lib"}
    if NODE is not None:
        got = node_json("import('./my dir/meta.mjs').then((m) => m.m)", cwd=tmp_path)
        assert got == expected


def test_the_commonjs_wrapper_is_a_real_function(vm: VM, tmp_path: Path) -> None:
    # Compiled as a function's body, as Node does: no text closes the wrapper early, and
    # first-line columns are the file's own (they were 62 columns off).
    (tmp_path / "col.js").write_text('module.exports = new Error("here").stack.split("\\n")[1]')
    (tmp_path / "esc.js").write_text("})(); globalThis.escaped = 1; (function(){")
    (tmp_path / "she.js").write_text(
        "#!/usr/bin/env node\nmodule.exports = [this === module.exports, arguments.length];\nreturn;\n"
    )
    expression = (
        "[require('./col.js').trim(), (() => { try { require('./esc.js'); return typeof escaped }"
        " catch (e) { return e.name } })(), require('./she.js')]"
    )
    expected = [f"at Object.<anonymous> ({tmp_path}/col.js:1:18)", "SyntaxError", [True, 5]]
    with vm.create_context(node={"modules": tmp_path}) as ctx:
        assert ctx.eval(expression) == expected
    if NODE is not None:
        assert node_json(expression, cwd=tmp_path) == expected


def test_a_file_is_one_es_module_for_the_context(vm: VM, tmp_path: Path) -> None:
    (tmp_path / "state.mjs").write_text(
        "export let n = 0; export function inc() { return ++n }\n"
        "globalThis.stateLoads = (globalThis.stateLoads || 0) + 1;\n"
    )
    (tmp_path / "a.mjs").write_text('import { inc } from "./state.mjs"; export const a = inc();')
    (tmp_path / "b.mjs").write_text('import { inc } from "./state.mjs"; export const b = inc();')
    (tmp_path / "tla.mjs").write_text("export const t = await new Promise((r) => setTimeout(r, 1));")
    expression = (
        "(() => { const a = require('./a.mjs'), b = require('./b.mjs'), s = require('./state.mjs');"
        " let code; try { require('./tla.mjs') } catch (e) { code = e.code }"
        " return [a.a, b.b, s.n, globalThis.stateLoads, code] })()"
    )
    expected = [1, 2, 2, 1, "ERR_REQUIRE_ASYNC_MODULE"]
    with vm.create_context(node={"modules": tmp_path}) as ctx:
        assert ctx.eval(expression) == expected
        source = 'import { inc } from "./state.mjs"; export const x = [inc(), globalThis.stateLoads]'
        assert ctx.run_module(source, str(tmp_path / "main.mjs")) == {"x": [3, 1]}
    if NODE is not None:
        assert node_json(expression, cwd=tmp_path) == expected


def test_string_decoder_keeps_characters_split_between_writes(vm: VM, tmp_path: Path) -> None:
    expression = r"""(() => {
      const { StringDecoder } = require('string_decoder');
      const bytes = Buffer.from('h\u00e9llo \u20ac \ud83d\ude00 end', 'utf8');
      const out = {};
      for (const enc of ['utf8', 'utf16le', 'latin1', 'base64', 'base64url', 'hex', 'ascii']) {
        const data = enc === 'utf16le' ? Buffer.from('h\u00e9 \ud83d\ude00', 'utf16le') : bytes;
        const d = new StringDecoder(enc);
        const parts = [];
        for (let i = 0; i < data.length; i += 3) parts.push(d.write(data.subarray(i, i + 3)));
        parts.push(d.end());
        // (Node splits a surrogate pair cut between writes in utf16le; the text is the same)
        out[enc] = [d.encoding, enc === 'utf16le' ? [parts.join('')] : parts];
      }
      const bom = new StringDecoder('utf8');
      out.bom = [bom.write(Buffer.from([0xef, 0xbb, 0xbf, 0x41])), bom.end(),
        bom.write(Buffer.from([0xef, 0xbb, 0xbf]))];
      const u16 = (bytes) => {
        const d = new StringDecoder('utf16le');
        return [d.write(Buffer.from(bytes)), d.end()];
      };
      out.u16 = [u16([0xff, 0xfe, 0x41, 0]), u16([0x3d, 0xd8, 0x41, 0]), u16([0x41, 0, 0x3d, 0xd8]),
        u16([0x41, 0, 0x3d])];
      const codes = [];
      for (const name of ['__proto__', 'constructor', Symbol('s')]) {
        try { new StringDecoder(name) } catch (e) { codes.push(e.code) }
      }
      out.codes = codes;
      const cut = new StringDecoder('utf8');
      out.cut = [cut.write(Buffer.from([0xe2, 0x82])), cut.end(), cut.write('text')];
      let code; try { new StringDecoder('nope') } catch (e) { code = e.code }
      out.code = code;
      out.esm = typeof require('node:string_decoder').StringDecoder;
      return out;
    })()"""
    with vm.create_context(node={"modules": tmp_path}) as ctx:
        ours = ours_json(ctx, expression)
        assert "".join(ours["utf8"][1]) == "h\u00e9llo \u20ac \U0001f600 end"
        assert ours["cut"] == ["", "\ufffd", "text"]
        assert ours["code"] == "ERR_UNKNOWN_ENCODING"
    if NODE is not None:
        assert ours == node_json(expression, cwd=tmp_path)


def test_require_resolve_takes_paths(vm: VM, tmp_path: Path) -> None:
    _package(tmp_path / "other", "dep", {"index.js": "module.exports = 'dep'"})
    (tmp_path / "package.json").write_text("{}")
    expression = (
        "(() => { const r = (req, o) => { try { return require.resolve(req, o).slice(__dirname.length) }"
        " catch (e) { return e.code } };"
        " return [r('dep', { paths: [__dirname + '/other'] }), r('dep'), r('dep', { paths: ['other'] }),"
        " r('./index.js', { paths: [__dirname + '/other/node_modules/dep'] }),"
        " r('missing', { paths: [__dirname + '/other'] }), r('dep', { paths: ['/nonexistent'] }),"
        " r('x', { paths: [5] })] })()"
    )
    expected = ["/other/node_modules/dep/index.js", "MODULE_NOT_FOUND", "/other/node_modules/dep/index.js",
                "/other/node_modules/dep/index.js", "MODULE_NOT_FOUND", "MODULE_NOT_FOUND",
                "ERR_INVALID_ARG_TYPE"]  # fmt: skip
    with vm.create_context(node={"modules": tmp_path}) as ctx:
        assert ours_json(ctx, expression, prelude=f"var __dirname = {str(tmp_path)!r};") == expected
        assert ctx.eval("try { require.resolve('dep', { paths: 'x' }) } catch (e) { e.code }") == (
            "ERR_INVALID_ARG_VALUE"
        )
    # The modules folder named through a link: a folder given through it is inside.
    link = tmp_path.parent / f"{tmp_path.name}-link"
    link.symlink_to(tmp_path)
    with vm.create_context(node={"modules": link}) as ctx:
        found = ctx.eval(f"require.resolve('dep', {{ paths: [{str(link / 'other')!r}] }})")
        assert found == str(tmp_path.resolve() / "other" / "node_modules" / "dep" / "index.js")
    if NODE is not None:
        assert node_json(expression, cwd=tmp_path, prelude=f"var __dirname = {str(tmp_path)!r};") == expected


def test_invalid_exports_targets_are_errors_and_passed_over_in_arrays(vm: VM, tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text("{}")
    exports = (
        '{"./x": ["../escape.js", "./lib/a.js"], "./bad": ["../bad.js"], "./bare": "lib/a.js",'
        ' "./cleared": ["bad", null], "./num": 5, "./c1": {"require": null, "default": "./lib/a.js"},'
        ' "./c2": {"require": [], "default": "./lib/a.js"}, "./a1": ["bad", ["x", null]],'
        ' "./a2": ["bad", {"require": null}], "./a3": ["bad", {"import": "./lib/a.js"}]}'
    )
    files = {"package.json": f'{{"exports": {exports}}}', "lib/a.js": "module.exports = 'a'"}
    _package(tmp_path, "arr", files)
    expression = (
        "['arr/x', 'arr/bad', 'arr/bare', 'arr/cleared', 'arr/num', 'arr/c1', 'arr/c2', 'arr/a1', 'arr/a2',"
        " 'arr/a3']"
        ".map((r) => { try { return require(r) } catch (e) { return e.code } })"
    )
    invalid, unexported = "ERR_INVALID_PACKAGE_TARGET", "ERR_PACKAGE_PATH_NOT_EXPORTED"
    # a `null` for a condition that applies stops the search: its `default` is not used
    expected = ["a", invalid, invalid, unexported, invalid, unexported, unexported, unexported, unexported]
    expected.append(invalid)
    with vm.create_context(node={"modules": tmp_path}) as ctx:
        assert ctx.eval(expression) == expected
    if NODE is not None:
        assert node_json(expression, cwd=tmp_path) == expected


def test_import_specifiers_are_urls(vm: VM, tmp_path: Path) -> None:
    (tmp_path / "sp ace").mkdir()
    (tmp_path / "sp ace" / "m.mjs").write_text("export const v = 1")
    (tmp_path / "q.mjs").write_text("export const v = 2")
    specifiers = ["./sp%20ace/m.mjs", "./q.mjs?x=1", "./q.mjs#h", (tmp_path / "q.mjs").as_uri()]
    specifiers.append("./sp%2face/m.mjs")  # an encoded "/": refused
    specifiers.append((tmp_path / "sp ace").as_uri() + "%2fm.mjs")  # in a file: URL too
    specifiers.append("FILE://" + (tmp_path / "q.mjs").as_uri()[7:])  # the scheme in capitals
    specifiers.append("file://elsewhere" + (tmp_path / "q.mjs").as_uri()[7:])  # a host: refused
    expected = [1, 2, 2, 2, "error", "error", 2, "error"]
    got: list[object] = []
    with vm.create_context(node={"modules": tmp_path}) as ctx:
        for specifier in specifiers:
            try:
                module = ctx.run_module(f"export {{ v }} from {specifier!r}", str(tmp_path / "main.mjs"))
                got.append(module["v"])
            except V8JSError:
                got.append("error")
    assert got == expected
    if NODE is not None:
        source = "const out = [];\n"
        for specifier in specifiers:
            source += f"try {{ out.push((await import({specifier!r})).v) }}"
            source += " catch (e) { out.push('error') }\n"
        (tmp_path / "main.mjs").write_text(source + "console.log(JSON.stringify(out));")
        run = subprocess.run([NODE, str(tmp_path / "main.mjs")], capture_output=True, text=True, timeout=60)
        assert json.loads(run.stdout) == expected


def test_required_members_of_any_name(vm: VM, tmp_path: Path) -> None:
    (tmp_path / "odd.js").write_text(
        "module.exports = { x: 5, 'to-html'() { return this.x }, 'a.b': 1, 'q\"[]': 2, 'caf\u00e9': 3,"
        " 'cafe\u0301'() { return this.x } }"
    )
    with vm.create_context(node={"modules": tmp_path}) as ctx:
        odd = ctx.require("./odd.js")
        assert odd["to-html"]() == 5  # called as a method of the module
        names = ["a.b", 'q"[]', "caf\u00e9", "x"]
        assert [odd[name].value() for name in names] == [1, 2, 3, 5]
        assert odd.x.value() == 5
        decomposed = "cafe\u0301"  # (getattr: Python's source would normalize the name)
        assert getattr(odd, decomposed)() == 5  # a non-ASCII name: still a method
        assert ctx.call('({ "m-1"() { return 7 } })["m-1"]') == 7
        # Only a plain chain is a method call; any other expression is called as it is.
        ctx.run_script("var p = { f() { return 'p' } }, q = { f() { return this === q } }; 0")
        assert [ctx.call('p["f"] || q["f"]'), ctx.call('q["f"]'), ctx.call('q["f"] ')] == ["p", True, False]
        # A name Python takes as an identifier but not ASCII: still called as a method.
        ctx.run_script("module_like = { 'cafe\u0301'() { return this === module_like } }; 0")
        assert ctx.call('module_like["cafe\u0301"]') is True
        with pytest.raises(ValueError, match="surrogates"):
            odd["\ud800"]
        with pytest.raises(TypeError, match="string"):
            odd[0]  # type: ignore[index]
