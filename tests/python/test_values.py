"""Values both ways: eval, call, promises, and what cannot be converted."""

from __future__ import annotations

import datetime as dt
import math
import threading
from typing import Any

import pytest

from v8cffi import V8ConversionError, V8JSError, V8TimeoutError
from v8cffi.context import Context
from v8cffi.values import MAX_DEPTH, dumps, loads

UTC = dt.timezone.utc

JS_TO_PY = [
    ("undefined", None),
    ("null", None),
    ("true", True),
    ("false", False),
    ("0", 0),
    ("-7", -7),
    ("2 ** 53", 2**53),
    ("-(2 ** 53)", -(2**53)),
    ("2 ** 53 * 2", 2.0**54),
    ("1.5", 1.5),
    ("Infinity", math.inf),
    ("-Infinity", -math.inf),
    ("2n ** 200n", 2**200),
    ("-(3n ** 99n)", -(3**99)),
    ("0n", 0),
    ("''", ""),
    ("'héllo'", "héllo"),
    ("'日本語 😀'", "日本語 😀"),
    ("'a\\u0000b'", "a\0b"),
    ("'\\ud800x'", "\ud800x"),
    ("[]", []),
    ("[1, 'two', [3, [4]]]", [1, "two", [3, [4]]]),
    ("[, 1]", [None, 1]),
    ("({})", {}),
    ("({a: 1, b: {c: [true]}})", {"a": 1, "b": {"c": [True]}}),
    ("({1: 'x', b: 2})", {"1": "x", "b": 2}),
    ("new Date(Date.UTC(2024, 1, 29, 12, 30, 15, 250))", dt.datetime(2024, 2, 29, 12, 30, 15, 250000, UTC)),
    ("new Date(-1)", dt.datetime(1969, 12, 31, 23, 59, 59, 999000, UTC)),
    ("new Uint8Array([0, 255, 7])", b"\x00\xff\x07"),
    ("new Uint16Array([1]).buffer", b"\x01\x00"),
    ("new DataView(new Uint8Array([9, 8]).buffer, 1)", b"\x08"),
    ("new Map([['k', 1], [2, [3]]])", {"k": 1, 2: [3]}),
    ("new Set([1, 'x', 1])", {1, "x"}),
    ("Object.create({inherited: 1}, {own: {value: 2, enumerable: true}})", {"own": 2}),
]


@pytest.mark.parametrize(("script", "expected"), JS_TO_PY)
def test_eval_converts_javascript_values(ctx: Context, script: str, expected: Any) -> None:
    value = ctx.eval(script)
    assert value == expected
    assert type(value) is type(expected)


def test_special_numbers(ctx: Context) -> None:
    assert math.isnan(ctx.eval("NaN"))
    zero = ctx.eval("-0")
    assert zero == 0 and math.copysign(1, zero) == -1
    assert ctx.eval("2 ** 53 + 1") == 2**53  # JavaScript itself rounds


PY_TO_JS = [
    (None, "object:null"),
    (True, "boolean:true"),
    (0, "number:0"),
    (-(2**53), "number:-9007199254740992"),
    (2**53 + 1, "bigint:9007199254740993"),
    (-(2**80), "bigint:-1208925819614629174706176"),
    (1.25, "number:1.25"),
    (math.inf, "number:Infinity"),
    ("", "string:"),
    ("ñ😀", "string:ñ😀"),
    (b"\x01\x02", "object:1,2"),
    ([1, [2]], "object:1,2"),
    ((1, 2), "object:1,2"),
    ({"a": 1}, "object:[object Object]"),
    ({1, 2}, "object:[object Set]"),
    (dt.datetime(2000, 1, 1, tzinfo=UTC), "object:" + "946684800000"),
]


@pytest.mark.parametrize(("value", "described"), PY_TO_JS)
def test_call_converts_python_values(ctx: Context, value: Any, described: str) -> None:
    ctx.run_script(
        "function describe(x) { return typeof x + ':' + (x instanceof Date ? x.getTime() : String(x)) }"
    )
    assert ctx.call("describe", value) == described


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        -(2**53),
        2**53 + 1,
        -(2**100),
        0.1,
        -0.5,
        "",
        "x" * 1000,
        "é\udfff\ud800😀",
        b"",
        b"\x00" * 10,
        [],
        [1, [2, [3, []]]],
        {},
        {"nested": {"list": [1, "a", None, {"deep": True}]}},
        dt.datetime(1999, 12, 31, 23, 59, 59, 123000, UTC),
        {1, "two", 3.5},
    ],
)
def test_round_trips_through_javascript(ctx: Context, value: Any) -> None:
    assert ctx.call("(x) => x", value) == value


