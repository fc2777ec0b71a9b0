"""Temporal: V8's own, checked against the proposal's reference polyfill on Node 20 (time
zones and DST, calendars, arithmetic, Intl formatting), and its values converted both
ways where Python has them exactly."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import zoneinfo
from pathlib import Path

import pytest

from v8cffi.context import Context
from v8cffi.exceptions import V8ArgumentError, V8ConversionError, V8JSError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "temporal"
POLYFILL = Path(__file__).parent.parent / "fixtures" / "build" / "node_modules" / "@js-temporal" / "polyfill"

#: Where V8 and the reference polyfill part, and why (the rest must match line by line).
KNOWN_DIFFERENCES = {
    # The polyfill computes non-ISO calendars through Intl and refuses this one's range;
    # V8 knows the Chinese calendar (2024-02-10 is its New Year's day).
    "chinese year": ("RangeError", "1"),
    # V8 15.2 formats a japanese-calendar PlainDate with the short pattern for
    # dateStyle "long" (a Date in the same formatter gives 令和6年1月5日, as Node does).
    "Intl date ja": ("令和6年1月5日", "R6/1/5"),
}


def results(text: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in text.strip().split("\n"))


def test_v8s_temporal_computes_what_the_reference_polyfill_does(ctx: Context) -> None:
    ours = results(ctx.eval(f"({(FIXTURES / 'cases.js').read_text()})(Temporal, Intl)"))
    reference = results((FIXTURES / "expected.txt").read_text())
    assert ours.keys() == reference.keys()
    for label, expected in reference.items():
        if label in KNOWN_DIFFERENCES:
            assert (expected, ours[label]) == KNOWN_DIFFERENCES[label], label
        else:
            assert ours[label] == expected, label


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.skipif(
    not POLYFILL.exists(), reason="the fixtures' npm packages are not installed (npm ci there)"
)
def test_the_expected_results_are_the_polyfills() -> None:
    run = subprocess.run(
        ["node", "run-polyfill.cjs"], cwd=FIXTURES, capture_output=True, text=True, check=True, timeout=60
    )
    assert run.stdout == (FIXTURES / "expected.txt").read_text()


UTC = dt.timezone.utc
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("source", "value"),
    [
        (
            "Temporal.Instant.from('2024-01-05T10:00:00.123456Z')",
            dt.datetime(2024, 1, 5, 10, 0, 0, 123456, UTC),
        ),
        ("Temporal.Instant.fromEpochMilliseconds(0)", dt.datetime(1970, 1, 1, tzinfo=UTC)),
        ("Temporal.PlainDate.from('2024-02-29')", dt.date(2024, 2, 29)),
        ("Temporal.PlainDate.from('0001-01-01')", dt.date(1, 1, 1)),
        (
            "Temporal.PlainDateTime.from('2024-02-29T23:59:59.5')",
            dt.datetime(2024, 2, 29, 23, 59, 59, 500000),
        ),
        ("Temporal.PlainTime.from('10:20:30.000001')", dt.time(10, 20, 30, 1)),
        ("Temporal.PlainTime.from('00:00')", dt.time(0, 0)),
        (
            "Temporal.Duration.from({ days: 1, hours: 2, seconds: 3, milliseconds: 4 })",
            dt.timedelta(days=1, hours=2, seconds=3, milliseconds=4),
        ),
        ("Temporal.Duration.from({ weeks: 2, microseconds: 7 })", dt.timedelta(weeks=2, microseconds=7)),
        ("Temporal.Duration.from('-P1DT0.5S')", -dt.timedelta(days=1, seconds=0.5)),
        ("Temporal.Duration.from({ hours: 100000 })", dt.timedelta(hours=100000)),
        (
            "Temporal.ZonedDateTime.from('2024-01-01T00:00+05:30[+05:30]')",
            dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
        ),
        ("Temporal.ZonedDateTime.from('2024-06-01T12:00[UTC]')", dt.datetime(2024, 6, 1, 12, tzinfo=UTC)),
    ],
)
def test_temporal_values_become_their_python_equivalent(ctx: Context, source: str, value: object) -> None:
    got = ctx.eval(source)
    assert got == value
    assert type(got) is type(value)
    if isinstance(value, dt.datetime) and isinstance(got, dt.datetime):
        assert got.utcoffset() == value.utcoffset()


def test_a_zoned_date_time_keeps_its_zone_and_fold(ctx: Context) -> None:
    first = ctx.eval("Temporal.ZonedDateTime.from('2024-11-03T01:30-04:00[America/New_York]')")
    second = ctx.eval("Temporal.ZonedDateTime.from('2024-11-03T01:30-05:00[America/New_York]')")
    assert first.tzinfo == NEW_YORK and second.tzinfo == NEW_YORK
    assert (first.fold, second.fold) == (0, 1)
    assert (first.utcoffset(), second.utcoffset()) == (dt.timedelta(hours=-4), dt.timedelta(hours=-5))
    assert second - first == dt.timedelta(0)  # same wall clock: Python compares naively in one zone
    assert second.astimezone(UTC) - first.astimezone(UTC) == dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("Temporal.Instant.from('2024-01-05T10:00:00.123456789Z')", "microseconds, not finer"),
        ("Temporal.PlainTime.from('10:00:00.0000001')", "microseconds, not finer"),
        ("Temporal.Duration.from({ nanoseconds: 1 })", "microseconds, not finer"),
        ("Temporal.Duration.from({ months: 1 })", "years and months have no fixed length"),
        ("Temporal.Duration.from({ years: -2 })", "years and months have no fixed length"),
        ("Temporal.PlainYearMonth.from('2024-01')", "Python has no such value"),
        ("Temporal.PlainMonthDay.from('02-29')", "Python has no such value"),
        ("Temporal.PlainDate.from('2024-01-05').withCalendar('japanese')", "ISO 8601 calendar only"),
        ("Temporal.PlainDate.from('+275760-09-13')", "outside Python's range"),
        ("Temporal.PlainDate.from('-000001-01-01')", "outside Python's range"),
        ("Temporal.Duration.from({ days: 1000000000 })", "outside timedelta's range"),
    ],
)
def test_values_python_cannot_hold_exactly_raise(ctx: Context, source: str, why: str) -> None:
    with pytest.raises(V8ConversionError, match=why):
        ctx.eval(source)


def test_temporal_values_inside_containers_and_from_calls(ctx: Context) -> None:
    ctx.run_script(
        "function stamp(x) { return { x, when: Temporal.PlainDate.from('2024-01-05'), list: [x] } }"
    )
    assert ctx.call("stamp", 1) == {"x": 1, "when": dt.date(2024, 1, 5), "list": [1]}
    assert ctx.eval("new Map([[Temporal.PlainTime.from('12:00'), 1]])") == {dt.time(12): 1}


def test_python_dates_times_and_timedeltas_become_temporal_values(ctx: Context) -> None:
    ctx.run_script(
        "function kinds(...a) { return a.map((x) => `${Object.prototype.toString.call(x)} ${x}`) }"
    )
    assert ctx.call(
        "kinds",
        dt.date(2024, 1, 5),
        dt.time(10, 0, 0, 500),
        dt.timedelta(days=-1, seconds=5),
        dt.timedelta(0),
    ) == [
        "[object Temporal.PlainDate] 2024-01-05",
        "[object Temporal.PlainTime] 10:00:00.0005",
        "[object Temporal.Duration] -PT86395S",
        "[object Temporal.Duration] PT0S",
    ]
    # A datetime stays a Date (as before Temporal): aware, or naive taken as UTC.
    assert ctx.call("kinds", dt.datetime(2024, 1, 5, tzinfo=UTC)) == [
        "[object Date] Fri Jan 05 2024 00:00:00 GMT+0000 (Coordinated Universal Time)"
    ]


@pytest.mark.parametrize(
    "value",
    [dt.date(2024, 2, 29), dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.time(23, 59, 59, 999999), dt.time(0),
     dt.timedelta(days=3, microseconds=1), -dt.timedelta(hours=36), dt.timedelta(days=999999999)],
)  # fmt: skip
def test_round_trips(ctx: Context, value: object) -> None:
    assert ctx.call("(x) => x", value) == value
    assert ctx.call("(x) => [x]", value) == [value]


def test_a_time_with_a_zone_has_no_javascript_equivalent(ctx: Context) -> None:
    with pytest.raises(V8ConversionError, match="a time with a tzinfo"):
        ctx.call("(x) => x", dt.time(10, tzinfo=UTC))


def test_host_functions_get_and_give_temporal_values(ctx: Context) -> None:
    seen: list[object] = []

    def later(day: dt.date) -> dt.date:
        seen.append(day)
        return day + dt.timedelta(days=1)

    ctx.expose("later", later)
    assert ctx.eval("later(Temporal.PlainDate.from('2024-02-28')).toString()") == "2024-02-29"
    assert seen == [dt.date(2024, 2, 28)]


def test_look_alikes_are_plain_objects(ctx: Context) -> None:
    # An object that only claims a Temporal prototype converts as any other object.
    assert ctx.eval("const f = Object.create(Temporal.PlainDate.prototype); f.a = 1; f") == {"a": 1}
    assert ctx.eval("({ [Symbol.toStringTag]: 'Temporal.Instant', b: 2 })") == {"b": 2}


def test_a_bad_temporal_text_from_the_host_is_an_error(ctx: Context) -> None:
    from v8cffi import _native

    args = b"a" + (1).to_bytes(4, "little") + b"TD" + (5).to_bytes(4, "little") + b"nope!"
    with pytest.raises(V8ArgumentError, match="not a Temporal value"):
        _native.call_function(ctx._live_ptr(), b"String", args, 0, 0)
    with pytest.raises(V8JSError):
        ctx.eval("Temporal.PlainDate.from('nope')")


def test_a_historic_offset_with_seconds_keeps_its_instant(ctx: Context) -> None:
    # Monrovia was at -00:44:30 in 1960; toString() rounds offsets to minutes.
    zoned = "Temporal.ZonedDateTime.from('1960-01-01T12:00:00[Africa/Monrovia]')"
    got = ctx.eval(zoned)
    epoch_ms = ctx.eval(f"{zoned}.epochMilliseconds")
    assert got.timestamp() * 1000 == epoch_ms
