"""The JSON fast path gives the same values with orjson (CPython's default) and with the
standard library's encoder (PyPy's path, and the reference): both are tested here."""

from __future__ import annotations

import datetime as dt
import enum
import math
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from v8cffi import V8ConversionError, values
from v8cffi.context import Context


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class MyDict(dict):  # type: ignore[type-arg]
    pass


VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**53,
    2**53 + 1,  # past 2**53: a BigInt, never a rounded number
    -(2**70),
    1.5,
    1e300,
    -0.0,
    "",
    "héllo ☃ 😀",
    "\ud800 lone",  # a lone surrogate: kept
    "nullable null",
    [1, [2, [3, None]]],
    (1, 2),
    {"a": 1, "b": [None, {"c": "d"}]},
    {1: "int key", None: "none key", 2.5: "float key", False: "bool key"},
    MyDict(x=1),
    dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=dt.timezone.utc),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    Color.RED,
    Level.HIGH,
    b"bytes",
    {"n": 1, "big": 2**64},
    [float("inf")],
]


@pytest.fixture(params=["orjson", "json"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "orjson":
        values._use_orjson()
        if values.__dict__["_orjson"] is None:
            pytest.skip("orjson is not installed (PyPy: the standard library is the path)")
    else:
        monkeypatch.setattr(values, "_orjson", None)
    yield request.param


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b) and type(a) is type(b)


def expected(value: Any) -> Any:
    """What a value comes back as from JavaScript."""
    if isinstance(value, tuple):
        return [expected(v) for v in value]
    if isinstance(value, list):
        return [expected(v) for v in value]
    if isinstance(value, dict):
        names = {None: "null", False: "false"}
        keys = {k if isinstance(k, str) else names.get(k, str(k)): v for k, v in value.items()}
        return {k: expected(v) for k, v in keys.items()}
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Color):
        return value.value
    if isinstance(value, Level):
        return int(value)
    return value


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__ + ":" + repr(v)[:20])
def test_both_paths_round_trip_the_same(ctx: Context, path: str, value: Any) -> None:
    back = ctx.call("(x) => x", value)
    assert same(back, expected(value)), (path, value, back)


def test_both_paths_reject_the_same(ctx: Context, path: str) -> None:
    for bad in ({"k": object()}, [{1, 2}, lambda: 1], {(1, 2): "tuple key"}):
        with pytest.raises(V8ConversionError):
            ctx.call("(x) => x", bad)


def test_nan_is_not_null(ctx: Context, path: str) -> None:
    assert math.isnan(ctx.call("(x) => x", {"nan": float("nan")})["nan"])
    assert ctx.call("(x) => x === null", None) is True


class NanValued(enum.Enum):
    NAN = float("nan")


def test_nulls_stay_on_the_json_path_and_nan_anywhere_leaves_it(ctx: Context, path: str) -> None:
    # orjson writes None and NaN alike as null: a text with null goes on the JSON path only
    # once nothing in the value is a NaN or an infinity.
    with_none = {"a": None, "b": [1.5, None, {"c": None, "d": (2.5, "x")}], "e": True}
    assert values.exact_json(with_none) == b'{"a":null,"b":[1.5,null,{"c":null,"d":[2.5,"x"]}],"e":true}'
    for hidden in (math.nan, math.inf, -math.inf, NanValued.NAN):
        for value in ({"a": None, "b": [1.5, {"c": hidden}]}, (None, hidden), [[None], [[hidden]]]):
            assert values.exact_json(value) is None, (path, value)
            show = "(x) => JSON.stringify(x, (k, v) => typeof v === 'number' ? String(v) : v)"
            back = ctx.call(show, value)
            assert "null" in back and ("NaN" in back or "Infinity" in back), (path, value, back)


def test_json_results_decode_alike(ctx: Context, path: str) -> None:
    result = ctx.eval("({s: 'x\\ud800y', n: [1, 2.5, -0, 1e21], t: true})")
    assert result["s"] == "x\ud800y"
    assert result["n"][:2] == [1, 2.5] and result["n"][3] == 1e21
    assert result["t"] is True


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__ + ":" + repr(v)[:20])
def test_arguments_go_as_json_only_when_json_says_them_exactly(path: str, value: Any) -> None:
    # ``call`` sends ``exact_json((args…))`` as the JSON text of its arguments, and
    # the tagged form otherwise: the text must read back as the value itself.
    text = values.exact_json((value,))
    if text is None:
        assert values.dumps((value,))[0] != ord("J")
        return
    assert values.dumps((value,)) == b"J" + len(text).to_bytes(4, "little") + text
    import json

    (back,) = json.loads(text)
    assert same(back, expected(value)) or isinstance(value, (uuid.UUID, enum.Enum)), (path, value, back)


def test_string_results_of_every_kind_come_back_whole(ctx: Context, path: str) -> None:
    ctx.run_script("function echo(s) { return s }")
    for s in ["", "l", "Latin-1 ÿ", "x" * 70_000, "ÿ" * 70_000, "☃ wide", "\ud800", "😀" * 40_000]:
        assert ctx.call("echo", s) == s
        assert ctx.eval(f"{s!r}.length") == len(s.encode("utf-16-le", "surrogatepass")) // 2


def test_an_interrupted_orjson_import_is_not_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # Importing orjson again after an import cut short by a signal handler crashes in its
    # module set-up: the first try is the only one, and the standard library stays.
    import builtins
    import sys

    real_import = builtins.__import__
    tries = []

    def interrupted(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "orjson":
            tries.append(name)
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "orjson", raising=False)
    monkeypatch.setattr(values, "_orjson", None)
    monkeypatch.setattr(values, "_until_orjson", 1)
    monkeypatch.setattr(builtins, "__import__", interrupted)
    with pytest.raises(KeyboardInterrupt):
        values.exact_json({"a": 1})
    assert values.exact_json({"a": [1, None]}) == b'{"a":[1,null]}'
    assert values.exact_json({"a": math.nan}) is None
    assert tries == ["orjson"]
