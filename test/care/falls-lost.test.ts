/**
 * FallWatch.lost() (ADR 0132): a tracked person whose last sightings were a
 * descent (the top of their box on its way down from their upright stance)
 * and who was not seen in the latest frame since is lost, with the last box
 * and when it was seen; one seen in the latest frame, one standing, or one
 * whose track ended is not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FallWatch, postureOf, type PersonSighting } from '../../src/care/index.js';
import { MOVES, pose, sequence, STANDING } from '../helpers/poses.js';

const ASPECT = 4 / 3;

describe('care: falls, people lost while going down', { timeout: 30_000 }, () => {
  it('lists a person lost mid-fall, not one seen in the latest frame or standing', () => {
    // The floor well inside the picture: between two poses the stick figure's feet go through the floor, and at the
    // default floor the picture's edge would cut its box mid-fall, which the rule takes for someone leaving it.
    const frames = sequence(STANDING, MOVES.fallForward, 10, { floor: 0.9 });
    // seen until 1.3 s (mid-fall: 0.3 s into a 0.6 s fall), then nothing
    const watch = new FallWatch();
    const standing = new FallWatch();
    let lastSeen = 0;
    let lastBox: PersonSighting['box'] | null = null;
    for (const f of frames) {
      const seen = f.time <= 1300;
      const person: PersonSighting = { id: 'p', box: f.box, score: 0.8, reading: postureOf(f.keypoints, f.box, { aspect: ASPECT }), zones: [] };
      if (seen) {
        lastSeen = f.time;
        lastBox = f.box;
      }
      watch.update({ time: f.time, people: seen ? [person] : [] });
      if (seen) assert.deepEqual(watch.lost(), [], `seen at ${f.time}`);
      if (f.time < 1000) standing.update({ time: f.time, people: [person] });
    }
    assert.deepEqual(watch.lost(), [{ id: 'p', box: lastBox, lastSeen }]);
    standing.update({ time: 5000, people: [] });
    assert.deepEqual(standing.lost(), [], 'standing when last seen: not going down');
    watch.update({ time: 9000, people: [], ended: ['p'] });
    assert.deepEqual(watch.lost(), [], 'the track ended: no one to look for');
  });
});

/** A person standing in plain view for a second (100 ms apart), then `after`: each later frame's box, 100 ms apart, or null (not found). */
function run(after: readonly (PersonSighting['box'] | null)[]): { watch: FallWatch; raised: string[] } {
  const watch = new FallWatch();
  const standing = pose(STANDING, { floor: 0.6, height: 0.4 });
  const raised: string[] = [];
  const unseen = postureOf(null, [0.4, 0.5, 0.6, 0.6]);
  for (let i = 0; i <= 10; i++)
    watch.update({
      time: i * 100,
      people: [{ id: 'p', box: standing.box, score: 0.8, reading: postureOf(standing.keypoints, standing.box, { aspect: ASPECT }), zones: [] }],
    });
  let time = 1000;
  for (const box of after) {
    time += 100;
    const out = watch.update({ time, people: box === null ? [] : [{ id: 'p', box, score: 0.8, reading: unseen, zones: [] }] });
    raised.push(...out.raised.map((r) => r.kind));
  }
  return { watch, raised };
}

describe('care: falls, people leaving the picture are not lost going down', { timeout: 30_000 }, () => {
  it('a person walking out of the picture under a high camera: the picture cuts the box, whose top comes down', () => {
    // Standing: top about 0.2, 0.4 tall. Then the box's bottom at the picture's edge and its top coming down as they walk out.
    const { watch, raised } = run([[0.45, 0.4, 0.55, 1], [0.45, 0.55, 0.55, 1], [0.45, 0.7, 0.55, 1], null, null]);
    assert.deepEqual(watch.lost(), [], 'cut by the picture: no descent');
    const end = watch.update({ time: 5000, people: [], ended: ['p'] });
    assert.deepEqual([...raised, ...end.raised.map((r) => r.kind)], []);
  });

  it('a person coming nearer behind furniture that hides their legs: the box comes down whole, it does not shrink', () => {
    const { watch, raised } = run([[0.44, 0.32, 0.56, 0.75], [0.43, 0.4, 0.57, 0.85], [0.42, 0.46, 0.58, 0.92], null, null]);
    assert.deepEqual(watch.lost(), [], 'the bottom came down as far as the top: nearer, not going down');
    const end = watch.update({ time: 5000, people: [], ended: ['p'] });
    assert.deepEqual([...raised, ...end.raised.map((r) => r.kind)], []);
  });

  it('a person whose box shrinks as its top comes down inside the picture, then lost, is still raised', () => {
    const { watch, raised } = run([[0.4, 0.35, 0.6, 0.6], [0.38, 0.45, 0.62, 0.61], null, null]);
    assert.equal(watch.lost().length, 1);
    const end = watch.update({ time: 5000, people: [], ended: ['p'] });
    assert.deepEqual([...raised, ...end.raised.map((r) => `${r.kind}${r.seenDown ? '' : ' not seen down'}`)], ['fall not seen down']);
  });
});
