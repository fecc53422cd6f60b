"""The Python model server: frames as NumPy views, torn and truncated frames refused, threads, failures, the socket lock."""

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from conftest import PACKAGE, SRC, Client, request

from framesupplier import Frame, FrameError, Limits, ModelServer, ServeOptions, ServerError
from framesupplier.flags import options_over, parser
from framesupplier.protocol import check_request
from framesupplier.testing import StoreWriter

RGB = 64 * 48 * 3


def test_the_handler_gets_the_frame_as_a_view_of_shared_memory(start, shm):
    seen = {}

    def infer(frame: Frame):
        seen["pixels"] = frame.pixels.copy()
        seen["owns"] = frame.data.flags.owndata
        seen["writeable"] = frame.data.flags.writeable
        seen["meta"] = (frame.camera_id, frame.frame_id, frame.width, frame.height, frame.format)
        return [{"class_id": 1, "class_name": "thing", "confidence": np.float32(0.5), "bbox": np.array([0.1, 0.2, 0.3, 0.4])}]

    server = start(infer)
    writer = StoreWriter(shm, "cam", slot_bytes=RGB)
    pixels = np.arange(RGB, dtype=np.uint8)
    fid = writer.write(pixels.tobytes(), 64, 48, "RGB24")
    answer = server.client().ask(request(writer, fid, request_id=5))
    assert answer["error"] is None, answer
    assert answer["request_id"] == 5 and answer["frame_id"] == fid
    assert answer["detections"] == [{"class_id": 1, "class_name": "thing", "confidence": 0.5, "bbox": [0.1, 0.2, 0.3, 0.4]}]
    assert set(answer["metadata"]) >= {"inference_time_ms", "wait_ms", "frame_age_ms"}
    assert np.array_equal(seen["pixels"], pixels.reshape(48, 64, 3))
    assert seen["owns"] is False and seen["writeable"] is False, "a view of the mapping, read-only"
    assert seen["meta"] == ("cam", fid, 64, 48, "RGB24")
    assert server.server.frames.access == "mapped"


def test_newest_passes_over_frames_of_another_size_and_answers_overwritten_when_none_is_left(start, shm):
    """A camera's worker moved to its other stream: frames of another size are not newer versions of the request's."""
    server = start(lambda frame: [])
    writer = StoreWriter(shm, "cam", slots=4, slot_bytes=RGB)
    older = writer.write(bytes(RGB), 64, 48, "RGB24")
    own = writer.write(bytes(RGB), 64, 48, "RGB24")
    writer.write(bytes(32 * 24 * 3), 32, 24, "RGB24")
    client = server.client()
    answer = client.ask(request(writer, older, frame_select="newest"))
    assert answer["error"] is None and answer["frame_id"] == own, answer
    for _ in range(4):
        other = writer.write(bytes(32 * 24 * 3), 32, 24, "RGB24")
    assert client.ask(request(writer, own, frame_select="newest"))["error"]["code"] == "ERR_FRAME_OVERWRITTEN"
    assert client.ask(request(writer, own, 32, 24, frame_select="newest"))["frame_id"] == other
    for select in ("exact", "newest"):  # a frame there, described with another size: the client's mistake
        error = client.ask(request(writer, other, frame_select=select))["error"]
        assert (error["code"], error.get("field")) == ("ERR_SCHEMA", "frame_metadata"), error
    client.close()


def test_a_frame_overwritten_while_the_handler_reads_it_is_refused_not_misread(start, shm):
    writer = StoreWriter(shm, "cam", slots=1, slot_bytes=RGB)

    def infer(frame: Frame):
        writer.write(bytes(RGB), 64, 48, "RGB24")  # the writer laps the reader mid-read
        return [{"class_id": 0, "confidence": 1.0, "bbox": [0, 0, 1, 1]}]

    server = start(infer)
    fid = writer.write(bytes([7]) * RGB, 64, 48, "RGB24")
    answer = server.client().ask(request(writer, fid))
    assert answer["error"]["code"] == "ERR_FRAME_OVERWRITTEN"
    assert answer["detections"] == []


