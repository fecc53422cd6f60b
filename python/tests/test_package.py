"""The package's shape (issue 42): one error base, serve() from its caller only, the CLI apart, logging through `logging`."""

from __future__ import annotations

import json
import logging
import os
import resource
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import SRC

import framesupplier
from framesupplier import FrameError, FrameSupplierError, ServerError, WorkerError
from framesupplier.logs import JsonLineFormatter, log_event


def test_every_error_is_a_framesupplier_error_with_a_code() -> None:
    for error in (ServerError("ERR_PY_SOCKET", "x"), FrameError("ERR_SCHEMA", "y", "frame_metadata"), WorkerError("z")):
        assert isinstance(error, FrameSupplierError) and error.code.startswith("ERR_") and error.message
    assert WorkerError("z").code == "ERR_PY_WORKER_PROTOCOL"
    assert FrameError("ERR_SCHEMA", "y", "frame_metadata").field == "frame_metadata"


def test_serve_takes_its_arguments_from_the_caller_not_the_command_line(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys, framesupplier
            sys.exit(framesupplier.serve(lambda frame: [], model_id="mine", socket={str(tmp_path / 'mine.sock')!r}, shm_dir={str(tmp_path)!r}))
            """
        )
    )
    flags = ["--socket", str(tmp_path / "flag.sock"), "--model-id", "flag"]
    child = subprocess.Popen([sys.executable, str(script), *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(SRC)})
    try:
        assert child.stdout is not None
        listening = json.loads(child.stdout.readline())
        assert listening["listening"] == str(tmp_path / "mine.sock") and listening["model_id"] == "mine"
        child.terminate()
        assert child.wait(30) == 0
    finally:
        child.kill()
        child.wait()


def test_importing_the_cli_module_leaves_serve_callable() -> None:
    import framesupplier.serve  # noqa: F401  the -m module: the package attribute becomes the module

    assert callable(framesupplier.serve)
    with pytest.raises(TypeError):
        framesupplier.serve()  # type: ignore[call-arg]  the function's own refusal, reached through the module


def test_log_events_are_json_lines_with_their_fields() -> None:
    record = logging.LogRecord("framesupplier", logging.WARNING, __file__, 1, "connection-error", None, None)
    record.event_fields = {"code": "ERR_TIMEOUT", "message": "m"}
    assert json.loads(JsonLineFormatter().format(record)) == {"level": "warn", "event": "connection-error", "code": "ERR_TIMEOUT", "message": "m"}


def test_the_package_logs_to_its_logger(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="framesupplier"):
        log_event(logging.INFO, "listening", model_id="m")
    assert [(r.name, r.getMessage()) for r in caplog.records] == [("framesupplier", "listening")]


def test_a_served_model_that_dies_of_a_fault_leaves_its_python_stacks_on_stderr(tmp_path: Path) -> None:
    # ADR 0109: `python -m framesupplier.serve` enables faulthandler; the process still dies of the signal.
    model = tmp_path / "still.py"
    model.write_text("def infer(frame):\n    return []\n")
    socket = tmp_path / "m.sock"
    command = [sys.executable, "-m", "framesupplier.serve", f"{model}:infer", "--model-id", "m", "--socket", str(socket), "--shm-dir", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(tmp_path)])}
    env.pop("PYTHONFAULTHANDLER", None)
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)))
    try:
        assert child.stdout is not None and child.stderr is not None
        listening = json.loads(child.stdout.readline())
        assert listening["listening"] == str(socket)
        child.send_signal(signal.SIGSEGV)
        assert child.wait(30) == -signal.SIGSEGV
        stderr = child.stderr.read().decode()
        assert "Fatal Python error: Segmentation fault" in stderr, stderr
        assert "framesupplier" in stderr, stderr  # the serving thread's stack names the package's frames
    finally:
        child.kill()
        child.wait()
