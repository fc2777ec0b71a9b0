"""Checks, on import, that this is v8rs alone: the original v8-cffi installs the same
import package (``v8cffi``), so with both installed their files are mixed in one folder.
Its build script, ``v8_build.py``, is the file only it has."""

from __future__ import annotations

import os

#: A file only the original v8-cffi installs into the package folder.
ORIGINAL_MARKER = "v8_build.py"


def check(folder: str) -> None:
    """Raises ``ImportError`` when the original v8-cffi was installed into ``folder``."""
    if os.path.exists(os.path.join(folder, ORIGINAL_MARKER)):
        raise ImportError(
            "v8cffi: both v8rs and the original v8-cffi are installed, and both install the "
            "package 'v8cffi' into the same folder, so its files are now a mix of the two. "
            "Uninstall both (pip uninstall -y v8-cffi v8rs), then install the one you want "
            "(see 'Coming from v8-cffi' in the v8rs docs)."
        )
