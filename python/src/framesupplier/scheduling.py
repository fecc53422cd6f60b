"""Which request a model thread takes next: one slot per camera, urgent first, else cameras round-robin; figures per camera.

A camera's request waits in its camera's one slot; a newer one from the same camera replaces it
(the older is answered ERR_SUPERSEDED by the caller) and keeps the camera's place in the turn
order, and its urgency: a slot is urgent when any request that waited in it since it was last
emptied was ``urgent`` (protocol 3, ADR 0082: a motion onset, still unanswered). ``threads``
model calls run at once; when one ends, the first urgent slot in turn order is taken, before every
slot that is not, else the next camera in turn. With ``max_batch`` N, a call takes up to N slots at
once in that order, whatever waits then and never waiting for more (docs/protocol.md, "Batches";
ADR 0122). A running call is never interrupted. The
figures a pong carries (served, of them urgent, superseded, stale, wait and inference percentiles)
are kept for the most recent MAX_CAMERA_FIGURES cameras.
"""

from __future__ import annotations

import asyncio
import collections
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .connection import Answer, Connection
from .protocol import Message

MAX_CAMERA_FIGURES = 1024
SAMPLE_WINDOW = 256


@dataclass
class Job:
    """A request read and checked, waiting for a model thread; ``answer`` is its connection's place for the answer."""

    request: Message
    connection: Connection
    read_at: float
    answer: asyncio.Future[Answer]
    urgent: bool = False
    """Its camera's slot was urgent when a thread took it (set by the scheduler: a replaced urgent request's urgency is kept)."""

    @property
    def camera(self) -> str:
        return str(self.request["camera_id"])


class Window:
    """The last SAMPLE_WINDOW samples, for percentiles."""

    def __init__(self) -> None:
        self.samples: collections.deque[float] = collections.deque(maxlen=SAMPLE_WINDOW)

    def percentile(self, p: float) -> float | None:
        if not self.samples:
            return None
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


class CameraFigures:
    def __init__(self) -> None:
        self.served = 0
        self.urgent = 0
        self.superseded = 0
        self.stale = 0
        self.wait = Window()
        self.inference = Window()

    def pong(self) -> dict[str, int | float | None]:
        return {
            "served": self.served,
            "urgent": self.urgent,
            "superseded": self.superseded,
            "stale": self.stale,
            "wait_ms_p50": self.wait.percentile(50),
            "wait_ms_p99": self.wait.percentile(99),
            "inference_ms_p50": self.inference.percentile(50),
            "inference_ms_p99": self.inference.percentile(99),
        }


Launch = Callable[[list[Job], Callable[[], None]], Awaitable[list[Answer]]]
"""Starts a model call on jobs taken together (their frames picked now), calling ``release`` once the model is free
again; the awaitable is each job's answer, in order (None: nobody to answer)."""


class Scheduler:
    """Slots and turns: ``offer`` a job, and ``launch`` is called for a batch of jobs when a call can start.

    ``threads`` calls run at once, each of at most ``max_batch`` jobs: whenever one can start, every waiting slot
    up to ``max_batch`` is taken at once (urgent ones first, in turn order, then the others in turn order), with
    no wait for more to arrive (docs/protocol.md, "Batches"). ``waiting`` holds each camera's waiting job in turn
    order; ``_urgent`` the cameras among them whose slot is urgent. A call counts as running until its ``release``
    (the model returned, or its time ran out), not until its answers are made, so the next call starts while the
    last one's answers are written.
    """

    def __init__(self, threads: int, launch: Launch, failed: Callable[[Job, BaseException], Message], max_batch: int = 1) -> None:
        self.threads = threads
        self.max_batch = max_batch
        self.running = 0
        self.waiting: collections.OrderedDict[str, Job] = collections.OrderedDict()
        self._urgent: set[str] = set()
        self.cameras: collections.OrderedDict[str, CameraFigures] = collections.OrderedDict()
        self._launch = launch
        self._failed = failed
        self._pumping = False

    def figures(self, camera: str) -> CameraFigures:
        """The camera's figures, made the most recent (the oldest camera's are dropped past MAX_CAMERA_FIGURES)."""
        figures = self.cameras.pop(camera, None) or CameraFigures()
        self.cameras[camera] = figures
        if len(self.cameras) > MAX_CAMERA_FIGURES:
            self.cameras.popitem(last=False)
        return figures

    def offer(self, job: Job, urgent: bool = False) -> Job | None:
        """Puts the job in its camera's slot (urgent: before every slot that is not); returns the job it replaced (to be answered ERR_SUPERSEDED), if any."""
        camera = job.camera
        figures = self.figures(camera)
        older = self.waiting.get(camera)
        self.waiting[camera] = job  # replacing keeps the camera's place in the turn order
        if urgent:
            self._urgent.add(camera)  # a replaced urgent one's stays: its camera's onset is still unanswered
        if older is not None:
            figures.superseded += 1
        self.pump()
        return older

    def take_waiting(self) -> list[Job]:
        """Every job still waiting, removed (a closing server answers them)."""
        jobs = list(self.waiting.values())
        self.waiting.clear()
        self._urgent.clear()
        return jobs

    def next_camera(self) -> str | None:
        """The camera served next: the first urgent one in turn order, else the front; None when none waits."""
        for camera in self.waiting:
            if not self._urgent or camera in self._urgent:
                return camera
        return None

    def take_batch(self) -> list[Job]:
        """Up to ``max_batch`` waiting jobs, removed from their slots: urgent ones first in turn order, then the turn order."""
        if self.max_batch == 1 or len(self.waiting) == 1:
            camera = self.next_camera()
            cameras = [] if camera is None else [camera]
        else:
            urgent = [camera for camera in self.waiting if camera in self._urgent] if self._urgent else []
            cameras = urgent[: self.max_batch]
            if len(cameras) < self.max_batch:
                for camera in self.waiting:
                    if camera not in self._urgent:
                        cameras.append(camera)
                        if len(cameras) == self.max_batch:
                            break
        jobs = []
        for camera in cameras:
            job = self.waiting.pop(camera)
            job.urgent = camera in self._urgent
            self._urgent.discard(camera)
            jobs.append(job)
        return jobs

    def pump(self) -> None:
        """Starts calls while one can start and a slot waits (re-entered from a release: only the outer loop runs)."""
        if self._pumping:
            return
        self._pumping = True
        try:
            while self.running < self.threads and self.waiting:
                jobs = []
                for job in self.take_batch():
                    if job.connection.gone():
                        job.answer.set_result(None)  # its client went away: nobody would read the answer
                    else:
                        jobs.append(job)
                if not jobs:
                    continue
                self.running += 1
                release = self._releaser()
                try:
                    answers = self._launch(jobs, release)
                except BaseException as error:  # never leave a request unanswered
                    release()
                    for job in jobs:
                        if not job.answer.done():
                            job.answer.set_result(self._failed(job, error))
                    continue
                asyncio.ensure_future(self._answer(jobs, answers, release))
        finally:
            self._pumping = False

    def _releaser(self) -> Callable[[], None]:
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.running -= 1
                self.pump()

        return release

    async def _answer(self, jobs: list[Job], answers: Awaitable[list[Answer]], release: Callable[[], None]) -> None:
        try:
            for job, answer in zip(jobs, await answers, strict=True):
                if not job.answer.done():
                    job.answer.set_result(answer)
        except BaseException as error:  # never leave a request unanswered
            for job in jobs:
                if not job.answer.done():
                    job.answer.set_result(self._failed(job, error))
        finally:
            release()


__all__ = ["Answer", "CameraFigures", "Job", "Launch", "Scheduler", "Window"]
