"""Python functions called from JavaScript: the one cffi callback behind all of them."""

from __future__ import annotations

from typing import Any

from . import _native
from .values import dumps, loads

ffi, lib = _native.ffi, _native.lib


def _reply_error(reply: Any, exc: BaseException, *, remember: bool = True) -> None:
    message = f"{type(exc).__name__}: {exc}"
    if remember:  # to raise it again if JavaScript does not catch it
        _native.host_errors.last = (message, exc)
    encoded = message.encode("utf-8", "replace")
    lib.v8rs_reply_error(reply, encoded, len(encoded))


@ffi.callback("v8rs_host_fn")
def trampoline(data: Any, args: Any, args_len: int, reply: Any) -> None:
    """Calls the Python function behind ``data`` with the converted arguments and
    answers with its converted result, or with its exception as a JavaScript Error."""
    try:
        function = ffi.from_handle(data)
        result = function(*loads(_native.read_bytes(args, args_len)))
        packed = dumps(result)
    except BaseException as exc:
        _reply_error(reply, exc)
        return
    lib.v8rs_reply_value(reply, packed, len(packed))


@ffi.callback("void(void*, const char*, size_t, const char*, size_t, v8rs_reply*)")
def resolve_module(
    data: Any, specifier: Any, specifier_len: int, referrer: Any, referrer_len: int, reply: Any
) -> None:
    """Asks the Python resolver behind ``data`` for a module: it returns the source, or
    ``(name, source)`` with a canonical name."""
    try:
        resolver = ffi.from_handle(data)
        spec = _native.read_bytes(specifier, specifier_len).decode("utf-8", "surrogateescape")
        ref = _native.read_bytes(referrer, referrer_len).decode("utf-8", "surrogateescape")
        answer = resolver(spec, ref)
        name, source = (spec, answer) if isinstance(answer, (str, bytes)) else answer
        name_b = _native.to_utf8(name, "module name")
        source_b = _native.to_utf8(source, "module source")
    except BaseException as exc:
        _reply_error(reply, exc)
        return
    lib.v8rs_reply_module(reply, name_b, len(name_b), source_b, len(source_b))


CONSOLE_JS = """
globalThis.console = ((send) => {
  const text = (value) => {
    if (typeof value === 'string') return value;
    try {
      const json = JSON.stringify(value);
      return json === undefined ? String(value) : json;
    } catch (e) {
      return String(value);
    }
  };
  const level = (name) => (...args) => { send(name, args.map(text).join(' ')); };
  return { log: level('log'), info: level('info'), warn: level('warn'),
           error: level('error'), debug: level('debug') };
})(globalThis.__v8cffi_console);
delete globalThis.__v8cffi_console;
"""
