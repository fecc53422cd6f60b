"""The model server's flags, parsed apart from what runs them: ``cli`` (the command and ``serve_with_flags``)
and the deprecated ``serve(argv=...)`` both read them here, so neither module needs the other.

``ServeArgs`` is ``serve()``'s arguments; ``apply_script_flags()`` lays a script's flags over them (flags it does
not know are left to the script) and installs the JSON-lines log handler.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import cast

from .limits import LIMIT_NAMES, Limits
from .logs import install_fault_report, install_json_logging
from .store import DEFAULT_SHM_DIR, FrameAccessChoice


@dataclass(frozen=True)
class ServeArgs:
    model_id: str
    socket: str
    threads: int = 1
    input_long_side: int | None = None
    shm_dir: str = DEFAULT_SHM_DIR
    frame_access: FrameAccessChoice = "auto"
    limits: Limits | None = None


def parser(model_argument: bool) -> argparse.ArgumentParser:
    """The flags; with ``model_argument``, the command's (MODEL first, ``--socket`` and ``--model-id`` required)."""
    parsed = argparse.ArgumentParser(
        prog="python -m framesupplier.serve" if model_argument else None,
        description="a framesupplier model server (docs/python.md)",
    )
    if model_argument:
        parsed.add_argument("model", help="module:function or file.py:function (infer), or module:factory() returning it")
    parsed.add_argument("--socket", required=model_argument)
    parsed.add_argument("--model-id", required=model_argument)
    parsed.add_argument("--shm-dir")
    parsed.add_argument("--threads", "--concurrency", type=int, dest="threads")
    parsed.add_argument("--input-long-side", type=int)
    parsed.add_argument("--frame-access", choices=("auto", "copy"))
    parsed.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info")
    for name in LIMIT_NAMES:
        parsed.add_argument("--" + name.replace("_", "-"), type=int, dest=name)
    return parsed


def limits_over(flags: argparse.Namespace, limits: Limits | None) -> Limits:
    """The limits given as flags over ``limits`` (ServerError ERR_PY_INVALID_OPTION for a value out of range)."""
    given = {name: getattr(flags, name) for name in LIMIT_NAMES if getattr(flags, name) is not None}
    return replace(limits or Limits(), **given)


def install_logging(flags: argparse.Namespace) -> None:
    install_json_logging(getattr(logging, str(flags.log_level).upper()))
    install_fault_report()  # a fault in a model's native code (torch, numpy) then leaves the Python stacks on stderr


def apply_script_flags(args: ServeArgs, argv: Sequence[str]) -> ServeArgs:
    """``args`` with a script's flags laid over them; the log handler installed. Raises ServerError for a bad limit."""
    flags, _ = parser(False).parse_known_args(list(argv))
    install_logging(flags)
    return ServeArgs(
        model_id=flags.model_id or args.model_id,
        socket=flags.socket or args.socket,
        threads=flags.threads or args.threads,
        input_long_side=flags.input_long_side or args.input_long_side,
        shm_dir=flags.shm_dir or args.shm_dir,
        frame_access=cast(FrameAccessChoice, flags.frame_access or args.frame_access),
        limits=limits_over(flags, args.limits),
    )


__all__ = ["ServeArgs", "apply_script_flags", "install_logging", "limits_over", "parser"]
