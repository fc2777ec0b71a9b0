"""v8cffi: run JavaScript on V8 from Python.

A Rust library (``libv8rs.so``) runs V8; this package loads it with cffi. See
:mod:`v8cffi.shortcuts` for the quickest start, and :mod:`v8cffi.platform`,
:mod:`v8cffi.vm` and :mod:`v8cffi.context` for the objects.
"""

from __future__ import annotations

import os as _os

from . import _install, _native
from ._fetch import FetchRequest, FetchResponse
from ._snapshot import Snapshot
from .context import Context
from .exceptions import (
    Frame,
    GeneratedLocation,
    V8ArgumentError,
    V8ConversionError,
    V8Error,
    V8IOError,
    V8JSError,
    V8JSSyntaxError,
    V8LifecycleError,
    V8MemoryError,
    V8TerminatedError,
    V8TimeoutError,
    V8UnknownError,
)
from .inspector import Inspector
from .platform import Platform
from .vm import VM
from .web import WEB_FEATURES

_install.check(_os.path.dirname(_os.path.abspath(__file__)))

__version__ = "0.1.0"

#: The version of V8 inside, e.g. ``"15.2.124.1"``.
V8_VERSION: str = _native.version()

__all__ = [
    "V8_VERSION",
    "VM",
    "WEB_FEATURES",
    "Context",
    "FetchRequest",
    "FetchResponse",
    "Frame",
    "GeneratedLocation",
    "Inspector",
    "Platform",
    "Snapshot",
    "V8ArgumentError",
    "V8ConversionError",
    "V8Error",
    "V8IOError",
    "V8JSError",
    "V8JSSyntaxError",
    "V8LifecycleError",
    "V8MemoryError",
    "V8TerminatedError",
    "V8TimeoutError",
    "V8UnknownError",
    "code_cache_stats",
    "live_counts",
    "source_map_stats",
]


def code_cache_stats() -> dict[str, int]:
    """How ``load_libs(..., cache=True)`` has fared in this process: ``hits``,
    ``misses`` and ``rejected`` (entries V8 refused, recompiled and replaced)."""
    return _native.code_cache_stats()


def source_map_stats() -> dict[str, int]:
    """How many source maps were ``parsed`` in this process, and how many ``failed``
    (could not be read or parsed: errors then keep their generated positions). A map is
    parsed once per VM, when an error first needs it."""
    return _native.source_map_stats()


def live_counts() -> tuple[int, int]:
    """``(VMs, contexts)`` alive in the native library — for leak checks."""
    return _native.live_counts()
