"""One inference: the frame taken from its store, the model called on a pool thread within the
handler timeout, and its result made the protocol's answer, or refused.

The model runs on a thread of the server's pool, so a handler that releases the GIL (PyTorch,
ONNX Runtime, OpenCV, NumPy) runs beside others. The frame's lease is released when the model
returns (or at ``frame.release()``): a frame torn meanwhile is ERR_FRAME_OVERWRITTEN and the result
is dropped. Past ``handler_timeout_ms`` the answer is ERR_TIMEOUT; the thread cannot be stopped, so
its late result is dropped. A result that does not fit (results.py) and an exception are answered
ERR_HANDLER_FAILED saying why, and logged (``result-refused``, ``handler-failed``): the first of a
kind at once, then at most one line per LOG_EVERY_S with how many there were since.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import time
from collections.abc import Callable
from typing import Any, Protocol

from .errors import FrameError
from .frame import Frame
from .limits import Limits
from .logs import log_event
from .protocol import Message, echo_integer, encode_message
from .results import InferResult, ResultError, normalise_result
from .scheduling import CameraFigures, Job
from .store import StoreReader
from .store_access import FrameStale, take_frame

Infer = Callable[[Frame], InferResult]
"""A model: a frame in, detections out (a list of detections, or ``{"detections": [...], "metadata": {...}}``)."""



class Fail(Protocol):
    """The server's error answer (counted by code)."""

    def __call__(self, code: str, message: str, request: object, field: str | None = None, frame_id: int | None = None) -> Message: ...


LOG_EVERY_S = 10.0


class RepeatedLog:
    """A warning logged the first time and then at most once per LOG_EVERY_S per event, with the count since."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._since: dict[str, int] = {}

    def warn(self, event: str, **fields: object) -> None:
        now = time.monotonic()
        self._since[event] = self._since.get(event, 0) + 1
        last = self._last.get(event)
        if last is not None and now - last < LOG_EVERY_S:
            return
        self._last[event] = now
        log_event(logging.WARNING, event, times=self._since.pop(event), **fields)


class InferenceRunner:
    def __init__(self, infer: Infer, frames: StoreReader, limits: Limits, model_id: str, handler_name: str, threads: int, fail: Fail) -> None:
        self.infer = infer
        self.frames = frames
        self.limits = limits
        self.model_id = model_id
        self.handler_name = handler_name
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads + 4, thread_name_prefix="framesupplier-model")
        self._fail = fail
        self._log = RepeatedLog()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def run(self, job: Job, figures: CameraFigures) -> Message:
        request = job.request
        wait_ms = (time.monotonic() - job.read_at) * 1000
        figures.wait.samples.append(wait_ms)
        try:
            taken = take_frame(self.frames, request)
        except FrameStale as stale:
            figures.stale += 1
            return self._fail("ERR_FRAME_STALE", str(stale), request, frame_id=stale.frame_id)
        except FrameError as error:
            return self._fail(error.code, error.message, request, field=error.field)
        figures.served += 1
        if job.urgent:
            figures.urgent += 1
        frame, lease, used = taken.frame, taken.lease, taken.request

        def call() -> InferResult:
            try:
                return self.infer(frame)
            finally:
                frame.data = frame.data[:0]  # nothing reads the mapping through this frame any more
                lease.release()

        started = time.monotonic()
        future = asyncio.get_running_loop().run_in_executor(self.pool, call)
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
            message = f"the {self.handler_name} handler failed: {type(failure).__name__}: {failure}"
            self._log.warn("handler-failed", code="ERR_HANDLER_FAILED", model_id=self.model_id, camera_id=frame.camera_id, message=message)
            return self._fail("ERR_HANDLER_FAILED", message, used)
        try:
            return self._answer(future.result(), request, frame, wait_ms, inference_ms, lease.wall_time_ms)
        except (ResultError, ValueError, TypeError) as bad:
            message = f"the {self.handler_name} handler's result does not fit the response: {bad}"
            self._log.warn("result-refused", code="ERR_HANDLER_FAILED", model_id=self.model_id, camera_id=frame.camera_id, message=message)
            return self._fail("ERR_HANDLER_FAILED", message, used)

    def _answer(self, result: object, request: Message, frame: Frame, wait_ms: float, inference_ms: float, wall_time_ms: float) -> Message:
        detections, metadata = normalise_result(result)
        response: dict[str, Any] = {}
        if "request_id" in request:
            response["request_id"] = echo_integer(request["request_id"])
        metadata.update(inference_time_ms=inference_ms, wait_ms=wait_ms)
        if math.isfinite(wall_time_ms) and wall_time_ms > 0:
            metadata["frame_age_ms"] = max(0.0, time.time() * 1000 - wall_time_ms)
        response.update(model_id=self.model_id, camera_id=frame.camera_id, frame_id=frame.frame_id, detections=detections, metadata=metadata, error=None)
        encode_message(response)  # a result JSON cannot carry is the handler's failure, not the connection's
        return response


__all__ = ["Infer", "InferenceRunner", "RepeatedLog"]
