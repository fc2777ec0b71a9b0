"""``python -m v8cffi``: run JavaScript files and expressions in one context.

    python -m v8cffi lib.js app.js          # runs both, prints the last result
    python -m v8cffi -e '1 + 1'             # prints 2
    python -m v8cffi foo.js -e 'foo.render("hola mundo")'
    python -m v8cffi --inspect-brk app.js   # debug it: chrome://inspect, node inspect

Files run first, in order, then each ``-e`` expression; the result of the last one
is printed. A JavaScript error prints its trace to stderr and exits with status 1.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from . import V8_VERSION, __version__, shortcuts
from .exceptions import V8Error

if TYPE_CHECKING:
    from .inspector import Inspector

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


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m v8cffi",
        description="Run JavaScript files and expressions on V8, in one context.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="JavaScript files to run, in order")
    parser.add_argument(
        "-e",
        "--eval",
        action="append",
        default=[],
        metavar="EXPR",
        help="an expression to run after the files",
    )
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
    if not args.files and not args.eval:
        parser.print_usage(sys.stderr)
        print("python -m v8cffi: error: give at least one FILE or -e EXPR", file=sys.stderr)
        return 2

    shortcuts.set_up(args.v8_flags)
    ctx = shortcuts.get_context()
    inspector = _start_inspector(inspect)
    result = None
    try:
        for path in args.files:
            with open(path, "rb") as f:
                result = ctx.run_script(f.read(), identifier=path)
        for i, expr in enumerate(args.eval, 1):
            result = ctx.run_script(expr, identifier=f"<eval {i}>" if len(args.eval) > 1 else "<eval>")
    except (V8Error, OSError) as e:
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        _finish_inspector(inspector)
        return 1
    if result is not None:
        print(result)
    _finish_inspector(inspector)
    return 0


if __name__ == "__main__":
    sys.exit(main())
