"""Property-based fuzzing of the Python API (hypothesis): value round trips, random
scripts, random lifecycles. Bounded: a few hundred examples each; more with
``HYPOTHESIS_PROFILE=long``."""

from __future__ import annotations

import datetime as dt
import math
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import v8cffi
from v8cffi import V8Error, V8LifecycleError
from v8cffi.context import Context
from v8cffi.platform import platform

settings.register_profile(
    "default", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.register_profile(
    "long", max_examples=20000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(max_size=64)
    | st.datetimes(
        min_value=dt.datetime(1, 1, 1),
        max_value=dt.datetime(9999, 12, 31),
        timezones=st.just(dt.timezone.utc),
    ).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
)
hashables = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=8)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=6)
        | st.dictionaries(st.text(max_size=8), inner, max_size=6)
        | st.frozensets(hashables, max_size=6).map(set)
    ),
    max_leaves=30,
)


def same(a: Any, b: Any) -> bool:
    """Equality that tells -0.0 from 0.0 and types apart — except that an integral float
    comes back as an int (JavaScript has one number type; see docs/values.md)."""
    if isinstance(a, int) and not isinstance(a, bool) and isinstance(b, float):
        minus_zero = b == 0 and math.copysign(1, b) < 0
        return b.is_integer() and abs(b) <= 2**53 and not minus_zero and a == b
    if isinstance(a, float) and isinstance(b, float):
        return math.copysign(1, a) == math.copysign(1, b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@given(value=values)
def test_values_round_trip(ctx: Context, value: Any) -> None:
    back = ctx.call("(x) => x", value)
    assert same(back, value)


@given(source=st.text(max_size=200) | st.binary(max_size=200))
def test_random_scripts_end_in_a_result_or_a_v8_error(ctx: Context, source: str | bytes) -> None:
    try:
        ctx.run_script(source, timeout=0.5)
    except V8Error:
        pass
    assert ctx.run_script("'alive'") == "alive"


@given(
    source=st.sampled_from(
        ["1", "[]", "({a: 1})", "'x'", "null", "Symbol()", "() => 1", "new Map([[1, 2]])"]
    ),
    wrap=st.sampled_from(["{}", "[{}]", "Promise.resolve({})", "({v: {}})"]),
)
def test_random_results_convert_or_raise(ctx: Context, source: str, wrap: str) -> None:
    try:
        ctx.eval(wrap.replace("{}", source), await_promise=True)
    except V8Error:
        pass


class Lifecycles(RuleBasedStateMachine):
    """Random orders of set-up, use and tear-down of VMs and contexts."""

    def __init__(self) -> None:
        super().__init__()
        self.vms = [platform.create_vm() for _ in range(2)]
        self.contexts: list[Context] = []

    @rule(i=st.integers(0, 1))
    def set_up_vm(self, i: int) -> None:
        try:
            self.vms[i].set_up()
        except V8LifecycleError:
            assert self.vms[i].is_alive()

    @rule(i=st.integers(0, 1))
    def tear_down_vm(self, i: int) -> None:
        try:
            self.vms[i].tear_down()
        except V8LifecycleError:
            assert not self.vms[i].is_alive()

    @rule(i=st.integers(0, 1))
    def create_context(self, i: int) -> None:
        try:
            self.contexts.append(self.vms[i].create_context())
        except V8LifecycleError:
            assert not self.vms[i].is_alive()

    @precondition(lambda self: bool(self.contexts))
    @rule(
        j=st.integers(0, 50), script=st.sampled_from(["1 + 1", "x = (typeof x == 'number' ? x : 0) + 1", "}"])
    )
    def run(self, j: int, script: str) -> None:
        ctx = self.contexts[j % len(self.contexts)]
        try:
            ctx.run_script(script)
        except V8Error:
            pass

    @precondition(lambda self: bool(self.contexts))
    @rule(j=st.integers(0, 50))
    def tear_down_context(self, j: int) -> None:
        try:
            self.contexts[j % len(self.contexts)].tear_down()
        except V8LifecycleError:
            pass

    @precondition(lambda self: bool(self.contexts))
    @rule(j=st.integers(0, 50))
    def drop_context(self, j: int) -> None:
        del self.contexts[j % len(self.contexts)]

    @invariant()
    def platform_alive(self) -> None:
        assert platform.is_alive()

    def teardown(self) -> None:
        for ctx in self.contexts:
            if ctx.is_alive():
                ctx.tear_down()
        for vm in self.vms:
            if vm.is_alive():
                vm.tear_down()


TestLifecycles = Lifecycles.TestCase
TestLifecycles.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)


def test_nothing_leaked_after_fuzzing() -> None:
    import gc

    gc.collect()
    assert v8cffi.live_counts()[0] >= 0
