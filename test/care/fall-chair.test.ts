/**
 * Lower than any chair (ADR 0195): a sitting reading whose head is CHAIR_DROP
 * or more below the person's standing stance is low, not seated at chair
 * height, whether the legs read hanging from a seat or say nothing; so a body
 * lying obliquely after a fall, its head less than `drop` down the picture and
 * its legs now and then read hanging, keeps its `down` minute running.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { belowAnyChair, CHAIR_DROP } from '../../src/care/fall-chair.js';
import { stanceOf } from '../../src/care/fall-stance.js';
import { FallWatch, type PersonSighting, type PostureReading } from '../../src/care/index.js';

const RAISED: PostureReading = { posture: 'sitting', seat: 'raised', confidence: 0.7, torso: 5 };
const UNSAID: PostureReading = { posture: 'sitting', confidence: 0.6, torso: 20 };
const LYING: PostureReading = { posture: 'lying', confidence: 0.7, torso: 75 };
const UPRIGHT: PostureReading = { posture: 'upright', confidence: 0.8, torso: 3 };
const DROP = 0.45;
const reference = { top: 0.2, height: 0.5 };
/** A box whose top is `below` standing heights under the reference's, `height` tall. */
const boxAt = (below: number, height = 0.25): { top: number; height: number } => ({ top: reference.top + below * reference.height, height });

describe('care: falls, lower than any chair', { timeout: 30_000 }, () => {
  it('reads a sitting body with the head CHAIR_DROP or more below standing low, not seated', () => {
    for (const reading of [RAISED, UNSAID]) {
      assert.equal(stanceOf(reading, boxAt(0.25), reference, DROP), 'seated', 'the head where a chair puts it');
      assert.equal(stanceOf(reading, boxAt(0.38), reference, DROP), 'low', `${reading.seat ?? 'unsaid'}: lower than any chair`);
    }
    assert.equal(stanceOf(UNSAID, boxAt(0.5), reference, DROP), 'floor', 'slumped on the floor, as before');
    assert.equal(stanceOf(RAISED, boxAt(0.5), reference, DROP), 'low', 'as before');
    assert.equal(stanceOf(UNSAID, boxAt(0.38), null, DROP), 'low', 'no standing reference: as before');
    assert.equal(stanceOf(RAISED, boxAt(0.38), null, DROP), 'seated', 'no standing reference: the legs say');
  });

  it('is seated only above CHAIR_DROP, for any depth and reading (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: -0.2, max: 0.44, noNaN: true }), fc.constantFrom(RAISED, UNSAID), (below, reading) => {
        const stance = stanceOf(reading, boxAt(below), reference, DROP);
        assert.equal(stance, belowAnyChair(below) ? 'low' : 'seated');
        assert.equal(belowAnyChair(below), below >= CHAIR_DROP);
      }),
    );
  });

  it('keeps the down minute of a body lying obliquely whose legs are now and then read hanging', () => {
    // Standing 3 s, then down in 0.4 s to lying with the head 0.38 below (less than `drop`: no fall judged), five
    // frames a second; one sighting in three a sitting reading with the legs hanging, two in a row now and then.
    const watch = new FallWatch();
    const raised: string[] = [];
    const person = (t: number, i: number): PersonSighting => {
      if (t < 3000) return { id: 'p', box: [0.45, 0.2, 0.55, 0.7], score: 0.8, reading: UPRIGHT, zones: [] };
      const below = t < 3400 ? ((t - 3000) / 400) * 0.38 : 0.38;
      const box: PersonSighting['box'] = [0.4, 0.2 + below * 0.5, 0.6, 0.7];
      return { id: 'p', box, score: 0.7, reading: t >= 3400 && (i % 3 === 0 || i % 7 === 0) ? RAISED : LYING, zones: [] };
    };
    for (let i = 0, t = 0; t <= 70_000; i++, t += 200)
      raised.push(...watch.update({ time: t, people: [person(t, i)] }).raised.map((r) => `${r.kind}@${Math.round(t / 1000)}`));
    assert.equal(raised.length, 1, raised.join());
    assert.match(raised[0]!, /^down@6[34]$/);
  });
});
