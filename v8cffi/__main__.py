"""``python -m v8cffi``: run JavaScript as with Node, in one context.

    python -m v8cffi app.js                       # runs it; console.* prints as in Node
    python -m v8cffi lib.js app.js                # several files, in order
    python -m v8cffi - < app.js                   # the script from standard input
    python -m v8cffi -p '[1, 2].map((x) => x * 2)'    # prints [ 2, 4 ]
    python -m v8cffi foo.js -e 'foo.render("hola mundo")'   # prints hola mundo
    python -m v8cffi                              # a REPL (on a terminal; else stdin)
    python -m v8cffi --inspect-brk app.js         # debug it: chrome://inspect, node inspect

Files run first, in order, then each ``-e``/``-p`` expression, then the timers they
left, until none is left (as Node's event loop). ``console.log``/``info``/``debug``
print to stdout, ``warn``/``error`` to stderr, as Node formats them. ``-p`` prints its
value as ``console.log`` would; ``-e`` prints the value of the last ``-e`` (v8cffi's
habit; Node's ``-e`` prints nothing) unless it is ``undefined``. An uncaught error
prints its trace to stderr and exits with status 1. ``-i`` opens the REPL after the
scripts. ``--inspect[=[host:]port]`` serves a DevTools inspector (``--inspect-brk``:
and waits for a client, then breaks before the first statement), as Node does.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import TYPE_CHECKING, TextIO

from . import V8_VERSION, __version__, shortcuts
from .context import Context
from .exceptions import V8ArgumentError, V8Error, V8JSError, V8JSSyntaxError

if TYPE_CHECKING:
    from .inspector import Inspector

#: What the command line adds to its context (a global that is not enumerable).
_CLI_JS = r"""
((FunctionCtor) => {
  let kept;
  Object.defineProperty(globalThis, '__v8cffi_cli', { value: Object.freeze({
    // Keeps the value of the script just run (see `_evaluate`).
    keep(value) { kept = value; },
    // Whether `source` is one expression; a declaration of a function or class runs as
    // one, as in Node.
    expression(source) {
      if (/^\s*$|^\s*(async\s+)?(function|class)\b/.test(source)) return false;
      try { new FunctionCtor(`return (${source}\n);`); return true; } catch { return false; }
    },
    // The kept value: as the REPL shows it ('repl', also kept as `_`), as console.log
    // prints it ('print'), or as String() ('eval', null for undefined).
    show(mode) {
      const value = kept;
      kept = undefined;
      const console = globalThis.console;
      const inspect = console?.[Symbol.for('v8rs.console.inspect')];
      const format = console?.[Symbol.for('v8rs.console.format')];
      if (mode === 'eval') return value === undefined ? null : String(value);
      if (mode === 'repl') {
        globalThis._ = value;
        return inspect ? inspect(value) : String(value);
      }
      return format ? format(value) : String(value);
    },
  }) });
})(Function);
"""


#: Node's default inspector address.
INSPECT_DEFAULT = ("127.0.0.1", 9229)


def _inspect_options(argv: list[str]) -> tuple[list[str], tuple[str, int, bool] | None]:
    """Takes Node's ``--inspect[=[host:]port]`` and ``--inspect-brk[=...]`` out of
    ``argv``: the rest, and ``(host, port, break_on_start)`` when one was given."""
    rest: list[str] = []
    inspect = None
    for arg in argv:
        name, eq, value = arg.partition("=")
        if name not in ("--inspect", "--inspect-brk") or arg == "--":
            rest.append(arg)
            continue
        host, port = INSPECT_DEFAULT
        if eq:
            spec_host, colon, spec_port = value.rpartition(":")
            if colon and spec_host:
                host = spec_host.strip("[]")
            try:
                port = int(spec_port)
            except ValueError:
                raise SystemExit(f"python -m v8cffi: error: bad {name} address {value!r}") from None
        inspect = (host, port, name == "--inspect-brk")
    return rest, inspect


def _start_inspector(spec: tuple[str, int, bool] | None) -> Inspector | None:
    """Starts the inspector that ``--inspect``/``--inspect-brk`` asked for, as Node
    does: ``Debugger listening on ws://...`` on stderr, and with ``--inspect-brk`` a
    wait for a client, then a pause before the first statement."""
    if spec is None:
        return None
    host, port, brk = spec
    inspector = shortcuts.get_context().vm.start_inspector(host, port)
    print(f"Debugger listening on {inspector.url}", file=sys.stderr)
    print("For help, see: https://nodejs.org/en/docs/inspector", file=sys.stderr, flush=True)
    if brk:
        inspector.wait_for_client(break_on_start=True)
        print("Debugger attached.", file=sys.stderr, flush=True)
    return inspector


def _finish_inspector(inspector: Inspector | None) -> None:
    """At the end, like Node: with a client attached, wait for it to leave."""
    if inspector is None:
        return
    if inspector.has_client:
        print("Waiting for the debugger to disconnect...", file=sys.stderr, flush=True)
        inspector.wait_for_disconnect()
    inspector.stop()


def _print_console(level: str, text: str) -> None:
    """The command line's console: Node's streams."""
    stream: TextIO = sys.stderr if level in ("warn", "error") else sys.stdout
    stream.write(text + "\n")
    if stream is sys.stderr:
        stream.flush()


#: SyntaxError messages of a script cut short: the REPL reads another line.
_INCOMPLETE = re.compile(r"end of input|Unterminated (template|string|regular)|missing \) after")


def _report(error: BaseException) -> None:
    """An uncaught error, on stderr, as Node prints it: where, the source line and a
    caret, then the stack."""
    sys.stdout.flush()
    if not isinstance(error, V8JSError):
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return
    parts = []
    if error.script_name is not None and error.line is not None:
        parts.append(f"{error.script_name}:{error.line}")
        if error.source_line is not None:
            parts.append(error.source_line)
            start = error.start_column or 0
            width = 1
            if isinstance(error, V8JSSyntaxError) and error.end_column is not None:
                width = max(1, error.end_column - start)
            parts.append(" " * start + "^" * width)
        parts.append("")
    parts.append(_stack(error))
    print(_printable("\n".join(parts)), file=sys.stderr)


def _stack(error: V8JSError) -> str:
    """The error's stack as Node shows it: without the command line's own frames, and
    an expression's frame as ``at [eval]:1:6``."""
    text = error.stack or error.js_message or str(error)
    lines = [
        line for line in text.split("\n") if f"({_CLI_NAME}:" not in line and f"at {_CLI_NAME}:" not in line
    ]
    return "\n".join(re.sub(r"^(\s+at )eval \((\[eval[^\]]*\]:\d+:\d+)\)$", r"\1\2", line) for line in lines)


