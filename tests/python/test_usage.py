"""The usage page of v8-cffi, as written, each example in its own process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_python

FOO = "var foo = { render: function (s) { return s; } };\n"
BAR = "var bar = { shout: function (s) { return s.toUpperCase() + '!'; } };\n"
BAZ = "var baz = { render: function (s) { return bar.shout(s); } };\n"


@pytest.fixture
def libs(tmp_path: Path) -> Path:
    (tmp_path / "foo_bundled.js").write_text(FOO)
    (tmp_path / "bar.js").write_text(BAR)
    (tmp_path / "baz.js").write_text(BAZ)
    return tmp_path


def test_shortcuts_example(libs: Path) -> None:
    proc = run_python(
        """
        from v8cffi import shortcuts
        shortcuts.set_up()
        ctx = shortcuts.get_context()
        ctx.load_libs(['./foo_bundled.js'])
        print(ctx.run_script('foo.render("hola mundo");'))
        """,
        cwd=libs,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hola mundo\n"


def test_with_statement_example(libs: Path) -> None:
    proc = run_python(
        """
        from v8cffi.platform import platform
        with platform as p:
            with p.create_vm() as vm:
                with vm.create_context() as ctx:
                    ctx.load_libs(['./foo_bundled.js'])
                    res = ctx.run_script('foo.render("hola mundo");')
                with vm.create_context() as ctx_b:
                    ctx_b.load_libs(['./bar.js', './baz.js'])
                    res_b = ctx_b.run_script('baz.render("hello world");')
            with p.create_vm() as vm_b:
                with vm_b.create_context() as ctx_c:
                    res_c = ctx_c.run_script('typeof foo + " " + typeof baz')
        print(res, res_b, res_c, sep='|')
        """,
        cwd=libs,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hola mundo|HELLO WORLD!|undefined undefined\n"


@pytest.mark.parametrize("explicit_context_set_up", [True, False])
def test_explicit_example(libs: Path, explicit_context_set_up: bool) -> None:
    # The usage page omits ctx.set_up(): a context sets itself up on first use.
    set_up_line = "ctx.set_up()" if explicit_context_set_up else "pass"
    proc = run_python(
        f"""
        from v8cffi.platform import platform
        p = platform
        p.set_up()
        vm = p.create_vm()
        vm.set_up()
        ctx = vm.create_context()
        {set_up_line}
        try:
            ctx.load_libs(['./foo_bundled.js'])
            print(ctx.run_script('foo.render("hola mundo");'))
        finally:
            ctx.tear_down()
            vm.tear_down()
            p.tear_down()
        print(p.is_alive(), vm.is_alive(), ctx.is_alive())
        """,
        cwd=libs,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hola mundo\nFalse False False\n"


def test_command_line_runs_files_and_expressions(libs: Path) -> None:
    cmd = [sys.executable, "-m", "v8cffi", "foo_bundled.js", "-e", 'foo.render("hola mundo")']
    proc = subprocess.run(cmd, cwd=libs, capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (0, "hola mundo\n"), proc.stderr


def test_command_line_reports_js_errors(libs: Path) -> None:
    (libs / "broken.js").write_text("var ok = 1;\nnot_defined();\n")
    proc = subprocess.run(
        [sys.executable, "-m", "v8cffi", "broken.js"], cwd=libs, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    expected = "broken.js:2\nnot_defined();\n^\n\nReferenceError: not_defined is not defined\n"
    assert proc.stderr.startswith(expected)


def test_command_line_without_arguments_reads_standard_input() -> None:
    cmd = [sys.executable, "-m", "v8cffi"]
    proc = subprocess.run(cmd, input="console.log(6 * 7)", capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "42\n", "")