def test_release_checks_the_frame_when_the_handler_has_taken_it(start, shm):
    writer = StoreWriter(shm, "cam", slots=1, slot_bytes=RGB)
    outcome = {}

    def infer(frame: Frame):
        rgb = frame.to_rgb()
        frame.release()  # taken: a write after this does not matter
        writer.write(bytes(RGB), 64, 48, "RGB24")
        outcome["mean"] = float(rgb.mean())
        return []

    server = start(infer)
    fid = writer.write(bytes([9]) * RGB, 64, 48, "RGB24")
    answer = server.client().ask(request(writer, fid))
    assert answer["error"] is None and outcome["mean"] == 9.0


def test_a_store_truncated_under_the_handler_is_an_error_and_the_server_lives(start, shm):
    writer = StoreWriter(shm, "cam", slots=2, slot_bytes=RGB)

    def infer(frame: Frame):
        os.truncate(writer.path, 64)  # what a writer must never do
        return {"detections": [], "metadata": {"sum": int(frame.data.sum())}}  # reads past the end: SIGBUS, absorbed

    server = start(infer)
    fid = writer.write(bytes([1]) * RGB, 64, 48, "RGB24")
    client = server.client()
    answer = client.ask(request(writer, fid))
    assert answer["error"]["code"] == "ERR_FRAME_CORRUPT", answer
    assert client.ask(request(writer, fid))["error"]["code"] == "ERR_FRAME_NOT_FOUND"  # mapped again: no longer a store
    assert client.ask({"type": "ping"})["type"] == "pong"


def test_handler_failures_bad_results_and_timeouts_are_answered_with_codes(start, shm):
    def infer(frame: Frame):
        if frame.camera_id == "raise":
            raise ValueError("no")
        if frame.camera_id == "bad":
            return [{"confidence": 2.0, "bbox": [0, 0, 1, 1]}]
        if frame.camera_id == "slow":
            time.sleep(1.5)
        return []

    server = start(infer, limits=Limits(handler_timeout_ms=300))
    writer = StoreWriter(shm, "cam", slot_bytes=RGB)
    fid = writer.write(bytes(RGB), 64, 48, "RGB24")
    client = server.client()
    failed = client.ask(request(writer, fid, camera_id="raise"))
    assert failed["error"]["code"] == "ERR_HANDLER_FAILED" and "ValueError: no" in failed["error"]["message"]
    assert client.ask(request(writer, fid, camera_id="bad"))["error"]["code"] == "ERR_HANDLER_FAILED"
    assert client.ask(request(writer, fid, camera_id="slow"))["error"]["code"] == "ERR_TIMEOUT"
    assert client.ask(request(writer, fid, camera_id="ok"))["error"] is None


def test_threads_run_handlers_side_by_side(start, shm):
    both = threading.Barrier(2, timeout=20)

    def infer(frame: Frame):
        both.wait()  # returns only when two handlers run at once
        return []

    server = start(infer, threads=2)
    writer = StoreWriter(shm, "cam", slot_bytes=RGB)
    fid = writer.write(bytes(RGB), 64, 48, "RGB24")
    a, b = server.client(), server.client()
    a.send(request(writer, fid, camera_id="a"))
    b.send(request(writer, fid, camera_id="b"))
    assert a.recv()["error"] is None and b.recv()["error"] is None


def test_the_pong_says_protocol_3_and_the_input_long_side(start):
    server = start(lambda frame: [], input_long_side=640, threads=3)
    pong = server.client().ask({"type": "ping", "request_id": "x"})
    assert pong["protocol"] == 3 and pong["frame_long_side"] == 640 and pong["concurrency"] == 3 and pong["request_id"] == "x"


