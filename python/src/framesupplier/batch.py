"""A batch of frames as one array or tensor of the model's input, and the model's boxes mapped back to each frame.

``batch_array(frames, (width, height))`` (NumPy) and ``batch_tensor(frames, (width, height), device=...)``
(PyTorch, when installed) letterbox every frame into the model's input size: scaled to fit, its aspect kept,
centred, the rest padded (``pad_value``, 114 as YOLO's), so cameras of different sizes share one batch. Each
returns the batch and one ``Placement`` per frame, which maps the model's boxes (in input pixels) back to the
frame, normalised 0-1 as the protocol's answers are (``placement.boxes_to_frame(boxes)``).

Neither loops over pixels in Python. Frames of one size and format are handled together as one array:
NumPy resizes bilinearly with gathers (half-pixel centres, as ``torch.nn.functional.interpolate(...,
mode="bilinear", align_corners=False)``); PyTorch copies every frame's bytes into one (pinned, on CUDA) uint8
buffer, uploads it in one step, and converts on the device: the format (RGB24, BGR24, RGBA, BGRA, GRAY, and
NV12 or YUV420P with the BT.601 integer conversion of ``to_rgb``), the dtype, the resize, the padding and the
normalisation. A frame the size of the input is not resized at all.

The frames are released (``Frame.release()``) once their bytes are copied, so the model's run does not hold
them; a frame found torn then is not raised here but remembered, and the server refuses that frame alone
after the call (docs/protocol.md, "Batches"). JPEG and PNG frames are ``FrameError`` ERR_SCHEMA.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from .errors import FrameError
from .frame import Frame, nv12_to_rgb

if TYPE_CHECKING:  # PyTorch is optional: only batch_tensor needs it
    import torch

Layout = Literal["nchw", "nhwc"]
"""The batch's axes: frames, channels, rows, columns (PyTorch, ONNX) or frames, rows, columns, channels."""

_CHANNELS = {"RGB24": 3, "BGR24": 3, "RGBA": 4, "BGRA": 4, "GRAY": 1}


@dataclass(frozen=True)
class Placement:
    """Where a frame went in the model's input: scaled to ``scaled_width`` x ``scaled_height`` at (``left``, ``top``)."""

    width: int
    """The frame's size."""
    height: int
    left: int
    """The picture's place in the input, in input pixels (the padding before it)."""
    top: int
    scaled_width: int
    scaled_height: int

    def boxes_to_frame(self, boxes: Any) -> NDArray[np.float64]:
        """Boxes ``[x1, y1, x2, y2]`` in input pixels (an array or tensor, K x 4) as the frame's, normalised 0-1, clipped."""
        b = _numpy(boxes).astype(np.float64).reshape(-1, 4)
        out = np.empty_like(b)
        out[:, 0::2] = (b[:, 0::2] - self.left) / self.scaled_width
        out[:, 1::2] = (b[:, 1::2] - self.top) / self.scaled_height
        return np.clip(out, 0.0, 1.0)

    def points_to_frame(self, points: Any) -> NDArray[np.float64]:
        """Points ``[x, y, ...]`` in input pixels (K x 2 or more: the rest, a score, kept) as the frame's, normalised 0-1."""
        p = _numpy(points).astype(np.float64)
        out = p.reshape(-1, p.shape[-1]).copy()
        out[:, 0] = np.clip((out[:, 0] - self.left) / self.scaled_width, 0.0, 1.0)
        out[:, 1] = np.clip((out[:, 1] - self.top) / self.scaled_height, 0.0, 1.0)
        return out


def letterbox(width: int, height: int, size: tuple[int, int]) -> Placement:
    """Where a ``width`` x ``height`` frame goes in an input of ``size`` (width, height): fitted, aspect kept, centred."""
    in_w, in_h = size
    scale = min(in_w / width, in_h / height)
    scaled_w = min(in_w, max(1, round(width * scale)))
    scaled_h = min(in_h, max(1, round(height * scale)))
    return Placement(width, height, (in_w - scaled_w) // 2, (in_h - scaled_h) // 2, scaled_w, scaled_h)


def _numpy(values: Any) -> NDArray[Any]:
    if hasattr(values, "detach"):  # a torch tensor, wherever it is
        values = values.detach().float().cpu().numpy()
    return np.asarray(values)


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    if len(size) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in size):
        raise ValueError(f"size is the model input's (width, height) in pixels, got {size!r}")
    return int(size[0]), int(size[1])


def _groups(frames: Sequence[Frame]) -> dict[tuple[str, int, int], list[int]]:
    """The frames' indices by (format, width, height): each group is converted and resized as one array."""
    groups: dict[tuple[str, int, int], list[int]] = {}
    for i, frame in enumerate(frames):
        if frame.format in ("JPEG", "PNG"):
            raise FrameError("ERR_SCHEMA", f"a batch takes raw frames (NV12, YUV420P, RGB24, BGR24, RGBA, BGRA, GRAY), not {frame.format}", "frame_metadata.format")
        groups.setdefault((frame.format, frame.width, frame.height), []).append(i)
    return groups