#: The name of the command line's own scripts (dropped from the traces it prints).
_CLI_NAME = "<v8cffi cli>"


def _evaluate(ctx: Context, source: str, name: str, mode: str) -> str | None:
    """Runs ``source``; returns its value shown for ``mode`` (see ``show`` above).

    An expression (and with ``-p`` any script) runs through a direct ``eval`` named
    ``name`` by its ``sourceURL``, so its value stays a JavaScript value and its errors
    keep their own lines and columns; other scripts of ``-e`` and the REPL run as they
    are, so their top-level ``let``/``const`` stay for the next ones (their value shows
    as ``String()``)."""
    if mode == "print" or ctx.eval(f"__v8cffi_cli.expression({_js_string(source)})"):
        named = f"{source}\n//# sourceURL={name}"
        ctx.run_script(f"__v8cffi_cli.keep(eval({_js_string(named)}))", _CLI_NAME)
        shown = ctx.eval(f"__v8cffi_cli.show({_js_string(mode)})")
        return None if shown is None else str(shown)
    result = ctx.run_script(source, name)
    return None if mode == "eval" and result == "undefined" else result


def _printable(text: str) -> str:
    """``text`` with its lone surrogates as U+FFFD, as Node writes them."""
    return _LONE_SURROGATE.sub("\ufffd", text)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _js_string(text: str) -> str:
    """``text`` as a JavaScript string literal."""
    import json

    return json.dumps(text)


def _raise_unhandled(ctx: Context) -> None:
    """Raises the first promise rejected with no handler, as Node ends on it."""
    rejections = ctx.unhandled_rejections()
    if rejections:
        raise rejections[0]


def _first_line(error: V8JSError) -> str:
    """What Node's REPL shows of an uncaught error: ``Error: message``."""
    if error.stack:
        return error.stack.split("\n", 1)[0]
    return error.js_message


