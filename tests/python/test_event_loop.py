"""The event loop of a context: timers, run_until_idle, and awaits that drive it."""

from __future__ import annotations

import threading
import time

import pytest

from v8cffi import WEB_FEATURES, V8JSError, V8LifecycleError, V8TerminatedError, V8TimeoutError
from v8cffi.context import Context
from v8cffi.vm import VM
from v8cffi.web import feature_mask


def test_timers_run_in_due_order_with_microtasks_first(ctx: Context) -> None:
    ctx.run_script(
        "var log = [];"
        "setTimeout(() => log.push('30ms'), 30);"
        "setTimeout(() => log.push('0ms, first'), 0);"
        "setTimeout(() => log.push('0ms, second'), 0);"
        "setTimeout((a, b) => log.push(a + b), 10, '10', 'ms');"
        "Promise.resolve().then(() => log.push('microtask'));"
    )
    assert ctx.pending_tasks == 4
    ctx.run_until_idle()
    assert ctx.eval("log") == ["microtask", "0ms, first", "0ms, second", "10ms", "30ms"]
    assert ctx.pending_tasks == 0


@pytest.mark.parametrize("waiting", ["run_until_idle", "await_promise"])
def test_tearing_the_context_down_ends_a_call_waiting_for_its_timers(vm: VM, waiting: str) -> None:
    # The waiting call slept until the timer was due, then ran it in the torn-down
    # context (a 2**31 - 1 ms timer: 24 days).
    ctx = vm.create_context()
    ran: list[bool] = []
    ctx.expose("ping", lambda: ran.append(True))
    ctx.run_script("setTimeout(() => ping(), 30000)")
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            if waiting == "run_until_idle":
                ctx.run_until_idle()
            else:
                ctx.eval("new Promise((r) => setTimeout(r, 30000))", await_promise=True)
        except BaseException as e:
            errors.append(e)

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.3)
    start = time.perf_counter()
    ctx.tear_down()
    thread.join(10)
    assert not thread.is_alive() and time.perf_counter() - start < 5
    assert len(errors) == 1 and isinstance(errors[0], V8LifecycleError)
    assert "torn down while this call waited" in str(errors[0])
    assert ran == []


def test_timers_never_fire_behind_the_callers_back(ctx: Context) -> None:
    ctx.run_script("var fired = false; setTimeout(() => { fired = true }, 0)")
    time.sleep(0.05)
    assert ctx.eval("fired") is False
    ctx.run_script("1")  # a plain call does not run timers either
    assert ctx.eval("fired") is False
    ctx.run_until_idle()
    assert ctx.eval("fired") is True


def test_clear_timeout_and_interval(ctx: Context) -> None:
    ctx.run_script(
        "var ticks = 0, fired = false;"
        "const t = setTimeout(() => { fired = true }, 1); clearTimeout(t);"
        "const iv = setInterval(() => { if (++ticks === 4) clearInterval(iv) }, 1);"
        "clearTimeout(undefined); clearTimeout('nonsense'); clearInterval(123456);"
    )
    ctx.run_until_idle()
    assert ctx.eval("[ticks, fired]") == [4, False]


def test_timer_ids_are_positive_integers(ctx: Context) -> None:
    assert ctx.eval("[setTimeout(() => {}), setTimeout(() => {})].every(Number.isInteger)")
    assert ctx.eval("setInterval(() => {}, 5) > 0")


def test_a_throwing_timer_raises_from_run_until_idle_and_keeps_the_rest(ctx: Context) -> None:
    ctx.run_script(
        "var later = false;\nsetTimeout(function boom() { throw new TypeError('bad tick') }, 0);\n"
        "setTimeout(() => { later = true }, 5);",
        "timers.js",
    )
    with pytest.raises(V8JSError) as info:
        ctx.run_until_idle()
    assert info.value.name == "TypeError"
    assert info.value.script_name == "timers.js"
    assert info.value.line == 2
    assert ctx.pending_tasks == 1
    ctx.run_until_idle()
    assert ctx.eval("later") is True


def test_run_until_idle_timeout_stops_an_endless_interval(ctx: Context) -> None:
    ctx.run_script("var n = 0; var iv = setInterval(() => n++, 1)")
    with pytest.raises(V8TimeoutError):
        ctx.run_until_idle(timeout=0.05)
    assert ctx.eval("n") > 0
    ctx.run_script("clearInterval(iv)")
    ctx.run_until_idle()
    with pytest.raises(ValueError):
        ctx.run_until_idle(timeout=0)


