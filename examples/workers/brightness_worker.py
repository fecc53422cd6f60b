#!/usr/bin/python3
"""A framesupplier command worker in Python: the mean brightness of each frame.

framesupplier.worker.run() speaks the worker protocol (docs/worker-protocol.md)
for us: the hello, one result per frame, frames from shared memory (or in the
message: FRAMESUPPLIER_TRANSPORT=pipe) as NumPy arrays, a clean exit when the
supervisor closes stdin. We only say what to do with a frame.

Needs the framesupplier Python package (pip install ./python, docs/python.md);
run from this repository or the npm package without installing, it uses the
copy in python/src. And Debian's python3-numpy and python3-msgpack.
"""
import os
import sys

try:
    from framesupplier import worker
except ImportError:  # not installed: the package beside this example, in the repository or the npm package
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "src"))
    from framesupplier import worker

def on_frame(frame):
    # The Y plane of 4:2:0 frames and GRAY, else every byte (as the original example did).
    plane = frame.data[: frame.width * frame.height] if frame.format in ("NV12", "YUV420P", "GRAY") else frame.data
    mean = float(plane.mean()) if plane.size else 0.0
    return {"mean_brightness": round(mean, 3), "transport": "pipe" if "data" in frame.request else "shm"}


if __name__ == "__main__":
    sys.exit(worker.run(on_frame, name="brightness worker"))
