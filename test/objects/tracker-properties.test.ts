/**
 * The tracker's promise, as properties: objects moving at constant velocity on
 * known paths, seen at jittered capture times with any pattern of dropped
 * frames (gaps shorter than the ended-track timeout), keep one id each, with
 * zero id switches, whether their paths stay apart or cross; and with
 * detections missed at random (up to 20 %) and boxes jittered, the id
 * switches stay under the bound stated below; and objects that cross with
 * one hidden behind the other (seen in part, then not at all, for up to 1 s)
 * keep their ids.
 *
 * The one precondition (the ADR says why): each object is detected at least
 * twice before its path first meets another's, since its velocity comes from
 * its first two sightings; here the first three frames are always kept and
 * objects meet no earlier than 1.5 s in.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Tracker, iou, type Box, type Detection } from '../../src/objects/index.js';

const T = 4; // seconds of video
const FPS = 10;
const END_AFTER = 2; // seconds: the tracker's default
/** Id switches per object allowed with misses and jitter (see the test). */
const BOUND = 0.05;

interface Path {
  readonly label: string;
  readonly w: number;
  readonly h: number;
  /** Centre at time 0 and velocity (frame sizes per second). */
  readonly x0: number;
  readonly y0: number;
  readonly vx: number;
  readonly vy: number;
}

const boxAt = (p: Path, t: number): Box => {
  const cx = p.x0 + p.vx * t;
  const cy = p.y0 + p.vy * t;
  return [cx - p.w / 2, cy - p.h / 2, cx + p.w / 2, cy + p.h / 2];
};

/**
 * One lane: a single object, or a pair of the same label that meet at time
 * tc at (xm, ym) coming from opposite sides. Lanes are bands of the frame
 * height, so objects of different lanes never overlap.
 */
const lane = (index: number, lanes: number): fc.Arbitrary<Path[]> => {
  const band = 1 / lanes;
  const yc = band * (index + 0.5);
  const size = fc.record({ w: fc.double({ min: 0.04, max: 0.1, noNaN: true }), h: fc.double({ min: 0.04, max: Math.min(0.12, band * 0.4), noNaN: true }) });
  const single = fc
    .record({
      size,
      x0: fc.double({ min: 0.1, max: 0.9, noNaN: true }),
      speed: fc.double({ min: 0, max: 0.18, noNaN: true }),
      dir: fc.boolean(),
      vy: fc.double({ min: -0.01, max: 0.01, noNaN: true }),
    })
    .map(({ size, x0, speed, dir, vy }) => {
      // keep it in the frame for the whole run: head for the side with room
      const room = dir ? 0.95 - x0 : x0 - 0.05;
      const vx = (dir ? 1 : -1) * Math.min(speed, Math.max(0, room - size.w / 2) / T);
      return [{ label: 'thing', ...size, x0, y0: yc, vx, vy }];
    });
  const crossing = fc
    .record({
      size,
      tc: fc.double({ min: 1.5, max: 2.5, noNaN: true }),
      xm: fc.double({ min: 0.45, max: 0.55, noNaN: true }),
      va: fc.double({ min: 0.06, max: 0.1, noNaN: true }),
      vb: fc.double({ min: 0.06, max: 0.1, noNaN: true }),
      vya: fc.double({ min: -0.01, max: 0.01, noNaN: true }),
      vyb: fc.double({ min: -0.01, max: 0.01, noNaN: true }),
    })
    .map(({ size, tc, xm, va, vb, vya, vyb }) => [
      { label: 'thing', ...size, x0: xm - va * tc, y0: yc - vya * tc, vx: va, vy: vya },
      { label: 'thing', ...size, x0: xm + vb * tc, y0: yc - vyb * tc, vx: -vb, vy: vyb },
    ]);
  return fc.oneof(single, crossing);
};

const scene = fc.integer({ min: 1, max: 3 }).chain((lanes) => fc.tuple(...Array.from({ length: lanes }, (_, i) => lane(i, lanes))).map((ls) => ls.flat()));

