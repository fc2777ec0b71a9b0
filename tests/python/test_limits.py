"""Getting control back: timeouts, VM.terminate(), heap limits, Ctrl-C."""

from __future__ import annotations

import gzip
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest
from conftest import run_python

from v8cffi import V8JSError, V8MemoryError, V8TerminatedError, V8TimeoutError
from v8cffi.context import Context
from v8cffi.platform import platform
from v8cffi.vm import VM

MIB = 1 << 20


@pytest.fixture
def small_vm() -> Iterator[VM]:
    with platform.create_vm(max_heap_size=64 * MIB) as vm:
        yield vm


def test_timeout_stops_an_endless_loop(ctx: Context) -> None:
    ctx.run_script("var kept = 'yes'")
    start = time.perf_counter()
    with pytest.raises(V8TimeoutError) as info:
        ctx.run_script("while (true) {}", timeout=0.1)
    took = time.perf_counter() - start
    assert 0.1 <= took < 2.0
    assert isinstance(info.value, TimeoutError)
    assert isinstance(info.value, V8JSError)
    assert ctx.run_script("1 + 1") == "2"
    assert ctx.run_script("kept") == "yes"
    assert ctx.run_script("'quick'", timeout=5) == "quick"


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "1", True])
def test_timeout_must_be_positive_seconds(ctx: Context, bad: object) -> None:
    with pytest.raises(ValueError):
        ctx.run_script("1", timeout=bad)  # type: ignore[arg-type]


def test_a_huge_timeout_is_no_error(ctx: Context) -> None:
    assert ctx.eval("1", timeout=1e300) == 1


def test_terminate_from_another_thread(vm: VM) -> None:
    ctx = vm.create_context()
    assert vm.terminate() is False  # nothing running: nothing happens
    assert ctx.run_script("'unaffected'") == "unaffected"

    def stop_soon() -> None:
        for _ in range(500):
            time.sleep(0.01)
            if vm.terminate():
                return

    stopper = threading.Thread(target=stop_soon)
    stopper.start()
    with pytest.raises(V8TerminatedError) as info:
        ctx.run_script("for (;;) {}")
    stopper.join()
    assert not isinstance(info.value, V8TimeoutError)
    assert ctx.run_script("'usable'") == "usable"
    ctx.tear_down()


def test_a_stop_asked_for_during_a_host_function_takes_effect_when_it_returns(vm: VM) -> None:
    # V8 sees a stop at its next interrupt check, which a loop of host calls reaches only
    # after hundreds of them: each such stop used to take ~480 calls (4.8 s here).
    ctx = vm.create_context()
    calls = []

    def slow() -> None:
        calls.append(1)
        time.sleep(0.01)

    ctx.expose("slow", slow)
    with pytest.raises(V8TimeoutError):
        ctx.run_script("for (;;) slow()", timeout=0.05)
    assert len(calls) < 50, f"{len(calls)} host calls after the timeout was due"
    calls.clear()
    threading.Timer(0.05, vm.terminate).start()
    with pytest.raises(V8TerminatedError):
        ctx.run_script("for (let i = 0; i < 1e5; i++) slow(); 'ran to the end'")
    assert len(calls) < 50, f"{len(calls)} host calls after terminate()"
    # A host function that stops its own call: the script does not go on after it.
    ctx.expose("stop_me", vm.terminate)
    with pytest.raises(V8TerminatedError):
        ctx.run_script("stop_me(); 'went on'")

    # So does a console handler.
    def stop(level: str, text: str) -> None:
        vm.terminate()

    vm.set_console(stop)
    with pytest.raises(V8TerminatedError):
        ctx.run_script("console.log('stop'); 'went on'")
    vm.set_console(None)
    assert ctx.run_script("'usable'") == "usable"
    ctx.tear_down()


