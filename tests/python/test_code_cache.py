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


def test_an_entry_damaged_past_v8s_header_is_rejected_before_v8_reads_it(vm: VM, tmp_path: Path) -> None:
    # V8 checks its own header, not the compiled code after it: one flipped byte there
    # used to crash the process ("unreachable code", a sandbox violation) or run wrong
    # code. Our header's checksum sees it, at any offset; appended bytes too. Each
    # library has an entry of its own, damaged at another offset, read by a fresh process.
    cache = tmp_path / "damaged_cache"
    libs = []
    for i in range(41):
        lib = tmp_path / f"damaged{i}.js"
        lib.write_text(f"function big() {{ return 41 + {i} }}\nvar parts = [1, 2, 3].map((x) => x * {i});")
        before = set(cache.glob("*.v8cache"))
        with vm.create_context() as ctx:
            ctx.load_libs([lib], cache_dir=cache)
        (entry,) = set(cache.glob("*.v8cache")) - before
        good = entry.read_bytes()
        if i == 40:
            entry.write_bytes(good + b"\0" * 4096)
        else:
            at = i * len(good) // 40
            entry.write_bytes(good[:at] + bytes([good[at] ^ 0x41]) + good[at + 1 :])
        libs.append(str(lib))
    from conftest import run_python

    check = f"""
        from v8cffi import code_cache_stats
        from v8cffi.platform import platform
        platform.set_up()
        vm = platform.create_vm().set_up()
        for i, lib in enumerate({libs!r}):
            with vm.create_context() as ctx:
                ctx.load_libs([lib], cache_dir={str(cache)!r})
                assert ctx.call("big") == 41 + i and ctx.eval("parts") == [i, 2 * i, 3 * i]
        print(code_cache_stats())
        """
    proc = run_python(check)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "{'hits': 0, 'misses': 0, 'rejected': 41}"
    proc = run_python(check)  # each was replaced by a good entry
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "{'hits': 41, 'misses': 0, 'rejected': 0}"


def test_an_entry_held_in_memory_is_written_to_a_cache_directory_that_lacks_it(
    vm: VM, tmp_path: Path
) -> None:
    lib = tmp_path / "memory_then_dir.js"
    lib.write_text(BUNDLE + "\nvar tag = 'memory then dir';")
    with vm.create_context() as ctx:
        ctx.load_libs([lib], cache=True)  # in memory only
    cache = tmp_path / "later_dir"
    with vm.create_context() as ctx:
        ctx.load_libs([lib], cache_dir=cache)  # a hit from memory: the next process needs the file
        assert ctx.eval("tag") == "memory then dir"
    assert len(list(cache.glob("*.v8cache"))) == 1
    from conftest import run_python

    proc = run_python(
        f"""
        from v8cffi import code_cache_stats
        from v8cffi.platform import platform
        platform.set_up()
        ctx = platform.create_vm().set_up().create_context()
        ctx.load_libs([{str(lib)!r}], cache_dir={str(cache)!r})
        print(ctx.eval("tag"), code_cache_stats())
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "memory then dir {'hits': 1, 'misses': 0, 'rejected': 0}"


def test_an_empty_cache_directory_is_refused(vm: VM, tmp_path: Path) -> None:
    import pytest

    from v8cffi.exceptions import V8ArgumentError

    lib = tmp_path / "empty_dir.js"
    lib.write_text("var x = 1;")
    with vm.create_context() as ctx, pytest.raises(V8ArgumentError, match="empty path"):
        ctx.load_libs([lib], cache_dir="")
