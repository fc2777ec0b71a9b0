"""Startup snapshots: globals, functions and closures survive; bad blobs are refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import run_python

from v8cffi import V8ArgumentError, V8JSError, V8MemoryError, V8UnknownError
from v8cffi.platform import platform

LIB = (
    "var lib = { render: (s) => '<p>' + s + '</p>' };\n"
    "let hidden = 41; function next() { return ++hidden }\n"
    "function money(x) { return new Intl.NumberFormat('de-DE').format(x) }\n"
    "var settled = 'no'; Promise.resolve().then(() => { settled = 'yes' });\n"
)


@pytest.fixture(scope="module")
def blob() -> bytes:
    return platform.create_snapshot([("lib.js", LIB)])


def test_round_trip(blob: bytes) -> None:
    with platform.create_vm(snapshot=blob) as vm:
        for _ in range(2):  # every context starts from the snapshot
            with vm.create_context() as ctx:
                assert ctx.call("lib.render", "hola") == "<p>hola</p>"
                assert ctx.eval("next() + next()") == 42 + 43
                assert ctx.eval("money(1234.5)") == "1.234,5"
                assert ctx.eval("settled") == "yes"


@pytest.mark.parametrize("warm", [False, True])
def test_a_snapshots_scripts_cannot_change_how_its_contexts_convert_values(warm: bool) -> None:
    # The value converter is made before the scripts run, and kept in the snapshot.
    meddle = (
        "JSON.stringify = () => '\"hacked\"'; Object.keys = () => []; Map = function () {};"
        "Object.getPrototypeOf = () => null; Array.isArray = () => false;"
    )
    made = platform.create_snapshot([("meddle.js", meddle)], warmup=["1"] if warm else ())
    with platform.create_vm(snapshot=made) as vm, vm.create_context() as ctx:
        assert ctx.eval("({a: [1, 'x', null], b: {c: 2.5}})") == {"a": [1, "x", None], "b": {"c": 2.5}}
        assert ctx.call("(x) => x", {"k": [1, {"n": None}]}) == {"k": [1, {"n": None}]}
        assert ctx.eval("new Set([1])") == {1}
        assert str(ctx.eval("Temporal.PlainDate.from('2024-02-29')")) == "2024-02-29"


def test_making_a_warm_snapshot_runs_no_user_getter() -> None:
    getter = "globalThis.hits = 0; Object.defineProperty(Object.prototype, 'toJSON', {get() { hits++ }});"
    made = platform.create_snapshot([("getter.js", getter)], warmup=["1"])
    with platform.create_vm(snapshot=made) as vm, vm.create_context() as ctx:
        assert ctx.eval("hits") == 0


def test_made_here_beside_live_vms_of_every_kind() -> None:
    # Snapshots share V8's built-in read-only heap: VMs from different snapshots, and
    # plain ones, live side by side whatever order they come in (V8 read the wrong
    # globals, or crashed, before).
    proc = run_python(
        """
        from v8cffi.platform import platform
        platform.set_up()
        plain = platform.create_vm().set_up()
        first = platform.create_snapshot(
            ["var made = 'first'; function twice(x) { return 2 * x }"], isolated=False
        )
        one = platform.create_vm(snapshot=first).set_up()
        second = platform.create_snapshot(
            ["var made = 'second'; function thrice(x) { return 3 * x }"], isolated=False
        )
        third = platform.create_snapshot(["var made = 'third'"])  # in a child process
        two = platform.create_vm(snapshot=second).set_up()
        three = platform.create_vm(snapshot=third).set_up()
        for vm in (one, two, three, plain):
            ctx = vm.create_context().set_up()
            made = ctx.eval("typeof made === 'string' ? made : 'plain'")
            print(made, ctx.eval("typeof twice"), ctx.eval("typeof thrice"))
        print(two.create_context().call("thrice", 14))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "first function undefined",
        "second undefined function",
        "third undefined undefined",
        "plain undefined undefined",
        "42",
    ]


