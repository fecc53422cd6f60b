"""framesupplier for Python: model servers and workers for a framesupplier system.

``serve(infer, model_id=..., socket=...)`` puts a model behind the model-server
protocol (docs/protocol.md, protocol 2); ``worker.run(on_frame)`` is a command
worker (docs/worker-protocol.md). Frames come as NumPy arrays. docs/python.md
is the guide.
"""

from .frame import Frame, nv12_to_rgb, to_rgb
from .server import Infer, Limits, ModelServer, ServerError, serve
from .store import FORMATS, FrameError, StoreReader

__version__ = "0.1.0"
__all__ = ["Frame", "FrameError", "FORMATS", "Infer", "Limits", "ModelServer", "ServerError", "StoreReader", "nv12_to_rgb", "serve", "to_rgb"]
