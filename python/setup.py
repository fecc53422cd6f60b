"""The optional C extension (framesupplier._shmguard): without a compiler the package installs without it and copies frames."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("framesupplier._shmguard", ["src/framesupplier/_shmguard.c"], optional=True)])
