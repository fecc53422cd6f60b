"""The batched examples (examples/models): the PyTorch detector on the CPU (the code that runs on CUDA, in float32),
served and called directly; the ONNX Runtime one when onnxruntime is installed (its export checked without it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import PACKAGE, SRC, Client, request

from framesupplier import Frame
from framesupplier.testing import StoreWriter

torch = pytest.importorskip("torch", reason="PyTorch is not installed: the batched examples run on it")

EXAMPLES = PACKAGE.parent / "examples" / "models"
sys.path.insert(0, str(EXAMPLES))

SIZES = {"wide": (640, 360), "square": (256, 256), "tall": (240, 320)}


def pixels(width: int, height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([(x * 7 + y) % 256, (y * 3) % 256, (x ^ y) % 256], axis=2) + rng.integers(0, 30, (height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def frames() -> list[Frame]:
    return [Frame(pixels(w, h, i).reshape(-1), w, h, "RGB24", name, 1, 0.0) for i, (name, (w, h)) in enumerate(SIZES.items())]


def close(a: list[dict[str, Any]], b: list[dict[str, Any]], tolerance: float = 1e-4) -> bool:
    return len(a) == len(b) and all(
        np.allclose(x["bbox"], y["bbox"], atol=tolerance) and abs(x["confidence"] - y["confidence"]) < tolerance for x, y in zip(a, b)
    )


def test_the_torch_batch_detector_answers_each_frame_as_if_alone() -> None:
    from torch_batch_server import BatchDetector

    detector = BatchDetector("cpu")
    together = detector(frames())
    alone = [detector([f])[0] for f in frames()]
    assert len(together) == 3 and all(together)
    for t, a in zip(together, alone):
        assert close(t, a), (t, a)
        assert all(0 <= v <= 1 for d in t for v in d["bbox"])


def test_the_torch_batch_server_serves_cameras_of_different_sizes(tmp_path: Path, shm: str) -> None:
    from torch_batch_server import BatchDetector

    socket_path = str(tmp_path / "tiny.sock")
    child = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "torch_batch_server.py"), "--device", "cpu", "--max-batch", "4", "--socket", socket_path, "--shm-dir", shm],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    try:
        assert child.stdout is not None
        assert json.loads(child.stdout.readline())["listening"] == socket_path
        expected = BatchDetector("cpu")(frames())
        clients, writers = [], []
        for i, (name, (w, h)) in enumerate(SIZES.items()):
            writer = StoreWriter(shm, name, slot_bytes=w * h * 3)
            fid = writer.write(pixels(w, h, i).tobytes(), w, h, "RGB24")
            client = Client(socket_path)
            client.send(request(writer, fid, w, h, camera_id=name, model_id="tiny", frame_select="newest"))
            clients.append(client)
            writers.append(writer)
        pong = Client(socket_path).ask({"type": "ping"})
        assert pong["max_batch"] == 4 and pong["frame_long_side"] == 320
        for client, want in zip(clients, expected):
            answer = client.recv()
            assert answer["error"] is None, answer
            assert 1 <= answer["metadata"]["batch_size"] <= 3
            assert close(answer["detections"], want), (answer["detections"], want)
    finally:
        child.terminate()
        child.wait(30)


def test_the_onnx_export_has_a_free_batch_axis_and_takes_bytes(tmp_path: Path) -> None:
    cv2 = pytest.importorskip("cv2", reason="OpenCV is not installed: the export is checked by running it with cv2.dnn")
    from onnxruntime_batch_server import INPUT, export
    from tiny_net import build_net

    path = str(tmp_path / "tiny-batch.onnx")
    export(path)
    batch = np.stack([pixels(INPUT[0], INPUT[1], i).transpose(2, 0, 1) for i in range(3)])
    net = cv2.dnn.readNetFromONNX(path)
    net.setInput(batch)
    out = net.forward()
    with torch.no_grad():
        reference = build_net()(torch.from_numpy(batch).float() / 255).numpy()
    assert out.shape == (3, 5, INPUT[1] // 8, INPUT[0] // 8)
    assert np.allclose(out, reference, atol=1e-4)


def test_the_onnxruntime_batch_detector_answers_as_the_torch_one(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (Debian does not package it): pip install onnxruntime-gpu, or onnxruntime for the CPU provider")
    from onnxruntime_batch_server import OrtBatchDetector, export
    from torch_batch_server import BatchDetector

    path = str(tmp_path / "tiny-batch.onnx")
    export(path)
    ort = OrtBatchDetector(path)
    theirs = BatchDetector("cpu")(frames())
    ours = ort(frames())
    assert all(close(a, b, 0.01) for a, b in zip(ours, theirs)), (ours, theirs)  # its input rounded to bytes after the resize