def test_awaiting_eval_and_call_drive_timers(ctx: Context) -> None:
    assert ctx.eval("new Promise(r => setTimeout(() => r('late'), 20))", await_promise=True) == "late"
    ctx.run_script("function wait(ms, v) { return new Promise(r => setTimeout(r, ms, v)) }")
    assert ctx.call("wait", 5, {"a": 1}, await_promise=True) == {"a": 1}
    with pytest.raises(V8JSError, match="no"):
        ctx.eval("new Promise((_, no) => setTimeout(() => no(new Error('no')), 5))", await_promise=True)


def test_a_promise_nothing_can_settle_raises_a_clear_error(ctx: Context) -> None:
    with pytest.raises(V8JSError, match="nothing is left that could settle it"):
        ctx.eval("new Promise(() => {})", await_promise=True)


def test_modules_with_top_level_await_on_a_timer(ctx: Context) -> None:
    source = "await new Promise(r => setTimeout(r, 10)); export const ready = true;"
    assert ctx.run_module(source) == {"ready": True}


def test_terminate_wakes_a_call_waiting_for_a_timer(vm: VM, ctx: Context) -> None:
    ctx.run_script("setTimeout(() => {}, 60_000)")

    def stop() -> None:
        time.sleep(0.05)
        while not vm.terminate():
            time.sleep(0.005)

    stopper = threading.Thread(target=stop)
    stopper.start()
    started = time.monotonic()
    with pytest.raises(V8TerminatedError):
        ctx.run_until_idle()
    stopper.join()
    assert time.monotonic() - started < 30
    assert ctx.eval("1 + 1") == 2


def test_contexts_have_their_own_timers(vm: VM) -> None:
    with vm.create_context() as a, vm.create_context() as b:
        a.run_script("var hit = 0; setTimeout(() => hit++, 0)")
        b.run_script("var hit = 0;")
        b.run_until_idle()
        assert (a.eval("hit"), b.eval("hit"), a.pending_tasks) == (0, 0, 1)
        a.run_until_idle()
        assert a.eval("hit") == 1


def test_timers_reject_what_is_not_a_function(ctx: Context) -> None:
    with pytest.raises(V8JSError, match="TypeError: setTimeout: the callback is not a function"):
        ctx.run_script("setTimeout('alert(1)', 0)")
    with pytest.raises(V8JSError, match="TypeError"):
        ctx.run_script("queueMicrotask(42)")


def test_web_false_gives_a_bare_context_and_names_choose_groups(vm: VM) -> None:
    with vm.create_context(web=False) as bare:
        assert bare.eval("[typeof setTimeout, typeof TextEncoder, typeof URL]") == ["undefined"] * 3
        with pytest.raises(V8JSError, match="nothing is left"):
            bare.eval("new Promise(() => {})", await_promise=True)
    with vm.create_context(web=WEB_FEATURES - {"crypto", "timers"}) as some:
        kinds = some.eval("[typeof crypto, typeof setTimeout, typeof URL]")
        assert kinds == ["undefined", "undefined", "function"]


def test_feature_names_are_checked() -> None:
    assert feature_mask(True) == 0xFFF
    assert feature_mask(False) == 0
    assert feature_mask({"timers", "url"}) == 0x41
    with pytest.raises(ValueError, match="unknown web features"):
        feature_mask({"timers", "dom"})
    with pytest.raises(TypeError):
        feature_mask("timers")


def test_unhandled_rejections_are_reported_once_and_handled_ones_not(ctx: Context) -> None:
    assert ctx.unhandled_rejections() == []
    ctx.run_script(
        "Promise.reject(new RangeError('lost')); Promise.reject(1);"
        "const late = Promise.reject(new Error('late')); late.catch(() => {});"
        "(async () => { throw new TypeError('async') })();"
    )
    found = ctx.unhandled_rejections()
    assert [(e.name, e.js_message) for e in found] == [
        ("RangeError", "lost"),
        ("", "1"),
        ("TypeError", "async"),
    ]
    assert found[0].stack is not None and "lost" in found[0].stack
    assert ctx.unhandled_rejections() == []
    # A handler added in a later call takes the rejection back before it is reported.
    ctx.run_script("globalThis.p = Promise.reject(new Error('later'));")
    ctx.run_script("p.catch(() => {});")
    assert ctx.unhandled_rejections() == []


@pytest.mark.parametrize(
    "source",
    [
        "Promise.reject(new Error('now'))",
        "(async () => { throw new Error('async') })()",
        "new Promise((_, reject) => setTimeout(() => reject(new Error('timer')), 5))",
    ],
)
def test_a_rejection_await_promise_raised_is_not_reported_again(ctx: Context, source: str) -> None:
    with pytest.raises(V8JSError):
        ctx.eval(source, await_promise=True)
    with pytest.raises(V8JSError):
        ctx.run_module(f"await {source}", "tla.js")
    assert ctx.unhandled_rejections() == []
