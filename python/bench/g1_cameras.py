"""G1's cameras, several to a process: each a closed loop of writing its newest 640x384 RGB24 frame into its own store,
asking the model server about it (a newest-frame request on its own persistent connection) and, once answered,
doing it again, until the window's end; then it prints
one JSON object: per camera, the answers received in [start, end) and their figures. It prints ``ready`` once
its stores and connections are made, then reads ``START END`` (CLOCK_MONOTONIC seconds, shared by every process of
the machine) on stdin and starts asking.

    g1_cameras.py --socket S --shm-dir D --cameras cam_0,cam_1
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import struct
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

import numpy as np  # noqa: E402

from framesupplier.testing import StoreWriter  # noqa: E402

WIDTH, HEIGHT = 640, 384
FRAME_BYTES = WIDTH * HEIGHT * 3


class Camera:
    def __init__(self, name: str, socket_path: str, shm_dir: str, seed: int) -> None:
        self.name = name
        self.store = StoreWriter(shm_dir, name, slots=4, slot_bytes=FRAME_BYTES)
        self.pixels = np.random.default_rng(seed).integers(0, 256, FRAME_BYTES, dtype=np.uint8).tobytes()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(socket_path)
        self.sock.setblocking(False)
        self.buffer = bytearray()
        self.asked_at = 0.0
        self.frame_id = 0
        self.request_id = 0
        self.answered = 0
        self.errors: dict[str, int] = {}
        self.not_newest = 0
        self.rtt_ms: list[float] = []
        self.calls: list[tuple[int, float, float, float | None]] = []
        """(batch_size, batch_oldest_frame_age_ms, inference_time_ms, the model's device_ms if it says) of each answer in the window."""
        self.frame_age_ms: list[float] = []
        self.idle_ms: list[tuple[int, float]] = []
        """(batch_size, the device's idle time before the call) of each answer in the window, when the model says."""

    def ask(self) -> None:
        self.frame_id = self.store.write(self.pixels, WIDTH, HEIGHT, "RGB24")
        self.request_id += 1
        body = json.dumps(
            {
                "frame_reference": self.store.path,
                "frame_metadata": {"frame_id": self.frame_id, "width": WIDTH, "height": HEIGHT, "format": "RGB24"},
                "camera_id": self.name,
                "model_id": "g1",
                "timestamp": time.time(),
                "frame_select": "newest",
                "request_id": self.request_id,
            },
            separators=(",", ":"),
        ).encode()
        self.asked_at = time.monotonic()
        self.sock.sendall(struct.pack(">I", len(body)) + body)  # a few hundred bytes: the socket takes them at once

    def answers(self) -> list[dict[str, Any]]:
        """The complete answers read so far."""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except BlockingIOError:
                break
            if not chunk:
                raise ConnectionError(f"{self.name}: the server closed the connection")
            self.buffer += chunk
        out = []
        while len(self.buffer) >= 4:
            (length,) = struct.unpack_from(">I", self.buffer)
            if len(self.buffer) < 4 + length:
                break
            out.append(json.loads(bytes(self.buffer[4 : 4 + length])))
            del self.buffer[: 4 + length]
        return out

    def record(self, answer: dict[str, Any], now: float) -> None:
        error = answer.get("error")
        if error is not None:
            self.errors[error["code"]] = self.errors.get(error["code"], 0) + 1
            return
        self.answered += 1
        self.rtt_ms.append((now - self.asked_at) * 1000)
        meta = answer["metadata"]
        device_ms, idle_ms = meta.get("device_ms"), meta.get("device_idle_ms")
        self.calls.append(
            (int(meta.get("batch_size", 1)), float(meta.get("batch_oldest_frame_age_ms", 0.0)), float(meta["inference_time_ms"]), None if device_ms is None else float(device_ms))
        )
        if idle_ms is not None:
            self.idle_ms.append((int(meta.get("batch_size", 1)), float(idle_ms)))
        self.frame_age_ms.append(float(meta.get("frame_age_ms", 0.0)))
        if answer["frame_id"] != self.frame_id:
            self.not_newest += 1

    def figures(self) -> dict[str, Any]:
        return {
            "camera": self.name,
            "answered": self.answered,
            "errors": self.errors,
            "not_newest": self.not_newest,
            "rtt_ms": [round(v, 3) for v in self.rtt_ms],
            "calls": [[n, round(o, 3), round(i, 3), None if d is None else round(d, 3)] for n, o, i, d in self.calls],
            "frame_age_ms": [round(v, 3) for v in self.frame_age_ms],
            "idle_ms": [[n, round(v, 3)] for n, v in self.idle_ms],
        }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    parser.add_argument("--shm-dir", required=True)
    parser.add_argument("--cameras", required=True)
    own = parser.parse_args()
    names = own.cameras.split(",")
    cameras = [Camera(name, own.socket, own.shm_dir, seed) for seed, name in enumerate(names)]
    selector = selectors.DefaultSelector()
    for camera in cameras:
        selector.register(camera.sock, selectors.EVENT_READ, camera)
    print("ready", flush=True)  # every store made and every connection open: the window is set once all are
    start_at, end_at = (float(v) for v in sys.stdin.readline().split())
    for camera in cameras:
        camera.ask()
    cpu_at_start: float | None = None
    while True:
        now = time.monotonic()
        if now >= end_at:
            break
        if cpu_at_start is None and now >= start_at:
            cpu_at_start = time.process_time()
        for key, _ in selector.select(timeout=max(0.0, min(0.05, end_at - now))):
            camera: Camera = key.data
            answers = camera.answers()
            if not answers:
                continue
            now = time.monotonic()
            if start_at <= now < end_at:
                for answer in answers:
                    camera.record(answer, now)
            camera.ask()
    cpu_s = time.process_time() - (cpu_at_start if cpu_at_start is not None else time.process_time())
    print(json.dumps({"cpu_s": cpu_s, "cameras": [c.figures() for c in cameras]}), flush=True)
    for camera in cameras:
        camera.sock.close()
        camera.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
