#!/usr/bin/python3
"""A PyTorch model behind framesupplier: the tiny network of tiny_net.py, served with framesupplier.serve.

    python3 examples/models/torch_server.py --socket /run/framesupplier/models/tiny.sock

Every flag of `python -m framesupplier.serve` works (--model-id, --shm-dir, --threads, limits...): the script
serves with framesupplier.cli.serve_with_flags, so its flags override the arguments; docs/python.md.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # tiny_net beside this file
try:
    import framesupplier.cli
except ImportError:  # not installed: the package in this repository (or the npm package)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "src"))
    import framesupplier.cli
import torch
from tiny_net import INPUT_LONG_SIDE, build_net, detect

torch.set_num_threads(1)  # one core per handler thread: --threads N runs N frames side by side (PyTorch releases the GIL)
net = build_net()


def infer(frame: framesupplier.Frame):
    rgb = frame.to_rgb()  # converted (a copy) ...
    frame.release()  # ... so the shared frame is checked now and not held during inference
    return detect(net, rgb)


if __name__ == "__main__":
    sys.exit(framesupplier.cli.serve_with_flags(infer, model_id="tiny", socket="/run/framesupplier/models/tiny.sock", input_long_side=INPUT_LONG_SIDE))
