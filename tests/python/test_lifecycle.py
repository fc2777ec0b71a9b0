"""Lifecycle of VMs and contexts, and misuse of every kind."""

from __future__ import annotations

import pytest
from conftest import run_python

from v8cffi import V8Error, V8LifecycleError
from v8cffi.exceptions import get_exception
from v8cffi.platform import platform


def test_lifecycle_errors_are_assertion_errors() -> None:
    assert issubclass(V8LifecycleError, AssertionError)
    assert issubclass(V8LifecycleError, V8Error)


def test_set_up_and_tear_down_go_through_enter_and_exit() -> None:
    # As in v8-cffi: set_up() returns what __enter__ returns, tear_down() calls __exit__.
    vm = platform.create_vm()
    assert vm.set_up() is vm
    ctx = vm.create_context()
    assert ctx.set_up() is ctx
    assert ctx.tear_down() is None  # type: ignore[func-returns-value]
    assert vm.tear_down() is None  # type: ignore[func-returns-value]

    calls: list[str] = []

    class Traced(type(vm)):  # type: ignore[misc]
        def __enter__(self):  # type: ignore[no-untyped-def]
            calls.append("enter")
            return super().__enter__()

        def __exit__(self, *_, **__):  # type: ignore[no-untyped-def]
            calls.append("exit")
            return super().__exit__()

    traced = Traced(platform)
    traced.set_up()
    traced.tear_down()
    assert calls == ["enter", "exit"]
    with pytest.raises(V8LifecycleError):
        traced.__exit__()  # type: ignore[no-untyped-call]  # without arguments, and checked


def test_vm_misuse() -> None:
    vm = platform.create_vm()
    assert not vm.is_alive()
    early = vm.create_context()  # only made; the check comes at its set-up
    with pytest.raises(V8LifecycleError, match="not set up"):
        early.set_up()
    with pytest.raises(V8LifecycleError):
        vm.tear_down()
    vm.set_up()
    assert vm.is_alive()
    with pytest.raises(V8LifecycleError, match="already set up"):
        vm.set_up()
    vm.tear_down()
    with pytest.raises(V8LifecycleError):
        vm.tear_down()
    # A VM may be set up again after tear-down.
    vm.set_up()
    with vm.create_context() as ctx:
        assert ctx.run_script("'again'") == "again"
    vm.tear_down()


def test_context_misuse() -> None:
    with platform.create_vm() as vm:
        ctx = vm.create_context()
        assert not ctx.is_alive()
        with pytest.raises(V8LifecycleError):
            ctx.tear_down()
        ctx.set_up()
        with pytest.raises(V8LifecycleError, match="already set up"):
            ctx.set_up()
        ctx.run_script("var kept = 1")
        ctx.tear_down()
        with pytest.raises(V8LifecycleError, match="torn down"):
            ctx.run_script("1")
        with pytest.raises(V8LifecycleError, match="torn down"):
            ctx.load_libs([])
        with pytest.raises(V8LifecycleError):
            ctx.tear_down()
        # Set up again: a fresh global scope.
        ctx.set_up()
        assert ctx.run_script("typeof kept") == "undefined"
        ctx.tear_down()


def test_context_sets_itself_up_on_first_use() -> None:
    with platform.create_vm() as vm:
        ctx = vm.create_context()
        assert ctx.run_script("1 + 1") == "2"
        assert ctx.is_alive()
        with ctx:  # `with` on a context that set itself up keeps it, tears it down at the end
            assert ctx.run_script("2 + 2") == "4"
        assert not ctx.is_alive()
        ctx.set_up()
        with pytest.raises(V8LifecycleError, match="already set up"):
            ctx.__enter__()  # set up explicitly: entering it again is a mistake, as in v8-cffi
        ctx.tear_down()


def test_context_of_a_torn_down_vm_raises() -> None:
    vm = platform.create_vm().set_up()
    ctx = vm.create_context().set_up()
    vm.tear_down()
    with pytest.raises(V8LifecycleError, match="VM was freed"):
        ctx.run_script("1")
    fresh = vm.create_context()  # made, but it cannot be set up
    with pytest.raises(V8LifecycleError, match="not set up"):
        fresh.set_up()
    ctx.tear_down()


def test_get_exception_maps_codes() -> None:
    assert get_exception(0) is None
    assert get_exception(4) is V8LifecycleError
    assert get_exception(999).__name__ == "V8UnknownError"  # type: ignore[union-attr]