def _release(frames: Sequence[Frame]) -> None:
    """Each frame released now that its bytes are copied; a torn one is remembered by its lease and refused alone after the call."""
    for frame in frames:
        try:
            frame.release()
        except FrameError:
            pass


# --- NumPy -----------------------------------------------------------------------------------------------------------


def _axis(src: int, dst: int) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float32]]:
    """Bilinear taps along one axis, half-pixel centres (align_corners=False), as torch's interpolate."""
    x = np.maximum((np.arange(dst, dtype=np.float64) + 0.5) * (src / dst) - 0.5, 0.0)
    x0 = np.minimum(np.floor(x).astype(np.intp), src - 1)
    x1 = np.minimum(x0 + 1, src - 1)
    return x0, x1, (x - x0).astype(np.float32)


def resize_bilinear(images: NDArray[Any], height: int, width: int) -> NDArray[np.float32]:
    """N x H x W x C images resized to N x ``height`` x ``width`` x C, float32, by gathers along each axis (no pixel loop)."""
    _, h, w, _ = images.shape
    if (h, w) == (height, width):
        return images.astype(np.float32)
    y0, y1, wy = _axis(h, height)
    x0, x1, wx = _axis(w, width)
    top = images[:, y0].astype(np.float32)
    rows = top + (images[:, y1].astype(np.float32) - top) * wy[None, :, None, None]
    left = rows[:, :, x0]
    out: NDArray[np.float32] = left + (rows[:, :, x1] - left) * wx[None, None, :, None]
    return out


def _rgb_numpy(frames: Sequence[Frame], indices: list[int], fmt: str, width: int, height: int) -> NDArray[np.uint8]:
    """The group's frames as one k x H x W x 3 RGB uint8 array (a copy)."""
    if fmt in ("NV12", "YUV420P"):
        return np.stack([nv12_to_rgb(frames[i].data, width, height, fmt) for i in indices])  # type: ignore[arg-type]
    c = _CHANNELS[fmt]
    raw = np.stack([frames[i].data[: width * height * c].reshape(height, width, c) for i in indices])
    if fmt == "GRAY":
        gray: NDArray[np.uint8] = np.repeat(raw, 3, axis=3)
        return gray
    if fmt in ("BGR24", "BGRA"):
        return np.ascontiguousarray(raw[..., 2::-1])
    rgb: NDArray[np.uint8] = raw[..., :3] if c == 4 else raw
    return rgb


def batch_array(
    frames: Sequence[Frame],
    size: tuple[int, int],
    *,
    layout: Layout = "nchw",
    dtype: Any = np.float32,
    scale: float | None = 1 / 255,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    bgr: bool = False,
    pad_value: int = 114,
    release: bool = True,
) -> tuple[NDArray[Any], list[Placement]]:
    """The frames letterboxed into one N x 3 x H x W (``nchw``) or N x H x W x 3 (``nhwc``) NumPy array of ``size``
    (width, height), and each frame's ``Placement``.

    Values: ``(pixel * scale - mean) / std`` per channel in ``dtype`` (float32, 0-1 by default); ``scale=None``
    with ``dtype=np.uint8`` keeps the bytes (rounded after a resize). ``bgr`` orders the channels B, G, R.
    ``release`` (default) releases each frame once copied."""
    in_w, in_h = _check_size(size)
    groups = _groups(frames)
    batch = np.full((len(frames), in_h, in_w, 3), pad_value, dtype=np.float32)
    placements: list[Placement | None] = [None] * len(frames)
    for (fmt, width, height), indices in groups.items():
        place = letterbox(width, height, (in_w, in_h))
        rgb = _rgb_numpy(frames, indices, fmt, width, height)
        batch[indices, place.top : place.top + place.scaled_height, place.left : place.left + place.scaled_width] = resize_bilinear(
            rgb, place.scaled_height, place.scaled_width
        )
        for i in indices:
            placements[i] = place
    if release:
        _release(frames)
    if bgr:
        batch = batch[..., ::-1]
    if scale is not None:
        batch *= scale
    if mean is not None:
        batch -= np.asarray(mean, dtype=np.float32)
    if std is not None:
        batch /= np.asarray(std, dtype=np.float32)
    if np.dtype(dtype) == np.uint8:
        batch = np.clip(np.rint(batch), 0, 255)
    out = batch.transpose(0, 3, 1, 2) if layout == "nchw" else batch
    return np.ascontiguousarray(out, dtype=dtype), [p for p in placements if p is not None]


# --- PyTorch ---------------------------------------------------------------------------------------------------------


