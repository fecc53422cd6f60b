/**
 * Lines and dwell through CameraObjects: a confirmed track crossing a line
 * between two frames 800 ms apart makes one `line` crossing at the
 * interpolated time, with the counts after it; an object standing in a zone
 * reaches each of its dwellSeconds once, at the frame that passes it, and
 * carries its time in each zone (`zone_time`) in its events, `end` included.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CameraObjects, type Box } from '../../src/objects/index.js';

const WALL = 1_700_000_000_000;
const square = (cx: number, bottom: number): Box => [cx - 0.05, bottom - 0.1, cx + 0.05, bottom];

describe('objects: lines and dwell', { timeout: 60_000 }, () => {
  it('counts a crossing of a confirmed track once, at the interpolated capture time, with its direction and counts', () => {
    const objects = new CameraObjects({
      camera: 'gate',
      worker: 'det',
      tracker: { maxSpeed: 2 },
      lines: [
        {
          name: 'door',
          points: [
            [0, 0.5],
            [1, 0.5],
          ],
          in: 'right',
        },
      ],
    });
    const frame = (time: number, bottom: number) =>
      objects.update({ time, wallTime: WALL + time, now: WALL + time + 5, detections: [{ label: 'person', score: 0.9, box: square(0.5, bottom) }] });
    assert.equal(frame(0, 0.2).events.length, 0);
    frame(200, 0.3);
    const confirmed = frame(400, 0.4);
    assert.equal(confirmed.events[0]?.type, 'new');
    assert.deepEqual(confirmed.crossings, []);
    // 800 ms with no frame: from 0.4 to 0.8, the line (0.5) a quarter of the way
    const crossed = frame(1200, 0.8);
    assert.equal(crossed.crossings.length, 1);
    const c = crossed.crossings[0]!;
    assert.equal(c.line, 'door');
    assert.equal(c.direction, 'in'); // downwards across a line drawn left to right: to its right
    assert.equal(c.label, 'person');
    assert.equal(c.id, confirmed.events[0].after.id);
    assert.ok(Math.abs(c.time - (WALL + 600) / 1000) < 1e-6, String(c.time));
    assert.equal(c.frame_time, (WALL + 1200) / 1000);
    assert.equal(c.frame_age_ms, 5);
    assert.equal(c.count, 1);
    assert.equal(c.count_hour, 1);
    assert.deepEqual(frame(1400, 0.9).crossings, []);
    assert.deepEqual(objects.lineCounts(), [{ line: 'door', direction: 'in', label: 'person', total: 1, lastHour: 1 }]);
  });

  it('raises each dwellSeconds once per stay on capture time, and carries zone_time', () => {
    const objects = new CameraObjects({
      camera: 'gate',
      worker: 'det',
      zones: [
        {
          name: 'porch',
          polygon: [
            [0.2, 0.2],
            [0.8, 0.2],
            [0.8, 0.8],
            [0.2, 0.8],
          ],
          dwellSeconds: [2, 1],
        },
      ],
    });
    const frame = (time: number, cx = 0.5) =>
      objects.update({ time, wallTime: WALL + time, detections: [{ label: 'person', score: 0.9, box: square(cx, 0.6) }] });
    const reached: { seconds: number; at: number; time: number }[] = [];
    let lastId = '';
    for (let time = 0; time <= 3000; time += 300) {
      const out = frame(time);
      for (const d of out.dwells) reached.push({ seconds: d.seconds, at: time, time: d.time });
      const e = out.events.at(-1);
      if (e !== undefined) lastId = e.after.id;
    }
    // entered at 600 ms (the confirming frame): 1 s reached by the frame at 1800, 2 s by the one at 2700
    assert.deepEqual(reached, [
      { seconds: 1, at: 1800, time: (WALL + 1600) / 1000 },
      { seconds: 2, at: 2700, time: (WALL + 2600) / 1000 },
    ]);
    assert.deepEqual(objects.live().find((o) => o.id === lastId)?.zone_time, { porch: 2.4 });
    const end = objects.endAll(WALL + 4000).events.find((e) => e.type === 'end');
    assert.deepEqual(end?.after.zone_time, { porch: 2.4 });
  });

  it('takes new lines while objects are tracked (setAreas): the same ids, crossings from the next frame', () => {
    const objects = new CameraObjects({ camera: 'gate', worker: 'det', tracker: { maxSpeed: 2 } });
    const frame = (time: number, bottom: number) =>
      objects.update({ time, wallTime: WALL + time, detections: [{ label: 'person', score: 0.9, box: square(0.5, bottom) }] });
    frame(0, 0.2);
    frame(200, 0.25);
    const id = frame(400, 0.3).events[0]!.after.id;
    frame(600, 0.35);
    objects.setAreas({
      lines: [
        {
          name: 'door',
          points: [
            [0, 0.5],
            [1, 0.5],
          ],
        },
      ],
    });
    assert.deepEqual(frame(800, 0.4).crossings, []);
    const crossed = frame(1400, 0.55);
    assert.deepEqual(
      crossed.crossings.map((c) => [c.line, c.direction, c.id]),
      [['door', 'in', id]],
    );
    assert.deepEqual(
      crossed.events.filter((e) => e.type !== 'update'),
      [],
    );
    assert.throws(() => objects.setAreas({ lines: [{ name: 'bad', points: [[0.5, 0.5]] }] }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.equal(objects.lines[0]?.name, 'door');
  });
});
