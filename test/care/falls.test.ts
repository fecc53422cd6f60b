/**
 * The fall watch (ADR 0132) on keypoint sequences the test helper draws,
 * through the real path (CameraObjects: tracker, posture, zones, then
 * FallWatch): falls forwards, backwards, down from a missing chair and a slump
 * onto the floor are each one `fall`, started at the last upright sighting,
 * down from the first down one, raised confirmSeconds later; sitting down
 * (hard too), lying down on purpose, bending for 3 s and jumping are none.
 * Lying in a bed zone raises nothing; lying outside one raises `down` after
 * downSeconds, whether or not a fall was seen. An alert ends when the person
 * is up again for upSeconds, or gone when the tracker ends the track. At 2, 5
 * and 10 frames a second alike.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FallWatch, type FallEnded, type FallRaised, type FallWatchOptions } from '../../src/care/index.js';
import { CameraObjects, type ZoneOptions } from '../../src/objects/index.js';
import { MOVES, sequence, STANDING, LYING, type Pose, type Step } from '../helpers/poses.js';

const WALL = 1_700_000_000_000;

interface Run {
  readonly raised: FallRaised[];
  readonly ended: FallEnded[];
  readonly ids: Set<string>;
}

/** A movement through CameraObjects and a FallWatch, at `fps`; `after` ms more with no detection (the person gone). */
function run(steps: readonly Step[], fps: number, options: FallWatchOptions = {}, zones: readonly ZoneOptions[] = [], goneMs = 0, start: Pose = STANDING): Run {
  const objects = new CameraObjects({ camera: 'room', worker: 'people', tracker: { highScore: 0.2, matchLastSeen: true }, zones });
  const watch = new FallWatch(options);
  const raised: FallRaised[] = [];
  const ended: FallEnded[] = [];
  const ids = new Set<string>();
  const frames = sequence(start, steps, fps);
  const take = (time: number, detections: Parameters<CameraObjects['update']>[0]['detections']): void => {
    const out = objects.update({ time, wallTime: WALL + time, detections, aspect: 4 / 3 });
    for (const p of out.people) ids.add(p.id);
    const update = watch.update({ time, people: out.people, ended: out.events.filter((e) => e.type === 'end').map((e) => e.after.id) });
    raised.push(...update.raised);
    ended.push(...update.ended);
  };
  for (const f of frames) take(f.time, [{ label: 'person', score: 0.8, box: f.box, keypoints: f.keypoints }]);
  const last = frames.at(-1)!.time;
  for (let time = last + 1000 / fps; time <= last + goneMs; time += 1000 / fps) take(time, []);
  return { raised, ended, ids };
}

/** The time the helper's movement leaves standing: the first step's hold. */
const LEAVES_STANDING = 1000;