def _nv12_to_rgb_torch(raw: torch.Tensor, k: int, width: int, height: int, fmt: str) -> torch.Tensor:
    """k NV12 (or YUV420P) frames, flat uint8 on the device, as k x 3 x H x W int32 RGB: nv12_to_rgb's integer arithmetic."""
    import torch

    cw, ch = (width + 1) // 2, (height + 1) // 2
    planes = raw.view(k, -1)
    y = planes[:, : width * height].view(k, height, width).to(torch.int32)
    if fmt == "NV12":
        uv = planes[:, width * height : width * height + 2 * cw * ch].view(k, ch, cw, 2)
        u, v = uv[..., 0], uv[..., 1]
    else:
        u = planes[:, width * height : width * height + cw * ch].view(k, ch, cw)
        v = planes[:, width * height + cw * ch : width * height + 2 * cw * ch].view(k, ch, cw)

    def full(c: torch.Tensor) -> torch.Tensor:
        return (c.to(torch.int32) - 128).repeat_interleave(2, dim=1).repeat_interleave(2, dim=2)[:, :height, :width]

    uu, vv = full(u), full(v)
    yy = 298 * (y - 16)
    r = (yy + 409 * vv + 128) >> 8
    g = (yy - 100 * uu - 208 * vv + 128) >> 8
    b = (yy + 516 * uu + 128) >> 8
    return torch.stack((r, g, b), dim=1).clamp_(0, 255)


def _rgb_torch(raw: torch.Tensor, k: int, fmt: str, width: int, height: int) -> torch.Tensor:
    """k frames' bytes (flat, on the device) as k x 3 x H x W RGB (uint8 or int32), views where it can."""
    if fmt in ("NV12", "YUV420P"):
        return _nv12_to_rgb_torch(raw, k, width, height, fmt)
    c = _CHANNELS[fmt]
    pixels = raw.view(k, height, width, c).permute(0, 3, 1, 2)
    if fmt == "GRAY":
        return pixels.expand(k, 3, height, width)
    if fmt in ("BGR24", "BGRA"):
        return pixels[:, [2, 1, 0]]
    return pixels[:, :3]


def batch_tensor(
    frames: Sequence[Frame],
    size: tuple[int, int],
    *,
    device: Any = "cpu",
    dtype: Any = None,
    layout: Layout = "nchw",
    scale: float | None = 1 / 255,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    bgr: bool = False,
    pad_value: int = 114,
    release: bool = True,
) -> tuple[torch.Tensor, list[Placement]]:
    """The frames letterboxed into one N x 3 x H x W (``nchw``) or N x H x W x 3 tensor of ``size`` (width, height) on
    ``device``, in ``dtype`` (default float32; ``torch.float16`` for a half-precision network), and each frame's
    ``Placement``. One upload of the frames' bytes as uint8 (pinned memory on CUDA), then everything on the device:
    the format, the resize (bilinear), the padding, ``(pixel * scale - mean) / std`` per channel. ``release`` (default)
    releases each frame once its bytes are copied."""
    import torch
    import torch.nn.functional as F

    in_w, in_h = _check_size(size)
    dtype = torch.float32 if dtype is None else dtype
    device = torch.device(device)
    groups = _groups(frames)
    # One host buffer, each group's frames one after another, copied from the shared memory once.
    order = [i for indices in groups.values() for i in indices]
    sizes = [int(frames[i].data.nbytes) for i in order]
    host = torch.empty(sum(sizes), dtype=torch.uint8, pin_memory=device.type == "cuda")
    view = host.numpy()
    at = 0
    for i, n in zip(order, sizes):
        view[at : at + n] = frames[i].data
        at += n
    if release:
        _release(frames)
    on_device = host.to(device, non_blocking=True)
    batch = torch.full((len(frames), 3, in_h, in_w), float(pad_value), dtype=dtype, device=device)
    placements: list[Placement | None] = [None] * len(frames)
    at = 0
    for (fmt, width, height), indices in groups.items():
        k = len(indices)
        n = k * int(frames[indices[0]].data.nbytes)  # one format and size: one byte count
        place = letterbox(width, height, (in_w, in_h))
        rgb = _rgb_torch(on_device[at : at + n], k, fmt, width, height).to(dtype)
        at += n
        if (place.scaled_height, place.scaled_width) != (height, width):
            compute = dtype if device.type == "cuda" else torch.float32  # half-precision resize is CUDA's alone
            resized = F.interpolate(rgb.to(compute), size=(place.scaled_height, place.scaled_width), mode="bilinear", align_corners=False)
            rgb = (resized if resized.dtype.is_floating_point == dtype.is_floating_point else resized.round()).to(dtype)
        index = torch.tensor(indices, device=device)
        region = batch[:, :, place.top : place.top + place.scaled_height, place.left : place.left + place.scaled_width]
        region.index_copy_(0, index, rgb)
        for i in indices:
            placements[i] = place
    if bgr:
        batch = batch.flip(1)
    if scale is not None:
        batch.mul_(scale)
    if mean is not None:
        batch.sub_(torch.tensor(mean, dtype=dtype, device=device).view(1, 3, 1, 1))
    if std is not None:
        batch.div_(torch.tensor(std, dtype=dtype, device=device).view(1, 3, 1, 1))
    if layout == "nhwc":
        batch = batch.permute(0, 2, 3, 1).contiguous()
    return batch, [p for p in placements if p is not None]


__all__ = ["Layout", "Placement", "batch_array", "batch_tensor", "letterbox", "resize_bilinear"]
