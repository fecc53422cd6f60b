"""The build of framesupplier for Python: the package (pyproject.toml) and its optional C extension.

- framesupplier._shmguard is the SIGBUS guard shared with the Node addon: its C source is one file,
  sigbus_guard.c, found beside this directory (../native, in the repository and in the npm package)
  or in csrc/ (an sdist carries it there). Without it, or without a compiler, the package installs
  without the extension and copies frames instead of mapping them.
- The build happens out of tree: build/ and the egg-info go to a temporary directory, so installing
  from a read-only copy (node_modules/framesupplier/python) works and leaves the copy untouched.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

from setuptools import Extension, setup
from setuptools.command.sdist import sdist

HERE = os.path.dirname(os.path.abspath(__file__))
GUARD_FILES = ("sigbus_guard.c", "sigbus_guard.h")


def guard_dir() -> str | None:
    for candidate in (os.path.join(HERE, "csrc"), os.path.join(HERE, "..", "native")):
        if all(os.path.isfile(os.path.join(candidate, name)) for name in GUARD_FILES):
            return os.path.normpath(candidate)
    return None


class SdistWithGuard(sdist):
    """An sdist that carries the shared SIGBUS guard in csrc/, where the build looks first."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        found = guard_dir()
        if found is None:
            raise SystemExit("framesupplier: no sigbus_guard.c beside this package (../native or csrc/): cannot make a complete sdist")
        os.makedirs(os.path.join(base_dir, "csrc"), exist_ok=True)
        for name in GUARD_FILES:
            shutil.copyfile(os.path.join(found, name), os.path.join(base_dir, "csrc", name))


OUT_OF_TREE = tempfile.mkdtemp(prefix="framesupplier-build-")
atexit.register(shutil.rmtree, OUT_OF_TREE, ignore_errors=True)

GUARD = guard_dir()
if GUARD is None:
    sys.stderr.write("framesupplier: sigbus_guard.c not found (../native or csrc/): building without _shmguard, frames will be copied\n")
extensions = (
    []
    if GUARD is None
    else [Extension("framesupplier._shmguard", ["src/framesupplier/_shmguard.c"], include_dirs=[GUARD], depends=[os.path.join(GUARD, n) for n in GUARD_FILES], optional=True)]
)

setup(
    ext_modules=extensions,
    cmdclass={"sdist": SdistWithGuard},
    options={
        "build": {"build_base": os.path.join(OUT_OF_TREE, "build")},
        "egg_info": {"egg_base": OUT_OF_TREE},
    },
)
