"""ES modules: graphs resolved through Python, namespaces, top-level await, errors."""

from __future__ import annotations

import posixpath

import pytest

from v8cffi import V8ConversionError, V8JSError, V8JSSyntaxError, V8TimeoutError
from v8cffi.context import Context

FILES = {
    "app/main.js": (
        "import { render } from './view.js';\n"
        "import { VERSION } from '../lib/version.js';\n"
        "export const page = render('hola');\n"
        "export const version = VERSION;\n"
        "export const ready = await Promise.resolve('ready');\n"
    ),
    "app/view.js": (
        "import { escape } from '../lib/html.js';\n"
        "import { VERSION } from '../lib/version.js';\n"
        "export function render(s) { return `<p>${escape(s)}</p><!-- ${VERSION} -->`; }\n"
    ),
    "lib/html.js": "export const escape = (s) => s.replace(/</g, '&lt;');\n",
    "lib/version.js": "globalThis.loads = (globalThis.loads || 0) + 1;\nexport const VERSION = '1.0';\n",
    "lib/broken.js": "export const x = ;\n",
    "app/uses_broken.js": "import { x } from '../lib/broken.js';\nexport { x };\n",
    "app/uses_missing.js": "import { y } from './missing.js';\nexport { y };\n",
}


def resolver(specifier: str, referrer: str) -> tuple[str, str]:
    name = posixpath.normpath(posixpath.join(posixpath.dirname(referrer), specifier))
    return name, FILES[name]


def test_a_module_graph_with_shared_imports(ctx: Context) -> None:
    namespace = ctx.run_module(FILES["app/main.js"], "app/main.js", resolver=resolver)
    assert namespace == {"page": "<p>hola</p><!-- 1.0 -->", "version": "1.0", "ready": "ready"}
    assert ctx.eval("loads") == 1  # lib/version.js was imported twice, evaluated once


def test_global_name_makes_exports_callable(ctx: Context) -> None:
    assert ctx.run_module(FILES["app/view.js"], "app/view.js", resolver=resolver, global_name="view") is None
    assert ctx.call("view.render", "<b>") == "<p>&lt;b></p><!-- 1.0 -->"


def test_namespaces_with_functions_need_a_global_name(ctx: Context) -> None:
    with pytest.raises(V8ConversionError, match="function"):
        ctx.run_module(FILES["lib/html.js"], "lib/html.js")


def test_resolver_may_return_just_the_source(ctx: Context) -> None:
    sources: dict[str, str | bytes] = {"./a.js": "export const a = 1;", "./b.js": b"export const b = 2;"}
    result = ctx.run_module(
        "import { a } from './a.js'; import { b } from './b.js'; export const sum = a + b;",
        "sum.js",
        resolver=lambda specifier, referrer: sources[specifier],
    )
    assert result == {"sum": 3}


def test_errors_name_the_module(ctx: Context) -> None:
    with pytest.raises(V8JSSyntaxError) as syntax:
        ctx.run_module(FILES["app/uses_broken.js"], "app/uses_broken.js", resolver=resolver)
    assert syntax.value.script_name == "lib/broken.js"
    assert syntax.value.line == 1

    with pytest.raises(V8JSError) as missing:
        ctx.run_module(FILES["app/uses_missing.js"], "app/uses_missing.js", resolver=resolver)
    assert "cannot import './missing.js' from 'app/uses_missing.js'" in missing.value.js_message
    assert "KeyError" in missing.value.js_message

    with pytest.raises(V8JSError, match="no resolver"):
        ctx.run_module("import { z } from './z.js';", "lonely.js")

    with pytest.raises(V8JSError) as thrown:
        ctx.run_module("export const ok = 1;\nthrow new RangeError('at top level');", "throws.js")
    assert (thrown.value.name, thrown.value.script_name, thrown.value.line) == ("RangeError", "throws.js", 2)

    with pytest.raises(V8JSError, match="rejected"):
        ctx.run_module("await Promise.reject(new Error('rejected'));", "tla.js")


@pytest.mark.parametrize("raised", [KeyboardInterrupt, SystemExit])
def test_ctrl_c_in_a_resolver_is_raised_again(ctx: Context, raised: type[BaseException]) -> None:
    # It became a V8JSError ("... KeyboardInterrupt: "): Ctrl-C was lost.
    def resolver(specifier: str, referrer: str) -> str:
        raise raised

    with pytest.raises(raised):
        ctx.run_module("import x from './g.js'; export default x", "m.js", resolver=resolver)
    assert ctx.eval("1 + 1") == 2


def test_dynamic_import_says_what_to_use_instead(ctx: Context) -> None:
    # V8's own rejection said only "Not supported".
    source = "import('./x.js').then(() => 'loaded', (e) => `${e.name}: ${e.message}`)"
    got = ctx.eval(source, await_promise=True)
    assert got.startswith("TypeError: import('./x.js') is not supported: import modules statically")
    with pytest.raises(V8JSError, match="is not supported"):
        ctx.run_module("await import('./d.js')", "m.js", resolver=lambda s, r: "export default 1")


def test_module_timeout(ctx: Context) -> None:
    with pytest.raises(V8TimeoutError):
        ctx.run_module("while (true) {}", "loop.js", timeout=0.05)
    assert ctx.eval("1 + 1") == 2


def test_modules_do_not_leak_into_globals(ctx: Context) -> None:
    ctx.run_module("const hidden = 1; export const shown = hidden + 1;", "scope.js")
    assert ctx.eval("typeof hidden") == "undefined"
