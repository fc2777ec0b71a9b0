"""Context.run_script and Context.load_libs: results, errors, files, isolation."""

from __future__ import annotations

from pathlib import Path

import pytest

from v8cffi import (
    V8ArgumentError,
    V8Error,
    V8IOError,
    V8JSError,
    V8JSSyntaxError,
)
from v8cffi.context import Context
from v8cffi.vm import VM


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("1 + 1", "2"),
        ("'hola' + ' ' + 'mundo'", "hola mundo"),
        ("[1, [2, 3]]", "1,2,3"),
        ("({})", "[object Object]"),
        ("null", "null"),
        ("undefined", "undefined"),
        ("0.1 + 0.2", "0.30000000000000004"),
        ("2n ** 100n", str(2**100)),
        ("new Intl.DateTimeFormat('es', {month: 'long', timeZone: 'UTC'}).format(new Date(0))", "enero"),
        ("", "undefined"),
    ],
)
def test_results_are_string_of_the_value(ctx: Context, script: str, expected: str) -> None:
    assert ctx.run_script(script) == expected


def test_bytes_scripts_and_non_ascii(ctx: Context) -> None:
    assert ctx.run_script("'ñandú ' + '😀'.length".encode()) == "ñandú 2"
    assert ctx.run_script("var λ = 'π'; λ + λ", identifier="módulo.js") == "ππ"


def test_nul_bytes_in_and_out(ctx: Context) -> None:
    assert ctx.run_script("'a\0b' + '\\u0000'") == "a\0b\0"
    assert ctx.run_script(b"'x\x00y'.length") == "3"


def test_globals_persist_between_calls(ctx: Context) -> None:
    ctx.run_script("var counter = 0; function next() { return ++counter; }")
    ctx.run_script("next(); next();")
    assert ctx.run_script("next()") == "3"


def test_contexts_do_not_share_globals(vm: VM) -> None:
    with vm.create_context() as a, vm.create_context() as b:
        a.run_script("var secret = 42")
        assert b.run_script("typeof secret") == "undefined"
        assert a.run_script("secret") == "42"


def test_syntax_error_parts_and_trace(ctx: Context) -> None:
    with pytest.raises(V8JSSyntaxError) as info:
        ctx.run_script("var a = 1;\nvar b = ;", identifier="bad.js")
    e = info.value
    assert isinstance(e, V8JSError)
    assert str(e) == "bad.js:2\n    var b = ;\n            ^\nSyntaxError: Unexpected token ';'"
    assert (e.name, e.js_message, e.script_name, e.line) == (
        "SyntaxError",
        "Unexpected token ';'",
        "bad.js",
        2,
    )
    assert (e.start_column, e.end_column, e.source_line) == (8, 9, "var b = ;")
    assert e.stack == "SyntaxError: Unexpected token ';'"


def test_runtime_error_parts_and_trace(ctx: Context) -> None:
    script = "function render(data) {\n  return data.user.name;\n}\nrender({});"
    with pytest.raises(V8JSError) as info:
        ctx.run_script(script, identifier="render.js")
    e = info.value
    assert not isinstance(e, V8JSSyntaxError)
    assert e.name == "TypeError"
    assert e.js_message.startswith("Cannot read properties of undefined")
    assert (e.script_name, e.line, e.source_line) == ("render.js", 2, "  return data.user.name;")
    assert e.stack is not None and "at render (render.js:2:" in e.stack
    assert e.start_column is not None and e.end_column is not None
    caret = " " * e.start_column + "^" * (e.end_column - e.start_column)
    assert str(e) == f"render.js:2\n      return data.user.name;\n    {caret}\n{e.stack}"


def test_thrown_non_errors(ctx: Context) -> None:
    with pytest.raises(V8JSError) as info:
        ctx.run_script("throw {code: 7, toString() { return 'custom' }}")
    assert (info.value.name, info.value.js_message, info.value.stack) == ("", "custom", None)
    assert str(info.value).endswith("\ncustom")


def test_unprintable_results_are_js_errors(ctx: Context) -> None:
    with pytest.raises(V8JSError, match="Cannot convert a Symbol"):
        ctx.run_script("Symbol('x')")
    with pytest.raises(V8JSError, match="nope"):
        ctx.run_script("({toString() { throw new Error('nope') }})")
    assert ctx.run_script("'usable'") == "usable"


def test_long_lines_are_not_displayed(ctx: Context) -> None:
    with pytest.raises(V8JSError) as info:
        ctx.run_script("var x = '" + "y" * 300 + "'; missing()")
    assert str(info.value).startswith("<anonymous>:1\n    ~Line too long to display.\nReferenceError")


def test_deep_recursion_is_a_range_error(ctx: Context) -> None:
    with pytest.raises(V8JSError) as info:
        ctx.run_script("(function f() { return f() + 1 })()")
    assert info.value.name == "RangeError"


def test_invalid_text_is_an_argument_error(ctx: Context) -> None:
    with pytest.raises(V8ArgumentError, match="UTF-8"):
        ctx.run_script(b"'\xff'")
    with pytest.raises(V8ArgumentError, match="UTF-8"):
        ctx.run_script("'\ud800'")
    with pytest.raises(ValueError):
        ctx.run_script("1", identifier=b"\xc3")
    with pytest.raises(TypeError):
        ctx.run_script(42)  # type: ignore[arg-type]


def test_load_libs_runs_files_in_order(ctx: Context, tmp_path: Path) -> None:
    first = tmp_path / "first.js"
    second = tmp_path / "second.js"
    first.write_text("var lib = {twice: function (s) { return s + s; }};")
    second.write_text("var result = lib.twice('ab');")
    ctx.load_libs([str(first), second])
    assert ctx.run_script("result") == "abab"
    ctx.load_libs([])


def test_load_libs_errors_name_the_file(ctx: Context, tmp_path: Path) -> None:
    broken = tmp_path / "broken.js"
    broken.write_text("var fine = 1;\nthrow new Error('in lib');\n")
    with pytest.raises(V8JSError) as info:
        ctx.load_libs([broken])
    assert info.value.script_name == str(broken)
    assert info.value.line == 2
    assert str(info.value).startswith(f"{broken}:2\n")

    missing = tmp_path / "missing.js"
    with pytest.raises(OSError) as os_info:
        ctx.load_libs([missing])
    assert isinstance(os_info.value, V8IOError) and isinstance(os_info.value, V8Error)
    assert os_info.value.filename == str(missing)
    assert os_info.value.errno == 2

    with pytest.raises(OSError):
        ctx.load_libs([tmp_path])

    latin1 = tmp_path / "latin1.js"
    latin1.write_bytes(b"var s = '\xe9';")
    with pytest.raises(V8ArgumentError, match="UTF-8"):
        ctx.load_libs([latin1])

    with pytest.raises(TypeError):
        ctx.load_libs(str(broken))


def test_load_libs_accepts_non_utf8_paths(ctx: Context, tmp_path: Path) -> None:
    odd = tmp_path.joinpath(b"lib-\xff.js".decode("utf-8", "surrogateescape"))
    odd.write_text("var odd = 'ok';")
    ctx.load_libs([odd])
    assert ctx.run_script("odd") == "ok"
