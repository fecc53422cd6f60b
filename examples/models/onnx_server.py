#!/usr/bin/python3
"""An ONNX model behind framesupplier, run by OpenCV's DNN module (Debian's python3-opencv).

Debian (bookworm) packages no ONNX Runtime for Python, so this example runs the
.onnx file with cv2.dnn; with onnxruntime installed, replace the two cv2.dnn
lines with an onnxruntime.InferenceSession and its run(). The model file is
tiny_net.py's network exported with torch.onnx (--export writes it; pass your
own with --onnx).

    python3 examples/models/onnx_server.py --export /tmp/tiny.onnx
    python3 examples/models/onnx_server.py --onnx /tmp/tiny.onnx --socket /run/framesupplier/models/tiny-onnx.sock
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
import cv2
import numpy as np

INPUT = (320, 240)  # width, height: 4:3 frames at the tiny network's long side


def export(path: str) -> None:
    import torch
    from tiny_net import build_net

    torch.onnx.export(build_net(), torch.zeros(1, 3, INPUT[1], INPUT[0]), path, input_names=["images"], output_names=["cells"], opset_version=11)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--onnx", default="/models/tiny.onnx")
    parser.add_argument("--export")
    own, _ = parser.parse_known_args()
    if own.export:
        export(own.export)
        return 0
    net = cv2.dnn.readNetFromONNX(own.onnx)
    import threading

    lock = threading.Lock()  # one cv2.dnn.Net runs one inference at a time

    def infer(frame: framesupplier.Frame):
        rgb = cv2.resize(frame.to_rgb(), INPUT, interpolation=cv2.INTER_AREA)
        frame.release()
        with lock:
            net.setInput(cv2.dnn.blobFromImage(rgb, scalefactor=1 / 255.0))
            out = net.forward()
        import torch  # the same post-processing as the PyTorch example
        from tiny_net import boxes_from_output

        return boxes_from_output(torch.from_numpy(np.ascontiguousarray(out)))

    return framesupplier.cli.serve_with_flags(infer, model_id="tiny-onnx", socket="/run/framesupplier/models/tiny-onnx.sock", input_long_side=max(INPUT))


if __name__ == "__main__":
    sys.exit(main())