def test_platform_lifecycle_in_a_fresh_process() -> None:
    proc = run_python(
        """
        from v8cffi import V8LifecycleError
        from v8cffi.platform import platform

        def expect(fn, fragment):
            try:
                fn()
            except V8LifecycleError as e:
                assert fragment in str(e), str(e)
                print('raised:', fragment)
            else:
                raise SystemExit('no error for ' + fragment)

        early = platform.create_vm()  # only made; the check comes at its set-up
        expect(early.set_up, 'platform is not set up')
        expect(platform.tear_down, 'not set up')
        assert platform.set_up() is platform and platform.is_alive()
        expect(platform.set_up, 'already set up')
        vm = platform.create_vm().set_up()
        ctx = vm.create_context().set_up()
        assert platform.tear_down() is None and platform._is_dead
        expect(lambda: ctx.run_script('1'), 'platform was torn down')
        expect(platform.create_vm().set_up, 'platform is not set up')
        expect(platform.set_up, 'cannot be set up twice')
        expect(platform.tear_down, 'already torn down')
        del ctx, vm
        import gc, v8cffi
        gc.collect()
        print(v8cffi.live_counts())
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("raised:") == 7
    assert proc.stdout.endswith("(0, 0)\n")


def test_flags_v8_does_not_know_are_refused() -> None:
    # V8 only printed "Error: unrecognized flag" to stderr, and set-up went on.
    proc = run_python(
        """
        from v8cffi import V8ArgumentError, V8LifecycleError
        from v8cffi.platform import platform

        # Refused before V8 sees them: set-up may be tried again.
        for flags in ("--help", "--stack-size=500\\0"):
            try:
                platform.set_up(flags)
            except V8ArgumentError as e:
                print("refused:", str(e).split(":")[0])
        platform.set_up("--stack-size=500")
        print(platform.create_vm().set_up().create_context().eval("6 * 7"))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (
        "refused: --help would make V8 print its flags and end the process\n"
        "refused: V8 flags cannot contain NUL\n42\n"
    ), proc.stdout
    # V8 keeps the flags before one it cannot take (and a bad value: 0 for
    # `--stack-size=abc`): the process cannot be set up with known flags any more.
    for flags in ("--no-such-flag-xyz", "--expose-gc stray", "--stack-size=abc"):
        proc = run_python(
            f"""
            from v8cffi import V8ArgumentError, V8LifecycleError
            from v8cffi.platform import platform

            try:
                platform.set_up({flags!r})
            except V8ArgumentError as e:
                print("refused:", str(e).split(":")[0])
            try:
                platform.set_up("")
            except V8LifecycleError as e:
                print("then:", "set up in a new process" in str(e))
            """
        )
        assert proc.returncode == 0, proc.stderr
        unknown = flags.split()[-1]
        assert proc.stdout == f"refused: V8 does not know (or cannot read) {unknown}\nthen: True\n", (
            proc.stdout
        )
        assert "unrecognized flag" not in proc.stderr


def test_lifecycle_checks_survive_python_O() -> None:
    proc = run_python(
        """
        from v8cffi import V8LifecycleError
        from v8cffi.platform import platform
        assert False, 'asserts are off under -O, so this line does nothing'
        platform.set_up()
        try:
            platform.set_up()
        except V8LifecycleError:
            print('raised')
        vm = platform.create_vm().set_up()
        ctx = vm.create_context()
        ctx.tear_down() if ctx.is_alive() else None
        try:
            vm.set_up()
        except AssertionError:
            print('raised')
        """,
        flags=("-O",),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "raised\nraised\n"


def test_shortcuts_in_a_fresh_process() -> None:
    proc = run_python(
        """
        import threading
        from v8cffi import shortcuts, V8LifecycleError
        from v8cffi.platform import platform
        try:
            shortcuts.get_context()
        except V8LifecycleError as e:
            print(e)
        shortcuts.set_up()
        try:
            shortcuts.set_up()
        except V8LifecycleError as e:
            print(e)
        shortcuts.get_context().run_script('var hits = 0')
        results = []
        def work():
            results.append(shortcuts.get_context().run_script('++hits'))
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(sorted(results), shortcuts.get_context().run_script('hits'))
        import atexit
        atexit.register(lambda: print('platform alive at exit:', platform.is_alive()))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "there is no global context: did you call v8cffi.shortcuts.set_up()?",
        "shortcuts.set_up() must only be called once in an application's lifetime",
        "['1', '2', '3', '4'] 4",
        # atexit runs handlers last-in first-out: this one before the tear-down.
        "platform alive at exit: True",
    ]


def test_shortcuts_tear_down_order() -> None:
    proc = run_python(
        """
        from v8cffi import shortcuts, V8LifecycleError, live_counts
        from v8cffi.platform import platform
        import gc
        shortcuts.set_up()
        ctx = shortcuts.get_context()
        shortcuts.tear_down()
        gc.collect()  # PyPy frees native handles only when it collects
        print(platform.is_alive(), ctx.is_alive(), live_counts())
        try:
            shortcuts.get_context()
        except V8LifecycleError as e:
            print(e)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "False False (0, 0)",
        "there is no global context: did you call v8cffi.shortcuts.set_up()?",
    ]
