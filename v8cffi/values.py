"""Python values to and from the wire format of ``libv8rs`` (see ``docs/values.md``).

JavaScript → Python: ``undefined`` and ``null`` → ``None``; booleans; integral numbers
up to 2**53 → ``int``, other numbers → ``float``; BigInt → ``int``; strings → ``str``
(lone surrogates kept); arrays → ``list``; plain objects → ``dict``; ``Date`` →
timezone-aware ``datetime`` (UTC); ``ArrayBuffer`` and typed arrays → ``bytes``; ``Map``
→ ``dict``; ``Set`` → ``set``; Temporal values where Python has them exactly:
``Temporal.Instant`` → aware ``datetime`` (UTC), ``ZonedDateTime`` → aware ``datetime``
in its ``zoneinfo`` zone, ``PlainDateTime`` → naive ``datetime``, ``PlainDate`` →
``date``, ``PlainTime`` → ``time``, ``Duration`` → ``timedelta`` (a value finer than a
microsecond, outside Python's range, with a calendar other than ISO 8601, a Duration with
years or months, ``PlainYearMonth`` and ``PlainMonthDay`` raise).

Python → JavaScript: ``None`` → ``null``; ``bool``; ``int`` → number, or BigInt beyond
2**53; ``float``; ``str``; ``bytes``-like → ``Uint8Array``; ``list``/``tuple`` → Array;
``dict`` → object (``int``, ``float``, ``bool`` and ``None`` keys become strings, as in
JSON); ``datetime`` → ``Date`` (naive ones taken as UTC); ``date`` →
``Temporal.PlainDate``, ``time`` → ``Temporal.PlainTime``, ``timedelta`` →
``Temporal.Duration``; ``set``/``frozenset`` → ``Set``; ``uuid.UUID`` → its string; an ``enum.Enum`` → its
value.

Anything else, cycles, and nesting deeper than :data:`MAX_DEPTH` raise
:class:`~v8cffi.exceptions.V8ConversionError` (also a :class:`TypeError`).

Values that JSON says exactly travel as JSON text, encoded and decoded with orjson where
it is installed (a default dependency on CPython) and with the standard library's
``json`` otherwise (PyPy): the same values either way — what orjson refuses or could
round (ints past 2**53, lone surrogates, keys that are not str, NaN) takes the exact
path.
"""

from __future__ import annotations

import datetime as _dt
import enum
import importlib.util
import json
import math
import re
import struct
import sys
from typing import Any

from . import _constants
from .exceptions import V8ArgumentError, V8ConversionError, V8Error

#: orjson, once imported (see :func:`_use_orjson`); ``None`` before, and for good
#: where it is not installed (PyPy, a platform without its wheels).
_orjson: Any = None
#: Importing orjson costs more than importing this package (it imports uuid,
#: dataclasses, inspect…): a short script that converts a few values goes without;
#: after this many conversions, the hot path takes it.
_ORJSON_AFTER = 64
_until_orjson = _ORJSON_AFTER if importlib.util.find_spec("orjson") is not None else -1

__all__ = ["MAX_DEPTH", "dumps", "loads"]

#: How deep lists, dicts and sets may nest (``V8RS_MAX_DEPTH`` of the C ABI).
MAX_DEPTH = _constants.MAX_DEPTH
_SAFE = 2**53
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_F64 = struct.Struct("<d")


def dumps(value: Any) -> bytes:
    """``value`` in the wire format.

    Values that JSON represents exactly (``dict``/``list``/``tuple``/``str``/``bool``/
    ``None``, finite floats, ints up to 2**53) travel as JSON text, which the encoders
    on both sides handle much faster; everything else is written tag by tag.
    """
    text = exact_json(value)
    if text is not None:
        return b"J" + _U32.pack(len(text)) + text
    return dumps_tagged(value)


