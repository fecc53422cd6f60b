/**
 * A fall in a private room (ADR 0132, 0139): the alert's snapshot, on MQTT (`<prefix>/<camera>/person_down/snapshot`,
 * Home Assistant's picture) and in the events store (the one the dashboard shows), hides the person down as the
 * camera's privacy says, the whole way through the app as `framesupplier run` builds it: cameras showing a red and
 * white checker everywhere, the project's scripted pose detector (pose-script.ts: a person standing, then falling)
 * as a fall worker on each, a real mosquitto and the events store.
 *
 * - `open`: nothing private (the control: the snapshot shows the checker where the person lies).
 * - `room`: a private zone over the whole floor, people blurred.
 * - `bath`: the whole picture private, people as their skeleton on a flat fill.
 *
 * Expected: each camera's fall is raised with a snapshot; inside the person's box, `open`'s shows the checker's red
 * and texture, `room`'s neither, `bath`'s the flat fill and bones (no red, no white of the checker), on MQTT and in
 * the store alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { connect, type MqttClient } from 'mqtt';
import { createApp, type App } from '../../src/app/index.js';
import { createLogger } from '../../src/internal/logger.js';
import type { FallAlert } from '../../src/care/index.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { nextEvent, resolvedConfig } from '../pipeline/helpers.js';
import { hidden, lookAtJpeg, shown, type Looked } from './picture-looks.js';

/** 320 × 240 of red squares on a white grid: whatever the person's box covers has the checker's red and texture. */
const SOURCE = 'lavfi:color=c=red:s=320x240:r=10,drawgrid=w=8:h=8:t=4:c=white';
const SCRIPT = fileURLToPath(new URL('../objects/pose-script.js', import.meta.url));
const PREFIX = 'falls-privacy-test';
const TOKEN = 'falls-privacy-test-token-0123456789abcdef';
const CAMERAS = ['open', 'room', 'bath'] as const;
const WHOLE = [
  [0, 0],
  [1, 0],
  [1, 1],
  [0, 1],
];

/** The middle of a box (0–1), away from the snapshot's drawn box and its label. */
function inside(box: readonly [number, number, number, number]): [number, number, number, number] {
  const [x1, y1, x2, y2] = box;
  const w = x2 - x1;
  const h = y2 - y1;
  return [x1 + 0.15 * w, y1 + 0.35 * h, x2 - 0.15 * w, y2 - 0.15 * h];
}

const skeleton = (l: Looked, what: string): void => {
  assert.equal(l.red, 0, `${what}: no red of the checker (${JSON.stringify(l)})`);
  assert.equal(l.white, 0, `${what}: no white of the checker (${JSON.stringify(l)})`);
  assert.ok(l.filled > 0.6, `${what}: the flat fill and the skeleton's bones (${JSON.stringify(l)})`);
};

describe('a fall in a private room: its snapshot hides the person down', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `fs-falls-privacy-${process.pid}-`));
  let broker: Mosquitto;
  let snapshots: MqttClient;
  const pictures = new Map<string, Buffer>();
  const topic = (camera: string): string => `${PREFIX}/${camera}/person_down/snapshot`;
  /** Resolved when every camera's snapshot has come on the broker. */
  let allPictures!: Promise<void>;
  let app: App;
  const alerts = new Map<string, FallAlert>();

  before(async () => {
    broker = await Mosquitto.start();
    snapshots = connect(broker.url, { clientId: `falls-privacy-snapshots-${process.pid}` });
    allPictures = new Promise((resolve) =>
      snapshots.on('message', (at, payload) => {
        if (payload.length > 0) pictures.set(at, Buffer.from(payload));
        if (CAMERAS.every((c) => pictures.has(topic(c)))) resolve();
      }),
    );
    await new Promise<void>((resolve) => snapshots.once('connect', () => resolve()));
    await snapshots.subscribeAsync(`${PREFIX}/+/person_down/snapshot`, { qos: 1 });
    const worker = { id: 'people', module: SCRIPT, maxFps: 5, falls: true };
    const camera = (entry: object) => ({ source: SOURCE, capture: { output: { format: 'rgb24' } }, workers: [worker], ...entry });
    const config = resolvedConfig({
      shmDir: `/dev/shm/fs-falls-privacy-${process.pid}`,
      cameras: {
        open: camera({}),
        room: camera({ zones: { floor: { polygon: WHOLE, private: true } } }),
        bath: camera({ privacy: { whole: true, show: 'skeleton' } }),
      },
      mqtt: { url: broker.url, topicPrefix: PREFIX, clientId: 'falls-privacy-test' },
      events: { database: join(dir, 'events.db') },
      http: { host: '127.0.0.1', port: 0, token: TOKEN },
    });
    app = createApp(config, {
      logger: createLogger({ level: 'silent' }),
      http: { config: config.http! },
      tokenFile: join(dir, 'http-token'),
      fallStateFile: join(dir, 'fall-alerts.json'),
    });
    // each camera's fall once its snapshot is kept (the update that says so)
    const snapshotted = Promise.all(
      CAMERAS.map((id) => nextEvent(app.system, 'fall', (e) => e.event.after.camera === id && e.event.after.kind === 'fall' && e.event.after.has_snapshot)),
    );
    await app.start();
    for (const e of await snapshotted) alerts.set(e.event.after.camera, e.event.after);
  });

  after(async () => {
    await app?.close();
    await snapshots?.endAsync();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const judge = async (camera: (typeof CAMERAS)[number], jpeg: Buffer, where: string): Promise<void> => {
    const looked = await lookAtJpeg(jpeg, inside(alerts.get(camera)!.box));
    if (camera === 'open') shown(looked, `open ${where}`);
    else if (camera === 'room') hidden(looked, `room ${where}`);
    else skeleton(looked, `bath ${where}`);
  };

  it('on MQTT (Home Assistant’s picture of the person down)', async () => {
    await allPictures;
    for (const camera of CAMERAS) await judge(camera, pictures.get(topic(camera))!, 'on MQTT');
  });

  it('in the events store (the dashboard’s)', async () => {
    for (const camera of CAMERAS) {
      const response = await fetch(`${app.dashboard!.url.replace(/\/$/, '')}/api/events/${alerts.get(camera)!.id}/snapshot.jpg`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(response.status, 200, camera);
      await judge(camera, Buffer.from(await response.arrayBuffer()), 'in the store');
    }
  });
});
