/**
 * A vlm worker in the whole app (ADR 0050): a camera of coloured squares, a
 * tracking detector of the red one, and a vlm worker asking a stand-in
 * OpenAI-compatible server (test/helpers/vlm-server.ts) about each new red
 * object. The request carries the red crop at the asked size and the key in
 * its header only; the answer lands on MQTT (mosquitto: the retained answer
 * topic, Frigate's tracked_object_update, Home Assistant discovery of a
 * sensor and a binary_sensor per boolean field), on the object's stored event
 * as `description` (GET /api/events) and in the dashboard's event list (a real
 * chromium), and the key is in no MQTT message, API answer or log line. An
 * `end` trigger asks about the object's stored best snapshot (the events
 * store's), not a frame of now, and its answer lands on the ended event; so
 * is an object that ended while it waited for the model (another object's
 * ask held by the stand-in until then, ADR 0067).
 * Four objects confirmed on one frame, a model holding each request 500 ms:
 * each described once from a frame newer than its trigger (ADR 0067), the
 * tokens summed as the stand-in counted them (and the dashboard's `asks`
 * cell says the pending and tokens figures of /api/stats); switched off
 * through the API, no ask goes and the worker reads at most one frame more
 * while the camera's detector goes on for ten, and with --save-config it
 * stays off after a restart; the MQTT switch (Home Assistant's) is saved the
 * same way.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { createApp } from '../../src/app/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { Mosquitto, Recorder } from '../helpers/mosquitto.js';
import { FakeVlmServer, type VlmRequestRecord } from '../helpers/vlm-server.js';
import { nextResults, resolvedConfig } from '../pipeline/helpers.js';
import { parseConfig } from '../../src/config/index.js';
import type { VlmOutput } from '../../src/workers/index.js';
import type { EventOf } from '../../src/pipeline/index.js';
import { eventuallyAsync } from '../helpers/process.js';
import { launchBrowser } from '../helpers/browser.js';

const KEY = 'sk-app-test-9f8e7d6c5b4a-SECRET';
const SQUARES = 'lavfi:color=c=white:size=320x240:rate=10,drawbox=x=40:y=40:w=80:h=80:color=red:t=fill,drawbox=x=200:y=120:w=80:h=80:color=blue:t=fill';

type Rgb = (r: number, g: number, b: number) => boolean;
const RED: Rgb = (r, g, b) => r > 180 && g < 90 && b < 90;
const BLUE: Rgb = (r, g, b) => b > 180 && r < 90 && g < 90;

/**
 * The picture a request carried is `snapshot` (an event's GET /api/events/:id/snapshot.jpg, the whole frame with its
 * box drawn) scaled to `size` wide, not a frame of now: its size, the square (`colour`) in it, pixel for pixel.
 */
async function assertSentSnapshot(sent: Buffer, snapshot: Buffer, size: number, colour: Rgb): Promise<void> {
  const stored = await sharp(snapshot).metadata();
  const picture = await sharp(sent).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([picture.info.width, picture.info.height], [size, Math.round((size * stored.height) / stored.width)]);
  let coloured = 0;
  for (let i = 0; i < picture.data.length; i += picture.info.channels) if (colour(picture.data[i]!, picture.data[i + 1]!, picture.data[i + 2]!)) coloured++;
  assert.ok(coloured > 4, `the square is in the picture sent (${coloured} pixels of its colour)`);
  const comparable = await sharp(snapshot).resize(picture.info.width, picture.info.height).raw().toBuffer();
  let difference = 0;
  for (let i = 0; i < comparable.length; i++) difference += Math.abs(comparable[i]! - picture.data[i]!);
  assert.ok(difference / comparable.length < 12, `the picture sent is the stored snapshot (mean difference ${difference / comparable.length})`);
}

