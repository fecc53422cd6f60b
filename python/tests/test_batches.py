"""Batches (docs/protocol.md, "Batches"): with max_batch the model gets the newest frames of the cameras waiting when it
is free, urgent ones first, never waiting for more; each request gets its own answer and figures; a refused frame is
refused alone, a failed call for each of its requests. Real server, real sockets and stores; no timing assertions:
each step waits on what proves it (a call entered, the pong's count of waiting cameras)."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest
from conftest import RunningServer, request

from framesupplier import Frame, Limits, ServeOptions
from framesupplier.batch import batch_array
from framesupplier.flags import options_over, parser
from framesupplier.testing import StoreWriter

W, H = 64, 48
RGB = W * H * 3


class HeldModel:
    """A batched model whose first call waits until ``free`` is set, so that requests pile up meanwhile."""

    def __init__(self, answer: Any = None) -> None:
        self.calls: list[list[tuple[str, int, int]]] = []
        self.entered = threading.Event()
        self.free = threading.Event()
        self.answer = answer

    def __call__(self, frames: list[Frame]) -> Any:
        assert isinstance(frames, list) and all(isinstance(f, Frame) for f in frames)
        self.calls.append([(f.camera_id, f.frame_id, int(f.data[0])) for f in frames])
        if len(self.calls) == 1:
            self.entered.set()
            assert self.free.wait(30)
        if self.answer is not None:
            return self.answer(frames)
        return [{"detections": [], "metadata": {"first_pixel": int(f.pixels[0, 0, 0])}} for f in frames]


class Cameras:
    """One store and one connection a camera; frames whose first byte says the camera (and its turn)."""

    def __init__(self, server: RunningServer, shm: str, names: list[str], slots: int = 4) -> None:
        self.server = server
        self.writers = {name: StoreWriter(shm, name, slots=slots, slot_bytes=RGB) for name in names}
        self.clients = {name: server.client() for name in names}
        self.watch = server.client()

    def write(self, name: str, value: int, wall_time_ms: float | None = None) -> int:
        return self.writers[name].write(bytes([value]) * RGB, W, H, "RGB24", wall_time_ms)

    def ask(self, name: str, frame_id: int, **extra: Any) -> None:
        self.clients[name].send(request(self.writers[name], frame_id, W, H, camera_id=name, frame_select="newest", **extra))

    def waiting(self, n: int) -> None:
        while self.watch.ask({"type": "ping"})["waiting"] != n:
            pass

    def pong(self) -> dict[str, Any]:
        return self.watch.ask({"type": "ping"})


def _pile_up(start: Any, shm: str, model: HeldModel, names: list[str], urgent: tuple[str, ...] = (), max_batch: int = 8, **options: Any) -> Cameras:
    """A server whose model is held in a first call (camera "busy") while each of ``names`` asks once, in order."""
    server = start(model, max_batch=max_batch, **options)
    cams = Cameras(server, shm, ["busy", *names])
    cams.ask("busy", cams.write("busy", 1))
    assert model.entered.wait(30)
    for n, name in enumerate(names, 1):
        cams.ask(name, cams.write(name, 10 + n), urgent=name in urgent)
        cams.waiting(n)
    return cams


def test_a_batch_takes_what_waits_urgent_first_and_each_answer_is_its_own(start: Any, shm: str) -> None:
    model = HeldModel()
    cams = _pile_up(start, shm, model, ["a", "b", "c", "u"], urgent=("u",))
    newer = cams.write("b", 99)  # b's newest frame when its slot is taken, not the one it asked about
    model.free.set()
    answers = {name: cams.clients[name].recv() for name in ("busy", "a", "b", "c", "u")}
    assert [c[0] for c in model.calls[1]] == ["u", "a", "b", "c"], "urgent first, then the turn order, in one call"
    assert len(model.calls) == 2, "everything that waited went in one call"
    assert answers["busy"]["metadata"]["batch_size"] == 1
    for name, first in (("a", 11), ("c", 13), ("u", 14), ("b", 99)):
        answer = answers[name]
        assert answer["error"] is None, answer
        assert answer["camera_id"] == name and answer["metadata"]["first_pixel"] == first, "its own frame's result"
        assert answer["metadata"]["batch_size"] == 4
        assert {"inference_time_ms", "wait_ms", "frame_age_ms", "batch_oldest_frame_age_ms"} <= set(answer["metadata"])
    assert answers["b"]["frame_id"] == newer, "the newest frame when the batch was taken"
    assert len({answers[n]["metadata"]["inference_time_ms"] for n in "abcu"}) == 1, "the call's time, the same in each"
    pong = cams.pong()
    assert pong["max_batch"] == 8
    assert {c: (f["served"], f["urgent"]) for c, f in pong["cameras"].items()} == {"busy": (1, 0), "a": (1, 0), "b": (1, 0), "c": (1, 0), "u": (1, 1)}
    batches = cams.server.server.stats()["batches"]
    assert batches["count"] == 2 and batches["frames"] == 5 and batches["size_p99"] == 4
    assert pong["batches"]["count"] == 2, "the pong has them too"


def test_it_never_waits_for_a_batch_to_fill(start: Any, shm: str) -> None:
    calls: list[int] = []

    def model(frames: list[Frame]) -> list[Any]:
        calls.append(len(frames))
        return [[] for _ in frames]

    server = start(model, max_batch=64)
    cams = Cameras(server, shm, ["alone"])
    for turn in range(3):
        cams.ask("alone", cams.write("alone", turn))
        answer = cams.clients["alone"].recv()  # answered with nobody else waiting: no timer, no minimum
        assert answer["error"] is None and answer["metadata"]["batch_size"] == 1
    assert calls == [1, 1, 1]


def test_at_most_max_batch_frames_a_call_the_rest_in_the_next_in_turn(start: Any, shm: str) -> None:
    model = HeldModel()
    cams = _pile_up(start, shm, model, ["a", "b", "c", "d", "e"], max_batch=2)
    model.free.set()
    for name in ("busy", "a", "b", "c", "d", "e"):
        assert cams.clients[name].recv()["error"] is None
    assert [[c[0] for c in call] for call in model.calls] == [["busy"], ["a", "b"], ["c", "d"], ["e"]]


def test_a_stale_frame_is_refused_alone_and_the_others_run(start: Any, shm: str) -> None:
    model = HeldModel()
    server = start(model, max_batch=8)
    cams = Cameras(server, shm, ["busy", "fresh", "old"])
    cams.ask("busy", cams.write("busy", 1))
    assert model.entered.wait(30)
    cams.ask("fresh", cams.write("fresh", 2), max_age_ms=60_000)
    cams.waiting(1)
    cams.ask("old", cams.write("old", 3, wall_time_ms=time.time() * 1000 - 3_600_000), max_age_ms=60_000)
    cams.waiting(2)
    model.free.set()
    assert cams.clients["busy"].recv()["error"] is None
    assert cams.clients["fresh"].recv()["metadata"]["batch_size"] == 1
    assert cams.clients["old"].recv()["error"]["code"] == "ERR_FRAME_STALE"
    assert [[c[0] for c in call] for call in model.calls] == [["busy"], ["fresh"]], "the stale frame never reached the model"


def test_a_result_that_does_not_fit_refuses_its_frame_alone(start: Any, shm: str) -> None:
    def answer(frames: list[Frame]) -> list[Any]:
        return [{"mean": 1} if f.camera_id == "b" else [] for f in frames]

    model = HeldModel(answer)
    cams = _pile_up(start, shm, model, ["a", "b", "c"])
    model.free.set()
    answers = {name: cams.clients[name].recv() for name in ("busy", "a", "b", "c")}
    assert answers["b"]["error"]["code"] == "ERR_HANDLER_FAILED" and "'mean'" in answers["b"]["error"]["message"]
    assert answers["a"]["error"] is None and answers["c"]["error"] is None
    assert answers["a"]["metadata"]["batch_size"] == 3


def test_a_jpeg_frame_the_batch_helpers_cannot_take_is_refused_alone_and_the_others_run(start: Any, shm: str) -> None:
    def answer(frames: list[Frame]) -> list[Any]:
        batch, _ = batch_array(frames, (W, H), dtype=np.uint8, scale=None)  # raises ERR_SCHEMA naming the JPEG frame
        return [{"detections": [], "metadata": {"first_pixel": int(b[0, 0, 0])}} for b in batch]

    model = HeldModel(answer)
    server = start(model, max_batch=8)
    cams = Cameras(server, shm, ["busy", "a", "jpeg", "c"])
    cams.ask("busy", cams.write("busy", 1))
    assert model.entered.wait(30)
    cams.ask("a", cams.write("a", 11))
    cams.waiting(1)
    jpeg = cams.writers["jpeg"].write(b"\xff\xd8\xff\xe0" + bytes(60), W, H, "JPEG")
    cams.clients["jpeg"].send(request(cams.writers["jpeg"], jpeg, W, H, "JPEG", camera_id="jpeg", frame_select="newest"))
    cams.waiting(2)
    cams.ask("c", cams.write("c", 13))
    cams.waiting(3)
    model.free.set()
    answers = {name: cams.clients[name].recv() for name in ("busy", "a", "jpeg", "c")}
    assert answers["jpeg"]["error"]["code"] == "ERR_SCHEMA" and answers["jpeg"]["error"]["field"] == "frame_metadata.format"
    assert "not JPEG" in answers["jpeg"]["error"]["message"]
    for name, value in (("a", 11), ("c", 13)):
        assert answers[name]["error"] is None, answers[name]
        assert answers[name]["metadata"]["first_pixel"] == value and answers[name]["metadata"]["batch_size"] == 2
    assert [[c[0] for c in call] for call in model.calls] == [["busy"], ["a", "jpeg", "c"], ["a", "c"]], "called again without the JPEG frame"
    cams.ask("a", cams.write("a", 21))
    assert cams.clients["a"].recv()["error"] is None, "the server goes on"


def test_an_exception_refuses_the_batch_with_the_error_for_each_request(start: Any, shm: str) -> None:
    def answer(frames: list[Frame]) -> list[Any]:
        if len(frames) > 1:
            raise RuntimeError("out of device memory")
        return [[]]

    model = HeldModel(answer)
    cams = _pile_up(start, shm, model, ["a", "b", "c"])
    model.free.set()
    assert cams.clients["busy"].recv()["error"] is None
    errors = [cams.clients[name].recv()["error"] for name in ("a", "b", "c")]
    assert {e["code"] for e in errors} == {"ERR_HANDLER_FAILED"}
    assert len({e["message"] for e in errors}) == 1 and "RuntimeError: out of device memory" in errors[0]["message"]
    cams.ask("a", cams.write("a", 50))
    assert cams.clients["a"].recv()["error"] is None, "the server goes on"


def test_results_that_are_not_one_per_frame_refuse_the_batch(start: Any, shm: str) -> None:
    model = HeldModel(lambda frames: [[]] * (len(frames) - 1) if len(frames) > 1 else [[]])
    cams = _pile_up(start, shm, model, ["a", "b"])
    model.free.set()
    assert cams.clients["busy"].recv()["error"] is None
    for name in ("a", "b"):
        error = cams.clients[name].recv()["error"]
        assert error["code"] == "ERR_HANDLER_FAILED" and "1 results for 2 frames" in error["message"]


def test_a_frame_torn_during_the_call_is_refused_alone(start: Any, shm: str) -> None:
    writers: dict[str, StoreWriter] = {}

    def answer(frames: list[Frame]) -> list[Any]:
        if len(frames) > 1:
            writers["b"].write(bytes(RGB), W, H, "RGB24")  # b's writer laps its one slot while the model reads it
        return [[] for _ in frames]

    model = HeldModel(answer)
    server = start(model, max_batch=8)
    cams = Cameras(server, shm, ["busy", "a", "b"], slots=1)
    writers.update(cams.writers)
    cams.ask("busy", cams.write("busy", 1))
    assert model.entered.wait(30)
    cams.ask("a", cams.write("a", 2))
    cams.waiting(1)
    cams.ask("b", cams.write("b", 3))
    cams.waiting(2)
    model.free.set()
    assert cams.clients["busy"].recv()["error"] is None
    assert cams.clients["a"].recv()["error"] is None
    assert cams.clients["b"].recv()["error"]["code"] == "ERR_FRAME_OVERWRITTEN"


def test_a_call_past_the_handler_timeout_answers_each_request_err_timeout(start: Any, shm: str) -> None:
    gate = threading.Event()

    def model(frames: list[Frame]) -> list[Any]:
        if any(f.camera_id == "slow" for f in frames):
            gate.wait(30)
        return [[] for _ in frames]

    server = start(model, max_batch=4, limits=Limits(handler_timeout_ms=200))
    cams = Cameras(server, shm, ["slow"])
    cams.ask("slow", cams.write("slow", 1))
    assert cams.clients["slow"].recv()["error"]["code"] == "ERR_TIMEOUT"
    gate.set()


def test_without_max_batch_the_model_gets_one_frame_and_the_pong_says_1(start: Any, shm: str) -> None:
    seen: list[Any] = []

    def model(frame: Frame) -> list[Any]:
        seen.append(type(frame))
        return []

    server = start(model)
    cams = Cameras(server, shm, ["a"])
    cams.ask("a", cams.write("a", 1))
    answer = cams.clients["a"].recv()
    assert answer["error"] is None and answer["metadata"]["batch_size"] == 1
    assert seen == [Frame] and cams.pong()["max_batch"] == 1


def test_max_batch_is_an_option_and_a_flag() -> None:
    assert ServeOptions(model_id="m", socket="/tmp/x.sock", max_batch=32).max_batch == 32
    flags = parser(True).parse_args(["model:infer", "--model-id", "m", "--socket", "/tmp/x.sock", "--max-batch", "16"])
    assert options_over(flags, None).max_batch == 16
    for bad in (0, 1025, 2.0, True):
        with pytest.raises(Exception) as caught:
            ServeOptions(model_id="m", socket="/tmp/x.sock", max_batch=bad)  # type: ignore[arg-type]
        assert getattr(caught.value, "code", None) == "ERR_PY_INVALID_OPTION"
