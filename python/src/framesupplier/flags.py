"""The model server's flags, parsed apart from what runs them: ``cli`` (the command and ``serve_with_flags``)
and the deprecated ``serve(argv=...)`` both read them here, so neither module needs the other.

Each flag is a ``ServeOptions`` field (``--model-id``, ``--threads``...) or a ``Limits`` one
(``--handler-timeout-ms``); ``options_over()`` lays the flags given over a ``ServeOptions``, and
``apply_script_flags()`` does it for a script's own command line (flags it does not know are left to the
script) and installs the JSON-lines log handler.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .limits import LIMIT_NAMES, Limits
from .logs import install_fault_report, install_json_logging
from .options import ServeOptions

OPTION_FLAGS = ("model_id", "socket", "threads", "input_long_side", "shm_dir", "frame_access", "max_batch")
"""The ServeOptions fields that are flags of their own (limits are flags each)."""


def parser(model_argument: bool) -> argparse.ArgumentParser:
    """The flags; with ``model_argument``, the command's (MODEL first, ``--socket`` and ``--model-id`` required)."""
    parsed = argparse.ArgumentParser(
        prog="python -m framesupplier.serve" if model_argument else None,
        description="a framesupplier model server (docs/python.md)",
        allow_abbrev=False,  # a script's own --model must not be read as --model-id
    )
    if model_argument:
        parsed.add_argument("model", help="module:function or file.py:function (infer), or module:factory() returning it")
    parsed.add_argument("--socket", required=model_argument)
    parsed.add_argument("--model-id", required=model_argument)
    parsed.add_argument("--shm-dir")
    parsed.add_argument("--threads", "--concurrency", type=int, dest="threads")
    parsed.add_argument("--input-long-side", type=int)
    parsed.add_argument("--frame-access", choices=("auto", "copy"))
    parsed.add_argument("--max-batch", type=int, help="infer(frames): up to N waiting cameras' newest frames a call, never waiting for more")
    parsed.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info")
    for name in LIMIT_NAMES:
        parsed.add_argument("--" + name.replace("_", "-"), type=int, dest=name)
    return parsed


def limits_over(flags: argparse.Namespace, limits: Limits | None) -> Limits:
    """The limits given as flags over ``limits`` (ServerError ERR_PY_INVALID_OPTION for a value out of range)."""
    given = {name: getattr(flags, name) for name in LIMIT_NAMES if getattr(flags, name) is not None}
    return replace(limits or Limits(), **given)


def options_over(flags: argparse.Namespace, options: ServeOptions | None) -> ServeOptions:
    """The options given as flags (a flag left out keeps the option's value) over ``options``; from the flags
    alone (the command's, where ``--model-id`` and ``--socket`` are required) without it. Raises ServerError
    ERR_PY_INVALID_OPTION for a value out of its domain (a script's ``--threads 0`` too, as the command's)."""
    given: dict[str, Any] = {name: getattr(flags, name) for name in OPTION_FLAGS if getattr(flags, name) is not None}
    given["limits"] = limits_over(flags, None if options is None else options.limits)
    return ServeOptions.of(options, given)


def install_logging(flags: argparse.Namespace) -> None:
    install_json_logging(getattr(logging, str(flags.log_level).upper()))
    install_fault_report()  # a fault in a model's native code (torch, numpy) then leaves the Python stacks on stderr


def apply_script_flags(options: ServeOptions, argv: Sequence[str]) -> ServeOptions:
    """``options`` with a script's flags laid over them; the log handler installed. Raises ServerError for a bad value."""
    flags, _ = parser(False).parse_known_args(list(argv))
    install_logging(flags)
    return options_over(flags, options)


__all__ = ["OPTION_FLAGS", "apply_script_flags", "install_logging", "limits_over", "options_over", "parser"]
