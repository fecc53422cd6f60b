/**
 * Getting up is being up `upSeconds` (falls.ts, ADR 0197), for the `down`
 * minute as for an alert: a person down read seated at chair height for a
 * moment (a slumped body read with its thighs level) is still down, and
 * their minute runs on from when they went down; up `upSeconds` or more,
 * they got up, and a minute down again starts again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FallWatch, type PersonSighting, type PostureReading } from '../../src/care/index.js';

const LYING: PostureReading = { posture: 'lying', confidence: 0.8, torso: 90 };
const SEATED: PostureReading = { posture: 'sitting', seat: 'raised', confidence: 0.8, torso: 10 };
const BOX: PersonSighting['box'] = [0.3, 0.5, 0.6, 0.72];

/** Lying from 0 for `lyingS`, read seated for `seatedS`, then lying again to 100 s, at 5 frames a second: the alerts, `kind@s`. */
function downThenSeated(lyingS: number, seatedS: number): string[] {
  const watch = new FallWatch();
  const raised: string[] = [];
  for (let time = 0; time <= 100_000; time += 200) {
    const reading = time >= lyingS * 1000 && time < (lyingS + seatedS) * 1000 ? SEATED : LYING;
    const out = watch.update({ time, people: [{ id: 'p', box: BOX, score: 0.7, reading, zones: [] }] });
    raised.push(...out.raised.map((r) => `${r.kind}@${Math.round(r.time / 1000)}`));
  }
  return raised;
}

describe('care: falls, getting up is being up upSeconds', { timeout: 30_000 }, () => {
  it('a moment read seated while down does not start the down minute again', () => {
    assert.deepEqual(downThenSeated(30, 1), ['down@60']);
  });

  it('up upSeconds or more starts it again', () => {
    assert.deepEqual(downThenSeated(30, 3), ['down@93']);
  });
});
