"""Model calls: ``threads`` model threads, each taking the next batch of waiting requests the moment its model
is free, reading their frames, calling the model within the handler timeout; each result made its request's
answer on the event loop, or refused.

Each model thread loops on its own (ADR 0123): take the waiting requests (``Scheduler.next_batch``), pick
and read their frames, call the model, hand the outcome to the event loop, take the next. So no thread
hand-off stands between one call and the next (the event loop is not woken to start a call, nor a pool
thread by it), and a handler that releases the GIL (PyTorch, ONNX Runtime, OpenCV, NumPy, a device's
wait) runs beside the event loop reading requests and writing the last call's answers. Without ``max_batch`` the model is ``infer(frame)``,
one frame a call; with it, ``infer(frames)`` takes the list of frames taken together (1 to
``max_batch``) and returns one result per frame, in order (docs/protocol.md, "Batches"); a ``FrameError``
that names some of the call's frames (``error.frames``: ``batch_array`` and ``batch_tensor`` name the JPEG or
PNG frames they cannot take, before the model runs) refuses those frames alone, and the model is called again
with the others, so one camera's odd frame never fails the cameras beside it. Each frame's
lease is released when the model returns (or at ``frame.release()``): a frame torn meanwhile is
ERR_FRAME_OVERWRITTEN for its request alone, and its result is dropped. Past ``handler_timeout_ms``
every request of the call is ERR_TIMEOUT (a watchdog on the event loop looks every TIMEOUT_TICK_S at
most); the thread cannot be stopped, so its late result is dropped, and another model thread takes its
place (at most MAX_STRAGGLERS given-up calls at once).
A result that does not fit (results.py) is ERR_HANDLER_FAILED for its request alone; an exception, or a
batch of results that is not one per frame, for every request of the call; each saying why, and logged
(``result-refused``, ``handler-failed``): the first of a kind at once, then at most one line per
LOG_EVERY_S with how many there were since.

The answers are made on the event loop's thread, while the next call runs; each is framed there
(``bytes``), which also checks that JSON can carry it. A frame that cannot be given (stale, not found,
another size) is refused alone, before the call.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from .errors import FrameError
from .frame import Frame
from .limits import Limits
from .logs import log_event
from .protocol import Message, echo_integer, encode_message
from .results import InferResult, ResultError, normalise_result
from .scheduling import Answer, Job, Scheduler, Window
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
TIMEOUT_TICK_S = 0.05
MAX_STRAGGLERS = 4


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


@dataclass(frozen=True)
class _Refusal:
    """A request's answer is this error, not a result."""

    code: str
    message: str
    field: str | None = None
    frame_id: int | None = None


@dataclass
class _Taken:
    """A request of the call whose frame was given to the model."""

    index: int
    taken: TakenFrame


@dataclass
class _Outcome:
    """What the model thread brings back: the model's result or its exception for the frames it ran (``ran``, by
    index in the call's frames), those it refused alone (``refused``), and each frame's seqlock check."""

    result: object
    failure: BaseException | None
    torn: list[FrameError | None]
    inference_ms: float
    ran: list[int]
    refused: dict[int, FrameError]


@dataclass
class _Call:
    """One model call: its requests, those refused before it (by index), those given to the model."""

    jobs: list[Job]
    refused: dict[int, _Refusal | None] = field(default_factory=dict)
    given: list[_Taken] = field(default_factory=list)
    oldest_ms: float = 0.0
    started: float = 0.0
    given_up: bool = False


class BatchFigures:
    """The server's calls: frames per call and the oldest frame's age when its call began, over the last calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.frames = 0
        self.sizes = Window()
        self.oldest_frame_age_ms = Window()

    def stats(self) -> dict[str, int | float | None]:
        """The pong's ``batches`` (the Node server's names): calls and frames since the start, the recent calls' figures."""
        return {
            "count": self.calls,
            "frames": self.frames,
            "size_p50": self.sizes.percentile(50),
            "size_p99": self.sizes.percentile(99),
            "oldest_frame_age_ms_p50": self.oldest_frame_age_ms.percentile(50),
            "oldest_frame_age_ms_p99": self.oldest_frame_age_ms.percentile(99),
        }


class _Lane:
    """A model thread and the call it runs now (None between calls)."""

    def __init__(self) -> None:
        self.call: _Call | None = None
        self.thread: threading.Thread | None = None


