"""Snapshots: making them (here, or in a child process that may crash without harm)
and opening them once for every VM that starts from them."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Union

from . import _native, exceptions

__all__ = ["Snapshot"]

Pair = tuple[bytes, bytes]
StrPath = Union[str, "os.PathLike[str]"]


class Snapshot:
    """A snapshot file's bytes (made by
    :meth:`Platform.create_snapshot() <v8cffi.platform.Platform.create_snapshot>`),
    checked once: every VM made with ``create_vm(snapshot=...)`` from it starts without
    checking or copying it again. Bytes given to ``create_vm`` are opened this way too
    (the last few, by identity), as is the file at ``platform.snapshot_path``.

    A snapshot that does not check out (garbage, truncated, corrupted, from another
    v8rs, V8 version or V8 flags) raises :class:`~v8cffi.exceptions.V8ArgumentError`.
    """

    __slots__ = ("_data", "_handle")

    def __init__(self, data: bytes) -> None:
        if isinstance(data, Snapshot):
            raise TypeError("this is a Snapshot already")
        check_kind(data)
        self._data = bytes(data)
        self._handle = _native.snapshot_open(self._data)

    @classmethod
    def load(cls, path: StrPath) -> Snapshot:
        """The snapshot in the file at ``path``."""
        with open(path, "rb") as f:
            return cls(f.read())

    def __bytes__(self) -> bytes:
        return self._data

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"<Snapshot of {len(self._data)} bytes>"


#: Recently opened snapshots: bytes objects by identity (each kept alive with its
#: snapshot, so its id is not reused), files by (path, mtime, size). At most
#: ``_OPENED_MAX`` of them, and (beyond the newest) ``_OPENED_MAX_BYTES`` in all: each
#: holds its bytes twice (Python's and the library's copy).
_OPENED: OrderedDict[Any, tuple[object, Snapshot]] = OrderedDict()
_OPENED_MAX = 8
_OPENED_MAX_BYTES = 64 << 20
_opened_lock = threading.Lock()


def _remember(key: Any, keep: object, make: Any) -> Snapshot:
    with _opened_lock:
        found = _OPENED.get(key)
        if found is not None:
            _OPENED.move_to_end(key)
            return found[1]
    snapshot: Snapshot = make()
    with _opened_lock:
        _OPENED[key] = (keep, snapshot)
        held = sum(len(s) for _, s in _OPENED.values())
        while len(_OPENED) > _OPENED_MAX or (held > _OPENED_MAX_BYTES and len(_OPENED) > 1):
            held -= len(_OPENED.popitem(last=False)[1][1])
    return snapshot


def check_kind(snapshot: object) -> None:
    """Raises ``TypeError`` unless ``snapshot`` is bytes (or bytes-like) or a :class:`Snapshot`."""
    if not isinstance(snapshot, (bytes, bytearray, memoryview, Snapshot)):
        hint = " (for a file, pass Snapshot.load(path))" if isinstance(snapshot, (str, os.PathLike)) else ""
        raise TypeError(f"snapshot must be bytes or a Snapshot, not {type(snapshot).__name__}{hint}")


def opened(snapshot: bytes | Snapshot) -> Snapshot:
    """``snapshot`` opened (once for the same bytes object)."""
    if isinstance(snapshot, Snapshot):
        return snapshot
    check_kind(snapshot)
    data = snapshot if type(snapshot) is bytes else bytes(snapshot)
    return _remember(("bytes", id(data)), data, lambda: Snapshot(data))


def handle(snapshot: Snapshot) -> Any:
    """The library's handle of ``snapshot``."""
    return snapshot._handle


def opened_file(path: StrPath) -> Snapshot:
    """The snapshot in the file at ``path`` (read again only when the file changes)."""
    stat = os.stat(path)
    key = ("file", os.fspath(path), stat.st_mtime_ns, stat.st_size)
    return _remember(key, None, lambda: Snapshot.load(path))


def normalize(scripts: Sequence[str | bytes | tuple[str, str | bytes]], what: str = "snapshot") -> list[Pair]:
    """``(name, source)`` as UTF-8 bytes; bare sources are named ``<snapshot N>`` (or
    with another ``what``)."""
    if isinstance(scripts, (str, bytes, bytearray, memoryview)):
        kind = "warm-up scripts" if what == "warmup" else "scripts"
        raise TypeError(f"the {kind} must be a list of sources, not a single {type(scripts).__name__}")
    pairs = []
    for i, script in enumerate(scripts):
        if isinstance(script, tuple):
            name, source = script
        else:
            name, source = f"<{what} {i}>", script
        pairs.append((_native.to_utf8(name, "name"), _native.to_utf8(source, "script")))
    return pairs


