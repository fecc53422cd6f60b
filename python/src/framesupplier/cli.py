"""The model server's command line: ``python -m framesupplier.serve MODEL --model-id ID --socket PATH ...``.

MODEL names the model: ``package.module:function`` (imported) or ``path/to/file.py:function``
(loaded from the file), the function being ``infer(frame)``; with ``:factory()`` it is called
first, with no arguments, and what it returns is ``infer`` (a model loaded once at start). The flags
are ``serve()``'s arguments, and every limit of ``Limits`` (``--handler-timeout-ms 2000``). The CLI
installs the JSON-lines log handler (logs.py) and returns ``serve()``'s exit code; it exits 2 with
ERR_PY_INVALID_OPTION or ERR_PY_MODEL_LOAD on stderr when it cannot start.

``serve_with_flags(infer, model_id=..., socket=...)`` is the same for a script that is its own
command: the arguments are defaults, and the script's flags override them.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import cast

from .errors import ServerError
from .inference import Infer
from .limits import LIMIT_NAMES, Limits
from .logs import install_json_logging
from .server import serve
from .store import DEFAULT_SHM_DIR, FrameAccessChoice


def _parser(model_argument: bool) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m framesupplier.serve" if model_argument else None,
        description="a framesupplier model server (docs/python.md)",
    )
    if model_argument:
        parser.add_argument("model", help="module:function or file.py:function (infer), or module:factory() returning it")
    parser.add_argument("--socket", required=model_argument)
    parser.add_argument("--model-id", required=model_argument)
    parser.add_argument("--shm-dir")
    parser.add_argument("--threads", "--concurrency", type=int, dest="threads")
    parser.add_argument("--input-long-side", type=int)
    parser.add_argument("--frame-access", choices=("auto", "copy"))
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info")
    for name in LIMIT_NAMES:
        parser.add_argument("--" + name.replace("_", "-"), type=int, dest=name)
    return parser


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


def _flags_over(flags: argparse.Namespace, limits: Limits | None) -> Limits:
    given = {name: getattr(flags, name) for name in LIMIT_NAMES if getattr(flags, name) is not None}
    return replace(limits or Limits(), **given)


def _install_logging(flags: argparse.Namespace) -> None:
    install_json_logging(getattr(logging, str(flags.log_level).upper()))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m framesupplier.serve``: returns the exit code (0 after a drain, 2 if it cannot start)."""
    flags = _parser(True).parse_args(list(sys.argv[1:] if argv is None else argv))
    _install_logging(flags)
    try:
        infer = load_model(flags.model)
        limits = _flags_over(flags, None)
    except ServerError as error:
        sys.stderr.write(f"framesupplier: {error}\n")
        return 2
    return serve(
        infer,
        model_id=flags.model_id,
        socket=flags.socket,
        threads=flags.threads if flags.threads is not None else 1,
        input_long_side=flags.input_long_side,
        shm_dir=flags.shm_dir or DEFAULT_SHM_DIR,
        frame_access=cast(FrameAccessChoice, flags.frame_access or "auto"),
        limits=limits,
    )


def serve_with_flags(
    infer: Infer,
    *,
    model_id: str,
    socket: str,
    threads: int = 1,
    input_long_side: int | None = None,
    shm_dir: str = DEFAULT_SHM_DIR,
    frame_access: FrameAccessChoice = "auto",
    limits: Limits | None = None,
    argv: Sequence[str] | None = None,
) -> int:
    """``serve()`` for a script that is its own command: its flags (``argv``, default ``sys.argv[1:]``) override these.

    Flags it does not know are left to the script (``parse_known_args``); JSON-lines logs on stderr.
    """
    flags, _ = _parser(False).parse_known_args(list(sys.argv[1:] if argv is None else argv))
    _install_logging(flags)
    try:
        merged = _flags_over(flags, limits)
    except ServerError as error:
        sys.stderr.write(f"framesupplier: {error}\n")
        return 2
    return serve(
        infer,
        model_id=flags.model_id or model_id,
        socket=flags.socket or socket,
        threads=flags.threads or threads,
        input_long_side=flags.input_long_side or input_long_side,
        shm_dir=flags.shm_dir or shm_dir,
        frame_access=cast(FrameAccessChoice, flags.frame_access or frame_access),
        limits=merged,
    )


__all__ = ["load_model", "main", "serve_with_flags"]
