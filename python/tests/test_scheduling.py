"""The Python server's scheduler (scheduling.py) against a model of protocol 3's rules, over random sequences of
requests (urgent or not) and completions, and the server itself serving an urgent request first on a real socket.

The model: one slot per camera in turn order; a newer request takes its camera's slot, its turn and its urgency;
a free thread takes the first urgent slot in turn order, else the front. So every request leaves exactly once (run,
superseded or drained), an urgent one goes before every one that is not, and the rest are served round-robin.
"""

from __future__ import annotations

import asyncio
import json
import random
import struct
import threading
import time
from typing import Any

import pytest
from conftest import RunningServer, request

from framesupplier import Frame, ModelServer
from framesupplier.scheduling import Job, Scheduler
from framesupplier.testing import StoreWriter

RGB = 64 * 48 * 3


class _Here:
    """A connection whose client is still there."""

    def gone(self) -> bool:
        return False


def _one_sequence(rng: random.Random, max_batch: int) -> None:
    """The model threads played in turn: whenever fewer than ``threads`` calls run and a slot waits, a thread takes
    its batch (``next_batch`` then returns at once); a call ends when the sequence says."""
    threads = rng.randint(1, 3)
    scheduler = Scheduler(threads, max_batch)
    loop = asyncio.new_event_loop()
    jobs: dict[int, Job] = {}
    outcome: dict[int, str] = {}
    running: list[list[int]] = []  # the scheduler's calls, oldest first
    ran: list[list[int]] = []
    # The model: waiting slots in turn order as [camera, job number, urgent]; running calls oldest first, each the
    # job numbers it took; a free call takes up to max_batch slots, the urgent ones in turn order, then the others.
    model_waiting: list[list[Any]] = []
    model_running: list[list[int]] = []
    model_started: list[list[int]] = []
    model_urgent: dict[int, bool] = {}

    def free_threads_take() -> None:
        while scheduler.running < threads and scheduler.waiting:
            batch = scheduler.next_batch()
            assert batch is not None
            running.append([int(job.request["n"]) for job in batch])
            ran.append(running[-1])

    def model_pump() -> None:
        while len(model_running) < threads and model_waiting:
            urgent = [slot for slot in model_waiting if slot[2]]
            taken = (urgent + [slot for slot in model_waiting if not slot[2]])[:max_batch]
            for slot in taken:
                model_waiting.remove(slot)
                model_urgent[slot[1]] = slot[2]
            model_running.append([slot[1] for slot in taken])
            model_started.append(model_running[-1])

    for n in range(rng.randint(0, 120)):
        if rng.random() < 0.6:
            camera = f"camera_{rng.randint(0, 5)}"
            urgent = rng.random() < 0.2
            job = Job({"camera_id": camera, "n": n}, _Here(), 0.0, loop.create_future())  # type: ignore[arg-type]
            jobs[n] = job
            mine = next((slot for slot in model_waiting if slot[0] == camera), None)
            if mine is None:
                model_waiting.append([camera, n, urgent])
            else:
                mine[1], mine[2] = n, mine[2] or urgent  # its turn, and its urgency, kept
            older = scheduler.offer(job, urgent)
            if older is not None:
                number = int(older.request["n"])
                assert mine is not None and number not in outcome
                outcome[number] = "superseded"
        elif model_running:
            assert running.pop(0) == model_running.pop(0), "the oldest call ends"
            scheduler.call_done()
        else:
            continue
        free_threads_take()
        model_pump()
        # The scheduler took what the model takes, no more, no less.
        assert [int(j.request["n"]) for j in scheduler.waiting.values()] == [slot[1] for slot in model_waiting]
        assert scheduler.running == len(model_running) and running == model_running
        for batch in model_running:
            for number in batch:
                assert jobs[number].urgent == model_urgent[number], f"job {number} urgent"
    for batch in ran:
        for number in batch:
            outcome[number] = "run"
    for job in scheduler.take_waiting():
        outcome[int(job.request["n"])] = "drained"
    assert sorted(outcome) == sorted(jobs), "every job leaves exactly once"
    # Started in the model's order, taken together as the model takes them: urgent first, else round-robin.
    assert ran == model_started
    assert all(1 <= len(batch) <= max_batch for batch in ran)
    scheduler.stop()
    assert scheduler.next_batch() is None, "a stopped scheduler gives its threads nothing"
    loop.close()


def test_the_scheduler_keeps_the_protocol_3_rules_over_random_sequences() -> None:
    for seed in range(300):
        _one_sequence(random.Random(seed), 1)


def test_batches_take_only_what_waits_urgent_first_then_the_turns_over_random_sequences() -> None:
    for seed in range(300):
        rng = random.Random(seed)
        _one_sequence(rng, rng.choice((2, 3, 4, 8)))