/** Capture times (ms): frames at FPS, each jittered by up to ±40 % of the interval, some dropped; the first three kept; no gap reaches END_AFTER. */
const times = fc
  .record({
    jitter: fc.array(fc.double({ min: -0.4, max: 0.4, noNaN: true }), { minLength: T * FPS, maxLength: T * FPS }),
    keep: fc.array(fc.boolean(), { minLength: T * FPS, maxLength: T * FPS }),
    base: fc.integer({ min: 0, max: 1e9 }),
  })
  .map(({ jitter, keep, base }) => {
    const interval = 1000 / FPS;
    const out: number[] = [];
    let last = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < T * FPS; i++) {
      const t = i * interval + jitter[i]! * interval;
      // the next frame would be too late: keep this one
      const forced = i < 3 || t + 1.5 * interval - last >= END_AFTER * 1000;
      if (keep[i] === true || forced) {
        out.push(t);
        last = t;
      }
    }
    return { base, times: out };
  });

interface Outcome {
  /** Object index → the distinct confirmed ids it was reported under. */
  readonly idsOf: Map<number, Set<string>>;
  /** Confirmed id → the objects it was reported for. */
  readonly objectsOf: Map<string, Set<number>>;
  /** Changes of id from one sighting of an object to the next. */
  readonly switches: number;
}

/**
 * Runs the tracker over a scene. A sighting is not counted while the object's
 * true box overlaps another's by more than `ambiguous` IoU: there the two are
 * one to any observer, and who is who is decided by the frames after.
 */
function run(
  paths: readonly Path[],
  base: number,
  frameTimes: readonly number[],
  miss: (frame: number, object: number) => boolean,
  noise: (frame: number, object: number) => Box,
  ambiguous: number,
): Outcome {
  const tracker = new Tracker();
  const idsOf = new Map<number, Set<string>>();
  const objectsOf = new Map<string, Set<number>>();
  const lastId = new Map<number, string>();
  let switches = 0;
  frameTimes.forEach((t, frame) => {
    const dets: Detection[] = [];
    const owner = new Map<Detection, number>();
    const truths = paths.map((p) => boxAt(p, t / 1000));
    paths.forEach((p, object) => {
      if (miss(frame, object)) return;
      const truth = truths[object]!;
      const jitter = noise(frame, object);
      const d: Detection = { label: p.label, score: 0.9, box: [truth[0] + jitter[0], truth[1] + jitter[1], truth[2] + jitter[2], truth[3] + jitter[3]] };
      dets.push(d);
      owner.set(d, object);
    });
    const step = tracker.update(base + t, dets);
    for (const track of step.matched) {
      const d = dets.find((x) => x.box === track.box);
      assert.ok(d !== undefined, "a matched track carries its detection's box");
      const object = owner.get(d)!;
      if (truths.some((other, o) => o !== object && iou(other, truths[object]!) > ambiguous)) continue;
      if (!idsOf.has(object)) idsOf.set(object, new Set());
      idsOf.get(object)!.add(track.id);
      if (!objectsOf.has(track.id)) objectsOf.set(track.id, new Set());
      objectsOf.get(track.id)!.add(object);
      const previous = lastId.get(object);
      if (previous !== undefined && previous !== track.id) switches++;
      lastId.set(object, track.id);
    }
  });
  return { idsOf, objectsOf, switches };
}

const exact = (): Box => [0, 0, 0, 0];

