"""Real framework bundles (tests/fixtures/, built from npm by tests/fixtures/build) render
byte-identical HTML to Node's for the same props, sync and with asyncio."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from v8cffi.context import Context
from v8cffi.vm import VM

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROPS: dict[str, Any] = json.loads((FIXTURES / "expected" / "props.json").read_text(encoding="utf-8"))

#: fixture → the function that renders it to a string (or a promise of one).
RENDER = {
    "react": "ReactSSR.renderToString",
    "vue": "VueSSR.renderToString",
    "preact": "PreactSSR.renderToString",
    "svelte": "SvelteSSR.render",
}


def expected(name: str) -> bytes:
    return (FIXTURES / "expected" / f"{name}.html").read_bytes()


def joined(chunks: list[str | bytes]) -> bytes:
    """The bytes of a stream's chunks (React streams bytes)."""
    assert all(isinstance(chunk, bytes) for chunk in chunks)
    return b"".join(chunk for chunk in chunks if isinstance(chunk, bytes))


def loaded(vm: VM, name: str) -> Context:
    ctx = vm.create_context()
    ctx.load_libs([FIXTURES / f"{name}.js"])
    ctx.run_script(f"globalThis.props = {json.dumps(PROPS)}")
    return ctx


@pytest.mark.parametrize("name", sorted(RENDER))
def test_render_to_string_matches_node(vm: VM, name: str) -> None:
    with loaded(vm, name) as ctx:
        html = ctx.call(RENDER[name], PROPS, await_promise=True)
        assert html.encode() == expected(name)
        # Again, in the same context: nothing left over from the first render.
        assert ctx.call(RENDER[name], PROPS, await_promise=True).encode() == expected(name)


@pytest.mark.parametrize("name", sorted(RENDER))
def test_render_to_string_with_asyncio(vm: VM, name: str) -> None:
    with loaded(vm, name) as ctx:
        html = asyncio.run(ctx.call_async(RENDER[name], PROPS))
        assert html.encode() == expected(name)


def test_react_stream_sends_the_shell_first_then_the_suspended_part(vm: VM) -> None:
    with loaded(vm, "react") as ctx:
        chunks = list(ctx.iter_stream("ReactSSR.renderToStream(props)"))
        assert joined(chunks) == expected("react-stream")
        assert len(chunks) >= 2
        first = joined(chunks[:1]).decode()
        assert "Loading…" in first and PROPS["late"] not in first
        assert PROPS["late"] in joined(chunks[1:]).decode()


def test_react_stream_with_asyncio_lets_other_tasks_run(vm: VM) -> None:
    with loaded(vm, "react") as ctx:

        async def main() -> tuple[list[str | bytes], int]:
            ticks = 0

            async def tick() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.001)
                    ticks += 1

            ticker = asyncio.create_task(tick())
            chunks = [chunk async for chunk in ctx.aiter_stream("ReactSSR.renderToStream(props)")]
            ticker.cancel()
            return chunks, ticks

        chunks, ticks = asyncio.run(main())
        assert joined(chunks) == expected("react-stream")
        assert ticks > 0  # the loop ran while React waited for its 30 ms timer


def test_many_renders_in_one_context_stay_identical(vm: VM) -> None:
    with loaded(vm, "react") as ctx:
        for _ in range(20):
            assert joined(list(ctx.iter_stream("ReactSSR.renderToStream(props)"))) == expected("react-stream")
        assert ctx.pending_tasks == 0


def test_react_scheduler_yields_through_message_channel(vm: VM) -> None:
    """React's scheduler (tests/fixtures/scheduler.js) finds no setImmediate, so it
    schedules its work with MessageChannel, and delayed tasks with setTimeout."""
    with vm.create_context() as ctx:
        ctx.load_libs([FIXTURES / "scheduler.js"])
        ctx.run_script(
            """
            var order = [], posted = 0;
            const post = MessagePort.prototype.postMessage;
            MessagePort.prototype.postMessage = function (...a) { posted++; return post.apply(this, a) };
            const S = Scheduler;
            S.unstable_scheduleCallback(S.unstable_LowPriority, () => order.push('low'));
            S.unstable_scheduleCallback(S.unstable_NormalPriority, () => {
              order.push('normal');
              return () => order.push('continued');  // a task that yields and resumes
            });
            S.unstable_scheduleCallback(S.unstable_UserBlockingPriority, () => order.push('user'));
            S.unstable_scheduleCallback(S.unstable_ImmediatePriority, () => order.push('immediate'));
            const later = { delay: 20 };
            S.unstable_scheduleCallback(S.unstable_NormalPriority, () => order.push('delayed'), later);
            """
        )
        assert ctx.eval("[order, typeof setImmediate]") == [[], "undefined"]
        ctx.run_until_idle()
        assert ctx.eval("order") == ["immediate", "user", "normal", "continued", "low", "delayed"]
        assert ctx.eval("posted") >= 1
