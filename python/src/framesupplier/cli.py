"""The model server's command line: ``python -m framesupplier.serve MODEL --model-id ID --socket PATH ...``.

MODEL names the model: ``package.module:function`` (imported) or ``path/to/file.py:function``
(loaded from the file), the function being ``infer(frame)``; with ``:factory()`` it is called
first, with no arguments, and what it returns is ``infer`` (a model loaded once at start). The flags
are ``serve()``'s arguments, and every limit of ``Limits`` (``--handler-timeout-ms 2000``). The CLI
installs the JSON-lines log handler (logs.py) and returns ``serve()``'s exit code; it exits 2 with
ERR_PY_INVALID_OPTION or ERR_PY_MODEL_LOAD on stderr when it cannot start.

``serve_with_flags(infer, model_id=..., socket=...)`` (or ``serve_with_flags(infer, ServeOptions(...))``)
is the same for a script that is its own command: the options are defaults, and the script's flags
override them.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from typing import Any, cast

from .errors import ServerError
from .flags import apply_script_flags, install_logging, options_over, parser
from .inference import BatchInfer, Infer
from .options import ServeOptions
from .server import serve


def load_model(spec: str) -> Infer:
    """``module:attr``, ``file.py:attr`` or either with ``attr()`` (a factory called once): the model's ``infer``."""
    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr:
        raise ServerError("ERR_PY_INVALID_OPTION", f"the model is module:function or file.py:function, got {spec!r}")
    factory = attr.endswith("()")
    name = attr[:-2] if factory else attr
    try:
        if where.endswith(".py") or os.sep in where:
            path = os.path.abspath(where)
            module_spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
            if module_spec is None or module_spec.loader is None:
                raise ServerError("ERR_PY_MODEL_LOAD", f"cannot load {path} as Python")
            module = importlib.util.module_from_spec(module_spec)
            sys.path.insert(0, os.path.dirname(path))  # the model's own modules beside it
            module_spec.loader.exec_module(module)
        else:
            sys.path.insert(0, os.getcwd())  # as `python -m` does for the user's modules
            module = importlib.import_module(where)
    except ServerError:
        raise
    except Exception as error:
        raise ServerError("ERR_PY_MODEL_LOAD", f"cannot import {where}: {type(error).__name__}: {error}") from error
    found = getattr(module, name, None)
    if found is None:
        raise ServerError("ERR_PY_MODEL_LOAD", f"{where} has no {name}")
    if factory:
        try:
            found = found()
        except Exception as error:
            raise ServerError("ERR_PY_MODEL_LOAD", f"{where}:{attr} failed: {type(error).__name__}: {error}") from error
    if not callable(found):
        raise ServerError("ERR_PY_MODEL_LOAD", f"{spec} is a {type(found).__name__}, not a function of a frame")
    return cast(Infer, found)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m framesupplier.serve``: returns the exit code (0 after a drain, 2 if it cannot start)."""
    flags = parser(True).parse_args(list(sys.argv[1:] if argv is None else argv))
    install_logging(flags)
    try:
        infer = load_model(flags.model)
        options = options_over(flags, None)
    except ServerError as error:
        sys.stderr.write(f"framesupplier: {error}\n")
        return 2
    return serve(infer, options)


def serve_with_flags(infer: Infer | BatchInfer, options: ServeOptions | None = None, /, *, argv: Sequence[str] | None = None, **keywords: Any) -> int:
    """``serve()`` for a script that is its own command: its flags (``argv``, default ``sys.argv[1:]``) override
    ``options`` and ``keywords`` (``ServeOptions``' fields, as ``serve()`` takes them).

    Flags it does not know are left to the script (``parse_known_args``); JSON-lines logs on stderr.
    """
    try:
        given = apply_script_flags(ServeOptions.of(options, keywords), sys.argv[1:] if argv is None else argv)
    except ServerError as error:
        sys.stderr.write(f"framesupplier: {error}\n")
        return 2
    return serve(infer, given)


__all__ = ["load_model", "main", "serve_with_flags"]
