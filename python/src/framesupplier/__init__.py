"""framesupplier for Python: model servers and workers for a framesupplier system.

``serve(infer, model_id=..., socket=...)`` puts a model behind the model-server protocol
(docs/protocol.md, protocol 3); ``python -m framesupplier.serve module:infer --model-id ...
--socket ...`` does it from the command line; ``worker.run(on_frame)`` is a command worker
(docs/worker-protocol.md). Frames come as NumPy arrays. Every error is a ``FrameSupplierError``
with a stable ``code``. docs/python.md is the guide.
"""

from __future__ import annotations

from .errors import FrameError, FrameSupplierError, ServerError, WorkerError
from .frame import FORMATS, Frame, FrameFormat, nv12_to_rgb, to_rgb
from .inference import Infer
from .limits import Limits
from .options import ServeOptions
from .results import Detection, InferResult
from .server import ModelServer, serve
from .store import FrameAccessChoice, StoreReader

__version__ = "0.1.0"
__all__ = [
    "Detection",
    "FORMATS",
    "Frame",
    "FrameAccessChoice",
    "FrameError",
    "FrameFormat",
    "FrameSupplierError",
    "Infer",
    "InferResult",
    "Limits",
    "ModelServer",
    "ServeOptions",
    "ServerError",
    "StoreReader",
    "WorkerError",
    "nv12_to_rgb",
    "serve",
    "to_rgb",
]
