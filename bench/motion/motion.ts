/**
 * MOTION (issue 44): what the motion detector costs per frame on a 640×360
 * luma plane, the size of a camera's substream, at its default working
 * width. The frames are OpenCV's pedestrian clip scaled to 640×360 by ffmpeg
 * (people walking on most frames: the busy case, regions found and merged on
 * nearly every frame), and the same clip's first frame repeated (the still
 * case); then the busy clip at 320×180, the luma a camera's motion reads
 * (src/pipeline/camera/camera-motion.ts), for information. Each frame is timed
 * alone (performance.now) and the whole run by the process's CPU time;
 * 2 000 frames after 100 of warm-up. The budget is 0.3 ms a frame at 10 fps
 * for the 640×360 input. Each case runs twice: with the detector's passes in C
 * (the framesupplier_shm addon, as shipped: `passes: "c"`) and in JavaScript
 * (where the addon does not load: `passes: "javascript"`), the same answers
 * (test/motion/reference.test.ts), so the lines say what the C saves.
 */
import { spawnSync } from 'node:child_process';
import { findSampleMedia } from '../../src/capture/sample-media.js';
import { MotionDetector } from '../../src/motion/index.js';
import { emit, log, percentile, round, sortedCopy } from '../stats.js';

const WIDTH = 640;
const HEIGHT = 360;

function frames(clip: string, width = WIDTH, height = HEIGHT): Uint8Array[] {
  const dec = spawnSync(
    'ffmpeg',
    ['-v', 'error', '-i', clip, '-frames:v', '200', '-vf', `scale=${width}:${height}`, '-f', 'rawvideo', '-pix_fmt', 'gray', '-'],
    { maxBuffer: 1 << 28 },
  );
  if (dec.status !== 0) throw new Error(`ffmpeg could not decode ${clip}: ${dec.stderr.toString()}`);
  const out: Uint8Array[] = [];
  for (let o = 0; o + width * height <= dec.stdout.length; o += width * height) out.push(new Uint8Array(dec.stdout.subarray(o, o + width * height)));
  return out;
}

function measure(name: string, clip: readonly Uint8Array[], width = WIDTH, height = HEIGHT): void {
  for (const native of [true, false]) measureWith(native, name, clip, width, height);
}

function measureWith(native: boolean, name: string, clip: readonly Uint8Array[], width: number, height: number): void {
  const detector = new MotionDetector({ native });
  if (native && !detector.native) log('MOTION: the C passes do not load here; both lines are the JavaScript passes');
  const warm = 100;
  const count = 2_000;
  for (let i = 0; i < warm; i++) detector.detect({ luma: clip[i % clip.length]!, width, height });
  const times = new Float64Array(count);
  let moving = 0;
  let regions = 0;
  const cpu = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const luma = clip[(warm + i) % clip.length]!;
    const t = performance.now();
    const r = detector.detect({ luma, width, height });
    times[i] = performance.now() - t;
    if (r.state === 'motion') moving++;
    regions += r.regions.length;
  }
  const used = process.cpuUsage(cpu);
  const sorted = sortedCopy(times);
  const cpuMs = (used.user + used.system) / 1000 / count;
  emit({
    workload: 'MOTION',
    case: name,
    input: `${width}x${height}`,
    passes: detector.native ? 'c' : 'javascript',
    frames: count,
    motion_frames_share: round(moving / count),
    regions_per_frame: round(regions / count),
    ms_per_frame_p50: round(percentile(sorted, 50), 4),
    ms_per_frame_p99: round(percentile(sorted, 99), 4),
    cpu_ms_per_frame: round(cpuMs, 4),
    cpu_pct_of_core_at_10fps: round(cpuMs, 4),
    budget_ms: width === WIDTH && height === HEIGHT ? 0.3 : null,
  });
}

export function motion(): Promise<void> {
  const clip = findSampleMedia();
  if (clip === null) throw new Error('MOTION needs the sample clip (Debian opencv-doc vtest.avi)');
  log(`MOTION: ${clip} at ${WIDTH}x${HEIGHT}`);
  const busy = frames(clip);
  measure('people walking', busy);
  // The still case: one frame with a little sensor noise on it, so the detector has something to reject.
  let s = 1;
  const still = Array.from({ length: 50 }, () => busy[0]!.map((v) => Math.max(0, Math.min(255, v + (((s = (s * 1103515245 + 12345) >>> 0) >>> 29) - 4)))));
  measure('still, noisy', still);
  measure("people walking, the camera's luma", frames(clip, WIDTH / 2, HEIGHT / 2), WIDTH / 2, HEIGHT / 2);
  return Promise.resolve();
}
