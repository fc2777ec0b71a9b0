"""Builds libv8rs.so with cargo (through setuptools-rust) into the v8cffi package.

On machines without internet access to the V8 download, the prebuilt V8 library in
``../shared/rusty_v8`` (or ``$V8RS_SHARED/rusty_v8``) is used when it is there;
otherwise the v8 crate downloads its library as usual.
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup
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


use_local_v8_archive()

setup(
    rust_extensions=[
        RustExtension(
            "v8cffi.libv8rs",
            path="Cargo.toml",
            binding=Binding.NoBinding,
            debug=False,
        )
    ],
)
