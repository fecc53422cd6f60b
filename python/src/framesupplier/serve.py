"""``python -m framesupplier.serve MODEL --model-id ID --socket PATH ...``: a model server from the command line (cli.py).

Imported (rather than run with ``-m``), this module takes the place of the ``framesupplier.serve``
function on the package, so it is callable as that function too: ``framesupplier.serve(infer, ...)``
keeps working after ``import framesupplier.serve``.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from . import server
from .cli import main


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> int:
        return server.serve(*args, **kwargs)


if __name__ == "__main__":
    sys.exit(main())
else:
    sys.modules[__name__].__class__ = _CallableModule
