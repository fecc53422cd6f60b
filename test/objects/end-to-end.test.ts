/**
 * Tracked objects end to end, with real components: a lavfi video (320×240,
 * 10 fps) of a red square moving right at 40 px/s that stops inside the zone
 * `pad` (the right 40 % of the frame's lower half) and a green square moving
 * left along the top until it leaves the frame; a module worker that finds
 * the squares in the pixels, read at 4 frames a second with `track: true`;
 * the app with a real mosquitto, the events store on disk and the HTTP API.
 *
 * Expected: one id per square over its new and updates (and green's end once
 * it has left); red's entry into `pad` when its box's bottom centre crosses
 * x = 0.6 (its left edge at 176 px), within one read interval (a quarter of a
 * second, 10 px); loitering 2 s (loiterSeconds) after entry, within one read
 * interval; a snapshot JPEG retained on MQTT and served by the API; the API's
 * events filtered by zone and label.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../../src/app/index.js';
import { createLogger } from '../../src/internal/logger.js';
import type { TrackedObject } from '../../src/objects/index.js';
import { Mosquitto, Recorder, type Message } from '../helpers/mosquitto.js';
import { resolvedConfig } from '../pipeline/helpers.js';

const DETECTOR = fileURLToPath(new URL('./colour-detector.js', import.meta.url));
const PREFIX = `objects-e2e-${process.pid}`;
const VIDEO =
  "lavfi:color=c=black:s=320x240:r=10[bg];color=c=red:s=32x32:r=10[r];color=c=lime:s=32x32:r=10[g];[bg][r]overlay=x='min(20+40*t,240)':y=180[t1];[t1][g]overlay=x='280-40*t':y=30";
const READ_FPS = 4;
const NODE = `objects-e2e-${process.pid}`;

interface FrigateMessage {
  readonly type: 'new' | 'update' | 'end';
  readonly before: TrackedObject;
  readonly after: TrackedObject;
}

describe('tracked objects end to end: video, detector module, mosquitto, store, HTTP API', { timeout: 120_000 }, () => {
  let broker: Mosquitto;
  const dir = mkdtempSync(join(tmpdir(), 'fs-objects-e2e-'));
  before(async () => {
    broker = await Mosquitto.start();
  });
  after(async () => {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('new/update/end with stable ids, zone entry and loitering on time, snapshots published and served', async () => {
    const recorder = await Recorder.connect(broker.url, [`${PREFIX}/#`, `homeassistant/+/${NODE}/#`]);
    const config = resolvedConfig({
      shmDir: `/dev/shm/fs-objects-e2e-${process.pid}`,
      cameras: {
        gate: {
          source: VIDEO,
          capture: { output: { format: 'rgb24' } },
          workers: [{ id: 'colours', module: DETECTOR, maxFps: READ_FPS, track: { confirmHits: 2 } }],
          zones: {
            pad: {
              polygon: [
                [0.6, 0.5],
                [1, 0.5],
                [1, 1],
                [0.6, 1],
              ],
              loiterSeconds: 2,
            },
          },
        },
      },
      mqtt: { url: broker.url, topicPrefix: PREFIX, clientId: NODE, discovery: { labels: ['red', 'green'] } },
      events: { database: join(dir, 'events.db') },
      http: { host: '127.0.0.1', port: 0, token: 'objects-e2e-token-0123456789' },
    });
    const app = createApp(config, { logger: createLogger({ level: 'silent' }), http: { config: config.http! } });
    const events = (): FrigateMessage[] =>
      recorder.messages
        .filter((m) => m.topic === `${PREFIX}/events`)
        .map((m) => JSON.parse(m.payload) as FrigateMessage)
        .filter((e) => 'before' in e);
    const isEvent = (match: (e: FrigateMessage) => boolean) => (m: Message) =>
      m.topic === `${PREFIX}/events` && 'before' in JSON.parse(m.payload) && match(JSON.parse(m.payload) as FrigateMessage);
    try {
      await app.start();
      const loiter = await recorder.waitFor(
        isEvent((e) => e.after.label === 'red' && e.after.loitering_zones.includes('pad')),
        'red loitering in pad',
      );
      await recorder.waitFor(
        isEvent((e) => e.type === 'end' && e.after.label === 'green'),
        'green ended (left the frame)',
      );
      const all = events();
      const red = all.filter((e) => e.after.label === 'red');
      const green = all.filter((e) => e.after.label === 'green');
      assert.equal(red[0]?.type, 'new');
      assert.equal(green[0]?.type, 'new');
      assert.equal(new Set(red.map((e) => e.after.id)).size, 1, 'one id for red');
      assert.equal(new Set(green.map((e) => e.after.id)).size, 1, 'one id for green');
      assert.notEqual(red[0].after.id, green[0].after.id);
      assert.ok(green.slice(0, -1).every((e) => e.type !== 'end'));

      // entry: the first event with pad in current_zones; its box's left edge is past 176 px, by at most one read interval of travel
      const entry = red.find((e) => e.after.current_zones.includes('pad'))!;
      assert.deepEqual(entry.before.current_zones, []);
      assert.deepEqual(entry.after.entered_zones, ['pad']);
      const left = entry.after.box[0] * 320;
      assert.ok(left >= 176 - 2 && left <= 176 + 40 / READ_FPS + 2, `entered with its left edge at ${left} px`);
      const loitered = JSON.parse(loiter.payload) as FrigateMessage;
      const waited = loitered.after.frame_time - entry.after.frame_time;
      assert.ok(waited >= 2 && waited <= 2 + 1 / READ_FPS + 0.1, `loitering ${waited} s after entry`);
      assert.ok(all.every((e) => e.after.frame_age_ms >= 0 && e.after.start_time > 1e9));

      // zone count retained, the label's count fed by the tracking worker too, snapshots published and served
      await recorder.waitFor((m) => m.topic === `${PREFIX}/gate/zones/pad/red/count` && m.payload === '1', 'pad count');
      await recorder.waitFor((m) => m.topic === `${PREFIX}/gate/objects/red/count` && m.payload === '1', 'red count');
      const snapshot = await recorder.waitFor((m) => m.topic === `${PREFIX}/gate/objects/red/snapshot`, 'red snapshot');
      assert.ok(snapshot.retain || snapshot.payload.length > 0);
      const withSnapshot = await recorder.waitFor(
        isEvent((e) => e.after.label === 'red' && e.after.has_snapshot),
        'has_snapshot',
      );
      // which picture it is: a camera of one stream gives its newest frame when the result came, after the detection's
      const info = (JSON.parse(withSnapshot.payload) as FrigateMessage).after.snapshot;
      assert.equal(info?.stream, 'main');
      assert.deepEqual([info?.width, info?.height], [320, 240]);
      assert.equal(info?.fallback, null);
      assert.ok(info !== null && info.offset_ms >= 0 && info.offset_ms < 2_000, `offset ${info?.offset_ms} ms`);
      const base = app.dashboard!.url;
      const listed = (await (await fetch(new URL('/api/events?zone=pad', base))).json()) as { events: TrackedObject[] };
      assert.deepEqual(
        listed.events.map((e) => e.label),
        ['red'],
      );
      const byLabel = (await (await fetch(new URL('/api/events?camera=gate&label=green', base))).json()) as { events: TrackedObject[] };
      assert.equal(byLabel.events[0]?.id, green[0].after.id);
      assert.notEqual(byLabel.events[0]?.end_time, null);
      const jpeg = await fetch(new URL(`/api/events/${red[0].after.id}/snapshot.jpg`, base));
      assert.equal(jpeg.status, 200);
      assert.equal(jpeg.headers.get('content-type'), 'image/jpeg');
      const bytes = new Uint8Array(await jpeg.arrayBuffer());
      assert.deepEqual([bytes[0], bytes[1]], [0xff, 0xd8]);
      assert.equal((await fetch(new URL('/api/events/1.000000-nosuch/snapshot.jpg', base))).status, 404);

      // Home Assistant: zone occupancy and count, the snapshot image, the worker's switch and restart button…
      const entities = [
        `binary_sensor/${NODE}/gate_pad_red_occupancy`,
        `sensor/${NODE}/gate_pad_green_count`,
        `image/${NODE}/gate_red_snapshot`,
        `switch/${NODE}/gate_colours_enabled`,
        `button/${NODE}/gate_colours_restart`,
      ].map((e) => `homeassistant/${e}/config`);
      for (const topic of entities) await recorder.waitFor((m) => m.topic === topic && m.payload.length > 0, topic);
      const image = JSON.parse(recorder.messages.find((m) => m.topic === entities[2])!.payload) as { image_topic: string };
      assert.equal(image.image_topic, `${PREFIX}/gate/objects/red/snapshot`);
      // …removed with the camera, whose objects end
      const from = recorder.messages.length;
      await app.system.cameras.remove('gate');
      for (const topic of entities) await recorder.waitFor((m) => m.topic === topic && m.payload.length === 0, `${topic} removed`, { from });
      await recorder.waitFor(
        isEvent((e) => e.type === 'end' && e.after.label === 'red'),
        'red ended with its camera',
        { from },
      );
    } finally {
      await app.close();
      await recorder.close();
    }
  });
});
