"""Runs examples/models/tiny_net.py on the frames recording_torch_server.py recorded, outside framesupplier,
and prints how many there were and how many gave other detections than the server answered."""

import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples", "models"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tiny_net import build_net, detect  # noqa: E402

torch.set_num_threads(1)
net = build_net()
frames = sorted(glob.glob(os.path.join(sys.argv[1], "frame-*.npz")))
different = 0
for path in frames:
    saved = np.load(path)
    again = np.array([[d["confidence"], *d["bbox"]] for d in detect(net, saved["rgb"])])
    if again.shape != saved["detections"].shape or not np.array_equal(again, saved["detections"]):
        different += 1
print(json.dumps({"frames": len(frames), "different": different, "shape": list(np.load(frames[0])["rgb"].shape) if frames else None}))
