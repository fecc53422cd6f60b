/**
 * T2 (issue 36): what lines and dwell cost per tracked object per frame, at
 * 50 and 200 objects.
 *
 * N objects of one label moving at constant velocity and bouncing off the
 * frame's edges (T1's movers), at 10 frames a second of capture time with a
 * fifth of the frames dropped, 3 000 frames after 200 of warm-up. Each
 * object's bottom centre goes through LineCrossings.observe() against three
 * lines (two straight, one polyline of 4 points: every object is tested
 * against every line) and its ZonePresence through observe() and reached()
 * against two zones with two dwellSeconds each: exactly what
 * CameraObjects.update() adds per confirmed object when a camera has lines
 * and dwell. Timed per frame over all objects, divided by the objects.
 */
import { bottomCentre, Line, LineCrossings, Zone, ZonePresence, type Box } from '../../src/objects/index.js';
import { emit, log, percentile, round, sortedCopy } from '../stats.js';

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

function cost(objects: number): void {
  const random = xorshift(objects * 104_729);
  const movers = Array.from({ length: objects }, () => ({
    cx: 0.05 + 0.9 * random(),
    cy: 0.05 + 0.9 * random(),
    vx: (random() - 0.5) * 0.4,
    vy: (random() - 0.5) * 0.4,
    w: 0.02 + 0.04 * random(),
    h: 0.04 + 0.06 * random(),
    lines: new LineCrossings(),
    zones: new ZonePresence(),
  }));
  const lines = [
    new Line({
      name: 'door',
      points: [
        [0.5, 0],
        [0.5, 1],
      ],
    }),
    new Line({
      name: 'road',
      points: [
        [0, 0.5],
        [1, 0.5],
      ],
      in: 'left',
    }),
    new Line({
      name: 'fence',
      points: [
        [0, 0.2],
        [0.3, 0.35],
        [0.7, 0.3],
        [1, 0.25],
      ],
      labels: ['thing'],
    }),
  ];
  const zones = [
    new Zone({
      name: 'left',
      polygon: [
        [0, 0.2],
        [0.5, 0.2],
        [0.5, 1],
        [0, 1],
      ],
      dwellSeconds: [1, 5],
    }),
    new Zone({
      name: 'right',
      polygon: [
        [0.5, 0.2],
        [1, 0.2],
        [1, 1],
        [0.5, 1],
      ],
      dwellSeconds: [2, 10],
    }),
  ];
  const WARMUP = 200;
  const FRAMES = 3000;
  const perObjectUs: number[] = [];
  let crossings = 0;
  let dwells = 0;
  let t = 0;
  for (let frame = 0; frame < WARMUP + FRAMES; frame++) {
    t += 100;
    for (const m of movers) {
      m.cx += m.vx * 0.1;
      m.cy += m.vy * 0.1;
      if (m.cx < 0.03 || m.cx > 0.97) m.vx = -m.vx;
      if (m.cy < 0.05 || m.cy > 0.95) m.vy = -m.vy;
    }
    if (random() < 0.2) continue;
    const boxes: Box[] = movers.map((m) => [m.cx - m.w / 2, m.cy - m.h / 2, m.cx + m.w / 2, m.cy + m.h / 2]);
    let found = 0;
    let reached = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < movers.length; i++) {
      const m = movers[i]!;
      const box = boxes[i]!;
      found += m.lines.observe(lines, 'thing', bottomCentre(box), t).length;
      m.zones.observe(zones, 'thing', 0.9, box, t);
      reached += m.zones.reached(zones, t).length;
    }
    const us = Number(process.hrtime.bigint() - start) / 1e3;
    if (frame >= WARMUP) {
      perObjectUs.push(us / objects);
      crossings += found;
      dwells += reached;
    }
  }
  const sorted = sortedCopy(perObjectUs);
  emit({
    workload: 'T2',
    impl: 'framesupplier',
    part: 'lines+dwell',
    objects,
    frames: perObjectUs.length,
    object_us_p50: round(percentile(sorted, 50), 3),
    object_us_mean: round(perObjectUs.reduce((a, b) => a + b, 0) / perObjectUs.length, 3),
    object_us_p99: round(percentile(sorted, 99), 3),
    frame_ms_mean: round(((perObjectUs.reduce((a, b) => a + b, 0) / perObjectUs.length) * objects) / 1000, 4),
    crossings,
    dwells,
  });
}

export async function t2(): Promise<void> {
  for (const objects of [50, 200]) {
    log(`T2 lines and dwell at ${objects} objects`);
    cost(objects);
  }
  await Promise.resolve();
}