def test_a_blob_from_a_file_in_another_process(blob: bytes, tmp_path: Path) -> None:
    path = tmp_path / "app.snapshot"
    path.write_bytes(blob)
    proc = run_python(
        f"""
        from v8cffi.platform import platform
        platform.set_up()
        vm = platform.create_vm(snapshot=open({str(path)!r}, "rb").read()).set_up()
        print(vm.create_context().call("lib.render", "from a file"))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "<p>from a file</p>\n"


@pytest.mark.parametrize(
    "damage", ["garbage", "empty", "truncated", "corrupt", "foreign", "web mask", "heap"]
)
def test_bad_blobs_are_refused(blob: bytes, damage: str) -> None:
    fields = 18 + int.from_bytes(blob[14:18], "little")  # after the magic and the identity

    def flipped(at: int) -> bytes:
        return blob[:at] + bytes([blob[at] ^ 0xFF]) + blob[at + 1 :]

    bad = {
        "garbage": b"not a snapshot at all",
        "empty": b"",
        "truncated": blob[: len(blob) // 3],
        "corrupt": blob[:-64] + bytes(b ^ 0xFF for b in blob[-64:]),
        "foreign": blob[:14] + blob[14:18] + b"0" + blob[19:],
        "web mask": flipped(fields),  # the checksum covers the header's fields too
        "heap": flipped(fields + 4),
    }[damage]
    vm = platform.create_vm(snapshot=bad)
    with pytest.raises(V8ArgumentError, match="not a usable v8rs snapshot"):
        vm.set_up()


def test_failing_scripts_and_unsnapshottable_objects() -> None:
    with pytest.raises(V8JSError) as info:
        platform.create_snapshot([("ok.js", "var a = 1"), ("bad.js", "\nnope()")])
    assert (info.value.name, info.value.script_name, info.value.line) == ("ReferenceError", "bad.js", 2)
    # V8 aborts on Intl objects left reachable: the child process takes the blow, and
    # what V8 said is in the message (not the C stack trace after it).
    with pytest.raises(V8UnknownError, match="Intl") as aborted:
        platform.create_snapshot(["var fmt = new Intl.NumberFormat('de-DE')"])
    assert "V8 said:\nFatal error" in str(aborted.value) and "0x" not in str(aborted.value)


@pytest.mark.parametrize("isolated", [True, False])
@pytest.mark.parametrize("how", ["freeze", "seal", "preventExtensions"])
def test_a_global_object_that_cannot_grow_is_refused(how: str, isolated: bool) -> None:
    # V8 adds globals to every context made from a snapshot: it aborted the process
    # that used such a snapshot.
    with pytest.raises(V8ArgumentError, match="must stay extensible"):
        platform.create_snapshot([f"var lib = 1; Object.{how}(globalThis)"], isolated=isolated)


@pytest.mark.parametrize("isolated", [True, False])
def test_finalization_registries_whose_targets_died_are_snapshotted(isolated: bool) -> None:
    # Their cleanups run before the snapshot is made: V8 aborted on one still due.
    source = (
        "var cleaned = []; var fr = new FinalizationRegistry((held) => cleaned.push(held));"
        "(function () { for (let i = 0; i < 10; i++) fr.register({}, i) })();"
        "var kept = {}; fr.register(kept, 'kept');"
    )
    blob = platform.create_snapshot([source], isolated=isolated)
    with platform.create_vm(snapshot=blob) as vm, vm.create_context() as ctx:
        assert ctx.eval("cleaned.length") == 10
        assert ctx.eval("kept !== undefined && typeof fr.unregister") == "function"


def test_a_heap_limit_with_no_room_for_the_snapshot_raises_a_memory_error() -> None:
    # V8 crashed or aborted when its heap limit was reached while it deserialized.
    big = platform.create_snapshot(["var big = Array.from({length: 1e5}, (_, i) => ({i, s: 'x' + i}))"])
    for mib in (4, 8, 16, 22):
        vm = platform.create_vm(snapshot=big, max_heap_size=mib << 20)
        with pytest.raises(V8MemoryError, match="needs a max_heap_size of at least"):
            vm.set_up()
    with platform.create_vm(snapshot=big, max_heap_size=32 << 20) as vm:
        contexts = []
        with pytest.raises(V8MemoryError, match="no room for another context"):
            for _ in range(10):
                contexts.append(vm.create_context().set_up())
        assert 1 <= len(contexts) < 10
        assert contexts[0].eval("big.length") == 100_000
        for ctx in contexts:
            ctx.tear_down()
        assert vm.create_context().set_up().eval("big[7].s") == "x7"


@pytest.mark.parametrize("wrong", ["app.snapshot", Path("app.snapshot"), 12, [b"x"]])
def test_a_snapshot_that_is_not_bytes_is_a_type_error(wrong: object) -> None:
    from v8cffi import Snapshot

    with pytest.raises(TypeError, match="snapshot must be bytes or a Snapshot"):
        platform.create_vm(snapshot=wrong)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="snapshot must be bytes or a Snapshot"):
        Snapshot(wrong)  # type: ignore[arg-type]


@pytest.mark.parametrize("isolated", [True, False])
def test_a_script_that_is_not_utf8_is_an_argument_error(isolated: bool) -> None:
    with pytest.raises(V8ArgumentError, match="UTF-8"):
        platform.create_snapshot([b"var b = '\xff'"], isolated=isolated)


def test_snapshots_have_the_web_apis_and_warm_ups_keep_only_code(tmp_path: Path) -> None:
    from v8cffi import Snapshot

    app = (
        "var size = new TextEncoder().encode('añb').length;\n"
        "var renders = 0;\n"
        "function page(n) { renders++; return Array.from({length: n}, (_, i) => `<li>${i}</li>`).join('') }\n"
    )
    cold = platform.create_snapshot([("app.js", app)])
    warm = platform.create_snapshot(
        [("app.js", app)], warmup=["for (let i = 0; i < 50; i++) page(5); var w = 1"]
    )
    assert len(warm) > len(cold)  # the compiled code of what the warm-up ran
    snapshot = Snapshot(warm)
    assert len(snapshot) == len(warm) and bytes(snapshot) == warm
    for source in (snapshot, warm, warm):  # a Snapshot, or bytes (opened once)
        with platform.create_vm(snapshot=source) as vm, vm.create_context() as ctx:
            assert ctx.eval("[size, renders, typeof w]") == [4, 0, "undefined"]
            assert ctx.call("page", 2) == "<li>0</li><li>1</li>"
            assert ctx.eval("typeof URL + typeof setTimeout") == "functionfunction"
    path = tmp_path / "app.snapshot"
    path.write_bytes(warm)
    assert Snapshot.load(path).__len__() == len(warm)
    with pytest.raises(V8ArgumentError, match="older v8rs"):
        Snapshot(b"v8rs-snapshot2" + bytes(100))
    with pytest.raises(V8JSError, match="nope"):
        platform.create_snapshot([("app.js", app)], warmup=["nope()"], isolated=False)


def test_the_platforms_snapshot_file_is_read_again_only_when_it_changes(blob: bytes, tmp_path: Path) -> None:
    from v8cffi import _snapshot

    path = tmp_path / "lib.snapshot"
    path.write_bytes(blob)
    first = _snapshot.opened_file(path)
    assert _snapshot.opened_file(path) is first
    other = platform.create_snapshot(["var other = 1"], isolated=False)
    path.write_bytes(other)
    import os

    os.utime(path, ns=(1, 1))  # a new mtime even within the clock's resolution
    assert _snapshot.opened_file(path) is not first


BUILTIN_CHILD = """
import time
from v8cffi.platform import platform
platform.set_up()
vm = platform.create_vm().set_up()
a = vm.create_context().set_up()
time.sleep(0.05)
b = vm.create_context().set_up()
later = b.eval("performance.timeOrigin") - a.eval("performance.timeOrigin")
print(a.eval("typeof TextEncoder + typeof URL + typeof setTimeout + (self === globalThis)"), later >= 40)
"""


def test_the_built_in_web_snapshot_is_made_once_then_read_from_its_cache(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "V8RS_CACHE_DIR": str(tmp_path)}
    expected = "functionfunctionfunctiontrue True"

    def child() -> None:
        proc = subprocess.run([sys.executable, "-c", BUILTIN_CHILD], env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == expected

    child()
    (made,) = tmp_path.glob("web-*.snapshot")
    size, inode, mtime = made.stat().st_size, made.stat().st_ino, made.stat().st_mtime_ns
    child()  # read, not made again (a blob is written to a new file, then renamed)
    assert (made.stat().st_size, made.stat().st_ino) == (size, inode)
    assert made.stat().st_mtime_ns >= mtime  # a read marks it used (the newest are kept)
    made.write_bytes(made.read_bytes()[: size // 2])  # damaged: made again
    child()
    # Whole again (a new snapshot may differ by a few bytes: V8's heap layout varies).
    assert abs(made.stat().st_size - size) < size // 100
    env["V8RS_CACHE_DIR"] = ""  # no directory: made in memory only
    child()
    env["V8RS_WEB_SNAPSHOT"] = "0"  # no snapshot at all: the prelude runs per context
    child()


def test_the_cache_keeps_the_newest_blobs_only(tmp_path: Path) -> None:
    import os

    # Blobs of older builds (each build with other sources writes its own), oldest first.
    for i in range(12):
        old = tmp_path / f"web-{i:032x}.snapshot"
        old.write_bytes(b"old")
        os.utime(old, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / "other.file").write_bytes(b"kept")
    env = {**os.environ, "V8RS_CACHE_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", BUILTIN_CHILD], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    left = sorted(p.name for p in tmp_path.glob("web-*.snapshot"))
    assert len(left) == 8
    assert [f"web-{i:032x}.snapshot" for i in range(5, 12)] == [n for n in left if n.startswith("web-0000")]
    assert (tmp_path / "other.file").exists()


def test_the_web_apis_behave_the_same_without_the_built_in_snapshot() -> None:
    import os

    here = Path(__file__).resolve().parent
    env = {**os.environ, "V8RS_WEB_SNAPSHOT": "0"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_web_apis.py"],
        cwd=here,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_ctrl_c_stops_a_snapshot_made_in_this_process() -> None:
    # Its scripts could not be interrupted: an endless loop there hung the process.
    proc = run_python(
        """
        import os, signal, threading, time
        from v8cffi.platform import platform

        platform.set_up()
        for warm in (False, True):
            threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
            start = time.perf_counter()
            try:
                if warm:
                    platform.create_snapshot(["function r() { for (;;) {} }"], warmup=["r()"], isolated=False)
                else:
                    platform.create_snapshot(["for (;;) {}"], isolated=False)
            except KeyboardInterrupt:
                print("KeyboardInterrupt", time.perf_counter() - start < 20)
        print(len(platform.create_snapshot(["var ok = 1"], isolated=False)) > 0)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "KeyboardInterrupt True\nKeyboardInterrupt True\nTrue\n"


@pytest.mark.parametrize("isolated", [True, False])
def test_a_promise_rejected_with_no_handler_fails_the_snapshot(isolated: bool) -> None:
    # A failing async set-up made a broken snapshot without a word.
    with pytest.raises(V8JSError, match="rejected with no handler: Error: init failed"):
        platform.create_snapshot(["(async () => { throw new Error('init failed') })()"], isolated=isolated)
    with pytest.raises(V8JSError, match="rejected with no handler: TypeError: warm"):
        platform.create_snapshot(
            ["function r() { Promise.reject(new TypeError('warm')) }"], warmup=["r()"], isolated=isolated
        )
    # Handled, even later in the scripts: fine.
    handled = "var p = Promise.reject(1); Promise.resolve().then(() => p.catch(() => {}))"
    assert platform.create_snapshot([handled, "var ok = 1"], isolated=isolated)


@pytest.mark.parametrize("warm", [False, True])
def test_members_v8_adds_to_built_ins_in_each_context_may_be_set_by_the_scripts(warm: bool) -> None:
    # V8 adds them (Promise.try, Error.stackTraceLimit…) to every context made from a
    # snapshot, and aborted the process when a script had set one (a polyfill).
    scripts = [
        "Promise.try = function polyfill(f) { return Promise.resolve(f()) }; Math.sumPrecise = () => 0;"
        "Error.stackTraceLimit = 50; function limit() { return Error.stackTraceLimit }"
    ]
    # The warm-up runs with what the scripts set.
    check = "if (limit() !== 50 || Promise.try.name !== 'polyfill') throw new Error('warm-up')"
    blob = platform.create_snapshot(scripts, warmup=[check] if warm else (), isolated=False)
    for _ in range(2):
        with platform.create_vm(snapshot=blob) as vm, vm.create_context() as ctx:
            assert ctx.eval("[Promise.try.name, Math.sumPrecise([1, 2]), limit()]") == ["try", 3, 50]
            # Only the snapshot's own context is kept (not the warm-up's copy).
            assert vm.heap_stats()["number_of_native_contexts"] == 1


@pytest.mark.parametrize(
    ("script", "problem"),
    [
        ("Object.freeze(Math)", "Math is frozen, sealed or not extensible"),
        ("Object.preventExtensions(Uint8Array.prototype)", "Uint8Array.prototype is frozen"),
        ("Object.defineProperty(Promise, 'try', {value: 1})", "Promise.try was defined non-configurable"),
        ("globalThis.Math = new Proxy(Math, {})", "globalThis.Math was replaced"),
        ("delete globalThis.Uint8Array", "globalThis.Uint8Array was replaced, deleted"),
    ],
)
def test_a_built_in_v8_cannot_add_its_members_to_is_refused(script: str, problem: str) -> None:
    with pytest.raises(V8ArgumentError, match=problem):
        platform.create_snapshot([script], isolated=False)
    # Built-ins V8 adds nothing to may be frozen.
    assert platform.create_snapshot(["Object.freeze(Array); Object.freeze(JSON)"], isolated=False)


@pytest.mark.parametrize("isolated", [True, False])
def test_finalization_registry_cleanups_that_throw_or_never_settle(isolated: bool) -> None:
    # A cleanup that throws is reported by V8 on standard output: in a child process
    # that was the snapshot's channel, and its bytes were corrupted.
    throws = (
        "var fr = new FinalizationRegistry(() => { throw new Error('x') }); (() => fr.register({}, 1))();"
    )
    with platform.create_vm(snapshot=platform.create_snapshot([throws], isolated=isolated)) as vm:
        assert vm.create_context().eval("typeof fr.register") == "function"
    # One that registers more objects that die never settles: V8 aborted the process.
    # One that rejects a promise, or queues microtasks: they are settled first.
    rejects = "var n = 0; var fr = new FinalizationRegistry(async () => { await null; n++; throw 1 });"
    with platform.create_vm(
        snapshot=platform.create_snapshot([rejects + "(() => fr.register({}, 1))();"])
    ) as vm:
        assert vm.create_context().eval("n") == 1
    endless = "var fr = new FinalizationRegistry((h) => fr.register({}, h)); (() => fr.register({}, 1))();"
    with pytest.raises(V8ArgumentError, match="cleanups still had work"):
        platform.create_snapshot([endless], isolated=isolated)
    assert platform.create_snapshot(["var after = 1"], isolated=isolated)


@pytest.mark.parametrize("kwargs", [{"scripts": "var x = 1"}, {"scripts": [], "warmup": "f()"}])
def test_a_single_string_for_the_scripts_is_a_type_error(kwargs: dict[str, Any]) -> None:
    # It used to be split into one script per character.
    with pytest.raises(TypeError, match="must be a list"):
        platform.create_snapshot(**kwargs)


def test_the_snapshot_process_runs_this_v8cffi_and_library() -> None:
    # v8cffi found through sys.path alone (vendored), and the library through the
    # environment of this process only: the child that makes the snapshot gets both.
    root = Path(__file__).resolve().parents[2]
    proc = run_python(
        f"""
        import os, sys
        sys.path.insert(0, {str(root)!r})
        from v8cffi.platform import platform
        from v8cffi import _native
        os.environ.pop("PYTHONPATH", None)
        os.environ.pop("V8CFFI_LIBRARY", None)
        platform.set_up()
        blob = platform.create_snapshot(["var made = 'in the child'"])
        with platform.create_vm(snapshot=blob) as vm, vm.create_context() as ctx:
            print(ctx.eval("made"), _native.library_path)
        """,
        cwd=Path("/"),
    )
    assert proc.returncode == 0, proc.stderr
    made, library = proc.stdout.strip().rsplit(" ", 1)
    assert made == "in the child"
    assert Path(library).exists()


def test_a_snapshots_array_buffers_past_max_heap_size_are_a_memory_error() -> None:
    # V8 aborted the process on the buffer it could not allocate while deserializing.
    big = platform.create_snapshot(["var ab = new ArrayBuffer(100 << 20)"], isolated=False)
    with platform.create_vm(snapshot=big, max_heap_size=64 << 20) as vm:
        with pytest.raises(V8MemoryError, match="array buffers"):
            vm.create_context().set_up()
    # Contexts add up: two fit, a third does not — until one is torn down.
    script = "var ab = new ArrayBuffer(40 << 20); new Uint8Array(ab)[5] = 7"
    blob = platform.create_snapshot([script], isolated=False)
    with platform.create_vm(snapshot=blob, max_heap_size=100 << 20) as vm:
        first, second = vm.create_context().set_up(), vm.create_context().set_up()
        assert first.eval("new Uint8Array(ab)[5]") == second.eval("new Uint8Array(ab)[5]") == 7
        for _ in range(2):  # a refused one leaves nothing behind
            with pytest.raises(V8MemoryError, match="array buffers"):
                vm.create_context().set_up()
        first.tear_down()
        with vm.create_context() as third:
            assert third.eval("new Uint8Array(ab)[5]") == 7
        second.tear_down()
