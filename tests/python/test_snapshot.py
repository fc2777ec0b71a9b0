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


def test_made_here_while_no_vm_is_alive() -> None:
    proc = run_python(
        """
        from v8cffi import V8LifecycleError
        from v8cffi.platform import platform
        platform.set_up()
        here = platform.create_snapshot(["var made = 'here'"], isolated=False)
        vm = platform.create_vm(snapshot=here).set_up()
        print(vm.create_context().eval("made"))
        try:
            platform.create_snapshot(["1"], isolated=False)  # a VM is alive now
        except V8LifecycleError as e:
            print("refused:", "VMs are alive" in str(e))
        print(len(platform.create_snapshot(["1"])) > 0)  # in a child process: fine
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["here", "refused: True", "True"]


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