describe('the tracker on capture time (properties)', { timeout: 300_000 }, () => {
  it('perfect detections, paths apart or crossing, any dropped frames and jitter: one track per object, zero id switches', () => {
    fc.assert(
      fc.property(scene, times, (paths, { base, times: frameTimes }) => {
        const outcome = run(paths, base, frameTimes, () => false, exact, 0.99);
        assert.equal(outcome.switches, 0, 'id switches');
        assert.equal(outcome.idsOf.size, paths.length, 'every object has a track');
        for (const [object, ids] of outcome.idsOf) assert.equal(ids.size, 1, `object ${object} had ids ${[...ids].join(', ')}`);
        for (const [id, objects] of outcome.objectsOf) assert.equal(objects.size, 1, `track ${id} followed objects ${[...objects].join(', ')}`);
      }),
      { numRuns: 300 },
    );
  });

  it('a track is never confirmed twice for one object, nor reported for a frame older than the last', () => {
    const tracker = new Tracker();
    const d: Detection = { label: 'car', score: 0.9, box: [0.1, 0.1, 0.2, 0.2] };
    tracker.update(1000, [d]);
    tracker.update(1100, [d]);
    const third = tracker.update(1200, [d]);
    assert.equal(third.confirmed.length, 1);
    const stale = tracker.update(1150, [d]);
    assert.equal(stale.stale, true);
    assert.equal(tracker.update(1300, [d]).confirmed.length, 0);
  });

  it('a track ends after endAfterSeconds of capture time without a match, not after a number of frames', () => {
    const tracker = new Tracker({ endAfterSeconds: 2 });
    const d: Detection = { label: 'car', score: 0.9, box: [0.1, 0.1, 0.2, 0.2] };
    for (const t of [0, 100, 200]) tracker.update(t, [d]);
    // 50 empty frames within 2 s: still alive
    for (let t = 210; t < 2190; t += 40) assert.deepEqual(tracker.update(t, []).ended, []);
    assert.equal(tracker.active().length, 1);
    assert.equal(tracker.expire(2200).length, 1);
  });

  /**
   * The bound: with each detection missed at random with probability up to
   * 20 % and each box edge jittered by up to 2 % of the box's size, fewer
   * than 5 id switches per 100 objects over all runs (sightings inside a
   * crossing, true boxes overlapping by IoU > 0.5, not counted: there a swap
   * that is undone after is no switch to anyone). Measured: 0 or 1 in about
   * 900 objects a run.
   */
  it('detections missed at random (≤ 20 %) with jittered boxes: id switches within the stated bound', () => {
    let objects = 0;
    let switches = 0;
    let worst = 0;
    fc.assert(
      fc.property(
        scene,
        times,
        fc.double({ min: 0, max: 0.2, noNaN: true }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        (paths, { base, times: frameTimes }, missRate, seed) => {
          let state = seed;
          const random = (): number => {
            // xorshift: reproducible from fast-check's seed
            state ^= state << 13;
            state ^= state >>> 17;
            state ^= state << 5;
            return (state >>> 0) / 2 ** 32;
          };
          const misses = frameTimes.map(() => paths.map(() => random() < missRate));
          const jitters = frameTimes.map(() =>
            paths.map((p): Box => [0, 0, 0, 0].map((_, i) => (random() * 2 - 1) * 0.02 * (i % 2 === 0 ? p.w : p.h)) as unknown as Box),
          );
          const outcome = run(
            paths,
            base,
            frameTimes,
            (f, o) => misses[f]![o]!,
            (f, o) => jitters[f]![o]!,
            0.5,
          );
          objects += paths.length;
          switches += outcome.switches;
          worst = Math.max(worst, outcome.switches);
        },
      ),
      { numRuns: 300 },
    );
    process.stderr.write(`misses ≤ 20 %: ${switches} id switches over ${objects} objects, at most ${worst} in one run\n`);
    assert.ok(switches / objects < BOUND, `${switches} id switches over ${objects} objects`);
  });

  /**
   * Occlusion as a camera sees it: two objects of one size crossing at one height, the one behind seen only as
   * its part not behind the front one (a narrower box, its centre moving against its motion), and not at all
   * while less than half of it shows, for up to 0.9 s; detections at 2 to 10 a second with any phase. Both keep
   * their ids, and no third track is confirmed. (Before ADR 0054: 784 scenes of 1 000 lost an id.) With a
   * sighting either side of the hidden time at 2 a second, the one behind goes unseen for up to 1.9 s: under
   * the tracker's end rule (endAfterSeconds, 2 s), which ends an object unseen that long by design.
   */
  it('objects crossing with full overlap for up to 0.9 s, the one behind seen only in part or not at all, at 2 to 10 detections a second: both keep their ids', () => {
    fc.assert(
      fc.property(
        fc.record({
          w: fc.double({ min: 0.05, max: 0.1, noNaN: true }),
          h: fc.double({ min: 0.04, max: 0.2, noNaN: true }),
          hiddenSeconds: fc.double({ min: 0.3, max: 0.9, noNaN: true }),
          split: fc.double({ min: 0.3, max: 0.7, noNaN: true }),
          tc: fc.double({ min: 1.8, max: 2, noNaN: true }),
          fps: fc.integer({ min: 2, max: 10 }),
          phase: fc.double({ min: 0, max: 0.99, noNaN: true }),
          aInFront: fc.boolean(),
          base: fc.integer({ min: 0, max: 1e9 }),
        }),
        ({ w, h, hiddenSeconds, split, tc, fps, phase, aInFront, base }) => {
          assert.ok(hiddenSeconds + 2 / fps < END_AFTER, 'the scene stays within the end rule');
          // Hidden while less than half shows: the two centres within w / 2 of each other, w / relative speed long.
          const relative = w / hiddenSeconds;
          const a: Path = { label: 'person', w, h, x0: 0.5 - relative * split * tc, y0: 0.5, vx: relative * split, vy: 0 };
          const b: Path = { label: 'person', w, h, x0: 0.5 + relative * (1 - split) * tc, y0: 0.5, vx: -relative * (1 - split), vy: 0 };
          const tracker = new Tracker();
          const idsOf = [new Set<string>(), new Set<string>()];
          const confirmedIds = new Set<string>();
          for (let i = 0; (i + phase) / fps <= T; i++) {
            const t = (i + phase) / fps;
            const truths = [boxAt(a, t), boxAt(b, t)];
            const front = aInFront ? 0 : 1;
            const f = truths[front]!;
            const behind = truths[1 - front]!;
            const dets: { detection: Detection; object: number }[] = [{ detection: { label: 'person', score: 0.9, box: f }, object: front }];
            // What shows of the one behind: its box less the front one's columns.
            const seen: Box | null =
              f[2] <= behind[0] || f[0] >= behind[2]
                ? behind
                : f[0] <= behind[0] && f[2] < behind[2]
                  ? [f[2], behind[1], behind[2], behind[3]]
                  : f[0] > behind[0] && f[2] >= behind[2]
                    ? [behind[0], behind[1], f[0], behind[3]]
                    : null;
            if (seen !== null && (seen[2] - seen[0]) / w >= 0.5) dets.push({ detection: { label: 'person', score: 0.9, box: seen }, object: 1 - front });
            const step = tracker.update(
              base + t * 1000,
              dets.map((d) => d.detection),
            );
            for (const c of step.confirmed) confirmedIds.add(c.id);
            for (const track of step.matched) {
              const d = dets.find((x) => x.detection.box === track.box)!;
              // While their boxes are one to any observer, who is who is decided by the frames after.
              if (iou(truths[0]!, truths[1]!) > 0.3) continue;
              idsOf[d.object]!.add(track.id);
            }
          }
          assert.deepEqual(
            idsOf.map((ids) => ids.size),
            [1, 1],
            `ids: ${idsOf.map((ids) => [...ids].join('/')).join(' and ')}`,
          );
          assert.equal(confirmedIds.size, 2, `tracks confirmed: ${[...confirmedIds].join(', ')}`);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('the boxes of crossing paths do overlap (the generator makes real crossings)', () => {
    const [a, b] = [
      { label: 'thing', w: 0.1, h: 0.1, x0: 0.5 - 0.1 * 2, y0: 0.5, vx: 0.1, vy: 0 },
      { label: 'thing', w: 0.1, h: 0.1, x0: 0.5 + 0.1 * 2, y0: 0.5, vx: -0.1, vy: 0 },
    ];
    assert.ok(iou(boxAt(a, 2), boxAt(b, 2)) > 0.999);
  });
});
