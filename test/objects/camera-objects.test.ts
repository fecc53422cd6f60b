/**
 * Zones, masks and the Frigate-payload events of one camera: entry and exit
 * by the box's bottom centre, loitering after loiterSeconds of capture time,
 * zone filters, masks, new/update/end with before and after, snapshots asked
 * for only when the best score improves and at most once a second, and the
 * polygon checks the config relies on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CameraObjects, Zone, polygonProblem, trackableDetections, type Box, type Detection, type TrackedEvent } from '../../src/objects/index.js';

const square = (cx: number, bottom: number, size = 0.1): Box => [cx - size / 2, bottom - size, cx + size / 2, bottom];
const det = (box: Box, score = 0.9, label = 'person'): Detection => ({ label, score, box });
/** The right half of the frame, bottom half. */
const DRIVEWAY = [
  [0.5, 0.5],
  [1, 0.5],
  [1, 1],
  [0.5, 1],
] as const;
const WALL = 1_700_000_000_000;

function feed(objects: CameraObjects, frames: { t: number; dets: Detection[] }[]): TrackedEvent[] {
  const out: TrackedEvent[] = [];
  for (const f of frames) out.push(...objects.update({ time: f.t, wallTime: WALL + f.t, detections: f.dets }).events);
  return out;
}

