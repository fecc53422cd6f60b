#!/usr/bin/python3
"""A PyTorch detector on a GPU, fed batches of every waiting camera's newest frame: tiny_net.py's network behind
framesupplier.serve with max_batch (docs/python.md, "Batches").

    python3 examples/models/torch_batch_server.py --socket /run/framesupplier/models/tiny.sock            # CUDA when there
    python3 examples/models/torch_batch_server.py --device cpu --max-batch 8 --socket /tmp/tiny.sock      # anywhere

Each call gets the frames of up to --max-batch cameras (1 when one waits: the server never waits for more), of any
sizes: framesupplier.batch.batch_tensor letterboxes them into one tensor at the network's input (one upload of the
frames' bytes, the conversion on the device), the network runs once, and each frame's boxes are mapped back to it.
On CUDA it runs in half precision. Every flag of `python -m framesupplier.serve` works (--threads, limits...).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # tiny_net beside this file
try:
    import framesupplier.cli
except ImportError:  # not installed: the package in this repository (or the npm package)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "src"))
    import framesupplier.cli
import torch
from framesupplier.batch import batch_tensor
from tiny_net import INPUT_LONG_SIDE, build_net, frame_detections

INPUT = (INPUT_LONG_SIDE, INPUT_LONG_SIDE * 3 // 4)  # width, height: 320 x 240


class BatchDetector:
    """infer(frames): one network call on every frame given, one list of detections per frame."""

    def __init__(self, device: str) -> None:
        self.device = torch.device(device)
        self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        self.net = build_net().to(self.device, dtype=self.dtype)

    @torch.inference_mode()
    def __call__(self, frames):
        x, placements = batch_tensor(frames, INPUT, device=self.device, dtype=self.dtype)  # released once copied
        out = self.net(x).float().cpu()  # one copy back for the whole batch
        return frame_detections(out, placements, INPUT)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    own, _ = parser.parse_known_args()
    if own.device == "cpu":
        torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    detector = BatchDetector(own.device)
    return framesupplier.cli.serve_with_flags(detector, model_id="tiny", socket="/run/framesupplier/models/tiny.sock", input_long_side=max(INPUT), max_batch=32)


if __name__ == "__main__":
    sys.exit(main())