def test_options_are_checked():
    for bad in ({"threads": 0}, {"model_id": ""}, {"input_long_side": 0}, {"frame_access": "maybe"}, {"limits": {"max_connections": 2}}):
        with pytest.raises(ServerError) as caught:
            ModelServer(lambda f: [], **{"model_id": "m", "socket": "/tmp/x.sock", **bad})
        assert caught.value.code == "ERR_PY_INVALID_OPTION"
        with pytest.raises(ServerError) as caught:
            ServeOptions(**{"model_id": "m", "socket": "/tmp/x.sock", **bad})
        assert caught.value.code == "ERR_PY_INVALID_OPTION"
    with pytest.raises(ServerError):
        Limits(max_connections=0)
    with pytest.raises(TypeError):
        ServeOptions(model_id="m", socket="/tmp/x.sock", thread=2)  # a name that is no option: Python's own refusal


def test_options_are_one_object_or_its_fields_as_keywords_laid_over_it():
    options = ServeOptions(model_id="m", socket="/tmp/x.sock", threads=2, limits=None)
    assert options.limits == Limits() and options.shm_dir == "/dev/shm/framesupplier"
    assert ModelServer(lambda f: [], options).options == options
    assert ModelServer(lambda f: [], model_id="m", socket="/tmp/x.sock", threads=2).options == options
    over = ModelServer(lambda f: [], options, threads=3, input_long_side=640).options
    assert (over.model_id, over.threads, over.input_long_side) == ("m", 3, 640)
    flags = options_over(parser(False).parse_known_args(["--threads", "4", "--handler-timeout-ms", "50", "--other", "x"])[0], options)
    assert (flags.model_id, flags.threads, flags.limits.handler_timeout_ms, flags.limits.max_connections) == ("m", 4, 50, 1024)
    assert options_over(parser(False).parse_known_args([])[0], options) == options
    script = options_over(parser(False).parse_known_args(["--model", "standin", "--max", "3"])[0], options)
    assert script == options, "a script's own flags are not abbreviations of the server's (--model is not --model-id)"


def test_a_request_that_does_not_fit_the_schema_is_a_frame_error_naming_its_field():
    with pytest.raises(FrameError) as caught:
        check_request({"frame_reference": "/x", "frame_metadata": {"frame_id": 1, "width": 0, "height": 1, "format": "RGB24"}, "camera_id": "c", "model_id": "m", "timestamp": 1})
    assert (caught.value.code, caught.value.field, caught.value.message) == ("ERR_SCHEMA", "frame_metadata.width", "frame_metadata.width must be >= 1")


def test_one_server_per_socket_path_and_start_close_are_idempotent(start, tmp_path):
    path = str(tmp_path / "one.sock")
    first = start(lambda f: [], socket=path)
    with pytest.raises(ServerError) as caught:
        start(lambda f: [], socket=path)
    assert caught.value.code == "ERR_SOCKET_IN_USE"
    first.stop()
    assert not os.path.exists(path), "the socket file is removed on close"
    first.stop()  # close() twice is one close


def test_sigterm_drains_and_exits_0(tmp_path, shm):
    socket_path = str(tmp_path / "m.sock")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    child = subprocess.Popen(
        [sys.executable, str(PACKAGE / "tests" / "mock_server.py"), "--socket", socket_path, "--shm-dir", shm, "--delay-ms", "500"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert b'"listening"' in child.stdout.readline()
        writer = StoreWriter(shm, "cam", slot_bytes=RGB)
        fid = writer.write(bytes(RGB), 64, 48, "RGB24")
        client = Client(socket_path)
        client.send(request(writer, fid, model_id="mock"))
        watcher = Client(socket_path)  # a ping waits behind the request on its connection: ask on another
        while watcher.ask({"type": "ping"})["running"] != 1:
            pass
        watcher.close()
        child.send_signal(signal.SIGTERM)
        assert client.recv()["error"] is None, "a request read before the signal gets its real answer"
        assert child.wait(30) == 0
        assert not os.path.exists(socket_path)
    finally:
        child.kill()
        child.wait()
