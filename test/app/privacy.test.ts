/// <reference lib="dom" />
/**
 * Private rooms stay private (ADR 0139), path by path, the whole way: the app as `framesupplier run` builds it,
 * cameras showing a red and white checkered patch (a "person", found by a real detector of its pixels:
 * patch-person.ts) on grey, a real mosquitto, the events store, a stand-in vision-language server, the HTTP API
 * and the dashboard in Debian's Chromium.
 *
 * - `open`: nothing private (the control: every path shows the person's red squares and their texture).
 * - `room`: a private zone over the left half, where the person stands (blurred); its cascade, its vlm worker.
 * - `bath`: the whole picture private, shown as skeletons (the person's box filled flat).
 * - `dark`: the whole picture private and no detector: nothing is known of its people (fail closed: blurred whole).
 *
 * Expected: for `room`, no red square of the person is left and its texture is gone in the live view (latest.jpg
 * and the dashboard's canvas), the snapshot on MQTT, the events store's snapshot (the one the dashboard shows),
 * the cascade's crops (what its second model saw) and the vlm request's picture; the grey beside the zone as it
 * was. For `bath`, the person's box is the flat fill; for `dark`, the whole picture has no texture. For `open`, all
 * of them show the person.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect, type MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { createApp, type App } from '../../src/app/index.js';
import { createLogger } from '../../src/internal/logger.js';
import type { EventOf } from '../../src/pipeline/index.js';
import { launchBrowser, type Browser } from '../helpers/browser.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { eventually, eventuallyAsync } from '../helpers/process.js';
import { FakeVlmServer } from '../helpers/vlm-server.js';
import { nextEvent, resolvedConfig } from '../pipeline/helpers.js';
import { hidden, look, lookAtJpeg, shown, type Looked } from './picture-looks.js';

/** 320 × 240 grey, the checkered patch (red squares on a white grid, 64 × 96) at x 48–112, y 72–168. */
const SOURCE = 'lavfi:color=c=gray:s=320x240:r=5[bg];color=c=red:s=64x96:r=5,drawgrid=w=8:h=8:t=4:c=white[p];[bg][p]overlay=x=48:y=72';
/** The patch's box, 0–1, a few pixels inside (away from a snapshot's drawn box). */
const INNER = [52 / 320, 76 / 240, 108 / 320, 164 / 240] as const;
/** Grey well away from the patch and outside the private zone. */
const BESIDE = [230 / 320, 100 / 240, 300 / 320, 200 / 240] as const;
const PREFIX = 'privacy-test';
const TOKEN = 'privacy-test-token-0123456789abcdef';
const DETECTOR = fileURLToPath(new URL('./patch-person.js', import.meta.url));
const PROBE = fileURLToPath(new URL('./crop-probe.js', import.meta.url));
const LEFT_HALF = [
  [0, 0],
  [0.5, 0],
  [0.5, 1],
  [0, 1],
];

const grey = (l: Looked, what: string): void => {
  assert.ok(l.mean.every((v) => Math.abs(v - 128) < 8) && l.variation < 4, `${what}: the grey beside is as it was (${JSON.stringify(l)})`);
};

