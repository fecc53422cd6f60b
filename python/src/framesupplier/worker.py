"""Command workers in Python: the worker side of docs/worker-protocol.md.

``run(on_frame)`` answers the supervisor's hello (taking the shared-memory
transport when offered, ``FRAMESUPPLIER_TRANSPORT=pipe`` to ask for pixels in
the message), then calls ``on_frame(frame)`` for every frame and sends its
return value back as the frame's result: exactly one result per frame, with
its ``seq``, and nothing out of turn. A frame that cannot be read (overwritten,
not found) or an ``on_frame`` that raises is answered ``{"error": {"code",
"message"}}`` and the worker goes on. End of stdin is a clean exit (0), with
one ``worker-stats`` line on stderr. Needs msgpack (Debian's python3-msgpack).
"""

from __future__ import annotations

import logging
import os
import struct
import sys
import time
from collections.abc import Callable
from typing import Any, BinaryIO, Literal, TypeGuard

import numpy as np

from .errors import FrameError, WorkerError
from .frame import Frame, is_frame_format
from .logs import LOGGER, install_json_logging, log_event
from .store import StoreReader

PROTOCOL = 1
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

Transport = Literal["shm", "pipe"]
"""How frames come: a reference into the shared-memory store, or the pixels in the message."""
TRANSPORTS: tuple[Transport, ...] = ("shm", "pipe")

OnFrame = Callable[[Frame], Any]
"""A worker: a frame in, any MessagePack value out (the protocol's result is open)."""

Message = dict[str, Any]
"""A MessagePack map as the supervisor sends it: open."""


def is_transport(value: object) -> TypeGuard[Transport]:
    return isinstance(value, str) and value in TRANSPORTS


def read_message(stream: BinaryIO) -> Message | None:
    """The next message, or None at end of stream."""
    import msgpack

    header = stream.read(4)
    if len(header) < 4:
        return None
    (length,) = struct.unpack(">I", header)
    if not 1 <= length <= MAX_MESSAGE_BYTES:
        raise WorkerError(f"a message length of {length} is outside 1-{MAX_MESSAGE_BYTES}")
    body = stream.read(length)
    if len(body) < length:
        return None
    message = msgpack.unpackb(body, raw=False)
    if not isinstance(message, dict):
        raise WorkerError("a message is not a map")
    return message


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot send {type(value).__name__} as a result")


def write_message(stream: BinaryIO, message: Message) -> None:
    import msgpack

    body = msgpack.packb(message, use_bin_type=True, default=_plain)
    stream.write(struct.pack(">I", len(body)) + body)
    stream.flush()


class _Stats:
    def __init__(self) -> None:
        self.frames = 0
        self.errors = 0
        self.times: list[float] = []

    def fields(self) -> dict[str, object]:
        ordered = sorted(self.times)

        def pick(p: int) -> float | None:
            return None if not ordered else round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 3)

        return {"frames": self.frames, "errors": self.errors, "on_frame_ms_p50": pick(50), "on_frame_ms_p99": pick(99)}


def run(
    on_frame: OnFrame, *, name: str = "python worker", stdin: BinaryIO | None = None, stdout: BinaryIO | None = None, transport: Transport | None = None
) -> int:
    """Serves frames to ``on_frame`` until the supervisor closes stdin; returns the exit code (0, or 2 on a bad hello).

    ``name`` starts the line it logs on stderr once ready (``<name> <worker_id> ready, transport shm``).
    """
    if not LOGGER.handlers:  # run() is the worker process's entry, its command line: its log is JSON lines on stderr
        install_json_logging()
    inp = stdin if stdin is not None else sys.stdin.buffer
    out = stdout if stdout is not None else sys.stdout.buffer
    hello = read_message(inp)
    if hello is None or hello.get("type") != "hello" or hello.get("protocol") != PROTOCOL:
        log_event(logging.ERROR, "bad-hello", code=WorkerError.code, hello=str(hello)[:200])
        return 2
    offered = [t for t in hello.get("transports", []) if is_transport(t)]
    if not offered:
        log_event(logging.ERROR, "bad-hello", code=WorkerError.code, message="no transport offered")
        return 2
    wanted = transport or os.environ.get("FRAMESUPPLIER_TRANSPORT", "shm")
    chosen: Transport = wanted if is_transport(wanted) and wanted in offered else offered[0]
    write_message(out, {"type": "hello", "protocol": PROTOCOL, "transport": chosen})
    sys.stderr.write(f"{name} {hello.get('worker_id')} ready, transport {chosen}\n")
    sys.stderr.flush()
    readers: dict[str, StoreReader] = {}
    stats = _Stats()
    while True:
        message = read_message(inp)
        if message is None:
            break
        seq = message.get("seq")
        started = time.monotonic()
        try:
            output = _answer(message, chosen, on_frame, readers)
        except FrameError as error:
            stats.errors += 1
            output = {"error": {"code": error.code, "message": error.message}}
        except Exception as error:  # the user's code failed on this frame: say so and go on
            stats.errors += 1
            output = {"error": {"code": "ERR_PY_ON_FRAME_FAILED", "message": f"{type(error).__name__}: {error}"}}
        stats.frames += 1
        stats.times.append((time.monotonic() - started) * 1000)
        if len(stats.times) > 1024:
            del stats.times[:512]
        try:
            write_message(out, {"type": "result", "seq": seq, "output": output})
        except TypeError as error:
            write_message(out, {"type": "result", "seq": seq, "output": {"error": {"code": "ERR_PY_ON_FRAME_FAILED", "message": str(error)}}})
    log_event(logging.INFO, "worker-stats", **stats.fields())
    return 0


def _answer(message: Message, transport: Transport, on_frame: OnFrame, readers: dict[str, StoreReader]) -> Any:
    if message.get("type") != "frame":
        raise WorkerError(f"expected a frame, got {message.get('type')!r}")
    fmt = str(message.get("format", "")).upper()
    if not is_frame_format(fmt):
        raise FrameError("ERR_SCHEMA", f"the frame's format {fmt!r} is not one of the protocol's", "format")
    width, height = int(message.get("width", 0)), int(message.get("height", 0))
    camera_id, capture_time_ms = str(message.get("stream_id", "")), float(message.get("wall_time", 0.0))
    if transport == "pipe":
        data = np.frombuffer(message.get("data", b""), dtype=np.uint8)
        frame_id = int(message.get("seq", 0))
        return on_frame(Frame(data, width, height, fmt, camera_id, frame_id, capture_time_ms, request=message))
    reference = str(message.get("frame_reference", ""))
    directory = os.path.dirname(reference)
    reader = readers.get(directory)
    if reader is None:
        reader = readers[directory] = StoreReader(directory)
    lease = reader.acquire(reference, int(message.get("frame_id", 0)), width, height, fmt)
    frame = Frame(lease.data, width, height, fmt, camera_id, lease.frame_id, capture_time_ms, request=message, _release=lease.release)
    try:
        output = on_frame(frame)
    finally:
        frame.data = frame.data[:0]
    lease.release()  # an answer from a frame overwritten while read is not sent
    return output