def test_an_urgent_request_is_served_before_the_cameras_waiting_and_counted(start: Any, shm: str) -> None:
    """A real server with one thread: a camera's urgent request waits behind the running one only."""
    calls: list[str] = []
    first = threading.Event()
    hold = threading.Event()

    def infer(frame: Frame) -> list[Any]:
        calls.append(frame.camera_id)
        if len(calls) == 1:
            first.set()
            assert hold.wait(30)
        return []

    server = start(infer, threads=1)
    writer = StoreWriter(shm, "cam", slot_bytes=RGB)
    fid = writer.write(bytes(RGB), 64, 48, "RGB24")
    watch = server.client()

    def waiting(n: int) -> None:
        while watch.ask({"type": "ping"})["waiting"] != n:
            pass

    clients = {camera: server.client() for camera in ("busy", "a", "b", "u")}
    clients["busy"].send(request(writer, fid, camera_id="busy"))
    assert first.wait(30)
    for n, camera in enumerate(("a", "b"), 1):
        clients[camera].send(request(writer, fid, camera_id=camera))
        waiting(n)
    clients["u"].send(request(writer, fid, camera_id="u", urgent=True))
    waiting(3)
    hold.set()
    for client in clients.values():
        assert client.recv()["error"] is None
    assert calls == ["busy", "u", "a", "b"]
    pong = watch.ask({"type": "ping"})
    assert pong["protocol"] == 3
    assert {camera: (f["served"], f["urgent"]) for camera, f in pong["cameras"].items()} == {"busy": (1, 0), "a": (1, 0), "b": (1, 0), "u": (1, 1)}


class _HeldWakeUp(threading.Condition):
    """The scheduler's lock, whose waits (a model thread with nothing to do) return only once ``opened`` is set.

    So a model thread woken for a request runs no further until the test says: whatever the thread's wake-up costs on
    a loaded machine, the server reads every request of the write first, deterministically."""

    def __init__(self) -> None:
        super().__init__()
        self.idle = threading.Event()  # a model thread waits for work
        self.opened = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.idle.set()
        woken = super().wait(timeout)
        if not self.opened.is_set():
            self.release()  # held out of the lock, as a thread not yet scheduled would be
            try:
                assert self.opened.wait(30)
            finally:
                self.acquire()
        return woken


@pytest.mark.parametrize("max_batch", [None, 8])
def test_two_requests_of_a_camera_in_one_write_to_an_idle_server_the_first_is_served_at_once(tmp_path: Any, shm: str, max_batch: int | None) -> None:
    """docs/protocol.md, Scheduling: a free model takes a request at once, when it is read, not when a model thread
    next runs: the first of two pipelined requests is served, the second waits for it and supersedes nothing."""
    held = threading.Event()
    entered = threading.Event()
    frames: list[int] = []

    def infer(frame: Any) -> Any:
        taken = frame if isinstance(frame, list) else [frame]
        frames.extend(f.frame_id for f in taken)
        if len(frames) == 1:
            entered.set()
            assert held.wait(30)  # a slow model: its first call lasts until the test has looked
        return [[] for _ in taken] if isinstance(frame, list) else []

    server = ModelServer(infer, model_id="m", socket=str(tmp_path / "model.sock"), shm_dir=shm, threads=1, max_batch=max_batch)
    lock = server._scheduler.lock = _HeldWakeUp()
    read = 0
    on_message = server.on_message

    def read_then_open(connection: Any, body: bytes) -> None:
        nonlocal read
        on_message(connection, body)
        read += 1
        if read == 2:
            lock.opened.set()  # both requests read (on the event loop): now the model thread may run

    server.on_message = read_then_open  # type: ignore[method-assign]
    running = RunningServer(server)
    try:
        writer = StoreWriter(shm, "cam", slot_bytes=RGB)
        first, second = (writer.write(bytes([n]) * RGB, 64, 48, "RGB24") for n in (1, 2))
        assert lock.idle.wait(30), "the model thread waits for work: the server is idle"
        client, watch = running.client(), running.client()
        client.sock.sendall(b"".join(_framed(request(writer, fid, request_id=fid)) for fid in (first, second)))
        assert entered.wait(30)
        deadline = time.monotonic() + 30
        while watch.ask({"type": "ping"})["waiting"] != 1:  # the second read, waiting for the running call
            assert time.monotonic() < deadline, "the second request never waited for the first's call"
        held.set()
        answers = [client.recv(), client.recv()]
        assert [(a["request_id"], a["frame_id"], a["error"]) for a in answers] == [(first, first, None), (second, second, None)]
        assert frames == [first, second]
        figures = watch.ask({"type": "ping"})["cameras"]["cam"]
        assert (figures["served"], figures["superseded"]) == (2, 0)
    finally:
        held.set()
        lock.opened.set()
        running.stop()


def _framed(message: Any) -> bytes:
    body = json.dumps(message).encode()
    return struct.pack(">I", len(body)) + body