describe('private rooms stay private: every path a picture leaves by', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `fs-privacy-${process.pid}-`));
  let broker: Mosquitto;
  let snapshots: MqttClient;
  const pictures = new Map<string, Buffer>();
  let vlm: FakeVlmServer;
  let app: App;
  let browser: Browser;
  let page: Page;
  const crops = new Map<string, EventOf<'result'>>();
  const errors: string[] = [];

  const get = async (path: string): Promise<Response> => {
    const response = await fetch(`${app.dashboard!.url.replace(/\/$/, '')}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(response.status, 200, `${path}: ${response.status}`);
    return response;
  };
  const latest = async (camera: string): Promise<Buffer> => Buffer.from(await (await get(`/api/cameras/${camera}/latest.jpg`)).arrayBuffer());
  /** The next latest.jpg of a camera once its detector has seen the person (a snapshot is wanted). */
  const seen = (camera: string): Promise<unknown> => nextEvent(app.system, 'tracked-object', (e) => e.event.after.camera === camera);

  before(async () => {
    broker = await Mosquitto.start();
    snapshots = connect(broker.url, { clientId: `privacy-snapshots-${process.pid}` });
    snapshots.on('message', (topic, payload) => {
      if (payload.length > 0) pictures.set(topic, Buffer.from(payload));
    });
    await new Promise<void>((resolve) => snapshots.once('connect', () => resolve()));
    await snapshots.subscribeAsync(`${PREFIX}/+/objects/person/snapshot`, { qos: 1 });
    vlm = new FakeVlmServer();
    await vlm.start();
    const detector = { id: 'detect', module: DETECTOR, track: { confirmHits: 1 } };
    const vlmWorker = (camera: string) => ({
      id: 'ask',
      vlm: {
        api: 'openai',
        url: vlm.url('openai'),
        model: 'llava',
        prompt: `camera ${camera}: what happens?`,
        image: { crop: false, size: 320, quality: 95 },
        // the whole frame every second: the person is in it (an object's `new` may come before the worker listens)
        triggers: { intervalS: 1 },
      },
    });
    const cascade = { id: 'pose', module: PROBE, crops: { of: 'detect', size: 64 } };
    const camera = (entry: object) => ({ source: SOURCE, capture: { output: { format: 'rgb24' } }, ...entry });
    const config = resolvedConfig({
      shmDir: `/dev/shm/fs-privacy-${process.pid}`,
      cameras: {
        open: camera({ workers: [detector, cascade, vlmWorker('open')] }),
        room: camera({ zones: { bed: { polygon: LEFT_HALF, private: true } }, workers: [detector, cascade, vlmWorker('room')] }),
        bath: camera({ privacy: { whole: true, show: 'skeleton' }, workers: [detector] }),
        dark: camera({ privacy: { whole: true }, workers: [] }),
      },
      mqtt: { url: broker.url, topicPrefix: PREFIX, clientId: 'privacy-test' },
      events: { database: join(dir, 'events.db') },
      http: { host: '127.0.0.1', port: 0, token: TOKEN },
    });
    app = createApp(config, { logger: createLogger({ level: 'silent' }), http: { config: config.http! }, tokenFile: join(dir, 'http-token') });
    app.system.on('result', (e) => {
      if (e.worker === 'pose') crops.set(e.camera, e);
    });
    const people = Promise.all(['open', 'room', 'bath'].map(seen));
    await app.start();
    await people;
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await snapshots?.endAsync();
    await broker?.close();
    await vlm?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the live view (latest.jpg): the person blurred in the private zone, a flat fill as a skeleton, all blurred with nobody known; shown when not private', async () => {
    shown(await lookAtJpeg(await latest('open'), INNER), 'open');
    const room = await latest('room');
    hidden(await lookAtJpeg(room, INNER), 'room');
    grey(await lookAtJpeg(room, BESIDE), 'room beside the zone');
    const bath = await lookAtJpeg(await latest('bath'), INNER);
    assert.equal(bath.red, 0, `bath: no red (${JSON.stringify(bath)})`);
    assert.equal(bath.white, 0, `bath: no white of the person's checker (${JSON.stringify(bath)})`);
    // the rest: where JPEG blends a bone's edge into the fill
    assert.ok(bath.filled > 0.6, `bath: the flat fill and the skeleton's bones (${JSON.stringify(bath)})`);
    const dark = await latest('dark');
    hidden(await lookAtJpeg(dark, INNER), 'dark (no detector: fail closed)');
    hidden(await lookAtJpeg(dark, [0, 0, 1, 1]), 'dark, the whole picture');
  });

  it('snapshots on MQTT and in the events store (the dashboard shows those): the person blurred', async () => {
    const topic = (camera: string): string => `${PREFIX}/${camera}/objects/person/snapshot`;
    await eventually(() => pictures.has(topic('open')) && pictures.has(topic('room')), 'the snapshots on MQTT', 60_000);
    shown(await lookAtJpeg(pictures.get(topic('open'))!, INNER), 'open on MQTT');
    hidden(await lookAtJpeg(pictures.get(topic('room'))!, INNER), 'room on MQTT');
    for (const [camera, check] of [
      ['open', shown],
      ['room', hidden],
    ] as const) {
      let id: string | undefined;
      await eventuallyAsync(
        async () => {
          const { events } = (await (await get(`/api/events?camera=${camera}`)).json()) as { events: { id: string; has_snapshot: boolean }[] };
          id = events.find((e) => e.has_snapshot)?.id;
          return id !== undefined;
        },
        `${camera}'s stored snapshot`,
        60_000,
      );
      const jpeg = Buffer.from(await (await get(`/api/events/${id!}/snapshot.jpg`)).arrayBuffer());
      check(await lookAtJpeg(jpeg, INNER), `${camera} in the events store`);
    }
  });

  it("cascade crops: the second model sees the person's blur", async () => {
    await eventually(() => crops.has('open') && crops.has('room'), 'crops of both cameras', 60_000);
    const open = crops.get('open')!.output as { red: number; variation: number };
    const room = crops.get('room')!.output as { red: number; variation: number };
    assert.ok(open.red > 100 && open.variation > 40, `open's crop shows the person: ${JSON.stringify(open)}`);
    assert.equal(room.red, 0, `room's crop: ${JSON.stringify(room)}`);
    assert.ok(room.variation < 12, `room's crop has no texture: ${JSON.stringify(room)}`);
  });

  it("the vlm request's picture: the person blurred", async () => {
    await eventually(() => ['open', 'room'].every((c) => vlm.requests.some((r) => r.prompt.includes(`camera ${c}:`))), 'a vlm ask of each camera', 60_000);
    const of = (camera: string): Buffer => vlm.requests.find((r) => r.prompt.includes(`camera ${camera}:`))!.jpeg!;
    shown(await lookAtJpeg(of('open'), INNER), 'open to the vlm');
    hidden(await lookAtJpeg(of('room'), INNER), 'room to the vlm');
    grey(await lookAtJpeg(of('room'), BESIDE), 'room to the vlm, beside the zone');
  });

  it("the dashboard's live view in Chromium: the private camera's canvas has the person blurred", async () => {
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    const { url, token } = app.dashboard!;
    await page.goto(`${url}#token=${token.value}`);
    // the detections' boxes off: the canvas is the picture (and the zone's outline and tint)
    await page.click('#boxes-toggle');
    const canvasLook = async (camera: string): Promise<Looked> => {
      await page.waitForFunction((id) => Number(document.querySelector(`canvas[data-camera="${id}"]`)?.getAttribute('data-frames') ?? 0) >= 3, camera, {
        timeout: 60_000,
      });
      const { data, width, height } = await page.evaluate((id) => {
        const canvas = document.querySelector<HTMLCanvasElement>(`canvas[data-camera="${id}"]`)!;
        const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        const rgb: number[] = [];
        for (let i = 0; i < pixels.length; i += 4) rgb.push(pixels[i]!, pixels[i + 1]!, pixels[i + 2]!);
        return { data: rgb, width: canvas.width, height: canvas.height };
      }, camera);
      return look(Uint8Array.from(data), width, height, INNER);
    };
    const open = await canvasLook('open');
    assert.ok(open.variation > 40, `open's canvas shows the person's texture: ${JSON.stringify(open)}`);
    const room = await canvasLook('room');
    assert.ok(room.variation < 12, `room's canvas: the person's texture is gone: ${JSON.stringify(room)}`);
    assert.deepEqual(errors, []);
  });
});
