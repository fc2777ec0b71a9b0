"""``python -m v8cffi`` as people use Node's: console output on the right streams,
``-`` and standard input, ``-p``, ``-e``, a REPL, and exit status 1 with the trace of
an uncaught error."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m v8cffi *args``; with ``cwd``, that is also its home (the REPL's history
    goes there), while the built-in snapshot stays in the usual cache."""
    env = dict(os.environ)
    if cwd is not None:
        env.setdefault("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache"))
        env["HOME"] = str(cwd)
    return subprocess.run(
        [sys.executable, "-m", "v8cffi", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
    )


SCRIPT = """
console.log('hi', [1, 2], { a: 1 });
console.info('%s is %d', 'answer', 42);
console.debug('debug');
console.warn('warned');
console.error(new Map([[1, { x: 'y' }]]));
setTimeout(() => console.log('timer ran'), 5);
Promise.resolve().then(() => console.log('microtask ran'));
'the value of a file is not printed';
"""


def test_a_file_prints_its_console_as_node_does(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text(SCRIPT)
    proc = run("app.js", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hi [ 1, 2 ] { a: 1 }\nanswer is 42\ndebug\nmicrotask ran\ntimer ran\n"
    assert proc.stderr == "warned\nMap(1) { 1 => { x: 'y' } }\n"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_same_file_prints_the_same_under_node(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text(SCRIPT)
    ours = run("app.js", cwd=tmp_path)
    node = subprocess.run(["node", "app.js"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert (ours.stdout, ours.stderr) == (node.stdout, node.stderr)


def test_dash_runs_standard_input() -> None:
    proc = run("-", stdin="console.log('from stdin', 1 + 1)")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "from stdin 2\n", "")


def test_print_shows_values_as_console_log(tmp_path: Path) -> None:
    proc = run("-p", "[1, 2].map((x) => x * 2)", "-p", "'plain string'", "-p", "({ m: new Map([[1, 2]]) })")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "[ 2, 4 ]\nplain string\n{ m: Map(1) { 1 => 2 } }\n"


def test_print_after_files_sees_their_globals(tmp_path: Path) -> None:
    (tmp_path / "lib.js").write_text("var lib = { twice: (x) => x * 2 };\nlet hidden = 'lexical';")
    proc = run("lib.js", "-p", "lib.twice(21)", "-p", "hidden", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "42\nlexical\n"), proc.stderr


def test_eval_prints_the_last_value_unless_undefined() -> None:
    assert run("-e", "1 + 1").stdout == "2\n"
    assert run("-e", "console.log('only the log')").stdout == "only the log\n"
    assert run("-e", "var x = 5; x * 2").stdout == "10\n"
    assert run("-e", "function f() {}").stdout == ""


def test_an_uncaught_error_exits_1_with_nodes_trace(tmp_path: Path) -> None:
    source = "console.log('before');\nfunction f() {\n  throw new TypeError('bad ' + 1);\n}\nf();\n"
    (tmp_path / "bad.js").write_text(source)
    proc = run("bad.js", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == "before\n"
    assert proc.stderr == (
        "bad.js:3\n  throw new TypeError('bad ' + 1);\n  ^\n\n"
        "TypeError: bad 1\n    at f (bad.js:3:9)\n    at bad.js:5:1\n"
    )


def test_a_syntax_error_exits_1_with_its_range(tmp_path: Path) -> None:
    (tmp_path / "syntax.js").write_text("let let = 1\n")
    proc = run("syntax.js", cwd=tmp_path)
    assert proc.returncode == 1
    message = "SyntaxError: let is disallowed as a lexically bound name"
    assert proc.stderr == f"syntax.js:1\nlet let = 1\n    ^^^\n\n{message}\n"


def test_an_error_in_a_timer_exits_1(tmp_path: Path) -> None:
    proc = run("-", stdin="setTimeout(() => { throw new Error('late'); }, 1); console.log('scheduled')")
    assert proc.returncode == 1
    assert proc.stdout == "scheduled\n"
    assert "Error: late" in proc.stderr


def test_a_missing_file_exits_1(tmp_path: Path) -> None:
    proc = run("nope.js", cwd=tmp_path)
    assert proc.returncode == 1
    assert "nope.js" in proc.stderr


def test_the_repl_keeps_state_reads_multi_line_input_and_shows_values(tmp_path: Path) -> None:
    session = "\n".join(
        [
            "let x = 1",
            "x + 1",
            "function twice(a) {",
            "  return a * 2",
            "}",
            "twice(21)",
            "({ a: 1, s: 'str' })",
            "_.s",
            "throw new Error('boom')",
            "`multi",
            "line`",
            "console.log('logged')",
            ".exit",
            "'not reached'",
        ]
    )
    proc = run("-i", stdin=session + "\n", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    shown = [line for line in proc.stdout.replace("... ", "").split("> ") if line.strip()]
    assert shown[1:] == ["undefined\n", "2\n", "undefined\n", "42\n", "{ a: 1, s: 'str' }\n", "'str'\n",
                         "'multi\\nline'\n", "logged\nundefined\n"]  # fmt: skip
    assert proc.stderr == "Uncaught Error: boom\n"
    assert "not reached" not in proc.stdout


def test_version_names_v8() -> None:
    proc = run("--version")
    assert proc.returncode == 0 and "V8 " in proc.stdout


def test_an_expression_keeps_its_own_positions_in_errors() -> None:
    proc = run("-e", "null.x")
    assert proc.returncode == 1
    message = "TypeError: Cannot read properties of null (reading 'x')"
    assert proc.stderr == f"[eval]:1\nnull.x\n     ^\n\n{message}\n    at [eval]:1:6\n"


def test_print_shows_the_value_of_statements_and_odd_strings() -> None:
    assert run("-p", "let y = { a: 1 }; y").stdout == "{ a: 1 }\n"
    assert run("-p", "'\\ud800'").stdout == "\ufffd\n"  # a lone surrogate, as Node writes it
    assert run("-e", "delete globalThis.__v8cffi_cli", "-e", "3").stdout == "3\n"


def test_an_unhandled_rejection_exits_1_as_in_node(tmp_path: Path) -> None:
    (tmp_path / "reject.js").write_text(
        "console.log('a');\nPromise.reject(new Error('x'));\nsetTimeout(() => console.log('later'), 10);\n"
    )
    proc = run("reject.js", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (1, "a\n")
    where = "reject.js:2\nPromise.reject(new Error('x'));\n               ^\n\n"
    assert proc.stderr == where + "Error: x\n    at reject.js:2:16\n"
    handled = run("-", stdin="Promise.reject(new Error('x')).catch(() => console.log('caught'))")
    assert (handled.returncode, handled.stdout) == (0, "caught\n")


def test_a_v8_flag_v8_does_not_know_is_a_usage_error() -> None:
    proc = run("--v8-flags=--no-such-flag", "-p", "1")
    assert proc.returncode == 2
    assert "--v8-flags: V8 does not know (or cannot read) --no-such-flag" in proc.stderr
    assert run("--v8-flags=--stack-size=500", "-p", "6 * 7").stdout == "42\n"
