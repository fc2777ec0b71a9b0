"""Runs a blocking context call on an executor thread for asyncio, so that the event
loop goes on while JavaScript (and its timers) run with the GIL released; cancelling
the awaiting task cancels exactly that call through a native cancel token."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from . import _fetch, _native
from .exceptions import V8TerminatedError

_T = TypeVar("_T")


class _CancelToken:
    """A ``v8rs_cancel_token``: the calls a thread makes after :meth:`enter` stop with
    :class:`~v8cffi.exceptions.V8TerminatedError` once :meth:`cancel` is called."""

    def __init__(self) -> None:
        self._ptr = _native.cancel_token_new()

    def enter(self) -> None:
        _native.cancel_token_enter(self._ptr)

    @staticmethod
    def leave() -> None:
        _native.cancel_token_enter(None)

    def cancel(self) -> None:
        _native.cancel_token_cancel(self._ptr)


async def run(call: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """``call(*args, **kwargs)`` on the running loop's default executor. When the
    awaiting task is cancelled, the JavaScript call is stopped and waited for before
    the cancellation propagates (so the VM is free again)."""
    import asyncio  # here: importing it costs more than importing this package

    loop = asyncio.get_running_loop()
    token = _CancelToken()

    def job() -> _T:
        token.enter()
        _fetch.set_current_loop(loop)  # async fetch handlers run on the awaiting loop
        try:
            return call(*args, **kwargs)
        finally:
            _fetch.set_current_loop(None)
            token.leave()

    future = loop.run_in_executor(None, job)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        token.cancel()
        with contextlib.suppress(V8TerminatedError, asyncio.CancelledError):
            await future
        raise
