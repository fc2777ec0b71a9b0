"""Node's basics and ``require`` for a context (see ``docs/node.md``).

:meth:`VM.create_context(node=...) <v8cffi.vm.VM.create_context>` takes ``True`` (the
globals, built-in modules only) or a mapping with ``"modules"`` (the project folder
whose ``node_modules`` ``require`` reads, and nothing outside it) and ``"env"``
(``process.env``, empty by default)::

    ctx = vm.create_context(node={"modules": "/srv/app", "env": {"NODE_ENV": "production"}})
    ctx.require("marked").parse("# hi")        # '<h1>hi</h1>\\n'
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, Protocol, Union

__all__ = ["JSValue", "NodeOptions", "node_options"]

StrPath = Union[str, "os.PathLike[str]"]


class _Calls(Protocol):
    """What a :class:`JSValue` needs of its context."""

    def call(
        self, function: str, *args: Any, timeout: float | None = None, await_promise: bool = False
    ) -> Any: ...

    def eval(self, script: str) -> Any: ...


class NodeOptions:
    """What a context's Node group starts with: the modules folder and ``process.env``."""

    __slots__ = ("env", "modules")

    def __init__(self, modules: bytes | None, env: bytes) -> None:
        self.modules = modules
        self.env = env


def folder(path: StrPath | None) -> bytes | None:
    """``path`` as the library takes a modules folder (``None`` stays ``None``)."""
    if path is None:
        return None
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"the modules folder must be a path, not {path!r}")
    return os.fsencode(os.fspath(path))


def node_options(node: bool | Mapping[str, Any]) -> NodeOptions | None:
    """The options for ``node=``: ``False`` (no Node group), ``True``, or a mapping with
    ``"modules"`` and ``"env"``. Raises ``ValueError``/``TypeError`` for others."""
    if node is False:
        return None
    if node is True:
        return NodeOptions(None, b"")
    if not isinstance(node, Mapping):
        raise TypeError(f"node must be True, False or a mapping, not {node!r}")
    unknown = set(node) - {"modules", "env"}
    if unknown:
        raise ValueError(f"unknown node options {sorted(unknown)}; known: ['env', 'modules']")
    env = node.get("env") or {}
    if not isinstance(env, Mapping):
        raise TypeError(f"node['env'] must be a mapping of strings, not {env!r}")
    entries = []
    for key, value in env.items():
        if (
            not isinstance(key, str)
            or not isinstance(value, str)
            or not key
            or "=" in key
            or "\0" in key + value
        ):
            raise ValueError(
                f"node['env'] takes non-empty names without '=' and string values, not {key!r}: {value!r}"
            )
        entries.append(f"{key}={value}\0")
    return NodeOptions(folder(node.get("modules")), "".join(entries).encode())


class JSValue:
    """A JavaScript value kept in its context (what :meth:`Context.require
    <v8cffi.context.Context.require>` returns): an attribute is a member (another
    ``JSValue``), a call calls it — as a method of the value it was read from — with
    arguments and result converted as by :meth:`Context.call
    <v8cffi.context.Context.call>`; :meth:`value` converts the value itself."""

    __slots__ = ("_context", "_path")

    def __init__(self, context: _Calls, path: str) -> None:
        self._context = context
        self._path = path

    def __getattr__(self, name: str) -> JSValue:
        if name.startswith("__") or not name.isidentifier():
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str) -> JSValue:
        """The member ``name``, any string (``value["to-html"]``)."""
        if not isinstance(name, str):
            raise TypeError(f"a member name must be a string, not {type(name).__name__}")
        if name.isidentifier() and name.isascii():
            return JSValue(self._context, f"{self._path}.{name}")
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"a member name must be valid Unicode (no lone surrogates): {name!r}") from None
        return JSValue(self._context, f"{self._path}[{json.dumps(name)}]")

    def __call__(self, *args: Any, timeout: float | None = None, await_promise: bool = False) -> Any:
        return self._context.call(self._path, *args, timeout=timeout, await_promise=await_promise)

    def value(self) -> Any:
        """The value, converted to Python (:meth:`Context.eval <v8cffi.context.Context.eval>`)."""
        return self._context.eval(self._path)

    def __repr__(self) -> str:
        return f"<JSValue {self._path}>"
