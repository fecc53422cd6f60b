/**
 * How much of a body is below a zone's lowest edge (src/objects/geometry.ts
 * belowShare, lowestEdgeAt) and what CameraObjects hands the fall watch of it
 * (`below` beside `cover`, per zone): a zone drawn around a bed covers, in the
 * picture, the floor beside and behind it too; a body on the floor in front of
 * the bed reaches below the edge where the bed meets the floor, a body on the
 * mattress does not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { belowShare, bodyShare, lowestEdgeAt, type Polygon } from '../../src/objects/geometry.js';
import type { PersonSighting } from '../../src/care/index.js';
import { CameraObjects } from '../../src/objects/index.js';
import { LYING, pose } from '../helpers/poses.js';

/** A bed seen from above and in front: its top's far edge at 0.5, its near edge meeting the floor at 0.8 on the left and 0.7 on the right. */
const BED: Polygon = [
  [0.2, 0.5],
  [0.8, 0.5],
  [0.8, 0.7],
  [0.2, 0.8],
];

describe('objects: a body below a zone', { timeout: 60_000 }, () => {
  it('finds the lowest edge of a polygon straight above or below a point, and none beside it', () => {
    assert.equal(lowestEdgeAt(BED, 0.2), 0.8);
    assert.ok(Math.abs(lowestEdgeAt(BED, 0.5)! - 0.75) < 1e-9);
    assert.equal(lowestEdgeAt(BED, 0.8), 0.7);
    assert.equal(lowestEdgeAt(BED, 0.1), null);
    assert.equal(lowestEdgeAt(BED, 0.9), null);
  });

  it('counts the keypoints under the lowest edge, not those beside the zone or inside it', () => {
    const seen = (points: [number, number][]): [number, number, number][] => points.map(([x, y]) => [x, y, 0.9]);
    // Five keypoints on the mattress, three under its near edge, two beside the bed (under nothing).
    const keypoints = seen([
      [0.3, 0.6],
      [0.4, 0.6],
      [0.5, 0.6],
      [0.6, 0.6],
      [0.7, 0.6],
      [0.3, 0.85],
      [0.5, 0.8],
      [0.7, 0.75],
      [0.1, 0.9],
      [0.9, 0.9],
    ]);
    const box = [0.1, 0.6, 0.9, 0.9] as const;
    assert.equal(belowShare(box, keypoints, BED), 0.3);
    assert.equal(bodyShare(box, keypoints, BED), 0.5);
    // Unseen keypoints count for nothing; with fewer than five seen, the box's grid is judged.
    const unseen = keypoints.map(([x, y]): [number, number, number] => [x, y, 0]);
    assert.equal(belowShare([0.3, 0.82, 0.6, 0.95], unseen, BED), 1);
    assert.equal(belowShare([0.3, 0.55, 0.6, 0.65], null, BED), 0);
  });

  it('finds nothing below a zone for a body inside it, and never more below when the body is higher (property)', () => {
    const point = fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }));
    fc.assert(
      fc.property(fc.array(point, { minLength: 5, maxLength: 17 }), fc.double({ min: 0, max: 0.3, noNaN: true }), (points, lift) => {
        const keypoints = points.map(([x, y]): [number, number, number] => [x, y, 0.9]);
        const box = [0, 0, 1, 1] as const;
        // The same points squeezed into the bed (x across it, y between its top and its lowest edge there).
        const inside = points.map(([u, v]): [number, number, number] => {
          const x = 0.2 + 0.6 * u;
          return [x, 0.5 + v * (lowestEdgeAt(BED, x)! - 0.5), 0.9];
        });
        assert.equal(belowShare(box, inside, BED), 0);
        assert.ok(inside.every(([x, y]) => y >= 0.5 && y <= lowestEdgeAt(BED, x)!));
        const lifted = keypoints.map(([x, y]): [number, number, number] => [x, y - lift, 0.9]);
        assert.ok(belowShare(box, lifted, BED) <= belowShare(box, keypoints, BED));
      }),
    );
  });

  it('hands the fall watch the share of each body below each zone it is under, beside the share on it', () => {
    const objects = new CameraObjects({
      camera: 'room',
      worker: 'people',
      tracker: { highScore: 0.2 },
      zones: [
        // The bed's zone reaches down to 0.86: the floor in front of the bed comes into the picture below it.
        {
          name: 'bed',
          polygon: [
            [0, 0.5],
            [1, 0.5],
            [1, 0.86],
            [0, 0.86],
          ],
        },
        {
          name: 'rug',
          polygon: [
            [0, 0.95],
            [1, 0.95],
            [1, 1],
            [0, 1],
          ],
        },
      ],
    });
    // Lying on the floor at 0.85: the torso's and legs' keypoints at 0.832, the arms' at 0.9.
    const lying = pose({ ...LYING, x: 0.42 }, { floor: 0.85 });
    // The people of a frame are the confirmed tracks matched in it: a few frames confirm the track.
    let people: readonly PersonSighting[] = [];
    for (let time = 0; people.length === 0 && time <= 2000; time += 200)
      people = objects.update({ time, wallTime: 1_700_000_000_000 + time, detections: [{ label: 'person', score: 0.8, ...lying }], aspect: 4 / 3 }).people;
    const person = people[0]!;
    assert.equal(person.cover?.bed, 0.765);
    assert.deepEqual(person.below, { bed: 0.235 });
  });
});
