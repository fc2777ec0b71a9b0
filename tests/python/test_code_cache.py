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


def test_the_cache_is_made_again_after_the_first_call(vm: VM, tmp_path: Path) -> None:
    # The top level defines functions and runs none: the entry made right after the
    # load holds little code; after the first call it also holds what that call ran.
    lib = tmp_path / "lazy_bundle.js"
    body = "\n".join(f"  function step{i}(x) {{ return x + {i} }}" for i in range(300))
    calls = " + ".join(f"step{i}(x)" for i in range(300))
    lib.write_text(f"var api = (() => {{\n{body}\n  return {{ run: (x) => {calls} }};\n}})();")
    cache = tmp_path / "refresh_cache"
    with vm.create_context() as ctx:
        ctx.load_libs([lib], cache_dir=cache)
        (entry,) = cache.glob("*.v8cache")
        after_load = entry.stat().st_size
        ctx.load_libs([lib], cache_dir=cache)  # another load is not the call
        assert entry.stat().st_size == after_load
        assert ctx.call("api.run", 1) == 300 + sum(range(300))
        after_call = entry.stat().st_size
        assert after_call > after_load
        ctx.call("api.run", 2)  # made again once only
        assert entry.stat().st_size == after_call
    before = code_cache_stats()
    with vm.create_context() as ctx:  # the refreshed entry is accepted
        ctx.load_libs([lib], cache_dir=cache)
        assert ctx.call("api.run", 0) == sum(range(300))
    assert delta(before) == {"hits": 1, "misses": 0, "rejected": 0}


def test_vms_from_other_startup_snapshots_keep_entries_of_their_own(tmp_path: Path) -> None:
    # V8 rejects code cached under another startup snapshot: one entry for all made
    # VMs of other kinds reject it, drop it and store theirs, over and over.
    from v8cffi.platform import platform

    lib = tmp_path / "lib.js"
    lib.write_text("\n".join(f"function f{i}(x) {{ return x + {i} }}" for i in range(200)))
    snapshot = platform.create_snapshot(["var fromSnapshot = 1"], isolated=False)
    seen = []
    before = code_cache_stats()
    for kind in ["plain", "snapshot"] * 3:
        with platform.create_vm(snapshot=snapshot if kind == "snapshot" else None) as vm:
            ctx = vm.create_context()
            ctx.load_libs([lib], cache=True, cache_dir=tmp_path / "cache")
            assert ctx.call("f7", 1) == 8
        after = code_cache_stats()
        seen.append({k: after[k] - before[k] for k in after})
        before = after
    assert [s["misses"] for s in seen] == [1, 1, 0, 0, 0, 0]
    assert [s["hits"] for s in seen] == [0, 0, 1, 1, 1, 1]
    assert all(s["rejected"] == 0 for s in seen)
