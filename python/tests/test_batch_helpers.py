"""framesupplier.batch: frames of several cameras (sizes and formats) letterboxed into one array or tensor, and boxes
mapped back; NumPy always, PyTorch on the CPU when installed (the same arithmetic as on a GPU)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from framesupplier import Frame, FrameError
from framesupplier.batch import Placement, _resize, batch_array, batch_tensor, letterbox, resize_bilinear
from framesupplier.frame import to_rgb


def frame(pixels: np.ndarray, fmt: str = "RGB24", camera: str = "c", released: list[str] | None = None, torn: bool = False) -> Frame:
    height, width = pixels.shape[:2]
    if fmt == "NV12":
        height, width = height * 2 // 3, pixels.shape[1]
    flat = np.ascontiguousarray(pixels, dtype=np.uint8).reshape(-1)

    def release() -> None:
        if released is not None:
            released.append(camera)
        if torn:
            raise FrameError("ERR_FRAME_OVERWRITTEN", "torn")

    return Frame(flat, width, height, fmt, camera, 1, 0.0, {}, release)  # type: ignore[arg-type]


def gradient(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), (x + y) % 256], axis=2)
    return np.clip(base + rng.integers(-8, 8, base.shape), 0, 255).astype(np.uint8)


def test_letterbox_fits_keeps_the_aspect_and_centres() -> None:
    assert letterbox(640, 360, (640, 640)) == Placement(640, 360, 0, 140, 640, 360)
    assert letterbox(1280, 720, (640, 384)) == Placement(1280, 720, 0, 12, 640, 360)
    assert letterbox(480, 640, (640, 384)) == Placement(480, 640, 176, 0, 288, 384)
    assert letterbox(640, 384, (640, 384)) == Placement(640, 384, 0, 0, 640, 384)


def test_boxes_and_points_map_back_to_the_frame_normalised_and_clipped() -> None:
    place = letterbox(1280, 720, (640, 384))  # 640 x 360 at top 12
    boxes = np.array([[0, 12, 640, 372], [320, 192, 480, 282], [-5, 0, 700, 400]])
    assert np.allclose(place.boxes_to_frame(boxes), [[0, 0, 1, 1], [0.5, 0.5, 0.75, 0.75], [0, 0, 1, 1]])
    points = place.points_to_frame(np.array([[320, 192, 0.9], [0, 12, 0.5]]))
    assert np.allclose(points, [[0.5, 0.5, 0.9], [0, 0, 0.5]])


def test_the_numpy_resize_is_torchs_bilinear() -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: the reference resize is its interpolate")
    images = np.stack([gradient(48, 64, 1), gradient(48, 64, 2)])
    ours = resize_bilinear(images, 29, 37)
    theirs = torch.nn.functional.interpolate(torch.from_numpy(images).permute(0, 3, 1, 2).float(), size=(29, 37), mode="bilinear", align_corners=False)
    assert np.allclose(ours, theirs.permute(0, 2, 3, 1).numpy(), atol=1e-3)


def mixed_frames(released: list[str] | None = None) -> list[Frame]:
    """Four cameras that differ: RGB24 64x48, BGR24 32x32, GRAY 48x64, NV12 64x48."""
    rgb = gradient(48, 64, 3)
    bgr = gradient(32, 32, 4)
    gray = gradient(64, 48, 5)[:, :, 0]
    nv12 = np.random.default_rng(6).integers(16, 235, 64 * 48 * 3 // 2).astype(np.uint8).reshape(72, 64)
    return [
        frame(rgb, "RGB24", "rgb", released),
        frame(bgr, "BGR24", "bgr", released),
        frame(gray, "GRAY", "gray", released),
        frame(nv12, "NV12", "nv12", released),
    ]


def test_batch_array_letterboxes_every_camera_into_one_array() -> None:
    released: list[str] = []
    frames = mixed_frames(released)
    batch, places = batch_array(frames, (64, 48), dtype=np.uint8, scale=None)
    assert batch.shape == (4, 3, 48, 64) and batch.dtype == np.uint8
    assert released == ["rgb", "bgr", "gray", "nv12"], "each frame released once copied"
    # The frame of the input's size is there as it was; the others are the picture converted, resized and padded.
    assert np.array_equal(batch[0].transpose(1, 2, 0), frames[0].pixels)
    assert places[1] == letterbox(32, 32, (64, 48)) and places[1].left == 8
    assert np.all(batch[1, :, :, :8] == 114) and np.all(batch[1, :, :, 56:] == 114), "the padding"
    expected_bgr = resize_bilinear(to_rgb(frames[1].data, 32, 32, "BGR24")[None], 48, 48)[0]
    assert np.abs(batch[1, :, :, 8:56].transpose(1, 2, 0).astype(float) - expected_bgr).max() <= 0.5
    gray_place = places[2]
    assert (gray_place.scaled_width, gray_place.scaled_height) == (36, 48)
    assert np.array_equal(batch[2, 0], batch[2, 1]) and np.array_equal(batch[2, 1], batch[2, 2]), "gray in all three"
    assert np.array_equal(batch[3].transpose(1, 2, 0), to_rgb(frames[3].data, 64, 48, "NV12")), "NV12 as to_rgb converts it"


def test_batch_array_scales_normalises_orders_and_lays_out() -> None:
    frames = mixed_frames()[:1]
    plain, _ = batch_array(frames, (64, 48), release=False)
    assert plain.dtype == np.float32 and np.allclose(plain[0].transpose(1, 2, 0), frames[0].pixels / 255)
    nhwc, _ = batch_array(frames, (64, 48), layout="nhwc", bgr=True, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), release=False)
    assert nhwc.shape == (1, 48, 64, 3)
    assert np.allclose(nhwc[0], (frames[0].pixels[:, :, ::-1] / 255 - 0.5) / 0.25, atol=1e-5)


def test_a_box_drawn_in_a_frame_comes_back_where_it_was() -> None:
    pixels = np.zeros((360, 640, 3), dtype=np.uint8)
    pixels[90:180, 160:320] = 255  # x 0.25-0.5, y 0.25-0.5 of the frame
    batch, places = batch_array([frame(pixels)], (320, 320), dtype=np.uint8, scale=None)
    ys, xs = np.nonzero(batch[0, 0] > 128)
    found = places[0].boxes_to_frame([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]])[0]
    assert np.allclose(found, [0.25, 0.25, 0.5, 0.5], atol=0.01)


def test_a_torn_frame_is_not_raised_by_the_helpers_and_encoded_frames_are_refused() -> None:
    batch, _ = batch_array([frame(gradient(48, 64), torn=True)], (64, 48))  # the server refuses it alone after the call
    assert batch.shape == (1, 3, 48, 64)
    jpeg = Frame(np.zeros(10, dtype=np.uint8), 64, 48, "JPEG", "c", 1, 0.0)
    released: list[str] = []
    raw = frame(gradient(48, 64), released=released)
    with pytest.raises(FrameError) as caught:
        batch_array([raw, jpeg], (64, 48))
    assert caught.value.code == "ERR_SCHEMA" and caught.value.field == "frame_metadata.format"
    assert caught.value.frames == (jpeg,), "it names the frame it cannot take, so that the server refuses that one alone"
    assert released == [], "raised before any frame is read or released: the server calls the model again with the others"


def test_batch_tensor_on_the_cpu_is_batch_array() -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    released: list[str] = []
    frames = mixed_frames(released)
    tensor, places = batch_tensor(frames, (64, 48), device="cpu")
    array, array_places = batch_array(mixed_frames(), (64, 48))
    assert released == ["rgb", "bgr", "gray", "nv12"]
    assert tensor.shape == (4, 3, 48, 64) and tensor.dtype == torch.float32 and places == array_places
    assert np.allclose(tensor.numpy(), array, atol=1e-5)
    half, _ = batch_tensor(mixed_frames(), (64, 48), device="cpu", dtype=torch.float16, layout="nhwc", mean=(0.4, 0.4, 0.4), std=(0.2, 0.2, 0.2))
    reference, _ = batch_array(mixed_frames(), (64, 48), layout="nhwc", mean=(0.4, 0.4, 0.4), std=(0.2, 0.2, 0.2))
    assert half.dtype == torch.float16 and half.shape == (4, 48, 64, 3)
    assert np.allclose(half.float().numpy(), reference, atol=0.02)


def test_batch_tensor_uploads_once_and_keeps_a_frame_of_the_inputs_size_as_it_was() -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    pixels = gradient(384, 640, 7)
    tensor, places = batch_tensor([frame(pixels, camera=str(i)) for i in range(3)], (640, 384), scale=None, dtype=torch.uint8)
    assert tensor.dtype == torch.uint8 and places[0] == Placement(640, 384, 0, 0, 640, 384)
    for i in range(3):
        assert np.array_equal(tensor[i].permute(1, 2, 0).numpy(), pixels)


def test_batch_tensor_resizes_uint8_in_float_on_the_device_path() -> None:
    """CUDA's bilinear resize has no uint8 (nor has the CPU's): a uint8 batch is resized in float and cast after. The
    rule CUDA takes is run here on whatever device is present, and the whole helper on it matches NumPy's bytes."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    pixels = torch.from_numpy(gradient(48, 80, 3)).permute(2, 0, 1)[None].to(device)
    for kind in ("cuda", device):
        resized = _resize(pixels, 38, 64, torch.uint8, kind)
        assert resized.dtype == torch.uint8 and resized.shape == (1, 3, 38, 64)
    frames = [frame(gradient(48, 80, 3), camera="wide"), frame(gradient(30, 40, 4), camera="small")]
    tensor, places = batch_tensor(frames, (64, 48), device=device, dtype=torch.uint8, scale=None)
    array, array_places = batch_array([frame(gradient(48, 80, 3)), frame(gradient(30, 40, 4))], (64, 48), dtype=np.uint8, scale=None)
    assert tensor.dtype == torch.uint8 and places == array_places
    assert int((tensor.cpu().int() - torch.from_numpy(array).int()).abs().max()) <= 1, "the same bytes, to a rounding"


def _peak_bytes(run: object) -> int:
    """The most memory Python and NumPy held at once (tracemalloc) while ``run()`` ran, above what was held before."""
    assert callable(run)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return int(peak - base)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_batch_array_holds_one_batch_and_one_frames_working_arrays_at_most(dtype: type) -> None:
    """The batch is made once, in its dtype and layout: no batch-sized float32 copy beside it (uint8 bytes go in as
    bytes), only one frame's resize at a time. 32 cameras of 320 x 240 into 256 x 256."""
    frames = [frame(gradient(240, 320, i), camera=str(i)) for i in range(32)]
    kept: list[np.ndarray] = []
    scale = None if dtype is np.uint8 else 1 / 255
    peak = _peak_bytes(lambda: kept.append(batch_array(frames, (256, 256), dtype=dtype, scale=scale, release=False)[0]))
    batch = kept[0]
    assert batch.shape == (32, 3, 256, 256) and batch.dtype == dtype
    one_frame_float32 = 240 * 320 * 3 * 4  # a resize's working array, at the frame's own size
    assert peak <= batch.nbytes + 4 * one_frame_float32, f"peak {peak / 1e6:.1f} MB for a {batch.nbytes / 1e6:.1f} MB batch"
