"""Startup snapshots: globals, functions and closures survive; bad blobs are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_python

from v8cffi import V8ArgumentError, V8JSError, V8UnknownError
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


@pytest.mark.parametrize("damage", ["garbage", "empty", "truncated", "corrupt", "foreign"])
def test_bad_blobs_are_refused(blob: bytes, damage: str) -> None:
    bad = {
        "garbage": b"not a snapshot at all",
        "empty": b"",
        "truncated": blob[: len(blob) // 3],
        "corrupt": blob[:-64] + bytes(b ^ 0xFF for b in blob[-64:]),
        "foreign": blob[:14] + blob[14:18] + b"0" + blob[19:],
    }[damage]
    vm = platform.create_vm(snapshot=bad)
    with pytest.raises(V8ArgumentError, match="not a usable v8rs snapshot"):
        vm.set_up()


def test_failing_scripts_and_unsnapshottable_objects() -> None:
    with pytest.raises(V8JSError) as info:
        platform.create_snapshot([("ok.js", "var a = 1"), ("bad.js", "\nnope()")])
    assert (info.value.name, info.value.script_name, info.value.line) == ("ReferenceError", "bad.js", 2)
    # V8 aborts on Intl objects left reachable: the child process takes the blow.
    with pytest.raises(V8UnknownError, match="Intl"):
        platform.create_snapshot(["var fmt = new Intl.NumberFormat('de-DE')"])
