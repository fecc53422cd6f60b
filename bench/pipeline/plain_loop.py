"""The careful loop: what a careful engineer writes instead of framesupplier (bench/README.md).

Python + OpenCV alone (Debian's python3-opencv, run with /usr/bin/python3), for P1, P2, P3 and D1:

- per camera a capture thread with its own cv2.VideoCapture (one decoder thread) on the media file, played
  at its own rate (the file's fps, on the thread's own clock) and looped, that grab()s every frame at its
  due time into a one-slot latest-frame mailbox: the frame's number and its capture time, which is its due
  time on the file's clock, or when its grab() began if the thread began it late: framesupplier's own stamp
  for a paced file (its due time, or when its decoding began when the decoder fell behind), so that both
  sides are measured the same way; `age_due_*` (age from the due time) and `behind_ms_*` (how late grabs
  began) say what lateness that stamp forgives. With `--light` (P1's light reader) it also retrieve()s (BGR)
  every frame into the mailbox.
- one model thread, the shared model (`--model-ms` of sleep per frame: an accelerator that frees the CPU
  while it works), that serves the cameras round-robin among those whose latest frame it has not served
  yet, taking each camera's newest frame at the moment it turns to it: it asks the camera's capture thread,
  which retrieve()s its newest grabbed frame at once (waking from its wait for the next due time, or right
  after the grab under way) and hands it over, unless the light reader already retrieved it. Only the
  capture thread touches its VideoCapture, so the model never waits on a lock a busy decoder holds. With
  `--max-fps F` a camera's frame is due to the model once 1/F has passed since the due time of the frame
  served before (less half a frame interval, so that a file's whole frames are not missed by a hair).
  With `--phases` every camera's clock starts at one instant plus its own phase within the frame interval, as
  independent cameras' clocks fall (the line's `frame_phases_ms` says them); without, each starts once its file is
  open.

Fair by construction (every camera with a fresh frame gets its turn), fresh by construction (the frame
served is the newest one grabbed). Age is capture to the model's result in hand, as
framesupplier's; `age_taken_*` is capture to the frame in the model thread's hand (retrieved), the hop
framesupplier calls `taken`; `age_chosen_*` is capture to the model thread turning to the camera (its wait
for the model, before the retrieve). CPU is this process's (every thread, the decoders' included) over the measured
window; RSS its own.

Prints one JSON line after `--warmup` + `--seconds`. With `--trace PATH` it also writes one JSON line per
frame served during the measured window (camera, frame number, due, capture, taken and done times on the
monotonic clock; the camera the turn's scan began at, when that scan began, when the frame served was in its
camera's mailbox, and the serves lost so far), so that a test can count them, and check the turns' order, on its
own. A frame served belongs to the window by its done time: both are read under one lock.
"""

import argparse
import json
import os
import resource
import sys
import threading
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--file", required=True)
parser.add_argument("--cameras", type=int, default=1)
parser.add_argument("--seconds", type=float, default=60.0)
parser.add_argument("--warmup", type=float, default=5.0)
parser.add_argument("--model-ms", type=float, default=20.0)
parser.add_argument("--max-fps", type=float, default=0.0, help="frames a second per camera to the model (0: no limit)")
parser.add_argument("--light", action="store_true", help="P1: a light reader retrieves every frame")
parser.add_argument("--workload", default="P2")
parser.add_argument("--decoder-threads", type=int, default=1)
parser.add_argument("--trace", default=None, help="a file for one JSON line per frame served while measuring")
parser.add_argument(
    "--phases",
    default=None,
    help="each camera's phase, ms after the first camera's frames, comma-separated (default: each clock starts once its file is open)",
)
args = parser.parse_args()
phases_ms = None if args.phases is None else [float(p) for p in args.phases.split(",")]
if phases_ms is not None and len(phases_ms) < args.cameras:
    parser.error(f"--phases gives {len(phases_ms)} phases for {args.cameras} cameras")
# One decoder thread per camera unless told otherwise, as framesupplier's rule when cameras outnumber cores: set
# before cv2 is imported, as OpenCV reads it when a capture opens.
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", f"threads;{args.decoder_threads}")

import cv2  # noqa: E402  (after the environment above)

cv2.setNumThreads(1)

stop = threading.Event()
measuring = threading.Event()
# Every mailbox's change wakes the model thread when it waits for a fresh frame.
fresh = threading.Condition()
# The window's start and end, and each frame's done time and its test of the window, are read under this lock: a
# frame counted in the window was done inside it.
window = threading.Lock()
errors = []
lost = [0]  # serves whose frame could not be retrieved, while measuring


