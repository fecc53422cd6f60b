"""The careful motion-gated loop for P4, "a quiet home" (bench/README.md): what a careful engineer
writes instead of framesupplier, the way Frigate does it, in Python + OpenCV (Debian's python3-opencv, run with
/usr/bin/python3).

Per camera a thread with its own cv2.VideoCapture on the camera's substream (640x360, the stream Frigate users
detect on), played at its own rate and looped, that reads every frame (its capture time is its due time on the
file's clock, or when its read began if late) and on each:
- measures motion as Frigate's ImprovedMotionDetector (frigate/motion/improved_motion.py): the frame downscaled
  to 100 px high, contrast stretched between running 4th/96th percentiles, the mask (the camera's on-screen
  clock) zeroed, a 3x3 Gaussian blur, the absolute difference against a running average background
  (cv2.accumulateWeighted, alpha 0.01, 0.2 while calibrating), threshold 30, one dilation, external contours,
  those over 10 px as motion boxes; more than 80 % of the picture changed (lights switched on) is not motion:
  the detector recalibrates and its boxes are not used;
- makes regions as Frigate's detect loop does (frigate/video/detect.py, frigate/util/object.py): boxes of the
  tracked objects that are not stationary, clustered into square regions of at least the model's input (320 px,
  1.35 x the cluster), then the motion boxes not inside those regions, clustered the same way; the first frame
  scans the whole picture; an object whose box has not moved for 10 s is stationary and left out, except every
  10 s when every tracked object is checked (Frigate's defaults: threshold and interval of 10 s of frames);
- hands the frame and its regions to the detector when it has regions and the camera's detection is due
  (--max-fps: 1/F since the capture of the last frame it detected on, less half a frame interval), replacing a
  job not yet taken (the newest frame wins: latency over completeness).
One detector thread, shared by the cameras round-robin (Frigate's detector process), runs the model once per
region: it crops the region, finds the dark object in it (luma < 70, outside the clock) and burns CPU until the
call has used --model-ms (default 50) of its thread's CPU (cv2.GaussianBlur on the crop, which frees the GIL, as
an inference would). Boxes found in several regions are merged. A simple tracker (Frigate's rules in small):
a detection overlapping a track updates it, a track unmatched for 5 s of detections ends (its end is traced),
stationary tracks are kept as they are between checks.

Prints one JSON line after --warmup + --seconds. With --trace PATH it writes one JSON line per frame detected on
while measuring (camera, clip frame, capture time, when the detector took it, done time, model calls, whether the
object was found) and one per track end, so that the bench scores it against the clips' schedules as it scores
framesupplier, and a test recounts it.
"""

import argparse
import json
import resource
import sys
import threading
import time

import cv2
import numpy as np

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--files", required=True, help="the cameras' substream files, comma-separated, one per camera")
parser.add_argument("--seconds", type=float, default=120.0)
parser.add_argument("--warmup", type=float, default=5.0)
parser.add_argument("--max-fps", type=float, default=2.0)
parser.add_argument("--model-ms", type=float, default=50.0)
parser.add_argument("--model-size", type=int, default=320, help="the model's input: Frigate's least region")
parser.add_argument("--mask", default="0,0,0,0", help="x1,y1,x2,y2 in 0-1: the camera's clock, no motion there")
parser.add_argument("--stationary-s", type=float, default=10.0)
parser.add_argument("--disappeared-s", type=float, default=5.0)
parser.add_argument("--dark", type=int, default=70)
parser.add_argument("--trace", default=None)
args = parser.parse_args()

cv2.setNumThreads(1)
FILES = args.files.split(",")
MASK = [float(v) for v in args.mask.split(",")]
stop = threading.Event()
measuring = threading.Event()
jobs_ready = threading.Condition()
errors = []


