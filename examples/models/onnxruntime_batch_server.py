#!/usr/bin/python3
"""An ONNX model on ONNX Runtime's CUDA provider, fed batches of every waiting camera's newest frame, with I/O
binding: the batch goes to the GPU in one upload of uint8 and the network's first node converts it there.

    python3 examples/models/onnxruntime_batch_server.py --export /tmp/tiny-batch.onnx     # tiny_net, batch axis free, uint8 in
    python3 examples/models/onnxruntime_batch_server.py --onnx /tmp/tiny-batch.onnx --socket /run/framesupplier/models/tiny-ort.sock

It needs `onnxruntime-gpu` (CUDA) or `onnxruntime` (CPU: the same code on the CPU provider), which Debian does not
package; exporting needs PyTorch. Each call gets the frames of up to --max-batch cameras (1 when one waits: the server
never waits for more), of any sizes: framesupplier.batch.batch_array letterboxes them into one uint8 N x 3 x H x W
array on the CPU (no loop over pixels), OrtValue.ortvalue_from_numpy puts it on the GPU in one copy, the graph casts and
scales it there (the export wraps tiny_net so its input is uint8), and the boxes are mapped back to each frame.
A model of your own needs a free batch axis (`dynamic_axes` in torch.onnx.export, `dynamic=True` for a YOLO export).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import framesupplier.cli
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "src"))
    import framesupplier.cli
import numpy as np
from framesupplier.batch import batch_array

INPUT = (320, 240)  # width, height


def export(path: str) -> None:
    """tiny_net as ONNX with a free batch axis and uint8 input (the cast and the scaling are the graph's first nodes)."""
    import torch
    from tiny_net import build_net

    class FromBytes(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = build_net()

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            return self.net(images.float() / 255.0)

    torch.onnx.export(
        FromBytes().eval(),
        torch.zeros(1, 3, INPUT[1], INPUT[0], dtype=torch.uint8),
        path,
        input_names=["images"],
        output_names=["cells"],
        dynamic_axes={"images": {0: "batch"}, "cells": {0: "batch"}},
        opset_version=13,
    )


class OrtBatchDetector:
    """infer(frames) on an onnxruntime session: CUDA with I/O binding when the provider is there, else the CPU."""

    def __init__(self, path: str) -> None:
        import onnxruntime as ort

        self.ort = ort
        cuda = "CUDAExecutionProvider" in ort.get_available_providers()
        providers = [("CUDAExecutionProvider", {"device_id": 0}), "CPUExecutionProvider"] if cuda else ["CPUExecutionProvider"]
        self.session = ort.InferenceSession(path, providers=providers)
        self.device = "cuda" if self.session.get_providers()[0] == "CUDAExecutionProvider" else "cpu"

    def __call__(self, frames):
        import torch  # tiny_net's post-processing
        from tiny_net import frame_detections

        batch, placements = batch_array(frames, INPUT, dtype=np.uint8, scale=None)  # released once copied
        binding = self.session.io_binding()  # one a call: a binding is not shared between threads
        binding.bind_ortvalue_input("images", self.ort.OrtValue.ortvalue_from_numpy(batch, self.device, 0))  # the one upload
        binding.bind_output("cells", self.device)
        self.session.run_with_iobinding(binding)
        out = torch.from_numpy(binding.copy_outputs_to_cpu()[0])
        return frame_detections(out, placements, INPUT)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--onnx", default="/models/tiny-batch.onnx")
    parser.add_argument("--export")
    own, _ = parser.parse_known_args()
    if own.export:
        export(own.export)
        return 0
    detector = OrtBatchDetector(own.onnx)
    return framesupplier.cli.serve_with_flags(detector, model_id="tiny-ort", socket="/run/framesupplier/models/tiny-ort.sock", input_long_side=max(INPUT), max_batch=32)


if __name__ == "__main__":
    sys.exit(main())