def test_a_nested_calls_own_timeout_stops_it_and_the_outer_call(ctx: Context) -> None:
    # It was ignored: with no timeout on the outer call, this hung for good.
    inner: list[str] = []

    def spin() -> None:
        try:
            ctx.run_script("while (true) {}", timeout=0.1)
        except V8TimeoutError as e:
            inner.append(str(e))
            raise

    ctx.expose("spin", spin)
    start = time.perf_counter()
    with pytest.raises(V8TimeoutError, match="longer than the timeout of 100ms of a call this one is nested"):
        ctx.run_script("spin(); 'went on'")
    assert time.perf_counter() - start < 30
    assert inner == ["JavaScript ran longer than its timeout of 100ms and was stopped"]
    # The outer call's timeout, seen from a nested call without one of its own.
    inner.clear()

    def spin_forever() -> None:
        try:
            ctx.run_script("while (true) {}")
        except V8TimeoutError as e:
            inner.append(str(e))
            raise

    ctx.expose("spin_forever", spin_forever)
    with pytest.raises(V8TimeoutError, match="its timeout of 100ms"):
        ctx.run_script("spin_forever()", timeout=0.1)
    assert inner and "the timeout of 100ms of a call this one is nested with" in inner[0]
    assert ctx.run_script("'usable'") == "usable"


def _error_with(getter: str) -> str:
    """An expression: an Error whose ``getter`` property loops for good."""
    endless = "{get() { for (;;) {} }}"
    return (
        f"(() => {{ const e = new Error('m'); Object.defineProperty(e, '{getter}', {endless}); return e }})()"
    )


ENDLESS_DESCRIPTIONS = {
    "a name getter": _error_with("name"),
    "a message getter": _error_with("message"),
    "a stack getter": _error_with("stack"),
    "toString": "({toString() { for (;;) {} }})",
    "prepareStackTrace": "(Error.prepareStackTrace = () => { for (;;) {} }, new Error('x'))",
}


@pytest.mark.parametrize("thrown", ENDLESS_DESCRIPTIONS.values(), ids=list(ENDLESS_DESCRIPTIONS))
@pytest.mark.parametrize("how", ["thrown", "rejected and awaited"])
def test_describing_a_thrown_value_is_stopped_by_the_timeout(vm: VM, thrown: str, how: str) -> None:
    # The error's description runs its getters: each used to start a fresh endless loop
    # after the timeout stopped the one before, so the call never returned.
    with vm.create_context() as ctx:
        start = time.perf_counter()
        with pytest.raises(V8TimeoutError):
            if how == "thrown":
                ctx.run_script(f"throw {thrown}", timeout=0.2)
            else:
                ctx.eval(f"Promise.reject({thrown})", await_promise=True, timeout=0.2)
        assert time.perf_counter() - start < 5
        assert ctx.eval("1 + 1") == 2


def test_describing_an_unhandled_rejection_is_stopped_by_terminate(vm: VM) -> None:
    with vm.create_context() as ctx:
        ctx.run_script("var E = new Error('m'); Object.defineProperty(E, 'name', {get() { for (;;) {} }}); 0")
        ctx.run_script("Promise.reject(E); 1")
        threading.Timer(0.2, vm.terminate).start()
        with pytest.raises(V8TerminatedError):
            ctx.unhandled_rejections()
        assert ctx.eval("1 + 1") == 2


def test_describing_unhandled_rejections_has_a_timeout_for_all_of_them(vm: VM) -> None:
    with vm.create_context() as ctx:
        ctx.run_script("var E = new Error('m'); Object.defineProperty(E, 'name', {get() { for (;;) {} }}); 0")
        ctx.run_script(
            "Promise.reject(new TypeError('first')); Promise.reject(E); Promise.reject(new Error('third')); 1"
        )
        with pytest.raises(V8TimeoutError):
            ctx.unhandled_rejections(timeout=0.2)
        # The one described before the stop comes next, then the rest; the stopped one goes.
        assert [e.js_message for e in ctx.unhandled_rejections(timeout=5)] == ["first", "third"]
        assert ctx.unhandled_rejections(timeout=0.2) == []  # each is taken once
        assert ctx.eval("1 + 1") == 2
        with pytest.raises(ValueError, match="timeout"):
            ctx.unhandled_rejections(timeout=0)


