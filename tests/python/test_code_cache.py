"""load_libs with V8's code cache: hits, misses, rejected entries, a cache directory."""

from __future__ import annotations

from pathlib import Path

from v8cffi import code_cache_stats
from v8cffi.vm import VM

BUNDLE = "\n".join(f"function f{i}(x) {{ return x + {i} }}" for i in range(2000)) + "\nvar ready = f1999(1);"


def delta(before: dict[str, int]) -> dict[str, int]:
    after = code_cache_stats()
    return {k: after[k] - before[k] for k in after}


def test_miss_then_hit_in_memory(vm: VM, tmp_path: Path) -> None:
    lib = tmp_path / "bundle.js"
    lib.write_text(BUNDLE)
    before = code_cache_stats()
    for expected in ({"hits": 0, "misses": 1, "rejected": 0}, {"hits": 1, "misses": 1, "rejected": 0}):
        with vm.create_context() as ctx:
            ctx.load_libs([lib], cache=True)
            assert ctx.eval("ready") == 2000
        assert delta(before) == expected
    # A changed file is another entry.
    lib.write_text(BUNDLE + "\nready += 1;")
    with vm.create_context() as ctx:
        ctx.load_libs([lib], cache=True)
        assert ctx.eval("ready") == 2001
    assert delta(before)["misses"] == 2


def test_cache_directory_and_rejected_entries(vm: VM, tmp_path: Path) -> None:
    lib = tmp_path / "dir_bundle.js"
    lib.write_text(BUNDLE + "\nvar tag = 'dir';")
    cache = tmp_path / "cache"
    with vm.create_context() as ctx:
        ctx.load_libs([lib], cache_dir=cache)
    (entry,) = cache.glob("*.v8cache")
    assert entry.stat().st_size > 0
    # Damage the entry on disk (and note the process keeps its own copy in memory): a
    # fresh process would read the damaged file; here, run it through a subprocess.
    entry.write_bytes(b"\0" * entry.stat().st_size)
    from conftest import run_python

    proc = run_python(
        f"""
        from v8cffi import code_cache_stats
        from v8cffi.platform import platform
        platform.set_up()
        ctx = platform.create_vm().set_up().create_context()
        ctx.load_libs([{str(lib)!r}], cache_dir={str(cache)!r})
        print(ctx.eval("tag"), code_cache_stats())
        ctx2 = platform.create_vm().set_up().create_context()
        ctx2.load_libs([{str(lib)!r}], cache_dir={str(cache)!r})
        print(code_cache_stats())
        """
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "dir {'hits': 0, 'misses': 0, 'rejected': 1}"
    assert lines[1] == "{'hits': 1, 'misses': 0, 'rejected': 1}"
