"""Source maps: errors of esbuild bundles of TypeScript (tests/fixtures/sourcemap, an
inline and an external map) show the .ts file, line, column, function and source
line, as ``node --enable-source-maps`` does; the generated position stays available;
broken maps fall back to generated positions; maps are parsed once per VM."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import v8cffi
from v8cffi import V8JSError, V8JSSyntaxError
from v8cffi.context import Context
from v8cffi.vm import VM

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sourcemap"
BUNDLES = ["bundle.js", "bundle-inline.js"]
SRC = FIXTURES / "src"


def error_of(ctx: Context, expr: str) -> V8JSError:
    with pytest.raises(V8JSError) as info:
        ctx.eval(expr, await_promise=True)
    return info.value


@pytest.mark.parametrize("bundle", BUNDLES)
def test_load_libs_maps_errors_to_the_typescript_sources(ctx: Context, bundle: str) -> None:
    ctx.load_libs([str(FIXTURES / bundle)])
    e = error_of(ctx, "app.renderAll([{count: 1}])")
    assert e.source_mapped
    assert e.name == "ValidationError"
    assert e.script_name == str(SRC / "errors.ts")
    assert e.line == 11
    assert e.source_line == "  throw new ValidationError(detail);"
    assert str(e).startswith(f"{SRC / 'errors.ts'}:11\n      throw new ValidationError(detail);\n      ^")
    assert e.stack is not None
    assert f"at failValidation ({SRC / 'errors.ts'}:11:9)" in e.stack
    assert f"at renderItem ({SRC / 'render.ts'}:11:5)" in e.stack
    # The generated position: the bundle, as V8 ran it.
    assert e.generated.script_name == str(FIXTURES / bundle)
    assert e.generated.line == 1
    assert e.generated.stack is not None and f"at m ({FIXTURES / bundle}:1:" in e.generated.stack
    assert e.generated.source_line is not None and e.generated.source_line.startswith("var app=")
    # Frames: the original positions and names, each with its generated frame.
    top = e.frames[0]
    assert (top.function_name, top.script_name, top.line, top.column) == (
        "failValidation",
        str(SRC / "errors.ts"),
        11,
        9,
    )
    assert top.generated is not None
    assert (top.generated.function_name, top.generated.script_name, top.generated.line) == (
        "m",
        str(FIXTURES / bundle),
        1,
    )
    originals = [str(SRC / n) for n in ("errors.ts", "render.ts", "main.ts")]
    assert [f.script_name for f in e.frames[:3]] == originals
    assert e.frames[-1].script_name == "<anonymous>" and e.frames[-1].generated is None


@pytest.mark.parametrize("bundle", BUNDLES)
def test_type_errors_and_rejections_are_mapped(ctx: Context, bundle: str) -> None:
    ctx.load_libs([str(FIXTURES / bundle)])
    e = error_of(ctx, "app.typeError()")
    assert (e.script_name, e.line, e.source_line) == (str(SRC / "main.ts"), 14, "  return missing.length;")
    assert e.frames[0].line == 14 and e.frames[0].column == 18
    rejected = error_of(ctx, "app.renderAsync({count: 2})")
    assert rejected.source_mapped
    assert [(f.script_name, f.line) for f in rejected.frames] == [
        (str(SRC / "errors.ts"), 11),
        (str(SRC / "render.ts"), 11),
        (str(SRC / "render.ts"), 18),
    ]
    # A call (no switch of its own) maps errors in the scripts loaded with maps.
    with pytest.raises(V8JSError) as info:
        ctx.call("app.renderAll", [{"count": 1}])
    assert info.value.script_name == str(SRC / "errors.ts")


def node_stacks() -> dict[str, dict[str, list[str]]]:
    """What Node 20 reports (run now when Node is there, else as recorded)."""
    node = shutil.which("node")
    if node is not None:
        out = subprocess.run(
            [node, "--enable-source-maps", str(FIXTURES / "node-expected.js")],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        result: dict[str, dict[str, list[str]]] = json.loads(out.stdout)
        return result
    recorded: dict[str, dict[str, list[str]]] = json.loads((FIXTURES / "node-expected.json").read_text())
    return recorded


FRAME = re.compile(r"^\s+at (?:(?P<name>.*) \()?(?P<file>[^()]*):(?P<line>\d+):(?P<col>\d+)\)?$")


@pytest.mark.parametrize("bundle", BUNDLES)
def test_mapped_positions_match_node(ctx: Context, bundle: str) -> None:
    expected = node_stacks()[bundle]
    ctx.load_libs([str(FIXTURES / bundle)])
    scenarios = {
        "sync": "app.renderAll([{count: 1}])",
        "type_error": "app.typeError()",
        "rejection": "app.renderAsync({count: 2})",
    }
    for scenario, expr in scenarios.items():
        e = error_of(ctx, expr)
        assert e.stack is not None
        ours = [m for m in map(FRAME.match, e.stack.split("\n")) if m]
        theirs = [m for m in map(FRAME.match, expected[scenario]) if m]
        prefix = f"{FIXTURES}/"
        ours = [m for m in ours if m["file"].startswith(prefix)]
        assert len(ours) == len(theirs), (scenario, e.stack, expected[scenario])
        for mine, node in zip(ours, theirs):
            assert mine["file"][len(prefix) :] == node["file"], scenario
            assert (mine["line"], mine["col"]) == (node["line"], node["col"]), scenario
            # Names: Node also looks at the enclosing function's start, which V8's C++
            # API does not give; where Node names a function we name it the same or
            # keep V8's (`<anonymous>` for the arrow function Node calls `item`).
            if node["name"] in ("failValidation", "renderItem", "Object.x", "Object.y", "a"):
                assert mine["name"] == node["name"], scenario
        assert e.stack.split("\n")[0] == expected[scenario][0]


def test_run_script_maps_only_with_the_switch(ctx: Context) -> None:
    source = (FIXTURES / "bundle-inline.js").read_text()
    ctx.run_script(source, str(FIXTURES / "bundle-inline.js"))
    e = error_of(ctx, "app.renderAll([{count: 1}])")
    assert not e.source_mapped
    assert e.script_name == str(FIXTURES / "bundle-inline.js")
    assert e.generated.script_name == e.script_name and e.generated.line == e.line
    assert e.frames[0].function_name == "m" and e.frames[0].generated is None
    ctx.run_script(source, str(FIXTURES / "bundle-inline.js"), source_maps=True)
    e = error_of(ctx, "app.renderAll([{count: 1}])")
    assert e.source_mapped and e.script_name == str(SRC / "errors.ts")


@pytest.mark.parametrize("padding", [0, 3000, 300_000])
def test_inline_maps_of_any_size_are_used(ctx: Context, padding: int) -> None:
    # URLs past 4096 characters (most inline bundles) are read from V8 when needed;
    # they were taken as an empty URL, and the map was never used.
    map_ = {
        "version": 3,
        "sources": ["a.ts"],
        "names": [],
        "mappings": "AAAA;AACA,SAAS",
        "sourcesContent": ["// " + "x" * padding + "\nfunction f() {}"],
    }
    url = "data:application/json;base64," + base64.b64encode(json.dumps(map_).encode()).decode()
    source = f"0;\nfunction f(){{throw new Error('b')}}\nf()\n//# sourceMappingURL={url}\n"
    with pytest.raises(V8JSError) as info:
        ctx.run_script(source, "/tmp/inline-size.js", source_maps=True)
    assert info.value.source_mapped
    assert info.value.script_name is not None and info.value.script_name.endswith("a.ts")


def test_a_fifo_as_the_map_is_not_waited_for(ctx: Context, tmp_path: Path) -> None:
    # Opening a FIFO to read waits for a writer: it blocked the VM for good.
    import os

    os.mkfifo(tmp_path / "fifo.map")
    source = "function f(){throw new Error('x')}\nf()\n//# sourceMappingURL=fifo.map\n"
    with pytest.raises(V8JSError) as info:
        ctx.run_script(source, str(tmp_path / "app.js"), source_maps=True, timeout=5)
    assert not info.value.source_mapped
    assert ctx.eval("1 + 1") == 2


def test_load_libs_can_turn_maps_off(ctx: Context) -> None:
    ctx.load_libs([str(FIXTURES / "bundle.js")], source_maps=False)
    assert not error_of(ctx, "app.renderAll([{count: 1}])").source_mapped


def test_eval_and_modules_take_the_switch(ctx: Context, tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "bundle.js", tmp_path / "bundle.js")
    shutil.copy(FIXTURES / "bundle.js.map", tmp_path / "bundle.js.map")
    ctx.eval((tmp_path / "bundle.js").read_text(), str(tmp_path / "bundle.js"), source_maps=True)
    assert error_of(ctx, "app.typeError()").script_name == str(tmp_path / "src" / "main.ts")
    module = (FIXTURES / "bundle-inline.js").read_text().replace("var app=", "globalThis.app=", 1)
    ctx.run_module(module, str(tmp_path / "mod.js"), source_maps=True)
    assert error_of(ctx, "app.typeError()").script_name == str(tmp_path / "src" / "main.ts")


def bundle_with_url(tmp_path: Path, url: str) -> Path:
    code = (FIXTURES / "bundle.js").read_text().rsplit("//# sourceMappingURL=", 1)[0]
    path = tmp_path / "dist" / "app.js"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"{code}//# sourceMappingURL={url}\n")
    return path


@pytest.mark.parametrize(
    "url",
    [
        "data:application/json;base64," + base64.b64encode(b"{not json").decode(),
        "data:application/json;base64," + base64.b64encode(b"\xff\xfe\x00garbage").decode(),
        "data:application/json;base64,@@@@",
        "data:application/json,%7B%22version%22%3A3%2C%22mappings%22%3A%22%24%24%24%22%7D",
        "missing.js.map",
        "../outside.js.map",
        "/etc/passwd",
        "http://127.0.0.1:9/app.js.map",
    ],
)
def test_broken_maps_fall_back_to_generated_positions(ctx: Context, tmp_path: Path, url: str) -> None:
    shutil.copy(FIXTURES / "bundle.js.map", tmp_path / "outside.js.map")
    path = bundle_with_url(tmp_path, url)
    ctx.load_libs([str(path)])
    e = error_of(ctx, "app.renderAll([{count: 1}])")
    assert not e.source_mapped
    assert e.script_name == str(path)
    assert e.stack is not None and f"at m ({path}:1:" in e.stack


def test_a_syntax_error_in_a_mapped_file_keeps_its_generated_position(ctx: Context, tmp_path: Path) -> None:
    path = bundle_with_url(tmp_path, "app.js.map")
    shutil.copy(FIXTURES / "bundle.js.map", path.parent / "app.js.map")
    ctx.load_libs([str(path)])
    path.write_text("function (\n//# sourceMappingURL=app.js.map\n")
    with pytest.raises(V8JSSyntaxError) as info:
        ctx.load_libs([str(path)])
    assert info.value.script_name == str(path) and not info.value.source_mapped


def test_maps_are_parsed_once_per_vm(vm: VM, tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "bundle.js", tmp_path / "bundle.js")
    shutil.copy(FIXTURES / "bundle.js.map", tmp_path / "bundle.js.map")
    before = v8cffi.source_map_stats()["parsed"]
    first = vm.create_context()
    first.load_libs([str(tmp_path / "bundle.js")])
    for _ in range(3):
        assert error_of(first, "app.typeError()").source_mapped
    assert v8cffi.source_map_stats()["parsed"] == before + 1
    # Gone from disk: the cached map still maps, in another context of the VM too.
    (tmp_path / "bundle.js.map").unlink()
    second = vm.create_context()
    second.load_libs([str(tmp_path / "bundle.js")])
    assert error_of(second, "app.typeError()").script_name == str(tmp_path / "src" / "main.ts")
    assert v8cffi.source_map_stats()["parsed"] == before + 1
    first.tear_down()
    second.tear_down()


def test_relative_names_resolve_against_the_current_directory(
    ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(FIXTURES / "bundle.js", tmp_path / "bundle.js")
    shutil.copy(FIXTURES / "bundle.js.map", tmp_path / "bundle.js.map")
    monkeypatch.chdir(tmp_path)
    ctx.load_libs(["bundle.js"])
    e = error_of(ctx, "app.typeError()")
    assert (e.script_name, e.generated.script_name) == ("src/main.ts", "bundle.js")
    # Without sourcesContent, the line comes from the original file next to the map.
    source = (FIXTURES / "bundle.js").read_text()
    mapping = json.loads((FIXTURES / "bundle.js.map").read_text())
    del mapping["sourcesContent"]
    (tmp_path / "plain.js.map").write_text(json.dumps(mapping))
    (tmp_path / "src").mkdir()
    shutil.copy(SRC / "main.ts", tmp_path / "src" / "main.ts")
    ctx.run_script(source.replace("bundle.js.map", "plain.js.map"), "plain.js", source_maps=True)
    e = error_of(ctx, "app.typeError()")
    assert (e.script_name, e.source_line) == ("src/main.ts", "  return missing.length;")


def test_frames_come_from_v8s_stack_text_only(ctx: Context) -> None:
    """In a VM without mapped scripts the frames are read from V8's stack text: only the
    `at` lines after the error's own header, so a message cannot pass for frames."""
    ctx.run_script("function inner() { throw new Error('m\\n    at evil (evil.js:9:9)'); }", "lib.js")
    with pytest.raises(V8JSError) as info:
        ctx.run_script("inner();", "main.js")
    assert [(f.function_name, f.script_name, f.line) for f in info.value.frames] == [
        ("inner", "lib.js", 1),
        ("", "main.js", 1),
    ]
    with pytest.raises(V8JSError) as thrown:
        ctx.run_script("throw { stack: 'Error: x\\n    at f (forged.js:1:1)' };", "main.js")
    assert thrown.value.frames == []