def test_round_trip_keeps_lone_surrogates_and_nul(ctx: Context) -> None:
    text = "a\0b😀\udc00"
    assert ctx.call("(s) => s", text) == text
    assert ctx.call("(s) => s.length", text) == 6
    # A surrogate *pair* spelled as two code points is the same JavaScript string as
    # the character it encodes, and comes back as that character.
    assert ctx.call("(s) => s", "\ud83d\ude00") == "😀"


def test_dict_keys_become_strings_as_in_json(ctx: Context) -> None:
    assert ctx.call("(o) => o", {1: "a", False: "b", None: "c", 1.5: "d"}) == {
        "1": "a",
        "false": "b",
        "null": "c",
        "1.5": "d",
    }
    assert ctx.call("(o) => o", {2: b"x"}) == {"2": b"x"}


def test_json_fast_path_keeps_exactness(ctx: Context) -> None:
    # These go as JSON text; what JSON cannot say exactly goes tag by tag.
    for value in [{"n": 2**53}, {"n": 2**53 + 1}, [math.inf], [-0.0], ["\ud800"], [1e300]]:
        back = ctx.call("(x) => x", value)
        assert repr(back) == repr(value)
    assert ctx.call("(x) => typeof x[0]", [2**60]) == "bigint"


def test_tuples_come_back_as_lists_and_naive_datetimes_as_utc(ctx: Context) -> None:
    assert ctx.call("(x) => x", (1, (2,))) == [1, [2]]
    naive = dt.datetime(2020, 5, 17, 8, 0)
    assert ctx.call("(d) => d", naive) == naive.replace(tzinfo=UTC)


def test_call_uses_dotted_names_as_methods(ctx: Context) -> None:
    ctx.run_script(
        "var lib = {base: 10, inner: {k: 2, f(x) { return x * this.k }}, add(a) { return a + this.base }}"
    )
    assert ctx.call("lib.add", 5) == 15
    assert ctx.call("lib.inner.f", 4) == 8
    assert ctx.call("Math.max", 3, 9, 1) == 9
    assert ctx.call("(a, b) => a + b", "x", "y") == "xy"


def test_call_errors(ctx: Context) -> None:
    ctx.run_script("var lib = {n: 1, boom() { throw new RangeError('bad ' + this.n) }}")
    with pytest.raises(V8JSError, match=r"lib\.n is not a function"):
        ctx.call("lib.n")
    with pytest.raises(V8JSError) as info:
        ctx.call("lib.boom")
    assert (info.value.name, info.value.js_message) == ("RangeError", "bad 1")
    with pytest.raises(V8JSError) as info:
        ctx.call("missing.fn")
    assert info.value.name == "ReferenceError"
    with pytest.raises(V8TimeoutError):
        ctx.call("() => { for (;;) {} }", timeout=0.05)
    assert ctx.call("() => 'fine'") == "fine"


@pytest.mark.parametrize(
    ("script", "what"),
    [
        ("(function f() {})", "a function"),
        ("Symbol('s')", "a Symbol"),
        ("/re/g", "a RegExp"),
        ("new TypeError('t')", "an Error"),
        ("Promise.resolve(1)", "a Promise"),
        ("new WeakMap()", "a WeakMap"),
        ("({ok: 1, bad: () => 1})", "a function at result.bad"),
        ("var a = [1]; a.push(a); a", "a cycle"),
    ],
)
def test_values_without_python_equivalent_raise(ctx: Context, script: str, what: str) -> None:
    with pytest.raises(V8ConversionError, match=what.split(" at ")[0]) as info:
        ctx.eval(script)
    assert isinstance(info.value, TypeError)
    if " at " in what:
        assert what.split(" at ")[1] in str(info.value)
    assert ctx.eval("'still usable'") == "still usable"


def test_shared_but_acyclic_references_are_fine(ctx: Context) -> None:
    assert ctx.eval("var s = {v: 1}; [s, s, {s}]") == [{"v": 1}, {"v": 1}, {"s": {"v": 1}}]


