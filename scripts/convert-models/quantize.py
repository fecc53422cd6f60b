"""
Makes the int8 variants of the person networks (`NAME-int8.onnx` beside
`NAME.onnx`), once, on a developer's machine: never at install or in CI. See
README.md here for how to run it and the checksums of what it wrote.

Static quantization, QDQ format (onnxruntime.quantization): weights int8 per
channel, activations uint8 with ranges calibrated (MinMax) on a few frames of
OpenCV's vtest.avi that are not the labelled one (10 s), fed as the model
server feeds them. Only the convolutions and what fuses into them (Clip/Relu
activations, residual Adds) are quantized: quantizing the resizes and concats
as well gained nothing measurable. Weights use 7 bits (reduce_range): on a CPU
without VNNI (AVX2 only, as some of the machines this runs on), ONNX Runtime's
u8 × s8 kernels saturate with full-range int8 weights and MultiPose then
finds no one; with 7 bits the same file is right on every x86 CPU. Dynamic
quantization is slower than fp32 for these convolution networks and wrecks
MultiPose's output, so it is not offered.

The decoding tail stays fp32: every node from which no convolution can be
reached, i.e. the output convolutions (heatmaps, offsets, boxes) and all the
arithmetic after them (peak finding, offsets, box maths). Their values are
what the thresholds in person-model.ts compare; quantizing them moves scores
across those thresholds for little speed (they are a few percent of the work).
"""
import argparse
import hashlib
import subprocess
import sys
from collections import defaultdict

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

# Seconds of vtest.avi (10 fps, 79.5 s) calibrated on; 10 s is the labelled frame the accuracy test uses, so it is left out.
CALIBRATION_SECONDS = [2, 9, 17, 25, 33, 41, 49, 57, 65, 73]
WIDTH, HEIGHT = 768, 576


def frames(video, seconds):
    """The frames at those seconds, RGB, HEIGHT × WIDTH × 3 uint8 (ffmpeg decodes, as the capture does)."""
    out = []
    for s in seconds:
        raw = subprocess.run(
            ["ffmpeg", "-v", "error", "-ss", str(s), "-i", video, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
            check=True,
            capture_output=True,
        ).stdout
        out.append(np.frombuffer(raw, np.uint8).reshape(HEIGHT, WIDTH, 3))
    return out


def resize(image, height, width):
    """Bilinear resize with half-pixel centres (what the model server's resize graph does; exact equality is not needed to calibrate)."""
    h, w = image.shape[:2]
    ys = np.clip((np.arange(height) + 0.5) * h / height - 0.5, 0, h - 1)
    xs = np.clip((np.arange(width) + 0.5) * w / width - 0.5, 0, w - 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    img = image.astype(np.float32)
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bottom = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def crop(image, box):
    """The person's square crop with a 20 % margin, black outside the frame, at 192 × 192 (person-model.ts's #poseOf)."""
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * 1.2
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top, s = int(round(cx - side / 2)), int(round(cy - side / 2)), max(1, int(round(side)))
    canvas = np.zeros((s, s, 3), np.uint8)
    sx0, sy0 = max(0, left), max(0, top)
    sx1, sy1 = min(WIDTH, left + s), min(HEIGHT, top + s)
    if sx1 > sx0 and sy1 > sy0:
        canvas[sy0 - top : sy1 - top, sx0 - left : sx1 - left] = image[sy0:sy1, sx0:sx1]
    return resize(canvas, 192, 192)


def calibration_inputs(network, models, rgb):
    """Each network's inputs as the model server gives them: MultiPose int32 448 × 352, CenterNet float 512 × 512, Lightning int32 crops."""
    if network == "movenet-multipose":
        return [np.round(resize(f, 352, 448)).astype(np.int32)[None] for f in rgb]
    if network == "centernet":
        return [resize(f, 512, 512)[None] for f in rgb]
    # Lightning: crops around the people the fp32 CenterNet finds, as the centernet pipeline feeds it.
    detector = ort.InferenceSession(f"{models}/centernet.onnx", providers=["CPUExecutionProvider"])
    crops = []
    for f in rgb:
        rows = detector.run(None, {detector.get_inputs()[0].name: resize(f, 512, 512)[None]})[0][0]
        for x1, y1, x2, y2, score, cls in rows:
            if cls == 0 and score >= 0.2 and len(crops) < 40:
                box = (x1 / 512 * WIDTH, y1 / 512 * HEIGHT, x2 / 512 * WIDTH, y2 / 512 * HEIGHT)
                crops.append(np.round(crop(f, box)).astype(np.int32)[None])
    return crops


class Reader(CalibrationDataReader):
    def __init__(self, name, inputs):
        self.items = iter([{name: x} for x in inputs])

    def get_next(self):
        return next(self.items, None)


def decoding_tail(model):
    """Names of the nodes from which no Conv is reachable: the output convolutions and everything after them."""
    consumers = defaultdict(list)
    for n in model.graph.node:
        for i in n.input:
            consumers[i].append(n)
    feeds_conv = {}
    for n in reversed(model.graph.node):  # the graph is topologically sorted: consumers come later
        feeds_conv[n.name] = any(k.op_type == "Conv" or feeds_conv[k.name] for o in n.output for k in consumers[o])
    return [n.name for n in model.graph.node if not feeds_conv[n.name]]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--models", default="models", help="the directory of the fp32 .onnx files; the -int8.onnx files are written beside them")
    p.add_argument("--video", default="/usr/share/doc/opencv-doc/examples/data/vtest.avi", help="OpenCV's vtest.avi (Debian's opencv-doc)")
    p.add_argument("networks", nargs="*", default=["movenet-multipose", "centernet", "movenet-lightning"])
    args = p.parse_args()
    rgb = frames(args.video, CALIBRATION_SECONDS)
    for network in args.networks:
        source = f"{args.models}/{network}.onnx"
        target = f"{args.models}/{network}-int8.onnx"
        model = onnx.load(source)
        tail = decoding_tail(model)
        inputs = calibration_inputs(network, args.models, rgb)
        quantize_static(
            source,
            target,
            Reader(model.graph.input[0].name, inputs),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            reduce_range=True,
            op_types_to_quantize=["Conv", "Clip", "Relu", "Add"],
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=tail,
        )
        print(f"{network}: {len(inputs)} calibration inputs, {len(tail)} tail nodes left fp32")
        print(f"  {source} sha256 {sha256(source)}")
        print(f"  {target} sha256 {sha256(target)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
