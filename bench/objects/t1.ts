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
 *
 * Store: an hour of 8 cameras on a simulated clock, 20 objects a minute per
 * camera, each with a new, 10 updates, an end and one 10 KiB snapshot, into
 * a real SQLite file with retention on (maxSizeMb 20, pruned every simulated
 * minute); writes per second is rows recorded per second of wall time (the
 * snapshots' file writes not counted), size is the store's after the hour.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CameraObjects, EventStore, eventId, type Box, type Detection, type TrackedObject } from '../../src/objects/index.js';
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
      {
        name: 'left',
        polygon: [
          [0, 0.2],
          [0.5, 0.2],
          [0.5, 1],
          [0, 1],
        ],
        loiterSeconds: 5,
      },
      {
        name: 'right',
        polygon: [
          [0.5, 0.2],
          [1, 0.2],
          [1, 1],
          [0.5, 1],
        ],
        labels: ['thing'],
        minArea: 0.001,
      },
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

async function storeWrites(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fs-t1-'));
  const MAX_MB = 20;
  let now = 1_700_000_000_000;
  const store = new EventStore({ database: join(dir, 'events.db'), maxSizeMb: MAX_MB, now: () => now, pruneEveryMs: 3_600_000 });
  await store.start();
  const CAMERAS = 8;
  const PER_MINUTE = 20;
  const snapshot = Buffer.alloc(10 * 1024, 0x55);
  let writes = 0;
  let writeNs = 0n;
  let pruneMs = 0;
  const record = (after: TrackedObject, type: 'new' | 'update' | 'end'): void => {
    const start = process.hrtime.bigint();
    store.record({ type, before: after, after });
    writeNs += process.hrtime.bigint() - start;
    writes++;
  };
  for (let minute = 0; minute < 60; minute++) {
    for (let camera = 0; camera < CAMERAS; camera++) {
      for (let k = 0; k < PER_MINUTE; k++) {
        const start = now / 1000 + k * 3;
        const id = eventId(start);
        const base: TrackedObject = {
          id,
          camera: `cam${camera}`,
          label: k % 3 === 0 ? 'car' : 'person',
          score: 0.7,
          top_score: 0.7,
          box: [0.1, 0.2, 0.3, 0.6],
          frame_time: start,
          current_zones: [],
          zone_time: {},
          snapshot: null,
          entered_zones: k % 2 === 0 ? ['driveway'] : [],
          start_time: start,
          end_time: null,
          has_snapshot: false,
          stationary: false,
          frame_age_ms: 40,
          worker: 'det',
          loitering_zones: [],
          velocity: [0.01, 0],
        };
        record(base, 'new');
        for (let u = 0; u < 10; u++) record({ ...base, frame_time: start + u, score: 0.7 + u / 50, top_score: 0.7 + u / 50 }, 'update');
        await store.saveSnapshot(id, snapshot);
        record({ ...base, frame_time: start + 12, end_time: start + 12, has_snapshot: true }, 'end');
      }
    }
    now += 60_000;
    const start = performance.now();
    await store.prune();
    pruneMs += performance.now() - start;
  }
  const bytes = await store.sizeBytes();
  emit({
    workload: 'T1',
    impl: 'framesupplier',
    part: 'store',
    writes,
    writes_per_s: Math.round(writes / (Number(writeNs) / 1e9)),
    events_kept: store.count(),
    size_mb: round(bytes / 1024 / 1024, 2),
    max_size_mb: MAX_MB,
    prune_ms_mean: round(pruneMs / 60, 2),
  });
  await store.close();
  await rm(dir, { recursive: true, force: true });
}

export async function t1(): Promise<void> {
  for (const objects of [10, 50, 200]) {
    log(`T1 tracker at ${objects} objects`);
    await trackerCost(objects);
  }
  log('T1 event store, an hour of 8 cameras');
  await storeWrites();
}
