"""G1's models (bench/README.md, "G1 one accelerator, many cameras"), each as a batched ``infer(frames)``:

- ``standin``: the accelerator-shaped stand-in: one device (a lock), a call of n frames costing a + b*n
  (4 ms + 0.3 ms a frame, the shape of a ResNet-50-sized network on an H200), waiting in a sleep that
  releases the GIL; one empty result per frame, its metadata the call's time on the device (``device_ms``).
- ``noop``: a model that does nothing (the server's own ceiling).
- ``resnet50``: a ResNet-50 trunk (torchvision's layout, built in code: random weights, no download) with a
  one-by-one detection head at 640x384, fp16 on CUDA, channels-last; the frames go to the device with
  ``framesupplier.batch.batch_tensor`` (one upload of uint8) and the boxes come back with their placements.
- ``tiny``: the same with a small network, for a CPU (``--device cpu``), so the GPU script's path runs anywhere.

A torch model pads each call to a bucket of batch sizes (1, 2, 4, then multiples of 8) so that cuDNN meets
a few shapes, each tuned once at load (``warm()``), not a new one at every batch size. ``python3
g1_models.py --direct ...`` measures a model called directly (no server): its frames per second at each batch
size, one JSON line each, for G1's ``model_ceiling_per_s``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

import numpy as np  # noqa: E402

from framesupplier import Frame  # noqa: E402

WIDTH, HEIGHT = 640, 384
STANDIN_A_MS = 4.0
STANDIN_B_MS = 0.3


class StandIn:
    """One device: a call holds it for a + b*n ms, sleeping (the GIL released)."""

    def __init__(self, a_ms: float = STANDIN_A_MS, b_ms: float = STANDIN_B_MS) -> None:
        self.a_ms, self.b_ms = a_ms, b_ms
        self.device = threading.Lock()
        self.free_since: float | None = None

    def __call__(self, frames: list[Frame]) -> list[dict[str, Any]]:
        with self.device:
            began = time.monotonic()
            idle_ms = 0.0 if self.free_since is None else (began - self.free_since) * 1000
            time.sleep((self.a_ms + self.b_ms * len(frames)) / 1000)
            self.free_since = time.monotonic()
            held_ms = (self.free_since - began) * 1000
        # The device's own time, for its busy share, and how long it stood idle before this call (the server's gap).
        return [{"detections": [], "metadata": {"device_ms": held_ms, "device_idle_ms": idle_ms}} for _ in frames]


def noop(frames: list[Frame]) -> list[list[Any]]:
    return [[] for _ in frames]


def bucket(n: int) -> int:
    """The batch size a call of n frames is padded to."""
    if n <= 2:
        return n
    if n <= 4:
        return 4
    return -(-n // 8) * 8


class TorchDetector:
    """A network on frames: batch_tensor, the network, the top boxes of each frame mapped back to it."""

    def __init__(self, network: str, device: str, half: bool, max_batch: int) -> None:
        import torch

        from framesupplier.batch import batch_tensor

        self.torch = torch
        self.batch_tensor = batch_tensor
        self.device = torch.device(device)
        self.dtype = torch.float16 if half else torch.float32
        self.max_batch = max_batch
        torch.backends.cudnn.benchmark = True
        if self.device.type == "cpu":
            torch.set_num_threads(1)  # the CPU path only proves the script: one core, no threads spinning against the server
        torch.manual_seed(71)
        net = resnet50_detector() if network == "resnet50" else tiny_detector()
        self.net = net.eval().to(self.device, dtype=self.dtype, memory_format=torch.channels_last)
        self.name = network

    def buckets(self) -> list[int]:
        return sorted({bucket(n) for n in range(1, self.max_batch + 1)})

    def warm(self) -> float:
        """Each bucket's shape run once (cuDNN tunes it now, not during the run); returns the seconds it took."""
        started = time.monotonic()
        for n in self.buckets():
            self.forward(self.torch.zeros((n, 3, HEIGHT, WIDTH), dtype=self.dtype, device=self.device))
        self.sync()
        return time.monotonic() - started

    def sync(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)

    def forward(self, x: Any) -> Any:
        with self.torch.inference_mode():
            n = x.shape[0]
            padded = bucket(n)
            if padded != n:
                x = self.torch.cat([x, x.new_zeros((padded - n, *x.shape[1:]))])
            return self.net(x.contiguous(memory_format=self.torch.channels_last))[:n]

    def __call__(self, frames: list[Frame]) -> list[list[dict[str, Any]]]:
        torch = self.torch
        x, places = self.batch_tensor(frames, (WIDTH, HEIGHT), device=self.device, dtype=self.dtype, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
        out = self.forward(x).float()  # N x 5 x h x w: a score, then a box (x1, y1, x2, y2) in cells around the cell
        n, _, gh, gw = out.shape
        scores = torch.sigmoid(out[:, 0]).flatten(1)
        best = torch.topk(scores, min(5, gh * gw), dim=1)
        cy, cx = best.indices // gw, best.indices % gw
        offsets = torch.sigmoid(out[:, 1:].flatten(2).gather(2, best.indices[:, None, :].expand(n, 4, -1)))  # N x 4 x K
        cell_w, cell_h = WIDTH / gw, HEIGHT / gh
        boxes = torch.stack(((cx - offsets[:, 0]) * cell_w, (cy - offsets[:, 1]) * cell_h, (cx + 1 + offsets[:, 2]) * cell_w, (cy + 1 + offsets[:, 3]) * cell_h), dim=2)
        boxes_host, scores_host = boxes.cpu().numpy(), best.values.cpu().numpy()  # one copy back a call
        results = []
        for i, place in enumerate(places):
            mapped = place.boxes_to_frame(boxes_host[i])
            results.append([{"class_id": 0, "class_name": "object", "confidence": float(s), "bbox": b.tolist()} for s, b in zip(scores_host[i], mapped)])
        return results


def tiny_detector() -> Any:
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 5, 1),
    )