def _repl(ctx: Context) -> int:
    """Node's REPL, in short: multi-line input, history, the last value shown (and kept
    as ``_``), ``.exit``."""
    try:
        import readline
    except ImportError:  # not on every platform
        readline = None  # type: ignore[assignment]
    history = os.path.join(os.path.expanduser("~"), ".v8cffi_repl_history")
    if readline is not None:
        try:
            readline.read_history_file(history)
        except OSError:
            pass
    print(f'Welcome to v8cffi {__version__} (V8 {V8_VERSION}).\nType ".help" for more information.')
    ctx.run_script("globalThis._ = undefined;", _CLI_NAME)  # the last value shown, as in Node
    buffer: list[str] = []
    interrupted = False
    count = 0
    try:
        while True:
            try:
                line = input("... " if buffer else "> ")
            except KeyboardInterrupt:
                if interrupted:
                    return 0
                print("\n(To exit, press Ctrl+C again or Ctrl+D or type .exit)")
                buffer.clear()
                interrupted = True
                continue
            except EOFError:
                print()
                return 0
            interrupted = False
            if line.strip() == ".exit":
                return 0
            if not buffer and line.strip() in (".help", ".break", ".clear"):
                command = line.strip()
                if command == ".help":
                    print(".break    Cut short a multi-line expression\n.exit     Exit the REPL")
                continue
            if buffer and line.strip() == ".break":
                buffer.clear()
                continue
            buffer.append(line)
            source = "\n".join(buffer)
            if not source.strip():
                buffer.clear()
                continue
            try:
                shown = _evaluate(ctx, source, f"REPL{count + 1}", "repl")
                ctx.run_until_idle()
                for rejection in ctx.unhandled_rejections():
                    print(f"Uncaught {_first_line(rejection)}", file=sys.stderr)
            except V8JSSyntaxError as e:
                if _INCOMPLETE.search(e.js_message):
                    continue  # nothing ran: read the rest
                buffer.clear()
                print(f"Uncaught {e.stack or e.js_message}", file=sys.stderr)
                continue
            except KeyboardInterrupt:
                buffer.clear()
                print("Script execution was interrupted by `SIGINT`", file=sys.stderr)
                continue
            except V8JSError as e:
                buffer.clear()
                count += 1
                print(f"Uncaught {_first_line(e)}", file=sys.stderr)
                continue
            except V8Error as e:
                buffer.clear()
                _report(e)
                continue
            buffer.clear()
            count += 1
            if shown is not None:
                print(_printable(shown))
    finally:
        if readline is not None:
            try:
                readline.write_history_file(history)
            except OSError:
                pass


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m v8cffi",
        description="Run JavaScript on V8 as with Node: files, standard input (-), -e/-p, or a REPL.",
    )
    parser.add_argument(
        "files", nargs="*", metavar="FILE", help="JavaScript files to run, in order (- for standard input)"
    )
    parser.add_argument(
        "-e",
        "--eval",
        dest="exprs",
        action="append",
        default=[],
        type=lambda source: ("eval", source),
        metavar="EXPR",
        help="a script to run after the files; the value of the last one is printed",
    )
    parser.add_argument(
        "-p",
        "--print",
        dest="exprs",
        action="append",
        type=lambda source: ("print", source),
        metavar="EXPR",
        help="a script to run after the files; its value is printed as console.log does",
    )
    parser.add_argument("-i", "--interactive", action="store_true", help="open the REPL after the scripts")
    parser.add_argument("--v8-flags", default="", metavar="FLAGS", help="V8 command-line flags")
    parser.add_argument(
        "--inspect",
        metavar="[HOST:]PORT",
        help="serve a DevTools inspector (default 127.0.0.1:9229); write --inspect=PORT",
        nargs="?",
    )
    parser.add_argument(
        "--inspect-brk",
        metavar="[HOST:]PORT",
        help="like --inspect, and wait for a debugger, then break before the first statement",
        nargs="?",
    )
    parser.add_argument("--version", action="version", version=f"v8cffi {__version__} (V8 {V8_VERSION})")
    argv, inspect = _inspect_options(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    files: list[str] = list(args.files)
    interactive = args.interactive or (not files and not args.exprs and sys.stdin.isatty())
    if not files and not args.exprs and not interactive:
        files = ["-"]  # Node reads a script from a standard input that is not a terminal

    try:
        shortcuts.set_up(args.v8_flags)
    except V8ArgumentError as e:  # a flag V8 does not know
        parser.error(f"--v8-flags: {e}")
    ctx = shortcuts.get_context()
    ctx.vm.set_console(_print_console)
    ctx.run_script(_CLI_JS, _CLI_NAME)
    inspector = _start_inspector(inspect)
    try:
        return _run(ctx, files, args.exprs, interactive)
    finally:
        _finish_inspector(inspector)


def _run(ctx: Context, files: list[str], exprs: list[tuple[str, str]], interactive: bool) -> int:
    """Runs the files, then the expressions, then the timers; the exit status."""
    last_eval: str | None = None
    try:
        for path in files:
            if path == "-":
                ctx.run_script(sys.stdin.buffer.read(), "[stdin]", source_maps=True)
            else:
                with open(path, "rb") as f:
                    ctx.run_script(f.read(), path, source_maps=True)
            _raise_unhandled(ctx)
        for i, (mode, source) in enumerate(exprs, 1):
            name = "[eval]" if len(exprs) == 1 else f"[eval {i}]"
            shown = _evaluate(ctx, source, name, mode)
            if mode == "print":
                print(_printable(str(shown)))
            else:
                last_eval = shown
            _raise_unhandled(ctx)
        if last_eval is not None and exprs[-1][0] == "eval":
            print(_printable(last_eval))
        ctx.run_until_idle()
        _raise_unhandled(ctx)
    except (V8Error, OSError) as e:
        _report(e)
        return 1
    except KeyboardInterrupt:
        sys.stdout.flush()
        return 130
    if interactive:
        return _repl(ctx)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
