/**
 * A person only the second look finds (ADR 0189), with the system's parts as it wires them and a scripted model: the
 * whole frame finds nobody (a pose network that does not see someone lying), a look's square finds the person lying
 * when it holds the middle of their body. A camera started on them lying on the floor: the start's sweep finds them,
 * the next looks make the tracker confirm them, the looks for a person lost inside the picture keep them tracked,
 * and the fall rule raises `down` after downSeconds, a sighting like any other; no `fall` (no descent was seen).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FALL_TRACKER_DEFAULTS } from '../../src/care/index.js';
import type { Detection } from '../../src/ipc/index.js';
import { CameraObjects } from '../../src/objects/index.js';
import { SecondLook } from '../../src/pipeline/camera/second-look.js';
import { FallAlerts } from '../../src/pipeline/watches/falls.js';
import type { SystemEvent } from '../../src/pipeline/index.js';
import type { Frame } from '../../src/supplier/index.js';
import { FALLS, WALL } from '../helpers/fall-rig.js';
import { LYING, poseAtTime } from '../helpers/poses.js';

const W = 640;
const H = 480;
const INPUT = 192;
const DOWN_SECONDS = 20;

const frame = (captureTime: number): Frame =>
  ({ payload: new Uint8Array(W * H * 3), width: W, height: H, format: 'rgb24', seq: 1, streamId: 'room', captureTime, wallTime: 0 }) as unknown as Frame;

describe('a person only the looks find', { timeout: 10_000 }, () => {
  it('lying on the floor when the camera started: found by the sweep, tracked, and `down` after downSeconds', async () => {
    const events: string[] = [];
    const alerts = new FallAlerts({
      emit: (e: SystemEvent) => void (e.type === 'fall' && e.event.type === 'new' && events.push(e.event.after.kind)),
      now: () => WALL,
    });
    const objects = new CameraObjects({ camera: 'room', worker: 'people', tracker: FALL_TRACKER_DEFAULTS });
    const look = new SecondLook({ lost: () => alerts.lost('room', 'people'), sweep: (time) => alerts.sweep('room', 'people', time) });
    const lying = poseAtTime({ ...LYING, x: 0.35 }, [], 0, { floor: 0.75 });
    const [cx, cy] = [((lying.box[0] + lying.box[2]) / 2) * W, ((lying.box[1] + lying.box[3]) / 2) * H];
    const person: Detection = { class_id: 0, class_name: 'person', confidence: 0.6, bbox: lying.box, keypoints: lying.keypoints };
    let downAt: number | null = null;
    for (let time = 0; time <= (DOWN_SECONDS + 30) * 1000 && downAt === null; time += 200) {
      const plan = await look.plan(frame(time), INPUT);
      // The whole frame finds nobody; a look's square finds them when it holds the middle of their body.
      const seen = (plan?.crops ?? []).some(
        (c) => c.look === true && cx >= c.region[0] && cx < c.region[0] + c.region[2] && cy >= c.region[1] && cy < c.region[1] + c.region[3],
      );
      const detections = seen ? [person] : [];
      if (plan !== null) look.answered(plan, detections);
      const out = objects.update({
        time,
        wallTime: WALL + time,
        now: WALL + time,
        detections: detections.map((d) => ({ label: 'person', score: d.confidence, box: d.bbox, keypoints: d.keypoints! })),
        aspect: W / H,
      });
      const ended = out.events.filter((e) => e.type === 'end').map((e) => e.after.id);
      alerts.onFrame({
        camera: 'room',
        worker: 'people',
        falls: { ...FALLS, downSeconds: DOWN_SECONDS },
        time,
        wallTime: WALL + time,
        now: WALL,
        people: out.people,
        ended,
      });
      if (events.includes('down')) downAt = time;
    }
    assert.deepEqual(events, ['down'], 'down, and no fall');
    assert.ok(downAt !== null && downAt >= DOWN_SECONDS * 1000 && downAt <= (DOWN_SECONDS + 20) * 1000, `down at ${downAt} ms`);
    const stats = look.stats();
    assert.ok(stats.sweepLooks >= 1 && stats.sweepLooks <= 8, `the start's sweep: ${stats.sweepLooks} tiles`);
    assert.ok(stats.looks <= downAt / 1000 + 3, `at most a look a second after: ${stats.looks}`);
  });
});
