"""Fork safety: a forked child gets a clear error, never a hang; spawn works."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import run_python


def test_a_forked_child_gets_a_clear_error_and_exits_cleanly() -> None:
    proc = run_python(
        """
        import os, sys
        from v8cffi import shortcuts, V8LifecycleError
        from v8cffi.platform import platform
        shortcuts.set_up()
        ctx = shortcuts.get_context()
        ctx.run_script("var x = 1")
        import threading, time
        busy = platform.create_vm().set_up()
        busy_ctx = busy.create_context()
        spin = "var t = Date.now(); while (Date.now() - t < 1500) {}"
        threading.Thread(target=lambda: busy_ctx.run_script(spin), daemon=True).start()
        time.sleep(0.3)
        pid = os.fork()
        if pid == 0:
            # A call the parent was running at the fork is not this process's to stop.
            outcome = [platform.is_alive(), busy.terminate()]
            for attempt in (lambda: ctx.run_script("x"), platform.set_up, platform.create_vm().set_up):
                try:
                    attempt()
                except V8LifecycleError as e:
                    outcome.append("fork" in str(e) or "not set up" in str(e))
            del ctx
            print("child", outcome, flush=True)
            sys.exit(0)  # runs the atexit tear-down: it must not hang
        _, status = os.waitpid(pid, 0)
        print("parent", ctx.run_script("x + 1"), os.waitstatus_to_exitcode(status))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["child [False, False, True, True, True]", "parent 2 0"]


def test_multiprocessing_spawn_sets_up_v8_in_each_worker(tmp_path: Path) -> None:
    script = tmp_path / "pool.py"
    script.write_text(
        textwrap.dedent(
            """
            import multiprocessing as mp
            from v8cffi import shortcuts

            def render(n):
                try:
                    ctx = shortcuts.get_context()
                except AssertionError:
                    shortcuts.set_up()
                    ctx = shortcuts.get_context()
                return ctx.call("(n) => 'item ' + n", n)

            if __name__ == "__main__":
                shortcuts.set_up()  # the parent uses V8 too
                with mp.get_context("spawn").Pool(2) as pool:
                    print(pool.map(render, range(4)))
                print(shortcuts.get_context().eval("'parent fine'"))
            """
        )
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["['item 0', 'item 1', 'item 2', 'item 3']", "parent fine"]
