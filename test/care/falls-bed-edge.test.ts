/**
 * Beds by overlap, and the floor in front of them (src/care/fall-stance.ts
 * bedShare, BELOW_BED): a bed zone drawn over the picture covers the floor
 * beside and behind the bed too, so most of a body lying on the floor in front
 * of a bed can be "on" its zone; a body BELOW_BED or more below the zone's
 * lowest edge (where the bed meets the floor nearest the camera) is on the
 * floor, not in bed: lying there is `down` after downSeconds. Asleep on the
 * mattress (none of the body below that edge) raises nothing, as before.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FallWatch, type FallRaised } from '../../src/care/index.js';
import { BELOW_BED, bedShare } from '../../src/care/fall-stance.js';
import { CameraObjects, type ZoneOptions } from '../../src/objects/index.js';
import { LYING, sequence, type Figure } from '../helpers/poses.js';

const WALL = 1_700_000_000_000;

/** A bed zone whose lowest edge (the bed meeting the floor nearest the camera) is at `edge`. */
const bedTo = (edge: number): ZoneOptions => ({
  name: 'bed',
  polygon: [
    [0, 0.5],
    [1, 0.5],
    [1, edge],
    [0, edge],
  ],
});

/** Lying still for `seconds` at 5 frames a second through CameraObjects and a FallWatch with the bed. */
function lie(zone: ZoneOptions, figure: Figure, seconds: number): FallRaised[] {
  const objects = new CameraObjects({ camera: 'room', worker: 'people', tracker: { highScore: 0.2, matchLastSeen: true }, zones: [zone] });
  const watch = new FallWatch({ beds: ['bed'], downSeconds: 10 });
  const raised: FallRaised[] = [];
  for (const f of sequence({ ...LYING, x: 0.42 }, [{ to: { ...LYING, x: 0.42 }, seconds: 0, hold: seconds }], 5, figure)) {
    const out = objects.update({
      time: f.time,
      wallTime: WALL + f.time,
      detections: [{ label: 'person', score: 0.8, box: f.box, keypoints: f.keypoints }],
      aspect: 4 / 3,
    });
    raised.push(...watch.update({ time: f.time, people: out.people }).raised);
  }
  return raised;
}

describe('care: the floor in front of a bed', { timeout: 60_000 }, () => {
  it('counts none of a body on a bed it is BELOW_BED or more below, and the share on it otherwise', () => {
    assert.equal(bedShare({ bed: 0.8 }, [], ['bed'], { bed: BELOW_BED }), 0);
    assert.equal(bedShare({ bed: 0.8 }, [], ['bed'], { bed: BELOW_BED - 0.01 }), 0.8);
    assert.equal(bedShare({ bed: 0.8, sofa: 0.6 }, [], ['bed', 'sofa'], { bed: 0.4 }), 0.6);
    assert.equal(bedShare({ bed: 0.8 }, [], ['bed']), 0.8, 'no `below`: as before');
    assert.equal(bedShare(undefined, ['bed'], ['bed'], { bed: 0.5 }), 0, 'by zones: below it all the same');
  });

  it('raises down for a person lying on the floor in front of a bed, most of their body on its zone', () => {
    // The floor at 0.85, the zone's lowest edge at 0.86: the torso on the zone, the arms on the floor below it.
    const raised = lie(bedTo(0.86), { floor: 0.85 }, 15);
    assert.deepEqual(
      raised.map((r) => r.kind),
      ['down'],
    );
    assert.ok(raised[0]!.time <= 11_000, String(raised[0]!.time));
  });

  it('raises nothing for a person asleep on the mattress, above the zone’s lowest edge', () => {
    // The same body, the bed meeting the floor at 0.95: a mattress's height below it.
    assert.deepEqual(lie(bedTo(0.95), { floor: 0.85 }, 15), []);
  });
});
