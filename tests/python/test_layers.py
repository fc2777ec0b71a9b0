"""The package's layers point one way: each module imports only modules below it, one
module (``_native``) loads the library and makes every call, and no module writes
another object's private state."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "v8cffi"

#: Each module's layer, the bottom one first: a module may import only lower layers.
LAYERS = {
    "_constants": 0,
    "_ffi": 0,
    "_ffi_build": 0,
    "_install": 0,
    "_console": 0,
    "exceptions": 1,
    "values": 2,
    "web": 2,
    "node": 2,
    "_native": 3,
    "_managed": 4,
    "_streams": 4,
    "_fetch": 4,
    "_async": 5,
    "_snapshot": 5,
    "context": 6,
    "inspector": 6,
    "vm": 7,
    "platform": 8,
    "shortcuts": 9,
    "pool": 9,
    "__init__": 10,
    "__main__": 11,
}


def modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text()) for path in sorted(PACKAGE.glob("*.py"))}


def imported(tree: ast.Module) -> list[tuple[str, int]]:
    """``(module, line)`` of each package module imported at run time (not under
    ``if TYPE_CHECKING:``)."""
    found: list[tuple[str, int]] = []
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            type_only.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.append((node.module.split(".")[0], node.lineno))
            else:
                found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("v8cffi"):
            parts = node.module.split(".")
            names = [parts[1]] if len(parts) > 1 else [alias.name for alias in node.names]
            found.extend((name, node.lineno) for name in names)
    return found


def test_every_module_has_a_layer() -> None:
    assert set(modules()) == set(LAYERS)


def test_imports_only_point_down() -> None:
    upward = []
    for name, tree in modules().items():
        for target, line in imported(tree):
            if target in LAYERS and LAYERS[target] >= LAYERS[name] and target != name:
                upward.append(f"v8cffi/{name}.py:{line} imports {target}")
    assert upward == []


def test_only_the_glue_module_touches_the_library() -> None:
    for name, tree in modules().items():
        if name in ("_native", "_ffi", "_ffi_build"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("lib", "ffi"):
                pytest.fail(f"v8cffi/{name}.py:{node.lineno} uses .{node.attr}")
        assert "_ffi" not in [target for target, _ in imported(tree)], name


def test_no_module_writes_another_objects_private_state() -> None:
    for name, tree in modules().items():
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr.startswith("_")
                    and not target.attr.startswith("__")
                    and not (isinstance(target.value, ast.Name) and target.value.id in ("self", "cls"))
                ):
                    pytest.fail(f"v8cffi/{name}.py:{target.lineno} writes {ast.unparse(target)}")
