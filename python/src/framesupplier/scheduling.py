"""Which request a model thread takes next: one slot per camera, urgent first, else the camera run least lately; figures per camera.

A camera's request waits in its camera's one slot; a newer one from the same camera replaces it
(the older is answered ERR_SUPERSEDED by the caller) and keeps the camera's place in the turn
order, and its urgency: a slot is urgent when any request that waited in it since it was last
emptied was ``urgent`` (protocol 3, ADR 0082: a motion onset, still unanswered). ``threads``
model calls run at once, each on a model thread of its own (inference.py); a free one takes the
first urgent slot in turn order, before every slot that is not, else the next camera in turn. The
turn order is the model's time going round (ADR 0172): the camera whose last run is oldest first (one
never run before all), cameras alike in the order they started waiting; a run is what ``ran()`` is told
(a request refused when taken, its frame too old or gone, is none, and its camera stays ahead); a
request that finds a model thread idle is taken for it at once, when it is read (a second request
of the same write waits for that call instead of replacing the first before the thread wakes). With
``max_batch`` N, a call takes up to N slots at once in that order, whatever waits then and never
waiting for more (docs/protocol.md, "Batches"; ADR 0122). A running call is never interrupted. The
figures a pong carries (served, of them urgent, superseded, stale, wait and inference percentiles)
are kept for the most recent MAX_CAMERA_FIGURES cameras.
"""

from __future__ import annotations

import asyncio
import collections
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from .connection import Answer, Connection
from .protocol import Message

MAX_CAMERA_FIGURES = 1024
REMEMBERED_RUNS = 4096
"""Cameras whose last run the turn order remembers (the most recently run); one forgotten counts as never run."""
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
    taken_at: float = 0.0
    """When a model thread took it (time.monotonic())."""

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


class Scheduler:
    """Slots and turns, shared by the event loop's thread (``offer``) and the model threads (``next_batch``).

    ``threads`` calls run at once, each of at most ``max_batch`` jobs: whenever a model thread is free it takes every
    waiting slot up to ``max_batch`` at once (urgent ones first, in turn order, then the others in turn order), with
    no wait for more to arrive (docs/protocol.md, "Batches"). ``waiting`` holds each camera's waiting job in turn
    order; ``_urgent`` the cameras among them whose slot is urgent. Everything is kept under ``lock`` (a
    ``threading.Condition`` the model threads wait on), and the camera figures are changed under it too.
    """

    def __init__(self, threads: int, max_batch: int = 1) -> None:
        self.threads = threads
        self.max_batch = max_batch
        self.lock = threading.Condition()
        self.running = 0
        self.idle = 0
        """Model threads waiting for work in ``next_batch``."""
        self.handed: collections.deque[list[Job]] = collections.deque()
        """Batches taken at arrival for idle model threads that have not woken yet (each counted as running)."""
        self.waiting: collections.OrderedDict[str, Job] = collections.OrderedDict()
        self._urgent: set[str] = set()
        self.cameras: collections.OrderedDict[str, CameraFigures] = collections.OrderedDict()
        self.stopped = False
        self._last_run: collections.OrderedDict[str, int] = collections.OrderedDict()
        """Each camera's last run as a count of runs (higher: more recent), the most recent REMEMBERED_RUNS."""
        self._runs = 0

    def ran(self, camera: str) -> None:
        """A taken request of ``camera`` reached the model: it goes behind every camera run less lately (under ``lock``)."""
        self._runs += 1
        self._last_run.pop(camera, None)
        self._last_run[camera] = self._runs
        if len(self._last_run) > REMEMBERED_RUNS:
            self._last_run.popitem(last=False)

    def _turns(self, cameras: Iterable[str]) -> list[str]:
        """``cameras`` (in the order they started waiting) in turn order: the last run oldest first, never run first of all."""
        return sorted(cameras, key=lambda camera: self._last_run.get(camera, 0))

    def figures(self, camera: str) -> CameraFigures:
        """The camera's figures, made the most recent (the oldest camera's are dropped past MAX_CAMERA_FIGURES); under ``lock``."""
        figures = self.cameras.pop(camera, None) or CameraFigures()
        self.cameras[camera] = figures
        if len(self.cameras) > MAX_CAMERA_FIGURES:
            self.cameras.popitem(last=False)
        return figures

    def offer(self, job: Job, urgent: bool = False) -> Job | None:
        """Puts the job in its camera's slot (urgent: before every slot that is not); returns the job it replaced (to be answered ERR_SUPERSEDED), if any."""
        camera = job.camera
        with self.lock:
            figures = self.figures(camera)
            older = self.waiting.get(camera)
            self.waiting[camera] = job  # replacing keeps the camera's place in the turn order
            if urgent:
                self._urgent.add(camera)  # a replaced urgent one's stays: its camera's onset is still unanswered
            if older is not None:
                figures.superseded += 1
            elif self.idle > len(self.handed):
                # A model thread is free: the request is its now, not when the thread next runs (on a loaded
                # machine that can be after the next request of the same camera is read and would replace it).
                self.running += 1
                self.handed.append(self.take_batch())
                self.lock.notify()
        return older

    def take_waiting(self) -> list[Job]:
        """Every job still waiting, removed (a closing server answers them)."""
        with self.lock:
            jobs = [job for batch in self.handed for job in batch] + list(self.waiting.values())
            self.running -= len(self.handed)
            self.handed.clear()
            self.waiting.clear()
            self._urgent.clear()
        return jobs

    def next_camera(self) -> str | None:
        """The camera served next: the first urgent one in turn order, else the first in turn; None when none waits."""
        turns = self._turns(camera for camera in self.waiting if not self._urgent or camera in self._urgent)
        return turns[0] if turns else None

    def take_batch(self) -> list[Job]:
        """Up to ``max_batch`` waiting jobs, removed from their slots: urgent ones first in turn order, then the turn order (under ``lock``)."""
        if self.max_batch == 1 or len(self.waiting) == 1:
            camera = self.next_camera()
            cameras = [] if camera is None else [camera]
        else:
            urgent = self._turns(camera for camera in self.waiting if camera in self._urgent) if self._urgent else []
            cameras = urgent[: self.max_batch]
            if len(cameras) < self.max_batch:
                cameras += self._turns(camera for camera in self.waiting if camera not in self._urgent)[: self.max_batch - len(cameras)]
        jobs = []
        for camera in cameras:
            job = self.waiting.pop(camera)
            job.urgent = camera in self._urgent
            self._urgent.discard(camera)
            jobs.append(job)
        return jobs

    def next_batch(self) -> list[Job] | None:
        """A model thread's next call: waits until a batch is handed to it or a slot waits, then takes it (the call counted as running); None once stopped."""
        with self.lock:
            self.idle += 1
            try:
                while not self.handed and not self.waiting and not self.stopped:
                    self.lock.wait()
            finally:
                self.idle -= 1
            if self.stopped:
                return None
            if self.handed:
                return self.handed.popleft()  # counted as running when it was handed
            self.running += 1
            return self.take_batch()

    def call_done(self) -> None:
        """A call ended (or was given up at its timeout): a model thread is free."""
        with self.lock:
            self.running -= 1

    def stop(self) -> None:
        """Every model thread's ``next_batch`` returns None (the server closed)."""
        with self.lock:
            self.stopped = True
            self.lock.notify_all()


__all__ = ["Answer", "CameraFigures", "Job", "Scheduler", "Window"]
