"""Python functions called from JavaScript: the one cffi callback behind all of them."""

from __future__ import annotations

from typing import Any

from . import _native
from .values import dumps, loads

ffi, lib = _native.ffi, _native.lib


def _reply_error(reply: Any, exc: BaseException) -> None:
    message = f"{type(exc).__name__}: {exc}"
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
