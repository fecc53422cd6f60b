"""What a model's ``infer`` and a worker's ``on_frame`` are given: one frame.

``Frame.data`` is the frame's bytes as a flat uint8 NumPy array; for a model
server it is a view of the shared memory (no copy), valid until the call
returns or ``release()`` is called. ``pixels`` gives it the frame's shape
(H x W x 3 for RGB24/BGR24, H x W x 4 for RGBA/BGRA, H x W for GRAY; 4:2:0
and encoded frames stay flat) and ``to_rgb()`` converts any raw format to
H x W x 3 RGB (a new array) with the same integer BT.601 limited-range
conversion as the Node server (src/models/rgb.ts).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeGuard

import numpy as np
from numpy.typing import NDArray

from .errors import FrameError

FrameFormat = Literal["NV12", "YUV420P", "RGB24", "BGR24", "RGBA", "BGRA", "GRAY", "JPEG", "PNG"]
"""A frame's format as the protocol names it (the store's format codes 1-9, in this order)."""
FORMATS: tuple[FrameFormat, ...] = ("NV12", "YUV420P", "RGB24", "BGR24", "RGBA", "BGRA", "GRAY", "JPEG", "PNG")
RawFormat = Literal["NV12", "YUV420P", "RGB24", "BGR24", "RGBA", "BGRA", "GRAY"]


def is_frame_format(value: object) -> TypeGuard[FrameFormat]:
    return isinstance(value, str) and value in FORMATS


def nv12_to_rgb(data: NDArray[np.uint8], width: int, height: int, fmt: Literal["NV12", "YUV420P"] = "NV12") -> NDArray[np.uint8]:
    """An NV12 (or YUV420P) frame as H x W x 3 RGB, BT.601 limited range, integer arithmetic."""
    flat = np.asarray(data, dtype=np.uint8).reshape(-1)
    cw, ch = (width + 1) // 2, (height + 1) // 2
    y = flat[: width * height].reshape(height, width).astype(np.int32)
    if fmt == "NV12":
        uv = flat[width * height : width * height + 2 * cw * ch].reshape(ch, cw, 2)
        u, v = uv[:, :, 0], uv[:, :, 1]
    else:
        u = flat[width * height : width * height + cw * ch].reshape(ch, cw)
        v = flat[width * height + cw * ch : width * height + 2 * cw * ch].reshape(ch, cw)
    u = np.repeat(np.repeat(u.astype(np.int32) - 128, 2, axis=0), 2, axis=1)[:height, :width]
    v = np.repeat(np.repeat(v.astype(np.int32) - 128, 2, axis=0), 2, axis=1)[:height, :width]
    yy = 298 * (y - 16)
    out = np.empty((height, width, 3), dtype=np.uint8)
    out[:, :, 0] = np.clip((yy + 409 * v + 128) >> 8, 0, 255)
    out[:, :, 1] = np.clip((yy - 100 * u - 208 * v + 128) >> 8, 0, 255)
    out[:, :, 2] = np.clip((yy + 516 * u + 128) >> 8, 0, 255)
    return out


def to_rgb(data: NDArray[np.uint8], width: int, height: int, fmt: FrameFormat) -> NDArray[np.uint8]:
    """Any raw format as a new H x W x 3 RGB array; JPEG and PNG are ERR_SCHEMA (field frame_metadata.format)."""
    flat = np.asarray(data, dtype=np.uint8).reshape(-1)
    if fmt == "NV12" or fmt == "YUV420P":
        return nv12_to_rgb(flat, width, height, fmt)
    if fmt == "RGB24":
        return flat.reshape(height, width, 3).copy()
    if fmt == "BGR24":
        return np.ascontiguousarray(flat.reshape(height, width, 3)[:, :, ::-1])
    if fmt == "RGBA":
        return np.ascontiguousarray(flat.reshape(height, width, 4)[:, :, :3])
    if fmt == "BGRA":
        return np.ascontiguousarray(flat.reshape(height, width, 4)[:, :, 2::-1])
    if fmt == "GRAY":
        return np.repeat(flat.reshape(height, width, 1), 3, axis=2)
    raise FrameError("ERR_SCHEMA", f"this model takes raw frames (NV12, YUV420P, RGB24, BGR24, RGBA, BGRA, GRAY), not {fmt}", "frame_metadata.format")


@dataclass
class Frame:
    """One frame and where it comes from."""

    data: NDArray[np.uint8]
    """The frame's bytes, flat uint8 (a read-only view of shared memory for a model server)."""
    width: int
    height: int
    format: FrameFormat
    """NV12, YUV420P, RGB24, BGR24, RGBA, BGRA, GRAY, JPEG or PNG."""
    camera_id: str
    frame_id: int
    capture_time_ms: float
    """Wall clock, ms since the Unix epoch (the store slot's time)."""
    request: Mapping[str, Any] = field(default_factory=dict)
    """The request as received (model servers) or the frame message (workers), for extra fields."""
    _release: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def pixels(self) -> NDArray[np.uint8]:
        """``data`` shaped: H x W x 3 (RGB24, BGR24), H x W x 4 (RGBA, BGRA), H x W (GRAY); flat otherwise. No copy."""
        shapes = {"RGB24": 3, "BGR24": 3, "RGBA": 4, "BGRA": 4}
        if self.format in shapes:
            return self.data.reshape(self.height, self.width, shapes[self.format])
        if self.format == "GRAY":
            return self.data.reshape(self.height, self.width)
        return self.data

    def to_rgb(self) -> NDArray[np.uint8]:
        """The frame as a new H x W x 3 RGB array (converted or copied)."""
        return to_rgb(self.data, self.width, self.height, self.format)

    def release(self) -> None:
        """Says the frame has been taken (converted or copied): its bytes are checked now and must not be read after.

        Raises FrameError (ERR_FRAME_OVERWRITTEN, ERR_FRAME_CORRUPT) if they may have been torn: let it propagate.
        Calling it lets a long inference run without holding the frame; not calling it is fine (checked at return).
        """
        if self._release is not None:
            self._release()
