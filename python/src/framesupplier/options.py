"""``ServeOptions``: a model server's options, written once and checked once, as ``Limits`` is.

``ModelServer``, ``serve()``, ``cli.serve_with_flags()`` and the command line all take these: an options
object, or its fields as keywords (``serve(infer, model_id=..., socket=...)``), which ``ServeOptions.of``
lays over the object. A value out of its domain is ``ServerError`` ERR_PY_INVALID_OPTION when the options
are made; a name that is not a field is Python's own ``TypeError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .errors import ServerError
from .limits import Limits
from .protocol import MAX_FRAME_DIMENSION
from .store import DEFAULT_SHM_DIR, FrameAccessChoice

MAX_THREADS = 256
MAX_BATCH = 1024


def _whole(value: object, lo: int, hi: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and lo <= value <= hi


@dataclass(frozen=True)
class ServeOptions:
    """What a model server serves, where, and how (docs/python.md, "A model server")."""

    model_id: str
    """The id requests must name (ERR_UNKNOWN_MODEL otherwise): 1 to 256 characters."""
    socket: str
    """The Unix socket's path."""
    threads: int = 1
    """Model calls at once, 1 to 256 (the pong's ``concurrency``)."""
    input_long_side: int | None = None
    """The long side of the frames the network reads to full effect (the pong's ``frame_long_side``)."""
    shm_dir: str = DEFAULT_SHM_DIR
    """The only directory frame stores are read from."""
    frame_access: FrameAccessChoice = "auto"
    """``auto`` (views of a mapping when the SIGBUS guard is built) or ``copy``."""
    limits: Limits = field(default_factory=Limits)
    """Every per-connection bound (``None`` given: the defaults)."""
    max_batch: int | None = None
    """None: ``infer(frame)``, one frame a call. N (1 to 1024): ``infer(frames)``, the newest frames of up to N
    waiting cameras in one call, taken whenever the model is free, never waiting for more (the pong's ``max_batch``)."""

    def __post_init__(self) -> None:
        if not isinstance(self.model_id, str) or not 1 <= len(self.model_id) <= 256:
            raise ServerError("ERR_PY_INVALID_OPTION", f"model_id must be a string of 1 to 256 characters, got {self.model_id!r}")
        if not isinstance(self.socket, str) or not self.socket:
            raise ServerError("ERR_PY_INVALID_OPTION", f"socket must be a path, got {self.socket!r}")
        if not _whole(self.threads, 1, MAX_THREADS):
            raise ServerError("ERR_PY_INVALID_OPTION", f"threads must be an integer from 1 to {MAX_THREADS}, got {self.threads!r}")
        if self.input_long_side is not None and not _whole(self.input_long_side, 1, MAX_FRAME_DIMENSION):
            raise ServerError("ERR_PY_INVALID_OPTION", f"input_long_side must be an integer from 1 to {MAX_FRAME_DIMENSION}, got {self.input_long_side!r}")
        if self.frame_access not in ("auto", "copy"):
            raise ServerError("ERR_PY_INVALID_OPTION", f"frame_access must be auto or copy, got {self.frame_access!r}")
        if self.max_batch is not None and not _whole(self.max_batch, 1, MAX_BATCH):
            raise ServerError("ERR_PY_INVALID_OPTION", f"max_batch must be an integer from 1 to {MAX_BATCH}, got {self.max_batch!r}")
        limits: object = self.limits
        if limits is None:  # the keyword form's default: serve(..., limits=None)
            object.__setattr__(self, "limits", Limits())
        elif not isinstance(limits, Limits):
            raise ServerError("ERR_PY_INVALID_OPTION", f"limits must be a framesupplier.Limits, got {type(limits).__name__}")

    @staticmethod
    def of(options: ServeOptions | None, keywords: dict[str, Any]) -> ServeOptions:
        """``options`` with ``keywords`` (its fields by name) laid over them; from the keywords alone without it."""
        if options is None:
            return ServeOptions(**keywords)
        if not isinstance(options, ServeOptions):
            raise ServerError("ERR_PY_INVALID_OPTION", f"options must be a framesupplier.ServeOptions, got {type(options).__name__}")
        return replace(options, **keywords) if keywords else options


__all__ = ["MAX_BATCH", "MAX_THREADS", "ServeOptions"]
