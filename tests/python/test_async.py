"""asyncio: eval_async, call_async and aiter_stream run JavaScript on an executor
thread, so the event loop goes on; cancelling the task stops that JavaScript call."""

from __future__ import annotations

import asyncio
import time

import pytest

from v8cffi import V8JSError
from v8cffi.context import Context
from v8cffi.platform import platform
from v8cffi.vm import VM


def test_eval_async_does_not_block_the_event_loop(ctx: Context) -> None:
    async def main() -> None:
        task = asyncio.create_task(ctx.eval_async("new Promise(r => setTimeout(() => r(42), 300))"))
        await asyncio.sleep(0.05)
        assert not task.done()  # the loop ran this coroutine while JavaScript waited
        assert await task == 42

    asyncio.run(main())


def test_call_async_passes_arguments_and_raises_js_errors(ctx: Context) -> None:
    ctx.run_script("async function add(a, b) { await new Promise(r => setTimeout(r, 5)); return a + b }")

    async def main() -> None:
        assert await ctx.call_async("add", 2, 3) == 5
        with pytest.raises(V8JSError, match="boom"):
            await ctx.eval_async("Promise.reject(new Error('boom'))")

    asyncio.run(main())


@pytest.mark.parametrize(
    "script",
    ["new Promise(r => setTimeout(r, 60_000))", "(async () => { while (true) {} })()"],
    ids=["waiting-for-a-timer", "busy"],
)
def test_cancelling_the_task_stops_its_javascript_call(ctx: Context, script: str) -> None:
    async def main() -> float:
        task = asyncio.create_task(ctx.eval_async(script))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started

    assert asyncio.run(main()) < 30
    assert ctx.eval("1 + 1") == 2  # the VM is free and the context usable


def test_cancelling_one_call_leaves_calls_on_other_vms_alone(vm: VM) -> None:
    with vm.create_context() as doomed, platform.create_vm() as other_vm, other_vm.create_context() as other:

        async def main() -> object:
            slow = asyncio.create_task(doomed.eval_async("new Promise(r => setTimeout(r, 60_000))"))
            fine = asyncio.create_task(other.eval_async("new Promise(r => setTimeout(() => r('ok'), 200))"))
            await asyncio.sleep(0.05)
            slow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow
            return await fine

        assert asyncio.run(main()) == "ok"


def test_concurrent_calls_on_one_vm_are_serialised(vm: VM) -> None:
    with vm.create_context() as ctx:
        ctx.run_script(
            "var order = [];"
            "function job(i) { return new Promise(r => setTimeout(() => { order.push(i); r(i) }, 5)) }"
        )

        async def main() -> list[int]:
            return list(await asyncio.gather(*(ctx.call_async("job", i) for i in range(5))))

        assert asyncio.run(main()) == [0, 1, 2, 3, 4]
        assert sorted(ctx.eval("order")) == [0, 1, 2, 3, 4]


def test_aiter_stream_yields_chunks_as_they_come(ctx: Context) -> None:
    ctx.run_script(
        "function ticker(n) { let i = 0; return new ReadableStream({ pull(c) {"
        " return new Promise(r => setTimeout(() => {"
        " i < n ? c.enqueue('tick' + i++) : c.close(); r() }, 2)) } }) }"
    )

    async def main() -> list[str | bytes]:
        return [chunk async for chunk in ctx.aiter_stream("ticker(3)")]

    assert asyncio.run(main()) == ["tick0", "tick1", "tick2"]
