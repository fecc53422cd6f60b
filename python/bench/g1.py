#!/usr/bin/env python3
"""G1, one accelerator and many cameras (bench/README.md): framesupplier's Python model server, per-frame and
batched, at 8, 32 and 64 cameras asking as fast as they are answered, with the model's own ceiling (called directly)
and the server's own ceiling (the same cameras against a model that does nothing) in the same run. One JSON line per
(cameras, impl) on stdout; progress on stderr.

    python3 python/bench/g1.py                                  # the stand-in model (4 ms + 0.3 ms a frame), this machine
    python3 python/bench/g1.py --model resnet50 --device cuda   # a GPU: ResNet-50 trunk at 640x384, fp16
    python3 python/bench/g1.py --device cpu                     # the GPU script's path on a CPU, with a small network

It needs python3 with NumPy (and PyTorch for a network), and this repository's python/ and native/ (no Node, no
network, nothing installed: the package is imported from python/src, its SIGBUS guard built in place with the
machine's cc when it can be, else frames are copied). ``npm run bench -- G1`` runs the stand-in.

Each camera is a closed loop in a client process of its own (several cameras to a process, every camera its own
connection and store): write the newest 640x384 RGB24 frame, ask with ``frame_select: "newest"``, ask again when
answered. Figures over the measuring window (after a warm-up): frames answered a second, request-to-answer p50 and
p99, each call's size and its oldest frame's age when it began (from the answers' ``batch_size`` and
``batch_oldest_frame_age_ms``, each call counted once), fairness (fewest frames a camera got over most), the
server's CPU, and the device's busy share (the calls' own time over the window; the GPU's from nvidia-smi when there).
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.normpath(os.path.join(HERE, ".."))
SRC = os.path.join(PACKAGE, "src")


def log(message: str) -> None:
    sys.stderr.write(f"g1: {message}\n")
    sys.stderr.flush()


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def weighted_percentile(pairs: list[tuple[float, float]], p: float) -> float | None:
    """The p-th percentile of values with weights (value, weight): an answer of a call of n frames weighs 1/n, so each call counts once."""
    if not pairs:
        return None
    ordered = sorted(pairs)
    total = sum(w for _, w in ordered)
    seen = 0.0
    for value, weight in ordered:
        seen += weight
        if seen >= p / 100 * total - 1e-9:
            return value
    return ordered[-1][0]


def build_guard() -> None:
    """The package's SIGBUS guard built in place when it can be (frames mapped); else the server copies them."""
    if glob.glob(os.path.join(SRC, "framesupplier", "_shmguard*.so")):
        return
    result = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=PACKAGE, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        log(f"the SIGBUS guard could not be built (frames will be copied): {result.stderr.strip()[-300:]}")


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC, "PYTHONDONTWRITEBYTECODE": "1"}


def server_env(src: str | None) -> dict[str, str]:
    """The server's environment: this checkout's package, or another's (``--server-src``, a before-and-after)."""
    return {**env(), **({"G1_SERVER_SRC": src, "PYTHONPATH": src} if src else {})}