def exact_json(value: Any) -> bytes | None:
    """``value`` as a JSON text (ASCII or UTF-8) when JSON says it exactly — what
    :func:`dumps` sends as a ``J`` value — or ``None`` (then :func:`dumps_tagged`)."""
    if _orjson is None and _until_orjson >= 0:
        _count_towards_orjson()
    if _orjson is not None:
        try:
            data: bytes = _orjson_dumps(value, default=_not_json, option=_ORJSON_OPTIONS)
        except (TypeError, _orjson.JSONEncodeError):
            pass  # not exact in JSON, or not for orjson: the standard library decides
        else:
            # orjson writes NaN and infinities as null: only then look closer.
            if _find_null(data) is None or _all_finite(value):
                return data
    try:
        text = _json(value)
    except (TypeError, ValueError, RecursionError):
        return None
    data = text.encode("ascii")
    if _SIXTEEN_DIGITS in data.translate(_DIGITS_AS_ZEROS):
        return None
    return data


def dumps_tagged(value: Any) -> bytes:
    """``value`` in the wire format, written tag by tag (no ``J`` text at the top)."""
    out = bytearray()
    _write(out, value, 0, set(), "value")
    return bytes(out)


class _NotJson(TypeError):
    pass


def _is_uuid(value: Any) -> bool:
    """Whether ``value`` is a ``uuid.UUID`` (without importing ``uuid``, which costs
    more than importing this package: a UUID exists only once ``uuid`` is imported)."""
    module = sys.modules.get("uuid")
    return module is not None and isinstance(value, module.UUID)


def _not_json(value: Any) -> Any:
    """The JSON form of the values JSON encoders do not know, as the exact path writes
    them (a UUID as its string, an Enum as its value); anything else is not JSON."""
    if _is_uuid(value):
        return str(value)
    if isinstance(value, enum.Enum) and not isinstance(value, (int, str, float)):
        return value.value
    raise _NotJson


#: Finds ``null`` in a JSON text (``re`` is twice as fast as ``bytes.__contains__`` here).
_find_null = re.compile(b"null").search


def _all_finite(value: Any) -> bool:
    """Whether ``value``, which orjson encoded, holds no NaN or infinity (which orjson
    writes as ``null``, as it writes ``None``). ``False`` also for a value its ``default``
    converted (an Enum's value may be a float): the standard library decides those."""
    stack = [value]
    push, pop = stack.append, stack.pop
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict:
            items = item.values()
        elif kind is list or kind is tuple:
            items = item
        elif kind is float:
            if item - item != 0.0:  # NaN for NaN and both infinities
                return False
            continue
        elif kind is str or kind is int or kind is bool or item is None:
            continue
        else:
            return False
        for x in items:  # one plain loop: faster here than map, filter or a set of types
            kind = type(x)
            if kind is str or kind is int or x is None or kind is bool:
                continue
            if kind is float:
                if x - x != 0.0:
                    return False
            else:
                push(x)  # nested, or not JSON's own: looked at above
    return True


_orjson_dumps: Any = None
_orjson_loads: Any = None
_ORJSON_OPTIONS = 0


def _count_towards_orjson() -> None:
    """One more conversion: the one that reaches :data:`_ORJSON_AFTER` imports orjson."""
    global _until_orjson
    _until_orjson -= 1
    if _until_orjson <= 0:
        _use_orjson()


def _use_orjson() -> None:
    """Makes orjson the JSON path (when it is installed)."""
    global _orjson, _orjson_dumps, _orjson_loads, _ORJSON_OPTIONS, _until_orjson
    # One try only: an import cut short (a KeyboardInterrupt from a signal handler) and
    # tried again crashes in orjson's module set-up; then the standard library stays.
    _until_orjson = -1
    try:
        import orjson
    except ImportError:
        return
    _orjson_dumps = orjson.dumps
    _orjson_loads = orjson.loads
    # Ints past 2**53 raise (the exact path sends BigInts); datetimes, dataclasses and
    # subclasses go to `default` (which refuses them), so orjson converts exactly what
    # the standard library's encoder would.
    _ORJSON_OPTIONS = (
        orjson.OPT_STRICT_INTEGER
        | orjson.OPT_PASSTHROUGH_DATETIME
        | orjson.OPT_PASSTHROUGH_DATACLASS
        | orjson.OPT_PASSTHROUGH_SUBCLASS
    )
    _orjson = orjson


