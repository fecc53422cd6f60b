"""The package's errors: one base, ``FrameSupplierError``, with a stable string ``code`` (docs/errors.md).

``ServerError`` is a model server that cannot start or was misused, ``FrameError`` a frame that
cannot be given to a model (the protocol's codes, with ``field`` for ERR_SCHEMA, and ``frames``: the frames of a
batch it is about, when not all of them), ``WorkerError``
a supervisor that broke the worker conversation. Catch ``FrameSupplierError`` for all three.
"""

from __future__ import annotations

from collections.abc import Sequence


class FrameSupplierError(Exception):
    """An error of framesupplier's Python package: ``code`` (stable, in docs/errors.md) and ``message``."""

    code: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ServerError(FrameSupplierError):
    """A server that cannot start or was misused (ERR_SOCKET_IN_USE, ERR_PY_INVALID_OPTION, ERR_PY_SOCKET, ...)."""


class FrameError(FrameSupplierError):
    """A frame that cannot be given to a model, with the protocol's code (and ``field`` for ERR_SCHEMA).

    ``frames`` names the frames it is about when a batched model was given several (``batch_array`` and
    ``batch_tensor`` name the JPEG or PNG frames they cannot take): the server then refuses those frames alone and
    calls the model again with the others. Empty: the error is about every frame of the call."""

    def __init__(self, code: str, message: str, field: str | None = None, frames: Sequence[object] = ()) -> None:
        super().__init__(code, message)
        self.field = field
        self.frames = tuple(frames)


class WorkerError(FrameSupplierError):
    """The supervisor broke the conversation (a bad hello or frame): code ERR_PY_WORKER_PROTOCOL."""

    code = "ERR_PY_WORKER_PROTOCOL"

    def __init__(self, message: str) -> None:
        super().__init__(WorkerError.code, message)


__all__ = ["FrameSupplierError", "FrameError", "ServerError", "WorkerError"]