describe('camera objects: zones, masks, events', { timeout: 60_000 }, () => {
  it('new, then an update on entering the zone (bottom centre inside, not the box), loitering after loiterSeconds, exit, end', () => {
    const objects = new CameraObjects({
      camera: 'gate',
      worker: 'det',
      zones: [{ name: 'driveway', polygon: DRIVEWAY, loiterSeconds: 2 }],
      tracker: { stationarySeconds: 60 },
    });
    // walks down and right at 0.1 frame a second, from a bottom centre of (0.3, 0.29) to (0.7, 0.69), then stays
    const at = (t: number): Box => {
      const s = Math.min(t, 4000) / 1000;
      return square(0.3 + 0.1 * s, 0.29 + 0.1 * s);
    };
    const all: TrackedEvent[] = [];
    const first = feed(
      objects,
      [0, 200, 400].map((t) => ({ t, dets: [det(at(t))] })),
    );
    assert.deepEqual(
      first.map((e) => e.type),
      ['new'],
    );
    assert.deepEqual(first[0]!.after.current_zones, []);
    assert.equal(first[0]!.after.camera, 'gate');
    assert.match(first[0]!.after.id, /^\d+\.\d{6}-[a-z0-9]{6}$/);
    assert.equal(first[0]!.after.start_time, WALL / 1000);
    const events = first;
    for (let t = 600; t <= 6400; t += 200) all.push(...feed(objects, [{ t, dets: [det(at(t))] }]));
    // the box overlaps the zone from 1.5 s, its bottom centre is inside only past 2 s: entered at 2.2 s
    const entry = all.filter((e) => e.after.current_zones.length > 0 && e.before.current_zones.length === 0);
    assert.equal(entry.length, 1);
    assert.equal(entry[0]!.after.frame_time, (WALL + 2200) / 1000);
    assert.deepEqual(entry[0]!.after.entered_zones, ['driveway']);
    assert.deepEqual(objects.zoneCounts(), [{ zone: 'driveway', label: 'person', count: 1 }]);
    const loiter = all.filter((e) => e.after.loitering_zones.length > 0 && e.before.loitering_zones.length === 0);
    assert.equal(loiter.length, 1);
    // entered at 2.2 s, loiterSeconds 2: loitering from the first frame at or after 4.2 s
    assert.equal(loiter[0]!.after.frame_time, (WALL + 4200) / 1000);
    assert.ok(all.every((e) => e.type === 'update' && e.after.id === first[0]!.after.id));
    // walks back out at 0.1 frame a second
    const back: number[] = [];
    for (let t = 6600; t <= 9000; t += 200) back.push(t);
    const out = feed(
      objects,
      back.map((t) => ({ t, dets: [det(square(0.7 - (t - 6400) / 10_000, 0.69 - (t - 6400) / 10_000))] })),
    );
    assert.ok(out.some((e) => e.type === 'update' && e.after.current_zones.length === 0 && e.after.entered_zones[0] === 'driveway'));
    const end = objects.expire(9000 + 2000, WALL + 11_000).events;
    assert.equal(end.length, 1);
    assert.equal(end[0]!.type, 'end');
    assert.equal(end[0]!.after.end_time, (WALL + 9000) / 1000);
    assert.deepEqual(objects.zoneCounts(), []);
    assert.equal(end[0]!.after.id, events[0]!.after.id);
  });

  it('zone filters: labels, least area, least score', () => {
    const zone = new Zone({ name: 'z', polygon: DRIVEWAY, labels: ['car'], minArea: 0.02, minScore: 0.6 });
    const box = square(0.75, 0.8, 0.2);
    assert.equal(zone.contains('car', 0.9, box), true);
    assert.equal(zone.contains('person', 0.9, box), false);
    assert.equal(zone.contains('car', 0.5, box), false);
    assert.equal(zone.contains('car', 0.9, square(0.75, 0.8, 0.1)), false);
  });

  it('a detection standing in a mask is ignored', () => {
    const objects = new CameraObjects({ camera: 'gate', worker: 'det', masks: [DRIVEWAY] });
    const events = feed(
      objects,
      [0, 100, 200, 300].map((t) => ({ t, dets: [det(square(0.75, 0.8)), det(square(0.2, 0.3))] })),
    );
    assert.equal(events.length, 1);
    assert.equal(events[0]!.after.box[0], square(0.2, 0.3)[0]);
  });

  it('snapshots: asked for when the best score improves, at most once a second; has_snapshot after snapshotSaved()', () => {
    const objects = new CameraObjects({ camera: 'gate', worker: 'det' });
    const asked: number[] = [];
    const scores = [0.6, 0.6, 0.7, 0.8, 0.9, 0.85, 0.95, 0.95, 0.99, 0.95, 0.995];
    scores.forEach((score, i) => {
      const out = objects.update({ time: i * 300, wallTime: WALL + i * 300, detections: [det(square(0.3, 0.5), score)] });
      for (const s of out.snapshots) asked.push(s.score);
    });
    // confirmed at 600 (0.7: asked), 0.8 at 900 and 0.9 at 1200 too soon, 0.95 at 1800 (asked), 0.99 at 2400 too soon, 0.995 at 3000 (asked)
    assert.deepEqual(asked, [0.7, 0.95, 0.995]);
    const id = objects.objects()[0]!.id;
    const info = { stream: 'main', width: 1280, height: 720, frame_time: (WALL + 2400) / 1000, offset_ms: 40, fallback: null };
    const saved = objects.snapshotSaved(id, WALL + 2500, info);
    assert.equal(saved?.after.has_snapshot, true);
    assert.equal(saved?.before.has_snapshot, false);
    assert.deepEqual(saved?.after.snapshot, info);
    assert.equal(saved?.before.snapshot, null);
    // a better snapshot later: another update, saying which picture it is now
    const better = { ...info, stream: 'sub', offset_ms: -20, fallback: 'stream main: not streaming' };
    const again = objects.snapshotSaved(id, WALL + 3100, better);
    assert.deepEqual(again?.before.snapshot, info);
    assert.deepEqual(again?.after.snapshot, better);
    // and the object's later events carry it
    const next = objects.update({ time: 3300, wallTime: WALL + 3300, detections: [det(square(0.3, 0.5), 0.9)] });
    for (const e of next.events) assert.deepEqual(e.after.snapshot, better);
    assert.equal(objects.snapshotSaved('nope', WALL, info), null);
  });

  it("live(): each object's latest matched box and score, while events carry a moving box at most once per updateSeconds", () => {
    const objects = new CameraObjects({ camera: 'gate', worker: 'det', tracker: { confirmHits: 2 } });
    // moves right 0.01 of the frame each 100 ms (a box 0.1 wide: its IoU with the one before stays above 0.9 for a while)
    const box = (t: number): Box => square(0.2 + t / 10_000, 0.4);
    feed(
      objects,
      [0, 100, 200, 300, 400].map((t) => ({ t, dets: [det(box(t), 0.8)] })),
    );
    const [live] = objects.live();
    const [described] = objects.objects();
    assert.deepEqual(live!.box, box(400));
    assert.notDeepEqual(described!.box, box(400), 'the latest event still has an older box');
    assert.equal(live!.id, described!.id);
    assert.equal(live!.frame_time, (WALL + 400) / 1000);
    assert.deepEqual(live!.current_zones, []);
    objects.endAll(WALL + 600);
    assert.deepEqual(objects.live(), []);
  });

  it('frame_age_ms is how old the frame was when the event was made', () => {
    const objects = new CameraObjects({ camera: 'gate', worker: 'det', tracker: { confirmHits: 1 } });
    const out = objects.update({ time: 5, wallTime: WALL, now: WALL + 120, detections: [det(square(0.3, 0.5))] });
    assert.equal(out.events[0]!.after.frame_age_ms, 120);
  });

  it('polygon checks: fewer than 3 points, outside 0–1, self-intersecting', () => {
    assert.match(
      polygonProblem([
        [0, 0],
        [1, 1],
      ]) ?? '',
      /at least 3 points/,
    );
    assert.match(
      polygonProblem([
        [0, 0],
        [1.2, 0],
        [1, 1],
      ]) ?? '',
      /inside the frame/,
    );
    assert.match(
      polygonProblem([
        [0, 0],
        [1, 1],
        [1, 0],
        [0, 1],
      ]) ?? '',
      /intersect itself/,
    );
    assert.equal(polygonProblem(DRIVEWAY as unknown as unknown[]), null);
    assert.match(polygonProblem([[0, 0], 'x', [1, 1]]) ?? '', /point 1/);
  });

  it('any convex polygon (points sorted by angle round a centre) is accepted', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.double({ min: 0, max: 2 * Math.PI - 0.01, noNaN: true }), {
          minLength: 3,
          maxLength: 12,
          comparator: (a, b) => Math.abs(a - b) < 0.05,
        }),
        (angles) => {
          const points = angles.sort((a, b) => a - b).map((a) => [0.5 + 0.4 * Math.cos(a), 0.5 + 0.4 * Math.sin(a)]);
          assert.equal(polygonProblem(points), null);
        },
      ),
    );
  });

  it('detections from worker output: the standard shape and its aliases; bad items skipped', () => {
    assert.equal(trackableDetections({ nothing: 1 }), null);
    assert.deepEqual(
      trackableDetections({
        detections: [
          { class_name: 'car', confidence: 0.8, bbox: [0.5, 0.6, 0.1, 0.2] },
          { label: 'dog', score: 0.4, box: [0, 0, 1.5, 0.5] },
          { label: 'x', score: 2, box: [0, 0, 1, 1] },
          { label: 'y', score: 0.5 },
          null,
        ],
      }),
      [
        { label: 'car', score: 0.8, box: [0.1, 0.2, 0.5, 0.6] },
        { label: 'dog', score: 0.4, box: [0, 0, 1, 0.5] },
      ],
    );
  });
});
