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
 * store's), not a frame of now, and its answer lands on the ended event.
 * Four objects confirmed on one frame, a model holding each request 500 ms:
 * each described once from a frame newer than its trigger (ADR 0067), the
 * tokens summed as the stand-in counted them; switched off through the API,
 * no ask goes, and with --save-config it stays off after a restart; the
 * MQTT switch (Home Assistant's) is saved the same way.
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
import { FakeVlmServer } from '../helpers/vlm-server.js';
import { nextResults, resolvedConfig } from '../pipeline/helpers.js';
import { parseConfig } from '../../src/config/index.js';
import type { VlmOutput } from '../../src/workers/index.js';
import { eventuallyAsync } from '../helpers/process.js';
import { launchBrowser } from '../helpers/browser.js';

const KEY = 'sk-app-test-9f8e7d6c5b4a-SECRET';
const SQUARES = 'lavfi:color=c=white:size=320x240:rate=10,drawbox=x=40:y=40:w=80:h=80:color=red:t=fill,drawbox=x=200:y=120:w=80:h=80:color=blue:t=fill';

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
    await broker.stop();
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
      type Asks = { triggers: number; sent: number; answered: number; stale: number; errors: number; skipped: Record<string, number> };
      const stats = (await (await fetch(new URL('/api/stats', dashboard.url), { headers: auth })).json()) as {
        cameras: Record<string, { workers: Record<string, { asks: Asks | null }> }>;
      };
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
      // the picture asked about is the stored snapshot (the whole frame with the box drawn), scaled to 64: not a
      // frame of now, in which the square is gone
      const snapshot = Buffer.from(await (await fetch(new URL(`/api/events/${ended.id}/snapshot.jpg`, dashboard.url), { headers: auth })).arrayBuffer());
      const stored = await sharp(snapshot).metadata();
      const sent = await sharp(request.jpeg!).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([sent.info.width, sent.info.height], [64, Math.round((64 * stored.height) / stored.width)]);
      let red = 0;
      for (let i = 0; i < sent.data.length; i += sent.info.channels) if (sent.data[i]! > 180 && sent.data[i + 1]! < 90 && sent.data[i + 2]! < 90) red++;
      assert.ok(red > 4, `the square is in the picture sent (${red} red pixels)`);
      const comparable = await sharp(snapshot).resize(sent.info.width, sent.info.height).raw().toBuffer();
      let difference = 0;
      for (let i = 0; i < comparable.length; i++) difference += Math.abs(comparable[i]! - sent.data[i]!);
      assert.ok(difference / comparable.length < 12, `the picture sent is the stored snapshot (mean difference ${difference / comparable.length})`);
    } finally {
      await app.close();
      delete process.env.VLM_APP_TEST_KEY;
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
      await nextResults(app.system, 'four', 'detector', 10);
      assert.equal(local.requests.length, sentAtOff, 'no ask after the switch');
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
