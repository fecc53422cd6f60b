"""examples/models/torch_server.py's network, recording what it answered: for the end-to-end test
(test/pipeline/discover.test.ts), each frame it read (RGB, as converted) and its detections go to
--record DIR as frame-<camera>-<frame_id>.npz, so the test can run the same network on the same
frames outside framesupplier and compare."""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples", "models"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tiny_net import INPUT_LONG_SIDE, build_net, detect  # noqa: E402

import framesupplier  # noqa: E402
import framesupplier.cli  # noqa: E402

torch.set_num_threads(1)
parser = argparse.ArgumentParser()
parser.add_argument("--record", required=True)
own, _ = parser.parse_known_args()
net = build_net()


def infer(frame: framesupplier.Frame):
    rgb = frame.to_rgb()
    frame.release()
    detections = detect(net, rgb)
    tmp = os.path.join(own.record, f".frame-{frame.camera_id}-{frame.frame_id}.npz")
    with open(tmp, "wb") as f:
        np.savez(f, rgb=rgb, detections=np.array([[d["confidence"], *d["bbox"]] for d in detections]))
    os.rename(tmp, os.path.join(own.record, f"frame-{frame.camera_id}-{frame.frame_id}.npz"))
    return detections


sys.exit(framesupplier.cli.serve_with_flags(infer, model_id="tiny", socket="/run/framesupplier/models/tiny.sock", input_long_side=INPUT_LONG_SIDE))