def create_here(pairs: list[Pair], warmup: int = 0) -> bytes:
    """The snapshot, made in this process (the last ``warmup`` pairs warm it up)."""
    return _native.snapshot_create(pairs, warmup)


CHILD = """
import json, os, sys
# The blob (or the error) goes out on the original standard output; anything V8 prints
# meanwhile (an uncaught exception's report, say) goes to standard error, not into it.
reply = os.fdopen(os.dup(1), "wb")
os.dup2(2, 1)
from v8cffi import V8Error, V8JSError
from v8cffi.platform import platform
from v8cffi import _snapshot
request = json.loads(sys.stdin.buffer.read())
platform.set_up(request["flags"])
def utf8(text):
    return text.encode("utf-8", "surrogatepass")
pairs = [(utf8(n), utf8(s)) for n, s in request["scripts"]]
try:
    blob = _snapshot.create_here(pairs, request["warmup"])
except V8Error as e:
    fields = {k: getattr(e, k, None) for k in ("name", "js_message", "script_name", "line", "start_column",
                                               "end_column", "source_line", "stack")}
    reply.write(json.dumps({"error": type(e).__name__, "message": str(e), "fields": fields}).encode())
    reply.close()
    sys.exit(3)
reply.write(blob)
reply.close()
"""


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


def create_in_child(pairs: list[Pair], flags: str, warmup: int = 0) -> bytes:
    """The snapshot, made in a child process with the same V8 flags."""
    try:
        scripts = [(n.decode("utf-8", "surrogatepass"), s.decode("utf-8", "surrogatepass")) for n, s in pairs]
    except UnicodeDecodeError as e:  # as the library says when it makes the snapshot here
        raise exceptions.V8ArgumentError(f"a snapshot script or its name is not UTF-8: {e}") from None
    request = json.dumps({"flags": flags, "warmup": warmup, "scripts": scripts})
    import subprocess  # here: a snapshot made in this process needs none

    proc = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=request.encode("utf-8", "surrogatepass"),
        capture_output=True,
        env=_child_environment(),
    )
    if proc.returncode == 0:
        return proc.stdout
    if proc.returncode == 3:
        report = json.loads(proc.stdout)
        cls = getattr(exceptions, report["error"], exceptions.V8Error)
        if issubclass(cls, exceptions.V8JSError):
            raise cls(report["message"], **report["fields"])
        raise cls(report["message"])
    said = "\n".join(_fatal_lines(proc.stderr.decode("utf-8", "replace")))
    if "heap limit" in said or "out of memory" in said.lower():
        raise exceptions.V8MemoryError(
            f"the scripts ran out of memory in the process that made the snapshot. V8 said:\n{said}"
        )
    if proc.returncode > 0:  # it did not get as far as V8: it could not start
        raise exceptions.V8UnknownError(
            f"the process that makes the snapshot failed (exit status {proc.returncode}):\n{said}"
        )
    raise exceptions.V8UnknownError(
        f"V8 stopped the process that made the snapshot (signal {-proc.returncode}); "
        "most likely the scripts leave Intl objects (formatters, collators, ...) reachable, "
        "which V8 cannot snapshot: create them lazily, after start-up. V8 said:\n" + said
    )


def _child_environment() -> dict[str, str]:
    """The environment of the process that makes a snapshot: this one's, with this
    process's import path (v8cffi may be found through ``sys.path`` alone) and the
    library it loaded, so the child runs the same v8cffi and the same V8."""
    env = dict(os.environ)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join([package_parent, *(p for p in sys.path if p)])
    env[_native.LIBRARY_ENV] = _native.library_path
    return env


def _fatal_lines(stderr: str) -> list[str]:
    """What V8 said when it stopped a process: its ``# Fatal error`` / ``# Check failed``
    lines (the C stack trace after them says nothing to a user), else the last lines."""
    lines = stderr.strip().splitlines()
    fatal = [line.strip("# \t") for line in lines if line.startswith("#") and line.strip("# \t")]
    fatal = [line for line in fatal if not line.startswith("FailureMessage")]
    return fatal[:4] or lines[-8:]
