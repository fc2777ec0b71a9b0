"""Builds libv8rs.so with cargo (through setuptools-rust) into the v8cffi package.

On machines without internet access to the V8 download, the prebuilt V8 library in
``../shared/rusty_v8`` (or ``$V8RS_SHARED/rusty_v8``) is used when it is there;
otherwise the v8 crate downloads its library as usual.
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_ext import build_ext
from setuptools_rust import Binding, RustExtension

HERE = Path(__file__).resolve().parent
ARCHIVE = "librusty_v8_release_x86_64-unknown-linux-gnu.a.gz"


def use_local_v8_archive() -> None:
    """Sets RUSTY_V8_ARCHIVE to a local prebuilt V8 folder, when one exists."""
    if os.environ.get("RUSTY_V8_ARCHIVE"):
        return
    roots = [os.environ.get("V8RS_SHARED"), HERE.parent / "shared"]
    for root in filter(None, roots):
        folder = Path(root) / "rusty_v8"
        if (folder / ARCHIVE).is_file():
            os.environ["RUSTY_V8_ARCHIVE"] = str(folder)
            return


class AbiNeutralWheel(bdist_wheel):
    """Tags the wheel ``py3-none-<platform>``: the package loads libv8rs.so with cffi in
    ABI mode, so one wheel serves every CPython 3 (and PyPy) on the platform."""

    def get_tag(self) -> tuple[str, str, str]:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


class PlainLibraryName(build_ext):
    """Installs the library as ``v8cffi/libv8rs.so``: it is a C library loaded with
    ``dlopen``, not a CPython extension, so its name carries no Python version."""

    def get_ext_fullpath(self, ext_name: str) -> str:
        path: str = super().get_ext_fullpath(ext_name)
        if ext_name == "v8cffi.libv8rs":
            path = os.path.join(os.path.dirname(path), "libv8rs.so")
        return path


use_local_v8_archive()

setup(
    cmdclass={"bdist_wheel": AbiNeutralWheel, "build_ext": PlainLibraryName},
    rust_extensions=[
        RustExtension(
            "v8cffi.libv8rs",
            path="Cargo.toml",
            binding=Binding.NoBinding,
            debug=False,
        )
    ],
)
