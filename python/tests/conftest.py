"""Tests of the Python package against real sockets and real frame stores (tmp directories, not /dev/shm)."""

import json
import os
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

PACKAGE = Path(__file__).resolve().parent.parent
SRC = PACKAGE / "src"
if not any(p.name.startswith("_shmguard") and p.suffix == ".so" for p in (SRC / "framesupplier").iterdir()):
    subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=PACKAGE, check=True, capture_output=True, timeout=120)
sys.path.insert(0, str(SRC))

import asyncio  # noqa: E402

from framesupplier import Limits, ModelServer  # noqa: E402
from framesupplier.testing import StoreWriter  # noqa: E402


class Client:
    """A blocking protocol client: one connection, messages in, answers out."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(path)

    def send(self, message: Any) -> None:
        body = json.dumps(message).encode()
        self.sock.sendall(struct.pack(">I", len(body)) + body)

    def recv(self) -> Dict[str, Any]:
        header = self.sock.recv(4, socket.MSG_WAITALL)
        assert len(header) == 4, "the server closed the connection"
        (n,) = struct.unpack(">I", header)
        return json.loads(self.sock.recv(n, socket.MSG_WAITALL))

    def ask(self, message: Any) -> Dict[str, Any]:
        self.send(message)
        return self.recv()

    def close(self) -> None:
        self.sock.close()


def request(writer: StoreWriter, frame_id: int, width: int = 64, height: int = 48, fmt: str = "RGB24", **extra: Any) -> Dict[str, Any]:
    return {
        "frame_reference": writer.path,
        "frame_metadata": {"frame_id": frame_id, "width": width, "height": height, "format": fmt},
        "camera_id": extra.pop("camera_id", "cam"),
        "model_id": extra.pop("model_id", "m"),
        "timestamp": 1.0,
        **extra,
    }


class RunningServer:
    """A ModelServer on its own event loop thread."""

    def __init__(self, server: ModelServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(server.start(), self.loop).result(30)

    def client(self) -> Client:
        return Client(self.server.socket_path)

    def stop(self) -> None:
        if not self.loop.is_running():
            return
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.thread.is_alive():
            self.loop.close()  # closed here, not by the collector at exit (its self-pipe may be gone then: noise on stderr)


@pytest.fixture
def shm(tmp_path: Path) -> str:
    d = tmp_path / "shm"
    d.mkdir(mode=0o700)
    return str(d)


@pytest.fixture
def start(tmp_path: Path, shm: str) -> Iterator[Any]:
    running: list[RunningServer] = []

    def _start(infer: Any, **options: Any) -> RunningServer:
        options.setdefault("model_id", "m")
        options.setdefault("socket", str(tmp_path / f"model{len(running)}.sock"))
        options.setdefault("shm_dir", shm)
        r = RunningServer(ModelServer(infer, **options))
        running.append(r)
        return r

    yield _start
    for r in running:
        r.stop()


__all__ = ["Client", "request", "RunningServer", "StoreWriter", "Limits", "PACKAGE", "SRC", "os"]
