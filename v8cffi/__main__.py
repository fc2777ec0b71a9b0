"""``python -m v8cffi``: run JavaScript files and expressions in one context.

    python -m v8cffi lib.js app.js          # runs both, prints the last result
    python -m v8cffi -e '1 + 1'             # prints 2
    python -m v8cffi foo.js -e 'foo.render("hola mundo")'

Files run first, in order, then each ``-e`` expression; the result of the last one
is printed. A JavaScript error prints its trace to stderr and exits with status 1.
"""

from __future__ import annotations

import argparse
import sys

from . import V8_VERSION, __version__, shortcuts
from .exceptions import V8Error


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
    parser.add_argument("--version", action="version", version=f"v8cffi {__version__} (V8 {V8_VERSION})")
    args = parser.parse_args(argv)
    if not args.files and not args.eval:
        parser.print_usage(sys.stderr)
        print("python -m v8cffi: error: give at least one FILE or -e EXPR", file=sys.stderr)
        return 2

    shortcuts.set_up(args.v8_flags)
    ctx = shortcuts.get_context()
    result = None
    try:
        for path in args.files:
            with open(path, "rb") as f:
                result = ctx.run_script(f.read(), identifier=path)
        for i, expr in enumerate(args.eval, 1):
            result = ctx.run_script(expr, identifier=f"<eval {i}>" if len(args.eval) > 1 else "<eval>")
    except (V8Error, OSError) as e:
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1
    if result is not None:
        print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
