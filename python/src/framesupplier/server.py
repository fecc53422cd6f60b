"""A model server in Python: the server side of docs/protocol.md, protocol 2.

Contract, the same rules as the Node server (src/models/):
- One Unix socket, owned with the abstract-socket lock of "Owning the socket
  path" (the same lock name as the Node server, so the two exclude each
  other); mode 0600; removed on close.
- Length-prefixed UTF-8 JSON, both connection modes, answers in request order,
  every limit of "Connections and limits" bounded in size and in time.
- Inference requests wait in one slot per camera (a newer one supersedes the
  waiting one: ERR_SUPERSEDED), cameras are served round-robin by ``threads``
  handler threads, and the frame is chosen and read when a thread takes the
  request: ``frame_select: "newest"``, ``max_age_ms`` (ERR_FRAME_STALE).
- The handler gets a NumPy view of the frame in shared memory; the seqlock is
  checked when it is done (or calls ``frame.release()``), so an answer is
  never computed from a torn frame (ERR_FRAME_OVERWRITTEN), and a store
  truncated under it is ERR_FRAME_CORRUPT, not a crash.
- Every read request gets exactly one answer; nothing a client sends stops the
  server. SIGTERM or SIGINT drains (requests read are answered), a second one
  ends the process at once. Logs are JSON lines on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import concurrent.futures
import hashlib
import json
import math
import os
import signal
import socket as socketlib
import stat
import sys
import time
from dataclasses import dataclass, fields, replace
from typing import Any, Callable, Deque, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from .frame import Frame
from .store import DEFAULT_SHM_DIR, FORMATS, FrameError, StoreReader

PROTOCOL_VERSION = 2
MAX_SAFE_INTEGER = 2**53 - 1
MAX_FRAME_DIMENSION = 16384
MAX_AGE_BUDGET_MS = 86_400_000
MAX_CAMERA_FIGURES = 1024
SAMPLE_WINDOW = 256

Detection = Mapping[str, Any]
InferResult = Union[Sequence[Detection], Mapping[str, Any]]
Infer = Callable[[Frame], InferResult]
"""A model: a frame in, detections out (a list of detections, or ``{"detections": [...], "metadata": {...}}``)."""


class ServerError(Exception):
    """A server that cannot start or was misused, with a stable code (ERR_SOCKET_IN_USE, ERR_PY_...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class Limits:
    """Every per-connection bound of docs/protocol.md ("Connections and limits"), same defaults as the Node server."""

    max_connections: int = 1024
    max_message_bytes: int = 1_048_576
    partial_message_timeout_ms: int = 5_000
    idle_timeout_ms: int = 60_000
    max_queued_requests: int = 32
    max_pending_response_bytes: int = 1_048_576
    write_stall_timeout_ms: int = 10_000
    handler_timeout_ms: int = 10_000
    close_linger_ms: int = 1_000
    shutdown_grace_ms: int = 10_000

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value > 2**31 - 1:
                raise ServerError("ERR_PY_INVALID_OPTION", f"{f.name} must be an integer from 1 to {2**31 - 1}, got {value!r}")


def log(level: str, event: str, **fields_: Any) -> None:
    """One JSON line on stderr."""
    try:
        sys.stderr.write(json.dumps({"level": level, "event": event, **fields_}, default=str) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


# --- the request schema, checked in the order the protocol gives --------------------------------------------


class _SchemaError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _is_integer(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and math.isfinite(v) and v.is_integer())


def _frame_id_or_none(v: Any) -> Optional[int]:
    """A frame id to echo in an error: the request's when it is one, else none."""
    return int(v) if _is_integer(v) and 0 <= int(v) <= MAX_SAFE_INTEGER else None


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _check_string(name: str, v: Any, lo: int, hi: int) -> None:
    if not isinstance(v, str):
        raise _SchemaError(name, f"{name} must be string")
    if len(v) < lo:
        raise _SchemaError(name, f"{name} must NOT have fewer than {lo} characters")
    if len(v) > hi:
        raise _SchemaError(name, f"{name} must NOT have more than {hi} characters")


def _check_integer(name: str, v: Any, lo: int, hi: int) -> None:
    if not _is_integer(v):
        raise _SchemaError(name, f"{name} must be integer")
    if v < lo:
        raise _SchemaError(name, f"{name} must be >= {lo}")
    if v > hi:
        raise _SchemaError(name, f"{name} must be <= {hi}")


def _check_request_id(v: Any) -> None:
    if not (isinstance(v, str) or _is_integer(v)):
        raise _SchemaError("request_id", "request_id must be string,integer")


def check_request(message: Any) -> Dict[str, Any]:
    """An inference request checked as the Node server's schema does (first failure wins); raises _SchemaError."""
    if not isinstance(message, dict):
        raise _SchemaError("request", "request must be object")
    for name in ("frame_reference", "frame_metadata", "camera_id", "model_id", "timestamp"):
        if name not in message:
            raise _SchemaError(name, f"{name} is required")
    if "type" in message and message["type"] != "infer":
        raise _SchemaError("type", "type must be equal to constant")
    if "request_id" in message:
        _check_request_id(message["request_id"])
    _check_string("frame_reference", message["frame_reference"], 1, 4096)
    meta = message["frame_metadata"]
    if not isinstance(meta, dict):
        raise _SchemaError("frame_metadata", "frame_metadata must be object")
    for name in ("frame_id", "width", "height", "format"):
        if name not in meta:
            raise _SchemaError(f"frame_metadata.{name}", f"frame_metadata.{name} is required")
    _check_integer("frame_metadata.frame_id", meta["frame_id"], 0, MAX_SAFE_INTEGER)
    _check_integer("frame_metadata.width", meta["width"], 1, MAX_FRAME_DIMENSION)
    _check_integer("frame_metadata.height", meta["height"], 1, MAX_FRAME_DIMENSION)
    if meta["format"] not in FORMATS or not isinstance(meta["format"], str):
        raise _SchemaError("frame_metadata.format", f"frame_metadata.format must be equal to one of the allowed values: one of {', '.join(FORMATS)}")
    _check_string("camera_id", message["camera_id"], 1, 256)
    _check_string("model_id", message["model_id"], 1, 256)
    if not _is_number(message["timestamp"]):
        raise _SchemaError("timestamp", "timestamp must be number")
    if "frame_select" in message and message["frame_select"] not in ("exact", "newest"):
        raise _SchemaError("frame_select", "frame_select must be equal to one of the allowed values: one of exact, newest")
    if "max_age_ms" in message:
        v = message["max_age_ms"]
        if not _is_number(v):
            raise _SchemaError("max_age_ms", "max_age_ms must be number")
        if v <= 0 or v > MAX_AGE_BUDGET_MS:
            raise _SchemaError("max_age_ms", f"max_age_ms must be > 0 and <= {MAX_AGE_BUDGET_MS}")
    return message


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode_body(body: bytes) -> Any:
    """UTF-8 JSON (strict: no NaN or Infinity, as JSON.parse); raises ValueError."""
    return json.loads(body.decode("utf-8", errors="strict"), parse_constant=_no_constants)


def encode_message(message: Mapping[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    return len(body).to_bytes(4, "big") + body


def _echo_integer(v: Any) -> Any:
    return int(v) if isinstance(v, float) else v


def error_response(model_id: str, code: str, message: str, request: Any = None, field: Optional[str] = None, frame_id: Optional[int] = None) -> Dict[str, Any]:
    """An error answer that fits the response schema whatever the request held."""
    r = request if isinstance(request, dict) else {}
    out: Dict[str, Any] = {}
    rid = r.get("request_id")
    if isinstance(rid, str) or _is_integer(rid):
        out["request_id"] = _echo_integer(rid)
    meta = r.get("frame_metadata")
    fid = frame_id if frame_id is not None else (meta.get("frame_id") if isinstance(meta, dict) else None)
    out.update(
        model_id=model_id,
        camera_id=r.get("camera_id") if isinstance(r.get("camera_id"), str) else None,
        frame_id=_frame_id_or_none(fid),
        detections=[],
        metadata={"inference_time_ms": 0},
        error={"code": code, "message": message, **({} if field is None else {"field": field})},
    )
    return out


def _unit(v: Any, what: str) -> float:
    if not _is_number(v) or not 0 <= float(v) <= 1:
        raise ValueError(f"{what} must be a number from 0 to 1, got {v!r}")
    return float(v)


def normalise_result(result: Any) -> tuple[List[Dict[str, Any]], Dict[str, Any]]:
    """A handler's result as the response's detections and metadata (NumPy scalars made plain); ValueError if it does not fit."""
    metadata: Dict[str, Any] = {}
    detections: Any = result
    if isinstance(result, Mapping):
        detections = result.get("detections", [])
        metadata = dict(result.get("metadata") or {})
    if detections is None:
        detections = []
    out: List[Dict[str, Any]] = []
    for i, d in enumerate(detections):
        if not isinstance(d, Mapping):
            raise ValueError(f"detection {i} is not a mapping")
        class_id = d.get("class_id", 0)
        if not _is_integer(class_id) or class_id < 0:
            raise ValueError(f"detection {i}: class_id must be an integer >= 0, got {class_id!r}")
        bbox = [float(v) if _is_number(v) else v for v in list(d.get("bbox", []))]
        if len(bbox) != 4:
            raise ValueError(f"detection {i}: bbox must be [x1, y1, x2, y2]")
        item: Dict[str, Any] = {
            "class_id": int(class_id),
            "class_name": str(d.get("class_name", f"class_{int(class_id)}")),
            "confidence": _unit(float(d["confidence"]) if "confidence" in d else None, f"detection {i}: confidence"),
            "bbox": [_unit(v, f"detection {i}: bbox") for v in bbox],
        }
        if "keypoints" in d:
            item["keypoints"] = [[float(c) for c in k] for k in d["keypoints"]]
        for key, value in d.items():
            if key not in item:
                item[key] = value
        out.append(item)
    return out, metadata


# --- per-camera figures ------------------------------------------------------------------------------------


class _Window:
    def __init__(self) -> None:
        self.samples: Deque[float] = collections.deque(maxlen=SAMPLE_WINDOW)

    def percentile(self, p: float) -> Optional[float]:
        if not self.samples:
            return None
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


class _CameraFigures:
    def __init__(self) -> None:
        self.served = 0
        self.superseded = 0
        self.stale = 0
        self.wait = _Window()
        self.inference = _Window()

    def pong(self) -> Dict[str, Any]:
        return {
            "served": self.served,
            "superseded": self.superseded,
            "stale": self.stale,
            "wait_ms_p50": self.wait.percentile(50),
            "wait_ms_p99": self.wait.percentile(99),
            "inference_ms_p50": self.inference.percentile(50),
            "inference_ms_p99": self.inference.percentile(99),
        }


# --- connections -------------------------------------------------------------------------------------------


class _Connection:
    def __init__(self, server: "ModelServer", reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.answers: Deque["asyncio.Future[Optional[Dict[str, Any]]]"] = collections.deque()
        self.changed = asyncio.Event()  # an answer queued or sent, or the connection is to end
        self.ending = False
        self.done = asyncio.Event()  # set once the connection is closed
        self.last_write = time.monotonic()
        writer.transport.set_write_buffer_limits(high=server.limits.max_pending_response_bytes, low=0)

    def gone(self) -> bool:
        return self.writer.transport.is_closing()

    def queue(self, answer: "asyncio.Future[Optional[Dict[str, Any]]]") -> None:
        self.answers.append(answer)
        self.changed.set()

    def answer_now(self, response: Dict[str, Any]) -> None:
        done: "asyncio.Future[Optional[Dict[str, Any]]]" = asyncio.get_running_loop().create_future()
        done.set_result(response)
        self.queue(done)

    def end(self) -> None:
        """Ends the connection once every request read is answered (step 3 of its life)."""
        self.ending = True
        self.changed.set()

    async def serve(self) -> None:
        sender = asyncio.create_task(self._send())
        try:
            await self._read()
        except (ConnectionError, OSError):
            pass
        self.end()
        try:
            await sender
        except (ConnectionError, OSError):
            pass
        await self._finish()

    async def _first_byte(self) -> Optional[bytes]:
        """The next message's first byte; None when the connection is to end (EOF, idle, shutdown)."""
        limits = self.server.limits
        while True:
            if self.ending:
                return None
            if self.server.closing and not self.answers:
                return None
            idle_left = limits.idle_timeout_ms / 1000 - (time.monotonic() - self.last_write)
            if not self.answers and idle_left <= 0:
                return None
            read = asyncio.ensure_future(self.reader.read(1))
            self.changed.clear()
            woken = asyncio.ensure_future(self.changed.wait())
            done, _ = await asyncio.wait({read, woken}, timeout=max(0.001, idle_left), return_when=asyncio.FIRST_COMPLETED)
            woken.cancel()
            if read in done:
                data = read.result()
                if not data:
                    return None
                self.last_write = time.monotonic()
                return data
            read.cancel()
            try:
                await read
            except asyncio.CancelledError:
                pass
            else:
                data = read.result()
                if not data:
                    return None
                return data

    async def _read(self) -> None:
        limits = self.server.limits
        while not self.ending:
            while len(self.answers) >= limits.max_queued_requests and not self.ending:
                self.changed.clear()
                await self.changed.wait()
            first = await self._first_byte()
            if first is None:
                return
            deadline = time.monotonic() + limits.partial_message_timeout_ms / 1000
            try:
                rest = await asyncio.wait_for(self.reader.readexactly(3), max(0.0, deadline - time.monotonic()))
                length = int.from_bytes(first + rest, "big")
                if length == 0:
                    self._framing_lost("ERR_BAD_LENGTH", "a message length of 0 is not allowed")
                    return
                if length > limits.max_message_bytes:
                    self._framing_lost("ERR_MESSAGE_TOO_LARGE", f"message of {length} bytes exceeds the limit of {limits.max_message_bytes}")
                    return
                body = await asyncio.wait_for(self.reader.readexactly(length), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                self._framing_lost("ERR_TIMEOUT", f"message not completed within {limits.partial_message_timeout_ms} ms")
                return
            except asyncio.IncompleteReadError:
                return
            self.last_write = time.monotonic()
            self.server._message(self, body)

    def _framing_lost(self, code: str, message: str) -> None:
        self.server._connection_error(code, message)
        self.answer_now(error_response(self.server.model_id, code, message))
        self.end()

    async def _send(self) -> None:
        limits = self.server.limits
        while True:
            while not self.answers:
                if self.ending:
                    return
                self.changed.clear()
                await self.changed.wait()
            answer = self.answers[0]
            response = await answer
            self.answers.popleft()
            self.changed.set()
            if response is None or self.gone():
                continue  # a request whose client went away
            self.writer.write(encode_message(response))
            self.last_write = time.monotonic()
            try:
                await asyncio.wait_for(self.writer.drain(), limits.write_stall_timeout_ms / 1000)
            except asyncio.TimeoutError:
                self.server._connection_error("ERR_SLOW_CONSUMER", f"answers waited over {limits.max_pending_response_bytes} bytes for {limits.write_stall_timeout_ms} ms: the client does not read")
                self.writer.transport.abort()
                self.ending = True
                return
            if self.server.closing and not self.answers:
                self.end()

    async def _finish(self) -> None:
        """Half-closes after the last answer, discards what the client still sends, and closes within close_linger_ms."""
        transport = self.writer.transport
        if not transport.is_closing():
            try:
                if self.writer.can_write_eof():
                    self.writer.write_eof()
                deadline = time.monotonic() + self.server.limits.close_linger_ms / 1000
                while time.monotonic() < deadline:
                    chunk = await asyncio.wait_for(self.reader.read(65536), max(0.0, deadline - time.monotonic()))
                    if not chunk:
                        break
            except (asyncio.TimeoutError, ConnectionError, OSError):
                pass
        if not transport.is_closing():
            transport.abort()
        self.server._connections.discard(self)
        self.done.set()


# --- the server --------------------------------------------------------------------------------------------


@dataclass
class _Job:
    request: Dict[str, Any]
    connection: _Connection
    read_at: float
    answer: "asyncio.Future[Optional[Dict[str, Any]]]"


class ModelServer:
    """One model behind one socket. ``await start()`` (idempotent), ``await close()`` (idempotent, drains)."""

    def __init__(
        self,
        infer: Infer,
        *,
        model_id: str,
        socket: str,
        threads: int = 1,
        input_long_side: Optional[int] = None,
        shm_dir: str = DEFAULT_SHM_DIR,
        frame_access: str = "auto",
        limits: Optional[Limits] = None,
        handler_name: str = "python",
        socket_mode: int = 0o600,
    ) -> None:
        if not callable(infer):
            raise ServerError("ERR_PY_INVALID_OPTION", "infer must be callable: a function of a frame returning detections")
        if not isinstance(model_id, str) or not 1 <= len(model_id) <= 256:
            raise ServerError("ERR_PY_INVALID_OPTION", f"model_id must be a string of 1 to 256 characters, got {model_id!r}")
        if not isinstance(socket, str) or not socket:
            raise ServerError("ERR_PY_INVALID_OPTION", f"socket must be a path, got {socket!r}")
        if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 256:
            raise ServerError("ERR_PY_INVALID_OPTION", f"threads must be an integer from 1 to 256, got {threads!r}")
        if input_long_side is not None and (isinstance(input_long_side, bool) or not isinstance(input_long_side, int) or not 1 <= input_long_side <= MAX_FRAME_DIMENSION):
            raise ServerError("ERR_PY_INVALID_OPTION", f"input_long_side must be an integer from 1 to {MAX_FRAME_DIMENSION}, got {input_long_side!r}")
        if frame_access not in ("auto", "copy"):
            raise ServerError("ERR_PY_INVALID_OPTION", f"frame_access must be auto or copy, got {frame_access!r}")
        self.infer = infer
        self.model_id = model_id
        self.socket_path = os.path.abspath(socket)
        self.threads = threads
        self.input_long_side = input_long_side
        self.limits = limits or Limits()
        self.handler_name = handler_name
        self.socket_mode = socket_mode
        self.frames = StoreReader(shm_dir, "copy" if frame_access == "copy" else "auto")
        self.closing = False
        self.errors: Dict[str, int] = collections.Counter()
        self._connections: set[_Connection] = set()
        self._waiting: "collections.OrderedDict[str, _Job]" = collections.OrderedDict()
        self._running = 0
        self._cameras: "collections.OrderedDict[str, _CameraFigures]" = collections.OrderedDict()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads + 4, thread_name_prefix="framesupplier-model")
        self._lock: Optional[socketlib.socket] = None
        self._server: Optional[asyncio.AbstractServer] = None
        self._started: Optional["asyncio.Task[None]"] = None
        self._closed: Optional["asyncio.Task[None]"] = None
        self._started_at = time.monotonic()

    # lifecycle

    async def start(self) -> None:
        if self._closed is not None:
            raise ServerError("ERR_PY_SERVER_CLOSED", "start() after close()")
        if self._started is None:
            self._started = asyncio.ensure_future(self._start())
        await asyncio.shield(self._started)

    async def _start(self) -> None:
        self._lock = take_socket_lock(self.socket_path)
        try:
            listener = bind_socket(self.socket_path, self.socket_mode)
            self._server = await asyncio.start_unix_server(self._accept, sock=listener, limit=65536)
        except BaseException:
            self._lock.close()
            self._lock = None
            raise
        self._started_at = time.monotonic()

    async def close(self) -> None:
        if self._closed is None:
            self._closed = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closed)

    async def __aenter__(self) -> "ModelServer":
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def _close(self) -> None:
        if self._started is not None:
            try:
                await self._started
            except BaseException:
                pass
        self.closing = True
        if self._server is not None:
            self._server.close()
            try:
                if stat.S_ISSOCK(os.lstat(self.socket_path).st_mode):
                    os.unlink(self.socket_path)
            except OSError:
                pass
        for connection in list(self._connections):
            connection.changed.set()
        # Every connection ends once its requests are answered; the grace bounds the wait.
        drained = [asyncio.ensure_future(c.done.wait()) for c in self._connections]
        if drained:
            await asyncio.wait(drained, timeout=self.limits.shutdown_grace_ms / 1000)
            for waiting in drained:
                waiting.cancel()
        for connection in list(self._connections):
            connection.writer.transport.abort()
        for job in self._waiting.values():
            if not job.answer.done():
                job.answer.set_result(error_response(self.model_id, "ERR_SHUTTING_DOWN", "the server closed", job.request))
        self._waiting.clear()
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        self._pool.shutdown(wait=False, cancel_futures=True)

    # connections

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.closing or len(self._connections) >= self.limits.max_connections:
            code, message = (
                ("ERR_SHUTTING_DOWN", "the server is shutting down")
                if self.closing
                else ("ERR_TOO_MANY_CONNECTIONS", f"the server has {self.limits.max_connections} connections open")
            )
            self._connection_error(code, message)
            refused = _Connection(self, reader, writer)
            try:
                writer.write(encode_message(error_response(self.model_id, code, message)))
                await refused._finish()
            except (ConnectionError, OSError):
                writer.transport.abort()
            return
        connection = _Connection(self, reader, writer)
        self._connections.add(connection)
        try:
            await connection.serve()
        finally:
            self._connections.discard(connection)

    def _connection_error(self, code: str, message: str) -> None:
        self.errors[code] += 1
        log("warn", "connection-error", code=code, message=message)

    def _message(self, connection: _Connection, body: bytes) -> None:
        """A complete message read: answered now (errors, pings) or offered to its camera's slot."""
        try:
            message = decode_body(body)
        except (ValueError, UnicodeDecodeError) as error:
            self._count("ERR_INVALID_JSON")
            connection.answer_now(error_response(self.model_id, "ERR_INVALID_JSON", f"message is not UTF-8 JSON: {error}"))
            return
        if isinstance(message, dict) and message.get("type") == "ping":
            if "request_id" in message:
                try:
                    _check_request_id(message["request_id"])
                except _SchemaError as error:
                    connection.answer_now(self._fail("ERR_SCHEMA", str(error), message, field=error.field))
                    return
            connection.answer_now(self._pong(message))
            return
        try:
            request = check_request(message)
        except _SchemaError as error:
            connection.answer_now(self._fail("ERR_SCHEMA", str(error), message, field=error.field))
            return
        if self.closing:
            connection.answer_now(self._fail("ERR_SHUTTING_DOWN", "the server is shutting down", request))
            return
        if request["model_id"] != self.model_id:
            connection.answer_now(self._fail("ERR_UNKNOWN_MODEL", f"this server serves {self.model_id!r}, not {request['model_id']!r}", request))
            return
        answer: "asyncio.Future[Optional[Dict[str, Any]]]" = asyncio.get_running_loop().create_future()
        connection.queue(answer)
        camera = request["camera_id"]
        self._figures(camera)
        job = _Job(request, connection, time.monotonic(), answer)
        older = self._waiting.get(camera)
        self._waiting[camera] = job  # replacing keeps the camera's place in the turn order
        if older is not None:
            self._figures(camera).superseded += 1
            older.answer.set_result(
                self._fail("ERR_SUPERSEDED", f"a newer request from camera {json.dumps(camera)} replaced this one before a model thread took it", older.request)
            )
        self._pump()

    def _count(self, code: str) -> None:
        self.errors[code] += 1

    def _fail(self, code: str, message: str, request: Any, field: Optional[str] = None, frame_id: Optional[int] = None) -> Dict[str, Any]:
        self._count(code)
        return error_response(self.model_id, code, message, request, field, frame_id)

    def _pong(self, ping: Dict[str, Any]) -> Dict[str, Any]:
        pong: Dict[str, Any] = {"type": "pong"}
        if "request_id" in ping:
            pong["request_id"] = _echo_integer(ping["request_id"])
        pong.update(
            model_id=self.model_id,
            handler=self.handler_name,
            uptime_s=round(time.monotonic() - self._started_at, 3),
            connections=len(self._connections),
            protocol=PROTOCOL_VERSION,
            concurrency=self.threads,
            running=self._running,
            waiting=len(self._waiting),
            cameras={camera: f.pong() for camera, f in self._cameras.items()},
        )
        if self.input_long_side is not None:
            pong["frame_long_side"] = self.input_long_side
        pong["error"] = None
        return pong

    def _figures(self, camera: str) -> _CameraFigures:
        figures = self._cameras.pop(camera, None) or _CameraFigures()
        self._cameras[camera] = figures
        if len(self._cameras) > MAX_CAMERA_FIGURES:
            self._cameras.popitem(last=False)
        return figures

    # scheduling and inference

    def _pump(self) -> None:
        while self._running < self.threads and self._waiting:
            camera, job = self._waiting.popitem(last=False)
            self._running += 1
            asyncio.ensure_future(self._take(job, camera))

    async def _take(self, job: _Job, camera: str) -> None:
        try:
            if job.connection.gone():
                job.answer.set_result(None)  # its client went away: nobody would read the answer
            else:
                job.answer.set_result(await self._run(job, camera))
        except BaseException as error:  # never leave a request unanswered
            if not job.answer.done():
                job.answer.set_result(self._fail("ERR_HANDLER_FAILED", f"the server failed: {error}", job.request))
        finally:
            self._running -= 1
            self._pump()

    async def _run(self, job: _Job, camera: str) -> Dict[str, Any]:
        request = job.request
        figures = self._figures(camera)
        taken = time.monotonic()
        wait_ms = (taken - job.read_at) * 1000
        figures.wait.samples.append(wait_ms)
        meta = request["frame_metadata"]
        wanted = int(meta["frame_id"])
        age_ms: Optional[float]
        try:
            if request.get("frame_select") == "newest":
                newest = self.frames.peek(request["frame_reference"], "newest")
                if newest is None or newest.frame_id < wanted:
                    raise FrameError("ERR_FRAME_NOT_FOUND", f"no frame {wanted} or newer in {request['frame_reference']}")
                frame_id, age_ms = newest.frame_id, time.time() * 1000 - newest.wall_time_ms
            else:
                slot = self.frames.peek(request["frame_reference"], wanted)
                frame_id, age_ms = wanted, (None if slot is None else time.time() * 1000 - slot.wall_time_ms)
            budget = request.get("max_age_ms")
            if age_ms is not None and budget is not None and age_ms > budget:
                figures.stale += 1
                return self._fail(
                    "ERR_FRAME_STALE", f"frame {frame_id} was {round(age_ms)} ms old when taken, over the request's max_age_ms {budget}", request, frame_id=frame_id
                )
            lease = self.frames.acquire(request["frame_reference"], frame_id, int(meta["width"]), int(meta["height"]), meta["format"])
        except FrameError as error:
            return self._fail(error.code, error.message, request, field=error.field)
        figures.served += 1
        used = request if frame_id == wanted else {**request, "frame_metadata": {**meta, "frame_id": frame_id}}
        frame = Frame(
            data=lease.data,
            width=lease.width,
            height=lease.height,
            format=lease.format,
            camera_id=camera,
            frame_id=frame_id,
            capture_time_ms=lease.wall_time_ms,
            request=used,
            _release=lease.release,
        )

        def call() -> Any:
            try:
                return self.infer(frame)
            finally:
                frame.data = frame.data[:0]  # nothing reads the mapping through this frame any more
                lease.release()

        started = time.monotonic()
        future = asyncio.get_running_loop().run_in_executor(self._pool, call)
        done, _ = await asyncio.wait({future}, timeout=self.limits.handler_timeout_ms / 1000)
        inference_ms = (time.monotonic() - started) * 1000
        figures.inference.samples.append(inference_ms)
        if not done:
            future.add_done_callback(lambda f: f.exception())  # its late end is nobody's business
            return self._fail("ERR_TIMEOUT", f"inference took longer than {self.limits.handler_timeout_ms} ms", used)
        failure = future.exception()
        if isinstance(failure, FrameError):
            return self._fail(failure.code, failure.message, used, field=failure.field)
        if failure is not None:
            return self._fail("ERR_HANDLER_FAILED", f"the {self.handler_name} handler failed: {type(failure).__name__}: {failure}", used)
        try:
            detections, metadata = normalise_result(future.result())
            response: Dict[str, Any] = {}
            if "request_id" in request:
                response["request_id"] = _echo_integer(request["request_id"])
            metadata.update(inference_time_ms=inference_ms, wait_ms=wait_ms)
            if math.isfinite(lease.wall_time_ms) and lease.wall_time_ms > 0:
                metadata["frame_age_ms"] = max(0.0, time.time() * 1000 - lease.wall_time_ms)
            response.update(model_id=self.model_id, camera_id=camera, frame_id=frame_id, detections=detections, metadata=metadata, error=None)
            encode_message(response)  # a result JSON cannot carry is the handler's failure, not the connection's
            return response
        except (ValueError, TypeError, KeyError) as bad:
            return self._fail("ERR_HANDLER_FAILED", f"the {self.handler_name} handler's result does not fit the response: {bad}", used)

    def stats(self) -> Dict[str, Any]:
        return {
            "connections": len(self._connections),
            "running": self._running,
            "waiting": len(self._waiting),
            "errors": dict(self.errors),
            "cameras": {camera: f.pong() for camera, f in self._cameras.items()},
            "frames": {"access": self.frames.access, "reason": self.frames.reason},
        }


# --- owning the socket path --------------------------------------------------------------------------------


def socket_lock_name(socket_path: str) -> str:
    """The abstract address (without its NUL) that owns a socket path: the same as the Node server's."""
    absolute = os.path.abspath(socket_path)
    directory = os.path.dirname(absolute)
    try:
        directory = os.path.realpath(directory, strict=True)
    except OSError:
        pass
    digest = hashlib.sha256(os.path.join(directory, os.path.basename(absolute)).encode("utf-8")).hexdigest()
    return f"framesupplier/model-server/{digest}"


def take_socket_lock(socket_path: str) -> socketlib.socket:
    holder = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
    try:
        holder.bind("\0" + socket_lock_name(socket_path))
        holder.listen(1)
    except OSError as error:
        holder.close()
        if error.errno == 98:  # EADDRINUSE
            raise ServerError("ERR_SOCKET_IN_USE", f"another model server holds {socket_path} (starting, serving or closing)") from None
        raise
    return holder


def bind_socket(socket_path: str, mode: int) -> socketlib.socket:
    """Steps 2-5 of "Owning the socket path", holding the lock."""
    try:
        st = os.lstat(socket_path)
    except FileNotFoundError:
        st = None
    if st is not None:
        if not stat.S_ISSOCK(st.st_mode):
            raise ServerError("ERR_SOCKET_IN_USE", f"{socket_path} exists and is not a socket")
        probe = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
        try:
            probe.connect(socket_path)
        except OSError:
            os.unlink(socket_path)  # left by a server that died
        else:
            raise ServerError("ERR_SOCKET_IN_USE", f"someone serves {socket_path} without its lock")
        finally:
            probe.close()
    listener = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
    previous = os.umask(0o777 & ~mode)
    try:
        listener.bind(socket_path)
    except OSError as error:
        listener.close()
        raise ServerError("ERR_PY_SOCKET", f"cannot listen on {socket_path}: {error.strerror}") from None
    finally:
        os.umask(previous)
    listener.listen(511)
    listener.setblocking(False)
    return listener


# --- serve(): the ten-line entry point ---------------------------------------------------------------------


def _options_from_argv(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="a framesupplier model server (docs/python.md)")
    parser.add_argument("--socket")
    parser.add_argument("--model-id")
    parser.add_argument("--shm-dir")
    parser.add_argument("--threads", "--concurrency", type=int, dest="threads")
    parser.add_argument("--input-long-side", type=int)
    parser.add_argument("--frame-access", choices=("auto", "copy"))
    for f in fields(Limits):
        parser.add_argument("--" + f.name.replace("_", "-"), type=int, dest=f.name)
    return parser.parse_known_args(list(argv))[0]


def serve(
    infer: Infer,
    *,
    model_id: str,
    socket: str,
    threads: int = 1,
    input_long_side: Optional[int] = None,
    shm_dir: str = DEFAULT_SHM_DIR,
    frame_access: str = "auto",
    limits: Optional[Limits] = None,
    argv: Optional[Sequence[str]] = None,
) -> int:
    """Serves ``infer`` on ``socket`` until SIGTERM or SIGINT; returns the exit code (0 after a drain, 2 if it cannot start).

    Command-line flags (``argv``, default ``sys.argv[1:]``) override the arguments: ``--socket``, ``--model-id``,
    ``--shm-dir``, ``--threads``, ``--input-long-side``, ``--frame-access`` and every limit (``--max-connections``...).
    """
    flags = _options_from_argv(sys.argv[1:] if argv is None else argv)
    limit_flags = {f.name: getattr(flags, f.name) for f in fields(Limits) if getattr(flags, f.name) is not None}
    try:
        server = ModelServer(
            infer,
            model_id=flags.model_id or model_id,
            socket=flags.socket or socket,
            threads=flags.threads or threads,
            input_long_side=flags.input_long_side or input_long_side,
            shm_dir=flags.shm_dir or shm_dir,
            frame_access=flags.frame_access or frame_access,
            limits=replace(limits or Limits(), **limit_flags),
        )
    except ServerError as error:
        sys.stderr.write(f"framesupplier: {error}\n")
        return 2
    return asyncio.run(_serve_until_signal(server))


async def _serve_until_signal(server: ModelServer) -> int:
    loop = asyncio.get_running_loop()
    try:
        await server.start()
    except (ServerError, OSError) as error:
        sys.stderr.write(f"framesupplier: {error}\n")
        return 2
    stop = asyncio.Event()
    signals = 0

    def on_signal(signum: int) -> None:
        nonlocal signals
        signals += 1
        if signals > 1:  # a second signal during the drain ends the process at once, by the signal
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    if server.frames.access == "copy":
        log("warn", "frame-access", reason=server.frames.reason)
    listening = {"listening": server.socket_path, "model_id": server.model_id, "handler": server.handler_name, "pid": os.getpid(), "frame_access": server.frames.access}
    print(json.dumps(listening), flush=True)
    log("info", "listening", **listening)
    await stop.wait()
    log("info", "shutdown", reason="signal")
    await server.close()
    log("info", "closed", errors=dict(server.errors))
    return 0


__all__ = ["ModelServer", "Limits", "ServerError", "serve", "Infer", "socket_lock_name", "check_request", "error_response"]
