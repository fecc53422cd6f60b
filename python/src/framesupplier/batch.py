"""A batch of frames as one array or tensor of the model's input, and the model's boxes mapped back to each frame.

``batch_array(frames, (width, height))`` (NumPy) and ``batch_tensor(frames, (width, height), device=...)``
(PyTorch, when installed) letterbox every frame into the model's input size: scaled to fit, its aspect kept,
centred, the rest padded (``pad_value``, 114 as YOLO's), so cameras of different sizes share one batch. Each
returns the batch and one ``Placement`` per frame, which maps the model's boxes (in input pixels) back to the
frame, normalised 0-1 as the protocol's answers are (``placement.boxes_to_frame(boxes)``).

Neither loops over pixels in Python. NumPy writes each frame straight into the batch, made once in its dtype
and layout (a uint8 batch gets the bytes with no float between; a resize works on one frame at a time, so
nothing batch-sized is made beside the batch), resizing bilinearly with gathers (half-pixel centres, as
``torch.nn.functional.interpolate(..., mode="bilinear", align_corners=False)``). PyTorch copies every frame's
bytes into one (pinned, on CUDA) uint8 buffer, uploads it in one step, and converts on the device, frames of one
size and format together: the format (RGB24, BGR24, RGBA, BGRA, GRAY, and NV12 or YUV420P with the BT.601
integer conversion of ``to_rgb``), the dtype, the resize (always in a float: no device resizes uint8), the
padding and the normalisation. A frame the size of the input is not resized at all.

The frames are released (``Frame.release()``) once their bytes are copied, so the model's run does not hold
them; a frame found torn then is not raised here but remembered, and the server refuses that frame alone
after the call (docs/protocol.md, "Batches"). JPEG and PNG frames are one ``FrameError`` ERR_SCHEMA that names
them (``error.frames``), raised before any frame is read: the server refuses those frames alone and calls the
model again with the others.
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
    """The frames' indices by (format, width, height): each group is converted and resized as one array.

    Encoded frames (JPEG, PNG) are one ERR_SCHEMA naming them (``FrameError.frames``), raised before any frame is
    read or released: a server refuses those frames alone and calls the model again with the others."""
    encoded = [frame for frame in frames if frame.format in ("JPEG", "PNG")]
    if encoded:
        formats = " or ".join(sorted({frame.format for frame in encoded}))
        raise FrameError("ERR_SCHEMA", f"a batch takes raw frames (NV12, YUV420P, RGB24, BGR24, RGBA, BGRA, GRAY), not {formats}", "frame_metadata.format", encoded)
    groups: dict[tuple[str, int, int], list[int]] = {}
    for i, frame in enumerate(frames):
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
    rows = images[:, y1].astype(np.float32)  # top + (bottom - top) * wy, in place: two row-resized arrays at most
    rows -= top
    rows *= wy[None, :, None, None]
    rows += top
    del top
    out: NDArray[np.float32] = rows[:, :, x1]
    left = rows[:, :, x0]
    del rows
    out -= left
    out *= wx[None, None, :, None]
    out += left
    return out


def _rgb_view(frame: Frame) -> NDArray[np.uint8]:
    """One frame as H x W x 3 RGB: a view of its bytes (a new array for NV12 and YUV420P, converted)."""
    fmt, width, height = frame.format, frame.width, frame.height
    if fmt in ("NV12", "YUV420P"):
        return nv12_to_rgb(frame.data, width, height, fmt)  # type: ignore[arg-type]
    c = _CHANNELS[fmt]
    raw = frame.data[: width * height * c].reshape(height, width, c)
    if fmt == "GRAY":
        return np.broadcast_to(raw, (height, width, 3))
    if fmt in ("BGR24", "BGRA"):
        return raw[..., 2::-1]
    return raw[..., :3]


class _Values:
    """``(pixel * scale - mean) / std`` per output channel, in float32 (the arithmetic every output dtype is made by)."""

    def __init__(self, scale: float | None, mean: Sequence[float] | None, std: Sequence[float] | None) -> None:
        self.scale = scale
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float32)
        self.std = None if std is None else np.asarray(std, dtype=np.float32)
        self.identity = scale is None and mean is None and std is None

    def apply(self, values: NDArray[np.float32]) -> None:
        """In place, on an ... x 3 float32 array (or view) with the channels last."""
        if self.scale is not None:
            values *= self.scale
        if self.mean is not None:
            values -= self.mean
        if self.std is not None:
            values /= self.std


def _store(dst: NDArray[Any], pixels: NDArray[Any], values: _Values) -> None:
    """``pixels`` (H x W x 3, uint8 or float32 from a resize) written into ``dst`` (a view of the batch, channels last)
    as ``values`` makes them: in place in a float32 batch; through one frame-sized float32 array for other dtypes;
    uint8 bytes as they are into a uint8 batch (no float at all)."""
    if dst.dtype == np.float32:
        dst[...] = pixels
        values.apply(dst)
        return
    integral = np.issubdtype(dst.dtype, np.integer)
    if values.identity and pixels.dtype == np.uint8:
        dst[...] = pixels
        return
    work = pixels.astype(np.float32)  # one frame's worth
    values.apply(work)
    if integral:
        np.rint(work, out=work)
        np.clip(work, 0, 255, out=work)
    dst[...] = work


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
    ``release`` (default) releases each frame once copied.

    Memory: the batch itself, made once in its dtype and layout, and one frame's working arrays at a time (the
    resize's, in float32): no batch-sized temporary, and uint8 bytes go into a uint8 batch with no float between."""
    in_w, in_h = _check_size(size)
    _groups(frames)  # encoded frames refused, naming them, before any is read
    out_dtype = np.dtype(dtype)
    values = _Values(scale, mean, std)
    shape = (len(frames), 3, in_h, in_w) if layout == "nchw" else (len(frames), in_h, in_w, 3)
    batch = np.empty(shape, dtype=out_dtype)
    channels_last = batch.transpose(0, 2, 3, 1) if layout == "nchw" else batch  # N x H x W x 3 views of the same bytes
    pad = np.empty(3, dtype=out_dtype)
    _store(pad, np.full(3, pad_value, dtype=np.float32), values)
    channels_last[...] = pad  # every pixel the padding's value, as ``values`` makes it
    placements: list[Placement] = []
    for i, frame in enumerate(frames):
        place = letterbox(frame.width, frame.height, (in_w, in_h))
        pixels: NDArray[Any] = _rgb_view(frame)
        if (place.scaled_height, place.scaled_width) != (frame.height, frame.width):
            pixels = resize_bilinear(pixels[None], place.scaled_height, place.scaled_width)[0]
        if bgr:
            pixels = pixels[..., ::-1]
        _store(channels_last[i, place.top : place.top + place.scaled_height, place.left : place.left + place.scaled_width], pixels, values)
        placements.append(place)
    if release:
        _release(frames)
    return batch, placements


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


def _resize_dtype(dtype: torch.dtype, device_type: str) -> torch.dtype:
    """The dtype a bilinear resize runs in: always a float (neither CUDA nor the CPU resizes uint8), the output's own
    half precision on CUDA alone (the CPU's resize has none), float32 otherwise; an integer output is cast after."""
    import torch

    if dtype.is_floating_point and (device_type == "cuda" or dtype in (torch.float32, torch.float64)):
        return dtype
    return torch.float32


def _resize(rgb: torch.Tensor, height: int, width: int, dtype: torch.dtype, device_type: str) -> torch.Tensor:
    """k x 3 x H x W pixels resized bilinearly (half-pixel centres) in ``_resize_dtype``, then made ``dtype`` (rounded for
    an integer dtype). ``device_type`` is the device's kind, passed so that one device's rule can be run on another."""
    import torch.nn.functional as F

    resized = F.interpolate(rgb.to(_resize_dtype(dtype, device_type)), size=(height, width), mode="bilinear", align_corners=False)
    if not dtype.is_floating_point:
        resized = resized.round_().clamp_(0, 255)
    return resized.to(dtype)


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
            rgb = _resize(rgb, place.scaled_height, place.scaled_width, dtype, device.type)
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
