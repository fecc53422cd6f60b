"""A model server in Python: the server side of docs/protocol.md, protocol 3.

Contract, the same rules as the Node server (src/models/):
- One Unix socket, owned with the abstract-socket lock of "Owning the socket path" (the same lock
  name as the Node server, so the two exclude each other); mode 0600; removed on close
  (socket_owner.py).
- Length-prefixed UTF-8 JSON, both connection modes, answers in request order, every limit of
  "Connections and limits" bounded in size and in time (connection.py, protocol.py).
- Inference requests wait in one slot per camera (a newer one supersedes the waiting one:
  ERR_SUPERSEDED), a camera's ``urgent`` request (a motion onset) before every waiting one that is
  not, else cameras round-robin, by ``threads`` handler threads (scheduling.py),
  and the frame is chosen and read when a thread takes the request (store_access.py).
- The handler gets a NumPy view of the frame in shared memory; the seqlock is checked when it is
  done, so an answer is never computed from a torn frame; a result that does not fit the answer is
  refused, never taken as "nothing found" (inference.py, results.py).
- Every read request gets exactly one answer; nothing a client sends stops the server.

``ModelServer`` is the server as an object for an asyncio program; ``serve()`` runs one until
SIGTERM or SIGINT with the arguments its caller gives (the command line is cli.py's). Logs go to
the ``framesupplier`` logger (logs.py).
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import signal
import socket as socketlib
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

from .connection import Answer, Connection
from .errors import FrameError, ServerError
from .flags import apply_script_flags
from .frame import Frame
from .inference import BatchInfer, Infer, InferenceRunner
from .limits import Limits
from .logs import log_event
from .options import ServeOptions
from .protocol import (
    PROTOCOL_VERSION,
    Message,
    check_request,
    check_request_id,
    decode_body,
    echo_integer,
    encode_message,
    error_response,
)
from .scheduling import Job, Scheduler
from .socket_owner import bind_socket, remove_socket, socket_lock_name, take_socket_lock
from .store import StoreReader


class ModelServer:
    """One model behind one socket. ``await start()`` (idempotent), ``await close()`` (idempotent, drains)."""

    def __init__(
        self,
        infer: Infer | BatchInfer,
        options: ServeOptions | None = None,
        /,
        *,
        handler_name: str = "python",
        socket_mode: int = 0o600,
        **keywords: Any,
    ) -> None:
        """``options``, or their fields as keywords (``ModelServer(infer, model_id=..., socket=...)``): ``ServeOptions``."""
        if not callable(infer):
            raise ServerError("ERR_PY_INVALID_OPTION", "infer must be callable: a function of a frame returning detections")
        self.options = ServeOptions.of(options, keywords)
        self.infer = infer
        self.model_id = self.options.model_id
        self.socket_path = os.path.abspath(self.options.socket)
        self.threads = self.options.threads
        self.input_long_side = self.options.input_long_side
        self.limits = self.options.limits
        self.handler_name = handler_name
        self.socket_mode = socket_mode
        self.frames = StoreReader(self.options.shm_dir, self.options.frame_access)
        self.closing = False
        self.errors: collections.Counter[str] = collections.Counter()
        self._connections: set[Connection] = set()
        self.max_batch = self.options.max_batch
        self._scheduler = Scheduler(self.threads, self.max_batch or 1)
        self._runner = InferenceRunner(infer, self.frames, self.limits, self.model_id, handler_name, self._scheduler, self._fail, self.max_batch)
        self._lock: socketlib.socket | None = None
        self._server: asyncio.AbstractServer | None = None
        self._started: asyncio.Task[None] | None = None
        self._closed: asyncio.Task[None] | None = None
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
            self._runner.start()
            self._server = await asyncio.get_running_loop().create_unix_server(lambda: Connection(self), sock=listener)
        except BaseException:
            self._runner.close()
            self._lock.close()
            self._lock = None
            raise
        self._started_at = time.monotonic()

    async def close(self) -> None:
        if self._closed is None:
            self._closed = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closed)

    async def __aenter__(self) -> ModelServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
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
            remove_socket(self.socket_path)
        for connection in list(self._connections):
            connection.shutdown()
        # Every connection ends once its requests are answered; the grace bounds the wait.
        drained = [asyncio.ensure_future(c.done.wait()) for c in self._connections]
        if drained:
            await asyncio.wait(drained, timeout=self.limits.shutdown_grace_ms / 1000)
            for waiting in drained:
                waiting.cancel()
        for connection in list(self._connections):
            if connection.transport is not None:
                connection.transport.abort()
        for job in self._scheduler.take_waiting():
            if not job.answer.done():
                job.answer.set_result(error_response(self.model_id, "ERR_SHUTTING_DOWN", "the server closed", job.request))
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        self._runner.close()

    # connections (ConnectionHost)

    def admit(self, connection: Connection) -> tuple[str, str] | None:
        """A new connection served, or refused (shutting down, or the connection cap reached)."""
        if self.closing:
            return "ERR_SHUTTING_DOWN", "the server is shutting down"
        if len(self._connections) >= self.limits.max_connections:
            return "ERR_TOO_MANY_CONNECTIONS", f"the server has {self.limits.max_connections} connections open"
        self._connections.add(connection)
        return None

    def forget(self, connection: Connection) -> None:
        self._connections.discard(connection)

    def connection_error(self, code: str, message: str) -> None:
        self.errors[code] += 1
        log_event(logging.WARNING, "connection-error", code=code, message=message)

    def on_message(self, connection: Connection, body: bytes) -> None:
        """A complete message read: answered now (errors, pings) or offered to its camera's slot."""
        try:
            message = decode_body(body)
        except (ValueError, UnicodeDecodeError) as error:
            self.errors["ERR_INVALID_JSON"] += 1
            connection.answer_now(error_response(self.model_id, "ERR_INVALID_JSON", f"message is not UTF-8 JSON: {error}"))
            return
        if isinstance(message, dict) and message.get("type") == "ping":
            if "request_id" in message:
                try:
                    check_request_id(message["request_id"])
                except FrameError as error:
                    connection.answer_now(self._fail(error.code, error.message, message, field=error.field))
                    return
            connection.answer_now(self._pong(message))
            return
        try:
            request = check_request(message)
        except FrameError as error:
            connection.answer_now(self._fail(error.code, error.message, message, field=error.field))
            return
        if self.closing:
            connection.answer_now(self._fail("ERR_SHUTTING_DOWN", "the server is shutting down", request))
            return
        if request["model_id"] != self.model_id:
            connection.answer_now(self._fail("ERR_UNKNOWN_MODEL", f"this server serves {self.model_id!r}, not {request['model_id']!r}", request))
            return
        answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        connection.queue(answer)
        older = self._scheduler.offer(Job(request, connection, time.monotonic(), answer), request.get("urgent") is True)
        if older is not None:
            older.answer.set_result(
                self._fail(
                    "ERR_SUPERSEDED",
                    f"a newer request from camera {json.dumps(older.camera)} replaced this one before a model thread took it",
                    older.request,
                )
            )

    def _fail(self, code: str, message: str, request: object, field: str | None = None, frame_id: int | None = None) -> Message:
        self.errors[code] += 1
        return error_response(self.model_id, code, message, request, field, frame_id)

    def _pong(self, ping: Message) -> Message:
        pong: Message = {"type": "pong"}
        if "request_id" in ping:
            pong["request_id"] = echo_integer(ping["request_id"])
        pong.update(
            model_id=self.model_id,
            handler=self.handler_name,
            uptime_s=round(time.monotonic() - self._started_at, 3),
            connections=len(self._connections),
            protocol=PROTOCOL_VERSION,
            concurrency=self.threads,
            max_batch=self.max_batch or 1,
            running=self._scheduler.running,
            waiting=len(self._scheduler.waiting),
            cameras=self._camera_figures(),
        )
        if self.max_batch is not None:
            pong["batches"] = self._batch_figures()
        if self.input_long_side is not None:
            pong["frame_long_side"] = self.input_long_side
        pong["error"] = None
        return pong

    def _camera_figures(self) -> dict[str, dict[str, int | float | None]]:
        with self._scheduler.lock:  # the model threads change them
            return {camera: f.pong() for camera, f in self._scheduler.cameras.items()}

    def _batch_figures(self) -> dict[str, int | float | None]:
        with self._scheduler.lock:
            return self._runner.batches.stats()

    def stats(self) -> dict[str, Any]:
        return {
            "connections": len(self._connections),
            "running": self._scheduler.running,
            "waiting": len(self._scheduler.waiting),
            "errors": dict(self.errors),
            "cameras": self._camera_figures(),
            "batches": self._batch_figures(),
            "frames": {"access": self.frames.access, "reason": self.frames.reason},
        }


