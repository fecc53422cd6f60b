/**
 * Who a fall worker's second look looks for, and when it sweeps (src/care/look-for.ts, ADR 0189), on capture times
 * of the test's own:
 * - a person lost inside the picture without a seen descent is looked for (`lost`) once unseen for
 *   LOST_LOOK_AFTER_SECONDS, after those lost going down
 *   (`descent`), never one at the picture's edge (walking out), in a bed, with an alert, or whose track ended;
 * - a sweep: nothing before SWEEP_AFTER_SECONDS of nobody found after the people last seen were lost inside the
 *   picture, then around where they were for SWEEP_SECONDS at most, ended at once by anyone found; none after a walk
 *   out of the picture; at the start, nobody found for SWEEP_AFTER_SECONDS, a sweep until someone is found or
 *   START_SWEEP_SECONDS pass, and then, in an empty
 *   room, nothing for an hour (a property over any run of frames that never loses anyone inside the picture).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LookFor, LOST_LOOK_AFTER_SECONDS, START_SWEEP_SECONDS, SWEEP_AFTER_SECONDS, SWEEP_SECONDS, type LookSighting } from '../../src/care/index.js';

const INSIDE = [0.4, 0.3, 0.5, 0.8] as const;
const AT_EDGE = [0.9, 0.3, 1, 0.8] as const;
const person = (id: string, box: readonly [number, number, number, number], zones: string[] = []): LookSighting => ({ id, box, zones });
const none = (): boolean => false;

describe('care: who the second look looks for', { timeout: 10_000 }, () => {
  it('looks for a person lost inside the picture without a descent, after those lost going down', () => {
    const look = new LookFor();
    look.observe({ time: 0, people: [person('1', INSIDE), person('2', INSIDE)] });
    look.observe({ time: 200, people: [person('2', INSIDE)] });
    assert.deepEqual(look.targets([], none), [], 'a frame missed: not yet');
    look.observe({ time: LOST_LOOK_AFTER_SECONDS * 1000 - 200, people: [person('2', INSIDE)] });
    assert.deepEqual(look.targets([], none), [], 'not yet');
    look.observe({ time: LOST_LOOK_AFTER_SECONDS * 1000, people: [person('2', INSIDE)] });
    assert.deepEqual(look.targets([], none), [{ id: '1', box: INSIDE, lastSeen: 0, why: 'lost' }], 'unseen LOST_LOOK_AFTER_SECONDS');
    look.observe({ time: LOST_LOOK_AFTER_SECONDS * 2000 + 200, people: [] });
    const descent = { id: '2', box: INSIDE, lastSeen: LOST_LOOK_AFTER_SECONDS * 1000 };
    assert.deepEqual(
      look.targets([descent], none).map((t) => [t.id, t.why]),
      [
        ['2', 'descent'],
        ['1', 'lost'],
      ],
      'the descent first, and listed once',
    );
    assert.deepEqual(
      look.targets([], none).map((t) => t.id),
      ['1', '2'],
      'the most recently seen last',
    );
    assert.deepEqual(
      look.targets([], (id) => id === '1').map((t) => t.id),
      ['2'],
      'not one with an alert open',
    );
    look.observe({ time: LOST_LOOK_AFTER_SECONDS * 2000 + 400, people: [], ended: ['1'] });
    assert.deepEqual(
      look.targets([], none).map((t) => t.id),
      ['2'],
      'not once the track ended',
    );
  });

  it('does not look for one lost at the picture’s edge (walking out) or in a bed', () => {
    const look = new LookFor({ beds: ['bed'] });
    look.observe({ time: 0, people: [person('1', AT_EDGE), person('2', INSIDE, ['bed'])] });
    look.observe({ time: 5_000, people: [] });
    assert.deepEqual(look.targets([], none), []);
    assert.deepEqual(
      look.targets([{ id: '1', box: AT_EDGE, lastSeen: 0 }], none).map((t) => t.why),
      ['descent'],
      'one lost going down at the edge still is (the fall rule says so)',
    );
  });
});

describe('care: the sweep', { timeout: 10_000 }, () => {
  it('sweeps around where the person was lost once nobody was found for SWEEP_AFTER_SECONDS, for SWEEP_SECONDS at most', () => {
    const look = new LookFor();
    look.observe({ time: 0, people: [person('1', INSIDE)] });
    assert.equal(look.sweep(0), null, 'someone seen at the start: no start sweep');
    for (let time = 200; time <= 200 + (SWEEP_AFTER_SECONDS + SWEEP_SECONDS + 5) * 1000; time += 200) look.observe({ time, people: [] });
    assert.equal(look.sweep(200 + SWEEP_AFTER_SECONDS * 1000 - 1), null, 'not yet');
    const order = look.sweep(200 + SWEEP_AFTER_SECONDS * 1000);
    assert.deepEqual(order, {
      since: 200 + SWEEP_AFTER_SECONDS * 1000,
      around: INSIDE,
      start: false,
      until: 200 + (SWEEP_AFTER_SECONDS + SWEEP_SECONDS) * 1000,
    });
    assert.notEqual(look.sweep(order.until), null);
    assert.equal(look.sweep(order.until + 1), null, 'the bound passed');
  });

  it('ends once anyone is found, and starts again on a new loss', () => {
    const look = new LookFor();
    look.observe({ time: 0, people: [person('1', INSIDE)] });
    look.observe({ time: 1_000, people: [] });
    const due = 1_000 + SWEEP_AFTER_SECONDS * 1000;
    look.observe({ time: due, people: [] });
    assert.notEqual(look.sweep(due), null);
    look.observe({ time: due + 1_000, people: [person('2', [0.1, 0.6, 0.3, 0.9])] });
    assert.equal(look.sweep(due + 1_000), null, 'found: no sweep');
    look.observe({ time: due + 2_000, people: [] });
    assert.deepEqual(look.sweep(due + 2_000 + SWEEP_AFTER_SECONDS * 1000)?.around, [0.1, 0.6, 0.3, 0.9], 'around the one lost last');
  });

  it('does not sweep after a walk out of the picture, nor after a loss in a bed', () => {
    const look = new LookFor({ beds: ['bed'] });
    look.observe({ time: 0, people: [person('1', AT_EDGE)] });
    look.observe({ time: 200, people: [] });
    assert.equal(look.sweep(200 + SWEEP_AFTER_SECONDS * 1000), null);
    look.observe({ time: 30_000, people: [person('2', INSIDE, ['bed'])] });
    look.observe({ time: 30_200, people: [] });
    assert.equal(look.sweep(30_200 + SWEEP_AFTER_SECONDS * 1000), null);
  });

  it('sweeps once at the start until someone is found or START_SWEEP_SECONDS pass', () => {
    const look = new LookFor();
    assert.equal(look.sweep(0), null, 'no frame yet');
    look.observe({ time: 5_000, people: [] });
    const since = 5_000 + SWEEP_AFTER_SECONDS * 1000;
    assert.equal(look.sweep(since - 1), null, 'nobody found for SWEEP_AFTER_SECONDS first');
    assert.deepEqual(look.sweep(since), { since, around: null, start: true, until: since + START_SWEEP_SECONDS * 1000 });
    assert.equal(look.sweep(since + 1 + START_SWEEP_SECONDS * 1000), null);
    const found = new LookFor();
    found.observe({ time: 0, people: [] });
    found.observe({ time: 1_000, people: [person('1', AT_EDGE)] });
    assert.equal(found.sweep(SWEEP_AFTER_SECONDS * 1000), null, 'someone found: no start sweep');
  });

  it('orders nothing in a room where nobody is lost inside the picture, past the start (an hour of frames, any order of comings and goings at the edge)', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 200 }), (present) => {
        const look = new LookFor();
        let time = 0;
        look.observe({ time, people: [person('1', AT_EDGE)] });
        for (const seen of present) {
          time += 18_000; // 200 steps: an hour
          look.observe({ time, people: seen ? [person('1', AT_EDGE)] : [] });
          for (const t of [time, time + SWEEP_AFTER_SECONDS * 1000, time + 17_999]) if (look.sweep(t) !== null) return false;
        }
        return true;
      }),
    );
  });
});