# ---------------------------------------------------------------- Frigate's motion detector (improved_motion.py)
class Motion:
    def __init__(self, shape):
        self.frame_height = 100
        self.resize_factor = shape[0] / self.frame_height
        self.size = (self.frame_height, self.frame_height * shape[1] // shape[0])
        self.avg = np.zeros(self.size, np.float32)
        self.contrast = np.zeros((50, 2), np.uint8)
        self.contrast[:, 1:2] = 255
        self.contrast_index = 0
        self.calibrating = True
        self.motion_frame_count = 0
        mask = np.ones(self.size, np.uint8)
        h, w = self.size
        mask[int(MASK[1] * h) : int(np.ceil(MASK[3] * h)), int(MASK[0] * w) : int(np.ceil(MASK[2] * w))] = 0
        self.mask = np.where(mask == 0)

    def detect(self, gray):
        boxes = []
        resized = cv2.resize(gray, dsize=(self.size[1], self.size[0]), interpolation=cv2.INTER_NEAREST)
        lo = np.percentile(resized, 4).astype(np.uint8)
        hi = np.percentile(resized, 96).astype(np.uint8)
        if lo < hi:
            self.contrast[self.contrast_index] = [lo, hi]
            self.contrast_index = (self.contrast_index + 1) % len(self.contrast)
            avg_min, avg_max = np.mean(self.contrast, axis=0)
            resized = np.clip(resized, avg_min, avg_max)
            resized = (((resized - avg_min) / (avg_max - avg_min)) * 255).astype(np.uint8)
        resized[self.mask] = [0]
        resized = cv2.GaussianBlur(resized, (3, 3), 1)
        delta = cv2.absdiff(resized, cv2.convertScaleAbs(self.avg))
        thresh = cv2.threshold(delta, 30, 255, cv2.THRESH_BINARY)[1]
        dilated = cv2.dilate(thresh, None, iterations=1)
        contours, _ = cv2.findContours(dilated, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        total = 0.0
        for c in contours:
            contour_area = cv2.contourArea(c)
            total += contour_area
            if contour_area > 10:
                x, y, w, h = cv2.boundingRect(c)
                f = self.resize_factor
                boxes.append((int(x * f), int(y * f), int((x + w) * f), int((y + h) * f)))
        pct = total / (self.size[0] * self.size[1])
        if pct < 0.05 and len(boxes) <= 4:
            self.calibrating = False
        if self.calibrating or pct > 0.8:
            self.calibrating = True
        if boxes:
            self.motion_frame_count += 1
            if self.motion_frame_count >= 10:
                cv2.accumulateWeighted(resized, self.avg, 0.2 if self.calibrating else 0.01)
        else:
            cv2.accumulateWeighted(resized, self.avg, 0.2 if self.calibrating else 0.01)
            self.motion_frame_count = 0
        return boxes


# ---------------------------------------------------------------- Frigate's regions (util/object.py, util/image.py)
def area(b):
    return (b[2] - b[0]) * (b[3] - b[1])


def box_inside(b1, b2):
    return b2[0] >= b1[0] and b2[1] >= b1[1] and b2[2] <= b1[2] and b2[3] <= b1[3]


def box_overlaps(b1, b2):
    return not (b1[2] < b2[0] or b1[0] > b2[2] or b1[1] > b2[3] or b1[3] < b2[1])


def calculate_region(shape, xmin, ymin, xmax, ymax, model_size, multiplier=2):
    size = int((max(xmax - xmin, ymax - ymin) * multiplier) // 4 * 4)
    size = max(size, model_size)
    x = int((xmax - xmin) / 2.0 + xmin - size / 2.0)
    x = 0 if x < 0 else min(x, max(0, shape[1] - size))
    y = int((ymax - ymin) / 2.0 + ymin - size / 2.0)
    y = 0 if y < 0 else min(y, max(0, shape[0] - size))
    return (x, y, x + size, y + size)


def cluster_boundary(box, min_region):
    w = box[2] - box[0]
    h = box[3] - box[1]
    size = max(min_region, int(np.sqrt(abs(w * h) / 0.1)))
    cx, cy = w / 2 + box[0], h / 2 + box[1]
    dx, dy = int(size - w / 2 * 1.1), int(size - h / 2 * 1.1)
    return [int(cx - dx), int(cy - dy), int(cx + dx), int(cy + dy)]


def cluster_region(shape, min_region, cluster, boxes):
    xs = [boxes[b] for b in cluster]
    return calculate_region(
        shape, min(b[0] for b in xs), min(b[1] for b in xs), max(b[2] for b in xs), max(b[3] for b in xs), min_region, multiplier=1.35
    )


def cluster_candidates(shape, min_region, boxes):
    candidates = []
    used = set()
    for i, b in enumerate(boxes):
        if i in used:
            continue
        cluster = [i]
        used.add(i)
        boundary = cluster_boundary(b, min_region)
        for j, other in enumerate(boxes):
            if j in used or not box_inside(boundary, other):
                continue
            potential = cluster + [j]
            region = cluster_region(shape, min_region, potential, boxes)
            ok = True
            if region[2] - region[0] > min_region:
                ok = all(area(boxes[k]) / area(region) >= 0.05 for k in potential)
            if ok:
                cluster.append(j)
                used.add(j)
        candidates.append(cluster)
    return [list(c) for c in {tuple(sorted(c)) for c in candidates}]


def regions_of(shape, min_region, boxes):
    return [cluster_region(shape, min_region, c, boxes) for c in cluster_candidates(shape, min_region, boxes)]


def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0


# ---------------------------------------------------------------- cameras, tracker, detector
class Track:
    def __init__(self, box, at):
        self.box = box
        self.still_box = box
        self.still_since = at
        self.last_seen = at
        self.missed = 0


class Camera:
    def __init__(self, index, path):
        self.index = index
        self.path = path
        self.lock = threading.Lock()
        self.tracks = []
        self.job = None  # (gray, regions, captured, clip_frame)
        self.last_due = -1e9
        self.last_stationary_check = -1e9
        self.first = True
        self.interval = 0.1
        self.motion_cpu = 0.0
        self.motion_frames = 0
        self.frames = 0


cameras = [Camera(i, path) for i, path in enumerate(FILES)]
runs = []  # (camera, clip_frame, captured, taken, done, calls, found)
ends = []  # (camera, at)


def stationary(track, at):
    return at - track.still_since >= args.stationary_s and track.missed == 0


def camera_thread(cam):
    try:
        cap = cv2.VideoCapture(cam.path, cv2.CAP_FFMPEG)
        if not cap.isOpened():
            raise RuntimeError(f"cannot open {cam.path}")
        cam.interval = 1.0 / (cap.get(cv2.CAP_PROP_FPS) or 10.0)
        motion = None
        start = time.monotonic()
        n = 0  # frames on the camera's clock
        clip_frame = 0  # frames since the file was (re)opened: the clip's frame number
        while not stop.is_set():
            due = start + n * cam.interval
            wait = due - time.monotonic()
            if wait > 0 and stop.wait(wait):
                break
            began = time.monotonic()
            ok, frame = cap.read()
            if not ok:
                cap.release()  # the end of the file: loop it, as a camera never ends
                cap = cv2.VideoCapture(cam.path, cv2.CAP_FFMPEG)
                clip_frame = 0
                continue
            captured = max(due, began)
            t0 = time.thread_time()
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            if motion is None:
                motion = Motion(gray.shape)
            boxes = motion.detect(gray)
            if measuring.is_set():
                cam.motion_cpu += time.thread_time() - t0
                cam.motion_frames += 1
            shape = gray.shape
            with cam.lock:
                if captured - cam.last_stationary_check >= args.stationary_s:
                    cam.last_stationary_check = captured
                    still_ids = set()
                else:
                    motion_boxes = [] if motion.calibrating else boxes
                    still_ids = {
                        id(t) for t in cam.tracks if stationary(t, captured) and not any(box_overlaps(t.box, m) for m in motion_boxes)
                    }
                object_boxes = [t.box for t in cam.tracks if id(t) not in still_ids]
            regions = regions_of(shape, args.model_size, object_boxes)
            if not motion.calibrating:
                standalone = [b for b in boxes if not any(box_inside(r, b) for r in regions)]
                if standalone:
                    regions += regions_of(shape, args.model_size, standalone)
            if cam.first:
                regions.append((0, 0, shape[1], shape[0]))  # the startup scan: the whole picture once
                cam.first = False
            if regions and due >= cam.last_due + 1.0 / args.max_fps - cam.interval / 2:
                cam.last_due = due
                with jobs_ready:
                    cam.job = (gray, regions, captured, clip_frame, still_ids)
                    jobs_ready.notify()
            n += 1
            clip_frame += 1
        cap.release()
    except Exception as error:  # a thread's failure is the run's: said in the JSON, not lost
        errors.append(f"camera {cam.index}: {error!r}")
        stop.set()


def model(gray, region, osd):
    """One model call on a region: the dark object in it (frame coordinates), then CPU to --model-ms in all."""
    t0 = time.thread_time()
    h, w = gray.shape
    x1, y1, x2, y2 = max(0, region[0]), max(0, region[1]), min(w, region[2]), min(h, region[3])
    crop = gray[y1:y2, x1:x2]
    dark = (crop < args.dark).astype(np.uint8)
    ox1, oy1, ox2, oy2 = osd
    dark[max(0, oy1 - y1) : max(0, oy2 - y1), max(0, ox1 - x1) : max(0, ox2 - x1)] = 0
    found = None
    if cv2.countNonZero(dark) >= 20:
        bx, by, bw, bh = cv2.boundingRect(cv2.findNonZero(dark))
        found = (bx + x1, by + y1, bx + x1 + bw, by + y1 + bh)
    while time.thread_time() - t0 < args.model_ms / 1000.0:
        cv2.GaussianBlur(crop, (5, 5), 0)
    return found


def track_update(cam, detections, seeded, captured, done):
    """Frigate's rules in small: stationary tracks left out of the regions are seeded as detections (kept as they are)."""
    with cam.lock:
        for t in cam.tracks:
            match = next((d for d in detections if iou(t.box, d) > 0.1), None)
            if match is None and id(t) in seeded:
                t.last_seen = captured
            elif match is not None:
                detections.remove(match)
                t.box = match
                t.last_seen = captured
                t.missed = 0
                if iou(t.still_box, match) < 0.9:
                    t.still_box = match
                    t.still_since = captured
            else:
                t.missed += 1
        for t in [t for t in cam.tracks if captured - t.last_seen >= args.disappeared_s]:
            cam.tracks.remove(t)
            if measuring.is_set():
                ends.append((cam.index, done, t.last_seen))
        for d in detections:
            cam.tracks.append(Track(d, captured))


model_cpu = [0.0]
model_calls = [0]


def detector_thread():
    cursor = 0
    try:
        while not stop.is_set():
            with jobs_ready:
                chosen = None
                while chosen is None and not stop.is_set():
                    for k in range(len(cameras)):
                        cam = cameras[(cursor + k) % len(cameras)]
                        if cam.job is not None:
                            chosen = cam
                            break
                    if chosen is None:
                        jobs_ready.wait(0.05)
                if chosen is None:
                    break
                job, chosen.job = chosen.job, None
            cursor = (chosen.index + 1) % len(cameras)
            taken = time.monotonic()
            gray, regions, captured, clip_frame, seeded = job
            h, w = gray.shape
            osd = (int(MASK[0] * w), int(MASK[1] * h), int(np.ceil(MASK[2] * w)), int(np.ceil(MASK[3] * h)))
            t0 = time.thread_time()
            found = [b for b in (model(gray, r, osd) for r in regions) if b is not None]
            # The same object seen from several regions is one detection (Frigate's reduce_detections).
            merged = []
            for b in found:
                same = next((i for i, m in enumerate(merged) if iou(m, b) > 0.3), None)
                if same is None:
                    merged.append(b)
                else:
                    m = merged[same]
                    merged[same] = (min(m[0], b[0]), min(m[1], b[1]), max(m[2], b[2]), max(m[3], b[3]))
            done = time.monotonic()
            if measuring.is_set():
                model_cpu[0] += time.thread_time() - t0
                model_calls[0] += len(regions)
                runs.append((chosen.index, clip_frame, captured, taken, done, len(regions), len(merged) > 0))
            track_update(chosen, merged, seeded, captured, done)
    except Exception as error:
        errors.append(f"detector: {error!r}")
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


threads = [threading.Thread(target=camera_thread, args=(cam,), daemon=True) for cam in cameras]
threads.append(threading.Thread(target=detector_thread, daemon=True))
for thread in threads:
    thread.start()
stop.wait(args.warmup)
cpu_start = cpu_seconds()
wall_start = time.monotonic()
measuring.set()
stop.wait(args.seconds)
measuring.clear()
wall_end = time.monotonic()
wall = wall_end - wall_start
cpu = cpu_seconds() - cpu_start
rss_end = rss_mb()
stop.set()
with jobs_ready:
    jobs_ready.notify_all()
for thread in threads:
    thread.join(timeout=10)
hours = wall / 3600.0
n = len(cameras)
motion_frames = sum(cam.motion_frames for cam in cameras)
line = {
    "workload": "P4",
    "impl": "careful-loop-python-opencv",
    "cameras": n,
    "gated": True,
    "max_fps": args.max_fps,
    "model_ms": args.model_ms,
    "seconds": round(wall, 1),
    "cpu_pct": round(cpu / wall * 100.0, 1),
    "cpu_pct_per_camera": round(cpu / wall * 100.0 / n, 2),
    "model_runs": model_calls[0],
    "frames_detected": len(runs),
    "model_runs_per_camera_hour": round(model_calls[0] / n / hours),
    "model_cpu_s_per_camera_hour": round(model_cpu[0] / n / hours, 1),
    "rss_mb_end": round(rss_end, 1),
    "motion_ms_per_frame": round(sum(cam.motion_cpu for cam in cameras) / motion_frames * 1000.0, 3) if motion_frames else None,
    "measured_from": wall_start,
    "measured_to": wall_end,
    "opencv": cv2.__version__,
    "errors": errors,
}
if args.trace is not None:
    with open(args.trace, "w") as out:
        for camera, clip_frame, captured, taken, done, calls, found in runs:
            row = {"camera": camera, "frame": clip_frame, "captured": captured, "taken": taken, "done": done, "calls": calls, "found": found}
            out.write(json.dumps(row) + "\n")
        for camera, at, last_seen in ends:
            out.write(json.dumps({"camera": camera, "end": at, "last_seen": last_seen}) + "\n")
print(json.dumps(line), flush=True)
sys.exit(1 if errors else 0)