# --- serve(): a server as a process's life ------------------------------------------------------------------


def serve(infer: Infer | BatchInfer, options: ServeOptions | None = None, /, *, argv: Sequence[str] | None = None, **keywords: Any) -> int:
    """Serves ``infer`` on ``options.socket`` until SIGTERM or SIGINT; returns the exit code (0 after a drain, 2 if it cannot start).

    ``options`` is a ``ServeOptions``, or its fields are given as keywords (``serve(infer, model_id=..., socket=...)``;
    keywords beside an options object override its fields). The arguments are the caller's alone: ``serve()``
    reads no command line (``framesupplier.cli`` does: ``python -m framesupplier.serve module:infer --socket ...``,
    or ``cli.serve_with_flags`` for a script of its own). Once listening it prints ``{"listening": PATH,
    "model_id": ..., "handler": "python", "pid": ..., "frame_access": ...}`` on stdout; it logs to the
    ``framesupplier`` logger. ``argv`` is deprecated (until 0.2.0): given, its flags override the options, as
    ``cli.serve_with_flags``.
    """
    if argv is not None:
        warnings.warn("serve(argv=...) is deprecated: call framesupplier.cli.serve_with_flags(..., argv=...)", DeprecationWarning, stacklevel=2)
    try:
        given = ServeOptions.of(options, keywords)
        if argv is not None:
            given = apply_script_flags(given, argv)
        server = ModelServer(infer, given)
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
        log_event(logging.WARNING, "frame-access", reason=server.frames.reason)
    listening = {"listening": server.socket_path, "model_id": server.model_id, "handler": server.handler_name, "pid": os.getpid(), "frame_access": server.frames.access}
    print(json.dumps(listening), flush=True)
    log_event(logging.INFO, "listening", **listening)
    await stop.wait()
    log_event(logging.INFO, "shutdown", reason="signal")
    await server.close()
    log_event(logging.INFO, "closed", errors=dict(server.errors))
    return 0


__all__ = ["Frame", "Infer", "Limits", "ModelServer", "ServeOptions", "ServerError", "check_request", "error_response", "serve", "socket_lock_name"]
