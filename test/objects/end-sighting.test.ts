/**
 * An object's `end` is dated by its last sighting (issue 41, item 7), with
 * real components: a clip made with ffmpeg (320×240, 10 fps) of a red
 * square that moves right for 2 s, stands still, and is gone from 8 s on;
 * the colour detector module read at 4 frames a second with `track`
 * (stationary after 1 s of standing, ended 1 s after its last sighting);
 * the app with mosquitto, the events store and the HTTP API.
 *
 * Standing still, it makes no event for its sightings after it turns
 * stationary: its last `update` is before it is last seen. Expected: on
 * `end`, `after.frame_time` is its last sighting (= `end_time`), not that
 * update's; `frame_age_ms` is counted from it; the box is where it stood; the
 * same on MQTT, in the store and from GET /api/events.
 *
 * No assertion needs capture to keep up with the clip: capture times are wall
 * times, which a loaded machine stretches (or, after a stall, squeezes), so
 * the test asks only that the last sighting comes after the last update, and
 * that the age is one the sighting's time and the end's arrival allow.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../../src/app/index.js';
import { createLogger } from '../../src/internal/logger.js';
import type { TrackedObject } from '../../src/objects/index.js';
import { Mosquitto, Recorder } from '../helpers/mosquitto.js';
import { resolvedConfig } from '../pipeline/helpers.js';

const DETECTOR = fileURLToPath(new URL('./colour-detector.js', import.meta.url));
const PREFIX = `end-sighting-${process.pid}`;
const READ_FPS = 4;
/** Where the square stops (px, its left edge) and when it goes (s). */
const STOP_X = 100;
const GONE_S = 8;

interface FrigateMessage {
  readonly type: 'new' | 'update' | 'end';
  readonly before: TrackedObject;
  readonly after: TrackedObject;
}

describe("an object's end is dated by its last sighting", { timeout: 120_000 }, () => {
  let broker: Mosquitto;
  const dir = mkdtempSync(join(tmpdir(), 'fs-end-sighting-'));
  const clip = join(dir, 'stands-still.mp4');
  before(async () => {
    broker = await Mosquitto.start();
    const graph =
      `color=c=black:s=320x240:r=10:d=12[bg];color=c=red:s=32x32:r=10:d=12[r];` +
      `[bg][r]overlay=x='min(20+40*t,${STOP_X})':y=100:enable='lt(t,${GONE_S})':eval=frame`;
    const encode = ['-an', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', '-bf', '0', '-pix_fmt', 'yuv420p'];
    await promisify(execFile)('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-filter_complex', graph, ...encode, clip]);
  });
  after(async () => {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('frame_time on end is the last sighting (= end_time), on MQTT, in the store and the API', async () => {
    const recorder = await Recorder.connect(broker.url, [`${PREFIX}/events`]);
    const config = resolvedConfig({
      shmDir: `/dev/shm/fs-end-sighting-${process.pid}`,
      cameras: {
        still: {
          source: clip,
          capture: { output: { format: 'rgb24' } },
          workers: [
            { id: 'colours', module: DETECTOR, maxFps: READ_FPS, track: { confirmHits: 2, stationarySeconds: 1, endAfterSeconds: 1, updateSeconds: 1 } },
          ],
        },
      },
      mqtt: { url: broker.url, topicPrefix: PREFIX, discovery: { enabled: false } },
      events: { database: join(dir, 'events.db') },
      http: { host: '127.0.0.1', port: 0, token: 'end-sighting-token-0123456789' },
    });
    const app = createApp(config, { logger: createLogger({ level: 'silent' }), http: { config: config.http! } });
    try {
      await app.start();
      let receivedAt = 0;
      const message = await recorder.waitFor(
        (m) => {
          const e = JSON.parse(m.payload) as Partial<FrigateMessage>;
          const found = e.type === 'end' && e.after?.label === 'red';
          // The wall time the end had arrived by (the app runs in this process: one clock).
          if (found) receivedAt = Date.now();
          return found;
        },
        "red's end",
        { timeoutMs: 60_000 },
      );
      const end = JSON.parse(message.payload) as FrigateMessage;
      // the clip did what it is for: it was seen after its last event, which said it stood still
      assert.ok(
        end.after.end_time! > end.before.frame_time,
        `last sighting ${end.after.end_time} not after the last event's ${end.before.frame_time}: the square did not stand still unreported`,
      );
      assert.equal(end.before.stationary, true, 'its last update said it stood still');
      assert.equal(end.after.frame_time, end.after.end_time, 'frame_time on end is its last sighting');
      // its age is counted from that sighting: the sighting's time plus the age is when the end was made, which is
      // no later than when it arrived here (counted from the earlier update, it would be that much later)
      const madeAt = end.after.frame_time * 1000 + end.after.frame_age_ms;
      assert.ok(
        madeAt <= receivedAt + 1,
        `frame_age_ms ${end.after.frame_age_ms} dates the end ${Math.round(madeAt - receivedAt)} ms after it arrived: not counted from the last sighting`,
      );
      const left = end.after.box[0] * 320;
      assert.ok(Math.abs(left - STOP_X) <= 4, `the box where it stood (left edge ${left} px)`);

      // the store keeps that side, and the API serves it
      const listed = (await (
        await fetch(new URL('/api/events?camera=still&label=red', app.dashboard!.url), {
          headers: { authorization: 'Bearer end-sighting-token-0123456789' },
        })
      ).json()) as { events: TrackedObject[] };
      const stored = listed.events.find((e) => e.id === end.after.id);
      assert.ok(stored !== undefined, 'the ended event is in the store');
      assert.equal(stored.end_time, end.after.end_time);
      assert.equal(stored.frame_time, stored.end_time);
    } finally {
      await app.close();
      await recorder.close();
    }
  });
});