class Camera:
    """One camera: its capture, and its one-slot mailbox (the newest frame grabbed, and its pixels if retrieved)."""

    def __init__(self, index):
        self.index = index
        self.cap = None  # touched by the capture thread alone
        self.want = threading.Event()  # the model wants the newest frame's pixels
        self.handed_over = threading.Event()
        self.handed = (-1, 0.0, 0.0, None)
        self.interval = 0.1
        # The newest frame grabbed, replaced whole (one assignment, atomic under the GIL): its number on this camera's
        # clock, its capture time, its due time, and its pixels if the light reader retrieved them (else None).
        self.mailbox = (-1, 0.0, 0.0, None)
        # The newest frame's number, and a time read after it was put in the mailbox (it was there by then).
        self.ready = (-1, 0.0)
        self.served_number = -1  # the newest frame the model served
        self.served_due = -1e9
        self.served = 0  # frames served while measuring
        self.light = 0  # frames the light reader retrieved while measuring
        self.behind_ms = []  # how late each grab() began after its frame's due time, while measuring
        self.start = None  # the due time of its first frame, on the monotonic clock


cameras = [Camera(i) for i in range(args.cameras)]


def open_capture():
    cap = cv2.VideoCapture(args.file, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise RuntimeError(f"cannot open {args.file}")
    return cap


def hand_over(cam):
    """The model wants this camera's newest frame: retrieve it (unless the light reader did) and hand it over."""
    cam.want.clear()
    number, captured, due, pixels = cam.mailbox
    if pixels is None and number >= 0:
        ok, pixels = cam.cap.retrieve()
        if not ok:
            pixels = None
    cam.handed = (number, captured, due, pixels)
    cam.handed_over.set()


def capture(cam):
    try:
        cam.cap = open_capture()
        cam.interval = 1.0 / (cam.cap.get(cv2.CAP_PROP_FPS) or 10.0)
        if phases_ms is None:
            start = time.monotonic()
        else:
            # With --phases, every clock starts at one instant, once every camera's file is open, plus its own phase.
            opened.wait()
            start = clocks_from + phases_ms[cam.index] / 1000.0
        cam.start = start
        n = 0
        while not stop.is_set():
            due = start + n * cam.interval
            while not stop.is_set():
                wait = due - time.monotonic()
                if wait <= 0:
                    break
                if cam.want.wait(wait):
                    hand_over(cam)
            began = time.monotonic()
            if not cam.cap.grab():
                cam.cap.release()  # the end of the file: loop it, as a camera never ends
                cam.cap = open_capture()
                continue
            pixels = None
            if args.light:
                ok, pixels = cam.cap.retrieve()
                if not ok:
                    pixels = None
                elif measuring.is_set():
                    cam.light += 1
            cam.mailbox = (n, max(due, began), due, pixels)
            cam.ready = (n, time.monotonic())
            if cam.want.is_set():
                hand_over(cam)
            if measuring.is_set():
                cam.behind_ms.append(max(0.0, began - due) * 1000.0)
            n += 1
            with fresh:
                fresh.notify()
        cam.cap.release()
    except threading.BrokenBarrierError:
        pass  # another camera could not open its file: its error is the run's
    except Exception as error:  # a thread's failure is the run's: said in the JSON, not lost
        errors.append(f"camera {cam.index}: {error}")
        opened.abort()  # cameras waiting for every file to open wait no more
        stop.set()
        with fresh:
            fresh.notify()


def due_to_model(cam):
    """The camera's newest frame is one the model has not served, and (with --max-fps) its turn has come."""
    number, _captured, due, _pixels = cam.mailbox
    if number <= cam.served_number:
        return False
    if args.max_fps > 0:
        return due >= cam.served_due + 1.0 / args.max_fps - cam.interval / 2
    return True


ages_ms = []
due_ms = []
taken_ms = []
chosen_ms = []  # capture to the model thread turning to the camera: the wait for the model, before the frame is retrieved
trace = []


def model_thread():
    """The shared model: round-robin among the cameras due to it, the newest frame of each."""
    cursor = 0
    try:
        while not stop.is_set():
            chosen = None
            scan_cursor = cursor
            with fresh:
                while chosen is None and not stop.is_set():
                    scanned = time.monotonic()  # before this pass reads a mailbox
                    for k in range(len(cameras)):
                        cam = cameras[(cursor + k) % len(cameras)]
                        if due_to_model(cam):
                            chosen = cam
                            break
                    if chosen is None:
                        fresh.wait(0.05)
            if chosen is None:
                break
            cursor = (chosen.index + 1) % len(cameras)
            chosen_at = time.monotonic()
            # The newest frame now (a grab may have come since the choice). Retrieved by the light reader already,
            # it is taken from the mailbox alone; else the capture thread retrieves it and hands it over.
            number, captured, due, pixels = chosen.mailbox
            if pixels is None:
                chosen.handed_over.clear()
                chosen.want.set()
                while not chosen.handed_over.wait(0.05):
                    if stop.is_set():
                        break
                number, captured, due, pixels = chosen.handed
            taken = time.monotonic()
            ready_number, ready_at = chosen.ready
            ready = ready_at if ready_number == number else None
            chosen.served_number = number
            chosen.served_due = due
            if pixels is None:
                if measuring.is_set():
                    lost[0] += 1
                continue
            time.sleep(args.model_ms / 1000.0)  # the model's work on `pixels`
            with window:
                done = time.monotonic()
                if not measuring.is_set():
                    continue
            ages_ms.append((done - captured) * 1000.0)
            due_ms.append((done - due) * 1000.0)
            taken_ms.append((taken - captured) * 1000.0)
            chosen_ms.append((chosen_at - captured) * 1000.0)
            chosen.served += 1
            if args.trace is not None:
                trace.append((chosen.index, number, due, captured, taken, done, scan_cursor, scanned, ready, lost[0]))
    except Exception as error:
        errors.append(f"model: {error}")
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


def pss_mb():
    """Proportional set size: shared pages (libraries mapped by other processes too) counted in part."""
    try:
        with open("/proc/self/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def percentile(sorted_values, p):
    """The nearest-rank percentile, as bench/stats.ts computes it."""
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, -(-len(sorted_values) * p // 100) - 1))
    return sorted_values[int(index)]


clocks_from = 0.0


def clocks_start():
    """Every camera's file is open (the barrier's last arrival): the cameras' clocks start now."""
    global clocks_from
    clocks_from = time.monotonic()


opened = threading.Barrier(len(cameras), action=clocks_start)
threads = [threading.Thread(target=capture, args=(cam,), daemon=True) for cam in cameras]
threads.append(threading.Thread(target=model_thread, daemon=True))
for thread in threads:
    thread.start()
stop.wait(args.warmup)
rss_start = rss_mb()
cpu_start = cpu_seconds()
with window:
    wall_start = time.monotonic()
    measuring.set()
stop.wait(args.seconds)
with window:
    measuring.clear()
    wall_end = time.monotonic()
wall = wall_end - wall_start
cpu = cpu_seconds() - cpu_start
rss_end = rss_mb()
pss_end = pss_mb()
stop.set()
with fresh:
    fresh.notify_all()
for thread in threads:
    thread.join(timeout=10)
ages = sorted(ages_ms)
ages_due = sorted(due_ms)
taken = sorted(taken_ms)
behind = sorted(ms for cam in cameras for ms in cam.behind_ms)
per_camera = [cam.served / wall for cam in cameras]
cpu_pct = cpu / wall * 100.0
rounded = lambda value, digits=1: None if value is None else round(value, digits)  # noqa: E731
line = {
    "workload": args.workload,
    "impl": "careful-loop-python-opencv",
    "cameras": args.cameras,
    "seconds": round(wall, 1),
    "model_ms": args.model_ms,
    "max_fps": args.max_fps or None,
    "cpu_pct": round(cpu_pct, 1),
    "cpu_pct_per_camera": round(cpu_pct / args.cameras, 2),
    "rss_mb_start": round(rss_start, 1),
    "rss_mb_end": round(rss_end, 1),
    "pss_mb_end": None if pss_end is None else round(pss_end, 1),
    "model_fps": round(sum(per_camera), 2),
    "camera_model_fps_min": round(min(per_camera), 2),
    "camera_model_fps_max": round(max(per_camera), 2),
    "fairness": round(min(per_camera) / max(per_camera), 3) if max(per_camera) > 0 else 0,
    "served": sum(cam.served for cam in cameras),
    "lost": lost[0],
    "age_ms_p50": rounded(percentile(ages, 50)),
    "age_ms_p99": rounded(percentile(ages, 99)),
    "age_taken_ms_p50": rounded(percentile(taken, 50)),
    "age_taken_ms_p99": rounded(percentile(taken, 99)),
    "age_chosen_ms_p50": rounded(percentile(sorted(chosen_ms), 50)),
    "age_chosen_ms_p99": rounded(percentile(sorted(chosen_ms), 99)),
    "age_due_ms_p50": rounded(percentile(ages_due, 50)),
    "age_due_ms_p99": rounded(percentile(ages_due, 99)),
    "behind_ms_p50": rounded(percentile(behind, 50)),
    "behind_ms_p99": rounded(percentile(behind, 99)),
    # Each camera's phase as its clock has it, ms after the first camera's frames, within the first's frame interval.
    "frame_phases_ms": [
        None if cam.start is None or cameras[0].start is None else round(((cam.start - cameras[0].start) % cameras[0].interval) * 1000.0, 1)
        for cam in cameras
    ],
    "measured_from": wall_start,
    "measured_to": wall_end,
    "opencv": cv2.__version__,
    "errors": errors,
}
if args.light:
    line["light_delivered"] = sum(cam.light for cam in cameras)
if args.trace is not None:
    with open(args.trace, "w") as out:
        for index, number, due, captured, taken_at, done, scan_cursor, scanned, ready, lost_so_far in trace:
            served = {"camera": index, "frame": number, "due": due, "captured": captured, "taken": taken_at, "done": done}
            turn = {"cursor": scan_cursor, "scanned": scanned, "ready": ready, "lost": lost_so_far}
            out.write(json.dumps({**served, **turn}) + "\n")
print(json.dumps(line), flush=True)
sys.exit(1 if errors else 0)
