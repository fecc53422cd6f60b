/**
 * FallWatch.lost() (ADR 0132): a tracked person whose last sightings were a
 * descent (the top of their box on its way down from their upright stance)
 * and who was not seen in the latest frame since is lost, with the last box
 * and when it was seen; one seen in the latest frame, one standing, or one
 * whose track ended is not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FallWatch, postureOf, type PersonSighting } from '../../src/objects/index.js';
import { MOVES, sequence, STANDING } from '../helpers/poses.js';

const ASPECT = 4 / 3;

describe('objects: falls, people lost while going down', { timeout: 30_000 }, () => {
  it('lists a person lost mid-fall, not one seen in the latest frame or standing', () => {
    const frames = sequence(STANDING, MOVES.fallForward, 10);
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