class Server:
    """A G1 model server process, ready once it printed its listening line."""

    def __init__(self, model: str, device: str, per_frame: bool, max_batch: int, socket_path: str, shm_dir: str, src: str | None = None) -> None:
        command = [sys.executable, os.path.join(HERE, "g1_server.py"), "--g1-model", model, "--device", device, "--socket", socket_path, "--shm-dir", shm_dir, "--log-level", "warning"]
        command += ["--per-frame"] if per_frame else ["--max-batch", str(max_batch)]
        command += os.environ.get("G1_SERVER_FLAGS", "").split()
        self.child = subprocess.Popen(command, stdout=subprocess.PIPE, env=server_env(src), text=True)
        assert self.child.stdout is not None
        line = self.child.stdout.readline()
        if not line:
            raise RuntimeError(f"the {model} server exited with {self.child.wait()}")
        self.listening = json.loads(line)

    def cpu_s(self) -> float:
        with open(f"/proc/{self.child.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.child.send_signal(signal.SIGTERM)
        try:
            self.child.wait(60)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()


class GpuBusy:
    """nvidia-smi's utilization.gpu sampled every 100 ms while it runs (None where there is no nvidia-smi)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.child: subprocess.Popen[str] | None = None
        if shutil.which("nvidia-smi") is None:
            return
        self.child = subprocess.Popen(
            ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", "-lms", "100", "-i", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.child is not None and self.child.stdout is not None
        for line in self.child.stdout:
            try:
                self.samples.append(float(line.strip()))
            except ValueError:
                pass

    def stop(self) -> float | None:
        if self.child is None:
            return None
        self.child.terminate()
        self.child.wait()
        return round(sum(self.samples) / len(self.samples), 1) if self.samples else None


def run_cameras(server: Server, cameras: int, socket_path: str, shm_dir: str, warmup: float, seconds: float, procs: int, tag: str) -> dict[str, Any]:
    """The cameras against a running server for warm-up + seconds; the window's figures."""
    names = [f"{tag}_{i:03d}" for i in range(cameras)]
    groups = [names[i::procs] for i in range(min(procs, cameras))]
    clients = [
        subprocess.Popen(
            [sys.executable, os.path.join(HERE, "g1_cameras.py"), "--socket", socket_path, "--shm-dir", shm_dir, "--cameras", ",".join(group)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env(),
            text=True,
        )
        for group in groups
    ]
    for client in clients:  # every camera ready before the clock starts, however slow the start-up
        assert client.stdout is not None
        if client.stdout.readline().strip() != "ready":
            raise RuntimeError(f"a camera process exited with {client.wait()} before it was ready")
    start_at = time.monotonic() + warmup
    end_at = start_at + seconds
    for client in clients:
        assert client.stdin is not None
        client.stdin.write(f"{start_at} {end_at}\n")
        client.stdin.flush()
    while time.monotonic() < start_at:
        time.sleep(max(0.0, start_at - time.monotonic()))
    cpu_before, wall_before = server.cpu_s(), time.monotonic()
    gpu = GpuBusy()
    while time.monotonic() < end_at:
        time.sleep(max(0.0, end_at - time.monotonic()))
    cpu_after, wall_after = server.cpu_s(), time.monotonic()
    gpu_busy = gpu.stop()
    reports = []
    for client in clients:
        out, _ = client.communicate(timeout=120)
        if client.returncode != 0:
            raise RuntimeError(f"a camera process exited with {client.returncode}")
        reports.append(json.loads(out))
    per_camera = [c for r in reports for c in r["cameras"]]
    answered = [c["answered"] for c in per_camera]
    rtt = [v for c in per_camera for v in c["rtt_ms"]]
    calls = [(n, o, i) for c in per_camera for n, o, i, _ in c["calls"]]
    device = [(n, d) for c in per_camera for n, _, _, d in c["calls"] if d is not None]
    idle = [(v, 1 / n) for c in per_camera for n, v in c.get("idle_ms", [])]
    errors: dict[str, int] = {}
    for c in per_camera:
        for code, count in c["errors"].items():
            errors[code] = errors.get(code, 0) + count
    return {
        "frames_per_s": round(sum(answered) / seconds, 1),
        "batch_size_p50": weighted_percentile([(n, 1 / n) for n, _, _ in calls], 50),
        "batch_size_p99": weighted_percentile([(n, 1 / n) for n, _, _ in calls], 99),
        "batch_size_max": max((n for n, _, _ in calls), default=None),
        "rtt_ms_p50": _round(percentile(rtt, 50)),
        "rtt_ms_p99": _round(percentile(rtt, 99)),
        "oldest_in_batch_ms_p99": _round(weighted_percentile([(o, 1 / n) for n, o, _ in calls], 99)),
        "inference_ms_p50": _round(weighted_percentile([(i, 1 / n) for n, _, i in calls], 50)),
        "fairness": round(min(answered) / max(answered), 3) if answered and max(answered) > 0 else 0.0,
        "cpu_pct": round((cpu_after - cpu_before) / (wall_after - wall_before) * 100, 1),
        "server_cpu_us_per_frame": round((cpu_after - cpu_before) / max(1, sum(answered)) * 1e6, 1),
        "call_busy_pct": round(sum(i / n for n, _, i in calls) / (seconds * 1000) * 100, 1),
        "device_busy_pct": round(sum(d / n for n, d in device) / (seconds * 1000) * 100, 1) if device else None,
        "device_gap_ms_p50": _round(weighted_percentile(idle, 50)),
        "device_gap_ms_p99": _round(weighted_percentile(idle, 99)),
        "gpu_busy_pct": gpu_busy,
        "clients_cpu_pct": round(sum(r["cpu_s"] for r in reports) / seconds * 100, 1),
        "not_newest": sum(c["not_newest"] for c in per_camera),
        "errors": errors,
    }


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


def direct(model: str, device: str, sizes: list[int], seconds: float, max_batch: int) -> dict[int, dict[str, Any]]:
    """The model called directly (g1_models.py --direct) at each batch size."""
    out = subprocess.run(
        [sys.executable, os.path.join(HERE, "g1_models.py"), "--direct", "--model", model, "--device", device, "--sizes", ",".join(map(str, sizes)), "--seconds", str(seconds), "--max-batch", str(max_batch)],
        stdout=subprocess.PIPE,
        env=env(),
        text=True,
        timeout=900,
        check=True,
    ).stdout
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {line["batch"]: line for line in lines}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="standin (default without --device), resnet50 (default on cuda), tiny (default on cpu), noop")
    parser.add_argument("--device", help="cuda or cpu, for a network")
    parser.add_argument("--cameras", default="8,32,64")
    parser.add_argument("--impls", default="per-frame,batched")
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--direct-seconds", type=float, default=1.0)
    parser.add_argument("--client-procs", type=int, help="camera processes (default: one for every 8 cameras, 2 to 16)")
    parser.add_argument("--server-src", help="serve with another checkout's python/src (a before-and-after; per-frame only before batches)")
    parser.add_argument("--only", choices=("model", "noop"), help="serve only the model, or only the model that does nothing")
    own = parser.parse_args()
    model = own.model or ("standin" if own.device is None else "resnet50" if own.device.startswith("cuda") else "tiny")
    device = own.device or "cpu"
    counts = [int(v) for v in own.cameras.split(",")]
    max_batch = min(own.max_batch, max(counts))  # a call never has more frames than cameras: no larger shapes to warm
    impls = own.impls.split(",")
    build_guard()
    shm_root = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    work = tempfile.mkdtemp(prefix="fs-g1-", dir=shm_root)
    shm_dir = os.path.join(work, "stores")
    os.makedirs(shm_dir, mode=0o700)
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    ceilings: dict[tuple[int, str], float] = {}
    frame_access = None
    try:
        for impl in impls:
            for served in [m for m in (model, "noop") if own.only is None or (m == "noop") == (own.only == "noop")]:
                socket_path = os.path.join(work, f"{served}-{impl}.sock")
                log(f"{impl} server, model {served} on {device if served != 'noop' else 'none'}")
                server = Server(served, device, impl == "per-frame", max_batch, socket_path, shm_dir, own.server_src)
                frame_access = server.listening.get("frame_access")
                try:
                    for cameras in counts:
                        procs = own.client_procs or min(16, max(2, -(-cameras // 8)))  # a camera's turn never waits long on its process's others
                        figures = run_cameras(server, cameras, socket_path, shm_dir, own.warmup, own.seconds, procs, f"{impl}_{served}_{cameras}")
                        log(
                            f"  {cameras} cameras: {figures['frames_per_s']} frames/s, batch p50 {figures['batch_size_p50']}, rtt p99 {figures['rtt_ms_p99']} ms, "
                            f"server CPU {figures['cpu_pct']} % ({figures['server_cpu_us_per_frame']} us a frame), calls {figures['call_busy_pct']} %, device {figures['device_busy_pct']} % of the time, gaps p50 {figures['device_gap_ms_p50']} p99 {figures['device_gap_ms_p99']} ms"
                        )
                        if served == "noop":
                            ceilings[(cameras, impl)] = figures["frames_per_s"]
                        else:
                            rows[(cameras, impl)] = figures
                finally:
                    server.stop()
        reached = sorted({1} | {int(r["batch_size_max"]) for r in rows.values() if r["batch_size_max"]} | {int(r["batch_size_p50"]) for r in rows.values() if r["batch_size_p50"]})
        log(f"{model} called directly at batch sizes {reached}")
        alone = direct(model, device, reached, own.direct_seconds, max_batch)
        for n, line in sorted(alone.items()):
            print(json.dumps({"workload": "G1", "impl": "direct", "model": model, "device": device if model not in ("standin", "noop") else None, "batch": n, **{k: v for k, v in line.items() if k != "batch"}}), flush=True)
        load = os.getloadavg()[0]
        for (cameras, impl), figures in rows.items():
            top = figures["batch_size_max"] or 1
            ceiling = max((line["frames_per_s"] for n, line in alone.items() if n <= top), default=None)
            extra = {
                k: figures[k]
                for k in (
                    "server_cpu_us_per_frame",
                    "inference_ms_p50",
                    "call_busy_pct",
                    "device_busy_pct",
                    "device_gap_ms_p50",
                    "device_gap_ms_p99",
                    "gpu_busy_pct",
                    "clients_cpu_pct",
                    "not_newest",
                    "errors",
                )
            }
            print(
                json.dumps(
                    {
                        "workload": "G1",
                        "impl": impl,
                        "cameras": cameras,
                        "model": model,
                        "device": device if model not in ("standin", "noop") else None,
                        "frames_per_s": figures["frames_per_s"],
                        "model_ceiling_per_s": ceiling,
                        "server_ceiling_per_s": ceilings.get((cameras, impl)),
                        "batch_size_p50": figures["batch_size_p50"],
                        "batch_size_p99": figures["batch_size_p99"],
                        "rtt_ms_p50": figures["rtt_ms_p50"],
                        "rtt_ms_p99": figures["rtt_ms_p99"],
                        "oldest_in_batch_ms_p99": figures["oldest_in_batch_ms_p99"],
                        "fairness": figures["fairness"],
                        "cpu_pct": figures["cpu_pct"],
                        **extra,
                        "seconds": own.seconds,
                        "frame_access": frame_access,
                        "load_1m": round(load, 2),
                    }
                ),
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
