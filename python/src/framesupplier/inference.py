"""One model call: the frames of the requests taken together read from their stores, the model called on a
pool thread within the handler timeout, and each result made its request's answer, or refused.

The model runs on a thread of the server's pool, so a handler that releases the GIL (PyTorch,
ONNX Runtime, OpenCV, NumPy) runs beside others. Without ``max_batch`` the model is ``infer(frame)``,
one frame a call; with it, ``infer(frames)`` takes the list of frames taken together (1 to
``max_batch``) and returns one result per frame, in order (docs/protocol.md, "Batches"). Each frame's
lease is released when the model returns (or at ``frame.release()``): a frame torn meanwhile is
ERR_FRAME_OVERWRITTEN for its request alone, and its result is dropped. Past ``handler_timeout_ms``
every request of the call is ERR_TIMEOUT; the thread cannot be stopped, so its late result is dropped.
A result that does not fit (results.py) is ERR_HANDLER_FAILED for its request alone; an exception, or a
batch of results that is not one per frame, for every request of the call; each saying why, and logged
(``result-refused``, ``handler-failed``): the first of a kind at once, then at most one line per
LOG_EVERY_S with how many there were since.

The frames are picked and the call started at once when the scheduler takes the requests
(``launch``); the scheduler is told the model is free (``release``) as soon as the call returns, and
the answers are made after, while the next call runs. Each answer is framed here (``bytes``), which
also checks that JSON can carry it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from .errors import FrameError
from .frame import Frame
from .limits import Limits
from .logs import log_event
from .protocol import Message, echo_integer, encode_message
from .results import InferResult, ResultError, normalise_result
from .scheduling import Answer, CameraFigures, Job, Window
from .store import Lease, StoreReader
from .store_access import FrameStale, TakenFrame, take_frame

Infer = Callable[[Frame], InferResult]
"""A model: a frame in, detections out (a list of detections, or ``{"detections": [...], "metadata": {...}}``)."""
BatchInfer = Callable[[list[Frame]], Sequence[InferResult]]
"""A model served with ``max_batch``: 1 to max_batch frames in, one result per frame out, in order."""


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


@dataclass
class _Taken:
    """A request of the call whose frame was given to the model."""

    index: int
    taken: TakenFrame
    wait_ms: float


@dataclass
class _Outcome:
    """What the pool thread brings back: the model's result or its exception, and each frame's seqlock check."""

    result: object
    failure: BaseException | None
    torn: list[FrameError | None]


class BatchFigures:
    """The server's calls: frames per call and the oldest frame's age when its call began, over the last calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.sizes = Window()
        self.oldest_frame_age_ms = Window()

    def stats(self) -> dict[str, int | float | None]:
        return {
            "calls": self.calls,
            "size_p50": self.sizes.percentile(50),
            "size_p99": self.sizes.percentile(99),
            "oldest_frame_age_ms_p50": self.oldest_frame_age_ms.percentile(50),
            "oldest_frame_age_ms_p99": self.oldest_frame_age_ms.percentile(99),
        }