def test_timeout_while_another_thread_waits(ctx: Context) -> None:
    outcomes: dict[str, object] = {}

    def looping() -> None:
        try:
            ctx.run_script("while (true) {}", timeout=0.2)
        except V8TimeoutError as e:
            outcomes["looping"] = e

    def waiting() -> None:
        time.sleep(0.05)
        outcomes["waiting"] = ctx.run_script("'second'", timeout=0.1)

    threads = [threading.Thread(target=looping), threading.Thread(target=waiting)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert isinstance(outcomes["looping"], V8TimeoutError)
    assert outcomes["waiting"] == "second"


BOMBS = [
    "(function () { var a = []; while (true) a.push({ n: a.length }); })()",
    "(function () { var s = []; while (true) s.push(new Array(10000).fill(1.5)); })()",
]


def test_memory_bombs_raise_memory_error_and_the_vm_recovers(small_vm: VM) -> None:
    ctx = small_vm.create_context()
    for round_ in range(10):
        with pytest.raises(V8MemoryError) as info:
            ctx.run_script(BOMBS[round_ % len(BOMBS)])
        assert isinstance(info.value, MemoryError)
        assert ctx.run_script("1 + 1") == "2"
    assert small_vm.heap_stats()["heap_size_limit"] < 100 * MIB
    ctx.tear_down()


@pytest.mark.parametrize(
    "script",
    ["var s = 'x'; while (true) s += s;", "new Uint8Array(2 ** 40)", "new Array(2 ** 32)"],
)
def test_huge_single_allocations_are_js_errors(small_vm: VM, script: str) -> None:
    ctx = small_vm.create_context()
    with pytest.raises((V8JSError, V8MemoryError)):
        ctx.run_script(script)
    assert ctx.run_script("'alive'") == "alive"
    ctx.tear_down()


def test_converting_a_huge_holey_array_can_be_stopped(small_vm: VM) -> None:
    # No JavaScript runs while a result's holes are read: the conversion itself looks
    # for stops (it ran 5.6 s past a 0.5 s timeout, to 1.3 GB in a 64 MiB VM).
    ctx = small_vm.create_context()
    start = time.perf_counter()
    with pytest.raises(V8TimeoutError):
        ctx.eval("new Array(3e7)", timeout=0.3)
    assert time.perf_counter() - start < 2.0
    threading.Timer(0.3, small_vm.terminate).start()
    with pytest.raises(V8TerminatedError):
        ctx.eval("new Array(3e7)")
    got: list[int] = []
    ctx.expose("py", lambda a: got.append(len(a)))
    with pytest.raises(V8TimeoutError):
        ctx.eval("py(new Array(3e7))", timeout=0.2)
    assert got == []
    assert ctx.eval("[1, , 3]") == [1, None, 3]
    ctx.tear_down()


def test_converting_a_huge_holey_array_is_bounded_by_the_heap_limit(small_vm: VM) -> None:
    ctx = small_vm.create_context()
    with pytest.raises(V8MemoryError, match="4 times the VM's heap limit of 64 MiB"):
        ctx.eval("var a = []; a[5e7] = 1; a")
    assert len(ctx.eval("var b = []; b[99999] = 1; b")) == 100000
    ctx.tear_down()


def test_heap_stats_and_low_memory_notification(small_vm: VM) -> None:
    ctx = small_vm.create_context()
    ctx.run_script("var junk = []; for (var i = 0; i < 1e5; i++) junk.push({i}); junk = null")
    before = small_vm.heap_stats()
    assert set(before) >= {
        "total_heap_size",
        "total_heap_size_executable",
        "total_physical_size",
        "total_available_size",
        "used_heap_size",
        "heap_size_limit",
        "malloced_memory",
        "external_memory",
    }
    assert 64 * MIB <= before["heap_size_limit"] < 100 * MIB
    assert before["number_of_native_contexts"] == 1
    small_vm.low_memory_notification()
    assert small_vm.heap_stats()["used_heap_size"] < before["used_heap_size"]
    ctx.tear_down()


@pytest.mark.parametrize("bad", [-1, 1.5, "64"])
def test_heap_sizes_must_be_byte_counts(bad: object) -> None:
    with pytest.raises(ValueError):
        platform.create_vm(max_heap_size=bad)  # type: ignore[arg-type]


CTRL_C = """
import os, signal, sys, threading, time
from v8cffi import shortcuts
shortcuts.set_up()
ctx = shortcuts.get_context()
{trigger}
start = time.perf_counter()
try:
    ctx.run_script("while (true) {{}}")
except KeyboardInterrupt:
    print("KeyboardInterrupt after %.1f s" % (time.perf_counter() - start), flush=True)
print(ctx.run_script("'still usable'"), flush=True)
"""


SPIN = """
def spin():
    end = time.time() + 0.6
    while time.time() < end:
        pass
threading.Thread(target=spin).start()
"""


@pytest.mark.parametrize("busy", [False, True], ids=["idle", "other_thread_busy"])
def test_ctrl_c_interrupts_javascript_on_the_main_thread(busy: bool) -> None:
    # With another thread running Python code, that thread may see the signal first
    # (PyPy then leaves it for the main thread to report after a thread switch).
    trigger = "threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()"
    if busy:
        trigger = SPIN + trigger
    proc = run_python(CTRL_C.format(trigger=trigger))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("KeyboardInterrupt after 0.")
    assert lines[1] == "still usable"


def test_ctrl_c_from_the_terminal() -> None:
    code = CTRL_C.format(trigger="print('running', flush=True)")
    with subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "running\n"
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.startswith("KeyboardInterrupt after")
    assert out.endswith("still usable\n")


def test_ctrl_c_leaves_other_threads_running() -> None:
    proc = run_python(
        """
        import os, signal, threading, time
        from v8cffi import shortcuts
        from v8cffi.platform import platform
        shortcuts.set_up()
        vm = platform.create_vm().set_up()
        other = vm.create_context()
        result = []
        worker = threading.Thread(target=lambda: result.append(other.run_script(
            "var s = 0; for (var i = 0; i < 3e8; i++) s = (s + i) % 7; 'worker done'")))
        worker.start()
        time.sleep(0.1)
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            print("main interrupted")
        worker.join()
        print(result[0])
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["main interrupted", "worker done"]


def test_array_buffers_are_capped_at_the_heap_limit(small_vm: VM) -> None:
    """ArrayBuffer contents live outside V8's heap; a VM with max_heap_size holds at
    most that much in them, and garbage buffers make room again."""
    ctx = small_vm.create_context()
    with pytest.raises(V8JSError, match="RangeError: Array buffer allocation failed"):
        ctx.run_script("new Uint8Array(2 ** 31)")
    caught = ctx.eval(
        "try { globalThis.kept = [new ArrayBuffer(40 * 2 ** 20), new ArrayBuffer(40 * 2 ** 20)]; 'held' }"
        " catch (e) { e.name }"
    )
    assert caught == "RangeError"
    total = ctx.eval(
        "let n = 0; for (let i = 0; i < 20; i++) n += new Uint8Array(20 * 2 ** 20).fill(7).length; n"
    )
    assert total == 20 * 20 * MIB  # each one garbage before the next: room is made again
    ctx.tear_down()


def test_a_refused_array_buffer_is_an_error_the_script_may_catch(small_vm: VM) -> None:
    """V8 asks its near-heap-limit callback as a last resort for a buffer the cap
    refuses; with a heap that is not full the call goes on (it was stopped, as if the
    heap were full, at the script's next step) and the heap limit stays where it was."""
    ctx = small_vm.create_context()
    limit = small_vm.heap_stats()["heap_size_limit"]
    caught = ctx.eval(
        "const caught = [];"
        "for (const n of [65 * 2 ** 20, 2 ** 31, 2 ** 36]) for (let i = 0; i < 10; i++) {"
        "  try { new ArrayBuffer(n) } catch (e) { caught.push(String(e)) }"
        "}"
        "caught"
    )
    assert caught == ["RangeError: Array buffer allocation failed"] * 30
    assert small_vm.heap_stats()["heap_size_limit"] == limit
    assert ctx.eval("new ArrayBuffer(2 ** 20).byteLength") == MIB
    ctx.tear_down()


def test_buffers_the_library_makes_are_capped_too(small_vm: VM) -> None:
    """TextEncoder's output, a decompressor's and bytes from Python are array buffers
    held against the same limit as a script's own: kept past it they are a RangeError
    (a memory error for Python's bytes), dropped as they come they make room again."""
    ctx = small_vm.create_context()
    encode = """(keep) => {
      const text = 'x'.repeat(2 ** 20), kept = [];
      let total = 0;
      for (let i = 0; i < 200; i++) {
        const bytes = new TextEncoder().encode(text);
        total += bytes.length;
        if (keep) kept.push(bytes);
      }
      return total;
    }"""
    with pytest.raises(V8JSError, match="RangeError: Array buffer allocation failed"):
        ctx.call(encode, True)
    assert ctx.call(encode, False) == 200 * MIB
    with pytest.raises(V8MemoryError, match="max_heap_size"):
        ctx.call("(b) => b.length", bytes(100 * MIB))
    assert ctx.call("(b) => b.length", bytes(10 * MIB)) == 10 * MIB
    ctx.tear_down()


def test_a_decompression_bomb_meets_the_limit() -> None:
    """Half a gigabyte of zeros in half a megabyte of gzip, through ``blob.stream()``
    (64 KiB pieces, each inflating to ~64 MiB): a reader that keeps the output meets a
    RangeError at the limit instead of holding it all outside the heap; one that
    drops each piece reads it all; one chunk that alone inflates past the limit is a
    RangeError, kept or not (its pieces are all enqueued at once, as the standard says)."""
    bomb = gzip.compress(bytes(512 * MIB), mtime=0)
    inflate = """async (bomb, keep) => {
      const reader = new Blob([bomb]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
      const kept = [];
      let total = 0;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return total;
        total += value.byteLength;
        if (keep) kept.push(value);
      }
    }"""
    with platform.create_vm(max_heap_size=128 * MIB) as vm, vm.create_context() as ctx:
        with pytest.raises(V8JSError, match="RangeError: Array buffer allocation failed"):
            ctx.call(inflate, bomb, True, await_promise=True, timeout=60)
        assert ctx.call(inflate, bomb, False, await_promise=True, timeout=60) == 512 * MIB
        one_chunk = """async (bomb) => {
          const stream = new DecompressionStream('gzip');
          stream.readable.getReader().read().catch(() => {});
          await stream.writable.getWriter().write(bomb);
        }"""
        with pytest.raises(V8JSError, match="RangeError: Array buffer allocation failed"):
            ctx.call(one_chunk, bomb, await_promise=True, timeout=60)
        assert ctx.eval("1 + 1") == 2


def test_resizable_buffers_are_capped_by_what_they_hold(small_vm: VM) -> None:
    """V8 maps resizable ArrayBuffers and growable SharedArrayBuffers itself; each holds
    what it has committed against the VM's budget for such memory (shared with
    WebAssembly memories), as it is made, resized, grown or transferred, and gives it
    back when nothing reaches it; copies of one are refused."""
    ctx = small_vm.create_context()
    grow = """(keep) => {
      const kept = [];
      let total = 0;
      for (let i = 0; i < 8; i++) {
        const b = new ArrayBuffer(0, { maxByteLength: 2 ** 30 });
        b.resize(16 * 2 ** 20);
        total += b.byteLength;
        if (keep) kept.push(b);
      }
      return total;
    }"""
    with pytest.raises(V8JSError, match=r"RangeError: Array buffer allocation failed \(resize\): 16777216"):
        ctx.call(grow, True)
    # Dropped, they give their memory back within the call: 128 MiB made in a 64 MiB VM.
    assert ctx.call(grow, False) == 128 * MIB
    with pytest.raises(V8JSError, match="DataCloneError: a resizable ArrayBuffer cannot be cloned"):
        ctx.eval(
            "(() => { const deep = new Uint8Array(new ArrayBuffer(1, { maxByteLength: 2 }));"
            "structuredClone({ b: [new Map([[1, deep]])] }) })()"
        )
    assert ctx.eval("structuredClone(new ArrayBuffer(4)).byteLength") == 4
    assert ctx.eval("structuredClone('~ not a buffer ~')") == "~ not a buffer ~"
    assert ctx.eval(
        "const g = new SharedArrayBuffer(0, { maxByteLength: 2 ** 30 }); g.grow(2 ** 25);"
        "const r = new ArrayBuffer(2 ** 24, { maxByteLength: 2 ** 26 }).transfer(2 ** 25);"
        "[g.byteLength, r.byteLength, r.resizable]"
    ) == [32 * MIB, 32 * MIB, True]
    with pytest.raises(V8JSError, match="RangeError: Array buffer allocation failed"):
        ctx.eval("new ArrayBuffer(0, { maxByteLength: 2 ** 20 }).resize(2 ** 20)")
    ctx.tear_down()


def test_code_that_makes_and_drops_resizable_buffers_runs_in_a_capped_vm(small_vm: VM) -> None:
    """Buffers that nothing reaches give their memory back when room runs out, within
    the call that made them and across its microtasks (the guard's WeakRefs do not keep
    them)."""
    with small_vm.create_context() as ctx:
        small = """() => {
          let total = 0;
          for (let i = 0; i < 20000; i++) {
            const b = new ArrayBuffer(0, { maxByteLength: 2 ** 16 });
            b.resize(4096);
            total += b.byteLength;
          }
          return total;
        }"""
        assert ctx.call(small) == 20000 * 4096
        awaited = """async () => {
          let total = 0;
          for (let i = 0; i < 200; i++) {
            const b = new ArrayBuffer(2 ** 20, { maxByteLength: 2 ** 20 });
            total += b.byteLength;
            await null;
          }
          return total;
        }"""
        assert ctx.call(awaited, await_promise=True) == 200 * MIB
        assert (
            ctx.eval(
                "let b = new ArrayBuffer(2 ** 20, { maxByteLength: 2 ** 25 });"
                "for (let i = 0; i < 300; i++) b = b.transfer(2 ** 24 + (i % 2) * 2 ** 20);"
                "b.byteLength"
            )
            == 16 * MIB + MIB
        )
        # A WebAssembly memory's resizable buffer counts in the memory's reservation.
        assert (
            ctx.eval(
                "const m = new WebAssembly.Memory({ initial: 1, maximum: 400 });"
                "const rb = m.toResizableBuffer(); rb.resize(400 * 65536); rb.byteLength"
            )
            == 400 * 65536
        )


def test_resizable_buffer_stand_ins_read_as_the_built_ins(small_vm: VM) -> None:
    with small_vm.create_context() as ctx:
        assert ctx.eval(
            "[String(ArrayBuffer), String(SharedArrayBuffer), String(ArrayBuffer.prototype.resize),"
            " String(ArrayBuffer.prototype.transfer), String(SharedArrayBuffer.prototype.grow)]"
        ) == [
            "function ArrayBuffer() { [native code] }",
            "function SharedArrayBuffer() { [native code] }",
            "function resize() { [native code] }",
            "function transfer() { [native code] }",
            "function grow() { [native code] }",
        ]
        assert ctx.eval(
            "const d = Object.getOwnPropertyDescriptor(ArrayBuffer, 'prototype');"
            "[d.writable, d.enumerable, d.configurable, ArrayBuffer.prototype.constructor === ArrayBuffer,"
            " ArrayBuffer.length, ArrayBuffer.prototype.resize.length,"
            " ArrayBuffer[Symbol.species] === ArrayBuffer,"
            " 'prototype' in ArrayBuffer.prototype.resize]"
        ) == [False, False, False, True, 1, 1, True, False]
        assert ctx.eval(
            "class Big extends ArrayBuffer {}; const big = new Big(8, { maxByteLength: 64 }); big.resize(64);"
            "[big instanceof Big, big.byteLength, big.slice(4).byteLength, big.slice(4) instanceof Big]"
        ) == [True, 64, 60, True]
        for script, error in [
            ("ArrayBuffer(1)", "TypeError: Constructor ArrayBuffer requires 'new'"),
            (
                "ArrayBuffer.prototype.resize.call({}, 1)",
                "TypeError: Method ArrayBuffer.prototype.resize called on incompatible receiver #<Object>",
            ),
            ("new ArrayBuffer(-1)", "RangeError: Invalid array buffer length"),
            ("new ArrayBuffer(8, { maxByteLength: 4 })", "RangeError: Invalid array buffer max length"),
            (
                "new ArrayBuffer(0, { maxByteLength: 4 }).resize(8)",
                "RangeError: ArrayBuffer.prototype.resize: Invalid length parameter",
            ),
            ("new ArrayBuffer(0, { maxByteLength: 4 }).resize(1n)", "TypeError: Cannot convert a BigInt"),
            (
                "new ArrayBuffer.prototype.resize()",
                "TypeError: ArrayBuffer.prototype.resize is not a constructor",
            ),
        ]:
            with pytest.raises(V8JSError, match=re.escape(error)):
                ctx.eval(script)


def test_resizable_buffers_a_snapshot_holds_are_counted_when_they_change() -> None:
    """A snapshot's resizable buffers were made with the guard switched off: they are
    taken in at their first resize or transfer."""
    snapshot = platform.create_snapshot(
        ["globalThis.kept = new ArrayBuffer(0, { maxByteLength: 2 ** 31 });globalThis.Kept = ArrayBuffer;"]
    )
    with platform.create_vm(snapshot=snapshot, max_heap_size=64 * MIB) as vm, vm.create_context() as ctx:
        assert ctx.eval("kept.resize(2 ** 25); kept.byteLength") == 32 * MIB
        with pytest.raises(V8JSError, match=r"RangeError: Array buffer allocation failed \(resize\)"):
            ctx.eval("kept.resize(2 ** 27)")
        hoard = """() => {
          const held = [kept];
          try {
            for (let i = 0; i < 8; i++) {
              const b = new Kept(0, { maxByteLength: 2 ** 24 });
              b.resize(2 ** 24);
              held.push(b);
            }
          } catch (e) {
            if (!(e instanceof RangeError)) throw e;
          }
          globalThis.held = held;
          return held.reduce((n, b) => n + b.byteLength, 0);
        }"""
        assert ctx.call(hoard) <= 64 * MIB
        assert ctx.eval("kept.transfer(2 ** 20).byteLength") == MIB


KEEPS_BUILT_INS = """
globalThis.kept = {
  ArrayBuffer, resize: ArrayBuffer.prototype.resize, transfer: ArrayBuffer.prototype.transfer,
  apply: Reflect.apply, construct: Reflect.construct,
};
globalThis.hoard = (make) => {
  const held = [];
  try {
    for (let i = 0; i < 8; i++) held.push(make(i));
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
  }
  globalThis.held = held;
  return held.length;
};
"""


@pytest.mark.parametrize("warm", [False, True])
def test_built_ins_a_snapshot_kept_stay_within_the_cap(warm: bool) -> None:
    """A snapshot's scripts run with the guard's stand-ins (switched off) in place of the
    built-ins, so what they keep — as libraries that cache built-ins do — is switched on
    in a VM with max_heap_size; WebAssembly and SharedArrayBuffer, which V8 adds to each
    context made from a snapshot, are guarded there too."""
    warmup = ["hoard(() => new kept.ArrayBuffer(8, { maxByteLength: 16 }))"] if warm else []
    snapshot = platform.create_snapshot([KEEPS_BUILT_INS], warmup=warmup)
    piece = 16 * MIB
    with platform.create_vm(snapshot=snapshot, max_heap_size=64 * MIB) as vm, vm.create_context() as ctx:
        kept_resize = f"""() => hoard(() => {{
          const b = new kept.ArrayBuffer(0, {{ maxByteLength: {piece} }});
          kept.apply(kept.resize, b, [{piece}]);
          return kept.apply(kept.transfer, b, []);
        }})"""
        assert ctx.call(kept_resize) == 4
        ctx.eval("held = []")
        options = f"{{ maxByteLength: {piece} }}"
        kept_construct = f"() => hoard(() => kept.construct(kept.ArrayBuffer, [{piece}, {options}], Object))"
        assert ctx.call(kept_construct) == 4
        ctx.eval("held = []")
        shared = f"""() => hoard(() => {{
          const s = new SharedArrayBuffer(0, {{ maxByteLength: {piece} }});
          s.grow({piece});
          return s;
        }})"""
        assert ctx.call(shared) == 4
        ctx.eval("held = []")
        memories = (
            "() => hoard(() => {"
            " const m = new WebAssembly.Memory({ initial: 1, maximum: 256 }); m.grow(255); return m; })"
        )
        assert ctx.call(memories) == 4
        assert ctx.eval("[String(SharedArrayBuffer), kept.resize === ArrayBuffer.prototype.resize]") == [
            "function SharedArrayBuffer() { [native code] }",
            True,
        ]
    # Without a cap, what the scripts kept does what the built-ins do.
    with platform.create_vm(snapshot=snapshot) as vm, vm.create_context() as ctx:
        assert ctx.call(kept_resize) == 8
        assert ctx.eval("held.reduce((n, b) => n + b.byteLength, 0)") == 8 * piece
        assert ctx.eval(
            "[String(kept.ArrayBuffer), kept.ArrayBuffer === ArrayBuffer, kept.resize.name,"
            " kept.resize.length, String(WebAssembly.Memory)]"
        ) == [
            "function ArrayBuffer() { [native code] }",
            True,
            "resize",
            1,
            "function Memory() { [native code] }",
        ]
        invalid = "RangeError: ArrayBuffer.prototype.resize: Invalid length"
        with pytest.raises(V8JSError, match=re.escape(invalid)):
            ctx.eval("kept.resize.call(new ArrayBuffer(0, { maxByteLength: 4 }), 8)")


def test_a_snapshot_s_own_shared_array_buffer_leaves_v8_s_guarded() -> None:
    """V8 leaves a snapshot's own `SharedArrayBuffer` (a polyfill's) where it would add its
    own; V8's is still what shared memories are made of, and is guarded in a capped VM."""
    polyfill = "globalThis.SharedArrayBuffer = function polyfill() {};"
    snapshot = platform.create_snapshot([KEEPS_BUILT_INS + polyfill])
    piece = 16 * MIB
    with platform.create_vm(snapshot=snapshot, max_heap_size=64 * MIB) as vm, vm.create_context() as ctx:
        shared = "new WebAssembly.Memory({ initial: 0, maximum: 0, shared: true })"
        real = f"Object.getPrototypeOf({shared}.buffer)"
        assert ctx.eval(f"[SharedArrayBuffer.name, String({real}.constructor), String({real}.grow)]") == [
            "polyfill",
            "function SharedArrayBuffer() { [native code] }",
            "function grow() { [native code] }",
        ]
        grows = f"""() => hoard(() => {{
          const s = new ({real}.constructor)(0, {{ maxByteLength: {piece} }});
          {real}.grow.call(s, {piece});
          return s;
        }})"""
        assert ctx.call(grows) == 4


def test_without_a_heap_limit_array_buffers_are_not_capped(vm: VM) -> None:
    with vm.create_context() as ctx:
        assert ctx.eval("new ArrayBuffer(512 * 2 ** 20).byteLength") == 512 * MIB