class InferenceRunner:
    def __init__(
        self,
        infer: Infer | BatchInfer,
        frames: StoreReader,
        limits: Limits,
        model_id: str,
        handler_name: str,
        scheduler: Scheduler,
        fail: Fail,
        max_batch: int | None = None,
    ) -> None:
        self.infer = infer
        self.frames = frames
        self.limits = limits
        self.model_id = model_id
        self.handler_name = handler_name
        self.scheduler = scheduler
        self.batched = max_batch is not None
        self.batches = BatchFigures()
        self._fail = fail
        self._log = RepeatedLog()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lanes: list[_Lane] = []  # the model threads taking calls (under the scheduler's lock)
        self._stragglers = 0  # threads still in a call given up at its timeout
        self._watchdog: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """The model threads, and the watchdog of their calls' time (on the running event loop)."""
        self._loop = asyncio.get_running_loop()
        with self.scheduler.lock:
            for _ in range(self.scheduler.threads):
                self._spawn()
        self._tick()

    def close(self) -> None:
        """The model threads end once their call does (a call past its timeout is left to end on its own)."""
        self.scheduler.stop()
        if self._watchdog is not None:
            self._watchdog.cancel()

    def _spawn(self) -> None:
        lane = _Lane()
        lane.thread = threading.Thread(target=self._run, args=(lane,), name="framesupplier-model", daemon=True)
        self._lanes.append(lane)
        lane.thread.start()

    # on a model thread

    def _run(self, lane: _Lane) -> None:
        while True:
            jobs = self.scheduler.next_batch()
            if jobs is None:
                return
            call = self._take(jobs)
            outcome: _Outcome | None = None
            if call.given:
                with self.scheduler.lock:
                    call.started = time.monotonic()
                    lane.call = call
                outcome = self._call([t.taken.frame for t in call.given], [t.taken.lease for t in call.given])
                with self.scheduler.lock:
                    lane.call = None
                    if call.given_up:  # answered ERR_TIMEOUT meanwhile, and another thread took this one's place
                        self._stragglers -= 1
                        if len(self._lanes) >= self.scheduler.threads or self.scheduler.stopped:
                            return
                        self._lanes.append(lane)  # too many stragglers had kept its place empty: it takes it back
                        continue
            self.scheduler.call_done()
            self._post(self._deliver, call, outcome)

    def _take(self, jobs: list[Job]) -> _Call:
        """Each job's frame picked now; those that cannot be given refused alone."""
        call = _Call(jobs)
        now = time.monotonic()
        scheduler = self.scheduler
        for index, job in enumerate(jobs):
            job.taken_at = now
            if job.connection.gone():
                call.refused[index] = None  # its client went away: nobody would read the answer
                continue
            request = job.request
            try:
                taken = take_frame(self.frames, request)
            except FrameStale as stale:
                call.refused[index] = _Refusal("ERR_FRAME_STALE", str(stale), frame_id=stale.frame_id)
                with scheduler.lock:
                    scheduler.figures(job.camera).stale += 1
                continue
            except FrameError as error:
                call.refused[index] = _Refusal(error.code, error.message, error.field)
                continue
            call.given.append(_Taken(index, taken))
        with scheduler.lock:
            for index, job in enumerate(jobs):
                figures = scheduler.figures(job.camera)
                figures.wait.samples.append((job.taken_at - job.read_at) * 1000)
                if index not in call.refused:
                    scheduler.ran(job.camera)  # a run: behind the cameras run less lately (a refusal is none, ADR 0172)
                    figures.served += 1
                    if job.urgent:
                        figures.urgent += 1
            if call.given:
                began_ms = time.time() * 1000
                times = [t.taken.frame.capture_time_ms for t in call.given]
                call.oldest_ms = max(0.0, max((began_ms - t for t in times if math.isfinite(t) and t > 0), default=0.0))
                self.batches.calls += 1
                self.batches.frames += len(call.given)
                self.batches.sizes.samples.append(len(call.given))
                self.batches.oldest_frame_age_ms.samples.append(call.oldest_ms)
        return call

    def _call(self, frames: list[Frame], leases: list[Lease]) -> _Outcome:
        """The model on the frames (again without those a FrameError names), then each frame's seqlock checked."""
        result: object = None
        failure: BaseException | None = None
        ran = list(range(len(frames)))
        refused: dict[int, FrameError] = {}
        started = time.monotonic()
        while True:
            try:
                result = cast(BatchInfer, self.infer)([frames[i] for i in ran]) if self.batched else cast(Infer, self.infer)(frames[0])
            except FrameError as error:
                named = _named(error, [frames[i] for i in ran])
                if not named or len(named) == len(ran):
                    failure = error  # about every frame of the call
                    break
                refused.update((ran[n], error) for n in named)
                ran = [i for n, i in enumerate(ran) if n not in named]
                continue
            except BaseException as error:  # the call's own failure, answered for each of its requests
                failure = error
            break
        inference_ms = (time.monotonic() - started) * 1000
        torn: list[FrameError | None] = []
        for frame, lease in zip(frames, leases):
            frame.data = frame.data[:0]  # nothing reads the mapping through this frame any more
            try:
                lease.release()
                torn.append(None)
            except FrameError as error:
                torn.append(error)
        return _Outcome(result, failure, torn, inference_ms, ran, refused)

    def _post(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(callback, *args)
            except RuntimeError:  # the loop is closed: the server is gone, and nobody waits for these answers
                pass

    # on the event loop

    def _tick(self) -> None:
        """Calls past the handler timeout answered ERR_TIMEOUT, their threads replaced."""
        assert self._loop is not None
        limit_s = self.limits.handler_timeout_ms / 1000
        now = time.monotonic()
        expired: list[_Call] = []
        with self.scheduler.lock:
            for lane in list(self._lanes):
                call = lane.call
                if call is not None and not call.given_up and now - call.started > limit_s:
                    call.given_up = True
                    expired.append(call)
                    self._lanes.remove(lane)
                    self._stragglers += 1
                    self.scheduler.running -= 1
                    if self._stragglers <= MAX_STRAGGLERS and not self.scheduler.stopped:
                        self._spawn()
        for call in expired:
            self._deliver(call, None, timed_out=True)
        self._watchdog = self._loop.call_later(min(TIMEOUT_TICK_S, limit_s / 4), self._tick)

    def _deliver(self, call: _Call, outcome: _Outcome | None, timed_out: bool = False) -> None:
        """Each request of the call answered: its refusal, its result, or the call's failure."""
        answers: list[Answer] = [None] * len(call.jobs)
        for index, refusal in call.refused.items():
            if refusal is not None:
                answers[index] = self._fail(refusal.code, refusal.message, call.jobs[index].request, field=refusal.field, frame_id=refusal.frame_id)
        inference_ms = self.limits.handler_timeout_ms if outcome is None else outcome.inference_ms
        if call.given:
            with self.scheduler.lock:
                for t in call.given:
                    self.scheduler.figures(call.jobs[t.index].camera).inference.samples.append(inference_ms)
        if timed_out or outcome is None:
            for t in call.given:
                answers[t.index] = self._fail("ERR_TIMEOUT", f"inference took longer than {self.limits.handler_timeout_ms} ms", t.taken.request)
        else:
            results: list[object] = [None] * len(call.given)
            if outcome.ran:
                ran = self._results(outcome, len(outcome.ran), call.given[outcome.ran[0]].taken.frame.camera_id)
                for i, result in zip(outcome.ran, ran):
                    results[i] = result
            for i, error in outcome.refused.items():
                results[i] = _Refusal(error.code, error.message, error.field)
            batch_size = len(outcome.ran)
            for t, torn, result in zip(call.given, outcome.torn, results):
                used, frame = t.taken.request, t.taken.frame
                if torn is not None:
                    answers[t.index] = self._fail(torn.code, torn.message, used, field=torn.field)
                elif isinstance(result, _Refusal):
                    answers[t.index] = self._fail(result.code, result.message, used, field=result.field)
                else:
                    try:
                        answers[t.index] = self._answer(result, used, frame, call.jobs[t.index], inference_ms, batch_size, call.oldest_ms)
                    except (ResultError, ValueError, TypeError) as bad:
                        message = f"the {self.handler_name} handler's result does not fit the response: {bad}"
                        self._log.warn("result-refused", code="ERR_HANDLER_FAILED", model_id=self.model_id, camera_id=frame.camera_id, message=message)
                        answers[t.index] = self._fail("ERR_HANDLER_FAILED", message, used)
        for job, answer in zip(call.jobs, answers):
            if not job.answer.done():
                job.answer.set_result(answer)

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

    def _answer(self, result: object, request: Message, frame: Frame, job: Job, inference_ms: float, batch_size: int, oldest_ms: float) -> bytes:
        detections, metadata = normalise_result(result)
        response: dict[str, Any] = {}
        if "request_id" in request:
            response["request_id"] = echo_integer(request["request_id"])
        wait_ms = (job.taken_at - job.read_at) * 1000
        metadata.update(inference_time_ms=inference_ms, wait_ms=wait_ms, batch_size=batch_size, batch_oldest_frame_age_ms=oldest_ms)
        wall_time_ms = frame.capture_time_ms
        if math.isfinite(wall_time_ms) and wall_time_ms > 0:
            metadata["frame_age_ms"] = max(0.0, time.time() * 1000 - wall_time_ms)
        response.update(model_id=self.model_id, camera_id=frame.camera_id, frame_id=frame.frame_id, detections=detections, metadata=metadata, error=None)
        return encode_message(response)  # a result JSON cannot carry is the handler's failure, not the connection's


def _named(error: FrameError, frames: list[Frame]) -> set[int]:
    """The positions in ``frames`` of the frames ``error`` names (by identity)."""
    named = {id(frame) for frame in error.frames}
    return {n for n, frame in enumerate(frames) if id(frame) in named}


__all__ = ["BatchFigures", "BatchInfer", "Infer", "InferenceRunner", "RepeatedLog"]