def test_deep_nesting(ctx: Context) -> None:
    ok = ctx.eval(f"var v = 0; for (var i = 0; i < {MAX_DEPTH - 1}; i++) v = [v]; v")
    depth = 0
    while isinstance(ok, list):
        ok, depth = ok[0], depth + 1
    assert depth == MAX_DEPTH - 1
    with pytest.raises(V8ConversionError, match="deeper"):
        ctx.eval("var v = 0; for (var i = 0; i < 100000; i++) v = [v]; v")
    deep: list[Any] = []
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    assert ctx.call("(x) => 1", deep) == 1  # JavaScript takes it (it goes as JSON)
    with pytest.raises(V8ConversionError, match="deeper"):
        ctx.call("(x) => x", deep)  # but it cannot come back
    with pytest.raises(V8ConversionError, match="deeper"):
        ctx.call("(x) => 1", [deep, b"bytes force the tagged path"])


def test_python_values_that_cannot_be_sent(ctx: Context) -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    for bad in [object(), {(1, 2): "tuple key"}, cyclic, lambda: 1, 1j, [{"ok": 1}, {1j}]]:
        with pytest.raises(V8ConversionError):
            ctx.call("(x) => x", bad)


def test_unhashable_map_keys_and_set_items(ctx: Context) -> None:
    with pytest.raises(V8ConversionError, match="Map key"):
        ctx.eval("new Map([[[1], 'list key']])")
    with pytest.raises(V8ConversionError, match="Set item"):
        ctx.eval("new Set([{a: 1}])")


def test_getters_that_throw_are_js_errors(ctx: Context) -> None:
    with pytest.raises(V8JSError, match="getter failed"):
        ctx.eval("({get x() { throw new Error('getter failed') }})")
    assert ctx.eval(
        "new Proxy({}, {ownKeys: () => ['a'], getOwnPropertyDescriptor: () => "
        "({value: 1, enumerable: true, configurable: true}), get: () => 7})"
    ) == {"a": 7}


def test_promises(ctx: Context) -> None:
    assert ctx.eval("Promise.resolve({done: true})", await_promise=True) == {"done": True}
    assert ctx.eval("(async () => { await null; await null; return 5 })()", await_promise=True) == 5
    assert ctx.eval("42", await_promise=True) == 42
    with pytest.raises(V8JSError) as info:
        ctx.eval("Promise.reject(new TypeError('nope'))", await_promise=True)
    assert (info.value.name, info.value.js_message) == ("TypeError", "nope")
    with pytest.raises(V8JSError) as info:
        ctx.eval("(async () => { throw 7 })()", await_promise=True)
    assert info.value.js_message == "7"
    with pytest.raises(V8JSError, match="still pending"):
        ctx.eval("new Promise(() => {})", await_promise=True)
    ctx.run_script("async function fetchUser(id) { await null; return {id, name: 'user' + id} }")
    assert ctx.call("fetchUser", 3, await_promise=True) == {"id": 3, "name": "user3"}


def test_wire_format_in_python_alone() -> None:
    value = {"a": [1, 2.5, "x", None, True, b"z", {3}], "big": 2**64}
    assert loads(dumps(value)) == value
    with pytest.raises(ValueError):
        loads(b"\x99")
    with pytest.raises(ValueError):
        loads(b"nn")


def test_values_from_many_threads_on_many_vms() -> None:
    from v8cffi.platform import platform

    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            with platform.create_vm() as vm, vm.create_context() as c:
                c.run_script("function echo(x) { return {x, n: x.items.length} }")
                for j in range(50):
                    data = {"items": list(range(j)), "who": f"thread {i}"}
                    assert c.call("echo", data) == {"x": data, "n": j}
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_microtasks_run_after_every_script(ctx: Context) -> None:
    ctx.run_script("var r = 'pending'; Promise.resolve(1).then((v) => { r = v })")
    assert ctx.eval("r") == 1


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"i\x01",
        b"a\x01\x00\x00\x00",
        b"o\x01\x00\x00\x00a\x00\x00\x00\x00n",  # a list as a key
        b"l\x09\x00\x00\x00ab",  # cut short
        b"a\x01\x00\x00\x00" * 100_000 + b"n",  # deeper than Python's stack
        b"n\x00",  # something after the value
    ],
)
def test_malformed_wire_values_are_argument_errors(data: bytes) -> None:
    # They were IndexError, struct.error, TypeError, RecursionError…
    from v8cffi import V8ArgumentError

    with pytest.raises(V8ArgumentError, match="malformed value"):
        loads(data)
