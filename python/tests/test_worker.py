"""framesupplier.worker.run against the worker protocol, with the example worker as a real process."""

import io
import os
import struct
import subprocess
import sys

import msgpack
from conftest import PACKAGE, SRC

from framesupplier import worker
from framesupplier.testing import StoreWriter

EXAMPLE = PACKAGE.parent / "examples" / "workers" / "brightness_worker.py"


def framed(*messages):
    out = b""
    for m in messages:
        body = msgpack.packb(m, use_bin_type=True)
        out += struct.pack(">I", len(body)) + body
    return out


def answers(data):
    out, at = [], 0
    while at < len(data):
        (n,) = struct.unpack(">I", data[at : at + 4])
        out.append(msgpack.unpackb(data[at + 4 : at + 4 + n], raw=False))
        at += 4 + n
    return out


HELLO = {"type": "hello", "protocol": 1, "worker_id": "w", "transports": ["shm", "pipe"]}


def test_pipe_and_shm_frames_come_as_numpy_results_go_back_with_their_seq(tmp_path):
    writer = StoreWriter(str(tmp_path), "worker-w", slots=1, slot_bytes=12)
    fid = writer.write(bytes([10] * 12), 2, 2, "RGB24")
    shm_frame = {"type": "frame", "seq": 4, "stream_id": "s", "capture_time": 1.0, "wall_time": 2.0, "width": 2, "height": 2, "format": "rgb24", "frame_reference": writer.path, "frame_id": fid}
    out = io.BytesIO()
    code = worker.run(lambda f: {"mean": f.pixels.mean(), "shape": list(f.pixels.shape)}, stdin=io.BytesIO(framed(HELLO, shm_frame)), stdout=out)
    assert code == 0
    hello, result = answers(out.getvalue())
    assert hello == {"type": "hello", "protocol": 1, "transport": "shm"}
    assert result == {"type": "result", "seq": 4, "output": {"mean": 10.0, "shape": [2, 2, 3]}}

    pipe_frame = {**shm_frame, "seq": 9, "data": bytes([3] * 12)}
    del pipe_frame["frame_reference"]
    out = io.BytesIO()
    worker.run(lambda f: int(f.data.sum()), stdin=io.BytesIO(framed(HELLO, pipe_frame)), stdout=out, transport="pipe")
    assert answers(out.getvalue())[1] == {"type": "result", "seq": 9, "output": 36}


def test_a_frame_overwritten_while_on_frame_reads_it_and_a_failing_on_frame_are_errors_and_the_worker_goes_on(tmp_path):
    writer = StoreWriter(str(tmp_path), "worker-w", slots=1, slot_bytes=12)
    fid = writer.write(bytes(12), 2, 2, "RGB24")
    frame = {"type": "frame", "seq": 1, "stream_id": "s", "capture_time": 1.0, "wall_time": 2.0, "width": 2, "height": 2, "format": "rgb24", "frame_reference": writer.path, "frame_id": fid}
    calls = []

    def on_frame(f):
        calls.append(f.frame_id)
        if len(calls) == 1:
            writer.write(bytes(12), 2, 2, "RGB24")  # lapped mid-read
            return "torn"
        raise RuntimeError("boom")

    out = io.BytesIO()
    assert worker.run(on_frame, stdin=io.BytesIO(framed(HELLO, frame, {**frame, "seq": 2, "frame_id": fid + 1})), stdout=out) == 0
    _, first, second = answers(out.getvalue())
    assert first["seq"] == 1 and first["output"]["error"]["code"] == "ERR_FRAME_OVERWRITTEN"
    assert second["seq"] == 2 and second["output"]["error"] == {"code": "ERR_PY_ON_FRAME_FAILED", "message": "RuntimeError: boom"}


def test_the_example_worker_as_a_process_exits_0_at_end_of_stream(tmp_path):
    frame = {"type": "frame", "seq": 1, "stream_id": "s", "capture_time": 1.0, "wall_time": 2.0, "width": 2, "height": 2, "format": "gray", "data": bytes([1, 2, 3, 4])}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # it finds the package beside it
    env["FRAMESUPPLIER_TRANSPORT"] = "pipe"
    done = subprocess.run([sys.executable, str(EXAMPLE)], input=framed(HELLO, frame), capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert answers(done.stdout)[1] == {"type": "result", "seq": 1, "output": {"mean_brightness": 2.5, "transport": "pipe"}}
    assert b"worker-stats" in done.stderr and str(SRC)
