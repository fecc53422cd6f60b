"""The loop a user would write instead of framesupplier, for P1 and P2 (../shared/bench/WORKLOADS.md).

Written as a careful engineer would with OpenCV alone (Debian's python3-opencv, /usr/bin/python3):
per camera a thread with its own cv2.VideoCapture on the media file, played at its own rate (the
file's fps) and looped; grab() every frame (decodes it), retrieve() (converts it) only the frames a
reader takes; one simulated model shared by every camera (a lock: one frame at a time, `--model-ms`
of sleep, as an accelerator that frees the CPU while it works).

P2 (`--max-fps 2`): a camera's frame goes to the model once 1/max-fps has passed since the frame it
last sent was captured; the thread waits for the lock (the model is the slow part, its turn comes).
P1 (no --max-fps): a light reader takes every frame (retrieve() each one), and a frame goes to the
model when the model is free at that moment (a non-blocking try): the latest-frame rule by hand.

A frame's capture time is when it would have come out of a live camera's decoder: its due time on
the file's clock plus the time grab() took. A thread that fell behind (held by the model) grabs late
frames in a hurry, and they count as old as they are, not as new.

Prints one JSON line (P1/P2's fields, impl "python-opencv") after `--warmup` + `--seconds`.
CPU is this process's (every thread, the decoders' included) over the measured window.
"""

import argparse
import json
import os
import resource
import sys
import threading
import time

# One decoder thread per camera unless told otherwise, as framesupplier's rule when cameras outnumber
# cores: set before cv2 is imported, as OpenCV reads it when a capture opens.
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--file", required=True)
parser.add_argument("--cameras", type=int, default=1)
parser.add_argument("--seconds", type=float, default=60.0)
parser.add_argument("--warmup", type=float, default=5.0)
parser.add_argument("--model-ms", type=float, default=20.0)
parser.add_argument("--max-fps", type=float, default=0.0, help="P2: frames a second per camera to the model (0: P1)")
parser.add_argument("--light", action="store_true", help="P1: a light reader retrieves every frame")
parser.add_argument("--workload", default="P2")
parser.add_argument("--decoder-threads", type=int, default=1)
args = parser.parse_args()
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", f"threads;{args.decoder_threads}")

import cv2  # noqa: E402  (after the environment above)

cv2.setNumThreads(1)

model_lock = threading.Lock()
stats_lock = threading.Lock()
stop = threading.Event()
measuring = threading.Event()
ages_ms = []
served = [0] * args.cameras
light_frames = [0]
errors = []


def model(frame):
    """The shared simulated accelerator: one frame at a time, the CPU free while it works."""
    time.sleep(args.model_ms / 1000.0)


def camera(index):
    try:
        cap = cv2.VideoCapture(args.file, cv2.CAP_FFMPEG)
        if not cap.isOpened():
            raise RuntimeError(f"cannot open {args.file}")
        fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
        interval = 1.0 / fps
        gap = 1.0 / args.max_fps if args.max_fps > 0 else 0.0
        start = time.monotonic()
        n = 0
        last_sent = -1e9
        while not stop.is_set():
            due = start + n * interval
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            began = time.monotonic()
            if not cap.grab():
                cap.release()  # the end of the file: loop it, as a camera never ends
                cap = cv2.VideoCapture(args.file, cv2.CAP_FFMPEG)
                continue
            captured = due + (time.monotonic() - began)
            n += 1
            if args.light:
                ok, frame = cap.retrieve()
                if ok and measuring.is_set():
                    with stats_lock:
                        light_frames[0] += 1
            else:
                frame = None
            if gap > 0:
                if captured - last_sent < gap * 0.95:
                    continue
                if frame is None:
                    ok, frame = cap.retrieve()
                    if not ok:
                        continue
                last_sent = captured
                with model_lock:
                    model(frame)
            else:
                if not model_lock.acquire(blocking=False):
                    continue
                try:
                    if frame is None:
                        ok, frame = cap.retrieve()
                    if ok:
                        model(frame)
                finally:
                    model_lock.release()
            done = time.monotonic()
            if measuring.is_set():
                with stats_lock:
                    ages_ms.append((done - captured) * 1000.0)
                    served[index] += 1
        cap.release()
    except Exception as error:  # a thread's failure is the run's: said in the JSON, not lost
        errors.append(f"camera {index}: {error}")
        stop.set()


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, -(-len(sorted_values) * p // 100) - 1))
    return sorted_values[int(index)]


threads = [threading.Thread(target=camera, args=(i,), daemon=True) for i in range(args.cameras)]
for thread in threads:
    thread.start()
stop.wait(args.warmup)
rss_start = rss_mb()
cpu_start = cpu_seconds()
wall_start = time.monotonic()
measuring.set()
stop.wait(args.seconds)
measuring.clear()
wall = time.monotonic() - wall_start
cpu = cpu_seconds() - cpu_start
rss_end = rss_mb()
stop.set()
for thread in threads:
    thread.join(timeout=10)
with stats_lock:
    ages = sorted(ages_ms)
    per_camera = [count / wall for count in served]
cpu_pct = cpu / wall * 100.0
line = {
    "workload": args.workload,
    "impl": "python-opencv",
    "cameras": args.cameras,
    "seconds": round(wall, 1),
    "cpu_pct": round(cpu_pct, 1),
    "cpu_pct_per_camera": round(cpu_pct / args.cameras, 2),
    "rss_mb_start": round(rss_start, 1),
    "rss_mb_end": round(rss_end, 1),
    "model_fps": round(sum(per_camera), 2),
    "camera_model_fps_min": round(min(per_camera), 2),
    "camera_model_fps_max": round(max(per_camera), 2),
    "fairness": round(min(per_camera) / max(per_camera), 3) if max(per_camera) > 0 else 0,
    "age_ms_p50": None if not ages else round(percentile(ages, 50), 1),
    "age_ms_p99": None if not ages else round(percentile(ages, 99), 1),
    "opencv": cv2.__version__,
    "errors": errors,
}
if args.light:
    line["light_delivered"] = light_frames[0]
print(json.dumps(line), flush=True)
sys.exit(1 if errors else 0)
