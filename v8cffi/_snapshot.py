"""Making snapshots, here or in a child process that may crash without harm."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence

from . import _native, exceptions

Pair = tuple[bytes, bytes]


def normalize(scripts: Sequence[str | bytes | tuple[str, str | bytes]]) -> list[Pair]:
    """``(name, source)`` as UTF-8 bytes; bare sources are named ``<snapshot N>``."""
    pairs = []
    for i, script in enumerate(scripts):
        if isinstance(script, tuple):
            name, source = script
        else:
            name, source = f"<snapshot {i}>", script
        pairs.append((_native.to_utf8(name, "name"), _native.to_utf8(source, "script")))
    return pairs


def create_here(pairs: list[Pair]) -> bytes:
    """The snapshot, made in this process."""
    return _native.snapshot_create(pairs)


CHILD = """
import json, sys
from v8cffi import V8Error, V8JSError
from v8cffi.platform import platform
from v8cffi import _snapshot
request = json.loads(sys.stdin.buffer.read())
platform.set_up(request["flags"])
def utf8(text):
    return text.encode("utf-8", "surrogatepass")
pairs = [(utf8(n), utf8(s)) for n, s in request["scripts"]]
try:
    blob = _snapshot.create_here(pairs)
except V8Error as e:
    fields = {k: getattr(e, k, None) for k in ("name", "js_message", "script_name", "line", "start_column",
                                               "end_column", "source_line", "stack")}
    sys.stdout.write(json.dumps({"error": type(e).__name__, "message": str(e), "fields": fields}))
    sys.exit(3)
sys.stdout.buffer.write(blob)
"""


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


def create_in_child(pairs: list[Pair], flags: str) -> bytes:
    """The snapshot, made in a child process with the same V8 flags."""
    request = json.dumps(
        {
            "flags": flags,
            "scripts": [
                (n.decode("utf-8", "surrogatepass"), s.decode("utf-8", "surrogatepass")) for n, s in pairs
            ],
        }
    )
    proc = subprocess.run(
        [sys.executable, "-c", CHILD], input=request.encode("utf-8", "surrogatepass"), capture_output=True
    )
    if proc.returncode == 0:
        return proc.stdout
    if proc.returncode == 3:
        report = json.loads(proc.stdout)
        cls = getattr(exceptions, report["error"], exceptions.V8Error)
        if issubclass(cls, exceptions.V8JSError):
            raise cls(report["message"], **report["fields"])
        raise cls(report["message"])
    tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-8:]
    raise exceptions.V8UnknownError(
        f"V8 stopped the process that made the snapshot (exit status {proc.returncode}); "
        "most likely the scripts leave Intl objects (formatters, collators, ...) reachable, "
        "which V8 cannot snapshot: create them lazily, after start-up.\n" + "\n".join(tail)
    )
