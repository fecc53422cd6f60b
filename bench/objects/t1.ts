/**
 * T1 (issue 26): the tracker's cost per frame at 10, 50 and 200 objects, and
 * the event store's writes per second and size on disk under retention.
 *
 * Tracker: N objects of one label (the worst case: every pair is a
 * candidate) moving at constant velocity and bouncing off the frame's edges,
 * detected with boxes jittered by 2 % of their size and 10 % missed, at 10
 * frames a second of capture time with a fifth of the frames dropped, 3 000
 * frames after 200 of warm-up; the cost of CameraObjects.update() (masks,
 * tracker, zones: two zones, events), per frame, on this one thread.
 */
import { CameraObjects, type Box, type Detection } from '../../src/objects/index.js';
import { emit, log, percentile, round, sortedCopy } from '../stats.js';

interface Mover {
  cx: number;
  cy: number;
  vx: number;
  vy: number;
  readonly w: number;
  readonly h: number;
}

/** A deterministic generator, so runs compare. */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

async function trackerCost(objects: number): Promise<void> {
  const random = xorshift(objects * 7919);
  const movers: Mover[] = Array.from({ length: objects }, () => ({
    cx: 0.05 + 0.9 * random(),
    cy: 0.05 + 0.9 * random(),
    vx: (random() - 0.5) * 0.2,
    vy: (random() - 0.5) * 0.2,
    w: 0.02 + 0.04 * random(),
    h: 0.04 + 0.06 * random(),
  }));
  const camera = new CameraObjects({
    camera: 'bench',
    worker: 'det',
    zones: [
      { name: 'left', polygon: [[0, 0.2], [0.5, 0.2], [0.5, 1], [0, 1]], loiterSeconds: 5 },
      { name: 'right', polygon: [[0.5, 0.2], [1, 0.2], [1, 1], [0.5, 1]], labels: ['thing'], minArea: 0.001 },
    ],
  });
  const WARMUP = 200;
  const FRAMES = 3000;
  const costs: number[] = [];
  let events = 0;
  let t = 0;
  for (let frame = 0; frame < WARMUP + FRAMES; frame++) {
    t += 100;
    for (const m of movers) {
      m.cx += m.vx * 0.1;
      m.cy += m.vy * 0.1;
      if (m.cx < 0.03 || m.cx > 0.97) m.vx = -m.vx;
      if (m.cy < 0.05 || m.cy > 0.95) m.vy = -m.vy;
    }
    if (random() < 0.2) continue; // dropped: the tracker never sees it
    const dets: Detection[] = [];
    for (const m of movers) {
      if (random() < 0.1) continue;
      const j = (): number => (random() * 2 - 1) * 0.02;
      const box: Box = [m.cx - m.w / 2 + j() * m.w, m.cy - m.h / 2 + j() * m.h, m.cx + m.w / 2 + j() * m.w, m.cy + m.h / 2 + j() * m.h];
      dets.push({ label: 'thing', score: 0.5 + 0.5 * random(), box });
    }
    const start = process.hrtime.bigint();
    const out = camera.update({ time: t, wallTime: 1_700_000_000_000 + t, detections: dets });
    const cost = Number(process.hrtime.bigint() - start) / 1e6;
    if (frame >= WARMUP) {
      costs.push(cost);
      events += out.events.length;
    }
  }
  const sorted = sortedCopy(costs);
  const mean = costs.reduce((a, b) => a + b, 0) / costs.length;
  emit({
    workload: 'T1',
    impl: 'framesupplier',
    part: 'tracker',
    objects,
    frames: costs.length,
    frame_ms_p50: round(percentile(sorted, 50), 4),
    frame_ms_p99: round(percentile(sorted, 99), 4),
    frame_ms_mean: round(mean, 4),
    tracks_alive: camera.tracker.active().length,
    events,
  });
}

export async function t1(): Promise<void> {
  for (const objects of [10, 50, 200]) {
    log(`T1 tracker at ${objects} objects`);
    await trackerCost(objects);
  }
}
