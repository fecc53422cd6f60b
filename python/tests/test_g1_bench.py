"""The G1 benchmark's script (python/bench/g1.py) on its GPU path run on the CPU (``--device cpu``, the small network),
briefly: it runs as it will on a GPU machine (python3, PyTorch, NumPy, this repository's python/ and native/, no Node)
and prints every field bench/README.md lists for G1. Figures are judged in the benchmark, never here."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import PACKAGE

FIELDS = {
    "cameras",
    "impl",
    "model",
    "frames_per_s",
    "model_ceiling_per_s",
    "server_ceiling_per_s",
    "batch_size_p50",
    "batch_size_p99",
    "rtt_ms_p50",
    "rtt_ms_p99",
    "oldest_in_batch_ms_p99",
    "fairness",
    "cpu_pct",
}


def test_the_gpu_script_runs_on_the_cpu_and_prints_g1s_fields() -> None:
    pytest.importorskip("torch", reason="PyTorch is not installed: the script's network path needs it")
    result = subprocess.run(
        [sys.executable, str(PACKAGE / "bench" / "g1.py"), "--device", "cpu", "--cameras", "2", "--seconds", "0.5", "--warmup", "0.3", "--direct-seconds", "0.1", "--client-procs", "1"],
        capture_output=True,
        text=True,
        timeout=240,
        env={"PATH": "/usr/bin:/bin"},  # nothing of this environment's: the script finds the package itself
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    served = [line for line in lines if line["impl"] != "direct"]
    assert {line["impl"] for line in served} == {"per-frame", "batched"}
    for line in served:
        assert line["workload"] == "G1" and FIELDS <= set(line), sorted(FIELDS - set(line))
        assert line["model"] == "tiny" and line["device"] == "cpu" and line["cameras"] == 2
        assert line["frames_per_s"] > 0 and line["errors"] == {} and line["not_newest"] == 0
    direct = [line for line in lines if line["impl"] == "direct"]
    assert direct and all(line["frames_per_s"] > 0 and line["network_frames_per_s"] > 0 for line in direct)