class InferenceRunner:
    def __init__(
        self,
        infer: Infer | BatchInfer,
        frames: StoreReader,
        limits: Limits,
        model_id: str,
        handler_name: str,
        threads: int,
        fail: Fail,
        figures_of: Callable[[str], CameraFigures],
        max_batch: int | None = None,
    ) -> None:
        self.infer = infer
        self.frames = frames
        self.limits = limits
        self.model_id = model_id
        self.handler_name = handler_name
        self.batched = max_batch is not None
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads + 4, thread_name_prefix="framesupplier-model")
        self.batches = BatchFigures()
        self._fail = fail
        self._figures_of = figures_of
        self._log = RepeatedLog()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def launch(self, jobs: list[Job], release: Callable[[], None]) -> Awaitable[list[Answer]]:
        """Picks each job's frame now and starts one model call on those given; the awaitable is each job's answer.

        ``release`` is called once the model is free again (it returned, or its time ran out)."""
        answers: list[Answer] = [None] * len(jobs)
        given: list[_Taken] = []
        now = time.monotonic()
        for index, job in enumerate(jobs):
            request = job.request
            figures = self._figures_of(job.camera)
            wait_ms = (now - job.read_at) * 1000
            figures.wait.samples.append(wait_ms)
            try:
                taken = take_frame(self.frames, request)
            except FrameStale as stale:
                figures.stale += 1
                answers[index] = self._fail("ERR_FRAME_STALE", str(stale), request, frame_id=stale.frame_id)
                continue
            except FrameError as error:
                answers[index] = self._fail(error.code, error.message, request, field=error.field)
                continue
            figures.served += 1
            if job.urgent:
                figures.urgent += 1
            given.append(_Taken(index, taken, wait_ms))
        if not given:
            release()
            return _ready(answers)
        frames = [t.taken.frame for t in given]
        began_ms = time.time() * 1000
        oldest_ms = max((began_ms - f.capture_time_ms for f in frames if math.isfinite(f.capture_time_ms) and f.capture_time_ms > 0), default=0.0)
        self.batches.calls += 1
        self.batches.sizes.samples.append(len(frames))
        self.batches.oldest_frame_age_ms.samples.append(max(0.0, oldest_ms))
        future = asyncio.get_running_loop().run_in_executor(self.pool, self._call, frames, [t.taken.lease for t in given])
        return self._finish(jobs, answers, given, future, time.monotonic(), max(0.0, oldest_ms), release)

    def _call(self, frames: list[Frame], leases: list[Lease]) -> _Outcome:
        """On a pool thread: the model on the frames, then each frame's seqlock checked (its lease released)."""
        result: object = None
        failure: BaseException | None = None
        try:
            result = cast(BatchInfer, self.infer)(frames) if self.batched else cast(Infer, self.infer)(frames[0])
        except BaseException as error:  # the call's own failure, answered for each of its requests
            failure = error
        torn: list[FrameError | None] = []
        for frame, lease in zip(frames, leases):
            frame.data = frame.data[:0]  # nothing reads the mapping through this frame any more
            try:
                lease.release()
                torn.append(None)
            except FrameError as error:
                torn.append(error)
        return _Outcome(result, failure, torn)

    async def _finish(
        self,
        jobs: list[Job],
        answers: list[Answer],
        given: list[_Taken],
        future: asyncio.Future[_Outcome],
        started: float,
        oldest_ms: float,
        release: Callable[[], None],
    ) -> list[Answer]:
        done, _ = await asyncio.wait({future}, timeout=self.limits.handler_timeout_ms / 1000)
        release()  # the model is free: the next call starts while these answers are made
        inference_ms = (time.monotonic() - started) * 1000
        for t in given:
            self._figures_of(jobs[t.index].camera).inference.samples.append(inference_ms)
        if not done:
            future.add_done_callback(lambda f: f.exception())  # its late end is nobody's business
            for t in given:
                answers[t.index] = self._fail("ERR_TIMEOUT", f"inference took longer than {self.limits.handler_timeout_ms} ms", t.taken.request)
            return answers
        outcome = future.result()
        results = self._results(outcome, len(given), given[0].taken.frame.camera_id)
        for t, torn, result in zip(given, outcome.torn, results):
            used, frame = t.taken.request, t.taken.frame
            if torn is not None:
                answers[t.index] = self._fail(torn.code, torn.message, used, field=torn.field)
            elif isinstance(result, _Refusal):
                answers[t.index] = self._fail(result.code, result.message, used, field=result.field)
            else:
                try:
                    answers[t.index] = self._answer(result, used, frame, t.wait_ms, inference_ms, len(given), oldest_ms)
                except (ResultError, ValueError, TypeError) as bad:
                    message = f"the {self.handler_name} handler's result does not fit the response: {bad}"
                    self._log.warn("result-refused", code="ERR_HANDLER_FAILED", model_id=self.model_id, camera_id=frame.camera_id, message=message)
                    answers[t.index] = self._fail("ERR_HANDLER_FAILED", message, used)
        return answers

    def _results(self, outcome: _Outcome, frames: int, camera_id: str) -> list[object]:
        """Each frame's result, or the refusal of the whole call (an exception, not one result per frame)."""
        failure = outcome.failure
        if isinstance(failure, FrameError):
            return [_Refusal(failure.code, failure.message, failure.field)] * frames
        if failure is not None:
            message = f"the {self.handler_name} handler failed: {type(failure).__name__}: {failure}"
            self._log.warn("handler-failed", code="ERR_HANDLER_FAILED", model_id=self.model_id, camera_id=camera_id, message=message)
            return [_Refusal("ERR_HANDLER_FAILED", message)] * frames
        if not self.batched:
            return [outcome.result]
        results = outcome.result
        if isinstance(results, (str, bytes, Mapping)) or not isinstance(results, Sequence) or len(results) != frames:
            what = f"{len(results)} results" if isinstance(results, Sequence) and not isinstance(results, (str, bytes)) else f"a {type(results).__name__}"
            message = f"the {self.handler_name} handler returned {what} for {frames} frames: a batched model returns a list of one result per frame, in order"
            self._log.warn("result-refused", code="ERR_HANDLER_FAILED", model_id=self.model_id, camera_id=camera_id, message=message)
            return [_Refusal("ERR_HANDLER_FAILED", message)] * frames
        return list(results)

    def _answer(
        self, result: object, request: Message, frame: Frame, wait_ms: float, inference_ms: float, batch_size: int, oldest_ms: float
    ) -> bytes:
        detections, metadata = normalise_result(result)
        response: dict[str, Any] = {}
        if "request_id" in request:
            response["request_id"] = echo_integer(request["request_id"])
        metadata.update(inference_time_ms=inference_ms, wait_ms=wait_ms, batch_size=batch_size, batch_oldest_frame_age_ms=oldest_ms)
        wall_time_ms = frame.capture_time_ms
        if math.isfinite(wall_time_ms) and wall_time_ms > 0:
            metadata["frame_age_ms"] = max(0.0, time.time() * 1000 - wall_time_ms)
        response.update(model_id=self.model_id, camera_id=frame.camera_id, frame_id=frame.frame_id, detections=detections, metadata=metadata, error=None)
        return encode_message(response)  # a result JSON cannot carry is the handler's failure, not the connection's


@dataclass(frozen=True)
class _Refusal:
    """A frame's answer is this error, not its result."""

    code: str
    message: str
    field: str | None = None


async def _ready(answers: list[Answer]) -> list[Answer]:
    return answers


__all__ = ["BatchFigures", "BatchInfer", "Infer", "InferenceRunner", "RepeatedLog"]
