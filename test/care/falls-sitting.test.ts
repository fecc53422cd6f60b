/**
 * A person who ends on the floor sitting or slumped rather than lying (slid
 * off a chair, a slow collapse), on the pure FallWatch with the readings
 * given: their `down` minute runs out and is raised even where the pose then
 * says nothing (an unknown reading keeps the stance, and time runs on).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FallWatch, type PersonSighting, type PostureReading } from '../../src/care/index.js';

const LYING: PostureReading = { posture: 'lying', confidence: 0.8, torso: 90 };
const UNKNOWN: PostureReading = { posture: 'unknown', confidence: 0, torso: null };

const FLOOR_BOX: PersonSighting['box'] = [0.35, 0.66, 0.65, 0.8];

/** One sighting of person `p` at `time` (ms) with `box` and `reading`; the alerts it raised, as `kind@seconds`. */
function see(watch: FallWatch, time: number, box: PersonSighting['box'], reading: PostureReading): string[] {
  const person: PersonSighting = { id: 'p', box, score: 0.7, reading, zones: [] };
  return watch.update({ time, people: [person] }).raised.map((r) => `${r.kind}@${Math.round(time / 1000)}`);
}

describe('care: falls, a person left sitting or slumped on the floor', { timeout: 30_000 }, () => {
  it('raises down when the minute runs out while the pose says nothing', () => {
    const watch = new FallWatch();
    const raised: string[] = [];
    // seen lying 3 s (no fall seen: the track begins on the floor), then the pose unknown for 70 s, 2 frames a second
    for (let t = 0; t < 3000; t += 500) raised.push(...see(watch, t, FLOOR_BOX, LYING));
    for (let t = 3000; t <= 73_000; t += 500) raised.push(...see(watch, t, FLOOR_BOX, UNKNOWN));
    assert.deepEqual(raised, ['down@60']);
  });
});