def resnet50_detector() -> Any:
    """ResNet-50's trunk (conv1, the four stages of 3, 4, 6, 3 bottlenecks: torchvision's resnet50 without its pool
    and classifier) and a 1x1 head of 5 channels at stride 32 (a score and a box a cell)."""
    import torch.nn as nn

    class Bottleneck(nn.Module):
        def __init__(self, cin: int, width: int, stride: int) -> None:
            super().__init__()
            cout = width * 4
            self.body = nn.Sequential(
                nn.Conv2d(cin, width, 1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.Conv2d(width, cout, 1, bias=False),
                nn.BatchNorm2d(cout),
            )
            self.down = None if stride == 1 and cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x: Any) -> Any:
            return self.relu(self.body(x) + (x if self.down is None else self.down(x)))

    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(blocks):
            layers.append(Bottleneck(cin, width, stride if i == 0 else 1))
            cin = width * 4
    layers.append(nn.Conv2d(cin, 5, 1))
    return nn.Sequential(*layers)


def load(model: str, device: str, max_batch: int) -> Any:
    """The batched infer(frames) G1 serves: standin, noop, resnet50 or tiny (on ``device``)."""
    if model == "standin":
        return StandIn()
    if model == "noop":
        return noop
    detector = TorchDetector(model, device, half=device.startswith("cuda"), max_batch=max_batch)
    warmed = detector.warm()
    sys.stderr.write(f"g1: {model} on {device} warmed in {warmed:.1f} s ({len(detector.buckets())} batch shapes)\n")
    return detector


def frames_of(n: int, seed: int = 0) -> list[Frame]:
    """n frames as a server gives them (640x384 RGB24), of distinct cameras."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, WIDTH * HEIGHT * 3, dtype=np.uint8)
    return [Frame(pixels, WIDTH, HEIGHT, "RGB24", f"camera_{i}", 1, time.time() * 1000) for i in range(n)]


def direct(model: str, device: str, sizes: list[int], seconds: float, max_batch: int) -> None:
    """The model called directly at each batch size, one JSON line each: infer(frames) (the frames made ready by the
    model, as served) and, for a network, the network alone on a batch already on the device."""
    infer = load(model, device, max_batch)
    for n in sizes:
        frames = frames_of(n)  # made once: what is timed is the model's call on frames as a server hands them
        infer(frames)
        calls, started = 0, time.monotonic()
        while time.monotonic() - started < seconds or calls < 3:
            infer(frames)
            calls += 1
        rate = calls * n / (time.monotonic() - started)
        line: dict[str, Any] = {"batch": n, "calls": calls, "frames_per_s": round(rate, 1)}
        if isinstance(infer, TorchDetector):
            x = infer.torch.zeros((n, 3, HEIGHT, WIDTH), dtype=infer.dtype, device=infer.device)
            infer.forward(x)
            infer.sync()
            calls, started = 0, time.monotonic()
            while time.monotonic() - started < seconds or calls < 3:
                infer.forward(x)
                calls += 1
            infer.sync()
            line["network_frames_per_s"] = round(calls * n / (time.monotonic() - started), 1)
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="G1's models called directly (no server)")
    parser.add_argument("--direct", action="store_true", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", required=True, help="batch sizes, comma-separated")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--max-batch", type=int, default=64)
    own = parser.parse_args()
    direct(own.model, own.device, [int(v) for v in own.sizes.split(",")], own.seconds, own.max_batch)