describe('care: falls', { timeout: 60_000 }, () => {
  for (const fps of [2, 5, 10]) {
    for (const move of ['fallForward', 'fallBackward', 'fallFromChair', 'slump'] as const) {
      it(`raises one fall for ${move} at ${fps} fps, dated by the last upright sighting and the first down one`, () => {
        const { raised, ended, ids } = run(MOVES[move], fps);
        assert.equal(raised.length, 1, JSON.stringify(raised));
        const fall = raised[0]!;
        assert.equal(fall.kind, 'fall');
        assert.equal(ids.size, 1, 'one person, one track through the fall');
        assert.ok(ids.has(fall.person.id));
        // the last upright sighting: before the fall, or early in it (a body a few degrees off upright stands)
        assert.ok(fall.fallTime !== null && fall.fallTime >= LEAVES_STANDING - 1000 / fps, `fall ${fall.fallTime}`);
        assert.ok(fall.fallTime < LEAVES_STANDING + 400, `fall ${fall.fallTime}`);
        assert.ok(fall.downTime > fall.fallTime && fall.downTime - LEAVES_STANDING <= 900 + 1000 / fps, `down ${fall.downTime}`);
        assert.ok(fall.time - fall.downTime >= 1000 && fall.time - fall.downTime < 1000 + 1000 / fps + 1, `raised ${fall.time}`);
        assert.deepEqual(ended, []);
      });
    }
    for (const move of ['standing', 'sitDown', 'sitDownHard', 'lieDown', 'bend', 'jump'] as const) {
      it(`raises nothing for ${move} at ${fps} fps`, () => {
        const { raised } = run(MOVES[move], fps);
        assert.deepEqual(
          raised.map((r) => [r.kind, r.time]),
          [],
        );
      });
    }
  }

  it('raises nothing for a fall or lying in a bed zone, and down after downSeconds outside one', () => {
    const bed: ZoneOptions = {
      name: 'bed',
      polygon: [
        [0, 0.8],
        [1, 0.8],
        [1, 1],
        [0, 1],
      ],
    };
    assert.deepEqual(run(MOVES.fallForward, 5, { beds: ['bed'] }, [bed]).raised, []);
    const lying: Step[] = [{ to: LYING, seconds: 0, hold: 12 }];
    assert.deepEqual(run(lying, 5, { beds: ['bed'], downSeconds: 10 }, [bed], 0, LYING).raised, []);
    const down = run(lying, 5, { downSeconds: 10 }, [], 0, LYING).raised;
    assert.equal(down.length, 1);
    assert.equal(down[0]!.kind, 'down');
    assert.equal(down[0]!.fallTime, null, 'no fall seen');
    // the tracker confirms the person at its third sighting: down from then, raised 10 s later
    assert.equal(down[0]!.downTime, 400);
    assert.equal(down[0]!.time, 10_400);
    // the bed zone is a name: another zone over the same floor is no bed
    assert.equal(run(lying, 5, { beds: ['bed'], downSeconds: 10 }, [{ ...bed, name: 'rug' }], 0, LYING).raised.length, 1);
  });

  it('raises no down for a person whose fall was raised (one alert a person)', () => {
    const { raised } = run([...MOVES.fallForward, { to: { ...LYING, x: 0.62 }, seconds: 0, hold: 8 }], 5, { downSeconds: 5 });
    assert.deepEqual(
      raised.map((r) => r.kind),
      ['fall'],
    );
  });

  it('ends a fall when the person is up again for upSeconds, and as gone when the tracker ends the track', () => {
    const up = run([...MOVES.fallForward, { to: STANDING, seconds: 1, hold: 3 }], 5, { upSeconds: 2 });
    assert.equal(up.raised.length, 1);
    assert.equal(up.ended.length, 1);
    assert.equal(up.ended[0]!.reason, 'up');
    assert.equal(up.ended[0]!.kind, 'fall');
    const upAt = up.ended[0]!.time;
    // standing again at 1 + 0.6 + 4 + 1 s: ended 2 s of upright sightings after the first
    assert.ok(upAt >= 6_400 + 2_000 && upAt <= 6_600 + 2_000 + 200, String(upAt));

    const gone = run(MOVES.fallForward, 5, {}, [], 4_000);
    assert.equal(gone.raised.length, 1);
    assert.deepEqual(
      gone.ended.map((e) => [e.kind, e.reason, e.id]),
      [['fall', 'gone', gone.raised[0]!.person.id]],
    );
  });

  it('holds to its options: a longer confirmSeconds raises later, a slower fall than fallSeconds or a smaller drop than drop is none', () => {
    const late = run(MOVES.fallForward, 10, { confirmSeconds: 2 }).raised[0]!;
    assert.ok(late.time - late.downTime >= 2000);
    const slow: Step[] = [
      { to: STANDING, seconds: 0, hold: 1 },
      { to: { ...LYING, x: 0.62 }, seconds: 6, hold: 3 },
    ];
    assert.deepEqual(run(slow, 5, { fallSeconds: 1 }).raised, []);
    assert.deepEqual(run(MOVES.slump, 5, { drop: 0.7 }).raised, []);
  });

  it('never raises a fall for movements that stay on their feet or in a chair, whatever their pace (property)', () => {
    const onFeet = fc.record({
      torso: fc.integer({ min: -30, max: 90 }),
      // feet on the floor: from knees a little bent to on tiptoe (the jumps are MOVES.jump's)
      hip: fc.double({ min: 0.44, max: 0.53, noNaN: true }),
      x: fc.double({ min: 0.3, max: 0.7, noNaN: true }),
    });
    const seated = fc.record({ torso: fc.integer({ min: -10, max: 30 }), hip: fc.double({ min: 0.2, max: 0.3, noNaN: true }) });
    const step = fc.oneof(
      onFeet.map((p): Pose => ({ ...STANDING, ...p })),
      seated.map((p): Pose => ({ x: 0.5, hip: p.hip, torso: p.torso, thigh: 90, shin: 0 })),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(step, fc.double({ min: 0.1, max: 2, noNaN: true }), fc.double({ min: 0, max: 2, noNaN: true })), { minLength: 1, maxLength: 8 }),
        fc.constantFrom(2, 5, 10),
        (moves, fps) => {
          const steps: Step[] = [{ to: STANDING, seconds: 0, hold: 1 }, ...moves.map(([to, seconds, hold]) => ({ to, seconds, hold }))];
          assert.deepEqual(run(steps, fps).raised, []);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('watches (for a gated worker to keep looking at) a person lying outside the beds or with a fall to confirm, not one asleep in bed', () => {
    const lying = { posture: 'lying' as const, confidence: 0.8, torso: 90 };
    const person = (id: string, zones: string[]) => ({ id, box: [0.1, 0.8, 0.6, 0.95] as const, score: 0.3, reading: lying, zones });
    const watch = new FallWatch({ beds: ['bed'] });
    watch.update({ time: 0, people: [person('asleep', ['bed']), person('floor', [])] });
    assert.deepEqual(watch.watched(), ['floor']);
    watch.update({ time: 100, people: [], ended: ['floor'] });
    assert.deepEqual(watch.watched(), []);
  });

  it('ignores a frame older than the last one', () => {
    const watch = new FallWatch();
    assert.deepEqual(watch.update({ time: 1000, people: [] }), { raised: [], ended: [] });
    assert.deepEqual(watch.update({ time: 500, people: [], ended: ['x'] }), { raised: [], ended: [] });
    assert.deepEqual(watch.endAll(2000), []);
  });
});
