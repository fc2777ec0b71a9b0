"""The web APIs a context gets (see ``docs/web-apis.md``).

Every context has them all by default; :meth:`VM.create_context(web=...)
<v8cffi.vm.VM.create_context>` takes ``False`` for a bare V8 context, or a collection of
names from :data:`WEB_FEATURES` for just those groups::

    vm.create_context(web=WEB_FEATURES - {"crypto"})

One group is opt-in and apart from :data:`WEB_FEATURES`: ``dom=True`` adds a server-side
DOM (linkedom's ``window``, ``document``, ``DOMParser``…, loaded on first use)::

    vm.create_context(dom=True)
"""

from __future__ import annotations

from collections.abc import Iterable

from . import _constants as c

__all__ = ["WEB_FEATURES", "feature_mask"]

#: Each group's bit in the C ABI's mask (``V8RS_WEB_*``) and what it installs.
_BITS = {
    "timers": c.WEB_TIMERS,  # setTimeout, setInterval, clearTimeout, clearInterval, queueMicrotask
    "encoding": c.WEB_ENCODING,  # TextEncoder, TextDecoder (+ their streams with "streams")
    "base64": c.WEB_BASE64,  # atob, btoa
    "structured_clone": c.WEB_STRUCTURED_CLONE,  # structuredClone
    "performance": c.WEB_PERFORMANCE,  # performance.now(), performance.timeOrigin
    "crypto": c.WEB_CRYPTO,  # crypto.getRandomValues, crypto.randomUUID
    "url": c.WEB_URL,  # URL, URLSearchParams
    "events": c.WEB_EVENTS,  # Event, EventTarget, AbortController, AbortSignal, DOMException
    "message_channel": c.WEB_MESSAGE_CHANNEL,  # MessageChannel, MessagePort, MessageEvent
    "streams": c.WEB_STREAMS,  # ReadableStream, WritableStream, TransformStream, …
    "console": c.WEB_CONSOLE,  # console as Node's, to the VM's handler (VM.set_console)
    # fetch (no network unless Context.set_fetch), Headers, Request, Response, Blob, File, FormData
    "fetch": c.WEB_FETCH,
}

#: The names of the web API groups.
WEB_FEATURES: frozenset[str] = frozenset(_BITS)


def feature_mask(web: bool | Iterable[str], *, dom: bool = False) -> int:
    """The ``V8RS_WEB_*`` mask for ``web``: ``True`` (all groups), ``False`` (none) or
    group names; with ``dom``, the opt-in DOM (``V8RS_WEB_DOM``, not a member of
    :data:`WEB_FEATURES`) too. Raises ``ValueError`` for unknown names."""
    if not isinstance(dom, bool):
        raise TypeError(f"dom must be True or False, not {dom!r}")
    return _web_mask(web) | (c.WEB_DOM if dom else 0)


def _web_mask(web: bool | Iterable[str]) -> int:
    """The mask of the default groups ``web`` names (see :func:`feature_mask`)."""
    if web is True:
        return c.WEB_ALL
    if web is False:
        return 0
    if isinstance(web, (str, bytes)):
        raise TypeError("web must be True, False or a collection of feature names, not a string")
    names = set(web)
    unknown = names - WEB_FEATURES
    if unknown:
        raise ValueError(f"unknown web features {sorted(unknown)}; known: {sorted(WEB_FEATURES)}")
    return sum(_BITS[name] for name in names)