describe('vlm workers in the app', { timeout: 180_000 }, () => {
  let broker: Mosquitto;
  let server: FakeVlmServer;
  let dir: string;
  before(async () => {
    broker = await Mosquitto.start();
    server = await new FakeVlmServer({ apiKey: KEY }).start();
    dir = mkdtempSync(join(tmpdir(), 'vlm-app-'));
  });
  after(async () => {
    await broker.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a new red object: its red crop asked about; the answer on MQTT, in Home Assistant discovery and on the stored event; the key nowhere else', async () => {
    process.env.VLM_APP_TEST_KEY = KEY;
    const schema = { type: 'object', properties: { colour: { type: 'string' }, person: { type: 'boolean' } }, required: ['colour', 'person'] };
    server.answer = () => JSON.stringify({ colour: 'red', person: false });
    const config = resolvedConfig({
      cameras: {
        squares: {
          source: SQUARES,
          capture: { output: { format: 'rgb24' } },
          workers: [
            { id: 'detector', module: fileURLToPath(new URL('./squares-detector.js', import.meta.url)), track: { confirmHits: 1 } },
            // a cascade on the detector's crops: its last result is a Home Assistant sensor too
            { id: 'shape', module: 'builtin:motion', maxFps: 2, crops: { of: 'detector', labels: ['red'], margin: 0, size: 32 } },
            {
              id: 'vlm',
              vlm: {
                api: 'openai',
                url: server.url('openai'),
                model: 'llava',
                apiKeyEnv: 'VLM_APP_TEST_KEY',
                name: 'colour',
                prompt: 'What colour is the {{label}} on {{camera}}?',
                schema,
                image: { margin: 0, size: 64 },
                triggers: { objects: { of: 'detector', labels: ['red'], on: ['new'] } },
              },
            },
          ],
        },
      },
      mqtt: { url: broker.url, topicPrefix: 'vlmtest', clientId: 'vlmtest' },
      events: { database: join(dir, 'events.db') },
    });
    const logFile = join(dir, 'log.jsonl');
    const recorder = await Recorder.connect(broker.url, ['vlmtest/#', 'homeassistant/#']);
    const app = createApp(config, {
      logger: createLogger({ level: 'debug', destination: logFile }),
      http: { config: resolvedConfig({ cameras: {}, http: { host: '127.0.0.1', port: 0, token: 'vlm-app-test-token-0123456789' } }).http! },
    });
    try {
      const requested = new Promise<void>((resolve) => server.once('request', () => resolve()));
      await app.start();
      await requested;
      const request = server.requests.at(-1)!;
      const { data, info } = await sharp(request.jpeg!).raw().toBuffer({ resolveWithObject: true });
      let r = 0;
      let g = 0;
      for (let i = 0; i < data.length; i += info.channels) {
        r += data[i]!;
        g += data[i + 1]!;
      }
      const n = data.length / info.channels;
      assert.deepEqual([info.width, info.height], [64, 64], 'the 80×80 box scaled to 64');
      assert.ok(r / n > 200 && g / n < 70, `the crop is red (mean r ${r / n}, g ${g / n})`);
      assert.equal(request.headers.authorization, `Bearer ${KEY}`);

      const answer = await recorder.waitFor((m) => m.topic === 'vlmtest/squares/vlm/answer', 'the answer topic');
      const payload = JSON.parse(answer.payload) as {
        answer: unknown;
        promptName: string;
        prompt: string;
        ageAtRequestMs: number;
        tokens: unknown;
        trigger: { objectId: string };
      };
      // promptName is the prompt's name; `prompt`, deprecated, still says the same until 0.2.0
      assert.deepEqual([payload.answer, payload.promptName, payload.prompt], [{ colour: 'red', person: false }, 'colour', 'colour']);
      assert.ok(payload.ageAtRequestMs >= 0);
      const update = await recorder.waitFor((m) => m.topic === 'vlmtest/tracked_object_update', 'the description update');
      assert.deepEqual(JSON.parse(update.payload), {
        type: 'description',
        id: payload.trigger.objectId,
        camera: 'squares',
        description: JSON.stringify({ colour: 'red', person: false }),
      });
      const sensor = await recorder.waitFor((m) => /^homeassistant\/sensor\/[^/]+\/squares_vlm_colour\/config$/.test(m.topic), 'the answer sensor');
      assert.equal((JSON.parse(sensor.payload) as { state_topic: string }).state_topic, 'vlmtest/squares/vlm/answer');
      await recorder.waitFor(
        (m) => /^homeassistant\/binary_sensor\/[^/]+\/squares_vlm_colour_person\/config$/.test(m.topic),
        'a binary_sensor for the boolean field',
      );
      const cascade = await recorder.waitFor((m) => /^homeassistant\/sensor\/[^/]+\/squares_shape_last\/config$/.test(m.topic), "the cascade's sensor");
      assert.equal((JSON.parse(cascade.payload) as { state_topic: string }).state_topic, 'vlmtest/squares/shape/result');
      const cropResult = await recorder.waitFor(
        (m) =>
          m.topic === 'vlmtest/squares/shape/result' && (JSON.parse(m.payload) as { output?: { crop?: { label?: string } } }).output?.crop?.label === 'red',
        'a result on the red crop, where the sensor reads it',
      );
      assert.ok(cropResult.payload.length > 0);

      // The stored event carries the description (the API reads the store).
      const dashboard = app.dashboard!;
      const auth = { authorization: `Bearer ${dashboard.token.value}` };
      await eventuallyAsync(async () => {
        const events = (await (await fetch(new URL('/api/events?camera=squares', dashboard.url), { headers: auth })).json()) as {
          events: { id: string; description?: string }[];
        };
        return events.events.some((e) => e.id === payload.trigger.objectId && e.description === JSON.stringify({ colour: 'red', person: false }));
      }, 'the event in the store with its description');

      // Its asks in /api/stats and on /metrics, against the stand-in server's own count of the requests it got.
      type Asks = {
        triggers: number;
        sent: number;
        answered: number;
        stale: number;
        errors: number;
        skipped: Record<string, number>;
        pending: { now: number; waitMs: { p50: number | null; p99: number | null } };
        tokens: { prompt: number; completion: number; endpoint: { lastHour: number; perHour: number | null } };
      };
      type Stats = { cameras: Record<string, { workers: Record<string, { asks: Asks | null }> }> };
      const vlmAsks = async (): Promise<Asks> =>
        ((await (await fetch(new URL('/api/stats', dashboard.url), { headers: auth })).json()) as Stats).cameras.squares!.workers.vlm!.asks!;
      const stats = (await (await fetch(new URL('/api/stats', dashboard.url), { headers: auth })).json()) as Stats;
      const asks = stats.cameras.squares!.workers.vlm!.asks!;
      const served = server.requests.length;
      assert.ok(asks.sent >= served && asks.sent <= served + 1, `sent ${asks.sent}, the server got ${served} (one may be on its way)`);
      assert.ok(asks.answered >= 1 && asks.answered <= asks.sent, JSON.stringify(asks));
      const skipped = Object.values(asks.skipped).reduce((a, b) => a + b, 0);
      const pending = asks.triggers - asks.sent - skipped;
      assert.ok(pending === 0 || pending === 1, `every trigger is sent or skipped, one at most being prepared: ${JSON.stringify(asks)}`);
      assert.equal(stats.cameras.squares!.workers.detector!.asks, null, 'a module worker asks nothing');
      const metrics = await (await fetch(new URL('/metrics', dashboard.url), { headers: auth })).text();
      const sentSeries = /framesupplier_worker_asks_total\{camera="squares",worker="vlm",outcome="sent"\} (\d+)/.exec(metrics);
      assert.ok(sentSeries !== null, 'the sent series');
      assert.ok(Number(sentSeries[1]) >= served && Number(sentSeries[1]) <= server.requests.length + 1, `metrics sent ${sentSeries[1]}, served ${served}`);
      assert.match(metrics, /framesupplier_worker_asks_skipped_total\{camera="squares",worker="vlm",reason="[a-z-]+"\} \d+/);

      // The dashboard: the answer in the event list beside the snapshot, the asks on the worker's row (a real chromium).
      const browser = await launchBrowser();
      try {
        const page = await browser.context.newPage();
        await page.goto(dashboard.url);
        const shown = await page.waitForFunction(
          (id) => document.querySelector(`#objects li[data-event-id="${id}"] [data-field="description"]`)?.textContent ?? '',
          payload.trigger.objectId,
          { timeout: 60_000 },
        );
        assert.equal(await shown.jsonValue(), JSON.stringify({ colour: 'red', person: false }));
        const row = await page.waitForFunction(() => document.querySelector('tr[data-worker="squares/vlm"] td[data-field="asks"]')?.textContent ?? '', null, {
          timeout: 60_000,
        });
        assert.match(String(await row.jsonValue()), /^sent \d+, answered \d+/);
        // Its pending and tokens parts say what /api/stats says, the tokens as the stand-in counted them.
        let said = '';
        let expected = '';
        await eventuallyAsync(async () => {
          const now = await vlmAsks();
          const { pending, tokens } = now;
          if (pending.waitMs.p50 === null || pending.waitMs.p99 === null) return false;
          const counted = tokens.prompt + tokens.completion;
          expected =
            `; pending ${pending.now} (waited p50 ${Math.round(pending.waitMs.p50)} ms, p99 ${Math.round(pending.waitMs.p99)} ms)` +
            `; tokens ${counted} (endpoint ${tokens.endpoint.lastHour} last hour${tokens.endpoint.perHour === null ? '' : ` of ${tokens.endpoint.perHour}`})`;
          said = (await page.textContent('tr[data-worker="squares/vlm"] td[data-field="asks"]')) ?? '';
          return counted > 0 && counted === server.tokens.prompt + server.tokens.completion && said.endsWith(expected);
        }, 'the asks cell saying the pending and tokens figures').catch((error: unknown) => {
          throw new Error(`the asks cell reads ${JSON.stringify(said)}, /api/stats says ${JSON.stringify(expected)}: ${(error as Error).message}`);
        });
        assert.equal(await page.textContent('tr[data-worker="squares/detector"] td[data-field="asks"]'), '-');
      } finally {
        await browser.close();
      }

      // The key: in no MQTT message, no API answer, no log line.
      for (const path of ['/api/stats', '/api/config', '/api/events']) {
        const text = await (await fetch(new URL(path, dashboard.url), { headers: auth })).text();
        assert.ok(!text.includes(KEY), `${path} does not carry the key`);
      }
      // Values are masked, never names: the variable's name is shown as it is (round 5: it read "***").
      const shown = (await (await fetch(new URL('/api/config', dashboard.url), { headers: auth })).json()) as {
        cameras: Record<string, { workers: { id: string; vlm?: { apiKeyEnv?: string } }[] }>;
      };
      assert.equal(shown.cameras.squares!.workers.find((w) => w.id === 'vlm')?.vlm?.apiKeyEnv, 'VLM_APP_TEST_KEY');
      assert.ok(!recorder.messages.some((m) => m.payload.includes(KEY)), 'no MQTT message carries the key');
    } finally {
      await app.close();
      await recorder.close();
      delete process.env.VLM_APP_TEST_KEY;
    }
    assert.ok(!readFileSync(logFile, 'utf8').includes(KEY), 'no log line carries the key');
    // Nor the events store: its database (and journal) and its snapshots, byte for byte.
    const stored = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    assert.ok(stored.some((e) => e.name === 'events.db'));
    for (const entry of stored) assert.ok(!readFileSync(join(entry.parentPath, entry.name)).includes(KEY), `${entry.name} does not carry the key`);
  });

  it("end: the object's stored best snapshot is what is asked about, and the answer lands on its ended event", async () => {
    process.env.VLM_APP_TEST_KEY = KEY;
    server.answer = () => 'a red square that left the picture';
    // a red square moving left, out of the picture after about 3 s: its track ends 1 s later
    const leaving = "lavfi:color=c=white:s=320x240:r=10[bg];color=c=red:s=60x60:r=10[r];[bg][r]overlay=x='200-80*t':y=90";
    const config = resolvedConfig({
      cameras: {
        road: {
          source: leaving,
          capture: { output: { format: 'rgb24' } },
          workers: [
            {
              id: 'detector',
              module: fileURLToPath(new URL('../objects/colour-detector.js', import.meta.url)),
              maxFps: 5,
              track: { confirmHits: 1, endAfterSeconds: 1 },
            },
            {
              id: 'vlm',
              vlm: {
                api: 'openai',
                url: server.url('openai'),
                model: 'llava',
                apiKeyEnv: 'VLM_APP_TEST_KEY',
                name: 'summary',
                prompt: 'What was the {{label}} doing?',
                image: { size: 64 },
                triggers: { objects: { of: 'detector', labels: ['red'], on: ['end'] } },
              },
            },
          ],
        },
      },
      events: { database: join(dir, 'end-events.db') },
    });
    const app = createApp(config, {
      logger: createLogger({ level: 'silent' }),
      http: { config: resolvedConfig({ cameras: {}, http: { host: '127.0.0.1', port: 0, token: 'vlm-app-test-token-0123456789' } }).http! },
    });
    const before = server.requests.length;
    try {
      const requested = new Promise<void>((resolve) => server.once('request', () => resolve()));
      await app.start();
      await requested;
      const request = server.requests[before]!;
      const dashboard = app.dashboard!;
      const auth = { authorization: `Bearer ${dashboard.token.value}` };
      type Stored = { id: string; label: string; end_time: number | null; has_snapshot: boolean; description?: string };
      let found: Stored | undefined;
      await eventuallyAsync(async () => {
        const events = (await (await fetch(new URL('/api/events?camera=road&label=red', dashboard.url), { headers: auth })).json()) as { events: Stored[] };
        found = events.events.find((e) => e.end_time !== null && e.description === 'a red square that left the picture');
        return found !== undefined;
      }, 'the ended event with its description');
      const ended = found!;
      assert.equal(ended.has_snapshot, true);
      // the picture asked about is the stored snapshot, scaled to 64: not a frame of now, in which the square is gone
      const snapshot = Buffer.from(await (await fetch(new URL(`/api/events/${ended.id}/snapshot.jpg`, dashboard.url), { headers: auth })).arrayBuffer());
      await assertSentSnapshot(request.jpeg!, snapshot, 64, RED);
    } finally {
      await app.close();
      delete process.env.VLM_APP_TEST_KEY;
    }
  });

  it('an object that ends while it waits for the model is asked about from its stored best snapshot, and the answer lands on its ended event', async () => {
    const local = await new FakeVlmServer().start();
    let release: () => void = () => undefined;
    local.hold = new Promise<void>((resolve) => (release = resolve));
    local.answer = (request) => `described: ${request.prompt}`;
    // a red and a blue square seen for 4 s, then gone: their tracks end 1 s later
    const square = (x: number, colour: string): string => `drawbox=x=${x}:y=60:w=60:h=60:color=${colour}:t=fill:enable='lt(t,4)'`;
    const config = resolvedConfig({
      cameras: {
        pair: {
          source: `lavfi:color=c=white:size=320x240:rate=10,${square(30, 'red')},${square(200, 'blue')}`,
          capture: { output: { format: 'rgb24' } },
          workers: [
            {
              id: 'detector',
              module: fileURLToPath(new URL('../objects/colour-detector.js', import.meta.url)),
              maxFps: 5,
              track: { confirmHits: 1, endAfterSeconds: 1 },
            },
            {
              id: 'vlm',
              vlm: {
                api: 'openai',
                url: local.url('openai'),
                model: 'llava',
                name: 'describe',
                prompt: 'What is the {{label}} {{object_id}}?',
                image: { size: 64 },
                triggers: { objects: { of: 'detector', on: ['new'] } },
              },
            },
          ],
        },
      },
      events: { database: join(dir, 'pending-events.db') },
    });
    const app = createApp(config, {
      logger: createLogger({ level: 'silent' }),
      http: { config: resolvedConfig({ cameras: {}, http: { host: '127.0.0.1', port: 0, token: 'vlm-app-test-token-0123456789' } }).http! },
    });
    const ends = new Map<string, string>();
    let ended: () => void = () => undefined;
    app.system.on('tracked-object', (e: EventOf<'tracked-object'>) => {
      if (e.event.after.camera !== 'pair' || e.event.type !== 'end') return;
      ends.set(e.event.after.label, e.event.after.id);
      ended();
    });
    try {
      const first = new Promise<VlmRequestRecord>((resolve) => local.once('request', resolve));
      await app.start();
      // One object's ask is held by the stand-in; the other's waits, pending, until it has ended.
      const held = await first;
      const heldLabel = /What is the (red|blue) /.exec(held.prompt)?.[1];
      assert.ok(heldLabel !== undefined, held.prompt);
      const label = heldLabel === 'red' ? 'blue' : 'red';
      await new Promise<void>((resolve) => {
        ended = () => {
          if (ends.has(label)) resolve();
        };
        ended();
      });
      const id = ends.get(label)!;
      assert.equal(local.requests.length, 1, 'nothing asked about it while it waited');
      const answers = nextResults(app.system, 'pair', 'vlm', 2);
      release();
      const output = (await answers).map((e) => e.output as VlmOutput).find((o) => o.trigger.objectId === id);
      assert.ok(output !== undefined, `an answer about the ${label} object ${id}`);
      assert.equal(output.error, undefined);
      assert.equal(output.trigger.kind, 'new', 'asked about on its own trigger, after it ended');
      assert.deepEqual([output.image.source, output.frames.map((f) => f.source)], ['snapshot', ['snapshot']], 'from its stored snapshot');
      const request = local.requests.find((r) => r.prompt.includes(id));
      assert.ok(request?.jpeg != null, 'its request carried a picture');

      // The picture is the events store's best snapshot of it, and the answer is on its ended event.
      const dashboard = app.dashboard!;
      const auth = { authorization: `Bearer ${dashboard.token.value}` };
      type Stored = { id: string; end_time: number | null; has_snapshot: boolean; description?: string };
      let stored: Stored | undefined;
      await eventuallyAsync(async () => {
        const events = (await (await fetch(new URL(`/api/events?camera=pair&label=${label}`, dashboard.url), { headers: auth })).json()) as {
          events: Stored[];
        };
        stored = events.events.find((e) => e.id === id && e.end_time !== null && e.description === local.answer(request));
        return stored !== undefined;
      }, 'the ended event with its description');
      assert.equal(stored!.has_snapshot, true);
      const snapshot = Buffer.from(await (await fetch(new URL(`/api/events/${id}/snapshot.jpg`, dashboard.url), { headers: auth })).arrayBuffer());
      await assertSentSnapshot(request.jpeg, snapshot, 64, label === 'red' ? RED : BLUE);
      const asks = app.system.stats().cameras.pair!.workers.vlm!.asks!;
      assert.deepEqual([asks.sent, asks.answered, asks.skipped['ended-late'], asks.skipped.gone], [2, 2, 0, 0], JSON.stringify(asks));
    } finally {
      release();
      await app.close();
      await local.close();
    }
  });

  it('four objects confirmed on the same frame, a 500 ms model: each described once from a frame newer than its trigger; tokens as the server counted; switched off, no more asks, still off after a restart with --save-config', async () => {
    process.env.VLM_APP_TEST_KEY = KEY;
    const local = await new FakeVlmServer().start();
    local.latencyMs = 500;
    const square = (x: number, y: number, colour: string): string => `drawbox=x=${x}:y=${y}:w=60:h=60:color=${colour}:t=fill`;
    const file = join(dir, 'four.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        cameras: {
          four: {
            source: `lavfi:color=c=white:size=320x240:rate=10,${square(20, 20, 'red')},${square(240, 20, 'blue')},${square(20, 160, 'green')},${square(240, 160, 'black')}`,
            capture: { output: { format: 'rgb24' } },
            workers: [
              { id: 'detector', module: fileURLToPath(new URL('./four-squares-detector.js', import.meta.url)), track: { confirmHits: 1 } },
              {
                id: 'vlm',
                vlm: {
                  api: 'openai',
                  url: local.url('openai'),
                  model: 'llava',
                  name: 'describe',
                  prompt: 'What is the {{label}}?',
                  image: { size: 64 },
                  triggers: { objects: { of: 'detector', on: ['new'] } },
                },
              },
            ],
          },
        },
        mqtt: { url: broker.url, topicPrefix: 'fourtest', clientId: 'fourtest' },
      }),
    );
    const http = resolvedConfig({ cameras: {}, http: { host: '127.0.0.1', port: 0, token: 'vlm-app-test-token-0123456789' } }).http!;
    const start = async (): Promise<ReturnType<typeof createApp>> => {
      const app = createApp(parseConfig(readFileSync(file, 'utf8'), { env: {}, fileName: file }), {
        logger: createLogger({ level: 'silent' }),
        http: { config: http, saveConfigPath: file },
      });
      await app.start();
      return app;
    };
    type Asks = { triggers: number; sent: number; answered: number; skipped: Record<string, number>; tokens: { prompt: number; completion: number } };
    let app = await start();
    try {
      const answers = nextResults(app.system, 'four', 'vlm', 4);
      const outputs = (await answers).map((e) => e.output as VlmOutput);
      assert.deepEqual(new Set(outputs.map((o) => o.trigger.label)), new Set(['red', 'blue', 'green', 'black']), 'each of the four described');
      assert.equal(new Set(outputs.map((o) => o.trigger.objectId)).size, 4, 'each once');
      for (const o of outputs) {
        assert.equal(o.error, undefined);
        assert.ok(
          o.triggerCaptureTime !== null && o.captureTime > o.triggerCaptureTime,
          `cut from a frame newer than its trigger's: ${o.captureTime} > ${o.triggerCaptureTime}`,
        );
      }
      const waited = outputs.map((o) => o.timing.pendingMs).sort((a, b) => a - b);
      assert.ok(waited[3]! >= 3 * 400, `the last waited for three answers: ${JSON.stringify(waited)}`);
      const dashboard = app.dashboard!;
      const auth = { authorization: `Bearer ${dashboard.token.value}` };
      const asks = async (): Promise<Asks> =>
        (
          (await (await fetch(new URL('/api/stats', dashboard.url), { headers: auth })).json()) as {
            cameras: Record<string, { workers: Record<string, { asks: Asks }> }>;
          }
        ).cameras.four!.workers.vlm!.asks;
      const first = await asks();
      assert.deepEqual([first.triggers, first.sent, first.answered], [4, 4, 4], JSON.stringify(first));
      assert.deepEqual(
        first.tokens,
        { ...first.tokens, prompt: local.tokens.prompt, completion: local.tokens.completion },
        'tokens as the server counted them',
      );
      const metrics = await (await fetch(new URL('/metrics', dashboard.url), { headers: auth })).text();
      assert.match(metrics, new RegExp(`framesupplier_worker_asks_tokens_total\\{camera="four",worker="vlm",kind="prompt"\\} ${local.tokens.prompt}\\b`));
      assert.match(
        metrics,
        /framesupplier_vlm_endpoint_tokens_total\{endpoint="http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions",model="llava",kind="completion"\} \d+/,
      );
      assert.match(metrics, /framesupplier_worker_asks_pending\{camera="four",worker="vlm"\} 0/);

      // A restarted detector ends its objects and makes four new ones: switched off while the first is asked about,
      // the worker sends nothing more (what waited is counted `stopped`).
      const requested = new Promise<void>((resolve) => local.once('request', () => resolve()));
      const post = (path: string): Promise<Response> => fetch(new URL(path, dashboard.url), { method: 'POST', headers: auth });
      assert.equal((await post('/api/cameras/four/workers/detector/restart')).status, 200);
      await requested;
      const disabled = (await (await post('/api/cameras/four/workers/vlm/disable')).json()) as { change: string };
      assert.equal(disabled.change, 'worker-disabled');
      const sentAtOff = local.requests.length;
      // What the worker had read when the switch was acknowledged: the mailbox's frames handed to it, and its ledger's.
      type Read = { totals: { delivered: number }; modelFrames: { taken: number; skipped: number; inFlight: number } | null };
      const read = async (): Promise<{ delivered: number; ledger: number }> => {
        const w = (
          (await (await fetch(new URL('/api/stats', dashboard.url), { headers: auth })).json()) as {
            cameras: Record<string, { workers: Record<string, Read> }>;
          }
        ).cameras.four!.workers.vlm!;
        const m = w.modelFrames;
        return { delivered: w.totals.delivered, ledger: m === null ? 0 : m.taken + m.skipped + m.inFlight };
      };
      const readAtOff = await read();
      const went = await nextResults(app.system, 'four', 'detector', 10);
      assert.equal(local.requests.length, sentAtOff, 'no ask after the switch');
      // Within one frame: ten frames went through the camera's detector after the switch, the worker read at most one of them.
      assert.equal(new Set(went.map((e) => e.seq)).size, 10, 'the camera went on: ten frames detected');
      const readLater = await read();
      assert.ok(readAtOff.delivered >= 1, `the worker had read frames before: ${JSON.stringify(readAtOff)}`);
      assert.ok(
        readLater.delivered - readAtOff.delivered <= 1 && readLater.ledger - readAtOff.ledger <= 1,
        `frames read after the switch: at most one (at the switch ${JSON.stringify(readAtOff)}, ten frames later ${JSON.stringify(readLater)})`,
      );
      const after = await asks();
      assert.ok(after.skipped.stopped! >= 1, `what waited is counted stopped: ${JSON.stringify(after)}`);
      assert.match(readFileSync(file, 'utf8'), /enabled: false/, '--save-config wrote the switch');
    } finally {
      await app.close();
    }
    // Started again from the saved file: the worker is off, its objects' triggers ask nothing.
    const before = local.requests.length;
    app = await start();
    try {
      await nextResults(app.system, 'four', 'detector', 10);
      assert.equal(app.system.stats().cameras.four!.workers.vlm!.state, 'disabled');
      assert.equal(local.requests.length, before, 'still off after the restart');
      // Home Assistant's switch (an MQTT command) is written to the file too: ON, then OFF again.
      const recorder = await Recorder.connect(broker.url, ['fourtest/#']);
      try {
        recorder.client.publish('fourtest/four/vlm/set', 'ON');
        await eventuallyAsync(() => Promise.resolve(!readFileSync(file, 'utf8').includes('enabled: false')), 'ON over MQTT saved');
        recorder.client.publish('fourtest/four/vlm/set', 'OFF');
        await eventuallyAsync(() => Promise.resolve(readFileSync(file, 'utf8').includes('enabled: false')), 'OFF over MQTT saved');
      } finally {
        await recorder.close();
      }
    } finally {
      await app.close();
      await local.close();
      delete process.env.VLM_APP_TEST_KEY;
    }
  });
});