# ASCII-only output keeps lone surrogates (as \udXXX escapes); no NaN or Infinity.
_json = json.JSONEncoder(
    ensure_ascii=True, allow_nan=False, check_circular=True, separators=(",", ":"), default=_not_json
).encode
# Numbers of 16 digits or more may exceed 2**53: send those tag by tag (as BigInt). Found
# as 16 zeros after mapping every digit to "0" and the rest to " " (a regex is 4x slower).
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_SIXTEEN_DIGITS = b"0" * 16


def _write_str(out: bytearray, s: str) -> None:
    try:
        data = s.encode("latin-1")
        out += b"l"
        out += _U32.pack(len(s))
    except UnicodeEncodeError:
        data = s.encode("utf-16-le", "surrogatepass")
        out += b"w"
        out += _U32.pack(len(data) // 2)
    out += data


def _write(out: bytearray, value: Any, depth: int, active: set[int], path: str) -> None:
    if value is None:
        out += b"n"
    elif value is True:
        out += b"t"
    elif value is False:
        out += b"f"
    elif isinstance(value, int):
        if -_SAFE <= value <= _SAFE:
            out += b"i"
            out += _I64.pack(value)
        else:
            magnitude = abs(value)
            words = []
            while magnitude:
                words.append(magnitude & 0xFFFFFFFFFFFFFFFF)
                magnitude >>= 64
            out += b"N"
            out += bytes([value < 0])
            out += _U32.pack(len(words))
            out += b"".join(struct.pack("<Q", w) for w in words)
    elif isinstance(value, float):
        out += b"d"
        out += _F64.pack(value)
    elif isinstance(value, str):
        _write_str(out, value)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        out += b"B"
        out += _U32.pack(len(data))
        out += data
    elif _is_uuid(value):
        _write_str(out, str(value))
    elif isinstance(value, enum.Enum) and not isinstance(value, (int, str, float)):
        _write(out, value.value, depth, active, path)
    elif isinstance(value, _dt.datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=_dt.timezone.utc)
        out += b"D"
        out += _F64.pack(_epoch_ms(moment))
    elif isinstance(value, (_dt.date, _dt.time, _dt.timedelta)):
        kind, text = _temporal_text(value, path)
        data = text.encode("ascii")
        out += b"T"
        out += kind
        out += _U32.pack(len(data))
        out += data
    elif isinstance(value, (list, tuple, dict, set, frozenset)):
        if depth >= MAX_DEPTH:
            raise V8ConversionError(f"cannot convert {path}: it nests deeper than {MAX_DEPTH} levels")
        if id(value) in active:
            raise V8ConversionError(f"cannot convert {path}: it contains itself (a cycle)")
        active.add(id(value))
        if isinstance(value, dict):
            out += b"o"
            out += _U32.pack(len(value))
            for key, item in value.items():
                if isinstance(key, str):
                    _write_str(out, key)
                elif key is None or isinstance(key, (bool, int, float)):
                    _write_str(out, json.dumps(key))  # as JSON names such keys
                else:
                    raise V8ConversionError(
                        f"cannot convert {path}: its key {key!r} is not a str (JavaScript object "
                        "keys are strings)"
                    )
                _write(out, item, depth + 1, active, f"{path}[{key!r}]")
        else:
            out += b"a" if isinstance(value, (list, tuple)) else b"S"
            out += _U32.pack(len(value))
            for i, item in enumerate(value):
                _write(out, item, depth + 1, active, f"{path}[{i}]")
        active.discard(id(value))
    else:
        raise V8ConversionError(f"cannot convert {path} of type {type(value).__name__} to JavaScript")


def _json_text(text: bytes | memoryview, at: int) -> Any:
    """The value of a JSON text (with orjson when it has it: it refuses lone
    surrogates, which the standard library's decoder keeps)."""
    if _orjson is None and _until_orjson >= 0:
        _count_towards_orjson()
    if _orjson is not None:
        try:
            return _orjson_loads(text)
        except _orjson.JSONDecodeError:
            pass
    try:
        return json.loads(bytes(text) if isinstance(text, memoryview) else text)
    except ValueError:
        raise V8ArgumentError(f"malformed value: invalid JSON text at byte {at}") from None


# --- Temporal -------------------------------------------------------------------------

_DATE = r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
_TIME = r"(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
_OFFSET = r"(?P<offset>[+-]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?|Z)"
_ANNOTATIONS = r"(?P<annotations>(?:\[[^\]]*\])*)"
_TEMPORAL_FORMS = {
    "I": re.compile(f"{_DATE}T{_TIME}{_OFFSET}"),
    "Z": re.compile(f"{_DATE}T{_TIME}{_OFFSET}{_ANNOTATIONS}"),
    "D": re.compile(f"{_DATE}{_ANNOTATIONS}"),
    "d": re.compile(f"{_DATE}T{_TIME}{_ANNOTATIONS}"),
    "t": re.compile(_TIME),
}
_DURATION = re.compile(
    r"(?P<sign>[+-])?P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)(?:\.(?P<fraction>\d{1,9}))?S)?)?"
)
_TEMPORAL_NAMES = {"Y": "PlainYearMonth", "M": "PlainMonthDay", "I": "Instant", "Z": "ZonedDateTime",
                   "D": "PlainDate", "d": "PlainDateTime", "t": "PlainTime", "R": "Duration"}  # fmt: skip


def _temporal_text(value: _dt.date | _dt.time | _dt.timedelta, path: str) -> tuple[bytes, str]:
    """The ``T`` kind and ISO 8601 text of a ``date``, ``time`` or ``timedelta``."""
    if isinstance(value, _dt.timedelta):
        micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
        sign, micros = ("-" if micros < 0 else ""), abs(micros)
        days, micros = divmod(micros, 86_400 * 1_000_000)
        seconds, micros = divmod(micros, 1_000_000)
        return b"R", f"{sign}P{days}DT{seconds}.{micros:06d}S"
    if isinstance(value, _dt.time):
        if value.tzinfo is not None:
            raise V8ConversionError(
                f"cannot convert {path}: a time with a tzinfo has no JavaScript equivalent "
                "(Temporal.PlainTime has no zone)"
            )
        return b"t", value.isoformat()
    return b"D", value.isoformat()


def _cannot(name: str, text: str, why: str) -> V8ConversionError:
    return V8ConversionError(f"cannot convert the Temporal.{name} {text}: {why}")


def _fraction_micros(fraction: str | None, text: str) -> int:
    """Microseconds of a decimal fraction of a second; raises when it is finer."""
    digits = (fraction or "").ljust(9, "0")
    if digits[6:] != "000":
        raise V8ConversionError(
            f"cannot convert the Temporal value {text}: Python keeps microseconds, not finer"
        )
    return int(digits[:6])


def _temporal_value(kind: str, text: str) -> Any:
    """The Python value of a Temporal value (its kind and ``toString()``), where Python
    has it exactly."""
    name = _TEMPORAL_NAMES.get(kind, "Temporal value")
    if kind == "R":
        return _duration(text)
    form = _TEMPORAL_FORMS.get(kind)
    if form is None:
        raise V8ConversionError(f"cannot convert a Temporal.{name} ({text}): Python has no such value")
    found = form.fullmatch(text)
    if found is None:
        raise V8ConversionError(f"cannot convert the Temporal.{name} {text}: it is outside Python's range")
    parts = found.groupdict()
    annotations = parts.get("annotations") or ""
    zone = None
    for annotation in re.findall(r"\[!?([^\]]*)\]", annotations):
        key, eq, calendar = annotation.partition("=")
        if eq and key == "u-ca":
            if calendar != "iso8601":
                raise V8ConversionError(
                    f"cannot convert the Temporal.{name} {text}: Python has the ISO 8601 calendar only"
                )
        elif not eq:
            zone = annotation
    try:
        if kind == "t":
            return _dt.time(*_clock(parts, text))
        date = _dt.date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
        if kind == "D":
            return date
        naive = _dt.datetime.combine(date, _dt.time(*_clock(parts, text)))
        if kind == "d":
            return naive
        offset = parts["offset"]
        if offset == "Z":
            moment = naive.replace(tzinfo=_dt.timezone.utc)
        else:
            sign = -1 if offset[0] == "-" else 1
            hours, minutes, *rest = offset[1:].split(":")
            seconds = float(rest[0]) if rest else 0.0
            if seconds != int(seconds):
                raise V8ConversionError(
                    f"cannot convert the Temporal.{name} {text}: its offset is finer than a second"
                )
            delta = _dt.timedelta(hours=int(hours), minutes=int(minutes), seconds=int(seconds))
            moment = naive.replace(tzinfo=_dt.timezone(sign * delta))
        if kind == "I":
            return moment.astimezone(_dt.timezone.utc)
        return moment.astimezone(_zone(zone, text))
    except (ValueError, OverflowError):
        raise V8ConversionError(
            f"cannot convert the Temporal.{name} {text}: it is outside Python's range"
        ) from None


def _clock(parts: dict[str, str | None], text: str) -> tuple[int, int, int, int]:
    return (
        int(parts["hour"] or 0),
        int(parts["minute"] or 0),
        int(parts["second"] or 0),
        _fraction_micros(parts["fraction"], text),
    )


def _zone(zone: str | None, text: str) -> _dt.tzinfo:
    """The ``tzinfo`` of a time zone annotation: an offset, or a ``zoneinfo`` zone."""
    if zone is None:
        raise V8ConversionError(f"cannot convert the Temporal.ZonedDateTime {text}: it names no time zone")
    fixed = re.fullmatch(r"([+-])(\d{2}):(\d{2})", zone)
    if fixed:
        delta = _dt.timedelta(hours=int(fixed[2]), minutes=int(fixed[3]))
        return _dt.timezone(-delta if fixed[1] == "-" else delta)
    if zone.upper() == "UTC":
        return _dt.timezone.utc
    try:
        import zoneinfo

        return zoneinfo.ZoneInfo(zone)
    except (ImportError, ValueError, OSError) as e:  # ZoneInfoNotFoundError is a KeyError
        raise V8ConversionError(f"cannot convert the Temporal.ZonedDateTime {text}: {e}") from None
    except KeyError:
        raise V8ConversionError(
            f"cannot convert the Temporal.ZonedDateTime {text}: Python's zoneinfo does not know {zone}"
        ) from None


def _duration(text: str) -> _dt.timedelta:
    found = _DURATION.fullmatch(text)
    if found is None:
        raise V8ConversionError(f"cannot convert the Temporal.Duration {text}")
    parts = found.groupdict()
    if int(parts["years"] or 0) or int(parts["months"] or 0):
        raise V8ConversionError(
            f"cannot convert the Temporal.Duration {text}: years and months have no fixed length, "
            "and a timedelta needs one"
        )
    micros = _fraction_micros(parts["fraction"], text)
    try:
        delta = _dt.timedelta(
            weeks=int(parts["weeks"] or 0),
            days=int(parts["days"] or 0),
            hours=int(parts["hours"] or 0),
            minutes=int(parts["minutes"] or 0),
            seconds=int(parts["seconds"] or 0),
            microseconds=micros,
        )
    except OverflowError:
        raise V8ConversionError(
            f"cannot convert the Temporal.Duration {text}: it is outside timedelta's range"
        ) from None
    return -delta if parts["sign"] == "-" else delta


def _epoch_ms(moment: _dt.datetime) -> float:
    """Milliseconds since the epoch, from whole integers (exact on every Python)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds / 1000


def _from_epoch_ms(ms: float) -> _dt.datetime:
    """The datetime ``ms`` milliseconds after the epoch, to the microsecond, computed
    from whole numbers (timedelta(milliseconds=float) rounds on PyPy)."""
    whole = math.floor(ms)
    micro = round((ms - whole) * 1000)
    return _EPOCH + _dt.timedelta(milliseconds=whole, microseconds=micro)


def loads(data: bytes) -> Any:
    """The Python value of one wire-format value (all of ``data``)."""
    # The usual results first: a JSON text (no copy) or a Latin-1 string.
    if len(data) >= 5 and _U32.unpack_from(data, 1)[0] == len(data) - 5:
        tag = data[0]
        if tag == 0x4A:
            return _json_text(memoryview(data)[5:], 0)
        if tag == 0x6C:  # (bytes' own decode is the fastest; memoryviews have none)
            return data[5:].decode("latin-1") if type(data) is bytes else str(data[5:], "latin-1")
    view = memoryview(data)
    try:
        value, end = _read(view, 0, 0)
    except V8Error:
        raise
    except RecursionError:
        raise V8ArgumentError("malformed value: it nests too deep to read") from None
    except (IndexError, struct.error, TypeError, ValueError) as e:
        # Not what the library writes: cut short, or garbage (an unhashable key, bad
        # UTF-8…).
        raise V8ArgumentError(f"malformed value: {type(e).__name__}: {e}") from None
    if end > len(view):
        raise V8ArgumentError(f"malformed value: cut short ({end - len(view)} bytes missing)")
    if end != len(view):
        raise V8ArgumentError(f"malformed value: {len(view) - end} bytes after its end")
    return value


def _read(view: memoryview, at: int, depth: int) -> tuple[Any, int]:
    tag = view[at]
    at += 1
    if tag == 0x4A:  # J: a JSON text
        (n,) = _U32.unpack_from(view, at)
        return _json_text(bytes(view[at + 4 : at + 4 + n]), at - 1), at + 4 + n
    if tag == 0x6C:  # l
        (n,) = _U32.unpack_from(view, at)
        return str(view[at + 4 : at + 4 + n], "latin-1"), at + 4 + n
    if tag == 0x69:  # i
        return _I64.unpack_from(view, at)[0], at + 8
    if tag == 0x6F:  # o
        (n,) = _U32.unpack_from(view, at)
        at += 4
        obj = {}
        for _ in range(n):
            key, at = _read(view, at, depth + 1)
            obj[key], at = _read(view, at, depth + 1)
        return obj, at
    if tag == 0x61:  # a
        (n,) = _U32.unpack_from(view, at)
        at += 4
        items = []
        for _ in range(n):
            item, at = _read(view, at, depth + 1)
            items.append(item)
        return items, at
    if tag == 0x75 or tag == 0x6E:  # u, n
        return None, at
    if tag == 0x74:  # t
        return True, at
    if tag == 0x66:  # f
        return False, at
    if tag == 0x64:  # d
        return _F64.unpack_from(view, at)[0], at + 8
    if tag == 0x77:  # w
        (n,) = _U32.unpack_from(view, at)
        end = at + 4 + 2 * n
        return str(view[at + 4 : end], "utf-16-le", "surrogatepass"), end
    if tag == 0x4E:  # N
        negative = view[at] != 0
        (n,) = _U32.unpack_from(view, at + 1)
        at += 5
        magnitude = int.from_bytes(view[at : at + 8 * n], "little")
        return (-magnitude if negative else magnitude), at + 8 * n
    if tag == 0x44:  # D
        (ms,) = _F64.unpack_from(view, at)
        if math.isnan(ms):
            raise V8ConversionError("cannot convert an Invalid Date to a datetime")
        try:
            return _from_epoch_ms(ms), at + 8
        except OverflowError:
            raise V8ConversionError(f"the Date {ms} ms is outside datetime's range") from None
    if tag == 0x54:  # T: a Temporal value
        kind = chr(view[at])
        (n,) = _U32.unpack_from(view, at + 1)
        text = str(view[at + 5 : at + 5 + n], "utf-8")
        return _temporal_value(kind, text), at + 5 + n
    if tag == 0x42:  # B
        (n,) = _U32.unpack_from(view, at)
        return bytes(view[at + 4 : at + 4 + n]), at + 4 + n
    if tag == 0x4D:  # M
        (n,) = _U32.unpack_from(view, at)
        at += 4
        mapping: dict[Any, Any] = {}
        for _ in range(n):
            key, at = _read(view, at, depth + 1)
            value, at = _read(view, at, depth + 1)
            try:
                mapping[key] = value
            except TypeError:
                raise V8ConversionError(f"cannot use the Map key {key!r} as a dict key") from None
        return mapping, at
    if tag == 0x53:  # S
        (n,) = _U32.unpack_from(view, at)
        at += 4
        members = set()
        for _ in range(n):
            item, at = _read(view, at, depth + 1)
            try:
                members.add(item)
            except TypeError:
                raise V8ConversionError(f"cannot put the Set item {item!r} in a set") from None
        return members, at
    raise V8ArgumentError(f"malformed value: unknown tag {tag:#04x} at byte {at - 1}")
