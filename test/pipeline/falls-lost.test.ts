/**
 * A person lost from sight while going down, in the system's fall alerts
 * (src/pipeline/watches/falls.ts): lost() names them (last box, last sighting)
 * while their track lasts; once the track ends, a `fall` alert goes out
 * (`seen_down` false, a snapshot request), is ended `gone` by the same frame,
 * and stands until acknowledged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alertStands, type FallEvent } from '../../src/care/index.js';
import { CameraObjects } from '../../src/objects/index.js';
import { FallAlerts } from '../../src/pipeline/watches/falls.js';
import type { SystemEvent } from '../../src/pipeline/index.js';
import { FALLS, WALL } from '../helpers/fall-rig.js';
import { MOVES, sequence, STANDING } from '../helpers/poses.js';

describe('pipeline: fall alerts for a person lost while going down', { timeout: 30_000 }, () => {
  it('lists them for a second look, then raises a fall not seen down that stands until acknowledged', () => {
    const events: { event: FallEvent; snapshot: unknown }[] = [];
    let clock = WALL;
    const alerts = new FallAlerts({
      emit: (e: SystemEvent) => void (e.type === 'fall' && events.push({ event: e.event, snapshot: e.snapshot })),
      now: () => clock,
    });
    const objects = new CameraObjects({ camera: 'room', worker: 'people', tracker: { highScore: 0.15, matchLastSeen: true } });
    // The floor well inside the picture: between two poses the stick figure's feet go through the floor, and at the
    // default floor the picture's edge would cut its box mid-fall, which the rule takes for someone leaving it.
    const frames = sequence(STANDING, MOVES.fallForward, 10, { floor: 0.9 });
    let lostSeen = false;
    for (let time = 0; time <= 15_000; time += 100) {
      const f = frames.find((x) => x.time === time);
      const detections = f !== undefined && time <= 1300 ? [{ label: 'person', score: 0.8, box: f.box, keypoints: f.keypoints }] : [];
      clock = WALL + time + 100;
      const out = objects.update({ time, wallTime: WALL + time, now: clock, detections, aspect: 4 / 3 });
      const ended = out.events.filter((e) => e.type === 'end').map((e) => e.after.id);
      alerts.onFrame({ camera: 'room', worker: 'people', falls: FALLS, time, wallTime: WALL + time, now: clock, people: out.people, ended });
      const lost = alerts.lost('room', 'people');
      if (lost.length > 0 && events.length === 0) {
        lostSeen = true;
        assert.equal(lost[0]!.lastSeen, 1300);
      }
    }
    assert.ok(lostSeen, 'listed as lost before the track ended');
    assert.deepEqual(
      events.map((e) => e.event.type),
      ['new', 'end'],
    );
    const [raised, end] = events.map((e) => e.event.after);
    assert.equal(raised!.kind, 'fall');
    assert.equal(raised!.seen_down, false);
    assert.notEqual(events[0]!.snapshot, null, 'a snapshot request');
    assert.equal(end!.end_reason, 'gone');
    assert.ok(alertStands(end!), 'stands until acknowledged');
    assert.deepEqual(alerts.lost('room', 'people'), []);
    assert.equal(alerts.acknowledge({ camera: 'room' }, 'test').length, 1);
  });
});

describe('pipeline: fall alerts for a person lost inside the picture without a descent', { timeout: 30_000 }, () => {
  it('lists them for a look after those lost going down (why `lost`), raises nothing when the track ends, and orders a sweep', () => {
    const events: FallEvent[] = [];
    const alerts = new FallAlerts({ emit: (e: SystemEvent) => void (e.type === 'fall' && events.push(e.event)), now: () => WALL });
    const objects = new CameraObjects({ camera: 'room', worker: 'people', tracker: { highScore: 0.15, matchLastSeen: true } });
    // Standing still well inside the picture, then not found (1-2 frames a second, behind furniture, a slow collapse).
    const frames = sequence(STANDING, MOVES.standing, 10, { floor: 0.8 });
    const lostAt: string[] = [];
    let sweepAt: number | null = null;
    for (let time = 0; time <= 20_000; time += 100) {
      const f = frames.find((x) => x.time === time);
      const detections = f !== undefined && time <= 2000 ? [{ label: 'person', score: 0.8, box: f.box, keypoints: f.keypoints }] : [];
      const out = objects.update({ time, wallTime: WALL + time, now: WALL + time, detections, aspect: 4 / 3 });
      const ended = out.events.filter((e) => e.type === 'end').map((e) => e.after.id);
      alerts.onFrame({ camera: 'room', worker: 'people', falls: FALLS, time, wallTime: WALL + time, now: WALL + time, people: out.people, ended });
      for (const p of alerts.lost('room', 'people')) lostAt.push(`${p.why}@${p.lastSeen}`);
      const sweep = alerts.sweep('room', 'people', time);
      if (sweep !== null && !sweep.start) sweepAt ??= time;
    }
    assert.ok(lostAt.length > 0 && lostAt.every((l) => l === 'lost@2000'), `looked for as lost: ${lostAt.slice(0, 3).join(' ')}`);
    assert.deepEqual(events, [], 'a plain loss raises nothing');
    assert.equal(sweepAt, 2100 + 6000, 'a sweep SWEEP_AFTER_SECONDS after the room went unseen');
    assert.deepEqual(alerts.sweep('room', 'people', 2100 + 6000)?.start, false);
  });
});
