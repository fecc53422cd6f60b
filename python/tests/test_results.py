"""A model's result that the answer cannot carry is refused, said why and logged; a model that is not a detector
puts its output in metadata (issue 41). Against real servers: in process, and from `python -m framesupplier.serve`."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from colour_model import forgot_return, mean_colour, mean_colour_in_metadata
from conftest import PACKAGE, SRC, Client, request

from framesupplier.results import ResultError, normalise_result
from framesupplier.testing import StoreWriter

RGB = 64 * 48 * 3
TESTS = PACKAGE / "tests"


def _frame(shm: str) -> tuple[StoreWriter, int]:
    writer = StoreWriter(shm, "cam", slot_bytes=RGB)
    return writer, writer.write(bytes([10, 20, 30]) * (64 * 48), 64, 48, "RGB24")


def test_a_result_with_keys_the_answer_cannot_carry_is_refused_naming_them_and_logged(start: Any, shm: str, caplog: pytest.LogCaptureFixture) -> None:
    server = start(mean_colour)
    writer, fid = _frame(shm)
    with caplog.at_level(logging.WARNING, logger="framesupplier"):
        answer = server.client().ask(request(writer, fid))
    assert answer["error"]["code"] == "ERR_HANDLER_FAILED", answer
    message = answer["error"]["message"]
    assert "'mean_rgb'" in message and "'score'" in message and "metadata" in message, message
    assert answer["detections"] == []
    assert server.server.errors["ERR_HANDLER_FAILED"] == 1
    refused = [r for r in caplog.records if r.getMessage() == "result-refused"]
    assert len(refused) == 1 and "'mean_rgb'" in refused[0].event_fields["message"], caplog.records  # type: ignore[attr-defined]


def test_a_model_that_is_not_a_detector_answers_in_metadata_and_the_server_adds_its_times(start: Any, shm: str) -> None:
    server = start(mean_colour_in_metadata)
    writer, fid = _frame(shm)
    answer = server.client().ask(request(writer, fid))
    assert answer["error"] is None, answer
    assert answer["detections"] == []
    metadata = answer["metadata"]
    assert metadata["mean_rgb"] == [10.0, 20.0, 30.0] and metadata["score"] == pytest.approx(0.4)
    assert set(metadata) == {"mean_rgb", "score", "inference_time_ms", "wait_ms", "frame_age_ms", "batch_size", "batch_oldest_frame_age_ms"}


def test_none_is_refused_not_taken_as_nothing_found(start: Any, shm: str) -> None:
    server = start(forgot_return)
    writer, fid = _frame(shm)
    answer = server.client().ask(request(writer, fid))
    assert answer["error"]["code"] == "ERR_HANDLER_FAILED" and "None" in answer["error"]["message"], answer


@pytest.mark.parametrize(
    "result, says",
    [
        ({"mean_rgb": [1, 2, 3]}, "'mean_rgb'"),
        ({"detections": [], "metadata": [("a", 1)]}, "metadata is a list"),
        ({"detections": [], "metadata": {"x": float("nan")}}, "metadata.x is nan"),
        ({"detections": [], "metadata": {"x": object()}}, "metadata.x is a object"),
        ([{"class_id": 0, "confidence": 0.5, "box": [0, 0, 1, 1]}], "no bbox"),
        ([{"bbox": [0, 0, 1, 1]}], "no confidence"),
        ([{"confidence": 2, "bbox": [0, 0, 1, 1]}], "confidence must be a number from 0 to 1"),
        ("person", "got a str"),
        ({"class_id": 0, "confidence": 0.5, "bbox": [0, 0, 1, 1]}, "'class_id', 'confidence', 'bbox'"),
    ],
)
def test_what_does_not_fit_is_said(result: Any, says: str) -> None:
    with pytest.raises(ResultError) as caught:
        normalise_result(result)
    assert says in str(caught.value)


def test_what_fits_is_kept_with_numpy_made_plain() -> None:
    import numpy as np

    detections, metadata = normalise_result(
        {"detections": (d for d in [{"confidence": np.float32(0.5), "bbox": np.array([0.1, 0.2, 0.3, 0.4]), "track": np.int64(3)}]), "metadata": {"v": np.arange(3)}}
    )
    assert detections == [{"class_id": 0, "class_name": "class_0", "confidence": 0.5, "bbox": [0.1, 0.2, 0.3, 0.4], "track": 3}]
    assert metadata == {"v": [0, 1, 2]}
    assert normalise_result({}) == ([], {})
    assert normalise_result([]) == ([], {})


def _cli(tmp_path: Path, shm: str, model: str, *flags: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(TESTS)])}
    return subprocess.Popen(
        [sys.executable, "-m", "framesupplier.serve", model, "--model-id", "m", "--socket", str(tmp_path / "m.sock"), "--shm-dir", shm, *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )


def _stop(child: subprocess.Popen[bytes]) -> list[dict[str, Any]]:
    child.terminate()
    _, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    return [json.loads(line) for line in err.decode().splitlines()]


def test_the_cli_serves_a_module_function_and_logs_a_refusal_as_a_json_line(tmp_path: Path, shm: str) -> None:
    child = _cli(tmp_path, shm, "colour_model:mean_colour")
    try:
        assert child.stdout is not None
        listening = json.loads(child.stdout.readline())
        assert listening["model_id"] == "m" and listening["handler"] == "python"
        writer, fid = _frame(shm)
        client = Client(str(tmp_path / "m.sock"))
        assert client.ask(request(writer, fid))["error"]["code"] == "ERR_HANDLER_FAILED"
        assert client.ask(request(writer, fid))["error"]["code"] == "ERR_HANDLER_FAILED"
        client.close()
        lines = _stop(child)
    finally:
        child.kill()
    events = [line["event"] for line in lines]
    assert events[0] == "listening" and events[-2:] == ["shutdown", "closed"], lines
    refused = [line for line in lines if line["event"] == "result-refused"]
    assert len(refused) == 1, "the second refusal within LOG_EVERY_S is counted, not logged again"
    assert refused[0]["level"] == "warn" and refused[0]["code"] == "ERR_HANDLER_FAILED" and "'mean_rgb', 'score'" in refused[0]["message"]
    assert lines[-1]["errors"] == {"ERR_HANDLER_FAILED": 2}


def test_the_cli_serves_a_file_and_a_factory(tmp_path: Path, shm: str) -> None:
    child = _cli(tmp_path, shm, f"{TESTS / 'colour_model.py'}:loaded()", "--threads", "2", "--handler-timeout-ms", "5000")
    try:
        assert child.stdout is not None
        json.loads(child.stdout.readline())
        writer, fid = _frame(shm)
        client = Client(str(tmp_path / "m.sock"))
        assert client.ask(request(writer, fid))["metadata"]["mean_rgb"] == [10.0, 20.0, 30.0]
        assert client.ask({"type": "ping"})["concurrency"] == 2
        client.close()
        _stop(child)
    finally:
        child.kill()


@pytest.mark.parametrize("model, code", [("no_such_module:infer", "ERR_PY_MODEL_LOAD"), ("colour_model:nothing", "ERR_PY_MODEL_LOAD"), ("colour_model", "ERR_PY_INVALID_OPTION")])
def test_the_cli_says_why_it_cannot_load_a_model(tmp_path: Path, shm: str, model: str, code: str) -> None:
    child = _cli(tmp_path, shm, model)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 2 and f"framesupplier: {code}" in err.decode(), err
