"""Where ``console.*`` output goes: the ``"v8cffi.console"`` logger by default."""

from __future__ import annotations

import logging

#: The logging level of each console level.
LOGGING_LEVELS = {
    "debug": logging.DEBUG,
    "log": logging.INFO,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}

_logger = logging.getLogger("v8cffi.console")


def log(level: str, text: str) -> None:
    """The default handler: ``text`` to the ``"v8cffi.console"`` logger, at the level
    of :data:`LOGGING_LEVELS`."""
    _logger.log(LOGGING_LEVELS.get(level, logging.INFO), "%s", text)


#: Sends one context's console to the host function ``__v8cffi_console``: Node's
#: console (web group ``console``) keeps its formatting; a context without it gets a
#: small console of the five levels.
REDIRECT_JS = """
((send) => {
  const redirect = globalThis.console?.[Symbol.for('v8rs.console.redirect')];
  if (typeof redirect === 'function') {
    redirect(send);
    return;
  }
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
  globalThis.console = { log: level('log'), info: level('info'), warn: level('warn'),
                         error: level('error'), debug: level('debug') };
})(globalThis.__v8cffi_console);
delete globalThis.__v8cffi_console;
"""
